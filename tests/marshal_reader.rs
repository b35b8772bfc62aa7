//! The marshal reader (`pyasm::load`): exactness against CPython 3.11 and hardening.
//!
//! (a) Against the native 3.11: a few hundred stdlib modules (plus a module of tricky
//!     constants) are compiled by 3.11's `py_compile`; CPython and pyasm each print a
//!     canonical dump of every code object tree and the two must be identical. A list of
//!     hand-made marshal strings is also loaded by both, which must agree on accept/reject
//!     and on the value. Without a 3.11 interpreter these print a skip notice, or fail when
//!     `CI` is set.
//! (b) Hostile input, always run: truncation at every offset and random byte flips of a real
//!     pyc (embedded below), deep nesting, reference bombs, absurd sizes, bad references,
//!     malformed code objects, bad headers. Each must give a `LoadError` with the right
//!     offset, quickly, without panicking.

mod support;

use support::Interpreter;
use std::time::{Duration, Instant};

use num_bigint::BigInt;
use pyasm::emit::pyc::PycHeader;
use pyasm::load::{self, LoadError, MAX_DEPTH, load_code, load_code_with_refs, load_constant, load_pyc};
use pyasm::object::{CodeObject, Constant, PyStr};

// ---------------------------------------------------------------------------------------------
// The fixture: a real pyc, compiled by CPython 3.11.7 with
// `py_compile.compile('fixture.py', dfile='fixture.py', invalidation_mode=UNCHECKED_HASH)`
// from this source:
//
//     """Fixture module."""
//     import os
//     X = (1, -2**40, 2.5, -0.0, 3j, 'é', '\udc80', b'\x00\xff', None, ..., 2**31)
//     def f(a, b=1, *args, k, **kw):
//         y = a
//         def g():
//             return y + a
//         try:
//             return g() if a in {1, 2, 3} else kw
//         except ValueError as e:
//             raise
//     class C:
//         def m(self):
//             return __class__
//     L = lambda n: [i * i for i in range(n)]
// ---------------------------------------------------------------------------------------------

const FIXTURE_HEX: &[&str] = &[
    "a70d0d0a010000000ef8a5147c10be20e30000000000000000000000000400000000000000f33e000000970064005a00",
    "640164026c015a0164035a026409640584015a0302004700640684006407a6020000ab0200000000000000005a046408",
    "84005a0564025300290a7a0f46697874757265206d6f64756c652ee9000000004e290be9010000006cfdffffff000000",
    "0000046700000000000004406700000000000000807900000000000000000000000000000840f502000000c3a9750300",
    "0000edb280730200000000ff4e2e6c03000000000000000200720300000063020000000000000001000000040000000f",
    "000000f35e00000087008707970089008a07880088076602640184087d050900890064027600720a02007c05a6000000",
    "ab0000000000000000006e017c0453002300740000000000000000000000240072067d06820064007d067e0677017700",
    "78035900770129034e630000000000000000000000000200000013000000f30e00000095029700890189007a00000053",
    "00a9014ea9002902da0161da017973020000008080fa0a666978747572652e7079da01677a0c662e3c6c6f63616c733e",
    "2e6706000000730c000000f88000d80f1090318975880cf3000000003e030000007203000000e902000000e903000000",
    "2901da0a56616c75654572726f7229087209000000da0162da016bda0461726773da026b77720c000000da0165720a00",
    "000073080000006020202020202040720b000000da01667216000000040000007366000000f8f88000d808098041f002",
    "010515f000010515f000010515f000010515f000010515f000010515f00403050ed816179839906e906e887188718973",
    "8c738873a822d0082cf8dd0b15f00001050ef00001050ef00001050ed8080df8f8f8f8f00301050ef8f8f87310000000",
    "8c0f1c009c0a2c03a6012703a7052c03630000000000000000000000000200000000000000f31e000000870097006500",
    "5a0164005a0288006601640184085a03880078015a0453002902da014363010000000000000000000000010000000300",
    "0000f3080000009501970089015300720700000072080000002902da0473656c66da095f5f636c6173735f5f73020000",
    "002080720b000000da016d7a03432e6d0d0000007309000000f88000d80f18d00818720d0000002905da085f5f6e616d",
    "655f5fda0a5f5f6d6f64756c655f5fda0c5f5f7175616c6e616d655f5f721c000000da0d5f5f636c61737363656c6c5f",
    "5f2901721b000000730100000040720b000000721800000072180000000c0000007338000000f8800080008000800080",
    "00f002010519f000010519f000010519f000010519f000010519f000010519f000010519f000010519f000010519720d",
    "0000007218000000630100000000000000000000000400000003000000f3340000009700640184007401000000000000",
    "000000007c00a6010000ab0100000000000000004400a6000000ab000000000000000000530029024e63010000000000",
    "0000000000000400000013000000f318000000970067007c005d077d017c017c017a05000091028c0853007208000000",
    "72080000002902da022e30da016973020000002020720b000000fa0a3c6c697374636f6d703e7a1c3c6c616d6264613e",
    "2e3c6c6f63616c733e2e3c6c697374636f6d703e0f000000731c0000008000d00e27d00e27d00e279811887190318975",
    "d00e27d00e27d00e27720d0000002901da0572616e67652901da016e730100000020720b000000fa083c6c616d626461",
    "3e72280000000f000000731b0000008000d00e27d00e279d65a04199689c68d00e27d10e27d40e278000720d00000029",
    "0172030000002906da075f5f646f635f5fda026f73da015872160000007218000000da014c7208000000720d00000072",
    "0b000000fa083c6d6f64756c653e722d000000010000007363000000f003010101d80015d00015d80009800980098009",
    "d8044d8001f00207010ef00007010ef00007010ef00007010ef010020119f000020119f000020119f000020119f00002",
    "0119f100020119f400020119f000020119f006000528d00427800180018001720d000000",
];

fn fixture() -> Vec<u8> {
    unhex(&FIXTURE_HEX.concat())
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * b.len());
    for &x in b {
        out.push(DIGITS[(x >> 4) as usize] as char);
        out.push(DIGITS[(x & 15) as usize] as char);
    }
    out
}

/// The native 3.11, or `None` after printing why the test is skipped (an error under CI).
fn python_3_11(test: &str) -> Option<Interpreter> {
    support::python_for_test("3.11", test)
}

// ---------------------------------------------------------------------------------------------
// The canonical dump. The Python twin is DUMP_PY below; both must print the same text.
//
//     code#N <name>                      one block per code object, breadth-first from the top
//     counts argc posonly kwonly stacksize flags
//     co_code <hex>
//     consts <c> <c> ...                 None True False Ellipsis StopIteration i<decimal>
//                                        f<hex of 8 LE bytes> c<re>:<im> s'<escaped>' b<hex>
//                                        (a,b) {sorted,elements} code#N
//     names <escaped> ...
//     localsplus <escaped>:<kind hex> ...
//     filename / name / qualname <escaped>
//     firstlineno N
//     linetable <hex>
//     exceptiontable <hex>
//
// Escaping: code points '!'..'~' other than \ and ' stand for themselves, everything else is
// \x{hex}.
// ---------------------------------------------------------------------------------------------

fn esc(s: &PyStr) -> String {
    let mut out = String::new();
    for cp in s.code_points() {
        match char::from_u32(cp) {
            Some(c) if ('!'..='~').contains(&c) && c != '\\' && c != '\'' => out.push(c),
            _ => out.push_str(&format!("\\x{{{cp:x}}}")),
        }
    }
    out
}

