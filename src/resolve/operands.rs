//! One instruction: its opcode (a direction-free jump picks one), then its operands — the main
//! operand (a constant, name, variable, label or operator) becomes an index or jump target,
//! and flag words and numbers are OR-ed into the argument.

use super::constants::{small_int, to_constant};
use super::directives::name_of;
use super::labels::{Labels, label_index};
use super::locals::{FAST_CELL, FAST_FREE, FAST_LOCAL};
use super::tables::CodeBuilder;
use super::Arg;
use crate::diagnostics::{Diagnostic, codes, nearest};
use crate::opcodes::{ArgKind, OpInfo, PseudoJump, VersionTable};
use crate::syntax::ast::{Instruction, Recovered, Spanned, Value};

/// Resolves instruction number `here` (an index, as jump targets are).
pub(super) fn resolve_instruction(
    ins: &Instruction,
    here: usize,
    cb: &mut CodeBuilder,
    labels: &Labels,
    code_ref: &mut dyn FnMut(&Spanned<Value>) -> Result<usize, Diagnostic>,
) -> Result<(&'static OpInfo, Arg), Vec<Diagnostic>> {
    let version = cb.version;
    let name = ins.opname.node.as_str();
    let ops = &ins.operands;
    let one = |e: Diagnostic| vec![e];

    // Direction-free jumps pick their opcode from where the label is.
    if let Some(p) = version.pseudo_jump(name) {
        return pseudo_jump(ins, p, here, version, labels).map_err(one);
    }
    let Some(op) = version.by_name(name) else {
        return Err(one(unknown_opcode(ins, version)));
    };
    if op.name == "EXTENDED_ARG" || op.name == "CACHE" {
        return Err(one(inserted_by_assembler(ins, op)));
    }
    // A raw argument is taken as it is, even for an instruction that ignores it (before 3.11
    // the compilers leave arguments on some, `NOP $2`).
    if let [Spanned { node: Value::Raw(r), .. }] = ops.as_slice() {
        return Ok((op, Arg::Value(*r)));
    }
    if op.arg == ArgKind::None {
        if let Some(extra) = ops.first() {
            return Err(one(
                Diagnostic::error(codes::OPERAND, format!("{} takes no operand", op.name)).with_primary(extra.span, "unexpected operand"),
            ));
        }
        return Ok((op, Arg::Value(0)));
    }
    // A named value is one value: words do not combine.
    if op.arg == ArgKind::Enum && ops.len() > 1 {
        return Err(one(
            Diagnostic::error(codes::OPERAND, format!("{} takes one named value (or its number)", op.name))
                .with_primary(ops[1].span, "extra operand")
                .with_help(format!("one of: {}", op.flags.iter().map(|f| f.word).collect::<Vec<_>>().join(", "))),
        ));
    }
    if op.arg == ArgKind::LocalPair {
        return local_pair(ins, op, cb).map(|v| (op, Arg::Value(v)));
    }
    operands(ins, op, here, cb, labels, code_ref).map(|arg| (op, arg))
}

