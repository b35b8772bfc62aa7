//! The crash classes of the typed verifier (issue 12), as data: for every program shape that
//! would crash (or quietly misbehave in) the interpreter, the wrong program is refused (or
//! warned about) with the expected diagnostic, and the corrected program runs.
//!
//! `tests/crash_classes/X.Y/NAME.bad.pyasm` is the wrong program for Python X.Y (its first
//! line a comment saying what it shows); beside it `NAME.bad.stderr` holds the exact output of
//!
//!     pyasm check tests/crash_classes/X.Y/NAME.bad.pyasm --python X.Y --color never
//!
//! run from the repository root, and a last line `exit status: N` (1 for errors; 0 for a
//! warning-only class). `NAME.pyasm` is the corrected program: it must assemble without a
//! diagnostic and, run by that version's real interpreter, exit with status 0 and print
//! exactly `NAME.out`.
//!
//! `BLESS=1 cargo test --test crash_classes` rewrites the `.bad.stderr` files (read them by
//! eye afterwards).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

const DIR: &str = "tests/crash_classes";

struct Case {
    version: String,
    name: String,
    dir: PathBuf,
}

fn cases() -> Vec<Case> {
    let root = support::repo_root().join(DIR);
    let mut out = Vec::new();
    for v in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display())) {
        let dir = v.unwrap().path();
        let version = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(version.parse::<pyasm::version::PythonVersion>().is_ok(), "{} is not a version folder", dir.display());
        for f in std::fs::read_dir(&dir).unwrap() {
            let p = f.unwrap().path();
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".bad.pyasm") {
                out.push(Case { version: version.clone(), name: name.to_string(), dir: dir.clone() });
            }
        }
    }
    out.sort_by(|a, b| (&a.version, &a.name).cmp(&(&b.version, &b.name)));
    out
}

fn relative(p: &Path) -> String {
    p.strip_prefix(support::repo_root()).unwrap().to_string_lossy().replace('\\', "/")
}

/// The refusal (or warning) of the wrong program, against its `.bad.stderr`.
fn check_refusal(c: &Case, bless: bool) -> Result<(), String> {
    let bad = c.dir.join(format!("{}.bad.pyasm", c.name));
    let text = std::fs::read_to_string(&bad).unwrap();
    if !text.starts_with('#') {
        return Err(format!("{} must start with a comment saying what it shows", relative(&bad)));
    }
    let out = Command::new(support::pyasm_bin())
        .current_dir(support::repo_root())
        .args(["check", &relative(&bad), "--python", &c.version, "--color", "never"])
        .output()
        .unwrap();
    let actual = format!(
        "{}{}exit status: {}\n",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code().map_or("signal".to_string(), |c| c.to_string())
    );
    let expected_path = c.dir.join(format!("{}.bad.stderr", c.name));
    if bless {
        std::fs::write(&expected_path, &actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if expected != actual {
        return Err(format!("{} differs (BLESS=1 to accept):\n--- expected\n{expected}--- actual\n{actual}", relative(&expected_path)));
    }
    if !actual.contains("error[") && !actual.contains("warning[") {
        return Err(format!("{} is neither refused nor warned about", relative(&bad)));
    }
    Ok(())
}

/// The corrected program: no diagnostic, and it runs as `NAME.out` says.
fn check_fix(c: &Case, python: &support::Interpreter, tmp: &Path) -> Result<(), String> {
    let good = c.dir.join(format!("{}.pyasm", c.name));
    let pyc = tmp.join(format!("{}-{}.pyc", c.version, c.name));
    let out = Command::new(support::pyasm_bin()).arg(&good).args(["--python", &c.version, "--color", "never", "-o"]).arg(&pyc).output().unwrap();
    if !out.status.success() || !out.stderr.is_empty() {
        return Err(format!("{}: pyasm said:\n{}", relative(&good), String::from_utf8_lossy(&out.stderr)));
    }
    let ran = python.command().arg(&pyc).current_dir(tmp).output().unwrap();
    let expected = std::fs::read_to_string(c.dir.join(format!("{}.out", c.name))).unwrap_or_default();
    let actual = String::from_utf8_lossy(&ran.stdout);
    if !ran.status.success() || actual != expected {
        return Err(format!(
            "{}: the corrected program exited with {} and printed:\n{actual}expected:\n{expected}its stderr:\n{}",
            relative(&good),
            ran.status,
            String::from_utf8_lossy(&ran.stderr)
        ));
    }
    Ok(())
}

#[test]
fn crash_classes_are_refused_and_their_fixes_run() {
    let bless = std::env::var_os("BLESS").is_some();
    let cases = cases();
    assert!(cases.len() >= 81, "expected the crash classes under {DIR}, found {}", cases.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut interpreters = std::collections::BTreeMap::new();
    for c in &cases {
        if let Err(e) = check_refusal(c, bless) {
            failures.push(e);
        }
        let python = interpreters.entry(c.version.clone()).or_insert_with(|| support::python_for_test(&c.version, "crash classes")).clone();
        if let Some(python) = python {
            if let Err(e) = check_fix(c, &python, tmp.path()) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} crash classes failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}
