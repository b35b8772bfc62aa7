//! The listing of a portable program (docs/format.md 1.12): `pyasm lower --listing FILE
//! --python V` and `pyasm FILE --python V --listing` print the lowered instructions with
//! their stack contents, each group under a comment holding the portable line it came from.
//!
//! `tests/portable_listing/program.pyasm` is listed for three versions whose lowering differs
//! (3.8: CALL_FUNCTION_KW and a qualname for MAKE_FUNCTION; 3.11: PUSH_NULL before the
//! callable and PRECALL; 3.14: the NULL after it, LOAD_SMALL_INT, END_FOR; POP_ITER) and
//! compared with `program.V.listing` beside it. After checking a changed listing by eye,
//!
//!     BLESS=1 cargo test --test portable_listing
//!
//! rewrites the files.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VERSIONS: &[&str] = &["3.8", "3.11", "3.14"];

fn dir() -> PathBuf {
    support::repo_root().join("tests/portable_listing")
}

fn pyasm(args: &[&str]) -> Output {
    Command::new(support::pyasm_bin()).args(args).current_dir(support::repo_root()).output().unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = pyasm(args);
    assert!(out.status.success(), "pyasm {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

fn program() -> &'static str {
    "tests/portable_listing/program.pyasm"
}

#[test]
fn lower_listing_matches_the_blessed_files() {
    let mut failures = Vec::new();
    for v in VERSIONS {
        let actual = stdout_of(&["lower", "--listing", program(), "--python", v]);
        let path = dir().join(format!("program.{v}.listing"));
        if bless() {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!("{}: the listing differs (BLESS=1 rewrites it)\n--- expected\n{expected}--- got\n{actual}", path.display())),
            Err(e) => failures.push(format!("cannot read {} ({e}); BLESS=1 writes it. The listing was:\n{actual}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every instruction row sits under a comment, and the comments are the portable lines of
/// the file (or a label, where pyasm puts a loop's exit), in the file's order within each
/// code object.
#[test]
fn every_instruction_is_under_the_portable_line_it_came_from() {
    let source = std::fs::read_to_string(support::repo_root().join(program())).unwrap();
    let written: Vec<&str> = source.lines().map(|l| l.split('#').next().unwrap().trim()).filter(|l| !l.is_empty()).collect();
    for v in VERSIONS {
        let listing = stdout_of(&["lower", "--listing", program(), "--python", v]);
        let mut at = 0; // where in `written` the previous comment was found
        let mut under_comment = false;
        let mut rows = 0;
        for line in listing.lines() {
            if line.starts_with("code ") {
                under_comment = false;
            } else if let Some(c) = line.strip_prefix("  # ") {
                let found = written[at..].iter().position(|w| *w == c);
                let Some(k) = found else { panic!("{v}: `# {c}` is not a line of the program after line {at} of its text:\n{listing}") };
                at += k;
                under_comment = true;
            } else if line.trim_start().starts_with(|c: char| c.is_ascii_digit()) {
                assert!(under_comment, "{v}: an instruction before any portable line:\n{line}\n{listing}");
                // The stack contents follow the depths (the typed verifier's kinds).
                assert!(line.contains("] -> "), "{v}: no stack contents in\n{line}");
                rows += 1;
            }
        }
        assert!(rows >= 20, "{v}: only {rows} instructions listed:\n{listing}");
    }
}

/// Assembling with `--listing` prints the same listing as `pyasm lower --listing`.
#[test]
fn assembling_with_listing_prints_the_same_listing() {
    let tmp = tempfile::tempdir().unwrap();
    for v in VERSIONS {
        let pyc = tmp.path().join(format!("program.{v}.pyc"));
        let assembled = stdout_of(&[program(), "--python", v, "--listing", "-o", pyc.to_str().unwrap()]);
        assert!(Path::new(&pyc).is_file(), "{v}: no .pyc written");
        let lowered = stdout_of(&["lower", "--listing", program(), "--python", v]);
        assert_eq!(assembled, lowered, "{v}: the listings differ");
        let checked = stdout_of(&["check", "--listing", program(), "--python", v]);
        assert_eq!(checked, lowered, "{v}: check --listing differs");
    }
}

/// A version-specific file's listing has no portable comments, and `pyasm lower --listing`
/// refuses it as `pyasm lower` does.
#[test]
fn a_version_specific_file_is_listed_without_comments_and_not_lowered() {
    let listing = stdout_of(&["check", "--listing", "examples/hello.pyasm"]);
    assert!(listing.starts_with("code <module>") && !listing.contains("  # "), "{listing}");
    let out = pyasm(&["lower", "--listing", "examples/hello.pyasm", "--python", "3.11"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[E0604]: this file is not portable"), "{stderr}");
    assert!(out.stdout.is_empty(), "printed a listing for a file it does not lower");
}
