//! The resolver: from the syntax tree to code in which nothing symbolic is left.
//!
//! Lines are grouped into `.code` blocks; each block's declarations build its tables
//! (fast locals, co_consts, co_names); each instruction's operand becomes a number, or a
//! jump target given as an instruction index (offsets need the layout, which is `emit`'s).
//! Afterwards the reference graph between code objects gives qualnames and NESTED flags.

pub mod constants;
pub mod hash;

use crate::diagnostics::{Diagnostic, codes, nearest};
use crate::emit::linetable::Location;
use crate::object::{LocalSlot, PyStr};
use crate::opcodes::{ArgKind, OpInfo, VersionTable};
use crate::syntax::ast::*;
use constants::{PoolConst, small_int, to_constant};
use hash::{FastIndexSet, FastMap};

/// Kind bits of a fast-locals slot (3.11; see [`crate::object::LocalSlot`] for 3.6–3.10).
pub use crate::object::{KIND_CELL as FAST_CELL, KIND_FREE as FAST_FREE, KIND_LOCAL as FAST_LOCAL};
/// 3.12+: a variable of an inlined comprehension, hidden from `locals()` (`.hidden`).
pub const FAST_HIDDEN: u8 = 0x10;
/// 3.14+: how a parameter may be passed (set by the assembler from the signature):
/// positionally, by keyword, and whether it collects the rest (`*args`, `**kwargs`).
pub const FAST_ARG_POS: u8 = 0x02;
pub const FAST_ARG_KW: u8 = 0x04;
pub const FAST_ARG_VAR: u8 = 0x08;

/// The argument-kind bits of localsplus slot `slot` (0 past the parameters). Parameters come
/// first: positional-only, positional-or-keyword, keyword-only, then `*args` and `**kwargs`.
/// Computed per slot: the counts may come from a hostile .pyc.
pub fn param_kind(slot: usize, argcount: u32, posonly: u32, kwonly: u32, flags: u32) -> u8 {
    let (slot, argcount) = (slot as u64, argcount as u64);
    if slot < argcount {
        return if slot < posonly as u64 { FAST_ARG_POS } else { FAST_ARG_POS | FAST_ARG_KW };
    }
    let mut next = argcount + kwonly as u64;
    if slot < next {
        return FAST_ARG_KW;
    }
    if flags & CO_VARARGS != 0 {
        if slot == next {
            return FAST_ARG_POS | FAST_ARG_VAR;
        }
        next += 1;
    }
    if flags & CO_VARKEYWORDS != 0 && slot == next {
        return FAST_ARG_KW | FAST_ARG_VAR;
    }
    0
}

/// Code flags (stable across 3.x).
pub const CO_OPTIMIZED: u32 = 0x1;
pub const CO_NEWLOCALS: u32 = 0x2;
pub const CO_VARARGS: u32 = 0x4;
pub const CO_VARKEYWORDS: u32 = 0x8;
pub const CO_NESTED: u32 = 0x10;
/// 3.6–3.10: no cell or free variables (inferred; the version table says whether it exists).
pub const CO_NOFREE: u32 = 0x40;
/// 3.14+: co_consts[0] is the docstring.
pub const CO_HAS_DOCSTRING: u32 = 0x400_0000;
/// 3.14+: a function defined directly in a class body.
pub const CO_METHOD: u32 = 0x800_0000;
pub const CO_GENERATOR: u32 = 0x20;
pub const CO_COROUTINE: u32 = 0x80;
pub const CO_ITERABLE_COROUTINE: u32 = 0x100;
pub const CO_ASYNC_GENERATOR: u32 = 0x200;

/// The words `.flags` accepts (and the disassembler writes).
pub const FLAG_WORDS: &[(&str, u32)] = &[
    ("optimized", CO_OPTIMIZED),
    ("newlocals", CO_NEWLOCALS),
    ("varargs", CO_VARARGS),
    ("varkeywords", CO_VARKEYWORDS),
    ("nested", CO_NESTED),
    ("generator", CO_GENERATOR),
    ("coroutine", CO_COROUTINE),
    ("iterable_coroutine", CO_ITERABLE_COROUTINE),
    ("async_generator", CO_ASYNC_GENERATOR),
    ("has_docstring", CO_HAS_DOCSTRING),
    ("method", CO_METHOD),
    ("nofree", CO_NOFREE),
];

/// How deep code objects may nest (module = 0).
pub const MAX_CODE_NESTING: usize = 200;

/// Stands in the stack of open `.try` regions for one whose directive was wrong.
const BROKEN_REGION: usize = usize::MAX;

/// The directives allowed outside code objects (`.code` opens one). The editor grammars in
/// editors/ are generated from these two lists (tests/editors.rs).
pub const FILE_DIRECTIVES: &[&str] = &["python", "filename", "add_flags", "code"];

/// Every directive allowed inside a code object.
pub const CODE_DIRECTIVES: &[&str] = &[
    "locals", "cells", "freevars", "names", "consts", "loc", "line", "name", "qualname", "filename", "firstlineno",
    "stacksize", "flags", "add_flags", "remove_flags", "try", "end_try", "exception", "end", "linetable", "exceptiontable",
    "hidden", "docstring",
];

/// An instruction's argument after resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// The final argument value.
    Value(u32),
    /// A jump to the instruction at this index (`instrs.len()` means "the end").
    Target(usize),
}

