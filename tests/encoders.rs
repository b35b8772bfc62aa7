//! The encoders of `pyasm::emit` checked against a real CPython 3.11: location and exception
//! tables round-trip CPython's own tables, marshal output loads back as equal objects (and,
//! best effort, is byte-identical to CPython's), source hashes agree with importlib, and a
//! written pyc runs.
//!
//! Data goes between Rust and Python as hex on argv/stdout, or through files in a temporary
//! directory when large. Without a 3.11 interpreter the tests print a skip message, or fail
//! when `CI` is set.

mod support;

use num_bigint::BigInt;
use pyasm::emit::exceptions::{decode_exception_table, encode_exception_table};
use pyasm::emit::linetable::{Location, decode_locations, encode_locations};
use pyasm::emit::marshal::{dump_code, dump_constant};
use pyasm::emit::pyc::{PycHeader, read_pyc_header, source_hash, write_pyc};
use pyasm::object::{CodeObject, Constant, PyStr};
use std::path::{Path, PathBuf};
use support::Interpreter;

// ---------------------------------------------------------------------------------------
// Plumbing

fn python311() -> Option<Interpreter> {
    support::python_for_test("3.11", "encoders")
}

/// Runs a script, insists on success, returns stdout.
fn py(python: &Interpreter, script: &str, args: &[&str]) -> String {
    let out = support::run_python(python, script, args);
    assert!(out.status.success(), "python failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("python printed non-UTF-8")
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("bad hex")).collect()
}

fn stdlib_dir(python: &Interpreter) -> PathBuf {
    PathBuf::from(py(python, "import sysconfig; print(sysconfig.get_paths()['stdlib'])", &[]).trim())
}

/// A spread of stdlib modules: big and small, classes, comprehensions, async, try/with,
/// match statements, long literals.
const STDLIB_SAMPLE: &[&str] = &[
    "os.py",
    "re/_parser.py",
    "collections/__init__.py",
    "typing.py",
    "dataclasses.py",
    "argparse.py",
    "asyncio/base_events.py",
    "asyncio/tasks.py",
    "json/decoder.py",
    "email/_header_value_parser.py",
    "unittest/mock.py",
    "pathlib.py",
    "inspect.py",
    "tokenize.py",
    "_pydecimal.py",
    "enum.py",
    "functools.py",
    "string.py",
    "textwrap.py",
    "ast.py",
    "contextlib.py",
    "subprocess.py",
    "zipfile.py",
    "difflib.py",
    "pydoc_data/topics.py",
];

