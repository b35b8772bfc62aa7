//! The typed verifier: an abstract interpretation of a code object that knows what kind of
//! value each stack slot and fast local holds (see `opcodes::signature` for the kinds and the
//! per-version signatures it reads).
//!
//! It runs after the depth analysis (`verify::analyze`) succeeded, over basic blocks: the
//! state at each block's start is the join of every state that reaches it (falling through,
//! jumping, or entering an exception handler from any instruction its region covers, with the
//! state before that instruction, as CPython's own definite-assignment analysis does), until
//! nothing changes. A second pass then walks every reachable block once from its final
//! state and reports what each instruction would do wrong there. (3.8: a block has a second
//! state, for the paths that CALL_FINALLY took into a `finally` block, which runs there as a
//! subroutine on its caller's blocks; see `key`.)
//!
//! Across code objects it follows functions made and called at once (comprehensions): the
//! kinds a call passes become the parameters' kinds in the callee, unless the function can
//! be reached any other way (`escapes`).

mod blocks;
pub mod query;
mod report;
mod state;
mod step;

use crate::diagnostics::Diagnostic;
use crate::opcodes::{Flow, Kinds, kind};
use crate::resolve::{Arg, CO_VARARGS, CO_VARKEYWORDS, ResolvedCode};
use state::{Detail, Mismatch, Origin, Slot, State, gen_state};
use std::collections::VecDeque;

/// What the typed analysis of one code object found.
#[derive(Debug, Default)]
pub struct Typed {
    pub diags: Vec<Diagnostic>,
    /// Functions made here and called at once: (callee's code index, the kinds of its
    /// positional arguments).
    pub calls: Vec<(usize, Vec<Kinds>)>,
    /// Code objects whose functions can be reached other than by those calls.
    pub escapes: Vec<usize>,
    /// For the listing: the stack before and after each instruction, written out (`None`
    /// where no path reaches it).
    pub stacks: Vec<Option<(String, String)>>,
    /// With the stacks: each block's entry state, for `query` (the slots and their origins).
    pub entries: Option<query::Entries>,
}

/// The program around one code object.
pub struct Context<'a> {
    pub codes: &'a [ResolvedCode],
    /// The kinds of the parameters, when every call of the code's functions is known.
    pub params: Option<Vec<Kinds>>,
    /// The depth analysis's result for the code object.
    pub depth: &'a crate::verify::Analysis,
    pub want_stacks: bool,
}

/// The generator-kind flags (generator, coroutine, async generator).
const GENERATOR_FLAGS: u32 = crate::resolve::CO_GENERATOR | crate::resolve::CO_COROUTINE | crate::resolve::CO_ASYNC_GENERATOR;

