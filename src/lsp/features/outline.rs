//! The outline (document symbols), the symbols of the open modules, and folding ranges.

use super::*;
use crate::lsp::index::Scope;

/// A macro, the module, a function (a header with parameters) or another code object.
fn scope_kind(file: &FileIndex, s: &Scope) -> lsp::SymbolKind {
    let has_params = || {
        file.lines.iter().any(|l| {
            matches!(&l.statement, Some(st) if st.span == s.header && matches!(&st.node, crate::syntax::ast::Statement::Code(h) if h.params.is_some()))
        })
    };
    match () {
        _ if s.is_macro => lsp::SymbolKind::OPERATOR,
        _ if s.name == "<module>" => lsp::SymbolKind::MODULE,
        _ if has_params() => lsp::SymbolKind::FUNCTION,
        _ => lsp::SymbolKind::CLASS,
    }
}

/// At most this many answers to a `workspace/symbol` query (a disassembled stdlib has
/// hundreds of thousands of labels).
const MAX_WORKSPACE_SYMBOLS: usize = 2000;

/// Whether `query`'s characters appear in `name` in order, ignoring case (as editors filter).
fn matches_query(name: &str, query: &str) -> bool {
    let mut chars = name.chars().flat_map(char::to_lowercase);
    query.chars().flat_map(char::to_lowercase).all(|q| chars.any(|c| c == q))
}

/// `workspace/symbol`: the code objects, macros and labels of every file of the modules of
/// the open documents whose name matches the query, each file once.
#[allow(deprecated)] // `SymbolInformation::deprecated` must be written; it is None.
pub fn workspace_symbols(cx: &mut Ctx, p: lsp::WorkspaceSymbolParams) -> Option<lsp::WorkspaceSymbolResponse> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for doc in cx.open_documents() {
        let snap = cx.snapshot_of(&doc);
        for file in &snap.index {
            if !seen.insert(file.path.clone()) {
                continue;
            }
            let Ok(uri) = lsp::Url::from_file_path(&file.path) else { continue };
            let index = snap.lines(file.file);
            let mut add = |name: &str, kind, span: Span, container: Option<&str>| {
                if out.len() < MAX_WORKSPACE_SYMBOLS && matches_query(name, &p.query) {
                    let location = lsp::Location { uri: uri.clone(), range: index.range(span.start as usize, span.end as usize) };
                    out.push(lsp::SymbolInformation { name: name.to_string(), kind, tags: None, deprecated: None, location, container_name: container.map(String::from) });
                }
            };
            for s in &file.scopes {
                add(&s.name, scope_kind(file, s), s.name_span, None);
                for l in &s.labels {
                    add(&l.node, lsp::SymbolKind::KEY, l.span, Some(&s.name));
                }
            }
        }
    }
    Some(lsp::WorkspaceSymbolResponse::Flat(out))
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written; it is None.
pub fn document_symbols(cx: &mut Ctx, p: lsp::DocumentSymbolParams) -> Option<lsp::DocumentSymbolResponse> {
    let (snap, path) = cx.snapshot(&p.text_document.uri)?;
    let file = snap.file(&path)?;
    let index = snap.lines(file.file);
    let range = |s: Span| index.range(s.start as usize, s.end as usize);
    let symbols = file
        .scopes
        .iter()
        .map(|s| {
            let kind = scope_kind(file, s);
            let children = s
                .labels
                .iter()
                .map(|l| lsp::DocumentSymbol {
                    name: l.node.clone(),
                    detail: Some("label".into()),
                    kind: lsp::SymbolKind::KEY,
                    tags: None,
                    deprecated: None,
                    range: range(l.span),
                    selection_range: range(l.span),
                    children: None,
                })
                .collect();
            lsp::DocumentSymbol {
                name: s.name.clone(),
                detail: Some(if s.is_macro { "macro" } else { "code object" }.into()),
                kind,
                tags: None,
                deprecated: None,
                range: range(s.span),
                selection_range: range(s.name_span),
                children: Some(children),
            }
        })
        .collect();
    Some(lsp::DocumentSymbolResponse::Nested(symbols))
}

pub fn folding(cx: &mut Ctx, p: lsp::FoldingRangeParams) -> Option<Vec<lsp::FoldingRange>> {
    let (snap, path) = cx.snapshot(&p.text_document.uri)?;
    let file = snap.file(&path)?;
    let text = snap.files.text(file.file);
    let index = snap.lines(file.file);
    let mut out = Vec::new();
    let mut fold = |s: Span, kind: Option<lsp::FoldingRangeKind>| {
        let (a, b) = (index.position(s.start as usize).line, index.position(s.end as usize).line);
        if b > a {
            out.push(lsp::FoldingRange { start_line: a, start_character: None, end_line: b, end_character: None, kind, collapsed_text: None });
        }
    };
    for s in &file.scopes {
        fold(s.span, Some(lsp::FoldingRangeKind::Region));
    }
    for t in &file.tries {
        fold(*t, Some(lsp::FoldingRangeKind::Region));
    }
    // Runs of whole-line comments.
    let mut run: Option<(usize, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let is_comment = line.trim_start().starts_with('#');
        match (is_comment, run) {
            (true, None) => run = Some((offset, offset + line.trim_end().len())),
            (true, Some((a, _))) => run = Some((a, offset + line.trim_end().len())),
            (false, Some((a, b))) => {
                fold(Span::new(file.file, a, b), Some(lsp::FoldingRangeKind::Comment));
                run = None;
            }
            _ => {}
        }
        offset += line.len();
    }
    if let Some((a, b)) = run {
        fold(Span::new(file.file, a, b), Some(lsp::FoldingRangeKind::Comment));
    }
    out.sort_by_key(|r| (r.start_line, r.end_line));
    Some(out)
}

