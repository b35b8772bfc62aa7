//! `pyasm check`: assemble, report, write nothing (but the listing, with --listing, on
//! stdout).

use super::Status;
use super::args::{CommonArgs, PythonArg};
use super::module::{Settings, assemble_module, check_distinct, read_source, targets};
use super::output::write_stdout;
use super::report::Reporter;
use crate::diagnostics::SourceFiles;

pub(crate) fn cmd_check(c: CommonArgs) -> Status {
    let rep = Reporter::new(&c.report);
    if !c.listing && matches!(c.python, None | Some(PythonArg::All)) {
        if let Some(status) = check_portable(&c, &rep) {
            return status;
        }
    }
    let versions = match targets(&c.python, &c.file, &rep) {
        Ok(v) => v,
        Err(code) => return code,
    };
    // With several versions (a portable file's), each is checked; the worst status counts.
    let mut status = Status::OK;
    for python in versions {
        let mut files = SourceFiles::new();
        let built = match assemble_module(&mut files, &c.inputs(), Settings { python, listing: c.listing }, &rep) {
            Ok(b) => b,
            Err(code) => {
                status = Status(status.0.max(code.0));
                continue;
            }
        };
        if let Some(Err(p)) = built.out.listing.map(|l| write_stdout(l.as_bytes())) {
            return rep.problem(&p);
        }
    }
    status
}

/// A portable file is checked for every version it serves, each diagnostic reported once
/// (`pyasm::check_portable`). `None` when the file is not portable.
fn check_portable(c: &CommonArgs, rep: &Reporter) -> Option<Status> {
    let paths = c.inputs();
    // Standard input can be read once: a program read from it is checked as any other.
    if paths.iter().any(|p| p.as_os_str() == "-") {
        return None;
    }
    if let Err(p) = check_distinct(&paths) {
        return Some(rep.problem(&p));
    }
    let mut files = SourceFiles::new();
    let mut ids = Vec::new();
    for p in &paths {
        match read_source(&mut files, p, rep) {
            Ok(id) => ids.push(id),
            Err(code) => return Some(code),
        }
    }
    let served = crate::served_versions(&files, ids[0])?;
    let diags = crate::check_portable(&mut files, &ids, &crate::Options::default(), &served);
    rep.diagnostics(&files, &diags);
    let n = diags.iter().filter(|d| d.is_error()).count();
    if n == 0 {
        return Some(Status::OK);
    }
    let shown = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    rep.summary(&format!("{shown} not assembled: {n} error{}", if n == 1 { "" } else { "s" }));
    Some(Status::ERRORS)
}
