//! `pyasm explain`: every opcode of every version table has a description, the data file is
//! well formed, and the command shows the table's facts next to the words.

mod support;

use pyasm::explain;
use pyasm::opcodes::TABLES;
use std::process::Command;

fn pyasm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(support::pyasm_bin()).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn every_opcode_of_every_table_has_a_description() {
    // Runs over whatever tables exist, so a new version's table fails here until its new
    // instructions are described in src/explain/descriptions.txt.
    let mut missing = Vec::new();
    for t in TABLES {
        for name in t.opcodes.iter().map(|o| o.name).chain(t.pseudo_jumps.iter().map(|p| p.name)) {
            if explain::describe(name).is_none() {
                missing.push(format!("{} ({})", name, t.version));
            }
        }
    }
    assert!(missing.is_empty(), "no description in src/explain/descriptions.txt for: {}", missing.join(", "));
}

#[test]
fn the_data_file_is_well_formed() {
    let entries = explain::entries();
    // 3.11 alone has over a hundred opcodes; the file also covers the later versions' names.
    assert!(entries.len() >= 160, "only {} entries", entries.len());
    let known = |n: &str| entries.iter().any(|e| e.name == n);
    for e in entries {
        for r in &e.replaced_by {
            for n in &r.names {
                assert!(known(n), "{} is replaced by {n}, which has no entry", e.name);
            }
            assert!(!r.text.is_empty(), "{}: a `=>` line without text", e.name);
        }
        for n in &e.notes {
            assert!(n.from >= pyasm::version::PythonVersion::new(3, 6), "{}: a note for {} (pyasm starts at 3.6)", e.name, n.from);
            assert!(n.to.is_none_or(|t| t >= n.from), "{}: an empty version range", e.name);
        }
    }
}

#[test]
fn the_parser_rejects_malformed_entries() {
    let err = |text: &str| explain::parse(text).unwrap_err();
    assert!(err("== NOP\nx\n== NOP\ny\n").contains("two entries"));
    assert!(err("text first\n").contains("before the first"));
    assert!(err("== NOP\n").contains("no description"));
    assert!(err("== NOP\nx\n[3.x] note\n").contains("line 3"));
    assert!(err("== NOP\nx\n[3.12+] note\nmore text\n").contains("notes come last"));
    let ok = explain::parse("== NOP\nOne line\nand its continuation.\n\nA second paragraph.\n[3.12-3.13] a note\n  continued\n=> POP_TOP: why\n").unwrap();
    assert_eq!(ok[0].paragraphs, ["One line and its continuation.", "A second paragraph."]);
    assert_eq!(ok[0].notes[0].text, "a note continued");
    assert!(ok[0].notes[0].applies_to(pyasm::version::PythonVersion::new(3, 13)));
    assert!(!ok[0].notes[0].applies_to(pyasm::version::PythonVersion::new(3, 14)));
    assert_eq!(ok[0].replaced_by[0].names, ["POP_TOP"]);
}

#[test]
fn explain_shows_the_table_facts() {
    let (code, out, _) = pyasm(&["explain", "load_global", "--python", "3.11"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("LOAD_GLOBAL: opcode 116 in Python 3.11\n"), "{out}");
    assert!(out.contains("builtins"), "{out}");
    // The 3.11 note applies; the 3.13 one is shown as another version's.
    let (mine, others) = out.split_once("In other versions:").expect(&out);
    assert!(mine.contains("In Python 3.11:") && mine.contains("below the value"), "{out}");
    assert!(others.contains("3.13+: The NULL goes above the value"), "{out}");
    assert!(out.contains("flag\n          words: null (1)") || out.contains("flag words: null (1)"), "{out}");
    assert!(out.contains("stack     takes 0, leaves 1 + (arg & 1) (net +1 + (arg & 1))"), "{out}");
    assert!(out.contains("caches    5 CACHE units after it (10 bytes)"), "{out}");
    assert!(out.contains("versions  3.6 (116), 3.7 (116), 3.8 (116), 3.9 (116), 3.10 (116), 3.11 (116)"), "{out}");
}

#[test]
fn explain_a_jump_shows_both_exits() {
    let (_, out, _) = pyasm(&["explain", "FOR_ITER", "--python", "3.11"]);
    assert!(out.contains("stack     takes 1, leaves 2 (net +1)\n          when it jumps: leaves 0 (net -1)"), "{out}");
    assert!(out.contains("control   jumps to its label or goes on"), "{out}");
    let (_, out, _) = pyasm(&["explain", "JUMP", "--python", "3.11"]);
    assert!(out.starts_with("JUMP: a pyasm jump name in Python 3.11, for JUMP_FORWARD (label ahead) or JUMP_BACKWARD"), "{out}");
}

#[test]
fn explain_a_name_the_version_lacks_says_what_does_the_job() {
    // CALL_KW arrived in 3.13; in 3.11 KW_NAMES and CALL do its job.
    let (code, out, _) = pyasm(&["explain", "CALL_KW", "--python", "3.11"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("CALL_KW: not an instruction of Python 3.11"), "{out}");
    assert!(out.contains("Without CALL_KW: KW_NAMES"), "{out}");
    // And the other way: an instruction replaced in later versions names its successor.
    let (_, out, _) = pyasm(&["explain", "PRECALL", "--python", "3.11"]);
    assert!(out.contains("opcode 166") && out.contains("1 CACHE unit after it"), "{out}");
}

#[test]
fn an_unknown_name_gets_a_suggestion() {
    let (code, _, err) = pyasm(&["explain", "LOAD_GLOBL", "--python", "3.11"]);
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `LOAD_GLOBAL`?"), "{err}");
}

#[test]
fn list_shows_every_opcode_of_the_version() {
    let (code, out, _) = pyasm(&["explain", "--list", "--python", "3.11"]);
    assert_eq!(code, 0);
    let table = pyasm::opcodes::table_for(pyasm::version::PythonVersion::new(3, 11)).unwrap();
    for op in table.opcodes {
        assert!(out.lines().any(|l| l.split_whitespace().nth(1) == Some(op.name)), "{} missing from:\n{out}", op.name);
    }
    assert!(out.lines().any(|l| l.starts_with(" 116  LOAD_GLOBAL ") && l.contains("name") && l.contains("Pushes the value of a global")), "{out}");
    assert!(out.contains("POP_JUMP_IF_FALSE") && out.contains("pyasm picks POP_JUMP_FORWARD_IF_FALSE or POP_JUMP_BACKWARD_IF_FALSE"), "{out}");
}
