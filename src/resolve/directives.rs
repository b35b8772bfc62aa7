//! Pass 1 over a block: the declarations, whose place in the block does not matter (`.locals`,
//! `.consts`, `.name`, `.flags`, …), and the labels (an instruction's index is known by
//! counting). The positional directives (`.loc`, `.try`, `.exception`) wait for pass 2.

use super::constants::small_int;
use super::flags::{CO_HAS_DOCSTRING, fits_int, parse_flags};
use super::labels::{self, Labels};
use super::locals::FAST_LOCAL;
use super::operands::is_prefix_request;
use super::structure::{Block, CODE_DIRECTIVES};
use super::tables::CodeBuilder;
use super::ResolvedCode;
use crate::diagnostics::{Diagnostic, codes, nearest};
use crate::emit::linetable::Location;
use crate::object::PyStr;
use crate::syntax::ast::{Directive, Span, Spanned, Statement, Value};

/// What pass 1 gathers besides what it writes straight into the code object and its tables.
#[derive(Default)]
pub(super) struct Declarations<'a> {
    /// `.cells` and `.freevars`: declared after every local, whatever the order in the text.
    pub cells: Vec<(PyStr, Span)>,
    pub frees: Vec<(PyStr, Span)>,
    /// `.hidden`: marked once every variable is declared.
    pub hidden: Vec<(PyStr, Span)>,
    pub consts: Vec<&'a Spanned<Value>>,
    pub docstring: Option<&'a Spanned<Value>>,
    /// A `.consts` or `.docstring` is written: a function gets no implied None constant.
    pub consts_declared: bool,
    /// Some `.loc` or `.line` is written: positions come from them, not from the text's lines.
    pub has_loc: bool,
    /// `.firstlineno`, or else (filled in by pass 2) the first position's line.
    pub firstlineno: Option<i32>,
    pub explicit_firstlineno: Option<i32>,
    /// How many instructions the block has (`EXTENDED_ARG` requests aside).
    pub instructions: usize,
}

/// Reads a block's declarations and labels.
pub(super) fn declarations<'a>(
    b: &Block<'a>,
    rc: &mut ResolvedCode,
    cb: &mut CodeBuilder,
    diags: &mut Vec<Diagnostic>,
) -> (Declarations<'a>, Labels) {
    let mut decls = Declarations::default();
    let mut labels = Labels::default();
    for line in &b.body {
        if let Some(label) = &line.label {
            labels::define(&mut labels, label, decls.instructions, diags);
        }
        let Some(stmt) = &line.statement else { continue };
        match &stmt.node {
            Statement::Instruction(i) if is_prefix_request(i) => {}
            Statement::Instruction(_) => decls.instructions += 1,
            Statement::Directive(d) => decls.directive(d, rc, cb, diags),
            Statement::Code(_) => {}
        }
    }
    (decls, labels)
}

impl<'a> Declarations<'a> {
    fn directive(&mut self, d: &'a Directive, rc: &mut ResolvedCode, cb: &mut CodeBuilder, diags: &mut Vec<Diagnostic>) {
        let version = rc.version;
        let args = &d.args;
        match d.name.node.as_str() {
            "locals" => {
                for (n, s) in each_name(d, diags) {
                    cb.declare_local(n, FAST_LOCAL, Some(s), diags);
                }
            }
            "cells" => self.cells.extend(each_name(d, diags)),
            "freevars" => self.frees.extend(each_name(d, diags)),
            "hidden" if !version.hidden_locals => diags.push(
                directive_error(d, &format!("`.hidden` needs Python 3.12 or later (this file targets {})", version.version)),
            ),
            "hidden" => self.hidden.extend(each_name(d, diags)),
            "names" => {
                for (n, _) in each_name(d, diags) {
                    cb.names.insert(n);
                }
            }
            "consts" => {
                self.consts_declared = true;
                self.consts.extend(args.iter())
            }
            "docstring" => self.docstring(d, rc, diags),
            "linetable" | "exceptiontable" => raw_table(d, rc, diags),
            "loc" | "line" => self.has_loc = true,
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
                        self.firstlineno = Some(v);
                        self.explicit_firstlineno = Some(v);
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
            "flags" | "add_flags" | "remove_flags" => flags_directive(d, rc, diags),
            // Positional directives, handled in pass 2.
            "try" | "end_try" | "exception" => {}
            "python" => diags.push(directive_error(d, "`.python` belongs at the top of the file, outside code objects")),
            "code" | "end" => {}
            other => diags.push(unknown_directive(d, other)),
        }
    }

