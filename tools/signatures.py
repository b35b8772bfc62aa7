"""What each instruction reads and writes, as kinds: the typed verifier's rules, per version.

Imported by tools/gen_opcodes.py, which checks every signature against the running
interpreter's own stack effects and writes it into src/opcodes/vX_Y.rs. The facts were read
off CPython's instruction definitions (Python/bytecodes.c from 3.12 on, Python/ceval.c
before): which slots an instruction takes, which it leaves, and what it assumes of them
without checking. Wherever CPython only asserts a kind (a list for LIST_APPEND, an exception
for RERAISE, a code object for MAKE_FUNCTION), a wrong value crashes a release build, so the
signature demands it; wherever CPython checks and raises, the signature accepts any object.

The notation (one string per instruction; src/opcodes/signature.rs has the meaning):

    INPUTS -- OUTPUTS [; jump: OUTPUTS]

Slots are listed bottom first. An input is `name[:KINDS][/EXPECTED][[COUNT]]`: KINDS is what
it must hold (default `obj`, any object but not NULL), EXPECTED what it should hold (a warning
otherwise), COUNT how many slots the group has, a Python expression of `oparg` (default 1).
`_` is a group the instruction does not touch (any kind; it stays). An output is `name` when
it is an input of that name (the same value, kind kept), `name=other` for a copy of input
`other`, or `name[:KINDS][[COUNT]]` for a new value (default `obj`). `KINDS` is words joined
by `|` (`obj?` = `obj|null`), or `(bitN?A:B)`: A when bit N of the argument is set, else B.
A kind `tuple#COUNT` also demands the tuple's length. The outputs after `; jump:` are those
left when the instruction jumps (default: the same as when it falls through).

A signature may also be a dict from the words of an Enum argument to signatures, with `*`
for the other values (CALL_INTRINSIC_1's intrinsics differ in what they take).
"""

# ---------------------------------------------------------------------------------------------
# 3.11
# ---------------------------------------------------------------------------------------------