/// Copies the sample's sources out of the interpreter's stdlib into `dir` and returns the
/// copies' paths (those the stdlib has). Copied, because the stdlib need not be host files:
/// pyodide keeps it in a zip inside its own file system.
fn stdlib_sample(python: &Interpreter, dir: &Path) -> Vec<String> {
    const COPY: &str = r#"
import os, sys
sys.path.insert(0, sys.argv[1])
from compile_stdlib import find_stdlib
src = find_stdlib()
have = set(src.files())
for rel in sys.argv[3:]:
    if rel in have:
        p = os.path.join(sys.argv[2], rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(src.read(rel))
        print(p)
"#;
    let tools = support::repo_root().join("tools/roundtrip");
    let mut args = vec![tools.to_str().unwrap(), dir.to_str().unwrap()];
    args.extend(STDLIB_SAMPLE);
    let files: Vec<String> = py(python, COPY, &args).lines().map(String::from).collect();
    assert!(files.len() * 10 >= STDLIB_SAMPLE.len() * 8, "the stdlib lacks most of the sample: {files:?}");
    files
}

/// Source snippets exercising the awkward parts of the location and exception tables.
fn snippets() -> Vec<String> {
    let mut v: Vec<String> = vec![
        // Multi-line expressions and calls.
        "x = (1 +\n     2 +\n     f(a,\n       b))\ny = [\n  i\n  for i in z\n  if i\n]\n".into(),
        // Lines going backwards (loops), break/continue, else clauses.
        "for i in range(10):\n    if i:\n        continue\n    x = i\nelse:\n    y = 2\nwhile x:\n    x -= 1\n    if x == 3: break\n".into(),
        // LOAD_METHOD is 11 code units (split into 8 + 3), attribute chains, subscripts.
        "def m(o):\n    return o.method(1).other[2].third.call(o.a, o.b)\n".into(),
        // Exceptions: nested try, finally, except*, with, async with/for, re-raise.
        "def h(p, lock):\n    try:\n        try:\n            a()\n        except ValueError as e:\n            b(e)\n        finally:\n            c()\n    except* TypeError:\n        pass\n    with open(p) as f, lock:\n        return f.read()\n".into(),
        "async def ag(x):\n    async with x as y:\n        async for z in y:\n            try:\n                await z\n            except Exception:\n                raise\n            else:\n                yield z\n".into(),
        "def g():\n    try:\n        return 1\n    finally:\n        try:\n            cleanup()\n        except:\n            pass\n".into(),
        // Decorators, classes, lambdas, comprehensions, match.
        "@dec(1,\n     2)\nclass C(Base, metaclass=M):\n    '''doc'''\n    x: int = 3\n    def f(self, *a, k=lambda q: q * 2, **kw):\n        return {k: v for k, v in kw.items()}\n".into(),
        "def mt(cmd):\n    match cmd:\n        case [\"go\", d] if d:\n            return d\n        case {\"k\": v, **rest}:\n            return v\n        case Point(x=0, y=yy) | Point(x=yy, y=0):\n            return yy\n        case _:\n            return None\n".into(),
    ];
    // Columns beyond 127 on one line and a span reaching past them.
    v.push(format!("y = {}b\nz = f({}\n  c)\n", "a + ".repeat(50), "q, ".repeat(60)));
    // More than 255 globals: EXTENDED_ARG prefixes on LOAD_GLOBAL (7+ units).
    let names: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
    v.push(format!("def many():\n    return [{}]\n", names.join(", ")));
    // Huge line numbers and line deltas.
    v.push(format!("a = 1\n{}b = 2\nif a:\n{}    c = 3\n", "\n".repeat(70000), "\n".repeat(5000)));
    // Tiny module and an empty one.
    v.push("print(42)\n".into());
    v.push(String::new());
    v
}

// ---------------------------------------------------------------------------------------
// (a) Location and exception tables

const TABLES_SCRIPT: &str = r#"
import sys, opcode
def walk(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, type(co)):
            yield from walk(c)
def sizes(co):
    code = co.co_code; out = []; i = 0
    while i < len(code):
        start = i
        while code[i] == opcode.EXTENDED_ARG:
            i += 2
        i += 2 + 2 * opcode._inline_cache_entries[code[i]]
        out.append((i - start) // 2)
    return out
def pos(v):
    return -1 if v is None else v
mode = sys.argv[1]
for arg in sys.argv[2:]:
    if mode == 'files':
        src, name = open(arg, 'rb').read(), arg
    else:
        src, name = arg, '<snippet>'
    top = compile(src, name, 'exec', dont_inherit=True)
    for co in walk(top):
        p = ['%d:%d:%d:%d' % tuple(map(pos, t)) for t in co.co_positions()]
        print(co.co_firstlineno, co.co_linetable.hex() or '-', co.co_exceptiontable.hex() or '-',
              ','.join(map(str, sizes(co))) or '-', ','.join(p) or '-', len(co.co_code) // 2)
"#;

/// Checks every code object line printed by TABLES_SCRIPT; returns how many were checked.
fn check_tables(output: &str) -> usize {
    let mut n = 0;
    for line in output.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 6, "bad line from python: {line}");
        let first: i32 = f[0].parse().unwrap();
        let lt = from_hex(f[1]);
        let et = from_hex(f[2]);
        let sizes: Vec<u32> = if f[3] == "-" { vec![] } else { f[3].split(',').map(|s| s.parse().unwrap()).collect() };
        let positions: Vec<Location> = if f[4] == "-" {
            vec![]
        } else {
            f[4].split(',')
                .map(|p| {
                    let q: Vec<i32> = p.split(':').map(|x| x.parse().unwrap()).collect();
                    Location { line: q[0], end_line: q[1], col: q[2], end_col: q[3] }
                })
                .collect()
        };
        let units: usize = f[5].parse().unwrap();
        let ctx = || format!("code object at line {first}, linetable {}", f[1]);

        // Decoding then re-encoding gives CPython's bytes back.
        let entries = decode_locations(first, &lt).unwrap_or_else(|e| panic!("{e}: {}", ctx()));
        assert_eq!(encode_locations(first, &entries), lt, "linetable round trip, {}", ctx());

        // Decoded entries, expanded per code unit, are what co_positions() reports.
        let per_unit: Vec<Location> =
            entries.iter().flat_map(|&(loc, n)| std::iter::repeat_n(loc, n as usize)).collect();
        assert_eq!(per_unit.len(), units, "table covers every code unit, {}", ctx());
        assert_eq!(per_unit, positions, "decoded locations vs co_positions(), {}", ctx());

        // Encoding per instruction (no merging, chunks of 8) reproduces CPython's table.
        let mut instrs = Vec::new();
        let mut at = 0usize;
        for &size in &sizes {
            let loc = positions[at];
            assert!(
                positions[at..at + size as usize].iter().all(|&p| p == loc),
                "one location per instruction, {}",
                ctx()
            );
            instrs.push((loc, size));
            at += size as usize;
        }
        assert_eq!(at, units);
        assert_eq!(encode_locations(first, &instrs), lt, "per-instruction encoding, {}", ctx());

        // Exception table round trip, and sanity of what we decoded.
        let ex = decode_exception_table(&et).unwrap_or_else(|e| panic!("{e}: {}", ctx()));
        assert_eq!(encode_exception_table(&ex), et, "exception table round trip, {}", ctx());
        for w in ex.windows(2) {
            assert!(w[0].end <= w[1].start, "sorted, disjoint entries: {ex:?}");
        }
        for e in &ex {
            assert!(e.start < e.end && e.end as usize <= units && (e.target as usize) < units, "{e:?} in {}", ctx());
        }
        n += 1;
    }
    n
}

#[test]
fn tables_round_trip_cpython_snippets() {
    let Some(python) = python311() else { return };
    let snippets = snippets();
    let mut args = vec!["snippets"];
    args.extend(snippets.iter().map(String::as_str));
    let n = check_tables(&py(&python, TABLES_SCRIPT, &args));
    assert!(n >= snippets.len(), "only {n} code objects checked");
}

#[test]
fn tables_round_trip_cpython_stdlib_sample() {
    let Some(python) = python311() else { return };
    let copies = tempfile::tempdir().unwrap();
    let files = stdlib_sample(&python, copies.path());
    let mut args = vec!["files"];
    args.extend(files.iter().map(String::as_str));
    let n = check_tables(&py(&python, TABLES_SCRIPT, &args));
    eprintln!("checked location/exception tables of {n} code objects from {} stdlib files", files.len());
    assert!(n > 1000);
}

// ---------------------------------------------------------------------------------------
// CPython's own dumps turned into our CodeObject (the reader has its own tests against
// CPython in tests/marshal_reader.rs).

fn read_marshalled_code(b: &[u8]) -> CodeObject {
    pyasm::load::load_code(b).expect("CPython's marshal output loads")
}

// ---------------------------------------------------------------------------------------
// (b) Marshal: constants of every type load back as equal, type-exact objects

/// Strict comparison in Python: same types all the way down, floats by bit pattern,
/// frozensets as sets, code objects field by field. (Code objects' own `==` is no use: it
/// compares NaN constants by identity, so even CPython's own dumps of such code reload unequal.)
const STRICT_KEY: &str = r#"
import marshal, struct
CODE_ATTRS = ['co_argcount', 'co_posonlyargcount', 'co_kwonlyargcount', 'co_stacksize',
              'co_flags', 'co_code', 'co_consts', 'co_names', 'co_varnames', 'co_cellvars',
              'co_freevars', 'co_filename', 'co_name', 'co_qualname', 'co_firstlineno',
              'co_linetable', 'co_exceptiontable', 'co_nlocals']
def key(x):
    t = type(x)
    if t is float:
        return ('float', struct.pack('<d', x))
    if t is complex:
        return ('complex', struct.pack('<dd', x.real, x.imag))
    if t is tuple:
        return ('tuple', tuple(key(i) for i in x))
    if t is frozenset:
        return ('frozenset', frozenset(key(i) for i in x))
    if t is type(key.__code__):
        return ('code', tuple(key(getattr(x, a)) for a in CODE_ATTRS))
    return (t.__name__, x)
"#;

#[test]
fn marshal_constants_load_in_cpython() {
    let Some(python) = python311() else { return };
    let int = |v: i64| Constant::Int(BigInt::from(v));
    let big = |s: &str| Constant::Int(s.parse::<BigInt>().unwrap());
    let s = |t: &str| Constant::Str(PyStr::from(t));
    let cps = |c: &[u32]| Constant::Str(PyStr::from_code_points(c));
    let f = Constant::Float;
    let mut cases: Vec<(String, Constant)> = vec![
        ("None".into(), Constant::None),
        ("True".into(), Constant::True),
        ("False".into(), Constant::False),
        ("...".into(), Constant::Ellipsis),
        ("StopIteration".into(), Constant::StopIteration),
    ];
    for v in [
        0i64,
        1,
        -1,
        -5,
        -6,
        256,
        257,
        100000,
        (1 << 31) - 1,
        1 << 31,
        -(1 << 31),
        -(1 << 31) - 1,
        1 << 62,
        -(1 << 62),
        1 << 15,
        1 << 30,
        (1 << 45) - 1,
        i64::MIN,
        i64::MAX,
    ] {
        cases.push((v.to_string(), int(v)));
    }
    for t in [
        "10000000000000000000000000000000000000000000000000",
        "-1267650600228229401496703205369",
        "340282366920938463463374607431768211456",
    ] {
        cases.push((t.into(), big(t)));
    }
    for (e, v) in [
        ("0.0", 0.0),
        ("-0.0", -0.0),
        ("1.5", 1.5),
        ("float('inf')", f64::INFINITY),
        ("float('-inf')", f64::NEG_INFINITY),
        ("float('nan')", f64::NAN),
        ("1e-310", 1e-310),
        ("1.7976931348623157e308", f64::MAX),
    ] {
        cases.push((e.into(), f(v)));
    }
    cases.push(("1j".into(), Constant::Complex { re: 0.0, im: 1.0 }));
    cases.push(("complex(-0.0, 2.5)".into(), Constant::Complex { re: -0.0, im: 2.5 }));
    cases.push(("complex(float('inf'), float('nan'))".into(), Constant::Complex { re: f64::INFINITY, im: f64::NAN }));
    for (e, v) in [
        ("''", s("")),
        ("'a'", s("a")),
        ("'abc'", s("abc")),
        ("'hello world'", s("hello world")),
        ("'\\xe9'", s("é")),
        ("'\\u20acuro'", s("€uro")),
        ("'caf\\xe9'", s("café")),
        ("'\\U0001f600'", s("\u{1F600}")),
        ("'\\udc80'", cps(&[0xDC80])),
        ("'a\\ud800b\\udfff'", cps(&[0x61, 0xD800, 0x62, 0xDFFF])),
        ("'x' * 300", s(&"x".repeat(300))),
        ("'x y' * 100", s(&"x y".repeat(100))),
        ("'\\xe9' * 300", s(&"é".repeat(300))),
        ("b''", Constant::Bytes(vec![])),
        ("b'x'", Constant::Bytes(b"x".to_vec())),
        ("b'\\x00\\xff' * 200", Constant::Bytes(b"\x00\xff".repeat(200))),
    ] {
        cases.push((e.into(), v));
    }
    cases.push(("()".into(), Constant::Tuple(vec![])));
    cases.push(("(1,)".into(), Constant::Tuple(vec![int(1)])));
    cases.push((
        "((1, 'a'), (2.5, (b'x', None, ('a', 'a b', 'a b'))), 'a b')".into(),
        Constant::Tuple(vec![
            Constant::Tuple(vec![int(1), s("a")]),
            Constant::Tuple(vec![
                f(2.5),
                Constant::Tuple(vec![
                    Constant::Bytes(b"x".to_vec()),
                    Constant::None,
                    Constant::Tuple(vec![s("a"), s("a b"), s("a b")]),
                ]),
            ]),
            s("a b"),
        ]),
    ));
    cases.push(("tuple(range(300))".into(), Constant::Tuple((0..300).map(int).collect())));
    cases.push((
        "tuple('s%d t' % (i % 7) for i in range(300))".into(),
        Constant::Tuple((0..300).map(|i| s(&format!("s{} t", i % 7))).collect()),
    ));
    cases.push((
        "(1, 1.0, True, 1j, -0.0, 0.0, 0)".into(),
        Constant::Tuple(vec![
            int(1),
            f(1.0),
            Constant::True,
            Constant::Complex { re: 0.0, im: 1.0 },
            f(-0.0),
            f(0.0),
            int(0),
        ]),
    ));
    cases.push(("frozenset()".into(), Constant::FrozenSet(vec![])));
    cases.push(("frozenset({1, 'a', 2.5, 'b c'})".into(), Constant::FrozenSet(vec![s("b c"), f(2.5), int(1), s("a")])));
    cases.push((
        "frozenset({(1, 2), frozenset({3}), 1 << 70})".into(),
        Constant::FrozenSet(vec![
            Constant::FrozenSet(vec![int(3)]),
            big("1180591620717411303424"),
            Constant::Tuple(vec![int(1), int(2)]),
        ]),
    ));
    cases.push((
        "(frozenset({'a b'}), 'a b', ('a b',))".into(),
        Constant::Tuple(vec![Constant::FrozenSet(vec![s("a b")]), s("a b"), Constant::Tuple(vec![s("a b")])]),
    ));

    let script = format!(
        "{STRICT_KEY}\nimport sys\nargs = sys.argv[1:]\nfor expr, h in zip(args[::2], args[1::2]):\n    got = marshal.loads(bytes.fromhex(h))\n    want = eval(expr)\n    print('ok' if key(got) == key(want) else 'MISMATCH %s: got %r' % (expr, got))\n"
    );
    let hexes: Vec<String> = cases.iter().map(|(_, c)| to_hex(&dump_constant(c))).collect();
    let mut args: Vec<&str> = Vec::new();
    for ((e, _), h) in cases.iter().zip(&hexes) {
        args.push(e);
        args.push(h);
    }
    let out = py(&python, &script, &args);
    let bad: Vec<&str> = out.lines().filter(|l| *l != "ok").collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(out.lines().count(), cases.len());
}

// ---------------------------------------------------------------------------------------
// Marshal of whole modules: loads back equal (mandatory), byte-identical (measured)

const DUMP_SCRIPT: &str = r#"
import sys, marshal
mode = sys.argv[1]
for arg in sys.argv[2:]:
    if mode == 'files':
        src, name = open(arg, 'rb').read(), arg
    else:
        src, name = arg, '<snippet>'
    co = compile(src, name, 'exec', dont_inherit=True)
    print(marshal.dumps(co).hex())
"#;

/// Compiles each source in CPython, rebuilds the code objects in Rust from CPython's own
/// marshal output, dumps them with our writer, and checks in CPython that our bytes load to
/// code equal (strictly, recursively) to a fresh compile. Returns (identical, total) and the
/// names of the sources that differ with the first differing offset.
fn marshal_against_cpython(python: &Interpreter, mode: &str, sources: &[String]) -> (usize, usize, Vec<String>) {
    let mut args = vec![mode];
    args.extend(sources.iter().map(String::as_str));
    let out = py(python, DUMP_SCRIPT, &args);
    let theirs: Vec<Vec<u8>> = out.lines().map(from_hex).collect();
    assert_eq!(theirs.len(), sources.len());

    let dir = tempfile::tempdir().unwrap();
    let mut identical = 0;
    let mut differing = Vec::new();
    let mut files = Vec::new();
    for (i, (src, cpython)) in sources.iter().zip(&theirs).enumerate() {
        let code = read_marshalled_code(cpython);
        let ours = dump_code(&code);
        if &ours == cpython {
            identical += 1;
        } else {
            let at = ours.iter().zip(cpython).position(|(a, b)| a != b).unwrap_or(ours.len().min(cpython.len()));
            let label = if mode == "files" { src.clone() } else { format!("snippet #{i}") };
            differing.push(format!("{label}: first difference at byte {at} of {}", cpython.len()));
            // For analysis: PYASM_MARSHAL_DIFF_DIR=/some/dir keeps both outputs of each difference.
            if let Some(keep) = std::env::var_os("PYASM_MARSHAL_DIFF_DIR") {
                let stem = label.replace(['/', ' ', '#'], "_");
                std::fs::write(Path::new(&keep).join(format!("{stem}.ours")), &ours).unwrap();
                std::fs::write(Path::new(&keep).join(format!("{stem}.cpython")), cpython).unwrap();
            }
        }
        let path = dir.path().join(format!("{i}.marshal"));
        std::fs::write(&path, &ours).unwrap();
        files.push(path.to_string_lossy().into_owned());
    }

    // Every one of our dumps must load and equal a fresh compile.
    let check = format!(
        "{STRICT_KEY}\nimport sys\nmode = sys.argv[1]\nn = (len(sys.argv) - 2) // 2\nfor src, path in zip(sys.argv[2:2 + n], sys.argv[2 + n:]):\n    if mode == 'files':\n        text, name = open(src, 'rb').read(), src\n    else:\n        text, name = src, '<snippet>'\n    want = compile(text, name, 'exec', dont_inherit=True)\n    got = marshal.loads(open(path, 'rb').read())\n    print('ok' if key(got) == key(want) else 'MISMATCH ' + name[-60:])\n"
    );
    let mut args = vec![mode];
    args.extend(sources.iter().map(String::as_str));
    args.extend(files.iter().map(String::as_str));
    let out = py(python, &check, &args);
    let bad: Vec<&str> = out.lines().filter(|l| *l != "ok").collect();
    assert!(bad.is_empty(), "our marshal output does not load back equal:\n{}", bad.join("\n"));
    assert_eq!(out.lines().count(), sources.len());
    (identical, sources.len(), differing)
}

#[test]
fn marshal_modules_load_equal_and_match_bytes() {
    let Some(python) = python311() else { return };
    let (same, total, diff) = marshal_against_cpython(&python, "snippets", &snippets());
    eprintln!("snippets: {same}/{total} byte-identical to CPython 3.11");
    for d in &diff {
        eprintln!("  {d}");
    }
    // Small, ordinary modules must come out byte for byte as CPython writes them.
    assert_eq!(same, total, "snippets differ from CPython's marshal output: {diff:?}");

    let copies = tempfile::tempdir().unwrap();
    let files = stdlib_sample(&python, copies.path());
    let (same, total, diff) = marshal_against_cpython(&python, "files", &files);
    eprintln!("stdlib sample: {same}/{total} byte-identical to CPython 3.11");
    for d in &diff {
        eprintln!("  {d}");
    }
    // Byte identity is best effort (it models CPython's object identities by value), but on
    // 3.11.7 the whole stdlib comes out identical; catch regressions without insisting on 100%.
    assert!(same * 10 >= total * 9, "only {same}/{total} stdlib modules byte-identical: {diff:?}");
}

/// The whole standard library (a few minutes): `cargo test --test encoders -- --ignored`.
#[test]
#[ignore]
fn marshal_byte_identity_whole_stdlib() {
    let Some(python) = python311() else { return };
    // Lists and reads the stdlib as host files.
    assert!(!python.is_pyodide(), "this test needs a native CPython 3.11 (set PYASM_PYTHON_3_11)");
    let list = py(
        &python,
        "import sys, pathlib, sysconfig\nroot = pathlib.Path(sysconfig.get_paths()['stdlib'])\nfor p in sorted(root.rglob('*.py')):\n    if 'site-packages' in p.parts: continue\n    try:\n        compile(p.read_bytes(), str(p), 'exec', dont_inherit=True)\n    except Exception:\n        continue\n    print(p)\n",
        &[],
    );
    let files: Vec<String> = list.lines().map(String::from).collect();
    let (mut same, mut total) = (0, 0);
    let mut diff = Vec::new();
    for chunk in files.chunks(100) {
        let (s, t, d) = marshal_against_cpython(&python, "files", chunk);
        same += s;
        total += t;
        diff.extend(d);
    }
    eprintln!("whole stdlib: {same}/{total} byte-identical to CPython 3.11");
    for d in &diff {
        eprintln!("  {d}");
    }
}

/// The pycs installed with the interpreter (written by compileall in another process, so with
/// another interpreter state): re-marshal each `*.cpython-311[.opt-N].pyc` and compare bytes.
/// `cargo test --test encoders -- --ignored`.
#[test]
#[ignore]
fn marshal_byte_identity_installed_pycs() {
    let Some(python) = python311() else { return };
    // Reads the interpreter's installed files directly from the host.
    assert!(!python.is_pyodide(), "this test needs a native CPython 3.11 (set PYASM_PYTHON_3_11)");
    let root = stdlib_dir(&python);
    let mut stack = vec![root];
    let mut pycs = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with("site-packages") {
                    stack.push(p);
                }
            } else if p.to_string_lossy().contains(".cpython-311.") && p.to_string_lossy().ends_with(".pyc") {
                pycs.push(p);
            }
        }
    }
    pycs.sort();
    let (mut same, mut differ) = (0, Vec::new());
    for p in &pycs {
        let bytes = std::fs::read(p).unwrap();
        let (_, _, start) = read_pyc_header(&bytes).unwrap();
        let body = &bytes[start..];
        if dump_code(&read_marshalled_code(body)) == body {
            same += 1;
        } else {
            differ.push(p.display().to_string());
        }
    }
    eprintln!("installed pycs: {same}/{} byte-identical", pycs.len());
    for d in &differ {
        eprintln!("  {d}");
    }
    assert!(!pycs.is_empty());
}

