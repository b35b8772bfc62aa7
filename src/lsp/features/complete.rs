//! Completion: what may be written at the cursor, from the line so far.

use super::*;

fn item(label: &str, kind: lsp::CompletionItemKind, detail: Option<String>) -> lsp::CompletionItem {
    lsp::CompletionItem { label: label.to_string(), kind: Some(kind), detail, ..Default::default() }
}

fn all_directives() -> impl Iterator<Item = &'static str> {
    crate::resolve::FILE_DIRECTIVES.iter().chain(crate::resolve::CODE_DIRECTIVES).chain(crate::link::LINK_DIRECTIVES).copied()
}

fn opcode_items(t: &'static VersionTable, out: &mut Vec<lsp::CompletionItem>) {
    for op in t.opcodes {
        let summary = crate::explain::describe(op.name).map(|e| e.summary().to_string());
        out.push(item(op.name, lsp::CompletionItemKind::KEYWORD, summary));
    }
    for pj in t.pseudo_jumps {
        out.push(item(pj.name, lsp::CompletionItemKind::KEYWORD, Some(format!("a jump: pyasm picks {} from where the label lies", pj.forward))));
    }
}

pub fn completion(cx: &mut Ctx, p: lsp::CompletionParams) -> Option<lsp::CompletionResponse> {
    let at = at(cx, &p.text_document_position)?;
    let text = at.text();
    let offset = crate::lsp::text::floor_char_boundary(text, at.offset as usize);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut before = &text[line_start..offset];
    if before.contains('#') {
        return None;
    }
    // Past a label (`loop:`) the line starts again.
    if let Some(colon) = before.find(':') {
        let label = before[..colon].trim();
        if !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '_') {
            before = &before[colon + 1..];
        }
    }
    let word_start = before.char_indices().rev().find(|(_, c)| !(c.is_alphanumeric() || *c == '_')).map_or(0, |(i, c)| i + c.len_utf8());
    let prefix_char = before[..word_start].chars().last();
    let first_word = before[..word_start].trim().is_empty();
    let snap = &at.snap;
    let index = at.index();
    let scope = index.scope_at(at.offset);
    let mut out: Vec<lsp::CompletionItem> = Vec::new();
    let codes = |out: &mut Vec<lsp::CompletionItem>| {
        let mut seen = std::collections::BTreeSet::new();
        for f in &snap.index {
            for o in f.occurrences.iter().filter(|o| o.is_def) {
                if let Key::Code(n) = &o.key {
                    if seen.insert(n.clone()) {
                        out.push(item(n, lsp::CompletionItemKind::FUNCTION, Some("code object".into())));
                    }
                }
            }
        }
    };
    match prefix_char {
        Some('.') if before[..word_start - 1].trim().is_empty() => {
            for d in all_directives() {
                out.push(item(d, lsp::CompletionItemKind::KEYWORD, Some("directive".into())));
            }
        }
        Some('@') => codes(&mut out),
        _ if first_word => {
            if let Some(t) = snap.version() {
                opcode_items(t, &mut out);
            }
            let mut seen = std::collections::BTreeSet::new();
            for f in &snap.index {
                for s in f.scopes.iter().filter(|s| s.is_macro && seen.insert(s.name.clone())) {
                    out.push(item(&s.name, lsp::CompletionItemKind::SNIPPET, Some("macro".into())));
                }
            }
        }
        _ => {
            let head = before.trim_start();
            let opname = head.split_whitespace().next().unwrap_or("");
            let directive = opname.strip_prefix('.');
            let kind = if directive.is_some() { None } else { arg_kind(snap.version(), opname) };
            let labels = |out: &mut Vec<lsp::CompletionItem>| {
                for l in scope.iter().flat_map(|s| &s.labels) {
                    out.push(item(&l.node, lsp::CompletionItemKind::REFERENCE, Some("label".into())));
                }
            };
            match (kind, directive) {
                (Some(ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute), _) | (_, Some("try" | "exception")) => labels(&mut out),
                (Some(ArgKind::Local | ArgKind::Free | ArgKind::LocalPair), _) => {
                    for (l, what) in scope.iter().flat_map(|s| &s.locals) {
                        out.push(item(&l.node, lsp::CompletionItemKind::VARIABLE, Some(what.to_string())));
                    }
                }
                (Some(ArgKind::Name), _) => {
                    let mut seen = std::collections::BTreeSet::new();
                    for f in &snap.index {
                        for o in &f.occurrences {
                            if let Key::Name(n) = &o.key {
                                if seen.insert(n.clone()) {
                                    out.push(item(n, lsp::CompletionItemKind::VALUE, Some("name".into())));
                                }
                            }
                        }
                    }
                }
                (Some(ArgKind::Const), _) => {
                    for w in ["None", "True", "False", "..."] {
                        out.push(item(w, lsp::CompletionItemKind::CONSTANT, None));
                    }
                }
                (_, Some("flags" | "add_flags" | "remove_flags")) => {
                    for (w, _) in crate::resolve::FLAG_WORDS {
                        out.push(item(w, lsp::CompletionItemKind::ENUM_MEMBER, Some("code flag".into())));
                    }
                }
                _ => {}
            }
            // Flag words of the instruction (`LOAD_GLOBAL x, null`, `MAKE_FUNCTION closure`).
            if let Some(op) = snap.version().and_then(|t| t.by_name(opname)) {
                for f in op.flags {
                    out.push(item(f.word, lsp::CompletionItemKind::ENUM_MEMBER, Some(format!("operand word of {opname}"))));
                }
            }
        }
    }
    Some(lsp::CompletionResponse::Array(out))
}

