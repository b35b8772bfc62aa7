//! The standard library round trip, one trial per Python version pyasm supports
//! (`pyasm::version::supported()`, so a new opcode table brings its trial with it):
//!
//! 1. that version's CPython (native, else pyodide; see `pyasm::interpreters`) compiles a
//!    fixed sample of 200 of its own stdlib modules to .pyc (`tools/roundtrip/compile_stdlib.py`);
//! 2. pyasm, in this process, disassembles each .pyc and assembles the text back
//!    (`NAME.re.pyc`), on two threads;
//! 3. the same CPython compares every code object of the two, field by field, constants
//!    type-exact, and the marshalled bytes (`tools/roundtrip/compare.py`).
//!
//! Every sampled module must come back equal. The phases are separate processes because
//! pyodide cannot start subprocesses.
//!
//! The whole library instead of the sample, for chosen versions, in release mode:
//!
//!     PYASM_ROUNDTRIP_ALL=1 PYASM_ROUNDTRIP_VERSIONS=3.11,3.14 cargo test --release --test stdlib_roundtrip
//!
//! Each trial prints its figures on stdout (this harness does not capture output): the
//! interpreter, `equal E/N identical I/N`, and the time of each phase.
//! `PYASM_ROUNDTRIP_WORKDIR=DIR` keeps the files (in DIR/3.11/…) for a closer look.

mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use pyasm::diagnostics::SourceFiles;
use pyasm::version::PythonVersion;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Files in the default sample.
const SAMPLE: usize = 200;
/// Threads for phase 2.
const THREADS: usize = 2;
/// Their stack size.
const STACK: usize = 8 << 20;

