//! pyasm against CPython 3.11's own compiler.
//!
//! For each `tests/compile_equiv/NAME.py` there is a hand-written `NAME.pyasm` that is meant to
//! reproduce, exactly, what `compile(src, "NAME.py", "exec")` gives under CPython 3.11. The test
//! assembles the .pyasm with the `pyasm` binary, loads the resulting .pyc into a 3.11
//! interpreter (marshal.loads after the 16-byte header) and compares the two code objects
//! recursively, field by field (code, constants with their exact types, names, variables,
//! counts, stack size, flags, names, line and exception tables). Every mismatch is listed with
//! its path, e.g. `<module>.consts[1] f.co_linetable`. Then both are run — the compiled source
//! via `exec` and our .pyc via `python NAME.pyc` — and their stdout and exit status compared.
//!
//! Without a CPython 3.11 interpreter the tests print a skip notice, or fail when `CI` is set.
//! `PYASM_PYTHON_3_11=/path/to/python3.11` selects the interpreter.

mod support;

use std::path::{Path, PathBuf};
use support::Interpreter;
use std::process::Command;

/// Cases whose .pyasm is known not to reproduce CPython because of an assembler bug; the
/// test then requires the comparison to fail (so a fix is noticed). Each entry names the bug.
/// Keep this empty whenever possible.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

fn python311() -> Option<Interpreter> {
    support::python_for_test("3.11", "compile_equiv")
}

fn case_dir() -> PathBuf {
    support::repo_root().join("tests/compile_equiv")
}

/// The comparison, run under 3.11: `argv = [src.py, ours.pyc, NAME.py]`. Prints one block per
/// mismatch and exits 1 if there is any; prints `OK <summary>` and exits 0 otherwise.
const COMPARE: &str = r#"
import sys, marshal, struct, types, dis, opcode

src_path, pyc_path, filename = sys.argv[1:4]
with open(src_path, encoding="utf-8") as f:
    src = f.read()
expected = compile(src, filename, "exec")
with open(pyc_path, "rb") as f:
    data = f.read()
import importlib.util
if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
    print("MISMATCH pyc header: %r is not a 3.11 pyc header (%r)" % (data[:16], importlib.util.MAGIC_NUMBER))
    sys.exit(1)
actual = marshal.loads(data[16:])

FIELDS = [
    "co_code", "co_consts", "co_names", "co_varnames", "co_cellvars", "co_freevars",
    "co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize",
    "co_flags", "co_firstlineno", "co_name", "co_qualname", "co_filename", "co_linetable",
    "co_exceptiontable",
]
mismatches = []
compared = {"code objects": 0, "fields": 0, "constants": 0}

def say(path, exp, act, extra=""):
    text = "MISMATCH %s\n    expected (CPython): %s\n    actual   (pyasm):   %s" % (path, exp, act)
    if extra:
        text += "\n" + extra
    mismatches.append(text)

def same_float(a, b):
    return struct.pack("<d", a) == struct.pack("<d", b)

def sort_key(v):
    return (type(v).__name__, repr(v))

