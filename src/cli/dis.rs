//! `pyasm dis`: a .pyc back to .pyasm text (or its listing), many with --out-dir, and every
//! module of an application (a .pyz or a folder of .pyc).

use super::Status;
use super::args::DisArgs;
use super::batch::{Product, batch};
use super::link::{has_extension, is_pyz};
use super::output::{FILE_MODE, FolderFiles, Kind, Protected, check_target, is_stdio, write_file, write_folder, write_stdout};
use super::report::{Problem, Reporter};
use std::path::{Path, PathBuf};

pub(crate) fn cmd_dis(d: DisArgs) -> Status {
    let rep = Reporter::new(&d.report);
    if d.files.iter().any(|f| is_application(f)) {
        if d.files.len() > 1 {
            return rep.problem(&Problem::usage("disassemble one application (.pyz or folder) at a time"));
        }
        if d.listing {
            return rep.problem(&Problem::usage("--listing is for one .pyc, not an application"));
        }
        return dis_application(&d.files[0], d.output.as_deref().or(d.batch.out_dir.as_deref()), &rep);
    }
    match &d.batch.out_dir {
        Some(dir) => batch(&d.files, dir, "pyasm", d.batch.jobs, &rep, |file, _target| {
            let (text, _) = disassemble_file(file, false, &rep)?;
            let mut protected = Protected::default();
            protected.input(file);
            Ok(Product { bytes: text.into_bytes(), protected, listing: None })
        }),
        None if d.files.len() > 1 => rep.problem(&Problem::usage("several input files need --out-dir DIR")),
        None => dis_one(&d.files[0], d.output.as_deref(), d.listing, &rep),
    }
}

/// Disassembles one file into `target` (stdout when `None` or `-`). With `listing`, prints the
/// listing on stdout, and the text only when a target was named.
fn dis_one(file: &Path, target: Option<&Path>, listing: bool, rep: &Reporter) -> Status {
    // Before any work: the output must not be the input, nor stand where it cannot be written.
    let mut protected = Protected::default();
    protected.input(file);
    if let Some(t) = target {
        if listing && is_stdio(t) {
            return rep.problem(&Problem::usage("--listing prints to stdout; give -o a file for the .pyasm text"));
        }
        if let Err(p) = check_target(t, Kind::File, &protected) {
            return rep.problem(&p);
        }
    }
    let (text, shown) = match disassemble_file(file, listing, rep) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let written = match (listing, target) {
        // The listing on stdout; the text into the file, when one is named, first.
        (true, Some(t)) => write_file(t, text.as_bytes(), FILE_MODE, &protected).and_then(|()| write_stdout(shown.as_bytes())),
        (true, None) => write_stdout(shown.as_bytes()),
        (false, t) => write_file(t.unwrap_or(Path::new("-")), text.as_bytes(), FILE_MODE, &protected),
    };
    match written {
        Ok(()) => Status::OK,
        Err(p) => rep.problem(&p),
    }
}

/// Reads and disassembles one .pyc: its text and, with `listing`, its listing (else the
/// text again). Warnings (fields the text does not reproduce) are printed here.
fn disassemble_file(file: &Path, listing: bool, rep: &Reporter) -> Result<(String, String), Status> {
    let bytes = std::fs::read(file).map_err(|e| rep.problem(&Problem::cannot_read(file, &e)))?;
    let damaged = |e: String| rep.problem(&Problem::damaged(file, format!("{}: {e}", file.display())));
    let pyc = crate::load::load_pyc(&bytes).map_err(|e| damaged(e.to_string()))?;
    let table = crate::opcodes::TABLES
        .iter()
        .copied()
        .find(|t| t.magic == pyc.magic)
        .ok_or_else(|| damaged(format!("magic number {} is not a version pyasm supports", pyc.magic)))?;
    if listing {
        let (shown, dis) = crate::dis::listing(&pyc.code, table).map_err(damaged)?;
        for m in &dis.mismatches {
            rep.warning(&format!("{}: the disassembly does not reproduce {m}", file.display()), Some(file));
            if m.ends_with(": co_code") {
                rep.warning(&format!("{}: so the listing of that code object shows pyasm's bytes, not the file's", file.display()), Some(file));
            }
        }
        return Ok((dis.text, shown));
    }
    let dis = crate::dis::disassemble(&pyc.code, table).map_err(damaged)?;
    for m in &dis.mismatches {
        rep.warning(&format!("{}: the disassembly does not reproduce {m}", file.display()), Some(file));
    }
    Ok((dis.text, String::new()))
}

/// Whether `path` is an application (a folder, or a zip with or without a `#!` line).
fn is_application(path: &Path) -> bool {
    if path.is_dir() || is_pyz(path) {
        return true;
    }
    let mut head = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && (head == *b"PK\x03\x04" || head.starts_with(b"#!"))
}

/// The `.pyc` files under a folder, as member paths (`pkg/mod.pyc`), bounded.
fn pyc_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), Problem> {
    let entries = std::fs::read_dir(dir).map_err(|e| Problem::cannot_read(dir, &e))?;
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if out.len() >= crate::link::modules::MAX_MODULES {
            return Err(Problem::damaged(root, format!("{}: more than {} modules", root.display(), crate::link::modules::MAX_MODULES)));
        }
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "__pycache__") {
                pyc_files(root, &p, out)?;
            }
        } else if p.extension().is_some_and(|x| x == "pyc") {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let name = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
            let bytes = std::fs::read(&p).map_err(|e| Problem::cannot_read(&p, &e))?;
            out.push((name, bytes));
        }
    }
    Ok(())
}