impl Arg {
    /// The argument as far as stack effects go: a jump's offset never changes its effect.
    pub fn oparg(self) -> u32 {
        match self {
            Arg::Value(v) => v,
            Arg::Target(_) => 0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Instr {
    pub op: &'static OpInfo,
    pub arg: Arg,
    pub span: Span,
    pub loc: Location,
    /// The innermost structured region (`.try`) that protects this instruction.
    pub region: Option<usize>,
    /// The operand could not be resolved (and was reported); the argument is a stand-in 0.
    pub placeholder: bool,
    /// The span of the main operand (the instruction's span when it has none).
    pub operand_span: Span,
    /// A `.line`/`.loc` directive comes right before it (since the previous instruction):
    /// 3.6–3.10 line tables mark such instructions, the compilers' statement starts.
    pub line_mark: bool,
}

/// A `.try` region.
#[derive(Clone, Debug)]
pub struct Region {
    pub handler: usize,
    pub lasti: bool,
    pub depth: Option<u32>,
    /// The first instruction inside the region (its depth is the default handler depth).
    pub first: Option<usize>,
    pub span: Span,
}

/// A `.exception` entry, by instruction indexes.
#[derive(Clone, Debug)]
pub struct ExplicitEntry {
    pub start: usize,
    pub end: usize,
    pub target: usize,
    pub depth: u32,
    pub lasti: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ResolvedCode {
    pub version: &'static VersionTable,
    pub id: Spanned<Name>,
    pub header_span: Span,
    pub end_span: Span,
    pub is_function: bool,
    pub name: PyStr,
    pub qualname: Option<PyStr>,
    pub filename: Option<PyStr>,
    pub firstlineno: i32,
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    /// Flags from the signature and instructions; NESTED is added by the program pass.
    pub flags: u32,
    pub flags_override: Option<u32>,
    /// `.add_flags` / `.remove_flags` (and the file-level `.add_flags`), applied last.
    pub flags_add: u32,
    pub flags_remove: u32,
    pub stacksize_override: Option<u32>,
    pub consts: Vec<PoolConst>,
    pub names: Vec<PyStr>,
    pub localsplus: Vec<LocalSlot>,
    pub instrs: Vec<Instr>,
    /// 3.6–3.10: `.line` directives followed by another `.line` before any instruction, as
    /// (index of the next instruction, position): lines whose code 3.6–3.9's peephole optimizer
    /// removed, kept in the line table as marks of size 0 (see `emit::lnotab`).
    pub lines_without_code: Vec<(usize, Location)>,
    /// `EXTENDED_ARG` lines without an operand before an instruction, as (its index, how many):
    /// it is written with at least that many prefixes, carrying its argument's high bytes (zero
    /// where the argument is small). 3.6–3.9's peephole optimizer shortens code after the
    /// layout and keeps every instruction's size, leaving prefixes the argument does not need
    /// (`EXTENDED_ARG 0`) or that a fresh layout would not choose.
    pub min_prefixes: Vec<(usize, u32)>,
    pub regions: Vec<Region>,
    pub entries: Vec<ExplicitEntry>,
    /// Some instruction could not be identified, so stack effects are unknown.
    pub unknown_effects: bool,
    /// `.linetable` / `.exceptiontable`: raw tables that replace the computed ones.
    pub linetable_override: Option<Vec<u8>>,
    pub exceptiontable_override: Option<Vec<u8>>,
}

impl ResolvedCode {
    /// co_flags: inferred (or `.flags`), then `.add_flags` / `.remove_flags`.
    pub fn final_flags(&self) -> u32 {
        (self.flags_override.unwrap_or(self.flags) | self.flags_add) & !self.flags_remove
    }
}

pub struct Program {
    pub version: &'static VersionTable,
    pub codes: Vec<ResolvedCode>,
    pub module: usize,
    /// For each code object, the code object that first references it.
    pub parent: Vec<Option<usize>>,
}

/// One `.code` … `.end` block of lines.
struct Block<'a> {
    header: &'a Spanned<Statement>,
    header_line: u32,
    code: &'a CodeHeader,
    body: Vec<&'a Line>,
    end_span: Span,
}

/// Options a caller (the CLI) passes down.
pub struct ResolveOptions {
    /// co_filename when the file does not set one.
    pub default_filename: String,
}

/// Resolves a parsed file against one version's table.
pub fn resolve(
    lines: &[Line],
    version: &'static VersionTable,
    opts: &ResolveOptions,
) -> (Option<Program>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let (blocks, file_filename, file_flag_directives) = structure(lines, &mut diags);

    // Code IDs first: definition order does not matter, so every block is known up front.
    let mut ids: FastMap<PyStr, usize> = FastMap::default();
    for (i, b) in blocks.iter().enumerate() {
        if let Some(&prev) = ids.get(&b.code.id.node.0) {
            diags.push(
                Diagnostic::error(codes::DUPLICATE_CODE, format!("code object `{}` is defined more than once", b.code.id.node.text()))
                    .with_primary(b.code.id.span, "defined again here")
                    .with_secondary(blocks[prev].code.id.span, "first defined here")
                    .with_help("give one of them another ID and set its co_name with .name"),
            );
        } else {
            ids.insert(b.code.id.node.0.clone(), i);
        }
    }
    let default_filename = file_filename.unwrap_or_else(|| PyStr::from(opts.default_filename.as_str()));
    let mut file_flags = 0;
    for d in &file_flag_directives {
        file_flags |= parse_flags(d, &mut diags).unwrap_or(0);
    }
    let mut codes_out = Vec::new();
    for b in &blocks {
        let mut rc = resolve_block(b, version, &ids, &mut diags);
        rc.flags_add |= file_flags;
        codes_out.push(rc);
    }
    let module = ids.get(&PyStr::from("<module>")).copied();
    if let Some(m) = module {
        if blocks[m].code.params.is_some() {
            diags.push(
                Diagnostic::error(codes::SIGNATURE, "the module cannot have parameters")
                    .with_primary(blocks[m].header.span, "a parameter list makes this a function")
                    .with_help("write `.code <module>` without parentheses"),
            );
        }
    }
    if module.is_none() && !blocks.is_empty() {
        diags.push(
            Diagnostic::error(codes::NO_MODULE, "there is no `.code <module>`")
                .with_primary(blocks[0].code.id.span, "the first code object")
                .with_help("the module's code object is the one with ID <module>: write `.code <module>`"),
        );
    }
    if blocks.is_empty() && diags.iter().all(|d| !d.is_error()) {
        diags.push(
            Diagnostic::error(codes::NO_MODULE, "this file defines no code object")
                .with_help("a program is a `.code <module>` … `.end` block; see docs/format.md"),
        );
    }
    let Some(module) = module else { return (None, diags) };
    let mut program = Program { version, codes: codes_out, module, parent: Vec::new() };
    link_references(&mut program, &default_filename, &mut diags);
    (Some(program), diags)
}

/// Groups lines into `.code` blocks and collects file-level directives.
fn structure<'a>(lines: &'a [Line], diags: &mut Vec<Diagnostic>) -> (Vec<Block<'a>>, Option<PyStr>, Vec<&'a Directive>) {
    let mut file_flags = Vec::new();
    let mut blocks: Vec<Block<'a>> = Vec::new();
    let mut open: Option<Block<'a>> = None;
    let mut filename = None;
    for line in lines {
        let Some(stmt) = &line.statement else {
            if let Some(label) = &line.label {
                match &mut open {
                    Some(b) => b.body.push(line),
                    None => diags.push(
                        Diagnostic::error(codes::STRUCTURE, "a label outside a code object")
                            .with_primary(label.span, "")
                            .with_help("labels go between `.code` and `.end`"),
                    ),
                }
            }
            continue;
        };
        match &stmt.node {
            Statement::Code(header) => {
                if let Some(b) = open.take() {
                    diags.push(
                        Diagnostic::error(codes::STRUCTURE, format!("`.code {}` has no `.end`", b.code.id.node.text()))
                            .with_primary(b.header.span, "this code object is still open")
                            .with_secondary(stmt.span, "when the next one starts here")
                            .with_help("code objects are not nested in the text: end each with `.end`, and refer to it with @name"),
                    );
                    blocks.push(b);
                }
                open = Some(Block { header: stmt, header_line: line.line_no, code: header, body: Vec::new(), end_span: stmt.span });
            }
            Statement::Directive(d) if d.name.node == "end" => match open.take() {
                Some(mut b) => {
                    b.end_span = stmt.span;
                    if !d.args.is_empty() {
                        diags.push(directive_error(d, "`.end` takes no arguments"));
                    }
                    blocks.push(b);
                }
                None => diags.push(
                    Diagnostic::error(codes::STRUCTURE, "`.end` without a `.code`").with_primary(stmt.span, ""),
                ),
            },
            _ if open.is_some() => open.as_mut().unwrap().body.push(line),
            Statement::Directive(d) => match d.name.node.as_str() {
                // Version selection is read before resolution (see `lib.rs`).
                "python" => {}
                "filename" => match d.args.as_slice() {
                    [Spanned { node: Value::Str(s), .. }] => filename = Some(s.clone()),
                    _ => diags.push(directive_error(d, "`.filename` takes one string")),
                },
                // Flags for every code object (`from __future__ import annotations` sets one
                // on each): handled in `resolve`.
                "add_flags" => file_flags.push(d),
                other if CODE_DIRECTIVES.contains(&other) => diags.push(
                    Diagnostic::error(codes::STRUCTURE, format!("`.{other}` must be inside a code object"))
                        .with_primary(d.name.span, "")
                        .with_help("at the top level only .python and .filename are allowed"),
                ),
                other => {
                    let mut e = Diagnostic::error(codes::DIRECTIVE, format!("unknown directive `.{other}`")).with_primary(d.name.span, "");
                    if let Some(n) = nearest(other, FILE_DIRECTIVES.iter().chain(CODE_DIRECTIVES).copied()).first() {
                        e = e.with_help(format!("did you mean `.{n}`?")).with_suggestion(d.name.span, format!(".{n}"));
                    }
                    diags.push(e);
                }
            },
            Statement::Instruction(i) => diags.push(
                Diagnostic::error(codes::STRUCTURE, "an instruction outside a code object")
                    .with_primary(i.opname.span, "")
                    .with_help("instructions go between `.code NAME` and `.end`"),
            ),
        }
    }
    if let Some(b) = open {
        diags.push(
            Diagnostic::error(codes::STRUCTURE, format!("`.code {}` has no `.end`", b.code.id.node.text()))
                .with_primary(b.header.span, "opened here")
                .with_help("end the code object with `.end`"),
        );
        blocks.push(b);
    }
    (blocks, filename, file_flags)
}

fn directive_error(d: &Directive, msg: &str) -> Diagnostic {
    let span = d.args.iter().fold(d.name.span, |s, a| s.to(a.span));
    Diagnostic::error(codes::DIRECTIVE, msg.to_string()).with_primary(span, "")
}

fn name_of(v: &Spanned<Value>) -> Option<PyStr> {
    match &v.node {
        Value::Word(w) => Some(PyStr::from(w.as_str())),
        Value::Angle(a) => Some(PyStr::from(a.as_str())),
        Value::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// co_consts under construction. Declared entries are kept as written, duplicates included
/// (CPython never merges NaNs, so a .pyc can hold equal-looking constants twice); an operand
/// refers to the first equal entry, or adds one.
#[derive(Default)]
struct ConstPool {
    entries: Vec<PoolConst>,
    first: FastMap<PoolConst, u32>,
}

impl ConstPool {
    fn declare(&mut self, c: PoolConst) {
        let index = self.entries.len() as u32;
        self.first.entry(c.clone()).or_insert(index);
        self.entries.push(c);
    }
    fn index_of(&mut self, c: PoolConst) -> u32 {
        if let Some(&i) = self.first.get(&c) {
            return i;
        }
        self.declare(c);
        self.entries.len() as u32 - 1
    }
}

/// Fast-local names in order; a name may occur twice (see `declare_local`), and lookups give
/// the first slot.
#[derive(Default)]
struct NameList {
    names: Vec<PyStr>,
    first: FastMap<PyStr, usize>,
}

impl NameList {
    fn get_index_of(&self, name: &PyStr) -> Option<usize> {
        self.first.get(name).copied()
    }
    fn is_doubled(&self, name: &PyStr) -> bool {
        self.names.iter().filter(|n| *n == name).count() > 1
    }
    fn insert(&mut self, name: PyStr) {
        self.first.entry(name.clone()).or_insert(self.names.len());
        self.names.push(name);
    }
    fn len(&self) -> usize {
        self.names.len()
    }
    fn get_index(&self, i: usize) -> Option<&PyStr> {
        self.names.get(i)
    }
    fn iter(&self) -> impl Iterator<Item = &PyStr> {
        self.names.iter()
    }
}

/// Builder state for one block.
struct CodeBuilder<'t> {
    version: &'t VersionTable,
    consts: ConstPool,
    names: FastIndexSet<PyStr>,
    locals: NameList,
    kinds: Vec<u8>,
    local_spans: Vec<Option<Span>>,
}

impl CodeBuilder<'_> {
    fn declare_local(&mut self, name: PyStr, kind: u8, span: Option<Span>, diags: &mut Vec<Diagnostic>) {
        if let Some(i) = self.locals.get_index_of(&name) {
            let what = |k: u8| if k & FAST_FREE != 0 { "a free variable" } else if k & FAST_CELL != 0 && k & FAST_LOCAL == 0 { "a cell" } else { "a local" };
            // A parameter may also be declared a cell: 3.6–3.10 list it in both co_varnames
            // and co_cellvars (two slots, the cell's in the order `.cells` gives), 3.11+ give
            // its one slot both kinds.
            if kind == FAST_CELL && self.kinds[i] == FAST_LOCAL && self.version.block_stack && !self.locals.is_doubled(&name) {
                self.locals.insert(name);
                self.kinds.push(kind);
                self.local_spans.push(span);
                return;
            }
            if kind == FAST_CELL && self.kinds[i] == FAST_LOCAL {
                self.kinds[i] |= FAST_CELL;
                return;
            }
            // CPython can give one name two slots: a cell and a free variable (a class body
            // inside a method that uses `__class__`), or a local (maybe also a cell) and a free
            // variable (3.12+ type parameters); operands then name the first, and the
            // second is reached with `$N`.
            let prev = self.kinds[i];
            let local_and_free = self.version.hidden_locals; // 3.12+, with type parameters
            let cell_and_free = (kind == FAST_FREE && (prev == FAST_CELL || (local_and_free && prev & FAST_FREE == 0)))
                || ((kind == FAST_CELL || (local_and_free && kind == FAST_LOCAL)) && prev == FAST_FREE);
            if cell_and_free && !self.locals.is_doubled(&name) {
                self.locals.insert(name);
                self.kinds.push(kind);
                self.local_spans.push(span);
                return;
            }
            let mut d = Diagnostic::error(codes::DIRECTIVE, format!("`{name}` is declared twice"));
            if let Some(s) = span {
                d = d.with_primary(s, format!("declared here as {}", what(kind)));
            }
            if let Some(Some(prev)) = self.local_spans.get(i) {
                d = d.with_secondary(*prev, format!("already {}", what(self.kinds[i])));
            }
            diags.push(d);
            return;
        }
        self.locals.insert(name);
        self.kinds.push(kind);
        self.local_spans.push(span);
    }
}

fn resolve_block(
    b: &Block,
    version: &'static VersionTable,
    ids: &FastMap<PyStr, usize>,
    diags: &mut Vec<Diagnostic>,
) -> ResolvedCode {
    let mut cb = CodeBuilder {
        version,
        consts: ConstPool::default(),
        names: FastIndexSet::default(),
        locals: NameList::default(),
        kinds: Vec::new(),
        local_spans: Vec::new(),
    };
    let mut flags = 0u32;
    let (mut argcount, mut posonly, mut kwonly) = (0u32, 0u32, 0u32);
    let is_function = b.code.params.is_some();
    if let Some(params) = &b.code.params {
        flags |= CO_OPTIMIZED | CO_NEWLOCALS;
        signature(params, &mut cb, &mut argcount, &mut posonly, &mut kwonly, &mut flags, diags);
    }
    let mut rc = ResolvedCode {
        version,
        id: b.code.id.clone(),
        header_span: b.header.span,
        end_span: b.end_span,
        is_function,
        name: b.code.id.node.0.clone(),
        qualname: None,
        filename: None,
        firstlineno: 0,
        argcount,
        posonlyargcount: posonly,
        kwonlyargcount: kwonly,
        flags,
        flags_override: None,
        flags_add: 0,
        flags_remove: 0,
        stacksize_override: None,
        consts: Vec::new(),
        names: Vec::new(),
        localsplus: Vec::new(),
        instrs: Vec::new(),
        regions: Vec::new(),
        entries: Vec::new(),
        unknown_effects: false,
        linetable_override: None,
        lines_without_code: Vec::new(),
        min_prefixes: Vec::new(),
        exceptiontable_override: None,
    };
    let mut firstlineno = None;
    let mut explicit_firstlineno = None;

    // Pass 1: declarations (their position in the block does not matter) and labels.
    let mut cells_after: Vec<(PyStr, Span)> = Vec::new();
    let mut frees: Vec<(PyStr, Span)> = Vec::new();
    let mut hidden: Vec<(PyStr, Span)> = Vec::new();
    let mut declared_consts: Vec<&Spanned<Value>> = Vec::new();
    let mut labels: FastMap<String, (usize, Span)> = FastMap::default();
    let mut has_loc = false;
    let mut consts_declared = false;
    let mut docstring: Option<&Spanned<Value>> = None;
    let mut index = 0usize;
    for line in &b.body {
        if let Some(label) = &line.label {
            if let Some((_, prev)) = labels.get(&label.node) {
                diags.push(
                    Diagnostic::error(codes::DUPLICATE_LABEL, format!("label `{}` is defined twice", label.node))
                        .with_primary(label.span, "defined again here")
                        .with_secondary(*prev, "first defined here"),
                );
            } else {
                labels.insert(label.node.clone(), (index, label.span));
            }
        }
        let Some(stmt) = &line.statement else { continue };
        match &stmt.node {
            Statement::Instruction(i) if is_prefix_request(i) => {}
            Statement::Instruction(_) => index += 1,
            Statement::Directive(d) => {
                let args = &d.args;
                let each_name = |diags: &mut Vec<Diagnostic>| -> Vec<(PyStr, Span)> {
                    args.iter()
                        .filter_map(|a| match name_of(a) {
                            Some(n) => Some((n, a.span)),
                            None => {
                                diags.push(
                                    Diagnostic::error(codes::DIRECTIVE, format!("`.{}` takes names", d.name.node))
                                        .with_primary(a.span, "not a name"),
                                );
                                None
                            }
                        })
                        .collect()
                };
                match d.name.node.as_str() {
                    "locals" => {
                        for (n, s) in each_name(diags) {
                            cb.declare_local(n, FAST_LOCAL, Some(s), diags);
                        }
                    }
                    "cells" => cells_after.extend(each_name(diags)),
                    "freevars" => frees.extend(each_name(diags)),
                    "hidden" if !version.hidden_locals => diags.push(
                        directive_error(d, &format!("`.hidden` needs Python 3.12 or later (this file targets {})", version.version)),
                    ),
                    "hidden" => hidden.extend(each_name(diags)),
                    "names" => {
                        for (n, _) in each_name(diags) {
                            cb.names.insert(n);
                        }
                    }
                    "consts" => {
                        consts_declared = true;
                        declared_consts.extend(args.iter())
                    }
                    // The docstring is co_consts[0]; 3.14+ also flags it (CO_HAS_DOCSTRING).
                    "docstring" => match args.as_slice() {
                        [s @ Spanned { node: Value::Str(_), .. }] if docstring.is_none() => {
                            docstring = Some(s);
                            consts_declared = true;
                            // CPython flags docstrings of functions only.
                            if version.docstring_flag && is_function {
                                rc.flags |= CO_HAS_DOCSTRING;
                            }
                        }
                        [_] if docstring.is_some() => diags.push(directive_error(d, "a code object has one `.docstring`")),
                        _ => diags.push(directive_error(d, "`.docstring` takes one string")),
                    },
                    "linetable" | "exceptiontable" => match args.as_slice() {
                        [Spanned { node: Value::Bytes(b), .. }] => {
                            if d.name.node == "linetable" {
                                rc.linetable_override = Some(b.clone());
                            } else {
                                rc.exceptiontable_override = Some(b.clone());
                            }
                        }
                        _ => diags.push(directive_error(d, &format!("`.{}` takes one bytes literal", d.name.node))),
                    },
                    "loc" | "line" => has_loc = true,
                    "name" => {
                        set_str(d, &mut rc.name, diags);
                    }
                    "qualname" => {
                        let mut q = PyStr::default();
                        if set_str(d, &mut q, diags) {
                            rc.qualname = Some(q);
                        }
                    }
                    "filename" => {
                        let mut f = PyStr::default();
                        if set_str(d, &mut f, diags) {
                            rc.filename = Some(f);
                        }
                    }
                    "firstlineno" => match args.as_slice() {
                        [Spanned { node: Value::Int(i), span }] => match i32::try_from(i.clone()) {
                            Ok(v) => {
                                firstlineno = Some(v);
                                explicit_firstlineno = Some(v);
                            }
                            Err(_) => diags.push(Diagnostic::error(codes::OUT_OF_RANGE, "line number out of range").with_primary(*span, "")),
                        },
                        _ => diags.push(directive_error(d, "`.firstlineno` takes one number")),
                    },
                    "stacksize" => match args.as_slice() {
                        [v] => match small_int(v, "stack size").and_then(|n| fits_int(n, v.span, "stack size")) {
                            Ok(n) => rc.stacksize_override = Some(n),
                            Err(e) => diags.push(e),
                        },
                        _ => diags.push(directive_error(d, "`.stacksize` takes one number")),
                    },
                    "flags" => {
                        if let Some(v) = parse_flags(d, diags) {
                            rc.flags_override = Some(v);
                        }
                    }
                    "add_flags" => {
                        if let Some(v) = parse_flags(d, diags) {
                            rc.flags_add |= v;
                        }
                    }
                    "remove_flags" => {
                        if let Some(v) = parse_flags(d, diags) {
                            rc.flags_remove |= v;
                        }
                    }
                    // Positional directives, handled in pass 2.
                    "try" | "end_try" | "exception" => {}
                    "python" => diags.push(directive_error(d, "`.python` belongs at the top of the file, outside code objects")),
                    "code" | "end" => {}
                    other => {
                        let mut e = Diagnostic::error(codes::DIRECTIVE, format!("unknown directive `.{other}`")).with_primary(d.name.span, "");
                        if let Some(n) = nearest(other, CODE_DIRECTIVES.iter().copied()).first() {
                            e = e.with_help(format!("did you mean `.{n}`?")).with_suggestion(d.name.span, format!(".{n}"));
                        }
                        diags.push(e);
                    }
                }
            }
            Statement::Code(_) => {}
        }
    }
    for (n, s) in cells_after {
        cb.declare_local(n, FAST_CELL, Some(s), diags);
    }
    for (n, s) in frees {
        cb.declare_local(n, FAST_FREE, Some(s), diags);
    }
    // CPython's layout: parameters and other locals first, then cells that are not
    // parameters, then free variables — the declaration order already is that, except that
    // `.locals` may follow `.cells` in the text; sort stably by section.
    let mut order: Vec<usize> = (0..cb.locals.len()).collect();
    order.sort_by_key(|&i| match cb.kinds[i] {
        k if k & FAST_LOCAL != 0 => 0,
        k if k & FAST_CELL != 0 => 1,
        _ => 2,
    });
    let mut reordered = NameList::default();
    for &i in &order {
        reordered.insert(cb.locals.get_index(i).unwrap().clone());
    }
    cb.kinds = order.iter().map(|&i| cb.kinds[i]).collect();
    cb.local_spans = order.iter().map(|&i| cb.local_spans[i]).collect();
    cb.locals = reordered;

    let mut code_ref = |v: &Spanned<Value>| -> Result<usize, Diagnostic> {
        let Value::CodeRef(n) = &v.node else { unreachable!() };
        ids.get(&n.0).copied().ok_or_else(|| {
            let text = n.text();
            let mut e = Diagnostic::error(codes::UNKNOWN_CODE, format!("no code object is named `{text}`"))
                .with_primary(v.span, "referenced here");
            let names: Vec<String> = ids.keys().map(|k| k.to_lossy()).collect();
            let near = nearest(&text, names.iter().map(|s| s.as_str()));
            if !near.is_empty() {
                e = e.with_help(crate::diagnostics::did_you_mean(&near, |n| format!("@{n}")).unwrap_or_default());
            }
            for n in &near {
                e = e.with_suggestion(v.span, format!("@{n}"));
            }
            e
        })
    };
    for c in docstring.into_iter().chain(declared_consts) {
        match to_constant(c, &mut code_ref) {
            Ok(k) => {
                cb.consts.declare(k);
            }
            Err(e) => diags.push(e),
        }
    }
    // A function's first constant is its docstring or None (CPython's rule; comprehensions
    // and generator expressions do not have one).
    let comprehension = is_comprehension(&rc.name);
    if is_function && !comprehension && !consts_declared && !version.docstring_flag {
        cb.consts.declare(PoolConst::Value(crate::object::Constant::None));
    }

    // Pass 2: instructions, positions and exception regions, in order.
    let mut loc = Location::NONE;
    let mut loc_pending = false;
    // `EXTENDED_ARG` lines (no operand) since the last instruction.
    let mut prefix_requests = 0u32;
    let mut open_regions: Vec<usize> = Vec::new();
    for line in &b.body {
        let Some(stmt) = &line.statement else { continue };
        match &stmt.node {
            Statement::Directive(d) => match d.name.node.as_str() {
                "loc" | "line" => match parse_loc(d) {
                    Ok(l) => {
                        if firstlineno.is_none() && l.line >= 1 {
                            firstlineno = Some(l.line);
                        }
                        if loc_pending && version.block_stack {
                            rc.lines_without_code.push((rc.instrs.len(), loc));
                        }
                        loc = l;
                        loc_pending = true;
                    }
                    Err(e) => diags.push(e),
                },
                "try" | "end_try" | "exception" if version.block_stack => {
                    let mut e = directive_error(d, &format!("`.{}` needs an exception table, which Python {} does not have", d.name.node, version.version));
                    e.code = codes::EXCEPTION_REGION;
                    diags.push(e.with_help(
                        "before 3.11 handlers are set up at run time: SETUP_FINALLY (or SETUP_WITH, SETUP_EXCEPT, …) LABEL, then POP_BLOCK where the protected code ends",
                    ));
                }
                "try" => match parse_try(d, &labels) {
                    Ok(mut r) => {
                        r.first = None;
                        rc.regions.push(r);
                        open_regions.push(rc.regions.len() - 1);
                    }
                    Err(e) => {
                        diags.push(e);
                        // Still open a region, so that its `.end_try` matches.
                        open_regions.push(BROKEN_REGION);
                    }
                },
                "end_try" => {
                    if open_regions.pop().is_none() {
                        let mut e = directive_error(d, "`.end_try` without a `.try`");
                        e.code = codes::EXCEPTION_REGION;
                        diags.push(e);
                    }
                }
                "exception" => match parse_exception(d, &labels) {
                    Ok(e) => rc.entries.push(e),
                    Err(e) => diags.push(e),
                },
                _ => {}
            },
            Statement::Instruction(ins) if is_prefix_request(ins) => prefix_requests += 1,
            Statement::Instruction(ins) => {
                let here = rc.instrs.len();
                if prefix_requests > 0 {
                    rc.min_prefixes.push((here, std::mem::take(&mut prefix_requests)));
                }
                let region = open_regions.iter().rev().copied().find(|&r| r != BROKEN_REGION);
                if let Some(r) = region {
                    if rc.regions[r].first.is_none() {
                        rc.regions[r].first = Some(here);
                    }
                }
                let instr_loc = if has_loc {
                    loc
                } else {
                    let l = line.line_no as i32;
                    Location { line: l, end_line: l, col: -1, end_col: -1 }
                };
                // Without `.line` directives each source line of the .pyasm file is a line.
                let line_mark = if has_loc {
                    std::mem::take(&mut loc_pending)
                } else {
                    rc.instrs.last().is_none_or(|p: &Instr| p.loc.line != instr_loc.line)
                };
                let operand_span = ins.operands.first().map_or(stmt.span, |o| o.span);
                let result = match ins.recovered {
                    // Its operands were lost with its syntax error: keep the opcode only.
                    Recovered::OperandsLost => match version.by_name(&ins.opname.node) {
                        Some(op) => Err((Some(op), Vec::new())),
                        None => Err((None, vec![unknown_opcode(ins, version)])),
                    },
                    // A macro use the linker reported and could not expand: no opcode, so
                    // unknown effects (below), and nothing more to say.
                    Recovered::Unexpanded => Err((None, Vec::new())),
                    Recovered::No => {
                        resolve_instruction(ins, here, &mut cb, &labels, &mut code_ref).map_err(|e| (version.by_name(&ins.opname.node), e))
                    }
                };
                match result {
                    Ok((op, arg)) => rc.instrs.push(Instr { op, arg, span: stmt.span, loc: instr_loc, region, placeholder: false, operand_span, line_mark }),
                    Err((known, mut es)) => {
                        diags.append(&mut es);
                        // Keep the instruction (with argument 0) so that later indexes stay
                        // right and, when the opcode is known, the stack check can still run.
                        let op = known.unwrap_or_else(|| {
                            rc.unknown_effects = true;
                            version.by_name("NOP").expect("every version has NOP")
                        });
                        rc.instrs.push(Instr { op, arg: Arg::Value(0), span: stmt.span, loc: instr_loc, region, placeholder: true, operand_span, line_mark });
                    }
                }
            }
            Statement::Code(_) => {}
        }
    }
    for r in open_regions.into_iter().filter(|&r| r != BROKEN_REGION) {
        let mut e = Diagnostic::error(codes::EXCEPTION_REGION, "this `.try` has no `.end_try`")
            .with_primary(rc.regions[r].span, "opened here")
            .with_help("close the protected region with `.end_try` before the code object's `.end`");
        // The fix: a `.end_try` line before the `.end` (indented as `pyasm fmt` lays out a body).
        if b.end_span != b.header.span {
            e = e.with_suggestion(Span { end: b.end_span.start, ..b.end_span }, "    .end_try\n");
        }
        diags.push(e);
    }
    // CPython's module always starts at line 1; other code at its first position.
    // 3.6–3.10: `.line` after the last instruction: lines whose code was removed at the end.
    if loc_pending && version.block_stack {
        rc.lines_without_code.push((rc.instrs.len(), loc));
    }
    if prefix_requests > 0 {
        diags.push(
            Diagnostic::error(codes::OPERAND, "`EXTENDED_ARG` without an instruction after it")
                .with_primary(b.end_span, "the code ends here")
                .with_help("`EXTENDED_ARG` (no operand) asks for one more prefix on the next instruction"),
        );
    }
    let module = b.code.id.node.0 == PyStr::from("<module>");
    let first = if module { explicit_firstlineno } else { firstlineno };
    rc.firstlineno = first.unwrap_or(if has_loc || module { 1 } else { b.header_line as i32 });
    rc.flags |= infer_kind_flags(&rc.instrs);
    rc.consts = cb.consts.entries;
    rc.names = cb.names.into_iter().collect();
    for (name, span) in hidden {
        match cb.locals.get_index_of(&name) {
            Some(i) => cb.kinds[i] |= FAST_HIDDEN,
            None => diags.push(
                Diagnostic::error(codes::UNKNOWN_LOCAL, format!("`{name}` is not a variable of this code object"))
                    .with_primary(span, "`.hidden` marks a declared variable")
                    .with_help(format!("declare it first, e.g. `.locals {name}`")),
            ),
        }
    }
    if version.param_kinds {
        let flags = rc.final_flags();
        for (i, kind) in cb.kinds.iter_mut().enumerate() {
            *kind |= param_kind(i, rc.argcount, rc.posonlyargcount, rc.kwonlyargcount, flags);
        }
    }
    rc.localsplus = cb.locals.names.into_iter().zip(cb.kinds).map(|(name, kind)| LocalSlot { name, kind }).collect();
    // 3.6–3.10 flag code without cell or free variables (CO_NOFREE).
    if !rc.localsplus.iter().any(|s| s.kind & (FAST_CELL | FAST_FREE) != 0) {
        rc.flags |= version.nofree_flag;
    }
    rc
}

/// The arguments of `.flags`, `.add_flags`, `.remove_flags`: flag words and numbers, OR-ed.
fn parse_flags(d: &Directive, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    let mut value = 0u32;
    let mut ok = true;
    for a in &d.args {
        match &a.node {
            Value::Word(w) => match FLAG_WORDS.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)) {
                Some((_, bits)) => value |= bits,
                None => {
                    ok = false;
                    let mut e = Diagnostic::error(codes::DIRECTIVE, format!("unknown code flag `{w}`")).with_primary(a.span, "");
                    if let Some(n) = nearest(w, FLAG_WORDS.iter().map(|(n, _)| *n)).first() {
                        e = e.with_help(format!("did you mean `{n}`?")).with_suggestion(a.span, *n);
                    }
                    diags.push(e);
                }
            },
            _ => match small_int(a, "flag value") {
                Ok(n) => value |= n,
                Err(e) => {
                    ok = false;
                    diags.push(e)
                }
            },
        }
    }
    if d.args.is_empty() {
        diags.push(directive_error(d, &format!("`.{}` needs flag words or a number", d.name.node)));
        return None;
    }
    if !ok {
        return None;
    }
    match fits_int(value, d.name.span, "the flags") {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(e);
            None
        }
    }
}

