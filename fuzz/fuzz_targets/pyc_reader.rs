//! Arbitrary bytes must never make the .pyc reader (or the disassembler after it) panic,
//! hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pyasm::load::load_code(data);
    if let Ok(pyc) = pyasm::load::load_pyc(data) {
        if let Some(table) = pyasm::opcodes::TABLES.iter().copied().find(|t| t.magic == pyc.magic) {
            let _ = pyasm::dis::disassemble(&pyc.code, table);
        }
    }
});