fn render<'a>(c: &'a Constant, codes: &mut Vec<&'a CodeObject>) -> String {
    let fl = |x: &f64| hex(&x.to_le_bytes());
    match c {
        Constant::None => "None".into(),
        Constant::True => "True".into(),
        Constant::False => "False".into(),
        Constant::Ellipsis => "Ellipsis".into(),
        Constant::StopIteration => "StopIteration".into(),
        Constant::Int(i) => format!("i{i}"),
        Constant::Float(x) => format!("f{}", fl(x)),
        Constant::Complex { re, im } => format!("c{}:{}", fl(re), fl(im)),
        Constant::Str(s) => format!("s'{}'", esc(s)),
        Constant::Bytes(b) => format!("b{}", hex(b)),
        Constant::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(|x| render(x, codes)).collect();
            format!("({})", parts.join(","))
        }
        Constant::FrozenSet(items) => {
            let mut parts: Vec<String> = items.iter().map(|x| render(x, codes)).collect();
            parts.sort();
            format!("{{{}}}", parts.join(","))
        }
        Constant::Slice(items) => {
            let parts: Vec<String> = items.iter().map(|x| render(x, codes)).collect();
            format!("slice({})", parts.join(","))
        }
        Constant::Code(co) => {
            codes.push(co);
            format!("code#{}", codes.len() - 1)
        }
    }
}

fn dump(top: &CodeObject) -> String {
    let mut codes: Vec<&CodeObject> = vec![top];
    let mut out = String::new();
    let mut i = 0;
    while i < codes.len() {
        let co = codes[i];
        let consts: Vec<String> = co.consts.iter().map(|c| render(c, &mut codes)).collect();
        let names: Vec<String> = co.names.iter().map(esc).collect();
        let lp: Vec<String> = co.localsplus.iter().map(|s| format!("{}:{:02x}", esc(&s.name), s.kind)).collect();
        out += &format!("code#{i} {}\n", esc(&co.name));
        out += &format!(
            "counts {} {} {} {} {}\n",
            co.argcount, co.posonlyargcount, co.kwonlyargcount, co.stacksize, co.flags
        );
        out += &format!("co_code {}\n", hex(&co.code));
        out += &format!("consts {}\n", consts.join(" "));
        out += &format!("names {}\n", names.join(" "));
        out += &format!("localsplus {}\n", lp.join(" "));
        out += &format!("filename {}\n", esc(&co.filename));
        out += &format!("name {}\n", esc(&co.name));
        out += &format!("qualname {}\n", esc(&co.qualname));
        out += &format!("firstlineno {}\n", co.firstlineno);
        out += &format!("linetable {}\n", hex(&co.linetable));
        out += &format!("exceptiontable {}\n", hex(&co.exceptiontable));
        i += 1;
    }
    out
}

const DUMP_PY: &str = r#"
import struct, types

def esc(s):
    return ''.join(c if '!' <= c <= '~' and c not in "\\'" else '\\x{%x}' % ord(c) for c in s)

def fl(x):
    return struct.pack('<d', x).hex()

def render(c, codes):
    t = type(c)
    if c is None: return 'None'
    if c is ...: return 'Ellipsis'
    if c is StopIteration: return 'StopIteration'
    if t is bool: return str(c)
    if t is int: return 'i%d' % c
    if t is float: return 'f' + fl(c)
    if t is complex: return 'c%s:%s' % (fl(c.real), fl(c.imag))
    if t is str: return "s'%s'" % esc(c)
    if t is bytes: return 'b' + c.hex()
    if t is tuple: return '(' + ','.join(render(x, codes) for x in c) + ')'
    if t is frozenset: return '{' + ','.join(sorted(render(x, codes) for x in c)) + '}'
    if t is types.CodeType:
        codes.append(c)
        return 'code#%d' % (len(codes) - 1)
    raise TypeError('unexpected constant type %r' % t)

def localsplus(co):
    out, i = [], 0
    while True:
        try:
            n = co._varname_from_oparg(i)
        except IndexError:
            return out
        k = ((0x20 if n in co.co_varnames else 0) | (0x40 if n in co.co_cellvars else 0)
             | (0x80 if n in co.co_freevars else 0))
        out.append('%s:%02x' % (esc(n), k))
        i += 1

def dump(top):
    codes, lines, i = [top], [], 0
    while i < len(codes):
        co = codes[i]
        consts = [render(c, codes) for c in co.co_consts]
        lines.append('code#%d %s' % (i, esc(co.co_name)))
        lines.append('counts %d %d %d %d %d' % (co.co_argcount, co.co_posonlyargcount,
                     co.co_kwonlyargcount, co.co_stacksize, co.co_flags))
        lines.append('co_code ' + co.co_code.hex())
        lines.append('consts ' + ' '.join(consts))
        lines.append('names ' + ' '.join(esc(n) for n in co.co_names))
        lines.append('localsplus ' + ' '.join(localsplus(co)))
        lines.append('filename ' + esc(co.co_filename))
        lines.append('name ' + esc(co.co_name))
        lines.append('qualname ' + esc(co.co_qualname))
        lines.append('firstlineno %d' % co.co_firstlineno)
        lines.append('linetable ' + co.co_linetable.hex())
        lines.append('exceptiontable ' + co.co_exceptiontable.hex())
        i += 1
    return '\n'.join(lines) + '\n'
"#;

/// Compiles a deterministic selection of about 300 stdlib modules (plus the extra sources
/// given) into the output directory, one `NNNN.pyc` and `NNNN.pyc.dump` each, cycling through
/// the three invalidation modes. Prints `path<TAB>mode<TAB>source` per compiled file.
const COMPILE_PY: &str = r#"
import marshal, os, py_compile, sys
tools, out, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
# The stdlib's sources, from a folder or (pyodide) a zip.
sys.path.insert(0, tools)
from compile_stdlib import find_stdlib
stdlib = find_stdlib()
files = sorted(stdlib.files())
chosen = files[::max(1, len(files) // 300)][:300]
have = set(files)
for rel in ['encodings/cp1252.py', 'encodings/mac_arabic.py', '_pydecimal.py', 'typing.py',
            'test/test_codecs.py', 'test/test_unicode.py', 'test/test_float.py',
            'test/test_complex.py', 'test/test_long.py', 'test/test_grammar.py']:
    if rel in have and rel not in chosen:
        chosen.append(rel)
# py_compile reads a file: each source is copied out first (under pyodide the stdlib is not
# a folder of files), and keeps its stdlib-relative name as the pyc's co_filename.
copies = os.path.join(out, 'src')
os.makedirs(copies)
jobs = []
for i, rel in enumerate(chosen):
    copy = os.path.join(copies, '%04d.py' % i)
    with open(copy, 'wb') as f:
        f.write(stdlib.read(rel))
    jobs.append((copy, rel))
jobs += [(p, os.path.basename(p)) for p in extra]
modes = list(py_compile.PycInvalidationMode)
for i, (src, rel) in enumerate(jobs):
    cfile = os.path.join(out, '%04d.pyc' % i)
    mode = modes[i % len(modes)]
    try:
        py_compile.compile(src, cfile=cfile, dfile=rel, doraise=True, invalidation_mode=mode)
    except Exception:
        continue
    with open(cfile, 'rb') as f:
        data = f.read()
    with open(cfile + '.dump', 'w', encoding='ascii') as f:
        f.write(dump(marshal.loads(data[16:])))
    print(cfile, mode.name, rel, sep='\t')
"#;

/// Constants of every kind the 3.11 compiler emits, and scopes of every kind.
const TRICKY_PY: &str = r#"
INTS = (0, 1, -1, 255, 256, -5, -6, 2**15, 2**30 - 1, 2**30, 2**31 - 1, -2**31, 2**31, -2**31 - 1,
        2**45, 2**60 + 12345, -2**100 - 1, 10**50, -(10**80), 2**1000)
FLOATS = (0.0, -0.0, 1.5, -2.25, 1e308, 5e-324, 1e999, -1e999, 1e999 - 1e999, 0.1)
COMPLEX = (1j, -2.5j, 1 + 2j, 1e999j, -0.0j, -(1e999 - 1e999) * 1j)
STRS = ('', 'a', ' ', 'abc def', 'x' * 300, 'x y' * 100, '\xe9', '\xe9' * 300, '\u20ac', '\U0001f600',
        '\udc80', '\ud800\udc00', '\udfff\ud800', 'a\x00b', '\x7f', '\xff', "quote'\\back", '*')
BYTES = (b'', b'\x00', b'\xff', b'\x00\x01\x02\xfe\xff', b'y' * 300)
NESTED = ((1, (2, (3, (4, ())))), ((),), (None, True, False, ...), ('a', 'a'), (('x y',), ('x y',)))

def sets(x):
    return x in {1, 2.5, 'a', b'b', (1, 2), None, -0.0, 3j} or x in {'only one'} or x not in {()}

def args(a, /, b, *c, d, e=1, **f):
    def inner():
        nonlocal a
        a = b
        return d
    return inner

async def coro(x):
    async with x as y:
        async for z in y:
            await z

def gen():
    try:
        yield from range(3)
    finally:
        pass

class K:
    def method(self):
        return __class__, super().method()

def matcher(v):
    match v:
        case [1, 2, *rest]:
            return rest
        case {'k': k}:
            return k
        case _:
            return None

comp = [lambda q=i: q for i in range(3)]
"#;

fn python_output(python: &Interpreter, script: &str, args: &[&str]) -> String {
    let out = support::run_python(python, script, args);
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python printed UTF-8")
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            let cut = |s: &str| s.chars().take(300).collect::<String>();
            return format!("line {}:\n  cpython: {}\n  pyasm:   {}", i + 1, cut(x), cut(y));
        }
    }
    format!("line counts differ: cpython {} lines, pyasm {}", a.lines().count(), b.lines().count())
}

