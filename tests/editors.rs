//! The editor support in editors/: its word lists are generated from pyasm's own tables, and
//! each editor's highlighting is checked by that editor (or its engine).
//!
//! * `generated_word_lists_are_up_to_date` rewrites the generated parts of the grammars (the
//!   opcode names of every version table, the direction-free jump names, the directives, the
//!   flag words) and fails if the committed files differ. `BLESS=1 cargo test --test editors`
//!   writes them, so new version tables reach the editors in one command.
//! * The VS Code grammar is run over editors/vscode/test/*.pyasm by vscode-tmgrammar-test (the
//!   engine VS Code itself uses), installed with npm into the target folder when missing.
//! * The vim syntax and the Emacs mode are loaded by headless vim / `emacs --batch`, which
//!   report the highlight group (vim) or face (Emacs) at chosen places of a sample file.
//!
//! A missing tool (npm, vim, emacs) is installed when the test may (root with apt-get, or npm
//! for the grammar tester); otherwise the test is skipped with a notice, and under CI (`CI`
//! set) it fails instead.

mod support;

use pyasm::opcodes::{ArgKind, TABLES};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------------------------
// Word lists

/// The generated lists, by kind, sorted.
fn word_lists() -> Vec<(&'static str, Vec<String>)> {
    let mut opcodes = BTreeSet::new();
    let mut jumps = BTreeSet::new();
    let mut operator_ops = BTreeSet::new();
    let mut flag_ops = BTreeSet::new();
    let mut flags = BTreeSet::new();
    for t in TABLES {
        for op in t.opcodes {
            opcodes.insert(op.name.to_string());
            match op.arg {
                ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute => {
                    jumps.insert(op.name.to_string());
                }
                ArgKind::Compare | ArgKind::BinaryOp => {
                    operator_ops.insert(op.name.to_string());
                }
                _ => {}
            }
            // Literal keywords among the named values (3.15's LOAD_COMMON_CONSTANT None) keep
            // their constant colour.
            for f in op.flags.iter().filter(|f| !matches!(f.word, "None" | "True" | "False")) {
                flags.insert(f.word.to_string());
            }
            // Instructions whose operand may be flag words alone (`MAKE_FUNCTION closure`).
            if matches!(op.arg, ArgKind::Number | ArgKind::Enum) && !op.flags.is_empty() {
                flag_ops.insert(op.name.to_string());
            }
        }
        for p in t.pseudo_jumps {
            opcodes.insert(p.name.to_string());
            jumps.insert(p.name.to_string());
        }
    }
    // Code flags, for `.flags`, `.add_flags` and `.remove_flags`.
    for (w, _) in pyasm::resolve::FLAG_WORDS {
        flags.insert(w.to_string());
    }
    let directives: BTreeSet<String> =
        pyasm::resolve::FILE_DIRECTIVES
            .iter()
            .chain(pyasm::resolve::CODE_DIRECTIVES)
            .chain(pyasm::link::LINK_DIRECTIVES)
            .map(|d| d.to_string())
            .collect();
    let order = |set: BTreeSet<String>| set.into_iter().collect::<Vec<String>>();
    vec![
        ("opcodes", order(opcodes)),
        ("jumps", order(jumps)),
        ("operator_ops", order(operator_ops)),
        ("flag_ops", order(flag_ops)),
        ("flags", order(flags)),
        ("directives", order(directives)),
    ]
}

