//! `try_finally` … `finally` … `end_finally`: rewritten into the portable `try H` / `end_try`
//! / `reraise` before anything else is lowered, with one copy of the finally lines on each
//! way out of the protected lines — as CPython's compilers from 3.9 on emit a `finally`:
//!
//! ```text
//!     try H                    # the protected lines; `return` and jumps out are rewritten
//!     …                        #   into jumps to the exits below
//!     end_try
//!     <finally lines>          # the normal way out
//!     jump done
//! H:  <finally lines>          # an exception: the finally lines, then raise it again
//!     reraise
//! R:  <finally lines>          # `return` from the protected lines (the value stays under
//!     return                   #   them; 3.6–3.7 keep it in a variable, see below)
//! X:  <finally lines>          # a jump out to L (a `break`)
//!     jump L
//! done:
//! ```
//!
//! The jumps out of the region become jumps to exits outside it: leaving a region is then the
//! portable `jump`'s business (≤3.10 POP_BLOCK, see `rules`), and an exception in the copy
//! of the finally lines of an exit is not caught by the region itself. Constructs nest: the
//! inner ones are rewritten first, so that their exits are the outer one's lines.

use super::facts::Facts;
use crate::diagnostics::{Diagnostic, codes};
use crate::syntax::ast::{Instruction, Line, Recovered, Span, Spanned, Statement, Value};
use std::collections::HashSet;

/// The selected lines with each code object's `try_finally` constructs rewritten.
pub fn expand(selected: Vec<(Line, bool)>, f: &Facts, diags: &mut Vec<Diagnostic>) -> Vec<(Line, bool)> {
    if !selected.iter().any(|(l, _)| opname(l) == Some("try_finally") || opname(l) == Some("finally") || opname(l) == Some("end_finally")) {
        return selected;
    }
    let mut out = Vec::with_capacity(selected.len());
    let mut counter = 0;
    let mut k = 0;
    while k < selected.len() {
        let is_code = matches!(selected[k].0.statement, Some(Spanned { node: Statement::Code(_), .. }));
        out.push(selected[k].clone());
        k += 1;
        if !is_code {
            continue;
        }
        let function = match &selected[k - 1].0.statement {
            Some(Spanned { node: Statement::Code(h), .. }) => h.params.is_some(),
            _ => false,
        };
        let end = (k..selected.len()).find(|&j| is_block_end(&selected[j].0)).unwrap_or(selected.len());
        let body: Vec<Line> = selected[k..end].iter().map(|(l, _)| l.clone()).collect();
        let mut x = Expander { f, function, counter: &mut counter, diags, locals: Vec::new() };
        let expanded = x.block(&body);
        let locals = std::mem::take(&mut x.locals);
        // The variables that keep a returned value on 3.6–3.7, declared before the code.
        for (name, span, line_no) in locals {
            let d = crate::syntax::ast::Directive { name: Spanned::new("locals".into(), span), args: vec![Spanned::new(Value::Word(name), span)] };
            out.push((Line { label: None, statement: Some(Spanned::new(Statement::Directive(d), span)), line_no }, false));
        }
        // (Whether a line came from an `.if` block matters only to the checks, done before.)
        out.extend(expanded.into_iter().map(|l| (l, false)));
        k = end;
    }
    out
}

pub(super) fn is_block_end(line: &Line) -> bool {
    matches!(&line.statement, Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "end")
        || matches!(line.statement, Some(Spanned { node: Statement::Code(_), .. }))
}

pub(super) fn opname(line: &Line) -> Option<&str> {
    match &line.statement {
        Some(Spanned { node: Statement::Instruction(ins), .. }) => Some(ins.opname.node.as_str()),
        _ => None,
    }
}

pub(super) fn instruction(line: &Line) -> Option<(&Instruction, Span)> {
    match &line.statement {
        Some(Spanned { node: Statement::Instruction(ins), span }) => Some((ins, *span)),
        _ => None,
    }
}

/// The portable instructions whose first operand is a label.
const JUMPS: &[&str] = &["jump", "jump_if_false", "jump_if_true", "jump_if_none", "jump_if_not_none", "for_iter", "try"];

fn label_operand(ins: &Instruction) -> Option<&str> {
    match ins.operands.first().map(|o| &o.node) {
        Some(Value::Word(w)) if JUMPS.contains(&ins.opname.node.as_str()) => Some(w.as_str()),
        _ => None,
    }
}

struct Expander<'a> {
    f: &'a Facts,
    function: bool,
    counter: &'a mut usize,
    diags: &'a mut Vec<Diagnostic>,
    /// Variables added to the code object (name, where, line).
    locals: Vec<(String, Span, u32)>,
}

