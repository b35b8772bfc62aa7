//! Diagnostics: what went wrong, where, and how to fix it. Every stage reports through
//! this one type; rendering goes through codespan-reporting.

use crate::syntax::ast::Span;
use codespan_reporting::diagnostic as cs;
use codespan_reporting::term;
use std::io::Write as _;

/// Stable error codes. Each is documented in docs/errors.md.
pub mod codes {
    pub const LEX: &str = "E0001";
    pub const SYNTAX: &str = "E0002";
    pub const STRUCTURE: &str = "E0003";
    pub const DIRECTIVE: &str = "E0004";
    pub const UNKNOWN_OPCODE: &str = "E0101";
    pub const NOT_IN_VERSION: &str = "E0102";
    pub const OPERAND: &str = "E0103";
    pub const OUT_OF_RANGE: &str = "E0104";
    pub const UNDEFINED_LABEL: &str = "E0105";
    pub const DUPLICATE_LABEL: &str = "E0106";
    pub const UNKNOWN_LOCAL: &str = "E0107";
    pub const UNKNOWN_CODE: &str = "E0108";
    pub const DUPLICATE_CODE: &str = "E0109";
    pub const CONSTANT: &str = "E0110";
    pub const SIGNATURE: &str = "E0111";
    pub const JUMP_DIRECTION: &str = "E0112";
    pub const STACK_UNDERFLOW: &str = "E0201";
    pub const STACK_MISMATCH: &str = "E0202";
    pub const FALLS_OFF_END: &str = "E0203";
    pub const EXCEPTION_REGION: &str = "E0204";
    pub const NO_MODULE: &str = "E0205";
    /// A stack slot holds a kind of value the instruction cannot take (typed verifier).
    pub const STACK_KIND: &str = "E0206";
    /// A fast local read without a check may be unbound.
    pub const UNBOUND_LOCAL: &str = "E0207";
    /// A cell or free variable used before MAKE_CELL / COPY_FREE_VARS set it up.
    pub const CELL_SETUP: &str = "E0208";
    /// A call whose slots are not in the version's layout, or bad keyword names.
    pub const CALL_LAYOUT: &str = "E0209";
    /// RETURN_GENERATOR or a yield where the frame is not (or not yet) a generator.
    pub const GENERATOR: &str = "E0210";
    /// MAKE_FUNCTION without the closure its code object needs.
    pub const CLOSURE: &str = "E0211";
    /// An exception handler whose depth the covered instructions do not keep.
    pub const HANDLER_DEPTH: &str = "E0212";
    /// A loop instruction whose target is not the shape the version needs.
    pub const LOOP_SHAPE: &str = "E0213";
    /// 3.6–3.10: paths that meet with different block stacks, or too many blocks.
    pub const BLOCK_STACK: &str = "E0214";
    /// 3.6–3.10: POP_BLOCK, POP_EXCEPT, END_FINALLY, … without the block they pop.
    pub const BLOCK_POP: &str = "E0215";
    /// 3.6–3.10: the exception a handler saved is not where its block says.
    pub const SAVED_EXCEPTION: &str = "E0216";
    /// 3.6–3.8: an instruction takes a slot of what a `finally` block was entered with
    /// (which differs between its entries), or CALL_FINALLY jumps elsewhere than to one.
    pub const FINALLY_SHAPE: &str = "E0217";
    /// 3.15+: an iterator and the index slot beside it that GET_ITER did not make together.
    pub const ITER_PAIR: &str = "E0220";
    pub const INCLUDE: &str = "E0401";
    pub const INCLUDE_CYCLE: &str = "E0402";
    pub const MACRO: &str = "E0403";
    pub const MACRO_ARITY: &str = "E0404";
    pub const MACRO_RECURSION: &str = "E0405";
    pub const LINK_CONFLICT: &str = "E0406";
    pub const DUPLICATE_MODULE: &str = "E0407";
    pub const NO_MAIN: &str = "E0408";
    pub const APPLICATION: &str = "E0409";
    pub const MACRO_EXPANSION_LIMIT: &str = "E0410";
    /// A version instruction in a portable file that is missing from, or means something
    /// else in, some of the versions the file serves.
    pub const NOT_PORTABLE: &str = "E0601";
    /// A portable instruction written wrongly (operand, stack) or that a served version lacks.
    pub const PORTABLE: &str = "E0602";
    /// `.if` / `.elif` / `.else` / `.endif` malformed or unbalanced.
    pub const CONDITIONAL: &str = "E0603";
    /// The `.python` range of a portable file, or a target outside it.
    pub const VERSION_RANGE: &str = "E0604";
    pub const UNREACHABLE: &str = "W0301";
    pub const UNUSED_CODE: &str = "W0302";
    pub const UNUSED_MACRO: &str = "W0303";
    /// A value of a kind that works but likely misbehaves (a non-bool into 3.13+'s jumps).
    pub const EXPECTED_KIND: &str = "W0304";
    /// Values left on the stack below a return value.
    pub const VALUES_LEFT: &str = "W0305";
    /// Code flags that do not match the instructions used.
    pub const FLAGS_MISMATCH: &str = "W0306";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// A machine-applicable fix: replace the text at `span` with `replacement`. Several on one
/// diagnostic are alternatives ("did you mean `a` or `b`?"). Not rendered: the help note says
/// the same for people; tools read these (JSON, the Python API).
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub span: Span,
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub suggestions: Vec<Suggestion>,
}

