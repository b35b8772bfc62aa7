//! The typed verifier's diagnostics: what the stack holds, where each value came from, and
//! what to write instead.

use super::blocks::{Block, BlockKind};
use super::state::{Detail, Mismatch, Origin, Slot, State};
use super::step::{Handler, Machine, free_count};
use crate::diagnostics::{Diagnostic, codes};
use crate::dis::text;
use crate::object::{KIND_CELL, KIND_FREE};
use crate::opcodes::{ArgKind, Effect, Kinds, Signature, SlotSpec, describe_kinds, kind};
use crate::resolve::constants::PoolConst;
use crate::syntax::ast::Span;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Error,
    Warning,
}

/// How a value is named in messages: the constant, name or local it was loaded from, NULL,
/// or the instruction that made it.
pub fn slot_text(m: &Machine, s: &Slot) -> String {
    if s.kinds == kind::NULL {
        return "NULL".into();
    }
    match s.origin {
        Origin::Entry => "a parameter".into(),
        Origin::Handler(_) if s.kinds == kind::EXC => "the exception".into(),
        Origin::Handler(_) if s.kinds == kind::INT => "the raising offset (lasti)".into(),
        Origin::Handler(_) => "a value the handler was entered with".into(),
        Origin::Instr(j) => {
            let code = m.code;
            let ins = &code.instrs[j as usize];
            let oparg = ins.arg.oparg();
            let index = (oparg >> ins.op.shift) as usize;
            // A method load pushes two slots: the method (or attribute) and the self (3.12
            // names the NULL-able one `method`, 3.13+ `self_or_null`).
            let sig = ins.op.signature(oparg);
            let pair = sig.outputs.iter().find(|o| matches!(o.name, "method" | "self_or_null") && o.count.eval(oparg) == 1);
            if let (Some(pair), Some(name)) = (pair, code.names.get(index)) {
                if (pair.name == "self_or_null") == (s.kinds & kind::NULL != 0) {
                    return format!("the self of {}", text::name(name));
                }
            }
            let loaded = match ins.op.arg {
                ArgKind::Const => match code.consts.get(index) {
                    Some(PoolConst::Value(c)) => Some(shorten(text::constant(c, &mut |_| String::from("<code>")))),
                    Some(PoolConst::Code(k)) => Some(format!("@{}", text::name(&m.codes[*k].id.node.0))),
                    None => None,
                },
                ArgKind::Name if ins.op.name.starts_with("LOAD") => code.names.get(index).map(text::name),
                ArgKind::Local | ArgKind::Free if ins.op.name.starts_with("LOAD") => {
                    let index = if ins.op.arg == ArgKind::Free && code.version.block_stack {
                        index + crate::object::varnames_len(&code.localsplus)
                    } else {
                        index
                    };
                    code.localsplus.get(index).map(|l| text::name(&l.name))
                }
                _ => None,
            };
            loaded.unwrap_or_else(|| format!("the result of {}", ins.op.name))
        }
    }
}

fn shorten(s: String) -> String {
    if s.chars().count() <= 32 { s } else { s.chars().take(29).collect::<String>() + "…" }
}

/// A loaded name or constant in backticks; a description ("the result of …") as it is.
fn quoted(t: String) -> String {
    if t.starts_with("the ") || t.starts_with("a ") || t == "NULL" { t } else { format!("`{t}`") }
}

/// `text, kinds` for a message: "`x`, an object", "NULL", "`[]`, a list or NULL".
fn what(m: &Machine, s: &Slot) -> String {
    let t = slot_text(m, s);
    if t == "NULL" {
        return t;
    }
    format!("{}, {}", quoted(t), describe_kinds(s.kinds))
}

/// The stack as a listing shows it: one short kind word per slot, bottom first.
pub fn stack_text(stack: &[Slot]) -> String {
    let words: Vec<String> = stack.iter().map(|s| short_kinds(s.kinds)).collect();
    format!("[{}]", words.join(", "))
}

pub fn short_kinds(k: Kinds) -> String {
    if k & kind::OBJ == kind::OBJ {
        return if k & kind::NULL != 0 { "obj?".into() } else { "obj".into() };
    }
    let word = |b: Kinds| match b {
        kind::NULL => "NULL",
        kind::NONE => "None",
        _ => kind::WORDS.iter().find(|(_, k)| *k == b).map_or("?", |(w, _)| *w),
    };
    let parts: Vec<&str> = (0..kind::BITS).map(|b| 1 << b).filter(|b| k & b != 0).map(word).collect();
    parts.join("|")
}

fn span_of(m: &Machine, origin: Origin) -> Option<Span> {
    match origin {
        Origin::Instr(j) => Some(m.code.instrs[j as usize].span),
        Origin::Handler(j) => m.code.instrs.get(j as usize).map(|x| x.span),
        Origin::Entry => None,
    }
}

fn pushed_here(d: Diagnostic, m: &Machine, s: &Slot) -> Diagnostic {
    match (s.origin, span_of(m, s.origin)) {
        (Origin::Instr(_), Some(span)) => {
            let what = if s.kinds == kind::NULL { "this NULL was pushed here".to_string() } else { format!("{} was pushed here", quoted(slot_text(m, s))) };
            d.with_secondary(span, what)
        }
        (Origin::Handler(_), Some(span)) => d.with_secondary(span, "the handler starts here"),
        _ => d,
    }
}

fn op_text(m: &Machine, i: usize) -> String {
    let ins = &m.code.instrs[i];
    if ins.op.has_arg() && !matches!(ins.op.arg, ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute) {
        format!("{} {}", ins.op.name, ins.arg.oparg())
    } else {
        ins.op.name.to_string()
    }
}

