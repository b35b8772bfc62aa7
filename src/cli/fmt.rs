//! `pyasm fmt`: rewrites .pyasm files in the canonical layout (`crate::fmt`); `--check`
//! only says which files it would change (exit status 1), for CI.

use super::Status;
use super::output::{write_file, write_stdout};
use super::report::{Problem, Reporter};
use clap::Args;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct FmtArgs {
    /// The files, or folders (every .pyasm file under them); `-` reads standard input and
    /// writes the result to standard output.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Change nothing: list the files that are not in the layout, and exit with status 1 if
    /// there are any.
    #[arg(long)]
    pub check: bool,
}

/// The .pyasm files under `path` (itself when it is a file), sorted.
fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path).into_iter().flatten().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() || e.extension().is_some_and(|x| x == "pyasm") {
            collect(&e, out);
        }
    }
}

pub(crate) fn cmd_fmt(f: FmtArgs) -> Status {
    let rep = Reporter::plain();
    let mut paths = Vec::new();
    for p in &f.files {
        collect(p, &mut paths);
    }
    let mut status = Status::OK;
    let mut unformatted = 0;
    for path in &paths {
        let stdin = path.as_os_str() == "-";
        let read = if stdin {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| s)
        } else {
            std::fs::read_to_string(path)
        };
        let text = match read {
            Ok(t) => t,
            Err(e) => {
                status = Status(status.0.max(rep.problem(&Problem::cannot_read(path, &e)).0));
                continue;
            }
        };
        let formatted = match crate::fmt::format(&text) {
            Ok(t) => t,
            Err(why) => {
                status = Status(status.0.max(rep.problem(&Problem::usage(format!("{}: {why}", path.display())).at(path)).0));
                continue;
            }
        };
        let result = match (stdin, f.check, formatted == text) {
            (_, true, true) => Ok(()),
            (_, true, false) => {
                unformatted += 1;
                let shown = if stdin { "<stdin>".into() } else { path.display().to_string() };
                eprintln!("{shown}: not in the pyasm fmt layout");
                Ok(())
            }
            (true, false, _) => write_stdout(formatted.as_bytes()),
            (false, false, true) => Ok(()),
            (false, false, false) => {
                let mode = std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(super::output::FILE_MODE);
                write_file(path, formatted.as_bytes(), mode, &Default::default())
            }
        };
        if let Err(p) = result {
            status = Status(status.0.max(rep.problem(&p).0));
        }
    }
    if unformatted > 0 && status == Status::OK {
        return Status::ERRORS;
    }
    status
}
