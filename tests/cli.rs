//! The command line's contracts: exit statuses, stdin input, JSON diagnostics, and output
//! files that a failed run leaves untouched.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

fn pyasm(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(support::pyasm_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

const BAD: &str = ".python 3.11\n.code <module>\n    RESUME 0\n    LOAD_FAST x\n    RETRUN_VALUE\n.end\n";

#[test]
fn json_diagnostics_one_object_per_line() {
    let out = pyasm(&["check", "-", "--message-format", "json"], BAD);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with(r#"{"severity":"error","code":"E0107","#), "{}", lines[0]);
    assert!(lines[0].contains(r#""file":"<stdin>","byte_start":55,"byte_end":56,"line":4,"column":15"#), "{}", lines[0]);
    assert!(lines[1].contains(r#""code":"E0101""#) && lines[1].contains("did you mean `RETURN_VALUE`?"), "{}", lines[1]);
}

#[test]
fn stdin_to_stdout_is_a_pyc() {
    let hello = std::fs::read_to_string(support::repo_root().join("examples/hello.pyasm")).unwrap();
    let out = pyasm(&["-", "-o", "-"], &hello);
    assert_eq!(out.status.code(), Some(0));
    // 3.11's magic number, then a timestamp-based header, then a marshalled code object.
    assert_eq!(&out.stdout[..4], &[0xa7, 0x0d, 0x0d, 0x0a]);
    assert_eq!(&out.stdout[4..8], &[0, 0, 0, 0]);
    assert_eq!(out.stdout[16] & 0x7f, b'c');
}

#[test]
fn a_failed_run_leaves_the_existing_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bad.pyasm");
    let target = dir.path().join("bad.pyc");
    std::fs::write(&src, BAD).unwrap();
    std::fs::write(&target, b"precious").unwrap();
    let out = pyasm(&[src.to_str().unwrap(), "-o", target.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    // No temporary files are left behind either.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(pyasm(&["check", "/nonexistent/x.pyasm"], "").status.code(), Some(2));
    assert_eq!(pyasm(&["--no-such-flag"], "").status.code(), Some(2));
}

#[test]
fn version_lists_the_targets() {
    let out = pyasm(&["--version"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("targets Python 3.6, 3.7, 3.8, 3.9, 3.10, 3.11"));
}

#[test]
fn listing_shows_bytes_operands_positions_and_depths() {
    let src = ".python 3.11\n.code <module>\n    .loc 1:0-5\n    RESUME 0\n    LOAD_CONST 300\n    RESUME $300\n    RETURN_VALUE\n.end\n";
    let out = pyasm(&["check", "-", "--listing"], src);
    let listing = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = listing.lines().map(|l| l.trim_end()).collect();
    assert_eq!(lines[0], r#"code <module> (name "<module>", qualname "<module>", firstlineno 1, stacksize 1, flags 0x0)"#);
    assert!(lines[2].starts_with("       0  97 00") && lines[2].ends_with("1:0-5          0 -> 0"), "{}", lines[2]);
    assert!(lines[3].contains("64 00") && lines[3].contains("consts[0] = 300") && lines[3].ends_with("0 -> 1"), "{}", lines[3]);
    // An argument over 255 shows its EXTENDED_ARG prefix in the bytes.
    assert!(lines[4].starts_with("       4  90 01 97 2c") && lines[4].contains("RESUME 300 (+EXT×1)"), "{}", lines[4]);
}

#[test]
fn batch_mode_writes_one_output_per_input_and_reports_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pyasm");
    std::fs::write(&bad, BAD).unwrap();
    let examples = support::repo_root().join("examples");
    let hello = examples.join("hello.pyasm");
    let closure = examples.join("closure.pyasm");
    let out_dir = dir.path().join("out");
    let args = [hello.to_str().unwrap(), bad.to_str().unwrap(), closure.to_str().unwrap(), "--out-dir", out_dir.to_str().unwrap()];
    let out = pyasm(&args, "");
    // The bad file fails (exit 1) without stopping the other two.
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.pyasm not assembled"));
    assert!(!out_dir.join("bad.pyc").exists());
    if let Some(python) = support::python_for_test("3.11", "batch mode") {
        let run = python.command().arg(out_dir.join("hello.pyc")).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&run.stdout), "hello, world\n");
    }
    // And back, in one run.
    let asm_dir = dir.path().join("asm");
    let (h, c) = (out_dir.join("hello.pyc"), out_dir.join("closure.pyc"));
    let out = pyasm(&["dis", h.to_str().unwrap(), c.to_str().unwrap(), "--out-dir", asm_dir.to_str().unwrap(), "--jobs", "2"], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(asm_dir.join("closure.pyasm")).unwrap();
    assert!(text.contains(".code make_counter(start)"), "{text}");
}

#[test]
fn completions_name_the_subcommands() {
    let out = pyasm(&["completions", "bash"], "");
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("complete -F _pyasm"), "not a bash completion script:\n{script}");
    for sub in ["assemble", "check", "run", "dis", "explain", "completions"] {
        assert!(script.contains(sub), "{sub} missing from the bash completions");
    }
    // Options of a subcommand are completed too.
    assert!(script.contains("--listing") && script.contains("--message-format"));
    let out = pyasm(&["completions", "fish"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("complete -c pyasm"));
    assert_eq!(pyasm(&["completions", "tcsh"], "").status.code(), Some(2));
}

#[test]
fn dis_listing_of_a_pyc_compiled_by_cpython() {
    let Some(python) = support::python_for_test("3.11", "dis --listing") else { return };
    let dir = tempfile::tempdir().unwrap();
    // 300 distinct names and constants push indexes past 255 (EXTENDED_ARG), the call and the
    // global lookup have CACHE units, and the loop has a jump in each direction.
    let mut src = String::from("def total(xs):\n    t = 0\n    for x in xs:\n        t += len(x)\n    return t\n");
    for i in 0..300 {
        src.push_str(&format!("v{i} = {i}\n"));
    }
    src.push_str("print(total(['ab', 'c']), v299)\n");
    let py = dir.path().join("prog.py");
    let pyc = dir.path().join("prog.pyc");
    std::fs::write(&py, &src).unwrap();
    let compiled = support::run_python(&python, "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)", &[py.to_str().unwrap(), pyc.to_str().unwrap()]);
    assert!(compiled.status.success(), "{}", String::from_utf8_lossy(&compiled.stderr));

    let asm = dir.path().join("prog.pyasm");
    let out = pyasm(&["dis", pyc.to_str().unwrap(), "--listing", "-o", asm.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = String::from_utf8(out.stdout).unwrap();
    // With -o the .pyasm text still goes to the file.
    assert!(std::fs::read_to_string(&asm).unwrap().contains(".code total(xs)"));
    let line = |needle: &str| -> &str {
        listing.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with {needle:?} in:\n{listing}"))
    };
    assert!(listing.starts_with("code <module> (name \"<module>\", qualname \"<module>\", firstlineno 1,"), "{listing}");
    // RESUME's bytes, CPython's own position for it (line 0), depth 0 -> 0.
    let resume = line("RESUME 0");
    assert!(resume.starts_with("       0  97 00 ") && resume.ends_with("0:0-1:0        0 -> 0"), "{resume}");
    // Late constants and names (index over 255): EXTENDED_ARG 1 before the instruction, in the
    // bytes. co_names starts with `total`, so v299 is names[300].
    let store = line("names[300] = v299");
    assert!(store.contains("90 01 5a 2c") && store.contains("STORE_NAME 300 (+EXT×1)"), "{store}");
    assert!(line("consts[299] = 298").contains("90 01 64 2b"), "{listing}");
    // Caches are counted after the instruction's own bytes; the position is the source's.
    let global = line("names[0] = len +null");
    assert!(global.contains("74 01 +5 cache") && global.contains("4:13-16") && global.ends_with("2 -> 4"), "{global}");
    // Jumps resolve to offsets, in the function's own listing.
    let function = listing.split("code total ").nth(1).expect("a listing for total");
    assert!(function.lines().any(|l| l.contains("FOR_ITER") && l.contains("to offset 52") && l.ends_with("1 -> 2")), "{function}");
    assert!(function.lines().any(|l| l.contains("JUMP_BACKWARD") && l.contains("to offset 10")), "{function}");
}

/// Exits with status 3 through `raise SystemExit(3)`, after printing its arguments.
const EXIT_3: &str = ".python 3.11
.code <module>
    RESUME 0
    PUSH_NULL
    LOAD_NAME print
    PUSH_NULL
    LOAD_NAME __import__
    LOAD_CONST \"sys\"
    PRECALL 1
    CALL 1
    LOAD_ATTR argv
    PRECALL 1
    CALL 1
    POP_TOP
    PUSH_NULL
    LOAD_NAME SystemExit
    LOAD_CONST 3
    PRECALL 1
    CALL 1
    RAISE_VARARGS exc
.end
";

#[test]
fn run_passes_arguments_and_exit_status_and_says_which_interpreter() {
    let Some(python) = support::python_for_test("3.11", "pyasm run") else { return };
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("exit3.pyasm");
    std::fs::write(&prog, EXIT_3).unwrap();
    let out = pyasm(&["run", "--verbose", "--install-interpreter", prog.to_str().unwrap(), "--", "a", "-b"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.ends_with("exit3.pyc', 'a', '-b']\n"), "{stdout}");
    // The same interpreter the tests use, named by its description.
    assert!(stderr.contains(&format!("pyasm: running with {}\n", python.describe())), "{stderr}");
}

#[test]
fn run_without_an_interpreter_says_how_to_get_one_and_installs_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let hello = support::repo_root().join("examples/hello.pyasm");
    let out = Command::new(support::pyasm_bin())
        .args(["run", hello.to_str().unwrap()])
        .env("PYASM_FORCE_PYODIDE", "1")
        .env("PYASM_CACHE", cache.path())
        .env_remove("PYASM_INSTALL_PYODIDE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no CPython 3.11 interpreter found"), "{stderr}");
    let not_installed = format!("pyodide 0.25.1: not installed in {}", cache.path().join("pyodide/0.25.1").display());
    assert!(stderr.contains(&not_installed), "{stderr}");
    for hint in ["PYASM_PYTHON_3_11=", "--install-interpreter", "PYASM_INSTALL_PYODIDE=1", "pyenv install 3.11"] {
        assert!(stderr.contains(hint), "no {hint:?} in:\n{stderr}");
    }
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0, "nothing is installed unasked");
}

#[test]
fn python_36_pycs_have_a_12_byte_header_and_no_hash() {
    let prog = ".python 3.6\n.code <module>\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n";
    let out = pyasm(&["-", "-o", "-"], prog);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // 3.6's magic number 3379, then mtime and size (no flags word), then the code object.
    assert_eq!(&out.stdout[..4], b"\x33\x0d\r\n");
    assert_eq!(out.stdout[12] & 0x7f, b'c');
    let out = pyasm(&["--hash", "checked", "-", "-o", "-"], prog);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Python 3.6 pycs cannot be hash-based"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// The command line is a library function: a host (a Python extension) runs it in-process
/// with an argument list and gets the exit status back, the process going on.
#[test]
fn the_command_line_runs_in_process_and_returns_its_status() {
    let root = support::repo_root();
    let hello = root.join("examples/hello.pyasm");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hello.pyc");
    let run = |args: &[&std::ffi::OsStr]| pyasm::cli::main(std::iter::once(std::ffi::OsStr::new("pyasm")).chain(args.iter().copied()));
    assert_eq!(run(&[hello.as_os_str(), "-o".as_ref(), out.as_os_str()]), 0);
    assert_eq!(std::fs::read(&out).unwrap()[..4], [0xa7, 0x0d, 0x0d, 0x0a]);
    let bad = dir.path().join("bad.pyasm");
    std::fs::write(&bad, BAD).unwrap();
    assert_eq!(run(&["--color".as_ref(), "never".as_ref(), "check".as_ref(), bad.as_os_str()]), 1);
    assert_eq!(run(&["--no-such-flag".as_ref()]), 2);
    assert_eq!(run(&["--version".as_ref()]), 0);
    // Still here, and again.
    assert_eq!(run(&["check".as_ref(), hello.as_os_str()]), 0);
}