/// Nodes and str/bytes/int payload of a constant tree (real pycs are shallow: recursion is fine).
fn tree_cost(c: &Constant) -> (u64, u64) {
    match c {
        Constant::Str(s) => (1, s.as_wtf8().len() as u64),
        Constant::Bytes(b) => (1, b.len() as u64),
        Constant::Int(i) => (1, i.bits() / 8),
        Constant::Tuple(items) | Constant::FrozenSet(items) => {
            items.iter().map(tree_cost).fold((1, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        }
        Constant::Code(co) => {
            let mut n = (11 + co.names.len() + co.localsplus.len()) as u64;
            let mut p = (co.code.len() + co.linetable.len() + co.exceptiontable.len() + co.localsplus.len()) as u64;
            p += (co.filename.as_wtf8().len() + co.name.as_wtf8().len() + co.qualname.as_wtf8().len()) as u64;
            p += co
                .names
                .iter()
                .chain(co.localsplus.iter().map(|s| &s.name))
                .map(|s| s.as_wtf8().len() as u64)
                .sum::<u64>();
            for k in &co.consts {
                let (a, b) = tree_cost(k);
                n += a;
                p += b;
            }
            (n, p)
        }
        _ => (1, 0),
    }
}

// ---------------------------------------------------------------------------------------------
// (a) Exactness against CPython 3.11.
// ---------------------------------------------------------------------------------------------

#[test]
fn stdlib_pycs_match_cpython() {
    let Some(python) = python_3_11("stdlib_pycs_match_cpython") else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let tricky = dir.path().join("tricky_constants.py");
    std::fs::write(&tricky, TRICKY_PY).unwrap();
    let script = format!("{DUMP_PY}\n{COMPILE_PY}");
    let tools = support::repo_root().join("tools/roundtrip");
    let args = [tools.to_str().unwrap(), dir.path().to_str().unwrap(), tricky.to_str().unwrap()];
    let listing = python_output(&python, &script, &args);

    let mut checked = 0;
    let mut failures: Vec<String> = Vec::new();
    let (mut worst_nodes, mut worst_payload) = (0f64, 0f64);
    let mut saw_tricky = false;
    for line in listing.lines() {
        let mut parts = line.split('\t');
        let (cfile, mode, source) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        saw_tricky |= source.ends_with("tricky_constants.py");
        let bytes = std::fs::read(cfile).unwrap();
        let want = std::fs::read_to_string(format!("{cfile}.dump")).unwrap();
        let (pyc, stats) = match load::load_pyc_with_refs(&bytes) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{source}: load_pyc failed: {e}"));
                continue;
            }
        };
        checked += 1;
        let header_ok = matches!(
            (mode, pyc.header),
            ("TIMESTAMP", PycHeader::Timestamp { .. })
                | ("CHECKED_HASH", PycHeader::Hash { checked: true, .. })
                | ("UNCHECKED_HASH", PycHeader::Hash { checked: false, .. })
        );
        if !header_ok || pyc.magic != 3495 || pyc.header_len != 16 {
            failures.push(format!("{source}: header {:?} magic {} for mode {mode}", pyc.header, pyc.magic));
        }
        if stats.flagged_count() == 0 || stats.flagged[0] != 16 {
            failures.push(format!("{source}: the top-level code object should be flagged: {:?}", &stats.flagged[..1]));
        }
        let got = dump(&pyc.code);
        if got != want {
            failures.push(format!("{source}: dumps differ at {}", first_difference(&want, &got)));
        }
        // load_code on the marshal part agrees with load_pyc.
        assert_eq!(load_code(&bytes[16..]).as_ref(), Ok(&pyc.code), "{source}");
        let (nodes, payload) = tree_cost(&Constant::Code(Box::new(pyc.code)));
        let len = (bytes.len() - 16) as f64;
        worst_nodes = worst_nodes.max(nodes as f64 / len);
        worst_payload = worst_payload.max(payload as f64 / len);
    }
    eprintln!(
        "checked {checked} pycs; largest expansion: {worst_nodes:.3} nodes and {worst_payload:.3} payload bytes \
         per input byte"
    );
    assert!(failures.is_empty(), "{} of {checked} pycs differ:\n{}", failures.len(), failures.join("\n"));
    assert!(saw_tricky, "the tricky-constants module did not compile:\n{listing}");
    assert!(checked >= 250, "only {checked} stdlib modules compiled");
    // The budgets leave a wide margin over real files.
    assert!(worst_nodes < 2.0 && worst_payload < 4.0);
}

