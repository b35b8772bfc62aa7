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
# 3.6–3.10: the block stack
# ---------------------------------------------------------------------------------------------
# An exception reaching a SETUP_FINALLY (SETUP_EXCEPT, SETUP_WITH, …) block cuts the stack to
# the block's level and enters its handler with six values: the three of the exception it
# replaces (the thread's exc_info, any of them possibly NULL), which only POP_EXCEPT or the
# unwinding may take, then the traceback (or None), the normalized exception and its class.
# A SETUP_* instruction's `jump:` outputs are those values: the slots it keeps below them
# (SETUP_WITH's `exit`) are below the block's level, the new ones are what the handler gets.
_SAVED3 = "saved_tb:saved_exc saved_val:saved_exc saved_type:saved_exc"
_EXC3 = "tb:other|none val:exc type:exc_class"
_HANDLER6 = _SAVED3 + " " + _EXC3

_BINARY_3_10 = (
    "BINARY_MATRIX_MULTIPLY", "INPLACE_MATRIX_MULTIPLY", "BINARY_POWER", "BINARY_MULTIPLY",
    "BINARY_MODULO", "BINARY_ADD", "BINARY_SUBTRACT", "BINARY_FLOOR_DIVIDE",
    "BINARY_TRUE_DIVIDE", "INPLACE_FLOOR_DIVIDE", "INPLACE_TRUE_DIVIDE", "INPLACE_ADD",
    "INPLACE_SUBTRACT", "INPLACE_MULTIPLY", "INPLACE_MODULO", "BINARY_LSHIFT", "BINARY_RSHIFT",
    "BINARY_AND", "BINARY_XOR", "BINARY_OR", "INPLACE_POWER", "INPLACE_LSHIFT",
    "INPLACE_RSHIFT", "INPLACE_AND", "INPLACE_XOR", "INPLACE_OR",
)

_SAME_AS_3_11 = (
    "NOP", "EXTENDED_ARG", "POP_TOP", "UNARY_POSITIVE", "UNARY_NEGATIVE", "UNARY_INVERT",
    "UNARY_NOT", "BINARY_SUBSCR", "GET_LEN", "MATCH_MAPPING", "MATCH_SEQUENCE", "GET_AITER",
    "BEFORE_ASYNC_WITH", "STORE_SUBSCR", "DELETE_SUBSCR", "GET_ITER", "PRINT_EXPR",
    "LOAD_BUILD_CLASS", "LOAD_ASSERTION_ERROR", "LIST_TO_TUPLE", "RETURN_VALUE", "IMPORT_STAR",
    "SETUP_ANNOTATIONS", "YIELD_VALUE", "STORE_NAME", "DELETE_NAME", "UNPACK_SEQUENCE",
    "UNPACK_EX", "FOR_ITER", "STORE_ATTR", "DELETE_ATTR", "STORE_GLOBAL", "DELETE_GLOBAL",
    "LOAD_CONST", "LOAD_NAME", "BUILD_TUPLE", "BUILD_LIST", "BUILD_SET", "BUILD_MAP",
    "BUILD_STRING", "BUILD_SLICE", "LOAD_ATTR", "LOAD_METHOD", "COMPARE_OP", "IMPORT_NAME",
    "IMPORT_FROM", "JUMP_FORWARD", "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP", "IS_OP",
    "CONTAINS_OP", "LOAD_FAST", "STORE_FAST", "DELETE_FAST", "RAISE_VARARGS", "LOAD_CLOSURE",
    "LOAD_DEREF", "LOAD_CLASSDEREF", "STORE_DEREF", "DELETE_DEREF", "LIST_APPEND", "SET_ADD",
    "MAP_ADD", "LIST_EXTEND", "SET_UPDATE", "DICT_UPDATE", "DICT_MERGE", "FORMAT_VALUE",
)