/// The operands of an instruction that takes some: numbers and named values (Enum) are all
/// operands; other kinds have a main operand followed by flag words.
fn operands(
    ins: &Instruction,
    op: &'static OpInfo,
    here: usize,
    cb: &mut CodeBuilder,
    labels: &Labels,
    code_ref: &mut dyn FnMut(&Spanned<Value>) -> Result<usize, Diagnostic>,
) -> Result<Arg, Vec<Diagnostic>> {
    let ops = &ins.operands;
    let numeric = matches!(op.arg, ArgKind::Number | ArgKind::Enum);
    let (main, flag_ops): (Option<&Spanned<Value>>, &[Spanned<Value>]) = match op.arg {
        ArgKind::Number | ArgKind::Enum => (None, ops.as_slice()),
        _ => match ops.split_first() {
            Some((m, rest)) => (Some(m), rest),
            None => return Err(vec![operand_count(ins, expected_operand(op.arg))]),
        },
    };
    let (flag_bits, numbers, mut errors) = flag_words(op, flag_ops, numeric);
    // Words that overlap, or whose combination is another word's value (FORMAT_VALUE str and
    // repr make ascii), exclude each other.
    let words: Vec<&Spanned<Value>> = flag_ops.iter().filter(|f| matches!(f.node, Value::Word(_))).collect();
    if words.len() > 1 && errors.is_empty() {
        errors.extend(word_conflict(op, &words));
    }
    if numeric {
        if flag_ops.is_empty() {
            errors.push(operand_count(ins, "a number"));
        }
        let count = flag_ops.iter().filter(|f| matches!(f.node, Value::Int(_) | Value::Raw(_))).count();
        if count > 1 || (count == 1 && !words.is_empty()) {
            errors.push(
                Diagnostic::error(codes::OPERAND, format!("{} takes one number (or flag words), not several", op.name))
                    .with_primary(flag_ops[1].span, "extra operand"),
            );
        }
        return if errors.is_empty() { Ok(Arg::Value(numbers | flag_bits)) } else { Err(errors) };
    }
    let main = main.expect("non-number kinds have a main operand");
    match main_operand(op, main, here, cb, labels, code_ref) {
        Ok(Arg::Value(i)) if errors.is_empty() => {
            let shifted = (i as u64) << op.shift;
            if shifted > u32::MAX as u64 {
                return Err(vec![Diagnostic::error(codes::OUT_OF_RANGE, "argument does not fit in 32 bits").with_primary(main.span, "")]);
            }
            // A comparison carries its operator's own low bits (3.12+) under any flag words.
            let implied = match op.arg {
                ArgKind::Compare => cb.version.compare_ops[i as usize].bits,
                _ => 0,
            };
            Ok(Arg::Value(shifted as u32 | implied | flag_bits))
        }
        Ok(Arg::Target(t)) if errors.is_empty() => Ok(Arg::Target(t)),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.insert(0, e);
            Err(errors)
        }
    }
}

/// The flag words (and, for numeric kinds, numbers) after the main operand, OR-ed: (flag
/// bits, numbers, errors).
fn flag_words(op: &OpInfo, flag_ops: &[Spanned<Value>], numeric: bool) -> (u32, u32, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    let mut flag_bits = 0u32;
    let mut numbers = 0u32;
    for f in flag_ops {
        // A named value written as its literal (3.15's `LOAD_COMMON_CONSTANT ''` or `-1`).
        let literal = match &f.node {
            Value::Str(s) if op.arg == ArgKind::Enum && s.as_wtf8().is_empty() => Some("''".to_string()),
            Value::Int(i) if op.arg == ArgKind::Enum => Some(i.to_string()),
            _ => None,
        };
        if let Some(fw) = literal.and_then(|l| op.flags.iter().find(|fw| fw.word == l)) {
            flag_bits |= fw.bits;
            continue;
        }
        match &f.node {
            Value::Word(w) => match op.flags.iter().find(|fw| fw.word == w) {
                Some(fw) => flag_bits |= fw.bits,
                None => {
                    let mut e = Diagnostic::error(codes::OPERAND, format!("`{w}` is not a flag of {}", op.name)).with_primary(f.span, "");
                    e = if op.flags.is_empty() {
                        e.with_note(format!("{} has no flag words", op.name))
                    } else {
                        e.with_help(format!("its flags are: {}", op.flags.iter().map(|f| f.word).collect::<Vec<_>>().join(", ")))
                    };
                    errors.push(e);
                }
            },
            Value::Int(_) | Value::Raw(_) if numeric => match small_int(f, "argument") {
                Ok(n) => numbers |= n,
                Err(e) => errors.push(e),
            },
            _ => errors.push(
                Diagnostic::error(codes::OPERAND, format!("unexpected operand for {}", op.name))
                    .with_primary(f.span, if numeric { "expected a number or a flag word" } else { "expected a flag word" }),
            ),
        }
    }
    (flag_bits, numbers, errors)
}

/// The first of `words` that overlaps the ones before it, or whose combination with them is
/// another word's value.
fn word_conflict(op: &OpInfo, words: &[&Spanned<Value>]) -> Option<Diagnostic> {
    let mut acc = 0u32;
    for w in words {
        let Value::Word(text) = &w.node else { continue };
        let bits = op.flags.iter().find(|f| f.word == text).map_or(0, |f| f.bits);
        let clash = acc & bits != 0 || bits == 0 || op.flags.iter().any(|f| f.bits == acc | bits && f.word != text && acc != 0);
        if clash {
            return Some(
                Diagnostic::error(codes::OPERAND, format!("`{text}` cannot be combined with the words before it"))
                    .with_primary(w.span, "conflicts")
                    .with_note(format!(
                        "{} takes one of: {}",
                        op.name,
                        op.flags.iter().map(|f| format!("{} ({})", f.word, f.bits)).collect::<Vec<_>>().join(", ")
                    )),
            );
        }
        acc |= bits;
    }
    None
}

