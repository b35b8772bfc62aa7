//! Arbitrary text must never make the assembler panic: every input gets either a .pyc or
//! diagnostics, and the diagnostics must render.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut files = pyasm::diagnostics::SourceFiles::new();
    let file = files.add("fuzz.pyasm", text.into_owned());
    match pyasm::assemble(&files, file, &pyasm::Options::default()) {
        Ok(out) => {
            let _ = out.to_pyc(&pyasm::emit::pyc::PycHeader::Timestamp { mtime: 0, source_size: 0 });
        }
        Err(diags) => {
            assert!(diags.iter().any(|d| d.is_error()));
            let _ = files.render(&diags, false);
        }
    }
});
