//! `pyasm dis`: a .pyc back to .pyasm text (or its listing), many with --out-dir, and every
//! module of an application (a .pyz or a folder of .pyc).

use super::Status;
use super::args::DisArgs;
use super::batch::batch;
use super::link::{has_extension, is_pyz};
use super::output::{write_atomically, write_output};
use super::report::fail_io;
use std::path::{Path, PathBuf};

pub(crate) fn cmd_dis(d: DisArgs) -> Status {
    if d.files.iter().any(|f| is_application(f)) {
        if d.files.len() > 1 {
            return fail_io("disassemble one application (.pyz or folder) at a time".into());
        }
        if d.listing {
            return fail_io("--listing is for one .pyc, not an application".into());
        }
        return dis_application(&d.files[0], d.output.as_deref().or(d.batch.out_dir.as_deref()));
    }
    match &d.batch.out_dir {
        Some(dir) => batch(&d.files, dir, "pyasm", d.batch.jobs, |file, target| dis_one(file, Some(&target), false)),
        None if d.files.len() > 1 => fail_io("several input files need --out-dir DIR".into()),
        None => dis_one(&d.files[0], d.output.as_deref(), d.listing),
    }
}

/// Disassembles one file into `target` (stdout when `None` or `-`). With `listing`, prints the
/// listing on stdout, and the text only when a target was named.
pub(crate) fn dis_one(file: &Path, target: Option<&Path>, listing: bool) -> Status {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return fail_io(format!("cannot read {}: {e}", file.display())),
    };
    let pyc = match crate::load::load_pyc(&bytes) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return Status::ERRORS;
        }
    };
    let Some(table) = crate::opcodes::TABLES.iter().copied().find(|t| t.magic == pyc.magic) else {
        eprintln!("error: {}: magic number {} is not a version pyasm supports", file.display(), pyc.magic);
        return Status::ERRORS;
    };
    if listing {
        let (text, dis) = match crate::dis::listing(&pyc.code, table) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return Status::ERRORS;
            }
        };
        for m in &dis.mismatches {
            eprintln!("warning: {}: the disassembly does not reproduce {m}", file.display());
            if m.ends_with(": co_code") {
                eprintln!("warning: {}: so the listing of that code object shows pyasm's bytes, not the file's", file.display());
            }
        }
        if let Some(t) = target {
            if t.as_os_str() == "-" {
                return fail_io("--listing prints to stdout; give -o a file for the .pyasm text".into());
            }
            let code = write_output(t, dis.text.as_bytes());
            if code != Status::OK {
                return code;
            }
        }
        print!("{text}");
        return Status::OK;
    }
    let target = target.unwrap_or(Path::new("-"));
    match crate::dis::disassemble(&pyc.code, table) {
        Ok(dis) => {
            for m in &dis.mismatches {
                eprintln!("warning: {}: the disassembly does not reproduce {m}", file.display());
            }
            write_output(target, dis.text.as_bytes())
        }
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            Status::ERRORS
        }
    }
}

/// Whether `path` is an application (a folder, or a zip with or without a `#!` line).
pub(crate) fn is_application(path: &Path) -> bool {
    if path.is_dir() || is_pyz(path) {
        return true;
    }
    let mut head = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && (head == *b"PK\x03\x04" || head.starts_with(b"#!"))
}

/// The `.pyc` files under a folder, as member paths (`pkg/mod.pyc`), bounded.
pub(crate) fn pyc_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if out.len() >= crate::link::modules::MAX_MODULES {
            return Err(format!("{}: more than {} modules", root.display(), crate::link::modules::MAX_MODULES));
        }
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "__pycache__") {
                pyc_files(root, &p, out)?;
            }
        } else if p.extension().is_some_and(|x| x == "pyc") {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let name = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
            let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            out.push((name, bytes));
        }
    }
    Ok(())
}

/// Disassembles every module of an application: into `target` (a folder, one .pyasm per
/// module in the package layout `pyasm link` reads), or to stdout under `# module` headers.
pub(crate) fn dis_application(input: &Path, target: Option<&Path>) -> Status {
    if let Some(t) = target.filter(|t| has_extension(t, "pyasm") || has_extension(t, "pyc") || is_pyz(t)) {
        return fail_io(format!(
            "-o {}: an application disassembles into a folder (one .pyasm per module): give -o DIR, or no -o for stdout",
            t.display()
        ));
    }
    let mut owned: Vec<(String, Vec<u8>)> = Vec::new();
    let archive;
    let members: Vec<(String, &[u8])> = if input.is_dir() {
        if let Err(e) = pyc_files(input, input, &mut owned) {
            return fail_io(e);
        }
        owned.iter().map(|(n, b)| (n.clone(), b.as_slice())).collect()
    } else {
        archive = match std::fs::read(input) {
            Ok(b) => b,
            Err(e) => return fail_io(format!("cannot read {}: {e}", input.display())),
        };
        match crate::link::pyz::read(&archive) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {}: {e}", input.display());
                return Status::ERRORS;
            }
        }
    };
    let mut modules: Vec<(String, bool, &[u8])> = Vec::new();
    for (path, bytes) in &members {
        match crate::link::modules::module_of_member(path) {
            Some((name, pkg)) => modules.push((name, pkg, *bytes)),
            None if path.ends_with(".pyc") && !path.contains("__pycache__") => {
                eprintln!("warning: {}: {path:?} is not the path of a module; skipped", input.display())
            }
            None => {}
        }
    }
    modules.sort_by(|a, b| a.0.cmp(&b.0));
    // As for a folder (`pyc_files`): an archive may hold 65,535 members, far more than an
    // application needs, and each is disassembled.
    if modules.len() > crate::link::modules::MAX_MODULES {
        eprintln!("error: {}: more than {} modules", input.display(), crate::link::modules::MAX_MODULES);
        return Status::ERRORS;
    }
    if modules.is_empty() {
        eprintln!("error: {}: no .pyc modules in it", input.display());
        return Status::ERRORS;
    }
    let mut status = Status::OK;
    let mut first = true;
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
                    eprintln!("warning: {shown}: the disassembly does not reproduce {m}");
                }
                dis.text
            }
            Err(e) => {
                eprintln!("error: {shown}: {e}");
                status = Status::ERRORS;
                continue;
            }
        };
        match target {
            Some(dir) if dir.as_os_str() != "-" => {
                let rel = crate::link::modules::member_path(&name, is_package);
                let path = dir.join(rel.replace(".pyc", ".pyasm"));
                if let Some(parent) = path.parent() {
                    if let Err(e) = std::fs::create_dir_all(parent) {
                        return fail_io(format!("cannot create {}: {e}", parent.display()));
                    }
                }
                if let Err(e) = write_atomically(&path, text.as_bytes()) {
                    return fail_io(format!("cannot write {}: {e}", path.display()));
                }
            }
            _ => {
                if !first {
                    printed.push('\n');
                }
                first = false;
                printed.push_str(&format!("# module {name}{}\n", if is_package { " (package)" } else { "" }));
                printed.push_str(&text);
            }
        }
    }
    if !printed.is_empty() {
        let code = write_output(Path::new("-"), printed.as_bytes());
        if code != Status::OK {
            return code;
        }
    }
    status
}
