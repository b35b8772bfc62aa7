//! pyasm's diagnostics as the protocol's: the primary label gives the range, the other labels
//! become related information, notes and help follow the message, the code links to its
//! section of docs/errors.md, and the suggestions travel in `data` for `codeAction` to offer.

use super::text::{Encoding, LineIndex};
use crate::diagnostics::{Diagnostic, Severity, SourceFiles};
use crate::syntax::ast::Span;
use lsp_types as lsp;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;

const ERRORS_MD: &str = include_str!("../../docs/errors.md");

/// The anchor of a code's section in docs/errors.md, as GitHub and most Markdown viewers make
/// it from the heading (`## E0101 — unknown instruction` → `e0101--unknown-instruction`).
pub fn anchor(code: &str) -> Option<String> {
    let heading = ERRORS_MD.lines().find_map(|l| l.strip_prefix("## ").filter(|h| h.split_whitespace().next() == Some(code)))?;
    let slug = heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect();
    Some(slug)
}

/// Byte spans of the module's files as protocol locations.
pub struct Locator<'a> {
    files: &'a SourceFiles,
    encoding: Encoding,
    indexes: HashMap<u32, LineIndex<'a>>,
}

impl<'a> Locator<'a> {
    pub fn new(files: &'a SourceFiles, encoding: Encoding) -> Locator<'a> {
        Locator { files, encoding, indexes: HashMap::new() }
    }
    pub fn path(&self, file: u32) -> PathBuf {
        super::workspace::normalize(std::path::Path::new(self.files.name(file)))
    }
    pub fn range(&mut self, span: Span) -> lsp::Range {
        let (files, encoding) = (self.files, self.encoding);
        let index = self.indexes.entry(span.file).or_insert_with(|| LineIndex::new(files.text(span.file), encoding));
        index.range(span.start as usize, span.end as usize)
    }
    pub fn location(&mut self, span: Span) -> Option<lsp::Location> {
        let uri = lsp::Url::from_file_path(self.path(span.file)).ok()?;
        Some(lsp::Location { uri, range: self.range(span) })
    }
}

/// The module's diagnostics, by the file each is in (a diagnostic without a span goes to the
/// module's first file). `docs` is the URL of docs/errors.md.
pub fn convert(files: &SourceFiles, diags: &[Diagnostic], first_file: u32, docs: Option<&str>, encoding: Encoding) -> HashMap<PathBuf, Vec<lsp::Diagnostic>> {
    let mut loc = Locator::new(files, encoding);
    let mut out: HashMap<PathBuf, Vec<lsp::Diagnostic>> = HashMap::new();
    for d in diags {
        let primary = d.labels.iter().find(|l| l.primary).or(d.labels.first());
        let span = primary.map_or(Span::new(first_file, 0, 0), |l| l.span);
        let mut message = d.message.clone();
        if let Some(l) = primary.filter(|l| !l.message.is_empty()) {
            message.push_str(&format!("\n{}", l.message));
        }
        let (notes, help) = d.notes_and_help();
        for n in notes {
            message.push_str(&format!("\nnote: {n}"));
        }
        for h in help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        let related: Vec<lsp::DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .filter(|l| primary.is_none_or(|p| !std::ptr::eq(*l, p)))
            .filter_map(|l| {
                let location = loc.location(l.span)?;
                let message = if l.message.is_empty() { "here".to_string() } else { l.message.clone() };
                Some(lsp::DiagnosticRelatedInformation { location, message })
            })
            .collect();
        let fixes: Vec<serde_json::Value> = d
            .suggestions
            .iter()
            .filter_map(|s| {
                let l = loc.location(s.span)?;
                Some(json!({"uri": l.uri, "range": l.range, "newText": s.replacement}))
            })
            .collect();
        let href = docs.zip(anchor(d.code)).and_then(|(base, a)| lsp::Url::parse(&format!("{base}#{a}")).ok());
        let diag = lsp::Diagnostic {
            range: loc.range(span),
            severity: Some(match d.severity {
                Severity::Error => lsp::DiagnosticSeverity::ERROR,
                Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            }),
            code: Some(lsp::NumberOrString::String(d.code.to_string())),
            code_description: href.map(|href| lsp::CodeDescription { href }),
            source: Some("pyasm".into()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            tags: (d.code == crate::diagnostics::codes::UNREACHABLE).then(|| vec![lsp::DiagnosticTag::UNNECESSARY]),
            data: (!fixes.is_empty()).then(|| json!({ "fixes": fixes })),
        };
        out.entry(loc.path(span.file)).or_default().push(diag);
    }
    out
}

/// The quick fixes of the diagnostics a `codeAction` request carries (the client sends back
/// the `data` each was published with): one action per suggestion.
pub fn quick_fixes(params: &lsp::CodeActionParams) -> Vec<lsp::CodeActionOrCommand> {
    let mut out = Vec::new();
    for d in &params.context.diagnostics {
        let Some(fixes) = d.data.as_ref().and_then(|v| v.get("fixes")).and_then(|f| f.as_array()) else { continue };
        for (n, f) in fixes.iter().enumerate() {
            let (Some(uri), Some(range), Some(text)) = (
                f.get("uri").and_then(|u| serde_json::from_value::<lsp::Url>(u.clone()).ok()),
                f.get("range").and_then(|r| serde_json::from_value::<lsp::Range>(r.clone()).ok()),
                f.get("newText").and_then(|t| t.as_str()),
            ) else {
                continue;
            };
            let title = fix_title(range, text);
            let edit = lsp::WorkspaceEdit {
                changes: Some(HashMap::from([(uri, vec![lsp::TextEdit { range, new_text: text.to_string() }])])),
                ..Default::default()
            };
            out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title,
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![d.clone()]),
                edit: Some(edit),
                is_preferred: Some(n == 0 && fixes.len() == 1),
                ..Default::default()
            }));
        }
    }
    out
}

/// What a fix does, for the editor's menu: `replace with `x``, `insert `.end_try``, a
/// replacement of several lines as `replace with `a` then `b``.
fn fix_title(range: lsp::Range, text: &str) -> String {
    // (Without the comments a fix keeps.)
    let code = |l: &'_ str| crate::fmt::split_comment(l).map_or(l, |(code, _)| code).trim().to_string();
    let lines: Vec<String> = text.lines().map(code).filter(|l| !l.is_empty()).map(|l| format!("`{l}`")).collect();
    match () {
        _ if lines.is_empty() => "remove this".to_string(),
        _ if range.start == range.end => format!("insert {}", lines.join(" then ")),
        _ => format!("replace with {}", lines.join(" then ")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn anchors_follow_the_headings() {
        assert_eq!(super::anchor("E0101").as_deref(), Some("e0101--unknown-instruction"));
        assert_eq!(super::anchor("E9999"), None);
    }
}