pub fn check(code: &ResolvedCode, cx: &Context) -> Typed {
    let mut out = Typed::default();
    let n = code.instrs.len();
    // An operand that could not be resolved (and was reported) stands in as 0: what the
    // analysis would say of it is a consequence of that first error.
    if !code.version.typed || n == 0 || code.instrs.iter().any(|i| i.placeholder) {
        return out;
    }
    let blocks = Blocks::new(code);
    let machine = step::Machine::new(code, cx.codes, cx.depth);
    // Each block's entry state, twice (`key`): 3.8's `finally` blocks run by CALL_FINALLY
    // are followed apart from their other entries.
    let mut entry: Vec<Option<State>> = vec![None; 2 * blocks.starts.len()];
    let mut queued = vec![false; 2 * blocks.starts.len()];
    let mut work = VecDeque::new();
    let mut lost = Vec::new();
    // 3.6–3.10: where paths meet with different block stacks (or depths): (the entry's
    // key, the mismatch, the block stack that arrived).
    let mut mismatches: Vec<(usize, Mismatch, Vec<blocks::Block>)> = Vec::new();
    entry[0] = Some(initial_state(code, cx));
    work.push_back(0);
    queued[0] = true;
    // A version with END_FINALLY lets a `finally` block's entries meet as they are.
    let finally_joins = code.version.opcodes.iter().any(|o| o.sig.effect == crate::opcodes::Effect::EndFinally);
    let normal_entry = blocks::NormalEntry::new(code);
    let mut merge = |b: usize, s: State, entry: &mut Vec<Option<State>>, work: &mut VecDeque<usize>, queued: &mut Vec<bool>, lost: &mut Vec<Detail>| {
        let b = key(b, &s);
        let changed = match &mut entry[b] {
            None => {
                entry[b] = Some(s);
                true
            }
            Some(old) => match old.join(&s, lost, finally_joins) {
                Ok(changed) => changed,
                Err(m) => {
                    if code.version.block_stack && !mismatches.iter().any(|(x, _, _)| *x == b) {
                        mismatches.push((b, m, s.blocks.clone()));
                    }
                    false
                }
            },
        };
        if changed && !queued[b] {
            queued[b] = true;
            work.push_back(b);
        }
    };
    // The lattice is finite (kinds only grow, details only get lost), so this ends; the
    // budget guards against a mistake making it slow on a large hostile file.
    let mut budget: u64 = 128 * (blocks.starts.len() as u64 + 1) * (code.localsplus.len() as u64 + 32);
    let mut quiet = step::Sink::quiet();
    // 3.8: the locals of every return from a `finally` block that CALL_FINALLY ran (which
    // block returns to which caller is not followed: each return reaches every caller).
    let mut returned: Option<Vec<Slot>> = None;
    let callers: Vec<usize> = (0..n).filter(|&i| code.instrs[i].op.sig.effect == crate::opcodes::Effect::CallFinally).collect();
    while let Some(k) = work.pop_front() {
        queued[k] = false;
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        let b = k / 2;
        let mut st = entry[k].clone().expect("queued blocks have a state");
        for i in blocks.range(b) {
            let ins = &code.instrs[i];
            // An instruction that cannot raise never enters its handler (3.15's generator
            // expressions end below their handler's depth).
            let handler = machine.handler_of(i, &st).filter(|_| !ins.op.sig.no_raise);
            if let (Some((target, h)), false) = (handler, step::raises_after(ins)) {
                let hs = machine.handler_state(&st, target, h);
                merge(blocks.of[target], hs, &mut entry, &mut work, &mut queued, &mut lost);
            }
            for (t, js) in machine.unwind_jumps(i, &st).into_iter().filter(|(t, _)| *t < n) {
                merge(blocks.of[t], js, &mut entry, &mut work, &mut queued, &mut lost);
            }
            let jump = machine.step(i, &mut st, &mut quiet);
            if std::mem::take(&mut st.returned) && join_locals(&mut returned, &st.locals, &mut lost) {
                for k in callers.iter().flat_map(|&c| [2 * blocks.of[c], 2 * blocks.of[c] + 1]) {
                    if entry[k].is_some() && !queued[k] {
                        queued[k] = true;
                        work.push_back(k);
                    }
                }
            }
            if let (Some((target, h)), true) = (handler, step::raises_after(ins)) {
                let hs = machine.handler_state(&st, target, h);
                merge(blocks.of[target], hs, &mut entry, &mut work, &mut queued, &mut lost);
            }
            if let (Some(js), Arg::Target(t)) = (jump, ins.arg) {
                if t < n {
                    merge(blocks.of[t], normal_entry.of(t, js), &mut entry, &mut work, &mut queued, &mut lost);
                }
            }
            if matches!(ins.op.flow, Flow::Jump | Flow::Exit) || std::mem::take(&mut st.raised) {
                break;
            }
            if i + 1 == blocks.end(b) && i + 1 < n {
                let mut fall = st.clone();
                if let (crate::opcodes::Effect::CallFinally, Some(locals)) = (ins.op.sig.effect, &returned) {
                    for (a, r) in fall.locals.iter_mut().zip(locals) {
                        a.join(r, &mut lost);
                    }
                }
                merge(blocks.of[i + 1], normal_entry.of(i + 1, fall), &mut entry, &mut work, &mut queued, &mut lost);
            }
        }
    }
    // The reporting pass: every reachable block once, from its final state.
    let mut sink = step::Sink::reporting();
    if budget == 0 {
        // Not at the fixed point: some paths were not followed, so what the checks below
        // accept is not known to be safe.
        sink.report(|| report::gave_up(code));
    }
    if cx.want_stacks {
        out.stacks = vec![None; n];
    }
    for (k, state) in entry.iter().enumerate() {
        let Some(state) = state else { continue };
        let b = k / 2;
        let mut st = state.clone();
        for i in blocks.range(b) {
            let before = if cx.want_stacks { report::stack_text(&st.stack) } else { String::new() };
            let handler = machine.handler_of(i, &st).filter(|_| !code.instrs[i].op.sig.no_raise);
            if let (Some((_, h)), false) = (handler, step::raises_after(&code.instrs[i])) {
                machine.check_handler_edge(i, &st, h, &mut sink);
            }
            if code.version.block_stack && !code.instrs[i].op.sig.no_raise && !step::raises_after(&code.instrs[i]) {
                machine.check_unwind(i, &st, &mut sink);
            }
            machine.check_loop_exit(i, &st, &mut sink);
            machine.check_jump_unwind(i, &st, &mut sink);
            let jump = machine.step(i, &mut st, &mut sink);
            if code.version.block_stack && step::raises_after(&code.instrs[i]) {
                machine.check_unwind(i, &st, &mut sink);
            }
            if let (Some((_, h)), true) = (handler, step::raises_after(&code.instrs[i])) {
                machine.check_handler_edge(i, &st, h, &mut sink);
            }
            if cx.want_stacks {
                let after = match (&jump, code.instrs[i].op.flow) {
                    (Some(j), Flow::Jump) => report::stack_text(&j.stack),
                    (_, Flow::Exit) => "-".to_string(),
                    _ => report::stack_text(&st.stack),
                };
                out.stacks[i] = Some((before, after));
            }
            if matches!(code.instrs[i].op.flow, Flow::Jump | Flow::Exit) || std::mem::take(&mut st.raised) {
                break;
            }
        }
    }
    for (k, m, arrived) in &mismatches {
        if let Some(st) = &entry[*k] {
            sink.report(|| report::paths_disagree(&machine, blocks.starts[*k / 2], *m, st, arrived));
        }
    }
    // Per block: its state from its own entries, else from CALL_FINALLY's.
    let entry: Vec<Option<State>> = entry.chunks(2).map(|two| two[0].clone().or_else(|| two[1].clone())).collect();
    machine.check_whole(&entry, &blocks.starts, &mut sink);
    for d in lost {
        if let Detail::Func { code, .. } | Detail::Code(code) = d {
            sink.escapes.push(code as usize);
        }
    }
    if cx.want_stacks {
        out.entries = Some(query::Entries { starts: blocks.starts, states: entry });
    }
    out.diags = sink.diags;
    out.calls = sink.calls;
    out.escapes = sink.escapes;
    out
}