/// How `with_help` marks a note as help (codespan shows notes as `= note`).
const HELP_PREFIX: &str = "help: ";

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            suggestions: Vec::new(),
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }
    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into(), primary: true });
        self
    }
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into(), primary: false });
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.notes.push(format!("{HELP_PREFIX}{}", help.into()));
        self
    }
    /// Adds a fix that replaces the text at `span` with `replacement` (see [`Suggestion`]).
    pub fn with_suggestion(mut self, span: Span, replacement: impl Into<String>) -> Diagnostic {
        self.suggestions.push(Suggestion { span, replacement: replacement.into() });
        self
    }
    /// The notes that are not help, and the help texts (without their `help: `).
    pub fn notes_and_help(&self) -> (Vec<&str>, Vec<&str>) {
        let (help, notes): (Vec<&String>, Vec<&String>) = self.notes.iter().partition(|n| n.starts_with(HELP_PREFIX));
        (notes.into_iter().map(String::as_str).collect(), help.into_iter().map(|h| &h[HELP_PREFIX.len()..]).collect())
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn to_codespan(&self) -> cs::Diagnostic<usize> {
        let base = match self.severity {
            Severity::Error => cs::Diagnostic::error(),
            Severity::Warning => cs::Diagnostic::warning(),
        };
        base.with_code(self.code)
            .with_message(&self.message)
            .with_labels(
                self.labels
                    .iter()
                    .map(|l| {
                        let style = if l.primary { cs::LabelStyle::Primary } else { cs::LabelStyle::Secondary };
                        cs::Label::new(style, l.span.file as usize, l.span.range()).with_message(&l.message)
                    })
                    .collect(),
            )
            .with_notes(self.notes.clone())
    }
}

/// At most this many diagnostics are rendered; the rest are counted.
pub const MAX_RENDERED: usize = 100;

/// One source text, as codespan reads it.
struct Text {
    name: String,
    source: String,
    /// Where each line starts, found when a diagnostic first needs it: most runs render none,
    /// and for a large file it is a scan of all of it.
    starts: std::sync::OnceLock<Vec<usize>>,
}

impl Text {
    fn starts(&self) -> &[usize] {
        self.starts.get_or_init(|| crate::syntax::line_starts(&self.source))
    }
    /// The start of line `i`; the text's length for the line after the last.
    fn line_start(&self, i: usize) -> Result<usize, codespan_reporting::files::Error> {
        let starts = self.starts();
        match starts.get(i) {
            Some(&s) => Ok(s),
            None if i == starts.len() => Ok(self.source.len()),
            None => Err(codespan_reporting::files::Error::LineTooLarge { given: i, max: starts.len() - 1 }),
        }
    }
}

/// The texts of a run by number, for codespan's renderer.
#[derive(Default)]
struct Texts(Vec<Text>);

impl Texts {
    fn get(&self, file: usize) -> Result<&Text, codespan_reporting::files::Error> {
        self.0.get(file).ok_or(codespan_reporting::files::Error::FileMissing)
    }
}

impl<'a> codespan_reporting::files::Files<'a> for Texts {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;
    fn name(&'a self, file: usize) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(&self.get(file)?.name)
    }
    fn source(&'a self, file: usize) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(&self.get(file)?.source)
    }
    fn line_index(&'a self, file: usize, byte: usize) -> Result<usize, codespan_reporting::files::Error> {
        // The line whose start is the last at or before `byte`.
        Ok(self.get(file)?.starts().partition_point(|&s| s <= byte) - 1)
    }
    fn line_range(&'a self, file: usize, line: usize) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        let t = self.get(file)?;
        Ok(t.line_start(line)?..t.line_start(line + 1)?)
    }
}

/// The source texts diagnostics point into.
#[derive(Default)]
pub struct SourceFiles {
    files: Texts,
    /// Texts that stand for files on disk (an editor's unsaved buffers), by path.
    overlay: std::collections::HashMap<std::path::PathBuf, String>,
}

