" Vim syntax file
" Language: pyasm, hand-written CPython bytecode (see the pyasm README)
" The lists between the BEGIN/END generated lines come from pyasm's version tables and
" directive list: tests/editors.rs writes them (BLESS=1 cargo test --test editors).

if exists("b:current_syntax")
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match

" Operands and values. Defined first: the more specific items below win where they overlap.
syn match pyasmNumber "-\=\<\d[0-9_]*\%(\.[0-9_]*\)\=\%([eE][+-]\=[0-9_]\+\)\=[jJ]\=\>"
syn match pyasmNumber "-\=\<\d[0-9_]*\.[0-9_]*\%([eE][+-]\=[0-9_]\+\)\="
syn match pyasmNumber "-\=\<0[xX][0-9a-fA-F_]\+\>"
syn match pyasmNumber "-\=\<0[oO][0-7_]\+\>"
syn match pyasmNumber "-\=\<0[bB][01_]\+\>"
syn match pyasmNumber "-\=\<\%(inf\|nan\)\>"
" Source positions: 12:4-19, 12:4-14:1
syn match pyasmNumber "\<\d\+:\d\+-\%(\d\+:\)\=\d\+\>"
syn keyword pyasmConstant None True False Ellipsis
syn match pyasmConstant "\.\.\."
syn match pyasmRaw "\$\%(0[xX]\x\+\|\d\+\)\>"
syn match pyasmSpecialName "<\h\w*>"
syn match pyasmCodeRef "@\%(\h\w*\|<\h\w*>\)"
syn keyword pyasmBuiltin frozenset complex
syn match pyasmEscape "\\\%(x\x\{2}\|u\x\{4}\|U\x\{8}\|\o\{1,3}\|.\)" contained
syn region pyasmString start=+[bB]\="+ skip=+\\.+ end=+"+ end=+$+ oneline contains=pyasmEscape
syn region pyasmString start=+[bB]\='+ skip=+\\.+ end=+'+ end=+$+ oneline contains=pyasmEscape

" Labels: `name:` at the start of a line, and the operands of jumps and regions.
syn match pyasmLabel "^\s*\zs\h\w*\ze\s*:"
syn match pyasmLabelRef "\h\w*" contained
syn match pyasmOperator "\[\]\|[-+*/%@<>=!&|^~]\+" contained
" Flag words: after a comma, or as the whole operand of the instructions that take them.
syn match pyasmAfterComma ",\s*\zs\h\w*" contains=pyasmFlag transparent
syn match pyasmFlagOperand "\h\w*" contained contains=pyasmFlag transparent

