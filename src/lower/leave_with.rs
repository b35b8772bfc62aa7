//! Leaving a `with` by `return` or by a `jump` to a label outside it: the exit is called
//! first, `__exit__(None, None, None)`, as on the normal way out, but in place (the compilers
//! write a copy of the call on each such way out).
//!
//! (A conditional jump out is rewritten into a `jump` first: `with_jumps`.)
//!
//! A `return`'s value stays on the stack: it is moved above the exit, the exit called, and
//! the next `with` out is left the same way. A `jump` finds the exit on top (the walk drops
//! it from the state at the jump's target). From 3.11 the call is outside the `with`'s
//! exception region: the region ends before it and starts again after the line.
//!
//! ```text
//! ≤3.7    return: nothing (RETURN_VALUE unwinds the SETUP_WITH block, which calls the exit)
//!         jump:   POP_BLOCK; LOAD_CONST None; DUP_TOP; DUP_TOP; CALL_FUNCTION 3; POP_TOP
//! 3.8     POP_BLOCK; [ROT_TWO]; BEGIN_FINALLY; WITH_CLEANUP_START; WITH_CLEANUP_FINISH; POP_FINALLY 0
//! 3.9–3.10  POP_BLOCK; [ROT_TWO]; LOAD_CONST None; DUP_TOP; DUP_TOP; CALL_FUNCTION 3; POP_TOP
//! 3.11–3.13 .end_try; [SWAP 2]; LOAD_CONST None ×3; [PRECALL 2]; CALL 2; POP_TOP
//! 3.14+   .end_try; [SWAP 3; SWAP 2]; LOAD_CONST None ×3; CALL 3; POP_TOP
//! ```
//! (`[…]`: for a `return`, moving its value under the exit.) An `async with`'s exit call is
//! followed by the await of its result (after WITH_CLEANUP_START on 3.8).

use super::facts::With;
use super::rules::{Cx, Out, Plan, await_with, depth_operand, error, int, make, with_depth, word};
use super::set;
use crate::diagnostics::Diagnostic;

/// What a line leaves: the `with`s (outermost first), the `try`s still open inside the
/// outermost of them (in the order they opened), and how many values it carries above the
/// exits — a `return` its value, a jump none or one (the value a `return` inside a
/// `try_finally` takes to the finally lines).
pub(super) struct Leave {
    pub withs: Vec<usize>,
    pub tries: Vec<usize>,
    pub carried: usize,
}

/// How line `i` leaves the `with`s `left` (outermost first), `open_tries` being the `try`
/// lines whose regions are open: `None` where it cannot (an error is reported).
pub(super) fn check(cx: &Cx, i: usize, left: &[usize], open_tries: &[usize], returning: bool, diags: &mut Vec<Diagnostic>) -> Option<Leave> {
    let src = cx.code[i];
    let (Some(&outermost), Some(&innermost)) = (left.first(), left.last()) else { return Some(Leave { withs: Vec::new(), tries: Vec::new(), carried: 0 }) };
    let tries: Vec<usize> = open_tries.iter().copied().filter(|&t| t > outermost).collect();
    let above = if returning || cx.walk.pushed_by(i, 0) != Some(innermost) { 1 } else { 0 };
    for (k, &enter) in left.iter().rev().enumerate() {
        if cx.walk.pushed_by(i, above + k).is_some_and(|p| p != enter) {
            diags.push(
                error(src.opname.span, format!("values pushed inside the `with` are still on the stack at this {}", if returning { "`return`" } else { "jump out of it" }), "")
                    .with_secondary(cx.code[enter].opname.span, "the `with` starts here")
                    .with_note(if returning { "the `with`'s exit must be right under the returned value, to be called before the return" } else { "the `with`'s exit must be on top (or under one value the jump takes along), to be called before the jump" })
                    .with_help(if returning { "keep the value in a variable, drop the rest with `pop`, then load it and return" } else { "drop them with `pop` before the jump" }),
            );
            return None;
        }
    }
    if let (Some(&t), 1, false, true) = (tries.first(), above, returning, cx.f.pop_block_unwinds) {
        diags.push(
            error(src.opname.span, "this jump out of a `try` carries values pushed inside it".into(), "")
                .with_secondary(cx.code[t].opname.span, "the `try` starts here")
                .with_note("up to 3.7 leaving a protected region drops them (POP_BLOCK cuts the stack back)")
                .with_help("store them in a variable inside the region"),
        );
        return None;
    }
    Some(Leave { withs: left.to_vec(), tries, carried: above })
}

