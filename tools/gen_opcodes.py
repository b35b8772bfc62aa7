#!/usr/bin/env python3
"""Print the Rust instruction table of the running CPython, for src/opcodes/v<X>_<Y>.rs.

Usage (the interpreter chooses the version):

    /path/to/python3.11 tools/gen_opcodes.py > src/opcodes/v3_11.rs

Every number in the output comes from the running interpreter itself: its `opcode` and
`dis` modules, `importlib.util.MAGIC_NUMBER` and `marshal.version`. The only hand-written
knowledge is the small per-version rule set in `RULES` below (flag words, how control leaves
an instruction, which relative jumps go backward, the direction-free jump names, how many
values each instruction takes from the stack). To support
another version, add an entry to `RULES` (usually a copy of a neighbour with a few changes)
and, where the interpreter's modules differ, adjust the helpers marked "version-dependent".

Stack effects are not copied from anywhere: they are measured by calling
`dis.stack_effect` on many arguments and fitted to the shape pyasm evaluates,
`base + sum(coef * ((oparg >> shift) & mask))` plus a short list of per-argument
exceptions. The script refuses (exits non-zero) rather than emit a formula that does not
reproduce every measured value.

How many values an instruction takes (`pops`, the depth it needs before it runs) is not
exposed by the interpreter, so it is a hand-written rule per version, read off the
interpreter's instruction bodies. It is checked against the measured effects: the values an
instruction leaves, `pops + effect`, must never be negative, on either exit, at any sampled
argument; an instruction that shrinks the stack but is missing from the rule fails that check.
"""

import dis
import importlib.util
import marshal
import opcode
import re
import sys

import signatures

VERSION = sys.version_info[:2]

# ---------------------------------------------------------------------------------------------
# Per-version rules
# ---------------------------------------------------------------------------------------------

# Words accepted as flags of an argument, as (word, bits) pairs, keyed by opcode name.
# MAKE_FUNCTION's words are taken from dis.MAKE_FUNCTION_FLAGS when the interpreter has it
# (see flag_words()); the list here is the fallback.
_FLAGS_3_11 = {
    "LOAD_GLOBAL": [("null", 1)],
    "MAKE_FUNCTION": [("defaults", 1), ("kwdefaults", 2), ("annotations", 4), ("closure", 8)],
    "FORMAT_VALUE": [("str", 1), ("repr", 2), ("ascii", 3), ("spec", 4)],
    "RESUME": [("start", 0), ("yield", 1), ("yield_from", 2), ("await", 3)],
    "IS_OP": [("is", 0), ("is_not", 1)],
    "CONTAINS_OP": [("in", 0), ("not_in", 1)],
    "RAISE_VARARGS": [("reraise", 0), ("exc", 1), ("exc_from", 2)],
}

# Formulas in the shape pyasm evaluates (see StackEffect in src/opcodes/mod.rs):
# (base, [(shift, mask, coef), ...], [(oparg, value), ...]). A plain int is a constant.
WHOLE_ARG = 0xFFFFFFFF


def formula(base, *terms, exceptions=None):
    return (base, list(terms), sorted((exceptions or {}).items()))


def times_arg(coef, plus=0):
    """`plus + coef * oparg`."""
    return formula(plus, (0, WHOLE_ARG, coef))


def arg_bit(bit, coef=1):
    """A term adding `coef` when bit `bit` of the argument is set."""
    return (bit, 1, coef)


# How many values each instruction takes from the stack: the depth it needs before it runs.
# Instructions not listed take none. An instruction that only reads a value deep in the stack
# (COPY n, SWAP n, LIST_APPEND's list, ...) still counts it here, and gives it back in what it
# leaves (pops + effect); where the exits differ (FOR_ITER, SEND, JUMP_IF_*_OR_POP) this is the
# most any exit reads. Error paths count too: DICT_MERGE's error message reads the callable
# two slots below its dict.
_POPS_3_11 = {
    **dict.fromkeys(
        (
            # take one value
            "POP_TOP", "PRINT_EXPR", "RETURN_VALUE", "IMPORT_STAR", "POP_EXCEPT",
            "STORE_NAME", "STORE_GLOBAL", "STORE_FAST", "STORE_DEREF", "DELETE_ATTR",
            "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_FORWARD_IF_TRUE",
            "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE",
            "POP_JUMP_BACKWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_TRUE",
            "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE",
            # replace the top value
            "UNARY_POSITIVE", "UNARY_NEGATIVE", "UNARY_NOT", "UNARY_INVERT", "GET_ITER",
            "GET_YIELD_FROM_ITER", "GET_AITER", "GET_AWAITABLE", "ASYNC_GEN_WRAP",
            "LIST_TO_TUPLE", "LOAD_ATTR", "YIELD_VALUE",
            # read the top value and push more
            "GET_LEN", "MATCH_MAPPING", "MATCH_SEQUENCE", "PUSH_EXC_INFO", "GET_ANEXT",
            "BEFORE_WITH", "BEFORE_ASYNC_WITH", "IMPORT_FROM", "LOAD_METHOD",
            "UNPACK_SEQUENCE", "UNPACK_EX",
            # exits differ: keep or drop the top value
            "FOR_ITER", "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP",
        ),
        1,
    ),
    **dict.fromkeys(
        (
            "BINARY_OP", "BINARY_SUBSCR", "COMPARE_OP", "IS_OP", "CONTAINS_OP",
            "IMPORT_NAME", "PREP_RERAISE_STAR", "STORE_ATTR", "DELETE_SUBSCR",
            "END_ASYNC_FOR", "CHECK_EXC_MATCH", "CHECK_EG_MATCH", "MATCH_KEYS", "SEND",
        ),
        2,
    ),
    "STORE_SUBSCR": 3,
    "MATCH_CLASS": 3,  # subject, class, attribute names
    "WITH_EXCEPT_START": 4,  # __exit__, lasti, previous exception, exception
    # (NULL or method), (callable or self), oparg arguments
    "PRECALL": times_arg(1, plus=2),
    "CALL": times_arg(1, plus=2),
    # NULL, callable, positional tuple, and the keyword dict when bit 0 is set
    "CALL_FUNCTION_EX": formula(3, arg_bit(0)),
    # the code object, plus one value per flag bit
    "MAKE_FUNCTION": formula(1, arg_bit(0), arg_bit(1), arg_bit(2), arg_bit(3)),
    "FORMAT_VALUE": formula(1, arg_bit(2)),  # the value, and the format spec when bit 2 is set
    "BUILD_SLICE": formula(2, exceptions={3: 3}),
    "RAISE_VARARGS": times_arg(1),
    "RERAISE": times_arg(1, plus=1),  # with oparg, it reads lasti oparg+1 deep
    "BUILD_TUPLE": times_arg(1),
    "BUILD_LIST": times_arg(1),
    "BUILD_SET": times_arg(1),
    "BUILD_STRING": times_arg(1),
    "BUILD_MAP": times_arg(2),
    "BUILD_CONST_KEY_MAP": times_arg(1, plus=1),  # the values and the keys tuple
    "COPY": times_arg(1),  # reads oparg deep, leaves oparg + 1
    "SWAP": times_arg(1),  # reads oparg deep, leaves oparg
    # the added value(s), and the container oparg deep below them
    "LIST_APPEND": times_arg(1, plus=1),
    "SET_ADD": times_arg(1, plus=1),
    "LIST_EXTEND": times_arg(1, plus=1),
    "SET_UPDATE": times_arg(1, plus=1),
    "DICT_UPDATE": times_arg(1, plus=1),
    "MAP_ADD": times_arg(1, plus=2),
    "DICT_MERGE": times_arg(1, plus=3),  # its error message names the callable 2 below the dict
}

def _with(base, **changes):
    """A copy of a version's rules with some entries replaced (`None` deletes an entry of a
    dict-valued rule when given as `drop_<rule>=[names]`)."""
    rules = {key: (dict(value) if isinstance(value, dict) else value) for key, value in base.items()}
    for key, value in changes.items():
        if key.startswith("drop_"):
            table = rules[key[5:]]
            for name in value:
                if isinstance(table, dict):
                    table.pop(name, None)
                else:
                    table = table - {name}
            rules[key[5:]] = table
        elif key.startswith("add_"):
            table = rules[key[4:]]
            if isinstance(table, dict):
                table.update(value)
            else:
                table = table | set(value)
            rules[key[4:]] = table
        else:
            rules[key] = value
    return rules


