;;; pyasm-mode.el --- Major mode for pyasm, hand-written CPython bytecode  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Keywords: languages
;; Package-Requires: ((emacs "26.1"))

;;; Commentary:

;; Highlighting, comments and indentation for .pyasm files, the text that the pyasm assembler
;; turns into .pyc files.  Install by putting this file on `load-path' and adding
;;
;;     (require 'pyasm-mode)
;;
;; to your init file; .pyasm files then open in `pyasm-mode'.
;;
;; The word lists between the BEGIN/END generated lines are written by pyasm's test suite from
;; its version tables (BLESS=1 cargo test --test editors), so they follow new Python versions.

;;; Code:

;; BEGIN generated
(defconst pyasm-opcodes
  '("ASYNC_GEN_WRAP" "BEFORE_ASYNC_WITH" "BEFORE_WITH" "BEGIN_FINALLY" "BINARY_ADD" "BINARY_AND"
    "BINARY_FLOOR_DIVIDE" "BINARY_LSHIFT" "BINARY_MATRIX_MULTIPLY" "BINARY_MODULO" "BINARY_MULTIPLY"
    "BINARY_OP" "BINARY_OR" "BINARY_POWER" "BINARY_RSHIFT" "BINARY_SLICE" "BINARY_SUBSCR"
    "BINARY_SUBTRACT" "BINARY_TRUE_DIVIDE" "BINARY_XOR" "BREAK_LOOP" "BUILD_CONST_KEY_MAP"
    "BUILD_INTERPOLATION" "BUILD_LIST" "BUILD_LIST_UNPACK" "BUILD_MAP" "BUILD_MAP_UNPACK"
    "BUILD_MAP_UNPACK_WITH_CALL" "BUILD_SET" "BUILD_SET_UNPACK" "BUILD_SLICE" "BUILD_STRING"
    "BUILD_TEMPLATE" "BUILD_TUPLE" "BUILD_TUPLE_UNPACK" "BUILD_TUPLE_UNPACK_WITH_CALL" "CACHE" "CALL"
    "CALL_FINALLY" "CALL_FUNCTION" "CALL_FUNCTION_EX" "CALL_FUNCTION_KW" "CALL_INTRINSIC_1"
    "CALL_INTRINSIC_2" "CALL_KW" "CALL_METHOD" "CHECK_EG_MATCH" "CHECK_EXC_MATCH" "CLEANUP_THROW"
    "COMPARE_OP" "CONTAINS_OP" "CONTINUE_LOOP" "CONVERT_VALUE" "COPY" "COPY_DICT_WITHOUT_KEYS"
    "COPY_FREE_VARS" "DELETE_ATTR" "DELETE_DEREF" "DELETE_FAST" "DELETE_GLOBAL" "DELETE_NAME"
    "DELETE_SUBSCR" "DICT_MERGE" "DICT_UPDATE" "DUP_TOP" "DUP_TOP_TWO" "END_ASYNC_FOR" "END_FINALLY"
    "END_FOR" "END_SEND" "EXIT_INIT_CHECK" "EXTENDED_ARG" "FORMAT_SIMPLE" "FORMAT_VALUE"
    "FORMAT_WITH_SPEC" "FOR_ITER" "GEN_START" "GET_AITER" "GET_ANEXT" "GET_AWAITABLE" "GET_ITER"
    "GET_LEN" "GET_YIELD_FROM_ITER" "IMPORT_FROM" "IMPORT_NAME" "IMPORT_STAR" "INPLACE_ADD"
    "INPLACE_AND" "INPLACE_FLOOR_DIVIDE" "INPLACE_LSHIFT" "INPLACE_MATRIX_MULTIPLY" "INPLACE_MODULO"
    "INPLACE_MULTIPLY" "INPLACE_OR" "INPLACE_POWER" "INPLACE_RSHIFT" "INPLACE_SUBTRACT"
    "INPLACE_TRUE_DIVIDE" "INPLACE_XOR" "IS_OP" "JUMP" "JUMP_ABSOLUTE" "JUMP_BACKWARD"
    "JUMP_BACKWARD_NO_INTERRUPT" "JUMP_FORWARD" "JUMP_IF_FALSE_OR_POP" "JUMP_IF_NOT_EXC_MATCH"
    "JUMP_IF_TRUE_OR_POP" "JUMP_NO_INTERRUPT" "KW_NAMES" "LIST_APPEND" "LIST_EXTEND" "LIST_TO_TUPLE"
    "LOAD_ASSERTION_ERROR" "LOAD_ATTR" "LOAD_BUILD_CLASS" "LOAD_CLASSDEREF" "LOAD_CLOSURE"
    "LOAD_COMMON_CONSTANT" "LOAD_CONST" "LOAD_DEREF" "LOAD_FAST" "LOAD_FAST_AND_CLEAR"
    "LOAD_FAST_BORROW" "LOAD_FAST_BORROW_LOAD_FAST_BORROW" "LOAD_FAST_CHECK" "LOAD_FAST_LOAD_FAST"
    "LOAD_FROM_DICT_OR_DEREF" "LOAD_FROM_DICT_OR_GLOBALS" "LOAD_GLOBAL" "LOAD_LOCALS" "LOAD_METHOD"
    "LOAD_NAME" "LOAD_SMALL_INT" "LOAD_SPECIAL" "LOAD_SUPER_ATTR" "MAKE_CELL" "MAKE_FUNCTION"
    "MAP_ADD" "MATCH_CLASS" "MATCH_KEYS" "MATCH_MAPPING" "MATCH_SEQUENCE" "NOP" "NOT_TAKEN"
    "POP_BLOCK" "POP_EXCEPT" "POP_FINALLY" "POP_ITER" "POP_JUMP_BACKWARD_IF_FALSE"
    "POP_JUMP_BACKWARD_IF_NONE" "POP_JUMP_BACKWARD_IF_NOT_NONE" "POP_JUMP_BACKWARD_IF_TRUE"
    "POP_JUMP_FORWARD_IF_FALSE" "POP_JUMP_FORWARD_IF_NONE" "POP_JUMP_FORWARD_IF_NOT_NONE"
    "POP_JUMP_FORWARD_IF_TRUE" "POP_JUMP_IF_FALSE" "POP_JUMP_IF_NONE" "POP_JUMP_IF_NOT_NONE"
    "POP_JUMP_IF_TRUE" "POP_TOP" "PRECALL" "PREP_RERAISE_STAR" "PRINT_EXPR" "PUSH_EXC_INFO"
    "PUSH_NULL" "RAISE_VARARGS" "RERAISE" "RESUME" "RETURN_CONST" "RETURN_GENERATOR" "RETURN_VALUE"
    "ROT_FOUR" "ROT_N" "ROT_THREE" "ROT_TWO" "SEND" "SETUP_ANNOTATIONS" "SETUP_ASYNC_WITH"
    "SETUP_EXCEPT" "SETUP_FINALLY" "SETUP_LOOP" "SETUP_WITH" "SET_ADD" "SET_FUNCTION_ATTRIBUTE"
    "SET_UPDATE" "STORE_ANNOTATION" "STORE_ATTR" "STORE_DEREF" "STORE_FAST" "STORE_FAST_LOAD_FAST"
    "STORE_FAST_STORE_FAST" "STORE_GLOBAL" "STORE_NAME" "STORE_SLICE" "STORE_SUBSCR" "SWAP" "TO_BOOL"
    "UNARY_INVERT" "UNARY_NEGATIVE" "UNARY_NOT" "UNARY_POSITIVE" "UNPACK_EX" "UNPACK_SEQUENCE"
    "WITH_CLEANUP_FINISH" "WITH_CLEANUP_START" "WITH_EXCEPT_START" "YIELD_FROM" "YIELD_VALUE")
  "Opcode names of every supported version, and the jump names.")