/// Code object fields that CPython stores as a C `int`.
fn fits_int(v: u32, span: Span, what: &str) -> Result<u32, Diagnostic> {
    if v <= i32::MAX as u32 {
        Ok(v)
    } else {
        Err(Diagnostic::error(codes::OUT_OF_RANGE, format!("{what} must be at most {}", i32::MAX)).with_primary(span, ""))
    }
}

/// Comprehensions and generator expressions: functions that CPython compiles without a
/// docstring slot and whose children get no `<locals>` in their qualname.
pub fn is_comprehension(name: &PyStr) -> bool {
    ["<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"].iter().any(|n| *name == PyStr::from(*n))
}

fn set_str(d: &Directive, target: &mut PyStr, diags: &mut Vec<Diagnostic>) -> bool {
    match d.args.as_slice() {
        [Spanned { node: Value::Str(s), .. }] => {
            *target = s.clone();
            true
        }
        [Spanned { node: Value::Angle(s), .. }] | [Spanned { node: Value::Word(s), .. }] => {
            *target = PyStr::from(s.as_str());
            true
        }
        _ => {
            diags.push(directive_error(d, &format!("`.{}` takes one string", d.name.node)));
            false
        }
    }
}

fn signature(
    params: &[Param],
    cb: &mut CodeBuilder,
    argcount: &mut u32,
    posonly: &mut u32,
    kwonly: &mut u32,
    flags: &mut u32,
    diags: &mut Vec<Diagnostic>,
) {
    // Collect in source order, then declare in CPython's order: positional, keyword-only,
    // *args, **kwargs.
    let mut positional = Vec::new();
    let mut keyword_only = Vec::new();
    let mut varargs = None;
    let mut varkw: Option<&Spanned<Name>> = None;
    let mut star_seen = false;
    let mut slash_seen = false;
    let bad = |span: Span, msg: &str| Diagnostic::error(codes::SIGNATURE, msg.to_string()).with_primary(span, "");
    for p in params {
        if let Some(kw) = varkw {
            let span = match p {
                Param::Plain(n) | Param::VarArgs(n) | Param::VarKeywords(n) => n.span,
                Param::PosOnlyMarker(s) | Param::KwOnlyMarker(s) => *s,
            };
            diags.push(bad(span, "nothing may follow **kwargs").with_secondary(kw.span, "**kwargs is here"));
            continue;
        }
        match p {
            Param::Plain(n) => {
                if star_seen {
                    keyword_only.push(n)
                } else {
                    positional.push(n)
                }
            }
            Param::PosOnlyMarker(s) => {
                if star_seen || slash_seen || positional.is_empty() {
                    diags.push(bad(*s, "`/` must follow at least one positional parameter, once, before `*`"));
                } else {
                    slash_seen = true;
                    *posonly = positional.len() as u32;
                }
            }
            Param::KwOnlyMarker(s) => {
                if star_seen {
                    diags.push(bad(*s, "only one `*` or `*args` is allowed"));
                }
                star_seen = true;
            }
            Param::VarArgs(n) => {
                if star_seen {
                    diags.push(bad(n.span, "only one `*` or `*args` is allowed"));
                }
                star_seen = true;
                varargs = Some(n);
            }
            Param::VarKeywords(n) => varkw = Some(n),
        }
    }
    if star_seen && varargs.is_none() && keyword_only.is_empty() {
        if let Some(Param::KwOnlyMarker(s)) = params.iter().find(|p| matches!(p, Param::KwOnlyMarker(_))) {
            diags.push(
                bad(*s, "a bare `*` must be followed by at least one keyword-only parameter")
                    .with_help("remove the `*`, or write `*args` to accept extra positional arguments"),
            );
        }
    }
    let mut seen: FastMap<&PyStr, Span> = FastMap::default();
    for n in positional.iter().chain(&keyword_only).chain(varargs.iter()).chain(varkw.iter()) {
        if let Some(prev) = seen.insert(&n.node.0, n.span) {
            diags.push(
                Diagnostic::error(codes::SIGNATURE, format!("duplicate parameter `{}`", n.node.text()))
                    .with_primary(n.span, "second time")
                    .with_secondary(prev, "first time"),
            );
            return;
        }
    }
    *argcount = positional.len() as u32;
    *kwonly = keyword_only.len() as u32;
    for n in positional.into_iter().chain(keyword_only) {
        cb.declare_local(n.node.0.clone(), FAST_LOCAL, Some(n.span), diags);
    }
    if let Some(n) = varargs {
        *flags |= CO_VARARGS;
        cb.declare_local(n.node.0.clone(), FAST_LOCAL, Some(n.span), diags);
    }
    if let Some(n) = varkw {
        *flags |= CO_VARKEYWORDS;
        cb.declare_local(n.node.0.clone(), FAST_LOCAL, Some(n.span), diags);
    }
}