def const_equal(a, b):
    """Type-exact, bit-exact equality of constants (recursive); code objects are compared
    separately, so here two code objects only need the same name."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return same_float(a, b)
    if isinstance(a, complex):
        return same_float(a.real, b.real) and same_float(a.imag, b.imag)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(const_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, frozenset):
        if len(a) != len(b):
            return False
        xs, ys = sorted(a, key=sort_key), sorted(b, key=sort_key)
        return all(const_equal(x, y) for x, y in zip(xs, ys))
    if isinstance(a, types.CodeType):
        return a.co_qualname == b.co_qualname
    return a == b

def show(v):
    if isinstance(v, types.CodeType):
        return "<code %s>" % v.co_qualname
    if isinstance(v, float):
        return "%r (%s)" % (v, struct.pack("<d", v).hex())
    return "%s %r" % (type(v).__name__, v)

def disasm(co):
    """(offset, text) per instruction, caches included, so offsets line up with co_code."""
    out = []
    for ins in dis.get_instructions(co, show_caches=True):
        out.append((ins.offset, "%4d %-28s %s" % (ins.offset, ins.opname, ins.argrepr or (ins.arg if ins.arg is not None else ""))))
    return out

def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))

def code_context(exp, act, byte):
    lines = []
    for label, co in (("CPython", exp), ("pyasm", act)):
        ins = [t for off, t in disasm(co) if byte - 8 <= off <= byte + 8]
        lines.append("    %s around offset %d:\n      %s" % (label, byte, "\n      ".join(ins)))
    return "\n".join(lines)

def flag_names(f):
    names = [n for b, n in sorted(dis.COMPILER_FLAG_NAMES.items()) if f & b]
    rest = f & ~sum(b for b in dis.COMPILER_FLAG_NAMES)
    if rest:
        names.append(hex(rest))
    return "%d (%s)" % (f, " | ".join(names) or "0")

def compare_code(exp, act, path):
    compared["code objects"] += 1
    where = path if path == exp.co_name else "%s %s" % (path, exp.co_name)
    for field in FIELDS:
        compared["fields"] += 1
        e, a = getattr(exp, field), getattr(act, field)
        fpath = "%s.%s" % (where, field)
        if field == "co_consts":
            continue  # compared element by element below, after the other fields
        if type(e) is type(a) and e == a:
            continue
        extra = ""
        if field == "co_code":
            i = first_diff(e, a)
            extra = "    first difference at byte %d (lengths %d, %d)\n%s" % (i, len(e), len(a), code_context(exp, act, i - i % 2))
            e, a = e.hex(), a.hex()
        elif field == "co_linetable":
            pe, pa = list(exp.co_positions()), list(act.co_positions())
            if pe == pa:
                extra = "    co_positions() agree; the encodings differ (entry boundaries, or relative to a different co_firstlineno)"
            else:
                i = first_diff(pe, pa)
                extra = "    first differing code unit: %d (byte offset %d): CPython %s, pyasm %s" % (
                    i, 2 * i, pe[i] if i < len(pe) else "-", pa[i] if i < len(pa) else "-")
            e, a = e.hex(), a.hex()
        elif field == "co_exceptiontable":
            fmt = lambda co: ["%d-%d -> %d depth %d%s" % (x.start, x.end, x.target, x.depth, " lasti" if x.lasti else "")
                              for x in dis._parse_exception_table(co)]
            extra = "    entries: CPython %s\n             pyasm   %s" % (fmt(exp), fmt(act))
            e, a = e.hex(), a.hex()
        elif field == "co_flags":
            e, a = flag_names(e), flag_names(a)
        else:
            e, a = repr(e), repr(a)
        say(fpath, e, a, extra)
    compare_consts(exp.co_consts, act.co_consts, path, top=exp)

def compare_consts(e, a, path, top):
    where = path if path == top.co_name else "%s %s" % (path, top.co_name)
    if len(e) != len(a):
        say("%s.co_consts (length)" % where, "%d: %s" % (len(e), [show(x) for x in e]),
            "%d: %s" % (len(a), [show(x) for x in a]))
    for i, (x, y) in enumerate(zip(e, a)):
        compare_value(x, y, "%s.consts[%d]" % (where, i))

def compare_value(x, y, path):
    compared["constants"] += 1
    if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
        compare_code(x, y, path)
        return
    if type(x) is not type(y):
        say(path + " (type)", show(x), show(y))
        return
    if isinstance(x, tuple):
        if len(x) != len(y):
            say(path + " (tuple length)", show(x), show(y))
            return
        for j, (p, q) in enumerate(zip(x, y)):
            compare_value(p, q, "%s[%d]" % (path, j))
        return
    if isinstance(x, frozenset):
        if not const_equal(x, y):
            say(path + " (frozenset)", show(x), show(y))
        return
    if not const_equal(x, y):
        say(path, show(x), show(y))

compare_code(expected, actual, "<module>")
if mismatches:
    print("%d mismatch(es):" % len(mismatches))
    print("\n".join(mismatches))
    sys.exit(1)
print("OK %(code objects)d code objects, %(fields)d fields, %(constants)d constants" % compared)
"#;

/// Runs the compiled source the way a script runs.
const RUN_SOURCE: &str = r#"
import sys
src_path, filename = sys.argv[1:3]
with open(src_path, encoding="utf-8") as f:
    code = compile(f.read(), filename, "exec")
sys.argv = [filename]
exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
"#;

fn run(python: &Interpreter, args: &[&std::ffi::OsStr], cwd: &Path) -> std::process::Output {
    python
        .command()
        .args(args)
        .current_dir(cwd)
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("failed to start python")
}

/// Assembles and compares one case; returns every problem found.
fn check_case(python: &Interpreter, name: &str) -> Result<String, String> {
    let dir = case_dir();
    let src = dir.join(format!("{name}.py"));
    let asm = dir.join(format!("{name}.pyasm"));
    let filename = format!("{name}.py");
    if !asm.exists() {
        return Err(format!("{} is missing", asm.display()));
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let pyc = tmp.path().join(format!("{name}.pyc"));

    let out = Command::new(support::pyasm_bin())
        .arg(&asm)
        .arg("-o")
        .arg(&pyc)
        .args(["--python", "3.11", "--color", "never"])
        .output()
        .expect("failed to start pyasm");
    if !out.status.success() {
        return Err(format!(
            "pyasm failed on {} ({}):\n{}{}",
            asm.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }

    let mut problems = Vec::new();
    // The test data is meant to assemble cleanly: a warning (unreachable code, an unused code
    // object, …) is reported as a problem too.
    if !out.stderr.is_empty() {
        problems.push(format!(
            "pyasm printed diagnostics for {}:\n{}",
            asm.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let cmp = support::run_python(
        python,
        COMPARE,
        &[src.to_str().unwrap(), pyc.to_str().unwrap(), &filename],
    );
    let cmp_out = String::from_utf8_lossy(&cmp.stdout).into_owned();
    if !cmp.status.success() {
        problems.push(format!(
            "code objects differ:\n{}{}",
            cmp_out,
            String::from_utf8_lossy(&cmp.stderr)
        ));
    }

    // Run both: the source through compile()+exec, our pyc as a script.
    let expected = run(
        python,
        &["-c".as_ref(), RUN_SOURCE.as_ref(), src.as_os_str(), filename.as_ref()],
        tmp.path(),
    );
    let actual = run(python, &[pyc.as_os_str()], tmp.path());
    if expected.status.code() != actual.status.code() || expected.stdout != actual.stdout {
        problems.push(format!(
            "running differs:\n  CPython (exit {:?}) stdout:\n{}\n  CPython stderr:\n{}\n  pyasm (exit {:?}) stdout:\n{}\n  pyasm stderr:\n{}",
            expected.status.code(),
            String::from_utf8_lossy(&expected.stdout),
            String::from_utf8_lossy(&expected.stderr),
            actual.status.code(),
            String::from_utf8_lossy(&actual.stdout),
            String::from_utf8_lossy(&actual.stderr),
        ));
    }
    if !expected.status.success() {
        problems.push(format!(
            "the program itself failed under CPython:\n{}",
            String::from_utf8_lossy(&expected.stderr)
        ));
    }
    if problems.is_empty() {
        Ok(format!("{} ; stdout {} bytes identical", cmp_out.trim(), expected.stdout.len()))
    } else {
        Err(problems.join("\n"))
    }
}

fn case(name: &str) {
    let Some(python) = python311() else { return };
    let known = KNOWN_FAILURES.iter().find(|(n, _)| *n == name);
    match (check_case(&python, name), known) {
        (Ok(summary), None) => eprintln!("{name}: {summary}"),
        (Err(problems), None) => panic!("{name}: pyasm does not reproduce CPython 3.11:\n{problems}"),
        (Err(problems), Some((_, why))) => {
            eprintln!("{name}: KNOWN FAILURE ({why}):\n{problems}")
        }
        (Ok(_), Some((_, why))) => panic!(
            "{name} is listed in KNOWN_FAILURES ({why}) but now matches CPython: remove it from the list"
        ),
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                case(stringify!($name));
            }
        )*
    };
}

cases! {
    arithmetic,
    func_args,
    if_elif,
    while_loop,
    for_loop,
    try_except,
    with_stmt,
    closure,
    class_super,
    generator,
    listcomp,
    lambdas,
    constants,
    locations,
    extended_arg,
    wide_operands,
    docstrings,
    async_code,
    const_keys,
    qualnames,
    match_stmt,
    expressions,
}

/// Every NAME.py in the directory has a test above (and a NAME.pyasm), and vice versa.
#[test]
fn every_case_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(case_dir())
        .expect("tests/compile_equiv")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "tests/compile_equiv/*.py and the cases! list differ");
    for name in &listed {
        let asm = case_dir().join(format!("{name}.pyasm"));
        assert!(asm.exists(), "{} is missing", asm.display());
    }
    for (name, _) in KNOWN_FAILURES {
        assert!(listed.iter().any(|n| n == name), "KNOWN_FAILURES names an unknown case {name}");
    }
}