SIGS_3_10 = {k: SIGS_3_11[k] for k in _SAME_AS_3_11}
SIGS_3_10.update({k: "lhs rhs -- res" for k in _BINARY_3_10})
SIGS_3_10.update(
    {
        # the rotations and copies move values of any kind (a handler's saved exception
        # goes under a return value with ROT_FOUR before POP_EXCEPT)
        "ROT_TWO": "a:any b:any -- b a",
        "ROT_THREE": "a:any b:any c:any -- c a b",
        "ROT_FOUR": "a:any b:any c:any d:any -- d a b c",
        "ROT_N": "rest:any[oparg - 1] top:any -- top rest",
        "DUP_TOP": "value -- value copy=value",
        "DUP_TOP_TWO": "a b -- a b a2=a b2=b",
        # the keys are read with PyTuple_GET_SIZE unchecked; pushes the values (or None)
        # and whether they matched
        "MATCH_KEYS": "subject keys:tuple -- subject keys values:tuple|none ok:bool",
        "COPY_DICT_WITHOUT_KEYS": "subject keys:tuple -- subject rest:dict",
        "MATCH_CLASS": "subject type names:tuple -- attrs ok:bool",
        # the exception is matched against the class (checked); the values stay
        "JUMP_IF_NOT_EXC_MATCH": "left right --",
        "JUMP_ABSOLUTE": "--",
        "POP_JUMP_IF_FALSE": "cond --",
        "POP_JUMP_IF_TRUE": "cond --",
        "LOAD_GLOBAL": "-- v",
        # __exit__ is called with the exception's three values, which stay
        "WITH_EXCEPT_START": "exit_func s1:any s2:any s3:any tb val type -- exit_func s1 s2 s3 tb val type res",
        # StopAsyncIteration ends the loop: the handler's block is popped as POP_EXCEPT does
        "END_ASYNC_FOR": "aiter " + _HANDLER6 + " --",
        # an iterator (tp_iternext called unchecked when None is sent) or a coroutine
        "GET_YIELD_FROM_ITER": "iterable -- iter:iter|await",
        "GET_AWAITABLE": "iterable -- iter:iter|await",
        "GET_ANEXT": "aiter -- aiter awaitable:iter|await",
        "YIELD_FROM": "receiver:iter|await v -- retval",
        # the first value sent to a generator (None)
        "GEN_START": "value --",
        # the exception's three values, restored as the current exception unchecked
        "RERAISE": _EXC3 + " --",
        "POP_EXCEPT": _SAVED3 + " --",
        "POP_BLOCK": "--",
        "SETUP_FINALLY": "-- ; jump: " + _HANDLER6,
        "SETUP_WITH": "mgr -- exit res ; jump: exit " + _HANDLER6,
        # __aenter__'s awaited result is above the block's level
        "SETUP_ASYNC_WITH": "res -- res ; jump: " + _HANDLER6,
        "CALL_FUNCTION": "callable args[oparg] -- res",
        # the names are asserted to be a tuple of at most oparg strings
        "CALL_FUNCTION_KW": "callable args[oparg] kwnames:tuple -- res",
        # the arguments are converted to a tuple and a dict when they are not
        "CALL_FUNCTION_EX": "func callargs kwargs[oparg & 1] -- result",
        "CALL_METHOD": "method:obj? callable args[oparg] -- res",
        # the defaults, keyword defaults and closure are stored unchecked; the function's
        # __qualname__ is the str given
        "MAKE_FUNCTION": "defaults:tuple[oparg & 1] kwdefaults:dict[(oparg >> 1) & 1] "
        "annotations:tuple|dict[(oparg >> 2) & 1] closure:tuple[(oparg >> 3) & 1] codeobj:code qualname:str -- func:func",
        "BUILD_CONST_KEY_MAP": "values[oparg] keys -- map:dict",
    }
)

EFFECTS_3_10 = {k: v for k, v in EFFECTS_3_11.items() if k in SIGS_3_10 and k not in ("CALL", "PRECALL")}
EFFECTS_3_10.update(
    {
        "CALL_FUNCTION": "Call",
        "CALL_FUNCTION_KW": "Call",
        "CALL_METHOD": "Call",
        "YIELD_FROM": "Yield",
        "SETUP_FINALLY": "SetupBlock { handler: true }",
        "SETUP_WITH": "SetupBlock { handler: true }",
        "SETUP_ASYNC_WITH": "SetupBlock { handler: true }",
        "POP_BLOCK": "PopBlock { unwinds: false }",
        "POP_EXCEPT": "PopExcept { unwinds: false }",
        "END_ASYNC_FOR": "PopExcept { unwinds: false }",
        "RERAISE": "Reraise",
    }
)

NO_RAISE_3_10 = {
    "NOP", "EXTENDED_ARG", "POP_TOP", "ROT_TWO", "ROT_THREE", "ROT_FOUR", "ROT_N", "DUP_TOP",
    "DUP_TOP_TWO", "LOAD_CONST", "STORE_FAST", "POP_BLOCK", "POP_EXCEPT", "SETUP_FINALLY",
    "JUMP_FORWARD", "RETURN_VALUE", "GEN_START",
}

_GONE_3_9 = ("ROT_N", "GEN_START", "GET_LEN", "MATCH_MAPPING", "MATCH_SEQUENCE", "MATCH_KEYS",
             "MATCH_CLASS", "COPY_DICT_WITHOUT_KEYS")