// ---------------------------------------------------------------------------------------
// (c) Source hashes

#[test]
fn source_hash_matches_importlib() {
    let Some(python) = python311() else { return };
    let inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"hello".to_vec(),
        b"print(42)\n".to_vec(),
        b"\xff\xfe\x00 not utf-8 \x80".to_vec(),
        (0..5000u32).map(|i| (i * 7 + 3) as u8).collect(),
    ];
    let hexes: Vec<String> = inputs.iter().map(|b| if b.is_empty() { "-".into() } else { to_hex(b) }).collect();
    let args: Vec<&str> = hexes.iter().map(String::as_str).collect();
    let out = py(
        &python,
        "import sys, importlib.util\nprint(int.from_bytes(importlib.util.MAGIC_NUMBER[:2], 'little'))\nfor h in sys.argv[1:]:\n    print(importlib.util.source_hash(b'' if h == '-' else bytes.fromhex(h)).hex())\n",
        &args,
    );
    let mut lines = out.lines();
    let magic: u16 = lines.next().unwrap().parse().unwrap();
    for (input, want) in inputs.iter().zip(lines) {
        assert_eq!(to_hex(&source_hash(magic, input)), want, "source_hash of {} bytes", input.len());
    }
}

// ---------------------------------------------------------------------------------------
// (d) A complete pyc runs and imports