(defconst pyasm-jumps
  '("CALL_FINALLY" "CONTINUE_LOOP" "END_ASYNC_FOR" "FOR_ITER" "JUMP" "JUMP_ABSOLUTE" "JUMP_BACKWARD"
    "JUMP_BACKWARD_NO_INTERRUPT" "JUMP_FORWARD" "JUMP_IF_FALSE_OR_POP" "JUMP_IF_NOT_EXC_MATCH"
    "JUMP_IF_TRUE_OR_POP" "JUMP_NO_INTERRUPT" "POP_JUMP_BACKWARD_IF_FALSE"
    "POP_JUMP_BACKWARD_IF_NONE" "POP_JUMP_BACKWARD_IF_NOT_NONE" "POP_JUMP_BACKWARD_IF_TRUE"
    "POP_JUMP_FORWARD_IF_FALSE" "POP_JUMP_FORWARD_IF_NONE" "POP_JUMP_FORWARD_IF_NOT_NONE"
    "POP_JUMP_FORWARD_IF_TRUE" "POP_JUMP_IF_FALSE" "POP_JUMP_IF_NONE" "POP_JUMP_IF_NOT_NONE"
    "POP_JUMP_IF_TRUE" "SEND" "SETUP_ASYNC_WITH" "SETUP_EXCEPT" "SETUP_FINALLY" "SETUP_LOOP"
    "SETUP_WITH")
  "Instructions whose operand is a label.")
(defconst pyasm-operator-ops
  '("BINARY_OP" "COMPARE_OP")
  "Instructions whose operand is an operator symbol.")
