//! What 3.6–3.9's peephole optimizer leaves behind and the text form must still say, checked
//! by assembling, running in the version's interpreter, disassembling and assembling again:
//!
//! * `EXTENDED_ARG` lines (no operand): prefixes an argument does not need, or a jump's that a
//!   fresh layout would drop;
//! * `.line` directly followed by `.line`: lines whose code was removed, kept in co_lnotab as
//!   entries with a bytecode delta of 0.

mod support;

use pyasm::diagnostics::SourceFiles;
use pyasm::emit::pyc::PycHeader;
use pyasm::object::CodeObject;

fn assemble(text: &str) -> Result<pyasm::Assembled, String> {
    let mut files = SourceFiles::new();
    let file = files.add("test.pyasm", text);
    pyasm::assemble(&files, file, &pyasm::Options::default()).map_err(|d| files.render(&d, false))
}

/// Assembles, checks the output runs in the version's interpreter with the expected stdout,
/// disassembles and assembles again: equal code objects. Returns the module and the text.
fn round_trip(version: &str, text: &str, stdout: &str) -> Option<(CodeObject, String)> {
    let out = assemble(text).unwrap_or_else(|e| panic!("does not assemble:\n{e}"));
    let python = support::python_for_test(version, &format!("old_dis {version}"))?;
    let dir = tempfile::tempdir().unwrap();
    let pyc = dir.path().join("t.pyc");
    std::fs::write(&pyc, out.to_pyc(&PycHeader::Timestamp { mtime: 0, source_size: 0 })).unwrap();
    let run = python.command().arg(&pyc).output().unwrap();
    assert!(run.status.success(), "{version} failed: {}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(String::from_utf8_lossy(&run.stdout), stdout);
    let dis = pyasm::dis::disassemble(&out.module, out.version).unwrap();
    assert!(dis.mismatches.is_empty(), "{:?}\n{}", dis.mismatches, dis.text);
    let again = assemble(&dis.text).unwrap_or_else(|e| panic!("dis output does not assemble:\n{e}\n{}", dis.text));
    assert_eq!(again.module, out.module, "{}", dis.text);
    Some((out.module, dis.text))
}

#[test]
fn extra_prefixes_are_kept() {
    // An argument of 1 written with a zero prefix, and a jump of 4 bytes with one.
    let text = "\
.python 3.9
.code <module>
    EXTENDED_ARG
    LOAD_CONST 7
    EXTENDED_ARG
    POP_JUMP_IF_FALSE skip
    LOAD_NAME print
    LOAD_CONST 7
    CALL_FUNCTION 1
    POP_TOP
skip:
    LOAD_CONST None
    RETURN_VALUE
.end
";
    let Some((module, dis)) = round_trip("3.9", text, "7\n") else { return };
    let table = pyasm::opcodes::table_for(pyasm::version::PythonVersion::new(3, 9)).unwrap();
    let ext = table.extended_arg;
    // EXTENDED_ARG 0, LOAD_CONST k, EXTENDED_ARG 0, POP_JUMP_IF_FALSE (absolute, 16 bytes in).
    assert_eq!(module.code[0], ext);
    assert_eq!(module.code[1], 0);
    assert_eq!(module.code[4], ext);
    assert_eq!(module.code[5], 0);
    assert_eq!(module.code[7], 16);
    assert_eq!(dis.matches("EXTENDED_ARG").count(), 2, "{dis}");
}

#[test]
fn lines_without_code_are_kept() {
    // Line 2's code was "removed": its entry sits at the same offset as line 3's.
    let text = "\
.python 3.8
.code <module>
    .line 1
    LOAD_NAME print
    LOAD_CONST 1
    CALL_FUNCTION 1
    POP_TOP
    .line 2
    .line 3
    LOAD_CONST None
    RETURN_VALUE
    .line 5
.end
";
    // Line 5's code was removed at the very end: its entry sits at the end of the code.
    let Some((module, dis)) = round_trip("3.8", text, "1\n") else { return };
    assert_eq!(module.linetable, [8, 1, 0, 1, 4, 2]);
    assert!(dis.contains(".line 2\n    .line 3\n"), "{dis}");
    assert!(dis.contains("RETURN_VALUE\n    .line 5\n.end"), "{dis}");
}

#[test]
fn a_prefix_request_needs_an_instruction() {
    let text = ".python 3.8\n.code <module>\n    LOAD_CONST None\n    RETURN_VALUE\n    EXTENDED_ARG\n.end\n";
    let e = assemble(text).unwrap_err();
    assert!(e.contains("`EXTENDED_ARG` without an instruction after it"), "{e}");
}
