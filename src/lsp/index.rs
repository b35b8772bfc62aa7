//! What the text of each file of a module defines and refers to, read from the syntax tree
//! alone (so that a file that does not resolve, or does not even parse whole, still has its
//! symbols): code objects and `@` references, labels and jumps, locals and their uses, macros
//! and their uses, includes, and the blocks an editor folds.

use crate::opcodes::{ArgKind, VersionTable};
use crate::syntax::ast::{Line, Param, Span, Spanned, Statement, Value};
use std::path::PathBuf;

/// What a name at some place is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A code object, by ID (one namespace per module).
    Code(String),
    Macro(String),
    /// A label of one code object or macro body (its scope: the header's span).
    Label(Span, String),
    /// A local, cell or free variable of one code object.
    Local(Span, String),
    /// A name of co_names (globals, attributes, imports).
    Name(String),
    Opcode(String),
    /// A `.include` and the file it reads.
    Include(PathBuf),
    Directive(String),
}

/// One occurrence of a name in the text.
#[derive(Clone, Debug)]
pub struct Occurrence {
    pub key: Key,
    /// The name itself (after an `@`).
    pub span: Span,
    pub is_def: bool,
}

/// A code object's or macro's body in the text.
#[derive(Clone, Debug)]
pub struct Scope {
    pub is_macro: bool,
    pub name: String,
    pub name_span: Span,
    /// From the header line to the `.end`/`.endmacro` line (or what the file has of it).
    pub span: Span,
    pub header: Span,
    pub labels: Vec<Spanned<String>>,
    pub locals: Vec<(Spanned<String>, &'static str)>,
}

#[derive(Default)]
pub struct FileIndex {
    pub file: u32,
    pub path: PathBuf,
    pub occurrences: Vec<Occurrence>,
    pub scopes: Vec<Scope>,
    /// `.try` … `.end_try` pairs.
    pub tries: Vec<Span>,
    /// Each line's instruction or directive name and the scope it is in, for completion.
    pub lines: Vec<Line>,
}

impl FileIndex {
    pub fn at(&self, offset: u32) -> Option<&Occurrence> {
        self.occurrences.iter().find(|o| o.span.start <= offset && offset <= o.span.end)
    }
    pub fn scope_at(&self, offset: u32) -> Option<&Scope> {
        self.scopes.iter().find(|s| s.span.start <= offset && offset <= s.span.end)
    }
}

/// The span of a name written after `@` (or quoted): what a rename replaces.
fn name_span(text: &str, span: Span) -> Span {
    match text.get(span.range()) {
        Some(t) if t.starts_with('@') => Span { start: span.start + 1, ..span },
        _ => span,
    }
}

/// The operand kind of an instruction name: from the version's table, else from any table
/// that has it (a file whose version is not known yet).
pub fn arg_kind(version: Option<&'static VersionTable>, opname: &str) -> Option<ArgKind> {
    let tables = version.into_iter().chain(crate::opcodes::TABLES.iter().rev().copied());
    for t in tables {
        if t.pseudo_jump(opname).is_some() {
            return Some(ArgKind::JumpForward);
        }
        if let Some(op) = t.by_name(opname) {
            return Some(op.arg);
        }
    }
    None
}

pub fn index_file(file: u32, path: PathBuf, text: &str, version: Option<&'static VersionTable>, macros: &[String]) -> FileIndex {
    let (lines, _) = crate::syntax::parse(file, text);
    let mut ix = FileIndex { file, path: path.clone(), ..Default::default() };
    let folder = path.parent().map(PathBuf::from).unwrap_or_default();
    let mut open: Option<Scope> = None;
    let mut tries: Vec<Span> = Vec::new();
    let occ = |ix: &mut FileIndex, key: Key, span: Span, is_def: bool| ix.occurrences.push(Occurrence { key, span, is_def });
    for line in &lines {
        let scope_header = open.as_ref().map(|s| s.header);
        if let (Some(l), Some(s)) = (&line.label, open.as_mut()) {
            s.labels.push(l.clone());
        }
        if let (Some(l), Some(h)) = (&line.label, scope_header) {
            occ(&mut ix, Key::Label(h, l.node.clone()), l.span, true);
        }
        let Some(stmt) = &line.statement else { continue };
        match &stmt.node {
            Statement::Code(h) => {
                let name = h.id.node.text();
                occ(&mut ix, Key::Code(name.clone()), h.id.span, true);
                let mut scope = Scope { is_macro: false, name, name_span: h.id.span, span: stmt.span, header: stmt.span, labels: Vec::new(), locals: Vec::new() };
                for p in h.params.iter().flatten() {
                    if let Param::Plain(n) | Param::VarArgs(n) | Param::VarKeywords(n) = p {
                        scope.locals.push((Spanned::new(n.node.text(), n.span), "parameter"));
                        occ(&mut ix, Key::Local(stmt.span, n.node.text()), n.span, true);
                    }
                }
                if let Some(prev) = open.replace(scope) {
                    ix.scopes.push(prev);
                }
            }
            Statement::Directive(d) => {
                let name = d.name.node.as_str();
                occ(&mut ix, Key::Directive(name.to_string()), d.name.span, false);
                match (name, open.as_mut()) {
                    ("end" | "endmacro", Some(s)) => {
                        s.span = s.span.to(stmt.span);
                        ix.scopes.push(open.take().expect("open"));
                    }
                    ("macro", _) => {
                        if let Some(prev) = open.take() {
                            ix.scopes.push(prev);
                        }
                        if let Some(Spanned { node: Value::Call(n, params), span }) = d.args.first() {
                            occ(&mut ix, Key::Macro(n.node.clone()), n.span, true);
                            let locals = params
                                .iter()
                                .filter_map(|p| match &p.node {
                                    Value::Word(w) => Some((Spanned::new(w.clone(), p.span), "macro parameter")),
                                    _ => None,
                                })
                                .collect();
                            open = Some(Scope { is_macro: true, name: n.node.clone(), name_span: n.span, span: stmt.span.to(*span), header: stmt.span, labels: Vec::new(), locals });
                        } else if let Some(Spanned { node: Value::Word(w), span }) = d.args.first() {
                            occ(&mut ix, Key::Macro(w.clone()), *span, true);
                            open = Some(Scope { is_macro: true, name: w.clone(), name_span: *span, span: stmt.span, header: stmt.span, labels: Vec::new(), locals: Vec::new() });
                        }
                    }
                    ("locals" | "cells" | "freevars", Some(s)) => {
                        let kind = match name {
                            "locals" => "local",
                            "cells" => "cell",
                            _ => "free variable",
                        };
                        for a in &d.args {
                            if let Value::Word(w) | Value::Angle(w) = &a.node {
                                s.locals.push((Spanned::new(w.clone(), a.span), kind));
                                occ(&mut ix, Key::Local(s.header, w.clone()), a.span, true);
                            }
                        }
                    }
                    ("include", _) => {
                        if let [Spanned { node: Value::Str(p), span }] = d.args.as_slice() {
                            let target = super::workspace::normalize(&folder.join(p.to_lossy()));
                            occ(&mut ix, Key::Include(target), *span, false);
                        }
                    }
                    ("try", Some(s)) => {
                        tries.push(stmt.span);
                        if let Some(Spanned { node: Value::Word(w), span }) = d.args.first() {
                            occ(&mut ix, Key::Label(s.header, w.clone()), *span, false);
                        }
                    }
                    ("end_try", _) => {
                        if let Some(start) = tries.pop() {
                            ix.tries.push(start.to(stmt.span));
                        }
                    }
                    ("exception", Some(s)) => {
                        for a in d.args.iter().take(3) {
                            if let Value::Word(w) = &a.node {
                                occ(&mut ix, Key::Label(s.header, w.clone()), a.span, false);
                            }
                        }
                    }
                    _ => {}
                }
                for a in &d.args {
                    code_ref_occurrences(text, a, &mut |k, s| occ(&mut ix, k, s, false));
                }
            }
            Statement::Instruction(i) => {
                let opname = i.opname.node.clone();
                if macros.contains(&opname) {
                    occ(&mut ix, Key::Macro(opname.clone()), i.opname.span, false);
                } else {
                    occ(&mut ix, Key::Opcode(opname.clone()), i.opname.span, false);
                }
                let kind = arg_kind(version, &opname);
                if let Some(h) = scope_header {
                    for a in &i.operands {
                        operand_occurrences(kind, h, a, &mut |k, s| occ(&mut ix, k, s, false));
                    }
                }
                for a in &i.operands {
                    code_ref_occurrences(text, a, &mut |k, s| occ(&mut ix, k, s, false));
                }
            }
        }
        if let Some(s) = open.as_mut() {
            s.span = s.span.to(stmt.span);
        }
    }
    if let Some(s) = open.take() {
        ix.scopes.push(s);
    }
    ix.lines = lines;
    ix
}

/// The names an operand refers to, by what the instruction takes.
fn operand_occurrences(kind: Option<ArgKind>, scope: Span, v: &Spanned<Value>, add: &mut dyn FnMut(Key, Span)) {
    let word = match &v.node {
        Value::Word(w) => w,
        Value::Tuple(vs) => {
            vs.iter().for_each(|x| operand_occurrences(kind, scope, x, add));
            return;
        }
        _ => return,
    };
    match kind {
        Some(ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute) => add(Key::Label(scope, word.clone()), v.span),
        Some(ArgKind::Local | ArgKind::Free | ArgKind::LocalPair) => add(Key::Local(scope, word.clone()), v.span),
        Some(ArgKind::Name) => add(Key::Name(word.clone()), v.span),
        _ => {}
    }
}

fn code_ref_occurrences(text: &str, v: &Spanned<Value>, add: &mut dyn FnMut(Key, Span)) {
    match &v.node {
        Value::CodeRef(n) => add(Key::Code(n.text()), name_span(text, v.span)),
        Value::Tuple(vs) | Value::Set(vs) | Value::Call(_, vs) => vs.iter().for_each(|x| code_ref_occurrences(text, x, add)),
        _ => {}
    }
}

/// The macros a module's files define (by name), so that their uses are told from opcodes.
pub fn macro_names(texts: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for text in texts {
        for line in text.lines() {
            if let Some(rest) = line.trim_start().strip_prefix(".macro") {
                let name: String = rest.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() && rest.starts_with(char::is_whitespace) {
                    out.push(name);
                }
            }
        }
    }
    out
}