/// GENERATOR / COROUTINE / ASYNC_GENERATOR from the instructions used.
fn infer_kind_flags(instrs: &[Instr]) -> u32 {
    let (mut gen_start, mut async_gen, mut coroutine, mut generator) = (None, false, false, false);
    for i in instrs {
        match i.op.name {
            "GEN_START" => {
                gen_start.get_or_insert(i.arg);
            }
            "ASYNC_GEN_WRAP" => async_gen = true,
            "GET_AWAITABLE" | "GET_AITER" | "GET_ANEXT" | "BEFORE_ASYNC_WITH" | "END_ASYNC_FOR" => coroutine = true,
            // (3.6–3.9: a generator whose only yield is `yield from` has no YIELD_VALUE)
            "YIELD_VALUE" | "RETURN_GENERATOR" | "YIELD_FROM" => generator = true,
            _ => {}
        }
    }
    // 3.10: GEN_START's argument says the kind (0 generator, 1 coroutine, 2 async generator),
    // also for a coroutine that never awaits.
    match (gen_start, async_gen, coroutine, generator) {
        (Some(Arg::Value(1)), ..) => CO_COROUTINE,
        (Some(Arg::Value(2)), ..) => CO_ASYNC_GENERATOR,
        (Some(_), ..) => CO_GENERATOR,
        (None, true, ..) => CO_ASYNC_GENERATOR,
        (None, false, true, _) => CO_COROUTINE,
        (None, false, false, true) => CO_GENERATOR,
        _ => 0,
    }
}

