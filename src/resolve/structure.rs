//! The file's outline: lines grouped into `.code` … `.end` blocks, and the directives allowed
//! outside them.

use super::directives::directive_error;
use crate::diagnostics::{Diagnostic, codes, nearest};
use crate::object::PyStr;
use crate::syntax::ast::{CodeHeader, Directive, Line, Span, Spanned, Statement, Value};

/// The directives allowed outside code objects (`.code` opens one). The editor grammars in
/// editors/ are generated from these two lists (tests/editors.rs).
pub const FILE_DIRECTIVES: &[&str] = &["python", "filename", "add_flags", "code"];

/// Every directive allowed inside a code object.
pub const CODE_DIRECTIVES: &[&str] = &[
    "locals", "cells", "freevars", "names", "consts", "loc", "line", "name", "qualname", "filename", "firstlineno",
    "stacksize", "flags", "add_flags", "remove_flags", "try", "end_try", "exception", "end", "linetable", "exceptiontable",
    "hidden", "docstring",
];

/// One `.code` … `.end` block of lines.
pub(super) struct Block<'a> {
    pub header: &'a Spanned<Statement>,
    pub header_line: u32,
    pub code: &'a CodeHeader,
    pub body: Vec<&'a Line>,
    pub end_span: Span,
}

/// Groups lines into `.code` blocks and collects file-level directives.
pub(super) fn structure<'a>(lines: &'a [Line], diags: &mut Vec<Diagnostic>) -> (Vec<Block<'a>>, Option<PyStr>, Vec<&'a Directive>) {
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
