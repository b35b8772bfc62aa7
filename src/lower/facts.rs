//! What lowering needs to know about one version, read from its instruction table.
//!
//! Almost every difference between versions is visible in the generated table: whether an
//! opcode exists, which flag words it takes, how many values it pops. Each fact below is
//! read from there; the one that the tables do not show is a named rule with its reason.

use crate::opcodes::{ArgKind, VersionTable};
use crate::version::PythonVersion;

/// The facts of one target version.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    pub table: &'static VersionTable,
    /// 3.11+: RESUME starts every code object (and follows every yield).
    pub resume: bool,
    /// 3.11+: calls take a NULL (or a method's self) slot beside the callable.
    pub null_slot: bool,
    /// Where that slot goes (see `null_after_callable`).
    pub null_after: bool,
    /// 3.11: PRECALL n before CALL n.
    pub precall: bool,
    /// 3.11–3.12: keyword names come from KW_NAMES before the call.
    pub kw_names: bool,
    /// 3.13+: CALL_KW takes the tuple of keyword names from the stack.
    pub call_kw: bool,
    /// 3.7–3.10: LOAD_METHOD pairs with CALL_METHOD (which takes no keywords).
    pub call_method: bool,
    /// 3.7–3.11: LOAD_METHOD exists.
    pub load_method: bool,
    /// 3.12+: LOAD_ATTR takes the flag word `method`.
    pub attr_method_flag: bool,
    /// 3.11+: LOAD_GLOBAL pushes the NULL itself with the flag word `null`.
    pub global_null_flag: bool,
    /// 3.13+: a conditional jump wants an exact bool (TO_BOOL).
    pub to_bool: bool,
    /// 3.13+: COMPARE_OP can convert its result with the flag word `bool`.
    pub compare_bool: bool,
    /// Conditional jumps may go backward (≤3.10 absolute, 3.11 their own backward opcodes).
    pub backward_branches: bool,
    /// 3.11+: the direction-free pseudo jump `JUMP` (≤3.10: JUMP_FORWARD / JUMP_ABSOLUTE).
    pub pseudo_jump: bool,
    /// 3.14+: LOAD_SMALL_INT for ints 0…255.
    pub small_int: bool,
    /// 3.12–3.13: RETURN_CONST.
    pub return_const: bool,
    /// 3.11+: one BINARY_OP with the operator as its argument.
    pub binary_op: bool,
    /// 3.14+: subscript is BINARY_OP [] (before: BINARY_SUBSCR).
    pub subscript_op: bool,
    /// ≤3.11: UNARY_POSITIVE (3.12+: an intrinsic).
    pub unary_positive: bool,
    /// 3.9+: IS_OP and CONTAINS_OP (before: COMPARE_OP is, in, …).
    pub is_op: bool,
    /// ≤3.10: MAKE_FUNCTION also pops the qualified name.
    pub make_function_qualname: bool,
    /// 3.13+: MAKE_FUNCTION takes no flags; SET_FUNCTION_ATTRIBUTE sets each part.
    pub set_function_attribute: bool,
    /// ≤3.12: LOAD_CLOSURE pushes a cell (3.13+: LOAD_FAST of the cell's slot).
    pub load_closure: bool,
    /// 3.11+: cells are made by MAKE_CELL, free variables copied by COPY_FREE_VARS.
    pub make_cell: bool,
    /// 3.11+: RETURN_GENERATOR; POP_TOP start a generator.
    pub return_generator: bool,
    /// 3.10: GEN_START starts a generator.
    pub gen_start: bool,
    /// 3.12+: YIELD_VALUE takes an argument.
    pub yield_arg: bool,
    /// 3.12+: a local that may be unbound is loaded with LOAD_FAST_CHECK.
    pub load_fast_check: bool,
    /// ≤3.10: DUP_TOP, ROT_TWO, ROT_THREE (3.11+: COPY and SWAP).
    pub rot: bool,
    /// 3.15: GET_ITER takes a number (0 for a for loop).
    pub get_iter_arg: bool,
    /// What a loop's exit holds under the exhausted iterator's jump: the instructions
    /// pyasm puts at FOR_ITER's target (empty ≤3.11, 3.12 END_FOR, 3.13 END_FOR POP_TOP,
    /// 3.14+ END_FOR POP_ITER).
    pub for_exit: &'static [&'static str],
    /// 3.8+: MAP_ADD takes the value on top of the key (3.6–3.7: the key on top).
    pub map_add_value_on_top: bool,
    /// ≤3.7: `try` sets up an except block with SETUP_EXCEPT (3.8+: SETUP_FINALLY).
    pub setup_except: bool,
    /// 3.9–3.10: the exception match is JUMP_IF_NOT_EXC_MATCH (a test and a jump).
    pub jump_if_not_exc_match: bool,
    /// ≤3.8: a handler re-raises with END_FINALLY (3.9+: RERAISE).
    pub end_finally: bool,
    /// 3.10+: RERAISE takes an argument.
    pub reraise_arg: bool,
    /// ≤3.7: POP_BLOCK also drops the values pushed since its SETUP (see `pop_block_unwinds`).
    pub pop_block_unwinds: bool,
    /// Stack slots an iterator takes (3.15: 2, the iterator and its index or NULL).
    pub iter_width: usize,
    /// 3.14+: an iterator is popped with POP_ITER.
    pub pop_iter: bool,
    /// ≤3.12: FORMAT_VALUE converts and formats (3.13+: CONVERT_VALUE, FORMAT_SIMPLE,
    /// FORMAT_WITH_SPEC).
    pub format_value: bool,
    /// ≤3.11: IMPORT_STAR (3.12+: an intrinsic).
    pub import_star: bool,
    /// 3.11+: CALL_FUNCTION_EX's keyword arguments must be an exact dict (see
    /// `kwargs_must_be_a_dict`).
    pub call_ex_dict: bool,
    /// 3.14+: CALL_FUNCTION_EX has no argument and always takes a kwargs slot (NULL if none).
    pub call_ex_null_kwargs: bool,
    /// How a `with` is entered and left (see `With`).
    pub with: With,
    /// Stack slots a `with`'s exit takes (3.14+: 2, `__exit__` and the manager as its self).
    pub with_exit_width: usize,
    /// ≤3.10: YIELD_FROM delegates (3.11+: a SEND loop).
    pub yield_from_op: bool,
    /// 3.12+: END_SEND and CLEANUP_THROW finish the SEND loop (an exception thrown in while it
    /// waits goes to CLEANUP_THROW).
    pub end_send: bool,
    /// 3.15: no GET_YIELD_FROM_ITER; `yield from` is GET_ITER with this argument (see
    /// `YIELD_FROM_GET_ITER`), and its iterator takes `iter_width` slots.
    pub yield_from_get_iter: Option<u32>,
    /// 3.12: YIELD_VALUE's argument is the number of exception handlers around it (see
    /// `yield_arg_is_depth`, and `yield_depth` for the count).
    pub yield_arg_depth: bool,
    /// 3.13+: the RESUME after a yield with only the body's StopIteration handler around
    /// it says so (its `depth1` flag; see `yield_depth`).
    pub resume_depth1: bool,
    /// 3.6: GET_AITER gives an awaitable that gives the iterator (see `aiter_is_awaited`).
    pub aiter_awaited: bool,
    /// How an async generator's `yield` wraps its value first: ≤3.10 nothing (YIELD_VALUE
    /// does it), 3.11 `ASYNC_GEN_WRAP`, 3.12+ `CALL_INTRINSIC_1 INTRINSIC_ASYNC_GEN_WRAP`.
    pub async_gen_wrap: &'static [&'static str],
    /// 3.12+: a generator's or coroutine's body is covered by a handler that turns a
    /// StopIteration escaping it into RuntimeError (`CALL_INTRINSIC_1
    /// INTRINSIC_STOPITERATION_ERROR; RERAISE 1`); before, the interpreter did it itself.
    pub stop_iteration_handler: bool,
    /// 3.6: a generator turns an escaping StopIteration into RuntimeError only with this
    /// flag (`from __future__ import generator_stop`; see `generator_stop_flag`).
    pub generator_stop_flag: Option<u32>,
}

