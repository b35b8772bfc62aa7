"""Stdlib round trip, phase 3: compare each original .pyc with pyasm's reassembly.

    python3.X tools/roundtrip/compare.py DIR [--show N]

Run under the same interpreter as phase 1 (compile_stdlib.py): DIR holds its NAME.pyc files
and manifest.tsv, and phase 2 (pyasm: disassemble, reassemble) has written NAME.re.pyc beside
each, or NAME.re.error with the reason it could not. Works under pyodide (no subprocesses).

A module is *equal* when the two module code objects are equal recursively, field by field:
every co_ field this Python has (counts, flags, co_code, names, co_varnames, co_cellvars and
co_freevars, which together give the kinds of the fast locals, filename, name, qualname,
first line, line table, exception table), and the constants with their exact types (True is
not 1, -0.0 is not 0.0, NaNs compare by their bits), code constants compared the same way.
It is *identical* when the marshalled code after the pyc header is the same bytes.

Prints the first N failures (default 10) with their first differences, then one line:
  equal E/N identical I/N
Exit status 0 when every module is equal.
"""

import argparse
import marshal
import os
import struct
import sys

# Every co_ attribute that holds data (not a method); each is compared when this Python has it.
# co_lnotab only before 3.10: from 3.10 on, where it exists beside co_linetable, it is computed
# from it.
FIELDS = (
    "co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize",
    "co_flags", "co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars",
    "co_filename", "co_name", "co_qualname", "co_firstlineno", "co_linetable",
    "co_exceptiontable",
) + (("co_lnotab",) if sys.version_info < (3, 10) else ())

HEADER = 16 if sys.version_info >= (3, 7) else 12
CodeType = type(compile("", "", "exec"))


def const_key(value):
    """A key equal for two constants only if marshal would treat them as the same value of
    the same type: exact types, floats by their bits."""
    t = type(value)
    if t is float:
        return ("float", struct.pack("<d", value))
    if t is complex:
        return ("complex", struct.pack("<dd", value.real, value.imag))
    if t is tuple:
        return ("tuple", tuple(const_key(v) for v in value))
    if t is frozenset:
        return ("frozenset", tuple(sorted(repr(const_key(v)) for v in value)))
    if t is slice:
        return ("slice", const_key(value.start), const_key(value.stop), const_key(value.step))
    if t is CodeType:
        return ("code", value.co_qualname if hasattr(value, "co_qualname") else value.co_name)
    return (t.__module__, t.__qualname__, value)


def shorten(v):
    r = repr(v)
    return r if len(r) < 160 else r[:160] + "..."


def compare(a, b, path, out):
    """Appends `path.field: ours != theirs` lines for every difference, recursively."""
    for field in FIELDS:
        if not hasattr(a, field):
            continue
        va, vb = getattr(a, field), getattr(b, field)
        if type(va) is not type(vb) or va != vb:
            out.append("%s.%s: %s != %s" % (path, field, shorten(va), shorten(vb)))
    ca, cb = a.co_consts, b.co_consts
    if len(ca) != len(cb):
        out.append("%s.co_consts: %d != %d entries" % (path, len(ca), len(cb)))
        return
    for i, (x, y) in enumerate(zip(ca, cb)):
        if type(x) is CodeType and type(y) is CodeType:
            compare(x, y, "%s.co_consts[%d](%s)" % (path, i, x.co_name), out)
        elif const_key(x) != const_key(y):
            out.append("%s.co_consts[%d]: %s != %s" % (path, i, shorten(x), shorten(y)))


def check(directory, name):
    """(equal, identical, differences) for one module."""
    with open(os.path.join(directory, name + ".pyc"), "rb") as f:
        orig = f.read()
    ours_path = os.path.join(directory, name + ".re.pyc")
    if not os.path.exists(ours_path):
        reason = "not reassembled"
        err = os.path.join(directory, name + ".re.error")
        if os.path.exists(err):
            with open(err, encoding="utf-8", errors="replace") as f:
                reason += ": " + (f.read().strip().splitlines() or [""])[0]
        return False, False, [reason]
    with open(ours_path, "rb") as f:
        ours = f.read()
    diffs = []
    try:
        compare(marshal.loads(orig[HEADER:]), marshal.loads(ours[HEADER:]), "<module>", diffs)
    except Exception as e:  # a reassembly this interpreter cannot even load
        diffs.append("cannot load the reassembled pyc: %r" % (e,))
    return not diffs, not diffs and orig[HEADER:] == ours[HEADER:], diffs


def compare_all(directory, show=10):
    """Checks every module in the manifest, prints the first `show` failures and the summary
    line; returns (equal, identical, total)."""
    with open(os.path.join(directory, "manifest.tsv"), encoding="utf-8") as f:
        names = [line.split("\t")[0] for line in f if line.strip()]
    equal = identical = 0
    failures = []
    for name in names:
        e, i, diffs = check(directory, name)
        equal += e
        identical += i
        if diffs:
            failures.append((name, diffs))
    for name, diffs in failures[:show]:
        print("FAIL %s" % name)
        for d in diffs[:5]:
            print("    " + d)
    n = len(names)
    print("equal %d/%d identical %d/%d" % (equal, n, identical, n))
    return equal, identical, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="the folder written by compile_stdlib.py and pyasm")
    ap.add_argument("--show", type=int, default=10, help="how many failures to detail")
    args = ap.parse_args()
    equal, _, n = compare_all(args.dir, args.show)
    return 0 if equal == n and n > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