/// Help for a slot that needs `kinds`.
fn help_for(kinds: Kinds) -> Option<&'static str> {
    Some(match kinds {
        kind::ITER => "make the iterator with GET_ITER: FOR_ITER calls the iterator's __next__ without checking it has one",
        kind::LIST => "the argument counts down from the top of the stack to the list being built (1 = the slot just below the value)",
        kind::SET => "the argument counts down from the top of the stack to the set being built",
        kind::DICT => "this needs a dict built here (BUILD_MAP); the argument counts down from the top to it",
        kind::EXC => "only the exception a handler was entered with (or a copy of it) may be re-raised or handled here",
        k if k == kind::EXC | kind::NONE => "this slot holds the exception that was being handled before (PUSH_EXC_INFO pushes it)",
        kind::CODE => "make functions from a code object: `LOAD_CONST @name` right before",
        kind::FUNC => "this instruction works on the function MAKE_FUNCTION just made",
        kind::TUPLE => "build a tuple here (BUILD_TUPLE), or load a tuple constant",
        kind::INT => "with an argument, RERAISE reads the raising offset that a `lasti` handler pushes",
        kind::INDEX => "with an argument, RERAISE reads the raising offset that a `lasti` handler pushes (a tagged int, not an object)",
        kind::CELL => "closures are tuples of cells: LOAD_CLOSURE (3.13+: LOAD_FAST of a cell variable) then BUILD_TUPLE",
        kind::OBJ => "a NULL here is a slot of a call (PUSH_NULL, `LOAD_GLOBAL x, null`, `LOAD_ATTR x, method`) out of its place",
        _ => return None,
    })
}

/// 3.15+: an iterator and index slot that do not go together.
pub fn iter_pair(m: &Machine, i: usize, it: &Slot, ix: &Slot, beside_null: Kinds) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let message = format!(
        "{} needs an iterator beside NULL, or a list or tuple beside its index, as GET_ITER leaves them; here it has {} beside {}",
        ins.op.name,
        what(m, it),
        what(m, ix)
    );
    let mut d = Diagnostic::error(codes::ITER_PAIR, message).with_primary(ins.span, "this pair was not made by one GET_ITER");
    d = pushed_here(d, m, it);
    if ix.origin != it.origin {
        d = pushed_here(d, m, ix);
    }
    let null_rule = if beside_null == kind::ITER { "beside NULL it calls the iterator's __next__ unchecked" } else { "beside NULL it takes any object" };
    d.with_note(format!(
        "in Python {} the loop instructions read an index slot below the top: beside an index they read the value as a list or tuple unchecked; {null_rule}",
        m.code.version.version
    ))
    .with_help("make the pair with GET_ITER (it pushes the iterator, then its index or NULL), and keep the two slots together")
}

pub fn wrong_kind(m: &Machine, i: usize, spec: &SlotSpec, slot: &Slot, problem: Problem) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let need = if problem == Problem::Error { spec.kinds } else { spec.expect };
    // "on some paths" only where it is known to differ between paths, not for any object.
    let maybe = slot.kinds & need != 0 && slot.kinds & kind::OBJ != kind::OBJ;
    let (verb, code) = match problem {
        Problem::Error => ("needs", codes::STACK_KIND),
        Problem::Warning => ("expects", codes::EXPECTED_KIND),
    };
    let message = format!(
        "{} {verb} {} as `{}`, but {} {}",
        ins.op.name,
        describe_kinds(need),
        spec.name,
        if maybe { "on some paths it is" } else { "here it is" },
        what(m, slot)
    );
    let mut d = match problem {
        Problem::Error => Diagnostic::error(code, message),
        Problem::Warning => Diagnostic::warning(code, message),
    };
    d = d.with_primary(ins.span, format!("`{}` is {}", spec.name, describe_kinds(slot.kinds)));
    d = pushed_here(d, m, slot);
    if problem == Problem::Warning && need == kind::BOOL {
        d = d
            .with_note(format!("in Python {} {} compares the value with True or False only: any other value counts the other way", m.code.version.version, ins.op.name))
            .with_help("convert the value with TO_BOOL first (or write `COMPARE_OP op, bool`)");
    } else if problem == Problem::Error {
        d = d.with_note("this would crash the interpreter: it uses the value without checking its type");
        // A tagged int is a handler's offset or (3.15+) GET_ITER's index slot.
        let help = match need & !kind::NULL {
            kind::INDEX if spec.name != "lasti" => {
                Some("GET_ITER pushes the iterator and then its index slot (a tagged int beside a list or tuple, else NULL): make the pair with `GET_ITER 0`")
            }
            k => help_for(k),
        };
        if let Some(h) = help {
            d = d.with_help(h);
        }
    }
    d
}

/// `callable, self-or-NULL, 1 argument`: a call's slots as this version lays them out.
fn layout_words(sig: &Signature, counts: &[usize]) -> String {
    let method_layout = sig.inputs.iter().any(|s| s.name == "method");
    let mut words = Vec::new();
    for (spec, &c) in sig.inputs.iter().zip(counts) {
        let w = match spec.name {
            "callable" if method_layout => "callable-or-self".to_string(),
            "method" => "NULL-or-method".to_string(),
            "self_or_null" => "self-or-NULL".to_string(),
            "args" => match c {
                0 => continue,
                1 => "1 argument".to_string(),
                n => format!("{n} arguments"),
            },
            "kwnames" => "keyword names".to_string(),
            "null" => "NULL".to_string(),
            "func" => "callable".to_string(),
            "callargs" => "positional-arguments tuple".to_string(),
            "kwargs" => "keyword-arguments dict".to_string(),
            other => other.to_string(),
        };
        words.push(w);
    }
    words.join(", ")
}

pub fn call_layout_groups(sig: &Signature, oparg: u32) -> Vec<usize> {
    sig.inputs.iter().map(|s| s.count.eval(oparg).max(0) as usize).collect()
}

