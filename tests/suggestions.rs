//! Suggestions as data: under `--message-format json` a "did you mean" comes with the
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
    ]
}

/// The value of `"key":` in a JSON object (a number or a simple string) after `from`.
fn field<'a>(json: &'a str, from: usize, key: &str) -> &'a str {
    let k = format!("\"{key}\":");
    let at = json[from..].find(&k).unwrap_or_else(|| panic!("no {key} in {json}")) + from + k.len();
    let rest = &json[at..];
    if let Some(s) = rest.strip_prefix('"') {
        &s[..s.find('"').unwrap()]
    } else {
        &rest[..rest.find([',', '}']).unwrap()]
    }
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
        let json = lines[0];
        let at = json.find("\"suggestions\":[{").unwrap_or_else(|| panic!("{name}: no suggestion in {json}"));
        assert_eq!(json[at..].matches("\"replacement\"").count(), 1, "{name}: {json}");
        let replacement = field(json, at, "replacement");
        let (start, end): (usize, usize) = (field(json, at, "byte_start").parse().unwrap(), field(json, at, "byte_end").parse().unwrap());
        // The line and columns say the same place as the bytes.
        let (line, column, end_column): (usize, usize, usize) =
            (field(json, at, "line").parse().unwrap(), field(json, at, "column").parse().unwrap(), field(json, at, "end_column").parse().unwrap());
        let text = source.lines().nth(line - 1).unwrap();
        let by_chars: String = text.chars().skip(column - 1).take(end_column - column).collect();
        assert_eq!(by_chars, source[start..end], "{name}: the columns and the bytes name different text");
        let fixed = format!("{}{replacement}{}", &source[..start], &source[end..]);
        std::fs::write(&path, &fixed).unwrap();
        let again = Command::new(support::pyasm_bin()).arg("check").arg(&path).output().unwrap();
        assert!(again.status.success(), "{name}: still fails after the fix:\n{fixed}\n{}", String::from_utf8_lossy(&again.stderr));
    }
}
