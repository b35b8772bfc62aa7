//! How each portable instruction becomes the instructions of one version. Every choice
//! reads a fact (`Facts`) or the walk (`flow`): no version numbers here.

use super::facts::{Facts, With};
use super::async_for;
use super::leave_with;
use super::flow::{MIXED, Walk};
use super::scope::{CodeInfo, Scope};
use super::set::{self, BINARY_NAMES, COMPARISONS, Op};
use crate::diagnostics::{Diagnostic, codes};
use crate::object::PyStr;
use crate::syntax::ast::{Instruction, Recovered, Span, Spanned, Value};
use num_bigint::BigInt;
use std::collections::{HashMap, HashSet};

/// A cleanup handler of 3.11+ (see `cleanup_regions`): the `try` it belongs to, its label,
/// the operands of its `.try`, its instructions.
pub type Cleanup = (usize, String, Vec<Spanned<Value>>, Vec<Out>);

/// One lowered line: an instruction or a label of pyasm's own.
#[derive(Clone, Debug)]
pub enum Out {
    Ins(Instruction),
    Label(String),
    /// A directive of pyasm's own (`.try`, `.end_try`: 3.11+'s exception regions).
    Directive(String, Vec<Spanned<Value>>),
}

/// What one portable instruction becomes: `main` in its place; `before` and `after` are
/// what other instructions ask to put around it (a call's NULL slot beside its callable).
#[derive(Default, Debug)]
pub struct Emit {
    pub before: Vec<Out>,
    pub main: Vec<Out>,
    pub after: Vec<Out>,
}

/// Everything lowering one code object reads.
pub struct Cx<'a> {
    pub f: &'a Facts,
    pub info: &'a CodeInfo,
    pub infos: &'a HashMap<String, &'a CodeInfo>,
    pub qualnames: &'a HashMap<String, PyStr>,
    pub code: &'a [&'a Instruction],
    pub labels: &'a HashMap<String, usize>,
    pub walk: &'a Walk,
}

/// The lowered code object: per instruction, and per label the exit lines pyasm puts
/// before it (a loop's END_FOR …).
pub struct Lowered {
    pub emits: Vec<Emit>,
    pub before_label: HashMap<String, Vec<Out>>,
    /// 3.11+: per instruction, the `try` whose handler is running when it starts (its
    /// cleanup region: an exception there restores the previous one before going on).
    pub cleanup_run: Vec<Option<usize>>,
    /// 3.11+: the cleanup handlers (label, the `.try` operands, the instructions), put at the
    /// end of the code object.
    pub cleanups: Vec<Cleanup>,
}

pub fn make(src: &Instruction, name: &str, operands: Vec<Spanned<Value>>) -> Out {
    Out::Ins(Instruction { opname: Spanned::new(name.to_string(), src.opname.span), operands, recovered: Recovered::No })
}

pub(super) fn val(src: &Instruction, v: Value) -> Spanned<Value> {
    Spanned::new(v, src.operands.first().map_or(src.opname.span, |o| o.span))
}

/// The conditional jump `name` to the label `src` names. Where the version's conditional
/// jumps only go forward and this one goes back, `back` is a fresh label: `inverse` jumps to
/// it, over an unconditional backward jump, when the condition does not hold.
fn conditional_jump(out: &mut Vec<Out>, src: &Instruction, (name, inverse): (&str, &str), back: Option<String>) {
    match back {
        Some(skip) => {
            out.push(make(src, inverse, vec![word(src, &skip)]));
            out.push(make(src, "JUMP", src.operands.clone()));
            out.push(Out::Label(skip));
        }
        None => out.push(make(src, name, src.operands.clone())),
    }
}

pub(super) fn word(src: &Instruction, w: &str) -> Spanned<Value> {
    val(src, Value::Word(w.to_string()))
}

pub(super) fn int(src: &Instruction, n: usize) -> Spanned<Value> {
    val(src, Value::Int(BigInt::from(n)))
}

pub(super) fn error(span: Span, msg: String, label: &str) -> Diagnostic {
    Diagnostic::error(codes::PORTABLE, msg).with_primary(span, label.to_string())
}

/// How each call is made, found before anything is emitted: a call's callable may be
/// pushed many lines earlier.
#[derive(Default)]
pub(super) struct Plan {
    /// Producer → the call that calls what it pushed, and whether that call has keywords.
    callee: HashMap<usize, (usize, bool)>,
    /// Loads of a global that push the NULL themselves (`LOAD_GLOBAL f, null`).
    global_null: HashSet<usize>,
    /// Comparisons a conditional jump tests directly: 3.13+ `COMPARE_OP op, bool`.
    bool_compare: HashSet<usize>,
    /// Conditional jumps whose value is already an exact bool.
    exact_bool: HashSet<usize>,
    /// `pop`s that drop an iterator.
    iter_pop: HashSet<usize>,
    /// `const` lines fused with the `return` after them (RETURN_CONST).
    return_const: HashSet<usize>,
    /// `convert` lines fused with the `format` after them (≤3.12: one FORMAT_VALUE).
    convert_format: HashSet<usize>,
}

