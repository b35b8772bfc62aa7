//! The Python package (pyproject.toml, python/pyasm/, src/python/) against its pytest suite,
//! `tests/python/`, one trial per native CPython on this machine that the wheel supports:
//!
//! 1. once: a build environment with maturin from PyPI (pinned, [`MATURIN`]) builds the abi3
//!    wheel, in the dev profile and the same target folder as `cargo test` (so only the
//!    extension itself and PyO3 are compiled again);
//! 2. per interpreter: a fresh virtual environment gets the wheel and the pinned pytest
//!    (`tests/python/requirements.txt`), and runs the suite with `PYASM_REPO` (this checkout)
//!    and `PYASM_BIN` (the Rust binary, which the installed command must match).
//!
//! The interpreters are found as `pyasm::interpreters` finds them (`PYASM_PYTHON_3_X`,
//! pyenv's versions, `python3.X` and `python3` on PATH), for every version from the wheel's
//! `requires-python` on; pyodide cannot load a compiled extension, so only native ones count.
//! Without any, the test is skipped with a notice, and fails under CI. docs/python.md's
//! examples are 3.11 code (tests/python/test_docs.py runs them only there), so under CI a 3.11
//! must be among them.
//!
//! Everything lives in `target/tmp/python-package/` (the build environment and pip's
//! downloads are kept between runs).

mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use pyasm::interpreters::Interpreter;
use pyasm::version::PythonVersion;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// The maturin that builds the wheel in the tests (pyproject.toml allows any 1.x from 1.16).
const MATURIN: &str = "1.16.0";
/// The version the documentation's examples are written for.
const DOCS_VERSION: PythonVersion = PythonVersion::new(3, 11);

