//! One instruction's effect on the abstract state, from its signature, and the checks that
//! go with it. `Machine::step` is used twice: quietly while the analysis looks for its fixed
//! point, then with a reporting `Sink` over the final states.

use super::blocks::BlockKind;
use super::report::{self, Problem};
use super::state::{Detail, Origin, Slot, State, gen_state};
use crate::diagnostics::Diagnostic;
use crate::object::KIND_FREE;
use crate::opcodes::{Effect, Flow, Kinds, Signature, SlotSpec, kind};
use crate::resolve::constants::PoolConst;
use crate::resolve::{Arg, ResolvedCode};

/// Where diagnostics and cross-code facts go; quiet while the fixed point is sought.
pub struct Sink {
    on: bool,
    pub diags: Vec<Diagnostic>,
    pub calls: Vec<(usize, Vec<Kinds>)>,
    pub escapes: Vec<usize>,
    /// Regions already reported as deeper than the stack (once each is enough).
    shallow: Vec<crate::syntax::ast::Span>,
}

impl Sink {
    pub fn quiet() -> Sink {
        Sink { on: false, diags: Vec::new(), calls: Vec::new(), escapes: Vec::new(), shallow: Vec::new() }
    }
    pub fn reporting() -> Sink {
        Sink { on: true, ..Sink::quiet() }
    }
    pub fn report(&mut self, make: impl FnOnce() -> Diagnostic) {
        if self.on {
            self.diags.push(make());
        }
    }
    fn escape(&mut self, d: Detail) {
        if let (true, Detail::Func { code, .. } | Detail::Code(code)) = (self.on, d) {
            self.escapes.push(code as usize);
        }
    }
}

/// A handler an instruction's exception goes to: its first instruction, the depth the stack
/// is cut to, and whether the raising instruction's offset is pushed.
#[derive(Clone, Copy)]
pub struct Handler {
    pub depth: u32,
    pub lasti: bool,
    /// The `.try` region or `.exception` entry (3.6–3.10: the SETUP instruction), for
    /// messages.
    pub span: crate::syntax::ast::Span,
    /// 3.6–3.10: the handler's block, an index into the block stack.
    pub block: Option<usize>,
}

pub struct Machine<'a> {
    pub code: &'a ResolvedCode,
    pub codes: &'a [ResolvedCode],
    /// The depth analysis's result for `code` (handler depths; the depth a `finally` block
    /// is entered with).
    pub depth: &'a crate::verify::Analysis,
    /// 3.6–3.7: the targets of the code's CONTINUE_LOOP instructions, sorted: a `continue`
    /// that enters a `finally` block carries its target as a bit of this list
    /// (`Detail::Targets`).
    pub continue_targets: Vec<u32>,
    /// 3.8: the handlers of the code's SETUP_FINALLY instructions, sorted: the `finally`
    /// blocks CALL_FINALLY may run.
    pub finally_targets: Vec<u32>,
    /// 3.6–3.7: `return`, `break`, `continue` unwind through `finally` blocks
    /// (`blocks::unwinds_through_finally`).
    pub unwinds_through_finally: bool,
}

impl<'a> Machine<'a> {
    pub fn new(code: &'a ResolvedCode, codes: &'a [ResolvedCode], depth: &'a crate::verify::Analysis) -> Machine<'a> {
        let targets = |effect: Effect| {
            let mut ts: Vec<u32> = code
                .instrs
                .iter()
                .filter(|ins| ins.op.sig.effect == effect)
                .filter_map(|ins| if let Arg::Target(t) = ins.arg { Some(t as u32) } else { None })
                .collect();
            ts.sort_unstable();
            ts.dedup();
            ts
        };
        let continue_targets = targets(Effect::ContinueLoop);
        let finally_targets = targets(Effect::SetupBlock { handler: true });
        let unwinds_through_finally = super::blocks::unwinds_through_finally(code);
        Machine { code, codes, depth, continue_targets, finally_targets, unwinds_through_finally }
    }
}

/// The input groups of one instruction, laid out on the stack.
struct Groups {
    /// (first stack position, count) of each input group.
    at: Vec<(usize, usize)>,
}

impl Groups {
    fn slots<'s>(&self, g: usize, taken: &'s [Slot], base: usize) -> &'s [Slot] {
        let (at, count) = self.at[g];
        &taken[at - base..at - base + count]
    }
}

/// One instruction being stepped: its index and signature, and the inputs it took (laid out
/// from stack position `base`).
struct At<'s> {
    i: usize,
    sig: &'s Signature,
    groups: &'s Groups,
    taken: &'s [Slot],
    base: usize,
}

impl At<'_> {
    /// The first slot of the input group called `name`.
    fn input(&self, name: &str) -> Option<Slot> {
        group(self.sig, name).and_then(|g| self.groups.slots(g, self.taken, self.base).first().copied())
    }
}

fn group(sig: &Signature, name: &str) -> Option<usize> {
    sig.inputs.iter().position(|s| s.name == name)
}

