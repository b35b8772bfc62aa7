//! `pyasm explain`: what an instruction does, or the list of a version's instructions.

use super::Status;
use super::args::ExplainArgs;
use super::module::default_version;
use super::output::write_stdout;
use super::report::{Problem, Reporter};
use crate::version;

pub(crate) fn cmd_explain(e: ExplainArgs) -> Status {
    let rep = Reporter::plain();
    let v = e.python.unwrap_or_else(|| default_version(&rep));
    let Some(table) = crate::opcodes::table_for(v) else {
        let supported: Vec<String> = version::supported().map(|v| v.to_string()).collect();
        return rep.problem(&Problem::usage(format!("Python {v} is not supported (supported: {})", supported.join(", "))));
    };
    let text = if e.list {
        crate::explain::list(table)
    } else {
        match crate::explain::explain(e.opcode.as_deref().unwrap_or_default(), table) {
            Ok(text) => text,
            Err(msg) => return rep.problem(&Problem { status: Status::ERRORS, ..Problem::usage(msg) }),
        }
    };
    match write_stdout(text.as_bytes()) {
        Ok(()) => Status::OK,
        Err(p) => rep.problem(&p),
    }
}
