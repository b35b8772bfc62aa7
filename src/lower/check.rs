//! Version instructions (upper case) in a portable file: allowed where they mean the same
//! in every served version, an error naming the versions otherwise.

use crate::diagnostics::{Diagnostic, codes};
use crate::opcodes::VersionTable;
use crate::syntax::ast::Instruction;

/// The portable instruction to write instead of a version instruction, for the hint.
const INSTEAD: &[(&str, &str)] = &[
    ("LOAD_GLOBAL", "load"),
    ("LOAD_FAST", "load"),
    ("LOAD_NAME", "load"),
    ("LOAD_DEREF", "load"),
    ("STORE_FAST", "store"),
    ("STORE_NAME", "store"),
    ("STORE_GLOBAL", "store"),
    ("STORE_DEREF", "store"),
    ("LOAD_SMALL_INT", "const"),
    ("RETURN_CONST", "const …; return"),
    ("CALL", "call"),
    ("CALL_FUNCTION", "call"),
    ("CALL_FUNCTION_KW", "call N, (NAMES)"),
    ("CALL_KW", "call N, (NAMES)"),
    ("CALL_METHOD", "call"),
    ("PRECALL", "call"),
    ("KW_NAMES", "call N, (NAMES)"),
    ("PUSH_NULL", "call (pyasm places the NULL slot)"),
    ("CALL_FUNCTION_EX", "call_ex"),
    ("LOAD_METHOD", "load_method"),
    ("BINARY_OP", "binary"),
    ("BINARY_SUBSCR", "binary []"),
    ("COMPARE_OP", "compare"),
    ("IS_OP", "compare is"),
    ("CONTAINS_OP", "compare in"),
    ("DUP_TOP", "dup"),
    ("COPY", "dup"),
    ("ROT_TWO", "swap"),
    ("SWAP", "swap"),
    ("ROT_THREE", "rot3"),
    ("JUMP", "jump"),
    ("JUMP_FORWARD", "jump"),
    ("JUMP_ABSOLUTE", "jump"),
    ("JUMP_BACKWARD", "jump"),
    ("POP_JUMP_IF_FALSE", "jump_if_false"),
    ("POP_JUMP_IF_TRUE", "jump_if_true"),
    ("GET_ITER", "get_iter"),
    ("FOR_ITER", "for_iter"),
    ("END_FOR", "for_iter (pyasm adds the loop's exit)"),
    ("POP_ITER", "pop"),
    ("MAKE_FUNCTION", "make_function"),
    ("SET_FUNCTION_ATTRIBUTE", "make_function"),
    ("RESUME", "nothing: pyasm adds RESUME"),
    ("MAKE_CELL", "nothing: pyasm makes the cells"),
    ("COPY_FREE_VARS", "nothing: pyasm copies the free variables"),
    ("YIELD_VALUE", "yield"),
    ("UNARY_POSITIVE", "unary +"),
    ("UNARY_NOT", "unary not"),
    ("TO_BOOL", "nothing: pyasm adds TO_BOOL before jumps"),
    ("LIST_APPEND", "list_append"),
    ("SET_ADD", "set_add"),
    ("MAP_ADD", "map_add"),
];

/// Instructions whose argument counts stack slots: the same number means another value in a
/// version whose iterators or calls take more slots (3.15's two-slot iterators).
const COUNT_SLOTS: &[&str] = &["LIST_APPEND", "SET_ADD", "MAP_ADD", "COPY", "SWAP", "DUP_TOP", "ROT_TWO", "ROT_THREE"];

/// Compresses a sorted list of versions into ranges of consecutive ones: `3.6–3.10, 3.12`.
pub fn describe(versions: &[&VersionTable], all: &[&VersionTable]) -> String {
    let idx: Vec<usize> = versions.iter().filter_map(|v| all.iter().position(|a| a.version == v.version)).collect();
    let mut parts = Vec::new();
    let mut k = 0;
    while k < idx.len() {
        let mut e = k;
        while e + 1 < idx.len() && idx[e + 1] == idx[e] + 1 {
            e += 1;
        }
        parts.push(if e == k { all[idx[k]].version.to_string() } else { format!("{}–{}", all[idx[k]].version, all[idx[e]].version) });
        k = e + 1;
    }
    parts.join(", ")
}

