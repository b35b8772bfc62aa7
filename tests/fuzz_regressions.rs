//! Inputs the fuzzers found (fuzz/, `cargo +nightly fuzz run TARGET`), kept so that each stays
//! fixed: every one must give its expected error, not a panic.

mod support;

#[test]
fn jump_target_near_u32_max_is_an_error() {
    // A mutated bisect.pyc whose exception table points near 2^32 code units: computing the
    // byte offset for the message overflowed.
    let bytes = std::fs::read(support::repo_root().join("tests/fuzz_regressions/jump_target_overflow.pyc")).unwrap();
    let pyc = pyasm::load::load_pyc(&bytes).expect("the container itself is well-formed");
    let err = pyasm::dis::disassemble(&pyc.code, pyc.table()).expect_err("the tables are corrupt");
    assert!(err.contains("bisect_right: offset 8589934590 is not the start of an instruction"), "{err}");
}
