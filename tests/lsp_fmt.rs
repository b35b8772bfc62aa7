//! `pyasm fmt` (`pyasm::fmt::format`, which the language server's formatting uses): on every
//! example and on the disassembly of a CPython's own stdlib modules, formatting is idempotent
//! and changes no assembled byte (each text is assembled before and after, with the same
//! co_filename, and the .pyc bytes compared). The command itself: `--check`, in place, stdin.

mod support;

use pyasm::diagnostics::SourceFiles;
use pyasm::emit::pyc::PycHeader;
use std::path::{Path, PathBuf};
use std::process::Command;

const HEADER: PycHeader = PycHeader::Timestamp { mtime: 0, source_size: 0 };

/// The files of one module: each in `dir` (as written, or formatted), the first one's name
/// as co_filename; `None` when it does not assemble.
fn assemble(paths: &[PathBuf], texts: &[String]) -> Option<Vec<u8>> {
    let mut files = SourceFiles::new();
    let ids: Vec<u32> = paths.iter().zip(texts).map(|(p, t)| files.add(p.display().to_string(), t.clone())).collect();
    let opts = pyasm::Options { filename: Some("example.py".into()), ..Default::default() };
    pyasm::assemble_files(&mut files, &ids, &opts).ok().map(|a| a.to_pyc(&HEADER))
}

fn pyasm_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            pyasm_files(&e, out);
        } else if e.extension().is_some_and(|x| x == "pyasm") {
            out.push(e);
        }
    }
}

fn formatted(path: &Path, text: &str) -> String {
    let once = pyasm::fmt::format(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let twice = pyasm::fmt::format(&once).unwrap();
    assert_eq!(once, twice, "{}: formatting is not idempotent", path.display());
    once
}

#[test]
fn formatting_the_examples_is_idempotent_and_keeps_every_byte() {
    let root = support::repo_root().join("examples");
    let mut paths = Vec::new();
    pyasm_files(&root, &mut paths);
    let mut compared = 0;
    let mut changed = 0;
    // Includes are read from disk: the formatted copies live in a folder of their own.
    let copy = tempfile::tempdir().unwrap();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        let f = formatted(p, &text);
        changed += usize::from(f != text);
        let target = copy.path().join(p.strip_prefix(&root).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, f).unwrap();
    }
    // One module per file, and the multi-file program as one module.
    let program = ["main.pyasm", "numbers.pyasm", "text.pyasm"].map(|n| PathBuf::from("link/program").join(n));
    let mut modules: Vec<Vec<PathBuf>> = paths.iter().map(|p| vec![p.strip_prefix(&root).unwrap().to_path_buf()]).collect();
    modules.push(program.to_vec());
    for m in &modules {
        let read = |base: &Path| -> (Vec<PathBuf>, Vec<String>) {
            let ps: Vec<PathBuf> = m.iter().map(|r| base.join(r)).collect();
            let ts = ps.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
            (ps, ts)
        };
        let (ps, ts) = read(&root);
        let Some(before) = assemble(&ps, &ts) else { continue };
        let (ps, ts) = read(copy.path());
        let after = assemble(&ps, &ts).unwrap_or_else(|| panic!("{m:?} no longer assembles once formatted"));
        assert!(before == after, "{m:?}: formatting changed the assembled bytes");
        compared += 1;
    }
    println!("{} example files formatted ({changed} changed), {compared} modules assembled the same", paths.len());
    assert!(compared >= 20, "only {compared} modules were compared");
}

/// Disassembles each .pyc of `dir` (sorted), formats the text, and checks that formatting is
/// idempotent and that the text assembles to the same bytes before and after; the count.
/// Wide characters (日本語, emoji) in strings, names, labels and comments: the comments line
/// up by the columns a terminal shows, formatting twice changes nothing more, and the
/// program's bytes stay the same.
#[test]
fn wide_characters_keep_the_layout_idempotent() {
    let text = ".python 3.12\n# 日本語のコメント 🎉\n.code <module>\n  .locals 名前\n    RESUME 0\n    LOAD_CONST (\"日本語 🎉\", 1)  # 日本語 🎉\n    STORE_FAST 名前 # ✓\n始め: LOAD_FAST 名前 #ok\n    POP_TOP\n    RETURN_CONST \"🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉\" # 👍\n.end\n".to_string();
    let path = PathBuf::from("wide.pyasm");
    let f = formatted(&path, &text);
    assert_ne!(f, text);
    for line in f.lines().filter(|l| l.starts_with(' ') || l.starts_with('始')).filter(|l| l.contains(" #")) {
        let code = &line[..line.find(" #").unwrap() + 1];
        let columns: usize = code.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
        assert!(columns == 32 || (columns > 32 && columns % 8 == 0), "{line:?}: the comment at column {columns}");
    }
    let before = assemble(std::slice::from_ref(&path), std::slice::from_ref(&text)).expect("assembles");
    assert_eq!(assemble(std::slice::from_ref(&path), &[f]), Some(before));
}

