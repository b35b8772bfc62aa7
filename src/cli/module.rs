//! Reading the source files of one module and assembling them, as every command that
//! assembles does (`assemble`, `check`, `run`, and `link` once per module); the target
//! version when none is named; the pyc header.

use super::Status;
use super::args::{CommonArgs, HashMode, MessageFormat};
use super::report::{fail_io, print_diags};
use crate::diagnostics::SourceFiles;
use crate::emit::pyc::{PycHeader, source_hash};
use crate::version::{self, PythonVersion};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Reads one source file into `files`. `Err` carries the exit code (the problem is printed).
pub(crate) fn read_source(files: &mut SourceFiles, path: &Path, c: &CommonArgs) -> Result<(u32, Vec<u8>), Status> {
    let stdin = path.as_os_str() == "-";
    let source = if stdin {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| fail_io(format!("cannot read standard input: {e}")))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| fail_io(format!("cannot read {}: {e}", path.display())))?
    };
    let name = if stdin { "<stdin>".to_string() } else { path.display().to_string() };
    match files.add_bytes(name, source.clone()) {
        (id, None) => Ok((id, source)),
        (_, Some(not_utf8)) => {
            print_diags(files, &[not_utf8], c);
            Err(Status::ERRORS)
        }
    }
}

/// Reads the module's files (`c.file` and `c.more`), assembles them together and prints
/// diagnostics. Returns the result and the sources' bytes (for the pyc header). `Err`
/// carries the exit code to use.
pub(crate) fn assemble_file(c: &CommonArgs) -> Result<(crate::Assembled, Vec<u8>), Status> {
    let mut files = SourceFiles::new();
    let (out, source, _) = assemble_module(&mut files, &c.inputs(), c)?;
    Ok((out, source))
}

/// Assembles the files `paths` as one module into `files`; also returns the id of the first.
pub(crate) fn assemble_module(files: &mut SourceFiles, paths: &[PathBuf], c: &CommonArgs) -> Result<(crate::Assembled, Vec<u8>, u32), Status> {
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(fail_io("standard input (`-`) can be read only once".into()));
    }
    let mut ids = Vec::new();
    let mut source = Vec::new();
    let mut failed = None;
    for p in paths {
        match read_source(files, p, c) {
            Ok((id, bytes)) => {
                ids.push(id);
                source.extend_from_slice(&bytes);
            }
            Err(code) => failed = Some(code),
        }
    }
    if let Some(code) = failed {
        return Err(code);
    }
    let declares_version = ids.iter().any(|&f| files.text(f).lines().any(|l| l.trim_start().starts_with(".python")));
    let default_version = if c.python.is_none() && !declares_version { Some(default_version(c.report.verbose)) } else { None };
    let opts = crate::Options { version: c.python, default_version, filename: None, listing: c.listing };
    let shown = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    match crate::assemble_files(files, &ids, &opts) {
        Ok(out) => {
            if !c.report.quiet {
                print_diags(files, &out.warnings, c);
            }
            if c.report.verbose {
                eprintln!("pyasm: assembled {shown} for Python {}", out.version.version);
            }
            Ok((out, source, ids[0]))
        }
        Err(diags) => {
            print_diags(files, &diags, c);
            let n = diags.iter().filter(|d| d.is_error()).count();
            if matches!(c.report.message_format, MessageFormat::Human) {
                eprintln!("error: {shown} not assembled: {n} error{}", if n == 1 { "" } else { "s" });
            }
            Err(Status::ERRORS)
        }
    }
}

/// The version of the `python3` on PATH when pyasm supports it, else the newest supported.
pub(crate) fn default_version(verbose: bool) -> PythonVersion {
    let newest = version::newest_supported();
    let found = Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<PythonVersion>().ok());
    match found {
        Some(v) if version::supported().any(|s| s == v) => {
            if verbose {
                eprintln!("pyasm: no --python or .python given; targeting {v}, the version of python3 on PATH");
            }
            v
        }
        other => {
            if verbose {
                match other {
                    Some(v) => eprintln!("pyasm: python3 on PATH is {v}, which pyasm does not support; targeting {newest}"),
                    None => eprintln!("pyasm: no python3 on PATH; targeting {newest}, the newest supported version"),
                }
            }
            newest
        }
    }
}

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