/// The main operand as an index into one of the code object's tables, or a jump target.
fn main_operand(
    op: &'static OpInfo,
    main: &Spanned<Value>,
    here: usize,
    cb: &mut CodeBuilder,
    labels: &Labels,
    code_ref: &mut dyn FnMut(&Spanned<Value>) -> Result<usize, Diagnostic>,
) -> Result<Arg, Diagnostic> {
    let version = cb.version;
    match op.arg {
        ArgKind::Const => to_constant(main, code_ref).map(|c| Arg::Value(cb.consts.index_of(c))),
        ArgKind::Name => match name_of(main) {
            Some(n) => Ok(Arg::Value(cb.names.insert_full(n).0 as u32)),
            None => Err(Diagnostic::error(codes::OPERAND, format!("{} takes a name", op.name)).with_primary(main.span, "not a name")),
        },
        ArgKind::Local | ArgKind::Free => local_index(op, main, cb),
        ArgKind::JumpAbsolute => label_index(main, labels).map(Arg::Target),
        ArgKind::JumpForward | ArgKind::JumpBackward => label_index(main, labels).and_then(|t| {
            let forward = op.arg == ArgKind::JumpForward;
            if forward == (t > here) { Ok(Arg::Target(t)) } else { Err(jump_direction(op, main, forward, version)) }
        }),
        ArgKind::Compare => symbol_index(op, main, version.compare_ops.iter().map(|c| c.symbol)),
        ArgKind::BinaryOp => symbol_index(op, main, version.binary_ops.iter().map(|b| b.symbol)),
        ArgKind::None | ArgKind::Number | ArgKind::Enum | ArgKind::LocalPair => unreachable!(),
    }
}

/// A direction-free jump (`JUMP label`): the forward or backward opcode, from where the label is.
fn pseudo_jump(ins: &Instruction, p: &PseudoJump, here: usize, version: &VersionTable, labels: &Labels) -> Result<OpArg, Diagnostic> {
    let [target] = ins.operands.as_slice() else {
        return Err(operand_count(ins, "one label"));
    };
    let t = label_index(target, labels)?;
    let chosen = if t > here {
        p.forward
    } else {
        p.backward.ok_or_else(|| {
            Diagnostic::error(codes::JUMP_DIRECTION, format!("{} can only jump forward in Python {}", ins.opname.node, version.version))
                .with_primary(target.span, "this label is behind the jump")
        })?
    };
    let op = version.by_name(chosen).expect("pseudo jumps name real opcodes");
    Ok((op, Arg::Target(t)))
}

