//! The data layer for CPython 3.6–3.10, checked against each version's own interpreter:
//!
//! 1. that interpreter compiles a fixed sample of its own stdlib (`tools/roundtrip/compile_stdlib.py`,
//!    the whole library with `PYASM_ROUNDTRIP_ALL=1`);
//! 2. pyasm loads every pyc (12-byte header for 3.6, 16 from 3.7; the version's code layout):
//!    every one must load;
//! 3. every code object's fields as pyasm loaded them must equal what the interpreter reports
//!    (`tools/roundtrip/code_fields.py`: counts, co_code, the name tuples, filename, name, line
//!    table, number of constants);
//! 4. every line table decodes to per-instruction marks that encode back to the same bytes
//!    (`pyasm::emit::lnotab`): all of them must;
//! 5. pyasm marshals each code object again (`dump_code_for`); the interpreter loads the result
//!    and compares it with the original field by field, constants type-exact
//!    (`tools/roundtrip/compare.py`): all must be equal. How many are byte-identical is
//!    printed, with a floor ([`IDENTICAL_FLOOR`]); see below for why not all.
//!
//! Each test prints its figures (run with `--nocapture` to see them).
//! `PYASM_ROUNDTRIP_WORKDIR=DIR` keeps the files (DIR/old_marshal_3.X/…).
//!
//! Measured over the whole library (`PYASM_ROUNDTRIP_ALL=1`, release): every module loads, every
//! code object's fields agree with the interpreter, every line table is reproduced and every
//! re-marshalled module is equal — 3.6: 1560 modules, 61223 code objects; 3.7: 1606, 65006;
//! 3.8: 1642, 69038; 3.9: 1674, 71433; 3.10: 1696, 73771. Byte-identical: 36, 46, 50, 51 and
//! 51 modules (about 3 %): these versions set `FLAG_REF` on an interned name only when its
//! reference count is above one, and that counts references held anywhere in the compiling
//! process (a builtin's name, a method name of a loaded type, …), which the pyc alone does not
//! show. The writer flags names used twice and the cached one-character strings; see
//! `src/emit/marshal.rs`.

mod support;

use pyasm::emit::lnotab::{decode_line_numbers, encode_line_numbers};
use pyasm::load::marshal::{CodeLayout, load_code_layout};
use pyasm::object::{CodeObject, Constant, KIND_CELL, KIND_FREE, KIND_LOCAL, PyStr};
use pyasm::version::PythonVersion;
use std::path::{Path, PathBuf};

/// Files in the default sample.
const SAMPLE: usize = 150;

/// Byte-identical re-marshalled modules required, in percent of the sample: a floor under the
/// measured 4–7 % of the default sample (see the module docs for why it is not 100 %).
const IDENTICAL_FLOOR: f64 = 3.0;

#[test]
fn old_marshal_3_6() {
    check("3.6");
}
#[test]
fn old_marshal_3_7() {
    check("3.7");
}
#[test]
fn old_marshal_3_8() {
    check("3.8");
}
#[test]
fn old_marshal_3_9() {
    check("3.9");
}
#[test]
fn old_marshal_3_10() {
    check("3.10");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn strs<'a>(it: impl Iterator<Item = &'a PyStr>) -> String {
    it.map(|s| hex(s.as_wtf8())).collect::<Vec<_>>().join(",")
}

/// The line `code_fields.py` prints for a code object, from pyasm's model.
fn field_lines(name: &str, co: &CodeObject, out: &mut Vec<String>) {
    let of_kind = |k: u8| strs(co.localsplus.iter().filter(|s| s.kind == k).map(|s| &s.name));
    out.push(
        [
            name.to_string(),
            format!(
                "{} {} {} {} {} {} {}",
                co.argcount, co.posonlyargcount, co.kwonlyargcount, co.nlocals, co.stacksize, co.flags, co.firstlineno
            ),
            hex(&co.code),
            strs(co.names.iter()),
            of_kind(KIND_LOCAL),
            of_kind(KIND_CELL),
            of_kind(KIND_FREE),
            hex(co.filename.as_wtf8()),
            hex(co.name.as_wtf8()),
            hex(&co.linetable),
            co.consts.len().to_string(),
        ]
        .join("\t"),
    );
    for c in &co.consts {
        if let Constant::Code(inner) = c {
            field_lines(name, inner, out);
        }
    }
}