_RULES_3_11 = {
    "flags": _FLAGS_3_11,
    # Table-index operands stored as `index << shift` (the low bits hold flags).
    "shift": {"LOAD_GLOBAL": 1},
    # Operand kinds that the interpreter's has* lists do not tell (or tell differently).
    # "Enum": a number chosen from named values (the flag words, each a whole value), which
    # the disassembler writes by name; "LocalPair": two locals packed as (first << 4) | second.
    "kinds": {},
    # Instructions never written in bytecode files: the interpreter's own internals.
    "skip": set(),
    # Instructions that leave the code object.
    "exit": {"RETURN_VALUE", "RAISE_VARARGS", "RERAISE"},
    # Jumps that always jump; every other jump is a branch.
    "always_jump": {"JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"},
    # Instructions with a jump-style operand that do not jump: control falls through.
    "no_jump": set(),
    # Relative jumps whose name contains one of these go backward; the rest go forward.
    "backward_marks": ("BACKWARD",),
    # ... and these go backward too, whatever their name.
    "backward_names": set(),
    # Direction-free names are derived from opmap names by deleting these words ...
    "direction_words": ("_FORWARD", "_BACKWARD"),
    # ... and where a family has only one direction, its other half is given here.
    "pseudo_extra": {"JUMP_NO_INTERRUPT": {"forward": "JUMP_FORWARD"}},
    # COMPARE_OP's argument: the operator's index shifted left by this; the low bits the
    # compiler sets for each operator are measured (see compare_ops()).
    "compare_shift": 0,
    # Stack effects that differ from dis.stack_effect on purpose. RETURN_GENERATOR: the
    # compiler inserts it after computing the stack depth, so dis reports 0; but when the
    # generator is resumed, execution continues after it with the sent value pushed (which
    # the POP_TOP after it removes). The verifier follows execution, so it needs +1.
    # PRECALL/CALL: the compiler books a call's arguments to PRECALL (-oparg) and the rest
    # to CALL (-1), but at run time PRECALL takes nothing away and CALL removes all
    # oparg + 2 values and pushes the result. The verifier needs the run-time depth
    # between them, so that a CALL (which may also stand alone) can be checked for the
    # oparg + 2 values it takes.
    "effect_overrides": {
        "RETURN_GENERATOR": 1,
        "PRECALL": 0,
        "CALL": times_arg(-1, plus=-1),
    },
    # Overrides that only move effect between instructions the compiler always emits
    # together: over the sequence, the total must still equal dis.stack_effect's.
    "override_sequences": [("PRECALL", "CALL")],
    "pops": _POPS_3_11,
    # Kind bits of fast locals, per version (not visible from Python, so stated here): 3.12
    # added the hidden bit, 3.14 the argument kinds of parameters.
    "hidden_locals": False,
    "param_kinds": False,
    # How the location table is cut: 3.11 writes an entry per instruction, 3.12+ one per run
    # of instructions sharing a position (both split runs longer than 8 code units).
    "merge_locations": False,
    # 3.14+: CO_HAS_DOCSTRING replaces the leading docstring-or-None constant of functions,
    # and CO_METHOD marks functions defined directly in a class body.
    "docstring_flag": False,
    # How the compiler's jump-offset fixed point starts: from zero (3.11, 3.12), or from each
    # jump's target instruction index (3.13+; seen as EXTENDED_ARGs a smaller layout avoids).
    "jumps_start_at_index": False,
    # Versions whose dis.stack_effect has no `jump=` keyword (3.6, 3.7): the two effects of
    # each instruction whose exits differ, (falls through, jumps). See _JUMP_EFFECTS_3_7.
    "jump_effects": {},
    # ... and those of them whose single dis.stack_effect number is not the larger of the two.
    "rebooked_jumps": set(),
    # Values on the stack when a generator or coroutine starts: 3.10's compiler counts the
    # first sent value, which GEN_START pops; other versions push nothing at the start.
    "generator_entry_depth": 0,
    # Where paths meet with different depths (DepthMerge in src/opcodes/mod.rs): "Equal"
    # (3.11+), "Larger" (3.7–3.10 compilers keep the larger), "First" (3.6, see _RULES_3_6).
    "depth_merge": "Equal",
    # 3.6: co_stacksize by the compiler's own path walk, which moves a jump's target depth by
    # these amounts after the instruction's one booked effect (FOR_ITER drops its iterator and
    # the value it did not push; SETUP_EXCEPT/SETUP_FINALLY add 3 to their 6). None: the
    # version has no such walk.
    "path_walk_targets": None,
}

# 3.12: PRECALL is gone (CALL takes the whole call), conditional jumps only go forward,
# LOAD_ATTR and LOAD_SUPER_ATTR pack flag bits below the name, COMPARE_OP packs a mask below
# the operator, intrinsics replace several small instructions.
_POPS_3_12 = dict(_POPS_3_11)
for _name in (
    "PRINT_EXPR", "IMPORT_STAR", "UNARY_POSITIVE", "ASYNC_GEN_WRAP", "LIST_TO_TUPLE",
    "LOAD_METHOD", "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP", "PREP_RERAISE_STAR",
    "PRECALL", "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_FORWARD_IF_TRUE",
    "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE", "POP_JUMP_BACKWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE",
):
    del _POPS_3_12[_name]
_POPS_3_12.update(
    {
        **dict.fromkeys(
            (
                "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_IF_NONE",
                "POP_JUMP_IF_NOT_NONE", "CALL_INTRINSIC_1", "LOAD_FROM_DICT_OR_GLOBALS",
                "LOAD_FROM_DICT_OR_DEREF",
            ),
            1,
        ),
        **dict.fromkeys(("END_FOR", "END_SEND", "CALL_INTRINSIC_2"), 2),
        # (global super, class, self); (iterable, start, stop); (sub-iterator, sent, exception)
        **dict.fromkeys(("LOAD_SUPER_ATTR", "BINARY_SLICE", "CLEANUP_THROW"), 3),
        "STORE_SLICE": 4,  # value, container, start, stop
    }
)

_RULES_3_12 = _with(
    _RULES_3_11,
    flags={
        **{k: v for k, v in _FLAGS_3_11.items()},
        "LOAD_ATTR": [("method", 1)],
        # bit 0: load a method (push NULL|self); bit 1: super was called with two arguments
        "LOAD_SUPER_ATTR": [("method", 1), ("two_args", 2)],
    },
    shift={"LOAD_GLOBAL": 1, "LOAD_ATTR": 1, "LOAD_SUPER_ATTR": 2},
    kinds={"CALL_INTRINSIC_1": "Enum", "CALL_INTRINSIC_2": "Enum"},
    skip={"INTERPRETER_EXIT", "RESERVED"},
    add_exit={"RETURN_CONST"},
    compare_shift=4,
    effect_overrides={"RETURN_GENERATOR": 1},
    override_sequences=[],
    pops=_POPS_3_12,
    hidden_locals=True,
    merge_locations=True,
)

# 3.13: TO_BOOL before conditional jumps, CALL_KW, MAKE_FUNCTION without an argument and
# SET_FUNCTION_ATTRIBUTE, FORMAT_SIMPLE/FORMAT_WITH_SPEC/CONVERT_VALUE, superinstructions on
# pairs of locals, caches on jumps.
_POPS_3_13 = dict(_POPS_3_12)
for _name in ("KW_NAMES", "FORMAT_VALUE", "LOAD_CLOSURE", "MAKE_FUNCTION"):
    _POPS_3_13.pop(_name, None)
_POPS_3_13.update(
    {
        **dict.fromkeys(
            ("TO_BOOL", "FORMAT_SIMPLE", "CONVERT_VALUE", "STORE_FAST_LOAD_FAST",
             "EXIT_INIT_CHECK", "MAKE_FUNCTION", "END_FOR"),
            1,
        ),
        **dict.fromkeys(("FORMAT_WITH_SPEC", "SET_FUNCTION_ATTRIBUTE", "STORE_FAST_STORE_FAST"), 2),
        # callable, self or NULL, oparg arguments, the tuple of keyword names
        "CALL_KW": times_arg(1, plus=3),
        # its error message names the callable three slots below the dict
        "DICT_MERGE": times_arg(1, plus=4),
    }
)
_FLAGS_3_13 = {k: v for k, v in _RULES_3_12["flags"].items() if k not in ("FORMAT_VALUE", "MAKE_FUNCTION")}
_FLAGS_3_13.update(
    {
        "COMPARE_OP": [("bool", 16)],  # the result is converted to bool (TO_BOOL folded in)
        # bit 2: the resume point is inside exactly one `except` block
        "RESUME": _FLAGS_3_11["RESUME"] + [("depth1", 4)],
        "CONVERT_VALUE": [("str", 1), ("repr", 2), ("ascii", 3)],
    }
)
_RULES_3_13 = _with(
    _RULES_3_12,
    flags=_FLAGS_3_13,
    kinds={
        **_RULES_3_12["kinds"],
        "CONVERT_VALUE": "Enum",
        "SET_FUNCTION_ATTRIBUTE": "Enum",
        "LOAD_FAST_LOAD_FAST": "LocalPair",
        "STORE_FAST_STORE_FAST": "LocalPair",
        "STORE_FAST_LOAD_FAST": "LocalPair",
    },
    compare_shift=5,
    effect_overrides={},
    jumps_start_at_index=True,
    pops=_POPS_3_13,
)

