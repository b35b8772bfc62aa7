"""The stdlib round trip in one command, for a native interpreter:
.py -> .pyc (this interpreter) -> `pyasm dis` -> .pyasm -> `pyasm` -> .pyc, then the two code
objects compared field by field in this interpreter.

    python3.11 tools/stdlib_roundtrip.py --pyasm target/release/pyasm            # everything
    python3.11 tools/stdlib_roundtrip.py --pyasm target/release/pyasm --sample 300

The phases are those of tests/stdlib_roundtrip.rs (tools/roundtrip/compile_stdlib.py, then
pyasm, then tools/roundtrip/compare.py), but here pyasm runs as the `pyasm` binary in
subprocesses, which pyodide cannot start: for a pyodide interpreter use the Rust test
(`PYASM_ROUNDTRIP_ALL=1 cargo test --release --test stdlib_roundtrip`, see DEVELOPERS.md).

It prints `equal E/N identical I/N` (equal: every co_ field of every code object is equal,
constants type-exact; identical: the marshalled code is byte for byte the same) and details of
the first failures. Exit status 0 when every file is equal.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "roundtrip"))
import compare as compare_phase  # noqa: E402
import compile_stdlib as compile_phase  # noqa: E402


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

    work = args.workdir or tempfile.mkdtemp(prefix="pyasm-roundtrip-")
    if args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    asm_dir, out_dir = os.path.join(work, "asm"), os.path.join(work, "out")

    t0 = time.perf_counter()
    names, total, skipped, root = compile_phase.compile_all(work, args.sample, log=lambda _: None)
    t_compile = time.perf_counter() - t0

    t0 = time.perf_counter()
    dis_err = run_batch([args.pyasm, "dis", "--out-dir", asm_dir], [os.path.join(work, n + ".pyc") for n in names])
    t_dis = time.perf_counter() - t0
    asm_files = [os.path.join(asm_dir, n + ".pyasm") for n in names if os.path.exists(os.path.join(asm_dir, n + ".pyasm"))]
    t0 = time.perf_counter()
    asm_err = run_batch([args.pyasm, "assemble", "--quiet", "--out-dir", out_dir], asm_files)
    t_asm = time.perf_counter() - t0
    for n in names:
        # Where compare.py looks for the reassembly.
        if os.path.exists(os.path.join(out_dir, n + ".pyc")):
            os.replace(os.path.join(out_dir, n + ".pyc"), os.path.join(work, n + ".re.pyc"))

    if dis_err:
        sys.stdout.write("pyasm dis reported:\n" + "\n".join(dis_err.splitlines()[:40]) + "\n")
    if asm_err:
        sys.stdout.write("pyasm reported:\n" + "\n".join(asm_err.splitlines()[:40]) + "\n")
    print("python %s, %d files (%d skipped: not compilable) from %s, work dir %s"
          % (sys.version.split()[0], len(names), skipped, root, work))
    t0 = time.perf_counter()
    equal, _, n = compare_phase.compare_all(work, args.show)
    t_compare = time.perf_counter() - t0
    print("times: compile %.1fs, pyasm dis %.1fs, pyasm %.1fs, compare %.1fs" % (t_compile, t_dis, t_asm, t_compare))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if equal == n and n > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