/// An opcode with its resolved argument.
type OpArg = (&'static OpInfo, Arg);

fn inserted_by_assembler(ins: &Instruction, op: &OpInfo) -> Diagnostic {
    Diagnostic::error(codes::OPERAND, format!("{} is inserted by the assembler", op.name))
        .with_primary(ins.opname.span, "do not write this by hand")
        .with_help(if op.name == "EXTENDED_ARG" {
            "write the instruction with its full argument; pyasm adds EXTENDED_ARG prefixes and CACHE entries \
             (`EXTENDED_ARG` without an operand asks for one more prefix than the argument needs)"
        } else {
            "write the instruction with its full argument; pyasm adds EXTENDED_ARG prefixes and CACHE entries"
        })
}

/// A relative jump whose label is in the direction it cannot go, with the way to write it.
fn jump_direction(op: &OpInfo, main: &Spanned<Value>, forward: bool, version: &VersionTable) -> Diagnostic {
    let generic = version.pseudo_jumps.iter().find(|p| p.forward == op.name || p.backward == Some(op.name)).map(|p| p.name);
    let mut e = Diagnostic::error(
        codes::JUMP_DIRECTION,
        format!("{} jumps {}, but `{}` is {} it", op.name, if forward { "forward" } else { "backward" }, match &main.node {
            Value::Word(w) => w.as_str(),
            _ => "",
        }, if forward { "behind" } else { "ahead of" }),
    )
    .with_primary(main.span, "label in the other direction");
    let absolute = version.opcodes.iter().find(|o| o.arg == ArgKind::JumpAbsolute && o.flow == crate::opcodes::Flow::Jump);
    if let Some(g) = generic {
        e = e.with_help(format!("write `{g}` and pyasm picks the direction"));
    } else if let (true, Some(abs)) = (forward, absolute) {
        e = e.with_help(format!("relative jumps only go forward in Python {}; jump back with {} (an absolute jump)", version.version, abs.name));
    } else if forward {
        e = e.with_help(format!(
            "Python {} has no backward form of {}: branch forward to a `JUMP {}` (which goes back)",
            version.version,
            op.name,
            match &main.node {
                Value::Word(w) => w.as_str(),
                _ => "LABEL",
            }
        ));
    }
    e
}

pub(super) fn expected_operand(kind: ArgKind) -> &'static str {
    match kind {
        ArgKind::Const => "a constant",
        ArgKind::Name => "a name",
        ArgKind::Local => "a local variable",
        ArgKind::Free => "a cell or free variable",
        ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute => "a label",
        ArgKind::Compare => "a comparison operator",
        ArgKind::BinaryOp => "an operator",
        ArgKind::Number => "a number",
        ArgKind::Enum => "a number or a named value",
        ArgKind::LocalPair => "two local variables",
        ArgKind::None => "no operand",
    }
}

pub(super) fn operand_count(ins: &Instruction, expected: &str) -> Diagnostic {
    Diagnostic::error(codes::OPERAND, format!("{} needs {expected}", ins.opname.node))
        .with_primary(ins.opname.span.to(ins.operands.last().map(|o| o.span).unwrap_or(ins.opname.span)), format!("expected {expected}"))
}

pub(super) fn unknown_opcode(ins: &Instruction, version: &VersionTable) -> Diagnostic {
    let name = &ins.opname.node;
    let mut e = Diagnostic::error(codes::UNKNOWN_OPCODE, format!("unknown instruction `{name}`"));
    // Known in another version?
    let elsewhere: Vec<String> = crate::opcodes::TABLES
        .iter()
        .filter(|t| t.version != version.version && (t.by_name(name).is_some() || t.pseudo_jump(name).is_some()))
        .map(|t| t.version.to_string())
        .collect();
    if !elsewhere.is_empty() {
        let d = Diagnostic::error(codes::NOT_IN_VERSION, format!("`{name}` does not exist in Python {}", version.version))
            .with_primary(ins.opname.span, format!("not a {} instruction", version.version))
            .with_note(format!("it exists in Python {}", elsewhere.join(", ")));
        let Some(table) = crate::opcodes::table_for(version.version) else { return d };
        let d = match crate::explain::replacement_in(name, table) {
            Some(help) => d.with_help(help),
            None => d,
        };
        // Without an operand the instruction is its name: the replacement takes its place.
        return match crate::explain::replacement_instruction(name, table) {
            Some(r) if ins.operands.is_empty() => d.with_suggestion(ins.opname.span, r),
            _ => d,
        };
    }
    e = e.with_primary(ins.opname.span, "not an instruction");
    let candidates = version.opcodes.iter().map(|o| o.name).chain(version.pseudo_jumps.iter().map(|p| p.name));
    let near = nearest(name, candidates);
    if !near.is_empty() {
        e = e.with_help(crate::diagnostics::did_you_mean(&near, str::to_string).unwrap_or_default());
    }
    for n in near {
        e = e.with_suggestion(ins.opname.span, n);
    }
    e
}