#[test]
fn written_pyc_runs_and_imports() {
    let Some(python) = python311() else { return };
    let out = py(
        &python,
        "import marshal, importlib.util\nprint(int.from_bytes(importlib.util.MAGIC_NUMBER[:2], 'little'))\nco = compile('print(42)\\n', 'm42.py', 'exec')\nprint(marshal.dumps(co).hex())\n",
        &[],
    );
    let mut lines = out.lines();
    let magic: u16 = lines.next().unwrap().parse().unwrap();
    let cpython = from_hex(lines.next().unwrap());
    let code = read_marshalled_code(&cpython);
    let marshalled = dump_code(&code);
    assert_eq!(marshalled, cpython, "print(42) should marshal byte-identically");

    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        // From the temporary folder: pyodide sees the host's files only below the current
        // folder and the folders of path arguments, and the imports below find them by sys.path.
        let o = python.command().arg("-B").args(args).current_dir(dir.path()).output().expect("failed to start python");
        assert!(o.status.success(), "python failed: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };

    // 1. Run the pyc as a script (timestamp header).
    let script = dir.path().join("m42.pyc");
    let pyc = write_pyc(magic, &PycHeader::Timestamp { mtime: 0, source_size: 10 }, &marshalled);
    assert_eq!(read_pyc_header(&pyc).unwrap(), (magic, PycHeader::Timestamp { mtime: 0, source_size: 10 }, 16));
    std::fs::write(&script, &pyc).unwrap();
    assert_eq!(run(&[script.to_str().unwrap()]), "42");

    // 2. Import it as a sourceless module (unchecked hash header).
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    let unchecked = PycHeader::Hash { checked: false, hash: source_hash(magic, b"whatever") };
    std::fs::write(lib.join("m42.pyc"), write_pyc(magic, &unchecked, &marshalled)).unwrap();
    let import = format!("import sys; sys.path.insert(0, {:?}); import m42", lib.to_str().unwrap());
    assert_eq!(run(&["-c", &import]), "42");

    // 3. A checked hash-based cache beside a source that says something else: the importer
    //    uses our pyc only if our hash of the source is the one it computes.
    let pkg = dir.path().join("src");
    std::fs::create_dir_all(pkg.join("__pycache__")).unwrap();
    let source = b"print('from source')\n";
    std::fs::write(pkg.join("mh.py"), source).unwrap();
    let cache = pkg.join("__pycache__").join("mh.cpython-311.pyc");
    let import = format!("import sys; sys.path.insert(0, {:?}); import mh", pkg.to_str().unwrap());
    let checked = PycHeader::Hash { checked: true, hash: source_hash(magic, source) };
    std::fs::write(&cache, write_pyc(magic, &checked, &marshalled)).unwrap();
    assert_eq!(run(&["-c", &import]), "42", "importer rejected our checked hash");
    let wrong = PycHeader::Hash { checked: true, hash: source_hash(magic, b"print('other')\n") };
    std::fs::write(&cache, write_pyc(magic, &wrong, &marshalled)).unwrap();
    assert_eq!(run(&["-c", &import]), "from source", "a wrong hash must make the importer recompile");
}
