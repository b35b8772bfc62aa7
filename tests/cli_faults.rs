//! The command line's fault matrix: for each command and each kind of output, each way a run
//! can fail — an input that does not assemble (or a damaged .pyc or member), an output folder
//! that does not exist, a file in the way, a folder that is not writable, the output being an
//! input or a file an input includes, two inputs with one output name. Each case runs in a
//! fresh copy of one fixture folder and checks the exit status, the message, that stdout is
//! empty, and that afterwards every file and folder that was there is byte for byte as it
//! was and nothing new exists (a batch, whose inputs are each their own unit, may add the
//! outputs of its good inputs: each case lists what it may add). A control case per kind
//! shows the same command succeeding with the same fixture, so that each failure is the one
//! named.
//!
//! Combinations that cannot happen are left out: standard output has no folder, no name and
//! no place to be unwritable; `dis` reads no includes; the one-module form has one output.
//! `pyasm completions` writes only to standard output and reads no input.
//!
//! Two runs: as the user running the tests, and as an unprivileged user (`nobody`, through
//! `setpriv`) when that user is root — root ignores permission bits, so the "not writable"
//! cases only mean something without it. When the tests run as root and cannot switch users,
//! the unprivileged run is skipped with a notice (under CI it fails instead).

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const GOOD: &str = ".python 3.11\n.code <module>\n    RESUME 0\n    PUSH_NULL\n    LOAD_NAME print\n    LOAD_CONST \"hello\"\n    PRECALL 1\n    CALL 1\n    POP_TOP\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n";
const BAD: &str = ".python 3.11\n.code <module>\n    RESUME 0\n    LOAD_FAST x\n    RETRUN_VALUE\n.end\n";
/// A module that includes `FILE` (which holds a macro it uses).
fn includer(file: &str) -> String {
    format!(".python 3.11\n.include \"{file}\"\n.code <module>\n    RESUME 0\n    none\n    RETURN_VALUE\n.end\n")
}
const MACRO: &str = ".macro none\n    LOAD_CONST None\n.endmacro\n";

/// The fixture every case starts from (built once, copied per case).
fn template() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pyasm-faults-template-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let put = |rel: &str, bytes: &[u8]| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        };
        put("good.pyasm", GOOD.as_bytes());
        put("bad.pyasm", BAD.as_bytes());
        // An input not named .pyasm, so that `-o` naming it meets the input rule itself.
        put("prog.s", GOOD.as_bytes());
        put("main.pyasm", includer("lib.inc").as_bytes());
        put("lib.inc", MACRO.as_bytes());
        // Inputs and includes named as outputs are named: to show that the rule looks at
        // the files, not at their names.
        put("same.pyc", GOOD.as_bytes());
        put("m2.pyasm", includer("m2.pyc").as_bytes());
        put("m2.pyc", MACRO.as_bytes());
        put("src.pyz", GOOD.as_bytes());
        put("zinc.pyasm", includer("lib.pyz").as_bytes());
        put("lib.pyz", MACRO.as_bytes());
        put("lout/lmain.pyc", GOOD.as_bytes());
        put("finc.pyasm", includer("fout/finc.pyc").as_bytes());
        put("fout/finc.pyc", MACRO.as_bytes());
        put("a/x.pyasm", GOOD.as_bytes());
        put("b/x.pyasm", GOOD.as_bytes());
        put("__main__.pyasm", GOOD.as_bytes());
        put("afile", b"a file where a folder would be\n");
        // An output folder with a file where a package's folder goes.
        put("inway/shapes", b"a file where the package folder would be\n");
        put("adir/keep", b"kept\n");
        put("ro/good.pyc", b"an old output in a folder that is not writable\n");
        put("ro/good.pyasm", b"an old output in a folder that is not writable\n");
        // Existing output folders with something in them, and a subfolder that will not be
        // writable: a merge that fails part way.
        put("merge/main.pyc", b"the old main.pyc\n");
        put("merge/keep", b"not part of the output\n");
        put("merge/shapes/__init__.pyc", b"the old package\n");
        put("merge2/__main__.pyasm", b"the old text\n");
        put("merge2/shapes/__init__.pyasm", b"the old package text\n");
        for f in ["main.pyasm", "words.pyasm", "shapes/__init__.pyasm", "shapes/area.pyasm", "shapes/common.pyasm"] {
            put(&format!("app/{f}"), &std::fs::read(support::repo_root().join("examples/link/app").join(f)).unwrap());
        }
        let pyasm = |args: &[&str]| {
            let out = Command::new(support::pyasm_bin()).args(args).current_dir(&dir).output().unwrap();
            assert!(out.status.success(), "fixture: pyasm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        pyasm(&["good.pyasm", "-o", "good.pyc"]);
        pyasm(&["link", "app/main.pyasm", "app/words.pyasm", "app/shapes", "-o", "app.pyz"]);
        pyasm(&["link", "app/main.pyasm", "app/words.pyasm", "app/shapes", "-o", "appdir"]);
        let pyc = std::fs::read(dir.join("good.pyc")).unwrap();
        put("damaged.pyc", b"this is not a pyc file\n");
        // A .pyc under a .pyasm name, and two .pyc of one name in two folders.
        put("disin.pyasm", &pyc);
        put("a/y.pyc", &pyc);
        put("b/y.pyc", &pyc);
        // An application with one damaged member, as an archive and as a folder.
        let mut members = vec![("__main__.pyc".to_string(), pyc.clone()), ("broken.pyc".to_string(), b"not a pyc\n".to_vec())];
        members.push(("zeta.pyc".to_string(), pyc.clone()));
        put("bad.pyz", &pyasm::link::pyz::write(b"#!/usr/bin/env python3.11\n", &members).unwrap());
        for (n, b) in &members {
            put(&format!("badappdir/{n}"), b);
        }
        dir
    })
}

