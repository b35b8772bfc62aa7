"""Benchmark: pyasm against CPython, from one run on one machine (issue 15, docs/performance.md).

    python3 tools/bench.py --pyasm target/release/pyasm [--sample N] [--json] [--versions 3.11,3.13]
    python3 tools/bench.py --pyasm target/release/pyasm --scale-only

For every native interpreter (pyenv's 3.6-3.13, or those --versions names) it measures, over
that interpreter's standard library (or a fixed sample of it):
  * assembling every disassembled module (`pyasm assemble --out-dir`, one job and one job per
    core) against that interpreter's `compile()` of the same modules from source;
  * `pyasm dis --out-dir` over every .pyc against the `dis` module over the same files (in one
    process, output discarded);
and, once, the scale programs of tools/scale_programs.py (10k, 100k and 1M instructions, and
a module of 100,000 code objects), assembled and disassembled, with pyasm's peak memory.

Ratios are CPython's time / pyasm's time (> 1: pyasm is faster). Both CPU time (user + system:
what survives a loaded machine) and wall time are reported; the ratios use CPU time. pyasm's
CPU time and peak RSS come from wait4() of its process; CPython's from time.process_time() in
the process that compiles. With --json the figures are printed as one JSON object.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "roundtrip"))


def run_measured(cmd):
    """Runs `cmd`; returns (wall s, CPU s, peak RSS bytes, stderr text)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write("%s exited with %d:\n%s\n" % (" ".join(cmd[:3]), proc.returncode, err.decode("utf-8", "replace")[:2000]))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, err.decode("utf-8", "replace")


def run_batch(pyasm, cmd, files, jobs, chunk=5000):
    """pyasm over `files` in chunks: (wall, CPU, largest peak RSS)."""
    wall = cpu = peak = 0
    for i in range(0, len(files), chunk):
        w, c, p, _ = run_measured([pyasm] + cmd + ["--jobs", str(jobs)] + files[i:i + chunk])
        wall, cpu, peak = wall + w, cpu + c, max(peak, p)
    return wall, cpu, peak


def library(args):
    """The figures for the interpreter running this script (run by `main` in a subprocess)."""
    import dis
    import io
    import marshal

    import compile_stdlib

    stdlib = compile_stdlib.find_stdlib()
    files = compile_stdlib.sample(stdlib.files(), args.sample)
    work = tempfile.mkdtemp(prefix="pyasm-bench-")
    for sub in ("pyc", "asm", "out"):
        os.makedirs(os.path.join(work, sub))
    sources = []
    for rel in files:
        src, path = stdlib.read(rel), stdlib.filename(rel)
        try:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                code = compile(src, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        name = compile_stdlib.flat_name(rel)
        with open(os.path.join(work, "pyc", name + ".pyc"), "wb") as f:
            f.write(compile_stdlib.pyc_bytes(code, src))
        sources.append((path, src, name))
    pycs = [os.path.join(work, "pyc", n + ".pyc") for _, _, n in sources]
    asms = [os.path.join(work, "asm", n + ".pyasm") for _, _, n in sources]

    def cpython(fn):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - w0, time.process_time() - c0

    def compile_all():
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for path, src, _ in sources:
                compile(src, path, "exec", dont_inherit=True)

    def dis_all():
        sink = io.StringIO()
        for p in pycs:
            with open(p, "rb") as f:
                data = f.read()
            dis.dis(marshal.loads(data[16 if sys.version_info >= (3, 7) else 12:]), file=sink)
            sink.seek(0)
            sink.truncate()

    cores = os.cpu_count() or 1
    r = {"python": sys.version.split()[0], "modules": len(sources), "source_bytes": sum(len(s) for _, s, _ in sources), "cores": cores}
    dis_cmd = ["dis", "--out-dir", os.path.join(work, "asm")]
    asm_cmd = ["assemble", "--quiet", "--out-dir", os.path.join(work, "out")]
    r["pyasm_dis_1"] = run_batch(args.pyasm, dis_cmd, pycs, 1)
    r["pyasm_dis_n"] = run_batch(args.pyasm, dis_cmd, pycs, cores)
    asms = [a for a in asms if os.path.exists(a)]
    r["asm_bytes"] = sum(os.path.getsize(a) for a in asms)
    r["pyasm_asm_1"] = run_batch(args.pyasm, asm_cmd, asms, 1)
    r["pyasm_asm_n"] = run_batch(args.pyasm, asm_cmd, asms, cores)
    r["cpython_compile"] = cpython(compile_all)
    r["cpython_dis"] = cpython(dis_all)
    r["assemble_ratio"] = r["cpython_compile"][1] / r["pyasm_asm_1"][1]
    r["dis_ratio"] = r["cpython_dis"][1] / r["pyasm_dis_1"][1]
    subprocess.run(["rm", "-rf", work])
    return r


def scale(pyasm, version="3.13"):
    """The scale programs assembled and disassembled: {name: figures}."""
    import scale_programs

    v = scale_programs.parse_version(version)
    work = tempfile.mkdtemp(prefix="pyasm-scale-")
    out = {}
    for label, kind, n in [("10k instructions", "instructions", 10_000), ("100k instructions", "instructions", 100_000),
                           ("1M instructions", "instructions", 1_000_000), ("100k code objects", "objects", 100_000)]:
        src = os.path.join(work, "p.pyasm")
        with open(src, "w") as f:
            (scale_programs.instructions if kind == "instructions" else scale_programs.objects)(n, v, f)
        pyc = os.path.join(work, "p.pyc")
        a = run_measured([pyasm, src, "-o", pyc])
        d = run_measured([pyasm, "dis", pyc, "-o", os.path.join(work, "d.pyasm")])
        out[label] = {"assemble": a[:3], "dis": d[:3], "source_bytes": os.path.getsize(src)}
    subprocess.run(["rm", "-rf", work])
    return out


def interpreters(wanted):
    found = {}
    for path in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3.*"))):
        name = os.path.basename(path)[len("python"):]
        if name.count(".") == 1 and name.replace(".", "").isdigit() and name not in found:
            found[name] = path
    order = sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))
    return [(v, found[v]) for v in order if not wanted or v in wanted]