/// The members of an application: a folder's .pyc files, or an archive's members.
fn read_application(input: &Path) -> Result<FolderFiles, Problem> {
    if input.is_dir() {
        let mut owned = Vec::new();
        pyc_files(input, input, &mut owned)?;
        return Ok(owned);
    }
    let archive = std::fs::read(input).map_err(|e| Problem::cannot_read(input, &e))?;
    let members = crate::link::pyz::read(&archive).map_err(|e| Problem::damaged(input, format!("{}: {e}", input.display())))?;
    Ok(members.into_iter().map(|(n, b)| (n, b.to_vec())).collect())
}

/// Disassembles every module of an application: into `target` (a folder, one .pyasm per
/// module in the package layout `pyasm link` reads), or to stdout under `# module` headers.
/// A module that cannot be disassembled is reported (each one), and then nothing is written.
fn dis_application(input: &Path, target: Option<&Path>, rep: &Reporter) -> Status {
    let target = target.filter(|t| !is_stdio(t));
    if let Some(t) = target.filter(|t| has_extension(t, "pyasm") || has_extension(t, "pyc") || is_pyz(t)) {
        return rep.problem(&Problem::usage(format!(
            "-o {}: an application disassembles into a folder (one .pyasm per module): give -o DIR, or no -o for stdout",
            t.display()
        )));
    }
    // Before any work: the output must not stand where it cannot be written.
    let mut protected = Protected::default();
    protected.input(input);
    if let Some(t) = target {
        if let Err(p) = check_target(t, Kind::Folder, &protected) {
            return rep.problem(&p);
        }
    }
    let members = match read_application(input) {
        Ok(m) => m,
        Err(p) => return rep.problem(&p),
    };
    let mut modules: Vec<(String, bool, &[u8])> = Vec::new();
    for (path, bytes) in &members {
        match crate::link::modules::module_of_member(path) {
            Some((name, pkg)) => modules.push((name, pkg, bytes)),
            None if path.ends_with(".pyc") && !path.contains("__pycache__") => {
                rep.warning(&format!("{}: {path:?} is not the path of a module; skipped", input.display()), Some(input))
            }
            None => {}
        }
    }
    modules.sort_by(|a, b| a.0.cmp(&b.0));
    // As for a folder (`pyc_files`): an archive may hold 65,535 members, far more than an
    // application needs, and each is disassembled.
    if modules.len() > crate::link::modules::MAX_MODULES {
        return rep.problem(&Problem::damaged(input, format!("{}: more than {} modules", input.display(), crate::link::modules::MAX_MODULES)));
    }
    if modules.is_empty() {
        return rep.problem(&Problem::damaged(input, format!("{}: no .pyc modules in it", input.display())));
    }
    let (texts, printed) = match disassemble_modules(input, modules, target.is_some(), rep) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let written = match target {
        Some(dir) => write_folder(dir, &texts, &protected),
        None => write_stdout(printed.as_bytes()),
    };
    match written {
        Ok(()) => Status::OK,
        Err(p) => rep.problem(&p),
    }
}

/// Disassembles the modules of an application: as `(path, text)` files for a folder
/// (`to_folder`), else as one text under `# module` headers. Every module that cannot be
/// disassembled is reported; then `Err`.
fn disassemble_modules(input: &Path, modules: Vec<(String, bool, &[u8])>, to_folder: bool, rep: &Reporter) -> Result<(FolderFiles, String), Status> {
    let mut status = Status::OK;
    let mut texts: FolderFiles = Vec::new();
    let mut printed = String::new();
    for (name, is_package, bytes) in modules {
        let shown = format!("{}: module {name}", input.display());
        let text = match crate::load::load_pyc(bytes).map_err(|e| e.to_string()).and_then(|pyc| {
            let table = crate::opcodes::TABLES
                .iter()
                .copied()
                .find(|t| t.magic == pyc.magic)
                .ok_or_else(|| format!("magic number {} is not a version pyasm supports", pyc.magic))?;
            crate::dis::disassemble(&pyc.code, table)
        }) {
            Ok(dis) => {
                for m in &dis.mismatches {
                    rep.warning(&format!("{shown}: the disassembly does not reproduce {m}"), Some(input));
                }
                dis.text
            }
            Err(e) => {
                status = rep.problem(&Problem::damaged(input, format!("{shown}: {e}")));
                continue;
            }
        };
        if to_folder {
            let rel = crate::link::modules::member_path(&name, is_package);
            texts.push((rel.replace(".pyc", ".pyasm"), text.into_bytes()));
        } else {
            if !printed.is_empty() {
                printed.push('\n');
            }
            printed.push_str(&format!("# module {name}{}\n", if is_package { " (package)" } else { "" }));
            printed.push_str(&text);
        }
    }
    if status != Status::OK {
        return Err(status);
    }
    Ok((texts, printed))
}
