//! Shared helpers for the integration tests: finding real interpreters and running them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A native CPython of the given version (`"3.11"`), if this machine has one.
/// Looks at `PYASM_PYTHON_3_11`-style variables, then pyenv's versions, then `python3.11` and
/// `python3` on PATH.
pub fn native_python(version: &str) -> Option<PathBuf> {
    let var = format!("PYASM_PYTHON_{}", version.replace('.', "_"));
    if let Some(p) = std::env::var_os(&var) {
        return Some(PathBuf::from(p));
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(root) = std::env::var("PYENV_ROOT")
        .or_else(|_| std::env::var("HOME").map(|h| format!("{h}/.pyenv")))
    {
        if let Ok(dir) = std::fs::read_dir(Path::new(&root).join("versions")) {
            let mut found: Vec<PathBuf> = dir
                .filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n == version || n.starts_with(&format!("{version}."))
                })
                .map(|e| e.path().join("bin/python3"))
                .collect();
            found.sort();
            candidates.extend(found.into_iter().rev());
        }
    }
    candidates.push(PathBuf::from(format!("python{version}")));
    candidates.push(PathBuf::from("python3"));
    candidates.into_iter().find(|p| reports_version(p, version))
}

fn reports_version(python: &Path, version: &str) -> bool {
    Command::new(python)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == version)
        .unwrap_or(false)
}

/// Runs `python -c SCRIPT ARGS…` and returns its output.
pub fn run_python(python: &Path, script: &str, args: &[&str]) -> Output {
    Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("failed to start python")
}

/// The path of the built `pyasm` binary.
pub fn pyasm_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pyasm"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The native interpreter a test needs. Without one the test is skipped with a notice, except
/// under CI (`CI` set), where a missing interpreter must fail rather than pass silently.
pub fn python_for_test(version: &str, test: &str) -> Option<PathBuf> {
    if let Some(p) = native_python(version) {
        return Some(p);
    }
    let var = format!("PYASM_PYTHON_{}", version.replace('.', "_"));
    if std::env::var_os("CI").is_some() {
        panic!("{test}: CI is set but no CPython {version} interpreter was found (set {var} to one)");
    }
    eprintln!("SKIPPED {test}: no CPython {version} interpreter found (set {var} to one)");
    None
}
