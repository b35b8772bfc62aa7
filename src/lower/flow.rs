//! Follows a portable code object along every path, recording for each instruction which
//! instruction pushed each value on the stack, and which locals are surely bound.
//!
//! Lowering asks it where a call's callable was pushed (its NULL slot goes there), what a
//! conditional jump tests (a comparison's exact bool needs no TO_BOOL), whether `pop` drops
//! an iterator, and whether a local may be unbound (LOAD_FAST_CHECK).

use super::scope::CodeInfo;
use super::set::{self, Op};
use crate::diagnostics::{Diagnostic, codes};
use crate::opcodes::{Flow, VersionTable};
use crate::syntax::ast::{Instruction, Value};
use std::collections::HashMap;

/// Which instruction pushed a value: its index, or `MIXED` where paths disagree.
pub type Slot = usize;
pub const MIXED: Slot = usize::MAX;

#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub stack: Vec<Slot>,
    /// Per plain local (`CodeInfo::locals`): bound on every path here.
    pub bound: Vec<bool>,
    /// The `try` instructions whose handlers are running here, innermost last: entered at
    /// the handler's label, left by `end_except` (or `reraise`).
    pub handlers: Vec<usize>,
}

pub struct Walk {
    pub entry: Vec<Option<State>>,
}

/// An instruction as the walk sees it.
pub enum Kind<'a> {
    Portable(Op),
    Version(&'a crate::opcodes::OpInfo),
    Unknown,
}

pub fn kind_of<'a>(ins: &Instruction, t: &'a VersionTable) -> Kind<'a> {
    match set::lookup(&ins.opname.node) {
        Some(op) => Kind::Portable(op),
        None => t.by_name(&ins.opname.node).map_or(Kind::Unknown, Kind::Version),
    }
}

/// Whether the instruction can go on to the next one (it is not a jump, return or raise).
pub fn falls_through(ins: &Instruction, t: &VersionTable) -> bool {
    match kind_of(ins, t) {
        Kind::Portable(op) => !set::effect(op, ins).exits,
        Kind::Version(op) => !matches!(op.flow, Flow::Jump | Flow::Exit),
        Kind::Unknown => true,
    }
}

fn version_arg(ins: &Instruction) -> u32 {
    match ins.operands.first().map(|o| &o.node) {
        Some(Value::Int(n)) => u32::try_from(n).unwrap_or(0),
        Some(Value::Raw(n)) => *n,
        _ => 0,
    }
}