impl Machine<'_> {
    /// The handler of instruction `i`'s exceptions: from the exception table, or (3.6–3.10)
    /// the block stack of the state before it.
    pub fn handler_of(&self, i: usize, st: &State) -> Option<(usize, Handler)> {
        let code = self.code;
        if code.version.block_stack {
            // Paths meet at a handler with the blocks of each raising instruction: one that
            // cannot raise adds none (SETUP_FINALLY itself, nested ones sharing a handler).
            if code.instrs[i].op.sig.no_raise {
                return None;
            }
            return self.block_handler(i, st);
        }
        if let Some(r) = code.instrs[i].region {
            let region = &code.regions[r];
            let depth = self.depth.region_depth.get(r).copied().flatten()?;
            return Some((region.handler, Handler { depth, lasti: region.lasti, span: region.span, block: None }));
        }
        code.entries
            .iter()
            .find(|e| e.start <= i && i < e.end)
            .map(|e| (e.target, Handler { depth: e.depth, lasti: e.lasti, span: e.span, block: None }))
    }

    /// The state a handler starts with when instruction `i`'s exception reaches it: the stack
    /// cut to its depth, then the offset (when asked) and the exception.
    pub fn handler_state(&self, before: &State, target: usize, h: Handler) -> State {
        if let Some(k) = h.block {
            return self.block_handler_state(before, target, h, k);
        }
        let origin = Origin::Handler(target as u32);
        let depth = h.depth as usize;
        let mut stack: Vec<Slot> = before.stack.iter().take(depth).copied().collect();
        while stack.len() < depth {
            // Garbage, reported by check_handler_edge; taken as objects so that the handler's
            // code is not reported again for the same mistake.
            stack.push(Slot::new(kind::OBJ, origin));
        }
        if h.lasti {
            stack.push(Slot::new(self.code.version.lasti_kind, origin));
        }
        stack.push(Slot::new(kind::EXC, origin));
        State { stack, locals: before.locals.clone(), generator: before.generator, kwnames: None, blocks: Vec::new(), call_entry: false, raised: false, returned: false }
    }

    /// A handler's depth must be reachable from every instruction it covers, and an
    /// instruction that can raise must not consume what the handler keeps.
    pub fn check_handler_edge(&self, i: usize, st: &State, h: Handler, sink: &mut Sink) {
        let ins = &self.code.instrs[i];
        let depth = st.stack.len();
        if depth < h.depth as usize {
            // Checked on the state after a yield (see `raises_after`), which consumes nothing then.
            if sink.on && !sink.shallow.contains(&h.span) {
                sink.shallow.push(h.span);
                sink.report(|| report::handler_too_deep(self, i, depth, h));
            }
            return;
        }
        if raises_after(ins) {
            return;
        }
        if ins.op.sig.no_raise {
            return;
        }
        let oparg = ins.arg.oparg();
        let sig = ins.op.signature(oparg);
        if let Some(lowest) = lowest_consumed(sig, oparg, depth) {
            if lowest < h.depth as usize {
                sink.report(|| report::consumes_below_handler(self, i, &st.stack[lowest..h.depth as usize], h));
            }
        }
    }

    /// Applies instruction `i` to `st` (which becomes the state after it when it falls
    /// through) and returns the state when it jumps.
    pub fn step(&self, i: usize, st: &mut State, sink: &mut Sink) -> Option<State> {
        let code = self.code;
        let ins = &code.instrs[i];
        let oparg = ins.arg.oparg();
        let sig = ins.op.signature(oparg);
        // A KW_NAMES must be followed at once by its call.
        if let Some((_, k)) = st.kwnames {
            if !matches!(sig.effect, Effect::Call | Effect::Precall) {
                sink.report(|| report::kwnames_not_followed(self, i, k as usize));
                st.kwnames = None;
            }
        }
        // Counts of each input group; a negative one means the argument is invalid.
        let mut counts = Vec::with_capacity(sig.inputs.len());
        for spec in sig.inputs {
            let c = spec.count.eval(oparg);
            if c < 0 {
                sink.report(|| report::invalid_argument(self, i, spec, c));
            }
            counts.push(c.max(0) as usize);
        }
        let total: usize = counts.iter().sum();
        if total > st.stack.len() {
            // An underflow, reported by the depth analysis: nothing more can be said.
            st.stack.clear();
            return None;
        }
        let base = st.stack.len() - total;
        let mut at = Vec::with_capacity(counts.len());
        let mut p = base;
        for &c in &counts {
            at.push((p, c));
            p += c;
        }
        let groups = Groups { at };
        let taken: Vec<Slot> = st.stack.split_off(base);
        self.check_inputs(i, sig, &groups, &taken, base, &st.stack, sink);
        let mut fall = self.outputs(i, sig.outputs_when(false), &groups, &taken, base);
        self.trusted_name(i, sig, &taken, &mut fall, sink);
        // A SETUP instruction's handler is entered from the instructions that raise in its
        // block (`blocks`), not from the SETUP itself.
        let jumps = ins.op.flow != Flow::Next
            && ins.op.flow != Flow::Exit
            && matches!(ins.arg, Arg::Target(_))
            && sig.effect != (Effect::SetupBlock { handler: true })
            && sig.effect != Effect::SetupFinally
            || sig.effect == Effect::CallFinally;
        let jump = if jumps { Some(self.outputs(i, sig.outputs_when(true), &groups, &taken, base)) } else { None };
        self.effect(&At { i, sig, groups: &groups, taken: &taken, base }, st, &mut fall, sink);
        // Copies made by COPY: a test of one tells about the other.
        let copy = sig.outputs.iter().enumerate().any(|(a, x)| x.same_as >= 0 && sig.outputs[a + 1..].iter().any(|y| y.same_as == x.same_as));
        if copy {
            let id = i as u32 + 1;
            for s in st.stack.iter_mut().chain(st.locals.iter_mut()) {
                if s.alias == id {
                    s.alias = 0;
                }
            }
            mark_copies(sig, oparg, &mut fall, id);
        }
        self.consume_details(i, sig, &groups, &taken, base, sink);
        let mut jump_state = None;
        if let Some(j) = jump {
            let mut js = st.clone();
            if let (Effect::CallFinally, Arg::Target(t)) = (sig.effect, ins.arg) {
                js = self.call_finally_entry(i, t, st, j);
            } else {
                js.stack.extend(j);
            }
            if sig.effect == (Effect::SetupBlock { handler: false }) {
                // SETUP_LOOP's target is where the loop is left: without its block.
                js.blocks.pop();
            }
            jump_state = Some(js);
        }
        st.stack.extend(fall);
        if let (Effect::NoneTest { jumps_if_none }, Some(tested)) = (sig.effect, taken.last()) {
            if tested.alias != 0 {
                narrow(st, tested.alias, !jumps_if_none);
                if let Some(js) = jump_state.as_mut() {
                    narrow(js, tested.alias, jumps_if_none);
                }
            }
        }
        jump_state
    }

    /// `below`: the stack under the instruction's inputs (for a call, to say what another
    /// count would have taken).
    #[allow(clippy::too_many_arguments)]
    fn check_inputs(&self, i: usize, sig: &Signature, groups: &Groups, taken: &[Slot], base: usize, below: &[Slot], sink: &mut Sink) {
        if !sink.on {
            return;
        }
        let oparg = self.code.instrs[i].arg.oparg();
        // 3.11: the CALL after a PRECALL of the same count sees the same slots, already reported.
        let after_precall = i > 0
            && sig.effect == Effect::Call
            && self.code.instrs[i - 1].op.sig.effect == Effect::Precall
            && self.code.instrs[i - 1].arg.oparg() == oparg;
        let mut layout_reported = after_precall;
        let ends_finally = matches!(sig.effect, Effect::EndFinally | Effect::WithCleanupStart | Effect::WithCleanupFinish);
        for (g, spec) in sig.inputs.iter().enumerate() {
            for slot in groups.slots(g, taken, base) {
                if slot.kinds & kind::ABSENT != 0 && !ends_finally {
                    // What lies here differs between the paths into a `finally` block.
                    sink.report(|| report::reaches_into_finally(self, i, spec, slot));
                    continue;
                }
                if slot.kinds & !spec.kinds != 0 {
                    if sig.effect == Effect::Call || is_call_slot(spec) {
                        if !layout_reported {
                            layout_reported = true;
                            sink.report(|| report::call_layout(self, i, sig, taken, below));
                        }
                    } else {
                        sink.report(|| report::wrong_kind(self, i, spec, slot, Problem::Error));
                    }
                } else if slot.kinds & !spec.expect != 0 {
                    sink.report(|| report::wrong_kind(self, i, spec, slot, Problem::Warning));
                }
                if let Some(len) = spec.len {
                    let want = len.eval(oparg);
                    match slot.detail {
                        Detail::Tuple { len, .. } if i64::from(len) == want => {}
                        other => sink.report(|| report::tuple_length(self, i, spec, slot, want, other)),
                    }
                }
            }
        }
    }

    /// The slots an exit leaves: kept inputs as they were, new values of the declared kinds.
    fn outputs(&self, i: usize, specs: &[SlotSpec], groups: &Groups, taken: &[Slot], base: usize) -> Vec<Slot> {
        let oparg = self.code.instrs[i].arg.oparg();
        let mut out = Vec::new();
        for spec in specs {
            if spec.same_as >= 0 {
                out.extend_from_slice(groups.slots(spec.same_as as usize, taken, base));
                continue;
            }
            let kinds = if spec.when_kinds != 0 && (oparg >> spec.when_bit) & 1 != 0 { spec.when_kinds } else { spec.kinds };
            let count = spec.count.eval(oparg).max(0) as usize;
            out.extend(std::iter::repeat_n(Slot::new(kinds, Origin::Instr(i as u32)), count));
        }
        out
    }

    /// Functions and code objects that leave this instruction's inputs other than by being
    /// called, made into a function, or kept: their parameters can then be anything.
    fn consume_details(&self, i: usize, sig: &Signature, groups: &Groups, taken: &[Slot], base: usize, sink: &mut Sink) {
        if !sink.on {
            return;
        }
        let kept: Vec<bool> = (0..sig.inputs.len()).map(|g| sig.outputs.iter().any(|o| o.same_as == g as i8)).collect();
        let handled = |name: &str| match sig.effect {
            Effect::Call => name == "callable" || name == "method" || name == "self_or_null",
            Effect::MakeFunction => name == "codeobj",
            Effect::SetFunctionAttribute => name == "func",
            _ => false,
        };
        for (g, spec) in sig.inputs.iter().enumerate() {
            if kept[g] || handled(spec.name) {
                continue;
            }
            for s in groups.slots(g, taken, base) {
                self.leaves(i, s.detail, sink);
            }
        }
    }

    /// What the instruction does besides its slots, by concern.
    fn effect(&self, at: &At, st: &mut State, fall: &mut [Slot], sink: &mut Sink) {
        match at.sig.effect {
            Effect::LoadFast { .. }
            | Effect::LoadFastPair
            | Effect::LoadFastAndClear
            | Effect::StoreFast
            | Effect::StoreFastPair
            | Effect::StoreFastLoadFast
            | Effect::DeleteFast
            | Effect::LoadDeref
            | Effect::StoreDeref
            | Effect::DeleteDeref
            | Effect::LoadClosure
            | Effect::MakeCell
            | Effect::CopyFreeVars => self.local_effect(at, st, fall, sink),
            Effect::MakeFunction | Effect::SetFunctionAttribute => self.function_effect(at, fall, sink),
            Effect::ReturnGenerator | Effect::Yield | Effect::Return => self.frame_effect(at, st, sink),
            Effect::ForIter | Effect::Send | Effect::GetIter => self.iter_effect(at, fall, sink),
            Effect::SetupBlock { .. }
            | Effect::SetupFinally
            | Effect::PopBlock { .. }
            | Effect::PopExcept { .. }
            | Effect::BreakLoop
            | Effect::ContinueLoop
            | Effect::Reraise
            | Effect::EndFinally
            | Effect::WithCleanupStart
            | Effect::WithCleanupFinish
            | Effect::CallFinally => self.block_effect(at, st, fall, sink),
            _ => self.value_effect(at, st, fall, sink),
        }
    }

    /// Values: constants, comparisons, tuples, calls and their keyword names.
    fn value_effect(&self, at: &At, st: &mut State, fall: &mut [Slot], sink: &mut Sink) {
        let (i, sig, groups, taken, base) = (at.i, at.sig, at.groups, at.taken, at.base);
        let code = self.code;
        let ins = &code.instrs[i];
        let oparg = ins.arg.oparg();
        let origin = Origin::Instr(i as u32);
        match sig.effect {
            Effect::None => {}
            Effect::Precall => {
                // A specialized PRECALL (PRECALL_NO_KW_LEN, …_BUILTIN_O, …) makes the call
                // itself with its own count and skips the CALL after it: the two must agree.
                let next = code.instrs.get(i + 1);
                let agrees = next.is_some_and(|n| n.op.sig.effect == Effect::Call && n.arg.oparg() == oparg);
                if !agrees {
                    sink.report(|| report::precall_not_followed(self, i, oparg));
                }
            }
            Effect::LoadConst => {
                if let Some(s) = fall.first_mut() {
                    *s = constant_slot(code, (oparg >> ins.op.shift) as usize, origin);
                }
            }
            Effect::Compare => {
                // Comparing with an exact int, str, bool or None gives a bool unless the other
                // side's type says otherwise: taken as a bool, as CPython's own compiler does
                // (3.14+ tests `format > 2` straight into POP_JUMP_IF_FALSE in __annotate__).
                let exact = kind::INT | kind::BOOL | kind::STR | kind::NONE;
                if taken.len() == 2 && taken.iter().any(|s| s.kinds & !exact == 0) {
                    if let Some(r) = fall.last_mut() {
                        r.kinds = kind::BOOL;
                    }
                }
            }
            Effect::BuildTuple => {
                let items = taken.iter().fold(0, |k, s| k | s.kinds);
                if let Some(t) = fall.last_mut() {
                    t.detail = Detail::Tuple { len: taken.len() as u32, items };
                }
            }
            Effect::KwNames => {
                let slot = constant_slot(code, oparg as usize, origin);
                st.kwnames = Some((slot.detail, i as u32));
            }
            Effect::Call => {
                if let (Some(result), Some(r)) = (self.call(i, sig, groups, taken, base, st, sink), fall.last_mut()) {
                    r.kinds = result;
                }
            }
            Effect::NoneTest { .. } => {}
            _ => {}
        }
    }

    /// Fast locals, cells and free variables: what each holds, and reading one unbound.
    fn local_effect(&self, at: &At, st: &mut State, fall: &mut [Slot], sink: &mut Sink) {
        let (i, sig, taken) = (at.i, at.sig, at.taken);
        let code = self.code;
        let ins = &code.instrs[i];
        let oparg = ins.arg.oparg();
        let origin = Origin::Instr(i as u32);
        match sig.effect {
            Effect::LoadFast { checked } => {
                let slot = self.local(oparg as usize, st);
                if !checked && slot.kinds & kind::NULL != 0 {
                    sink.report(|| report::maybe_unbound(self, i, oparg as usize, &slot));
                }
                if let Some(s) = fall.first_mut() {
                    *s = loaded(slot, origin);
                }
                // Past a checked load the local is bound (it raised otherwise).
                self.set_local(oparg as usize, st, bound(slot));
            }
            Effect::LoadFastPair => {
                for (k, index) in [(oparg >> 4) as usize, (oparg & 15) as usize].into_iter().enumerate() {
                    let slot = self.local(index, st);
                    if slot.kinds & kind::NULL != 0 {
                        sink.report(|| report::maybe_unbound(self, i, index, &slot));
                    }
                    if let Some(s) = fall.get_mut(k) {
                        *s = loaded(slot, origin);
                    }
                    self.set_local(index, st, bound(slot));
                }
            }
            Effect::LoadFastAndClear => {
                let slot = self.local(oparg as usize, st);
                if let Some(s) = fall.first_mut() {
                    *s = Slot { origin, alias: 0, ..slot };
                }
                self.set_local(oparg as usize, st, Slot::new(kind::NULL, origin));
            }
            Effect::StoreFast => {
                if let Some(v) = taken.last() {
                    self.leaves(i, v.detail, sink);
                    self.set_local(oparg as usize, st, Slot { origin, alias: 0, ..*v });
                }
            }
            Effect::StoreFastPair => {
                // value1 (the top) goes to the first local of the pair.
                if let [value2, value1] = taken {
                    self.leaves(i, value1.detail, sink);
                    self.leaves(i, value2.detail, sink);
                    self.set_local((oparg >> 4) as usize, st, Slot { origin, alias: 0, ..*value1 });
                    self.set_local((oparg & 15) as usize, st, Slot { origin, alias: 0, ..*value2 });
                }
            }
            Effect::StoreFastLoadFast => {
                if let Some(v) = taken.last() {
                    self.leaves(i, v.detail, sink);
                    self.set_local((oparg >> 4) as usize, st, Slot { origin, alias: 0, ..*v });
                }
                let index = (oparg & 15) as usize;
                let slot = self.local(index, st);
                if slot.kinds & kind::NULL != 0 {
                    sink.report(|| report::maybe_unbound(self, i, index, &slot));
                }
                if let Some(s) = fall.first_mut() {
                    *s = loaded(slot, origin);
                }
            }
            Effect::DeleteFast => self.set_local(oparg as usize, st, Slot::new(kind::NULL, origin)),
            Effect::LoadDeref | Effect::StoreDeref | Effect::DeleteDeref | Effect::LoadClosure => {
                let index = self.deref_index(oparg);
                let slot = self.local(index, st);
                if slot.kinds & !kind::CELL != 0 {
                    sink.report(|| report::cell_not_ready(self, i, index, &slot));
                }
                if sig.effect == Effect::LoadClosure {
                    if let Some(s) = fall.first_mut() {
                        *s = Slot::new(kind::CELL, origin);
                    }
                }
                if let (Effect::StoreDeref, Some(v)) = (sig.effect, taken.last()) {
                    self.leaves(i, v.detail, sink);
                }
            }
            Effect::MakeCell => {
                let index = self.deref_index(oparg);
                self.set_local(index, st, Slot::new(kind::CELL, origin));
            }
            Effect::CopyFreeVars => {
                let free: Vec<usize> = (0..code.localsplus.len()).filter(|&k| code.localsplus[k].kind & KIND_FREE != 0).collect();
                if oparg as usize != free.len() {
                    sink.report(|| report::copy_free_vars_count(self, i, free.len()));
                }
                let first = code.localsplus.len().saturating_sub(oparg as usize);
                for k in first..code.localsplus.len() {
                    self.set_local(k, st, Slot::new(kind::CELL, origin));
                }
            }
            _ => {}
        }
    }

    /// Functions made: the code object they run and the closure it needs.
    fn function_effect(&self, at: &At, fall: &mut [Slot], sink: &mut Sink) {
        let (i, sig, groups, taken, base) = (at.i, at.sig, at.groups, at.taken, at.base);
        let code = self.code;
        let ins = &code.instrs[i];
        let oparg = ins.arg.oparg();
        let input = |name: &str| at.input(name);
        match sig.effect {
            Effect::MakeFunction => {
                let code_slot = input("codeobj");
                let closure = group(sig, "closure").map(|g| groups.slots(g, taken, base));
                let child = match code_slot.map(|s| s.detail) {
                    Some(Detail::Code(c)) => Some(c),
                    _ => {
                        if code_slot.is_some_and(|s| s.kinds & !kind::CODE == 0) {
                            sink.report(|| report::unknown_code(self, i));
                        }
                        None
                    }
                };
                let mut has_closure = true;
                if let Some(c) = child {
                    let needed = free_count(&self.codes[c as usize]);
                    has_closure = match closure {
                        // 3.13+: the closure comes with SET_FUNCTION_ATTRIBUTE.
                        None => needed == 0,
                        Some([]) => {
                            if needed > 0 {
                                sink.report(|| report::missing_closure(self, i, c as usize, report::ClosureUse::Made));
                            }
                            // Reported here once: not again where the function is used.
                            true
                        }
                        Some(slots) => {
                            self.check_closure(i, c as usize, &slots[0], sink);
                            true
                        }
                    };
                }
                if let (Some(c), Some(f)) = (child, fall.last_mut()) {
                    f.detail = Detail::Func { code: c, closure: has_closure };
                }
            }
            Effect::SetFunctionAttribute => {
                let is_closure = ins.op.flags.iter().any(|f| f.word == "closure" && f.bits == oparg);
                if let (true, Some(attr), Some(func)) = (is_closure, input("attr"), input("func")) {
                    if let Detail::Func { code: c, .. } = func.detail {
                        self.check_closure(i, c as usize, &attr, sink);
                        if let Some(f) = fall.last_mut() {
                            f.detail = Detail::Func { code: c, closure: true };
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The frame's generator state, and what a return leaves behind.
    fn frame_effect(&self, at: &At, st: &mut State, sink: &mut Sink) {
        let (i, sig, taken) = (at.i, at.sig, at.taken);
        let code = self.code;
        match sig.effect {
            Effect::ReturnGenerator => {
                let flags = code.final_flags();
                if st.generator != gen_state::NOT_STARTED || flags & super::GENERATOR_FLAGS == 0 || !code.is_function {
                    sink.report(|| report::misplaced_return_generator(self, i, st.generator));
                }
                st.generator = gen_state::STARTED;
            }
            Effect::Yield => {
                if st.generator != gen_state::STARTED {
                    sink.report(|| report::yield_outside_generator(self, i, st.generator));
                }
            }
            Effect::Return => {
                // A generator function's call must return the generator (the verifier takes
                // it for an iterator): no return may come before RETURN_GENERATOR.
                let flags = code.final_flags();
                if flags & super::GENERATOR_FLAGS != 0 && code.is_function && st.generator & gen_state::NOT_STARTED != 0 && uses_return_generator(code) {
                    sink.report(|| report::return_before_return_generator(self, i, st.generator));
                }
                // 3.6–3.7: returning unwinds the blocks (a loop's iterator goes with its block)
                // up to a `finally` block's, whose handler it enters (`Machine::unwind_jumps`).
                let kept = st.blocks.first().map_or(st.stack.len(), |b| (b.level as usize).min(st.stack.len()));
                let finally = st.blocks.iter().any(|b| b.kind == BlockKind::Finally);
                // 3.6–3.8: a `return` in a `finally` block leaves the six slots its entries
                // are booked as (the padding among them shows it), as the compilers' code does.
                let in_finally = st.stack[..kept].iter().any(|s| s.kinds & kind::ABSENT != 0);
                if kept > 0 && sink.on && !finally && !in_finally {
                    sink.report(|| report::values_left(self, i, &st.stack[..kept]));
                }
                for s in taken {
                    self.leaves(i, s.detail, sink);
                }
            }
            _ => {}
        }
    }

    /// Iterators: what FOR_ITER, SEND take and GET_ITER makes.
    fn iter_effect(&self, at: &At, fall: &mut [Slot], sink: &mut Sink) {
        let (i, sig) = (at.i, at.sig);
        let code = self.code;
        let ins = &code.instrs[i];
        let input = |name: &str| at.input(name);
        match sig.effect {
            Effect::ForIter => {
                if let Arg::Target(t) = ins.arg {
                    let skips = code.version.for_iter_skips;
                    let fits = skips.iter().enumerate().all(|(k, name)| code.instrs.get(t + k).is_some_and(|x| x.op.name == *name));
                    if !fits {
                        sink.report(|| report::for_iter_target(self, i, t));
                    }
                }
                if let (Some(it), Some(ix)) = (input("iter"), input("null_or_index")) {
                    self.check_iter_pair(i, &it, &ix, kind::ITER, sink);
                }
            }
            Effect::Send => {
                if let (Some(it), Some(ix)) = (input("receiver"), input("null_or_index")) {
                    self.check_iter_pair(i, &it, &ix, kind::OBJ, sink);
                }
            }
            Effect::GetIter => {
                if let (Some(v), [it, ix]) = (input("iterable"), &mut fall[..]) {
                    let seq = v.kinds & (kind::LIST | kind::TUPLE);
                    let other = v.kinds & !(kind::LIST | kind::TUPLE) != 0;
                    it.kinds = seq | if other { kind::ITER } else { 0 };
                    ix.kinds = if seq != 0 { kind::INDEX } else { 0 } | if other { kind::NULL } else { 0 };
                    // Marked even where the kinds tell the pair: a detail that appeared only
                    // once the input's kinds grew would be lost where the loop joins.
                    it.detail = Detail::Pair(i as u32);
                    ix.detail = Detail::Pair(i as u32);
                }
            }
            _ => {}
        }
    }

    /// 3.6–3.10: the block stack (`blocks`).
    fn block_effect(&self, at: &At, st: &mut State, fall: &mut [Slot], sink: &mut Sink) {
        let (i, sig, groups, taken, base) = (at.i, at.sig, at.groups, at.taken, at.base);
        let code = self.code;
        let ins = &code.instrs[i];
        let oparg = ins.arg.oparg();
        let input = |name: &str| at.input(name);
        match sig.effect {
            Effect::SetupBlock { handler } => self.setup_block(i, if handler { BlockKind::Setup } else { BlockKind::Loop }, base, st, sink),
            Effect::SetupFinally => self.setup_block(i, BlockKind::Finally, base, st, sink),
            Effect::PopBlock { unwinds } => self.pop_block(i, unwinds, st, sink),
            Effect::PopExcept { unwinds } => {
                let saved = sig.inputs.iter().position(|s| s.kinds == kind::SAVED_EXC).map(|g| groups.at[g].0);
                self.pop_except(i, saved, unwinds, st, sink);
            }
            // Their edges are the unwinding's (`Machine::unwind_jumps`).
            Effect::BreakLoop | Effect::ContinueLoop => {}
            Effect::Reraise => self.reraise(i, oparg, st, sink),
            Effect::EndFinally => {
                let status = input("status").map_or(0, |s| s.kinds);
                self.end_finally(i, base, status, st, sink);
            }
            Effect::WithCleanupStart => self.with_cleanup_start(base, st),
            Effect::WithCleanupFinish => {
                // What the six slots hold: what they held, or (the exception suppressed) the
                // normal entry's value, which is what the signature adds but an exception.
                for (k, out) in fall.iter_mut().enumerate().take(6) {
                    let before = taken.get(k).map_or(0, |s| s.kinds);
                    out.kinds = if k < 5 { before | kind::ABSENT } else { before | (out.kinds & !kind::EXC_CLASS) };
                }
                self.with_cleanup_finish(base, st);
            }
            Effect::CallFinally => {
                if let Arg::Target(t) = ins.arg {
                    if self.finally_targets.binary_search(&(t as u32)).is_err() {
                        sink.report(|| report::call_finally_target(self, i, t));
                    }
                }
            }

            _ => {}
        }
    }

    /// A call: its layout, its keyword names, and what it tells about the function called.
    /// Returns the kinds of the result where the callee says (a generator function's call
    /// returns a generator, which FOR_ITER may take: 3.14+ inlines `all(x for x in y)` so).
    #[allow(clippy::too_many_arguments)]
    fn call(&self, i: usize, sig: &Signature, groups: &Groups, taken: &[Slot], base: usize, st: &mut State, sink: &mut Sink) -> Option<Kinds> {
        let one = |name: &str| group(sig, name).and_then(|g| groups.slots(g, taken, base).first().copied());
        let mut args: Vec<Slot> = group(sig, "args").map(|g| groups.slots(g, taken, base).to_vec()).unwrap_or_default();
        // Who is called, and with what, for each layout.
        let callable = if let Some(method) = one("method") {
            // 3.11–3.12 (and CALL_METHOD): NULL or the method, then the callable or self.
            let second = one("callable");
            match (method.kinds & kind::NULL != 0, method.kinds & !kind::NULL != 0) {
                (true, false) => second,
                (false, true) => {
                    if let Some(s) = second {
                        args.insert(0, s);
                    }
                    Some(method)
                }
                _ => None,
            }
        } else {
            let c = one("callable");
            if let Some(s) = one("self_or_null") {
                match (s.kinds & kind::NULL != 0, s.kinds & !kind::NULL != 0) {
                    (true, false) => {}
                    (false, true) => args.insert(0, s),
                    _ => {
                        // Self on some paths only: the arguments are not known.
                        if let Some(c) = c {
                            self.leaves(i, c.detail, sink);
                        }
                        return None;
                    }
                }
            }
            c
        };
        // Keyword names: a slot (3.13+, ≤3.10) or the pending KW_NAMES (3.11–3.12).
        let kwnames = match one("kwnames") {
            Some(k) => Some((k.detail, None)),
            None => st.kwnames.take().map(|(d, at)| (d, Some(at as usize))),
        };
        let mut keywords = 0;
        if let Some((detail, at)) = kwnames {
            match detail {
                Detail::Tuple { len, items } if items & !kind::STR == 0 && len as usize <= args.len() => keywords = len as usize,
                other => sink.report(|| report::bad_kwnames(self, i, at, other, args.len())),
            }
        }
        let Some(callable) = callable else {
            for s in taken {
                self.leaves(i, s.detail, sink);
            }
            return None;
        };
        for s in &args {
            self.leaves(i, s.detail, sink);
        }
        if let Detail::Func { code: c, closure } = callable.detail {
            let callee = &self.codes[c as usize];
            if !closure {
                sink.report(|| report::missing_closure(self, i, c as usize, report::ClosureUse::Called));
            }
            let exact = keywords == 0
                && callee.kwonlyargcount == 0
                && callee.final_flags() & (crate::resolve::CO_VARARGS | crate::resolve::CO_VARKEYWORDS) == 0
                && callee.argcount as usize == args.len()
                && callable.kinds == kind::FUNC;
            if exact && sink.on {
                sink.calls.push((c as usize, args.iter().map(|s| s.kinds).collect()));
            } else {
                sink.escape(callable.detail);
            }
            if callable.kinds == kind::FUNC && callee.final_flags() & crate::resolve::CO_GENERATOR != 0 && uses_return_generator(callee) {
                return Some(kind::ITER);
            }
        }
        None
    }

    /// A value leaves the stack at instruction `i` other than by being called or given its
    /// closure: a function still without the closure its code needs can then be called from
    /// anywhere (3.13+ sets the closure after MAKE_FUNCTION, so only there can this happen).
    fn leaves(&self, i: usize, d: Detail, sink: &mut Sink) {
        if let Detail::Func { code, closure: false } = d {
            if free_count(&self.codes[code as usize]) > 0 {
                sink.report(|| report::missing_closure(self, i, code as usize, report::ClosureUse::Leaves));
            }
        }
        sink.escape(d);
    }

    /// An iterator and its index slot (3.15+) must be what GET_ITER made together: beside an
    /// index a list or tuple (it is indexed as one, unchecked), beside NULL a value of the
    /// kinds `beside_null` (FOR_ITER calls the iterator's __next__ unchecked).
    fn check_iter_pair(&self, i: usize, it: &Slot, ix: &Slot, beside_null: Kinds, sink: &mut Sink) {
        if let (Detail::Pair(a), Detail::Pair(b)) = (it.detail, ix.detail) {
            if a == b {
                return;
            }
        }
        let seq = kind::LIST | kind::TUPLE;
        let bad_index = ix.kinds & kind::INDEX != 0 && it.kinds & !seq != 0;
        let bad_null = ix.kinds & kind::NULL != 0 && it.kinds & !beside_null != 0;
        if bad_index || bad_null {
            sink.report(|| report::iter_pair(self, i, it, ix, beside_null));
        }
    }

    fn check_closure(&self, i: usize, child: usize, closure: &Slot, sink: &mut Sink) {
        let needed = free_count(&self.codes[child]);
        match closure.detail {
            Detail::Tuple { len, items } if len as usize == needed && items & !kind::CELL == 0 => {}
            other => sink.report(|| report::bad_closure(self, i, child, closure, other)),
        }
    }

    /// Checks of the whole code object once every state is known.
    pub fn check_whole(&self, entry: &[Option<State>], _starts: &[usize], sink: &mut Sink) {
        let code = self.code;
        let flags = code.final_flags();
        let has_return_generator = code.version.opcodes.iter().any(|o| o.sig.effect == Effect::ReturnGenerator);
        let uses_it = code.instrs.iter().any(|x| x.op.sig.effect == Effect::ReturnGenerator);
        if has_return_generator && flags & super::GENERATOR_FLAGS != 0 && !uses_it && code.is_function && entry.iter().any(Option::is_some) {
            sink.report(|| report::generator_without_return_generator(self));
        }
    }

    /// A name the version's compiler binds to a value of one kind that instructions then use
    /// unchecked (`VersionTable::trusted_names`: 3.14's `__conditional_annotations__`, the
    /// set SET_ADD adds to): loading it gives that kind, storing it must store that kind. (A
    /// name that code elsewhere rebinds, another module setting it as an attribute, is past
    /// what the program shows.)
    fn trusted_name(&self, i: usize, sig: &Signature, taken: &[Slot], fall: &mut [Slot], sink: &mut Sink) {
        let trusted = self.code.version.trusted_names;
        if trusted.is_empty() {
            return;
        }
        let ins = &self.code.instrs[i];
        let oparg = ins.arg.oparg();
        let name = match ins.op.arg {
            crate::opcodes::ArgKind::Name => self.code.names.get((oparg >> ins.op.shift) as usize),
            crate::opcodes::ArgKind::Free => self.code.localsplus.get(self.deref_index(oparg)).map(|s| &s.name),
            _ => None,
        };
        let Some(&(_, kinds)) = name.and_then(|n| n.as_str()).and_then(|n| trusted.iter().find(|(t, _)| *t == n)) else { return };
        match (sig.inputs.len(), sig.outputs.len()) {
            // LOAD_NAME, LOAD_GLOBAL, LOAD_DEREF: the value (LOAD_GLOBAL's NULL aside).
            (0, _) => {
                if let Some(v) = fall.iter_mut().find(|s| s.kinds != kind::NULL) {
                    v.kinds = kinds;
                }
            }
            // STORE_NAME, STORE_GLOBAL, STORE_DEREF.
            (1, 0) => {
                if let Some(v) = taken.last().filter(|v| v.kinds & !kinds != 0) {
                    sink.report(|| report::trusted_name_kind(self, i, name.map_or("", |n| n.as_str().unwrap_or("")), kinds, v));
                }
            }
            _ => {}
        }
    }

    fn deref_index(&self, oparg: u32) -> usize {
        // 3.6–3.10 count cell and free operands from the first cell, after co_varnames.
        let skip = if self.code.version.block_stack { crate::object::varnames_len(&self.code.localsplus) } else { 0 };
        oparg as usize + skip
    }

    pub fn local(&self, index: usize, st: &State) -> Slot {
        st.locals.get(index).copied().unwrap_or(Slot::new(kind::ANY, Origin::Entry))
    }

    fn set_local(&self, index: usize, st: &mut State, slot: Slot) {
        if let Some(s) = st.locals.get_mut(index) {
            *s = slot;
        }
    }
}

/// A yield raises (from `throw()`) while the frame is suspended, that is with the stack as
/// it is after the instruction, the value sent in (None for throw) in place of the yielded
/// one: its handler edge starts from the state after it.
pub fn raises_after(ins: &crate::resolve::Instr) -> bool {
    ins.op.sig.effect == Effect::Yield
}

fn is_call_slot(spec: &SlotSpec) -> bool {
    matches!(spec.name, "callable" | "method" | "self_or_null" | "null" | "func")
}

/// A value loaded from a local: what the local holds, bound (a checked load raises instead
/// of pushing NULL; an unchecked one was reported).
fn loaded(local: Slot, origin: Origin) -> Slot {
    Slot { origin, alias: 0, ..bound(local) }
}

/// A local once a load of it has succeeded: not NULL.
fn bound(local: Slot) -> Slot {
    let kinds = if local.kinds & !kind::NULL != 0 { local.kinds & !kind::NULL } else { kind::OBJ };
    Slot { kinds, ..local }
}

/// COPY's two slots (the one copied and its copy) share `id`.
fn mark_copies(sig: &Signature, oparg: u32, fall: &mut [Slot], id: u32) {
    let mut at = 0usize;
    let mut positions: Vec<(i8, usize)> = Vec::new();
    for spec in sig.outputs {
        let count = spec.count.eval(oparg).max(0) as usize;
        if spec.same_as >= 0 && count == 1 {
            positions.push((spec.same_as, at));
        }
        at += count;
    }
    for (k, &(src, p)) in positions.iter().enumerate() {
        if positions.iter().skip(k + 1).any(|&(s, _)| s == src) || positions[..k].iter().any(|&(s, _)| s == src) {
            if let Some(s) = fall.get_mut(p) {
                s.alias = id;
            }
        }
    }
}

/// After a None test: the copies of the tested value are None (`none`) or not.
fn narrow(st: &mut State, alias: u32, none: bool) {
    for s in st.stack.iter_mut() {
        if s.alias == alias {
            let narrowed = if none { s.kinds & kind::NONE } else { s.kinds & !kind::NONE };
            if narrowed != 0 {
                s.kinds = narrowed;
            }
        }
    }
}

/// The lowest stack position an instruction takes away (not given back in place), when the
/// stack is `depth` deep before it.
fn lowest_consumed(sig: &Signature, oparg: u32, depth: usize) -> Option<usize> {
    let counts: Vec<usize> = sig.inputs.iter().map(|s| s.count.eval(oparg).max(0) as usize).collect();
    let total: usize = counts.iter().sum();
    let base = depth.checked_sub(total)?;
    let mut out_at = Vec::new();
    let mut p = base;
    for spec in sig.outputs {
        let c = spec.count.eval(oparg).max(0) as usize;
        out_at.push((spec.same_as, p));
        p += c;
    }
    let mut p = base;
    for (g, &c) in counts.iter().enumerate() {
        let kept = out_at.iter().any(|&(src, at)| src == g as i8 && at == p);
        if c > 0 && !kept {
            return Some(p);
        }
        p += c;
    }
    None
}

/// The code object runs RETURN_GENERATOR (3.11+ generators and coroutines do, first).
fn uses_return_generator(code: &ResolvedCode) -> bool {
    code.instrs.iter().any(|x| x.op.sig.effect == Effect::ReturnGenerator)
}

/// The number of free variables of a code object (the closure it needs).
pub fn free_count(code: &ResolvedCode) -> usize {
    code.localsplus.iter().filter(|s| s.kind & KIND_FREE != 0).count()
}

/// The slot a constant makes.
fn constant_slot(code: &ResolvedCode, index: usize, origin: Origin) -> Slot {
    match code.consts.get(index) {
        Some(PoolConst::Code(c)) => Slot::new(kind::CODE, origin).with_detail(Detail::Code(*c as u32)),
        Some(PoolConst::Value(c)) => {
            let (kinds, detail) = constant_kinds(c);
            Slot::new(kinds, origin).with_detail(detail)
        }
        None => Slot::new(kind::OBJ, origin),
    }
}

fn constant_kinds(c: &crate::object::Constant) -> (Kinds, Detail) {
    use crate::object::Constant::*;
    match c {
        None => (kind::NONE, Detail::None),
        True | False => (kind::BOOL, Detail::None),
        Int(_) => (kind::INT, Detail::None),
        Str(_) => (kind::STR, Detail::None),
        Tuple(items) => {
            let kinds = items.iter().fold(0, |k, c| k | constant_kinds(c).0);
            (kind::TUPLE, Detail::Tuple { len: items.len().min(u32::MAX as usize) as u32, items: kinds })
        }
        Code(_) => (kind::CODE, Detail::None),
        _ => (kind::OTHER, Detail::None),
    }
}