# 3.14: LOAD_SPECIAL replaces BEFORE_WITH, BINARY_OP [] replaces BINARY_SUBSCR, small ints and
# common constants get their own loads, NOT_TAKEN/POP_ITER, END_ASYNC_FOR names its loop start,
# template strings, CALL_FUNCTION_EX always takes four values.
_POPS_3_14 = dict(_POPS_3_13)
for _name in ("BEFORE_WITH", "BEFORE_ASYNC_WITH", "BINARY_SUBSCR", "BUILD_CONST_KEY_MAP"):
    _POPS_3_14.pop(_name, None)
_POPS_3_14.update(
    {
        **dict.fromkeys(("LOAD_SPECIAL", "POP_ITER"), 1),
        "BUILD_TEMPLATE": 2,  # the strings tuple and the interpolations tuple
        # value, expression text, and the format spec when bit 0 is set
        "BUILD_INTERPOLATION": formula(2, arg_bit(0)),
        "CALL_FUNCTION_EX": 4,  # callable, self or NULL, positional tuple, keyword dict or NULL
        "WITH_EXCEPT_START": 5,  # __exit__, its self, lasti, previous exception, exception
        "BUILD_SLICE": times_arg(1),  # takes oparg values (2 or 3)
    }
)
_RULES_3_14 = _with(
    _RULES_3_13,
    kinds={**_RULES_3_13["kinds"], "LOAD_COMMON_CONSTANT": "Enum", "LOAD_SPECIAL": "Enum",
           "LOAD_FAST_BORROW_LOAD_FAST_BORROW": "LocalPair"},
    drop_exit={"RETURN_CONST"},
    # END_ASYNC_FOR's argument points back at the loop's start (for monitoring), but the
    # instruction itself falls through.
    backward_names={"END_ASYNC_FOR"},
    no_jump={"END_ASYNC_FOR"},
    pops=_POPS_3_14,
    param_kinds=True,
    docstring_flag=True,
)

# 3.15: GET_ITER takes an argument and pushes an index slot with the iterator (the loop
# instructions read both), lazy imports mark IMPORT_NAME.
_POPS_3_15 = dict(_POPS_3_14)
_POPS_3_15.pop("GET_YIELD_FROM_ITER", None)
# SEND and END_SEND work on the receiver's pair too: the receiver, its index slot, the value
_POPS_3_15.update({"POP_ITER": 2, "FOR_ITER": 2, "SEND": 3, "END_SEND": 3})
_RULES_3_15 = _with(
    _RULES_3_14,
    flags={
        **_RULES_3_14["flags"],
        "IMPORT_NAME": [("lazy", 1), ("eager", 2)],
        # the location field grew to three bits; the except-depth bit moved up
        "RESUME": _FLAGS_3_11["RESUME"] + [("depth1", 8)],
    },
    shift={**_RULES_3_14["shift"], "IMPORT_NAME": 2},
    pops=_POPS_3_15,
)

# ---------------------------------------------------------------------------------------------
# 3.6 – 3.10: the block stack (no exception table), separate binary-operator opcodes, absolute
# jumps, jump arguments in bytes (3.6–3.9) or instructions (3.10), no inline caches.
# ---------------------------------------------------------------------------------------------

_FLAGS_3_6 = {
    "MAKE_FUNCTION": [("defaults", 1), ("kwdefaults", 2), ("annotations", 4), ("closure", 8)],
    "FORMAT_VALUE": [("str", 1), ("repr", 2), ("ascii", 3), ("spec", 4)],
    "RAISE_VARARGS": [("reraise", 0), ("exc", 1), ("exc_from", 2)],
}

_BINARY_OPCODES = (
    "BINARY_MATRIX_MULTIPLY", "INPLACE_MATRIX_MULTIPLY", "BINARY_POWER", "BINARY_MULTIPLY",
    "BINARY_MODULO", "BINARY_ADD", "BINARY_SUBTRACT", "BINARY_SUBSCR", "BINARY_FLOOR_DIVIDE",
    "BINARY_TRUE_DIVIDE", "INPLACE_FLOOR_DIVIDE", "INPLACE_TRUE_DIVIDE", "INPLACE_ADD",
    "INPLACE_SUBTRACT", "INPLACE_MULTIPLY", "INPLACE_MODULO", "BINARY_LSHIFT", "BINARY_RSHIFT",
    "BINARY_AND", "BINARY_XOR", "BINARY_OR", "INPLACE_POWER", "INPLACE_LSHIFT",
    "INPLACE_RSHIFT", "INPLACE_AND", "INPLACE_XOR", "INPLACE_OR",
)

_POPS_3_6 = {
    **dict.fromkeys(
        (
            # take one value
            "POP_TOP", "PRINT_EXPR", "RETURN_VALUE", "IMPORT_STAR", "STORE_NAME", "STORE_GLOBAL",
            "STORE_FAST", "STORE_DEREF", "DELETE_ATTR", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE",
            "STORE_ANNOTATION",
            # replace or read the top value
            "UNARY_POSITIVE", "UNARY_NEGATIVE", "UNARY_NOT", "UNARY_INVERT", "GET_ITER",
            "GET_YIELD_FROM_ITER", "GET_AITER", "GET_ANEXT", "GET_AWAITABLE", "LOAD_ATTR",
            "YIELD_VALUE", "IMPORT_FROM", "UNPACK_SEQUENCE", "UNPACK_EX", "DUP_TOP",
            "BEFORE_ASYNC_WITH",
            # the context manager (SETUP_WITH) or __aenter__'s result (SETUP_ASYNC_WITH)
            "SETUP_WITH", "SETUP_ASYNC_WITH",
            # exits differ: keep or drop the top value
            "FOR_ITER", "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP",
        ),
        1,
    ),
    **dict.fromkeys(_BINARY_OPCODES, 2),
    **dict.fromkeys(
        ("COMPARE_OP", "IMPORT_NAME", "STORE_ATTR", "DELETE_SUBSCR", "ROT_TWO", "DUP_TOP_TWO",
         "YIELD_FROM",
         # __exit__ and what the `finally` block was entered with (the normal path's None)
         "WITH_CLEANUP_START"),
        2,
    ),
    **dict.fromkeys(("STORE_SUBSCR", "ROT_THREE", "WITH_CLEANUP_FINISH", "POP_EXCEPT"), 3),
    # the six values an exception handler is entered with (as the compilers book it)
    "END_FINALLY": 6,
    "CALL_FUNCTION": times_arg(1, plus=1),  # the callable and oparg arguments
    "CALL_FUNCTION_KW": times_arg(1, plus=2),  # ... and the tuple of keyword names
    # the callable, the positional tuple, and the keyword dict when bit 0 is set
    "CALL_FUNCTION_EX": formula(2, arg_bit(0)),
    # the code object and the qualified name, plus one value per flag bit
    "MAKE_FUNCTION": formula(2, arg_bit(0), arg_bit(1), arg_bit(2), arg_bit(3)),
    "FORMAT_VALUE": formula(1, arg_bit(2)),
    "BUILD_SLICE": formula(2, exceptions={3: 3}),
    "RAISE_VARARGS": times_arg(1),
    "BUILD_TUPLE": times_arg(1),
    "BUILD_LIST": times_arg(1),
    "BUILD_SET": times_arg(1),
    "BUILD_STRING": times_arg(1),
    "BUILD_MAP": times_arg(2),
    "BUILD_CONST_KEY_MAP": times_arg(1, plus=1),
    "BUILD_TUPLE_UNPACK": times_arg(1),
    "BUILD_LIST_UNPACK": times_arg(1),
    "BUILD_SET_UNPACK": times_arg(1),
    "BUILD_MAP_UNPACK": times_arg(1),
    # the error messages name the callable below the iterables / mappings
    "BUILD_TUPLE_UNPACK_WITH_CALL": times_arg(1, plus=1),
    "BUILD_MAP_UNPACK_WITH_CALL": times_arg(1, plus=2),
    "LIST_APPEND": times_arg(1, plus=1),
    "SET_ADD": times_arg(1, plus=1),
    "MAP_ADD": times_arg(1, plus=2),
}

# How the 3.7+ compilers book the block-stack instructions: (falls through, jumps). 3.6 and
# 3.7 have no `jump=` keyword on dis.stack_effect, which there gives one number: for 3.7 the
# larger of the two (checked), for 3.6 see the 3.6 rules below.
_JUMP_EFFECTS_3_7 = {
    "SETUP_LOOP": (0, 0),
    # nothing on the normal path; the handler is entered with 6 values (3 for the exception
    # being handled, 3 for the one it replaces)
    "SETUP_EXCEPT": (0, 6),
    "SETUP_FINALLY": (0, 6),
    # replaces the context manager with __exit__ and __enter__'s result; the handler has
    # __exit__ and the 6 values
    "SETUP_WITH": (1, 6),
    # __aenter__'s awaited result stays on the normal path; the handler loses it
    "SETUP_ASYNC_WITH": (0, 5),
    "FOR_ITER": (1, -1),  # pushes the next value, or drops the exhausted iterator and jumps
    "JUMP_IF_FALSE_OR_POP": (-1, 0),
    "JUMP_IF_TRUE_OR_POP": (-1, 0),
}

