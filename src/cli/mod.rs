//! The `pyasm` command line, as a library: `main` takes the arguments and returns the exit
//! status, so that a host other than the `pyasm` binary (a Python extension calling it
//! in-process) can run it. Nothing here ends the process; everything is written to the
//! process's standard output and error through `std`.
//!
//! One file per command (`assemble`, `check`, `link`, `run`, `dis`, `explain`,
//! `completions`, `python`, `lower`), and what they share: `args` (the clap definition, global
//! options), `module` (reading and assembling the files of one module), `report`
//! (diagnostics and problems on stderr, for people or as JSON), `output` (the one way every
//! result is written), `batch` (many inputs in parallel, `--out-dir`).
//!
//! Exit status: 0 success, 1 the input has errors (diagnostics printed), 2 usage or I/O error.

mod args;
mod assemble;
mod batch;
mod check;
mod completions;
mod dis;
mod explain;
mod fmt;
mod link;
mod lower;
mod lsp;
mod module;
mod output;
mod python;
mod report;
mod run;

use args::{Cli, Cmd};
use clap::Parser;
use std::ffi::OsString;

/// How a command ended: the process's exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u8);

impl Status {
    pub const OK: Status = Status(0);
    /// The input has errors (they were reported).
    pub const ERRORS: Status = Status(1);
    /// A usage or I/O error.
    pub const USAGE: Status = Status(2);
}

/// Runs the command line `args` (the program name first, as `std::env::args_os` gives it) and
/// returns the exit status.
pub fn main<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    module::forget_stdin();
    run(args.into_iter().map(Into::into).collect()).0
}

fn run(argv: Vec<OsString>) -> Status {
    // `pyasm FILE …` means `pyasm assemble FILE …`; `pyasm --python 3.12 link …` means
    // `pyasm link --python 3.12 …`.
    let cli = match Cli::try_parse_from(args::hoist_global_options(argv)) {
        Ok(c) => c,
        Err(e) => {
            // Help and --version go to stdout with status 0; mistakes to stderr with 2.
            let _ = e.print();
            return Status(e.exit_code().clamp(0, 255) as u8);
        }
    };
    match cli.command {
        Cmd::Assemble(a) => assemble::cmd_assemble(a),
        Cmd::Check(c) => check::cmd_check(c),
        Cmd::Lower(c) => lower::cmd_lower(c),
        Cmd::Link(l) => link::cmd_link(l),
        Cmd::Run(r) => run::cmd_run(r),
        Cmd::Dis(d) => dis::cmd_dis(d),
        Cmd::Explain(e) => explain::cmd_explain(e),
        Cmd::Completions(c) => completions::cmd_completions(c),
        Cmd::Python(p) => python::cmd_python(p),
        Cmd::Lsp(l) => lsp::cmd_lsp(l),
        Cmd::Fmt(f) => fmt::cmd_fmt(f),
    }
}