/// The families of `with` statements, told apart by their opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum With {
    /// ≤3.8: SETUP_WITH, and one cleanup for both ways out (WITH_CLEANUP_START/FINISH,
    /// END_FINALLY) entered with None (3.8: BEGIN_FINALLY's NULL) on the normal one.
    Cleanup,
    /// 3.9–3.10: SETUP_WITH; the normal way calls `__exit__(None, None, None)`, the handler
    /// WITH_EXCEPT_START.
    ExceptStart,
    /// 3.11–3.13: BEFORE_WITH and an exception-table region whose handler is WITH_EXCEPT_START.
    BeforeWith,
    /// 3.14+: LOAD_SPECIAL `__exit__` and `__enter__`, otherwise as `BeforeWith`.
    LoadSpecial,
}

/// The one call-layout fact the tables do not show: from 3.13 on the NULL slot of a call
/// sits *above* the callable (`LOAD_NAME f; PUSH_NULL`), in 3.11 and 3.12 below it
/// (`PUSH_NULL; LOAD_NAME f`). Both versions' CALL reads the same two slots; only their
/// order changed (CPython 3.13's "callable, self_or_null" stack layout).
fn null_after_callable(v: PythonVersion) -> bool {
    v >= PythonVersion::new(3, 13)
}

/// Up to 3.10 CALL_FUNCTION_EX copies keyword arguments that are not an exact dict into one;
/// from 3.11 it trusts the compiler, which always builds a fresh dict (`BUILD_MAP 0` and
/// `DICT_MERGE 1`) for `f(**m)`, so a mapping of another type would be used unchecked.
fn kwargs_must_be_a_dict(v: PythonVersion) -> bool {
    v >= PythonVersion::new(3, 11)
}