_RULES_3_7 = _with(
    _RULES_3_11,
    flags=_FLAGS_3_6,
    shift={},
    kinds={},
    skip=set(),
    # BREAK_LOOP and CONTINUE_LOOP leave through the block stack (unwinding `finally` blocks
    # on the way), popping a varying number of values; the compilers follow neither: the
    # loop's SETUP_LOOP edge and its start already have their depths.
    exit={"RETURN_VALUE", "RAISE_VARARGS", "BREAK_LOOP", "CONTINUE_LOOP"},
    always_jump={"JUMP_FORWARD", "JUMP_ABSOLUTE"},
    backward_marks=(),
    direction_words=(),
    pseudo_extra={},
    # dis.stack_effect rejects these two here (the compiler never books them); neither
    # changes the stack
    effect_overrides={"NOP": 0, "EXTENDED_ARG": 0},
    override_sequences=[],
    jump_effects=_JUMP_EFFECTS_3_7,
    depth_merge="Larger",
    pops={
        **_POPS_3_6,
        "LOAD_METHOD": 1,  # the object; pushes the method and self (or NULL and the attribute)
        "CALL_METHOD": times_arg(1, plus=2),  # method or NULL, self or callable, the arguments
        # __exit__ and the six values the finally block was entered with (as booked)
        "WITH_CLEANUP_START": 7,
        # ... then the gap, the exception (or None) and __exit__'s result
        "WITH_CLEANUP_FINISH": 9,
    },
)
del _RULES_3_7["pops"]["STORE_ANNOTATION"]

# 3.6: its compiler books the block-stack instructions differently from 3.7 (SETUP_* add
# their handler's values on the normal path too, END_FINALLY -1, POP_EXCEPT 0, ...) and walks
# every path keeping the largest depth, which over-counts. The interpreter runs these
# instructions as 3.7's does, so pyasm books them as 3.7's compiler does (checked against
# 3.7's interpreter by tests/opcode_tables.rs); the stack size of a 3.6 code object with
# `try` or `with` may then be smaller than 3.6's compiler writes (`.stacksize` keeps it).
_RULES_3_6 = _with(
    _RULES_3_7,
    pops={k: v for k, v in _RULES_3_7["pops"].items() if k not in ("LOAD_METHOD", "CALL_METHOD")},
    effect_overrides={
        **_RULES_3_7["effect_overrides"],
        "END_FINALLY": -6,
        "POP_EXCEPT": -3,
        "WITH_CLEANUP_START": 2,
        "WITH_CLEANUP_FINISH": -3,
    },
    # whose single dis.stack_effect number is not the larger of the two (3.6's own booking)
    rebooked_jumps={"SETUP_WITH", "SETUP_ASYNC_WITH"},
    # With 3.7's booking, 3.6's `except E as e` code leaves three values more around a loop
    # (its POP_EXCEPT comes before the cleanup, 3.7's after): the first depth stays.
    depth_merge="First",
    path_walk_targets={"FOR_ITER": -2, "SETUP_EXCEPT": 3, "SETUP_FINALLY": 3},
)
_RULES_3_6["pops"]["STORE_ANNOTATION"] = 1

# 3.8: SETUP_LOOP, SETUP_EXCEPT, BREAK_LOOP and CONTINUE_LOOP are gone (loops are plain
# jumps); finally blocks are entered by BEGIN_FINALLY or CALL_FINALLY and left by
# POP_FINALLY; dis.stack_effect takes `jump=`.
_POPS_3_8 = dict(_RULES_3_7["pops"])
_POPS_3_8.update(
    {
        "ROT_FOUR": 4,
        "END_ASYNC_FOR": 7,  # the async iterator and the 6 exception values
        "POP_FINALLY": formula(6, arg_bit(0)),  # what the finally block was entered with, as
        # the compiler books it, and with an argument the value kept above
        # __exit__ and the six values the finally block was entered with (as booked)
        "WITH_CLEANUP_START": 7,
        # ... then the gap, the exception (or None) and __exit__'s result
        "WITH_CLEANUP_FINISH": 9,
    }
)
_RULES_3_8 = _with(
    _RULES_3_7,
    exit={"RETURN_VALUE", "RAISE_VARARGS"},
    always_jump={"JUMP_FORWARD", "JUMP_ABSOLUTE"},
    # CALL_FINALLY runs the finally block and comes back after itself (POP_FINALLY or
    # END_FINALLY return there); the compiler does not follow its target, whose depth the
    # block's other entries fix.
    no_jump={"CALL_FINALLY"},
    effect_overrides={},
    jump_effects={},
    pops=_POPS_3_8,
)

# 3.9: RERAISE, WITH_EXCEPT_START, JUMP_IF_NOT_EXC_MATCH, IS_OP, CONTAINS_OP,
# LIST_EXTEND and friends; BEGIN_FINALLY, END_FINALLY, CALL_FINALLY, POP_FINALLY,
# WITH_CLEANUP_* and the *_UNPACK builders are gone.
_POPS_3_9 = {
    k: v for k, v in _POPS_3_8.items()
    if k not in ("END_FINALLY", "POP_FINALLY", "WITH_CLEANUP_START", "WITH_CLEANUP_FINISH")
    and not k.endswith("_UNPACK") and not k.endswith("_UNPACK_WITH_CALL")
}
_POPS_3_9.update(
    {
        **dict.fromkeys(("LIST_TO_TUPLE",), 1),
        **dict.fromkeys(("IS_OP", "CONTAINS_OP", "JUMP_IF_NOT_EXC_MATCH"), 2),
        "RERAISE": 3,  # the exception's three values
        "WITH_EXCEPT_START": 7,  # __exit__ below the 6 exception values
        "LIST_EXTEND": times_arg(1, plus=1),
        "SET_UPDATE": times_arg(1, plus=1),
        "DICT_UPDATE": times_arg(1, plus=1),
        "DICT_MERGE": times_arg(1, plus=3),  # its error message names the callable
    }
)
_RULES_3_9 = _with(
    _RULES_3_8,
    flags={
        **_FLAGS_3_6,
        "IS_OP": [("is", 0), ("is_not", 1)],
        "CONTAINS_OP": [("in", 0), ("not_in", 1)],
    },
    exit={"RETURN_VALUE", "RAISE_VARARGS", "RERAISE"},
    no_jump=set(),
    pops=_POPS_3_9,
)

# 3.10: jump arguments count instructions, pattern matching, ROT_N, GEN_START, RERAISE takes
# an argument (whether to restore f_lasti).
_POPS_3_10 = dict(_POPS_3_9)
_POPS_3_10.update(
    {
        **dict.fromkeys(("GET_LEN", "MATCH_MAPPING", "MATCH_SEQUENCE", "GEN_START"), 1),
        **dict.fromkeys(("MATCH_KEYS", "COPY_DICT_WITHOUT_KEYS"), 2),
        "MATCH_CLASS": 3,  # subject, class, attribute names
        "ROT_N": times_arg(1),
    }
)
_RULES_3_10 = _with(
    _RULES_3_9,
    kinds={"GEN_START": "Enum"},
    generator_entry_depth=1,
    flags={**_RULES_3_9["flags"], "GEN_START": [("generator", 0), ("coroutine", 1), ("async_generator", 2)]},
    pops=_POPS_3_10,
)

RULES = {
    (3, 6): _RULES_3_6,
    (3, 7): _RULES_3_7,
    (3, 8): _RULES_3_8,
    (3, 9): _RULES_3_9,
    (3, 10): _RULES_3_10,
    (3, 11): _RULES_3_11,
    (3, 12): _RULES_3_12,
    (3, 13): _RULES_3_13,
    (3, 14): _RULES_3_14,
    (3, 15): _RULES_3_15,
}

# ---------------------------------------------------------------------------------------------
# Reading the interpreter (version-dependent helpers)
# ---------------------------------------------------------------------------------------------


def specialized_names():
    """Names of the specialized/adaptive instructions, which pyasm never writes."""
    names = set(getattr(opcode, "_specialized_instructions", ()))  # 3.11
    for family in getattr(opcode, "_specializations", {}).values():  # 3.12
        names.update(family)
    names.update(getattr(opcode, "_specialized_opmap", {}))  # 3.13+
    return names


def real_opcodes(rules):
    """(name, number) of every instruction the table should hold, sorted by number."""
    skip = specialized_names() | rules["skip"]
    ops = []
    for name, code in opcode.opmap.items():
        if name in skip or name.startswith("INSTRUMENTED_") or name in ("ENTER_EXECUTOR", "TRACE_RECORD"):
            continue
        if code > 255:  # pseudo-instructions (3.12+) never reach the bytecode
            continue
        ops.append((name, code))
    ops.sort(key=lambda item: item[1])
    return ops


