//! A conditional jump from inside a `with` to a label outside it, rewritten before anything
//! else is lowered into the inverted jump over an unconditional one, which `leave_with`
//! lowers (it calls the exit):
//!
//! ```text
//!     jump_if_true out         →      jump_if_false __with_stay_N
//!                                     jump out
//!                                 __with_stay_N:
//! ```
//!
//! (the same as `finally` does for a conditional jump out of its protected lines).

use super::finally::{ins_line, instruction, is_block_end, label_line, opname, split_label};
use crate::syntax::ast::{Line, Spanned, Statement, Value};
use std::collections::HashMap;

const INVERSE: &[(&str, &str)] = &[("jump_if_false", "jump_if_true"), ("jump_if_true", "jump_if_false"), ("jump_if_none", "jump_if_not_none"), ("jump_if_not_none", "jump_if_none")];

/// The selected lines with each conditional jump out of a `with` rewritten.
pub fn expand(selected: Vec<(Line, bool)>) -> Vec<(Line, bool)> {
    if !selected.iter().any(|(l, _)| opname(l) == Some("with_enter")) {
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
        let end = (k..selected.len()).find(|&j| is_block_end(&selected[j].0)).unwrap_or(selected.len());
        let body: Vec<Line> = selected[k..end].iter().map(|(l, _)| l.clone()).collect();
        out.extend(block(&body, &mut counter).into_iter().map(|l| (l, false)));
        k = end;
    }
    out
}

fn block(lines: &[Line], counter: &mut usize) -> Vec<Line> {
    // Each `with_enter` line's `with_exit` line, matched as brackets.
    let mut ranges = Vec::new();
    let mut open = Vec::new();
    for (k, l) in lines.iter().enumerate() {
        match opname(l) {
            Some("with_enter") => open.push(k),
            Some("with_exit") => {
                if let Some(e) = open.pop() {
                    ranges.push((e, k));
                }
            }
            _ => {}
        }
    }
    let labels: HashMap<&str, usize> = lines.iter().enumerate().filter_map(|(k, l)| l.label.as_ref().map(|n| (n.node.as_str(), k))).collect();
    let mut out = Vec::with_capacity(lines.len());
    for (k, line) in lines.iter().enumerate() {
        let rewrite = instruction(line).and_then(|(ins, _)| {
            let inverse = INVERSE.iter().find(|(n, _)| *n == ins.opname.node).map(|(_, inv)| *inv)?;
            let Some(Value::Word(target)) = ins.operands.first().map(|o| &o.node) else { return None };
            let &t = labels.get(target.as_str())?;
            let leaves = ranges.iter().any(|&(e, x)| e < k && k < x && !(e < t && t <= x));
            leaves.then(|| (inverse, target.clone()))
        });
        let Some((inverse, target)) = rewrite else {
            out.push(line.clone());
            continue;
        };
        *counter += 1;
        let stay = format!("__with_stay_{counter}");
        let line = split_label(line, &mut out);
        out.push(ins_line(inverse, vec![Value::Word(stay.clone())], &line));
        out.push(ins_line("jump", vec![Value::Word(target)], &line));
        out.push(label_line(stay, &line));
    }
    out
}
