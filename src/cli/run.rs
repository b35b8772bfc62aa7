//! `pyasm run`: assemble to a temporary .pyc and run it with a CPython of its version.

use super::Status;
use super::args::RunArgs;
use super::module::{Settings, assemble_module, header_for, one_target};
use super::python::{interpreter_for, run_interpreter};
use super::report::{Problem, Reporter, codes, os_text};
use crate::diagnostics::SourceFiles;

pub(crate) fn cmd_run(r: RunArgs) -> Status {
    let rep = Reporter::new(&r.common.report);
    let mut files = SourceFiles::new();
    let python = match one_target(&r.common.python, "pyasm run", &rep) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let settings = Settings { python, listing: r.common.listing };
    let built = match assemble_module(&mut files, &r.common.inputs(), settings, &rep) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let out = &built.out;
    let python = match interpreter_for(out.version.version, r.install_interpreter, &rep) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // The program's own temporary folder, removed when it has run: none of the user's files.
    let scratch = |e: std::io::Error| rep.problem(&Problem::new(codes::CANNOT_WRITE, "io", format!("cannot create a temporary folder to run in: {}", os_text(&e))));
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return scratch(e),
    };
    let stem = r.common.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "program".into());
    let pyc = dir.path().join(format!("{stem}.pyc"));
    let bytes = out.to_pyc(&header_for(&built.source, &r.common.file, out.version.magic, None));
    if let Err(e) = std::fs::write(&pyc, bytes) {
        return scratch(e);
    }
    run_interpreter(&python, python.command().arg(&pyc).args(&r.args), &rep)
}