impl Cx<'_> {
    pub(super) fn op(&self, i: usize) -> Option<Op> {
        self.code.get(i).and_then(|ins| set::lookup(&ins.opname.node))
    }

    /// A method call's `load_method` keeps its self slot (LOAD_METHOD, `LOAD_ATTR m, method`);
    /// 3.6, and ≤3.10 when the call passes keywords, load a plain attribute instead.
    fn method_slot(&self, kw: bool) -> bool {
        self.f.attr_method_flag || (self.f.load_method && !(self.f.call_method && kw))
    }

    fn plan(&self, diags: &mut Vec<Diagnostic>) -> Plan {
        let mut p = Plan::default();
        // A `return` inside a `with` calls the exit between its value and RETURN_VALUE.
        let with_exits = set::brackets(self.code, Op::WithEnter, Op::WithExit);
        for (i, ins) in self.code.iter().enumerate() {
            let Some(op) = self.op(i) else { continue };
            match op {
                Op::Call | Op::CallEx => {
                    let depth = match op {
                        Op::Call => set::count(ins),
                        _ if set::has_word(ins, "kwargs") => 2,
                        _ => 1,
                    };
                    match self.walk.pushed_by(i, depth) {
                        Some(MIXED) => diags.push(
                            error(ins.opname.span, "the callable of this call is pushed by different instructions on different paths".into(), "called here")
                                .with_note("pyasm puts the call's NULL slot beside the instruction that pushed the callable (3.11+), so it must be one")
                                .with_help("push the callable after the paths meet"),
                        ),
                        Some(k) => {
                            p.callee.insert(k, (i, set::keyword_count(ins) > 0));
                        }
                        None => {}
                    }
                    for d in 0..depth {
                        if let Some(k) = self.walk.pushed_by(i, d).filter(|&k| k != MIXED && self.op(k) == Some(Op::GetIter)) {
                            diags.push(
                                error(ins.opname.span, "an iterator from `get_iter` is passed to a call".into(), "passed here")
                                    .with_secondary(self.code[k].opname.span, "made here")
                                    .with_note("3.15 keeps a loop's iterator in two stack slots: it can only be looped over (`for_iter`) or dropped (`pop`)")
                                    .with_help("pass the iterable, and start the loop with `get_iter` where it runs"),
                            );
                        }
                    }
                }
                Op::JumpIfFalse | Op::JumpIfTrue => {
                    if let Some(k) = self.walk.pushed_by(i, 0).filter(|&k| k != MIXED) {
                        let operator = set::operator(self.code[k]);
                        match self.op(k) {
                            // The compiler converts a comparison that a jump tests right away.
                            Some(Op::Compare) if k + 1 == i && !self.labelled(i) => {
                                if matches!(operator, Some("is" | "is_not" | "in" | "not_in")) || !self.f.compare_bool {
                                    p.exact_bool.insert(i);
                                } else {
                                    p.bool_compare.insert(k);
                                    p.exact_bool.insert(i);
                                }
                            }
                            Some(Op::Unary) if operator == Some("not") => {
                                p.exact_bool.insert(i);
                            }
                            Some(Op::ExceptMatch) => {
                                p.exact_bool.insert(i);
                            }
                            _ => {}
                        }
                    }
                }
                // An iterator stays where `get_iter` put it (3.15's two slots are not one value
                // to COPY or SWAP).
                Op::Dup | Op::Swap | Op::Rot3 => {
                    let touched = match op {
                        Op::Dup => 1,
                        Op::Swap => 2,
                        _ => 3,
                    };
                    if let Some(k) = (0..touched).filter_map(|d| self.walk.pushed_by(i, d)).find(|&k| k != MIXED && self.op(k) == Some(Op::GetIter)) {
                        diags.push(
                            error(ins.opname.span, format!("`{}` moves an iterator from `get_iter`", ins.opname.node), "")
                                .with_secondary(self.code[k].opname.span, "made here")
                                .with_note("3.15 keeps a loop's iterator in two stack slots: it can only be looped over (`for_iter`) or dropped (`pop`)")
                                .with_help("keep the other value in a variable instead of moving it past the iterator"),
                        );
                    }
                }
                Op::Pop => {
                    if let Some(k) = self.walk.pushed_by(i, 0).filter(|&k| k != MIXED) {
                        if self.op(k) == Some(Op::GetIter) {
                            p.iter_pop.insert(i);
                        }
                    }
                }
                Op::Convert if self.f.format_value && self.op(i + 1) == Some(Op::Format) && !self.labelled(i + 1) => {
                    p.convert_format.insert(i);
                }
                Op::Const if self.f.return_const && self.op(i + 1) == Some(Op::Return) && !self.labelled(i + 1) && set::withs_around(&with_exits, i + 1).is_empty() => {
                    p.return_const.insert(i);
                }
                _ => {}
            }
        }
        for (&k, &(_, kw)) in &p.callee {
            let is_global = self.op(k) == Some(Op::Load) && self.name(k).is_some_and(|n| self.info.scope(&n) == Scope::Global);
            if is_global && self.f.global_null_flag && !(self.op(k) == Some(Op::LoadMethod) && self.method_slot(kw)) {
                p.global_null.insert(k);
            }
        }
        p
    }

    /// How many of the version's stack slots the value pushed by `k` takes.
    fn width(&self, k: usize, plan: &Plan) -> usize {
        if k == MIXED {
            return 1;
        }
        match self.op(k) {
            Some(Op::GetIter) => self.f.iter_width,
            // 3.11+: the exception and, under it, the one it replaced (PUSH_EXC_INFO).
            Some(Op::Try) if self.f.make_cell => 2,
            // ≤3.10: type, value and traceback.
            Some(Op::Try) => 3,
            _ => match plan.callee.get(&k) {
                Some(_) if self.f.null_slot => 2,
                Some(&(_, kw)) if self.op(k) == Some(Op::LoadMethod) && self.method_slot(kw) && self.f.load_method => 2,
                _ => 1,
            },
        }
    }

    /// The version's stack depth when instruction `i` starts: each value's slots, and the
    /// previous exception each running handler keeps under its values (3.11+).
    pub(super) fn version_depth(&self, i: usize, plan: &Plan) -> usize {
        let stack = self.walk.stack(i);
        let mut slots: usize = stack.iter().map(|&k| self.width(k, plan)).sum();
        // A `with`'s exit (the lower of the two values `with_enter` pushes) may take more.
        let mut seen = HashSet::new();
        for &k in stack {
            if k != MIXED && self.op(k) == Some(Op::WithEnter) && seen.insert(k) {
                slots += self.f.with_exit_width - 1;
            }
        }
        let handlers = self.walk.handlers(i);
        let consumed = handlers.iter().filter(|h| !stack.contains(h)).count();
        slots + consumed
    }

    /// Whether the value `depth` below the top at `i` is a handler's exception.
    fn is_exception(&self, i: usize, depth: usize) -> bool {
        self.walk.pushed_by(i, depth).is_some_and(|k| k != MIXED && self.op(k) == Some(Op::Try))
    }

    /// Whether a label names instruction `i` (so nothing may be fused into the one before).
    pub(super) fn labelled(&self, i: usize) -> bool {
        self.labels.values().any(|&k| k == i)
    }

    fn name(&self, i: usize) -> Option<String> {
        self.code[i].operands.first().and_then(|o| super::name_value(&o.node)).map(|n| n.to_lossy())
    }

    fn backward(&self, i: usize, label: &str) -> bool {
        self.labels.get(label).is_some_and(|&t| t <= i)
    }
}