/// A line of pyasm's own, at the portable line `at` (its spans and number).
pub(super) fn ins_line(name: &str, operands: Vec<Value>, at: &Line) -> Line {
    let span = at.statement.as_ref().map_or_else(|| at.label.as_ref().map_or(Span::new(0, 0, 0), |l| l.span), |s| s.span);
    let opspan = instruction(at).map_or(span, |(i, _)| i.opname.span);
    let ins = Instruction { opname: Spanned::new(name.into(), opspan), operands: operands.into_iter().map(|v| Spanned::new(v, opspan)).collect(), recovered: Recovered::No };
    Line { label: None, statement: Some(Spanned::new(Statement::Instruction(ins), span)), line_no: at.line_no }
}

pub(super) fn label_line(name: String, at: &Line) -> Line {
    let span = at.statement.as_ref().map_or(Span::new(0, 0, 0), |s| s.span);
    Line { label: Some(Spanned::new(name, span)), statement: None, line_no: at.line_no }
}

/// `line` without its label, which goes on a line of its own before it.
pub(super) fn split_label(line: &Line, out: &mut Vec<Line>) -> Line {
    if let Some(l) = &line.label {
        out.push(Line { label: Some(l.clone()), statement: None, line_no: line.line_no });
    }
    Line { label: None, ..line.clone() }
}

