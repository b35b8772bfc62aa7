//! Queries on a finished analysis, for tools that show the stack (the language server's
//! hover): the entry state of every basic block is kept, and the stack at one instruction is
//! found by stepping from its block's entry — the same steps the analysis took, without
//! keeping a state for every instruction of a large code object.

use super::report;
use super::state::{Origin, State};
use super::step::{Machine, Sink};
use crate::opcodes::{Flow, Kinds};
use crate::resolve::ResolvedCode;

/// Where a stack slot's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotOrigin {
    /// The frame's start (a generator's first sent value).
    Entry,
    /// Pushed by the instruction at this index of the code object.
    Instr(usize),
    /// Pushed by the exception handling that enters the handler at this index.
    Handler(usize),
}

/// One slot of the stack at an instruction, as the typed analysis sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackSlot {
    pub kinds: Kinds,
    /// The kinds in one word or two, as the listing writes them (`obj`, `int|NULL`).
    pub short: String,
    /// What the value is, as messages name it (`x`, `the result of BINARY_OP`, `NULL`).
    pub what: String,
    pub origin: SlotOrigin,
}

/// The stack before and after one instruction, bottom first (`after` is `None` where the
/// instruction leaves the frame).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackAt {
    pub before: Vec<StackSlot>,
    pub after: Option<Vec<StackSlot>>,
}

/// The analysis's fixed point: each basic block's first instruction and entry state.
#[derive(Clone, Debug, Default)]
pub struct Entries {
    pub(super) starts: Vec<usize>,
    pub(super) states: Vec<Option<State>>,
}

impl Entries {
    /// The stack around instruction `i` of `code` (`None` where no path reaches it).
    /// `codes` and `depth` are what the analysis ran with (the program's code objects, the
    /// depth analysis's result for `code`).
    pub fn stack_at(&self, code: &ResolvedCode, codes: &[ResolvedCode], depth: &crate::verify::Analysis, i: usize) -> Option<StackAt> {
        let b = self.starts.partition_point(|&s| s <= i).checked_sub(1)?;
        let mut st = self.states.get(b)?.clone()?;
        let machine = Machine::new(code, codes, depth);
        let mut quiet = Sink::quiet();
        for j in self.starts[b]..i {
            let ins = &code.instrs[j];
            machine.step(j, &mut st, &mut quiet);
            // The block ends before `i` on this path: `i` is not reached from it.
            if matches!(ins.op.flow, Flow::Jump | Flow::Exit) || std::mem::take(&mut st.raised) {
                return None;
            }
        }
        let slots = |s: &State| s.stack.iter().map(|x| slot(&machine, x)).collect::<Vec<_>>();
        let before = slots(&st);
        let jump = machine.step(i, &mut st, &mut quiet);
        let after = match (&jump, code.instrs[i].op.flow) {
            (Some(j), Flow::Jump) => Some(slots(j)),
            (_, Flow::Exit) => None,
            _ => Some(slots(&st)),
        };
        Some(StackAt { before, after })
    }
}

fn slot(m: &Machine, s: &super::state::Slot) -> StackSlot {
    let origin = match s.origin {
        Origin::Entry => SlotOrigin::Entry,
        Origin::Instr(j) => SlotOrigin::Instr(j as usize),
        Origin::Handler(j) => SlotOrigin::Handler(j as usize),
    };
    StackSlot { kinds: s.kinds, short: report::short_kinds(s.kinds), what: report::slot_text(m, s), origin }
}
