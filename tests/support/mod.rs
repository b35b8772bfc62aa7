//! Shared helpers for the integration tests: getting real interpreters and running them.
#![allow(dead_code)]

pub use pyasm::interpreters::Interpreter;
use pyasm::version::PythonVersion;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Mutex, OnceLock};

pub mod batch;

/// True under CI (`CI` set, as CI services set it, to anything but empty, `0` or `false`),
/// where a test must never pass by skipping.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The CPython `version` (`"3.11"`) a test needs: a native one, else pyodide's, installed into
/// the cache when missing (`pyasm::interpreters::find_or_install`). Without one the test is
/// skipped with a notice, except under CI, where a missing interpreter must fail rather than
/// pass silently.
///
/// Looked up once per test binary and version: tests run in parallel threads, and one
/// install is enough for all of them.
pub fn python_for_test(version: &str, test: &str) -> Option<Interpreter> {
    static FOUND: OnceLock<Mutex<HashMap<String, Result<Interpreter, String>>>> = OnceLock::new();
    let v: PythonVersion = version.parse().unwrap_or_else(|e| panic!("{test}: {e}"));
    let result = {
        let mut found = FOUND.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        found.entry(version.to_string()).or_insert_with(|| find_or_install(v)).clone()
    };
    match result {
        Ok(i) => Some(i),
        Err(e) if under_ci() => panic!("{test}: CI is set but no CPython {version} could be found or installed:\n{e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// `pyasm::interpreters::find_or_install`, except that an install that failed is not tried
/// again by the other test binaries of the same `cargo test` run (their common parent): each
/// would repeat it, and without a network npm takes long to give up.
fn find_or_install(v: PythonVersion) -> Result<Interpreter, String> {
    if let Some(found) = pyasm::interpreters::find(v) {
        return Ok(found);
    }
    let run = std::os::unix::process::parent_id();
    let marker = std::env::temp_dir().join(format!("pyasm-tests-install-failed-{v}-{run}"));
    let recent = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        // A process id is reused eventually; a run does not last an hour.
        .is_some_and(|age| age.as_secs() < 3600);
    if recent {
        let why = std::fs::read_to_string(&marker).unwrap_or_default();
        return Err(format!("{why}\n(an earlier test binary of this run failed to install it; delete {} to retry)", marker.display()));
    }
    let result = pyasm::interpreters::find_or_install(v);
    match &result {
        Err(e) => {
            let _ = std::fs::write(&marker, e);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(&marker);
        }
    }
    result
}

/// Runs `python -c SCRIPT ARGS…` and returns its output.
pub fn run_python(python: &Interpreter, script: &str, args: &[&str]) -> Output {
    python.command().arg("-c").arg(script).args(args).output().expect("failed to start python")
}

/// The path of the built `pyasm` binary.
pub fn pyasm_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pyasm"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.pyasm` files directly in `dir`, sorted (a test's list of examples).
pub fn pyasm_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())).path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "pyasm"))
        .collect();
    files.sort();
    files
}

/// Versions pyasm has tables for but whose round trip (`pyasm dis` then `pyasm`, to equal code
/// objects) is not implemented yet: issue 7 brings 3.6–3.10 in stages. Tests that go over every
/// supported version (the stdlib round trip, the examples' minimum count, …) skip these with a
/// printed notice instead of failing. The one list: shrink it as each version lands.
pub const ROUND_TRIP_NOT_READY: &[&str] = &[];

/// True (after printing a notice naming `test`) where `version` is in [`ROUND_TRIP_NOT_READY`].
pub fn round_trip_not_ready(version: &str, test: &str) -> bool {
    let skip = ROUND_TRIP_NOT_READY.contains(&version);
    if skip {
        eprintln!("SKIPPED {test} for Python {version}: its round trip is not implemented yet (tests/support ROUND_TRIP_NOT_READY)");
    }
    skip
}