impl SourceFiles {
    pub fn new() -> SourceFiles {
        SourceFiles::default()
    }
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> u32 {
        self.files.0.push(Text { name: name.into(), source: text.into(), starts: std::sync::OnceLock::new() });
        self.files.0.len() as u32 - 1
    }
    /// Adds a file read as bytes. Text that is not UTF-8 is added with its bad bytes replaced
    /// (so that everything before the first one is as written) and comes back with the
    /// diagnostic pointing at that byte.
    pub fn add_bytes(&mut self, name: impl Into<String>, bytes: Vec<u8>) -> (u32, Option<Diagnostic>) {
        match String::from_utf8(bytes) {
            Ok(text) => (self.add(name, text), None),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let file = self.add(name, String::from_utf8_lossy(e.as_bytes()).into_owned());
                let d = Diagnostic::error(codes::LEX, "this file is not UTF-8 text")
                    .with_primary(Span::new(file, at, at + 1), "this byte cannot start or continue a UTF-8 character")
                    .with_help("save the file as UTF-8; write other characters in strings with \\x, \\u or \\U escapes");
                (file, Some(d))
            }
        }
    }
    /// Makes `read_path` of `path` give `text` instead of the file's bytes on disk (the
    /// language server's open documents, which `.include` must see as the editor has them).
    pub fn set_overlay(&mut self, path: std::path::PathBuf, text: String) {
        self.overlay.insert(path, text);
    }
    /// The bytes of the file at `path` (`canonical` is the same path made canonical): the
    /// overlay's text when it has one, else the file on disk.
    pub fn read_path(&self, path: &std::path::Path, canonical: &std::path::Path) -> std::io::Result<Vec<u8>> {
        match self.overlay.get(path).or_else(|| self.overlay.get(canonical)) {
            Some(text) => Ok(text.clone().into_bytes()),
            None => std::fs::read(path),
        }
    }
    pub fn text(&self, file: u32) -> &str {
        self.files.get(file as usize).map(|f| f.source.as_str()).unwrap_or("")
    }
    pub fn name(&self, file: u32) -> &str {
        self.files.get(file as usize).map(|f| f.name.as_str()).unwrap_or("")
    }
    /// The names of every file, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.0.iter().map(|f| f.name.as_str())
    }

    /// 1-based (line, column) of a byte offset; columns count characters.
    pub fn line_col(&self, file: u32, offset: u32) -> (usize, usize) {
        let text = self.text(file);
        let offset = (offset as usize).min(text.len());
        let before = &text[..text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// The span's file name, start and end as 1-based (line, column), columns counted in
    /// characters; the end is the position just after the last character.
    pub fn locate(&self, span: Span) -> (&str, (usize, usize), (usize, usize)) {
        (self.name(span.file), self.line_col(span.file, span.start), self.line_col(span.file, span.end))
    }

    /// `"file":…,"byte_start":…,"byte_end":…,"line":…,"column":…,"end_line":…,"end_column":…`
    fn json_span(&self, span: Span) -> String {
        let (name, (line, column), (end_line, end_column)) = self.locate(span);
        format!(
            "\"file\":{},\"byte_start\":{},\"byte_end\":{},\"line\":{line},\"column\":{column},\"end_line\":{end_line},\"end_column\":{end_column}",
            json_string(name),
            span.start,
            span.end
        )
    }

    /// One diagnostic as a single-line JSON object, for tools (`--message-format json`):
    /// severity, code, message, file, labels with byte and line/column spans, notes, and
    /// suggestions (replacement text and span). Columns as in [`SourceFiles::locate`].
    pub fn to_json(&self, d: &Diagnostic) -> String {
        let file = d.labels.iter().find(|l| l.primary).or(d.labels.first()).map(|l| self.name(l.span.file)).unwrap_or("");
        let labels: Vec<String> = d
            .labels
            .iter()
            .map(|l| format!("{{\"primary\":{},\"message\":{},{}}}", l.primary, json_string(&l.message), self.json_span(l.span)))
            .collect();
        let notes: Vec<String> = d.notes.iter().map(|n| json_string(n)).collect();
        let suggestions: Vec<String> = d
            .suggestions
            .iter()
            .map(|s| format!("{{\"replacement\":{},{}}}", json_string(&s.replacement), self.json_span(s.span)))
            .collect();
        format!(
            "{{\"severity\":{},\"code\":{},\"message\":{},\"file\":{},\"labels\":[{}],\"notes\":[{}],\"suggestions\":[{}]}}",
            json_string(match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            }),
            json_string(d.code),
            json_string(&d.message),
            json_string(file),
            labels.join(","),
            notes.join(","),
            suggestions.join(",")
        )
    }

    /// Renders diagnostics as text, with colour when `color` is set.
    pub fn render(&self, diags: &[Diagnostic], color: bool) -> String {
        let config = term::Config::default();
        let mut out: Vec<u8> = Vec::new();
        {
            let mut writer: Box<dyn term::termcolor::WriteColor> = if color {
                Box::new(term::termcolor::Ansi::new(&mut out))
            } else {
                Box::new(term::termcolor::NoColor::new(&mut out))
            };
            for d in diags.iter().take(MAX_RENDERED) {
                let _ = term::emit_to_write_style(&mut writer, &config, &self.files, &d.to_codespan());
            }
            if diags.len() > MAX_RENDERED {
                let _ = writeln!(writer, "... and {} more", diags.len() - MAX_RENDERED);
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Case-insensitive edit distance, for "did you mean" suggestions: the optimal string
/// alignment distance (insertions, deletions, substitutions, and two neighbours swapped, each
/// one edit: `valeu` is one edit from `value`, as typing makes it).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_ascii_uppercase().chars().collect();
    let b: Vec<char> = b.to_ascii_uppercase().chars().collect();
    // Three rows: the one before the previous is for a swap.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidates nearest to `word` (at most three), for a "did you mean" hint.
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    // Up to a third of the word may differ (at least one letter), but never all of it:
    // `b` is not a typo for `a`.
    let limit = (word.chars().count() / 3).max(1);
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| (*d <= limit && *d < word.chars().count().min(c.chars().count())) || c.eq_ignore_ascii_case(word))
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// "did you mean `a` or `b`?" for the nearest candidates, each written as `shown` gives
/// it (`@name`, `.directive`, …); `None` when there are none.
pub fn did_you_mean<S: AsRef<str>>(near: &[S], shown: impl Fn(&str) -> String) -> Option<String> {
    if near.is_empty() {
        return None;
    }
    let words: Vec<String> = near.iter().map(|n| format!("`{}`", shown(n.as_ref()))).collect();
    Some(format!("did you mean {}?", words.join(" or ")))
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_lists_the_nearest() {
        assert_eq!(did_you_mean::<&str>(&[], str::to_string), None);
        assert_eq!(did_you_mean(&["a"], |n| format!("@{n}")).as_deref(), Some("did you mean `@a`?"));
        assert_eq!(did_you_mean(&["a", "b"], str::to_string).as_deref(), Some("did you mean `a` or `b`?"));
    }

    #[test]
    fn two_letters_swapped_are_one_edit() {
        assert_eq!(edit_distance("valeu", "value"), 1);
        assert_eq!(edit_distance("LAOD_CONST", "load_const"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
        // (Not a swap: insertions and deletions as before.)
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ca", "abc"), 3);
        // (`values` is two edits away: a swap and a letter more.)
        assert_eq!(nearest("valeu", ["value", "values", "other"].into_iter()), ["value"]);
    }

    #[test]
    fn help_is_told_apart_from_notes() {
        let d = Diagnostic::error(codes::SYNTAX, "x").with_note("a note").with_help("do this");
        assert_eq!(d.notes_and_help(), (vec!["a note"], vec!["do this"]));
    }

    #[test]
    fn columns_count_characters_and_the_end_is_exclusive() {
        let mut files = SourceFiles::new();
        let f = files.add("é.pyasm", "é\n  ÀB\n");
        // "ÀB" is bytes 5..8 (À takes two), characters 3 and 4 of line 2.
        assert_eq!(files.locate(Span::new(f, 5, 8)), ("é.pyasm", (2, 3), (2, 5)));
    }

    #[test]
    fn json_has_positions_and_escapes() {
        let mut files = SourceFiles::new();
        let f = files.add("a.pyasm", "x\n  BAD \"q\"\n");
        let d = Diagnostic::error(codes::UNKNOWN_OPCODE, "unknown \"BAD\"")
            .with_primary(Span::new(f, 4, 7), "here")
            .with_help("tab\there")
            .with_suggestion(Span::new(f, 4, 7), "BAT");
        let j = files.to_json(&d);
        assert_eq!(
            j,
            r#"{"severity":"error","code":"E0101","message":"unknown \"BAD\"","file":"a.pyasm","labels":[{"primary":true,"message":"here","file":"a.pyasm","byte_start":4,"byte_end":7,"line":2,"column":3,"end_line":2,"end_column":6}],"notes":["help: tab\there"],"suggestions":[{"replacement":"BAT","file":"a.pyasm","byte_start":4,"byte_end":7,"line":2,"column":3,"end_line":2,"end_column":6}]}"#
        );
    }
}