/// Before line `i` leaves: the regions it leaves end, innermost first — a `try`'s (≤3.10
/// POP_BLOCK, 3.11+ `.end_try`; nothing for a 3.6–3.7 `return`, which unwinds them) or a
/// `with`'s, whose exit is called; `is_return`: the line is a `return`.
pub(super) fn calls(cx: &Cx, i: usize, leave: &Leave, is_return: bool, plan: &Plan, out: &mut Vec<Out>) {
    let returning = leave.carried == 1;
    let f = cx.f;
    let src = cx.code[i];
    let op = |out: &mut Vec<Out>, name: &str| out.push(make(src, name, vec![]));
    let depth = cx.version_depth(i, plan);
    let mut regions: Vec<(usize, bool)> = leave.withs.iter().map(|&w| (w, true)).chain(leave.tries.iter().map(|&t| (t, false))).collect();
    regions.sort_unstable_by(|a, b| b.0.cmp(&a.0));
    let mut k = 0;
    for (at, is_with) in regions {
        if !is_with {
            if f.make_cell {
                out.push(Out::Directive("end_try".into(), vec![]));
            } else if !(is_return && f.pop_block_unwinds) {
                op(out, "POP_BLOCK");
            }
            continue;
        }
        let enter = at;
        k += 1;
        // An `async with`: what `__aexit__()` returned is awaited, where it replaced the exit.
        let under = depth.saturating_sub(f.with_exit_width * k);
        let await_exit = |out: &mut Vec<Out>| {
            if set::has_word(cx.code[enter], "async") {
                await_with(cx, enter, 2, &format!("leave{i}"), under, out);
            }
        };
        match f.with {
            // The unwinding of the block calls the exit.
            With::Cleanup if is_return && f.pop_block_unwinds => {}
            // ≤3.7: the value goes under the exit first, where POP_BLOCK does not drop it.
            With::Cleanup if returning && f.pop_block_unwinds => {
                op(out, "ROT_TWO");
                op(out, "POP_BLOCK");
                call_exit_none(cx, i, out, &await_exit);
            }
            With::Cleanup => {
                op(out, "POP_BLOCK");
                if returning {
                    op(out, "ROT_TWO");
                }
                if f.table.by_name("BEGIN_FINALLY").is_some() {
                    op(out, "BEGIN_FINALLY");
                    op(out, "WITH_CLEANUP_START");
                    await_exit(out);
                    op(out, "WITH_CLEANUP_FINISH");
                    out.push(make(src, "POP_FINALLY", vec![int(src, 0)]));
                } else {
                    // 3.6–3.7 compile these jumps as BREAK_LOOP / CONTINUE_LOOP, which unwind
                    // the block; a jump to any label calls the exit (SETUP_WITH's bound
                    // `__exit__`) itself, as 3.9 does.
                    call_exit_none(cx, i, out, &await_exit);
                }
            }
            With::ExceptStart => {
                op(out, "POP_BLOCK");
                if returning {
                    op(out, "ROT_TWO");
                }
                call_exit_none(cx, i, out, &await_exit);
            }
            With::BeforeWith | With::LoadSpecial => {
                out.push(Out::Directive("end_try".into(), vec![]));
                if returning {
                    // Under the exit's slots.
                    for k in (2..=1 + f.with_exit_width).rev() {
                        out.push(make(src, "SWAP", vec![int(src, k)]));
                    }
                }
                for _ in 0..3 {
                    out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
                }
                let n = if f.with_exit_width == 2 { 3 } else { 2 };
                if f.precall {
                    out.push(make(src, "PRECALL", vec![int(src, n)]));
                }
                out.push(make(src, "CALL", vec![int(src, n)]));
                await_exit(out);
                op(out, "POP_TOP");
            }
        }
    }
}

/// ≤3.10: the exit on top, a bound `__exit__`, called with three Nones.
fn call_exit_none(cx: &Cx, i: usize, out: &mut Vec<Out>, await_exit: &dyn Fn(&mut Vec<Out>)) {
    let src = cx.code[i];
    out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
    out.push(make(src, "DUP_TOP", vec![]));
    out.push(make(src, "DUP_TOP", vec![]));
    out.push(make(src, "CALL_FUNCTION", vec![int(src, 3)]));
    await_exit(out);
    out.push(make(src, "POP_TOP", vec![]));
}

/// After the line that left them (3.11+): the regions of the `with`s and `try`s it left start
/// again, for the lines after it, outermost first.
pub(super) fn reopen(cx: &Cx, i: usize, leave: &Leave, plan: &Plan, out: &mut Vec<Out>) {
    if !matches!(cx.f.with, With::BeforeWith | With::LoadSpecial) {
        return;
    }
    let src = cx.code[i];
    let mut regions: Vec<(usize, bool)> = leave.withs.iter().map(|&w| (w, true)).chain(leave.tries.iter().map(|&t| (t, false))).collect();
    regions.sort_unstable();
    for (at, is_with) in regions {
        if is_with {
            out.push(Out::Directive("try".into(), vec![word(src, &format!("__with_{at}")), word(src, "lasti"), depth_operand(src, with_depth(cx, at, plan))]));
        } else if let Some(l) = set::label(cx.code[at]) {
            out.push(Out::Directive("try".into(), vec![word(src, l), depth_operand(src, cx.version_depth(at, plan))]));
        }
    }
}
