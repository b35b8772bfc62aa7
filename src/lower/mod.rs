//! Lowering: a portable program (docs/format.md 1.12) into one version's program.
//!
//! The stage sits between linking and resolving. It reads the linked lines of a file whose
//! `.python` is a range, keeps the `.if` branches that hold for the target (`cond`), checks
//! the version instructions written outside them (`check`), rewrites `try_finally` (`finally`)
//! and conditional jumps out of a `with` (`with_jumps`) into other portable lines, and then
//! rewrites each code object: what each name is (`scope`), which instruction pushed each stack
//! value (`flow`), and then each portable instruction by the target's facts (`facts`, `rules`;
//! leaving a `with` early in `leave_with`, `async for` in `async_for`; what each yield
//! records of the handlers around it in `yield_depth`). The result is an
//! ordinary line list for `resolve`; every line keeps the spans of the portable line it came
//! from, so later diagnostics point at the portable source. `print` writes it as text
//! (`pyasm lower`).

pub mod async_for;
pub mod check;
pub mod cond;
pub mod facts;
pub mod finally;
pub mod flow;
pub mod leave_with;
pub mod print;
pub mod rules;
pub mod scope;
pub mod set;
pub mod with_jumps;
pub mod yield_depth;

use crate::diagnostics::{Diagnostic, SourceFiles};
use crate::object::PyStr;
use crate::opcodes::{self, VersionTable};
use crate::syntax::ast::{Directive, Instruction, Line, Span, Spanned, Statement, Value};
use crate::version::PythonVersion;
use rules::Out;
use std::collections::HashMap;

/// A name written as an operand: a word, `<angle>` or a string.
pub fn name_value(v: &Value) -> Option<PyStr> {
    match v {
        Value::Word(w) | Value::Angle(w) => Some(PyStr::from(w.as_str())),
        Value::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// A `.python` argument written as a range, `3.6-3.15` or `3.9-`: the versions pyasm knows
/// in it, oldest first. `None` when the text is not a range; `Err` for a malformed or empty
/// one.
pub fn parse_range(text: &str) -> Option<Result<Vec<&'static VersionTable>, String>> {
    let (lo, hi) = text.split_once('-')?;
    let bad = || format!("`{text}` is not a range of versions (write it like 3.6-3.15, or 3.9- for every later version)");
    let Ok(lo) = lo.parse::<PythonVersion>() else { return Some(Err(bad())) };
    let hi = if hi.is_empty() {
        None
    } else {
        match hi.parse::<PythonVersion>() {
            Ok(v) => Some(v),
            Err(_) => return Some(Err(bad())),
        }
    };
    let served: Vec<&'static VersionTable> = opcodes::TABLES.iter().copied().filter(|t| t.version >= lo && hi.is_none_or(|h| t.version <= h)).collect();
    if served.is_empty() {
        let known: Vec<String> = crate::version::supported().map(|v| v.to_string()).collect();
        return Some(Err(format!("`{text}` holds no version pyasm supports ({})", known.join(", "))));
    }
    Some(Ok(served))
}

/// A lowered program: the lines, and for each the span of the portable instruction it came
/// from (`None` for lines copied as they are).
pub struct Lowered {
    pub lines: Vec<Line>,
    pub origin: Vec<Option<Span>>,
}

/// Lowers a portable program for `target`, one of `served`.
pub fn lower(lines: &[Line], files: &SourceFiles, target: &'static VersionTable, served: &[&'static VersionTable], diags: &mut Vec<Diagnostic>) -> Lowered {
    let selected = cond::select(lines, files, target.version, diags);
    for (line, in_conditional) in &selected {
        if let Some(Spanned { node: Statement::Instruction(ins), .. }) = &line.statement {
            if !in_conditional && set::lookup(&ins.opname.node).is_none() {
                diags.extend(check::version_instruction(ins, served));
            }
            if !in_conditional && set::lookup(&ins.opname.node) == Some(set::Op::Const) {
                diags.extend(check::constant(ins, served));
            }
        }
    }
    let facts = facts::Facts::of(target);
    let selected = finally::expand(selected, &facts, diags);
    let selected = with_jumps::expand(selected);
    // The code objects first: a `make_function` needs what it makes (its free variables,
    // its qualified name).
    let blocks = split(&selected);
    let infos: Vec<scope::CodeInfo> = blocks.iter().map(|b| scope::read(b.header, &b.body)).collect();
    let by_id: HashMap<String, &scope::CodeInfo> = infos.iter().map(|c| (c.id.clone(), c)).collect();
    let qualnames = scope::qualnames(&infos);
    let mut out = Lowered { lines: Vec::new(), origin: Vec::new() };
    let mut next_block = 0;
    let mut k = 0;
    while k < selected.len() {
        let line = &selected[k].0;
        if next_block < blocks.len() && blocks[next_block].start == k {
            let b = &blocks[next_block];
            lower_block(b, &infos[next_block], &by_id, &qualnames, &facts, &mut out, diags);
            k = b.end;
            next_block += 1;
            continue;
        }
        out.lines.push(retarget(line, target));
        out.origin.push(None);
        k += 1;
    }
    out
}

