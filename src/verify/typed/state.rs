//! The abstract state of a frame at one instruction: what each stack slot and each fast local
//! may hold, and the frame's generator and keyword-name state. States only grow when paths
//! meet (`join`), so the analysis reaches a fixed point.

use crate::opcodes::Kinds;

/// Where a value came from, for messages ("this NULL was pushed here").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The frame's start: a parameter, or a local nothing has assigned.
    Entry,
    /// Pushed (or stored, for a local) by the instruction at this index.
    Instr(u32),
    /// Pushed by the exception handling that enters the handler at this index.
    Handler(u32),
}

/// What is known of a value beyond its kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    None,
    /// A tuple of this many items, each of these kinds (a constant, or BUILD_TUPLE's).
    Tuple { len: u32, items: Kinds },
    /// The code object at this index of the program (`LOAD_CONST @name`).
    Code(u32),
    /// A function made from that code object; `closure`: it has its closure (3.13+ sets it
    /// after MAKE_FUNCTION).
    Func { code: u32, closure: bool },
    /// 3.15+: one of the two slots the GET_ITER at this index made from a value of unknown
    /// type (an iterator and NULL, or a list or tuple and its index): a pair only together.
    Pair(u32),
    /// 3.6–3.7: the int CONTINUE_LOOP pushes when it enters a `finally` block: where
    /// END_FINALLY then goes on, as a set of bits of `Machine::continue_targets` (the last
    /// bit standing for every target from it on). Where paths meet it is the union, and it
    /// survives a value that is not a `continue`'s: it matters only on the paths where the
    /// unwinding is a `continue`, and every such path brings its own.
    Targets(u64),
}

#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub kinds: Kinds,
    pub detail: Detail,
    pub origin: Origin,
    /// Non-zero when this slot is a copy of another slot made by COPY (the COPY's index + 1):
    /// a test of one tells about the other (`COPY 1; POP_JUMP_IF_NOT_NONE`).
    pub alias: u32,
}

impl Slot {
    pub fn new(kinds: Kinds, origin: Origin) -> Slot {
        Slot { kinds, detail: Detail::None, origin, alias: 0 }
    }
    pub fn with_detail(mut self, detail: Detail) -> Slot {
        self.detail = detail;
        self
    }
    /// Equal as far as the analysis goes (origins are for messages only).
    pub(super) fn same(&self, other: &Slot) -> bool {
        self.kinds == other.kinds && self.detail == other.detail && self.alias == other.alias
    }
    /// Joins `other` into `self`; returns the details given up (functions that lose track).
    pub(super) fn join(&mut self, other: &Slot, lost: &mut Vec<Detail>) {
        // Name where the surprising kinds came from: the NULL (an unbound local, a call's
        // slot) first, else whatever is new.
        let null = crate::opcodes::kind::NULL;
        if other.kinds & null != 0 && self.kinds & null == 0 || self.kinds & null == 0 && other.kinds & !self.kinds != 0 {
            self.origin = other.origin;
        }
        self.kinds |= other.kinds;
        if self.detail != other.detail {
            for d in [self.detail, other.detail] {
                if d != Detail::None {
                    lost.push(d);
                }
            }
            self.detail = match (self.detail, other.detail) {
                (Detail::Tuple { len: a, items: x }, Detail::Tuple { len: b, items: y }) if a == b => Detail::Tuple { len: a, items: x | y },
                (Detail::Targets(a), Detail::Targets(b)) => Detail::Targets(a | b),
                (Detail::Targets(a), _) | (_, Detail::Targets(a)) => Detail::Targets(a),
                _ => Detail::None,
            };
        }
        if self.alias != other.alias {
            self.alias = 0;
        }
    }
}

/// The generator state of a frame (a set: where paths meet it may be both).
pub mod gen_state {
    /// RETURN_GENERATOR has not run (3.11+: every frame starts so).
    pub const NOT_STARTED: u8 = 1;
    /// The frame is a generator's (or coroutine's): it may yield.
    pub const STARTED: u8 = 2;
}

#[derive(Clone, Debug)]
pub struct State {
    /// Bottom first.
    pub stack: Vec<Slot>,
    /// One per localsplus slot; NULL stands for unbound (or, for a cell variable, a cell not
    /// made yet).
    pub locals: Vec<Slot>,
    pub generator: u8,
    /// 3.11–3.12: KW_NAMES ran and its CALL has not: the keyword names tuple's detail and the
    /// KW_NAMES instruction.
    pub kwnames: Option<(Detail, u32)>,
    /// 3.6–3.10: the frame's block stack, bottom first (`blocks`).
    pub blocks: Vec<super::blocks::Block>,
    /// 3.8: the state reached a `finally` block through CALL_FINALLY, which runs it as a
    /// subroutine with its caller's blocks; such states are kept apart from the block's
    /// other entries (`typed::key`) until its END_FINALLY returns to the caller.
    pub call_entry: bool,
    /// The instruction just run always raises (END_FINALLY of an exception only): nothing
    /// falls through.
    pub raised: bool,
    /// 3.8: the instruction just run may return from a `finally` block run by CALL_FINALLY
    /// (END_FINALLY of a return address): its locals reach the instruction after every
    /// CALL_FINALLY.
    pub returned: bool,
}

/// Why two states cannot be joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The stacks differ in depth (the depth analysis reports it, except where a version's
    /// compiler lets paths meet so: 3.6–3.10).
    Depth,
    /// 3.6–3.10: the block stacks differ.
    Blocks,
}

impl State {
    /// Joins `other` into `self`. `Err` when the stacks differ in depth (reported by the
    /// depth analysis). Returns whether `self` changed, and pushes lost details to `lost`.
    /// `finally_joins` (3.6–3.8): a `finally` block's entries meet with different depths
    /// and with or without the handler's block (`blocks::pad_finally`, `join_finally`).
    pub fn join(&mut self, other: &State, lost: &mut Vec<Detail>, finally_joins: bool) -> Result<bool, Mismatch> {
        let mut changed = false;
        let mut padded;
        let mut other = other;
        if finally_joins && self.stack.len() != other.stack.len() {
            if self.stack.len() < other.stack.len() {
                super::blocks::pad_finally(self, other.stack.len());
                changed = true;
            } else {
                padded = other.clone();
                super::blocks::pad_finally(&mut padded, self.stack.len());
                other = &padded;
            }
        }
        if self.stack.len() != other.stack.len() || self.locals.len() != other.locals.len() {
            return Err(Mismatch::Depth);
        }
        if finally_joins {
            match super::blocks::join_finally(&mut self.blocks, &other.blocks) {
                Some(c) => changed |= c,
                None => return Err(Mismatch::Blocks),
            }
        } else if !super::blocks::agree(&self.blocks, &other.blocks) {
            return Err(Mismatch::Blocks);
        }
        for (a, b) in self.stack.iter_mut().zip(&other.stack).chain(self.locals.iter_mut().zip(&other.locals)) {
            if !a.same(b) {
                let before = *a;
                a.join(b, lost);
                changed |= !before.same(a);
            }
        }
        if self.generator | other.generator != self.generator {
            self.generator |= other.generator;
            changed = true;
        }
        if self.kwnames != other.kwnames {
            // Paths that disagree about a pending KW_NAMES: the call after them is reported.
            let merged = match (self.kwnames, other.kwnames) {
                (Some((_, i)), _) | (None, Some((_, i))) => Some((Detail::None, i)),
                (None, None) => None,
            };
            changed |= merged != self.kwnames;
            self.kwnames = merged;
        }
        Ok(changed)
    }
}