(defconst pyasm-flag-ops
  '("CALL_INTRINSIC_1" "CALL_INTRINSIC_2" "CONTAINS_OP" "CONVERT_VALUE" "FORMAT_VALUE" "GEN_START"
    "IS_OP" "LOAD_COMMON_CONSTANT" "LOAD_SPECIAL" "MAKE_FUNCTION" "RAISE_VARARGS" "RESUME"
    "SET_FUNCTION_ATTRIBUTE")
  "Instructions whose operand may be flag words.")
(defconst pyasm-flags
  '("''" "-1" "AssertionError" "INTRINSIC_1_INVALID" "INTRINSIC_2_INVALID" "INTRINSIC_ASYNC_GEN_WRAP"
    "INTRINSIC_IMPORT_STAR" "INTRINSIC_LIST_TO_TUPLE" "INTRINSIC_PARAMSPEC"
    "INTRINSIC_PREP_RERAISE_STAR" "INTRINSIC_PRINT" "INTRINSIC_SET_FUNCTION_TYPE_PARAMS"
    "INTRINSIC_SET_TYPEPARAM_DEFAULT" "INTRINSIC_STOPITERATION_ERROR" "INTRINSIC_SUBSCRIPT_GENERIC"
    "INTRINSIC_TYPEALIAS" "INTRINSIC_TYPEVAR" "INTRINSIC_TYPEVARTUPLE" "INTRINSIC_TYPEVAR_WITH_BOUND"
    "INTRINSIC_TYPEVAR_WITH_CONSTRAINTS" "INTRINSIC_UNARY_POSITIVE" "NotImplementedError"
    "__aenter__" "__aexit__" "__enter__" "__exit__" "all" "annotate" "annotations" "any" "ascii"
    "async_generator" "await" "bool" "closure" "coroutine" "defaults" "depth1" "eager" "exc"
    "exc_from" "generator" "has_docstring" "in" "is" "is_not" "iterable_coroutine" "kwdefaults"
    "lazy" "list" "method" "nested" "newlocals" "nofree" "not_in" "null" "optimized" "repr" "reraise"
    "set" "spec" "start" "str" "tuple" "two_args" "varargs" "varkeywords" "yield" "yield_from")
  "Flag words: instruction flags and code object flags.")
(defconst pyasm-directives
  '("add_flags" "cells" "code" "consts" "docstring" "end" "end_try" "exception" "exceptiontable"
    "filename" "firstlineno" "flags" "freevars" "hidden" "line" "linetable" "loc" "locals" "name"
    "names" "python" "qualname" "remove_flags" "stacksize" "try")
  "Directive names, without the dot.")
;; END generated

(defconst pyasm--identifier "[A-Za-z_][A-Za-z0-9_]*"
  "An identifier: a name, a label or a code object ID.")

(defun pyasm--words (words)
  "A regexp matching any of WORDS as a whole symbol."
  (concat "\\_<" (regexp-opt words t) "\\_>"))

