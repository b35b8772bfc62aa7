//! `pyasm explain`: what an instruction does, or the list of a version's instructions.

use super::Status;
use super::args::ExplainArgs;
use super::module::default_version;
use super::report::fail_io;
use crate::version;

pub(crate) fn cmd_explain(e: ExplainArgs) -> Status {
    let v = e.python.unwrap_or_else(|| default_version(false));
    let Some(table) = crate::opcodes::table_for(v) else {
        let supported: Vec<String> = version::supported().map(|v| v.to_string()).collect();
        return fail_io(format!("Python {v} is not supported (supported: {})", supported.join(", ")));
    };
    if e.list {
        print!("{}", crate::explain::list(table));
        return Status::OK;
    }
    match crate::explain::explain(e.opcode.as_deref().unwrap_or_default(), table) {
        Ok(text) => {
            print!("{text}");
            Status::OK
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            Status::ERRORS
        }
    }
}
