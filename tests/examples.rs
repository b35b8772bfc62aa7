//! Runs every example program end to end: for each `examples/NAME.pyasm` (not in
//! subfolders), `pyasm NAME.pyasm -o TMP/NAME.pyc`, then `python3.11 TMP/NAME.pyc`, which must
//! exit with status 0 and print exactly `examples/NAME.out`.
//!
//! All examples are run and every failure is reported together, each with the stderr of the
//! step that failed. Without a 3.11 interpreter the run is skipped with a message, or fails
//! when `CI` is set.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use support::Interpreter;
use std::process::{Command, Output};

/// The examples are part of the documentation; a few must always be there.
const MIN_EXAMPLES: usize = 12;

/// `examples/*.pyasm`, sorted by name.
fn example_files() -> Vec<PathBuf> {
    let dir = support::repo_root().join("examples");
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("cannot list examples/").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "pyasm"))
        .collect();
    files.sort();
    files
}

fn python_3_11() -> Option<Interpreter> {
    support::python_for_test("3.11", "examples")
}

fn run(command: &mut Command) -> Result<Output, String> {
    command.output().map_err(|e| format!("could not start {:?}: {e}", command.get_program()))
}

fn show_status_and_stderr(what: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    format!("{what} exited with {}; its stderr:\n{}", out.status, indent(&stderr))
}

fn indent(text: &str) -> String {
    if text.trim().is_empty() {
        return "    (empty)\n".to_string();
    }
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Where two outputs first differ, for the failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.split_inclusive('\n'), actual.split_inclusive('\n'));
    let mut line = 1;
    loop {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                return format!(
                    "first difference at line {line}: expected {:?}, got {:?}",
                    x.unwrap_or("<end of output>"),
                    y.unwrap_or("<end of output>")
                );
            }
        }
    }
}

/// Assembles and runs one example; `Err` describes what went wrong.
fn check_example(source: &Path, python: &Interpreter, tmp: &Path) -> Result<(), String> {
    let name = source.file_stem().expect("example without a name").to_string_lossy().into_owned();
    let expected_path = source.with_extension("out");
    let expected = std::fs::read_to_string(&expected_path)
        .map_err(|e| format!("cannot read the expected output {}: {e}", expected_path.display()))?;
    let pyc = tmp.join(format!("{name}.pyc"));

    let assembled = run(Command::new(support::pyasm_bin()).arg(source).arg("-o").arg(&pyc))?;
    if !assembled.status.success() {
        return Err(show_status_and_stderr("pyasm", &assembled));
    }
    if !pyc.is_file() {
        return Err(format!(
            "pyasm succeeded but wrote no {}; its stderr:\n{}",
            pyc.display(),
            indent(&String::from_utf8_lossy(&assembled.stderr))
        ));
    }

    // Run from the temporary directory so nothing in the repository can be imported by accident.
    let ran = run(python.command().arg(&pyc).current_dir(tmp))?;
    if !ran.status.success() {
        let mut message = show_status_and_stderr("python", &ran);
        let _ = write!(message, "  its stdout:\n{}", indent(&String::from_utf8_lossy(&ran.stdout)));
        return Err(message);
    }
    let actual = String::from_utf8_lossy(&ran.stdout);
    if actual != expected {
        return Err(format!(
            "stdout differs from {}: {}\n  expected:\n{}  got:\n{}  python's stderr:\n{}",
            expected_path.display(),
            first_difference(&expected, &actual),
            indent(&expected),
            indent(&actual),
            indent(&String::from_utf8_lossy(&ran.stderr))
        ));
    }
    Ok(())
}

#[test]
fn there_are_enough_examples() {
    let files = example_files();
    assert!(
        files.len() >= MIN_EXAMPLES,
        "expected at least {MIN_EXAMPLES} examples/*.pyasm, found {}: {:?}",
        files.len(),
        files
    );
}

#[test]
fn every_example_runs_and_prints_its_out_file() {
    let Some(python) = python_3_11() else { return };
    let files = example_files();
    assert!(!files.is_empty(), "no examples/*.pyasm found");
    let tmp = tempfile::Builder::new()
        .prefix("pyasm-examples-")
        .tempdir()
        .expect("cannot create a temporary directory");

    let mut failures = Vec::new();
    for source in &files {
        if let Err(why) = check_example(source, &python, tmp.path()) {
            failures.push(format!("--- {}\n{why}", source.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples failed (python: {}):\n\n{}",
        failures.len(),
        files.len(),
        python.describe(),
        failures.join("\n")
    );
    eprintln!("{} examples assembled and ran as expected", files.len());
}
