"""Programs for measuring how pyasm scales (tools/bench.py, docs/performance.md).

    python3 tools/scale_programs.py instructions N --python 3.13 > big.pyasm
    python3 tools/scale_programs.py objects N --python 3.13 > many.pyasm

`instructions N`: a module of N instructions (rounded up to groups of 20) with a label every
10 instructions on average and jumps in both directions: each group has a conditional jump
forward to its own last instruction, a jump forward to the next group and, last, a jump
backward three groups. The conditions are constants chosen so that running the module takes
the forward jumps only: it runs to the end and returns None.

`objects N`: a module that makes N small functions, each returning its own constant, and
binds each to its own name: N code objects, N names in the module, N constants in all.

Both are written for one version (`--python`, default 3.13): the instructions that exist
differ between 3.6-3.10, 3.11 and 3.12+.
"""

import argparse
import sys


def parse_version(text):
    major, minor = text.split(".")
    return int(major), int(minor)


def jumps(version):
    """(conditional forward jump, forward jump, backward jump) for a version."""
    if version < (3, 11):
        return "POP_JUMP_IF_TRUE", "JUMP_ABSOLUTE", "JUMP_ABSOLUTE"
    return "POP_JUMP_IF_TRUE", "JUMP", "JUMP"


def instructions(n, version, out):
    cond, forward, backward = jumps(version)
    groups = max(1, (n + 19) // 20)
    out.write(".python %d.%d\n.code <module>\n" % version)
    if version >= (3, 11):
        out.write("    RESUME 0\n")
    for k in range(groups):
        name = "v%d" % (k % 1000)
        out.write(
            "L%d:\n"
            "    NOP\n"
            "    LOAD_CONST None\n"
            "    POP_TOP\n"
            "    LOAD_CONST False\n"
            "    %s T%d\n"
            "    LOAD_CONST 's%d'\n"
            "    STORE_NAME %s\n"
            "    LOAD_NAME %s\n"
            "    POP_TOP\n"
            "    NOP\n"
            "    LOAD_CONST None\n"
            "    POP_TOP\n"
            "    LOAD_CONST 't%d'\n"
            "    POP_TOP\n"
            "    NOP\n"
            "    NOP\n"
            "    LOAD_CONST True\n"
            "    %s L%d\n"
            "    %s L%d\n"
            "T%d:\n"
            "    %s L%d\n"
            % (k, cond, k, k, name, name, k, cond, k + 1, forward, k + 1, k, backward, max(0, k - 3))
        )
    out.write("L%d:\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n" % groups)


def objects(n, version, out):
    out.write(".python %d.%d\n.code <module>\n" % version)
    resume = "    RESUME 0\n" if version >= (3, 11) else ""
    out.write(resume)
    for k in range(n):
        out.write("    LOAD_CONST @f%d\n" % k)
        if version < (3, 11):
            out.write("    LOAD_CONST 'f%d'\n    MAKE_FUNCTION 0\n" % k)
        elif version < (3, 13):
            out.write("    MAKE_FUNCTION 0\n")
        else:
            out.write("    MAKE_FUNCTION\n")
        out.write("    STORE_NAME f%d\n" % k)
    out.write("    LOAD_CONST None\n    RETURN_VALUE\n.end\n")
    for k in range(n):
        out.write(".code f%d()\n%s    LOAD_CONST %d\n    RETURN_VALUE\n.end\n" % (k, resume, k + 1000))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["instructions", "objects"])
    ap.add_argument("n", type=int)
    ap.add_argument("--python", default="3.13", type=parse_version)
    args = ap.parse_args()
    out = sys.stdout
    (instructions if args.kind == "instructions" else objects)(args.n, args.python, out)


if __name__ == "__main__":
    main()
