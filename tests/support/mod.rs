//! Shared helpers for the integration tests: getting real interpreters and running them.
#![allow(dead_code)]

pub use pyasm::interpreters::Interpreter;
use pyasm::version::PythonVersion;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Mutex, OnceLock};

/// True under CI (`CI` set), where a test must never pass by skipping.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some()
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
        found.entry(version.to_string()).or_insert_with(|| pyasm::interpreters::find_or_install(v)).clone()
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