pub fn call_layout(m: &Machine, i: usize, sig: &Signature, taken: &[Slot], below: &[Slot]) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let oparg = ins.arg.oparg();
    let counts = call_layout_groups(sig, oparg);
    let held: Vec<String> = taken.iter().map(|s| slot_text(m, s)).collect();
    let mut d = Diagnostic::error(
        codes::CALL_LAYOUT,
        format!("{} needs `{}`; here the stack holds `{}`", op_text(m, i), layout_words(sig, &counts), held.join(", ")),
    )
    .with_primary(ins.span, "the slots of this call are out of place");
    let mut shown = 0;
    for s in taken.iter().filter(|s| s.kinds & kind::NULL != 0) {
        if shown < 3 {
            d = pushed_here(d, m, s);
            shown += 1;
        }
    }
    let v = m.code.version.version;
    let method = method_load(m).map(|l| format!("; {l} pushes both slots of a method call itself")).unwrap_or_default();
    if sig.inputs.iter().any(|s| s.name == "self_or_null") {
        d = d.with_help(format!(
            "in Python {v} the callable comes first, then NULL (or self), then the arguments: `LOAD_NAME f` then `PUSH_NULL`, or `LOAD_GLOBAL f, null`{method}"
        ));
    } else if sig.inputs.iter().any(|s| s.name == "method") {
        d = d.with_help(format!(
            "in Python {v} NULL comes first, then the callable, then the arguments: `PUSH_NULL` then `LOAD_NAME f`, or `LOAD_GLOBAL f, null`{method}"
        ));
    } else if sig.inputs.iter().any(|s| s.name == "null") {
        d = d.with_help(format!("in Python {v} this call takes `{}`", layout_words(sig, &counts)));
    }
    if let Some((span, text)) = swap_fix(m, taken) {
        d = d.with_suggestion(span, text);
    }
    if let Some((n, fits)) = other_count(m, i, taken, below) {
        let held: Vec<String> = fits.iter().map(|s| slot_text(m, s)).collect();
        d = d.with_note(format!("counted as `{} {n}`, the call would take `{}`, which fits: is the count off?", ins.op.name, held.join(", ")));
    }
    d.with_note(format!("the argument of {} counts the arguments only, not the callable or its NULL/self slot", ins.op.name))
}

/// A call's two bottom slots in the wrong order, pushed by two instructions on following lines
/// (one of them PUSH_NULL, the other written out again from what it resolved to): the fix
/// writes them the other way round, the second instruction on the first one's line and
/// PUSH_NULL after it on the next, indented as `pyasm fmt` lays out a body. Not where the
/// second is a jump target or a handler (moving it would change the program), or where either
/// cannot be written out again.
fn swap_fix(m: &Machine, taken: &[Slot]) -> Option<(Span, String)> {
    let (Origin::Instr(a), Origin::Instr(b)) = (taken.first()?.origin, taken.get(1)?.origin) else { return None };
    let (a, b) = (a as usize, b as usize);
    let code = m.code;
    let (first, second) = (&code.instrs[a], code.instrs.get(b)?);
    if b != a + 1 || first.span.file != second.span.file || (first.op.name != "PUSH_NULL" && second.op.name != "PUSH_NULL") {
        return None;
    }
    let targeted = code.instrs.iter().any(|x| matches!(x.arg, crate::resolve::Arg::Target(t) if t == b)) || code.regions.iter().any(|r| r.handler == b);
    if targeted {
        return None;
    }
    let (one, two) = (written(m, a)?, written(m, b)?);
    Some((first.span.to(second.span), format!("{two}\n    {one}")))
}

/// An instruction as it would be written, for a fix that moves it: without an operand, or
/// with a name or variable that is a plain word; else `None`.
fn written(m: &Machine, i: usize) -> Option<String> {
    let ins = &m.code.instrs[i];
    if !ins.op.has_arg() {
        return Some(ins.op.name.to_string());
    }
    let arg = ins.arg.oparg() as usize;
    let name = match ins.op.arg {
        // Flag bits below the index (LOAD_GLOBAL's `null`, LOAD_ATTR's `method`) are not written out.
        ArgKind::Name if arg & ((1 << ins.op.shift) - 1) == 0 => m.code.names.get(arg >> ins.op.shift)?.to_lossy(),
        ArgKind::Local => m.code.localsplus.get(arg)?.name.to_lossy(),
        _ => return None,
    };
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_');
    plain.then(|| format!("{} {name}", ins.op.name))
}

/// How this version loads a method with its self for a call, as written: `LOAD_METHOD x` or
/// `LOAD_ATTR x, method`.
fn method_load(m: &Machine) -> Option<String> {
    let ops = m.code.version.opcodes;
    if ops.iter().any(|o| o.name == "LOAD_METHOD") {
        return Some("`LOAD_METHOD x`".into());
    }
    ops.iter().find(|o| o.name == "LOAD_ATTR" && o.flags.iter().any(|f| f.word == "method")).map(|o| format!("`{} x, method`", o.name))
}

/// Whether a slot was loaded by name or made as a function: what a call's callable usually
/// is (the result of another call rarely is).
fn names_a_callable(m: &Machine, s: &Slot) -> bool {
    match s.origin {
        Origin::Instr(j) => {
            let op = m.code.instrs[j as usize].op;
            op.name.starts_with("LOAD_") || op.sig.effect == crate::opcodes::Effect::MakeFunction
        }
        _ => false,
    }
}