SIGS_3_9 = {k: v for k, v in SIGS_3_10.items() if k not in _GONE_3_9}
EFFECTS_3_9 = {k: v for k, v in EFFECTS_3_10.items() if k not in _GONE_3_9}
NO_RAISE_3_9 = NO_RAISE_3_10 - set(_GONE_3_9)

# 3.8: `finally` blocks are entered by BEGIN_FINALLY (NULL), CALL_FINALLY (a return address,
# pushed when it jumps) or an exception (its six values), and ended by END_FINALLY or
# POP_FINALLY, which act on the top value: NULL goes on, an int is jumped to, an exception
# class is re-raised with the two values below it (the unwinding then restores the saved
# exception of the handler's block). The compiler books every entry as six values: where an
# entry brings fewer, the analysis fills the difference below its value with `absent` slots
# (src/opcodes/signature.rs), which only these instructions may take.
_FINALLY6 = "f1:any f2:any f3:any f4:any f5:any status:null|return_address|exc_class"

_GONE_3_8 = ("RERAISE", "WITH_EXCEPT_START", "JUMP_IF_NOT_EXC_MATCH", "IS_OP", "CONTAINS_OP",
             "LIST_EXTEND", "SET_UPDATE", "DICT_MERGE", "DICT_UPDATE", "LIST_TO_TUPLE",
             "LOAD_ASSERTION_ERROR")
SIGS_3_8 = {k: v for k, v in SIGS_3_9.items() if k not in _GONE_3_8}
SIGS_3_8.update(
    {
        "BEGIN_FINALLY": "-- f1:absent f2:absent f3:absent f4:absent f5:absent status:null",
        "CALL_FINALLY": "-- ; jump: ret:return_address",
        "END_FINALLY": _FINALLY6 + " --",
        # with an argument the value on top (a return value) stays above
        "POP_FINALLY": _FINALLY6 + " res[oparg & 1] -- res",
        # __exit__ is called with the exception's values (or three None); the saved
        # exception moves down into __exit__'s slot, and the exception (or None) and the
        # result are pushed for WITH_CLEANUP_FINISH
        "WITH_CLEANUP_START": "exit " + _FINALLY6 + " -- f1 f2 f3 f4 f5 status gap:absent exc res",
        # a true result suppresses the exception: the handler's block is ended and the
        # status becomes NULL
        "WITH_CLEANUP_FINISH": _FINALLY6 + " gap:any exc res -- f1:saved_exc|absent f2:saved_exc|absent "
        "f3:saved_exc|absent f4:other|none|absent f5:exc|absent status:null|exc_class",
        "BUILD_LIST_UNPACK": "values[oparg] -- list:list",
        "BUILD_TUPLE_UNPACK": "values[oparg] -- tup:tuple",
        "BUILD_SET_UNPACK": "values[oparg] -- set:set",
        "BUILD_MAP_UNPACK": "values[oparg] -- map:dict",
        # the error messages name the callable below the values
        "BUILD_TUPLE_UNPACK_WITH_CALL": "func values[oparg] -- func tup:tuple",
        "BUILD_MAP_UNPACK_WITH_CALL": "func _ values[oparg] -- func _ map:dict",
    }
)
EFFECTS_3_8 = {k: v for k, v in EFFECTS_3_9.items() if k not in _GONE_3_8}
EFFECTS_3_8.update(
    {
        "CALL_FINALLY": "CallFinally",
        "END_FINALLY": "EndFinally",
        "POP_FINALLY": "EndFinally",
        "WITH_CLEANUP_START": "WithCleanupStart",
        "WITH_CLEANUP_FINISH": "WithCleanupFinish",
    }
)
NO_RAISE_3_8 = (NO_RAISE_3_9 - set(_GONE_3_8)) | {"BEGIN_FINALLY", "CALL_FINALLY"}