/// 3.8 swapped MAP_ADD's operands so that a dict comprehension evaluates the key before the
/// value (PEP 572's evaluation order); both take two values, so the tables cannot tell.
fn map_add_value_on_top(v: PythonVersion) -> bool {
    v >= PythonVersion::new(3, 8)
}

/// Up to 3.7 POP_BLOCK cuts the stack back to where its block started (the compilers then
/// return from inside a `try` without it: RETURN_VALUE unwinds the blocks itself); from 3.8
/// it only pops the block. Both have the same stack effect in the tables.
fn pop_block_unwinds(v: PythonVersion) -> bool {
    v < PythonVersion::new(3, 8)
}

/// 3.15 folded GET_YIELD_FROM_ITER into GET_ITER, whose argument tells what the iterator is
/// for: 0 a loop, else `yield from`. Making the code object rewrites any non-zero argument
/// by the code's flags: 3 (a plain generator: refuse a coroutine) or 2 (CO_COROUTINE or
/// CO_ITERABLE_COROUTINE: take it as it is), so 3 is what a compiled generator's co_code holds
/// and what pyasm writes (a `types.coroutine` copy gets its 2 on the way). The tables give
/// the opcode, not what its argument means.
const YIELD_FROM_GET_ITER: u32 = 3;

/// 3.12's compiler gives YIELD_VALUE the number of exception handlers covering it (its
/// flowgraph's except-stack depth; `close()` reads it) as its argument; 3.13 made it a flag
/// (1 inside `yield from` and `await`) and moved the count to RESUME. Both are a number in
/// the tables.
fn yield_arg_is_depth(v: PythonVersion) -> bool {
    v == PythonVersion::new(3, 12)
}

/// 3.6's GET_AITER still takes an `__aiter__` that returns an awaitable (PEP 492's first
/// form), so it wraps the iterator in one: the compiler awaits it with YIELD_FROM. 3.7 takes
/// the iterator as it is. The stack effects are the same.
fn aiter_is_awaited(v: PythonVersion) -> bool {
    v < PythonVersion::new(3, 7)
}