fn parse_loc(d: &Directive) -> Result<Location, Diagnostic> {
    let num = |v: &Spanned<Value>| -> Result<i32, Diagnostic> {
        match &v.node {
            Value::Int(i) => i32::try_from(i.clone())
                .map_err(|_| Diagnostic::error(codes::OUT_OF_RANGE, "line number out of range").with_primary(v.span, "")),
            _ => Err(directive_error(d, "expected a line number")),
        }
    };
    match d.args.as_slice() {
        [Spanned { node: Value::Word(w), .. }] if w == "none" => Ok(Location::NONE),
        [Spanned { node: Value::Loc(l), .. }] => Ok(Location { line: l.line, end_line: l.end_line, col: l.col, end_col: l.end_col }),
        [line] => {
            let l = num(line)?;
            Ok(Location { line: l, end_line: l, col: -1, end_col: -1 })
        }
        // The general form for positions the short forms cannot express:
        // `.loc LINE, END_LINE, COL, END_COL`, each a number or `none`.
        [a, b, c, e] => {
            let opt = |v: &Spanned<Value>| match &v.node {
                Value::Word(w) if w == "none" => Ok(-1),
                _ => num(v),
            };
            Ok(Location { line: opt(a)?, end_line: opt(b)?, col: opt(c)?, end_col: opt(e)? })
        }
        _ => Err(directive_error(d, "expected `.loc LINE`, `.loc LINE:COL-ENDCOL`, `.loc LINE:COL-ENDLINE:ENDCOL` or `.loc none`")),
    }
}

