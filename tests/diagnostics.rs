//! Expected-diagnostic tests, stored as data (in the style of wasm-tools' tests).
//!
//! Each `tests/diagnostics/NAME.pyasm` is a small program with one or more mistakes; its first
//! line is a comment saying what it tests. Beside it, `NAME.stderr` holds the exact output of
//!
//!     pyasm check tests/diagnostics/NAME.pyasm --color never
//!
//! run from the repository root (so the paths in the output are relative), followed by a last
//! line `exit status: N`.
//!
//! Linker cases are folders: `tests/diagnostics/NAME/` holds the `.pyasm` files of one module
//! (its first file, by name, starts with the comment), checked together with
//!
//!     pyasm check tests/diagnostics/NAME/A.pyasm tests/diagnostics/NAME/B.pyasm … --color never
//!
//! (files in name order; subfolders are not inputs, so they can hold included files). A folder
//! whose name starts with `link_` is an application instead: its entries (files and package
//! folders, in name order) are given to `pyasm link … -o TMP/app.pyz`, after the arguments
//! in its `ARGS` file if there is one (e.g. `--main NAME`). The expected output is
//! `tests/diagnostics/NAME.stderr`, beside the folder.
//!
//! A folder whose name starts with `cli_` is a command line of its own, for what depends on
//! how pyasm is called (option placement, how a file is named): its `ARGS` file starts with a
//! comment saying what it tests and then holds the whole command line after `pyasm`, run with
//! the case's folder as the current directory (so paths in the output are as a user in that
//! folder writes them). `$OUT` in `ARGS` is a fresh temporary folder for outputs, written
//! back as `$OUT` in the output.
//!
//! To accept the current output as the expected one (after checking it by eye), run
//!
//!     BLESS=1 cargo test --test diagnostics
//!
//! which rewrites every `.stderr` file (and writes missing ones). `DIAGNOSTICS_FILTER=word`
//! runs only the cases whose name contains `word`.
//!
//! Two ways to run, from the same file:
//! * as an ordinary test target (the default, no Cargo.toml entry needed): one `#[test]` that
//!   checks every case and reports every mismatch;
//! * with `[[test]] name = "diagnostics"  harness = false` in Cargo.toml: `main` below lists
//!   each case as its own test through libtest-mimic (so `cargo test --test diagnostics NAME`
//!   filters, and failures are reported per case).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

const CASES_DIR: &str = "tests/diagnostics";

/// One data file (or folder), named by its stem.
struct Case {
    name: String,
    /// Relative to the repository root, with `/` separators (it appears in the output): the
    /// file, or the folder's first file.
    source: String,
    /// The arguments of pyasm (after the program name).
    args: Vec<String>,
    expected: PathBuf,
    /// Where pyasm runs, relative to the repository root (`cli_` cases: their folder).
    cwd: String,
    /// `cli_` cases: the temporary folder that `$OUT` stands for.
    out: Option<PathBuf>,
}

/// The entries of a folder case, relative to the repository root, in name order: its
/// `.pyasm` files, and for `link_` cases also its subfolders.
fn folder_inputs(dir: &Path, name: &str, link: bool) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pyasm") || (link && p.is_dir()))
        .map(|p| format!("{CASES_DIR}/{name}/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

fn cases() -> Vec<Case> {
    let dir = support::repo_root().join(CASES_DIR);
    let mut out: Vec<Case> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pyasm") || p.is_dir())
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let expected = dir.join(format!("{name}.stderr"));
            if !p.is_dir() {
                let source = format!("{CASES_DIR}/{name}.pyasm");
                let args = vec!["check".into(), source.clone(), "--color".into(), "never".into()];
                return Case { source, args, expected, name, cwd: String::new(), out: None };
            }
            if name.starts_with("cli_") {
                let source = format!("{CASES_DIR}/{name}/ARGS");
                let out = std::env::temp_dir().join(format!("pyasm-diagnostics-{}-{name}", std::process::id()));
                let text = std::fs::read_to_string(p.join("ARGS")).unwrap_or_else(|e| panic!("{name}: cannot read its ARGS: {e}"));
                let line: String = text.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join(" ");
                let args = line.split_whitespace().map(|a| a.replace("$OUT", &out.display().to_string())).collect();
                return Case { source, args, expected, name: name.clone(), cwd: format!("{CASES_DIR}/{name}"), out: Some(out) };
            }
            let link = name.starts_with("link_");
            let inputs = folder_inputs(&p, &name, link);
            let source = inputs.iter().find(|i| i.ends_with(".pyasm")).cloned().unwrap_or_default();
            let mut args: Vec<String> = Vec::new();
            if link {
                args.push("link".into());
                if let Ok(extra) = std::fs::read_to_string(p.join("ARGS")) {
                    args.extend(extra.split_whitespace().map(String::from));
                }
                let out = std::env::temp_dir().join(format!("pyasm-diagnostics-{}-{name}.pyz", std::process::id()));
                args.extend(["-o".to_string(), out.display().to_string()]);
            } else {
                args.push("check".into());
            }
            args.extend(inputs);
            args.extend(["--color".to_string(), "never".to_string()]);
            Case { source, args, expected, name, cwd: String::new(), out: None }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if let Ok(filter) = std::env::var("DIAGNOSTICS_FILTER") {
        out.retain(|c| c.name.contains(&filter));
    }
    out
}

fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs `pyasm check` on a case: its stderr plus the `exit status:` line. Anything on stdout
/// (there should be nothing) is appended under a marker so that it shows up as a difference.
fn actual_output(case: &Case) -> String {
    if let Some(dir) = &case.out {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    let out = Command::new(support::pyasm_bin())
        .args(&case.args)
        .current_dir(support::repo_root().join(&case.cwd))
        .env_remove("NO_COLOR")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run pyasm: {e}"));
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.stdout.is_empty() {
        text.push_str("--- stdout ---\n");
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    match out.status.code() {
        Some(code) => text.push_str(&format!("exit status: {code}\n")),
        None => text.push_str(&format!("exit status: killed ({})\n", out.status)),
    }
    if let Some(dir) = &case.out {
        text = text.replace(&dir.display().to_string(), "$OUT");
        let _ = std::fs::remove_dir_all(dir);
    }
    text
}

/// Checks (or, when blessing, rewrites) one case. `Err` carries a readable report.
fn run_case(case: &Case) -> Result<(), String> {
    // The convention: the first line says what the case tests.
    // (Read as bytes: a case may be deliberately not UTF-8.)
    let source = std::fs::read(support::repo_root().join(&case.source))
        .map_err(|e| format!("{}: cannot read {}: {e}", case.name, case.source))?;
    if !source.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&source).starts_with(b"#") {
        return Err(format!("{}: the first line of {} must be a comment saying what it tests", case.name, case.source));
    }
    let actual = actual_output(case);
    if blessing() {
        return std::fs::write(&case.expected, &actual)
            .map_err(|e| format!("cannot write {}: {e}", case.expected.display()));
    }
    let expected = match std::fs::read_to_string(&case.expected) {
        // A checkout that turned line endings into CRLF must not fail every case.
        Ok(text) => text.replace("\r\n", "\n"),
        Err(e) => {
            return Err(format!(
                "{}: cannot read {} ({e}); run with BLESS=1 to create it. The output was:\n{actual}",
                case.name,
                rel(&case.expected)
            ));
        }
    };
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{}: the output of `pyasm {}` differs from {}\n{}",
            case.name,
            case.args.join(" "),
            rel(&case.expected),
            diff(&expected, &actual)
        ))
    }
}

