//! pyasm: an assembler for hand-written CPython bytecode.
//!
//! The pipeline, one module per stage:
//! `syntax` (lexer + grammar → AST with spans) → `resolve` (names, constants, locals and
//! labels → indexes) → `verify` (stack depth, targets, exception table) → `emit` (code bytes,
//! location and exception tables, marshal, pyc header).

pub mod diagnostics;
pub mod emit;
pub mod object;
pub mod opcodes;
pub mod syntax;
pub mod version;