/// Lowers one code object's instructions.
pub fn lower(cx: &Cx, diags: &mut Vec<Diagnostic>) -> Lowered {
    let plan = cx.plan(diags);
    let mut emits: Vec<Emit> = (0..cx.code.len()).map(|_| Emit::default()).collect();
    let mut before_label: HashMap<String, Vec<Out>> = HashMap::new();
    let mut fresh = 0usize;
    let mut new_label = |what: &str| {
        fresh += 1;
        format!("__{what}_{fresh}")
    };
    let mut skip_next = false;
    // The `try` lines whose regions are open here, in the text.
    let mut open_tries: Vec<usize> = Vec::new();
    let region_end = set::brackets(cx.code, Op::Try, Op::EndTry);
    // The `with_enter` lines whose `with_exit` is still ahead, in the text.
    let mut open_withs: Vec<usize> = Vec::new();
    let with_exits = set::brackets(cx.code, Op::WithEnter, Op::WithExit);
    for (i, src) in cx.code.iter().enumerate() {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let Some(op) = cx.op(i) else {
            emits[i].main.push(Out::Ins((*src).clone()));
            continue;
        };
        let mut out: Vec<Out> = Vec::new();
        let f = cx.f;
        let first = || src.operands.first().cloned();
        match op {
            Op::Const => match first() {
                Some(v) if plan.return_const.contains(&i) => out.push(make(src, "RETURN_CONST", vec![v])),
                Some(v) if f.small_int && matches!(&v.node, Value::Int(n) if *n >= BigInt::from(0) && *n <= BigInt::from(255)) => {
                    out.push(make(src, "LOAD_SMALL_INT", vec![v]))
                }
                Some(v) => out.push(make(src, "LOAD_CONST", vec![v])),
                None => diags.push(error(src.opname.span, "`const` takes the value to push".into(), "no value").with_help("for example `const 42` or `const \"text\"`")),
            },
            Op::Return if !open_withs.is_empty() && cx.walk.entry[i].is_some() => {
                // Out of every `with` around it, each exit called in place.
                if let Some(leave) = leave_with::check(cx, i, &open_withs, &open_tries, true, diags) {
                    leave_with::calls(cx, i, &leave, true, &plan, &mut out);
                    out.push(make(src, "RETURN_VALUE", vec![]));
                    leave_with::reopen(cx, i, &leave, &plan, &mut out);
                }
            }
            Op::Return if i > 0 && plan.return_const.contains(&(i - 1)) => {}
            Op::Return => out.push(make(src, "RETURN_VALUE", vec![])),
            Op::Pop if !f.make_cell && cx.is_exception(i, 0) => {
                for _ in 0..3 {
                    out.push(make(src, "POP_TOP", vec![]));
                }
            }
            Op::Pop if plan.iter_pop.contains(&i) && f.pop_iter => out.push(make(src, "POP_ITER", vec![])),
            Op::Pop => out.push(make(src, "POP_TOP", vec![])),
            Op::Dup if f.rot => out.push(make(src, "DUP_TOP", vec![])),
            Op::Dup => out.push(make(src, "COPY", vec![int(src, 1)])),
            Op::Swap if f.rot => out.push(make(src, "ROT_TWO", vec![])),
            Op::Swap => out.push(make(src, "SWAP", vec![int(src, 2)])),
            Op::Rot3 if f.rot => out.push(make(src, "ROT_THREE", vec![])),
            Op::Rot3 => {
                out.push(make(src, "SWAP", vec![int(src, 3)]));
                out.push(make(src, "SWAP", vec![int(src, 2)]));
            }
            // ≤3.10: an exception is three values (type on top, value, traceback); storing it
            // binds the value, as `except E as e` does.
            Op::Store if !f.make_cell && cx.is_exception(i, 0) => {
                out.push(make(src, "POP_TOP", vec![]));
                variable(cx, i, op, false, &mut out, diags);
                out.push(make(src, "POP_TOP", vec![]));
            }
            Op::Load | Op::Store | Op::Delete => variable(cx, i, op, plan.global_null.contains(&i), &mut out, diags),
            Op::Try => {
                open_tries.push(i);
                let Some(l) = set::label(src) else {
                    diags.push(error(src.opname.span, "`try` takes the label of its handler".into(), "no label"));
                    continue;
                };
                if f.make_cell {
                    // The depth is given: an exception-table entry's depth is otherwise read at
                    // its start, and the region may go on after a handler's cleanup nested in it
                    // (a `finally` inside another), where the stack is deeper.
                    let depth = val(src, Value::Call(Spanned::new("depth".into(), src.opname.span), vec![int(src, cx.version_depth(i, &plan))]));
                    out.push(Out::Directive("try".into(), vec![word(src, l), depth]));
                    // The handler starts by saving the exception it replaces.
                    if let Some(&t) = cx.labels.get(l) {
                        if t < emits.len() {
                            emits[t].before.insert(0, make(src, "PUSH_EXC_INFO", vec![]));
                        }
                    }
                } else {
                    out.push(make(src, if f.setup_except { "SETUP_EXCEPT" } else { "SETUP_FINALLY" }, src.operands.clone()));
                }
            }
            Op::EndTry if f.make_cell => {
                open_tries.pop();
                out.push(Out::Directive("end_try".into(), vec![]));
            }
            Op::EndTry => {
                let start = open_tries.pop();
                if cx.walk.entry[i].is_none() {
                    // Nothing runs here: the block goes when the exception unwinds it.
                    continue;
                }
                let extra = start.map_or(0, |t| cx.walk.stack(i).len().saturating_sub(cx.walk.stack(t).len()));
                if extra > 0 && f.pop_block_unwinds {
                    if cx.op(i + 1) == Some(Op::Return) && !cx.labelled(i + 1) {
                        // `return` from inside the region: RETURN_VALUE unwinds the block.
                        continue;
                    }
                    diags.push(
                        error(src.opname.span, "values pushed inside a `try` are left at its `end_try`".into(), "")
                            .with_note("up to 3.7 the end of a protected region drops them (POP_BLOCK cuts the stack back)")
                            .with_help("store them in a variable inside the region, or `return` right after `end_try`"),
                    );
                    continue;
                }
                out.push(make(src, "POP_BLOCK", vec![]));
            }
            Op::ExceptMatch => {
                if !cx.is_exception(i, 1) {
                    diags.push(error(src.opname.span, "`except_match` tests the exception of a handler, under the type to match".into(), "no exception here").with_help("at the handler's label the exception is on top: push the type, then `except_match`"));
                    continue;
                }
                if f.make_cell {
                    out.push(make(src, "CHECK_EXC_MATCH", vec![]));
                } else {
                    // The type to test is the exception's top value: copy it under the type
                    // to match, before that is pushed when it is pushed by one instruction.
                    match cx.walk.pushed_by(i, 0).filter(|&k| k != MIXED) {
                        Some(k) if set::lookup(&cx.code[k].opname.node).is_some_and(|o| set::effect(o, cx.code[k]).pops == 0) => {
                            emits[k].before.push(make(src, "DUP_TOP", vec![]))
                        }
                        _ => {
                            // exc T → T exc → T exc exc → exc T exc → exc exc T
                            for n in ["ROT_TWO", "DUP_TOP", "ROT_THREE", "ROT_TWO"] {
                                out.push(make(src, n, vec![]));
                            }
                        }
                    }
                    if f.jump_if_not_exc_match {
                        let next = cx.code.get(i + 1).filter(|_| cx.op(i + 1) == Some(Op::JumpIfFalse) && !cx.labelled(i + 1));
                        let Some(next) = next else {
                            diags.push(
                                error(src.opname.span, "`except_match` must be followed by `jump_if_false`".into(), "")
                                    .with_note("3.9 and 3.10 test an exception only in a jump, JUMP_IF_NOT_EXC_MATCH"),
                            );
                            continue;
                        };
                        skip_next = true;
                        out.push(make(next, "JUMP_IF_NOT_EXC_MATCH", next.operands.clone()));
                    } else {
                        out.push(make(src, "COMPARE_OP", vec![word(src, "exception_match")]));
                    }
                }
            }
            Op::EndExcept => out.push(make(src, "POP_EXCEPT", vec![])),
            Op::Reraise if f.end_finally => {
                // END_FINALLY re-raises the exception on the stack, but would go on if the
                // stack held None instead (a `finally`): the compilers follow it with the
                // code after the statement; here that is a return nothing reaches.
                out.push(make(src, "END_FINALLY", vec![]));
                out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
                out.push(make(src, "RETURN_VALUE", vec![]));
            }
            Op::Reraise if f.reraise_arg => out.push(make(src, "RERAISE", vec![int(src, 0)])),
            Op::Reraise => out.push(make(src, "RERAISE", vec![])),
            Op::Raise => out.push(make(src, "RAISE_VARARGS", vec![word(src, "exc")])),
            Op::RaiseFrom => out.push(make(src, "RAISE_VARARGS", vec![word(src, "exc_from")])),
            Op::WithEnter => {
                open_withs.push(i);
                with_enter(cx, i, &plan, &mut out);
            }
            Op::WithExit => {
                let Some(enter) = open_withs.pop() else {
                    diags.push(error(src.opname.span, "`with_exit` without a `with_enter` before it".into(), ""));
                    continue;
                };
                if cx.walk.pushed_by(i, 0).is_some_and(|k| k != enter) {
                    diags.push(
                        error(src.opname.span, "`with_exit` takes the exit its `with_enter` pushed, but another value is on top".into(), "")
                            .with_secondary(cx.code[enter].opname.span, "the `with` starts here")
                            .with_help("consume what `with_enter` returned (`store` it or `pop` it), and leave the stack as it was after that"),
                    );
                    continue;
                }
                // The normal way in: the line before goes on to it, or a jump does (not only
                // an exception swallowed); the compilers leave out the call that nothing reaches.
                let normal = cx.labelled(i) || (i > 0 && cx.walk.entry[i - 1].is_some() && super::flow::falls_through(cx.code[i - 1], f.table));
                with_exit(cx, enter, normal, &plan, &mut out);
            }
            Op::LoadClosure => out.push(make(src, if f.load_closure { "LOAD_CLOSURE" } else { "LOAD_FAST" }, src.operands.clone())),
            Op::LoadAttr => out.push(make(src, "LOAD_ATTR", src.operands.clone())),
            Op::StoreAttr => out.push(make(src, "STORE_ATTR", src.operands.clone())),
            Op::DeleteAttr => out.push(make(src, "DELETE_ATTR", src.operands.clone())),
            Op::LoadMethod => {
                let kw = plan.callee.get(&i).is_some_and(|&(_, kw)| kw);
                let name = src.operands.first().cloned().into_iter().collect::<Vec<_>>();
                if f.attr_method_flag {
                    out.push(make(src, "LOAD_ATTR", name.into_iter().chain([word(src, "method")]).collect()));
                } else if cx.method_slot(kw) {
                    out.push(make(src, "LOAD_METHOD", name));
                } else {
                    out.push(make(src, "LOAD_ATTR", name));
                }
            }
            Op::StoreSubscr => out.push(make(src, "STORE_SUBSCR", vec![])),
            Op::DeleteSubscr => out.push(make(src, "DELETE_SUBSCR", vec![])),
            Op::Binary => binary(cx, src, &mut out, diags),
            Op::Unary => unary(f, src, &mut out, diags),
            Op::Compare => compare(f, src, plan.bool_compare.contains(&i), &mut out, diags),
            Op::Jump => {
                let Some(l) = set::label(src) else {
                    diags.push(error(src.opname.span, "`jump` takes a label".into(), "no label"));
                    continue;
                };
                let left = cx.labels.get(l).map_or(Vec::new(), |&t| set::withs_left(&with_exits, i, t));
                let mut leave = None;
                if cx.walk.entry[i].is_some() && !left.is_empty() {
                    let Some(lv) = leave_with::check(cx, i, &left, &open_tries, false, diags) else { continue };
                    leave_with::calls(cx, i, &lv, false, &plan, &mut out);
                    leave = Some(lv);
                }
                // The `try`s inside a `with` left are ended with it, above.
                let outer_tries: Vec<usize> = open_tries.iter().copied().filter(|&t| left.first().is_none_or(|&w| t < w)).collect();
                leave_regions(cx, i, l, &outer_tries, &region_end, left.len(), &mut emits, &mut out, diags);
                let name = if f.pseudo_jump {
                    "JUMP"
                } else if cx.backward(i, l) {
                    "JUMP_ABSOLUTE"
                } else {
                    "JUMP_FORWARD"
                };
                out.push(make(src, name, src.operands.clone()));
                if let Some(leave) = &leave {
                    leave_with::reopen(cx, i, leave, &plan, &mut out);
                }
            }
            Op::JumpIfFalse | Op::JumpIfTrue => {
                let Some(l) = set::label(src) else {
                    diags.push(error(src.opname.span, format!("`{}` takes a label", src.opname.node), "no label"));
                    continue;
                };
                if f.to_bool && !plan.exact_bool.contains(&i) {
                    out.push(make(src, "TO_BOOL", vec![]));
                }
                let (name, inverse) = if op == Op::JumpIfFalse { ("POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE") } else { ("POP_JUMP_IF_TRUE", "POP_JUMP_IF_FALSE") };
                let back = (cx.backward(i, l) && !f.backward_branches).then(|| new_label("skip"));
                conditional_jump(&mut out, src, (name, inverse), back);
            }
            Op::JumpIfNone | Op::JumpIfNotNone => {
                let Some(l) = set::label(src) else {
                    diags.push(error(src.opname.span, format!("`{}` takes a label", src.opname.node), "no label"));
                    continue;
                };
                let none = op == Op::JumpIfNone;
                if f.table.by_name("POP_JUMP_IF_NONE").is_some() || f.table.pseudo_jump("POP_JUMP_IF_NONE").is_some() {
                    let (name, inverse) = if none { ("POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE") } else { ("POP_JUMP_IF_NOT_NONE", "POP_JUMP_IF_NONE") };
                    let back = (cx.backward(i, l) && !f.backward_branches).then(|| new_label("skip"));
                    conditional_jump(&mut out, src, (name, inverse), back);
                } else {
                    // ≤3.10: an identity test with None, and a jump on its bool.
                    out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
                    if f.is_op {
                        out.push(make(src, "IS_OP", vec![int(src, 0)]));
                    } else {
                        out.push(make(src, "COMPARE_OP", vec![word(src, "is")]));
                    }
                    out.push(make(src, if none { "POP_JUMP_IF_TRUE" } else { "POP_JUMP_IF_FALSE" }, src.operands.clone()));
                }
            }
            Op::UnpackEx => {
                let (before, after) = (set::count(src), set::second_count(src));
                if before > 255 || after > 255 {
                    diags.push(error(src.opname.span, "`unpack_ex` takes at most 255 targets before the star and 255 after".into(), ""));
                    continue;
                }
                out.push(make(src, "UNPACK_EX", vec![int(src, after << 8 | before)]));
            }
            Op::BuildSlice => out.push(make(src, "BUILD_SLICE", src.operands.clone())),
            Op::LoadSlice if f.table.by_name("BINARY_SLICE").is_some() => out.push(make(src, "BINARY_SLICE", vec![])),
            Op::LoadSlice => {
                out.push(make(src, "BUILD_SLICE", vec![int(src, 2)]));
                out.push(if f.subscript_op { make(src, "BINARY_OP", vec![val(src, Value::Symbol("[]".into()))]) } else { make(src, "BINARY_SUBSCR", vec![]) });
            }
            Op::StoreSlice if f.table.by_name("STORE_SLICE").is_some() => out.push(make(src, "STORE_SLICE", vec![])),
            Op::StoreSlice => {
                out.push(make(src, "BUILD_SLICE", vec![int(src, 2)]));
                out.push(make(src, "STORE_SUBSCR", vec![]));
            }
            Op::AssertionError if f.table.by_name("LOAD_ASSERTION_ERROR").is_some() => out.push(make(src, "LOAD_ASSERTION_ERROR", vec![])),
            Op::AssertionError => out.push(make(src, "LOAD_GLOBAL", vec![word(src, "AssertionError")])),
            Op::YieldFrom | Op::Await => yield_from(cx, i, &plan, &mut out),
            Op::GetAiter => async_for::get_aiter(cx, i, &mut out),
            Op::ForAiter => async_for::next(cx, i, &plan, &mut emits, &mut before_label, &mut out, diags),
            Op::GetIter if f.get_iter_arg => out.push(make(src, "GET_ITER", vec![int(src, 0)])),
            Op::GetIter => out.push(make(src, "GET_ITER", vec![])),
            Op::ForIter => {
                let Some(l) = set::label(src) else {
                    diags.push(error(src.opname.span, "`for_iter` takes the label of the loop's exit".into(), "no label"));
                    continue;
                };
                if cx.backward(i, l) {
                    diags.push(
                        error(src.operands[0].span, "`for_iter` exits forward, but this label is behind it".into(), "the loop's exit")
                            .with_help("put the exit label after the loop, and `jump` from there"),
                    );
                    continue;
                }
                if f.for_exit.is_empty() {
                    out.push(make(src, "FOR_ITER", src.operands.clone()));
                } else {
                    // The exhausted iterator's jump lands on the version's exit instructions,
                    // put just before the writer's label.
                    let entry = before_label.entry(l.to_string()).or_default();
                    let exit = match entry.first() {
                        Some(Out::Label(e)) => e.clone(),
                        _ => {
                            let e = new_label("loop_exit");
                            entry.push(Out::Label(e.clone()));
                            entry.extend(f.for_exit.iter().map(|n| make(src, n, vec![])));
                            e
                        }
                    };
                    out.push(make(src, "FOR_ITER", vec![word(src, &exit)]));
                }
            }
            Op::Call => call(cx, i, &plan, &mut emits, &mut out),
            Op::CallEx => {
                place_null(cx, i, &plan, &mut emits);
                let kwargs = set::has_word(src, "kwargs");
                if kwargs && f.call_ex_dict {
                    // A fresh dict of the keyword arguments, as the compiler builds for `**m`.
                    out.push(make(src, "BUILD_MAP", vec![int(src, 0)]));
                    out.push(make(src, "SWAP", vec![int(src, 2)]));
                    out.push(make(src, "DICT_MERGE", vec![int(src, 1)]));
                }
                if f.call_ex_null_kwargs {
                    if !kwargs {
                        out.push(make(src, "PUSH_NULL", vec![]));
                    }
                    out.push(make(src, "CALL_FUNCTION_EX", vec![]));
                } else {
                    out.push(make(src, "CALL_FUNCTION_EX", vec![int(src, usize::from(kwargs))]));
                }
            }
            Op::MakeFunction => make_function(cx, i, &mut out, diags),
            Op::BuildTuple => out.push(make(src, "BUILD_TUPLE", src.operands.clone())),
            Op::BuildList => out.push(make(src, "BUILD_LIST", src.operands.clone())),
            Op::BuildSet => out.push(make(src, "BUILD_SET", src.operands.clone())),
            Op::BuildMap => out.push(make(src, "BUILD_MAP", src.operands.clone())),
            Op::Unpack => out.push(make(src, "UNPACK_SEQUENCE", src.operands.clone())),
            Op::Import => {
                // IMPORT_NAME pops the level and the from-list: `import m, (NAMES), LEVEL`.
                let fromlist = src.operands.get(1).cloned().unwrap_or_else(|| val(src, Value::Word("None".into())));
                let level = src.operands.get(2).cloned().unwrap_or_else(|| int(src, 0));
                let small = f.small_int && matches!(&level.node, Value::Int(n) if *n >= BigInt::from(0) && *n <= BigInt::from(255));
                out.push(make(src, if small { "LOAD_SMALL_INT" } else { "LOAD_CONST" }, vec![level]));
                out.push(make(src, "LOAD_CONST", vec![fromlist]));
                out.push(make(src, "IMPORT_NAME", src.operands.first().cloned().into_iter().collect()));
            }
            Op::ImportFrom => out.push(make(src, "IMPORT_FROM", src.operands.clone())),
            Op::ImportStar if f.import_star => out.push(make(src, "IMPORT_STAR", vec![])),
            Op::ImportStar => {
                out.push(make(src, "CALL_INTRINSIC_1", vec![word(src, "INTRINSIC_IMPORT_STAR")]));
                out.push(make(src, "POP_TOP", vec![]));
            }
            Op::Convert => {
                let Some(conv) = set::operator(src).filter(|c| ["str", "repr", "ascii"].contains(c)) else {
                    diags.push(error(src.opname.span, "`convert` takes `str`, `repr` or `ascii`".into(), "").with_help("as `!s`, `!r`, `!a` in an f-string"));
                    continue;
                };
                if f.format_value {
                    // Converting gives a str, which formats to itself: the conversion alone is
                    // a FORMAT_VALUE (fused with a `format` right after it, as the compiler does).
                    if plan.convert_format.contains(&i) {
                        skip_next = true;
                    }
                    out.push(make(src, "FORMAT_VALUE", vec![word(src, conv)]));
                } else {
                    out.push(make(src, "CONVERT_VALUE", vec![word(src, conv)]));
                }
            }
            Op::Format if f.format_value => out.push(make(src, "FORMAT_VALUE", vec![int(src, 0)])),
            Op::Format => out.push(make(src, "FORMAT_SIMPLE", vec![])),
            Op::FormatSpec if f.format_value => out.push(make(src, "FORMAT_VALUE", vec![word(src, "spec")])),
            Op::FormatSpec => out.push(make(src, "FORMAT_WITH_SPEC", vec![])),
            Op::BuildString => out.push(make(src, "BUILD_STRING", src.operands.clone())),
            Op::ListAppend | Op::SetAdd | Op::MapAdd => {
                let (name, popped) = match op {
                    Op::ListAppend => ("LIST_APPEND", 1),
                    Op::SetAdd => ("SET_ADD", 1),
                    _ => ("MAP_ADD", 2),
                };
                let n = set::count(src);
                if n == 0 {
                    diags.push(error(src.opname.span, format!("`{}` takes how far down the collection is (1: right below)", src.opname.node), "no count"));
                    continue;
                }
                // N counts portable values; the version's argument counts its slots, and an
                // iterator in between may take more than one (3.15).
                let hidden: usize = (popped..popped + n - 1)
                    .filter_map(|d| cx.walk.pushed_by(i, d))
                    .filter(|&k| k != MIXED && cx.op(k) == Some(Op::GetIter))
                    .map(|_| f.iter_width - 1)
                    .sum();
                if op == Op::MapAdd && !f.map_add_value_on_top {
                    out.push(make(src, if f.rot { "ROT_TWO" } else { "SWAP" }, if f.rot { vec![] } else { vec![int(src, 2)] }));
                }
                out.push(make(src, name, vec![int(src, n + hidden)]));
            }
            Op::Yield => {
                // An async generator's values are wrapped, so that `__anext__` tells them from
                // what its awaits pass through.
                if let (true, Some((name, arg))) = (cx.info.generator && cx.info.coroutine, f.async_gen_wrap.split_first()) {
                    out.push(make(src, name, arg.iter().map(|w| word(src, w)).collect()));
                }
                // 3.13+: 0, not a delegation's (3.12: the handlers around it, `yield_depth`).
                out.push(if f.yield_arg { make(src, "YIELD_VALUE", vec![int(src, 0)]) } else { make(src, "YIELD_VALUE", vec![]) });
                if f.resume {
                    out.push(make(src, "RESUME", vec![word(src, "yield")]));
                }
            }
        }
        emits[i].main = out;
    }
    jump_over_loop_exits(cx, &mut before_label);
    let (cleanup_run, cleanups) = cleanup_regions(cx, &plan);
    Lowered { emits, before_label, cleanup_run, cleanups }
}

