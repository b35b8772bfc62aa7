//! `pyasm run`: assemble to a temporary .pyc and run it with a CPython of its version.

use super::Status;
use super::args::RunArgs;
use super::module::{assemble_file, header_for};
use super::python::{interpreter_for, run_interpreter};
use super::report::fail_io;

pub(crate) fn cmd_run(r: RunArgs) -> Status {
    let (out, source) = match assemble_file(&r.common) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let v = out.version.version;
    let python = match interpreter_for(v, r.install_interpreter, r.common.report.verbose) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return fail_io(format!("cannot create a temporary folder: {e}")),
    };
    let stem = r.common.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "program".into());
    let pyc = dir.path().join(format!("{stem}.pyc"));
    let bytes = out.to_pyc(&header_for(&source, &r.common.file, out.version.magic, None));
    if let Err(e) = std::fs::write(&pyc, bytes) {
        return fail_io(format!("cannot write {}: {e}", pyc.display()));
    }
    run_interpreter(&python, python.command().arg(&pyc).args(&r.args))
}
