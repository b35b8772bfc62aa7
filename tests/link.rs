//! The linker, judged by the real interpreter: a program over three files assembled into one
//! module (examples/link/program), an application with a package as a .pyz and as a folder of
//! .pyc (examples/link/app), the disassembly of an application linked back to equal code
//! objects, a small application for another version (3.12), and constants shared across the
//! files of a module written as CPython writes them for one module. The linker's diagnostics
//! are data tests in tests/diagnostics (folder cases).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{Interpreter, pyasm_bin, python_for_test, repo_root};

fn pyasm(args: &[&str], cwd: &Path) -> Output {
    Command::new(pyasm_bin()).args(args).current_dir(cwd).env("NO_COLOR", "1").output().expect("cannot run pyasm")
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn run(python: &Interpreter, args: &[&str], cwd: &Path) -> String {
    let out = python.command().args(args).current_dir(cwd).output().expect("cannot run python");
    String::from_utf8_lossy(&ok(out, &format!("{} {args:?}", python.describe())).stdout).into_owned()
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("examples/link").join(name)).expect("the .out file")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pyasm-link-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const PROGRAM: &[&str] =
    &["examples/link/program/main.pyasm", "examples/link/program/numbers.pyasm", "examples/link/program/text.pyasm"];
const APP: &[&str] = &["examples/link/app/main.pyasm", "examples/link/app/words.pyasm", "examples/link/app/shapes"];

#[test]
fn program_over_three_files_runs_as_one_module() {
    let Some(python) = python_for_test("3.11", "program_over_three_files_runs_as_one_module") else { return };
    let dir = tmp("program");
    let pyc = dir.join("program.pyc");
    let mut args: Vec<&str> = PROGRAM.to_vec();
    args.extend(["-o", pyc.to_str().unwrap()]);
    ok(pyasm(&args, &repo_root()), "assembling the program");
    assert_eq!(run(&python, &[pyc.to_str().unwrap()], &dir), expected("program.out"));
    // Each function's co_filename is the file it is written in; the module's is the first file's.
    let script = "import marshal,sys\nc=marshal.loads(open(sys.argv[1],'rb').read()[16:])\n\
                  print(c.co_filename)\nfor k in c.co_consts:\n    if hasattr(k,'co_code'): print(k.co_name, k.co_filename)";
    let out = support::run_python(&python, script, &[pyc.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&ok(out, "reading co_filename").stdout).into_owned();
    assert_eq!(
        text,
        "examples/link/program/main.pyasm\nsquare examples/link/program/numbers.pyasm\n\
         total_gap examples/link/program/numbers.pyasm\nshout examples/link/program/text.pyasm\n"
    );
    // `check` takes the same files.
    let mut args = vec!["check"];
    args.extend(PROGRAM);
    ok(pyasm(&args, &repo_root()), "checking the program");
}

#[test]
fn several_files_without_an_output_is_a_usage_error() {
    let out = pyasm(&PROGRAM[..2], &repo_root());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-o OUT.pyc") && err.contains("--out-dir"), "{err}");
}

#[test]
fn application_with_a_package_runs_as_pyz_and_as_folder() {
    let Some(python) = python_for_test("3.11", "application_with_a_package_runs_as_pyz_and_as_folder") else { return };
    let dir = tmp("app");
    let pyz = dir.join("app.pyz");
    let mut args = vec!["link"];
    args.extend(APP);
    args.extend(["-o", pyz.to_str().unwrap()]);
    ok(pyasm(&args, &repo_root()), "linking the application");
    let bytes = std::fs::read(&pyz).unwrap();
    assert!(bytes.starts_with(b"#!/usr/bin/env python3.11\n"));
    assert_eq!(run(&python, &[pyz.to_str().unwrap()], &dir), expected("app.out"));
    // Python's own zipfile reads the archive and finds each module where import looks.
    let script = "import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(sorted(z.namelist()))";
    let out = ok(support::run_python(&python, script, &[pyz.to_str().unwrap()]), "zipfile");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "['__main__.pyc', 'greeting.pyc', 'shapes/__init__.pyc', 'shapes/area.pyc']"
    );

    // `-o APP.pyz` on the default command means the same.
    let pyz2 = dir.join("app2.pyz");
    let mut args: Vec<&str> = APP.to_vec();
    args.extend(["-o", pyz2.to_str().unwrap()]);
    ok(pyasm(&args, &repo_root()), "assembling to a .pyz");
    assert_eq!(run(&python, &[pyz2.to_str().unwrap()], &dir), expected("app.out"));

    // A folder of sourceless .pyc: `python -m main` from inside it.
    let folder = dir.join("build");
    let mut args = vec!["link"];
    args.extend(APP);
    args.extend(["-o", folder.to_str().unwrap()]);
    ok(pyasm(&args, &repo_root()), "linking into a folder");
    assert!(folder.join("shapes/area.pyc").is_file());
    let out = run(&python, &["-m", "main"], &folder);
    // Run with -m, the main module is still `__main__`.
    assert_eq!(out, expected("app.out"));
}

/// Loads every module of two applications (zip or folder) in the interpreter and compares
/// their code objects field by field, recursively (co_filename and co_qualname too).
const COMPARE: &str = r#"
import marshal, sys, zipfile, os
def members(path):
    if os.path.isdir(path):
        out = {}
        for root, _, files in os.walk(path):
            for f in files:
                if f.endswith('.pyc'):
                    full = os.path.join(root, f)
                    out[os.path.relpath(full, path).replace(os.sep, '/')] = open(full, 'rb').read()
        return out
    z = zipfile.ZipFile(path)
    return {n: z.read(n) for n in z.namelist() if n.endswith('.pyc')}
FIELDS = ['co_argcount', 'co_posonlyargcount', 'co_kwonlyargcount', 'co_nlocals', 'co_stacksize', 'co_flags',
          'co_code', 'co_names', 'co_varnames', 'co_freevars', 'co_cellvars', 'co_filename', 'co_name',
          'co_qualname', 'co_firstlineno', 'co_linetable', 'co_exceptiontable']
def same(a, b, where):
    if type(a) is not type(b):
        return f'{where}: {type(a).__name__} vs {type(b).__name__}'
    if hasattr(a, 'co_code'):
        for f in FIELDS:
            if getattr(a, f, None) != getattr(b, f, None):
                return f'{where}.{f} differs'
        if len(a.co_consts) != len(b.co_consts):
            return f'{where}.co_consts lengths differ'
        for i, (x, y) in enumerate(zip(a.co_consts, b.co_consts)):
            r = same(x, y, f'{where}.co_consts[{i}]')
            if r: return r
        return None
    if isinstance(a, (tuple, frozenset)):
        return None if repr(a) == repr(b) else f'{where} differs'
    return None if repr(a) == repr(b) else f'{where}: {a!r} vs {b!r}'
a, b = members(sys.argv[1]), members(sys.argv[2])
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
for name in sorted(a):
    r = same(marshal.loads(a[name][16:]), marshal.loads(b[name][16:]), name)
    assert r is None, r
print(len(a))
"#;

#[test]
fn dis_of_an_application_links_back_to_equal_code_objects() {
    let Some(python) = python_for_test("3.11", "dis_of_an_application_links_back_to_equal_code_objects") else { return };
    let dir = tmp("dis");
    let pyz = dir.join("app.pyz");
    let mut args = vec!["link"];
    args.extend(APP);
    args.extend(["-o", pyz.to_str().unwrap()]);
    ok(pyasm(&args, &repo_root()), "linking the application");

    // To stdout: every module under a header.
    let out = ok(pyasm(&["dis", pyz.to_str().unwrap()], &dir), "dis to stdout");
    let text = String::from_utf8_lossy(&out.stdout);
    for header in ["# module __main__\n", "# module greeting\n", "# module shapes (package)\n", "# module shapes.area\n"] {
        assert!(text.contains(header), "no {header:?} in:\n{text}");
    }

    // Into a folder, then linked again: the same modules, equal code objects.
    let src = dir.join("src");
    ok(pyasm(&["dis", pyz.to_str().unwrap(), "-o", src.to_str().unwrap()], &dir), "dis into a folder");
    assert!(src.join("__main__.pyasm").is_file() && src.join("shapes/__init__.pyasm").is_file());
    let again = dir.join("again.pyz");
    ok(pyasm(&["link", src.to_str().unwrap(), "-o", again.to_str().unwrap()], &dir), "linking the disassembly");
    let out = ok(support::run_python(&python, COMPARE, &[pyz.to_str().unwrap(), again.to_str().unwrap()]), "comparing");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4");
    assert_eq!(run(&python, &[again.to_str().unwrap()], &dir), expected("app.out"));

    // A folder application reads back too.
    let folder = dir.join("build");
    let mut args = vec!["link"];
    args.extend(APP);
    args.extend(["-o", folder.to_str().unwrap()]);
    ok(pyasm(&args, &repo_root()), "linking into a folder");
    let src2 = dir.join("src2");
    ok(pyasm(&["dis", folder.to_str().unwrap(), "-o", src2.to_str().unwrap()], &dir), "dis of a folder");
    let folder2 = dir.join("build2");
    ok(pyasm(&["link", src2.to_str().unwrap(), "--main", "main", "-o", folder2.to_str().unwrap()], &dir), "relinking the folder");
    let out = ok(support::run_python(&python, COMPARE, &[folder.to_str().unwrap(), folder2.to_str().unwrap()]), "comparing folders");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4");
}

#[test]
fn hostile_archives_are_errors() {
    let dir = tmp("hostile");
    let pyz = dir.join("bad.pyz");
    // An end record claiming 65535 entries and a directory past the end of the file.
    let mut bytes = b"#!/usr/bin/env python3\n".to_vec();
    bytes.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0]);
    std::fs::write(&pyz, &bytes).unwrap();
    let out = pyasm(&["dis", pyz.to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // Member names that would land outside the output folder are skipped, not written.
    let hello = dir.join("hello.pyc");
    ok(pyasm(&["examples/hello.pyasm", "--python", "3.11", "-o", hello.to_str().unwrap()], &repo_root()), "assembling hello");
    let pyc = std::fs::read(&hello).unwrap();
    let members = vec![("../evil.pyc".to_string(), pyc.clone()), ("/tmp/evil.pyc".to_string(), pyc.clone()), ("fine.pyc".to_string(), pyc)];
    std::fs::write(&pyz, pyasm::link::pyz::write(b"", &members).unwrap()).unwrap();
    let out_dir = dir.join("out");
    let out = ok(pyasm(&["dis", pyz.to_str().unwrap(), "-o", out_dir.to_str().unwrap()], &dir), "dis of odd member names");
    assert!(out_dir.join("fine.pyasm").is_file());
    assert!(!dir.join("evil.pyasm").exists() && !Path::new("/tmp/evil.pyasm").exists());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("is not the path of a module; skipped").count(), 2, "{err}");
    // Not a zip at all.
    std::fs::write(&pyz, b"#!/usr/bin/env python3\nprint(1)\n").unwrap();
    let out = pyasm(&["dis", pyz.to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a zip archive"));
}

/// The same linker for another version: a package and a module importing it, for 3.12.
#[test]
fn application_for_python_3_12() {
    let Some(python) = python_for_test("3.12", "application_for_python_3_12") else { return };
    let dir = tmp("v312");
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(
        dir.join("run.pyasm"),
        ".python 3.12\n.code <module>\n    RESUME 0\n    LOAD_CONST 0\n    LOAD_CONST (\"mod\",)\n    IMPORT_NAME pkg\n\
         \x20   IMPORT_FROM mod\n    STORE_NAME mod\n    POP_TOP\n    PUSH_NULL\n    LOAD_NAME print\n    LOAD_NAME mod\n\
         \x20   LOAD_ATTR VALUE\n    LOAD_NAME __name__\n    CALL 2\n    POP_TOP\n    RETURN_CONST None\n.end\n",
    )
    .unwrap();
    std::fs::write(dir.join("pkg/__init__.pyasm"), ".python 3.12\n.code <module>\n    RESUME 0\n    RETURN_CONST None\n.end\n").unwrap();
    std::fs::write(
        dir.join("pkg/mod.pyasm"),
        ".python 3.12\n.code <module>\n    RESUME 0\n    LOAD_CONST \"from pkg.mod\"\n    STORE_NAME VALUE\n    RETURN_CONST None\n.end\n",
    )
    .unwrap();
    ok(pyasm(&["link", "run.pyasm", "pkg", "-o", "app.pyz"], &dir), "linking for 3.12");
    assert!(std::fs::read(dir.join("app.pyz")).unwrap().starts_with(b"#!/usr/bin/env python3.12\n"));
    assert_eq!(run(&python, &["app.pyz"], &dir), "from pkg.mod __main__\n");
}

/// A constant used by functions in two files of one module is written as CPython writes a
/// constant shared by two functions of one module: as often (once, then by reference).
#[test]
fn constants_shared_across_files_are_written_as_cpython_writes_one_module() {
    let Some(python) = python_for_test("3.11", "constants_shared_across_files_are_written_as_cpython_writes_one_module") else {
        return;
    };
    let dir = tmp("consts");
    std::fs::write(
        dir.join("main.pyasm"),
        ".python 3.11\n.code <module>\n    RESUME 0\n    LOAD_CONST @f\n    MAKE_FUNCTION 0\n    STORE_NAME f\n\
         \x20   LOAD_CONST @g\n    MAKE_FUNCTION 0\n    STORE_NAME g\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("funcs.pyasm"),
        ".code f()\n    RESUME 0\n    LOAD_CONST \"shared text!\"\n    POP_TOP\n    LOAD_CONST (1, 2.5, \"x y\")\n    RETURN_VALUE\n.end\n\
         .code g()\n    RESUME 0\n    LOAD_CONST \"shared text!\"\n    POP_TOP\n    LOAD_CONST (1, 2.5, \"x y\")\n    RETURN_VALUE\n.end\n",
    )
    .unwrap();
    ok(pyasm(&["main.pyasm", "funcs.pyasm", "-o", "m.pyc"], &dir), "assembling");
    let script = r#"
import marshal, sys
src = "def f():\n    'shared text!'\n    return (1, 2.5, 'x y')\ndef g():\n    'shared text!'\n    return (1, 2.5, 'x y')\n"
ours = open(sys.argv[1], 'rb').read()[16:]
theirs = marshal.dumps(compile(src, 'm.py', 'exec'))
for needle in [b'shared text!', b'x y']:
    print(needle.decode(), ours.count(needle), theirs.count(needle))
"#;
    // (In CPython's version the string is each function's docstring, which is a constant of
    // that function, as the string loaded here is.)
    let out = ok(support::run_python(&python, script, &[dir.join("m.pyc").to_str().unwrap()]), "comparing with CPython");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in text.lines() {
        let parts: Vec<&str> = line.rsplitn(3, ' ').collect();
        assert_eq!(parts[0], parts[1], "written a different number of times than CPython writes it: {text}");
    }
    assert!(text.contains("shared text! 1 1"), "{text}");
}

/// `pyasm run` takes the files of one module too.
#[test]
fn run_takes_several_files() {
    let Some(_python) = python_for_test("3.11", "run_takes_several_files") else { return };
    let mut args = vec!["run"];
    args.extend(PROGRAM);
    let out = ok(pyasm(&args, &repo_root()), "pyasm run of three files");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected("program.out"));
}

/// Writes `files` (name, text) into a fresh temporary folder.
fn write_files(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = tmp(name);
    for (n, t) in files {
        let p = dir.join(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    dir
}

#[test]
fn macro_body_labels_rename_only_jump_operands_and_params_work_after_at() {
    let Some(python) = python_for_test("3.11", "macro_body_labels_rename_only_jump_operands_and_params_work_after_at") else { return };
    // The body's label `print` must not turn `LOAD_NAME print` into another name (it would be
    // a NameError); `@f` takes the argument as a code object; `nop` is a macro, not `NOP`.
    let dir = write_files(
        "macro-words",
        &[(
            "m.pyasm",
            ".python 3.11\n\
             .macro nop\n    NOP\n.endmacro\n\
             .macro call_code(f)\n    PUSH_NULL\n    LOAD_NAME print\n    JUMP_FORWARD print\nprint:\n    PUSH_NULL\n    LOAD_CONST @f\n    MAKE_FUNCTION 0\n    PRECALL 0\n    CALL 0\n    PRECALL 1\n    CALL 1\n    POP_TOP\n.endmacro\n\
             .code <module>\n    RESUME 0\n    nop\n    call_code hello\n    call_code @hello\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n\
             .code hello()\n    RESUME 0\n    LOAD_CONST \"hi\"\n    RETURN_VALUE\n.end\n",
        )],
    );
    ok(pyasm(&["m.pyasm", "-o", "m.pyc"], &dir), "assembling");
    assert_eq!(run(&python, &["m.pyc"], &dir), "hi\nhi\n");
}

#[test]
fn included_instructions_take_the_include_line() {
    let Some(python) = python_for_test("3.11", "included_instructions_take_the_include_line") else { return };
    // A traceback from an instruction included into a code body names the including file
    // (its co_filename) and the `.include` line, not the line in the other file.
    let dir = write_files(
        "include-lines",
        &[
            (
                "main.pyasm",
                ".python 3.11\n.code <module>\n    RESUME 0\n    NOP\n    .include \"boom.pyasm\"\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n",
            ),
            ("boom.pyasm", "# line 1\n# line 2\n# line 3\n# line 4\n# line 5\n# line 6\n# line 7\n    LOAD_NAME no_such_name\n    POP_TOP\n"),
        ],
    );
    ok(pyasm(&["main.pyasm", "-o", "main.pyc"], &dir), "assembling");
    let out = python.command().arg("main.pyc").current_dir(&dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("main.pyasm\", line 5") && err.contains("NameError"), "{err}");
}

#[test]
fn a_module_with_a_non_ascii_name_is_imported_from_a_pyz() {
    let Some(python) = python_for_test("3.11", "a_module_with_a_non_ascii_name_is_imported_from_a_pyz") else { return };
    // The member name `café.pyc` is UTF-8: without the zip's UTF-8 flag zipimport reads it as
    // code page 437 and `import café` fails.
    let dir = write_files(
        "non-ascii",
        &[
            (
                "main.pyasm",
                ".python 3.11\n.code <module>\n    RESUME 0\n    LOAD_CONST 0\n    LOAD_CONST None\n    IMPORT_NAME \"café\"\n    POP_TOP\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n",
            ),
            (
                "café.pyasm",
                ".python 3.11\n.code <module>\n    RESUME 0\n    PUSH_NULL\n    LOAD_NAME print\n    LOAD_CONST \"crème\"\n    PRECALL 1\n    CALL 1\n    POP_TOP\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n",
            ),
        ],
    );
    ok(pyasm(&["link", "main.pyasm", "café.pyasm", "-o", "app.pyz"], &dir), "linking");
    assert_eq!(run(&python, &["app.pyz"], &dir), "crème\n");
}

fn hello_module(name: &str) -> (String, String) {
    (
        name.to_string(),
        ".python 3.11\n.code <module>\n    RESUME 0\n    PUSH_NULL\n    LOAD_NAME print\n    LOAD_CONST \"hello\"\n    PRECALL 1\n    CALL 1\n    POP_TOP\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n"
            .to_string(),
    )
}

#[test]
fn output_names_follow_one_case_insensitive_rule() {
    let Some(python) = python_for_test("3.11", "output_names_follow_one_case_insensitive_rule") else { return };
    let (n, t) = hello_module("my-prog.pyasm");
    let dir = write_files("outputs", &[(&n, &t)]);
    // A main module whose file stem is no module name is fine in a .pyz (stored as
    // __main__.pyc), and `.PYZ` is a zip application like `.pyz`.
    ok(pyasm(&["link", "my-prog.pyasm", "-o", "APP.PYZ"], &dir), "linking to APP.PYZ");
    assert_eq!(run(&python, &["APP.PYZ"], &dir), "hello\n");
    ok(pyasm(&["my-prog.pyasm", "-o", "app2.Pyz"], &dir), "assembling to app2.Pyz");
    assert_eq!(run(&python, &["app2.Pyz"], &dir), "hello\n");
    // …but not in a folder, where `python -m my-prog` cannot work.
    let out = pyasm(&["link", "my-prog.pyasm", "-o", "folder"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("E0409"));
    // An application is not written as one .pyc / .pyasm file, nor disassembled into one.
    for bad in ["new.pyc", "new.PYC", "x.pyasm"] {
        let out = pyasm(&["link", "my-prog.pyasm", "-o", bad], &dir);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("APP.pyz or as a folder"), "{bad}");
        assert!(!dir.join(bad).exists(), "{bad} was created");
    }
    let out = pyasm(&["dis", "APP.PYZ", "-o", "out.pyasm"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give -o DIR"));
    assert!(!dir.join("out.pyasm").exists());
}

#[test]
fn written_files_get_ordinary_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (n, t) = hello_module("hello.pyasm");
    let dir = write_files("modes", &[(&n, &t)]);
    // Under umask 022 a compiler's output is rw-r--r--, not the temporary file's rw-------.
    let script = format!(
        "umask 022 && '{0}' link hello.pyasm -o app && '{0}' hello.pyasm -o one.pyc && '{0}' dis one.pyc -o one.pyasm",
        pyasm_bin().display()
    );
    let out = Command::new("sh").arg("-c").arg(&script).current_dir(&dir).output().unwrap();
    ok(out, "writing under umask 022");
    for f in ["app/hello.pyc", "one.pyc", "one.pyasm"] {
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{f}: {mode:o}");
    }
}

#[test]
fn one_file_given_twice_is_a_usage_error_naming_it() {
    let (n, t) = hello_module("hello.pyasm");
    let dir = write_files("twice", &[(&n, &t)]);
    let out = pyasm(&["link", "hello.pyasm", "./hello.pyasm", "-o", "app.pyz"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hello.pyasm: this file is given twice"), "{err}");
}

#[test]
fn a_folder_given_without_init_is_a_source_root_with_a_warning() {
    let Some(python) = python_for_test("3.11", "a_folder_given_without_init_is_a_source_root_with_a_warning") else { return };
    let (_, t) = hello_module("x");
    let main = ".python 3.11\n.code <module>\n    RESUME 0\n    LOAD_CONST 0\n    LOAD_CONST None\n    IMPORT_NAME mod\n    POP_TOP\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n";
    let dir = write_files("source-root", &[("p1/main.pyasm", main), ("p1/pkg/mod.pyasm", &t)]);
    let out = ok(pyasm(&["link", "p1/main.pyasm", "p1/pkg", "-o", "p1.pyz"], &dir), "linking");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: p1/pkg: no __init__.pyasm, so its files are top-level modules"), "{err}");
    assert_eq!(run(&python, &["p1.pyz"], &dir), "hello\n");
    // `pyasm link p1` reads p1/pkg as a package (a subfolder), which needs its __init__.
    let out = pyasm(&["link", "p1", "-o", "p1b.pyz"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs an __init__.pyasm"));
}