def fmt(t):
    return "%.2fs CPU (%.2fs wall)" % (t[1], t[0])


def report(results, scales):
    for r in results:
        print("python %s: %d modules, %.1f MB of source, %.1f MB of .pyasm, %d cores"
              % (r["python"], r["modules"], r["source_bytes"] / 1e6, r["asm_bytes"] / 1e6, r["cores"]))
        print("  assemble: pyasm %s 1 job, %s %d jobs; compile() %s -> ratio %.2f"
              % (fmt(r["pyasm_asm_1"]), fmt(r["pyasm_asm_n"]), r["cores"], fmt(r["cpython_compile"]), r["assemble_ratio"]))
        print("  dis     : pyasm %s 1 job, %s %d jobs; dis module %s -> ratio %.2f"
              % (fmt(r["pyasm_dis_1"]), fmt(r["pyasm_dis_n"]), r["cores"], fmt(r["cpython_dis"]), r["dis_ratio"]))
    if scales:
        print("scale programs (Python 3.13):")
        for label, s in scales.items():
            print("  %-18s assemble %s, %.0f MB peak; dis %s, %.0f MB peak"
                  % (label, fmt(s["assemble"]), s["assemble"][2] / 1e6, fmt(s["dis"]), s["dis"][2] / 1e6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pyasm", required=True)
    ap.add_argument("--sample", type=int, default=0, help="a fixed sample of this many modules per library")
    ap.add_argument("--versions", default="", help="comma-separated, e.g. 3.6,3.11,3.13 (default: every native one)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--scale-only", action="store_true", help="only the scale programs")
    ap.add_argument("--no-scale", action="store_true", help="leave out the scale programs")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # this interpreter's library, as JSON
    args = ap.parse_args()
    args.pyasm = os.path.abspath(args.pyasm)
    if args.one:
        print(json.dumps(library(args)))
        return
    results = []
    if not args.scale_only:
        for v, exe in interpreters(set(filter(None, args.versions.split(",")))):
            cmd = [exe, os.path.abspath(__file__), "--one", "--pyasm", args.pyasm, "--sample", str(args.sample)]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE)
            if proc.returncode != 0:
                sys.stderr.write("python %s: the benchmark failed\n" % v)
                continue
            results.append(json.loads(proc.stdout.decode().strip().splitlines()[-1]))
    scales = None if args.no_scale else scale(args.pyasm)
    if args.json:
        print(json.dumps({"libraries": results, "scale": scales}, indent=1))
    else:
        report(results, scales)


if __name__ == "__main__":
    main()