/// Folders made unwritable (0555) in each case's copy, after copying (and after `chown`).
const READ_ONLY: &[&str] = &["ro", "merge/shapes", "merge2/shapes"];

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    status: i32,
    /// A part of stderr.
    message: &'static str,
    /// Files the run may (and must) add: a batch's outputs for its good inputs; a control
    /// case's outputs.
    adds: &'static [&'static str],
    /// Only meaningful without root (permission bits).
    unprivileged: bool,
}

const fn fails(name: &'static str, args: &'static [&'static str], status: i32, message: &'static str) -> Case {
    Case { name, args, status, message, adds: &[], unprivileged: false }
}

const fn unwritable(name: &'static str, args: &'static [&'static str], message: &'static str) -> Case {
    Case { name, args, status: 2, message, adds: &[], unprivileged: true }
}

const fn works(name: &'static str, args: &'static [&'static str], adds: &'static [&'static str]) -> Case {
    Case { name, args, status: 0, message: "", adds, unprivileged: false }
}


/// The matrix. Names: KIND/FAILURE.
fn cases() -> Vec<Case> {
    const NOT_ASSEMBLED: &str = "bad.pyasm not assembled";
    const MISSING: &str = "the folder nodir/sub does not exist";
    const IN_THE_WAY: &str = "afile is a file, not a folder";
    const IS_A_FILE: &str = "cannot write afile: it is a file, not a folder";
    const IS_A_FOLDER: &str = "cannot write adir: it is a folder";
    const NOT_WRITABLE: &str = "the folder ro is not writable";
    const IS_INPUT: &str = "is one of the inputs";
    const IS_INCLUDED: &str = "is a file that the input includes";
    const BOTH: &str = "would both be written as";
    const DAMAGED: &str = "damaged.pyc: at byte";
    const MEMBER: &str = "module broken: ";
    const INSIDE: &str = "inway/shapes is a file, not a folder";
    vec![
        // assemble -o FILE
        works("file/control", &["main.pyasm", "-o", "out.pyc"], &["out.pyc"]),
        fails("file/input-fails", &["bad.pyasm", "-o", "good.pyc"], 1, NOT_ASSEMBLED),
        fails("file/folder-missing", &["good.pyasm", "-o", "nodir/sub/out.pyc"], 2, MISSING),
        fails("file/file-in-the-way", &["good.pyasm", "-o", "afile/out.pyc"], 2, IN_THE_WAY),
        fails("file/folder-in-the-way", &["good.pyasm", "-o", "adir"], 2, IS_A_FOLDER),
        unwritable("file/not-writable", &["good.pyasm", "-o", "ro/good.pyc"], NOT_WRITABLE),
        fails("file/output-is-input", &["prog.s", "-o", "prog.s"], 2, IS_INPUT),
        fails("file/output-is-input-pyasm", &["good.pyasm", "bad.pyasm", "-o", "./good.pyasm"], 2, IS_INPUT),
        fails("file/output-is-included", &["main.pyasm", "-o", "lib.inc"], 2, IS_INCLUDED),
        // A file given twice would write one output twice over.
        fails("file/same-input-twice", &["good.pyasm", "./good.pyasm", "-o", "out.pyc"], 2, "this file is given twice"),
        // assemble -o - (standard output)
        works("stdout/control", &["good.pyasm", "-o", "-"], &[]),
        fails("stdout/input-fails", &["good.pyasm", "bad.pyasm", "-o", "-"], 1, NOT_ASSEMBLED),
        // assemble --out-dir DIR (each input its own unit: the good one is written)
        works("out-dir/control", &["good.pyasm", "main.pyasm", "--out-dir", "out"], &["out/good.pyc", "out/main.pyc"]),
        Case { adds: &["out/good.pyc"], ..fails("out-dir/input-fails", &["good.pyasm", "bad.pyasm", "--out-dir", "out"], 1, NOT_ASSEMBLED) },
        fails("out-dir/all-inputs-fail", &["bad.pyasm", "--out-dir", "out"], 1, NOT_ASSEMBLED),
        fails("out-dir/folder-missing", &["good.pyasm", "--out-dir", "nodir/sub/out"], 2, MISSING),
        fails("out-dir/file-in-the-way", &["good.pyasm", "--out-dir", "afile"], 2, IS_A_FILE),
        fails("out-dir/file-in-the-way-above", &["good.pyasm", "--out-dir", "afile/out"], 2, IN_THE_WAY),
        unwritable("out-dir/not-writable", &["good.pyasm", "--out-dir", "ro"], NOT_WRITABLE),
        unwritable("out-dir/not-creatable", &["good.pyasm", "--out-dir", "ro/out"], NOT_WRITABLE),
        fails("out-dir/output-is-input", &["good.pyasm", "same.pyc", "--out-dir", "."], 2, IS_INPUT),
        fails("out-dir/output-is-included", &["m2.pyasm", "--out-dir", "."], 2, IS_INCLUDED),
        fails("out-dir/two-inputs-one-output", &["a/x.pyasm", "b/x.pyasm", "--out-dir", "out"], 2, BOTH),
        // link -o APP.pyz (and the default command's -o APP.pyz)
        works("pyz/control", &["link", "app/main.pyasm", "app/words.pyasm", "app/shapes", "-o", "new.pyz"], &["new.pyz"]),
        fails("pyz/input-fails", &["link", "good.pyasm", "bad.pyasm", "-o", "app.pyz"], 1, NOT_ASSEMBLED),
        fails("pyz/input-fails-default-command", &["good.pyasm", "bad.pyasm", "-o", "app.pyz"], 1, NOT_ASSEMBLED),
        fails("pyz/folder-missing", &["link", "good.pyasm", "-o", "nodir/sub/app.pyz"], 2, MISSING),
        fails("pyz/file-in-the-way", &["link", "good.pyasm", "-o", "afile/app.pyz"], 2, IN_THE_WAY),
        unwritable("pyz/not-writable", &["link", "good.pyasm", "-o", "ro/app.pyz"], NOT_WRITABLE),
        fails("pyz/output-is-input", &["link", "src.pyz", "-o", "src.pyz"], 2, IS_INPUT),
        fails("pyz/output-is-included", &["link", "zinc.pyasm", "-o", "lib.pyz"], 2, IS_INCLUDED),
        fails("pyz/two-inputs-one-output", &["link", "good.pyasm", "__main__.pyasm", "-o", "new.pyz"], 2, BOTH),
        // link -o DIR (a new folder, or merged into one that exists)
        works("folder/control", &["link", "app/main.pyasm", "app/words.pyasm", "app/shapes", "-o", "build"], &[
            "build/main.pyc",
            "build/greeting.pyc",
            "build/shapes/__init__.pyc",
            "build/shapes/area.pyc",
        ]),
        fails("folder/input-fails", &["link", "good.pyasm", "bad.pyasm", "-o", "build"], 1, NOT_ASSEMBLED),
        fails("folder/input-fails-merge", &["link", "good.pyasm", "bad.pyasm", "-o", "merge"], 1, NOT_ASSEMBLED),
        fails("folder/folder-missing", &["link", "good.pyasm", "-o", "nodir/sub/build"], 2, MISSING),
        fails("folder/file-in-the-way", &["link", "good.pyasm", "-o", "afile"], 2, IS_A_FILE),
        fails("folder/file-in-the-way-inside", &["link", "app/main.pyasm", "app/words.pyasm", "app/shapes", "-o", "inway"], 2, INSIDE),
        unwritable("folder/not-writable", &["link", "good.pyasm", "-o", "ro/build"], NOT_WRITABLE),
        unwritable("folder/not-writable-merge", &["link", "app/main.pyasm", "app/words.pyasm", "app/shapes", "-o", "merge"], "the folder merge/shapes is not writable"),
        fails("folder/output-is-input", &["link", "lout/lmain.pyc", "-o", "lout"], 2, IS_INPUT),
        fails("folder/output-is-included", &["link", "finc.pyasm", "-o", "fout"], 2, IS_INCLUDED),
        // dis -o FILE
        works("dis-file/control", &["dis", "good.pyc", "-o", "out.pyasm"], &["out.pyasm"]),
        fails("dis-file/damaged", &["dis", "damaged.pyc", "-o", "out.pyasm"], 1, DAMAGED),
        fails("dis-file/folder-missing", &["dis", "good.pyc", "-o", "nodir/sub/out.pyasm"], 2, MISSING),
        fails("dis-file/file-in-the-way", &["dis", "good.pyc", "-o", "afile/out.pyasm"], 2, IN_THE_WAY),
        fails("dis-file/folder-in-the-way", &["dis", "good.pyc", "-o", "adir"], 2, IS_A_FOLDER),
        unwritable("dis-file/not-writable", &["dis", "good.pyc", "-o", "ro/good.pyasm"], NOT_WRITABLE),
        fails("dis-file/output-is-input", &["dis", "good.pyc", "-o", "good.pyc"], 2, IS_INPUT),
        fails("dis-file/listing-folder-missing", &["dis", "good.pyc", "--listing", "-o", "nodir/sub/out.pyasm"], 2, MISSING),
        // dis (standard output)
        fails("dis-stdout/damaged", &["dis", "damaged.pyc"], 1, DAMAGED),
        // dis --out-dir DIR
        works("dis-out-dir/control", &["dis", "good.pyc", "a/y.pyc", "--out-dir", "out"], &["out/good.pyasm", "out/y.pyasm"]),
        Case { adds: &["out/good.pyasm"], ..fails("dis-out-dir/damaged", &["dis", "good.pyc", "damaged.pyc", "--out-dir", "out"], 1, DAMAGED) },
        fails("dis-out-dir/folder-missing", &["dis", "good.pyc", "--out-dir", "nodir/sub/out"], 2, MISSING),
        fails("dis-out-dir/file-in-the-way", &["dis", "good.pyc", "--out-dir", "afile"], 2, IS_A_FILE),
        unwritable("dis-out-dir/not-writable", &["dis", "good.pyc", "--out-dir", "ro"], NOT_WRITABLE),
        fails("dis-out-dir/output-is-input", &["dis", "disin.pyasm", "--out-dir", "."], 2, IS_INPUT),
        fails("dis-out-dir/two-inputs-one-output", &["dis", "a/y.pyc", "b/y.pyc", "--out-dir", "out"], 2, BOTH),
        // dis APP.pyz -o DIR, dis FOLDER -o DIR, and to standard output
        works("dis-app/control", &["dis", "app.pyz", "-o", "src"], &["src/__main__.pyasm", "src/greeting.pyasm", "src/shapes/__init__.pyasm", "src/shapes/area.pyasm"]),
        fails("dis-app/damaged-member", &["dis", "bad.pyz", "-o", "src"], 1, MEMBER),
        fails("dis-app/damaged-member-merge", &["dis", "bad.pyz", "-o", "merge2"], 1, MEMBER),
        fails("dis-app/damaged-member-folder", &["dis", "badappdir", "-o", "src"], 1, MEMBER),
        fails("dis-app/damaged-member-stdout", &["dis", "bad.pyz"], 1, MEMBER),
        fails("dis-app/folder-missing", &["dis", "app.pyz", "-o", "nodir/sub/src"], 2, MISSING),
        fails("dis-app/file-in-the-way", &["dis", "app.pyz", "-o", "afile"], 2, IS_A_FILE),
        fails("dis-app/file-in-the-way-inside", &["dis", "appdir", "-o", "inway"], 2, INSIDE),
        unwritable("dis-app/not-writable", &["dis", "app.pyz", "-o", "ro/src"], NOT_WRITABLE),
        unwritable("dis-app/not-writable-merge", &["dis", "app.pyz", "-o", "merge2"], "the folder merge2/shapes is not writable"),
        // completions: standard output only, written once it is whole.
        works("completions/control", &["completions", "bash"], &[]),
    ]
}

/// One entry of a folder tree, as compared before and after a run.
#[derive(Debug, PartialEq)]
enum Entry {
    Folder(u32),
    File(u32, Vec<u8>),
    Link(PathBuf),
}

fn snapshot(root: &Path) -> BTreeMap<String, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                out.insert(rel, Entry::Link(std::fs::read_link(&p).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Entry::Folder(mode));
                walk(root, &p, out);
            } else {
                out.insert(rel, Entry::File(mode, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Copies the template into `dir` (modes kept).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Removes a case's folder, making its read-only folders writable first.
fn remove(dir: &Path) {
    for ro in READ_ONLY {
        let _ = std::fs::set_permissions(dir.join(ro), std::fs::Permissions::from_mode(0o755));
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn chown_tree(dir: &Path, uid: u32) {
    std::os::unix::fs::lchown(dir, Some(uid), Some(uid)).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { chown_tree(&p, uid) } else { std::os::unix::fs::lchown(&p, Some(uid), Some(uid)).unwrap() }
    }
}

/// Who runs pyasm.
#[derive(Clone, Copy)]
enum Runner {
    /// The user running the tests.
    Me,
    /// `nobody`, through setpriv (the tests run as root).
    Nobody,
}

const NOBODY: u32 = 65534;

fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| {
            let out = Command::new("id").arg("-u").output().expect("id -u");
            String::from_utf8_lossy(&out.stdout).trim().parse().expect("a uid")
        })
}

/// The pyasm binary as `nobody` can run it: the built one when it can reach it, else a copy in
/// the temporary folder (the build folder may sit in a home folder others cannot enter);
/// `Err` says why neither works.
fn binary_for_nobody() -> &'static Result<PathBuf, String> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        let built = support::pyasm_bin();
        let mut why = match probe(&built) {
            Ok(()) => return Ok(built),
            Err(e) => vec![format!("{}: {e}", built.display())],
        };
        let dir = std::env::temp_dir().join(format!("pyasm-faults-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("pyasm");
        std::fs::copy(&built, &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        match probe(&copy) {
            Ok(()) => Ok(copy),
            Err(e) => {
                why.push(format!("{}: {e}", copy.display()));
                Err(why.join("; "))
            }
        }
    })
}

fn as_nobody(bin: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid", &NOBODY.to_string(), "--regid", &NOBODY.to_string(), "--clear-groups", "--"]).arg(bin);
    c
}

/// Whether `nobody` can run `bin --version`.
fn probe(bin: &Path) -> Result<(), String> {
    // Another test thread starting a process while a copy of the binary was open for
    // writing holds it open for a moment ("text file busy"): try again shortly.
    for _ in 0..50 {
        match as_nobody(bin).arg("--version").output() {
            Ok(o) if o.status.success() => return Ok(()),
            Ok(o) if String::from_utf8_lossy(&o.stderr).contains("Text file busy") => {}
            Ok(o) => return Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
            Err(e) if e.raw_os_error() == Some(26) => {}
            Err(e) => return Err(e.to_string()),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err("the binary stays busy".into())
}

fn command(runner: Runner) -> Command {
    match runner {
        Runner::Me => Command::new(support::pyasm_bin()),
        Runner::Nobody => as_nobody(binary_for_nobody().as_ref().expect("probed")),
    }
}

/// Runs one case; `Err` says what went wrong.
fn run_case(case: &Case, runner: Runner, root: &Path) -> Result<(), String> {
    let dir = root.join(case.name.replace('/', "--"));
    remove(&dir);
    copy_tree(template(), &dir);
    if let Runner::Nobody = runner {
        chown_tree(&dir, NOBODY);
    }
    for ro in READ_ONLY {
        std::fs::set_permissions(dir.join(ro), std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let before = snapshot(&dir);
    let out: Output = command(runner).args(case.args).current_dir(&dir).env("NO_COLOR", "1").output().map_err(|e| format!("{}: cannot run: {e}", case.name))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut after = snapshot(&dir);
    remove(&dir);
    let said = format!("pyasm {}\nexit status {:?}\nstderr:\n{stderr}", case.args.join(" "), out.status.code());
    if out.status.code() != Some(case.status) {
        return Err(format!("{}: exit status {:?}, expected {}\n{said}", case.name, out.status.code(), case.status));
    }
    if !stderr.contains(case.message) {
        return Err(format!("{}: stderr lacks {:?}\n{said}", case.name, case.message));
    }
    if case.status != 0 {
        if !out.stdout.is_empty() {
            return Err(format!("{}: a failed run wrote {} bytes to stdout\n{said}", case.name, out.stdout.len()));
        }
        if stderr.contains(".pyasm-") || stderr.contains(".tmp") {
            return Err(format!("{}: the message names a temporary file\n{said}", case.name));
        }
    }
    for add in case.adds {
        match after.remove(*add) {
            Some(Entry::File(..)) => {}
            other => return Err(format!("{}: expected {add} to be written, found {other:?}\n{said}", case.name)),
        }
    }
    // Folders a control case's outputs live in.
    after.retain(|k, v| !(matches!(v, Entry::Folder(_)) && !before.contains_key(k) && case.adds.iter().any(|a| a.starts_with(&format!("{k}/")))));
    // A control case to standard output.
    if case.status == 0 && case.adds.is_empty() && out.stdout.is_empty() {
        return Err(format!("{}: nothing on stdout\n{said}", case.name));
    }
    if before != after {
        let mut diff = Vec::new();
        for (k, v) in &before {
            match after.get(k) {
                None => diff.push(format!("  removed {k}")),
                Some(w) if w != v => diff.push(format!("  changed {k}")),
                _ => {}
            }
        }
        for k in after.keys().filter(|k| !before.contains_key(*k)) {
            diff.push(format!("  new {k}"));
        }
        return Err(format!("{}: the files changed:\n{}\n{said}", case.name, diff.join("\n")));
    }
    Ok(())
}

fn run_matrix(runner: Runner, who: &str) {
    let root = std::env::temp_dir().join(format!("pyasm-faults-{}-{}", who.replace(' ', "-"), std::process::id()));
    remove(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let root_user = matches!(runner, Runner::Me) && effective_uid() == 0;
    let cases = cases();
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for case in &cases {
        if case.unprivileged && root_user {
            skipped.push(case.name);
            continue;
        }
        if let Err(e) = run_case(case, runner, &root) {
            failures.push(e);
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    if !skipped.is_empty() {
        eprintln!(
            "NOTE {who}: {} cases about folders that are not writable do not apply to root (it ignores permission bits); \
             the unprivileged run covers them: {}",
            skipped.len(),
            skipped.join(", ")
        );
    }
    assert!(failures.is_empty(), "{} of {} fault cases failed ({who}):\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
    eprintln!("{who}: {} fault cases passed", cases.len() - skipped.len());
}

/// The matrix as this user, then (when this user is root) as `nobody`. One test, so that
/// the shared fixture and binary copy are removed at the end.
#[test]
fn fault_matrix() {
    let this_user = std::panic::catch_unwind(|| run_matrix(Runner::Me, "this user"));
    let nobody = std::panic::catch_unwind(|| {
        if effective_uid() != 0 {
            // The tests already run without root: the run above was the unprivileged one.
            eprintln!("SKIPPED the fault matrix as nobody: the tests do not run as root, so the run as this user is unprivileged");
            return;
        }
        match binary_for_nobody() {
            Ok(_) => run_matrix(Runner::Nobody, "nobody"),
            Err(why) => {
                assert!(!support::under_ci(), "CI is set but the tests cannot run pyasm as an unprivileged user (setpriv as uid {NOBODY}): {why}");
                eprintln!("SKIPPED the fault matrix as nobody: cannot switch to uid {NOBODY} with setpriv: {why}");
            }
        }
    });
    let _ = std::fs::remove_dir_all(template());
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("pyasm-faults-bin-{}", std::process::id())));
    if let Err(e) = this_user.and(nobody) {
        std::panic::resume_unwind(e);
    }
}

/// An archive with two members of one name is refused, naming both entries.
#[test]
fn duplicate_member_names_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.pyasm"), GOOD).unwrap();
    let made = Command::new(support::pyasm_bin()).args(["good.pyasm", "-o", "good.pyc"]).current_dir(dir.path()).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let pyc = std::fs::read(dir.path().join("good.pyc")).unwrap();
    let members = vec![("__main__.pyc".to_string(), pyc.clone()), ("util.pyc".to_string(), pyc.clone()), ("util.pyc".to_string(), pyc)];
    std::fs::write(dir.path().join("dup.pyz"), pyasm::link::pyz::write(b"", &members).unwrap()).unwrap();
    for args in [&["dis", "dup.pyz"][..], &["dis", "dup.pyz", "-o", "src"]] {
        let out = Command::new(support::pyasm_bin()).args(args).current_dir(dir.path()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("dup.pyz: two members are named util.pyc (directory entries 2 and 3"), "{err}");
        assert!(out.stdout.is_empty() && !dir.path().join("src").exists());
    }
}

/// Problems with files are JSON records under `--message-format json`, as diagnostics are.
#[test]
fn io_problems_are_json_records() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.pyasm"), GOOD).unwrap();
    std::fs::write(dir.path().join("afile"), "x").unwrap();
    let run = |args: &[&str]| Command::new(support::pyasm_bin()).args(args).current_dir(dir.path()).output().unwrap();
    let out = run(&["--message-format", "json", "good.pyasm", "-o", "afile/x.pyc"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "{\"severity\":\"error\",\"code\":\"E0502\",\"message\":\"cannot write afile/x.pyc: afile is a file, not a folder\",\
         \"file\":\"afile/x.pyc\",\"labels\":[],\"notes\":[],\"suggestions\":[],\"reason\":\"not-a-folder\"}\n"
    );
    let out = run(&["check", "nothere.pyasm", "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "{\"severity\":\"error\",\"code\":\"E0501\",\"message\":\"cannot read nothere.pyasm: there is no such file\",\
         \"file\":\"nothere.pyasm\",\"labels\":[],\"notes\":[],\"suggestions\":[],\"reason\":\"not-found\"}\n"
    );
}