/// `.python 3.6-3.15` becomes `.python 3.12` in the lowered program.
fn retarget(line: &Line, target: &VersionTable) -> Line {
    let mut line = line.clone();
    if let Some(Spanned { node: Statement::Directive(d), .. }) = &mut line.statement {
        if d.name.node == "python" {
            let span = d.args.first().map_or(d.name.span, |a| a.span);
            d.args = vec![Spanned::new(Value::Word(target.version.to_string()), span)];
        }
    }
    line
}

/// One `.code` … `.end` block of the selected lines: `start` is the header's index, `end`
/// one past the `.end`.
struct Block<'a> {
    start: usize,
    end: usize,
    header: &'a Line,
    body: Vec<&'a Line>,
    end_line: Option<&'a Line>,
}

fn split(selected: &[(Line, bool)]) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (k, (line, _)) in selected.iter().enumerate() {
        match &line.statement {
            Some(Spanned { node: Statement::Code(_), .. }) => {
                if let Some(mut b) = open.take() {
                    b.end = k;
                    blocks.push(b);
                }
                open = Some(Block { start: k, end: k + 1, header: line, body: Vec::new(), end_line: None });
            }
            Some(Spanned { node: Statement::Directive(Directive { name, .. }), .. }) if name.node == "end" => {
                if let Some(mut b) = open.take() {
                    b.end = k + 1;
                    b.end_line = Some(line);
                    blocks.push(b);
                }
            }
            _ => {
                if let Some(b) = &mut open {
                    b.body.push(line);
                    b.end = k + 1;
                }
            }
        }
    }
    if let Some(b) = open {
        blocks.push(b);
    }
    blocks
}