SIGS_3_11 = {
    "CACHE": "--",
    "NOP": "--",
    "EXTENDED_ARG": "--",
    "RESUME": "--",
    "POP_TOP": "value --",
    "PUSH_NULL": "-- res:null",
    "UNARY_POSITIVE": "value -- res",
    "UNARY_NEGATIVE": "value -- res",
    "UNARY_INVERT": "value -- res",
    "UNARY_NOT": "value -- res:bool",
    "BINARY_SUBSCR": "container sub -- res",
    "BINARY_OP": "lhs rhs -- res",
    "COMPARE_OP": "left right -- res",
    "IS_OP": "left right -- b:bool",
    "CONTAINS_OP": "left right -- b:bool",
    "GET_LEN": "obj -- obj len_o:int",
    "MATCH_MAPPING": "subject -- subject res:bool",
    "MATCH_SEQUENCE": "subject -- subject res:bool",
    # _PyEval_MatchKeys takes PyTuple_GET_SIZE(keys) unchecked
    "MATCH_KEYS": "subject keys:tuple -- subject keys values_or_none:tuple|none",
    # the names tuple is read with PyTuple_GET_SIZE unchecked
    "MATCH_CLASS": "subject type names:tuple -- attrs:tuple|none",
    # the handled exception becomes the thread's current one
    "PUSH_EXC_INFO": "new_exc:exc -- prev_exc:exc|none new_exc",
    "POP_EXCEPT": "exc_value:exc|none --",
    "CHECK_EXC_MATCH": "left right -- left b:bool",
    "CHECK_EG_MATCH": "exc_value:exc|none match_type -- rest:exc|none match:exc|none",
    # reads the traceback of `val` as an exception's
    "WITH_EXCEPT_START": "exit_func lasti:any _ val:exc -- exit_func lasti _ val res",
    "GET_AITER": "obj -- iter",
    "GET_ANEXT": "aiter -- aiter awaitable",
    "GET_AWAITABLE": "iterable -- iter",
    "BEFORE_ASYNC_WITH": "mgr -- exit res",
    "BEFORE_WITH": "mgr -- exit res",
    "END_ASYNC_FOR": "awaitable exc:exc --",
    "STORE_SUBSCR": "v container sub --",
    "DELETE_SUBSCR": "container sub --",
    "GET_ITER": "iterable -- iter:iter",
    # a coroutine passes through unchanged: not an iterator FOR_ITER may take
    "GET_YIELD_FROM_ITER": "iterable -- iter",
    "PRINT_EXPR": "value --",
    "LOAD_BUILD_CLASS": "-- bc",
    "LOAD_ASSERTION_ERROR": "-- value",
    # when the generator is resumed, the sent value is pushed after it
    "RETURN_GENERATOR": "-- res",
    "LIST_TO_TUPLE": "list -- tuple:tuple",
    "RETURN_VALUE": "retval --",
    "IMPORT_STAR": "from --",
    "SETUP_ANNOTATIONS": "--",
    "YIELD_VALUE": "retval -- value",
    "ASYNC_GEN_WRAP": "v -- w",
    # _PyExc_PrepReraiseStar asserts both
    "PREP_RERAISE_STAR": "orig:exc excs:list -- val:exc|none",
    "STORE_NAME": "v --",
    "DELETE_NAME": "--",
    "UNPACK_SEQUENCE": "seq -- values[oparg]",
    "UNPACK_EX": "seq -- after[oparg >> 8] rest:list before[oparg & 0xFF]",
    # tp_iternext is called without a check
    "FOR_ITER": "iter:iter -- iter next ; jump:",
    "STORE_ATTR": "v owner --",
    "DELETE_ATTR": "owner --",
    "STORE_GLOBAL": "v --",
    "DELETE_GLOBAL": "--",
    "SWAP": "bottom:any _[oparg - 2] top:any -- top _ bottom",
    # Py_NewRef of the copied slot: it must be an object
    "COPY": "bottom _[oparg - 1] -- bottom _ top=bottom",
    "LOAD_CONST": "-- value",
    "LOAD_NAME": "-- v",
    "BUILD_TUPLE": "values[oparg] -- tup:tuple",
    "BUILD_LIST": "values[oparg] -- list:list",
    "BUILD_SET": "values[oparg] -- set:set",
    "BUILD_MAP": "values[oparg * 2] -- map:dict",
    "BUILD_CONST_KEY_MAP": "values[oparg] keys -- map:dict",
    "BUILD_STRING": "pieces[oparg] -- str:str",
    "BUILD_SLICE": "start stop step[1 if oparg == 3 else 0] -- slice",
    "LOAD_ATTR": "owner -- res",
    "LOAD_METHOD": "owner -- method:obj? res",
    "IMPORT_NAME": "level fromlist -- res",
    "IMPORT_FROM": "from -- from res",
    "JUMP_FORWARD": "--",
    "JUMP_BACKWARD": "--",
    "JUMP_BACKWARD_NO_INTERRUPT": "--",
    "JUMP_IF_FALSE_OR_POP": "cond -- ; jump: cond",
    "JUMP_IF_TRUE_OR_POP": "cond -- ; jump: cond",
    "POP_JUMP_FORWARD_IF_FALSE": "cond --",
    "POP_JUMP_FORWARD_IF_TRUE": "cond --",
    "POP_JUMP_BACKWARD_IF_FALSE": "cond --",
    "POP_JUMP_BACKWARD_IF_TRUE": "cond --",
    "POP_JUMP_FORWARD_IF_NONE": "value --",
    "POP_JUMP_FORWARD_IF_NOT_NONE": "value --",
    "POP_JUMP_BACKWARD_IF_NONE": "value --",
    "POP_JUMP_BACKWARD_IF_NOT_NONE": "value --",
    "LOAD_GLOBAL": "-- null:null[oparg & 1] v",
    # with an argument, the lasti below the exception is read (an int, checked)
    "RERAISE": "lasti:int[min(oparg, 1)] _[max(oparg - 1, 0)] exc:exc -- lasti _",
    "SEND": "receiver v -- receiver retval ; jump: retval",
    "LOAD_FAST": "-- value",
    "STORE_FAST": "value:obj? --",
    "DELETE_FAST": "--",
    "RAISE_VARARGS": "args[oparg] --",
    # func_defaults is used as a tuple and func_closure as a tuple of cells, unchecked
    "MAKE_FUNCTION": "defaults:tuple[oparg & 1] kwdefaults:dict[(oparg >> 1) & 1] "
    "annotations:tuple|dict[(oparg >> 2) & 1] closure:tuple[(oparg >> 3) & 1] codeobj:code -- func:func",
    "MAKE_CELL": "--",
    "LOAD_CLOSURE": "-- value:cell",
    "LOAD_DEREF": "-- value",
    "LOAD_CLASSDEREF": "-- value",
    "STORE_DEREF": "v --",
    "DELETE_DEREF": "--",
    "COPY_FREE_VARS": "--",
    # a keyword dict is asserted exact
    "CALL_FUNCTION_EX": "null:null func callargs kwargs:dict[oparg & 1] -- result",
    "LIST_APPEND": "list:list _[oparg - 1] v -- list _",
    "SET_ADD": "set:set _[oparg - 1] v -- set _",
    "MAP_ADD": "dict:dict _[oparg - 1] key value -- dict _",
    "LIST_EXTEND": "list:list _[oparg - 1] iterable -- list _",
    "SET_UPDATE": "set:set _[oparg - 1] iterable -- set _",
    "DICT_UPDATE": "dict:dict _[oparg - 1] update -- dict _",
    # its error message names the callable two slots below the dict
    "DICT_MERGE": "callable _ dict:dict _[oparg - 1] update -- callable _ dict _",
    "FORMAT_VALUE": "value fmt_spec[(oparg >> 2) & 1] -- result:str",
    # the callable is found by whether the slot below it is NULL
    "PRECALL": "method:obj? callable args[oparg] -- method callable args",
    "CALL": "method:obj? callable args[oparg] -- res",
    "KW_NAMES": "--",
}

