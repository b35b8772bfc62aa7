//! `pyasm python X.Y ARGS…`: the CPython that `pyasm run` would use; and how `run` finds and
//! runs one.

use super::Status;
use super::args::PythonArgs;
use super::report::fail_io;
use crate::interpreters::{self, Interpreter};
use crate::version::PythonVersion;
use std::process::Command;

/// A CPython `v` for running something: found on this machine, or (when asked, by the flag or
/// `PYASM_INSTALL_PYODIDE=1`) installed from pyodide. Without one, says how to get one.
pub(crate) fn interpreter_for(v: PythonVersion, install: bool, verbose: bool) -> Result<Interpreter, Status> {
    let install = install || std::env::var("PYASM_INSTALL_PYODIDE").is_ok_and(|x| !x.is_empty() && x != "0");
    let search = interpreters::search(v);
    let python = match search.found {
        Some(p) => p,
        None if install => {
            if verbose {
                eprintln!("pyasm: no CPython {v} found; installing pyodide's");
            }
            interpreters::install_pyodide(v).map_err(|e| {
                fail_io(format!("cannot install an interpreter: {e}\n{}", interpreters::how_to_get(v, &search.tried)))
            })?
        }
        None => return Err(fail_io(interpreters::how_to_get(v, &search.tried))),
    };
    if verbose {
        eprintln!("pyasm: running with {}", python.describe());
    }
    Ok(python)
}

/// Runs the interpreter and passes on its exit status.
pub(crate) fn run_interpreter(python: &Interpreter, command: &mut Command) -> Status {
    match command.status() {
        Ok(status) => match status.code() {
            Some(c) => Status(c.clamp(0, 255) as u8),
            None => {
                use std::os::unix::process::ExitStatusExt;
                let sig = status.signal().unwrap_or(0);
                eprintln!(
                    "error: {} was killed by signal {sig}{}",
                    python.describe(),
                    if sig == 11 { " (a segmentation fault: the bytecode corrupted the interpreter's stack or memory)" } else { "" }
                );
                Status::ERRORS
            }
        },
        Err(e) => fail_io(format!("cannot run {}: {e}", python.describe())),
    }
}

pub(crate) fn cmd_python(p: PythonArgs) -> Status {
    let python = match interpreter_for(p.version, p.install_interpreter, p.verbose) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if p.which {
        println!("{}", python.describe());
        return Status::OK;
    }
    run_interpreter(&python, python.command().args(&p.args))
}