/// A count near the call's own under which the stack's slots would make a plain call (the
/// callable something loaded that may be callable, its NULL slot a NULL, every argument an object), when exactly
/// one does: the likely mistake is then the count, not the order.
fn other_count(m: &Machine, i: usize, taken: &[Slot], below: &[Slot]) -> Option<(u32, Vec<Slot>)> {
    let ins = &m.code.instrs[i];
    let oparg = ins.arg.oparg();
    let full: Vec<Slot> = below.iter().chain(taken).copied().collect();
    let mut found = Vec::new();
    for n in oparg.saturating_sub(2)..=oparg + 2 {
        if n == oparg {
            continue;
        }
        let sig = ins.op.signature(n);
        let counts = call_layout_groups(sig, n);
        let total: usize = counts.iter().sum();
        let Some(base) = full.len().checked_sub(total) else { continue };
        let slots = &full[base..];
        let mut at = 0;
        let mut fits = true;
        for (spec, &c) in sig.inputs.iter().zip(&counts) {
            for s in &slots[at..at + c] {
                fits &= s.kinds & !spec.kinds == 0;
                match spec.name {
                    "method" | "self_or_null" => fits &= s.kinds == kind::NULL,
                    "callable" => fits &= s.kinds & kind::FUNC != 0 && names_a_callable(m, s),
                    _ => {}
                }
            }
            at += c;
        }
        // NULL, callable, arguments (3.11–3.12): a NULL right below that is not a call's.
        let method_layout = sig.inputs.iter().any(|s| s.name == "method");
        if method_layout && base > 0 && full[base - 1].kinds == kind::NULL {
            fits = false;
        }
        if fits {
            found.push((n, slots.to_vec()));
        }
    }
    if found.len() == 1 { found.pop() } else { None }
}

pub fn maybe_unbound(m: &Machine, i: usize, index: usize, slot: &Slot) -> Diagnostic {
    let code = m.code;
    let ins = &code.instrs[i];
    let name = code.localsplus.get(index).map(|l| text::name(&l.name)).unwrap_or_else(|| format!("#{index}"));
    let never = slot.kinds == kind::NULL;
    let message = if never {
        format!("`{name}` is not assigned on any path to this {}", ins.op.name)
    } else {
        format!("`{name}` may be unbound here: it is not assigned on every path to this {}", ins.op.name)
    };
    let mut d = Diagnostic::error(codes::UNBOUND_LOCAL, message).with_primary(ins.operand_span, "");
    d = match slot.origin {
        Origin::Entry => d.with_secondary(code.header_span, format!("`{name}` starts unbound")),
        Origin::Instr(j) => d.with_secondary(code.instrs[j as usize].span, format!("`{name}` is unbound after this")),
        Origin::Handler(_) => d,
    };
    d.with_note(format!("Python {}'s {} does not check the local: reading an unbound one crashes the interpreter", code.version.version, ins.op.name))
        .with_help(format!("use LOAD_FAST_CHECK {name} (it raises UnboundLocalError instead), or assign `{name}` on every path first"))
}

pub fn cell_not_ready(m: &Machine, i: usize, index: usize, slot: &Slot) -> Diagnostic {
    let code = m.code;
    let ins = &code.instrs[i];
    let Some(local) = code.localsplus.get(index) else {
        return Diagnostic::error(codes::CELL_SETUP, format!("{} names no cell or free variable", ins.op.name)).with_primary(ins.operand_span, "");
    };
    let name = text::name(&local.name);
    let some = slot.kinds & kind::CELL != 0;
    let (message, help) = if local.kind & KIND_FREE != 0 {
        (
            format!("free variable `{name}` is used before COPY_FREE_VARS copies it from the closure"),
            format!("start the code with COPY_FREE_VARS {}, before RESUME", free_count(code)),
        )
    } else if local.kind & KIND_CELL != 0 {
        (format!("cell variable `{name}` is used before MAKE_CELL {name} makes its cell"), format!("add MAKE_CELL {name} at the start of the code, before RESUME"))
    } else {
        (format!("`{name}` is not a cell or free variable"), format!("declare it with `.cells {name}`"))
    };
    let mut d = Diagnostic::error(codes::CELL_SETUP, if some { format!("{message} on some paths") } else { message })
        .with_primary(ins.operand_span, "")
        .with_note("the instruction reads the slot as a cell without checking: anything else crashes the interpreter");
    match slot.origin {
        Origin::Instr(j) => d = d.with_secondary(code.instrs[j as usize].span, format!("`{name}` holds a plain value after this")),
        Origin::Entry => d = d.with_secondary(code.header_span, format!("the frame starts with no cell for `{name}`")),
        Origin::Handler(_) => {}
    }
    d.with_help(help)
}

pub fn copy_free_vars_count(m: &Machine, i: usize, free: usize) -> Diagnostic {
    let ins = &m.code.instrs[i];
    Diagnostic::error(codes::CELL_SETUP, format!("COPY_FREE_VARS {} does not match the {free} free variable{} of this code object", ins.arg.oparg(), plural(free)))
        .with_primary(ins.span, "")
        .with_note("it copies that many cells from the function's closure, which holds exactly one per free variable")
        .with_help(format!("write COPY_FREE_VARS {free}"))
}

pub fn kwnames_not_followed(m: &Machine, i: usize, at: usize) -> Diagnostic {
    let code = m.code;
    Diagnostic::error(codes::CALL_LAYOUT, "KW_NAMES must be followed directly by its CALL")
        .with_primary(code.instrs[i].span, "this comes between them")
        .with_secondary(code.instrs[at].span, "KW_NAMES is here")
        .with_note("the keyword names stay pending until the next CALL runs, which may be another function's")
        .with_help(format!("push every argument first, then write KW_NAMES right before the {}", if code.version.opcodes.iter().any(|o| o.sig.effect == crate::opcodes::Effect::Precall) { "PRECALL" } else { "CALL" }))
}

pub fn precall_not_followed(m: &Machine, i: usize, oparg: u32) -> Diagnostic {
    let code = m.code;
    let mut d = Diagnostic::error(
        codes::CALL_LAYOUT,
        format!("PRECALL {oparg} must be followed directly by CALL {oparg}"),
    )
    .with_primary(code.instrs[i].span, "");
    if let Some(n) = code.instrs.get(i + 1) {
        d = d.with_secondary(n.span, "this comes next");
    }
    d.with_note("CPython may replace PRECALL by a specialized form that makes the call itself with PRECALL's count and skips the CALL")
        .with_help(format!("write `PRECALL {oparg}` and then `CALL {oparg}`, with the same number of arguments"))
}