" BEGIN generated
syn keyword pyasmOpcode ASYNC_GEN_WRAP BEFORE_ASYNC_WITH BEFORE_WITH BEGIN_FINALLY BINARY_ADD
syn keyword pyasmOpcode BINARY_AND BINARY_FLOOR_DIVIDE BINARY_LSHIFT BINARY_MATRIX_MULTIPLY
syn keyword pyasmOpcode BINARY_MODULO BINARY_MULTIPLY BINARY_OP BINARY_OR BINARY_POWER BINARY_RSHIFT
syn keyword pyasmOpcode BINARY_SLICE BINARY_SUBSCR BINARY_SUBTRACT BINARY_TRUE_DIVIDE BINARY_XOR
syn keyword pyasmOpcode BREAK_LOOP BUILD_CONST_KEY_MAP BUILD_INTERPOLATION BUILD_LIST
syn keyword pyasmOpcode BUILD_LIST_UNPACK BUILD_MAP BUILD_MAP_UNPACK BUILD_MAP_UNPACK_WITH_CALL
syn keyword pyasmOpcode BUILD_SET BUILD_SET_UNPACK BUILD_SLICE BUILD_STRING BUILD_TEMPLATE
syn keyword pyasmOpcode BUILD_TUPLE BUILD_TUPLE_UNPACK BUILD_TUPLE_UNPACK_WITH_CALL CACHE CALL
syn keyword pyasmOpcode CALL_FINALLY CALL_FUNCTION CALL_FUNCTION_EX CALL_FUNCTION_KW CALL_INTRINSIC_1
syn keyword pyasmOpcode CALL_INTRINSIC_2 CALL_KW CALL_METHOD CHECK_EG_MATCH CHECK_EXC_MATCH
syn keyword pyasmOpcode CLEANUP_THROW COMPARE_OP CONTAINS_OP CONTINUE_LOOP CONVERT_VALUE COPY
syn keyword pyasmOpcode COPY_DICT_WITHOUT_KEYS COPY_FREE_VARS DELETE_ATTR DELETE_DEREF DELETE_FAST
syn keyword pyasmOpcode DELETE_GLOBAL DELETE_NAME DELETE_SUBSCR DICT_MERGE DICT_UPDATE DUP_TOP
syn keyword pyasmOpcode DUP_TOP_TWO END_ASYNC_FOR END_FINALLY END_FOR END_SEND EXIT_INIT_CHECK
syn keyword pyasmOpcode EXTENDED_ARG FORMAT_SIMPLE FORMAT_VALUE FORMAT_WITH_SPEC FOR_ITER GEN_START
syn keyword pyasmOpcode GET_AITER GET_ANEXT GET_AWAITABLE GET_ITER GET_LEN GET_YIELD_FROM_ITER
syn keyword pyasmOpcode IMPORT_FROM IMPORT_NAME IMPORT_STAR INPLACE_ADD INPLACE_AND
syn keyword pyasmOpcode INPLACE_FLOOR_DIVIDE INPLACE_LSHIFT INPLACE_MATRIX_MULTIPLY INPLACE_MODULO
syn keyword pyasmOpcode INPLACE_MULTIPLY INPLACE_OR INPLACE_POWER INPLACE_RSHIFT INPLACE_SUBTRACT
syn keyword pyasmOpcode INPLACE_TRUE_DIVIDE INPLACE_XOR IS_OP JUMP JUMP_ABSOLUTE JUMP_BACKWARD
syn keyword pyasmOpcode JUMP_BACKWARD_NO_INTERRUPT JUMP_FORWARD JUMP_IF_FALSE_OR_POP
syn keyword pyasmOpcode JUMP_IF_NOT_EXC_MATCH JUMP_IF_TRUE_OR_POP JUMP_NO_INTERRUPT KW_NAMES
syn keyword pyasmOpcode LIST_APPEND LIST_EXTEND LIST_TO_TUPLE LOAD_ASSERTION_ERROR LOAD_ATTR
syn keyword pyasmOpcode LOAD_BUILD_CLASS LOAD_CLASSDEREF LOAD_CLOSURE LOAD_COMMON_CONSTANT LOAD_CONST
syn keyword pyasmOpcode LOAD_DEREF LOAD_FAST LOAD_FAST_AND_CLEAR LOAD_FAST_BORROW
syn keyword pyasmOpcode LOAD_FAST_BORROW_LOAD_FAST_BORROW LOAD_FAST_CHECK LOAD_FAST_LOAD_FAST
syn keyword pyasmOpcode LOAD_FROM_DICT_OR_DEREF LOAD_FROM_DICT_OR_GLOBALS LOAD_GLOBAL LOAD_LOCALS
syn keyword pyasmOpcode LOAD_METHOD LOAD_NAME LOAD_SMALL_INT LOAD_SPECIAL LOAD_SUPER_ATTR MAKE_CELL
syn keyword pyasmOpcode MAKE_FUNCTION MAP_ADD MATCH_CLASS MATCH_KEYS MATCH_MAPPING MATCH_SEQUENCE NOP
syn keyword pyasmOpcode NOT_TAKEN POP_BLOCK POP_EXCEPT POP_FINALLY POP_ITER
syn keyword pyasmOpcode POP_JUMP_BACKWARD_IF_FALSE POP_JUMP_BACKWARD_IF_NONE
syn keyword pyasmOpcode POP_JUMP_BACKWARD_IF_NOT_NONE POP_JUMP_BACKWARD_IF_TRUE
syn keyword pyasmOpcode POP_JUMP_FORWARD_IF_FALSE POP_JUMP_FORWARD_IF_NONE
syn keyword pyasmOpcode POP_JUMP_FORWARD_IF_NOT_NONE POP_JUMP_FORWARD_IF_TRUE POP_JUMP_IF_FALSE
syn keyword pyasmOpcode POP_JUMP_IF_NONE POP_JUMP_IF_NOT_NONE POP_JUMP_IF_TRUE POP_TOP PRECALL
syn keyword pyasmOpcode PREP_RERAISE_STAR PRINT_EXPR PUSH_EXC_INFO PUSH_NULL RAISE_VARARGS RERAISE
syn keyword pyasmOpcode RESUME RETURN_CONST RETURN_GENERATOR RETURN_VALUE ROT_FOUR ROT_N ROT_THREE
syn keyword pyasmOpcode ROT_TWO SEND SETUP_ANNOTATIONS SETUP_ASYNC_WITH SETUP_EXCEPT SETUP_FINALLY
syn keyword pyasmOpcode SETUP_LOOP SETUP_WITH SET_ADD SET_FUNCTION_ATTRIBUTE SET_UPDATE
syn keyword pyasmOpcode STORE_ANNOTATION STORE_ATTR STORE_DEREF STORE_FAST STORE_FAST_LOAD_FAST
syn keyword pyasmOpcode STORE_FAST_STORE_FAST STORE_GLOBAL STORE_NAME STORE_SLICE STORE_SUBSCR SWAP
syn keyword pyasmOpcode TO_BOOL UNARY_INVERT UNARY_NEGATIVE UNARY_NOT UNARY_POSITIVE UNPACK_EX
syn keyword pyasmOpcode UNPACK_SEQUENCE WITH_CLEANUP_FINISH WITH_CLEANUP_START WITH_EXCEPT_START
syn keyword pyasmOpcode YIELD_FROM YIELD_VALUE
syn keyword pyasmJump CALL_FINALLY CONTINUE_LOOP END_ASYNC_FOR nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump FOR_ITER JUMP JUMP_ABSOLUTE JUMP_BACKWARD nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump JUMP_BACKWARD_NO_INTERRUPT JUMP_FORWARD nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump JUMP_IF_FALSE_OR_POP JUMP_IF_NOT_EXC_MATCH nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump JUMP_IF_TRUE_OR_POP JUMP_NO_INTERRUPT nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_BACKWARD_IF_FALSE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_BACKWARD_IF_NONE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_BACKWARD_IF_NOT_NONE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_BACKWARD_IF_TRUE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_FORWARD_IF_FALSE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_FORWARD_IF_NONE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_FORWARD_IF_NOT_NONE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_FORWARD_IF_TRUE POP_JUMP_IF_FALSE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_IF_NONE POP_JUMP_IF_NOT_NONE nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump POP_JUMP_IF_TRUE SEND SETUP_ASYNC_WITH nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump SETUP_EXCEPT SETUP_FINALLY SETUP_LOOP nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmJump SETUP_WITH nextgroup=pyasmLabelRef skipwhite
syn keyword pyasmOperatorOp BINARY_OP COMPARE_OP nextgroup=pyasmOperator skipwhite
syn keyword pyasmFlagOp CALL_INTRINSIC_1 CALL_INTRINSIC_2 nextgroup=pyasmFlagOperand skipwhite
syn keyword pyasmFlagOp CONTAINS_OP CONVERT_VALUE FORMAT_VALUE nextgroup=pyasmFlagOperand skipwhite
syn keyword pyasmFlagOp GEN_START IS_OP LOAD_COMMON_CONSTANT nextgroup=pyasmFlagOperand skipwhite
syn keyword pyasmFlagOp LOAD_SPECIAL MAKE_FUNCTION RAISE_VARARGS nextgroup=pyasmFlagOperand skipwhite
syn keyword pyasmFlagOp RESUME SET_FUNCTION_ATTRIBUTE nextgroup=pyasmFlagOperand skipwhite
syn keyword pyasmFlag contained '' -1 AssertionError INTRINSIC_1_INVALID INTRINSIC_2_INVALID
syn keyword pyasmFlag contained INTRINSIC_ASYNC_GEN_WRAP INTRINSIC_IMPORT_STAR
syn keyword pyasmFlag contained INTRINSIC_LIST_TO_TUPLE INTRINSIC_PARAMSPEC
syn keyword pyasmFlag contained INTRINSIC_PREP_RERAISE_STAR INTRINSIC_PRINT
syn keyword pyasmFlag contained INTRINSIC_SET_FUNCTION_TYPE_PARAMS INTRINSIC_SET_TYPEPARAM_DEFAULT
syn keyword pyasmFlag contained INTRINSIC_STOPITERATION_ERROR INTRINSIC_SUBSCRIPT_GENERIC
syn keyword pyasmFlag contained INTRINSIC_TYPEALIAS INTRINSIC_TYPEVAR INTRINSIC_TYPEVARTUPLE
syn keyword pyasmFlag contained INTRINSIC_TYPEVAR_WITH_BOUND INTRINSIC_TYPEVAR_WITH_CONSTRAINTS
syn keyword pyasmFlag contained INTRINSIC_UNARY_POSITIVE NotImplementedError __aenter__ __aexit__
syn keyword pyasmFlag contained __enter__ __exit__ all annotate annotations any ascii async_generator
syn keyword pyasmFlag contained await bool closure coroutine defaults depth1 eager exc exc_from
syn keyword pyasmFlag contained generator has_docstring in is is_not iterable_coroutine kwdefaults
syn keyword pyasmFlag contained lazy list method nested newlocals nofree not_in null optimized repr
syn keyword pyasmFlag contained reraise set spec start str tuple two_args varargs varkeywords yield
syn keyword pyasmFlag contained yield_from
syn match pyasmDirective "\.\%(exceptiontable\|remove_flags\|firstlineno\|add_flags\|docstring\|exception\|linetable\|stacksize\|filename\|freevars\|qualname\|end_try\|consts\|hidden\|locals\|python\|cells\|flags\|names\|code\|line\|name\|end\|loc\|try\)\>"
" END generated