/// Hand-made marshal strings (no trailing bytes: CPython would ignore them) that CPython and
/// pyasm must both accept with the same value, or both reject.
fn crafted_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let mut add = |name: &'static str, b: &[u8]| v.push((name, b.to_vec()));
    for s in [&b"N"[..], b"T", b"F", b".", b"S"] {
        add("singleton", s);
    }
    add("flagged singleton", b"\xce");
    add("flagged singleton takes no slot", b")\x02\xcer\x00\x00\x00\x00");
    add("int", b"i\x01\x00\x00\x00");
    add("int -1", b"i\xff\xff\xff\xff");
    add("int truncated", b"i\x01\x00");
    add("int64", b"I\xff\xff\xff\xff\xff\xff\xff\xff");
    add("int64 2**40", b"I\x00\x00\x00\x00\x00\x01\x00\x00");
    add("long zero digits", b"l\x00\x00\x00\x00");
    add("long 32767", b"l\x01\x00\x00\x00\xff\x7f");
    add("long -2**45", b"l\xfc\xff\xff\xff\x00\x00\x00\x00\x00\x00\x01\x00");
    add("long 3 digits", b"l\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00");
    add("long digit 0x8000", b"l\x01\x00\x00\x00\x00\x80");
    add("long digit 0xffff", b"l\x02\x00\x00\x00\xff\xff\x01\x00");
    add("long unnormalized", b"l\x02\x00\x00\x00\xff\x7f\x00\x00");
    add("long truncated", b"l\x02\x00\x00\x00\xff\x7f");
    add("long huge count", b"l\xff\xff\xff\x7f\x01\x00");
    add("long min count", b"l\x00\x00\x00\x80\x01\x00");
    for f in [
        &b"1.5"[..],
        b"-nan",
        b"nan",
        b"NaN",
        b"+nan",
        b"inf",
        b"-Infinity",
        b"iNf",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b".5",
        b"2.",
        b"-.5e3",
        b"0001.",
        b"1E+5",
        b"4.9e-324",
        b"1.5\x00xyz",
        b"1_0",
        b" 1",
        b"1 ",
        b"",
        b"1e",
        b"0x1",
        b"1.5e+",
        b".",
        b"-",
        b"--1",
        b"+-1",
        b"in",
        b"nanx",
        b"infinit",
        b"\xff",
    ] {
        let mut b = vec![b'f', f.len() as u8];
        b.extend_from_slice(f);
        add("float text", &b);
    }
    add("float text truncated", b"f\x051.5");
    add("complex text", b"x\x031.5\x04-0.0");
    add("complex text bad", b"x\x031.5\x01z");
    add("binary float", b"g\x00\x00\x00\x00\x00\x00\xf8?");
    add("binary float nan payload", b"g\x01\x00\x00\x00\x00\x00\xf8\xff");
    add("binary float truncated", b"g\x00\x00");
    add("binary complex", b"y\x00\x00\x00\x00\x00\x00\xf8?\x00\x00\x00\x00\x00\x00\x00\x80");
    add("bytes", b"s\x03\x00\x00\x00a\x00\xff");
    add("bytes empty", b"s\x00\x00\x00\x00");
    add("bytes negative", b"s\xff\xff\xff\xff");
    add("bytes truncated", b"s\x05\x00\x00\x00ab");
    add("short ascii", b"z\x03abc");
    add("short ascii interned", b"Z\x03abc");
    add("short ascii latin-1", b"z\x02\xe9\xff");
    add("ascii", b"a\x02\x00\x00\x00hi");
    add("ascii interned latin-1", b"A\x02\x00\x00\x00\x80\xa0");
    add("ascii negative", b"a\xfe\xff\xff\xff");
    add("short ascii truncated", b"z\x05ab");
    add("unicode", b"u\x02\x00\x00\x00\xc3\xa9");
    add("unicode empty", b"u\x00\x00\x00\x00");
    add("interned unicode", b"t\x04\x00\x00\x00\xf0\x9f\x98\x80");
    add("lone surrogate", b"u\x03\x00\x00\x00\xed\xb2\x80");
    add("surrogate pair kept apart", b"u\x06\x00\x00\x00\xed\xa0\x80\xed\xb0\x80");
    add("max code point", b"u\x04\x00\x00\x00\xf4\x8f\xbf\xbf");
    for bad in [
        &b"\xff"[..],
        b"\xc0\x80",
        b"\xc1\xbf",
        b"\xe0\x80\x80",
        b"\xf0\x80\x80\x80",
        b"\xf4\x90\x80\x80",
        b"\xed\xa0",
        b"\xc3",
        b"a\x80",
        b"\xf8\x88\x80\x80\x80",
        b"\xe2\x82",
    ] {
        let mut b = vec![b'u', bad.len() as u8, 0, 0, 0];
        b.extend_from_slice(bad);
        add("invalid utf-8", &b);
    }
    add("small tuple", b")\x02i\x01\x00\x00\x00N");
    add("empty tuple", b")\x00");
    add("tuple", b"(\x01\x00\x00\x00T");
    add("tuple negative", b"(\xff\xff\xff\xff");
    // (Not 0x7fffffff items: CPython allocates the whole tuple first and takes a minute.)
    add("tuple too big", b"(\x00\x00\x01\x00N");
    add("tuple short", b")\x03NN");
    add("nested tuples", b")\x02)\x01)\x00(\x00\x00\x00\x00");
    add("frozenset", b">\x03\x00\x00\x00i\x01\x00\x00\x00z\x01a)\x00");
    add("empty frozenset", b">\x00\x00\x00\x00");
    add("flagged frozenset ref", b")\x02\xbe\x01\x00\x00\x00Nr\x00\x00\x00\x00");
    add("frozenset negative", b">\xff\xff\xff\xff");
    add("ref to int", b")\x02\xe9\x07\x00\x00\x00r\x00\x00\x00\x00");
    add("ref to str twice", b")\x03\xfa\x01xr\x00\x00\x00\x00r\x00\x00\x00\x00");
    add("ref to tuple", b")\x02\xa9\x01Nr\x00\x00\x00\x00");
    add("ref slot order", b")\x04\xa9\x01\xe9\x01\x00\x00\x00\xe9\x02\x00\x00\x00r\x02\x00\x00\x00r\x00\x00\x00\x00");
    add("ref out of range", b")\x02\xe9\x07\x00\x00\x00r\x01\x00\x00\x00");
    add("ref negative", b")\x01r\xff\xff\xff\xff");
    add("ref none yet", b"r\x00\x00\x00\x00");
    add("ref truncated", b")\x01r\x00\x00");
    add("ref to frozenset from inside", b"\xbe\x01\x00\x00\x00r\x00\x00\x00\x00");
    add("flagged ref takes no slot", b")\x03\xe9\x07\x00\x00\x00\xf2\x00\x00\x00\x00r\x01\x00\x00\x00");
    add("null", b"0");
    add("null in tuple", b")\x01\xb0");
    add("unknown", b"?");
    add("unknown Q", b"Q");
    add("empty input", b"");
    let mut deep_ok = b")\x01".repeat(MAX_DEPTH - 1);
    deep_ok.push(b'N');
    v.push(("depth limit", deep_ok));
    let mut too_deep = b")\x01".repeat(MAX_DEPTH);
    too_deep.push(b'N');
    v.push(("depth limit + 1", too_deep));
    v
}

/// Nesting height of a tuple chain, without recursion.
fn height(c: &Constant) -> usize {
    let (mut depth, mut cur) = (1, c);
    while let Constant::Tuple(items) = cur {
        let Some(last) = items.last() else { break };
        cur = last;
        depth += 1;
    }
    depth
}

const CRAFTED_PY: &str = r#"
import marshal, sys
for line in sys.stdin.read().split():
    try:
        value = marshal.loads(bytes.fromhex(line))
    except Exception as e:
        print('err ' + type(e).__name__)
        continue
    try:
        print('ok ' + render(value, []))
    except RecursionError:
        print('ok deep')
    except Exception as e:
        print('err ' + type(e).__name__)
"#;