# What each instruction does besides its stack (src/opcodes/signature.rs, `Effect`).
EFFECTS_3_11 = {
    "LOAD_FAST": "LoadFast { checked: true }",
    "STORE_FAST": "StoreFast",
    "DELETE_FAST": "DeleteFast",
    "LOAD_CLOSURE": "LoadClosure",
    "LOAD_DEREF": "LoadDeref",
    "LOAD_CLASSDEREF": "LoadDeref",
    "STORE_DEREF": "StoreDeref",
    "DELETE_DEREF": "DeleteDeref",
    "MAKE_CELL": "MakeCell",
    "COPY_FREE_VARS": "CopyFreeVars",
    "LOAD_CONST": "LoadConst",
    "BUILD_TUPLE": "BuildTuple",
    "COMPARE_OP": "Compare",
    "PRECALL": "Precall",
    "CALL": "Call",
    "KW_NAMES": "KwNames",
    "MAKE_FUNCTION": "MakeFunction",
    "RETURN_GENERATOR": "ReturnGenerator",
    "YIELD_VALUE": "Yield",
    "FOR_ITER": "ForIter",
    "RETURN_VALUE": "Return",
    "POP_JUMP_FORWARD_IF_NONE": "NoneTest { jumps_if_none: true }",
    "POP_JUMP_BACKWARD_IF_NONE": "NoneTest { jumps_if_none: true }",
    "POP_JUMP_FORWARD_IF_NOT_NONE": "NoneTest { jumps_if_none: false }",
    "POP_JUMP_BACKWARD_IF_NOT_NONE": "NoneTest { jumps_if_none: false }",
}

# Instructions that cannot raise: they may take values below their handler's depth.
NO_RAISE_3_11 = {
    "CACHE", "NOP", "EXTENDED_ARG", "POP_TOP", "PUSH_NULL", "SWAP", "COPY", "LOAD_CONST",
    "STORE_FAST", "POP_EXCEPT", "PUSH_EXC_INFO", "JUMP_FORWARD", "JUMP_BACKWARD_NO_INTERRUPT",
    "RETURN_VALUE", "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE",
    "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE", "KW_NAMES",
}

# ---------------------------------------------------------------------------------------------
# 3.12
# ---------------------------------------------------------------------------------------------

_GONE_3_12 = (
    "PRINT_EXPR", "IMPORT_STAR", "UNARY_POSITIVE", "ASYNC_GEN_WRAP", "LIST_TO_TUPLE", "LOAD_METHOD",
    "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP", "PREP_RERAISE_STAR", "PRECALL",
    "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_FORWARD_IF_NONE", "POP_JUMP_FORWARD_IF_NOT_NONE",
    "POP_JUMP_BACKWARD_IF_NONE", "POP_JUMP_BACKWARD_IF_NOT_NONE", "LOAD_CLASSDEREF",
)

