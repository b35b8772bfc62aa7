//! What an instruction reads and writes, as kinds of values: the vocabulary of the typed
//! verifier's facts.
//!
//! Each instruction of a version table has a [`Signature`]: the stack slots it takes (bottom
//! first) with the kinds it accepts, the slots it leaves on each exit with the kinds it
//! produces, and one [`Effect`] for what it does besides the stack (locals, cells, calls,
//! generators, blocks). The signatures are written as rules in `tools/gen_opcodes.py` (the
//! interpreters do not expose them), checked there against each interpreter's own stack
//! effects, and proven by the crash tests in `tests/`. The verifier (`verify::typed`)
//! interprets them; nothing else in pyasm spells which instruction reads which kind.

use super::StackEffect;

/// A set of kinds a stack slot (or fast local) may hold: a union of the bits below. The
/// kinds are disjoint, so "an object of unknown type" is every object bit, and a slot
/// satisfies a requirement when its set lies inside the accepted set.
pub type Kinds = u32;

pub mod kind {
    use super::Kinds;
    /// A NULL pointer: PUSH_NULL's, a method-call slot without self, an unbound local.
    pub const NULL: Kinds = 1 << 0;
    /// `True` or `False` (an exact bool).
    pub const BOOL: Kinds = 1 << 1;
    /// An exact int (the `lasti` a handler receives, an int constant).
    pub const INT: Kinds = 1 << 2;
    pub const NONE: Kinds = 1 << 3;
    pub const STR: Kinds = 1 << 4;
    pub const TUPLE: Kinds = 1 << 5;
    pub const LIST: Kinds = 1 << 6;
    pub const SET: Kinds = 1 << 7;
    pub const DICT: Kinds = 1 << 8;
    /// A code object (a `LOAD_CONST @name`).
    pub const CODE: Kinds = 1 << 9;
    /// A function made by MAKE_FUNCTION.
    pub const FUNC: Kinds = 1 << 10;
    /// A cell object (LOAD_CLOSURE's, a made cell variable's slot).
    pub const CELL: Kinds = 1 << 11;
    /// An iterator made by GET_ITER (or FOR_ITER's own): one whose type has `__next__` in C.
    pub const ITER: Kinds = 1 << 12;
    /// An exception instance (what a handler receives).
    pub const EXC: Kinds = 1 << 13;
    /// 3.6–3.10: an exception class, as a handler receives it with its value and traceback.
    pub const EXC_CLASS: Kinds = 1 << 14;
    /// Any other object.
    pub const OTHER: Kinds = 1 << 15;
    /// 3.6–3.10: one of the three values a handler saves of the exception it replaces, which
    /// only POP_EXCEPT (or the unwinding) may take.
    pub const SAVED_EXC: Kinds = 1 << 16;
    /// 3.14+: a tagged int, not an object: the offset an exception handler gets (`lasti`),
    /// and 3.15+'s index that GET_ITER leaves beside a list or tuple it iterates.
    pub const INDEX: Kinds = 1 << 17;
    /// 3.8: the return address CALL_FINALLY pushes (an int that END_FINALLY jumps to).
    pub const RETURN_ADDRESS: Kinds = 1 << 18;
    /// 3.6–3.7: the `why` code the interpreter pushes when `return`, `break` or `continue`
    /// passes through a `finally` block (an int END_FINALLY acts on).
    pub const WHY: Kinds = 1 << 19;
    /// 3.6–3.10: a coroutine or generator that YIELD_FROM sends to (GET_AWAITABLE's,
    /// GET_YIELD_FROM_ITER's): not an iterator FOR_ITER may take (it has no tp_iternext).
    pub const AWAIT: Kinds = 1 << 20;
    /// 3.6–3.8: no value at all. The compilers book a `finally` block as entered with six
    /// values however it is entered; where a path brings fewer (the normal path's None or
    /// NULL, a return address), the analysis fills the difference with these, which nothing
    /// but the instruction that ends the block may take.
    pub const ABSENT: Kinds = 1 << 21;
    /// 3.6–3.7: the WHY_SILENCED code WITH_CLEANUP_FINISH pushes when `__exit__` suppressed
    /// the exception: END_FINALLY then ends the handler's block and goes on with the next
    /// instruction (where the other unwinding codes, `why`, never go on).
    pub const SILENCED: Kinds = 1 << 22;