/// Walks the instructions `code` of one code object (`labels`: label → instruction index).
pub fn walk(code: &[&Instruction], labels: &HashMap<String, usize>, info: &CodeInfo, t: &VersionTable, diags: &mut Vec<Diagnostic>) -> Walk {
    let n = code.len();
    let mut entry: Vec<Option<State>> = vec![None; n];
    if n == 0 {
        return Walk { entry };
    }
    let bound: Vec<bool> = info.locals.iter().map(|l| info.params.contains(l)).collect();
    entry[0] = Some(State { stack: Vec::new(), bound, handlers: Vec::new() });
    let mut work = vec![0usize];
    let with_exit = set::brackets(code, Op::WithEnter, Op::WithExit);
    let mut reported = vec![false; n];
    let mut joined_badly = vec![false; n];
    while let Some(i) = work.pop() {
        let Some(state) = entry[i].clone() else { continue };
        let ins = code[i];
        let mut next = state.clone();
        let mut jump_state = None;
        let mut falls = true;
        let target = match set::lookup(&ins.opname.node) {
            Some(Op::WithEnter) => with_exit.get(&i).copied(),
            _ => set::label(ins).and_then(|l| labels.get(l)).copied(),
        };
        match kind_of(ins, t) {
            Kind::Portable(op) => {
                let e = set::effect(op, ins);
                if next.stack.len() < e.pops {
                    if !reported[i] {
                        reported[i] = true;
                        diags.push(underflow(ins, e.pops, next.stack.len()));
                    }
                    continue;
                }
                if op == Op::Return && !state.handlers.is_empty() && !reported[i] {
                    reported[i] = true;
                    diags.push(
                        Diagnostic::error(codes::PORTABLE, "a `return` inside an `except` handler that has not ended")
                            .with_primary(ins.opname.span, "returns from inside the handler")
                            .with_secondary(code[*state.handlers.last().expect("not empty")].opname.span, "the handler's `try`")
                            .with_note("the handler must restore the exception it replaced (≤3.10: and pop its block) before the function returns")
                            .with_help("write `end_except` before the value to return is pushed (or keep the value in a variable)"),
                    );
                }
                apply(op, ins, i, &e, &mut next, info);
                if let Some((pops, pushes)) = e.jump {
                    let mut j = state.clone();
                    j.stack.truncate(j.stack.len() - pops);
                    j.stack.extend(std::iter::repeat_n(i, pushes));
                    if op == Op::Try {
                        j.handlers.push(i);
                    }
                    // A jump out of `with`s calls their exits (`leave_with`): it takes them
                    // from the top, innermost first (lowering reports other values there).
                    // A value on top of the innermost exit is taken along (`leave_with`).
                    if let (Op::Jump, Some(t)) = (op, target) {
                        let left = set::withs_left(&with_exit, i, t);
                        let carried = usize::from(left.last().is_some_and(|e| j.stack.last() != Some(e)));
                        for enter in left.into_iter().rev() {
                            let Some(at) = j.stack.len().checked_sub(1 + carried).filter(|&k| j.stack[k] == enter) else { break };
                            j.stack.remove(at);
                        }
                    }
                    jump_state = Some(j);
                }
                falls = !e.exits;
            }
            Kind::Version(op) => {
                let arg = version_arg(ins);
                let pops = op.pops.eval(arg).max(0) as usize;
                // Counted in portable values: where a value takes several of the version's
                // slots (a handler's exception, an iterator), the count says nothing.
                let slot_values = !next.handlers.is_empty() || next.stack.iter().any(|&k| k != MIXED && matches!(code.get(k).map(|c| set::lookup(&c.opname.node)), Some(Some(Op::GetIter | Op::Try))));
                if next.stack.len() < pops && !slot_values {
                    if !reported[i] {
                        reported[i] = true;
                        diags.push(underflow(ins, pops, next.stack.len()));
                    }
                    continue;
                }
                let take = pops.min(next.stack.len());
                let base = next.stack.len() - take;
                next.stack.truncate(base);
                let push = (pops as i64 + op.stack.eval(arg)).max(0) as usize;
                next.stack.extend(std::iter::repeat_n(i, push));
                if op.is_jump() {
                    let mut j = state.clone();
                    j.stack.truncate(base);
                    j.stack.extend(std::iter::repeat_n(i, (pops as i64 + op.jump_stack.eval(arg)).max(0) as usize));
                    jump_state = Some(j);
                }
                falls = !matches!(op.flow, Flow::Jump | Flow::Exit);
                if let Some(name) = ins.operands.first().and_then(|o| if let Value::Word(w) = &o.node { Some(w.as_str()) } else { None }) {
                    if op.name.starts_with("STORE_FAST") {
                        if let Some(k) = info.local_index(name) {
                            next.bound[k] = true;
                        }
                    }
                }
            }
            Kind::Unknown => {}
        }
        let mut arrivals = Vec::new();
        if let (Some(j), Some(t)) = (jump_state, target) {
            arrivals.push((t, j));
        }
        if falls && i + 1 < n {
            arrivals.push((i + 1, next));
        }
        for (at, state) in arrivals {
            if let Some(join) = merge(&mut entry, at, state, &mut work) {
                if !joined_badly[at] {
                    joined_badly[at] = true;
                    diags.push(bad_join(code, at, i, join));
                }
            }
        }
    }
    Walk { entry }
}

fn underflow(ins: &Instruction, pops: usize, have: usize) -> Diagnostic {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    Diagnostic::error(codes::PORTABLE, format!("`{}` needs {pops} value{} on the stack; there {} {have}", ins.opname.node, s(pops), if have == 1 { "is" } else { "are" }))
        .with_primary(ins.opname.span, "the stack runs out here")
}

/// Paths meet at `at` in states no lowering can reconcile; `from` is the incoming path's
/// last line. Said of the portable lines, since the model is the portable one (every
/// version's lowered program would disagree too, each in its own way).
fn bad_join(code: &[&Instruction], at: usize, from: usize, join: Join) -> Diagnostic {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    match join {
        Join::Depths(first, incoming) => Diagnostic::error(codes::PORTABLE, format!("paths meet here with {first} value{} on the stack on one and {incoming} on another", s(first)))
            .with_primary(code[at].opname.span, "paths with different stack depths meet here")
            .with_secondary(code[from].opname.span, format!("from here with {incoming} value{}", s(incoming)))
            .with_note("every path to a line must leave the same number of values on the stack (docs/format.md 1.12, the stack model)"),
        Join::Handlers => Diagnostic::error(codes::PORTABLE, "paths from inside and outside an `except` handler meet here")
            .with_primary(code[at].opname.span, "paths in different handlers meet here")
            .with_secondary(code[from].opname.span, "one path comes from here")
            .with_help("leave a handler with `end_except` (or `reraise`) before joining code outside it, and enter it only from its `try`"),
    }
}