SIGS_3_12 = {k: v for k, v in SIGS_3_11.items() if k not in _GONE_3_12}
SIGS_3_12.update(
    {
        # the value FOR_ITER's generator path leaves, and the iterator: both released
        "END_FOR": "iter value --",
        "END_SEND": "receiver value -- value",
        "BINARY_SLICE": "container start stop -- res",
        "STORE_SLICE": "v container start stop --",
        "CLEANUP_THROW": "sub_iter last_sent_val exc_value:exc -- none:none value",
        "LOAD_LOCALS": "-- locals",
        "LOAD_FAST_CHECK": "-- value",
        # NULL when the local is unbound
        "LOAD_FAST_AND_CLEAR": "-- value:obj?",
        "LOAD_ATTR": "owner -- method:obj?[oparg & 1] res",
        "LOAD_SUPER_ATTR": "global_super class self -- method:obj?[oparg & 1] res",
        "POP_JUMP_IF_FALSE": "cond --",
        "POP_JUMP_IF_TRUE": "cond --",
        "POP_JUMP_IF_NONE": "value --",
        "POP_JUMP_IF_NOT_NONE": "value --",
        "RETURN_CONST": "--",
        # exhausted: the compiler books the jump as leaving the iterator and a value for the
        # END_FOR at its target (the interpreter skips that END_FOR instead)
        "FOR_ITER": "iter:iter -- iter next ; jump: iter next",
        # the sub-iterator returned: its value is left for the END_SEND at the target
        "SEND": "receiver v -- receiver retval ; jump: receiver retval",
        "LOAD_FROM_DICT_OR_GLOBALS": "mod_or_class_dict -- v",
        "LOAD_FROM_DICT_OR_DEREF": "class_dict -- value",
        "CALL_INTRINSIC_1": {
            # returns the exception itself unless it is a StopIteration
            "INTRINSIC_STOPITERATION_ERROR": "exc:exc -- res:exc",
            "INTRINSIC_LIST_TO_TUPLE": "value -- res:tuple",
            # (name, type parameters, value): read with PyTuple_GET_ITEM, unchecked
            "INTRINSIC_TYPEALIAS": "args:tuple#3 -- res",
            "*": "value -- res",
        },
        "CALL_INTRINSIC_2": {
            "INTRINSIC_PREP_RERAISE_STAR": "orig:exc excs:list -- res:exc|none",
            "INTRINSIC_SET_FUNCTION_TYPE_PARAMS": "func:func params:tuple -- res=func",
            "*": "value2 value1 -- res",
        },
    }
)

EFFECTS_3_12 = {k: v for k, v in EFFECTS_3_11.items() if k not in _GONE_3_12}
EFFECTS_3_12.update(
    {
        # 3.12's LOAD_FAST trusts the compiler's definite-assignment analysis
        "LOAD_FAST": "LoadFast { checked: false }",
        "LOAD_FAST_CHECK": "LoadFast { checked: true }",
        "LOAD_FAST_AND_CLEAR": "LoadFastAndClear",
        "LOAD_FROM_DICT_OR_DEREF": "LoadDeref",
        "RETURN_CONST": "Return",
        "POP_JUMP_IF_NONE": "NoneTest { jumps_if_none: true }",
        "POP_JUMP_IF_NOT_NONE": "NoneTest { jumps_if_none: false }",
    }
)

NO_RAISE_3_12 = (NO_RAISE_3_11 - set(_GONE_3_12)) | {
    "END_FOR", "END_SEND", "RETURN_CONST", "LOAD_FAST", "LOAD_FAST_AND_CLEAR",
    "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE",
}

# ---------------------------------------------------------------------------------------------
# 3.13
# ---------------------------------------------------------------------------------------------

_GONE_3_13 = ("KW_NAMES", "FORMAT_VALUE", "LOAD_CLOSURE")

