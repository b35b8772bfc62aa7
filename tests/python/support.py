"""What the tests share: where things are, and assembly written for each host version.

The Rust test `tests/python_package.rs` runs this suite against the installed wheel, once per
native CPython, with PYASM_REPO (the checkout) and PYASM_BIN (the Rust `pyasm` binary) set.
"""

import os
import re
import sys
from pathlib import Path

HOST = "%d.%d" % sys.version_info[:2]
REPO = Path(os.environ.get("PYASM_REPO") or Path(__file__).resolve().parents[2])
RUST_BIN = os.environ.get("PYASM_BIN") or str(REPO / "target" / "debug" / "pyasm")


def wheel_command():
    """The `pyasm` console script the wheel installed beside this interpreter."""
    return str(Path(sys.executable).parent / "pyasm")


def _version(text):
    major, minor = text.split(".")
    return (int(major), int(minor))


def _serves(spec, host):
    """Whether a `.python` operand list (`3.11`, `3.8, 3.9`, `3.6-3.15`, `3.9-`) names `host`."""
    for item in re.split(r"[\s,]+", spec.strip()):
        if "-" in item:
            low, _, high = item.partition("-")
            if _version(low) <= _version(host) and (not high or _version(host) <= _version(high)):
                return True
        elif item == host:
            return True
    return False


def example_for_host(name):
    """The example `name` (e.g. "hello") whose `.python` line serves the running version: a
    version-specific one first, else the portable one (`.python 3.6-3.15`)."""
    paths = sorted(REPO.glob("examples/**/%s.pyasm" % name), key=lambda p: "portable" in p.parts)
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(".python"):
                if _serves(line[len(".python") :], HOST):
                    return path
                break
    raise AssertionError("no examples/**/%s.pyasm is for Python %s" % (name, HOST))


def for_host(bodies):
    """The entry of `bodies` ({first version: text}) for the running version: the one with the
    newest first version not after it."""
    key = lambda v: tuple(int(p) for p in v.split("."))
    usable = [v for v in bodies if key(v) <= key(HOST)]
    assert usable, "no assembly written for Python %s" % HOST
    return bodies[max(usable, key=key)]


# (a + b) * scale, for `def f(a, b=2, *, scale=10)`.
ARITHMETIC = {
    "3.8": """
    LOAD_FAST a
    LOAD_FAST b
    BINARY_ADD
    LOAD_FAST scale
    BINARY_MULTIPLY
    RETURN_VALUE
""",
    "3.11": """
    RESUME 0
    LOAD_FAST a
    LOAD_FAST b
    BINARY_OP +
    LOAD_FAST scale
    BINARY_OP *
    RETURN_VALUE
""",
}

# x + n, n a free variable.
CLOSURE = {
    "3.8": """
    LOAD_FAST x
    LOAD_DEREF n
    BINARY_ADD
    RETURN_VALUE
""",
    "3.11": """
    COPY_FREE_VARS 1
    RESUME 0
    LOAD_FAST x
    LOAD_DEREF n
    BINARY_OP +
    RETURN_VALUE
""",
}

# len(x) + OFFSET, OFFSET a global of the defining module.
GLOBALS = {
    "3.8": """
    LOAD_GLOBAL len
    LOAD_FAST x
    CALL_FUNCTION 1
    LOAD_GLOBAL OFFSET
    BINARY_ADD
    RETURN_VALUE
""",
    "3.11": """
    RESUME 0
    LOAD_GLOBAL len, null
    LOAD_FAST x
    PRECALL 1
    CALL 1
    LOAD_GLOBAL OFFSET
    BINARY_OP +
    RETURN_VALUE
""",
    "3.12": """
    RESUME 0
    LOAD_GLOBAL len, null
    LOAD_FAST x
    CALL 1
    LOAD_GLOBAL OFFSET
    BINARY_OP +
    RETURN_VALUE
""",
}

# A module that sets `answer = 6 * 7`.
MODULE = {
    "3.8": """
.code <module>
    LOAD_CONST 6
    LOAD_CONST 7
    BINARY_MULTIPLY
    STORE_NAME answer
    LOAD_CONST None
    RETURN_VALUE
.end
""",
    "3.11": """
.code <module>
    RESUME 0
    LOAD_CONST 6
    LOAD_CONST 7
    BINARY_OP *
    STORE_NAME answer
    LOAD_CONST None
    RETURN_VALUE
.end
""",
}
