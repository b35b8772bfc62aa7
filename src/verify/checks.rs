//! Checks of a resolved code object that need no flow analysis: raw arguments inside their
//! tables (and named-value operands among their values), constants the version can marshal, jump targets and exception entries in range.

use crate::diagnostics::{Diagnostic, codes};
use crate::opcodes::ArgKind;
use crate::resolve::constants::PoolConst;
use crate::resolve::{Arg, ResolvedCode};

fn version_len(code: &ResolvedCode, f: impl Fn(&crate::opcodes::VersionTable) -> usize) -> usize {
    f(code.version)
}

/// Slice constants exist from marshal version 5 (Python 3.14) on.
pub fn check_constant_types(code: &ResolvedCode, diags: &mut Vec<Diagnostic>) {
    fn has_slice(c: &crate::object::Constant) -> bool {
        use crate::object::Constant::*;
        match c {
            Slice(_) => true,
            Tuple(items) | FrozenSet(items) => items.iter().any(has_slice),
            _ => false,
        }
    }
    if code.version.marshal_version >= 5 {
        return;
    }
    let message = format!("slice constants need Python 3.14 or later (this file targets {})", code.version.version);
    let help = "build the slice at run time with BUILD_SLICE";
    let mut reported = vec![false; code.consts.len()];
    // Point at an instruction that uses it where there is one …
    for ins in code.instrs.iter().filter(|i| !i.placeholder && i.op.arg == ArgKind::Const) {
        let Arg::Value(v) = ins.arg else { continue };
        let index = (v >> ins.op.shift) as usize;
        if let Some(PoolConst::Value(c)) = code.consts.get(index) {
            if has_slice(c) && !reported[index] {
                reported[index] = true;
                diags.push(Diagnostic::error(codes::OPERAND, message.clone()).with_primary(ins.operand_span, "a slice constant").with_help(help));
            }
        }
    }
    // … else (a declared constant nothing loads) at the code object: marshal would still write it.
    for (i, c) in code.consts.iter().enumerate() {
        if let PoolConst::Value(c) = c {
            if has_slice(c) && !reported[i] {
                diags.push(
                    Diagnostic::error(codes::OPERAND, message.clone())
                        .with_primary(code.id.span, format!("co_consts[{i}] of this code object is a slice"))
                        .with_help(help),
                );
            }
        }
    }
}

/// Raw (`$N`) arguments must still index inside their tables.
pub fn check_indexes(code: &ResolvedCode, diags: &mut Vec<Diagnostic>) {
    for ins in code.instrs.iter().filter(|i| !i.placeholder) {
        let Arg::Value(v) = ins.arg else { continue };
        let index = (v >> ins.op.shift) as usize;
        let (len, table, help) = match ins.op.arg {
            ArgKind::Const => (code.consts.len(), "co_consts", "declare the constants with .consts, or write the constant itself"),
            ArgKind::Name => (code.names.len(), "co_names", "declare the names with .names, or write the name itself"),
            ArgKind::Local | ArgKind::Free => {
                (code.localsplus.len(), "the fast locals", "declare the variables (.locals, .cells, .freevars), or write the name itself")
            }
            ArgKind::Compare => (version_len(code, |t| t.compare_ops.len()), "the comparison operators", "write the operator itself, like <="),
            ArgKind::LocalPair => {
                let len = code.localsplus.len();
                let first = (v >> 4) as usize;
                let (second, first_too) = ((v & 15) as usize, first >= len || v >> 8 != 0);
                if first_too || second >= len {
                    diags.push(
                        Diagnostic::error(codes::OUT_OF_RANGE, format!("{} argument {v} names a local that does not exist", ins.op.name))
                            .with_primary(ins.operand_span, format!("it packs locals {first} and {second}; there are {len}"))
                            .with_help("write the two names instead of a raw number"),
                    );
                }
                continue;
            }
            ArgKind::BinaryOp => (version_len(code, |t| t.binary_ops.len()), "the binary operators", "write the operator itself, like +="),
            // A value of a named-value operand indexes a table of the interpreter (conversion
            // functions, intrinsics, function attributes) without a check: only the named
            // values exist, and the interpreter's `…_INVALID` placeholder is not one to run.
            ArgKind::Enum if !ins.op.flags.is_empty() => {
                let named = ins.op.flags.iter().find(|f| f.bits == v);
                if named.is_none_or(|f| f.word.ends_with("_INVALID")) {
                    let words: Vec<String> =
                        ins.op.flags.iter().filter(|f| !f.word.ends_with("_INVALID")).map(|f| format!("{} ({})", f.word, f.bits)).collect();
                    diags.push(
                        Diagnostic::error(codes::OUT_OF_RANGE, format!("{} {v} is not one of the values of its operand", ins.op.name))
                            .with_primary(ins.operand_span, "the interpreter would use it as an index, unchecked")
                            .with_note(format!("in Python {} its values are {}", code.version.version, words.join(", ")))
                            .with_help("write one of the names"),
                    );
                }
                continue;
            }
            // A raw jump argument counting bytes (3.6–3.9) must land on an instruction.
            ArgKind::JumpForward | ArgKind::JumpAbsolute if code.version.jump_code_units(v).is_none() => {
                diags.push(
                    Diagnostic::error(codes::OUT_OF_RANGE, format!("{} argument {v} is an odd byte offset", ins.op.name))
                        .with_primary(ins.operand_span, "no instruction starts there")
                        .with_note(format!("Python {} counts jumps in bytes, and every instruction takes 2", code.version.version))
                        .with_help("jump to a label instead of a raw number"),
                );
                continue;
            }
            _ => continue,
        };
        if index >= len {
            let entries = if len == 1 { "1 entry".to_string() } else { format!("{len} entries") };
            diags.push(
                Diagnostic::error(codes::OUT_OF_RANGE, format!("{} argument {index} is out of range", ins.op.name))
                    .with_primary(ins.operand_span, format!("{table} have {entries} (0 to {})", len.saturating_sub(1)))
                    .with_help(help),
            );
        }
    }
}

pub fn check_targets(code: &ResolvedCode, diags: &mut Vec<Diagnostic>) {
    let n = code.instrs.len();
    let past_end = |span, what: &str| {
        Diagnostic::error(codes::UNDEFINED_LABEL, format!("{what} points past the last instruction"))
            .with_primary(span, "")
            .with_help("a label must be followed by an instruction")
    };
    for ins in &code.instrs {
        if let Arg::Target(t) = ins.arg {
            if t >= n {
                diags.push(past_end(ins.span, "this jump's label"));
            }
        }
    }
    for r in &code.regions {
        if r.handler >= n {
            diags.push(past_end(r.span, "the handler label"));
        }
    }
    for e in &code.entries {
        if e.target >= n {
            diags.push(past_end(e.span, "the handler label"));
        }
        if e.start >= e.end {
            diags.push(
                Diagnostic::error(codes::EXCEPTION_REGION, "an exception entry must cover at least one instruction")
                    .with_primary(e.span, "its start label is not before its end label"),
            );
        }
    }
}