fn check_disassembled(dir: &Path) -> usize {
    let mut count = 0;
    let mut pycs: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "pyc")).collect();
    pycs.sort();
    for p in pycs {
        let pyc = pyasm::load::load_pyc(&std::fs::read(&p).unwrap()).unwrap();
        let table = pyc.table();
        let dis = pyasm::dis::disassemble(&pyc.code, table).unwrap();
        let f = formatted(&p, &dis.text);
        let assemble = |text: &str| {
            let mut files = SourceFiles::new();
            let id = files.add("m.pyasm", text.to_string());
            let opts = pyasm::Options { version: Some(table.version), ..Default::default() };
            pyasm::assemble(&files, id, &opts).map(|a| a.to_pyc(&HEADER)).map_err(|d| files.render(&d, false))
        };
        let before = assemble(&dis.text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let after = assemble(&f).unwrap_or_else(|e| panic!("{} formatted: {e}", p.display()));
        assert!(before == after, "{}: formatting changed the assembled bytes", p.display());
        count += 1;
    }
    count
}

#[test]
fn formatting_disassembled_stdlib_modules_keeps_every_byte() {
    let Some(python) = support::python_for_test("3.12", "lsp_fmt") else { return };
    let dir = tempfile::tempdir().unwrap();
    // A fixed sample of the stdlib, compiled by the interpreter itself.
    let script = "import compileall, sys, os, py_compile\n\
        lib = os.path.dirname(os.__file__)\n\
        names = sorted(n for n in os.listdir(lib) if n.endswith('.py'))[:60]\n\
        for n in names:\n    py_compile.compile(os.path.join(lib, n), os.path.join(sys.argv[1], n + 'c'), doraise=True)\n";
    let out = support::run_python(&python, script, &[dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let count = check_disassembled(dir.path());
    println!("{count} stdlib modules of 3.12: formatted, idempotent, the same bytes");
    assert!(count >= 50);
}

/// The whole standard library of one version (`PYASM_FMT_VERSION`, default 3.12), every
/// module its interpreter compiles (tools/roundtrip/compile_stdlib.py, as the stdlib round
/// trip does): formatting each disassembly is idempotent and changes no assembled byte.
/// Ignored (minutes in a debug build):
///
///     cargo test --locked --test lsp_fmt every_disassembled -- --ignored --nocapture
#[test]
#[ignore]
fn formatting_every_disassembled_stdlib_module_keeps_every_byte() {
    let version = std::env::var("PYASM_FMT_VERSION").unwrap_or_else(|_| "3.12".into());
    let Some(python) = support::python_for_test(&version, "lsp_fmt") else { return };
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let script = support::repo_root().join("tools/roundtrip/compile_stdlib.py");
    let out = python.command().arg(&script).arg("--out").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_string();
    // Deeply nested modules need more stack than a test thread has.
    let path = dir.path().to_path_buf();
    let count = std::thread::Builder::new().stack_size(64 << 20).spawn(move || check_disassembled(&path)).unwrap().join().unwrap();
    println!("{summary}\n{count} stdlib modules of {version}: formatted, idempotent, the same bytes ({:.0} s)", started.elapsed().as_secs_f64());
    assert!(count > 500, "{count}");
}

#[test]
fn the_fmt_command_checks_rewrites_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let messy = dir.path().join("messy.pyasm");
    std::fs::write(&messy, ".code <module>\nRESUME 0\n  LOAD_CONST None # done\n RETURN_VALUE\n.end\n").unwrap();
    let pyasm = || Command::new(support::pyasm_bin());
    let check = pyasm().args(["fmt", "--check"]).arg(dir.path()).output().unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&check.stderr), format!("{}: not in the pyasm fmt layout\n", messy.display()));
    let fix = pyasm().arg("fmt").arg(&messy).output().unwrap();
    assert!(fix.status.success(), "{fix:?}");
    let want = ".code <module>\n    RESUME 0\n    LOAD_CONST None             # done\n    RETURN_VALUE\n.end\n";
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), want);
    let check = pyasm().args(["fmt", "--check"]).arg(&messy).output().unwrap();
    assert_eq!(check.status.code(), Some(0));
    let mut child = pyasm().args(["fmt", "-"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"x:  NOP\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x: NOP\n");
}
