//! `get_aiter` and `for_aiter L`: an `async for` loop. `for_aiter` awaits the iterator's
//! `__anext__()`; StopAsyncIteration (and only it) ends the loop, which goes on at `L` with
//! the iterator dropped, as `for_iter` does. What each version's compiler writes:
//!
//! ```text
//! get_aiter   GET_AITER (3.6: then LOAD_CONST None; YIELD_FROM — its GET_AITER gives an awaitable)
//! for_aiter   ≤3.7   SETUP_EXCEPT H; GET_ANEXT; LOAD_CONST None; YIELD_FROM; <the next line, a store>;
//!                    POP_BLOCK; JUMP_FORWARD body; H: DUP_TOP; LOAD_GLOBAL StopAsyncIteration;
//!                    COMPARE_OP exception_match; POP_JUMP_IF_TRUE stop; END_FINALLY; body:
//!                    and before L: stop: POP_TOP ×3; POP_EXCEPT; POP_TOP (the iterator)
//!             3.8–3.10  SETUP_FINALLY H; GET_ANEXT; LOAD_CONST None; YIELD_FROM; POP_BLOCK;
//!                    before L: H: END_ASYNC_FOR
//!             3.11+  .try H, depth(D); GET_ANEXT; (3.15 PUSH_NULL) the SEND loop; .end_try;
//!                    before L: H: END_ASYNC_FOR (3.14+ naming the SEND loop's END_SEND)
//! ```
//!
//! Up to 3.7 POP_BLOCK would drop the value (it cuts the stack back to the block's level),
//! so the line after `for_aiter` must take it (`store`, `pop`) before the block goes.

use super::rules::{Cx, Emit, Out, Plan, error, make, receiver_pair, send_loop, word};
use super::set::{self, Op};
use crate::diagnostics::Diagnostic;
use std::collections::HashMap;

pub(super) fn get_aiter(cx: &Cx, i: usize, out: &mut Vec<Out>) {
    let src = cx.code[i];
    out.push(make(src, "GET_AITER", vec![]));
    if cx.f.aiter_awaited {
        out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
        out.push(make(src, "YIELD_FROM", vec![]));
    }
}

pub(super) fn next(cx: &Cx, i: usize, plan: &Plan, emits: &mut [Emit], before_label: &mut HashMap<String, Vec<Out>>, out: &mut Vec<Out>, diags: &mut Vec<Diagnostic>) {
    let f = cx.f;
    let src = cx.code[i];
    let Some(l) = set::label(src) else {
        diags.push(error(src.opname.span, "`for_aiter` takes the label of the loop's exit".into(), "no label"));
        return;
    };
    if cx.labels.get(l).is_none_or(|&t| t <= i) {
        diags.push(error(src.operands[0].span, "`for_aiter` exits forward, to a label after it".into(), "the loop's exit").with_help("put the exit label after the loop, and `jump` from there"));
        return;
    }
    if before_label.contains_key(l) {
        diags.push(error(src.operands[0].span, "this label is already another loop's exit".into(), "").with_help("give each `for_aiter` a label of its own (two labels may name the same line)"));
        return;
    }
    let handler = format!("__anext_{i}");
    let op = |out: &mut Vec<Out>, name: &str| out.push(make(src, name, vec![]));
    let mut exit = vec![Out::Label(handler.clone())];
    if f.setup_except {
        let taken = cx.op(i + 1).filter(|&o| matches!(o, Op::Store | Op::Pop) && !cx.labelled(i + 1));
        if taken.is_none() {
            diags.push(
                error(src.opname.span, "`for_aiter` must be followed by the `store` (or `pop`) of its value".into(), "")
                    .with_note("up to 3.7 the value is taken inside the block that catches StopAsyncIteration, whose end drops what is above it"),
            );
            return;
        }
        let (body, stop) = (format!("__anext_{i}_body"), format!("__anext_{i}_stop"));
        out.push(make(src, "SETUP_EXCEPT", vec![word(src, &handler)]));
        op(out, "GET_ANEXT");
        out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
        op(out, "YIELD_FROM");
        let after = &mut emits[i + 1].after;
        after.push(make(src, "POP_BLOCK", vec![]));
        after.push(make(src, "JUMP_FORWARD", vec![word(src, &body)]));
        after.push(Out::Label(handler));
        after.push(make(src, "DUP_TOP", vec![]));
        after.push(make(src, "LOAD_GLOBAL", vec![word(src, "StopAsyncIteration")]));
        after.push(make(src, "COMPARE_OP", vec![word(src, "exception_match")]));
        after.push(make(src, "POP_JUMP_IF_TRUE", vec![word(src, &stop)]));
        after.push(make(src, "END_FINALLY", vec![]));
        after.push(Out::Label(body));
        exit = vec![Out::Label(stop)];
        for n in ["POP_TOP", "POP_TOP", "POP_TOP", "POP_EXCEPT", "POP_TOP"] {
            exit.push(make(src, n, vec![]));
        }
    } else if f.yield_from_op {
        out.push(make(src, "SETUP_FINALLY", vec![word(src, &handler)]));
        op(out, "GET_ANEXT");
        send_loop(cx, i, &i.to_string(), 0, 1, "await", out);
        op(out, "POP_BLOCK");
        op(&mut exit, "END_ASYNC_FOR");
    } else {
        // The handler finds the iterator (and what is under it) and the exception.
        let depth = cx.version_depth(i, plan);
        out.push(Out::Directive("try".into(), vec![word(src, &handler), super::rules::depth_operand(src, depth)]));
        op(out, "GET_ANEXT");
        let width = receiver_pair(cx, i, out);
        send_loop(cx, i, &i.to_string(), depth, width, "await", out);
        out.push(Out::Directive("end_try".into(), vec![]));
        let takes_label = f.table.by_name("END_ASYNC_FOR").is_some_and(|o| o.arg != crate::opcodes::ArgKind::None);
        exit.push(make(src, "END_ASYNC_FOR", if takes_label { vec![word(src, &format!("__send_{i}_done"))] } else { vec![] }));
    }
    before_label.insert(l.to_string(), exit);
}
