//! Each kind of interpreter (`pyasm::interpreters`) behaves like `python3` for what pyasm
//! needs: a `.py` and a `.pyc` run as `__main__` with their arguments, print byte-exact to
//! stdout and stderr, write a file in a host folder given as an argument, read stdin, and exit
//! with the status they ask for; an uncaught exception prints a traceback and exits with 1.
//!
//! The native kind is checked with the first supported version this machine has; the pyodide
//! kind with the newest supported version's pyodide, installed into the cache when missing.
//! A kind that is not available is skipped with a notice, except under CI (`CI` set), where
//! both must run.

mod support;

use pyasm::interpreters::{self, Interpreter};
use pyasm::version::{self, PythonVersion};
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

const PROGRAM: &str = r#"import sys
print("argv", sys.argv[1:], "main", __name__, "file", __file__.rsplit("/", 1)[-1])
print("non-ASCII: h\u00e9llo \u2603")
sys.stdout.flush()
sys.stderr.write("to stderr\n")
with open(sys.argv[1] + "/written.txt", "w", encoding="utf-8") as f:
    f.write("written by " + sys.argv[2])
print("stdin", repr(sys.stdin.read()))
sys.exit(3)
"#;

const RAISES: &str = "def f():\n    raise ValueError('boom')\nf()\n";

fn run(python: &Interpreter, args: &[&str], stdin: &str, cwd: &Path) -> Output {
    let mut child = python
        .command()
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.describe()));
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the program as .py and as .pyc (compiled by the interpreter itself) and checks
/// everything it does.
fn behaves_like_python3(python: &Interpreter) {
    let who = python.describe();
    // The program and its output folder are in different folders, neither of them the current
    // one, so each must be reachable through its own argument.
    let src_dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let py = src_dir.path().join("prog.py");
    std::fs::write(&py, PROGRAM).unwrap();
    let pyc = src_dir.path().join("prog.pyc");
    let compile = "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)";
    let made = run(python, &["-c", compile, py.to_str().unwrap(), pyc.to_str().unwrap()], "", cwd.path());
    assert!(made.status.success(), "{who}: py_compile failed:\n{}", text(&made.stderr));

    for (script, file) in [(&py, "prog.py"), (&pyc, "prog.pyc")] {
        let out_path = out_dir.path().to_str().unwrap();
        let o = run(python, &[script.to_str().unwrap(), out_path, file], "line 1\nline 2", cwd.path());
        let stdout = text(&o.stdout);
        assert_eq!(o.status.code(), Some(3), "{who} {file}: exit status; stderr:\n{}", text(&o.stderr));
        assert_eq!(
            stdout,
            format!(
                "argv ['{out_path}', '{file}'] main __main__ file {file}\nnon-ASCII: h\u{e9}llo \u{2603}\nstdin 'line 1\\nline 2'\n"
            ),
            "{who} {file}: stdout"
        );
        // Byte-exact: the UTF-8 of é and ☃, nothing re-encoded.
        assert!(o.stdout.windows(3).any(|w| w == "\u{2603}".as_bytes()), "{who} {file}: stdout bytes");
        assert_eq!(text(&o.stderr), "to stderr\n", "{who} {file}: stderr");
        let written = out_dir.path().join("written.txt");
        assert_eq!(std::fs::read_to_string(&written).unwrap(), format!("written by {file}"), "{who} {file}: the file it wrote");
        std::fs::remove_file(written).unwrap();
    }

    // An uncaught exception: traceback naming the script by its absolute path, status 1.
    let bad = src_dir.path().join("bad.py");
    std::fs::write(&bad, RAISES).unwrap();
    let o = run(python, &[bad.to_str().unwrap()], "", cwd.path());
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{who}: status after an exception; stderr:\n{stderr}");
    assert!(stderr.starts_with("Traceback (most recent call last):\n"), "{who}: {stderr}");
    assert!(stderr.contains(&format!("File \"{}\", line 2, in f", bad.display())), "{who}: {stderr}");
    assert!(stderr.ends_with("ValueError: boom\n"), "{who}: {stderr}");

    // -c, with SystemExit carrying a message.
    let o = run(python, &["-c", "import sys; print(sys.argv); sys.exit('bye')", "x"], "", cwd.path());
    assert_eq!((o.status.code(), text(&o.stdout), text(&o.stderr)), (Some(1), "['-c', 'x']\n".into(), "bye\n".into()), "{who}: -c");
}

fn newest_first() -> Vec<PythonVersion> {
    let mut v: Vec<PythonVersion> = version::supported().collect();
    v.reverse();
    v
}

#[test]
fn native_interpreter_behaves_like_python3() {
    // Found the way pyasm finds one, without pyodide: forced-pyodide runs have none.
    let found = if interpreters::force_pyodide() {
        None
    } else {
        newest_first().into_iter().find_map(|v| interpreters::find(v).filter(|i| !i.is_pyodide()))
    };
    match found {
        Some(python) => behaves_like_python3(&python),
        None if support::under_ci() && !interpreters::force_pyodide() => {
            panic!("CI is set but no native CPython of a supported version was found")
        }
        None => eprintln!("SKIPPED native_interpreter_behaves_like_python3: no native CPython of a supported version"),
    }
}

#[test]
fn pyodide_behaves_like_python3() {
    let v = *newest_first().iter().find(|v| interpreters::pyodide_release(**v).is_some()).expect("a version pyodide ships");
    // Installs only when missing; an installed pyodide is used as it is.
    match interpreters::install_pyodide(v) {
        Ok(python) => behaves_like_python3(&python),
        Err(e) if support::under_ci() => panic!("CI is set but pyodide's CPython {v} could not be installed:\n{e}"),
        Err(e) => eprintln!("SKIPPED pyodide_behaves_like_python3: {e}"),
    }
}