def takes_arg(code):
    if hasattr(opcode, "hasarg"):  # 3.12+: HAVE_ARGUMENT no longer splits the numbers cleanly
        return code in opcode.hasarg
    return code >= opcode.HAVE_ARGUMENT


def cache_entries(code):
    entries = getattr(opcode, "_inline_cache_entries", None)
    if entries is None:
        return 0
    if hasattr(entries, "get"):  # 3.13+: a mapping keyed by name
        return entries.get(opcode.opname[code], 0)
    return entries[code] if code < len(entries) else 0


def jump_unit():
    """Bytes per unit of a jump argument, measured on a compiled backward jump: 1 (3.6–3.9,
    byte offsets) or 2 (3.10+, code units)."""
    code = compile("while x:\n    y()\n", "<loop>", "exec")
    for ins in dis.get_instructions(code):
        if ins.opcode in opcode.hasjabs or ins.opcode in opcode.hasjrel:
            if ins.arg:
                offset = ins.argval if ins.opcode in opcode.hasjabs else ins.argval - ins.offset - 2
                if ins.opcode in opcode.hasjrel and "BACKWARD" in ins.opname:
                    offset = ins.offset + 2 - ins.argval
                caches = 2 * cache_entries(ins.opcode)
                if ins.opcode in opcode.hasjrel:
                    offset -= caches if "BACKWARD" not in ins.opname else -caches
                unit, rest = divmod(offset, ins.arg)
                if rest or unit not in (1, 2):
                    fail("cannot tell the jump unit from %s %d (offset %d)" % (ins.opname, ins.arg, offset))
                return unit
    fail("no jump found to measure the jump unit")


def block_stack():
    """Whether exceptions are handled by the block stack (SETUP_FINALLY is a real
    instruction, ≤3.10) instead of an exception table."""
    return opcode.opmap.get("SETUP_FINALLY", 256) < 256


def nofree_flag():
    """CO_NOFREE's bit where the compiler sets it on code without cell or free variables
    (≤3.10), else 0: measured on a module with neither."""
    flags = compile("pass", "<nofree>", "exec").co_flags
    return flags & 0x40


def pyc_header_len():
    """Bytes before the marshalled code in a .pyc this interpreter writes."""
    import importlib._bootstrap_external as external
    code = compile("pass", "<pyc>", "exec")
    if hasattr(external, "_code_to_timestamp_pyc"):
        data = external._code_to_timestamp_pyc(code, 0, 0)
    else:
        data = external._code_to_bytecode(code, 0, 0)
    return len(data) - len(marshal.dumps(code))


def path_walk(entries, rules):
    """(name, effect, target) where 3.6's compiler books an instruction differently from the
    table (its one dis.stack_effect number against `stack`, or for jumps the larger of the
    two exits), or moves a jump's target."""
    targets = rules["path_walk_targets"]
    if targets is None:
        return []
    result = []
    for name, code, stack, jump_stack, _pops in entries:
        if stack[1] or stack[2] or jump_stack[1] or jump_stack[2]:
            continue  # argument-dependent: the table books these as dis does (checked)
        measured = measure(code, 0 if takes_arg(code) else None, False)
        if measured is None:
            continue  # NOP, EXTENDED_ARG: never booked, and 0 in the table
        ours = max(stack[0], jump_stack[0]) if is_jump(code) else stack[0]
        if measured != ours or name in targets:
            result.append((name, measured, targets.get(name, 0)))
    return result


def binary_ops():
    return list(getattr(opcode, "_nb_ops", ()))


# ---------------------------------------------------------------------------------------------
# Classifying
# ---------------------------------------------------------------------------------------------


# Instructions whose operand names a cell or free variable, whichever has* list the
# interpreter files them under (3.13+ lists some as locals: all index the same localsplus).
DEREF_OPS = {"LOAD_DEREF", "STORE_DEREF", "DELETE_DEREF", "MAKE_CELL", "LOAD_CLOSURE",
             "LOAD_FROM_DICT_OR_DEREF"}


def is_backward(name, rules):
    return any(mark in name for mark in rules["backward_marks"]) or name in rules["backward_names"]


def arg_kind(name, code, rules):
    if not takes_arg(code):
        return "None"
    if name in rules["kinds"]:
        return rules["kinds"][name]
    if name in DEREF_OPS:
        return "Free"
    if code in opcode.hasconst:
        return "Const"
    if code in opcode.hasname:
        return "Name"
    if code in opcode.haslocal:
        return "Local"
    if code in opcode.hasfree:
        return "Free"
    if code in opcode.hasjrel:
        if is_backward(name, rules):
            return "JumpBackward"
        return "JumpForward"
    if code in opcode.hasjabs:
        return "JumpAbsolute"
    if code in opcode.hascompare:
        return "Compare"
    if name == "BINARY_OP":
        return "BinaryOp"
    return "Number"


def is_jump(code):
    return code in opcode.hasjrel or code in opcode.hasjabs


def shift_of(name, rules):
    if name == "COMPARE_OP":
        return rules["compare_shift"]
    return rules["shift"].get(name, 0)


def flow(name, code, rules):
    if name in rules["exit"]:
        return "Exit"
    if name in rules["always_jump"]:
        return "Jump"
    if is_jump(code) and name not in rules["no_jump"]:
        return "Branch"
    return "Next"


def named_values(values, literal_values=False):
    """Words for the entries of a list the interpreter indexes by argument. Names (intrinsics,
    special methods) are their own words; of values (LOAD_COMMON_CONSTANT), classes and
    functions are written by name and the others as the literal that means them (`None`,
    `''`, `-1`), which the assembler matches by value."""
    words = []
    for index, value in enumerate(values):
        if not literal_values:
            if not value.isidentifier():
                fail("%r is not an identifier; cannot name it" % (value,))
            words.append((value, index))
        elif isinstance(value, type) or callable(value):
            words.append((value.__name__, index))
        elif value is None or isinstance(value, (bool, int, str)):
            words.append((repr(value), index))
        else:
            fail("no way to write the value %r of LOAD_COMMON_CONSTANT" % (value,))
    return words


def flag_words(name, rules):
    words = list(rules["flags"].get(name, ()))
    if name == "MAKE_FUNCTION" and words and hasattr(dis, "MAKE_FUNCTION_FLAGS"):
        words = [(word, 1 << i) for i, word in enumerate(dis.MAKE_FUNCTION_FLAGS)]
    if name == "SET_FUNCTION_ATTRIBUTE":
        words = [(word, 1 << i) for i, word in enumerate(dis.FUNCTION_ATTR_FLAGS)]
    if name == "CALL_INTRINSIC_1":
        words = named_values(opcode._intrinsic_1_descs)
    if name == "CALL_INTRINSIC_2":
        words = named_values(opcode._intrinsic_2_descs)
    if name == "LOAD_COMMON_CONSTANT":
        words = named_values(opcode._common_constants, literal_values=True)
    if name == "LOAD_SPECIAL":
        words = named_values(opcode._special_method_names)
    return words


def compare_ops(rules):
    """(symbol, low bits) per comparison operator: the bits the compiler sets below the
    shifted operator index, measured by compiling each comparison as a plain value."""
    shift = rules["compare_shift"]
    result = []
    for index, symbol in enumerate(opcode.cmp_op):
        try:
            code = compile("x = a %s b" % symbol, "<compare>", "exec")
        except SyntaxError:
            # ≤3.8's `exception match` (written by `except` clauses) and `BAD`: no source
            # comparison compiles to them, and with no shift there are no low bits to measure.
            if shift:
                fail("cannot measure the low bits of COMPARE_OP %r" % symbol)
            result.append((symbol, 0))
            continue
        args = [i.arg for i in dis.get_instructions(code) if i.opname == "COMPARE_OP"]
        if len(args) != 1 or args[0] >> shift != index:
            fail("compiling `a %s b` gave COMPARE_OP arguments %r; expected index %d << %d"
                 % (symbol, args, index, shift))
        result.append((symbol, args[0] & ((1 << shift) - 1)))
    return result


def pseudo_jumps(ops, rules):
    """Group opmap jump names that differ only by a direction word."""
    present = {name for name, _ in ops}
    families = {}
    for name, code in ops:
        if not is_jump(code):
            continue
        generic = name
        for word in rules["direction_words"]:
            generic = generic.replace(word, "")
        if generic == name:
            continue
        side = "backward" if is_backward(name, rules) else "forward"
        family = families.setdefault(generic, {})
        if side in family:
            fail("two %s forms of %s: %s and %s" % (side, generic, family[side], name))
        family[side] = name
    for generic, extra in rules["pseudo_extra"].items():
        families.setdefault(generic, {}).update(extra)
    result = []
    for generic in sorted(families):
        family = families[generic]
        if generic in present:
            fail("direction-free name %s is also a real opcode" % generic)
        if "forward" not in family:
            fail("direction-free name %s has no forward form" % generic)
        for real in family.values():
            if real not in present:
                fail("%s stands for %s, which is not an opcode" % (generic, real))
        result.append((generic, family["forward"], family.get("backward")))
    return result