pub(super) fn depth_operand(src: &Instruction, d: usize) -> Spanned<Value> {
    val(src, Value::Call(Spanned::new("depth".into(), src.opname.span), vec![int(src, d)]))
}

/// 3.11+: the depth a `with`'s region unwinds to: the stack under the manager, and its exit.
pub(super) fn with_depth(cx: &Cx, enter: usize, plan: &Plan) -> usize {
    cx.version_depth(enter, plan).saturating_sub(1) + cx.f.with_exit_width
}

/// `with_enter`: the manager's `__exit__` kept on the stack, its `__enter__()` on top, and the
/// region whose exceptions go to the `with`'s handler (≤3.10 SETUP_WITH's block).
fn with_enter(cx: &Cx, i: usize, plan: &Plan, out: &mut Vec<Out>) {
    let src = cx.code[i];
    let handler = format!("__with_{i}");
    // `with_enter async`: `__aenter__`/`__aexit__`, each result awaited.
    let is_async = set::has_word(src, "async");
    // Under what `__aenter__()` returns: the stack under the manager, and the exit.
    let under = with_depth(cx, i, plan);
    match cx.f.with {
        With::Cleanup | With::ExceptStart if is_async => {
            out.push(make(src, "BEFORE_ASYNC_WITH", vec![]));
            await_with(cx, i, 1, "enter", under, out);
            out.push(make(src, "SETUP_ASYNC_WITH", vec![word(src, &handler)]));
            return;
        }
        With::Cleanup | With::ExceptStart => {
            out.push(make(src, "SETUP_WITH", vec![word(src, &handler)]));
            return;
        }
        With::BeforeWith => out.push(make(src, if is_async { "BEFORE_ASYNC_WITH" } else { "BEFORE_WITH" }, vec![])),
        With::LoadSpecial => {
            let (enter, exit) = if is_async { ("__aenter__", "__aexit__") } else { ("__enter__", "__exit__") };
            // mgr → mgr mgr → mgr __exit__ mgr → … → __exit__ mgr(self) mgr → __exit__ mgr __enter__ mgr
            out.push(make(src, "COPY", vec![int(src, 1)]));
            out.push(make(src, "LOAD_SPECIAL", vec![word(src, exit)]));
            out.push(make(src, "SWAP", vec![int(src, 2)]));
            out.push(make(src, "SWAP", vec![int(src, 3)]));
            out.push(make(src, "LOAD_SPECIAL", vec![word(src, enter)]));
            out.push(make(src, "CALL", vec![int(src, 0)]));
        }
    }
    if is_async {
        await_with(cx, i, 1, "enter", under, out);
    }
    out.push(Out::Directive("try".into(), vec![word(src, &handler), word(src, "lasti"), depth_operand(src, with_depth(cx, i, plan))]));
}

