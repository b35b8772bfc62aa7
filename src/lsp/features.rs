//! The requests: hover, inlay hints, completion, definition, references, rename, document
//! symbols, folding and formatting. Each reads a module `Snapshot`.

use super::index::{FileIndex, Key, Occurrence, arg_kind};
use super::snapshot::Snapshot;
use super::text::LineIndex;
use super::{Ctx, Failure};
use crate::opcodes::{ArgKind, VersionTable};
use crate::resolve::Arg;
use crate::resolve::constants::PoolConst;
use crate::syntax::ast::Span;
use lsp_types as lsp;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

/// At most this many slots are shown in a stack hint (the top ones).
const HINT_SLOTS: usize = 6;

struct At {
    snap: Rc<Snapshot>,
    file: usize,
    offset: u32,
}

impl At {
    fn index(&self) -> &FileIndex {
        &self.snap.index[self.file]
    }
    fn text(&self) -> &str {
        self.snap.files.text(self.index().file)
    }
}

fn at(cx: &mut Ctx, p: &lsp::TextDocumentPositionParams) -> Option<At> {
    let (snap, path) = cx.snapshot(&p.text_document.uri)?;
    let file = snap.index.iter().position(|f| f.path == path)?;
    let offset = LineIndex::new(snap.files.text(snap.index[file].file)).offset(p.position) as u32;
    Some(At { snap, file, offset })
}

fn location(snap: &Snapshot, file: &FileIndex, span: Span) -> Option<lsp::Location> {
    let uri = lsp::Url::from_file_path(&file.path).ok()?;
    Some(lsp::Location { uri, range: LineIndex::new(snap.files.text(file.file)).range(span.start as usize, span.end as usize) })
}

fn where_defined(snap: &Snapshot, key: &Key) -> Option<String> {
    let (f, o) = snap.occurrences(key).find(|(_, o)| o.is_def)?;
    let (name, (line, col), _) = snap.files.locate(o.span);
    let name = Path::new(name).file_name().map_or(f.path.display().to_string(), |n| n.to_string_lossy().into_owned());
    Some(format!("defined at {name}:{line}:{col}"))
}

fn markdown(value: String) -> lsp::Hover {
    lsp::Hover { contents: lsp::HoverContents::Markup(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value }), range: None }
}

// ---------------------------------------------------------------------------------------------
// Hover