SIGS_3_13 = {k: v for k, v in SIGS_3_12.items() if k not in _GONE_3_13}
SIGS_3_13.update(
    {
        # END_FOR is POP_TOP (a POP_TOP follows it for the iterator)
        "END_FOR": "value --",
        "EXIT_INIT_CHECK": "should_be_none --",
        "TO_BOOL": "value -- res:bool",
        # Py_IsFalse on the value: anything but False counts as true
        "UNARY_NOT": "value/bool -- res:bool",
        "POP_JUMP_IF_FALSE": "cond/bool --",
        "POP_JUMP_IF_TRUE": "cond/bool --",
        "COMPARE_OP": "left right -- res:(bit4?bool:obj)",
        "FORMAT_SIMPLE": "value -- res:str",
        "FORMAT_WITH_SPEC": "value fmt_spec -- res:str",
        "CONVERT_VALUE": "value -- result",
        "LOAD_GLOBAL": "-- res null:null[oparg & 1]",
        "LOAD_ATTR": "owner -- attr self_or_null:obj?[oparg & 1]",
        "LOAD_SUPER_ATTR": "global_super class self -- attr self_or_null:obj?[oparg & 1]",
        "CALL": "callable self_or_null:obj? args[oparg] -- res",
        # PyTuple_GET_SIZE(kwnames), unchecked
        "CALL_KW": "callable self_or_null:obj? args[oparg] kwnames:tuple -- res",
        "CALL_FUNCTION_EX": "func null:null callargs kwargs:dict[oparg & 1] -- result",
        "DICT_MERGE": "callable _ _ dict:dict _[oparg - 1] update -- callable _ _ dict _",
        # the keys are asserted to be a tuple of oparg names
        "BUILD_CONST_KEY_MAP": "values[oparg] keys:tuple#oparg -- map:dict",
        "MAKE_FUNCTION": "codeobj:code -- func:func",
        "SET_FUNCTION_ATTRIBUTE": {
            "closure": "attr:tuple func:func -- func",
            "defaults": "attr:tuple func:func -- func",
            "kwdefaults": "attr:dict func:func -- func",
            "annotations": "attr:tuple|dict func:func -- func",
            "*": "attr func:func -- func",
        },
        "LOAD_FAST_LOAD_FAST": "-- value1 value2",
        "STORE_FAST_LOAD_FAST": "value1:obj? -- value2",
        "STORE_FAST_STORE_FAST": "value2:obj? value1:obj? --",
    }
)

EFFECTS_3_13 = {k: v for k, v in EFFECTS_3_12.items() if k not in _GONE_3_13}
EFFECTS_3_13.update(
    {
        "CALL_KW": "Call",
        "SET_FUNCTION_ATTRIBUTE": "SetFunctionAttribute",
        "LOAD_FAST_LOAD_FAST": "LoadFastPair",
        "STORE_FAST_LOAD_FAST": "StoreFastLoadFast",
        "STORE_FAST_STORE_FAST": "StoreFastPair",
    }
)

NO_RAISE_3_13 = (NO_RAISE_3_12 - set(_GONE_3_13)) | {
    "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST",
    "STORE_FAST_STORE_FAST",
}

# ---------------------------------------------------------------------------------------------
# 3.14
# ---------------------------------------------------------------------------------------------

_GONE_3_14 = (
    "BEFORE_ASYNC_WITH", "BEFORE_WITH", "BINARY_SUBSCR", "BUILD_CONST_KEY_MAP",
    "LOAD_ASSERTION_ERROR", "RETURN_CONST",
)

SIGS_3_14 = {k: v for k, v in SIGS_3_13.items() if k not in _GONE_3_14}
SIGS_3_14.update(
    {
        "NOT_TAKEN": "--",
        # the value is booked as the caller's result (the frame is gone after it)
        "RETURN_VALUE": "retval -- res",
        # the compiler pops slots that may be NULL or a tagged int (a `with`'s self-or-NULL
        # and lasti below the exception); NULL and tagged ints own no reference
        "POP_TOP": "value:any --",
        # the iterator FOR_ITER leaves when exhausted (it skips the END_FOR before this)
        "POP_ITER": "iter --",
        # lasti is a tagged int (not an object) from 3.14 on; copying one is harmless
        "COPY": "bottom:obj|index _[oparg - 1] -- bottom _ top=bottom",
        # the offset below the exception is a tagged int, used unchecked as the new position
        "RERAISE": "lasti:index[min(oparg, 1)] _[max(oparg - 1, 0)] exc:exc -- lasti _",
        # __exit__ with its self (or NULL) below lasti and the previous exception
        "WITH_EXCEPT_START": "exit_func exit_self:obj? lasti:any _ val:exc -- exit_func exit_self lasti _ val res",
        # the special method and self, or the bound attribute and NULL
        "LOAD_SPECIAL": "owner -- attr self_or_null:obj?",
        "LOAD_SMALL_INT": "-- value:int",
        "LOAD_COMMON_CONSTANT": "-- value",
        "LOAD_FAST_BORROW": "-- value",
        "LOAD_FAST_BORROW_LOAD_FAST_BORROW": "-- value1 value2",
        # the keyword dict slot is NULL when there is none; a dict is asserted exact
        "CALL_FUNCTION_EX": "func null:null callargs kwargs:dict|null -- result",
        "BUILD_SLICE": "args[oparg] -- slice",
        # the strings and the interpolations are read as tuples unchecked
        "BUILD_TEMPLATE": "strings:tuple interpolations:tuple -- template",
        "BUILD_INTERPOLATION": "value expr:str format[oparg & 1] -- interpolation",
        "END_ASYNC_FOR": "awaitable exc:exc --",
        # the compiler adds to `__conditional_annotations__` loaded by name, so the set
        # cannot be demanded here
        "SET_ADD": "set _[oparg - 1] v -- set _",
    }
)

