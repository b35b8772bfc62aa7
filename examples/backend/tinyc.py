"""tinyc: a compiler from Tiny, a small language, to portable pyasm (docs/format.md 1.12).

    python3 tinyc.py PROGRAM.tiny > PROGRAM.pyasm
    pyasm PROGRAM.pyasm --python all --out-dir build/    # one .pyc per CPython, 3.6 to 3.15

Tiny has functions, variables, if/else, while, integer arithmetic, comparisons, strings,
print and calls (recursion included):

    func fact(n) {
        if n <= 1 { return 1; }
        return n * fact(n - 1);
    }
    var i = 0;
    while i < 5 { print(i, fact(i)); i = i + 1; }

The point of the example: the compiler knows nothing about CPython versions. It writes the
portable instruction set, and pyasm lowers it for each version.
"""

import re
import sys

TOKEN = re.compile(r'\s*(?:(\d+)|("(?:[^"\\]|\\.)*")|([A-Za-z_]\w*)|(==|!=|<=|>=|[-+*/%<>=(){},;]))')
KEYWORDS = {"func", "var", "if", "else", "while", "return"}


class CompileError(Exception):
    pass


def tokenize(text):
    text = re.sub(r"#[^\n]*", "", text)
    pos, out = 0, []
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if not m:
            raise CompileError(f"unexpected text at {text[pos:pos + 10]!r}")
        pos = m.end()
        num, string, name, op = m.groups()
        if num:
            out.append(("num", int(num)))
        elif string:
            out.append(("str", string))
        elif name:
            out.append(("kw" if name in KEYWORDS else "name", name))
        else:
            out.append(("op", op))
    out.append(("end", None))
    return out


class Parser:
    """Recursive descent: the syntax tree is tuples."""

    def __init__(self, tokens):
        self.toks, self.i = tokens, 0

    def peek(self, kind=None, value=None):
        k, v = self.toks[self.i]
        return (kind is None or k == kind) and (value is None or v == value)

    def take(self, kind=None, value=None):
        if not self.peek(kind, value):
            raise CompileError(f"expected {value or kind}, found {self.toks[self.i][1]!r}")
        tok = self.toks[self.i]
        self.i += 1
        return tok[1]

    def program(self):
        funcs, body = [], []
        while not self.peek("end"):
            if self.peek("kw", "func"):
                funcs.append(self.func())
            else:
                body.append(self.statement())
        return funcs, body

    def func(self):
        self.take("kw", "func")
        name = self.take("name")
        self.take("op", "(")
        params = []
        while not self.peek("op", ")"):
            params.append(self.take("name"))
            if not self.peek("op", ")"):
                self.take("op", ",")
        self.take("op", ")")
        return (name, params, self.block())

    def block(self):
        self.take("op", "{")
        out = []
        while not self.peek("op", "}"):
            out.append(self.statement())
        self.take("op", "}")
        return out

    def statement(self):
        if self.peek("kw", "var"):
            self.take()
            name = self.take("name")
            self.take("op", "=")
            value = self.expr()
            self.take("op", ";")
            return ("assign", name, value)
        if self.peek("kw", "if"):
            self.take()
            cond, then = self.expr(), self.block()
            other = []
            if self.peek("kw", "else"):
                self.take()
                other = [self.statement()] if self.peek("kw", "if") else self.block()
            return ("if", cond, then, other)
        if self.peek("kw", "while"):
            self.take()
            return ("while", self.expr(), self.block())
        if self.peek("kw", "return"):
            self.take()
            value = self.expr()
            self.take("op", ";")
            return ("return", value)
        if self.peek("name") and self.toks[self.i + 1] == ("op", "="):
            name = self.take()
            self.take()
            value = self.expr()
            self.take("op", ";")
            return ("assign", name, value)
        value = self.expr()
        self.take("op", ";")
        return ("expr", value)

    LEVELS = [("==", "!=", "<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%")]

    def expr(self, level=0):
        if level == len(self.LEVELS):
            return self.unary()
        left = self.expr(level + 1)
        while self.peek("op") and self.toks[self.i][1] in self.LEVELS[level]:
            op = self.take()
            left = ("binop", op, left, self.expr(level + 1))
        return left

    def unary(self):
        if self.peek("op", "-"):
            self.take()
            return ("neg", self.unary())
        if self.peek("num"):
            return ("const", self.take())
        if self.peek("str"):
            return ("const", self.take())
        if self.peek("op", "("):
            self.take()
            e = self.expr()
            self.take("op", ")")
            return e
        name = self.take("name")
        if self.peek("op", "("):
            self.take()
            args = []
            while not self.peek("op", ")"):
                args.append(self.expr())
                if not self.peek("op", ")"):
                    self.take("op", ",")
            self.take("op", ")")
            return ("call", name, args)
        return ("name", name)


