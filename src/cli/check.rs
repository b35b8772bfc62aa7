//! `pyasm check`: assemble, report, write nothing.

use super::Status;
use super::args::CommonArgs;
use super::module::assemble_file;

pub(crate) fn cmd_check(c: CommonArgs) -> Status {
    match assemble_file(&c) {
        Ok((out, _)) => {
            if let Some(listing) = &out.listing {
                print!("{listing}");
            }
            Status::OK
        }
        Err(code) => code,
    }
}