/// PEP 479: from 3.7 a StopIteration escaping a generator's body is a RuntimeError; 3.6 does
/// that for generators only under `from __future__ import generator_stop`, whose code flag
/// (CO_FUTURE_GENERATOR_STOP) the interpreter reads on the generator's code object.
/// Coroutines and async generators convert it in every version.
fn generator_stop_flag(v: PythonVersion) -> Option<u32> {
    (v < PythonVersion::new(3, 7)).then_some(0x80000)
}

impl Facts {
    pub fn of(t: &'static VersionTable) -> Facts {
        let has = |n: &str| t.by_name(n).is_some();
        let flag = |op: &str, word: &str| t.by_name(op).is_some_and(|o| o.flags.iter().any(|f| f.word == word));
        let make_function = t.by_name("MAKE_FUNCTION").expect("every version has MAKE_FUNCTION");
        let for_iter = t.by_name("FOR_ITER").expect("every version has FOR_ITER");
        Facts {
            table: t,
            resume: has("RESUME"),
            null_slot: has("PUSH_NULL"),
            null_after: null_after_callable(t.version),
            precall: has("PRECALL"),
            kw_names: has("KW_NAMES"),
            call_kw: has("CALL_KW"),
            call_method: has("CALL_METHOD"),
            load_method: has("LOAD_METHOD"),
            attr_method_flag: flag("LOAD_ATTR", "method"),
            global_null_flag: flag("LOAD_GLOBAL", "null"),
            to_bool: has("TO_BOOL"),
            compare_bool: flag("COMPARE_OP", "bool"),
            backward_branches: t.block_stack || t.pseudo_jump("POP_JUMP_IF_FALSE").is_some_and(|p| p.backward.is_some()),
            pseudo_jump: t.pseudo_jump("JUMP").is_some(),
            small_int: has("LOAD_SMALL_INT"),
            return_const: has("RETURN_CONST"),
            binary_op: has("BINARY_OP"),
            subscript_op: t.binary_ops.iter().any(|b| b.symbol == "[]"),
            unary_positive: has("UNARY_POSITIVE"),
            is_op: has("IS_OP"),
            make_function_qualname: make_function.pops.eval(0) == 2,
            set_function_attribute: has("SET_FUNCTION_ATTRIBUTE"),
            load_closure: has("LOAD_CLOSURE"),
            make_cell: has("MAKE_CELL"),
            return_generator: has("RETURN_GENERATOR"),
            gen_start: has("GEN_START"),
            yield_arg: t.by_name("YIELD_VALUE").is_some_and(|o| o.arg != ArgKind::None),
            load_fast_check: has("LOAD_FAST_CHECK"),
            rot: has("ROT_TWO"),
            get_iter_arg: t.by_name("GET_ITER").is_some_and(|o| o.arg != ArgKind::None),
            for_exit: for_exit(t, for_iter),
            pop_iter: has("POP_ITER"),
            setup_except: has("SETUP_EXCEPT"),
            pop_block_unwinds: pop_block_unwinds(t.version),
            jump_if_not_exc_match: has("JUMP_IF_NOT_EXC_MATCH"),
            end_finally: has("END_FINALLY"),
            reraise_arg: t.by_name("RERAISE").is_some_and(|o| o.arg != ArgKind::None),
            map_add_value_on_top: map_add_value_on_top(t.version),
            iter_width: (1 + t.by_name("GET_ITER").map_or(0, |o| o.stack.eval(0))).max(1) as usize,
            format_value: has("FORMAT_VALUE"),
            import_star: has("IMPORT_STAR"),
            call_ex_dict: kwargs_must_be_a_dict(t.version),
            call_ex_null_kwargs: t.by_name("CALL_FUNCTION_EX").is_some_and(|o| o.arg == ArgKind::None),
            with: if has("LOAD_SPECIAL") {
                With::LoadSpecial
            } else if has("BEFORE_WITH") {
                With::BeforeWith
            } else if has("WITH_EXCEPT_START") {
                With::ExceptStart
            } else {
                With::Cleanup
            },
            // LOAD_SPECIAL pushes the method and its self, kept for the call at the exit.
            yield_from_op: has("YIELD_FROM"),
            end_send: has("END_SEND"),
            yield_arg_depth: yield_arg_is_depth(t.version),
            resume_depth1: flag("RESUME", "depth1"),
            aiter_awaited: aiter_is_awaited(t.version),
            stop_iteration_handler: flag("CALL_INTRINSIC_1", "INTRINSIC_STOPITERATION_ERROR"),
            generator_stop_flag: generator_stop_flag(t.version),
            async_gen_wrap: if has("ASYNC_GEN_WRAP") {
                &["ASYNC_GEN_WRAP"]
            } else if flag("CALL_INTRINSIC_1", "INTRINSIC_ASYNC_GEN_WRAP") {
                &["CALL_INTRINSIC_1", "INTRINSIC_ASYNC_GEN_WRAP"]
            } else {
                &[]
            },
            yield_from_get_iter: if has("GET_YIELD_FROM_ITER") { None } else { Some(YIELD_FROM_GET_ITER) },
            with_exit_width: t.by_name("LOAD_SPECIAL").map_or(1, |o| (o.pops.eval(0) + o.stack.eval(0)).max(1) as usize),
        }
    }
}