# ---------------------------------------------------------------------------------------------
# Fitting stack effects
# ---------------------------------------------------------------------------------------------

# Arguments at which dis.stack_effect is sampled and the fitted formula is checked.
SAMPLE_ARGS = list(range(1024)) + [4095, 65535, (1 << 20) + 5, (1 << 24) - 1, (1 << 29) + 12345]
# Bits whose weight is measured directly. CPython computes effects in a C int, so weights of
# the top bits cannot be measured without overflow; they continue the run below them.
MEASURED_BITS = 30
MAX_EXCEPTIONS = 4


def _has_jump_keyword():
    try:
        dis.stack_effect(opcode.opmap["NOP"], jump=True)
    except TypeError:
        return False
    return True


# 3.8+: dis.stack_effect(..., jump=) tells the two exits apart; 3.6 and 3.7 give one number.
HAS_JUMP_KEYWORD = _has_jump_keyword()


def measure(code, arg, jump):
    """dis.stack_effect at one argument, or None where the interpreter rejects the argument.
    Without the `jump=` keyword (3.6, 3.7) `jump` is ignored: the one number it gives."""
    keywords = {"jump": jump} if HAS_JUMP_KEYWORD else {}
    try:
        if arg is None:
            return dis.stack_effect(code, **keywords)
        return dis.stack_effect(code, arg, **keywords)
    except ValueError:
        return None


def evaluate(effect, arg):
    base, terms, exceptions = effect
    for exc_arg, value in exceptions:
        if exc_arg == arg:
            return value
    return base + sum(coef * ((arg >> shift) & mask) for shift, mask, coef in terms)


def fit(name, code, jump):
    """(base, terms, exceptions) reproducing dis.stack_effect(code, arg, jump=jump)."""
    if not takes_arg(code):
        value = measure(code, None, jump)
        if value is None:
            fail("dis.stack_effect rejects %s without an argument" % name)
        return (value, [], [])

    samples = {}
    for arg in SAMPLE_ARGS:
        value = measure(code, arg, jump)
        if value is not None:
            samples[arg] = value
    if 0 not in samples:
        fail("dis.stack_effect rejects %s with argument 0; cannot fit it" % name)
    base = samples[0]

    if len(set(samples.values())) == 1:
        return (base, [], [])

    weights = []
    for bit in range(32):
        value = measure(code, 1 << bit, jump) if bit < MEASURED_BITS else None
        if value is None:
            # Unmeasurable: continue the run of the bit below (or stay zero).
            weights.append(2 * weights[-1] if weights else 0)
        else:
            weights.append(value - base)

    # Compress runs of bits weighing coef, 2*coef, 4*coef, ... into one term each.
    terms = []
    bit = 0
    while bit < 32:
        coef = weights[bit]
        if coef == 0:
            bit += 1
            continue
        start = bit
        bit += 1
        while bit < 32 and weights[bit] == 2 * weights[bit - 1]:
            bit += 1
        terms.append((start, (1 << (bit - start)) - 1, coef))

    exceptions = []
    for arg in sorted(samples):
        if evaluate((base, terms, []), arg) != samples[arg]:
            exceptions.append((arg, samples[arg]))
    if len(exceptions) > MAX_EXCEPTIONS:
        shown = ", ".join("%d -> %d" % e for e in exceptions[:8])
        fail(
            "stack effect of %s (jump=%s) does not fit base %d, terms %r: %d arguments "
            "disagree (%s ...)" % (name, jump, base, terms, len(exceptions), shown)
        )
    return (base, terms, exceptions)


def as_formula(spec):
    """A rule value (a plain int or a formula) as (base, terms, exceptions)."""
    if isinstance(spec, int):
        return (spec, [], [])
    return spec


def check_pops(name, code, pops, stack, jump_stack, rules):
    """Fail unless `pops` is a sound count for the (emitted) effects of one instruction."""
    if not takes_arg(code) and (pops[1] or pops[2]):
        fail("%s takes no argument, so RULES['pops'] must give it a plain number" % name)
    listed = name in rules["pops"]
    for arg in SAMPLE_ARGS if takes_arg(code) else [0]:
        taken = evaluate(pops, arg)
        if taken < 0:
            fail("%s at argument %d: pops is %d, which is negative" % (name, arg, taken))
        for exit_name, effect in (("falls through", stack), ("jumps", jump_stack)):
            net = evaluate(effect, arg)
            if taken + net >= 0:
                continue
            if not listed:
                fail(
                    "%s at argument %d %s with stack effect %d, so it takes at least %d values, "
                    "but it is missing from RULES['pops']" % (name, arg, exit_name, net, -net)
                )
            fail(
                "%s at argument %d: RULES['pops'] says it takes %d values, but when it %s its "
                "stack effect is %d, which would leave %d: the rule is wrong"
                % (name, arg, taken, exit_name, net, taken + net)
            )


def check_override_sequences(effects, ops, rules):
    """Overridden effects must add up, over each sequence, to what dis.stack_effect says."""
    codes = dict(ops)
    for sequence in rules["override_sequences"]:
        for arg in SAMPLE_ARGS:
            measured = [measure(codes[name], arg, False) for name in sequence]
            if None in measured:
                continue
            ours = sum(evaluate(effects[name], arg) for name in sequence)
            if ours != sum(measured):
                fail(
                    "the overridden effects of %s add up to %d at argument %d, but "
                    "dis.stack_effect's add up to %d"
                    % (" + ".join(sequence), ours, arg, sum(measured))
                )


# ---------------------------------------------------------------------------------------------
# Typed signatures (tools/signatures.py): parsing and checking against the interpreter
# ---------------------------------------------------------------------------------------------

# The kind words of tools/signatures.py; each is a constant of `kind` in
# src/opcodes/signature.rs (the Rust compiler checks the names).
KIND_WORDS = {
    "obj", "any", "null", "bool", "int", "none", "str", "tuple", "list", "set", "dict", "code",
    "func", "cell", "iter", "exc", "exc_class", "other", "saved_exc", "index",
    "return_address", "why", "await", "absent", "silenced",
}


def fit_function(label, f, with_arg):
    """(base, terms, exceptions) reproducing f(oparg) over the sampled arguments: a formula
    from the weights of single bits, else (for counts like `max(oparg - 1, 0)`) one whose
    base is extrapolated from arguments 1 and 2, with argument 0 among the exceptions."""
    if not with_arg:
        return (f(0), [], [])
    samples = {arg: f(arg) for arg in SAMPLE_ARGS}
    if len(set(samples.values())) == 1:
        return (samples[0], [], [])
    for base in (samples[0], 2 * samples[1] - samples[2]):
        weights = []
        for bit in range(32):
            weights.append(f(1 << bit) - base if bit < MEASURED_BITS else (2 * weights[-1] if weights else 0))
        terms = []
        bit = 0
        while bit < 32:
            coef = weights[bit]
            if coef == 0:
                bit += 1
                continue
            start = bit
            bit += 1
            while bit < 32 and weights[bit] == 2 * weights[bit - 1]:
                bit += 1
            terms.append((start, (1 << (bit - start)) - 1, coef))
        exceptions = [(arg, v) for arg, v in sorted(samples.items()) if evaluate((base, terms, []), arg) != v]
        if len(exceptions) <= MAX_EXCEPTIONS:
            return (base, terms, exceptions)
    fail("%s does not fit the formula shape" % label)


def split_slots(text):
    """Slot tokens separated by spaces, keeping spaces inside [] and ()."""
    tokens, depth, current = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch.isspace() and depth == 0:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += ch
    if current:
        tokens.append(current)
    return tokens


SLOT_RE = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z_0-9]*)(=(?P<src>[A-Za-z_][A-Za-z_0-9]*))?"
    r"(:(?P<kinds>[^/\[]+))?(/(?P<expect>[^\[]+))?(\[(?P<count>.*)\])?$"
)


def kinds_expr(label, text):
    """`obj?`, `exc|none` → a Rust expression of `kind::` constants."""
    parts = []
    for word in text.split("|"):
        optional = word.endswith("?")
        word = word.rstrip("?")
        if word not in KIND_WORDS:
            fail("%s: unknown kind %r" % (label, word))
        parts.append("kind::" + word.upper())
        if optional:
            parts.append("kind::NULL")
    return " | ".join(parts)