/// Where the state `s` entering block `b` is kept: a state that CALL_FINALLY took into a
/// `finally` block (3.8) apart from the others.
fn key(b: usize, s: &State) -> usize {
    2 * b + usize::from(s.call_entry)
}

/// Joins `locals` into `acc` (which starts empty); whether `acc` changed.
fn join_locals(acc: &mut Option<Vec<Slot>>, locals: &[Slot], lost: &mut Vec<Detail>) -> bool {
    let Some(joined) = acc.as_mut() else {
        *acc = Some(locals.to_vec());
        return true;
    };
    let mut changed = false;
    for (a, l) in joined.iter_mut().zip(locals) {
        let before = *a;
        a.join(l, lost);
        changed |= !before.same(a);
    }
    changed
}

/// The frame at its first instruction.
fn initial_state(code: &ResolvedCode, cx: &Context) -> State {
    use crate::object::{KIND_CELL, KIND_FREE, KIND_LOCAL};
    let flags = code.final_flags();
    let positional = (code.argcount + code.kwonlyargcount) as usize;
    let varargs = flags & CO_VARARGS != 0;
    let varkw = flags & CO_VARKEYWORDS != 0;
    let nparams = positional + varargs as usize + varkw as usize;
    let block_stack = code.version.block_stack;
    let mut locals = Vec::with_capacity(code.localsplus.len());
    let mut plain = 0usize;
    for slot in code.localsplus.iter() {
        let param_index = if slot.kind & KIND_LOCAL != 0 { Some(plain) } else { None };
        if slot.kind & KIND_LOCAL != 0 {
            plain += 1;
        }
        let param = param_index.filter(|&p| p < nparams);
        let kinds = match param {
            Some(p) if p < positional => cx.params.as_ref().and_then(|ps| ps.get(p).copied()).unwrap_or(kind::OBJ),
            Some(p) if varargs && p == positional => kind::TUPLE,
            Some(_) => kind::DICT,
            // 3.6–3.10: the frame makes the cells and copies the closure before running;
            // 3.11+: MAKE_CELL and COPY_FREE_VARS do, in the code.
            None if block_stack && slot.kind & (KIND_CELL | KIND_FREE) != 0 => kind::CELL,
            None => kind::NULL,
        };
        locals.push(Slot::new(kinds, Origin::Entry));
    }
    let generator = flags & GENERATOR_FLAGS != 0;
    let start = if block_stack && generator { gen_state::STARTED } else { gen_state::NOT_STARTED };
    // 3.10: a generator starts with the first value sent to it (None) on the stack.
    let sent = if generator { code.version.generator_entry_depth as usize } else { 0 };
    let stack = vec![Slot::new(kind::NONE, Origin::Entry); sent];
    State { stack, locals, generator: start, kwnames: None, blocks: Vec::new(), call_entry: false, raised: false, returned: false }
}