    /// Every kind of Python object.
    pub const OBJ: Kinds = BOOL | INT | NONE | STR | TUPLE | LIST | SET | DICT | CODE | FUNC | CELL | ITER | EXC | EXC_CLASS | OTHER | AWAIT;
    /// Anything at all (slots an instruction does not look at).
    pub const ANY: Kinds = (1 << 23) - 1;
    /// How many kind bits there are.
    pub const BITS: u32 = 23;

    /// Words for kinds, as the rules in `tools/gen_opcodes.py` write them and the verifier's
    /// messages name them.
    pub const WORDS: &[(&str, Kinds)] = &[
        ("null", NULL),
        ("bool", BOOL),
        ("int", INT),
        ("none", NONE),
        ("str", STR),
        ("tuple", TUPLE),
        ("list", LIST),
        ("set", SET),
        ("dict", DICT),
        ("code", CODE),
        ("func", FUNC),
        ("cell", CELL),
        ("iter", ITER),
        ("exc", EXC),
        ("exc_class", EXC_CLASS),
        ("other", OTHER),
        ("saved_exc", SAVED_EXC),
        ("index", INDEX),
        ("return_address", RETURN_ADDRESS),
        ("why", WHY),
        ("await", AWAIT),
        ("absent", ABSENT),
        ("silenced", SILENCED),
    ];
}

/// One group of stack slots in a signature: usually one slot, or `count` of them (a call's
/// arguments, the values a builder takes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotSpec {
    /// CPython's name for the slot (`callable`, `self_or_null`, `args`, …); `_` for slots
    /// the instruction leaves alone (they keep their value and may hold anything).
    pub name: &'static str,
    /// Inputs: the kinds accepted (anything else is an error). Outputs: the kinds produced.
    pub kinds: Kinds,
    /// Inputs only: the kinds expected; a value outside them is a warning (3.13+ conditional
    /// jumps expect an exact bool). Equal to `kinds` where nothing more is expected.
    pub expect: Kinds,
    /// Outputs only: the kinds produced instead when bit `when_bit` of the argument is set
    /// (COMPARE_OP's bool bit); 0 where the kinds do not depend on the argument.
    pub when_kinds: Kinds,
    pub when_bit: u8,
    /// Outputs only: the index of the input group this value is (kept or moved by the
    /// instruction), or -1 for a new value.
    pub same_as: i8,
    /// How many slots the group has, as a function of the argument (usually 1).
    pub count: StackEffect,
    /// Inputs only: a tuple's length the instruction relies on without checking
    /// (BUILD_CONST_KEY_MAP's keys in 3.13+).
    pub len: Option<StackEffect>,
}

impl SlotSpec {
    /// One object slot: what a generated table's slots start from.
    pub const ONE: SlotSpec = SlotSpec {
        name: "",
        kinds: kind::OBJ,
        expect: kind::OBJ,
        when_kinds: 0,
        when_bit: 0,
        same_as: -1,
        count: StackEffect { base: 1, terms: &[], exceptions: &[] },
        len: None,
    };
}