def parse_slot(label, token, is_input, inputs):
    m = SLOT_RE.match(token)
    if not m:
        fail("%s: cannot read slot %r" % (label, token))
    name, kinds = m.group("name"), m.group("kinds")
    slot = {"name": name, "kinds": None, "expect": None, "when": None, "same_as": -1,
            "count": m.group("count") or "1", "len": None}
    if kinds and "#" in kinds:
        kinds, slot["len"] = kinds.split("#", 1)
    if kinds and kinds.startswith("("):
        cond = re.match(r"^\(bit(\d+)\?([^:]+):(.+)\)$", kinds)
        if not cond or is_input:
            fail("%s: cannot read conditional kinds %r" % (label, kinds))
        slot["when"] = (int(cond.group(1)), kinds_expr(label, cond.group(2)))
        kinds = cond.group(3)
    if is_input:
        if m.group("src"):
            fail("%s: `=` is for outputs" % label)
        default = "any" if name == "_" else "obj"
        slot["kinds"] = kinds_expr(label, kinds or default)
        slot["expect"] = kinds_expr(label, m.group("expect")) if m.group("expect") else None
        return slot
    if m.group("expect"):
        fail("%s: an output has no expected kinds" % label)
    source = m.group("src") or (name if name != "_" and not kinds else None)
    names = [s["name"] for s in inputs]
    if source is not None:
        if source not in names:
            if m.group("src"):
                fail("%s: output %s copies %s, which is not an input" % (label, name, source))
            source = None
        else:
            if kinds:
                fail("%s: output %s is input %s; it keeps its kinds" % (label, name, source))
            slot["same_as"] = names.index(source)
            slot["count"] = inputs[slot["same_as"]]["count"]
            slot["kinds"] = inputs[slot["same_as"]]["kinds"]
    if slot["same_as"] < 0 and name != "_":
        slot["kinds"] = kinds_expr(label, kinds or "obj")
    return slot


def parse_signature(label, text):
    if "--" not in text:
        fail("%s: a signature needs `--`" % label)
    ins_text, rest = text.split("--", 1)
    jump_text = None
    if ";" in rest:
        rest, jump_text = rest.split(";", 1)
        jump_text = jump_text.strip()
        if not jump_text.startswith("jump:"):
            fail("%s: expected `; jump:` in %r" % (label, text))
        jump_text = jump_text[len("jump:"):]
    inputs = [parse_slot(label, t, True, None) for t in split_slots(ins_text)]

    def outputs(part):
        outs = [parse_slot(label, t, False, inputs) for t in split_slots(part)]
        # `_` groups pass through in order: the k-th output `_` is the k-th input `_`.
        unused_in = [i for i, s in enumerate(inputs) if s["name"] == "_"]
        unused_out = [s for s in outs if s["name"] == "_"]
        if len(unused_out) > len(unused_in):
            fail("%s: more `_` outputs than inputs" % label)
        for slot, source in zip(unused_out, unused_in):
            slot["same_as"] = source
            slot["count"] = inputs[source]["count"]
            slot["kinds"] = inputs[source]["kinds"]
        return outs

    outs = outputs(rest)
    jump_outs = outputs(jump_text) if jump_text is not None else outs
    return {"inputs": inputs, "outputs": outs, "jump_outputs": jump_outs}


def count_function(label, expr):
    code = compile(expr, label, "eval")
    return lambda oparg: int(eval(code, {"min": min, "max": max}, {"oparg": oparg}))


def total(slots, arg, label):
    values = [count_function(label, s["count"])(arg) for s in slots]
    return None if any(v < 0 for v in values) else sum(values)


def check_signature(label, code, sig, stack, jump_stack, pops):
    """The signature's slot counts must be the interpreter's stack effects (both exits) and
    the instruction's `pops` rule, at every sampled argument where no count is negative
    (there the argument is invalid, and the verifier refuses it)."""
    checked = 0
    for arg in (SAMPLE_ARGS if takes_arg(code) else [0]):
        taken = total(sig["inputs"], arg, label)
        left = total(sig["outputs"], arg, label)
        left_jump = total(sig["jump_outputs"], arg, label)
        if None in (taken, left, left_jump):
            continue
        checked += 1
        for what, n, effect in (("falls through", left, stack), ("jumps", left_jump, jump_stack)):
            if n - taken != evaluate(effect, arg):
                fail("%s at argument %d %s leaving %d of %d values, but the stack effect is %d"
                     % (label, arg, what, n, taken, evaluate(effect, arg)))
        if taken != evaluate(pops, arg):
            fail("%s at argument %d takes %d values, but RULES['pops'] says %d" % (label, arg, taken, evaluate(pops, arg)))
    if not checked:
        fail("%s: no argument gives every slot group a count of 0 or more" % label)


def typed_rules():
    """(signatures, effects, no_raise) for this version, or None where it has none yet."""
    return signatures.TYPED.get(VERSION)


def signature_of(name, code, stack, jump_stack, pops, rules, typed):
    """(main signature, [(oparg, signature)] variants, effect, no_raise) for one opcode."""
    sigs, effects, no_raise = typed
    if name not in sigs:
        fail("no typed signature for %s in tools/signatures.py" % name)
    spec = sigs[name]
    variants = []
    if isinstance(spec, dict):
        words = dict(flag_words(name, rules))
        for word in spec:
            if word != "*" and word not in words:
                fail("signature of %s names %r, which is not one of its values" % (name, word))
        main = parse_signature(name, spec["*"])
        check_signature(name, code, main, stack, jump_stack, pops)
        for word, text in spec.items():
            if word == "*":
                continue
            sig = parse_signature("%s %s" % (name, word), text)
            check_signature("%s %s" % (name, word), code, sig, stack, jump_stack, pops)
            variants.append((words[word], sig))
    else:
        main = parse_signature(name, spec)
        check_signature(name, code, main, stack, jump_stack, pops)
    return main, variants, effects.get(name, "None"), name in no_raise


def check_typed_names(ops, typed):
    names = {name for name, _ in ops}
    sigs, effects, no_raise = typed
    for table, entries in (("signatures", sigs), ("effects", effects), ("no_raise", no_raise)):
        for name in entries:
            if name not in names:
                fail("tools/signatures.py %s mention %s, which is not an opcode here" % (table, name))


# ---------------------------------------------------------------------------------------------
# Writing Rust
# ---------------------------------------------------------------------------------------------


def rust_str(text):
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append("\\u{%x}" % ord(ch))
    return '"%s"' % "".join(out)


def rust_mask(mask):
    return "0x%X" % mask


WIDTH = 100


def rust_struct(indent, head, fields, suffix=","):
    """`head { a: x, b: y }` on one line if it fits in WIDTH, else one field per line."""
    pad = " " * indent
    one = "%s%s { %s }%s" % (pad, head, ", ".join("%s: %s" % f for f in fields), suffix)
    if len(one) <= WIDTH:
        return [one]
    lines = ["%s%s {" % (pad, head)]
    lines += ["%s    %s: %s," % (pad, key, value) for key, value in fields]
    lines.append("%s}%s" % (pad, suffix))
    return lines


def rust_effect(indent, key, effect):
    """`key: StackEffect { .. },` as one or more lines."""
    base, terms, exceptions = effect
    terms_rs = "&[%s]" % ", ".join("(%d, %s, %d)" % (s, rust_mask(m), c) for s, m, c in terms)
    exc_rs = "&[%s]" % ", ".join("(%d, %d)" % e for e in exceptions)
    fields = [("base", "%d" % base), ("terms", terms_rs), ("exceptions", exc_rs)]
    return rust_struct(indent, "%s: StackEffect" % key, fields)


def rust_flags(indent, words):
    """`flags: &[..],` as one or more lines."""
    pad = " " * indent
    items = ["FlagWord { word: %s, bits: %d }" % (rust_str(w), b) for w, b in words]
    one = "%sflags: &[%s]," % (pad, ", ".join(items))
    if len(one) <= WIDTH:
        return [one]
    return ["%sflags: &[" % pad] + ["%s    %s," % (pad, item) for item in items] + [pad + "],"]


def rust_formula(effect):
    base, terms, exceptions = effect
    terms_rs = "&[%s]" % ", ".join("(%d, %s, %d)" % (s, rust_mask(m), c) for s, m, c in terms)
    exc_rs = "&[%s]" % ", ".join("(%d, %d)" % e for e in exceptions)
    return "StackEffect { base: %d, terms: %s, exceptions: %s }" % (base, terms_rs, exc_rs)


def rust_slot(slot, label, with_arg):
    """One SlotSpec, writing only what differs from SlotSpec::ONE."""
    fields = [("name", rust_str(slot["name"]))]
    if slot["kinds"] != "kind::OBJ":
        fields.append(("kinds", slot["kinds"]))
    if slot["expect"] is not None:
        fields.append(("expect", slot["expect"]))
    elif slot["kinds"] != "kind::OBJ":
        fields.append(("expect", slot["kinds"]))
    if slot["when"]:
        fields.append(("when_bit", "%d" % slot["when"][0]))
        fields.append(("when_kinds", slot["when"][1]))
    if slot["same_as"] >= 0:
        fields.append(("same_as", "%d" % slot["same_as"]))
    count = fit_function("%s slot %s" % (label, slot["name"]), count_function(label, slot["count"]), with_arg)
    if count != (1, [], []):
        fields.append(("count", rust_formula(count)))
    if slot["len"] is not None:
        length = fit_function("%s length of %s" % (label, slot["name"]), count_function(label, slot["len"]), with_arg)
        fields.append(("len", "Some(%s)" % rust_formula(length)))
    return "SlotSpec { %s, ..SlotSpec::ONE }" % ", ".join("%s: %s" % f for f in fields)