#[test]
fn crafted_inputs_agree_with_cpython() {
    let Some(python) = python_3_11("crafted_inputs_agree_with_cpython") else { return };
    let cases = crafted_cases();
    let input: Vec<String> = cases.iter().map(|(_, b)| if b.is_empty() { "--".into() } else { hex(b) }).collect();
    let mut child = python
        .command()
        .arg("-c")
        .arg(format!("{DUMP_PY}\n{}", CRAFTED_PY.replace("bytes.fromhex(line)", "bytes.fromhex(line.strip('-'))")))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start python");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input.join("\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{} failed:\n{}", python.describe(), String::from_utf8_lossy(&out.stderr));
    let answers: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(answers.len(), cases.len());
    let mut mismatches = Vec::new();
    for ((name, bytes), want) in cases.iter().zip(&answers) {
        let got = match load_constant(bytes) {
            // The test's recursive rendering is for shallow values (Python's is too).
            Ok(c) if height(&c) > 500 => "ok deep".to_string(),
            Ok(c) => format!("ok {}", render(&c, &mut Vec::new())),
            Err(e) => format!("err ({e})"),
        };
        let agree = if want.starts_with("ok") { *want == got } else { got.starts_with("err") };
        if !agree {
            mismatches.push(format!("{name} [{}]: cpython {want}, pyasm {got}", hex(&bytes[..bytes.len().min(24)])));
        }
    }
    assert!(mismatches.is_empty(), "pyasm and CPython disagree:\n{}", mismatches.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// (b) Hostile input. None of these needs Python.
// ---------------------------------------------------------------------------------------------

/// Counts the bytes each thread has allocated, so tests can bound a load's peak memory.
struct CountingAllocator;

thread_local! {
    static LIVE: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
    static PEAK: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = unsafe { std::alloc::System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(p, layout) };
        track(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { std::alloc::System.realloc(p, layout, new_size) };
        if !q.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result and the most memory it had allocated at any one time.
fn peak_memory<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(start));
    let out = f();
    (out, (PEAK.with(|p| p.get()) - start) as usize)
}

fn le(n: i32) -> [u8; 4] {
    n.to_le_bytes()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn bytes_obj(b: &[u8]) -> Vec<u8> {
    cat(&[b"s", &le(b.len() as i32), b])
}

fn str_obj(s: &str) -> Vec<u8> {
    cat(&[b"z", &[s.len() as u8], s.as_bytes()])
}

fn tuple_obj(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![b')', items.len() as u8];
    for i in items {
        out.extend_from_slice(i);
    }
    out
}

/// A hand-assembled 3.11 code object, field by field, so single fields can be broken.
#[derive(Clone)]
struct RawCode {
    counts: [i32; 5],
    code: Vec<u8>,
    consts: Vec<u8>,
    names: Vec<u8>,
    lp_names: Vec<u8>,
    lp_kinds: Vec<u8>,
    filename: Vec<u8>,
    name: Vec<u8>,
    qualname: Vec<u8>,
    firstlineno: i32,
    linetable: Vec<u8>,
    exceptiontable: Vec<u8>,
}

impl RawCode {
    fn valid() -> RawCode {
        RawCode {
            counts: [1, 0, 0, 2, 3],
            code: bytes_obj(b"\x97\x00|\x00S\x00"),
            consts: tuple_obj(&[b"N".to_vec()]),
            names: tuple_obj(&[str_obj("len")]),
            lp_names: tuple_obj(&[str_obj("x")]),
            lp_kinds: bytes_obj(b"\x20"),
            filename: str_obj("m.py"),
            name: str_obj("f"),
            qualname: str_obj("f"),
            firstlineno: 7,
            linetable: bytes_obj(b"\x80\x00"),
            exceptiontable: bytes_obj(b""),
        }
    }
    fn bytes(&self) -> Vec<u8> {
        let mut out = vec![b'c'];
        for c in self.counts {
            out.extend_from_slice(&le(c));
        }
        for f in [
            &self.code,
            &self.consts,
            &self.names,
            &self.lp_names,
            &self.lp_kinds,
            &self.filename,
            &self.name,
            &self.qualname,
        ] {
            out.extend_from_slice(f);
        }
        out.extend_from_slice(&le(self.firstlineno));
        out.extend_from_slice(&self.linetable);
        out.extend_from_slice(&self.exceptiontable);
        out
    }
    /// Offset of a field inside `bytes()`, by its position in the layout (0 = co_code).
    fn offset_of(&self, field: usize) -> usize {
        let fields = [
            &self.code,
            &self.consts,
            &self.names,
            &self.lp_names,
            &self.lp_kinds,
            &self.filename,
            &self.name,
            &self.qualname,
        ];
        let mut at = 21;
        for f in fields.iter().take(field.min(8)) {
            at += f.len();
        }
        if field >= 8 {
            at += 4;
        }
        if field == 9 {
            at += self.linetable.len();
        }
        at
    }
}

fn expect_err(data: &[u8], offset: usize, needle: &str) -> LoadError {
    let e = load_constant(data).expect_err(&format!("expected an error containing {needle:?}"));
    assert!(e.message.contains(needle), "message {:?} lacks {needle:?}", e.message);
    assert_eq!(e.offset, offset, "offset of {:?}", e.message);
    e
}

fn int(v: i64) -> Constant {
    Constant::Int(BigInt::from(v))
}

fn s(text: &str) -> Constant {
    Constant::Str(PyStr::from(text))
}

#[test]
fn fixture_loads() {
    let bytes = fixture();
    let (pyc, stats) = load::load_pyc_with_refs(&bytes).expect("fixture loads");
    assert_eq!(pyc.magic, 3495);
    assert_eq!(pyc.header_len, 16);
    assert_eq!(pyc.table().version.to_string(), "3.11");
    assert!(matches!(pyc.header, PycHeader::Hash { checked: false, .. }));
    let co = &pyc.code;
    assert_eq!(co.name.as_str(), Some("<module>"));
    assert_eq!(co.filename.as_str(), Some("fixture.py"));
    assert_eq!(co.consts[0], s("Fixture module."));
    let x = co.consts.iter().find(|c| matches!(c, Constant::Tuple(t) if t.len() == 11)).expect("the tuple X");
    let Constant::Tuple(x) = x else { unreachable!() };
    assert_eq!(x[0], int(1));
    assert_eq!(x[1], Constant::Int(-BigInt::from(1u64 << 40)));
    assert_eq!(x[2], Constant::Float(2.5));
    assert_eq!(x[3], Constant::Float(-0.0));
    assert_eq!(x[4], Constant::Complex { re: 0.0, im: 3.0 });
    assert_eq!(x[5], s("é"));
    assert_eq!(x[6], Constant::Str(PyStr::from_code_points(&[0xDC80])));
    assert_eq!(x[7], Constant::Bytes(vec![0, 255]));
    assert_eq!(&x[8..10], &[Constant::None, Constant::Ellipsis]);
    assert_eq!(x[10], Constant::Int(BigInt::from(1u64 << 31)));
    // f: a closure over y and a (a is both an argument and a cell: kind 0x60), a frozenset.
    let f = co.consts.iter().find_map(|c| match c {
        Constant::Code(c) if c.name.as_str() == Some("f") => Some(c),
        _ => None,
    });
    let f = f.expect("code object f");
    let lp: Vec<(String, u8)> = f.localsplus.iter().map(|s| (s.name.to_string(), s.kind)).collect();
    assert!(lp.contains(&("a".into(), 0x60)) && lp.contains(&("y".into(), 0x40)), "{lp:?}");
    assert_eq!((f.argcount, f.kwonlyargcount), (2, 1));
    assert!(f.consts.iter().any(|c| *c == Constant::FrozenSet(vec![int(1), int(2), int(3)])));
    assert!(!f.exceptiontable.is_empty());
    // Refs: the top-level code object is slot 0, and the file uses references.
    assert_eq!(stats.flagged[0], 16);
    assert!(stats.ref_count() > 5 && stats.flagged_count() > 10, "{stats:?}");
    assert!(stats.ignored_flags.is_empty());
    assert!(
        stats.refs.iter().all(|&(at, slot)| at > 16 && at < bytes.len() && (slot as usize) < stats.flagged_count())
    );
    // load_code on the marshal part gives the same, with marshal-relative offsets.
    let (code, rel) = load_code_with_refs(&bytes[16..]).unwrap();
    assert_eq!(code, pyc.code);
    assert_eq!(rel.flagged.iter().map(|o| o + 16).collect::<Vec<_>>(), stats.flagged);
    assert_eq!(load_pyc(&bytes).unwrap(), pyc);
}

#[test]
fn truncation_at_every_offset_fails_cleanly() {
    let bytes = fixture();
    for n in 0..bytes.len() {
        let e = load_pyc(&bytes[..n]).expect_err("a truncated pyc must not load");
        assert!(e.offset <= n, "cut at {n}: offset {} past the end ({})", e.offset, e.message);
        if n >= 16 {
            let e2 = load_code(&bytes[16..n]).expect_err("truncated marshal data must not load");
            assert_eq!(e2.offset + 16, e.offset, "cut at {n}");
            // Cut in the middle of the code object: always a "too short" error.
            assert!(e.message.contains("too short"), "cut at {n}: {}", e.message);
        }
    }
}

/// xorshift64*: deterministic and good enough to pick bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_byte_flips_never_panic() {
    let original = fixture();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let (mut ok, mut err) = (0, 0);
    for _ in 0..4000 {
        let mut b = original.clone();
        for _ in 0..1 + rng.below(4) {
            // Mostly the marshal part; sometimes the header.
            let at = if rng.below(10) == 0 { rng.below(16) } else { 16 + rng.below(b.len() - 16) };
            match rng.below(3) {
                0 => b[at] ^= 1 << rng.below(8),
                1 => b[at] = rng.next() as u8,
                // Type bytes and high size bytes are where trouble lives.
                _ => b[at] = *[0x80, 0xFF, 0x7F, b'r', b'(', b')', b'c', b'l', b'u', 0x00].get(rng.below(10)).unwrap(),
            }
        }
        match load_pyc(&b) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.offset <= b.len(), "offset {} beyond the input: {}", e.offset, e.message);
                err += 1;
            }
        }
    }
    eprintln!("byte flips: {ok} still loaded, {err} rejected, {:?}", started.elapsed());
    assert!(err > 0);
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(42);
    const ALPHABET: &[u8] = b"NTF.Sil0fgxysatrc([{<>uAz)Z?I\x80\xa9\xe9\xf2\xda\xe3\x00\x01\x02\xff\x7f";
    for _ in 0..3000 {
        let len = rng.below(64);
        let data: Vec<u8> = (0..len)
            .map(|_| if rng.below(3) == 0 { rng.next() as u8 } else { ALPHABET[rng.below(ALPHABET.len())] })
            .collect();
        if let Err(e) = load_constant(&data) {
            assert!(e.offset <= data.len(), "{e}");
        }
        let _ = load_code(&data);
    }
}

