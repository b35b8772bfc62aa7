"""Benchmark: pyasm against CPython on a whole standard library, from one run on one machine.

    python3.11 tools/bench.py --pyasm target/release/pyasm [--sample N]

Prints, with ratios (CPython time / pyasm time, so > 1 means pyasm is faster):
  * assembling every disassembled module (`pyasm --out-dir`) vs CPython compiling the same
    modules from source (`compile()` in one process);
  * `pyasm dis` over every .pyc vs `python -m dis` over the same files (the `dis` module in
    one process, output discarded).
pyasm is measured with one job (--jobs 1, comparable with CPython's one thread) and with one
job per core. Times are wall-clock seconds from `time.perf_counter`; this is a benchmark to
read, not a test.
"""

import argparse
import dis
import io
import marshal
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "roundtrip"))
import compile_stdlib  # noqa: E402  (same file list, sample and naming as the round trip)
import stdlib_roundtrip as rt  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pyasm", required=True)
    ap.add_argument("--sample", type=int, default=0)
    args = ap.parse_args()
    stdlib = compile_stdlib.find_stdlib()
    files = compile_stdlib.sample(stdlib.files(), args.sample)
    work = tempfile.mkdtemp(prefix="pyasm-bench-")
    for sub in ("pyc", "asm", "out"):
        os.makedirs(os.path.join(work, sub))
    sources = []
    for rel in files:
        src, path = stdlib.read(rel), stdlib.filename(rel)
        try:
            code = compile(src, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        name = compile_stdlib.flat_name(rel)
        with open(os.path.join(work, "pyc", name + ".pyc"), "wb") as f:
            f.write(compile_stdlib.pyc_bytes(code, src))
        sources.append((path, src, name))
    pycs = [os.path.join(work, "pyc", n + ".pyc") for _, _, n in sources]
    asms = [os.path.join(work, "asm", n + ".pyasm") for _, _, n in sources]
    nbytes = sum(len(s) for _, s, _ in sources)

    def cpython_compile():
        for path, src, _ in sources:
            compile(src, path, "exec", dont_inherit=True)

    def cpython_dis():
        sink = io.StringIO()
        for p in pycs:
            with open(p, "rb") as f:
                dis.dis(marshal.loads(f.read()[16:]), file=sink)
            sink.seek(0)
            sink.truncate()

    def pyasm(cmd, inputs, jobs):
        def run():
            rt.run_batch([args.pyasm] + cmd + ["--jobs", str(jobs)], inputs, chunk=5000)
        return run

    cores = os.cpu_count() or 1
    t_dis1 = timed(pyasm(["dis", "--out-dir", os.path.join(work, "asm")], pycs, 1))
    t_disn = timed(pyasm(["dis", "--out-dir", os.path.join(work, "asm")], pycs, cores))
    t_asm1 = timed(pyasm(["assemble", "--quiet", "--out-dir", os.path.join(work, "out")], asms, 1))
    t_asmn = timed(pyasm(["assemble", "--quiet", "--out-dir", os.path.join(work, "out")], asms, cores))
    t_comp = timed(cpython_compile)
    t_pdis = timed(cpython_dis)
    asm_bytes = sum(os.path.getsize(a) for a in asms if os.path.exists(a))

    print("python %s, %d modules, %.1f MB of source, %.1f MB of .pyasm, %d cores"
          % (sys.version.split()[0], len(sources), nbytes / 1e6, asm_bytes / 1e6, cores))
    print("assemble : pyasm %.2fs (1 job), %.2fs (%d jobs); CPython compile() %.2fs -> ratio %.2f (1 job), %.2f (%d jobs)"
          % (t_asm1, t_asmn, cores, t_comp, t_comp / t_asm1, t_comp / t_asmn, cores))
    print("dis      : pyasm dis %.2fs (1 job), %.2fs (%d jobs); python -m dis %.2fs -> ratio %.2f (1 job), %.2f (%d jobs)"
          % (t_dis1, t_disn, cores, t_pdis, t_pdis / t_dis1, t_pdis / t_disn, cores))


if __name__ == "__main__":
    main()