/// `with_exit`: the region ends, `__exit__(None, None, None)` is called; then the handler
/// (jumped over): `__exit__` with the exception, which goes on unless it returns true.
fn with_exit(cx: &Cx, enter: usize, normal: bool, plan: &Plan, out: &mut Vec<Out>) {
    let f = cx.f;
    let src = cx.code[enter];
    let handler = format!("__with_{enter}");
    let done = format!("__with_{enter}_done");
    let suppress = format!("__with_{enter}_suppress");
    let op = |out: &mut Vec<Out>, name: &str| out.push(make(src, name, vec![]));
    let reraise = |out: &mut Vec<Out>, n: usize| out.push(if f.reraise_arg { make(src, "RERAISE", vec![int(src, n)]) } else { make(src, "RERAISE", vec![]) });
    // `async`: what `__aexit__` returned is awaited (`under`: the slots beneath it).
    let is_async = set::has_word(src, "async");
    let await_exit = |out: &mut Vec<Out>, key: &str, under: usize| {
        if is_async {
            await_with(cx, enter, 2, key, under, out);
        }
    };
    // The stack under the manager, where the normal way out calls the exit.
    let base = cx.version_depth(enter, plan).saturating_sub(1);
    match f.with {
        With::Cleanup => {
            if normal {
                op(out, "POP_BLOCK");
                // The normal way into the cleanup: None (3.8: BEGIN_FINALLY's NULL) for the
                // exception.
                if f.table.by_name("BEGIN_FINALLY").is_some() {
                    op(out, "BEGIN_FINALLY");
                } else {
                    out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
                }
            }
            out.push(Out::Label(handler));
            op(out, "WITH_CLEANUP_START");
            await_exit(out, "exit", 0);
            op(out, "WITH_CLEANUP_FINISH");
            op(out, "END_FINALLY");
        }
        With::ExceptStart => {
            if normal {
                op(out, "POP_BLOCK");
                out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
                op(out, "DUP_TOP");
                op(out, "DUP_TOP");
                out.push(make(src, "CALL_FUNCTION", vec![int(src, 3)]));
                await_exit(out, "exit", 0);
                op(out, "POP_TOP");
                out.push(make(src, "JUMP_FORWARD", vec![word(src, &done)]));
            }
            out.push(Out::Label(handler));
            op(out, "WITH_EXCEPT_START");
            await_exit(out, "handler", 0);
            out.push(make(src, "POP_JUMP_IF_TRUE", vec![word(src, &suppress)]));
            reraise(out, 1);
            out.push(Out::Label(suppress));
            // The exception's three values, the saved one by POP_EXCEPT, then `__exit__`.
            for _ in 0..3 {
                op(out, "POP_TOP");
            }
            op(out, "POP_EXCEPT");
            op(out, "POP_TOP");
            out.push(Out::Label(done));
        }
        With::BeforeWith | With::LoadSpecial => {
            let cleanup = format!("__with_{enter}_cleanup");
            let depth = with_depth(cx, enter, plan);
            out.push(Out::Directive("end_try".into(), vec![]));
            if normal {
                for _ in 0..3 {
                    out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
                }
                // `__exit__` is called as a method: its self slot takes the first None (3.14+:
                // the manager itself, and the three Nones are the arguments).
                let n = if f.with_exit_width == 2 { 3 } else { 2 };
                if f.precall {
                    out.push(make(src, "PRECALL", vec![int(src, n)]));
                }
                out.push(make(src, "CALL", vec![int(src, n)]));
                await_exit(out, "exit", base);
                op(out, "POP_TOP");
                out.push(make(src, "JUMP", vec![word(src, &done)]));
            }
            out.push(Out::Label(handler));
            // Under the exit and the offset: the exception it replaced, restored if the
            // handler raises.
            out.push(Out::Directive("try".into(), vec![word(src, &cleanup), word(src, "lasti"), depth_operand(src, depth + 2)]));
            op(out, "PUSH_EXC_INFO");
            op(out, "WITH_EXCEPT_START");
            // Under `__aexit__`'s result: the exit, the offset, the previous exception and this one.
            await_exit(out, "handler", depth + 3);
            if f.to_bool {
                op(out, "TO_BOOL");
            }
            out.push(make(src, "POP_JUMP_IF_TRUE", vec![word(src, &suppress)]));
            reraise(out, 2);
            out.push(Out::Label(suppress));
            op(out, "POP_TOP");
            out.push(Out::Directive("end_try".into(), vec![]));
            op(out, "POP_EXCEPT");
            for _ in 0..1 + f.with_exit_width {
                op(out, "POP_TOP");
            }
            out.push(make(src, "JUMP", vec![word(src, &done)]));
            out.push(Out::Label(cleanup));
            out.push(make(src, "COPY", vec![int(src, 3)]));
            op(out, "POP_EXCEPT");
            reraise(out, 1);
            out.push(Out::Label(done));
        }
    }
}

