//! `pyasm completions SHELL`: a completion script generated from the clap definition, written
//! to stdout in one piece once it is complete.

use super::Status;
use super::args::{Cli, CompletionsArgs};
use super::output::write_stdout;
use super::report::Reporter;

pub(crate) fn cmd_completions(c: CompletionsArgs) -> Status {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(c.shell, &mut Cli::command(), "pyasm", &mut script);
    match write_stdout(&script) {
        Ok(()) => Status::OK,
        Err(p) => Reporter::plain().problem(&p),
    }
}