pub fn bad_kwnames(m: &Machine, i: usize, at: Option<usize>, detail: Detail, args: usize) -> Diagnostic {
    let code = m.code;
    let got = match detail {
        Detail::Tuple { len, items } if items & !kind::STR != 0 => format!("a tuple of {len} items, not all strings"),
        Detail::Tuple { len, .. } => format!("{len} name{} for {args} argument{}", plural(len as usize), plural(args)),
        _ => "not a tuple constant".to_string(),
    };
    let mut d = Diagnostic::error(
        codes::CALL_LAYOUT,
        format!("the keyword names of this call must be a tuple of strings, at most one per argument; here: {got}"),
    )
    .with_primary(code.instrs[i].span, "");
    if let Some(k) = at {
        d = d.with_secondary(code.instrs[k].span, "the names come from here");
    }
    d = d.with_note("the call takes the last arguments as the keyword arguments these name, unchecked");
    if let Detail::Tuple { len, items } = detail {
        if items & !kind::STR == 0 {
            d = d.with_help(format!(
                "the count of {} includes the keyword arguments: {len} name{} need{} at least {len} argument{} pushed",
                code.instrs[i].op.name,
                plural(len as usize),
                if len == 1 { "s" } else { "" },
                plural(len as usize)
            ));
        }
    }
    d
}

pub fn invalid_argument(m: &Machine, i: usize, spec: &SlotSpec, count: i64) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let least = (0..64u32).find(|&a| spec.count.eval(a) >= 0).unwrap_or(1);
    Diagnostic::error(codes::OUT_OF_RANGE, format!("{} {} is not a valid argument", ins.op.name, ins.arg.oparg()))
        .with_primary(ins.operand_span, format!("`{}` would count {count} values", spec.name))
        .with_help(format!("its argument is at least {least}"))
}

pub fn unknown_code(m: &Machine, i: usize) -> Diagnostic {
    Diagnostic::error(codes::CLOSURE, "MAKE_FUNCTION needs to know which code object it makes a function of")
        .with_primary(m.code.instrs[i].span, "a different code object reaches here on different paths")
        .with_help("load the code object (`LOAD_CONST @name`) right before MAKE_FUNCTION")
}

fn free_names(code: &crate::resolve::ResolvedCode) -> String {
    let names: Vec<String> = code.localsplus.iter().filter(|s| s.kind & KIND_FREE != 0).map(|s| text::name(&s.name)).collect();
    names.join(", ")
}

/// Where a function without the closure its code needs was found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ClosureUse {
    /// MAKE_FUNCTION without the closure flag (3.6–3.12).
    Made,
    /// Called at once, before SET_FUNCTION_ATTRIBUTE closure (3.13+).
    Called,
    /// Stored, passed or returned before SET_FUNCTION_ATTRIBUTE closure (3.13+).
    Leaves,
}

pub fn missing_closure(m: &Machine, i: usize, child: usize, at: ClosureUse) -> Diagnostic {
    let callee = &m.codes[child];
    let n = free_count(callee);
    let with_flag = m.code.version.opcodes.iter().any(|o| o.name == "MAKE_FUNCTION" && o.sig.inputs.iter().any(|s| s.name == "closure"));
    let help = if with_flag {
        format!("build the closure (LOAD_CLOSURE for each of {}, BUILD_TUPLE {n}) and write `MAKE_FUNCTION closure`", free_names(callee))
    } else {
        format!(
            "build the closure (LOAD_FAST of each cell: {}; BUILD_TUPLE {n}) and set it with `SET_FUNCTION_ATTRIBUTE closure` right after MAKE_FUNCTION",
            free_names(callee)
        )
    };
    let label = match at {
        ClosureUse::Made => "made without a closure",
        ClosureUse::Called => "called here without its closure",
        ClosureUse::Leaves => "the function leaves the stack here without its closure",
    };
    Diagnostic::error(codes::CLOSURE, format!("`{}` has {n} free variable{} but its function gets no closure", callee.id.node.text(), plural(n)))
        .with_primary(m.code.instrs[i].span, label)
        .with_secondary(callee.header_span, "defined here")
        .with_note("COPY_FREE_VARS reads the closure without checking it exists: the function would crash the interpreter")
        .with_help(help)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub fn bad_closure(m: &Machine, i: usize, child: usize, slot: &Slot, detail: Detail) -> Diagnostic {
    let callee = &m.codes[child];
    let n = free_count(callee);
    let got = match detail {
        Detail::Tuple { len: 1, items } if items & !kind::CELL != 0 => "a tuple of 1 item that is not a cell".to_string(),
        Detail::Tuple { len, items } if items & !kind::CELL != 0 => format!("a tuple of {len} items, not all cells"),
        Detail::Tuple { len, .. } => format!("a tuple of {len} cell{}", plural(len as usize)),
        _ => what(m, slot),
    };
    let d = Diagnostic::error(
        codes::CLOSURE,
        format!("the closure of `{}` must be a tuple of {n} cell{} ({}); here it is {got}", callee.id.node.text(), plural(n), free_names(callee)),
    )
    .with_primary(m.code.instrs[i].span, "")
    .with_secondary(callee.header_span, "its free variables are declared here");
    pushed_here(d, m, slot).with_note("the function reads its free variables from the closure by position, unchecked")
}

pub fn misplaced_return_generator(m: &Machine, i: usize, generator: u8) -> Diagnostic {
    let code = m.code;
    let span = code.instrs[i].span;
    let flags = code.final_flags();
    if !code.is_function {
        return Diagnostic::error(codes::GENERATOR, "RETURN_GENERATOR only belongs in a function").with_primary(span, "");
    }
    if flags & super::GENERATOR_FLAGS == 0 {
        return Diagnostic::error(codes::GENERATOR, "RETURN_GENERATOR in a code object that is not a generator, coroutine or async generator")
            .with_primary(span, "")
            .with_help("remove it, or flag the code object (`.flags … generator`)");
    }
    let _ = generator;
    Diagnostic::error(codes::GENERATOR, "RETURN_GENERATOR can run a second time here")
        .with_primary(span, "reached again after the frame became a generator")
        .with_help("run RETURN_GENERATOR once, at the start (after MAKE_CELL and COPY_FREE_VARS)")
}

pub fn yield_outside_generator(m: &Machine, i: usize, generator: u8) -> Diagnostic {
    let code = m.code;
    let ins = &code.instrs[i];
    let flags = code.final_flags();
    let mut d = if flags & super::GENERATOR_FLAGS == 0 || !code.is_function {
        Diagnostic::error(codes::GENERATOR, format!("{} in a code object that is not a generator or coroutine", ins.op.name))
    } else {
        Diagnostic::error(
            codes::GENERATOR,
            format!("{} before RETURN_GENERATOR{}", ins.op.name, if generator & super::state::gen_state::STARTED != 0 { " on some paths" } else { "" }),
        )
        .with_help("start the code object with RETURN_GENERATOR, POP_TOP (after MAKE_CELL and COPY_FREE_VARS)")
    };
    d = d.with_primary(ins.span, "");
    d.with_note("only a generator's frame can be suspended: anything else crashes the interpreter")
}

pub fn return_before_return_generator(m: &Machine, i: usize, generator: u8) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let some = if generator & super::state::gen_state::STARTED != 0 { " on some paths" } else { "" };
    Diagnostic::error(codes::GENERATOR, format!("{} before RETURN_GENERATOR{some} in a generator or coroutine", ins.op.name))
        .with_primary(ins.span, "")
        .with_note("the call would return this value instead of the generator, which a loop over it would take for an iterator")
        .with_help("start the code object with RETURN_GENERATOR, POP_TOP (after MAKE_CELL and COPY_FREE_VARS)")
}