/// `yield_from`: ≤3.10 YIELD_FROM; 3.11+ the SEND loop (SEND, YIELD_VALUE, RESUME, back),
/// 3.12+ with END_SEND at its exit and CLEANUP_THROW for an exception thrown in meanwhile.
fn yield_from(cx: &Cx, i: usize, plan: &Plan, out: &mut Vec<Out>) {
    let f = cx.f;
    let src = cx.code[i];
    let awaiting = cx.op(i) == Some(Op::Await);
    let width = match f.yield_from_get_iter {
        _ if awaiting => {
            let takes_arg = f.table.by_name("GET_AWAITABLE").is_some_and(|o| o.arg != crate::opcodes::ArgKind::None);
            out.push(make(src, "GET_AWAITABLE", if takes_arg { vec![int(src, 0)] } else { vec![] }));
            receiver_pair(cx, i, out)
        }
        Some(arg) => {
            out.push(make(src, "GET_ITER", vec![int(src, arg as usize)]));
            f.iter_width
        }
        None => {
            out.push(make(src, "GET_YIELD_FROM_ITER", vec![]));
            1
        }
    };
    send_loop(cx, i, &i.to_string(), cx.version_depth(i, plan) - 1, width, if awaiting { "await" } else { "yield_from" }, out);
}

/// An `async with`'s await of what `__aenter__()` (`which` 1) or `__aexit__()` (2) returned,
/// on top with `under` slots beneath it: GET_AWAITABLE (3.11+ with `which`), then the
/// delegation (`send_loop`, its labels named by `key`).
pub(super) fn await_with(cx: &Cx, enter: usize, which: usize, key: &str, under: usize, out: &mut Vec<Out>) {
    let src = cx.code[enter];
    let takes_arg = cx.f.table.by_name("GET_AWAITABLE").is_some_and(|o| o.arg != crate::opcodes::ArgKind::None);
    out.push(make(src, "GET_AWAITABLE", if takes_arg { vec![int(src, which)] } else { vec![] }));
    let width = receiver_pair(cx, enter, out);
    send_loop(cx, enter, &format!("{enter}_{key}"), under, width, "await", out);
}

/// After an awaitable is pushed: 3.15's SEND takes its receiver as a pair (receiver, NULL,
/// value), which GET_ITER pushes for `yield from` (the iterator and its index or NULL) but
/// GET_AWAITABLE does not (it replaces the awaitable by one iterator): a PUSH_NULL completes
/// it, as 3.15's compiler writes. The slots the receiver takes.
pub(super) fn receiver_pair(cx: &Cx, i: usize, out: &mut Vec<Out>) -> usize {
    let f = cx.f;
    if f.yield_from_get_iter.is_some() && f.iter_width == 2 {
        out.push(make(cx.code[i], "PUSH_NULL", vec![]));
        return f.iter_width;
    }
    1
}

/// The delegation to the receiver on top (`width` slots, `under` slots beneath it): ≤3.10
/// `LOAD_CONST None; YIELD_FROM`, 3.11+ the SEND loop, whose labels are line `i`'s
/// (`__send_{key}_done` is its exit, `key` names the loop); RESUME's argument is `resume`.
pub(super) fn send_loop(cx: &Cx, i: usize, key: &str, under: usize, width: usize, resume: &str, out: &mut Vec<Out>) {
    let f = cx.f;
    let src = cx.code[i];
    out.push(make(src, "LOAD_CONST", vec![word(src, "None")]));
    if f.yield_from_op {
        out.push(make(src, "YIELD_FROM", vec![]));
        return;
    }
    let (send, done, throw) = (format!("__send_{key}"), format!("__send_{key}_done"), format!("__send_{key}_throw"));
    out.push(Out::Label(send.clone()));
    out.push(make(src, "SEND", vec![word(src, &done)]));
    // Under the yielded value: the iterator (3.15: its two slots), and the stack under the
    // iterable; and the value sent last.
    let depth = under + width + 1;
    if f.end_send {
        out.push(Out::Directive("try".into(), vec![word(src, &throw), depth_operand(src, depth)]));
    }
    // 3.13+: 1, a delegation's yield (3.12: the handlers around it, `yield_depth`).
    out.push(if f.yield_arg { make(src, "YIELD_VALUE", vec![int(src, 1)]) } else { make(src, "YIELD_VALUE", vec![]) });
    if f.end_send {
        out.push(Out::Directive("end_try".into(), vec![]));
    }
    out.push(make(src, "RESUME", vec![word(src, resume)]));
    out.push(make(src, "JUMP_NO_INTERRUPT", vec![word(src, &send)]));
    if f.end_send {
        // Reached only by an exception: the iterator, the value it returned → …, falls into
        // END_SEND as SEND's exit does.
        out.push(Out::Label(throw));
        out.push(make(src, "CLEANUP_THROW", vec![]));
        out.push(Out::Label(done));
        out.push(make(src, "END_SEND", vec![]));
    } else {
        out.push(Out::Label(done));
    }
}


