#!/usr/bin/env python3
"""tinyc — a compiler from Tiny, a small teaching language, to portable pyasm.

The output is one portable .pyasm file (`.python 3.6-3.15`, docs/format.md 1.12) that pyasm
assembles for every CPython from 3.6 to 3.15:

    python3 tinyc.py fact.tiny -o fact.pyasm
    pyasm fact.pyasm --python all --out-dir build/      # build/fact.3.6.pyc … fact.3.15.pyc
    pyasm run fact.pyasm --python 3.8

The compiler knows nothing about versions: it writes lower-case portable instructions
(`load`, `call 2`, `jump_if_false L`) and pyasm decides what each version gets (a NULL slot
and PRECALL on 3.11, TO_BOOL on 3.13, LOAD_SMALL_INT on 3.14, …). That is the point of the
example: a backend for CPython bytecode that does not churn with each release.

The language
------------

    # a comment runs to the end of the line
    func fact(n) {                  # a function: parameters, a block
        if n <= 1 { return 1; }
        return n * fact(n - 1);
    }

    var total = 0;                  # `var` declares a variable (a global at the top level,
    var i = 1;                      #  a local inside a function); `=` assigns it again
    while i <= 10 {
        if i % 2 == 0 { i = i + 1; continue; }
        total = total + fact(i);
        if total > 1000000 { break; }
        i = i + 1;
    }
    print("total: " + str(total), i);

* Values: integers (any size), strings ("with \\n \\t \\\\ \\" escapes"), `true`, `false`.
* Operators, loosest first: `or`, `and`, `not`, comparisons (`== != < <= > >=`, not
  chained), `|`, `&`, `<< >>`, `+ -`, `* / %`, unary `-`, then calls `f(x)` and indexing
  `s[i]`. `/` is integer (floor) division. `+` also concatenates strings. `and`/`or`
  short-circuit and give one of their operands, as in Python.
* Statements: `var x = e;`, `x = e;`, `e;` (a call), `if c { … } else if c { … } else { … }`,
  `while c { … }` with `break;` and `continue;`, `return e;` / `return;`, `func`.
* Functions are declared at the top level (in any order: all are defined before the top-level
  statements run) and may call each other and themselves. A function sees its parameters, its
  own `var`s and the top-level `var`s, which it may also assign (a `var` in a function makes a
  local, which must not reuse the name of a top-level variable the function already used).
* Builtins: `print(…)` (any number of arguments), `str(x)`, `len(s)`, `int(s)`, `abs(x)`.

Every name is resolved at compile time: an undeclared variable, an unknown function or a
wrong number of arguments is an error with its line and column, before any pyasm is written.

The generated code
------------------

Each Tiny function becomes a `.code name(params)` block with its `var`s in `.locals`, and the
top level becomes `.code <module>`, which first makes each function (`make_function @name;
store name`). A stack machine is a natural target for expressions: each operand is pushed
and the operator takes them (`load n; const 1; binary -`). Control flow uses labels: an `if`
tests its condition with jumps straight to the branch to take (a condition is compiled to
jumps, not to a boolean: `a and b` jumps away as soon as `a` is false), a `while` jumps back
to its test. Code after a `return`, `break` or `continue` is never written, since nothing can
reach it (pyasm warns about unreachable code). Each statement carries a `.line` so that a
traceback from the .pyc names the Tiny line, in the .tiny file.
"""

import argparse
import re
import sys
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------------------------

KEYWORDS = {"func", "var", "if", "else", "while", "break", "continue", "return",
            "and", "or", "not", "true", "false"}

# One pattern per kind; the order matters where one is a prefix of another (`<=` before `<`).
TOKEN_RE = re.compile(r"""
    (?P<space>[ \t\r]+) | (?P<newline>\n) | (?P<comment>\#[^\n]*)
  | (?P<int>[0-9]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<op>==|!=|<=|>=|<<|>>|[-+*/%<>=(){}\[\],;&|])
""", re.VERBOSE)

ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}


class TinyError(Exception):
    """A mistake in the Tiny program, at a line and column."""

    def __init__(self, line, col, message):
        super().__init__(f"{line}:{col}: {message}")
        self.line, self.col, self.message = line, col, message


