//! Assemble → dis → assemble gives the same bytes. The fuzzer's bytes drive a small program
//! generator that keeps the stack valid (so most inputs assemble), mixing constants of every
//! type, names, locals, jumps in both directions, exception regions and source positions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyasm::diagnostics::SourceFiles;

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn more(&self) -> bool {
        !self.0.is_empty()
    }
}

const CONSTS: &[&str] = &[
    "None", "True", "False", "...", "0", "-1", "255", "256", "2147483648", "-2147483649",
    "123456789012345678901234567890", "0.0", "-0.0", "1.5", "inf", "-inf", "nan", "1e300",
    "complex(1.0, -0.0)", "2j", "\"\"", "\"a\"", "\"hello world\"", "\"\\udc80\"", "\"é\"",
    "b\"\"", "b\"\\x00\\xff\"", "()", "(1,)", "(1, (2, \"x\"), None)", "frozenset({1, 2})",
    "frozenset()", "\"name_like\"",
];
const NAMES: &[&str] = &["x", "y", "print", "len", "\"not an id\""];
const BINOPS: &[&str] = &["+", "-", "*", "//", "%", "<<", "&", "|", "^", "+="];

fn program(b: &mut Bytes) -> String {
    let mut body = String::new();
    let mut depth = 0usize;
    let mut labels = 0usize;
    let mut pending: Vec<usize> = Vec::new(); // forward labels not yet placed
    let mut in_try = false;
    let mut n = 0;
    body.push_str("    RESUME 0\n");
    while b.more() && n < 200 {
        n += 1;
        match b.next() % 12 {
            0 | 1 => {
                body.push_str(&format!("    LOAD_CONST {}\n", CONSTS[b.next() as usize % CONSTS.len()]));
                depth += 1;
            }
            2 => {
                body.push_str(&format!("    LOAD_NAME {}\n", NAMES[b.next() as usize % NAMES.len()]));
                depth += 1;
            }
            3 if depth >= 1 => {
                body.push_str(&format!("    STORE_NAME {}\n", NAMES[b.next() as usize % NAMES.len()]));
                depth -= 1;
            }
            4 if depth >= 2 => {
                body.push_str(&format!("    BINARY_OP {}\n", BINOPS[b.next() as usize % BINOPS.len()]));
                depth -= 1;
            }
            5 if depth >= 1 => {
                body.push_str("    POP_TOP\n");
                depth -= 1;
            }
            6 => {
                let l = b.next() as u32;
                body.push_str(&format!("    .loc {}:{}-{}\n", l * 3, l % 90, (l % 90) + (b.next() % 40) as u32));
            }
            7 if depth == 0 => {
                // A forward jump to a label placed later at depth 0.
                labels += 1;
                body.push_str(&format!("    JUMP fwd{labels}\n    NOP\nfwd{labels}:\n"));
            }
            8 if depth == 0 && !in_try => {
                labels += 1;
                in_try = true;
                pending.push(labels);
                body.push_str(&format!("    .try h{labels}\n"));
            }
            9 if depth == 0 && in_try => {
                let l = pending.pop().unwrap();
                in_try = false;
                labels += 1;
                body.push_str(&format!(
                    "    NOP\n    .end_try\n    JUMP after{labels}\nh{l}:\n    POP_TOP\nafter{labels}:\n"
                ));
            }
            10 => {
                // Enough constants to need EXTENDED_ARG.
                let base = b.next() as u32 * 1000;
                for k in 0..(b.next() as u32 % 4) * 100 {
                    body.push_str(&format!("    LOAD_CONST {}\n    POP_TOP\n", base + k));
                }
            }
            _ => body.push_str("    NOP\n"),
        }
    }
    if in_try {
        // Close the region at depth 0, where its handler path rejoins.
        for _ in 0..depth {
            body.push_str("    POP_TOP\n");
        }
        depth = 0;
        let l = pending.pop().unwrap();
        body.push_str(&format!("    NOP\n    .end_try\n    JUMP out\nh{l}:\n    POP_TOP\nout:\n"));
    }
    for _ in 0..depth {
        body.push_str("    POP_TOP\n");
    }
    body.push_str("    LOAD_CONST None\n    RETURN_VALUE\n");
    format!(".python 3.11\n.code <module>\n{body}.end\n")
}

fn assemble(text: &str) -> Result<pyasm::object::CodeObject, String> {
    let mut files = SourceFiles::new();
    let f = files.add("t.pyasm", text.to_string());
    pyasm::assemble(&files, f, &pyasm::Options::default()).map(|a| a.module).map_err(|d| files.render(&d, false))
}

fuzz_target!(|data: &[u8]| {
    let text = program(&mut Bytes(data));
    let original = match assemble(&text) {
        Ok(c) => c,
        Err(e) => panic!("generated program does not assemble:\n{text}\n{e}"),
    };
    let table = pyasm::opcodes::table_for(pyasm::version::PythonVersion::new(3, 11)).unwrap();
    let dis = pyasm::dis::disassemble(&original, table).expect("dis");
    assert!(dis.mismatches.is_empty(), "{:?}\n{}", dis.mismatches, dis.text);
    let again = assemble(&dis.text).unwrap_or_else(|e| panic!("dis output does not assemble:\n{}\n{e}", dis.text));
    assert_eq!(pyasm::emit::marshal::dump_code(&original), pyasm::emit::marshal::dump_code(&again), "{}", dis.text);
});
