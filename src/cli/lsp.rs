//! `pyasm lsp`: the language server (`crate::lsp`) on standard input and output.

use super::Status;
use super::module::default_version;
use super::report::{Problem, Reporter};
use crate::version::PythonVersion;
use clap::Args;

#[derive(Args)]
pub struct LspArgs {
    /// The version every module is checked for (as `--python` when assembling); without it,
    /// a file's `.python`, else the version of the python3 on PATH.
    #[arg(long, value_name = "X.Y")]
    pub python: Option<PythonVersion>,
    /// Accepted for clients that pass it: the server always speaks on stdin/stdout.
    #[arg(long, hide = true)]
    pub stdio: bool,
}

pub(crate) fn cmd_lsp(a: LspArgs) -> Status {
    let rep = Reporter::plain();
    let config = crate::lsp::Config { python: a.python, default_version: Some(default_version(&rep)), ..Default::default() };
    match crate::lsp::run_stdio(config) {
        Ok(()) => Status::OK,
        Err(e) => rep.problem(&Problem::usage(format!("the language server stopped: {e}"))),
    }
}
