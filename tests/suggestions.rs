//! Suggestions as data: under `--message-format json` a "did you mean" (or the opcode that
//! replaced one, the missing `.end_try`, a call's slots in their order) comes with the
//! replacement text and the span it replaces. Applying it must fix the mistake: for each case
//! the file has one error with one suggestion, and with the replacement spliced in at the
//! reported bytes (and at the reported line and column, counted in characters) it assembles.

mod support;

use std::process::Command;

const MODULE_END: &str = "    LOAD_CONST None\n    RETURN_VALUE\n.end\n";

fn cases() -> Vec<(&'static str, String)> {
    let head = ".python 3.11\n.code <module>\n    RESUME 0\n";
    vec![
        ("opcode", format!("{head}  café: NOPP\n{MODULE_END}")),
        ("directive", format!("{head}    .nme \"é\"\n{MODULE_END}")),
        ("label", format!("{head}    JUMP_FORWARD ende\n    NOP\n  end:\n{MODULE_END}")),
        ("local", ".python 3.11\n.code f(total)\n    RESUME 0\n    LOAD_FAST totl\n    RETURN_VALUE\n.end\n.code <module>\n    RESUME 0\n    LOAD_CONST @f\n    POP_TOP\n".to_string() + MODULE_END),
        ("flag", format!("{head}    .flags nofree\n    .add_flags optimzed\n{MODULE_END}")),
        ("code reference", format!(".python 3.11\n.code helper()\n    RESUME 0\n{MODULE_END}.code <module>\n    RESUME 0\n    LOAD_CONST @helpr\n    POP_TOP\n{MODULE_END}")),
        // Inside a macro the fix is one of the macro's text, where the mistake was written.
        ("macro body", format!(".python 3.11\n.macro twice(x)\n    LOAD_CONST x\n    POP_TOPP\n    LOAD_CONST x\n    POP_TOP\n.endmacro\n{head}    twice 1\n{MODULE_END}")),
        // The instruction that replaced one the version lacks.
        ("removed opcode", format!("{head}    LOAD_CONST 1\n    LOAD_CONST 2\n    BINARY_ADD\n    POP_TOP\n{MODULE_END}")),
        // The `.end_try` a region lacks, before the `.end`.
        ("end_try", ".python 3.12\n.code <module>\n    RESUME 0\n    .try handler\n    LOAD_CONST None\n    RETURN_VALUE\nhandler:\n    POP_TOP\n    RETURN_CONST None\n.end\n".to_string()),
        // A call's NULL and callable the other way round (3.12: NULL first; 3.13: the callable).
        ("call layout 3.12", ".python 3.12\n.code <module>\n    RESUME 0\n    LOAD_NAME print\n    PUSH_NULL\n    CALL 0\n    POP_TOP\n".to_string() + MODULE_END),
        ("call layout 3.13", ".python 3.13\n.code <module>\n    RESUME 0\n    PUSH_NULL\n    LOAD_NAME print\n    CALL 0\n    POP_TOP\n".to_string() + MODULE_END),
        // The fix keeps the comments of the lines it rewrites (a `#` in a string is no comment).
        ("call layout with comments", ".python 3.13\n.code <module>\n    RESUME 0\n    PUSH_NULL  # NULL\n    # the callable:\n    LOAD_NAME print  # '#'\n    CALL 0\n    POP_TOP\n".to_string() + MODULE_END),
        // Two letters the other way round are one typo.
        ("swapped letters", ".python 3.11\n.code f(value)\n    RESUME 0\n    LOAD_FAST valeu\n    RETURN_VALUE\n.end\n.code <module>\n    RESUME 0\n    LOAD_CONST @f\n    POP_TOP\n".to_string() + MODULE_END),
    ]
}

#[test]
fn applying_each_suggestion_fixes_the_mistake() {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in cases() {
        let path = dir.path().join("case.pyasm");
        std::fs::write(&path, &source).unwrap();
        let out = Command::new(support::pyasm_bin()).arg("check").arg(&path).args(["--message-format", "json"]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!((out.status.code(), lines.len()), (Some(1), 1), "{name}: {stderr}");
        let json: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        let suggestions = json["suggestions"].as_array().unwrap();
        assert_eq!(suggestions.len(), 1, "{name}: {json}");
        let s = &suggestions[0];
        let replacement = s["replacement"].as_str().unwrap();
        let number = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{name}: no {k} in {s}")) as usize;
        let (start, end) = (number("byte_start"), number("byte_end"));
        // The lines and columns say the same place as the bytes (columns count characters).
        let place = |line: usize, column: usize| -> usize {
            let line_start: usize = source.split_inclusive('\n').take(line - 1).map(str::len).sum();
            line_start + source[line_start..].chars().take(column - 1).map(char::len_utf8).sum::<usize>()
        };
        assert_eq!(place(number("line"), number("column")), start, "{name}: the start's column and byte differ");
        assert_eq!(place(number("end_line"), number("end_column")), end, "{name}: the end's column and byte differ");
        let fixed = format!("{}{replacement}{}", &source[..start], &source[end..]);
        for comment in source.lines().filter_map(|l| l.find("# ").map(|i| &l[i..])) {
            assert!(fixed.contains(comment), "{name}: the fix drops `{comment}`:\n{fixed}");
        }
        std::fs::write(&path, &fixed).unwrap();
        let again = Command::new(support::pyasm_bin()).arg("check").arg(&path).output().unwrap();
        assert!(again.status.success(), "{name}: still fails after the fix:\n{fixed}\n{}", String::from_utf8_lossy(&again.stderr));
    }
}
