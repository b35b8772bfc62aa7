//! The block stack of Python 3.6–3.10: which blocks are set up at each instruction, where an
//! exception goes from there, and the checks of the instructions that push and pop blocks.
//!
//! CPython keeps a stack of blocks per frame (`f_blockstack`): SETUP_FINALLY, SETUP_EXCEPT,
//! SETUP_WITH, SETUP_ASYNC_WITH push a block with a handler and the stack level to cut back
//! to; SETUP_LOOP (3.6–3.7) a loop block; entering a handler replaces its block by an
//! exception handler's block, above which the handler finds the exception it replaced (three
//! values, restored by POP_EXCEPT or by the unwinding). The interpreter trusts all of it:
//! POP_BLOCK or POP_EXCEPT with no block reads before the start of the array, POP_EXCEPT
//! restores whatever the three slots hold as the current exception, a 21st block is a fatal
//! error. So the analysis tracks the block stack exactly (paths must agree on it where they
//! meet) and enters a handler from every instruction that can raise inside its block.
//!
//! What each instruction does to the block stack is its signature's `Effect` (SetupBlock,
//! PopBlock, PopExcept, Reraise, …); what a handler is entered with is the `jump:` outputs of
//! the SETUP instruction that pushed its block (`tools/signatures.py`).

use super::report;
use super::state::{Detail, Origin, Slot, State};
use super::step::{Handler, Machine, Sink};
use crate::opcodes::{Kinds, Signature, kind};

/// CPython's CO_MAXBLOCKS: the size of every frame's block array in 3.6–3.10 (a block more
/// is a fatal error, "XXX block stack overflow").
pub const MAX_BLOCKS: usize = 20;

/// 3.6–3.8: how many values the compilers book for every entry of a `finally` block (an
/// exception's six: the saved exception's three and the raised one's three).
pub const FINALLY_ENTRY: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// SETUP_LOOP's: `break` goes to its target.
    Loop,
    /// A SETUP_* block with a handler at its target.
    Setup,
    /// 3.6–3.7: SETUP_FINALLY's (SETUP_WITH's, …): a block with a handler that `return`,
    /// `break` and `continue` enter as well.
    Finally,
    /// An exception handler running: the exception it replaced is saved at the level.
    ExceptHandler,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// The handler (or the loop's exit): an instruction index.
    pub target: u32,
    /// The stack depth the block cuts back to.
    pub level: u32,
    /// The SETUP instruction that pushed it (for an exception handler's block, the one whose
    /// handler is running).
    pub setup: u32,
    /// 3.6–3.8: an exception handler's block on some paths only: a `finally` block's body is
    /// entered normally (no handler running) and by an exception (its handler's block).
    pub maybe: bool,
}

impl Block {
    /// Equal as far as the analysis goes (which SETUP pushed it is for messages).
    pub fn same(&self, other: &Block) -> bool {
        self.kind == other.kind && self.target == other.target && self.level == other.level && self.maybe == other.maybe
    }
}

/// The stack level of the block a SETUP instruction pushes, `base` being where its inputs
/// start: the values its `jump:` outputs keep from the fall-through ones (SETUP_WITH's
/// `exit`) are below the level, the new ones are the handler's.
fn setup_level(sig: &Signature, base: usize) -> usize {
    let jump = sig.outputs_when(true);
    let kept = jump.iter().take_while(|j| sig.outputs.iter().any(|o| o.name == j.name)).count();
    base + kept
}

/// The values a handler is entered with, above its block's level (see `setup_level`).
fn handler_values(sig: &Signature) -> Vec<Kinds> {
    let jump = sig.outputs_when(true);
    jump.iter().filter(|j| !sig.outputs.iter().any(|o| o.name == j.name)).map(|j| j.kinds).collect()
}