/// What an instruction does besides its stack slots, where that matters for safety. The
/// verifier's rules for each are in `verify::typed::effects`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Pushes a constant: its kind is the constant's type.
    LoadConst,
    /// Pushes fast local `oparg`. `checked`: the interpreter raises UnboundLocalError on an
    /// unbound local (≤3.11 LOAD_FAST, LOAD_FAST_CHECK); otherwise an unbound local crashes
    /// it (3.12+ LOAD_FAST), so the local must be bound on every path.
    LoadFast { checked: bool },
    /// 3.13+: two locals packed in the argument (`LOAD_FAST_LOAD_FAST a, b`).
    LoadFastPair,
    /// Pushes fast local `oparg` (NULL when unbound) and unbinds it (3.12+ comprehensions).
    LoadFastAndClear,
    StoreFast,
    StoreFastPair,
    /// 3.13+: stores the top into the first local of the pair, then loads the second.
    StoreFastLoadFast,
    DeleteFast,
    /// Reads the cell in slot `oparg` (LOAD_DEREF, LOAD_CLASSDEREF, LOAD_FROM_DICT_OR_DEREF):
    /// the slot must hold a cell (3.11+: made by MAKE_CELL or COPY_FREE_VARS).
    LoadDeref,
    StoreDeref,
    DeleteDeref,
    /// Pushes the cell object in slot `oparg` (3.11–3.12 LOAD_CLOSURE; ≤3.10 LOAD_CLOSURE).
    LoadClosure,
    /// 3.11+: turns slot `oparg` into a cell holding what it held.
    MakeCell,
    /// 3.11+: copies the `oparg` cells of the function's closure into the last slots.
    CopyFreeVars,
    /// A call; its slots are named by CPython's layout for the version (`callable`,
    /// `self_or_null` / `method`, `args`, `kwnames`).
    Call,
    /// A rich comparison: of two exact ints, strs, bools or Nones the result is a bool (the
    /// compiler's pattern matching leans on that in 3.13+).
    Compare,
    /// Builds a tuple of its inputs (whose length and kinds the verifier then knows).
    BuildTuple,
    /// 3.11: prepares the CALL that follows (and may stand between KW_NAMES and it).
    Precall,
    /// 3.11–3.12: names the keyword arguments of the next CALL (a tuple constant).
    KwNames,
    /// Makes a function from the code object (and the values its flag bits name).
    MakeFunction,
    /// 3.13+: sets one attribute (named by the argument) of the function below.
    SetFunctionAttribute,
    /// 3.11+: turns the frame into a generator; must come first, once.
    ReturnGenerator,
    /// Suspends the frame: only a generator (or coroutine) may.
    Yield,
    /// FOR_ITER: when the iterator is exhausted, jumps past the instructions the version
    /// names at its target (`VersionTable::for_iter_skips`). Where it takes an index slot
    /// beside the iterator (3.15+: `null_or_index`), the two must be a pair GET_ITER makes:
    /// an iterator beside NULL, or a list or tuple beside its index.
    ForIter,
    /// 3.15+: GET_ITER leaves a list or tuple as it is with an index beside it, and anything
    /// else's iterator with NULL beside it: the outputs' kinds follow the input's.
    GetIter,
    /// 3.15+: SEND on a receiver and its index slot: an index must sit beside a list or
    /// tuple (beside NULL any object: SEND checks how to resume it).
    Send,
    /// Leaves the code object returning the top value: other values left are a warning.
    Return,
    /// Pops a value and jumps when it is (or is not) None: on each exit, the copies of that
    /// value still on the stack are known to be None or not.
    NoneTest { jumps_if_none: bool },
    /// 3.6–3.10: pushes a block whose handler is the target: an exception handler
    /// (SETUP_FINALLY, SETUP_EXCEPT, SETUP_WITH, …) or, `handler: false`, a loop (SETUP_LOOP,
    /// whose target is where BREAK_LOOP goes). `verify::typed::blocks` has the rules.
    SetupBlock { handler: bool },
    /// 3.6–3.7: a SetupBlock with a handler that `return`, `break` and `continue` enter too
    /// (SETUP_FINALLY, SETUP_WITH, SETUP_ASYNC_WITH; not SETUP_EXCEPT): the unwinding stops
    /// there and pushes the return value (or the `continue` target) and its code.
    SetupFinally,
    /// Pops the top block, which must be one SETUP_* pushed (not an exception handler's).
    /// `unwinds` (3.6–3.7): it also cuts the stack to the block's level, so nothing may be
    /// above it.
    PopBlock { unwinds: bool },
    /// Pops an exception handler's block and restores the exception it saved: the input
    /// group of `saved_exc` slots must be that block's (POP_EXCEPT, END_ASYNC_FOR).
    /// `unwinds` (3.6–3.7): the stack is first cut to the saved exception.
    PopExcept { unwinds: bool },
    /// 3.6–3.7: leaves the innermost loop block for its target (through the blocks above).
    BreakLoop,
    /// 3.6–3.7: jumps to the loop's start, ending the blocks above the innermost loop's.
    ContinueLoop,
    /// Re-raises the exception below; 3.10 with an argument first reads the raising offset
    /// from the top block, which must exist.
    Reraise,
    /// 3.8: jumps into a `finally` block pushing its return address (the target must be a
    /// SETUP_FINALLY's handler).
    CallFinally,
    /// 3.6–3.8: ends a `finally` block (END_FINALLY, POP_FINALLY): takes what it was entered
    /// with, which re-raises an exception through its handler's block.
    EndFinally,
    /// 3.6–3.8: calls `__exit__` with what the `finally` block was entered with; the saved
    /// exception moves down into `__exit__`'s slot (the handler's block one level lower).
    WithCleanupStart,
    /// 3.6–3.8: a true `__exit__` result ends the handler's block and leaves NULL (3.8) or
    /// None as if the block had been entered normally.
    WithCleanupFinish,
}