fn lower_block(
    b: &Block,
    info: &scope::CodeInfo,
    infos: &HashMap<String, &scope::CodeInfo>,
    qualnames: &HashMap<String, PyStr>,
    facts: &facts::Facts,
    out: &mut Lowered,
    diags: &mut Vec<Diagnostic>,
) {
    // Instructions and the labels that name them.
    let mut code: Vec<&Instruction> = Vec::new();
    let mut labels: HashMap<String, usize> = HashMap::new();
    for line in &b.body {
        if let Some(l) = &line.label {
            labels.insert(l.node.clone(), code.len());
        }
        if let Some(Spanned { node: Statement::Instruction(ins), .. }) = &line.statement {
            code.push(ins);
        }
    }
    let walk = flow::walk(&code, &labels, info, facts.table, diags);
    let cx = rules::Cx { f: facts, info, infos, qualnames, code: &code, labels: &labels, walk: &walk };
    let lowered = rules::lower(&cx, diags);
    let first_line = out.lines.len();
    out.lines.push(b.header.clone());
    out.origin.push(None);
    let header_span = b.header.statement.as_ref().map_or(Span::new(0, 0, 0), |s| s.span);
    let flag_line = |out: &mut Lowered, name: &str, flag: Value| {
        let d = Directive { name: Spanned::new(name.into(), header_span), args: vec![Spanned::new(flag, header_span)] };
        out.lines.push(Line { label: None, statement: Some(Spanned::new(Statement::Directive(d), header_span)), line_no: b.header.line_no });
        out.origin.push(None);
    };
    if info.generator && info.coroutine {
        // An async generator: the resolver's inference sees a coroutine that yields (3.11+'s
        // awaits yield too, and ≤3.10 wraps nothing), so the kind is said.
        flag_line(out, "add_flags", Value::Word("async_generator".into()));
        flag_line(out, "remove_flags", Value::Word("coroutine".into()));
    }
    if let (true, false, Some(bit)) = (info.generator, info.coroutine, facts.generator_stop_flag) {
        flag_line(out, "add_flags", Value::Int(bit.into()));
    }
    // 3.12+: the handler that turns an escaping StopIteration into RuntimeError, around the
    // whole body (opened after the prologue, closed before `.end`).
    let stop_handler = (info.generator || info.coroutine) && facts.stop_iteration_handler;
    let stop_label = format!("__stop_iteration_{}", b.start);
    let mut i = 0;
    let mut prologue_done = false;
    let mut open_run: Option<usize> = None;
    let header_span = b.header.statement.as_ref().map_or(Span::new(0, 0, 0), |s| s.span);
    let push = |out: &mut Lowered, o: &Out, line_no: u32, origin: Span| {
        let line = match o {
            Out::Ins(ins) => Line { label: None, statement: Some(Spanned::new(Statement::Instruction(ins.clone()), origin)), line_no },
            Out::Label(l) => Line { label: Some(Spanned::new(l.clone(), origin)), statement: None, line_no },
            Out::Directive(name, args) => Line {
                label: None,
                statement: Some(Spanned::new(Statement::Directive(Directive { name: Spanned::new(name.clone(), origin), args: args.clone() }), origin)),
                line_no,
            },
        };
        out.lines.push(line);
        out.origin.push(Some(origin));
    };
    for line in &b.body {
        let ins = match &line.statement {
            Some(Spanned { node: Statement::Instruction(ins), span }) => Some((ins, *span)),
            Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "global" => continue,
            _ => None,
        };
        if !prologue_done && (ins.is_some() || line.label.is_some()) {
            prologue_done = true;
            let at = ins.map(|(i, _)| i).or(code.first().copied());
            // The prologue belongs to the `.code` line: that is what a listing shows it under.
            let header = b.header.statement.as_ref().map_or(Span::new(0, 0, 0), |s| s.span);
            if let Some(at) = at {
                for o in rules::prologue(facts, info, at) {
                    push(out, &o, line.line_no, header);
                }
                if stop_handler {
                    let operands = vec![Spanned::new(Value::Word(stop_label.clone()), header), Spanned::new(Value::Word("lasti".into()), header), rules::depth_operand(at, 0)];
                    push(out, &Out::Directive("try".into(), operands), line.line_no, header);
                }
            }
        }
        // 3.11+: a handler's cleanup region closes before a line outside it (and its label).
        // The run of the next instruction (a label-only line belongs to it).
        let run = lowered.cleanup_run.get(i).copied().flatten();
        if (ins.is_some() || line.label.is_some()) && run != open_run {
            if let Some(h) = open_run.take() {
                let at = ins.map_or(header_span, |(_, s)| s);
                push(out, &Out::Directive("end_try".into(), vec![]), line.line_no, at);
                // After the handler's last lines: its cleanup, inside the regions around it.
                if !lowered.cleanup_run[i..].contains(&Some(h)) {
                    let falls = code.get(i - 1).and_then(|p| set::lookup(&p.opname.node)).is_none_or(|op| !set::effect(op, code[i - 1]).exits);
                    emit_cleanup(out, &lowered, h, falls, line.line_no, at, &push);
                }
            }
        }
        if let Some(l) = &line.label {
            for o in lowered.before_label.get(&l.node).into_iter().flatten() {
                push(out, o, line.line_no, l.span);
                // A loop's exit is pyasm's, not a portable line's: no comment in `print`.
                *out.origin.last_mut().expect("just pushed") = None;
            }
        }
        let Some((_, span)) = ins else {
            out.lines.push((*line).clone());
            out.origin.push(None);
            continue;
        };
        let e = &lowered.emits[i];
        let mut outs = e.before.iter().chain(&e.main).chain(&e.after).peekable();
        // The portable line's label goes on its first lowered instruction.
        if let Some(l) = &line.label {
            out.lines.push(Line { label: Some(l.clone()), statement: None, line_no: line.line_no });
            out.origin.push(Some(span));
        }
        if run != open_run {
            if let Some(h) = run {
                let (_, _, operands, _) = lowered.cleanups.iter().find(|c| c.0 == h).expect("a cleanup per handler");
                push(out, &Out::Directive("try".into(), operands.clone()), line.line_no, span);
            }
            open_run = run;
        }
        if outs.peek().is_none() {
            // Lowered to nothing (a `return` fused into RETURN_CONST): keep a mark for `print`.
            out.lines.push(Line { label: None, statement: None, line_no: line.line_no });
            out.origin.push(Some(span));
        }
        for o in outs {
            push(out, o, line.line_no, span);
        }
        i += 1;
    }
    let end_no = b.end_line.map_or(0, |l| l.line_no);
    if let Some(h) = open_run {
        push(out, &Out::Directive("end_try".into(), vec![]), end_no, header_span);
        emit_cleanup(out, &lowered, h, false, end_no, header_span, &push);
    }
    if stop_handler && prologue_done {
        if let Some(&at) = code.first() {
            push(out, &Out::Directive("end_try".into(), vec![]), end_no, header_span);
            push(out, &Out::Label(stop_label.clone()), end_no, header_span);
            push(out, &rules::make(at, "CALL_INTRINSIC_1", vec![Spanned::new(Value::Word("INTRINSIC_STOPITERATION_ERROR".into()), header_span)]), end_no, header_span);
            push(out, &rules::make(at, "RERAISE", vec![Spanned::new(Value::Int(1.into()), header_span)]), end_no, header_span);
        }
    }
    if let Some(end) = b.end_line {
        out.lines.push(end.clone());
        out.origin.push(None);
    }
    yield_depth::apply(out, first_line, &b.body, facts);
}

/// A handler's cleanup (`rules::cleanup_regions`), jumped over when the line before it
/// falls through.
fn emit_cleanup(out: &mut Lowered, lowered: &rules::Lowered, h: usize, falls: bool, line_no: u32, at: Span, push: &dyn Fn(&mut Lowered, &Out, u32, Span)) {
    let Some((_, label, _, body)) = lowered.cleanups.iter().find(|c| c.0 == h) else { return };
    let over = format!("{label}_over");
    if falls {
        let Some(Out::Ins(first)) = body.first() else { return };
        push(out, &rules::make(first, "JUMP", vec![Spanned::new(Value::Word(over.clone()), at)]), line_no, at);
    }
    push(out, &Out::Label(label.clone()), line_no, at);
    for o in body {
        push(out, o, line_no, at);
    }
    if falls {
        push(out, &Out::Label(over), line_no, at);
    }
}