/// ≤3.10: a `jump` from inside `try` regions to a label outside them pops their blocks first
/// (3.11+: leaving a region in the text is all it takes).
#[allow(clippy::too_many_arguments)]
/// `dropped`: how many values on top the exits of `with`s it leaves take first (`leave_with`).
fn leave_regions(cx: &Cx, i: usize, label: &str, open: &[usize], ends: &HashMap<usize, usize>, dropped: usize, emits: &mut [Emit], out: &mut Vec<Out>, diags: &mut Vec<Diagnostic>) {
    let (Some(&target), false) = (cx.labels.get(label), cx.f.make_cell) else { return };
    if cx.walk.entry[i].is_none() {
        return;
    }
    let src = cx.code[i];
    let left: Vec<usize> = open.iter().rev().copied().filter(|&t| target <= t || ends.get(&t).is_none_or(|&e| target > e)).collect();
    let Some(&outermost) = left.last() else { return };
    let depth = cx.walk.stack(i).len().saturating_sub(dropped);
    if cx.f.pop_block_unwinds && depth > cx.walk.stack(outermost).len() {
        diags.push(
            error(src.opname.span, "this jump out of a `try` carries values pushed inside it".into(), "")
                .with_note("up to 3.7 leaving a protected region drops them (POP_BLOCK cuts the stack back)")
                .with_help("store them in a variable inside the region"),
        );
        return;
    }
    let pop_blocks = left.iter().map(|_| make(src, "POP_BLOCK", vec![]));
    // A `break` pops values from under the region (the loop's iterator) before its jump; the
    // blocks go before those `pop`s, while the stack is still at their level.
    let below = cx.walk.stack(outermost).len().saturating_sub(depth);
    if below == 0 {
        out.extend(pop_blocks);
        return;
    }
    let first = i.checked_sub(below).filter(|&k| (k..i).all(|p| cx.op(p) == Some(Op::Pop) && (k == p || !cx.labelled(p))) && !cx.labelled(i));
    match first {
        Some(k) => emits[k].before.extend(pop_blocks),
        None => diags.push(
            error(src.opname.span, "this jump out of a `try` leaves less on the stack than the `try` found".into(), "")
                .with_note("up to 3.10 the region's block must be popped while the stack is at its level")
                .with_help("drop values from under the region with `pop` lines right before the jump"),
        ),
    }
}

/// A loop's exit (END_FOR …) is for the exhausted iterator's jump only: a line before the
/// exit label that goes on to it (a `break` that popped the iterator and falls into the label,
/// a loop's last conditional jump) jumps over it to the label.
fn jump_over_loop_exits(cx: &Cx, before_label: &mut HashMap<String, Vec<Out>>) {
    for (label, exit) in before_label.iter_mut() {
        let Some(&t) = cx.labels.get(label) else { continue };
        let Some(prev) = t.checked_sub(1).map(|p| cx.code[p]) else { continue };
        let reached = cx.walk.entry[t - 1].is_some();
        if reached && super::flow::falls_through(prev, cx.f.table) {
            let name = if cx.f.pseudo_jump { "JUMP" } else { "JUMP_FORWARD" };
            exit.insert(0, make(prev, name, vec![word(prev, label)]));
        }
    }
}

/// 3.11+: where each handler runs, and the handler that restores the previous exception when
/// something raises there (`COPY 3; POP_EXCEPT; RERAISE 1`, as the compiler writes it). Its
/// depth is the `try`'s plus the previous exception, given explicitly: a handler's code runs
/// at several depths (with and without its exception on the stack).
fn cleanup_regions(cx: &Cx, plan: &Plan) -> (Vec<Option<usize>>, Vec<Cleanup>) {
    let n = cx.code.len();
    if !cx.f.make_cell {
        return (vec![None; n], Vec::new());
    }
    let mut runs = vec![None; n];
    let mut cleanups = Vec::new();
    for (i, run) in runs.iter_mut().enumerate() {
        *run = match cx.walk.entry[i] {
            Some(_) => cx.walk.handlers(i).last().copied(),
            None => None,
        };
    }
    let mut used: Vec<usize> = runs.iter().flatten().copied().collect();
    used.sort_unstable();
    used.dedup();
    for h in used {
        let src = cx.code[h];
        let label = format!("__cleanup_{h}");
        let depth = cx.version_depth(h, plan) + 1;
        let depth_arg = val(src, Value::Call(Spanned::new("depth".into(), src.opname.span), vec![int(src, depth)]));
        let operands = vec![word(src, &label), word(src, "lasti"), depth_arg];
        let body = vec![
            make(src, "COPY", vec![int(src, 3)]),
            make(src, "POP_EXCEPT", vec![]),
            make(src, "RERAISE", vec![int(src, 1)]),
        ];
        cleanups.push((h, label, operands, body));
    }
    (runs, cleanups)
}

/// `load x`, `store x`, `delete x`: the opcode family from x's scope.
fn variable(cx: &Cx, i: usize, op: Op, null: bool, out: &mut Vec<Out>, diags: &mut Vec<Diagnostic>) {
    let src = cx.code[i];
    let Some(name) = cx.name(i) else {
        diags.push(error(src.opname.span, format!("`{}` takes a variable's name", src.opname.node), "no name"));
        return;
    };
    let verb = match op {
        Op::Load => "LOAD",
        Op::Store => "STORE",
        _ => "DELETE",
    };
    let scope = cx.info.scope(&name);
    let mut opname = format!(
        "{verb}_{}",
        match scope {
            Scope::Fast => "FAST",
            Scope::Deref => "DEREF",
            Scope::Name => "NAME",
            Scope::Global => "GLOBAL",
        }
    );
    if scope == Scope::Fast && op == Op::Load && cx.f.load_fast_check {
        if let Some(k) = cx.info.local_index(&name) {
            if cx.walk.maybe_unbound(i, k) {
                opname = "LOAD_FAST_CHECK".into();
            }
        }
    }
    let mut operands = src.operands.clone();
    if null {
        operands.push(word(src, "null"));
    }
    out.push(make(src, &opname, operands));
}

fn binary(cx: &Cx, src: &Instruction, out: &mut Vec<Out>, diags: &mut Vec<Diagnostic>) {
    let f = cx.f;
    let Some(sym) = set::operator(src) else {
        diags.push(error(src.opname.span, "`binary` takes an operator".into(), "no operator").with_help("for example `binary +`, `binary //=` or `binary []`"));
        return;
    };
    if sym == "[]" {
        out.push(if f.subscript_op { make(src, "BINARY_OP", src.operands.clone()) } else { make(src, "BINARY_SUBSCR", vec![]) });
        return;
    }
    let (base, inplace) = match sym.strip_suffix('=') {
        Some(b) => (b, true),
        None => (sym, false),
    };
    let Some((_, suffix)) = BINARY_NAMES.iter().find(|(s, _)| *s == base) else {
        let known: Vec<&str> = BINARY_NAMES.iter().map(|(s, _)| *s).collect();
        diags.push(
            error(src.operands[0].span, format!("`{sym}` is not a binary operator"), "")
                .with_help(format!("the operators are {} (each also with `=`, in place), and `[]`", known.join(" "))),
        );
        return;
    };
    if f.binary_op {
        out.push(make(src, "BINARY_OP", src.operands.clone()));
    } else {
        out.push(make(src, &format!("{}_{suffix}", if inplace { "INPLACE" } else { "BINARY" }), vec![]));
    }
}

fn unary(f: &Facts, src: &Instruction, out: &mut Vec<Out>, diags: &mut Vec<Diagnostic>) {
    match set::operator(src) {
        Some("-") => out.push(make(src, "UNARY_NEGATIVE", vec![])),
        Some("~") => out.push(make(src, "UNARY_INVERT", vec![])),
        Some("+") if f.unary_positive => out.push(make(src, "UNARY_POSITIVE", vec![])),
        Some("+") => out.push(make(src, "CALL_INTRINSIC_1", vec![word(src, "INTRINSIC_UNARY_POSITIVE")])),
        Some("not") => {
            if f.to_bool {
                out.push(make(src, "TO_BOOL", vec![]));
            }
            out.push(make(src, "UNARY_NOT", vec![]));
        }
        _ => diags.push(
            error(src.operands.first().map_or(src.opname.span, |o| o.span), "`unary` takes `-`, `~`, `+` or `not`".into(), "")
                .with_help("for example `unary -`"),
        ),
    }
}

fn compare(f: &Facts, src: &Instruction, to_bool: bool, out: &mut Vec<Out>, diags: &mut Vec<Diagnostic>) {
    let Some(sym) = set::operator(src).filter(|s| COMPARISONS.contains(s)) else {
        diags.push(
            error(src.operands.first().map_or(src.opname.span, |o| o.span), "`compare` takes a comparison".into(), "")
                .with_help(format!("one of {}", COMPARISONS.join(" "))),
        );
        return;
    };
    match sym {
        "is" | "is_not" if f.is_op => out.push(make(src, "IS_OP", src.operands.clone())),
        "in" | "not_in" if f.is_op => out.push(make(src, "CONTAINS_OP", src.operands.clone())),
        _ => {
            let mut operands = src.operands.clone();
            if to_bool {
                operands.push(word(src, "bool"));
            }
            out.push(make(src, "COMPARE_OP", operands));
        }
    }
}