impl Expander<'_> {
    fn block(&mut self, lines: &[Line]) -> Vec<Line> {
        let mut out = Vec::new();
        let mut k = 0;
        while k < lines.len() {
            match opname(&lines[k]) {
                Some("try_finally") => {
                    let (mut depth, mut fin, mut end) = (0, None, None);
                    for (j, l) in lines.iter().enumerate().skip(k) {
                        match opname(l) {
                            Some("try_finally") => depth += 1,
                            Some("finally") if depth == 1 && fin.is_none() => fin = Some(j),
                            Some("end_finally") => {
                                depth -= 1;
                                if depth == 0 {
                                    end = Some(j);
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    let (Some(b), Some(c)) = (fin, end) else {
                        let (ins, _) = instruction(&lines[k]).expect("an instruction");
                        self.diags.push(
                            Diagnostic::error(codes::PORTABLE, "this `try_finally` has no `finally` and `end_finally` after it")
                                .with_primary(ins.opname.span, "opened here")
                                .with_help("write the protected lines, then `finally`, the lines that always run, and `end_finally`"),
                        );
                        return out;
                    };
                    let body = self.block(&lines[k + 1..b]);
                    let fbody = self.block(&lines[b + 1..c]);
                    self.construct(&lines[k], body, &lines[b], &fbody, &lines[c], &mut out);
                    k = c + 1;
                }
                Some(w @ ("finally" | "end_finally")) => {
                    let (ins, _) = instruction(&lines[k]).expect("an instruction");
                    self.diags.push(Diagnostic::error(codes::PORTABLE, format!("`{w}` without a `try_finally` before it")).with_primary(ins.opname.span, ""));
                    k += 1;
                }
                _ => {
                    out.push(lines[k].clone());
                    k += 1;
                }
            }
        }
        out
    }

    fn construct(&mut self, try_line: &Line, body: Vec<Line>, fin_line: &Line, fbody: &[Line], end_line: &Line, out: &mut Vec<Line>) {
        *self.counter += 1;
        let n = *self.counter;
        let handler = format!("__finally_{n}");
        let done = format!("__finally_{n}_done");
        let ret = format!("__finally_{n}_return");
        let saved = format!("__finally_{n}_value");
        let inside: HashSet<String> = body.iter().filter_map(|l| l.label.as_ref().map(|l| l.node.clone())).collect();
        let keep_in_variable = self.f.pop_block_unwinds;
        let mut returns = false;
        // Jumps out, in order of first appearance.
        let mut targets: Vec<String> = Vec::new();
        let mut skips = 0;
        let body_lines = body.clone();
        let head = split_label(try_line, out);
        out.push(ins_line("try", vec![Value::Word(handler.clone())], &head));
        for line in body {
            let Some((ins, _)) = instruction(&line) else {
                out.push(line);
                continue;
            };
            let exit = |t: &str| format!("__finally_{n}_to_{t}");
            match (ins.opname.node.as_str(), label_operand(ins)) {
                ("return", _) => {
                    returns = true;
                    let line = split_label(&line, out);
                    if keep_in_variable {
                        // Before the `end_try`s right before the return (a `return` from inside
                        // a `try`), which would drop the value on 3.6–3.7.
                        let at = out.len() - out.iter().rev().take_while(|l| l.label.is_none() && opname(l) == Some("end_try")).count();
                        out.insert(at, ins_line("store", vec![Value::Word(saved.clone())], &line));
                    }
                    out.push(ins_line("jump", vec![Value::Word(ret.clone())], &line));
                }
                ("jump", Some(t)) if !inside.contains(t) => {
                    if !targets.iter().any(|x| x == t) {
                        targets.push(t.to_string());
                    }
                    let line = split_label(&line, out);
                    out.push(ins_line("jump", vec![Value::Word(exit(t))], &line));
                }
                (cond @ ("jump_if_false" | "jump_if_true" | "jump_if_none" | "jump_if_not_none"), Some(t)) if !inside.contains(t) => {
                    // Only the taken path leaves: the inverted jump over a jump out.
                    if !targets.iter().any(|x| x == t) {
                        targets.push(t.to_string());
                    }
                    skips += 1;
                    let skip = format!("__finally_{n}_stay_{skips}");
                    let inverse = match cond {
                        "jump_if_false" => "jump_if_true",
                        "jump_if_true" => "jump_if_false",
                        "jump_if_none" => "jump_if_not_none",
                        _ => "jump_if_none",
                    };
                    let line = split_label(&line, out);
                    out.push(ins_line(inverse, vec![Value::Word(skip.clone())], &line));
                    out.push(ins_line("jump", vec![Value::Word(exit(t))], &line));
                    out.push(label_line(skip, &line));
                }
                _ => out.push(line),
            }
        }
        let fin = split_label(fin_line, out);
        out.push(ins_line("end_try", vec![], &fin));
        // The normal way out, where the protected lines can end: the last one goes on, or a
        // label after it is jumped to.
        let last = body_lines.iter().rposition(|l| instruction(l).is_some());
        let falls_off = last.is_none_or(|k| !exits(instruction(&body_lines[k]).expect("an instruction").0) || body_lines[k + 1..].iter().any(|l| l.label.is_some()));
        // Whether anything goes on after `end_finally` (its label is then placed there).
        let mut goes_on = false;
        if falls_off {
            out.extend(fbody.iter().cloned());
            if fbody.iter().rev().find_map(instruction).is_none_or(|(i, _)| !exits(i)) {
                goes_on = true;
                out.push(ins_line("jump", vec![Value::Word(done.clone())], end_line));
            }
        }
        // An exception: the finally lines run with it on the stack, then it goes on.
        out.push(label_line(handler, fin_line));
        out.extend(self.copy(fbody, "raise"));
        out.push(ins_line("reraise", vec![], end_line));
        if returns {
            out.push(label_line(ret, fin_line));
            out.extend(self.copy(fbody, "return"));
            if keep_in_variable {
                if self.function {
                    self.locals.push((saved.clone(), fin_line.statement.as_ref().map_or(Span::new(0, 0, 0), |s| s.span), fin_line.line_no));
                }
                out.push(ins_line("load", vec![Value::Word(saved.clone())], end_line));
                if !self.function {
                    // A module's or class body's variable is a name others could see.
                    out.push(ins_line("delete", vec![Value::Word(saved)], end_line));
                }
            }
            out.push(ins_line("return", vec![], end_line));
        }
        for (k, t) in targets.iter().enumerate() {
            out.push(label_line(format!("__finally_{n}_to_{t}"), fin_line));
            out.extend(self.copy(fbody, &format!("out{k}")));
            out.push(ins_line("jump", vec![Value::Word(t.clone())], end_line));
        }
        if goes_on {
            out.push(label_line(done, end_line));
        }
        if let Some(l) = &end_line.label {
            out.push(Line { label: Some(l.clone()), statement: None, line_no: end_line.line_no });
        }
    }

    /// Another copy of the finally lines: the labels they define get a suffix.
    fn copy(&self, fbody: &[Line], tag: &str) -> Vec<Line> {
        let defined: HashSet<String> = fbody.iter().filter_map(|l| l.label.as_ref().map(|l| l.node.clone())).collect();
        let rename = |l: &str| format!("{l}__{tag}");
        fbody
            .iter()
            .map(|line| {
                let mut line = line.clone();
                if let Some(l) = &mut line.label {
                    l.node = rename(&l.node);
                }
                if let Some(Spanned { node: Statement::Instruction(ins), .. }) = &mut line.statement {
                    if let Some(t) = label_operand(ins).filter(|t| defined.contains(*t)).map(rename) {
                        ins.operands[0].node = Value::Word(t);
                    }
                }
                line
            })
            .collect()
    }
}

/// The portable instructions that never go on to the next line.
fn exits(ins: &Instruction) -> bool {
    super::set::lookup(&ins.opname.node).is_some_and(|op| super::set::effect(op, ins).exits)
}