/// `.stderr` files whose `.pyasm` is gone.
fn orphans() -> Vec<String> {
    let dir = support::repo_root().join(CASES_DIR);
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "stderr") && !p.with_extension("pyasm").exists() && !p.with_extension("").is_dir())
        .map(|p| rel(&p))
        .collect();
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(support::repo_root()).unwrap_or(p).to_string_lossy().replace('\\', "/")
}

/// A unified-looking diff of two texts (line-based, longest common subsequence), showing
/// three lines of context around each change.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    // (tag, expected line number, text)
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i + 1, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i + 1, a[i]));
            i += 1;
        } else {
            ops.push(('+', i + 1, b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = ops.iter().enumerate().filter(|(_, o)| o.0 != ' ').map(|(k, _)| k).collect();
    let mut out = String::from("--- expected\n+++ actual\n");
    let Some(&first) = changed.first() else {
        // Same lines; the texts differ only in line endings or a final newline.
        out.push_str(&format!("(the texts differ only in line endings: expected {expected:?}, actual {actual:?})\n"));
        return out;
    };
    out.push_str(&format!("@@ first difference at expected line {} @@\n", ops[first].1));
    let mut shown_until = 0usize;
    for &k in &changed {
        let from = k.saturating_sub(CONTEXT).max(shown_until);
        if from > shown_until && shown_until > 0 {
            out.push_str("@@ … @@\n");
        }
        let to = (k + CONTEXT + 1).min(ops.len());
        for op in &ops[from..to.max(from)] {
            out.push(op.0);
            out.push_str(op.2);
            out.push('\n');
        }
        shown_until = shown_until.max(to);
    }
    out
}

/// The default mode: one test that checks every case and reports every mismatch.
#[test]
fn expected_diagnostics() {
    let cases = cases();
    assert!(!cases.is_empty() || std::env::var_os("DIAGNOSTICS_FILTER").is_some(), "no cases in {CASES_DIR}");
    let mut failures: Vec<String> = cases.iter().filter_map(|c| run_case(c).err()).collect();
    for o in orphans() {
        failures.push(format!("{o} has no .pyasm beside it; delete it"));
    }
    if blessing() {
        eprintln!("blessed {} cases in {CASES_DIR}", cases.len());
    }
    if !failures.is_empty() {
        panic!(
            "{} problem(s) in {} diagnostic cases (rerun with BLESS=1 to accept the new output after checking it):\n\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}

/// With `harness = false`: each case is its own test (libtest-mimic). Under the default
/// harness (`--test`) this function is not the entry point, and `#[test]` above is used instead.
#[allow(dead_code)]
fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials: Vec<libtest_mimic::Trial> = cases()
        .into_iter()
        .map(|c| libtest_mimic::Trial::test(c.name.clone(), move || run_case(&c).map_err(Into::into)))
        .collect();
    trials.push(libtest_mimic::Trial::test("no_orphaned_stderr_files", || {
        let o = orphans();
        if o.is_empty() { Ok(()) } else { Err(format!("no .pyasm beside: {}", o.join(", ")).into()) }
    }));
    libtest_mimic::run(&args, trials).exit();
}
