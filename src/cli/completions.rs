//! `pyasm completions SHELL`: a completion script generated from the clap definition.

use super::Status;
use super::args::{Cli, CompletionsArgs};

pub(crate) fn cmd_completions(c: CompletionsArgs) -> Status {
    use clap::CommandFactory;
    clap_complete::generate(c.shell, &mut Cli::command(), "pyasm", &mut std::io::stdout());
    Status::OK
}
