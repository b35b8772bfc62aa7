//! The portable examples (`examples/portable/NAME.pyasm`, docs/format.md 1.12; the example
//! compiler's programs are tests/backend.rs's): each is
//! assembled for every version it serves (`pyasm NAME.pyasm --python all --out-dir TMP`),
//! which must be all ten, 3.6 to 3.15, and each .pyc is run by that version's real CPython:
//! stdout must equal `NAME.out`, and the program must finish without an exception.
//!
//! The text `pyasm lower` prints for each version is assembled as an ordinary file and run
//! the same way (it must print the same).
//!
//! The .pyc files of one version run through `support::batch::run_all` (natively one process
//! each; pyodide, which costs seconds per start, once per version with its driver).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const ALL_VERSIONS: &[&str] = &["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"];

fn examples() -> Vec<PathBuf> {
    support::pyasm_files(&support::repo_root().join("examples/portable"))
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
        let pycs: Vec<PathBuf> = cases.iter().map(|(_, pyc, _)| pyc.clone()).collect();
        let results = support::batch::run_all(&python, tmp, &pycs);
        for ((name, _, expected), support::batch::RunResult { stdout, status }) in cases.iter().zip(results) {
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

/// `pyasm lower FILE --python V` prints an ordinary .pyasm file for V (docs/format.md 1.12):
/// each example's lowered text, assembled as it is, runs as the portable file does.
#[test]
fn lowered_text_assembles_and_runs_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures: Vec<String> = Vec::new();
    let mut runs: BTreeMap<&str, Vec<(String, PathBuf, String)>> = BTreeMap::new();
    for f in examples() {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(f.with_extension("out")).unwrap_or_else(|e| panic!("{name}.out: {e}"));
        for v in ALL_VERSIONS {
            let lowered = Command::new(support::pyasm_bin()).arg("lower").arg(&f).args(["--python", v]).output().unwrap();
            if !lowered.status.success() {
                failures.push(format!("{name}: pyasm lower --python {v} failed:\n{}", String::from_utf8_lossy(&lowered.stderr)));
                continue;
            }
            let text = tmp.path().join(format!("{name}.{v}.pyasm"));
            std::fs::write(&text, &lowered.stdout).unwrap();
            let pyc = tmp.path().join(format!("{name}.{v}.pyc"));
            let out = Command::new(support::pyasm_bin()).arg(&text).arg("-o").arg(&pyc).output().unwrap();
            if !out.status.success() {
                failures.push(format!("{name}: the text lowered for {v} does not assemble:\n{}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
            runs.entry(v).or_default().push((name.clone(), pyc, expected.clone()));
        }
    }
    for (v, cases) in &runs {
        let Some(python) = support::python_for_test(v, "lowered_text_assembles_and_runs_the_same") else { continue };
        let pycs: Vec<PathBuf> = cases.iter().map(|(_, pyc, _)| pyc.clone()).collect();
        for ((name, _, expected), support::batch::RunResult { stdout, status }) in cases.iter().zip(support::batch::run_all(&python, tmp.path(), &pycs)) {
            if status != "ok" {
                failures.push(format!("{name} lowered for {v}: failed:\n{status}"));
            } else if &stdout != expected {
                failures.push(format!("{name} lowered for {v}: stdout differs\n--- expected\n{expected}--- got\n{stdout}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}
