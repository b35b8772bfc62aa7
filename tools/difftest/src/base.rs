//! The programs mutants are made from: snippets compiled by a version's own interpreter and
//! disassembled by pyasm, in-process (`pyasm::load::load_pyc`, `pyasm::dis::disassemble`).

use crate::choice::Seeded;
use crate::program::Program;
use crate::runner::Driver;
use crate::snippets::{self, Snippet};
use pyasm::version::PythonVersion;

/// The file name the programs carry as co_filename (tracebacks and faulthandler print it).
pub const FILENAME: &str = "mutant.pyasm";

/// One disassembled snippet.
#[derive(Clone, Debug)]
pub struct Base {
    /// `calls` for a corpus file, `random17` for a generated one.
    pub name: String,
    /// The version whose compiler wrote it (another than the target's for a transplant).
    pub from: PythonVersion,
    pub program: Program,
}

/// Stream numbers for `Seeded::for_item`, so that each use of the seed is independent.
pub const STREAM_RANDOM_SNIPPETS: u64 = 1;
pub const STREAM_MUTANTS: u64 = 2;

/// What building the bases found, for the figures.
#[derive(Clone, Debug, Default)]
pub struct BaseStats {
    pub snippets: usize,
    /// Snippets the interpreter did not compile, or pyasm did not disassemble exactly.
    pub failed: Vec<String>,
}

/// The corpus plus `random` generated snippets, compiled by `driver`'s interpreter (of
/// version `from`), disassembled.
pub fn build(driver: &mut Driver, work: &std::path::Path, from: PythonVersion, random: usize, seed: u64) -> (Vec<Base>, BaseStats) {
    let mut list = snippets::corpus(from);
    for k in 0..random {
        let mut c = Seeded::for_item(seed, STREAM_RANDOM_SNIPPETS, k as u64);
        list.push(snippets::random(&mut c, from, &format!("random{k}")));
    }
    let mut stats = BaseStats { snippets: list.len(), ..Default::default() };
    let mut out = Vec::new();
    for s in &list {
        match one(driver, work, from, s) {
            Ok(program) => out.push(Base { name: s.name.clone(), from, program }),
            Err(e) => stats.failed.push(format!("{} ({from}): {e}", s.name)),
        }
    }
    (out, stats)
}

fn one(driver: &mut Driver, work: &std::path::Path, from: PythonVersion, s: &Snippet) -> Result<Program, String> {
    let tag = format!("{}-{}", from, s.name);
    let src = work.join(format!("{tag}.py"));
    let pyc = work.join(format!("{tag}.pyc"));
    std::fs::write(&src, &s.source).map_err(|e| e.to_string())?;
    driver.compile(&src, &pyc)?;
    let bytes = std::fs::read(&pyc).map_err(|e| e.to_string())?;
    let loaded = pyasm::load::load_pyc(&bytes).map_err(|e| e.to_string())?;
    let dis = pyasm::dis::disassemble(&loaded.code, loaded.table())?;
    if !dis.mismatches.is_empty() {
        return Err(format!("not reproduced exactly: {}", dis.mismatches.join(", ")));
    }
    Ok(Program::from_dis(&dis.text, FILENAME))
}