/// Basic blocks: a new block starts at the first instruction, at every jump target and
/// handler, and after every instruction that jumps or leaves.
struct Blocks {
    starts: Vec<usize>,
    /// The block of each instruction.
    of: Vec<usize>,
    n: usize,
}

impl Blocks {
    fn new(code: &ResolvedCode) -> Blocks {
        let n = code.instrs.len();
        let mut leader = vec![false; n + 1];
        leader[0] = true;
        for (i, ins) in code.instrs.iter().enumerate() {
            if let Arg::Target(t) = ins.arg {
                leader[t.min(n)] = true;
            }
            // 3.8: after CALL_FINALLY, where the `finally` block it ran returns to, the state
            // is joined with what the block's returns bring (`returned`).
            if ins.op.flow != Flow::Next || ins.op.sig.effect == crate::opcodes::Effect::CallFinally {
                leader[i + 1] = true;
            }
        }
        for r in &code.regions {
            leader[r.handler.min(n)] = true;
        }
        for e in &code.entries {
            leader[e.target.min(n)] = true;
        }
        let starts: Vec<usize> = (0..n).filter(|&i| leader[i]).collect();
        let mut of = vec![0; n];
        let mut b = 0;
        for (i, slot) in of.iter_mut().enumerate() {
            if b + 1 < starts.len() && starts[b + 1] == i {
                b += 1;
            }
            *slot = b;
        }
        Blocks { starts, of, n }
    }
    fn end(&self, b: usize) -> usize {
        self.starts.get(b + 1).copied().unwrap_or(self.n)
    }
    fn range(&self, b: usize) -> std::ops::Range<usize> {
        self.starts[b]..self.end(b)
    }
}