fn list<'a>(lists: &'a [(&'static str, Vec<String>)], kind: &str) -> &'a [String] {
    &lists.iter().find(|(k, _)| *k == kind).unwrap_or_else(|| panic!("no word list `{kind}`")).1
}

/// A regex alternation of the words, longest first, so that an engine trying them in order
/// never settles for a prefix of a longer name (`end` before `end_try`).
fn alternation(words: &[String], separator: &str) -> String {
    let mut v = words.to_vec();
    v.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    v.join(separator)
}

// ---------------------------------------------------------------------------------------------
// Generators: each rewrites only the generated parts of a file and keeps the rest.

/// TextMate grammar (JSON, no comments): a rule whose `"comment"` is `"generated: KIND …"` has
/// on its next line a `match`/`begin` regex with one `(?:A|B|…)` group, whose words are
/// replaced by the list KIND.
fn regenerate_textmate(text: &str, lists: &[(&'static str, Vec<String>)]) -> Result<String, String> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    let mut count = 0;
    for (n, line) in text.lines().enumerate() {
        if let Some(kind) = pending.take() {
            let start = line.find("(?:").ok_or_else(|| format!("line {}: no `(?:` group after the generated marker", n + 1))? + 3;
            let len = line[start..].find(')').ok_or_else(|| format!("line {}: unclosed `(?:` group", n + 1))?;
            let words = alternation(list(lists, &kind), "|");
            out.push(format!("{}{}{}", &line[..start], words, &line[start + len..]));
            count += 1;
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("\"comment\": \"generated: ") {
            pending = Some(rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("").to_string());
        }
        out.push(line.to_string());
    }
    if count == 0 {
        return Err("no `\"comment\": \"generated: KIND\"` markers".into());
    }
    Ok(out.join("\n") + "\n")
}

/// Replaces the lines between `{comment} BEGIN generated` and `{comment} END generated`.
fn replace_block(text: &str, comment: &str, block: &str) -> Result<String, String> {
    let begin = format!("{comment} BEGIN generated");
    let end = format!("{comment} END generated");
    let b = text.find(&begin).ok_or_else(|| format!("no `{begin}` line"))?;
    let b = b + text[b..].find('\n').ok_or("the BEGIN line does not end")? + 1;
    let e = text[b..].find(&end).ok_or_else(|| format!("no `{end}` line"))? + b;
    Ok(format!("{}{}{}", &text[..b], block, &text[e..]))
}

/// Words as lines of at most ~100 columns, each starting with `prefix` and ending with `suffix`.
fn wrapped(prefix: &str, words: &[String], suffix: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in words {
        if !line.is_empty() && prefix.len() + line.len() + w.len() + suffix.len() > 100 {
            out.push_str(&format!("{prefix}{line}{suffix}\n"));
            line.clear();
        }
        line.push(' ');
        line.push_str(w);
    }
    if !line.is_empty() {
        out.push_str(&format!("{prefix}{line}{suffix}\n"));
    }
    out
}

fn regenerate_vim(text: &str, lists: &[(&'static str, Vec<String>)]) -> Result<String, String> {
    let mut block = String::new();
    // Later keyword definitions win, so the special opcodes come after the general list.
    block.push_str(&wrapped("syn keyword pyasmOpcode", list(lists, "opcodes"), ""));
    block.push_str(&wrapped("syn keyword pyasmJump", list(lists, "jumps"), " nextgroup=pyasmLabelRef skipwhite"));
    block.push_str(&wrapped("syn keyword pyasmOperatorOp", list(lists, "operator_ops"), " nextgroup=pyasmOperator skipwhite"));
    block.push_str(&wrapped("syn keyword pyasmFlagOp", list(lists, "flag_ops"), " nextgroup=pyasmFlagOperand skipwhite"));
    block.push_str(&wrapped("syn keyword pyasmFlag contained", list(lists, "flags"), ""));
    block.push_str(&format!("syn match pyasmDirective \"\\.\\%({}\\)\\>\"\n", alternation(list(lists, "directives"), "\\|")));
    replace_block(text, "\"", &block)
}

fn regenerate_emacs(text: &str, lists: &[(&'static str, Vec<String>)]) -> Result<String, String> {
    let mut block = String::new();
    for (kind, what) in [
        ("opcodes", "Opcode names of every supported version, and the jump names."),
        ("jumps", "Instructions whose operand is a label."),
        ("operator-ops", "Instructions whose operand is an operator symbol."),
        ("flag-ops", "Instructions whose operand may be flag words."),
        ("flags", "Flag words: instruction flags and code object flags."),
        ("directives", "Directive names, without the dot."),
    ] {
        let words: Vec<String> = list(lists, &kind.replace('-', "_")).iter().map(|w| format!("\"{w}\"")).collect();
        block.push_str(&format!("(defconst pyasm-{kind}\n  '("));
        let body = wrapped("   ", &words, "");
        block.push_str(body.trim_start().trim_end());
        block.push_str(&format!(")\n  \"{what}\")\n"));
    }
    replace_block(text, ";;", &block)
}

type Generator = fn(&str, &[(&'static str, Vec<String>)]) -> Result<String, String>;

const GENERATED: &[(&str, Generator)] = &[
    ("editors/vscode/syntaxes/pyasm.tmLanguage.json", regenerate_textmate),
    ("editors/vim/syntax/pyasm.vim", regenerate_vim),
    ("editors/emacs/pyasm-mode.el", regenerate_emacs),
];

#[test]
fn generated_word_lists_are_up_to_date() {
    let lists = word_lists();
    // The lists must hold what the grammars are for, whatever tables exist.
    assert!(list(&lists, "opcodes").iter().any(|o| o == "LOAD_CONST"));
    assert!(list(&lists, "jumps").iter().any(|o| o == "JUMP"));
    assert!(list(&lists, "directives").iter().any(|d| d == "end_try"));
    let bless = std::env::var_os("BLESS").is_some();
    let mut stale = Vec::new();
    for (path, generate) in GENERATED {
        let file = support::repo_root().join(path);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let fresh = generate(&text, &lists).unwrap_or_else(|e| panic!("{path}: {e}"));
        if fresh != text {
            if bless {
                std::fs::write(&file, &fresh).unwrap();
                eprintln!("wrote {path}");
            } else {
                stale.push(*path);
            }
        }
    }
    assert!(stale.is_empty(), "out of date (run `BLESS=1 cargo test --test editors` to refresh): {}", stale.join(", "));
}

#[test]
fn regenerating_keeps_hand_written_parts() {
    let lists = vec![
        ("opcodes", vec!["NOP".to_string(), "CALL".to_string()]),
        ("flags", vec!["null".to_string()]),
    ];
    // The alternation comes out longest first: CALL before NOP.
    let json = "{\n  \"comment\": \"generated: opcodes\",\n  \"match\": \"\\\\b(?:OLD|NAMES)\\\\b\",\n  \"x\": 1\n}\n";
    assert_eq!(
        regenerate_textmate(json, &lists).unwrap(),
        "{\n  \"comment\": \"generated: opcodes\",\n  \"match\": \"\\\\b(?:CALL|NOP)\\\\b\",\n  \"x\": 1\n}\n"
    );
    assert!(regenerate_textmate("{}\n", &lists).is_err());
    let vim = "a\n\" BEGIN generated\nold\n\" END generated\nb\n";
    assert_eq!(replace_block(vim, "\"", "new\n").unwrap(), "a\n\" BEGIN generated\nnew\n\" END generated\nb\n");
    assert!(replace_block("no markers", "\"", "").is_err());
}

// ---------------------------------------------------------------------------------------------
// Tools

/// Whether `cmd --version` runs.
fn runs(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Skips (returns false) with a notice, or fails under CI.
fn unavailable(test: &str, why: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: CI is set but {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
    false
}

/// Makes sure `cmd` runs, installing the Debian package `package` when this is a root shell
/// with apt-get (as on CI's fresh machine).
fn ensure_tool(cmd: &str, package: &str, test: &str) -> bool {
    ensure_package(&|| runs(cmd), &format!("`{cmd}` is not installed"), package, test)
}

/// Makes sure `present()` holds, installing the Debian package `package` when it does not
/// (as `ensure_tool`); `missing` says what is wrong when it cannot.
fn ensure_package(present: &dyn Fn() -> bool, missing: &str, package: &str, test: &str) -> bool {
    if present() {
        return true;
    }
    let root = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false);
    if root && runs_apt() {
        // Several tests may install at once: wait for dpkg's lock instead of failing.
        let install = |update: bool| {
            if update {
                let _ = Command::new("apt-get").args(["-o", "DPkg::Lock::Timeout=600", "update", "-q"]).status();
            }
            Command::new("apt-get")
                .args(["-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "--no-install-recommends", package])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        };
        eprintln!("{test}: installing {package} with apt-get");
        if (install(false) || install(true)) && present() {
            return true;
        }
    }
    unavailable(test, &format!("{missing} and could not be installed (apt-get install {package})"))
}

fn runs_apt() -> bool {
    Command::new("apt-get").arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// vscode-tmgrammar-test, installed with npm under target/ on first use.
fn tmgrammar_test() -> Option<PathBuf> {
    const PACKAGE: &str = "vscode-tmgrammar-test@0.1.3";
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm-tools");
    let bin = prefix.join("node_modules/.bin/vscode-tmgrammar-test");
    if bin.exists() {
        return Some(bin);
    }
    let test = "TextMate grammar test";
    if !runs("npm") && !ensure_tool("npm", "npm", test) {
        return None;
    }
    std::fs::create_dir_all(&prefix).unwrap();
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel", "error", "--prefix"])
        .arg(&prefix)
        .arg(PACKAGE)
        .output()
        .expect("npm runs");
    if !out.status.success() || !bin.exists() {
        unavailable(test, &format!("`npm install {PACKAGE}` failed:\n{}", String::from_utf8_lossy(&out.stderr)));
        return None;
    }
    Some(bin)
}

// ---------------------------------------------------------------------------------------------
// The editors' own checks

#[test]
fn textmate_grammar_passes_its_fixtures() {
    let Some(tester) = tmgrammar_test() else { return };
    let vscode = support::repo_root().join("editors/vscode");
    let out = Command::new(&tester)
        .current_dir(&vscode)
        .args(["--grammar", "syntaxes/pyasm.tmLanguage.json", "--config", "package.json", "test/*.pyasm"])
        .output()
        .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "vscode-tmgrammar-test failed:\n{report}");
    // It names every fixture it ran; there must be some.
    let fixtures = std::fs::read_dir(vscode.join("test")).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "pyasm")).count();
    assert!(fixtures >= 2, "too few fixtures in editors/vscode/test");
    assert_eq!(report.matches("✓").count(), fixtures, "not every fixture ran:\n{report}");
}

#[test]
fn package_json_points_at_the_grammar() {
    let text = std::fs::read_to_string(support::repo_root().join("editors/vscode/package.json")).unwrap();
    for needle in [
        "\"scopeName\": \"source.pyasm\"",
        "\"path\": \"./syntaxes/pyasm.tmLanguage.json\"",
        "\"extensions\": [\".pyasm\"]",
        "\"configuration\": \"./language-configuration.json\"",
    ] {
        assert!(text.contains(needle), "package.json lacks {needle}");
    }
    let grammar = std::fs::read_to_string(support::repo_root().join("editors/vscode/syntaxes/pyasm.tmLanguage.json")).unwrap();
    assert!(grammar.contains("\"scopeName\": \"source.pyasm\""));
}

/// A sample that has every kind of token, and the places the editor tests look at.
const SAMPLE: &str = "editors/test/sample.pyasm";

/// (line, 1-based byte column) of the first occurrence of `needle` in the sample, plus `skip`.
fn position(text: &str, needle: &str, skip: usize) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = line.find(needle) {
            return (i + 1, c + 1 + skip);
        }
    }
    panic!("{needle:?} is not in {SAMPLE}");
}

/// What each test expects at a place of the sample: (needle, offset into it, vim group, Emacs face).
const EXPECTED: &[(&str, usize, &str, &str)] = &[
    ("# the sample", 2, "pyasmComment", "font-lock-comment-face"),
    (".python", 1, "pyasmDirective", "font-lock-preprocessor-face"),
    ("3.11", 0, "pyasmNumber", "font-lock-constant-face"),
    (".code <module>", 0, "pyasmDirective", "font-lock-preprocessor-face"),
    ("<module>", 1, "pyasmCodeSpecialName", "font-lock-type-face"),
    ("RESUME", 0, "pyasmFlagOp", "font-lock-keyword-face"),
    ("LOAD_CONST \"a\\tb\"", 3, "pyasmOpcode", "font-lock-keyword-face"),
    ("\"a\\tb\"", 1, "pyasmString", "font-lock-string-face"),
    ("\\tb\"", 0, "pyasmEscape", "font-lock-regexp-grouping-backslash"),
    ("b'\\x00'", 3, "pyasmEscape", "font-lock-regexp-grouping-backslash"),
    ("0x_ff", 2, "pyasmNumber", "font-lock-constant-face"),
    ("-1.5e3", 1, "pyasmNumber", "font-lock-constant-face"),
    ("2j", 0, "pyasmNumber", "font-lock-constant-face"),
    ("-inf", 1, "pyasmNumber", "font-lock-constant-face"),
    ("None", 0, "pyasmConstant", "font-lock-constant-face"),
    ("@helper", 2, "pyasmCodeRef", "font-lock-type-face"),
    ("$300", 1, "pyasmRaw", "font-lock-constant-face"),
    ("len, null", 6, "pyasmFlag", "font-lock-builtin-face"),
    ("closure", 1, "pyasmFlag", "font-lock-builtin-face"),
    ("top:", 0, "pyasmLabel", "font-lock-function-name-face"),
    ("POP_JUMP_IF_FALSE done", 0, "pyasmJump", "font-lock-keyword-face"),
    ("POP_JUMP_IF_FALSE done", 19, "pyasmLabelRef", "font-lock-variable-name-face"),
    ("JUMP top", 6, "pyasmLabelRef", "font-lock-variable-name-face"),
    (".try handler", 6, "pyasmLabelRef", "font-lock-variable-name-face"),
    ("BINARY_OP +=", 10, "pyasmOperator", "font-lock-builtin-face"),
    ("12:4-19", 2, "pyasmNumber", "font-lock-constant-face"),
    ("helper(a, b)", 1, "pyasmCodeName", "font-lock-function-name-face"),
    ("helper(a, b)", 7, "pyasmParam", "font-lock-variable-name-face"),
    (".end_try", 3, "pyasmDirective", "font-lock-preprocessor-face"),
];

#[test]
fn vim_syntax_highlights_the_sample() {
    let test = "vim syntax";
    if !ensure_tool("vim", "vim-nox", test) {
        return;
    }
    let root = support::repo_root();
    let sample = std::fs::read_to_string(root.join(SAMPLE)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("result.txt");
    // For each place: the name of the innermost syntax item there.
    let probes: Vec<String> = EXPECTED
        .iter()
        .map(|(needle, skip, _, _)| {
            let (l, c) = position(&sample, needle, *skip);
            format!("synIDattr(synID({l}, {c}, 1), 'name')")
        })
        .collect();
    // The example files must load without an error message too.
    let mut examples: Vec<String> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pyasm"))
        .map(|p| p.display().to_string())
        .collect();
    examples.sort();
    let script = format!(
        "set nocompatible\n\
         let &runtimepath = '{vim_dir},' . &runtimepath\n\
         filetype on\n\
         syntax on\n\
         let v:errmsg = ''\n\
         let s:out = []\n\
         for s:f in {examples:?}\n\
           execute 'edit ' . fnameescape(s:f)\n\
           call add(s:out, 'example ' . s:f . ' ' . &filetype . ' ' . get(b:, 'current_syntax', '-'))\n\
         endfor\n\
         execute 'edit ' . fnameescape('{sample}')\n\
         call add(s:out, 'filetype ' . &filetype)\n\
         call add(s:out, {probes})\n\
         call add(s:out, 'errmsg ' . v:errmsg)\n\
         call writefile(flatten(s:out), '{result}')\n\
         qall!\n",
        vim_dir = root.join("editors/vim").display(),
        sample = root.join(SAMPLE).display(),
        probes = format!("[{}]", probes.join(", ")),
        result = result.display(),
    );
    let script_file = dir.path().join("check.vim");
    std::fs::write(&script_file, script).unwrap();
    let out = Command::new("vim").args(["-Nu", "NONE", "-i", "NONE", "-n", "-es", "-S"]).arg(&script_file).output().unwrap();
    let text = std::fs::read_to_string(&result)
        .unwrap_or_else(|_| panic!("vim wrote no result; its stderr:\n{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout)));
    let lines: Vec<&str> = text.lines().collect();
    let n = examples.len();
    for l in &lines[..n] {
        assert!(l.ends_with(" pyasm pyasm"), "an example did not get the pyasm filetype and syntax: {l}");
    }
    assert_eq!(lines[n], "filetype pyasm");
    let got = &lines[n + 1..n + 1 + EXPECTED.len()];
    let wrong: Vec<String> = EXPECTED
        .iter()
        .zip(got)
        .filter(|((_, _, want, _), got)| *want != **got)
        .map(|((needle, skip, want, _), got)| format!("{needle:?}+{skip}: expected {want}, got {got:?}"))
        .collect();
    assert!(wrong.is_empty(), "vim highlights differently:\n{}", wrong.join("\n"));
    assert_eq!(lines[n + 1 + EXPECTED.len()], "errmsg ", "vim reported an error");
}

#[test]
fn emacs_mode_highlights_the_sample() {
    let test = "Emacs mode";
    if !ensure_tool("emacs", "emacs-nox", test) {
        return;
    }
    let root = support::repo_root();
    let sample = std::fs::read_to_string(root.join(SAMPLE)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Byte-compile a copy first: compiler warnings (free variables, wrong arguments) fail it.
    let el = dir.path().join("pyasm-mode.el");
    std::fs::copy(root.join("editors/emacs/pyasm-mode.el"), &el).unwrap();
    let compile = Command::new("emacs")
        .args(["--batch", "-Q", "--eval", "(setq byte-compile-error-on-warn t)", "-f", "batch-byte-compile"])
        .arg(&el)
        .output()
        .unwrap();
    assert!(compile.status.success(), "byte-compiling pyasm-mode.el failed:\n{}", String::from_utf8_lossy(&compile.stderr));

    // The face at each place, by buffer position (1-based characters; the sample is ASCII).
    let mut probes = String::new();
    for (needle, skip, _, _) in EXPECTED {
        let (l, c) = position(&sample, needle, *skip);
        probes.push_str(&format!(
            "(goto-char (point-min)) (forward-line {}) (forward-char {}) (princ (format \"%s\\n\" (let ((f (get-text-property (point) 'face))) (if (listp f) (car f) f))))",
            l - 1,
            c - 1
        ));
    }
    let eval = format!(
        "(progn (add-to-list 'load-path \"{dir}\") (require 'pyasm-mode) (find-file \"{sample}\") \
         (princ (format \"%s\\n\" major-mode)) (font-lock-ensure) {probes})",
        dir = dir.path().display(),
        sample = root.join(SAMPLE).display(),
    );
    let out = Command::new("emacs").args(["--batch", "-Q", "--eval", &eval]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "emacs failed:\n{}{stdout}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first().copied(), Some("pyasm-mode"), "the .pyasm file did not open in pyasm-mode:\n{stdout}");
    let wrong: Vec<String> = EXPECTED
        .iter()
        .zip(&lines[1..])
        .filter(|((_, _, _, want), got)| want != *got)
        .map(|((needle, skip, _, want), got)| format!("{needle:?}+{skip}: expected {want}, got {got}"))
        .collect();
    assert_eq!(lines.len(), EXPECTED.len() + 1, "{stdout}");
    assert!(wrong.is_empty(), "Emacs highlights differently:\n{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The language server in the editors

/// Emacs in batch mode with eglot (built in from Emacs 29, the elpa-eglot package before)
/// connects to `pyasm lsp` on a module with a mistake and receives its diagnostic.
#[test]
fn emacs_eglot_receives_the_language_servers_diagnostics() {
    let test = "Emacs eglot";
    if !ensure_tool("emacs", "emacs-nox", test) {
        return;
    }
    let has_eglot = || Command::new("emacs").args(["--batch", "--no-init-file", "--eval", "(require 'eglot)"]).output().is_ok_and(|o| o.status.success());
    if !ensure_package(&has_eglot, "eglot is not available to Emacs", "elpa-eglot", test) {
        return;
    }
    let root = support::repo_root();
    let dir = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(dir.path()).unwrap();
    for name in ["main.pyasm", "util.pyasm", "common.pyasm"] {
        std::fs::copy(root.join("tests/lsp_module").join(name), dir.join(name)).unwrap();
    }
    let util = dir.join("util.pyasm");
    let text = std::fs::read_to_string(&util).unwrap().replacen("IF_NONE zero", "IF_NONE zer", 1);
    std::fs::write(&util, text).unwrap();
    // The folder is the project (no version control needed); the session waits for the
    // first diagnostics and prints each as LINE:TYPE:FIRST LINE OF THE MESSAGE.
    let eval = format!(
        r#"(progn
  (add-to-list 'load-path "{emacs}")
  (require 'pyasm-mode)
  (require 'eglot)
  (add-hook 'project-find-functions (lambda (_d) (cons 'transient "{dir}/")))
  (find-file "{util}")
  (eglot '(pyasm-mode) (project-current) 'eglot-lsp-server '("{pyasm}" "lsp") "pyasm")
  (let ((deadline (+ (float-time) 60)))
    (while (and (null (flymake-diagnostics)) (< (float-time) deadline))
      (accept-process-output nil 0.1)))
  (dolist (d (flymake-diagnostics))
    (princ (format "%d:%s:%s\n" (line-number-at-pos (flymake-diagnostic-beg d)) (flymake-diagnostic-type d)
                   (car (split-string (flymake-diagnostic-text d) "\n"))))))"#,
        emacs = root.join("editors/emacs").display(),
        dir = dir.display(),
        util = util.display(),
        pyasm = support::pyasm_bin().display(),
    );
    // Not -Q: Debian activates elpa-eglot from the site start files.
    let out = Command::new("emacs").args(["--batch", "--no-init-file", "--eval", &eval]).current_dir(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "emacs failed:\n{}{stdout}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout, "4:eglot-error:pyasm [E0105]: label `zer` is not defined in this code object\n");
}

/// The names of the members of a zip file (from its central directory).
fn zip_names(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = 0;
    while i + 46 <= bytes.len() {
        if bytes[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            let n = u16::from_le_bytes([bytes[i + 28], bytes[i + 29]]) as usize;
            names.push(String::from_utf8_lossy(&bytes[i + 46..(i + 46 + n).min(bytes.len())]).into_owned());
            i += 46 + n;
        } else {
            i += 1;
        }
    }
    names
}

/// The VS Code extension packs into a .vsix with @vscode/vsce (its npm dependencies installed
/// under target/ on first use, again when package.json changes), with the language client,
/// the grammar and the script that starts `pyasm lsp`.
#[test]
fn vscode_extension_packages_as_a_vsix() {
    let test = "VS Code .vsix";
    if !runs("npm") && !ensure_tool("npm", "npm", test) {
        return;
    }
    let source = support::repo_root().join("editors/vscode");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vscode-extension");
    std::fs::create_dir_all(&work).unwrap();
    for name in ["package.json", "extension.js", "language-configuration.json", ".vscodeignore", "syntaxes/pyasm.tmLanguage.json"] {
        std::fs::create_dir_all(work.join(name).parent().unwrap()).unwrap();
        std::fs::copy(source.join(name), work.join(name)).unwrap();
    }
    let check = Command::new("node").arg("--check").arg(work.join("extension.js")).output().unwrap();
    assert!(check.status.success(), "extension.js: {}", String::from_utf8_lossy(&check.stderr));
    let manifest = std::fs::read(work.join("package.json")).unwrap();
    let marker = work.join("node_modules/.installed-for");
    if std::fs::read(&marker).ok().as_deref() != Some(&manifest[..]) {
        let out = Command::new("npm").args(["install", "--no-audit", "--no-fund", "--loglevel", "error"]).current_dir(&work).output().unwrap();
        if !out.status.success() {
            unavailable(test, &format!("`npm install` failed:\n{}", String::from_utf8_lossy(&out.stderr)));
            return;
        }
        std::fs::write(&marker, &manifest).unwrap();
    }
    let vsix = work.join("pyasm.vsix");
    let _ = std::fs::remove_file(&vsix);
    let out = Command::new(work.join("node_modules/.bin/vsce"))
        .args(["package", "--allow-missing-repository", "--skip-license", "-o"])
        .arg(&vsix)
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(out.status.success(), "vsce package failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let names = zip_names(&std::fs::read(&vsix).unwrap());
    for member in [
        "extension/package.json",
        "extension/extension.js",
        "extension/syntaxes/pyasm.tmLanguage.json",
        "extension/language-configuration.json",
        "extension/node_modules/vscode-languageclient/package.json",
        "extension.vsixmanifest",
    ] {
        assert!(names.iter().any(|n| n == member), "{member} is not in the .vsix ({} members)", names.len());
    }
    assert!(!names.iter().any(|n| n.contains("/.bin/") || n.ends_with(".vsix") || n.starts_with("extension/test/")), "{names:?}");
}