    /// The docstring is co_consts[0]; 3.14+ also flags it (CO_HAS_DOCSTRING).
    fn docstring(&mut self, d: &'a Directive, rc: &mut ResolvedCode, diags: &mut Vec<Diagnostic>) {
        match d.args.as_slice() {
            [s @ Spanned { node: Value::Str(_), .. }] if self.docstring.is_none() => {
                self.docstring = Some(s);
                self.consts_declared = true;
                // CPython flags docstrings of functions only.
                if rc.version.docstring_flag && rc.is_function {
                    rc.flags |= CO_HAS_DOCSTRING;
                }
            }
            [_] if self.docstring.is_some() => diags.push(directive_error(d, "a code object has one `.docstring`")),
            _ => diags.push(directive_error(d, "`.docstring` takes one string")),
        }
    }
}

/// `.linetable` / `.exceptiontable`: raw tables that replace the computed ones.
fn raw_table(d: &Directive, rc: &mut ResolvedCode, diags: &mut Vec<Diagnostic>) {
    match d.args.as_slice() {
        [Spanned { node: Value::Bytes(b), .. }] => {
            if d.name.node == "linetable" {
                rc.linetable_override = Some(b.clone());
            } else {
                rc.exceptiontable_override = Some(b.clone());
            }
        }
        _ => diags.push(directive_error(d, &format!("`.{}` takes one bytes literal", d.name.node))),
    }
}

/// `.flags` replaces the inferred flags; `.add_flags` and `.remove_flags` adjust them last.
fn flags_directive(d: &Directive, rc: &mut ResolvedCode, diags: &mut Vec<Diagnostic>) {
    let Some(v) = parse_flags(d, diags) else { return };
    match d.name.node.as_str() {
        "flags" => rc.flags_override = Some(v),
        "add_flags" => rc.flags_add |= v,
        _ => rc.flags_remove |= v,
    }
}

fn unknown_directive(d: &Directive, other: &str) -> Diagnostic {
    let mut e = Diagnostic::error(codes::DIRECTIVE, format!("unknown directive `.{other}`")).with_primary(d.name.span, "");
    if let Some(n) = nearest(other, CODE_DIRECTIVES.iter().copied()).first() {
        e = e.with_help(format!("did you mean `.{n}`?")).with_suggestion(d.name.span, format!(".{n}"));
    }
    e
}

/// The arguments of a directive that takes names (`.locals a, b`); each other argument is
/// reported.
fn each_name(d: &Directive, diags: &mut Vec<Diagnostic>) -> Vec<(PyStr, Span)> {
    d.args
        .iter()
        .filter_map(|a| match name_of(a) {
            Some(n) => Some((n, a.span)),
            None => {
                diags.push(
                    Diagnostic::error(codes::DIRECTIVE, format!("`.{}` takes names", d.name.node)).with_primary(a.span, "not a name"),
                );
                None
            }
        })
        .collect()
}

pub(super) fn directive_error(d: &Directive, msg: &str) -> Diagnostic {
    let span = d.args.iter().fold(d.name.span, |s, a| s.to(a.span));
    Diagnostic::error(codes::DIRECTIVE, msg.to_string()).with_primary(span, "")
}

pub(super) fn name_of(v: &Spanned<Value>) -> Option<PyStr> {
    match &v.node {
        Value::Word(w) => Some(PyStr::from(w.as_str())),
        Value::Angle(a) => Some(PyStr::from(a.as_str())),
        Value::Str(s) => Some(s.clone()),
        _ => None,
    }
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

pub(super) fn parse_loc(d: &Directive) -> Result<Location, Diagnostic> {
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
