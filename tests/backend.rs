//! The example compiler (`examples/backend/tinyc.py`, Tiny to portable pyasm): each test
//! program `examples/backend/programs/NAME.tiny` is compiled with the host's python3, the
//! portable .pyasm it gives is assembled for every version (`pyasm NAME.pyasm --python all
//! --out-dir TMP`), which must be all ten, 3.6 to 3.15, and each .pyc is run by that
//! version's real CPython: stdout must equal `NAME.out`, and the program must finish without
//! an exception. Pyodide is started once per version for all the programs (support::batch).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const ALL_VERSIONS: &[&str] = &["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"];

fn backend_dir() -> PathBuf {
    support::repo_root().join("examples/backend")
}

fn programs() -> Vec<PathBuf> {
    let dir = backend_dir().join("programs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tiny"))
        .collect();
    v.sort();
    v
}

/// Runs tinyc on `source`, writing `out`; Err is its stderr.
fn tinyc(source: &Path, out: &Path) -> Result<(), String> {
    let o = Command::new("python3").arg(backend_dir().join("tinyc.py")).arg(source).arg("-o").arg(out).output().expect("cannot start python3");
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

#[test]
fn tiny_programs_run_on_every_version() {
    let files = programs();
    assert!(files.len() >= 8, "examples/backend/programs has {} programs, the issue asks for at least 8", files.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut failures: Vec<String> = Vec::new();
    // version → [(program name, pyc, expected)]
    let mut runs: BTreeMap<&str, Vec<(String, PathBuf, String)>> = BTreeMap::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(file.with_extension("out")).unwrap_or_else(|e| panic!("{name}.out: {e}"));
        let pyasm_file = tmp.path().join(format!("{name}.pyasm"));
        if let Err(e) = tinyc(file, &pyasm_file) {
            failures.push(format!("{name}: tinyc failed:\n{e}"));
            continue;
        }
        let out_dir = tmp.path().join(&name);
        let out = Command::new(support::pyasm_bin()).arg(&pyasm_file).args(["--python", "all", "--out-dir"]).arg(&out_dir).output().unwrap();
        if !out.status.success() || !out.stderr.is_empty() {
            // A warning (unreachable code, say) is a compiler bug too: tinyc writes none.
            failures.push(format!("{name}: pyasm failed or warned:\n{}", String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        for v in ALL_VERSIONS {
            let pyc = out_dir.join(format!("{name}.{v}.pyc"));
            if !pyc.exists() {
                failures.push(format!("{name}: no .pyc for {v} (tinyc's output serves 3.6-3.15)"));
                continue;
            }
            runs.entry(v).or_default().push((name.clone(), pyc, expected.clone()));
        }
    }
    let mut passed: BTreeMap<&str, usize> = BTreeMap::new();
    for (v, cases) in &runs {
        let Some(python) = support::python_for_test(v, "tiny_programs_run_on_every_version") else { continue };
        let pycs: Vec<PathBuf> = cases.iter().map(|(_, pyc, _)| pyc.clone()).collect();
        let results = support::batch::run_all(&python, tmp.path(), &pycs);
        for ((name, _, expected), r) in cases.iter().zip(results) {
            if r.status != "ok" {
                failures.push(format!("{name} on {v}: failed:\n{}", r.status));
            } else if &r.stdout != expected {
                failures.push(format!("{name} on {v}: stdout differs\n--- expected\n{expected}--- got\n{}", r.stdout));
            } else {
                *passed.entry(v).or_default() += 1;
            }
        }
    }
    let total: usize = passed.values().sum();
    eprintln!("tiny programs: {total} runs passed ({} programs × {} versions): {passed:?}", files.len(), runs.len());
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}

/// tinyc's own mistakes are reported before any pyasm is written, at the Tiny line and
/// column, and make it exit with status 1.
#[test]
fn tinyc_reports_mistakes_at_their_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("var x = 1;\nprint(y);\n", "bad.tiny:2:7: no variable named `y` (declare it with `var y = …;`)"),
        ("func f(a) { return a; }\nprint(f(1, 2));\n", "bad.tiny:2:7: `f` takes 1 argument(s), not 2"),
        ("var x = 1;\nif x < 2 < 3 { }\n", "bad.tiny:2:10: comparisons do not chain: write `a < b and b < c`"),
        ("while true {\n    break\n}\n", "bad.tiny:3:1: expected `;`, found `}`"),
        ("continue;\n", "bad.tiny:1:1: `continue` outside a loop"),
        ("var x = 1;\nfunc f() {\n    print(x);\n    var x = 2;\n}\n", "bad.tiny:4:5: `x` already means the top-level variable in this function: give the local another name"),
    ];
    for (source, message) in cases {
        let file = tmp.path().join("bad.tiny");
        std::fs::write(&file, source).unwrap();
        let out = tmp.path().join("bad.pyasm");
        let err = tinyc(&file, &out).expect_err(source);
        let first = err.lines().next().unwrap_or_default();
        assert!(first.ends_with(message), "for {source:?}: expected …{message}\ngot: {err}");
        assert!(!out.exists(), "tinyc wrote {} despite the error", out.display());
    }
}

/// tinyc gives every statement a `.line` and the file a `.filename`, so a run-time error's
/// traceback names the Tiny file and line, in every version (natives here; pyodide's
/// tracebacks come from the same code objects).
#[test]
fn tracebacks_name_the_tiny_line() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("crash.tiny");
    std::fs::write(&source, "func f(n) {\n    var x = 1;\n    return 10 / n;\n}\nprint(f(2));\nprint(f(0));\n").unwrap();
    let pyasm_file = tmp.path().join("crash.pyasm");
    tinyc(&source, &pyasm_file).unwrap();
    let out_dir = tmp.path().join("out");
    let out = Command::new(support::pyasm_bin()).arg(&pyasm_file).args(["--python", "all", "--out-dir"]).arg(&out_dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for v in &ALL_VERSIONS[..8] {
        let Some(python) = support::python_for_test(v, "tracebacks_name_the_tiny_line") else { continue };
        let o = python.command().arg(out_dir.join(format!("crash.{v}.pyc"))).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "5\n", "{v}");
        for want in ["File \"crash.tiny\", line 6, in <module>", "File \"crash.tiny\", line 3, in f", "ZeroDivisionError"] {
            assert!(stderr.contains(want), "{v}: no `{want}` in the traceback:\n{stderr}");
        }
    }
}