pub fn hover(cx: &mut Ctx, p: lsp::HoverParams) -> Option<lsp::Hover> {
    let at = at(cx, &p.text_document_position_params)?;
    let snap = &at.snap;
    let version = snap.version();
    let occ = at.index().at(at.offset).cloned();
    let instr = snap.instr_at(at.index().file, at.offset);
    let mut parts: Vec<String> = Vec::new();
    match occ.as_ref().map(|o| &o.key) {
        Some(Key::Opcode(name)) => {
            if let Some(t) = version {
                parts.push(format!("```text\n{}\n```", crate::explain::explain(name, t).unwrap_or_else(|e| e)));
            }
            if let Some((c, i)) = instr {
                if let Some(Some((before, after))) = snap.facts.verified.get(c).and_then(|v| v.stacks.get(i)) {
                    parts.push(format!("stack before `{before}`  \nstack after `{after}`"));
                }
            }
        }
        Some(key @ Key::Label(scope, name)) => {
            let mut s = format!("label `{name}`");
            if let Some((_, code)) = snap.code_at(*scope) {
                s.push_str(&format!(" in `{}`", code.id.node.text()));
                let target = code.instrs.iter().find_map(|x| match (x.arg, x.span.start <= at.offset && at.offset <= x.span.end) {
                    (Arg::Target(t), true) => Some(t),
                    _ => None,
                });
                if let Some(t) = target {
                    s.push_str(&format!(", the jump goes to instruction {t}"));
                }
            }
            parts.extend([s].into_iter().chain(where_defined(snap, key)));
        }
        Some(key @ Key::Local(scope, name)) => {
            let mut s = format!("variable `{name}`");
            if let Some((_, code)) = snap.code_at(*scope) {
                if let Some(i) = code.localsplus.iter().position(|l| l.name.to_lossy() == *name) {
                    let kind = code.localsplus[i].kind;
                    let what = match () {
                        _ if kind & crate::object::KIND_FREE != 0 => "free variable",
                        _ if kind & crate::object::KIND_CELL != 0 => "cell",
                        _ => "local",
                    };
                    s.push_str(&format!(": {what}, fast slot {i} of `{}`", code.id.node.text()));
                }
            }
            parts.extend([s].into_iter().chain(where_defined(snap, key)));
        }
        Some(Key::Name(name)) => {
            let mut s = format!("name `{name}`");
            if let Some((c, _)) = instr {
                let code = &snap.facts.program.as_ref()?.codes[c];
                if let Some(i) = code.names.iter().position(|n| n.to_lossy() == *name) {
                    s.push_str(&format!(": co_names[{i}] of `{}`", code.id.node.text()));
                }
            }
            parts.push(s);
        }
        Some(key @ Key::Code(name)) => {
            let mut s = format!("code object `{name}`");
            if let Some(code) = snap.facts.program.as_ref().and_then(|p| p.codes.iter().find(|c| c.id.node.text() == *name)) {
                s.push_str(&format!(
                    " — co_name `{}`, {} argument{}, {} fast slot{}, {} instruction{}",
                    code.name.to_lossy(),
                    code.argcount,
                    plural(code.argcount as usize),
                    code.localsplus.len(),
                    plural(code.localsplus.len()),
                    code.instrs.len(),
                    plural(code.instrs.len())
                ));
            }
            parts.extend([s].into_iter().chain(where_defined(snap, key)));
        }
        Some(key @ Key::Macro(name)) => parts.extend([format!("macro `{name}`")].into_iter().chain(where_defined(snap, key))),
        Some(Key::Include(path)) => parts.push(format!("includes `{}`", path.display())),
        Some(Key::Directive(_)) | None => {}
    }
    // A constant operand: its index in co_consts.
    if occ.is_none() {
        let (c, i) = instr?;
        let code = &snap.facts.program.as_ref()?.codes[c];
        let ins = &code.instrs[i];
        let inside = ins.operand_span.start <= at.offset && at.offset <= ins.operand_span.end;
        if let (ArgKind::Const, Arg::Value(v), true) = (ins.op.arg, ins.arg, inside) {
            let index = (v >> ins.op.shift) as usize;
            let shown = match code.consts.get(index) {
                Some(PoolConst::Value(k)) => crate::dis::text::constant(k, &mut |_| String::new()),
                Some(PoolConst::Code(k)) => format!("@{}", snap.facts.program.as_ref()?.codes[*k].id.node.text()),
                None => return None,
            };
            parts.push(format!("constant `{shown}`: co_consts[{index}] of `{}`", code.id.node.text()));
        }
    }
    (!parts.is_empty()).then(|| markdown(parts.join("\n\n")))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

// ---------------------------------------------------------------------------------------------
// Inlay hints

/// `[a, b, c]` with only the top `HINT_SLOTS` slots: `[…4, x, y]` says four more lie below.
pub fn shorten(stack: &str) -> String {
    let inner = stack.trim_start_matches('[').trim_end_matches(']');
    if inner.is_empty() {
        return "[]".into();
    }
    let slots: Vec<&str> = inner.split(", ").collect();
    if slots.len() <= HINT_SLOTS {
        return stack.to_string();
    }
    let hidden = slots.len() - (HINT_SLOTS - 1);
    format!("[…{hidden}, {}]", slots[hidden..].join(", "))
}

fn hint(position: lsp::Position, label: String, kind: lsp::InlayHintKind, tooltip: &str) -> lsp::InlayHint {
    lsp::InlayHint {
        position,
        label: lsp::InlayHintLabel::String(label),
        kind: Some(kind),
        text_edits: None,
        tooltip: Some(lsp::InlayHintTooltip::String(tooltip.into())),
        padding_left: Some(true),
        padding_right: None,
        data: None,
    }
}

/// The resolved argument where the text does not show it: a constant's index, a jump's
/// target offset.
fn argument_hint(ins: &crate::resolve::Instr, i: usize, layout: Option<&crate::emit::layout::Layout>) -> Option<String> {
    let layout = layout?;
    match (ins.op.arg, ins.arg) {
        (_, Arg::Target(t)) => Some(format!("→ {}", layout.offsets.get(t)? * 2)),
        (ArgKind::Const, _) => Some(format!("consts[{}]", layout.args.get(i)? >> ins.op.shift)),
        _ => None,
    }
}

pub fn inlay_hints(cx: &mut Ctx, p: lsp::InlayHintParams) -> Option<Vec<lsp::InlayHint>> {
    let (snap, path) = cx.snapshot(&p.text_document.uri)?;
    let file = snap.file(&path)?;
    let index = LineIndex::new(snap.files.text(file.file));
    let (from, to) = (index.offset(p.range.start) as u32, index.offset(p.range.end) as u32);
    let program = snap.facts.program.as_ref()?;
    let mut stacks: Vec<(u32, lsp::InlayHint)> = Vec::new();
    let mut arguments = Vec::new();
    for (c, code) in program.codes.iter().enumerate() {
        let Some(v) = snap.facts.verified.get(c) else { continue };
        let layout = snap.facts.layouts.get(c).and_then(Option::as_ref);
        for (i, ins) in code.instrs.iter().enumerate() {
            // An instruction of a macro expansion shows at the use.
            let (span, expanded) = match snap.facts.expansions.use_site(ins.span.file) {
                Some(site) => (site, true),
                None => (ins.span, false),
            };
            if span.file != file.file || span.start < from || span.start > to {
                continue;
            }
            if let (false, Some(label)) = (expanded, argument_hint(ins, i, layout)) {
                let at = index.position(ins.operand_span.end as usize);
                arguments.push(hint(at, label, lsp::InlayHintKind::PARAMETER, "the resolved argument"));
            }
            let label = match (v.stacks.get(i), v.analysis.depth_before.get(i).copied().flatten()) {
                (Some(Some((_, after))), _) if after == "-" => continue,
                (Some(Some((_, after))), _) => shorten(after),
                (_, Some(d)) => format!("depth {}", d as i64 + ins.op.stack.eval(ins.arg.oparg())),
                _ => continue,
            };
            let line = index.position(span.start as usize).line;
            let at = index.position(index.line_end(line as usize));
            stacks.push((span.start, hint(at, label, lsp::InlayHintKind::TYPE, "the stack after this instruction, bottom first")));
        }
    }
    // Several instructions on one line (a macro use): the last one's stack.
    let mut out: Vec<lsp::InlayHint> = Vec::new();
    for (_, h) in stacks {
        match out.last_mut() {
            Some(last) if last.position == h.position => *last = h,
            _ => out.push(h),
        }
    }
    out.extend(arguments);
    // The argument before the stack where both are at the end of the line.
    out.sort_by_key(|h| (h.position.line, h.position.character, h.kind == Some(lsp::InlayHintKind::TYPE)));
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Completion

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
    let offset = text.floor_char_boundary(at.offset as usize);
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

// ---------------------------------------------------------------------------------------------
// Navigation

fn key_at(cx: &mut Ctx, p: &lsp::TextDocumentPositionParams) -> Option<(At, Occurrence)> {
    let at = at(cx, p)?;
    let occ = at.index().at(at.offset)?.clone();
    Some((at, occ))
}

pub fn definition(cx: &mut Ctx, p: lsp::GotoDefinitionParams) -> Option<lsp::GotoDefinitionResponse> {
    let (at, occ) = key_at(cx, &p.text_document_position_params)?;
    if let Key::Include(path) = &occ.key {
        let uri = lsp::Url::from_file_path(path).ok()?;
        return Some(lsp::GotoDefinitionResponse::Scalar(lsp::Location { uri, range: lsp::Range::default() }));
    }
    let defs: Vec<lsp::Location> = at.snap.occurrences(&occ.key).filter(|(_, o)| o.is_def).filter_map(|(f, o)| location(&at.snap, f, o.span)).collect();
    match defs.len() {
        0 => None,
        1 => Some(lsp::GotoDefinitionResponse::Scalar(defs.into_iter().next()?)),
        _ => Some(lsp::GotoDefinitionResponse::Array(defs)),
    }
}

pub fn references(cx: &mut Ctx, p: lsp::ReferenceParams) -> Option<Vec<lsp::Location>> {
    let (at, occ) = key_at(cx, &p.text_document_position)?;
    if matches!(occ.key, Key::Directive(_)) {
        return None;
    }
    let with_def = p.context.include_declaration;
    Some(at.snap.occurrences(&occ.key).filter(|(_, o)| with_def || !o.is_def).filter_map(|(f, o)| location(&at.snap, f, o.span)).collect())
}

fn renamable(key: &Key) -> bool {
    matches!(key, Key::Label(..) | Key::Local(..) | Key::Code(_) | Key::Macro(_))
}

pub fn prepare_rename(cx: &mut Ctx, p: lsp::TextDocumentPositionParams) -> Option<lsp::PrepareRenameResponse> {
    let (at, occ) = key_at(cx, &p)?;
    if !renamable(&occ.key) || !at.snap.occurrences(&occ.key).any(|(_, o)| o.is_def) {
        return None;
    }
    let range = LineIndex::new(at.text()).range(occ.span.start as usize, occ.span.end as usize);
    Some(lsp::PrepareRenameResponse::Range(range))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

pub fn rename(cx: &mut Ctx, p: lsp::RenameParams) -> Result<Option<lsp::WorkspaceEdit>, Failure> {
    let Some((at, occ)) = key_at(cx, &p.text_document_position) else { return Ok(None) };
    let invalid = lsp_server::ErrorCode::InvalidParams as i32;
    if !renamable(&occ.key) {
        return Err((invalid, "only labels, variables, code objects and macros can be renamed".into()));
    }
    let ok = match &occ.key {
        Key::Code(_) => is_identifier(&p.new_name) || (p.new_name.starts_with('<') && p.new_name.ends_with('>') && is_identifier(&p.new_name[1..p.new_name.len() - 1])),
        _ => is_identifier(&p.new_name),
    };
    if !ok {
        return Err((invalid, format!("`{}` is not a name this can have", p.new_name)));
    }
    let mut changes: HashMap<lsp::Url, Vec<lsp::TextEdit>> = HashMap::new();
    for (f, o) in at.snap.occurrences(&occ.key) {
        // A quoted name (`@"x y"`) would need its quotes rewritten: left alone.
        let written = &at.snap.files.text(f.file)[o.span.range()];
        if written.starts_with('"') {
            continue;
        }
        if let Some(l) = location(&at.snap, f, o.span) {
            changes.entry(l.uri).or_default().push(lsp::TextEdit { range: l.range, new_text: p.new_name.clone() });
        }
    }
    Ok(Some(lsp::WorkspaceEdit { changes: Some(changes), ..Default::default() }))
}

// ---------------------------------------------------------------------------------------------
// Symbols, folding

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written; it is None.
pub fn document_symbols(cx: &mut Ctx, p: lsp::DocumentSymbolParams) -> Option<lsp::DocumentSymbolResponse> {
    let (snap, path) = cx.snapshot(&p.text_document.uri)?;
    let file = snap.file(&path)?;
    let index = LineIndex::new(snap.files.text(file.file));
    let range = |s: Span| index.range(s.start as usize, s.end as usize);
    let symbols = file
        .scopes
        .iter()
        .map(|s| {
            let kind = match () {
                _ if s.is_macro => lsp::SymbolKind::OPERATOR,
                _ if s.name == "<module>" => lsp::SymbolKind::MODULE,
                _ if file.lines.iter().any(|l| matches!(&l.statement, Some(st) if st.span == s.header && matches!(&st.node, crate::syntax::ast::Statement::Code(h) if h.params.is_some()))) => {
                    lsp::SymbolKind::FUNCTION
                }
                _ => lsp::SymbolKind::CLASS,
            };
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
    let index = LineIndex::new(text);
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

// ---------------------------------------------------------------------------------------------
// Formatting

pub fn formatting(cx: &mut Ctx, p: lsp::DocumentFormattingParams) -> Option<Vec<lsp::TextEdit>> {
    let path = super::path_of(&p.text_document.uri)?;
    let text = cx.text(&path)?;
    let formatted = crate::fmt::format(&text).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    let index = LineIndex::new(&text);
    Some(vec![lsp::TextEdit { range: index.range(0, text.len()), new_text: formatted }])
}