pub fn generator_without_return_generator(m: &Machine) -> Diagnostic {
    let code = m.code;
    Diagnostic::warning(codes::FLAGS_MISMATCH, format!("`{}` is flagged as a generator or coroutine but never runs RETURN_GENERATOR", code.id.node.text()))
        .with_primary(code.id.span, "")
        .with_note("calling it runs its body at once and returns its value instead of a generator or coroutine")
        .with_help("start it with RETURN_GENERATOR, POP_TOP, or remove the flag")
}

pub fn for_iter_target(m: &Machine, i: usize, target: usize) -> Diagnostic {
    let code = m.code;
    let skips = code.version.for_iter_skips;
    let at = code.instrs.get(target).map_or("the end", |x| x.op.name);
    let mut d = Diagnostic::error(codes::LOOP_SHAPE, format!("FOR_ITER's exit label must be on {}", skips.join(", then ")))
        .with_primary(code.instrs[i].span, "")
        .with_note(format!(
            "when the iterator is exhausted, Python {} jumps over the {} at the label, taking {} to be {}",
            code.version.version,
            if skips.len() == 1 { "instruction" } else { "instructions" },
            if skips.len() == 1 { "it" } else { "them" },
            skips.join(" and ")
        ));
    if let Some(x) = code.instrs.get(target) {
        d = d.with_secondary(x.span, format!("the label is on {at}"));
    }
    // The END_FOR nearest the label is likely the one meant.
    let near = (target.saturating_sub(2)..target + 3).filter(|&j| j != target).find(|&j| code.instrs.get(j).is_some_and(|x| x.op.name == skips[0]));
    if let Some(j) = near {
        d = d.with_secondary(code.instrs[j].span, format!("the label belongs here, on this {}", skips[0]));
    }
    d.with_help(format!("put the label on the {} that ends the loop", skips[0]))
}

pub fn values_left(m: &Machine, i: usize, below: &[Slot]) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let n = below.len();
    let mut d = Diagnostic::warning(
        codes::VALUES_LEFT,
        format!("{} leaves {n} more value{} on the stack", ins.op.name, if n == 1 { "" } else { "s" }),
    )
    .with_primary(ins.span, format!("the stack holds {} below the return value", stack_text(below)));
    if let Some(s) = below.last() {
        d = pushed_here(d, m, s);
    }
    d.with_note("nothing uses them; a loop's iterator is usually popped (END_FOR, POP_TOP) before a return")
}

pub fn handler_too_deep(m: &Machine, i: usize, depth: usize, h: Handler) -> Diagnostic {
    Diagnostic::error(
        codes::HANDLER_DEPTH,
        format!("the handler keeps {} values below the exception, but here the stack holds only {depth}", h.depth),
    )
    .with_primary(m.code.instrs[i].span, "an exception raised here would leave the handler reading garbage")
    .with_secondary(h.span, "the region and its depth")
    .with_help("make the region's depth(N) smaller, or end the region before the stack gets shallower")
}

/// `kept`: the values the instruction takes that the handler keeps.
pub fn consumes_below_handler(m: &Machine, i: usize, kept: &[Slot], h: Handler) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let n = kept.len();
    let mut d = Diagnostic::error(
        codes::HANDLER_DEPTH,
        format!(
            "{} can raise after taking {n} value{} its handler keeps (the handler keeps {} below the exception)",
            ins.op.name,
            plural(n),
            h.depth
        ),
    )
    .with_primary(ins.span, "if this raises, the handler finds these values already freed")
    .with_secondary(h.span, "the region and its depth");
    for s in kept.iter().take(2) {
        d = pushed_here(d, m, s);
    }
    d.with_note("a region's handler keeps the values the stack holds where the region starts (or depth(N) of them)")
        .with_help("start the region before these values are pushed, or end it before this instruction")
}

