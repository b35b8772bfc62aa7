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
    index_lines(file, path, text, crate::syntax::parse(file, text).0, version, macros)
}

/// `index_file` of lines parsed already (`syntax::parse(file, text)`).
pub fn index_lines(file: u32, path: PathBuf, text: &str, lines: Vec<Line>, version: Option<&'static VersionTable>, macros: &[String]) -> FileIndex {
    let folder = path.parent().map(PathBuf::from).unwrap_or_default();
    let mut ix = Indexer { ix: FileIndex { file, path, ..Default::default() }, text, folder, version, macros, open: None, tries: Vec::new() };
    for line in &lines {
        ix.line(line);
    }
    if let Some(s) = ix.open.take() {
        ix.ix.scopes.push(s);
    }
    ix.ix.lines = lines;
    ix.ix
}

/// Reads a file's lines in order, keeping the code object or macro body they are in.
struct Indexer<'a> {
    ix: FileIndex,
    text: &'a str,
    folder: PathBuf,
    version: Option<&'static VersionTable>,
    macros: &'a [String],
    /// The body being read.
    open: Option<Scope>,
    /// The `.try` lines not yet closed.
    tries: Vec<Span>,
}

impl Indexer<'_> {
    fn occ(&mut self, key: Key, span: Span, is_def: bool) {
        self.ix.occurrences.push(Occurrence { key, span, is_def });
    }

    fn close(&mut self) {
        if let Some(prev) = self.open.take() {
            self.ix.scopes.push(prev);
        }
    }

    fn line(&mut self, line: &Line) {
        if let (Some(l), Some(s)) = (&line.label, self.open.as_mut()) {
            s.labels.push(l.clone());
            let header = s.header;
            self.occ(Key::Label(header, l.node.clone()), l.span, true);
        }
        let Some(stmt) = &line.statement else { return };
        match &stmt.node {
            Statement::Code(h) => self.code(h, stmt.span),
            Statement::Directive(d) => self.directive(d, stmt.span),
            Statement::Instruction(i) => self.instruction(i),
        }
        if let Some(s) = self.open.as_mut() {
            s.span = s.span.to(stmt.span);
        }
    }

    fn code(&mut self, h: &crate::syntax::ast::CodeHeader, span: Span) {
        let name = h.id.node.text();
        self.occ(Key::Code(name.clone()), h.id.span, true);
        let mut scope = Scope { is_macro: false, name, name_span: h.id.span, span, header: span, labels: Vec::new(), locals: Vec::new() };
        for p in h.params.iter().flatten() {
            if let Param::Plain(n) | Param::VarArgs(n) | Param::VarKeywords(n) = p {
                scope.locals.push((Spanned::new(n.node.text(), n.span), "parameter"));
                self.occ(Key::Local(span, n.node.text()), n.span, true);
            }
        }
        self.close();
        self.open = Some(scope);
    }

    fn macro_header(&mut self, d: &crate::syntax::ast::Directive, span: Span) {
        self.close();
        let (name, params) = match d.args.first() {
            Some(Spanned { node: Value::Call(n, params), .. }) => (n.clone(), params.as_slice()),
            Some(Spanned { node: Value::Word(w), span }) => (Spanned::new(w.clone(), *span), &[][..]),
            _ => return,
        };
        self.occ(Key::Macro(name.node.clone()), name.span, true);
        let locals = params
            .iter()
            .filter_map(|p| match &p.node {
                Value::Word(w) => Some((Spanned::new(w.clone(), p.span), "macro parameter")),
                _ => None,
            })
            .collect();
        self.open = Some(Scope { is_macro: true, name: name.node, name_span: name.span, span, header: span, labels: Vec::new(), locals });
    }

    fn directive(&mut self, d: &crate::syntax::ast::Directive, span: Span) {
        let name = d.name.node.as_str();
        self.occ(Key::Directive(name.to_string()), d.name.span, false);
        let header = self.open.as_ref().map(|s| s.header);
        match (name, header) {
            ("end" | "endmacro", Some(_)) => {
                if let Some(s) = self.open.as_mut() {
                    s.span = s.span.to(span);
                }
                self.close();
            }
            ("macro", _) => self.macro_header(d, span),
            ("locals" | "cells" | "freevars", Some(h)) => {
                let kind = match name {
                    "locals" => "local",
                    "cells" => "cell",
                    _ => "free variable",
                };
                for a in &d.args {
                    if let Value::Word(w) | Value::Angle(w) = &a.node {
                        if let Some(s) = self.open.as_mut() {
                            s.locals.push((Spanned::new(w.clone(), a.span), kind));
                        }
                        self.occ(Key::Local(h, w.clone()), a.span, true);
                    }
                }
            }
            ("include", _) => {
                if let [Spanned { node: Value::Str(p), span }] = d.args.as_slice() {
                    let target = super::workspace::normalize(&self.folder.join(p.to_lossy()));
                    self.occ(Key::Include(target), *span, false);
                }
            }
            ("try", Some(h)) => {
                self.tries.push(span);
                if let Some(Spanned { node: Value::Word(w), span }) = d.args.first() {
                    self.occ(Key::Label(h, w.clone()), *span, false);
                }
            }
            ("end_try", _) => {
                if let Some(start) = self.tries.pop() {
                    self.ix.tries.push(start.to(span));
                }
            }
            ("exception", Some(h)) => {
                for a in d.args.iter().take(3) {
                    if let Value::Word(w) = &a.node {
                        self.occ(Key::Label(h, w.clone()), a.span, false);
                    }
                }
            }
            _ => {}
        }
        let text = self.text;
        for a in &d.args {
            code_ref_occurrences(text, a, &mut |k, s| self.ix.occurrences.push(Occurrence { key: k, span: s, is_def: false }));
        }
    }

    fn instruction(&mut self, i: &crate::syntax::ast::Instruction) {
        let opname = &i.opname.node;
        let key = if self.macros.contains(opname) { Key::Macro(opname.clone()) } else { Key::Opcode(opname.clone()) };
        self.occ(key, i.opname.span, false);
        let kind = arg_kind(self.version, opname);
        let text = self.text;
        let header = self.open.as_ref().map(|s| s.header);
        let out = &mut self.ix.occurrences;
        let mut add = |key, span| out.push(Occurrence { key, span, is_def: false });
        for a in &i.operands {
            if let Some(h) = header {
                operand_occurrences(kind, h, a, &mut add);
            }
            code_ref_occurrences(text, a, &mut add);
        }
    }
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