/// The NULL slot of a call (3.11+) beside the instruction that pushed the callable.
fn place_null(cx: &Cx, i: usize, plan: &Plan, emits: &mut [Emit]) {
    let f = cx.f;
    let Some((&k, &(_, kw))) = plan.callee.iter().find(|(_, (c, _))| *c == i) else { return };
    if !f.null_slot || plan.global_null.contains(&k) {
        return;
    }
    if cx.op(k) == Some(Op::LoadMethod) && cx.method_slot(kw) {
        return;
    }
    let src = cx.code[k];
    let pops = match set::lookup(&src.opname.node) {
        Some(op) => set::effect(op, src).pops,
        None => f.table.by_name(&src.opname.node).map_or(1, |o| o.pops.eval(0).max(0) as usize),
    };
    if f.null_after {
        emits[k].after.push(make(src, "PUSH_NULL", vec![]));
    } else if pops == 0 {
        emits[k].before.push(make(src, "PUSH_NULL", vec![]));
    } else {
        // The callable was computed from other values (`load_attr`, a call's result): the
        // NULL goes under it afterwards.
        emits[k].after.push(make(src, "PUSH_NULL", vec![]));
        emits[k].after.push(make(src, "SWAP", vec![int(src, 2)]));
    }
}

fn call(cx: &Cx, i: usize, plan: &Plan, emits: &mut [Emit], out: &mut Vec<Out>) {
    let f = cx.f;
    let src = cx.code[i];
    place_null(cx, i, plan, emits);
    let n = src.operands.first().cloned().unwrap_or_else(|| int(src, 0));
    let names = src.operands.get(1).cloned().filter(|_| set::keyword_count(src) > 0);
    let method = plan.callee.iter().any(|(&k, &(c, kw))| c == i && cx.op(k) == Some(Op::LoadMethod) && cx.method_slot(kw));
    if !f.null_slot {
        match names {
            Some(names) => {
                out.push(make(src, "LOAD_CONST", vec![names]));
                out.push(make(src, "CALL_FUNCTION_KW", vec![n]));
            }
            None if method && f.call_method => out.push(make(src, "CALL_METHOD", vec![n])),
            None => out.push(make(src, "CALL_FUNCTION", vec![n])),
        }
        return;
    }
    match names {
        Some(names) if f.kw_names => out.push(make(src, "KW_NAMES", vec![names])),
        Some(names) => out.push(make(src, "LOAD_CONST", vec![names])),
        None => {}
    }
    let kw = set::keyword_count(src) > 0;
    if f.precall {
        out.push(make(src, "PRECALL", vec![n.clone()]));
    }
    out.push(make(src, if kw && f.call_kw { "CALL_KW" } else { "CALL" }, vec![n]));
}

/// The flags a portable `make_function` takes, in the order their values are pushed; the
/// closure (pyasm's) comes after them.
const MAKE_FUNCTION_FLAGS: &[&str] = &["defaults", "kwdefaults", "annotations"];

fn make_function(cx: &Cx, i: usize, out: &mut Vec<Out>, diags: &mut Vec<Diagnostic>) {
    let f = cx.f;
    let src = cx.code[i];
    if set::has_word(src, "annotations") {
        // The annotations are on top: a tuple (what 3.10–3.13 compile) is kept as it is by
        // 3.6–3.9, where `__annotations__` would be that tuple.
        let tuple = cx.walk.pushed_by(i, 0).filter(|&k| k != MIXED).filter(|&k| match cx.op(k) {
            Some(Op::BuildTuple) => true,
            Some(Op::Const) => matches!(cx.code[k].operands.first().map(|o| &o.node), Some(Value::Tuple(_))),
            _ => false,
        });
        if let Some(k) = tuple {
            diags.push(
                error(src.opname.span, "`make_function … annotations` takes a dict of annotations, here a tuple".into(), "")
                    .with_secondary(cx.code[k].opname.span, "the tuple")
                    .with_note("every version takes a dict (parameter name → annotation); 3.6–3.9 keep a tuple as `__annotations__` itself")
                    .with_help("build the dict: the names and annotations in pairs, then `build_map N`"),
            );
        }
    }
    let Some(code) = src.operands.first().filter(|o| matches!(o.node, Value::CodeRef(_))).cloned() else {
        diags.push(error(src.opname.span, "`make_function` takes the code object, `@name`".into(), "no code object").with_help("for example `make_function @greet, defaults`"));
        return;
    };
    let Value::CodeRef(id) = &code.node else { unreachable!() };
    let id = id.text();
    let freevars = cx.infos.get(&id).map(|c| c.freevars.clone()).unwrap_or_default();
    for w in src.operands.iter().skip(1) {
        if !matches!(&w.node, Value::Word(x) if MAKE_FUNCTION_FLAGS.contains(&x.as_str())) {
            diags.push(error(w.span, "`make_function` takes the flags `defaults`, `kwdefaults` and `annotations`".into(), "").with_note("the closure is pyasm's to build, from the code object's `.freevars`"));
        }
    }
    // In the order MAKE_FUNCTION takes their values, the deepest first.
    let mut flags: Vec<&str> = MAKE_FUNCTION_FLAGS.iter().copied().filter(|w| set::has_word(src, w)).collect();
    if !freevars.is_empty() {
        // The cells of the new function's free variables, from this code object's cells
        // and free variables of the same names.
        let load = if f.load_closure { "LOAD_CLOSURE" } else { "LOAD_FAST" };
        for v in &freevars {
            if !cx.info.cells.contains(v) && !cx.info.freevars.contains(v) {
                diags.push(
                    error(code.span, format!("`{id}` closes over `{v}`, which is not a cell or free variable here"), "")
                        .with_help(format!("declare `.cells {v}` (or `.freevars {v}`) in `{}`", cx.info.id)),
                );
            }
            out.push(make(src, load, vec![val(src, Value::Word(v.clone()))]));
        }
        out.push(make(src, "BUILD_TUPLE", vec![int(src, freevars.len())]));
        flags.push("closure");
    }
    out.push(make(src, "LOAD_CONST", vec![code.clone()]));
    if f.make_function_qualname {
        let q = cx.qualnames.get(&id).cloned().unwrap_or_else(|| PyStr::from(id.as_str()));
        out.push(make(src, "LOAD_CONST", vec![val(src, Value::Str(q))]));
    }
    if f.set_function_attribute {
        out.push(make(src, "MAKE_FUNCTION", vec![]));
        for flag in flags.iter().rev() {
            out.push(make(src, "SET_FUNCTION_ATTRIBUTE", vec![word(src, flag)]));
        }
    } else if flags.is_empty() {
        out.push(make(src, "MAKE_FUNCTION", vec![int(src, 0)]));
    } else {
        out.push(make(src, "MAKE_FUNCTION", flags.iter().map(|w| word(src, w)).collect()));
    }
}

/// The instructions every code object of this version starts with (3.11+: cells, free
/// variables, a generator's creation, RESUME; 3.10: a generator's GEN_START).
pub fn prologue(f: &Facts, info: &CodeInfo, at: &Instruction) -> Vec<Out> {
    let mut out = Vec::new();
    if f.make_cell {
        if !info.freevars.is_empty() {
            out.push(make(at, "COPY_FREE_VARS", vec![int(at, info.freevars.len())]));
        }
        for c in &info.cells {
            out.push(make(at, "MAKE_CELL", vec![val(at, Value::Word(c.clone()))]));
        }
    }
    if (info.generator || info.coroutine) && f.return_generator {
        out.push(make(at, "RETURN_GENERATOR", vec![]));
        out.push(make(at, "POP_TOP", vec![]));
    }
    if (info.generator || info.coroutine) && f.gen_start {
        let kind = match (info.generator, info.coroutine) {
            (true, true) => "async_generator",
            (false, true) => "coroutine",
            _ => "generator",
        };
        out.push(make(at, "GEN_START", vec![word(at, kind)]));
    }
    if f.resume {
        out.push(make(at, "RESUME", vec![int(at, 0)]));
    }
    out
}