fn label_index(v: &Spanned<Value>, labels: &FastMap<String, (usize, Span)>) -> Result<usize, Diagnostic> {
    match &v.node {
        Value::Word(w) => labels.get(w).map(|(i, _)| *i).ok_or_else(|| undefined_label(w, v.span, labels)),
        _ => Err(Diagnostic::error(codes::OPERAND, "expected a label").with_primary(v.span, "")),
    }
}

fn undefined_label(w: &str, span: Span, labels: &FastMap<String, (usize, Span)>) -> Diagnostic {
    let mut e = Diagnostic::error(codes::UNDEFINED_LABEL, format!("label `{w}` is not defined in this code object"))
        .with_primary(span, "no such label");
    let near = nearest(w, labels.keys().map(|s| s.as_str()));
    if let Some(n) = near.first() {
        e = e.with_help(format!("did you mean `{n}`?")).with_suggestion(span, *n);
    } else {
        e = e.with_help(format!("define it by writing `{w}:` before the target instruction"));
    }
    e
}

fn parse_try(d: &Directive, labels: &FastMap<String, (usize, Span)>) -> Result<Region, Diagnostic> {
    let Some(handler) = d.args.first() else {
        return Err(directive_error(d, "`.try` needs the label of its handler: `.try handler`"));
    };
    let handler = label_index(handler, labels)?;
    let mut r = Region { handler, lasti: false, depth: None, first: None, span: d.name.span.to(d.args[0].span) };
    for a in &d.args[1..] {
        match &a.node {
            Value::Word(w) if w == "lasti" => r.lasti = true,
            Value::Call(f, args) if f.node == "depth" && args.len() == 1 => r.depth = Some(small_int(&args[0], "depth")?),
            _ => {
                return Err(Diagnostic::error(codes::DIRECTIVE, "expected `lasti` or `depth(N)`").with_primary(a.span, ""));
            }
        }
    }
    Ok(r)
}

fn parse_exception(d: &Directive, labels: &FastMap<String, (usize, Span)>) -> Result<ExplicitEntry, Diagnostic> {
    let usage = "expected `.exception START, END, HANDLER, DEPTH` (and `, lasti`)";
    if d.args.len() < 4 || d.args.len() > 5 {
        return Err(directive_error(d, usage));
    }
    let lasti = match d.args.get(4) {
        None => false,
        Some(Spanned { node: Value::Word(w), .. }) if w == "lasti" => true,
        Some(a) => return Err(Diagnostic::error(codes::DIRECTIVE, usage).with_primary(a.span, "expected `lasti`")),
    };
    Ok(ExplicitEntry {
        start: label_index(&d.args[0], labels)?,
        end: label_index(&d.args[1], labels)?,
        target: label_index(&d.args[2], labels)?,
        depth: small_int(&d.args[3], "depth")?,
        lasti,
        span: d.name.span.to(d.args[d.args.len() - 1].span),
    })
}

