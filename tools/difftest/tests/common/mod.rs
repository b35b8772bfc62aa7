//! Getting the interpreter a test needs, as the root crate's tests do (tests/support/mod.rs):
//! native first, else pyodide, installed into the cache when missing; without one the test is
//! skipped with a notice, except under CI (`CI` set), where it fails.
#![allow(dead_code)]

use pyasm::interpreters::Interpreter;
use pyasm::version::PythonVersion;

pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

pub fn interpreter(version: &str, test: &str) -> Option<Interpreter> {
    let v: PythonVersion = version.parse().expect("a version");
    match pyasm::interpreters::find_or_install(v) {
        Ok(i) => Some(i),
        Err(e) if under_ci() => panic!("{test}: CI is set but no CPython {version} could be found or installed:\n{e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// A scratch folder (pyodide sees only mounted host folders; /tmp is one of those).
pub fn scratch(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("pyasm-difftest-{test}-")).tempdir().expect("temp dir")
}