pub(super) fn local_index(op: &OpInfo, v: &Spanned<Value>, cb: &CodeBuilder) -> Result<Arg, Diagnostic> {
    let Some(name) = name_of(v) else {
        return Err(Diagnostic::error(codes::OPERAND, format!("{} takes a variable name", op.name)).with_primary(v.span, ""));
    };
    // 3.6–3.10: a parameter that is also a cell has a second slot; cell and free operands
    // count from the first cell (co_cellvars + co_freevars), plain ones index co_varnames.
    let found = cb.locals.get_index_of(&name).map(|first| {
        if cb.version.block_stack && op.arg == ArgKind::Free {
            (first..cb.locals.len()).find(|&j| cb.locals.get_index(j) == Some(&name) && cb.kinds[j] & (FAST_CELL | FAST_FREE) != 0).unwrap_or(first)
        } else {
            first
        }
    });
    match found {
        Some(i) => {
            let kind = cb.kinds[i];
            if op.arg == ArgKind::Free && kind & (FAST_CELL | FAST_FREE) == 0 {
                return Err(Diagnostic::error(codes::UNKNOWN_LOCAL, format!("`{name}` is a plain local, but {} needs a cell or free variable", op.name))
                    .with_primary(v.span, "")
                    .with_help(format!("declare it with `.cells {name}` (or `.freevars {name}` in an inner function)")));
            }
            if cb.version.block_stack && op.arg == ArgKind::Local && kind & FAST_LOCAL == 0 {
                return Err(Diagnostic::error(codes::UNKNOWN_LOCAL, format!("`{name}` is a cell or free variable, but {} indexes co_varnames", op.name))
                    .with_primary(v.span, "")
                    .with_help("use LOAD_DEREF / STORE_DEREF for cells and free variables, or also declare it with `.locals`"));
            }
            if cb.version.block_stack && op.arg == ArgKind::Free {
                let varnames = cb.kinds.iter().filter(|k| *k & FAST_LOCAL != 0).count();
                return Ok(Arg::Value((i - varnames) as u32));
            }
            Ok(Arg::Value(i as u32))
        }
        None => {
            let mut e = Diagnostic::error(codes::UNKNOWN_LOCAL, format!("`{name}` is not a declared variable of this code object"))
                .with_primary(v.span, "unknown variable");
            let names: Vec<String> = cb.locals.iter().map(|n| n.to_lossy()).collect();
            let near = nearest(&name.to_lossy(), names.iter().map(|s| s.as_str()));
            e = match near.first() {
                Some(n) => e.with_help(format!("did you mean `{n}`?")).with_suggestion(v.span, *n),
                None => e.with_help(match op.arg {
                    ArgKind::Free => format!("declare it with `.cells {name}` or `.freevars {name}`"),
                    _ => format!("declare it with `.locals {name}` (or as a parameter)"),
                }),
            };
            Err(e)
        }
    }
}

/// `LOAD_FAST_LOAD_FAST a, b`: two plain locals, each among the first 16, packed in one byte.
pub(super) fn local_pair(ins: &Instruction, op: &OpInfo, cb: &CodeBuilder) -> Result<u32, Vec<Diagnostic>> {
    let [first, second] = ins.operands.as_slice() else {
        return Err(vec![operand_count(ins, "two local variables")]);
    };
    let mut errors = Vec::new();
    let mut packed = 0u32;
    for (v, shift) in [(first, 4), (second, 0)] {
        match local_index(op, v, cb) {
            Ok(Arg::Value(i)) if i < 16 => packed |= i << shift,
            Ok(_) => errors.push(
                Diagnostic::error(codes::OUT_OF_RANGE, format!("{} packs two locals into 4 bits each", op.name))
                    .with_primary(v.span, "this local is number 16 or later")
                    .with_help("load the two locals with separate instructions"),
            ),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(packed) } else { Err(errors) }
}

pub(super) fn symbol_index<'a>(op: &OpInfo, v: &Spanned<Value>, symbols: impl Iterator<Item = &'a str> + Clone) -> Result<Arg, Diagnostic> {
    let text = match &v.node {
        Value::Symbol(s) => s.clone(),
        Value::Word(w) => w.clone(),
        _ => String::new(),
    };
    // Operators of several words (≤3.8's `not in`, `exception match`) are one operand word.
    match symbols.clone().position(|s| crate::opcodes::operator_word(s) == text) {
        Some(i) => Ok(Arg::Value(i as u32)),
        None => Err(Diagnostic::error(codes::OPERAND, format!("`{text}` is not an operator of {}", op.name))
            .with_primary(v.span, "")
            .with_help(format!("one of: {}", symbols.map(crate::opcodes::operator_word).collect::<Vec<_>>().join(" ")))),
    }
}

/// `EXTENDED_ARG` with no operand: a request for one more prefix on the next instruction.
pub(super) fn is_prefix_request(ins: &Instruction) -> bool {
    ins.opname.node == "EXTENDED_ARG" && ins.operands.is_empty() && ins.recovered == Recovered::No
}