/// The effect of a portable instruction on the slots (which instruction pushed each).
fn apply(op: Op, ins: &Instruction, i: usize, e: &set::Effect, s: &mut State, info: &CodeInfo) {
    let len = s.stack.len();
    match op {
        Op::Dup => s.stack.push(s.stack[len - 1]),
        Op::Swap => s.stack.swap(len - 1, len - 2),
        Op::Rot3 => {
            let top = s.stack.pop().expect("checked");
            s.stack.insert(len - 3, top);
        }
        // The iterator stays the value `get_iter` pushed.
        Op::ForIter | Op::ForAiter => s.stack.push(i),
        // The exception stays the value the handler's entry pushed.
        Op::ExceptMatch => s.stack[len - 1] = i,
        Op::EndExcept => {
            s.handlers.pop();
        }
        _ => {
            s.stack.truncate(len - e.pops);
            s.stack.extend(std::iter::repeat_n(i, e.pushes));
        }
    }
    let name = ins.operands.first().and_then(|o| super::name_value(&o.node)).map(|n| n.to_lossy());
    if let (Some(name), Op::Store | Op::Delete) = (name, op) {
        if let Some(k) = info.local_index(&name) {
            s.bound[k] = op == Op::Store;
        }
    }
}

/// How the paths meeting at a line disagree (`merge`).
enum Join {
    /// The stack depths: the earlier path's, the incoming one's.
    Depths(usize, usize),
    /// One comes from inside an `except` handler, the other not (or from another one).
    Handlers,
}

/// Merges a path's state into `at`'s; `Some` where they disagree in a way that no lowering
/// can keep (the walk keeps the first state, the caller reports).
fn merge(entry: &mut [Option<State>], at: usize, incoming: State, work: &mut Vec<usize>) -> Option<Join> {
    match &mut entry[at] {
        None => {
            entry[at] = Some(incoming);
            work.push(at);
            None
        }
        Some(old) => {
            let mut changed = false;
            let differ = (old.stack.len() != incoming.stack.len()).then_some((old.stack.len(), incoming.stack.len()));
            if differ.is_none() {
                for (a, b) in old.stack.iter_mut().zip(&incoming.stack) {
                    if *a != *b && *a != MIXED {
                        *a = MIXED;
                        changed = true;
                    }
                }
            }
            let handlers_differ = old.handlers != incoming.handlers;
            if handlers_differ && !old.handlers.is_empty() {
                // Paths from inside and outside a handler: reported by the caller.
                old.handlers.clear();
                changed = true;
            }
            for (a, b) in old.bound.iter_mut().zip(&incoming.bound) {
                if *a && !*b {
                    *a = false;
                    changed = true;
                }
            }
            if changed {
                work.push(at);
            }
            match differ {
                Some(d) => Some(Join::Depths(d.0, d.1)),
                None => handlers_differ.then_some(Join::Handlers),
            }
        }
    }
}

impl Walk {
    /// The instruction that pushed the value `depth` below the top (0: the top) when
    /// instruction `i` starts; `None` where `i` is never reached or the stack is shorter.
    pub fn pushed_by(&self, i: usize, depth: usize) -> Option<Slot> {
        let s = self.entry[i].as_ref()?;
        s.stack.len().checked_sub(depth + 1).map(|k| s.stack[k])
    }
    /// Whether local `k` may be unbound when instruction `i` starts.
    pub fn maybe_unbound(&self, i: usize, k: usize) -> bool {
        self.entry[i].as_ref().is_some_and(|s| !s.bound.get(k).copied().unwrap_or(true))
    }
}

impl Walk {
    /// The handlers running when instruction `i` starts (empty where it is not reached).
    pub fn handlers(&self, i: usize) -> &[usize] {
        self.entry[i].as_ref().map_or(&[], |s| s.handlers.as_slice())
    }
    /// The values on the stack when instruction `i` starts, each by who pushed it.
    pub fn stack(&self, i: usize) -> &[Slot] {
        self.entry[i].as_ref().map_or(&[], |s| s.stack.as_slice())
    }
}
