"""What this interpreter reports for the code objects of .pyc files, one line per code object,
for comparison with what pyasm's marshal reader loaded from the same files.

    python3.X tools/roundtrip/code_fields.py DIR

DIR holds NAME.pyc files and manifest.tsv (see compile_stdlib.py). For each module, in
manifest order, and each of its code objects depth-first in co_consts order, prints

    NAME <tab> argcount posonlyargcount kwonlyargcount nlocals stacksize flags firstlineno
         <tab> code <tab> names <tab> varnames <tab> cellvars <tab> freevars <tab> filename
         <tab> name <tab> line table <tab> number of constants

bytes in hex, strs as the hex of their UTF-8 ("surrogatepass"), tuples comma-separated; the
line table is co_lnotab before 3.10 and co_linetable from 3.10; posonlyargcount is 0 before 3.8.
"""

import marshal
import os
import sys

HEADER = 16 if sys.version_info >= (3, 7) else 12
CodeType = type(compile("", "", "exec"))


def s(text):
    return text.encode("utf-8", "surrogatepass").hex()


def strs(t):
    return ",".join(s(x) for x in t)


def lines(name, co, out):
    table = co.co_linetable if sys.version_info >= (3, 10) else co.co_lnotab
    counts = (co.co_argcount, getattr(co, "co_posonlyargcount", 0), co.co_kwonlyargcount, co.co_nlocals,
              co.co_stacksize, co.co_flags, co.co_firstlineno)
    out.append("\t".join([
        name, " ".join(str(c) for c in counts), co.co_code.hex(), strs(co.co_names), strs(co.co_varnames),
        strs(co.co_cellvars), strs(co.co_freevars), s(co.co_filename), s(co.co_name), table.hex(),
        str(len(co.co_consts)),
    ]))
    for c in co.co_consts:
        if type(c) is CodeType:
            lines(name, c, out)


def main():
    folder = sys.argv[1]
    out = []
    with open(os.path.join(folder, "manifest.tsv"), encoding="utf-8") as f:
        names = [line.split("\t")[0] for line in f if line.strip()]
    for name in names:
        with open(os.path.join(folder, name + ".pyc"), "rb") as f:
            data = f.read()
        lines(name, marshal.loads(data[HEADER:]), out)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