(defconst pyasm-font-lock-keywords
  (let ((id pyasm--identifier))
    `(;; label:  at the start of a line
      (,(concat "^[ \t]*\\(" id "\\)[ \t]*:") 1 font-lock-function-name-face)
      ;; .code NAME(PARAMS): the name, then each parameter
      (,(concat "\\(\\.code\\)\\_>[ \t]*\\(" id "\\)?")
       (1 font-lock-preprocessor-face)
       (2 font-lock-function-name-face nil t)
       (,id (progn (skip-chars-forward "^(\n") (line-end-position)) nil
            (0 font-lock-variable-name-face)))
      ;; .try LABEL / .exception START, END, HANDLER: labels, and the words lasti and depth
      (,(concat "\\.\\(?:try\\|exception\\)\\_>")
       (0 font-lock-preprocessor-face)
       ("\\_<\\(?:lasti\\|depth\\)\\_>\\|[A-Za-z_][A-Za-z0-9_]*" nil nil
        (0 (if (member (match-string 0) '("lasti" "depth"))
               'font-lock-builtin-face
             'font-lock-variable-name-face))))
      ;; every other directive
      (,(concat "\\.\\(?:" (regexp-opt pyasm-directives) "\\)\\_>") 0 font-lock-preprocessor-face)
      ;; jumps and their label
      (,(concat (pyasm--words pyasm-jumps) "[ \t]+\\(" id "\\)")
       (1 font-lock-keyword-face) (2 font-lock-variable-name-face))
      ;; BINARY_OP +=, COMPARE_OP <=
      (,(concat (pyasm--words pyasm-operator-ops) "[ \t]+\\(\\[\\]\\|[-+*/%@<>=!&|^~]+\\)")
       (1 font-lock-keyword-face) (2 font-lock-builtin-face))
      ;; flag words as the whole operand (MAKE_FUNCTION closure), after a comma, or in .flags
      (,(concat (pyasm--words pyasm-flag-ops) "[ \t]+" (pyasm--words pyasm-flags))
       (2 font-lock-builtin-face))
      (,(concat ",[ \t]*" (pyasm--words pyasm-flags)) 1 font-lock-builtin-face)
      (,(concat "\\.\\(?:flags\\|add_flags\\|remove_flags\\)[ \t]+" (pyasm--words pyasm-flags))
       1 font-lock-builtin-face)
      ;; every opcode
      (,(pyasm--words pyasm-opcodes) 1 font-lock-keyword-face)
      ;; @code references and <special> names
      (,(concat "@\\(?:" id "\\|<" id ">\\)") 0 font-lock-type-face)
      (,(concat "<" id ">") 0 font-lock-type-face)
      ;; $N raw arguments
      ("\\$\\(?:0[xX][0-9a-fA-F]+\\|[0-9]+\\)\\_>" 0 font-lock-constant-face)
      ;; source positions 12:4-19 and numbers of every kind
      ("\\_<[0-9]+:[0-9]+-\\(?:[0-9]+:\\)?[0-9]+\\_>" 0 font-lock-constant-face)
      ("-?\\_<\\(?:0[xXoObB][0-9a-fA-F_]+\\|[0-9][0-9_]*\\(?:\\.[0-9_]*\\)?\\(?:[eE][-+]?[0-9_]+\\)?[jJ]?\\|inf\\|nan\\)\\_>"
       0 font-lock-constant-face)
      ("\\_<\\(?:None\\|True\\|False\\|Ellipsis\\)\\_>\\|\\.\\.\\." 0 font-lock-constant-face)
      ("\\_<\\(?:frozenset\\|complex\\)(" 0 font-lock-builtin-face)))
  "What `pyasm-mode' highlights, most specific first.")

(defun pyasm--highlight-escapes (limit)
  "Find the next escape sequence inside a string before LIMIT, for font-lock."
  (let (found)
    (while (and (not found)
                (re-search-forward "\\\\\\(?:x[0-9a-fA-F]\\{2\\}\\|u[0-9a-fA-F]\\{4\\}\\|U[0-9a-fA-F]\\{8\\}\\|[0-7]\\{1,3\\}\\|.\\)" limit t))
      (when (nth 3 (syntax-ppss (match-beginning 0)))
        (setq found t)))
    found))

(defconst pyasm-mode-syntax-table
  (let ((table (make-syntax-table)))
    (modify-syntax-entry ?# "<" table)
    (modify-syntax-entry ?\n ">" table)
    (modify-syntax-entry ?\" "\"" table)
    (modify-syntax-entry ?' "\"" table)
    (modify-syntax-entry ?\\ "\\" table)
    (modify-syntax-entry ?_ "_" table)
    (modify-syntax-entry ?. "_" table)
    ;; Operator characters are punctuation, so `-1' and `-inf' start a number, not a symbol.
    (dolist (c '(?< ?> ?- ?+ ?* ?/ ?% ?& ?| ?^ ?~ ?= ?! ?$ ?@))
      (modify-syntax-entry c "." table))
    table)
  "Syntax table of `pyasm-mode': # comments, quoted strings.")

(defcustom pyasm-indent-offset 4
  "Indentation of the lines inside a `.code' ... `.end' block."
  :type 'integer
  :group 'languages)

(defun pyasm-indent-line ()
  "Indent the current line.
Labels, `.code', `.end' and file-level directives go to column 0,
everything else `pyasm-indent-offset' columns in."
  (interactive)
  (let ((column
         (save-excursion
           (back-to-indentation)
           (if (looking-at (concat "\\.\\(?:code\\|end\\|python\\|filename\\)\\_>\\|"
                                   pyasm--identifier "[ \t]*:"))
               0
             pyasm-indent-offset))))
    (if (<= (current-column) (current-indentation))
        (indent-line-to column)
      (save-excursion (indent-line-to column)))))

;;;###autoload
(define-derived-mode pyasm-mode prog-mode "pyasm"
  "Major mode for pyasm files: hand-written CPython bytecode."
  :syntax-table pyasm-mode-syntax-table
  (setq-local comment-start "# ")
  (setq-local comment-start-skip "#+[ \t]*")
  (setq-local indent-line-function #'pyasm-indent-line)
  (setq-local font-lock-defaults
              (list (append pyasm-font-lock-keywords
                            '((pyasm--highlight-escapes 0 'font-lock-regexp-grouping-backslash prepend)))
                    nil nil)))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.pyasm\\'" . pyasm-mode))

(provide 'pyasm-mode)

;;; pyasm-mode.el ends here