#[test]
fn every_type_byte_alone() {
    for b in 0..=255u8 {
        match load_constant(&[b]) {
            Ok(c) => assert!(matches!(b & 0x7F, b'N' | b'T' | b'F' | b'.' | b'S'), "byte {b:#x} loaded as {c:?}"),
            Err(e) => assert!(e.offset <= 1, "byte {b:#x}: {e}"),
        }
    }
    expect_err(b"?", 0, "unknown type code 0x3f '?' (TYPE_UNKNOWN");
    expect_err(b"Q", 0, "unknown type code 0x51 'Q'");
    expect_err(b")\x02N\x07", 3, "unknown type code 0x07");
    expect_err(b"0", 0, "NULL");
    expect_err(b"", 0, "too short");
}

#[test]
fn lists_dicts_and_sets_are_refused_by_name() {
    expect_err(b"[\x00\x00\x00\x00", 0, "a list (type byte 0x5b '[')");
    expect_err(b"{0", 0, "a dict");
    expect_err(b"<\x00\x00\x00\x00", 0, "a set");
    expect_err(b")\x02N\xdb\x00\x00\x00\x00", 3, "a list");
    // In a code object, the offset is the list's own.
    let mut raw = RawCode::valid();
    raw.consts = b"[\x00\x00\x00\x00".to_vec();
    let e = load_code(&raw.bytes()).unwrap_err();
    assert_eq!(e.offset, raw.offset_of(1));
    assert!(e.message.contains("list"), "{e}");
}

#[test]
fn scalar_values() {
    let l = |b: &[u8]| load_constant(b).unwrap();
    assert_eq!(l(b"I\xfe\xff\xff\xff\xff\xff\xff\xff"), int(-2));
    assert_eq!(l(b"l\xfc\xff\xff\xff\x00\x00\x00\x00\x00\x00\x01\x00"), Constant::Int(-BigInt::from(1u64 << 45)));
    assert_eq!(l(b"l\x00\x00\x00\x00"), int(0));
    expect_err(b"l\x01\x00\x00\x00\x00\x80", 5, "digit out of range");
    expect_err(b"l\x02\x00\x00\x00\xff\x7f\x00\x00", 7, "unnormalized");
    expect_err(b"l\x00\x00\x00\x80", 1, "long size out of range");
    expect_err(b"l\xff\xff\xff\x7f\x01\x00", 1, "too short");
    assert_eq!(l(b"f\x04-nan"), Constant::Float(f64::from_bits(0xfff8_0000_0000_0000)));
    assert_eq!(l(b"f\x051.5\x00x"), Constant::Float(1.5));
    expect_err(b"f\x04 1.5", 2, "could not convert");
    assert_eq!(l(b"x\x011\x04-0.0"), Constant::Complex { re: 1.0, im: -0.0 });
    let nan = f64::from_bits(0x7ff0_0000_0000_0001);
    assert_eq!(l(&cat(&[b"g", &nan.to_le_bytes()])), Constant::Float(nan));
    // ASCII types are read as Latin-1, as CPython does.
    assert_eq!(l(b"z\x02\xe9\xff"), Constant::Str(PyStr::from_code_points(&[0xE9, 0xFF])));
    assert_eq!(l(b"A\x01\x00\x00\x00\x80"), Constant::Str(PyStr::from_code_points(&[0x80])));
    // Surrogates survive byte for byte; a pair written as two sequences stays two surrogates.
    let pair = l(b"u\x06\x00\x00\x00\xed\xa0\x80\xed\xb0\x80");
    assert_eq!(pair, Constant::Str(PyStr::from_code_points(&[0xD800, 0xDC00])));
    assert_eq!(l(b"t\x03\x00\x00\x00\xe2\x82\xac"), s("€"));
    expect_err(b"u\x03\x00\x00\x00a\xff\x00", 6, "invalid start byte");
    expect_err(b"u\x02\x00\x00\x00\xc0\x80", 5, "not UTF-8");
    expect_err(b"u\x04\x00\x00\x00\xf4\x90\x80\x80", 5, "not UTF-8");
    assert_eq!(l(b"s\x02\x00\x00\x00\x00\xff"), Constant::Bytes(vec![0, 255]));
}

