//! `pyasm python X.Y ARGS…`: the CPython that `pyasm run` would use; and how `run` finds and
//! runs one.

use super::Status;
use super::args::PythonArgs;
use super::output::write_stdout;
use super::report::{Problem, Reporter};
use crate::interpreters::{self, Interpreter};
use crate::version::PythonVersion;
use std::process::Command;

pub(crate) fn cmd_python(p: PythonArgs) -> Status {
    let rep = Reporter { verbose: p.verbose, ..Reporter::plain() };
    let python = match interpreter_for(p.version, p.install_interpreter, &rep) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if p.which {
        return match write_stdout(format!("{}\n", python.describe()).as_bytes()) {
            Ok(()) => Status::OK,
            Err(e) => rep.problem(&e),
        };
    }
    run_interpreter(&python, python.command().args(&p.args), &rep)
}

/// A CPython `v` for running something: found on this machine, or (when asked, by the flag or
/// `PYASM_INSTALL_PYODIDE=1`) installed from pyodide. Without one, says how to get one.
pub(crate) fn interpreter_for(v: PythonVersion, install: bool, rep: &Reporter) -> Result<Interpreter, Status> {
    let install = install || std::env::var("PYASM_INSTALL_PYODIDE").is_ok_and(|x| !x.is_empty() && x != "0");
    let search = interpreters::search(v);
    let python = match search.found {
        Some(p) => p,
        None if install => {
            rep.verbose(&format!("no CPython {v} found; installing pyodide's"));
            interpreters::install_pyodide(v).map_err(|e| {
                rep.problem(&Problem::new(
                    super::report::codes::USAGE,
                    "no-interpreter",
                    format!("cannot install an interpreter: {e}\n{}", interpreters::how_to_get(v, &search.tried)),
                ))
            })?
        }
        None => return Err(rep.problem(&Problem::new(super::report::codes::USAGE, "no-interpreter", interpreters::how_to_get(v, &search.tried)))),
    };
    rep.verbose(&format!("running with {}", python.describe()));
    Ok(python)
}

/// Runs the interpreter and passes on its exit status.
pub(crate) fn run_interpreter(python: &Interpreter, command: &mut Command, rep: &Reporter) -> Status {
    match command.status() {
        Ok(status) => match status.code() {
            Some(c) => Status(c.clamp(0, 255) as u8),
            None => {
                use std::os::unix::process::ExitStatusExt;
                let sig = status.signal().unwrap_or(0);
                let why = if sig == 11 { " (a segmentation fault: the bytecode corrupted the interpreter's stack or memory)" } else { "" };
                rep.problem(&Problem { status: Status::ERRORS, ..Problem::usage(format!("{} was killed by signal {sig}{why}", python.describe())) })
            }
        },
        Err(e) => rep.problem(&Problem::usage(format!("cannot run {}: {e}", python.describe()))),
    }
}