# 3.6–3.7: loops have a block too (SETUP_LOOP, whose target BREAK_LOOP goes to; CONTINUE_LOOP
# jumps to the loop's start from inside a `try`), `try: … except` is SETUP_EXCEPT, and a
# `finally` block is entered normally with None (`LOAD_CONST None` after POP_BLOCK), by
# `return`/`break`/`continue` with an unwinding code (an int END_FINALLY acts on), or by an
# exception. POP_BLOCK and POP_EXCEPT cut the stack back to their block's level: the values
# above it must be none (POP_EXCEPT's saved exception right at the level).
_FINALLY6_3_7 = "f1:any f2:any f3:any f4:any f5:any status:none|why|exc_class"
_GONE_3_7 = ("ROT_FOUR", "BEGIN_FINALLY", "CALL_FINALLY", "POP_FINALLY", "END_ASYNC_FOR")
SIGS_3_7 = {k: v for k, v in SIGS_3_8.items() if k not in _GONE_3_7}
SIGS_3_7.update(
    {
        "SETUP_LOOP": "-- ; jump:",
        "SETUP_EXCEPT": "-- ; jump: " + _HANDLER6,
        "BREAK_LOOP": "--",
        "CONTINUE_LOOP": "--",
        # WHY_SILENCED (`silenced`) goes on with the next instruction; the other codes (`why`)
        # and an exception never do
        "END_FINALLY": _FINALLY6_3_7 + "|silenced --",
        "WITH_CLEANUP_START": "exit " + _FINALLY6_3_7 + " -- f1 f2 f3 f4 f5 status gap:absent exc res",
        # a true result on an exception pushes WHY_SILENCED: END_FINALLY then ends the
        # handler's block
        "WITH_CLEANUP_FINISH": _FINALLY6_3_7 + " gap:any exc res -- f1:saved_exc|absent f2:saved_exc|absent "
        "f3:saved_exc|absent f4:other|none|absent f5:exc|absent status:none|silenced|exc_class",
        # 3.7 takes the key from the top, the value below it
        "MAP_ADD": "dict:dict _[oparg - 1] value key -- dict _",
    }
)
EFFECTS_3_7 = {k: v for k, v in EFFECTS_3_8.items() if k not in _GONE_3_7}
EFFECTS_3_7.update(
    {
        "SETUP_LOOP": "SetupBlock { handler: false }",
        "SETUP_EXCEPT": "SetupBlock { handler: true }",
        # `return`, `break` and `continue` stop at these blocks' handlers (fast_block_end)
        "SETUP_FINALLY": "SetupFinally",
        "SETUP_WITH": "SetupFinally",
        "SETUP_ASYNC_WITH": "SetupFinally",
        "BREAK_LOOP": "BreakLoop",
        "CONTINUE_LOOP": "ContinueLoop",
        "POP_BLOCK": "PopBlock { unwinds: true }",
        "POP_EXCEPT": "PopExcept { unwinds: true }",
    }
)
NO_RAISE_3_7 = (NO_RAISE_3_8 - set(_GONE_3_7)) | {"SETUP_LOOP", "SETUP_EXCEPT", "BREAK_LOOP", "CONTINUE_LOOP"}

_GONE_3_6 = ("LOAD_METHOD", "CALL_METHOD")
SIGS_3_6 = {k: v for k, v in SIGS_3_7.items() if k not in _GONE_3_6}
SIGS_3_6["STORE_ANNOTATION"] = "v --"
# 3.6's __aiter__ may still return an awaitable: GET_AITER leaves what YIELD_FROM awaits
SIGS_3_6["GET_AITER"] = "obj -- iter:iter|await"
EFFECTS_3_6 = {k: v for k, v in EFFECTS_3_7.items() if k not in _GONE_3_6}
NO_RAISE_3_6 = NO_RAISE_3_7 - set(_GONE_3_6)

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
    (3, 6): (),
    (3, 7): (),
    (3, 8): (),
    (3, 9): (),
    (3, 10): (),
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

# Names the compiler binds to a value of one kind that instructions then use unchecked:
# from 3.14 a module or class body with annotations under `if`/`try` makes the set
# `__conditional_annotations__` (BUILD_SET, stored by name or in a cell) and SET_ADD (which
# adds without checking it has a set) records in it which of them ran. Loading such a name
# gives that kind; storing it must store that kind (`VersionTable::trusted_names`).
TRUSTED_NAMES = {(3, 14): {"__conditional_annotations__": "set"}, (3, 15): {"__conditional_annotations__": "set"}}

TYPED = {
    (3, 6): (SIGS_3_6, EFFECTS_3_6, NO_RAISE_3_6),
    (3, 7): (SIGS_3_7, EFFECTS_3_7, NO_RAISE_3_7),
    (3, 8): (SIGS_3_8, EFFECTS_3_8, NO_RAISE_3_8),
    (3, 9): (SIGS_3_9, EFFECTS_3_9, NO_RAISE_3_9),
    (3, 10): (SIGS_3_10, EFFECTS_3_10, NO_RAISE_3_10),
    (3, 11): (SIGS_3_11, EFFECTS_3_11, NO_RAISE_3_11),
    (3, 12): (SIGS_3_12, EFFECTS_3_12, NO_RAISE_3_12),
    (3, 13): (SIGS_3_13, EFFECTS_3_13, NO_RAISE_3_13),
    (3, 14): (SIGS_3_14, EFFECTS_3_14, NO_RAISE_3_14),
    (3, 15): (SIGS_3_15, EFFECTS_3_15, NO_RAISE_3_15),
}