#[test]
fn absurd_sizes_fail_fast_without_allocating() {
    let started = Instant::now();
    expect_err(b"(\xff\xff\xff\x7fN", 1, "too short");
    expect_err(b">\xff\xff\xff\x7fN", 1, "too short");
    expect_err(b"s\xff\xff\xff\x7fN", 1, "too short");
    expect_err(b"u\xff\xff\xff\x7fN", 1, "too short");
    expect_err(b"a\xff\xff\xff\x7fN", 1, "too short");
    expect_err(b"l\xff\xff\xff\x7f\x01\x00", 1, "too short");
    expect_err(b"l\x01\x00\x00\x80\x01\x00", 1, "too short");
    expect_err(b")\xffN", 1, "too short");
    expect_err(b"(\xff\xff\xff\xffN", 1, "size out of range (-1)");
    expect_err(b"s\x00\x00\x00\x80", 1, "size out of range");
    expect_err(b"z\x05abc", 2, "too short");
    // A tuple of n items needs n more bytes: 2 items but 1 byte left.
    expect_err(b"(\x02\x00\x00\x00N", 1, "needs at least 2 more bytes, only 1 remain");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn memory_stays_proportional_to_the_input() {
    // 1999 nested tuples, each claiming as many items as bytes remain: nothing may be
    // allocated for the claimed sizes.
    let depth = MAX_DEPTH - 1;
    let total = 5 * depth + 1;
    let mut data = Vec::with_capacity(total);
    for i in 0..depth {
        data.push(b'(');
        data.extend_from_slice(&le((total - 5 * (i + 1)) as i32));
    }
    data.push(b'N');
    let (r, peak) = peak_memory(|| load_constant(&data).map(drop));
    assert!(r.unwrap_err().message.contains("too short"));
    // (About 600 bytes per open container; allocating for the claims would take 400 MB.)
    assert!(peak < 4 << 20, "peak {peak} bytes for a {total}-byte input");

    // Absurd sizes allocate nothing much.
    for data in [&b"(\xff\xff\xff\x7fN"[..], b"s\xff\xff\xff\x7f", b"l\xff\xff\xff\x7f", b">\xff\xff\xff\x7fN"] {
        let (r, peak) = peak_memory(|| load_constant(data).map(drop));
        assert!(r.is_err());
        assert!(peak < 4096, "peak {peak} bytes for {data:?}");
    }

    // Reference bombs stop at the budget: (4 × 500 + 2**18) nodes, copies included.
    let mut bomb = vec![b')', 41];
    bomb.extend_from_slice(b"\xa9\x02NN");
    for k in 1..=40i32 {
        bomb.extend_from_slice(b"\xa9\x02");
        bomb.extend_from_slice(&cat(&[b"r", &le(k - 1), b"r", &le(k - 1)]));
    }
    let (r, peak) = peak_memory(|| load_constant(&bomb).map(drop));
    assert!(r.is_err());
    assert!(peak < 64 << 20, "peak {peak} bytes for the node bomb");
    eprintln!("node bomb: {} bytes, peak {peak} bytes before it was refused", bomb.len());
    let mut bomb = vec![b'(', 0, 0, 0, 0];
    bomb[1..5].copy_from_slice(&le(100_001));
    bomb.push(b's' | 0x80);
    bomb.extend_from_slice(&le(1 << 16));
    bomb.extend(std::iter::repeat_n(b'x', 1 << 16));
    bomb.extend(std::iter::repeat_n(&b"r\x00\x00\x00\x00"[..], 100_000).flatten());
    let (r, peak) = peak_memory(|| load_constant(&bomb).map(drop));
    assert!(r.is_err());
    assert!(peak < 64 << 20, "peak {peak} bytes for the bytes bomb ({} bytes)", bomb.len());
    eprintln!("bytes bomb: {} bytes, peak {peak} bytes before it was refused", bomb.len());

    // A real pyc: a few times its size.
    let fixture = fixture();
    let (r, peak) = peak_memory(|| load_pyc(&fixture).map(drop));
    assert!(r.is_ok());
    assert!(peak < 64 * fixture.len(), "peak {peak} bytes for the {}-byte fixture", fixture.len());
    eprintln!("fixture: {} bytes, peak {peak} bytes while loading", fixture.len());
}

#[test]
fn references() {
    // A flagged object is copied wherever it is referenced.
    let t = load_constant(b")\x03\xfa\x01xr\x00\x00\x00\x00r\x00\x00\x00\x00").unwrap();
    assert_eq!(t, Constant::Tuple(vec![s("x"), s("x"), s("x")]));
    // Slots are numbered in order of appearance; containers take theirs before their contents.
    let data = b")\x04\xa9\x01\xe9\x01\x00\x00\x00\xe9\x02\x00\x00\x00r\x02\x00\x00\x00r\x00\x00\x00\x00";
    let t = load_constant(data).unwrap();
    assert_eq!(t, Constant::Tuple(vec![Constant::Tuple(vec![int(1)]), int(2), int(2), Constant::Tuple(vec![int(1)])]));
    // Flags on singletons and on TYPE_REF take no slot (CPython ignores them).
    let t = load_constant(b")\x03\xce\xe9\x07\x00\x00\x00\xf2\x00\x00\x00\x00").unwrap();
    assert_eq!(t, Constant::Tuple(vec![Constant::None, int(7), int(7)]));
    expect_err(b")\x02\xcer\x00\x00\x00\x00", 3, "invalid reference to slot 0, only 0 slots");
    expect_err(b")\x02\xe9\x07\x00\x00\x00r\x01\x00\x00\x00", 7, "invalid reference to slot 1, only 1 slots");
    expect_err(b")\x01r\xff\xff\xff\xff", 2, "invalid reference to slot -1");
    expect_err(b"r\x00\x00\x00\x00", 0, "invalid reference");
    // A container referring to itself: an error here (CPython would build a cyclic tuple).
    expect_err(b"\xa9\x01r\x00\x00\x00\x00", 2, "the tuple at offset 0, from inside that tuple");
    expect_err(b")\x01\xbe\x01\x00\x00\x00r\x00\x00\x00\x00", 7, "the frozenset at offset 2");
    let mut raw = RawCode::valid();
    raw.consts = tuple_obj(&[b"r\x00\x00\x00\x00".to_vec()]);
    let mut data = raw.bytes();
    data[0] |= 0x80;
    let e = load_code(&data).unwrap_err();
    assert!(e.message.contains("the code object at offset 0"), "{e}");
    assert_eq!(e.offset, raw.offset_of(1) + 2);
    // RefStats.
    let (_, stats) = load_code_with_refs(&{
        let mut raw = RawCode::valid();
        raw.qualname = b"r\x02\x00\x00\x00".to_vec();
        raw.name = cat(&[b"\xda\x01f"]);
        raw.filename = cat(&[b"\xfa\x04m.py"]);
        let mut d = raw.bytes();
        d[0] |= 0x80;
        d
    })
    .unwrap();
    assert_eq!(stats.flagged_count(), 3);
    assert_eq!(stats.ref_count(), 1);
    assert_eq!(stats.flagged[0], 0);
    assert_eq!(stats.refs[0].1, 2);
}

#[test]
fn deep_nesting_fails_fast() {
    for unit in [&b"(\x01\x00\x00\x00"[..], b")\x01", b">\x01\x00\x00\x00"] {
        let mut data = unit.repeat(1_000_000);
        data.push(b'N');
        let started = Instant::now();
        let e = load_constant(&data).unwrap_err();
        assert!(e.message.contains("nested deeper than 2000"), "{e}");
        assert_eq!(e.offset, unit.len() * MAX_DEPTH);
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    }
    // Code objects count too: each level is a code object and its consts tuple.
    let mut data = Vec::new();
    for _ in 0..5000 {
        data.extend_from_slice(b"c");
        data.extend_from_slice(&[0u8; 20]);
        data.extend_from_slice(&bytes_obj(b""));
        data.extend_from_slice(b")\x01");
    }
    let e = load_code(&data).unwrap_err();
    assert!(e.message.contains("nested deeper than 2000"), "{e}");
}

/// `unwrap_err` without printing the value (a 2000-level Debug print would overflow the stack).
fn must_fail<T>(r: Result<T, LoadError>) -> LoadError {
    match r {
        Ok(_) => panic!("unexpectedly loaded"),
        Err(e) => e,
    }
}

/// Runs `f` on a thread with a stack of `kib` KiB.
fn on_stack<T: Send + 'static>(kib: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(kib << 10).spawn(f).unwrap().join().expect("no stack overflow")
}

#[test]
fn maximum_depth_loads_on_a_small_stack() {
    // The loader never recurses (it copies and drops deep values iteratively too), so 256 KiB of
    // stack are plenty even at the limit, with references copying 2000-level values.
    let (deep, via_ref) = on_stack(256, || {
        // A leaf inside 1999 tuples: depth exactly 2000, the most CPython accepts.
        let mut data = b")\x01".repeat(MAX_DEPTH - 1);
        data.push(b'N');
        let deep = load_constant(&data).expect("depth 2000 is allowed");

        // A reference may not make the tree deeper than the limit. Slot 0 is a tuple of height
        // k + 2 read at depth 2 (with k = 1997 its leaf sits at depth 2000); a reference to it
        // at depth 3 adds 2 levels above it: 2001 levels in all, one too many.
        let bomb = |k: usize, tail: &[u8]| {
            let mut data = b")\x02\xa9\x01".to_vec();
            data.extend(b")\x01".repeat(k));
            data.extend_from_slice(b"N)\x01");
            let at = data.len();
            data.extend_from_slice(b"r\x00\x00\x00\x00");
            data.extend_from_slice(tail);
            (data, at)
        };
        let (data, at) = bomb(MAX_DEPTH - 3, b"");
        let e = must_fail(load_constant(&data));
        assert!(e.message.contains("would make the constant nest deeper than 2000"), "{e}");
        assert_eq!(e.offset, at);
        // One level less is fine.
        let via_ref = load_constant(&bomb(MAX_DEPTH - 4, b"").0).expect("2000 levels through a reference");
        // Errors after deep copies are cleaned up without recursion as well.
        let mut data = bomb(MAX_DEPTH - 4, b"").0;
        data[1] = 3;
        data.push(b'?');
        assert!(must_fail(load_constant(&data)).message.contains("unknown type code"));
        (deep, via_ref)
    });
    let levels = |c: &Constant| {
        let (mut depth, mut cur) = (1, c);
        while let Constant::Tuple(items) = cur {
            cur = items.last().unwrap();
            depth += 1;
        }
        depth
    };
    assert_eq!(levels(&deep), MAX_DEPTH);
    assert_eq!(levels(&via_ref), MAX_DEPTH);
    // The model's derived Clone, PartialEq and Drop do recurse: at the limit Clone and PartialEq
    // need about 1.9 MiB in a debug build (Drop about 0.4 MiB) -- just under the 2 MiB Rust gives
    // spawned threads. Consumers walking constants should not recurse this deep themselves.
    on_stack(4096, move || {
        let copy = deep.clone();
        assert_eq!(copy, deep);
        drop((copy, deep));
        assert_eq!(via_ref.clone(), via_ref);
    });
}

