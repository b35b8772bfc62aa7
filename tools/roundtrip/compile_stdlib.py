"""Stdlib round trip, phase 1: compile this interpreter's own standard library to .pyc files.

    python3.X tools/roundtrip/compile_stdlib.py --out DIR [--sample N]

The interpreter that runs this script is the one whose bytecode is checked, so it must run
under every kind of interpreter pyasm uses, pyodide included: no subprocesses, and the
standard library may be a folder of sources or a zip (pyodide keeps it in /lib/python3XY.zip,
which a walk of the stdlib folder does not see).

Writes, into DIR (created if needed):
  NAME.pyc       one per module this interpreter compiles (NAME is the path relative to the
                 stdlib, with `/` as `__` and `.` as `_`: `email__mime__text`)
  manifest.tsv   NAME <tab> relative path, one line per .pyc, in the order compiled
and prints `skipped REL: ERROR` for each file the interpreter itself cannot compile (test data
with deliberate syntax errors), then one summary line:
  compiled C of T files (S not compilable) from ROOT; python VERSION; X.Ys

--sample N takes a fixed sample of N files: the first N by SHA-256 of their relative path, so
the choice is the same on every run, machine and Python version that has those files.
Exit status 0 when at least one file was compiled.
"""

import argparse
import hashlib
import importlib.util
import marshal
import os
import sys
import time
import warnings
import zipfile

# Folders of the stdlib tree that are not the stdlib.
SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__"}


class DirSource:
    """The stdlib as a folder of .py files."""

    def __init__(self, root):
        self.root = root

    def files(self):
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                if name.endswith(".py"):
                    full = os.path.join(dirpath, name)
                    found.append(os.path.relpath(full, self.root).replace(os.sep, "/"))
        return found

    def read(self, rel):
        with open(os.path.join(self.root, rel), "rb") as f:
            return f.read()

    def filename(self, rel):
        return os.path.join(self.root, rel)


class ZipSource:
    """The stdlib as a zip of .py files (pyodide)."""

    def __init__(self, path):
        self.root = path
        self.zip = zipfile.ZipFile(path)

    def files(self):
        return sorted(
            n for n in self.zip.namelist()
            if n.endswith(".py") and not SKIP_DIRS.intersection(n.split("/")[:-1])
        )

    def read(self, rel):
        return self.zip.read(rel)

    def filename(self, rel):
        # What the zip importer gives such a module as co_filename.
        return self.root + "/" + rel


def find_stdlib():
    """Where this interpreter's standard library sources are: the folder `os` comes from, or
    a zip on sys.path that holds os.py."""
    import sysconfig

    folders = []
    os_file = getattr(os, "__file__", None)
    if os_file:
        folders.append(os.path.dirname(os_file))
    folders.append(sysconfig.get_paths().get("stdlib", ""))
    for d in folders:
        if d and os.path.isfile(os.path.join(d, "os.py")):
            return DirSource(d)
    for entry in sys.path:
        if entry.endswith(".zip") and os.path.isfile(entry):
            try:
                z = zipfile.ZipFile(entry)
                z.getinfo("os.py")
            except (KeyError, zipfile.BadZipFile, OSError):
                continue
            return ZipSource(entry)
    raise SystemExit("cannot find the standard library sources (looked at %r and sys.path)" % (folders,))


def flat_name(rel):
    return rel[:-3].replace("/", "__").replace(".", "_")


def sample(files, n):
    """A fixed sample: the first n by SHA-256 of the relative path, in path order."""
    if not n or n >= len(files):
        return list(files)
    ranked = sorted(files, key=lambda rel: hashlib.sha256(rel.encode("utf-8")).hexdigest())
    return sorted(ranked[:n])


def pyc_bytes(code, source):
    """A timestamp-based pyc (mtime 0), as the import system writes it."""
    header = importlib.util.MAGIC_NUMBER
    if sys.version_info >= (3, 7):
        header += (0).to_bytes(4, "little")  # PEP 552 flags: timestamp-based
    header += (0).to_bytes(4, "little") + (len(source) & 0xFFFFFFFF).to_bytes(4, "little")
    return header + marshal.dumps(code)


def compile_all(out, sample_size=0, log=print):
    """Compiles the (sampled) stdlib into `out`; returns (names, files looked at, skipped,
    stdlib root)."""
    source = find_stdlib()
    files = sample(source.files(), sample_size)
    os.makedirs(out, exist_ok=True)
    names = []
    manifest = []
    skipped = 0
    for rel in files:
        data = source.read(rel)
        # Held in a variable until the pyc is written: marshal flags an object for reuse
        # (FLAG_REF) only when something else refers to it too, and the import system always
        # holds the file name while it writes a pyc; without this, a module with a single
        # code object would marshal its co_filename differently from an imported one.
        filename = source.filename(rel)
        try:
            # Test data provokes SyntaxWarnings; they say nothing about the round trip.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                code = compile(data, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            skipped += 1
            log("skipped %s: %s" % (rel, type(e).__name__))
            continue
        name = flat_name(rel)
        while name in names:  # `a/b.py` and `a__b.py` would collide
            name += "_"
        names.append(name)
        with open(os.path.join(out, name + ".pyc"), "wb") as f:
            f.write(pyc_bytes(code, data))
        manifest.append("%s\t%s\n" % (name, rel))
    with open(os.path.join(out, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.writelines(manifest)
    return names, len(files), skipped, source.root


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for the .pyc files and manifest.tsv")
    ap.add_argument("--sample", type=int, default=0, help="compile only this many files (a fixed sample)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    names, total, skipped, root = compile_all(args.out, args.sample)
    print("compiled %d of %d files (%d not compilable) from %s; python %s; %.1fs"
          % (len(names), total, skipped, root, sys.version.split()[0], time.perf_counter() - t0))
    return 0 if names else 1


if __name__ == "__main__":
    sys.exit(main())
