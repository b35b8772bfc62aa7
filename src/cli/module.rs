//! Reading the source files of one module and assembling them, as every command that
//! assembles does (`assemble`, `check`, `run`, and `link` once per module); the target
//! version when none is named; the pyc header.

use super::Status;
use super::args::{HashMode, PythonArg};
use super::report::{Problem, Reporter};
use crate::diagnostics::SourceFiles;
use crate::emit::pyc::{PycHeader, source_hash};
use crate::version::{self, PythonVersion};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What every assembling command passes down.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    pub python: Option<PythonVersion>,
    pub listing: bool,
}

/// One module, assembled.
pub(crate) struct Built {
    pub out: crate::Assembled,
    /// The bytes of its files, in order (what a PEP 552 hash is taken of).
    pub source: Vec<u8>,
}

/// Reads one source file into `files`. `Err` carries the exit status (the problem is
/// printed).
pub(crate) fn read_source(files: &mut SourceFiles, path: &Path, rep: &Reporter) -> Result<u32, Status> {
    let stdin = path.as_os_str() == "-";
    let source = if stdin {
        stdin_bytes().map_err(|e| rep.problem(&Problem::cannot_read(Path::new("standard input"), &e)))?
    } else {
        std::fs::read(path).map_err(|e| rep.problem(&Problem::cannot_read(path, &e)))?
    };
    let name = if stdin { "<stdin>".to_string() } else { path.display().to_string() };
    match files.add_bytes(name, source) {
        (id, None) => Ok(id),
        (_, Some(not_utf8)) => {
            rep.diagnostics(files, &[not_utf8]);
            Err(Status::ERRORS)
        }
    }
}

/// Standard input, read once per command: a command may look at its input more than once
/// (`check` asks first whether a file is portable), and a second read would find it empty.
static STDIN: std::sync::Mutex<Option<Result<Vec<u8>, (std::io::ErrorKind, String)>>> = std::sync::Mutex::new(None);

fn stdin_bytes() -> std::io::Result<Vec<u8>> {
    let mut cached = STDIN.lock().unwrap_or_else(|p| p.into_inner());
    let read = cached.get_or_insert_with(|| {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf).map_err(|e| (e.kind(), e.to_string()))
    });
    read.clone().map_err(|(kind, msg)| std::io::Error::new(kind, msg))
}

/// Called when a command starts (`cli::main`): what an earlier command read is not its input.
pub(crate) fn forget_stdin() {
    *STDIN.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// The files of one module must be different files: the same one twice (under any name)
/// would define every code object twice.
pub(crate) fn check_distinct(paths: &[PathBuf]) -> Result<(), Problem> {
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(Problem::usage("standard input (`-`) can be read only once"));
    }
    let mut seen: Vec<(u64, u64)> = Vec::with_capacity(paths.len());
    for p in paths {
        let Ok(meta) = std::fs::metadata(p) else { continue };
        let id = (meta.dev(), meta.ino());
        if seen.contains(&id) {
            return Err(Problem::usage(format!("{}: this file is given twice", p.display())).at(p));
        }
        seen.push(id);
    }
    Ok(())
}