pub fn tuple_length(m: &Machine, i: usize, spec: &SlotSpec, slot: &Slot, want: i64, detail: Detail) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let got = match detail {
        Detail::Tuple { len, .. } => format!("it has {len}"),
        _ => "its length is not known here".to_string(),
    };
    let d = Diagnostic::error(codes::STACK_KIND, format!("{} needs `{}` to be a tuple of exactly {want} items; {got}", ins.op.name, spec.name))
        .with_primary(ins.span, "")
        .with_note("the interpreter reads the items by position without checking the length");
    pushed_here(d, m, slot).with_help("load a tuple constant of the right length right before")
}

// ---------------------------------------------------------------------------------------------
// The block stack (3.6–3.10)
// ---------------------------------------------------------------------------------------------

fn block_words(m: &Machine, b: &Block) -> String {
    let setup = m.code.instrs[b.setup as usize].op.name;
    let words = match b.kind {
        BlockKind::Loop => format!("a loop block ({setup})"),
        BlockKind::Setup => format!("a {setup} block"),
        BlockKind::Finally => format!("a {setup} block"),
        BlockKind::ExceptHandler => format!("the handler block of a {setup}"),
    };
    let level = format!(" at depth {}", b.level);
    if b.maybe { format!("{words}{level} (on some paths)") } else { format!("{words}{level}") }
}

fn blocks_text(m: &Machine, blocks: &[Block]) -> String {
    if blocks.is_empty() {
        return "no block".into();
    }
    let words: Vec<String> = blocks.iter().map(|b| block_words(m, b)).collect();
    format!("[{}]", words.join(", "))
}

pub fn too_many_blocks(m: &Machine, i: usize, blocks: &[Block]) -> Diagnostic {
    let mut d = Diagnostic::error(
        codes::BLOCK_STACK,
        format!("{} would push a block onto {} blocks: a frame holds at most {}", m.code.instrs[i].op.name, blocks.len(), super::blocks::MAX_BLOCKS),
    )
    .with_primary(m.code.instrs[i].span, "");
    if let Some(b) = blocks.first() {
        d = d.with_secondary(m.code.instrs[b.setup as usize].span, "the outermost block is pushed here");
    }
    d.with_note("CPython stops with a fatal error (\"block stack overflow\") when a frame's 20 blocks are in use")
        .with_help("nest fewer try/with/loop blocks, or pop each block (POP_BLOCK) before a path comes back to its SETUP")
}

pub fn paths_disagree(m: &Machine, at: usize, mismatch: Mismatch, here: &State, arrived: &[Block]) -> Diagnostic {
    let ins = &m.code.instrs[at];
    let message = match mismatch {
        Mismatch::Blocks => format!(
            "paths meet here with different block stacks: {} on one, {} on another",
            blocks_text(m, &here.blocks),
            blocks_text(m, arrived)
        ),
        Mismatch::Depth => "paths meet here with stacks of different depths".to_string(),
    };
    let mut d = Diagnostic::error(codes::BLOCK_STACK, message).with_primary(ins.span, "");
    if let Some(b) = here.blocks.last().or(arrived.last()) {
        d = d.with_secondary(m.code.instrs[b.setup as usize].span, "this block is set up here");
    }
    d.with_note("the interpreter pops and unwinds blocks by position: code after a join must find the same blocks on every path")
        .with_help("end each try/with/loop block with POP_BLOCK (an except handler's with POP_EXCEPT) on every path that leaves it")
}

pub fn pop_block_without_block(m: &Machine, i: usize, top: Option<Block>) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let (message, help) = match top {
        None => ("POP_BLOCK with no block set up".to_string(), "remove it, or set the block up first (SETUP_FINALLY, SETUP_WITH, …)"),
        Some(b) => (
            format!("POP_BLOCK would pop {}, which only POP_EXCEPT may end", block_words(m, &b)),
            "end an exception handler with POP_EXCEPT",
        ),
    };
    let mut d = Diagnostic::error(codes::BLOCK_POP, message).with_primary(ins.span, "");
    if let Some(b) = top {
        d = d.with_secondary(m.code.instrs[b.setup as usize].span, "that block is set up here");
    }
    d.with_note("POP_BLOCK takes the top of the frame's block array without checking it: with none it reads before the array")
        .with_help(help)
}

pub fn pop_except_without_handler(m: &Machine, i: usize, top: Option<Block>) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let message = match top {
        None => format!("{} with no exception handler running (no block is set up)", ins.op.name),
        Some(b) => format!("{} needs an exception handler's block on top, but the top block is {}", ins.op.name, block_words(m, &b)),
    };
    let mut d = Diagnostic::error(codes::BLOCK_POP, message).with_primary(ins.span, "");
    if let Some(b) = top {
        d = d.with_secondary(m.code.instrs[b.setup as usize].span, "that block is set up here");
    }
    d.with_note(format!(
        "{} ends the handler that an exception entered: it restores the exception saved below the handler's values as the current one",
        ins.op.name
    ))
    .with_help("use it only in a handler (the target of SETUP_FINALLY), after POP_BLOCK has ended any block set up inside it")
}

pub fn saved_exception_misplaced(m: &Machine, i: usize, b: Block, at: usize) -> Diagnostic {
    let ins = &m.code.instrs[i];
    Diagnostic::error(
        codes::SAVED_EXCEPTION,
        format!("{} takes a saved exception at depth {at}, but its handler saved it at depth {}", ins.op.name, b.level),
    )
    .with_primary(ins.span, "")
    .with_secondary(m.code.instrs[b.setup as usize].span, "the handler's block is set up here")
    .with_note("the three values below a handler's exception are the exception it replaced, which this restores as the current one")
    .with_help("pop what the handler pushed above them (and nothing below) first")
}