impl Machine<'_> {
    /// SETUP_*: pushes its block (its inputs started at stack position `base`).
    pub fn setup_block(&self, i: usize, kind: BlockKind, base: usize, st: &mut State, sink: &mut Sink) {
        let ins = &self.code.instrs[i];
        let sig = ins.op.signature(ins.arg.oparg());
        if st.blocks.len() >= MAX_BLOCKS {
            sink.report(|| report::too_many_blocks(self, i, &st.blocks));
            return;
        }
        let target = match ins.arg {
            crate::resolve::Arg::Target(t) => t as u32,
            _ => return,
        };
        st.blocks.push(Block { kind, target, level: setup_level(sig, base) as u32, setup: i as u32, maybe: false });
    }

    /// POP_BLOCK: the top block must be one a SETUP pushed.
    pub fn pop_block(&self, i: usize, unwinds: bool, st: &mut State, sink: &mut Sink) {
        match st.blocks.last().copied() {
            Some(b) if b.kind != BlockKind::ExceptHandler && !b.maybe => {
                if unwinds && st.stack.len() != b.level as usize {
                    sink.report(|| report::values_above_block(self, i, b, st.stack.len()));
                }
                st.blocks.pop();
            }
            top => {
                let top = top;
                sink.report(|| report::pop_block_without_block(self, i, top));
                st.blocks.pop();
            }
        }
    }

    /// POP_EXCEPT, END_ASYNC_FOR: the top block must be an exception handler's, and the saved
    /// exception the instruction takes (at stack position `saved`) must be that block's.
    pub fn pop_except(&self, i: usize, saved: Option<usize>, unwinds: bool, st: &mut State, sink: &mut Sink) {
        match (st.blocks.last().copied(), saved) {
            (Some(b), Some(p)) if b.kind == BlockKind::ExceptHandler && !b.maybe => {
                // 3.8+: CPython asserts one value more may lie between the block's level and
                // the saved exception (a return value put under it with ROT_FOUR); 3.6–3.7
                // cut the stack to the saved exception first.
                let level = b.level as usize;
                let extra = if unwinds { 0 } else { 1 };
                if p < level || p > level + extra {
                    sink.report(|| report::saved_exception_misplaced(self, i, b, p));
                }
                st.blocks.pop();
            }
            (top, _) => {
                sink.report(|| report::pop_except_without_handler(self, i, top));
                st.blocks.pop();
            }
        }
    }

    /// RERAISE with an argument (3.10) reads the raising offset from the top block.
    pub fn reraise(&self, i: usize, oparg: u32, st: &State, sink: &mut Sink) {
        if oparg != 0 && st.blocks.is_empty() {
            sink.report(|| report::reraise_without_block(self, i));
        }
    }

    /// RETURN_VALUE, BREAK_LOOP, CONTINUE_LOOP, and END_FINALLY going on with the unwinding
    /// they started (3.6–3.7): where the unwinding takes the frame, and with what (nothing
    /// where it leaves the frame, or where no loop block is set up: reported by
    /// `check_loop_exit`). A `finally` block on the way stops it: its handler is entered with
    /// the return value (or the `continue` target, an int) and the code END_FINALLY acts on.
    pub fn unwind_jumps(&self, i: usize, st: &State) -> Vec<(usize, State)> {
        use crate::opcodes::Effect;
        let ins = &self.code.instrs[i];
        let why = Slot::new(kind::WHY, Origin::Instr(i as u32));
        let mut out = Vec::new();
        match (ins.op.sig.effect, ins.arg) {
            (Effect::Return, _) if self.code.version.block_stack => {
                if let Some(&retval) = st.stack.last() {
                    out.extend(self.unwind(st.clone(), Why::Return(retval), why));
                }
            }
            (Effect::BreakLoop, _) => out.extend(self.unwind(st.clone(), Why::Break, why)),
            (Effect::ContinueLoop, crate::resolve::Arg::Target(t)) => {
                let target = Slot::new(kind::INT, Origin::Instr(i as u32)).with_detail(Detail::Targets(self.continue_bit(t)));
                out.extend(self.unwind(st.clone(), Why::Continue(t, target), why));
            }
            (Effect::EndFinally, _) => {
                // Its status may be a code: which one is not known, so every way it could go
                // on is followed (a `continue` to each target it may have).
                let n = st.stack.len();
                if n < FINALLY_ENTRY || st.stack[n - 1].kinds & kind::WHY == 0 {
                    return out;
                }
                let below = st.stack[n - 2];
                let mut after = st.clone();
                after.stack.truncate(n - FINALLY_ENTRY);
                if after.blocks.last().is_some_and(|b| b.kind == BlockKind::ExceptHandler && b.level as usize == n - FINALLY_ENTRY) {
                    after.blocks.pop();
                }
                out.extend(self.unwind(after.clone(), Why::Return(below), why));
                out.extend(self.unwind(after.clone(), Why::Break, why));
                if let Detail::Targets(bits) = below.detail {
                    for t in self.continue_targets_of(bits) {
                        let target = below.with_detail(Detail::Targets(self.continue_bit(t)));
                        out.extend(self.unwind(after.clone(), Why::Continue(t, target), why));
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// The bit of `Detail::Targets` that stands for the `continue` target `t`.
    fn continue_bit(&self, t: usize) -> u64 {
        let k = self.continue_targets.partition_point(|&x| (x as usize) < t);
        1 << k.min(63)
    }

    /// The `continue` targets a `Detail::Targets` may stand for.
    fn continue_targets_of(&self, bits: u64) -> Vec<usize> {
        let all = self.continue_targets.iter().enumerate();
        all.filter(|&(k, _)| bits & (1 << k.min(63)) != 0).map(|(_, &t)| t as usize).collect()
    }

    /// One unwinding from the state `st` (the instruction's own values gone), `code` being
    /// the unwinding code a `finally` block gets.
    fn unwind(&self, mut st: State, why: Why, code: Slot) -> Option<(usize, State)> {
        let fin = st.blocks.iter().rposition(|b| b.kind == BlockKind::Finally);
        if let Why::Return(retval) = why {
            return fin.map(|f| self.enter_finally(&st, f, &[retval, code]));
        }
        let k = st.blocks.iter().rposition(|b| b.kind == BlockKind::Loop)?;
        let b = st.blocks[k];
        match (why, fin.filter(|&f| f > k)) {
            (Why::Break, Some(f)) => Some(self.enter_finally(&st, f, &[code])),
            (Why::Continue(_, target), Some(f)) => Some(self.enter_finally(&st, f, &[target, code])),
            (Why::Break, None) => {
                st.stack.truncate(b.level as usize);
                st.blocks.truncate(k);
                Some((b.target as usize, st))
            }
            (Why::Continue(t, _), None) => {
                // The blocks above the loop's are ended (cutting the stack to the lowest of
                // them); the loop's block stays.
                if let Some(above) = st.blocks.get(k + 1) {
                    st.stack.truncate(above.level as usize);
                }
                st.blocks.truncate(k + 1);
                Some((t, st))
            }
            (Why::Return(_), _) => None,
        }
    }

    /// The unwinding of `return`, `break`, `continue` enters the `finally` block `f`: the
    /// stack cut to its level (filled with unknown values where it is below), then `values`
    /// at the top of the six slots the compilers book for every entry (`pad_finally`), so
    /// that they meet an exception's entry slot for slot and the END_FINALLY that ends the
    /// block finds them where it looks (the code on top, a return value or `continue`
    /// target below it).
    fn enter_finally(&self, st: &State, f: usize, values: &[Slot]) -> (usize, State) {
        let b = st.blocks[f];
        let mut js = st.clone();
        let level = b.level as usize;
        js.stack.truncate(level);
        while js.stack.len() < level {
            js.stack.push(Slot::new(kind::ANY, Origin::Handler(b.target)));
        }
        let origin = values.last().map_or(Origin::Handler(b.target), |v| v.origin);
        for _ in values.len()..FINALLY_ENTRY {
            js.stack.push(Slot::new(kind::ABSENT, origin));
        }
        js.stack.extend_from_slice(values);
        js.blocks.truncate(f);
        js.kwnames = None;
        (b.target as usize, js)
    }

    /// The blocks RETURN_VALUE, BREAK_LOOP, CONTINUE_LOOP unwind (3.6–3.7): those above the
    /// `finally` block or loop they stop at (all of them for a return that leaves the frame).
    pub fn check_jump_unwind(&self, i: usize, st: &State, sink: &mut Sink) {
        use crate::opcodes::Effect;
        let effect = self.code.instrs[i].op.sig.effect;
        if !self.code.version.block_stack || !matches!(effect, Effect::Return | Effect::BreakLoop | Effect::ContinueLoop) {
            return;
        }
        if st.blocks.is_empty() || effect == Effect::Return && !self.unwinds_through_finally {
            return;
        }
        let fin = st.blocks.iter().rposition(|b| b.kind == BlockKind::Finally);
        let stop = if effect == Effect::Return {
            fin
        } else {
            let k = st.blocks.iter().rposition(|b| b.kind == BlockKind::Loop);
            fin.max(k)
        };
        self.check_unwound(i, st, stop.map_or(0, |k| k + 1), sink);
    }

    /// BREAK_LOOP and CONTINUE_LOOP need a loop block.
    pub fn check_loop_exit(&self, i: usize, st: &State, sink: &mut Sink) {
        let effect = self.code.instrs[i].op.sig.effect;
        let loops = matches!(effect, crate::opcodes::Effect::BreakLoop | crate::opcodes::Effect::ContinueLoop);
        if loops && !st.blocks.iter().any(|b| b.kind == BlockKind::Loop) {
            sink.report(|| report::loop_exit_without_loop(self, i));
        }
    }

    /// Where an exception raised at instruction `i` with the state `st` goes: the innermost
    /// block with a handler (exception handlers' and loops' blocks above it are unwound).
    pub fn block_handler(&self, i: usize, st: &State) -> Option<(usize, Handler)> {
        let _ = i;
        let k = st.blocks.iter().rposition(|b| matches!(b.kind, BlockKind::Setup | BlockKind::Finally))?;
        let b = st.blocks[k];
        let span = self.code.instrs[b.setup as usize].span;
        Some((b.target as usize, Handler { depth: b.level, lasti: false, span, block: Some(k) }))
    }

    /// The state a block's handler starts with: the stack cut to the block's level, the
    /// values its SETUP instruction names, and the block replaced by an exception handler's.
    pub fn block_handler_state(&self, before: &State, target: usize, h: Handler, k: usize) -> State {
        let origin = Origin::Handler(target as u32);
        let b = before.blocks[k];
        let setup = &self.code.instrs[b.setup as usize];
        let sig = setup.op.signature(setup.arg.oparg());
        let depth = b.level as usize;
        let mut stack: Vec<Slot> = before.stack.iter().take(depth).copied().collect();
        while stack.len() < depth {
            // Reported by check_handler_edge: what would be there is garbage.
            stack.push(Slot::new(kind::ANY, origin));
        }
        let values = handler_values(sig);
        stack.extend(values.iter().map(|&k| Slot::new(k, origin)));
        let mut blocks = before.blocks[..k].to_vec();
        blocks.push(Block { kind: BlockKind::ExceptHandler, target: b.target, level: b.level, setup: b.setup, maybe: false });
        let _ = h;
        State { stack, locals: before.locals.clone(), generator: before.generator, kwnames: None, blocks, call_entry: false, raised: false, returned: false }
    }

    /// 3.8: CALL_FINALLY runs the `finally` block at `target` as a subroutine, on its
    /// caller's stack with the return address `ret` on top; END_FINALLY returns to the
    /// instruction after it. The block is written for the six values an exception enters it
    /// with, and must leave alone what lies under the top one (here the caller's values):
    /// so this entry meets the others at the depth the block is entered with (the depth
    /// analysis's), the slots under the return address down to the block's level `absent`
    /// (which only the instructions that end the block may take).
    pub fn call_finally_entry(&self, i: usize, target: usize, st: &State, ret: Vec<Slot>) -> State {
        let depth = self.depth.depth_before.get(target).copied().flatten().map_or(st.stack.len() + FINALLY_ENTRY, |d| d as usize);
        let keep = st.stack.len().min(depth.saturating_sub(FINALLY_ENTRY));
        let mut js = st.clone();
        js.call_entry = true;
        js.stack.truncate(keep);
        while js.stack.len() + ret.len() < depth {
            js.stack.push(Slot::new(kind::ABSENT, Origin::Instr(i as u32)));
        }
        js.stack.extend(ret);
        js
    }

    /// An instruction that raises unwinds the blocks above its handler: each exception
    /// handler's block among them restores the exception saved at its level, which must
    /// still be there.
    pub fn check_unwind(&self, i: usize, st: &State, sink: &mut Sink) {
        let from = st.blocks.iter().rposition(|b| matches!(b.kind, BlockKind::Setup | BlockKind::Finally)).map_or(0, |k| k + 1);
        self.check_unwound(i, st, from, sink);
    }

    /// Each exception handler's block from `from` up restores the exception saved at its
    /// level when it is unwound: the three slots must still hold it.
    fn check_unwound(&self, i: usize, st: &State, from: usize, sink: &mut Sink) {
        for b in &st.blocks[from.min(st.blocks.len())..] {
            if b.kind != BlockKind::ExceptHandler {
                continue;
            }
            let level = b.level as usize;
            // Where the block is there on some paths only, the slots hold the saved exception
            // on those paths (and anything on the others: the correlation is not kept).
            let saved = |s: &Slot| if b.maybe { s.kinds & kind::SAVED_EXC != 0 } else { s.kinds & !kind::SAVED_EXC == 0 };
            let intact = if st.stack.len() < level + 3 { b.maybe } else { st.stack[level..level + 3].iter().all(saved) };
            if !intact {
                sink.report(|| report::saved_exception_disturbed(self, i, *b, st));
                return;
            }
        }
    }
}

/// What an unwinding that a `finally` block may stop is for (CPython's `why`).
#[derive(Clone, Copy)]
enum Why {
    /// `return`, with the value returned.
    Return(Slot),
    Break,
    /// `continue` to that instruction, with the int that says so.
    Continue(usize, Slot),
}

/// Two paths meet: their block stacks must be the same.
pub fn agree(a: &[Block], b: &[Block]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
}

/// Joins block stack `b` into `a` where a `finally` block's paths meet (3.6–3.8): the same
/// blocks, but for exception handlers' blocks that one path has and the other not, which
/// are kept as `maybe` (so are blocks `maybe` on either path). `None` where they differ
/// otherwise; else whether `a` changed.
pub fn join_finally(a: &mut Vec<Block>, b: &[Block]) -> Option<bool> {
    if agree(a, b) {
        return Some(false);
    }
    let (short, long): (&[Block], &[Block]) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let like = |x: &Block, y: &Block| x.kind == y.kind && x.target == y.target && x.level == y.level;
    let mut joined = Vec::with_capacity(long.len());
    let mut k = 0;
    for (j, y) in long.iter().enumerate() {
        match short.get(k) {
            Some(x) if like(x, y) => {
                joined.push(Block { maybe: x.maybe || y.maybe, ..*y });
                k += 1;
            }
            _ if y.kind == BlockKind::ExceptHandler && long.len() - j > short.len() - k => joined.push(Block { maybe: true, ..*y }),
            _ => return None,
        }
    }
    if k != short.len() {
        return None;
    }
    let changed = !agree(a, &joined);
    *a = joined;
    Some(changed)
}

/// 3.6–3.7: `return`, `break` and `continue` unwind the block stack through `finally`
/// blocks (3.8–3.10 return without unwinding: the compilers end every block first).
pub fn unwinds_through_finally(code: &crate::resolve::ResolvedCode) -> bool {
    code.version.opcodes.iter().any(|o| o.sig.effect == crate::opcodes::Effect::SetupFinally)
}

/// 3.6–3.7: the handlers a path may also enter by falling or jumping in (a `finally`
/// block's, after POP_BLOCK and the None or NULL that says "no exception"). That entry brings
/// one value where the others bring six: it is padded to six as it arrives, so that every
/// entry meets the others slot for slot whichever arrives first (padding only where two
/// entries of different depths meet would depend on the order they are followed in).
pub struct NormalEntry {
    targets: Vec<bool>,
}

impl NormalEntry {
    pub fn new(code: &crate::resolve::ResolvedCode) -> NormalEntry {
        use crate::opcodes::Effect;
        let mut targets = vec![false; code.instrs.len()];
        if !unwinds_through_finally(code) {
            return NormalEntry { targets };
        }
        for ins in &code.instrs {
            let handler = matches!(ins.op.sig.effect, Effect::SetupFinally | Effect::SetupBlock { handler: true });
            if let (true, crate::resolve::Arg::Target(t)) = (handler, ins.arg) {
                if let Some(slot) = targets.get_mut(t) {
                    *slot = true;
                }
            }
        }
        NormalEntry { targets }
    }

    /// The state a fall or jump to `target` arrives with.
    pub fn of(&self, target: usize, mut st: State) -> State {
        if self.targets.get(target).copied().unwrap_or(false) && !st.stack.is_empty() {
            let depth = st.stack.len() + FINALLY_ENTRY - 1;
            pad_finally(&mut st, depth);
        }
        st
    }
}

/// The `finally` paths' stacks differ in depth (3.6–3.8): the compilers book every entry as
/// the six values of an exception's, and an entry that brings one value (None, NULL, a
/// return address, an unwinding code) has the difference below that value. Fills it with
/// `absent` slots, which only the instructions that end the block may take.
pub fn pad_finally(st: &mut State, depth: usize) {
    if st.stack.is_empty() || st.stack.len() >= depth {
        return;
    }
    let top = st.stack.pop().expect("not empty");
    let origin = top.origin;
    while st.stack.len() + 1 < depth {
        st.stack.push(Slot::new(kind::ABSENT, origin));
    }
    st.stack.push(top);
}

impl Machine<'_> {
    /// END_FINALLY, POP_FINALLY (their six slots start at `base`): re-raising an exception
    /// goes through its handler's block, which must be on top at that level; either way the
    /// handler (if it ran) is over afterwards.
    pub fn end_finally(&self, i: usize, base: usize, status: Kinds, st: &mut State, sink: &mut Sink) {
        let top = st.blocks.last().copied();
        let handler_here = top.filter(|b| b.kind == BlockKind::ExceptHandler);
        if status & kind::EXC_CLASS != 0 {
            match handler_here {
                None => sink.report(|| report::pop_except_without_handler(self, i, top)),
                Some(b) if b.level as usize != base => sink.report(|| report::saved_exception_misplaced(self, i, b, base)),
                Some(_) => {}
            }
        }
        if handler_here.is_some_and(|b| b.level as usize == base) {
            st.blocks.pop();
        }
        if self.unwinds_through_finally {
            drop_ended_handler(st);
        }
        // It goes on with the next instruction only from None (NULL) or WHY_SILENCED: an
        // exception is raised again, `return`, `break`, `continue` go on unwinding
        // (`unwind_jumps`), and a return address is jumped to (`returned`).
        st.raised = status != 0 && status & !(kind::EXC_CLASS | kind::WHY | kind::RETURN_ADDRESS) == 0;
        st.returned = status & kind::RETURN_ADDRESS != 0;
    }

    /// WITH_CLEANUP_START: on the exception path, the saved exception moves into the slot of
    /// `__exit__` (at `base`), and the handler's block with it.
    pub fn with_cleanup_start(&self, base: usize, st: &mut State) {
        if let Some(b) = st.blocks.last_mut() {
            if b.kind == BlockKind::ExceptHandler && b.level as usize == base + 1 {
                b.level -= 1;
            }
        }
    }

    /// WITH_CLEANUP_FINISH: `__exit__` may have suppressed the exception, ending its
    /// handler's block (its signature says what the six slots then hold).
    pub fn with_cleanup_finish(&self, base: usize, st: &mut State) {
        if let Some(b) = st.blocks.last_mut() {
            if b.kind == BlockKind::ExceptHandler && b.level as usize == base {
                b.maybe = true;
            }
        }
    }
}

/// 3.6: the cleanup of `except … as name` is a `finally` block that the normal path enters
/// after POP_EXCEPT has ended the handler, and the others (an exception, `return`, …) with
/// the handler still running. So the handler's block reaches END_FINALLY on some paths
/// only, its saved exception absent on the others. Only the normal path goes on past
/// END_FINALLY (the others raise again or go on unwinding), and it has neither: the state
/// that goes on is without them.
fn drop_ended_handler(st: &mut State) {
    let Some(&b) = st.blocks.last() else { return };
    let level = b.level as usize;
    let absent_here = st.stack.len() == level + 3 && st.stack[level..].iter().all(|s| s.kinds & kind::ABSENT != 0);
    if b.kind == BlockKind::ExceptHandler && b.maybe && absent_here {
        st.stack.truncate(level);
        st.blocks.pop();
    }
}
