//! Code flags: their values and words, the `.flags` family of directives, and the flags an
//! instruction implies (a generator's `YIELD_VALUE`).

use super::directives::directive_error;
use super::{Arg, Instr};
use crate::diagnostics::{Diagnostic, codes, nearest};
use crate::resolve::constants::small_int;
use crate::syntax::ast::{Directive, Span, Value};

/// Code flags (stable across 3.x).
pub const CO_OPTIMIZED: u32 = 0x1;
pub const CO_NEWLOCALS: u32 = 0x2;
pub const CO_VARARGS: u32 = 0x4;
pub const CO_VARKEYWORDS: u32 = 0x8;
pub const CO_NESTED: u32 = 0x10;
/// 3.6–3.10: no cell or free variables (inferred; the version table says whether it exists).
pub const CO_NOFREE: u32 = 0x40;
/// 3.14+: co_consts[0] is the docstring.
pub const CO_HAS_DOCSTRING: u32 = 0x400_0000;
/// 3.14+: a function defined directly in a class body.
pub const CO_METHOD: u32 = 0x800_0000;
pub const CO_GENERATOR: u32 = 0x20;
pub const CO_COROUTINE: u32 = 0x80;
pub const CO_ITERABLE_COROUTINE: u32 = 0x100;
pub const CO_ASYNC_GENERATOR: u32 = 0x200;

/// The words `.flags` accepts (and the disassembler writes).
pub const FLAG_WORDS: &[(&str, u32)] = &[
    ("optimized", CO_OPTIMIZED),
    ("newlocals", CO_NEWLOCALS),
    ("varargs", CO_VARARGS),
    ("varkeywords", CO_VARKEYWORDS),
    ("nested", CO_NESTED),
    ("generator", CO_GENERATOR),
    ("coroutine", CO_COROUTINE),
    ("iterable_coroutine", CO_ITERABLE_COROUTINE),
    ("async_generator", CO_ASYNC_GENERATOR),
    ("has_docstring", CO_HAS_DOCSTRING),
    ("method", CO_METHOD),
    ("nofree", CO_NOFREE),
];

/// The arguments of `.flags`, `.add_flags`, `.remove_flags`: flag words and numbers, OR-ed.
pub(super) fn parse_flags(d: &Directive, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    let mut value = 0u32;
    let mut ok = true;
    for a in &d.args {
        match &a.node {
            Value::Word(w) => match FLAG_WORDS.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)) {
                Some((_, bits)) => value |= bits,
                None => {
                    ok = false;
                    let mut e = Diagnostic::error(codes::DIRECTIVE, format!("unknown code flag `{w}`")).with_primary(a.span, "");
                    if let Some(n) = nearest(w, FLAG_WORDS.iter().map(|(n, _)| *n)).first() {
                        e = e.with_help(format!("did you mean `{n}`?")).with_suggestion(a.span, *n);
                    }
                    diags.push(e);
                }
            },
            _ => match small_int(a, "flag value") {
                Ok(n) => value |= n,
                Err(e) => {
                    ok = false;
                    diags.push(e)
                }
            },
        }
    }
    if d.args.is_empty() {
        diags.push(directive_error(d, &format!("`.{}` needs flag words or a number", d.name.node)));
        return None;
    }
    if !ok {
        return None;
    }
    match fits_int(value, d.name.span, "the flags") {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(e);
            None
        }
    }
}

/// Code object fields that CPython stores as a C `int`.
pub(super) fn fits_int(v: u32, span: Span, what: &str) -> Result<u32, Diagnostic> {
    if v <= i32::MAX as u32 {
        Ok(v)
    } else {
        Err(Diagnostic::error(codes::OUT_OF_RANGE, format!("{what} must be at most {}", i32::MAX)).with_primary(span, ""))
    }
}

/// GENERATOR / COROUTINE / ASYNC_GENERATOR from the instructions used.
pub(super) fn infer_kind_flags(instrs: &[Instr]) -> u32 {
    let (mut gen_start, mut async_gen, mut coroutine, mut generator) = (None, false, false, false);
    for i in instrs {
        match i.op.name {
            "GEN_START" => {
                gen_start.get_or_insert(i.arg);
            }
            "ASYNC_GEN_WRAP" => async_gen = true,
            "GET_AWAITABLE" | "GET_AITER" | "GET_ANEXT" | "BEFORE_ASYNC_WITH" | "END_ASYNC_FOR" => coroutine = true,
            // (3.6–3.9: a generator whose only yield is `yield from` has no YIELD_VALUE)
            "YIELD_VALUE" | "RETURN_GENERATOR" | "YIELD_FROM" => generator = true,
            _ => {}
        }
    }
    // 3.10: GEN_START's argument says the kind (0 generator, 1 coroutine, 2 async generator),
    // also for a coroutine that never awaits.
    match (gen_start, async_gen, coroutine, generator) {
        (Some(Arg::Value(1)), ..) => CO_COROUTINE,
        (Some(Arg::Value(2)), ..) => CO_ASYNC_GENERATOR,
        (Some(_), ..) => CO_GENERATOR,
        (None, true, ..) => CO_ASYNC_GENERATOR,
        (None, false, true, _) => CO_COROUTINE,
        (None, false, false, true) => CO_GENERATOR,
        _ => 0,
    }
}