#[test]
fn reference_bombs_fail_fast() {
    // Level 0 is (None, None); level k is (ref k-1, ref k-1): 2**k nodes if copied.
    let mut data = vec![b')', 41];
    data.extend_from_slice(b"\xa9\x02NN");
    for k in 1..=40i32 {
        data.extend_from_slice(b"\xa9\x02");
        data.extend_from_slice(&cat(&[b"r", &le(k - 1), b"r", &le(k - 1)]));
    }
    let started = Instant::now();
    let e = load_constant(&data).unwrap_err();
    assert!(e.message.contains("too many objects"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());

    // The same shape built from bytes: one 64 KiB bytes object referenced 100,000 times.
    let mut data = vec![b'(', 0, 0, 0, 0];
    data[1..5].copy_from_slice(&le(100_001));
    data.push(b's' | 0x80);
    data.extend_from_slice(&le(1 << 16));
    data.extend(std::iter::repeat_n(b'x', 1 << 16));
    for _ in 0..100_000 {
        data.extend_from_slice(b"r\x00\x00\x00\x00");
    }
    let started = Instant::now();
    let e = load_constant(&data).unwrap_err();
    assert!(e.message.contains("too much data"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());

    // Legitimate sharing loads: constant folding turns `((0,) * 256,) * 256` into one flagged
    // 256-tuple and 255 references to it (65,792 nodes from 2.6 KB).
    let mut data = vec![b'(', 0, 1, 0, 0, b'(' | 0x80, 0, 1, 0, 0];
    data.extend(std::iter::repeat_n(&b"i\x00\x00\x00\x00"[..], 256).flatten());
    for _ in 0..255 {
        data.extend_from_slice(b"r\x00\x00\x00\x00");
    }
    let Constant::Tuple(outer) = load_constant(&data).expect("folded constants load") else { panic!() };
    assert_eq!(outer.len(), 256);
    assert!(outer.iter().all(|t| *t == Constant::Tuple(vec![int(0); 256])));
}

#[test]
fn code_object_fields_are_checked() {
    let raw = RawCode::valid();
    let co = load_code(&raw.bytes()).expect("the valid template loads");
    assert_eq!(co.names, vec![PyStr::from("len")]);
    assert_eq!((co.argcount, co.stacksize, co.flags, co.firstlineno), (1, 2, 3, 7));
    assert_eq!(co.localsplus[0].kind, 0x20);

    let check = |raw: &RawCode, field: usize, needle: &str| {
        let e = load_code(&raw.bytes()).unwrap_err();
        assert!(e.message.contains(needle), "{needle:?} not in {e}");
        assert_eq!(e.offset, raw.offset_of(field), "{e}");
    };
    let mut r = raw.clone();
    r.lp_kinds = bytes_obj(b"\x20\x20");
    check(&r, 4, "co_localspluskinds has 2 bytes but co_localsplusnames has 1 names");
    let mut r = raw.clone();
    r.names = tuple_obj(&[str_obj("a"), b"i\x01\x00\x00\x00".to_vec()]);
    check(&r, 2, "co_names[1] must be a str, found int");
    let mut r = raw.clone();
    r.lp_names = tuple_obj(&[bytes_obj(b"x")]);
    check(&r, 3, "co_localsplusnames[0] must be a str, found bytes");
    let mut r = raw.clone();
    r.code = str_obj("abcd");
    check(&r, 0, "co_code must be bytes, found str");
    let mut r = raw.clone();
    r.consts = b"N".to_vec();
    check(&r, 1, "co_consts must be a tuple, found None");
    let mut r = raw.clone();
    r.filename = bytes_obj(b"m.py");
    check(&r, 5, "co_filename must be a str");
    let mut r = raw.clone();
    r.qualname = tuple_obj(&[]);
    check(&r, 7, "co_qualname must be a str, found tuple");
    let mut r = raw.clone();
    r.exceptiontable = str_obj("");
    check(&r, 9, "co_exceptiontable must be bytes");
    let mut r = raw.clone();
    r.counts[3] = -1;
    let e = load_code(&r.bytes()).unwrap_err();
    assert_eq!((e.offset, e.message.as_str()), (13, "co_stacksize is negative (-1)"));
    // A code object as a constant of another, and a non-code top level for load_code.
    let mut outer = raw.clone();
    outer.consts = tuple_obj(&[raw.bytes(), b"N".to_vec()]);
    let co = load_code(&outer.bytes()).unwrap();
    assert!(matches!(&co.consts[0], Constant::Code(inner) if inner.name.as_str() == Some("f")));
    let e = load_code(b")\x00").unwrap_err();
    assert!(e.message.contains("expected a code object, found tuple"), "{e}");
    assert!(matches!(load_constant(&raw.bytes()), Ok(Constant::Code(_))));
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut bytes = fixture();
    let end = bytes.len();
    bytes.push(b'N');
    let e = load_pyc(&bytes).unwrap_err();
    assert_eq!(e.offset, end);
    assert!(e.message.contains("1 trailing bytes after the top-level code object"), "{e}");
    let e = load_code(&bytes[16..]).unwrap_err();
    assert_eq!(e.offset, end - 16);
    expect_err(b"NN", 1, "trailing");
}

#[test]
fn pyc_headers() {
    let good = fixture();
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        load_pyc(&b)
    };
    let e = with(&|b| b[0..2].copy_from_slice(&3800u16.to_le_bytes())).unwrap_err();
    assert_eq!(e.offset, 0);
    assert!(e.message.contains("unknown pyc magic number 3800"), "{e}");
    assert!(e.message.contains("newer Python") && e.message.contains("(Python 3.15)"), "{e}");
    // 3350 is 3.5's.
    let e = with(&|b| b[0..2].copy_from_slice(&3350u16.to_le_bytes())).unwrap_err();
    assert!(e.message.contains("older Python"), "{e}");
    let e = with(&|b| b[0..2].copy_from_slice(&62211u16.to_le_bytes())).unwrap_err();
    assert!(e.message.contains("not a Python 3 magic number"), "{e}");
    let e = with(&|b| b[2] = b'\n').unwrap_err();
    assert_eq!(e.offset, 2);
    assert!(e.message.contains("not a pyc file"), "{e}");
    let e = with(&|b| b[4] = 4).unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(e.message.contains("flags"), "{e}");
    let e = load_pyc(&good[..10]).unwrap_err();
    assert_eq!(e.offset, 10);
    assert!(e.message.contains("truncated pyc header: 10 bytes"), "{e}");
    let e = load_pyc(&good[..16]).unwrap_err();
    assert_eq!(e.offset, 16);
    assert!(e.message.contains("header but no code object"), "{e}");
    let e = load_pyc(&good[..3]).unwrap_err();
    assert_eq!(e.offset, 3);
    // Timestamp and checked-hash headers.
    let pyc = with(&|b| b[4..16].copy_from_slice(&[0, 0, 0, 0, 1, 2, 3, 4, 9, 0, 0, 0])).unwrap();
    assert_eq!(pyc.header, PycHeader::Timestamp { mtime: 0x0403_0201, source_size: 9 });
    let pyc = with(&|b| b[4] = 3).unwrap();
    assert!(matches!(pyc.header, PycHeader::Hash { checked: true, .. }));
    // Error display names the offset.
    assert!(e.to_string().starts_with("at byte 3 (0x3): "), "{e}");
}

#[test]
fn writer_output_reads_back() {
    let original = load_pyc(&fixture()).unwrap().code;
    let again = load_code(&pyasm::emit::marshal::dump_code(&original)).expect("our own writer's output loads");
    assert_eq!(again, original);
    let values = [
        Constant::Tuple(vec![
            int(0),
            Constant::Int(BigInt::from(10).pow(40)),
            Constant::Int(-BigInt::from(1u64 << 62)),
            Constant::Float(f64::NAN),
            Constant::Complex { re: -0.0, im: f64::INFINITY },
            Constant::Str(PyStr::from_code_points(&[0xD800, 0x41, 0x10FFFF])),
            s(&"long ".repeat(100)),
            Constant::Bytes(vec![7; 300]),
            Constant::FrozenSet(vec![s("a"), int(5)]),
            Constant::StopIteration,
            Constant::Tuple((0..300).map(int).collect()),
        ]),
        Constant::Tuple(vec![s("x y"), s("x y"), s("x y")]),
    ];
    for v in values {
        assert_eq!(load_constant(&pyasm::emit::marshal::dump_constant(&v)).unwrap(), v);
    }
}
