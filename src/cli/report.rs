//! How commands report on stderr: diagnostics (for people, in colour or not, or one JSON
//! object per line), problems with files and the command line (`Problem`), warnings, and
//! what `--verbose` says.
//!
//! Under `--message-format json` every message is a JSON object on its own line, diagnostics
//! and problems alike: `severity`, `code`, `message`, `file`, `labels`, `notes`, and for a
//! problem also `reason` (see docs/errors.md, "Messages as JSON").

use super::Status;
use super::args::{ColorChoice, MessageFormat, ReportArgs};
use crate::diagnostics::{Diagnostic, SourceFiles, json_string};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Stable codes of the problems the command line itself finds (documented in
/// docs/errors.md, E05xx).
pub(crate) mod codes {
    /// An input (file or folder) cannot be read.
    pub const CANNOT_READ: &str = "E0501";
    /// An output cannot be written: its folder is missing, a file is in the way, …
    pub const CANNOT_WRITE: &str = "E0502";
    /// The output is one of the inputs, or a file an input includes.
    pub const OUTPUT_IS_INPUT: &str = "E0503";
    /// Two inputs would write the same output file.
    pub const SAME_OUTPUT: &str = "E0504";
    /// The command line asks for something that cannot be done.
    pub const USAGE: &str = "E0505";
    /// A .pyc or .pyz that cannot be disassembled.
    pub const DAMAGED: &str = "E0506";
    /// A warning about the inputs (a folder's layout, a member skipped, a field the
    /// disassembly does not reproduce).
    pub const INPUT_WARNING: &str = "W0501";
}

/// A problem with the files or the command line, said in the user's terms: which path, and
/// why (never a temporary file's name).
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub code: &'static str,
    pub message: String,
    /// The path it is about (the output, or the input), when there is one.
    pub path: Option<PathBuf>,
    /// What kind of problem, for tools: `folder-missing`, `not-a-folder`, …
    pub reason: &'static str,
    pub notes: Vec<String>,
    /// 2 for usage and I/O problems, 1 for an input that has errors.
    pub status: Status,
}

impl Problem {
    /// A usage or I/O problem (exit status 2).
    pub fn new(code: &'static str, reason: &'static str, message: impl Into<String>) -> Problem {
        Problem { code, message: message.into(), path: None, reason, notes: Vec::new(), status: Status::USAGE }
    }

    /// A usage problem that is about no particular file.
    pub fn usage(message: impl Into<String>) -> Problem {
        Problem::new(codes::USAGE, "usage", message)
    }

    /// An input that cannot be disassembled (exit status 1, as for source with errors).
    pub fn damaged(path: &Path, message: impl Into<String>) -> Problem {
        Problem { status: Status::ERRORS, ..Problem::new(codes::DAMAGED, "damaged", message).at(path) }
    }

    /// An input that cannot be read, and why.
    pub fn cannot_read(path: &Path, e: &std::io::Error) -> Problem {
        use std::io::ErrorKind;
        let (reason, why) = match e.kind() {
            ErrorKind::NotFound => ("not-found", "there is no such file".to_string()),
            ErrorKind::IsADirectory => ("is-a-folder", "it is a folder".to_string()),
            ErrorKind::PermissionDenied => ("not-readable", "permission denied".to_string()),
            ErrorKind::NotADirectory => ("not-found", "a folder on its path is a file".to_string()),
            _ => ("io", os_text(e)),
        };
        Problem::new(codes::CANNOT_READ, reason, format!("cannot read {}: {why}", path.display())).at(path)
    }

    pub fn at(mut self, path: &Path) -> Problem {
        self.path = Some(path.to_path_buf());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Problem {
        self.notes.push(note.into());
        self
    }
}

/// How one command reports, from its options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reporter {
    pub color: bool,
    pub verbose: bool,
    pub quiet: bool,
    pub json: bool,
}

impl Reporter {
    pub fn new(r: &ReportArgs) -> Reporter {
        Reporter { color: use_color(r.color), verbose: r.verbose, quiet: r.quiet, json: matches!(r.message_format, MessageFormat::Json) }
    }

    /// For commands without report options: for people, colour when stderr is a terminal.
    pub fn plain() -> Reporter {
        Reporter { color: use_color(ColorChoice::Auto), verbose: false, quiet: false, json: false }
    }

    /// Prints diagnostics (warnings left out under `--quiet`).
    pub fn diagnostics(&self, files: &SourceFiles, diags: &[Diagnostic]) {
        let shown: Vec<Diagnostic> = diags.iter().filter(|d| d.is_error() || !self.quiet).cloned().collect();
        if shown.is_empty() {
            return;
        }
        let text = if self.json { shown.iter().map(|d| files.to_json(d) + "\n").collect() } else { files.render(&shown, self.color) };
        emit(&text);
    }

    /// Prints a problem; returns the exit status it calls for.
    pub fn problem(&self, p: &Problem) -> Status {
        emit(&self.record("error", p.code, &p.message, p.path.as_deref(), p.reason, &p.notes));
        p.status
    }

    /// Prints a warning about the inputs (not under `--quiet`).
    pub fn warning(&self, message: &str, path: Option<&Path>) {
        if !self.quiet {
            emit(&self.record("warning", codes::INPUT_WARNING, message, path, "input", &[]));
        }
    }

    /// The summary line after a module's errors ("x.pyasm not assembled: 2 errors"), for
    /// people only: a tool counts the records.
    pub fn summary(&self, message: &str) {
        if !self.json {
            emit(&format!("error: {message}\n"));
        }
    }

    /// What `--verbose` says (the version targeted, what is written): `pyasm: …` lines, or
    /// records of severity `note`.
    pub fn verbose(&self, message: &str) {
        if self.verbose {
            emit(&if self.json { self.record("note", "", message, None, "verbose", &[]) } else { format!("pyasm: {message}\n") });
        }
    }

    /// Text that goes to stderr as it is (the listing, when the .pyc goes to stdout).
    pub fn text(&self, text: &str) {
        emit(text);
    }

    fn record(&self, severity: &str, code: &str, message: &str, path: Option<&Path>, reason: &str, notes: &[String]) -> String {
        if !self.json {
            // Coloured as the diagnostics' own `error` / `warning` are.
            let shown = match (self.color, severity) {
                (true, "error") => "\x1b[1;31merror\x1b[0m".to_string(),
                (true, _) => format!("\x1b[1;33m{severity}\x1b[0m"),
                (false, _) => severity.to_string(),
            };
            let mut text = format!("{shown}: {message}\n");
            for n in notes {
                text.push_str(&format!("  = {n}\n"));
            }
            return text;
        }
        let file = path.map(|p| p.display().to_string()).unwrap_or_default();
        let notes: Vec<String> = notes.iter().map(|n| json_string(n)).collect();
        format!(
            "{{\"severity\":{},\"code\":{},\"message\":{},\"file\":{},\"labels\":[],\"notes\":[{}],\"suggestions\":[],\"reason\":{}}}\n",
            json_string(severity),
            json_string(code),
            json_string(message),
            json_string(&file),
            notes.join(","),
            json_string(reason)
        )
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    }
}

/// One write per message, so that messages of parallel jobs do not interleave.
fn emit(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The system's words for an error, without the paths that some errors carry (a
/// temporary file's, for one).
pub(crate) fn os_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let text = std::io::Error::from_raw_os_error(n).to_string();
            text.split(" (os error").next().unwrap_or(&text).to_string()
        }
        None => e.kind().to_string(),
    }
}