EFFECTS_3_14 = {k: v for k, v in EFFECTS_3_13.items() if k not in _GONE_3_14}
EFFECTS_3_14.update(
    {
        "LOAD_FAST_BORROW": "LoadFast { checked: false }",
        "LOAD_FAST_BORROW_LOAD_FAST_BORROW": "LoadFastPair",
    }
)

NO_RAISE_3_14 = (NO_RAISE_3_13 - set(_GONE_3_14)) | {
    "NOT_TAKEN", "LOAD_SMALL_INT", "LOAD_COMMON_CONSTANT", "LOAD_FAST_BORROW",
    "LOAD_FAST_BORROW_LOAD_FAST_BORROW", "POP_ITER",
}

# ---------------------------------------------------------------------------------------------
# 3.15
# ---------------------------------------------------------------------------------------------

_GONE_3_15 = ("GET_YIELD_FROM_ITER",)

# The iterator pair: GET_ITER (also for `yield from`, which GET_YIELD_FROM_ITER was) leaves a
# list or tuple with a tagged-int index beside it, anything else's iterator with NULL.
_PAIR = "iter:iter|list|tuple null_or_index:null|index"

SIGS_3_15 = {k: v for k, v in SIGS_3_14.items() if k not in _GONE_3_15}
SIGS_3_15.update(
    {
        "GET_ITER": "iterable -- iter:iter|list|tuple index_or_null:null|index",
        "FOR_ITER": _PAIR + " -- iter null_or_index next ; jump: iter null_or_index next",
        # the index is dropped without a release (a NULL or tagged int owns nothing)
        "POP_ITER": _PAIR + " --",
        # a receiver comes with its index slot (NULL beside an awaitable or anext's result)
        "SEND": "receiver null_or_index:null|index v -- receiver null_or_index retval ; "
        "jump: receiver null_or_index retval",
        # after CLEANUP_THROW the index slot holds the None it left
        "END_SEND": "receiver index_or_null:null|index|none value -- value",
        # the slot below the sent value is the receiver's index slot: released, replaced by None
        "CLEANUP_THROW": "sub_iter:null|index|obj last_sent_val exc_value:exc -- none:none value",
        "LOAD_COMMON_CONSTANT": {
            "None": "-- value:none",
            "True": "-- value:bool",
            "False": "-- value:bool",
            "-1": "-- value:int",
            "''": "-- value:str",
            "*": "-- value",
        },
    }
)

EFFECTS_3_15 = {k: v for k, v in EFFECTS_3_14.items() if k not in _GONE_3_15}
EFFECTS_3_15.update({"GET_ITER": "GetIter", "SEND": "Send"})

NO_RAISE_3_15 = NO_RAISE_3_14 - set(_GONE_3_15)

# The instructions FOR_ITER jumps past when its iterator is exhausted (the target must be
# them): 3.12 skips END_FOR, 3.13 END_FOR and the POP_TOP after it; before 3.12 the target
# is where the loop's code goes on.
FOR_ITER_SKIPS = {
    (3, 11): (),
    (3, 12): ("END_FOR",),
    (3, 13): ("END_FOR", "POP_TOP"),
    # 3.14+: END_FOR only; the POP_ITER after it drops the iterator
    (3, 14): ("END_FOR",),
    (3, 15): ("END_FOR",),
}

# The kind of the offset (`lasti`) an exception handler gets below the exception: an int
# object up to 3.13, a tagged int (not an object) from 3.14 on.
LASTI_KINDS = {(3, 14): "index", (3, 15): "index"}

TYPED = {
    (3, 11): (SIGS_3_11, EFFECTS_3_11, NO_RAISE_3_11),
    (3, 12): (SIGS_3_12, EFFECTS_3_12, NO_RAISE_3_12),
    (3, 13): (SIGS_3_13, EFFECTS_3_13, NO_RAISE_3_13),
    (3, 14): (SIGS_3_14, EFFECTS_3_14, NO_RAISE_3_14),
    (3, 15): (SIGS_3_15, EFFECTS_3_15, NO_RAISE_3_15),
}
