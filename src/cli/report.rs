//! How commands report on stderr: diagnostics (for people, in colour or not, or as JSON) and
//! usage or I/O errors.

use super::Status;
use super::args::{ColorChoice, CommonArgs, MessageFormat};
use crate::diagnostics::{Diagnostic, SourceFiles};
use std::io::{IsTerminal, Write};

pub(crate) fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    }
}

/// Prints a usage or I/O error; its exit status.
pub(crate) fn fail_io(msg: String) -> Status {
    eprintln!("error: {msg}");
    Status::USAGE
}

pub(crate) fn print_diags(files: &SourceFiles, diags: &[Diagnostic], c: &CommonArgs) {
    if diags.is_empty() {
        return;
    }
    let text = match c.report.message_format {
        MessageFormat::Human => files.render(diags, use_color(c.report.color)),
        MessageFormat::Json => diags.iter().map(|d| files.to_json(d) + "\n").collect(),
    };
    let _ = std::io::stderr().write_all(text.as_bytes());
}