fn main() {
    let args = Arguments::from_args();
    let wanted = match std::env::var("PYASM_ROUNDTRIP_VERSIONS") {
        Ok(list) if !list.trim().is_empty() => {
            let parsed: Result<Vec<PythonVersion>, String> = list.split(',').map(|v| v.trim().parse()).collect();
            match parsed {
                Ok(v) => Some(v),
                Err(e) => {
                    eprintln!("PYASM_ROUNDTRIP_VERSIONS: {e}");
                    std::process::exit(2);
                }
            }
        }
        _ => None,
    };
    let mut trials: Vec<Trial> = pyasm::version::supported()
        .map(|v| {
            let ignored = wanted.as_ref().is_some_and(|w| !w.contains(&v));
            Trial::test(format!("stdlib_round_trip_{}_{}", v.major, v.minor), move || round_trip(v)).with_ignored_flag(ignored)
        })
        .collect();
    // Asking for a version pyasm cannot target is a mistake, not a silent no-op.
    for v in wanted.iter().flatten().filter(|v| !pyasm::version::supported().any(|s| s == **v)) {
        let v = *v;
        trials.push(Trial::test(format!("stdlib_round_trip_{}_{}", v.major, v.minor), move || {
            Err(format!("PYASM_ROUNDTRIP_VERSIONS names {v}, which pyasm does not support").into())
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}

fn round_trip(v: PythonVersion) -> Result<(), Failed> {
    let test = format!("stdlib round trip {v}");
    if support::round_trip_not_ready(&v.to_string(), &test) {
        return Ok(());
    }
    let Some(python) = support::python_for_test(&v.to_string(), &test) else { return Ok(()) };
    let all = std::env::var("PYASM_ROUNDTRIP_ALL").is_ok_and(|x| !x.is_empty() && x != "0");
    let temp;
    let dir = match std::env::var_os("PYASM_ROUNDTRIP_WORKDIR") {
        Some(d) => {
            let d = Path::new(&d).join(v.to_string());
            let _ = std::fs::remove_dir_all(&d);
            d
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
            temp.path().to_path_buf()
        }
    };
    let tools = support::repo_root().join("tools/roundtrip");

    // Phase 1: the interpreter compiles its own stdlib.
    let t = Instant::now();
    let mut compile = python.command();
    compile.arg(tools.join("compile_stdlib.py")).arg("--out").arg(&dir);
    if !all {
        compile.args(["--sample", &SAMPLE.to_string()]);
    }
    let out = compile.output().map_err(|e| format!("cannot start {}: {e}", python.describe()))?;
    let t_compile = t.elapsed().as_secs_f64();
    let compiled = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "compile_stdlib.py failed under {} ({}):\n{compiled}{}",
            python.describe(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let names: Vec<String> = std::fs::read_to_string(dir.join("manifest.tsv"))
        .map_err(|e| format!("no manifest.tsv from compile_stdlib.py: {e}"))?
        .lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();

    // Phase 2: pyasm disassembles and reassembles, in this process.
    let t = Instant::now();
    let failures = reassemble_all(&dir, &names);
    let t_pyasm = t.elapsed().as_secs_f64();

    // Phase 3: the interpreter compares.
    let t = Instant::now();
    let out = python
        .command()
        .arg(tools.join("compare.py"))
        .arg(&dir)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", python.describe()))?;
    let t_compare = t.elapsed().as_secs_f64();
    let compared = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = compared.lines().find(|l| l.starts_with("equal ")).unwrap_or("").to_string();

    println!(
        "stdlib round trip {v} under {}{}:\n  {}\n  {summary}\n  times: compile {t_compile:.1}s, pyasm dis+assemble {t_pyasm:.1}s ({THREADS} threads), compare {t_compare:.1}s",
        python.describe(),
        if all { ", whole library" } else { "" },
        compiled.lines().last().unwrap_or(""),
    );
    let mut problems = String::new();
    for (name, message) in failures.iter().take(10) {
        problems.push_str(&format!("pyasm failed on {name}: {message}\n"));
    }
    // `equal E/N identical I/N`
    let parts: Vec<&str> = summary.split_whitespace().collect();
    if parts.len() != 4 {
        return Err(format!(
            "no summary from compare.py ({}):\n{compared}{}\n{problems}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let (equal, total) = parts[1].split_once('/').ok_or("bad summary")?;
    let total: usize = total.parse().map_err(|_| "bad summary")?;
    let minimum = if all { 400 } else { SAMPLE * 3 / 4 };
    if total != names.len() || total < minimum {
        return Err(format!("only {total} modules compared (expected at least {minimum}): {summary}").into());
    }
    if equal != total.to_string() || !failures.is_empty() || !out.status.success() {
        return Err(format!("not every module round-trips: {summary}\n{problems}{compared}").into());
    }
    Ok(())
}

/// Phase 2 over every NAME.pyc, on `THREADS` threads: writes NAME.re.pyc, or NAME.re.error
/// with the reason. Returns the failures.
fn reassemble_all(dir: &Path, names: &[String]) -> Vec<(String, String)> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            // Like the main thread's 8 MB: deeply nested expressions recurse deeply in the
            // assembler, more so in debug builds, past a spawned thread's default 2 MB.
            let worker = std::thread::Builder::new().stack_size(STACK);
            worker.spawn_scoped(s, || {
                while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = std::fs::read(dir.join(format!("{name}.pyc")))
                        .map_err(|e| format!("cannot read: {e}"))
                        .and_then(|bytes| reassemble(name, &bytes));
                    let written = match result {
                        Ok(pyc) => std::fs::write(dir.join(format!("{name}.re.pyc")), pyc).map_err(|e| format!("cannot write: {e}")),
                        Err(message) => {
                            let _ = std::fs::write(dir.join(format!("{name}.re.error")), &message);
                            Err(message)
                        }
                    };
                    if let Err(message) = written {
                        failures.lock().unwrap().push((name.clone(), message));
                    }
                }
            })
            .expect("start a worker thread");
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    failures
}

/// One .pyc → .pyasm text → .pyc, as `pyasm dis` and `pyasm` do it, with the same header.
fn reassemble(name: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let pyc = pyasm::load::load_pyc(bytes).map_err(|e| format!("load_pyc: {e}"))?;
    let table = pyc.table();
    let dis = pyasm::dis::disassemble(&pyc.code, table).map_err(|e| format!("disassemble: {e}"))?;
    if !dis.mismatches.is_empty() {
        return Err(format!("the disassembly does not reproduce {}", dis.mismatches.join(", ")));
    }
    let mut files = SourceFiles::new();
    let file = files.add(format!("{name}.pyasm"), dis.text);
    let opts = pyasm::Options { version: Some(table.version), ..Default::default() };
    let out = pyasm::assemble(&files, file, &opts).map_err(|d| format!("assemble:\n{}", files.render(&d, false)))?;
    // The interpreter's own code must pass the verifier without a word: a warning on it
    // would be a false alarm. (Unreachable code is the exception: the compilers leave some,
    // in the test suites' deliberately odd try/finally code.)
    let warnings: Vec<_> = out.warnings.iter().filter(|w| w.code != pyasm::diagnostics::codes::UNREACHABLE).cloned().collect();
    if !warnings.is_empty() {
        return Err(format!("verifier warnings:\n{}", files.render(&warnings, false)));
    }
    Ok(out.to_pyc(&pyc.header))
}
