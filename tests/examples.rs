//! Runs every example program end to end, for every Python version it is written for: the
//! 3.11 examples in `examples/`, and what only one version can show in `examples/3.X/`
//! (the portable programs in `examples/portable/` are tests/portable.rs's). A file's
//! `.python` line names its versions (`.python 3.14, 3.15` serves both); for each one,
//! `pyasm FILE --python V -o TMP/NAME.pyc`, then that version's CPython (native, or pyodide's
//! under node, installed on demand) runs `TMP/NAME.pyc`, which must exit with status 0 and
//! print exactly `NAME.out`.
//!
//! All runs happen (two at a time) and every failure is reported together, each with the
//! stderr of the step that failed. A version without an interpreter is skipped with a message,
//! or fails when `CI` is set.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use support::Interpreter;
use std::process::{Command, Output};

/// The examples are part of the documentation; a few must always be there.
const MIN_EXAMPLES: usize = 12;

/// `examples/*.pyasm`, sorted by name.
fn example_files() -> Vec<PathBuf> {
    support::pyasm_files(&support::repo_root().join("examples"))
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
fn check_example(source: &Path, python: &Interpreter, version: &str, tmp: &Path) -> Result<(), String> {
    let name = source.file_stem().expect("example without a name").to_string_lossy().into_owned();
    let tmp = &tmp.join(format!("{name}-{version}"));
    std::fs::create_dir_all(tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let expected_path = source.with_extension("out");
    let expected = std::fs::read_to_string(&expected_path)
        .map_err(|e| format!("cannot read the expected output {}: {e}", expected_path.display()))?;
    let pyc = tmp.join(format!("{name}.pyc"));

    let assembled = run(Command::new(support::pyasm_bin()).arg(source).args(["--python", version, "-o"]).arg(&pyc))?;
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

/// The versions a file's `.python` line names (`.python 3.14, 3.15`).
fn declared_versions(source: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(source).unwrap_or_default();
    let line = text.lines().find(|l| l.trim_start().starts_with(".python")).unwrap_or("");
    line.trim_start()[".python".len().min(line.trim_start().len())..]
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// `examples/3.X/*.pyasm` for every version folder, sorted.
fn versioned_example_files() -> Vec<PathBuf> {
    let dir = support::repo_root().join("examples");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("cannot list examples/") {
        let path = entry.expect("cannot list examples/").path();
        let is_version = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.parse::<pyasm::version::PythonVersion>().is_ok());
        if path.is_dir() && is_version {
            files.extend(support::pyasm_files(&path));
        }
    }
    files.sort();
    files
}

/// `examples/portable/*.pyasm`: each serves every version of its `.python` range (run by
/// tests/portable.rs).
fn portable_example_files() -> Vec<PathBuf> {
    support::pyasm_files(&support::repo_root().join("examples/portable"))
}

/// Every version has programs to learn from: the portable ones that serve it, and the
/// per-version ones written for it (what only that version can show, examples/README.md).
#[test]
fn every_supported_version_has_examples() {
    let files: Vec<PathBuf> = example_files().into_iter().chain(versioned_example_files()).collect();
    let mut sources = pyasm::diagnostics::SourceFiles::new();
    let portable: Vec<Vec<String>> = portable_example_files()
        .iter()
        .map(|p| {
            let (id, _) = sources.add_bytes(p.display().to_string(), std::fs::read(p).unwrap());
            let served = pyasm::served_versions(&sources, id).unwrap_or_else(|| panic!("{} is not portable", p.display()));
            served.iter().map(|v| v.to_string()).collect()
        })
        .collect();
    for v in pyasm::version::supported() {
        let v = v.to_string();
        let own = files.iter().filter(|f| declared_versions(f).contains(&v)).count();
        let shared = portable.iter().filter(|served| served.contains(&v)).count();
        assert!(own + shared >= 10, "only {} examples are written for Python {v} ({own} of its own, {shared} portable)", own + shared);
    }
}

#[test]
fn every_example_runs_and_prints_its_out_file() {
    let files: Vec<PathBuf> = example_files().into_iter().chain(versioned_example_files()).collect();
    assert!(!files.is_empty(), "no examples/*.pyasm found");
    let tmp = tempfile::Builder::new()
        .prefix("pyasm-examples-")
        .tempdir()
        .expect("cannot create a temporary directory");

    // (file, version) pairs, each version's interpreter found (or installed) once.
    let mut interpreters: std::collections::BTreeMap<String, Option<Interpreter>> = Default::default();
    let mut runs: Vec<(PathBuf, String)> = Vec::new();
    for source in &files {
        let versions = declared_versions(source);
        assert!(!versions.is_empty(), "{} has no `.python` line", source.display());
        for v in versions {
            interpreters.entry(v.clone()).or_insert_with(|| support::python_for_test(&v, "examples"));
            runs.push((source.clone(), v));
        }
    }
    let runs: Vec<&(PathBuf, String)> = runs.iter().filter(|(_, v)| interpreters[v].is_some()).collect();

    // Pyodide takes seconds to start: two runs at a time.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((source, v)) = runs.get(i) else { break };
                let python = interpreters[v].as_ref().expect("filtered above");
                if let Err(why) = check_example(source, python, v, tmp.path()) {
                    failures.lock().unwrap().push(format!("--- {} (Python {v}: {})\n{why}", source.display(), python.describe()));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} example runs failed:\n\n{}", failures.len(), runs.len(), failures.join("\n"));
    eprintln!("{} example runs assembled and ran as expected", runs.len());
}