fn resolve_instruction(
    ins: &Instruction,
    here: usize,
    cb: &mut CodeBuilder,
    labels: &FastMap<String, (usize, Span)>,
    code_ref: &mut dyn FnMut(&Spanned<Value>) -> Result<usize, Diagnostic>,
) -> Result<(&'static OpInfo, Arg), Vec<Diagnostic>> {
    let version = cb.version;
    let name = ins.opname.node.as_str();
    let ops = &ins.operands;
    let one = |e: Diagnostic| vec![e];

    // Direction-free jumps pick their opcode from where the label is.
    if let Some(p) = version.pseudo_jump(name) {
        let [target] = ops.as_slice() else {
            return Err(one(operand_count(ins, "one label")));
        };
        let t = label_index(target, labels).map_err(one)?;
        let chosen = if t > here {
            p.forward
        } else {
            p.backward.ok_or_else(|| {
                one(Diagnostic::error(codes::JUMP_DIRECTION, format!("{name} can only jump forward in Python {}", version.version))
                    .with_primary(target.span, "this label is behind the jump"))
            })?
        };
        let op = version.by_name(chosen).expect("pseudo jumps name real opcodes");
        return Ok((op, Arg::Target(t)));
    }
    let Some(op) = version.by_name(name) else {
        return Err(one(unknown_opcode(ins, version)));
    };
    if op.name == "EXTENDED_ARG" || op.name == "CACHE" {
        return Err(one(
            Diagnostic::error(codes::OPERAND, format!("{} is inserted by the assembler", op.name))
                .with_primary(ins.opname.span, "do not write this by hand")
                .with_help(if op.name == "EXTENDED_ARG" {
                    "write the instruction with its full argument; pyasm adds EXTENDED_ARG prefixes and CACHE entries \
                     (`EXTENDED_ARG` without an operand asks for one more prefix than the argument needs)"
                } else {
                    "write the instruction with its full argument; pyasm adds EXTENDED_ARG prefixes and CACHE entries"
                }),
        ));
    }
    // A raw argument is taken as it is, even for an instruction that ignores it (before 3.11
    // the compilers leave arguments on some, `NOP $2`).
    if let [Spanned { node: Value::Raw(r), .. }] = ops.as_slice() {
        return Ok((op, Arg::Value(*r)));
    }
    if op.arg == ArgKind::None {
        if let Some(extra) = ops.first() {
            return Err(one(
                Diagnostic::error(codes::OPERAND, format!("{} takes no operand", op.name)).with_primary(extra.span, "unexpected operand"),
            ));
        }
        return Ok((op, Arg::Value(0)));
    }
    // Numbers and named values (Enum) are all operands; other kinds have a main operand
    // (LocalPair: two) followed by flag words.
    let numeric = matches!(op.arg, ArgKind::Number | ArgKind::Enum);
    // A named value is one value: words do not combine.
    if op.arg == ArgKind::Enum && ops.len() > 1 {
        return Err(one(
            Diagnostic::error(codes::OPERAND, format!("{} takes one named value (or its number)", op.name))
                .with_primary(ops[1].span, "extra operand")
                .with_help(format!("one of: {}", op.flags.iter().map(|f| f.word).collect::<Vec<_>>().join(", "))),
        ));
    }
    if op.arg == ArgKind::LocalPair {
        return local_pair(ins, op, cb).map(|v| (op, Arg::Value(v)));
    }
    let (main, flag_ops): (Option<&Spanned<Value>>, &[Spanned<Value>]) = match op.arg {
        ArgKind::Number | ArgKind::Enum => (None, ops.as_slice()),
        _ => match ops.split_first() {
            Some((m, rest)) => (Some(m), rest),
            None => return Err(one(operand_count(ins, expected_operand(op.arg)))),
        },
    };
    let mut errors = Vec::new();
    let mut flag_bits = 0u32;
    let mut numbers = 0u32;
    let mut saw_number = false;
    for f in flag_ops {
        // A named value written as its literal (3.15's `LOAD_COMMON_CONSTANT ''` or `-1`).
        let literal = match &f.node {
            Value::Str(s) if op.arg == ArgKind::Enum && s.as_wtf8().is_empty() => Some("''".to_string()),
            Value::Int(i) if op.arg == ArgKind::Enum => Some(i.to_string()),
            _ => None,
        };
        if let Some(fw) = literal.and_then(|l| op.flags.iter().find(|fw| fw.word == l)) {
            flag_bits |= fw.bits;
            continue;
        }
        match &f.node {
            Value::Word(w) => match op.flags.iter().find(|fw| fw.word == w) {
                Some(fw) => flag_bits |= fw.bits,
                None => {
                    let mut e = Diagnostic::error(codes::OPERAND, format!("`{w}` is not a flag of {}", op.name)).with_primary(f.span, "");
                    e = if op.flags.is_empty() {
                        e.with_note(format!("{} has no flag words", op.name))
                    } else {
                        e.with_help(format!("its flags are: {}", op.flags.iter().map(|f| f.word).collect::<Vec<_>>().join(", ")))
                    };
                    errors.push(e);
                }
            },
            Value::Int(_) | Value::Raw(_) if numeric => match small_int(f, "argument") {
                Ok(n) => {
                    numbers |= n;
                    saw_number = true;
                }
                Err(e) => errors.push(e),
            },
            _ => errors.push(
                Diagnostic::error(codes::OPERAND, format!("unexpected operand for {}", op.name))
                    .with_primary(f.span, if numeric { "expected a number or a flag word" } else { "expected a flag word" }),
            ),
        }
    }
    // Words that overlap, or whose combination is another word's value (FORMAT_VALUE str and
    // repr make ascii), exclude each other.
    let words: Vec<&Spanned<Value>> = flag_ops.iter().filter(|f| matches!(f.node, Value::Word(_))).collect();
    if words.len() > 1 && errors.is_empty() {
        let mut acc = 0u32;
        for w in &words {
            let Value::Word(text) = &w.node else { continue };
            let bits = op.flags.iter().find(|f| f.word == text).map_or(0, |f| f.bits);
            let clash = acc & bits != 0
                || bits == 0
                || op.flags.iter().any(|f| f.bits == acc | bits && f.word != text && acc != 0);
            if clash {
                errors.push(
                    Diagnostic::error(codes::OPERAND, format!("`{text}` cannot be combined with the words before it"))
                        .with_primary(w.span, "conflicts")
                        .with_note(format!(
                            "{} takes one of: {}",
                            op.name,
                            op.flags.iter().map(|f| format!("{} ({})", f.word, f.bits)).collect::<Vec<_>>().join(", ")
                        )),
                );
                break;
            }
            acc |= bits;
        }
    }
    if numeric {
        if flag_ops.is_empty() {
            errors.push(operand_count(ins, "a number"));
        }
        let count = flag_ops.iter().filter(|f| matches!(f.node, Value::Int(_) | Value::Raw(_))).count();
        if count > 1 || (count == 1 && !words.is_empty()) {
            errors.push(
                Diagnostic::error(codes::OPERAND, format!("{} takes one number (or flag words), not several", op.name))
                    .with_primary(flag_ops[1].span, "extra operand"),
            );
        }
        let _ = saw_number;
        return if errors.is_empty() { Ok((op, Arg::Value(numbers | flag_bits))) } else { Err(errors) };
    }
    let main = main.expect("non-number kinds have a main operand");
    let index: Result<Arg, Diagnostic> = match op.arg {
        ArgKind::Const => to_constant(main, code_ref).map(|c| Arg::Value(cb.consts.index_of(c))),
        ArgKind::Name => match name_of(main) {
            Some(n) => Ok(Arg::Value(cb.names.insert_full(n).0 as u32)),
            None => Err(Diagnostic::error(codes::OPERAND, format!("{} takes a name", op.name)).with_primary(main.span, "not a name")),
        },
        ArgKind::Local | ArgKind::Free => local_index(op, main, cb),
        ArgKind::JumpAbsolute => label_index(main, labels).map(Arg::Target),
        ArgKind::JumpForward | ArgKind::JumpBackward => label_index(main, labels).and_then(|t| {
            let forward = op.arg == ArgKind::JumpForward;
            if forward == (t > here) {
                Ok(Arg::Target(t))
            } else {
                let generic = version
                    .pseudo_jumps
                    .iter()
                    .find(|p| p.forward == op.name || p.backward == Some(op.name))
                    .map(|p| p.name);
                let mut e = Diagnostic::error(
                    codes::JUMP_DIRECTION,
                    format!("{} jumps {}, but `{}` is {} it", op.name, if forward { "forward" } else { "backward" }, match &main.node {
                        Value::Word(w) => w.as_str(),
                        _ => "",
                    }, if forward { "behind" } else { "ahead of" }),
                )
                .with_primary(main.span, "label in the other direction");
                let absolute = version.opcodes.iter().find(|o| o.arg == ArgKind::JumpAbsolute && o.flow == crate::opcodes::Flow::Jump);
                if let Some(g) = generic {
                    e = e.with_help(format!("write `{g}` and pyasm picks the direction"));
                } else if let (true, Some(abs)) = (forward, absolute) {
                    e = e.with_help(format!(
                        "relative jumps only go forward in Python {}; jump back with {} (an absolute jump)",
                        version.version, abs.name
                    ));
                } else if forward {
                    e = e.with_help(format!(
                        "Python {} has no backward form of {}: branch forward to a `JUMP {}` (which goes back)",
                        version.version,
                        op.name,
                        match &main.node {
                            Value::Word(w) => w.as_str(),
                            _ => "LABEL",
                        }
                    ));
                }
                Err(e)
            }
        }),
        ArgKind::Compare => symbol_index(op, main, version.compare_ops.iter().map(|c| c.symbol)),
        ArgKind::BinaryOp => symbol_index(op, main, version.binary_ops.iter().map(|b| b.symbol)),
        ArgKind::None | ArgKind::Number | ArgKind::Enum | ArgKind::LocalPair => unreachable!(),
    };
    match index {
        Ok(Arg::Value(i)) if errors.is_empty() => {
            let shifted = (i as u64) << op.shift;
            if shifted > u32::MAX as u64 {
                return Err(one(Diagnostic::error(codes::OUT_OF_RANGE, "argument does not fit in 32 bits").with_primary(main.span, "")));
            }
            // A comparison carries its operator's own low bits (3.12+) under any flag words.
            let implied = match op.arg {
                ArgKind::Compare => version.compare_ops[i as usize].bits,
                _ => 0,
            };
            Ok((op, Arg::Value(shifted as u32 | implied | flag_bits)))
        }
        Ok(Arg::Target(t)) if errors.is_empty() => Ok((op, Arg::Target(t))),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.insert(0, e);
            Err(errors)
        }
    }
}

fn expected_operand(kind: ArgKind) -> &'static str {
    match kind {
        ArgKind::Const => "a constant",
        ArgKind::Name => "a name",
        ArgKind::Local => "a local variable",
        ArgKind::Free => "a cell or free variable",
        ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute => "a label",
        ArgKind::Compare => "a comparison operator",
        ArgKind::BinaryOp => "an operator",
        ArgKind::Number => "a number",
        ArgKind::Enum => "a number or a named value",
        ArgKind::LocalPair => "two local variables",
        ArgKind::None => "no operand",
    }
}

fn operand_count(ins: &Instruction, expected: &str) -> Diagnostic {
    Diagnostic::error(codes::OPERAND, format!("{} needs {expected}", ins.opname.node))
        .with_primary(ins.opname.span.to(ins.operands.last().map(|o| o.span).unwrap_or(ins.opname.span)), format!("expected {expected}"))
}

fn unknown_opcode(ins: &Instruction, version: &VersionTable) -> Diagnostic {
    let name = &ins.opname.node;
    let mut e = Diagnostic::error(codes::UNKNOWN_OPCODE, format!("unknown instruction `{name}`"));
    // Known in another version?
    let elsewhere: Vec<String> = crate::opcodes::TABLES
        .iter()
        .filter(|t| t.version != version.version && (t.by_name(name).is_some() || t.pseudo_jump(name).is_some()))
        .map(|t| t.version.to_string())
        .collect();
    if !elsewhere.is_empty() {
        let d = Diagnostic::error(codes::NOT_IN_VERSION, format!("`{name}` does not exist in Python {}", version.version))
            .with_primary(ins.opname.span, format!("not a {} instruction", version.version))
            .with_note(format!("it exists in Python {}", elsewhere.join(", ")));
        let Some(table) = crate::opcodes::table_for(version.version) else { return d };
        let d = match crate::explain::replacement_in(name, table) {
            Some(help) => d.with_help(help),
            None => d,
        };
        // Without an operand the instruction is its name: the replacement takes its place.
        return match crate::explain::replacement_instruction(name, table) {
            Some(r) if ins.operands.is_empty() => d.with_suggestion(ins.opname.span, r),
            _ => d,
        };
    }
    e = e.with_primary(ins.opname.span, "not an instruction");
    let candidates = version.opcodes.iter().map(|o| o.name).chain(version.pseudo_jumps.iter().map(|p| p.name));
    let near = nearest(name, candidates);
    if !near.is_empty() {
        e = e.with_help(crate::diagnostics::did_you_mean(&near, str::to_string).unwrap_or_default());
    }
    for n in near {
        e = e.with_suggestion(ins.opname.span, n);
    }
    e
}