pub fn saved_exception_disturbed(m: &Machine, i: usize, b: Block, st: &State) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let level = b.level as usize;
    let held = if st.stack.len() >= level { stack_text(&st.stack[level..]) } else { "less".into() };
    // 3.6–3.7: `return`, `break`, `continue` unwind the handler's block as an exception does.
    let jumps = matches!(ins.op.sig.effect, Effect::Return | Effect::BreakLoop | Effect::ContinueLoop);
    let (what, primary) = if jumps {
        ("unwinds the handler's block here", "the unwinding restores these slots as the current exception")
    } else {
        ("can raise here", "an exception here unwinds the handler's block and restores these slots")
    };
    Diagnostic::error(
        codes::SAVED_EXCEPTION,
        format!("{} {what}, but the exception its handler saved is not at depth {level}: the stack holds {held} from there", ins.op.name),
    )
    .with_primary(ins.span, primary)
    .with_secondary(m.code.instrs[b.setup as usize].span, "the handler's block is set up here")
    .with_note("the unwinding takes the three slots at the block's level as the exception to restore, without checking them")
    .with_help("leave the three saved values in place until POP_EXCEPT")
}

pub fn reraise_without_block(m: &Machine, i: usize) -> Diagnostic {
    let ins = &m.code.instrs[i];
    Diagnostic::error(codes::BLOCK_POP, format!("RERAISE {} with no block set up", ins.arg.oparg()))
        .with_primary(ins.span, "")
        .with_note("with an argument, RERAISE takes the raising offset from the top block without checking there is one")
        .with_help("write RERAISE 0 outside handlers")
}

pub fn reaches_into_finally(m: &Machine, i: usize, spec: &SlotSpec, slot: &Slot) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let d = Diagnostic::error(
        codes::FINALLY_SHAPE,
        format!("{} takes `{}` from among the values a `finally` block was entered with, which differ between its entries", ins.op.name, spec.name),
    );
    let called = match slot.origin {
        Origin::Instr(c) => m.code.instrs.get(c as usize).filter(|x| x.op.sig.effect == crate::opcodes::Effect::CallFinally),
        _ => None,
    };
    if let Some(c) = called {
        // 3.8: the block run as a subroutine (`Machine::call_finally_entry`).
        return d
            .with_primary(ins.span, format!("on the path from CALL_FINALLY, `{}` is one of its caller's values (or nothing)", spec.name))
            .with_secondary(c.span, "CALL_FINALLY runs the block here, its return address on top of the caller's values")
            .with_note("END_FINALLY returns to the instruction after CALL_FINALLY, which expects its values as it left them; an exception enters the block with six values instead")
            .with_help("leave the values under the top one to END_FINALLY (POP_FINALLY, WITH_CLEANUP_START): push what the block needs above them");
    }
    let d = d.with_primary(ins.span, format!("`{}` is {} on some path, and nothing on another", spec.name, describe_kinds(slot.kinds & !kind::ABSENT)));
    pushed_here(d, m, slot)
        .with_note("a `finally` block is entered with one value normally (None, NULL, a return address) and with six by an exception: the slots below the top one are there on some paths only")
        .with_help("leave them to END_FINALLY (POP_FINALLY, WITH_CLEANUP_START): push what the block needs above them")
}

pub fn trusted_name_kind(m: &Machine, i: usize, name: &str, need: Kinds, slot: &Slot) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let d = Diagnostic::error(codes::STACK_KIND, format!("`{name}` must hold {}, but {} stores in it {}", describe_kinds(need), ins.op.name, what(m, slot)))
        .with_primary(ins.span, format!("`{name}` is {} here", describe_kinds(slot.kinds)));
    pushed_here(d, m, slot)
        .with_note(format!("in Python {} the compiler makes `{name}` itself and adds to it with SET_ADD, which does not check its type: anything else crashes the interpreter", m.code.version.version))
        .with_help(format!("leave `{name}` to the compiler's use (BUILD_SET 0, then SET_ADD of each conditional annotation that runs)"))
}

pub fn call_finally_target(m: &Machine, i: usize, target: usize) -> Diagnostic {
    let ins = &m.code.instrs[i];
    let mut d = Diagnostic::error(codes::FINALLY_SHAPE, "CALL_FINALLY must jump to a `finally` block: the handler of a SETUP_FINALLY")
        .with_primary(ins.span, "");
    if let Some(x) = m.code.instrs.get(target) {
        d = d.with_secondary(x.span, "it jumps here");
    }
    d.with_note("the block's END_FINALLY (or POP_FINALLY) takes the return address CALL_FINALLY pushes and jumps back to it")
        .with_help("point it at the label of the SETUP_FINALLY whose block it runs")
}

pub fn values_above_block(m: &Machine, i: usize, b: Block, depth: usize) -> Diagnostic {
    let ins = &m.code.instrs[i];
    Diagnostic::error(
        codes::BLOCK_POP,
        format!("{} ends a block set up at depth {}, but the stack holds {depth} values here", ins.op.name, b.level),
    )
    .with_primary(ins.span, "")
    .with_secondary(m.code.instrs[b.setup as usize].span, "the block is set up here")
    .with_note(format!("in Python {} POP_BLOCK also cuts the stack back to the block's depth: the values above it would vanish", m.code.version.version))
    .with_help("pop the values pushed inside the block first")
}

pub fn loop_exit_without_loop(m: &Machine, i: usize) -> Diagnostic {
    let ins = &m.code.instrs[i];
    Diagnostic::error(codes::BLOCK_POP, format!("{} with no loop block (SETUP_LOOP) set up", ins.op.name))
        .with_primary(ins.span, "")
        .with_note("it unwinds the block stack to the innermost loop's block: with none, the frame returns without a value or an exception")
        .with_help("set the loop up with SETUP_LOOP, or jump (JUMP_ABSOLUTE) instead")
}

pub fn gave_up(code: &crate::resolve::ResolvedCode) -> Diagnostic {
    Diagnostic::error(codes::STACK_KIND, format!("`{}` is too large for the typed verifier to follow every path", code.id.node.text()))
        .with_primary(code.id.span, "")
        .with_note("what each stack slot holds could not be worked out, so the code is not known to be safe to run")
        .with_help("split it into smaller code objects")
}
