//! `pyasm check`: assemble, report, write nothing (but the listing, with --listing, on
//! stdout).

use super::Status;
use super::args::CommonArgs;
use super::module::{Settings, assemble_module, targets};
use super::output::write_stdout;
use super::report::Reporter;
use crate::diagnostics::SourceFiles;

pub(crate) fn cmd_check(c: CommonArgs) -> Status {
    let rep = Reporter::new(&c.report);
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
