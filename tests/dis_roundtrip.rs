//! Assemble every example, disassemble the result, assemble that again: the code objects must
//! be equal field by field and the marshalled bytes identical.

mod support;

use pyasm::diagnostics::SourceFiles;
use pyasm::object::CodeObject;

fn assemble(name: &str, text: &str) -> Result<CodeObject, String> {
    let mut files = SourceFiles::new();
    let file = files.add(name, text);
    pyasm::assemble(&files, file, &pyasm::Options::default())
        .map(|a| a.module)
        .map_err(|d| files.render(&d, false))
}

#[test]
fn examples_round_trip_through_dis() {
    let dir = support::repo_root().join("examples");
    let mut failures = Vec::new();
    let mut count = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "pyasm")) {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let original = match assemble(&name, &text) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: does not assemble:\n{e}"));
                continue;
            }
        };
        count += 1;
        let table = pyasm::opcodes::table_for(pyasm::version::PythonVersion::new(3, 11)).unwrap();
        let dis = match pyasm::dis::disassemble(&original, table) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: dis failed: {e}"));
                continue;
            }
        };
        if !dis.mismatches.is_empty() {
            failures.push(format!("{name}: dis reports mismatches {:?}\n{}", dis.mismatches, dis.text));
            continue;
        }
        match assemble("<dis>", &dis.text) {
            Ok(again) => {
                if again != original {
                    failures.push(format!("{name}: reassembled code object differs\n{}", dis.text));
                } else if pyasm::emit::marshal::dump_code(&again) != pyasm::emit::marshal::dump_code(&original) {
                    failures.push(format!("{name}: marshalled bytes differ"));
                }
            }
            Err(e) => failures.push(format!("{name}: dis output does not assemble:\n{e}\n{}", dis.text)),
        }
    }
    assert!(count >= 12, "expected at least 12 examples, found {count}");
    assert!(failures.is_empty(), "{} of {count} failed:\n{}", failures.len(), failures.join("\n\n"));
}