" Directives that take labels, a code object's name and parameters, or flag words.
syn match pyasmDirective "\.\%(try\|exception\)\>" nextgroup=pyasmLabelRef skipwhite
syn match pyasmDirective "\.\%(flags\|add_flags\|remove_flags\)\>" nextgroup=pyasmFlagOperand skipwhite
syn keyword pyasmRegionWord lasti depth
syn match pyasmDirective "\.code\>" nextgroup=pyasmCodeName,pyasmCodeSpecialName skipwhite
syn match pyasmCodeName "\h\w*\|\"[^"]*\"" contained nextgroup=pyasmParams
syn match pyasmCodeSpecialName "<\h\w*>" contained nextgroup=pyasmParams
syn region pyasmParams start="(" end=")" contained oneline contains=pyasmParam,pyasmString
syn match pyasmParam "\h\w*" contained

syn match pyasmComment "#.*$" contains=@Spell

hi def link pyasmComment Comment
hi def link pyasmDirective PreProc
hi def link pyasmOpcode Statement
hi def link pyasmJump Statement
hi def link pyasmOperatorOp Statement
hi def link pyasmFlagOp Statement
hi def link pyasmLabel Label
hi def link pyasmLabelRef Identifier
hi def link pyasmOperator Operator
hi def link pyasmFlag Special
hi def link pyasmRegionWord Special
hi def link pyasmNumber Number
hi def link pyasmConstant Constant
hi def link pyasmRaw Number
hi def link pyasmString String
hi def link pyasmEscape SpecialChar
hi def link pyasmSpecialName Type
hi def link pyasmCodeRef Type
hi def link pyasmCodeName Function
hi def link pyasmCodeSpecialName Type
hi def link pyasmParam Identifier
hi def link pyasmBuiltin Function

let b:current_syntax = "pyasm"

let &cpo = s:cpo_save
unlet s:cpo_save
