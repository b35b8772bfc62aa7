//! `pyasm check`: assemble, report, write nothing (but the listing, with --listing, on
//! stdout).

use super::Status;
use super::args::CommonArgs;
use super::module::{Settings, assemble_module};
use super::output::write_stdout;
use super::report::Reporter;
use crate::diagnostics::SourceFiles;

pub(crate) fn cmd_check(c: CommonArgs) -> Status {
    let rep = Reporter::new(&c.report);
    let mut files = SourceFiles::new();
    let built = match assemble_module(&mut files, &c.inputs(), Settings { python: c.python, listing: c.listing }, &rep) {
        Ok(b) => b,
        Err(code) => return code,
    };
    match built.out.listing.map(|l| write_stdout(l.as_bytes())) {
        Some(Err(p)) => rep.problem(&p),
        _ => Status::OK,
    }
}