@dataclass
class Token:
    kind: str      # "int", "string", "name", "keyword", "op" or "eof"
    text: str      # the source text (for a string: its value)
    line: int
    col: int


def lex(source):
    tokens, line, line_start, pos = [], 1, 0, 0
    while pos < len(source):
        m = TOKEN_RE.match(source, pos)
        col = pos - line_start + 1
        if not m:
            raise TinyError(line, col, f"unexpected character {source[pos]!r}")
        kind, text = m.lastgroup, m.group()
        if kind == "newline":
            line, line_start = line + 1, m.end()
        elif kind == "string":
            tokens.append(Token("string", unescape(text, line, col), line, col))
        elif kind == "name":
            tokens.append(Token("keyword" if text in KEYWORDS else "name", text, line, col))
        elif kind in ("int", "op"):
            tokens.append(Token(kind, text, line, col))
        pos = m.end()
    tokens.append(Token("eof", "", line, pos - line_start + 1))
    return tokens


def unescape(text, line, col):
    out, chars = [], iter(text[1:-1])
    for c in chars:
        if c == "\\":
            e = next(chars)
            if e not in ESCAPES:
                raise TinyError(line, col, f"unknown escape \\{e} (Tiny has \\n \\t \\\\ \\\")")
            c = ESCAPES[e]
        out.append(c)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Abstract syntax tree
# ---------------------------------------------------------------------------------------------
# Every node keeps the line and column where it starts, for messages and `.line`.

@dataclass
class Node:
    line: int
    col: int


@dataclass
class Const(Node):
    value: object            # int, str or bool


@dataclass
class Name(Node):
    name: str


@dataclass
class Unary(Node):
    op: str                  # "-" or "not"
    operand: Node


@dataclass
class Binary(Node):
    op: str                  # an arithmetic, bitwise or comparison operator
    left: Node
    right: Node


@dataclass
class Logical(Node):
    op: str                  # "and" or "or"
    left: Node
    right: Node


@dataclass
class Call(Node):
    func: str
    args: list


@dataclass
class Index(Node):
    target: Node
    index: Node


@dataclass
class Var(Node):
    name: str
    value: Node


@dataclass
class Assign(Node):
    name: str
    value: Node


@dataclass
class ExprStmt(Node):
    expr: Node


@dataclass
class If(Node):
    cond: Node
    then: list
    orelse: list             # [] without `else`; `else if` is an If inside it


@dataclass
class While(Node):
    cond: Node
    body: list


@dataclass
class Break(Node):
    pass


@dataclass
class Continue(Node):
    pass


@dataclass
class Return(Node):
    value: object            # a Node, or None for `return;`


@dataclass
class Func(Node):
    name: str
    params: list
    body: list


@dataclass
class Program:
    funcs: list
    body: list               # the top-level statements


# ---------------------------------------------------------------------------------------------
# Parser: recursive descent, one method per grammar rule
# ---------------------------------------------------------------------------------------------

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")

# The binary operators by precedence level, loosest first; each level is left-associative.
BINARY_LEVELS = [("|",), ("&",), ("<<", ">>"), ("+", "-"), ("*", "/", "%")]