/// An instruction's kinds: the input groups (bottom first), the outputs when it falls
/// through, and the outputs when it jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    pub inputs: &'static [SlotSpec],
    pub outputs: &'static [SlotSpec],
    /// `None`: the same as `outputs`.
    pub jump_outputs: Option<&'static [SlotSpec]>,
    pub effect: Effect,
    /// The instruction cannot raise (so it may consume values below its handler's depth).
    pub no_raise: bool,
}

impl Signature {
    /// For tables whose version has no signatures yet: nothing is checked.
    pub const UNTYPED: Signature = Signature { inputs: &[], outputs: &[], jump_outputs: None, effect: Effect::None, no_raise: false };

    pub fn outputs_when(&self, jumps: bool) -> &'static [SlotSpec] {
        match (jumps, self.jump_outputs) {
            (true, Some(j)) => j,
            _ => self.outputs,
        }
    }
}

/// The name of a set of kinds, for messages: `NULL`, `an object`, `a bool or None`, …
pub fn describe(kinds: Kinds) -> String {
    use kind::*;
    if kinds == 0 {
        return "nothing".into();
    }
    if kinds & OBJ == OBJ {
        return if kinds & NULL != 0 { "an object or NULL".into() } else { "an object".into() };
    }
    let name = |k: Kinds| match k {
        NULL => "NULL",
        BOOL => "a bool",
        INT => "an int",
        NONE => "None",
        STR => "a str",
        TUPLE => "a tuple",
        LIST => "a list",
        SET => "a set",
        DICT => "a dict",
        CODE => "a code object",
        FUNC => "a function",
        CELL => "a cell",
        ITER => "an iterator",
        EXC => "an exception",
        EXC_CLASS => "an exception class",
        OTHER => "an object",
        SAVED_EXC => "a saved exception value",
        INDEX => "a tagged int",
        RETURN_ADDRESS => "a return address",
        WHY => "an unwinding code",
        AWAIT => "a coroutine",
        ABSENT => "no value (on some path)",
        SILENCED => "the code of a suppressed exception",
        _ => "?",
    };
    let parts: Vec<&str> = (0..BITS).map(|b| 1 << b).filter(|b| kinds & b != 0).map(name).collect();
    match parts.len() {
        1 => parts[0].into(),
        _ => format!("{} or {}", parts[..parts.len() - 1].join(", "), parts[parts.len() - 1]),
    }
}
