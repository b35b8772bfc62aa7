"""The round trip over a standard library: .py -> .pyc (by this interpreter) -> `pyasm dis`
-> .pyasm -> `pyasm` -> .pyc, then the two code objects compared field by field in this
interpreter.

Run it with the interpreter whose standard library and bytecode you want to check:

    python3.11 tools/stdlib_roundtrip.py --pyasm target/release/pyasm            # everything
    python3.11 tools/stdlib_roundtrip.py --pyasm target/release/pyasm --sample 300

It prints `equal E/N identical I/N` (equal: every co_ field of every code object is equal,
constants type-exact; identical: the marshalled code is byte for byte the same) and details of
the first failures. Exit status 0 when every file is equal.
"""

import argparse
import importlib._bootstrap_external as bootstrap
import marshal
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

FIELDS = (
    "co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize",
    "co_flags", "co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars",
    "co_filename", "co_name", "co_qualname", "co_firstlineno", "co_linetable",
    "co_exceptiontable",
)


def stdlib_files():
    root = sysconfig.get_paths()["stdlib"]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__"))
        for name in sorted(filenames):
            if name.endswith(".py"):
                found.append(os.path.join(dirpath, name))
    return root, found


def flat_name(root, path):
    rel = os.path.relpath(path, root)
    return rel[:-3].replace(os.sep, "__").replace(".", "_")


def const_key(value):
    """A comparison key that is exact about types and float bits (-0.0 is not 0.0)."""
    t = type(value)
    if t is float:
        return ("float", value.hex() if value == value else "nan%r" % (str(value),))
    if t is complex:
        return ("complex", const_key(value.real), const_key(value.imag))
    if t is tuple:
        return ("tuple", tuple(const_key(v) for v in value))
    if t is frozenset:
        return ("frozenset", tuple(sorted((repr(const_key(v)) for v in value))))
    if hasattr(value, "co_code"):
        return ("code", value.co_qualname)
    return (t.__name__, value)


def compare(a, b, path, out):
    for field in FIELDS:
        va, vb = getattr(a, field), getattr(b, field)
        if va != vb or type(va) is not type(vb):
            out.append("%s.%s: %r != %r" % (path, field, shorten(va), shorten(vb)))
    ca, cb = a.co_consts, b.co_consts
    if len(ca) != len(cb):
        out.append("%s.co_consts: %d != %d entries" % (path, len(ca), len(cb)))
        return
    for i, (x, y) in enumerate(zip(ca, cb)):
        if hasattr(x, "co_code") and hasattr(y, "co_code"):
            compare(x, y, "%s.%s" % (path, x.co_name), out)
        elif const_key(x) != const_key(y):
            out.append("%s.co_consts[%d]: %r != %r" % (path, i, shorten(x), shorten(y)))


def shorten(v):
    r = repr(v)
    return r if len(r) < 200 else r[:200] + "..."


def run_batch(cmd, files, chunk=400):
    """Runs `cmd + files` in chunks; returns stderr text."""
    errors = []
    for i in range(0, len(files), chunk):
        proc = subprocess.run(cmd + files[i:i + chunk], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.stderr:
            errors.append(proc.stderr.decode("utf-8", "replace"))
    return "".join(errors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pyasm", required=True, help="the pyasm binary")
    ap.add_argument("--sample", type=int, default=0, help="check only this many files (a fixed sample)")
    ap.add_argument("--workdir", help="keep the intermediate files here")
    ap.add_argument("--show", type=int, default=10, help="how many failures to detail")
    args = ap.parse_args()

    root, files = stdlib_files()
    if args.sample and args.sample < len(files):
        files = sorted(random.Random(311).sample(files, args.sample))
    work = args.workdir or tempfile.mkdtemp(prefix="pyasm-roundtrip-")
    for sub in ("pyc", "asm", "out"):
        shutil.rmtree(os.path.join(work, sub), ignore_errors=True)
        os.makedirs(os.path.join(work, sub))

    names = []
    skipped = 0
    t0 = time.perf_counter()
    for path in files:
        with open(path, "rb") as f:
            source = f.read()
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            skipped += 1
            continue
        name = flat_name(root, path)
        st = os.stat(path)
        data = bootstrap._code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size)
        with open(os.path.join(work, "pyc", name + ".pyc"), "wb") as f:
            f.write(data)
        names.append(name)
    t_compile = time.perf_counter() - t0

    t0 = time.perf_counter()
    dis_err = run_batch([args.pyasm, "dis", "--out-dir", os.path.join(work, "asm")],
                        [os.path.join(work, "pyc", n + ".pyc") for n in names])
    t_dis = time.perf_counter() - t0
    asm_files = [os.path.join(work, "asm", n + ".pyasm") for n in names
                 if os.path.exists(os.path.join(work, "asm", n + ".pyasm"))]
    t0 = time.perf_counter()
    asm_err = run_batch([args.pyasm, "assemble", "--quiet", "--out-dir", os.path.join(work, "out")], asm_files)
    t_asm = time.perf_counter() - t0

    equal = identical = 0
    failures = []
    for name in names:
        with open(os.path.join(work, "pyc", name + ".pyc"), "rb") as f:
            orig = f.read()
        ours_path = os.path.join(work, "out", name + ".pyc")
        if not os.path.exists(ours_path):
            failures.append((name, ["not reassembled (see the errors above)"]))
            continue
        with open(ours_path, "rb") as f:
            ours = f.read()
        diffs = []
        try:
            compare(marshal.loads(orig[16:]), marshal.loads(ours[16:]), "<module>", diffs)
        except Exception as e:  # a .pyc the interpreter cannot load
            diffs.append("cannot load ours: %r" % (e,))
        if diffs:
            failures.append((name, diffs))
            continue
        equal += 1
        if orig[16:] == ours[16:]:
            identical += 1

    n = len(names)
    if dis_err:
        sys.stdout.write("pyasm dis reported:\n" + "\n".join(dis_err.splitlines()[:40]) + "\n")
    if asm_err:
        sys.stdout.write("pyasm reported:\n" + "\n".join(asm_err.splitlines()[:40]) + "\n")
    for name, diffs in failures[:args.show]:
        print("FAIL %s" % name)
        for d in diffs[:5]:
            print("    " + d)
    print("python %s, %d files (%d skipped: not compilable), work dir %s"
          % (sys.version.split()[0], n, skipped, work))
    print("times: compile %.1fs, pyasm dis %.1fs, pyasm %.1fs" % (t_compile, t_dis, t_asm))
    print("equal %d/%d identical %d/%d" % (equal, n, identical, n))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if equal == n and n > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
