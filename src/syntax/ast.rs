//! The syntax tree of a .pyasm file. Every node keeps its span so that later stages can
//! point at the exact text. The tree is still symbolic: names, labels and literals are
//! turned into indexes by `resolve`.

use crate::object::PyStr;
use crate::syntax::lexer::LocSpan;
use num_bigint::BigInt;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: u32, start: usize, end: usize) -> Span {
        Span { file, start: start as u32, end: end as u32 }
    }
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Spanned<T> {
        Spanned { node, span }
    }
}

/// An operand or directive argument, as written. What it means depends on the instruction
/// or directive it belongs to (a bare word may be a name, a local, a label or a flag).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A bare word: `x`, `None`, `inf`, `null`, `loop`.
    Word(String),
    /// `<module>`-style name.
    Angle(String),
    Int(BigInt),
    Float(f64),
    Imag(f64),
    Str(PyStr),
    Bytes(Vec<u8>),
    Ellipsis,
    /// `$N`: an argument exactly as encoded.
    Raw(u32),
    /// An operator symbol: `+`, `<=`, `**=`.
    Symbol(String),
    /// `@name`: a reference to a code object defined in this file.
    CodeRef(Name),
    /// `(a, b)`.
    Tuple(Vec<Spanned<Value>>),
    /// `{a, b}` (only meaningful inside `frozenset(...)`).
    Set(Vec<Spanned<Value>>),
    /// `word(args)`: `frozenset({...})`, `complex(re, im)`.
    Call(Spanned<String>, Vec<Spanned<Value>>),
    /// `LINE:COL-END` or `LINE:COL-ENDLINE:ENDCOL`.
    Loc(LocSpan),
}

/// A name that need not be an identifier: `x`, `<listcomp>` or `".0"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name(pub PyStr);

impl Name {
    pub fn text(&self) -> String {
        self.0.to_lossy()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    /// A positional-or-keyword (or, after `*`, keyword-only) parameter.
    Plain(Spanned<Name>),
    /// `/`: the parameters before it are positional-only.
    PosOnlyMarker(Span),
    /// `*` alone: the parameters after it are keyword-only.
    KwOnlyMarker(Span),
    /// `*args`.
    VarArgs(Spanned<Name>),
    /// `**kwargs`.
    VarKeywords(Spanned<Name>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CodeHeader {
    pub id: Spanned<Name>,
    /// `None` for a module or class body (no parentheses); `Some` for a function.
    pub params: Option<Vec<Param>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instruction {
    pub opname: Spanned<String>,
    pub operands: Vec<Spanned<Value>>,
    /// Whether the line is whole, or what is left of it after a reported mistake.
    pub recovered: Recovered,
}

/// What is left of an instruction line after a mistake that was reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovered {
    /// The line is as written.
    No,
    /// The line did not parse: its operands are lost, but the opcode still counts for labels
    /// and the stack check.
    OperandsLost,
    /// A macro use that could not be expanded (a wrong number of arguments, a broken or
    /// recursive macro, the expansion limit): its label stays, and since what its body would
    /// do to the stack is unknown, its code object's stack is not checked (a check would
    /// report errors that are only the missing body's).
    Unexpanded,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Directive {
    pub name: Spanned<String>,
    pub args: Vec<Spanned<Value>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    Code(CodeHeader),
    Directive(Directive),
    Instruction(Instruction),
}

/// One line of the file: an optional label and an optional statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: Option<Spanned<String>>,
    pub statement: Option<Spanned<Statement>>,
    /// 1-based line number in the file.
    pub line_no: u32,
}