/// (line tables reproduced, line tables) over a code object and its nested ones.
fn line_tables(v: PythonVersion, co: &CodeObject, failures: &mut Vec<String>) -> (usize, usize) {
    // Wordcode: every instruction (EXTENDED_ARG included) is 2 bytes.
    let sizes = vec![2u32; co.code.len() / 2];
    let ok = match decode_line_numbers(v, co.firstlineno, &co.linetable, &sizes) {
        Ok(marks) => {
            let instrs = pyasm::emit::lnotab::with_sizes(&marks, &sizes);
            let again = encode_line_numbers(v, co.firstlineno, &instrs);
            if again != co.linetable && failures.len() < 5 {
                failures.push(format!(
                    "{} (line {}): {} re-encoded as {}",
                    co.name,
                    co.firstlineno,
                    hex(&co.linetable),
                    hex(&again)
                ));
            }
            again == co.linetable
        }
        Err(e) => {
            failures.push(format!("{} (line {}): {e}", co.name, co.firstlineno));
            false
        }
    };
    let (mut good, mut all) = (ok as usize, 1);
    for c in &co.consts {
        if let Constant::Code(inner) = c {
            let (g, a) = line_tables(v, inner, failures);
            good += g;
            all += a;
        }
    }
    (good, all)
}

fn check(version: &str) {
    let Some(python) = support::python_for_test(version, &format!("old_marshal {version}")) else { return };
    let v: PythonVersion = version.parse().unwrap();
    let layout = CodeLayout::for_version(v).expect("a layout for every version 3.6–3.10");
    let header = if v >= PythonVersion::new(3, 7) { 16 } else { 12 };
    let all = std::env::var("PYASM_ROUNDTRIP_ALL").is_ok_and(|x| !x.is_empty() && x != "0");
    let temp = tempfile::tempdir().unwrap();
    let dir: PathBuf = match std::env::var_os("PYASM_ROUNDTRIP_WORKDIR") {
        Some(d) => {
            let d = Path::new(&d).join(format!("old_marshal_{version}"));
            let _ = std::fs::remove_dir_all(&d);
            d
        }
        None => temp.path().to_path_buf(),
    };
    let tools = support::repo_root().join("tools/roundtrip");

    let mut compile = python.command();
    compile.arg(tools.join("compile_stdlib.py")).arg("--out").arg(&dir);
    if !all {
        compile.args(["--sample", &SAMPLE.to_string()]);
    }
    let out = compile.output().unwrap();
    assert!(out.status.success(), "compile_stdlib.py: {}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<String> = std::fs::read_to_string(dir.join("manifest.tsv"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .filter(|n| !n.is_empty())
        .collect();
    assert!(names.len() >= if all { 400 } else { SAMPLE * 3 / 4 }, "too few modules compiled: {}", names.len());

    let (mut loaded, mut identical, mut tables_ok, mut tables) = (0, 0, 0, 0);
    let mut load_failures = Vec::new();
    let mut table_failures = Vec::new();
    let mut ours_fields = Vec::new();
    for name in &names {
        let bytes = std::fs::read(dir.join(format!("{name}.pyc"))).unwrap();
        let code = match load_code_layout(&bytes[header..], layout) {
            Ok((code, _)) => code,
            Err(e) => {
                load_failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        loaded += 1;
        field_lines(name, &code, &mut ours_fields);
        let (g, a) = line_tables(v, &code, &mut table_failures);
        tables_ok += g;
        tables += a;
        let dumped = pyasm::emit::marshal::dump_code_for(&code, v);
        if dumped == bytes[header..] {
            identical += 1;
        }
        let mut pyc = bytes[..header].to_vec();
        pyc.extend_from_slice(&dumped);
        std::fs::write(dir.join(format!("{name}.re.pyc")), pyc).unwrap();
    }

    // What the interpreter itself reports.
    let out = python.command().arg(tools.join("code_fields.py")).arg(&dir).output().unwrap();
    assert!(out.status.success(), "code_fields.py: {}", String::from_utf8_lossy(&out.stderr));
    let theirs_fields: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    let field_mismatches: Vec<(&String, &String)> =
        ours_fields.iter().zip(&theirs_fields).filter(|(a, b)| a != b).collect();

    // The interpreter compares the re-marshalled code with the original.
    let out = python.command().arg(tools.join("compare.py")).arg(&dir).output().unwrap();
    let compared = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = compared.lines().find(|l| l.starts_with("equal ")).unwrap_or("").to_string();

    let n = names.len();
    println!(
        "old_marshal {version} under {}{}: loaded {loaded}/{n}, fields {}/{} code objects as the interpreter \
         reports them, line tables reproduced {tables_ok}/{tables}, re-marshalled {summary} (pyasm's own count: \
         identical {identical}/{n})",
        python.describe(),
        if all { ", whole library" } else { "" },
        ours_fields.len() - field_mismatches.len(),
        theirs_fields.len(),
    );
    assert!(load_failures.is_empty(), "not every pyc loads:\n{}", load_failures.join("\n"));
    assert_eq!(ours_fields.len(), theirs_fields.len(), "a different number of code objects");
    if let Some((a, b)) = field_mismatches.first() {
        panic!("{} code objects differ from what the interpreter reports; first:\n ours   {a}\n theirs {b}", field_mismatches.len());
    }
    assert_eq!(tables_ok, tables, "line tables not reproduced:\n{}", table_failures.join("\n"));
    assert!(out.status.success() && summary.starts_with(&format!("equal {n}/{n}")), "re-marshalled code differs:\n{compared}");
    let rate = 100.0 * identical as f64 / n as f64;
    assert!(rate >= IDENTICAL_FLOOR, "byte-identical {identical}/{n} ({rate:.1}%) is below {IDENTICAL_FLOOR}%");
}

/// A small 3.6–3.10 code object written by pyasm loads back equal with its version's layout;
/// every truncation is an error and no corruption of one byte panics (the reader's
/// hostile-input guarantees hold for the old layouts too).
#[test]
fn old_layouts_load_back_and_refuse_damage() {
    use pyasm::object::LocalSlot;
    let slot = |name: &str, kind: u8| LocalSlot { name: PyStr::from(name), kind };
    let inner = CodeObject {
        argcount: 0,
        posonlyargcount: 0,
        kwonlyargcount: 0,
        nlocals: 0,
        stacksize: 1,
        flags: 0x13,
        code: vec![0x88, 0, 0x53, 0],
        consts: vec![Constant::None],
        names: vec![],
        localsplus: vec![slot("x", KIND_FREE)],
        filename: PyStr::from("m.py"),
        name: PyStr::from("g"),
        qualname: PyStr::default(),
        firstlineno: 3,
        linetable: vec![0, 1],
        exceptiontable: vec![],
    };
    for minor in 6..=10u8 {
        let v = PythonVersion::new(3, minor);
        let outer = CodeObject {
            argcount: 2,
            posonlyargcount: if minor >= 8 { 1 } else { 0 },
            kwonlyargcount: 1,
            nlocals: 4,
            stacksize: 3,
            flags: 0x3,
            code: vec![0x64, 0, 0x53, 0],
            consts: vec![Constant::None, Constant::Code(Box::new(inner.clone())), Constant::Str(PyStr::from("f.<locals>.g"))],
            names: vec![PyStr::from("print")],
            // varnames a, x, k, y; x is also a cell.
            localsplus: vec![
                slot("a", KIND_LOCAL),
                slot("x", KIND_LOCAL),
                slot("k", KIND_LOCAL),
                slot("y", KIND_LOCAL),
                slot("x", KIND_CELL),
            ],
            filename: PyStr::from("m.py"),
            name: PyStr::from("f"),
            qualname: PyStr::default(),
            firstlineno: 1,
            linetable: vec![0, 1, 4, 1],
            exceptiontable: vec![],
        };
        let layout = CodeLayout::for_version(v).unwrap();
        let bytes = pyasm::emit::marshal::dump_code_for(&outer, v);
        let (back, _) = load_code_layout(&bytes, layout).unwrap_or_else(|e| panic!("3.{minor}: {e}"));
        assert_eq!(back, outer, "3.{minor}");
        for cut in 0..bytes.len() {
            assert!(load_code_layout(&bytes[..cut], layout).is_err(), "3.{minor}: {cut} bytes loaded");
        }
        for i in 0..bytes.len() {
            for b in [0x00u8, 0x7f, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] = b;
                let _ = load_code_layout(&damaged, layout);
            }
        }
    }
}