/// Checks one version instruction against every served version.
pub fn version_instruction(ins: &Instruction, served: &[&'static VersionTable]) -> Option<Diagnostic> {
    let name = ins.opname.node.as_str();
    let missing: Vec<&VersionTable> = served.iter().copied().filter(|t| t.by_name(name).is_none() && t.pseudo_jump(name).is_none()).collect();
    let instead = INSTEAD.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
    let help = |d: Diagnostic| match instead {
        Some(p) => d.with_help(format!("write the portable `{p}`, or put this line in an `.if python …` block")),
        None => d.with_help("put this line in an `.if python …` block for the versions that have it"),
    };
    if missing.len() == served.len() {
        // Not an instruction of any served version: the resolver's unknown-opcode error
        // (with its suggestions) says it better, unless a portable word was meant.
        return None;
    }
    if !missing.is_empty() {
        return Some(help(
            Diagnostic::error(codes::NOT_PORTABLE, format!("`{name}` does not exist in Python {}, which this file serves", describe(&missing, served)))
                .with_primary(ins.opname.span, "not in every served version"),
        ));
    }
    // The same meaning: the same kind of operand, flag words and stack effects everywhere.
    let first = served[0].by_name(name);
    let differs: Vec<&VersionTable> = served
        .iter()
        .copied()
        .filter(|t| match (first, t.by_name(name)) {
            (Some(a), Some(b)) => {
                a.arg != b.arg
                    || a.stack != b.stack
                    || a.jump_stack != b.jump_stack
                    || a.pops != b.pops
                    || a.flags.iter().map(|f| (f.word, f.bits)).ne(b.flags.iter().map(|f| (f.word, f.bits)))
            }
            (None, None) => false,
            _ => true,
        })
        .collect();
    if differs.is_empty() && COUNT_SLOTS.contains(&name) {
        return Some(help(
            Diagnostic::error(codes::NOT_PORTABLE, format!("`{name}` counts stack slots, and the versions this file serves lay out the stack differently"))
                .with_primary(ins.opname.span, "not portable")
                .with_note("an iterator takes two slots in 3.15, a call's callable two from 3.11"),
        ));
    }
    if differs.is_empty() {
        return None;
    }
    let shown = describe(&differs, served);
    Some(help(
        Diagnostic::error(
            codes::NOT_PORTABLE,
            format!("`{name}` means something else in Python {shown} than in {}", served[0].version),
        )
        .with_primary(ins.opname.span, "not the same in every served version"),
    ))
}

/// A constant that some served versions cannot hold (a slice object: marshal version 5,
/// 3.14+).
pub fn constant(ins: &Instruction, served: &[&'static VersionTable]) -> Option<Diagnostic> {
    fn has_slice(v: &crate::syntax::ast::Spanned<crate::syntax::ast::Value>) -> Option<crate::syntax::ast::Span> {
        use crate::syntax::ast::Value;
        match &v.node {
            Value::Call(f, _) if f.node == "slice" => Some(v.span),
            Value::Tuple(items) | Value::Set(items) => items.iter().find_map(has_slice),
            Value::Call(_, items) => items.iter().find_map(has_slice),
            _ => None,
        }
    }
    let span = ins.operands.first().and_then(has_slice)?;
    let lacking: Vec<&VersionTable> = served.iter().copied().filter(|t| t.marshal_version < 5).collect();
    if lacking.is_empty() {
        return None;
    }
    Some(
        Diagnostic::error(codes::PORTABLE, format!("slice constants do not exist in Python {}, which this file serves", describe(&lacking, served)))
            .with_primary(span, "a slice constant")
            .with_help("build the slice at run time: push its start, stop and step, then BUILD_SLICE 3 (the same in every version)"),
    )
}
