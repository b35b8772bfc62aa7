//! How many exception handlers are around each YIELD_VALUE pyasm writes, and where the
//! version records it (one rule, applied to a code object's lowered lines).
//!
//! The compilers count the handlers covering the YIELD_VALUE — the StopIteration handler
//! around a generator's whole body (3.12+) included — and `close()` on a generator suspended
//! there reads the count: when that handler is the only one, nothing can catch GeneratorExit
//! or run a `finally`, so the generator is finished without being resumed. 3.12 writes the
//! count as YIELD_VALUE's argument; 3.13 moved the fact to the RESUME after it, as the
//! `depth1` flag (set only when the count is 1; YIELD_VALUE's argument then says whether
//! the yield is a delegation's). ≤3.11 record nothing.
//!
//! A count that is too high only costs `close()` a resumption; a `depth1` where a handler
//! does cover the yield would skip it. The count is taken here, from the `.try` / `.end_try`
//! lines in the text — the regions pyasm wrote, which nest as the exception table does
//! (`resolve` gives each instruction its innermost open region).

use super::facts::Facts;
use super::{set, Lowered};
use crate::syntax::ast::{Instruction, Line, Span, Spanned, Statement, Value};
use std::collections::HashSet;

/// Over `out.lines[from..]` (one code object, lowered from `body`): each YIELD_VALUE that
/// came from a portable line gets the version's record of the handlers around it (a
/// YIELD_VALUE written as a version instruction is left as it is).
pub fn apply(out: &mut Lowered, from: usize, body: &[&Line], f: &Facts) {
    if !f.yield_arg_depth && !f.resume_depth1 {
        return;
    }
    let portable: HashSet<Span> = body
        .iter()
        .filter_map(|l| match &l.statement {
            Some(Spanned { node: Statement::Instruction(ins), span }) if set::lookup(&ins.opname.node).is_some() => Some(*span),
            _ => None,
        })
        .collect();
    let mut open = 0usize;
    let mut pending_depth1 = false;
    for k in from..out.lines.len() {
        let ours = out.origin[k].is_some_and(|s| portable.contains(&s));
        match &mut out.lines[k].statement {
            Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "try" => open += 1,
            Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "end_try" => open = open.saturating_sub(1),
            Some(Spanned { node: Statement::Instruction(ins), .. }) => {
                if std::mem::take(&mut pending_depth1) && ins.opname.node == "RESUME" {
                    add_word(ins, "depth1");
                }
                if ours && ins.opname.node == "YIELD_VALUE" {
                    if f.yield_arg_depth {
                        set_int(ins, open);
                    }
                    pending_depth1 = f.resume_depth1 && open == 1;
                }
            }
            _ => {}
        }
    }
}

fn set_int(ins: &mut Instruction, n: usize) {
    let span = ins.operands.first().map_or(ins.opname.span, |o| o.span);
    ins.operands = vec![Spanned::new(Value::Int(n.into()), span)];
}

fn add_word(ins: &mut Instruction, w: &str) {
    let span = ins.operands.last().map_or(ins.opname.span, |o| o.span);
    ins.operands.push(Spanned::new(Value::Word(w.into()), span));
}