/// Assembles the files `paths` together as one module into `files` and prints its
/// diagnostics. `Err` carries the exit status.
pub(crate) fn assemble_module(files: &mut SourceFiles, paths: &[PathBuf], s: Settings, rep: &Reporter) -> Result<Built, Status> {
    check_distinct(paths).map_err(|p| rep.problem(&p))?;
    let mut ids = Vec::new();
    let mut failed = None;
    for p in paths {
        match read_source(files, p, rep) {
            Ok(id) => ids.push(id),
            Err(code) => failed = Some(failed.map_or(code, |f: Status| Status(f.0.max(code.0)))),
        }
    }
    if let Some(code) = failed {
        return Err(code);
    }
    let declares_version = ids.iter().any(|&f| files.text(f).lines().any(|l| l.trim_start().starts_with(".python")));
    let default_version = if s.python.is_none() && !declares_version { Some(default_version(rep)) } else { None };
    let opts = crate::Options { version: s.python, default_version, filename: None, listing: s.listing, ..Default::default() };
    let shown = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    match crate::assemble_files(files, &ids, &opts) {
        Ok(out) => {
            rep.diagnostics(files, &out.warnings);
            rep.verbose(&format!("assembled {shown} for Python {}", out.version.version));
            // The files read are UTF-8 (else they were refused): their texts are their bytes,
            // copied only now that assembling no longer needs the memory.
            let mut source = Vec::new();
            for &f in &ids {
                source.extend_from_slice(files.text(f).as_bytes());
            }
            Ok(Built { out, source })
        }
        Err(diags) => {
            rep.diagnostics(files, &diags);
            let n = diags.iter().filter(|d| d.is_error()).count();
            rep.summary(&format!("{shown} not assembled: {n} error{}", if n == 1 { "" } else { "s" }));
            Err(Status::ERRORS)
        }
    }
}

/// The version of the `python3` on PATH when pyasm supports it, else the newest supported.
pub(crate) fn default_version(rep: &Reporter) -> PythonVersion {
    let newest = version::newest_supported();
    let found = Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<PythonVersion>().ok());
    match found {
        Some(v) if version::supported().any(|s| s == v) => {
            rep.verbose(&format!("no --python or .python given; targeting {v}, the version of python3 on PATH"));
            v
        }
        Some(v) => {
            rep.verbose(&format!("python3 on PATH is {v}, which pyasm does not support; targeting {newest}"));
            newest
        }
        None => {
            rep.verbose(&format!("no python3 on PATH; targeting {newest}, the newest supported version"));
            newest
        }
    }
}

/// The pyc header: a PEP 552 hash of the source bytes, or the source file's mtime and size.
pub(crate) fn header_for(source: &[u8], path: &Path, magic: u16, hash: Option<HashMode>) -> PycHeader {
    match hash {
        Some(mode) => PycHeader::Hash { checked: matches!(mode, HashMode::Checked), hash: source_hash(magic, source) },
        None => {
            let mtime = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as u32)
                .unwrap_or(0);
            PycHeader::Timestamp { mtime, source_size: source.len() as u32 }
        }
    }
}

/// The versions `--python` names: none (the file's or the default choice), one or several,
/// or for `all` every version the portable file `first` serves.
pub(crate) fn targets(arg: &Option<PythonArg>, first: &Path, rep: &Reporter) -> Result<Vec<Option<PythonVersion>>, Status> {
    match arg {
        None => Ok(vec![None]),
        Some(PythonArg::Versions(vs)) => Ok(vs.iter().copied().map(Some).collect()),
        Some(PythonArg::All) if first.as_os_str() == "-" => {
            Err(rep.problem(&Problem::usage("--python all reads the file's range first: give a file, not standard input")))
        }
        Some(PythonArg::All) => {
            let mut files = SourceFiles::new();
            let id = read_source(&mut files, first, rep)?;
            match crate::served_versions(&files, id) {
                Some(vs) => Ok(vs.into_iter().map(Some).collect()),
                None => Err(rep.problem(
                    &Problem::usage(format!("--python all: {} is not a portable file", first.display()))
                        .at(first)
                        .with_note("help: `all` means every version a portable file serves: give it a range, `.python 3.6-3.15`"),
                )),
            }
        }
    }
}

/// The one version a command that makes one output takes (`run`, `lower`, `link`, or
/// assembling with -o).
pub(crate) fn one_target(arg: &Option<PythonArg>, what: &str, rep: &Reporter) -> Result<Option<PythonVersion>, Status> {
    match arg {
        None => Ok(None),
        Some(a) => a.one().map(Some).ok_or_else(|| {
            rep.problem(&Problem::usage(format!("{what} takes one --python version; for several, assemble with --out-dir DIR")))
        }),
    }
}
