//! The differential generator (issue 12's proof that nothing pyasm accepts can crash CPython).
//!
//! For one Python version: real programs (a corpus of snippets, `corpus/*.py`, and random ones
//! from `snippets`) are compiled by that version's own interpreter and disassembled by pyasm
//! (`base`); the text is mutated at the instruction level (`mutate`: the mistakes of a student
//! or a code generator, and transplants from a neighbouring version); pyasm assembles each
//! mutant, and every one it accepts runs in the real interpreter (`runner`: many programs per
//! interpreter process, a fork each natively). The figures count what was generated, refused,
//! accepted, ran clean, raised, timed out and **crashed**; crashes are saved by class with a
//! shrunk reproducer (`crashes`, `reduce`). Every choice comes from `choice::Choices`: a
//! seed for the campaign (`campaign`, the `pyasm-difftest` binary), the fuzzer's bytes for the
//! cargo-fuzz target (`fuzz/fuzz_targets/difftest.rs`).

pub mod base;
pub mod campaign;
pub mod choice;
pub mod crashes;
pub mod mutate;
pub mod program;
pub mod reduce;
pub mod runner;
pub mod snippets;