fn local_index(op: &OpInfo, v: &Spanned<Value>, cb: &CodeBuilder) -> Result<Arg, Diagnostic> {
    let Some(name) = name_of(v) else {
        return Err(Diagnostic::error(codes::OPERAND, format!("{} takes a variable name", op.name)).with_primary(v.span, ""));
    };
    // 3.6–3.10: a parameter that is also a cell has a second slot; cell and free operands
    // count from the first cell (co_cellvars + co_freevars), plain ones index co_varnames.
    let found = cb.locals.get_index_of(&name).map(|first| {
        if cb.version.block_stack && op.arg == ArgKind::Free {
            (first..cb.locals.len()).find(|&j| cb.locals.get_index(j) == Some(&name) && cb.kinds[j] & (FAST_CELL | FAST_FREE) != 0).unwrap_or(first)
        } else {
            first
        }
    });
    match found {
        Some(i) => {
            let kind = cb.kinds[i];
            if op.arg == ArgKind::Free && kind & (FAST_CELL | FAST_FREE) == 0 {
                return Err(Diagnostic::error(codes::UNKNOWN_LOCAL, format!("`{name}` is a plain local, but {} needs a cell or free variable", op.name))
                    .with_primary(v.span, "")
                    .with_help(format!("declare it with `.cells {name}` (or `.freevars {name}` in an inner function)")));
            }
            if cb.version.block_stack && op.arg == ArgKind::Local && kind & FAST_LOCAL == 0 {
                return Err(Diagnostic::error(codes::UNKNOWN_LOCAL, format!("`{name}` is a cell or free variable, but {} indexes co_varnames", op.name))
                    .with_primary(v.span, "")
                    .with_help("use LOAD_DEREF / STORE_DEREF for cells and free variables, or also declare it with `.locals`"));
            }
            if cb.version.block_stack && op.arg == ArgKind::Free {
                let varnames = cb.kinds.iter().filter(|k| *k & FAST_LOCAL != 0).count();
                return Ok(Arg::Value((i - varnames) as u32));
            }
            Ok(Arg::Value(i as u32))
        }
        None => {
            let mut e = Diagnostic::error(codes::UNKNOWN_LOCAL, format!("`{name}` is not a declared variable of this code object"))
                .with_primary(v.span, "unknown variable");
            let names: Vec<String> = cb.locals.iter().map(|n| n.to_lossy()).collect();
            let near = nearest(&name.to_lossy(), names.iter().map(|s| s.as_str()));
            e = match near.first() {
                Some(n) => e.with_help(format!("did you mean `{n}`?")).with_suggestion(v.span, *n),
                None => e.with_help(match op.arg {
                    ArgKind::Free => format!("declare it with `.cells {name}` or `.freevars {name}`"),
                    _ => format!("declare it with `.locals {name}` (or as a parameter)"),
                }),
            };
            Err(e)
        }
    }
}

/// `LOAD_FAST_LOAD_FAST a, b`: two plain locals, each among the first 16, packed in one byte.
fn local_pair(ins: &Instruction, op: &OpInfo, cb: &CodeBuilder) -> Result<u32, Vec<Diagnostic>> {
    let [first, second] = ins.operands.as_slice() else {
        return Err(vec![operand_count(ins, "two local variables")]);
    };
    let mut errors = Vec::new();
    let mut packed = 0u32;
    for (v, shift) in [(first, 4), (second, 0)] {
        match local_index(op, v, cb) {
            Ok(Arg::Value(i)) if i < 16 => packed |= i << shift,
            Ok(_) => errors.push(
                Diagnostic::error(codes::OUT_OF_RANGE, format!("{} packs two locals into 4 bits each", op.name))
                    .with_primary(v.span, "this local is number 16 or later")
                    .with_help("load the two locals with separate instructions"),
            ),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(packed) } else { Err(errors) }
}

fn symbol_index<'a>(op: &OpInfo, v: &Spanned<Value>, symbols: impl Iterator<Item = &'a str> + Clone) -> Result<Arg, Diagnostic> {
    let text = match &v.node {
        Value::Symbol(s) => s.clone(),
        Value::Word(w) => w.clone(),
        _ => String::new(),
    };
    // Operators of several words (≤3.8's `not in`, `exception match`) are one operand word.
    match symbols.clone().position(|s| crate::opcodes::operator_word(s) == text) {
        Some(i) => Ok(Arg::Value(i as u32)),
        None => Err(Diagnostic::error(codes::OPERAND, format!("`{text}` is not an operator of {}", op.name))
            .with_primary(v.span, "")
            .with_help(format!("one of: {}", symbols.map(crate::opcodes::operator_word).collect::<Vec<_>>().join(" ")))),
    }
}

/// `EXTENDED_ARG` with no operand: a request for one more prefix on the next instruction.
fn is_prefix_request(ins: &crate::syntax::ast::Instruction) -> bool {
    ins.opname.node == "EXTENDED_ARG" && ins.operands.is_empty() && ins.recovered == Recovered::No
}

/// Finds, for each code object, who references it; checks for cycles; fills in qualnames,
/// NESTED flags and filenames.
fn link_references(p: &mut Program, default_filename: &PyStr, diags: &mut Vec<Diagnostic>) {
    let n = p.codes.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    for (i, c) in p.codes.iter().enumerate() {
        for k in &c.consts {
            if let PoolConst::Code(child) = k {
                if parent[*child].is_none() && *child != p.module {
                    parent[*child] = Some(i);
                }
            }
        }
    }
    // Walk from the module so that parents come before children; anything not reached is
    // unused (or part of a cycle).
    let mut order = vec![p.module];
    let mut seen = vec![false; n];
    seen[p.module] = true;
    let mut k = 0;
    while k < order.len() {
        let i = order[k];
        k += 1;
        for c in p.codes[i].consts.clone() {
            if let PoolConst::Code(child) = c {
                if child == p.module || is_ancestor(&parent, child, i) {
                    diags.push(
                        Diagnostic::error(codes::UNKNOWN_CODE, "code objects refer to each other in a cycle")
                            .with_primary(p.codes[i].id.span, format!("`{}` refers back to `{}`", p.codes[i].id.node.text(), p.codes[child].id.node.text())),
                    );
                    continue;
                }
                if !seen[child] {
                    seen[child] = true;
                    order.push(child);
                }
            }
        }
    }
    for (i, c) in p.codes.iter().enumerate() {
        if !seen[i] {
            diags.push(
                Diagnostic::warning(codes::UNUSED_CODE, format!("code object `{}` is never used", c.id.node.text()))
                    .with_primary(c.id.span, "nothing loads it with LOAD_CONST @…"),
            );
        }
    }
    // Marshal refuses objects nested deeper than 2000 levels; each code object inside another
    // costs two (the code and its co_consts tuple).
    let mut level = vec![0usize; n];
    for &i in &order {
        if let Some(par) = parent[i] {
            level[i] = level[par] + 1;
            if level[i] == MAX_CODE_NESTING + 1 {
                diags.push(
                    Diagnostic::error(codes::UNKNOWN_CODE, format!("code objects are nested more than {MAX_CODE_NESTING} deep"))
                        .with_primary(p.codes[i].id.span, "this one is too deep")
                        .with_note("Python's marshal format cannot load deeper nesting"),
                );
            }
        }
    }
    // CPython's rule: a scope is nested when its parent is a function or is itself nested;
    // only functions carry the NESTED flag.
    let mut nested_scope = vec![false; n];
    for &i in &order {
        let (nested, qual) = match parent[i] {
            None => (false, p.codes[i].name.clone()),
            Some(par) => {
                let pc = &p.codes[par];
                let nested = pc.is_function || nested_scope[par];
                let base = if par == p.module { None } else { pc.qualname.clone() };
                let qual = match base {
                    None => p.codes[i].name.clone(),
                    Some(b) => child_qualname(&b, pc.is_function, &pc.name, &p.codes[i].name),
                };
                (nested, qual)
            }
        };
        nested_scope[i] = nested;
        let in_class_body = parent[i].is_some_and(|par| par != p.module && !p.codes[par].is_function);
        let c = &mut p.codes[i];
        if nested && c.is_function {
            c.flags |= CO_NESTED;
        }
        if p.version.docstring_flag && in_class_body && c.is_function {
            c.flags |= CO_METHOD;
        }
        if c.qualname.is_none() {
            c.qualname = Some(qual);
        }
        if c.filename.is_none() {
            c.filename = Some(default_filename.clone());
        }
    }
    for c in p.codes.iter_mut() {
        if c.qualname.is_none() {
            c.qualname = Some(c.name.clone());
        }
        if c.filename.is_none() {
            c.filename = Some(default_filename.clone());
        }
    }
    p.parent = parent;
}

/// The qualified name of a code object named `name` made inside one whose qualified name
/// is `parent` (not the module): `C.m`, `outer.<locals>.inner`. Lowering uses it too, for
/// the qualified name MAKE_FUNCTION pops up to 3.10.
pub fn child_qualname(parent: &PyStr, parent_is_function: bool, parent_name: &PyStr, name: &PyStr) -> PyStr {
    let mut s = parent.as_wtf8().to_vec();
    // CPython adds `<locals>` after a def or lambda, not after a comprehension.
    if parent_is_function && !is_comprehension(parent_name) {
        s.extend_from_slice(b".<locals>");
    }
    s.push(b'.');
    s.extend_from_slice(name.as_wtf8());
    PyStr::from_wtf8(s)
}

fn is_ancestor(parent: &[Option<usize>], candidate: usize, mut of: usize) -> bool {
    let mut steps = 0;
    while let Some(p) = parent[of] {
        if p == candidate {
            return true;
        }
        of = p;
        steps += 1;
        if steps > parent.len() {
            return true;
        }
    }
    false
}