def rust_signature(indent, head, sig, effect, no_raise, label, with_arg, suffix=","):
    pad = " " * indent
    lines = ["%s%sSignature {" % (pad, head)]
    for key in ("inputs", "outputs", "jump_outputs"):
        if key == "jump_outputs" and sig["jump_outputs"] is sig["outputs"]:
            lines.append("%s    jump_outputs: None," % pad)
            continue
        slots = [rust_slot(s, label, with_arg) for s in sig[key]]
        wrap = ("Some(&[", "])") if key == "jump_outputs" else ("&[", "]")
        one = "%s    %s: %s%s%s," % (pad, key, wrap[0], ", ".join(slots), wrap[1])
        if len(one) <= WIDTH:
            lines.append(one)
        else:
            lines.append("%s    %s: %s" % (pad, key, wrap[0]))
            lines += ["%s        %s," % (pad, s) for s in slots]
            lines.append("%s    %s," % (pad, wrap[1]))
    lines.append("%s    effect: Effect::%s, no_raise: %s," % (pad, effect, "true" if no_raise else "false"))
    lines.append("%s}%s" % (pad, suffix))
    return lines


def fail(message):
    sys.stderr.write("gen_opcodes.py: error: %s\n" % message)
    sys.exit(1)


def main():
    rules = RULES.get(VERSION)
    if rules is None:
        fail(
            "no rules for Python %d.%d yet (known: %s); add an entry to RULES"
            % (VERSION + (", ".join("%d.%d" % v for v in sorted(RULES)),))
        )

    ops = real_opcodes(rules)
    names = {name for name, _ in ops}
    for table in ("flags", "shift", "kinds", "exit", "always_jump", "no_jump", "backward_names",
                  "effect_overrides", "pops", "jump_effects", "rebooked_jumps"):
        for name in rules[table]:
            if name not in names:
                fail("rule %s mentions %s, which is not an opcode here" % (table, name))
    for sequence in rules["override_sequences"]:
        for name in sequence:
            if name not in rules["effect_overrides"]:
                fail("override sequence %r: %s has no effect override" % (sequence, name))

    if not HAS_JUMP_KEYWORD:
        for name, code in ops:
            if is_jump(code) and fit(name, code, False)[1:] != ([], []):
                fail("%s is a jump whose effect depends on its argument; the two-effect rule "
                     "cannot express it" % name)
            if name in rules["jump_effects"] and not is_jump(code):
                fail("RULES['jump_effects'] names %s, which does not jump" % name)
    entries = []
    for name, code in ops:
        if name in rules["effect_overrides"]:
            stack = as_formula(rules["effect_overrides"][name])
        else:
            stack = fit(name, code, False)
        jump_stack = fit(name, code, True) if is_jump(code) else stack
        if not HAS_JUMP_KEYWORD and name in rules["jump_effects"]:
            # One measured number; the two exits come from the rule, and the number must be
            # the larger of them (what 3.7's compiler reports when not told which exit).
            measured = fit(name, code, False)[0]
            plain, taken = rules["jump_effects"][name]
            if name not in rules["rebooked_jumps"] and measured != max(plain, taken):
                fail("%s: dis.stack_effect says %d, but RULES['jump_effects'] gives (%d, %d)"
                     % (name, measured, plain, taken))
            stack, jump_stack = as_formula(plain), as_formula(taken)
        pops = as_formula(rules["pops"].get(name, 0))
        check_pops(name, code, pops, stack, jump_stack, rules)
        entries.append((name, code, stack, jump_stack, pops))
    check_override_sequences({e[0]: e[2] for e in entries}, ops, rules)
    typed = typed_rules()
    if typed:
        check_typed_names(ops, typed)

    version_full = "%d.%d.%d" % sys.version_info[:3]
    magic = int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little")
    lines = []
    emit = lines.append
    emit("// Generated by tools/gen_opcodes.py under Python %s. Do not edit." % version_full)
    emit("// Regenerate: python%d.%d tools/gen_opcodes.py > src/opcodes/v%d_%d.rs (DEVELOPERS.md)" % (VERSION * 2))
    emit("")
    emit("use super::*;")
    emit("")
    emit("#[rustfmt::skip]")
    emit("pub static TABLE: VersionTable = VersionTable {")
    emit("    version: PythonVersion::new(%d, %d)," % VERSION)
    emit("    magic: %d," % magic)
    emit("    marshal_version: %d," % marshal.version)
    emit("    extended_arg: %d," % opcode.EXTENDED_ARG)
    emit("    cache: %d," % opcode.opmap.get("CACHE", 0))
    emit("    hidden_locals: %s," % ("true" if rules["hidden_locals"] else "false"))
    emit("    param_kinds: %s," % ("true" if rules["param_kinds"] else "false"))
    emit("    merge_locations: %s," % ("true" if rules["merge_locations"] else "false"))
    emit("    docstring_flag: %s," % ("true" if rules["docstring_flag"] else "false"))
    emit("    jumps_start_at_index: %s," % ("true" if rules["jumps_start_at_index"] else "false"))
    emit("    jump_unit: %d," % jump_unit())
    emit("    block_stack: %s," % ("true" if block_stack() else "false"))
    emit("    nofree_flag: 0x%x," % nofree_flag())
    emit("    pyc_header_len: %d," % pyc_header_len())
    emit("    generator_entry_depth: %d," % rules["generator_entry_depth"])
    emit("    depth_merge: DepthMerge::%s," % rules["depth_merge"])
    emit("    typed: %s," % ("true" if typed else "false"))
    skips = signatures.FOR_ITER_SKIPS.get(VERSION, ())
    emit("    for_iter_skips: &[%s]," % ", ".join(rust_str(n) for n in skips))
    emit("    lasti_kind: %s," % kinds_expr("lasti", signatures.LASTI_KINDS.get(VERSION, "int")))
    trusted = signatures.TRUSTED_NAMES.get(VERSION, {})
    emit("    trusted_names: &[%s]," % ", ".join("(%s, %s)" % (rust_str(n), kinds_expr(n, k)) for n, k in sorted(trusted.items())))
    walk = path_walk(entries, rules)
    if not walk:
        emit("    path_walk: &[],")
    else:
        emit("    path_walk: &[")
        for name, effect, target in walk:
            emit("        PathWalk { name: %s, effect: %d, target: %d }," % (rust_str(name), effect, target))
        emit("    ],")
    emit("    opcodes: &[")
    for name, code, stack, jump_stack, pops in entries:
        kind = arg_kind(name, code, rules)
        words = flag_words(name, rules)
        emit("        OpInfo {")
        emit(
            "            name: %s, code: %d, arg: ArgKind::%s, shift: %d,"
            % (rust_str(name), code, kind, shift_of(name, rules))
        )
        emit("            caches: %d, flow: Flow::%s," % (cache_entries(code), flow(name, code, rules)))
        lines.extend(rust_flags(12, words))
        lines.extend(rust_effect(12, "stack", stack))
        lines.extend(rust_effect(12, "jump_stack", jump_stack))
        lines.extend(rust_effect(12, "pops", pops))
        if typed:
            main_sig, variants, effect, no_raise = signature_of(name, code, stack, jump_stack, pops, rules, typed)
            lines.extend(rust_signature(12, "sig: ", main_sig, effect, no_raise, name, takes_arg(code)))
            if variants:
                emit("            variants: &[")
                for value, sig in variants:
                    lines.extend(rust_signature(16, "(%d, " % value, sig, effect, no_raise, name, takes_arg(code), suffix="),"))
                emit("            ],")
            else:
                emit("            variants: &[],")
        else:
            emit("            sig: Signature::UNTYPED, variants: &[],")
        emit("        },")
    emit("    ],")
    emit("    pseudo_jumps: &[")
    for generic, forward, backward in pseudo_jumps(ops, rules):
        back = "Some(%s)" % rust_str(backward) if backward else "None"
        fields = [("name", rust_str(generic)), ("forward", rust_str(forward)), ("backward", back)]
        lines.extend(rust_struct(8, "PseudoJump", fields))
    emit("    ],")
    emit("    binary_ops: &[")
    for index, (nb_name, symbol) in enumerate(binary_ops()):
        emit(
            "        BinaryOp { name: %s, symbol: %s }, // %d"
            % (rust_str(nb_name), rust_str(symbol), index)
        )
    emit("    ],")
    emit("    compare_ops: &[")
    for symbol, bits in compare_ops(rules):
        emit("        CompareOp { symbol: %s, bits: %d }," % (rust_str(symbol), bits))
    emit("    ],")
    emit("};")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