fn main() {
    let args = Arguments::from_args();
    let floor = requires_python();
    let pythons: Vec<Interpreter> =
        pyasm::version::supported().filter(|v| *v >= floor).filter_map(pyasm::interpreters::find_native).collect();
    let mut trials: Vec<Trial> = pythons
        .iter()
        .map(|p| {
            let p = p.clone();
            let v = p.version();
            Trial::test(format!("python_package_under_cpython_{}_{}", v.major, v.minor), move || suite(&p))
        })
        .collect();
    let found: Vec<PythonVersion> = pythons.iter().map(Interpreter::version).collect();
    trials.push(Trial::test("python_package_interpreters", move || {
        let missing = if found.is_empty() {
            Some(format!("no native CPython {floor} or newer was found (pyenv's versions, python3.X or python3 on PATH)"))
        } else if !found.contains(&DOCS_VERSION) {
            Some(format!("no native CPython {DOCS_VERSION}, which docs/python.md's examples need"))
        } else {
            None
        };
        match missing {
            Some(m) if support::under_ci() => Err(format!("CI is set but {m}").into()),
            Some(m) => {
                eprintln!("SKIPPED python package tests: {m}");
                Ok(())
            }
            None => Ok(()),
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}

/// The oldest version the wheel supports: pyproject.toml's `requires-python = ">=3.X"`.
fn requires_python() -> PythonVersion {
    let text = std::fs::read_to_string(support::repo_root().join("pyproject.toml")).expect("pyproject.toml");
    let line = text.lines().find(|l| l.trim_start().starts_with("requires-python")).expect("requires-python in pyproject.toml");
    let value = line.split('"').nth(1).and_then(|v| v.strip_prefix(">=")).expect("requires-python = \">=3.X\"");
    value.parse().expect("a version")
}

fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-package")
}

/// Runs a command; `Err` has its output when it fails.
fn run(what: &str, cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{what}: cannot run {cmd:?}: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(format!("{what} failed ({}): {cmd:?}\n{text}", out.status)) }
}

fn native_path(p: &Interpreter) -> &Path {
    match p {
        Interpreter::Native { path, .. } => path,
        Interpreter::Pyodide { .. } => unreachable!("find_native finds native interpreters only"),
    }
}

/// The wheel, built once per test run by whichever trial needs it first.
fn wheel() -> Result<PathBuf, String> {
    static WHEEL: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    WHEEL.get_or_init(build_wheel).clone()
}

fn build_wheel() -> Result<PathBuf, String> {
    let work = work_dir();
    let versions: Vec<PythonVersion> = pyasm::version::supported().collect();
    let python = versions.into_iter().rev().find_map(pyasm::interpreters::find_native).ok_or("no native CPython to run maturin")?;
    let venv = work.join("build-venv");
    let maturin = venv.join("bin").join("maturin");
    let wanted = format!("maturin {MATURIN}");
    let installed = Command::new(&maturin).arg("--version").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == wanted);
    if !installed {
        let _ = std::fs::remove_dir_all(&venv);
        run("creating the build environment", Command::new(native_path(&python)).args(["-m", "venv"]).arg(&venv))?;
        run(
            "installing maturin",
            Command::new(venv.join("bin").join("python")).args(["-m", "pip", "install", "--disable-pip-version-check", "-q"]).arg(format!("maturin=={MATURIN}")),
        )?;
    }
    let out = work.join("wheels");
    let _ = std::fs::remove_dir_all(&out);
    run(
        "maturin build",
        Command::new(&maturin)
            .args(["build", "--locked", "--quiet", "--out"])
            .arg(&out)
            .arg("--interpreter")
            .arg(native_path(&python))
            .current_dir(support::repo_root())
            .env_remove("VIRTUAL_ENV"),
    )?;
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match wheels.as_slice() {
        [one] if one.file_name().is_some_and(|n| n.to_string_lossy().contains("-abi3-")) => Ok(one.clone()),
        other => Err(format!("maturin built {other:?}, not one abi3 wheel")),
    }
}

/// One interpreter: a fresh environment with the wheel and pytest, and the suite.
fn suite(python: &Interpreter) -> Result<(), Failed> {
    let started = Instant::now();
    let wheel = wheel()?;
    let built = started.elapsed();
    let root = support::repo_root();
    let venv = work_dir().join(format!("venv-{}", python.version()));
    let _ = std::fs::remove_dir_all(&venv);
    // Without pip of its own: the build environment's pip installs into it (`pip --python`),
    // which saves seconds per environment.
    run("creating a virtual environment", Command::new(native_path(python)).args(["-m", "venv", "--without-pip"]).arg(&venv))?;
    let venv_python = venv.join("bin").join("python");
    install(&venv_python, &wheel)?;
    let installed = started.elapsed();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![venv.join("bin")];
    dirs.extend(std::env::split_paths(&path));
    let output = run(
        "the Python tests",
        Command::new(&venv_python)
            .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
            .arg(root.join("tests/python"))
            .current_dir(work_dir())
            .env("PATH", std::env::join_paths(dirs).map_err(|e| e.to_string())?)
            .env("PYASM_REPO", &root)
            .env("PYASM_BIN", support::pyasm_bin())
            .env("PYASM_TEST_WHEEL", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .env("VIRTUAL_ENV", &venv),
    )?;
    // libtest-mimic does not capture: this is the suite's summary, under the trial's name.
    let summary = output.lines().rev().find(|l| l.contains(" passed")).unwrap_or("(no summary line)");
    println!(
        "{}: {summary} (wheel ready after {:.1}s, environment {:.1}s, tests {:.1}s)",
        python.describe(),
        built.as_secs_f64(),
        (installed - built).as_secs_f64(),
        (started.elapsed() - installed).as_secs_f64()
    );
    Ok(())
}

/// Installs the wheel and the pinned test requirements into the environment of `python`:
/// from the wheelhouse in the work folder, which is filled from PyPI when it lacks something.
fn install(python: &Path, wheel: &Path) -> Result<(), String> {
    let pip = || {
        let mut c = Command::new(work_dir().join("build-venv").join("bin").join("python"));
        c.args(["-m", "pip", "--python"]).arg(python).arg("--disable-pip-version-check").arg("-q");
        c
    };
    let requirements = support::repo_root().join("tests/python/requirements.txt");
    let wheelhouse = work_dir().join("wheelhouse");
    let offline = |what: &str| {
        run(
            what,
            pip().args(["install", "--no-compile", "--no-index", "--find-links"]).arg(&wheelhouse).arg(wheel).arg("-r").arg(&requirements),
        )
    };
    if offline("installing the wheel and pytest").is_ok() {
        return Ok(());
    }
    run("downloading pytest", pip().arg("download").arg("-d").arg(&wheelhouse).arg("-r").arg(&requirements))?;
    offline("installing the wheel and pytest").map(drop)
}