# Tiny's operators as portable operands: `/` is integer division.
BINARY = {"+": "binary +", "-": "binary -", "*": "binary *", "/": "binary //", "%": "binary %"}


class CodeGen:
    """One code object's lines. `load`/`store` need no scope: pyasm picks FAST, NAME or
    GLOBAL from the declarations, as Python's compiler would."""

    def __init__(self):
        self.lines, self.labels = [], 0

    def emit(self, line):
        self.lines.append("    " + line)

    def label(self, what):
        self.labels += 1
        return f"{what}_{self.labels}"

    def place(self, label):
        self.lines.append(f"{label}:")

    def expr(self, e):
        kind = e[0]
        if kind == "const":
            self.emit(f"const {e[1]}")
        elif kind == "name":
            self.emit(f"load {e[1]}")
        elif kind == "neg":
            self.expr(e[1])
            self.emit("unary -")
        elif kind == "binop":
            self.expr(e[2])
            self.expr(e[3])
            self.emit(BINARY.get(e[1]) or f"compare {e[1]}")
        elif kind == "call":
            self.emit(f"load {e[1]}")
            for a in e[2]:
                self.expr(a)
            self.emit(f"call {len(e[2])}")

    def statement(self, s):
        kind = s[0]
        if kind == "assign":
            self.expr(s[2])
            self.emit(f"store {s[1]}")
        elif kind == "expr":
            self.expr(s[1])
            self.emit("pop")
        elif kind == "return":
            self.expr(s[1])
            self.emit("return")
        elif kind == "if":
            other, done = self.label("else"), self.label("endif")
            self.expr(s[1])
            self.emit(f"jump_if_false {other}")
            for t in s[2]:
                self.statement(t)
            if not returns(s[2]):
                self.emit(f"jump {done}")
            self.place(other)
            for t in s[3]:
                self.statement(t)
            if not (returns(s[2]) and returns(s[3])):
                self.place(done)
        elif kind == "while":
            top, done = self.label("while"), self.label("endwhile")
            self.place(top)
            self.expr(s[1])
            self.emit(f"jump_if_false {done}")
            for t in s[2]:
                self.statement(t)
            self.emit(f"jump {top}")
            self.place(done)


def returns(stmts):
    """Whether a statement list always returns (so no code after it is written: pyasm
    warns about code that nothing reaches)."""
    if not stmts:
        return False
    last = stmts[-1]
    return last[0] == "return" or (last[0] == "if" and returns(last[2]) and returns(last[3]))


def assigned(stmts, out):
    for s in stmts:
        if s[0] == "assign" and s[1] not in out:
            out.append(s[1])
        elif s[0] == "if":
            assigned(s[2], out)
            assigned(s[3], out)
        elif s[0] == "while":
            assigned(s[2], out)
    return out


def compile_program(text, filename):
    funcs, body = Parser(tokenize(text)).program()
    out = [f"# Compiled by tinyc.py from {filename}.", ".python 3.6-3.15", f'.filename "{filename}"', "", ".code <module>"]
    module = CodeGen()
    for name, _, _ in funcs:
        module.emit(f"make_function @{name}")
        module.emit(f"store {name}")
    for s in body:
        module.statement(s)
    module.emit("const None")
    module.emit("return")
    out += module.lines + [".end"]
    for name, params, stmts in funcs:
        gen = CodeGen()
        for s in stmts:
            gen.statement(s)
        if not returns(stmts):
            gen.emit("const None")
            gen.emit("return")
        out += ["", f".code {name}({', '.join(params)})"]
        local = [v for v in assigned(stmts, []) if v not in params]
        if local:
            out.append(f"    .locals {', '.join(local)}")
        out += gen.lines + [".end"]
    return "\n".join(out) + "\n"


def main():
    path = sys.argv[1]
    with open(path) as f:
        text = f.read()
    try:
        sys.stdout.write(compile_program(text, path.rsplit("/", 1)[-1]))
    except CompileError as e:
        sys.exit(f"{path}: {e}")


if __name__ == "__main__":
    main()