/// The instructions at a loop's exit, from the stack effects: when FOR_ITER's jump leaves
/// values (3.12+: the iterator and a placeholder), END_FOR pops what it pops and the rest
/// is the iterator's, popped by POP_ITER where it exists, else POP_TOP.
fn for_exit(t: &'static VersionTable, for_iter: &crate::opcodes::OpInfo) -> &'static [&'static str] {
    let left = for_iter.pops.eval(0) + for_iter.jump_stack.eval(0);
    if left <= 0 {
        return &[];
    }
    let end_for = t.by_name("END_FOR").map_or(0, |o| o.pops.eval(0));
    match (left - end_for, t.by_name("POP_ITER").is_some()) {
        (0, _) => &["END_FOR"],
        (_, true) => &["END_FOR", "POP_ITER"],
        (_, false) => &["END_FOR", "POP_TOP"],
    }
}

#[cfg(test)]
mod tests {
    use super::Facts;
    use crate::opcodes::table_for;
    use crate::version::PythonVersion;

    fn facts(minor: u8) -> Facts {
        Facts::of(table_for(PythonVersion::new(3, minor)).expect("a table"))
    }

    #[test]
    fn loop_exits_come_from_the_stack_effects() {
        for minor in 6..=11 {
            assert!(facts(minor).for_exit.is_empty(), "3.{minor}");
        }
        assert_eq!(facts(12).for_exit, ["END_FOR"]);
        assert_eq!(facts(13).for_exit, ["END_FOR", "POP_TOP"]);
        assert_eq!(facts(14).for_exit, ["END_FOR", "POP_ITER"]);
        assert_eq!(facts(15).for_exit, ["END_FOR", "POP_ITER"]);
        assert_eq!(facts(15).iter_width, 2);
        assert_eq!(facts(14).iter_width, 1);
    }

    #[test]
    fn call_layout_per_version() {
        assert!(!facts(10).null_slot && facts(10).call_method && !facts(6).load_method);
        assert!(facts(11).null_slot && facts(11).precall && facts(11).kw_names && !facts(11).null_after);
        assert!(facts(12).kw_names && !facts(12).precall && facts(12).attr_method_flag);
        assert!(facts(13).call_kw && facts(13).null_after && facts(13).set_function_attribute);
        assert!(facts(10).make_function_qualname && !facts(11).make_function_qualname);
    }

    #[test]
    fn branches_and_constants_per_version() {
        assert!(facts(11).backward_branches && !facts(12).backward_branches && facts(6).backward_branches);
        assert!(!facts(12).to_bool && facts(13).to_bool && facts(13).compare_bool);
        assert!(facts(12).return_const && facts(13).return_const && !facts(14).return_const);
        assert!(facts(14).small_int && facts(14).subscript_op && !facts(13).subscript_op);
        assert!(facts(8).end_finally && facts(9).jump_if_not_exc_match && !facts(9).end_finally);
        assert!(facts(7).setup_except && !facts(8).setup_except && facts(7).pop_block_unwinds);
    }
}
