//! The portable examples (`examples/portable/NAME.pyasm`, docs/format.md 1.12; the example
//! compiler's programs are tests/backend.rs's): each is
//! assembled for every version it serves (`pyasm NAME.pyasm --python all --out-dir TMP`),
//! which must be all ten, 3.6 to 3.15, and each .pyc is run by that version's real CPython:
//! stdout must equal `NAME.out`, and the program must finish without an exception.
//!
//! Native interpreters run each .pyc as `python X.pyc`. Pyodide (3.14, 3.15 here) costs
//! seconds per start, so it is started once per version with a small driver that runs every
//! .pyc of that version in turn (each as `__main__`, in a fresh namespace) and reports each
//! one's output as a JSON line.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const ALL_VERSIONS: &[&str] = &["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"];

/// The driver pyodide runs: every .pyc named on its command line, one JSON line each.
const DRIVER: &str = r#"
import io, json, marshal, sys, traceback, contextlib
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        data = f.read()
    code = marshal.loads(data[16:])
    out = io.StringIO()
    status = 'ok'
    try:
        with contextlib.redirect_stdout(out):
            exec(code, {'__name__': '__main__', '__builtins__': __builtins__})
    except BaseException:
        status = traceback.format_exc()
    print(json.dumps({'path': path, 'out': out.getvalue(), 'status': status}))
"#;

fn examples() -> Vec<PathBuf> {
    let dir = support::repo_root().join("examples/portable");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pyasm"))
        .collect();
    v.sort();
    v
}

/// Pulls the string value of `key` out of one of the driver's JSON lines.
fn json_field(line: &str, key: &str) -> Option<String> {
    // The driver writes plain json.dumps objects; a tiny reader is enough.
    let start = line.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Assembles each `(name, source, expected stdout)` for all ten versions and runs each .pyc
/// in its version's interpreter; returns how many runs passed, and panics listing every
/// failure.
fn run_everywhere(test: &str, programs: &[(String, PathBuf, String)], tmp: &Path) -> usize {
    let mut failures: Vec<String> = Vec::new();
    // version → [(program name, pyc, expected)]
    let mut runs: BTreeMap<&str, Vec<(String, PathBuf, String)>> = BTreeMap::new();
    for (name, file, expected) in programs {
        let out_dir = tmp.join(name);
        let out = Command::new(support::pyasm_bin()).arg(file).args(["--python", "all", "--out-dir"]).arg(&out_dir).output().unwrap();
        if !out.status.success() {
            failures.push(format!("{name}: pyasm failed:\n{}", String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        for v in ALL_VERSIONS {
            let pyc = out_dir.join(format!("{name}.{v}.pyc"));
            if !pyc.exists() {
                failures.push(format!("{name}: no .pyc for {v} (every portable program here serves 3.6-3.15)"));
                continue;
            }
            runs.entry(v).or_default().push((name.clone(), pyc, expected.clone()));
        }
    }
    let mut passed = 0;
    for (v, cases) in &runs {
        let Some(python) = support::python_for_test(v, test) else { continue };
        let results: Vec<(String, String)> = if python.is_pyodide() {
            run_with_driver(&python, tmp, cases)
        } else {
            cases
                .iter()
                .map(|(_, pyc, _)| {
                    let o = python.command().arg(pyc).output().unwrap();
                    let status = if o.status.success() { "ok".to_string() } else { String::from_utf8_lossy(&o.stderr).into_owned() };
                    (String::from_utf8_lossy(&o.stdout).into_owned(), status)
                })
                .collect()
        };
        for ((name, _, expected), (stdout, status)) in cases.iter().zip(results) {
            if status != "ok" {
                failures.push(format!("{name} on {v}: failed:\n{status}"));
            } else if &stdout != expected {
                failures.push(format!("{name} on {v}: stdout differs\n--- expected\n{expected}--- got\n{stdout}"));
            } else {
                passed += 1;
            }
        }
    }
    eprintln!("{test}: {passed} runs passed ({} programs × {} versions)", programs.len(), runs.len());
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
    passed
}

#[test]
fn portable_examples_run_on_every_version() {
    let files = examples();
    assert!(files.len() >= 15, "examples/portable holds {} programs", files.len());
    let programs: Vec<(String, PathBuf, String)> = files
        .iter()
        .map(|f| {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            let expected = std::fs::read_to_string(f.with_extension("out")).unwrap_or_else(|e| panic!("{name}.out: {e}"));
            (name, f.clone(), expected)
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    run_everywhere("portable_examples_run_on_every_version", &programs, tmp.path());
}

/// Runs every case of one version in one interpreter start.
fn run_with_driver(python: &support::Interpreter, tmp: &Path, cases: &[(String, PathBuf, String)]) -> Vec<(String, String)> {
    let driver = tmp.join("driver.py");
    std::fs::write(&driver, DRIVER).unwrap();
    let o = python.command().arg(&driver).args(cases.iter().map(|(_, p, _)| p)).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let mut by_path: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in text.lines() {
        if let (Some(p), Some(out), Some(status)) = (json_field(line, "path"), json_field(line, "out"), json_field(line, "status")) {
            by_path.insert(p, (out, status));
        }
    }
    cases
        .iter()
        .map(|(_, p, _)| {
            by_path.get(&p.display().to_string()).cloned().unwrap_or_else(|| {
                (String::new(), format!("the driver reported nothing (exit {}); its stderr:\n{}", o.status, String::from_utf8_lossy(&o.stderr)))
            })
        })
        .collect()
}