class Parser:
    def __init__(self, tokens):
        self.tokens, self.pos = tokens, 0

    # -- helpers ------------------------------------------------------------------------------

    def peek(self):
        return self.tokens[self.pos]

    def at(self, text):
        t = self.peek()
        return t.kind in ("op", "keyword") and t.text == text

    def next(self):
        t = self.tokens[self.pos]
        self.pos += 1
        return t

    def expect(self, text):
        t = self.peek()
        if not self.at(text):
            raise TinyError(t.line, t.col, f"expected `{text}`, found {describe(t)}")
        return self.next()

    def expect_name(self, what):
        t = self.peek()
        if t.kind != "name":
            raise TinyError(t.line, t.col, f"expected {what}, found {describe(t)}")
        return self.next()

    # -- statements ---------------------------------------------------------------------------

    def program(self):
        funcs, body = [], []
        while self.peek().kind != "eof":
            if self.at("func"):
                funcs.append(self.func())
            else:
                body.append(self.statement())
        return Program(funcs, body)

    def func(self):
        start = self.expect("func")
        name = self.expect_name("a function name").text
        self.expect("(")
        params = []
        while not self.at(")"):
            if params:
                self.expect(",")
            params.append(self.expect_name("a parameter name").text)
        self.expect(")")
        return Func(start.line, start.col, name, params, self.block())

    def block(self):
        self.expect("{")
        body = []
        while not self.at("}"):
            if self.peek().kind == "eof":
                t = self.peek()
                raise TinyError(t.line, t.col, "expected `}` before the end of the file")
            if self.at("func"):
                t = self.peek()
                raise TinyError(t.line, t.col, "functions are declared at the top level only")
            body.append(self.statement())
        self.expect("}")
        return body

    def statement(self):
        t = self.peek()
        if self.at("var"):
            self.next()
            name = self.expect_name("a variable name").text
            self.expect("=")
            stmt = Var(t.line, t.col, name, self.expression())
        elif self.at("if"):
            return self.if_statement()
        elif self.at("while"):
            self.next()
            cond = self.expression()
            return While(t.line, t.col, cond, self.block())
        elif self.at("break"):
            self.next()
            stmt = Break(t.line, t.col)
        elif self.at("continue"):
            self.next()
            stmt = Continue(t.line, t.col)
        elif self.at("return"):
            self.next()
            stmt = Return(t.line, t.col, None if self.at(";") else self.expression())
        elif t.kind == "name" and self.tokens[self.pos + 1].text == "=":
            self.pos += 2
            stmt = Assign(t.line, t.col, t.text, self.expression())
        else:
            stmt = ExprStmt(t.line, t.col, self.expression())
        self.expect(";")
        return stmt

    def if_statement(self):
        t = self.expect("if")
        cond = self.expression()
        then, orelse = self.block(), []
        if self.at("else"):
            self.next()
            orelse = [self.if_statement()] if self.at("if") else self.block()
        return If(t.line, t.col, cond, then, orelse)

    # -- expressions --------------------------------------------------------------------------

    def expression(self):
        return self.logical("or")

    def logical(self, op):
        # `or` binds looser than `and`, which binds looser than `not`.
        operand = (lambda: self.logical("and")) if op == "or" else self.negation
        left = operand()
        while self.at(op):
            t = self.next()
            left = Logical(t.line, t.col, op, left, operand())
        return left

    def negation(self):
        if self.at("not"):
            t = self.next()
            return Unary(t.line, t.col, "not", self.negation())
        return self.comparison()

    def comparison(self):
        left = self.binary(0)
        if self.peek().kind == "op" and self.peek().text in COMPARISONS:
            t = self.next()
            left = Binary(t.line, t.col, t.text, left, self.binary(0))
            if self.peek().kind == "op" and self.peek().text in COMPARISONS:
                u = self.peek()
                raise TinyError(u.line, u.col, "comparisons do not chain: write `a < b and b < c`")
        return left

    def binary(self, level):
        if level == len(BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in BINARY_LEVELS[level]:
            t = self.next()
            left = Binary(t.line, t.col, t.text, left, self.binary(level + 1))
        return left

    def unary(self):
        if self.at("-"):
            t = self.next()
            return Unary(t.line, t.col, "-", self.unary())
        return self.postfix()

    def postfix(self):
        node = self.primary()
        while self.at("["):
            t = self.next()
            node = Index(t.line, t.col, node, self.expression())
            self.expect("]")
        return node

    def primary(self):
        t = self.next()
        if t.kind == "int":
            return Const(t.line, t.col, int(t.text))
        if t.kind == "string":
            return Const(t.line, t.col, t.text)
        if t.kind == "keyword" and t.text in ("true", "false"):
            return Const(t.line, t.col, t.text == "true")
        if t.kind == "name":
            if not self.at("("):
                return Name(t.line, t.col, t.text)
            self.next()
            args = []
            while not self.at(")"):
                if args:
                    self.expect(",")
                args.append(self.expression())
            self.expect(")")
            return Call(t.line, t.col, t.text, args)
        if t.kind == "op" and t.text == "(":
            e = self.expression()
            self.expect(")")
            return e
        raise TinyError(t.line, t.col, f"expected an expression, found {describe(t)}")


def describe(token):
    return "the end of the file" if token.kind == "eof" else f"`{token.text}`"


# ---------------------------------------------------------------------------------------------
# Code generator
# ---------------------------------------------------------------------------------------------

# Builtins and how many arguments each takes (None: any number).
BUILTINS = {"print": None, "str": 1, "len": 1, "int": 1, "abs": 1}

# Tiny operator → the operand of pyasm's `binary` / `compare`.
BINARY_OPS = {"+": "+", "-": "-", "*": "*", "/": "//", "%": "%",
              "<<": "<<", ">>": ">>", "&": "&", "|": "|"}

# Words that pyasm reads as literals (1.2): a variable so named is written as a string.
PYASM_WORDS = {"None", "True", "False", "Ellipsis", "inf", "nan", "complex", "slice", "frozenset"}


def pyasm_name(name):
    return f'"{name}"' if name in PYASM_WORDS else name


def pyasm_literal(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    # A Python string literal with only the escapes pyasm reads (1.2).
    escaped = "".join(ESCAPES_OUT.get(c, c) if c.isprintable() or c in ESCAPES_OUT
                      else f"\\u{ord(c):04x}" for c in value)
    return f'"{escaped}"'


ESCAPES_OUT = {"\n": "\\n", "\t": "\\t", "\\": "\\\\", '"': '\\"'}


class Emitter:
    """The lines of one code object, with dead code left out.

    `reachable` is false after a `return` or `jump`; lines written then are dropped, until
    a label that some written jump goes to. Every jump to a forward label is written before
    the label is placed, so the uses known when placing it are all of them.
    """

    def __init__(self):
        self.lines, self.reachable, self.used, self.count = [], True, set(), 0

    def label(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def emit(self, instr, comment=None):
        if not self.reachable:
            return
        text = f"    {instr}"
        self.lines.append(f"{text:<32}# {comment}" if comment else text)
        word = instr.split()[0]
        if word.startswith("jump"):
            self.used.add(instr.split()[1])
        if word in ("return", "jump"):
            self.reachable = False

    def place(self, label):
        self.reachable = self.reachable or label in self.used
        if self.reachable:
            self.lines.append(f"{label}:")

    def line(self, n):
        if self.reachable:
            self.lines.append(f"    .line {n}")


@dataclass
class Scope:
    """What a name means in the code being compiled."""
    funcs: dict                      # function name → parameter count
    globals: set                     # the top-level `var`s
    locals: list = None              # parameters and `var`s of a function; None at top level
    assigned_globals: set = field(default_factory=set)    # top-level vars a function assigns
    used_globals: set = field(default_factory=set)        # … or reads or assigns


class CodeGen:
    def __init__(self, program, filename):
        self.program, self.filename = program, filename
        self.funcs = {}
        for f in program.funcs:
            if f.name in self.funcs or f.name in BUILTINS:
                raise TinyError(f.line, f.col, f"`{f.name}` is already defined")
            if len(set(f.params)) != len(f.params):
                raise TinyError(f.line, f.col, f"`{f.name}` names a parameter twice")
            self.funcs[f.name] = len(f.params)
        # A variable or parameter may not hide a function: `f(x)` always calls the function.
        for f in program.funcs:
            for s in [f] + list(walk(f.body)):
                for name in (f.params if s is f else [s.name] if isinstance(s, Var) else []):
                    self.check_not_function(s, name)
        for s in walk(program.body):
            if isinstance(s, Var):
                self.check_not_function(s, s.name)
        self.globals = {s.name for s in walk(program.body) if isinstance(s, Var)}

    def check_not_function(self, node, name):
        if name in self.funcs or name in BUILTINS:
            raise TinyError(node.line, node.col, f"`{name}` is a function: a variable needs another name")

    def compile(self):
        out = [f"# generated by tinyc.py from {self.filename}: portable pyasm, every CPython 3.6-3.15",
               ".python 3.6-3.15",
               f".filename {pyasm_literal(self.filename)}",
               ""]
        out += self.module()
        for f in self.program.funcs:
            out += [""] + self.function(f)
        return "\n".join(out) + "\n"

    def module(self):
        e, self.scope = Emitter(), Scope(self.funcs, self.globals)
        for f in self.program.funcs:
            e.line(f.line)
            e.emit(f"make_function @{f.name}", f"func {f.name}")
            e.emit(f"store {pyasm_name(f.name)}")
        self.block(e, self.program.body, loop=None)
        e.emit("const None", "the end of the program")
        e.emit("return")
        return [".code <module>"] + e.lines + [".end"]

    def function(self, f):
        e = Emitter()
        own = [s.name for s in walk(f.body) if isinstance(s, Var)]
        self.scope = Scope(self.funcs, self.globals, list(f.params))
        self.block(e, f.body, loop=None)
        e.emit("const None", "falling off the end returns None")
        e.emit("return")
        head = [f".code {f.name}({', '.join(map(pyasm_name, f.params))})"]
        extra = list(dict.fromkeys(n for n in own if n not in f.params))
        if extra:
            head.append(f"    .locals {', '.join(map(pyasm_name, extra))}")
        if self.scope.assigned_globals:
            names = ", ".join(map(pyasm_name, sorted(self.scope.assigned_globals)))
            head.append(f"    .global {names}                 # assigned here: Python's `global`")
        return head + e.lines + [".end"]

    # -- statements ---------------------------------------------------------------------------

    def block(self, e, stmts, loop):
        """`loop` is (continue label, break label) of the innermost `while`, or None."""
        for s in stmts:
            e.line(s.line)
            self.statement(e, s, loop)

    def statement(self, e, s, loop):
        if isinstance(s, Var):
            self.expr(e, s.value)
            if self.scope.locals is not None and s.name not in self.scope.locals:
                if s.name in self.scope.used_globals:
                    # Python decides a name's scope for the whole function: it cannot be
                    # the top-level variable first and a local after.
                    raise TinyError(s.line, s.col, f"`{s.name}` already means the top-level "
                                    f"variable in this function: give the local another name")
                self.scope.locals.append(s.name)      # visible from here on
            e.emit(f"store {pyasm_name(s.name)}", f"var {s.name}")
        elif isinstance(s, Assign):
            self.check_variable(s.line, s.col, s.name)
            self.expr(e, s.value)
            if self.scope.locals is not None and s.name not in self.scope.locals:
                self.scope.assigned_globals.add(s.name)
            e.emit(f"store {pyasm_name(s.name)}", f"{s.name} = …")
        elif isinstance(s, ExprStmt):
            self.expr(e, s.expr)
            e.emit("pop", "the value is not used")
        elif isinstance(s, If):
            self.if_statement(e, s, loop)
        elif isinstance(s, While):
            self.while_statement(e, s)
        elif isinstance(s, (Break, Continue)):
            if loop is None:
                raise TinyError(s.line, s.col, f"`{type(s).__name__.lower()}` outside a loop")
            target = loop[1] if isinstance(s, Break) else loop[0]
            e.emit(f"jump {target}", type(s).__name__.lower())
        elif isinstance(s, Return):
            if self.scope.locals is None:
                raise TinyError(s.line, s.col, "`return` outside a function")
            if s.value is None:
                e.emit("const None")
            else:
                self.expr(e, s.value)
            e.emit("return")

    def if_statement(self, e, s, loop):
        else_label, end_label = e.label("else"), e.label("endif")
        self.condition(e, s.cond, else_label, jump_if=False)
        self.block(e, s.then, loop)
        if s.orelse:
            e.emit(f"jump {end_label}", "skip the else branch")
            e.place(else_label)
            self.block(e, s.orelse, loop)
        else:
            end_label = else_label
        e.place(end_label)

    def while_statement(self, e, s):
        top, end = e.label("while"), e.label("endwhile")
        e.place(top)
        self.condition(e, s.cond, end, jump_if=False)
        self.block(e, s.body, (top, end))
        e.emit(f"jump {top}", "back to the test")
        e.place(end)

    def condition(self, e, c, target, jump_if):
        """Jumps to `target` when `c` is `jump_if`; falls through otherwise."""
        if isinstance(c, Const) and isinstance(c.value, bool):
            if c.value == jump_if:
                e.emit(f"jump {target}")
            return                                # a constant test needs no code
        if isinstance(c, Unary) and c.op == "not":
            self.condition(e, c.operand, target, not jump_if)
        elif isinstance(c, Logical) and (c.op == "and") != jump_if:
            # `a and b` jumping when false (or `a or b` when true): either operand decides.
            self.condition(e, c.left, target, jump_if)
            self.condition(e, c.right, target, jump_if)
        elif isinstance(c, Logical):
            # `a and b` jumping when true: a false `a` already decides, go on past the test.
            past = e.label("skip")
            self.condition(e, c.left, past, not jump_if)
            self.condition(e, c.right, target, jump_if)
            e.place(past)
        else:
            self.expr(e, c)
            e.emit(f"jump_if_{'true' if jump_if else 'false'} {target}")

    # -- expressions: each leaves one value on the stack --------------------------------------

    def expr(self, e, x):
        if isinstance(x, Const):
            e.emit(f"const {pyasm_literal(x.value)}")
        elif isinstance(x, Name):
            self.check_variable(x.line, x.col, x.name)
            e.emit(f"load {pyasm_name(x.name)}")
        elif isinstance(x, Unary):
            self.expr(e, x.operand)
            e.emit(f"unary {x.op}")
        elif isinstance(x, Binary):
            self.expr(e, x.left)
            self.expr(e, x.right)
            if x.op in COMPARISONS:
                e.emit(f"compare {x.op}")
            else:
                e.emit(f"binary {BINARY_OPS[x.op]}", "integer division" if x.op == "/" else None)
        elif isinstance(x, Logical):
            # The value of `a and b` is `a` when it is false, else `b`: keep a copy of `a`
            # for the test, and drop it when `b` is needed.
            end = e.label(x.op)
            self.expr(e, x.left)
            e.emit("dup", f"{x.op}: keep the left operand as the result…")
            e.emit(f"jump_if_{'false' if x.op == 'and' else 'true'} {end}")
            e.emit("pop", "…unless the right one decides")
            self.expr(e, x.right)
            e.place(end)
        elif isinstance(x, Index):
            self.expr(e, x.target)
            self.expr(e, x.index)
            e.emit("binary []")
        elif isinstance(x, Call):
            self.call(e, x)

    def call(self, e, x):
        if x.func in self.funcs:
            want = self.funcs[x.func]
        elif x.func in BUILTINS:
            want = BUILTINS[x.func]
        else:
            raise TinyError(x.line, x.col, f"no function named `{x.func}`")
        if want is not None and want != len(x.args):
            raise TinyError(x.line, x.col, f"`{x.func}` takes {want} argument(s), not {len(x.args)}")
        e.emit(f"load {pyasm_name(x.func)}")             # the callable, then the arguments
        for a in x.args:
            self.expr(e, a)
        e.emit(f"call {len(x.args)}", f"{x.func}(…)" if x.args else f"{x.func}()")

    def check_variable(self, line, col, name):
        known = (self.scope.locals or []) + sorted(self.scope.globals)
        if name not in known:
            raise TinyError(line, col, f"no variable named `{name}` (declare it with `var {name} = …;`)")
        if self.scope.locals is not None and name not in self.scope.locals:
            self.scope.used_globals.add(name)


def walk(stmts):
    """Every statement in `stmts`, nested blocks included."""
    for s in stmts:
        yield s
        if isinstance(s, If):
            yield from walk(s.then)
            yield from walk(s.orelse)
        elif isinstance(s, While):
            yield from walk(s.body)


def compile_source(source, filename):
    return CodeGen(Parser(lex(source)).program(), filename).compile()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Compile a Tiny program to portable pyasm.")
    ap.add_argument("source", help="the .tiny file")
    ap.add_argument("-o", "--output", help="the .pyasm file to write (default: standard output)")
    args = ap.parse_args(argv)
    with open(args.source, encoding="utf-8") as f:
        source = f.read()
    try:
        text = compile_source(source, args.source.replace("\\", "/").rsplit("/", 1)[-1])
    except TinyError as err:
        print(f"{args.source}:{err}", file=sys.stderr)
        return 1
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
