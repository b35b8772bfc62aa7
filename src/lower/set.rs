//! The portable instruction set: each instruction's name, what its operand is, and its
//! stack effect, which is the same in every version (docs/format.md 1.12).

use crate::syntax::ast::{Instruction, Value};

/// A portable instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Const,
    Pop,
    Dup,
    Swap,
    Rot3,
    Load,
    Store,
    Delete,
    LoadClosure,
    LoadAttr,
    StoreAttr,
    DeleteAttr,
    LoadMethod,
    StoreSubscr,
    DeleteSubscr,
    Binary,
    Unary,
    Compare,
    Jump,
    JumpIfFalse,
    JumpIfTrue,
    GetIter,
    ForIter,
    Call,
    CallEx,
    MakeFunction,
    BuildTuple,
    BuildList,
    BuildSet,
    BuildMap,
    Unpack,
    Return,
    Yield,
    Import,
    ImportFrom,
    ImportStar,
    Convert,
    Format,
    FormatSpec,
    BuildString,
    ListAppend,
    SetAdd,
    MapAdd,
    Try,
    EndTry,
    ExceptMatch,
    EndExcept,
    Reraise,
    Raise,
    RaiseFrom,
    WithEnter,
    WithExit,
    UnpackEx,
    BuildSlice,
    LoadSlice,
    StoreSlice,
    AssertionError,
    JumpIfNone,
    JumpIfNotNone,
    YieldFrom,
    Await,
    GetAiter,
    ForAiter,
}

/// Every portable instruction by its written name.
pub const PORTABLE: &[(&str, Op)] = &[
    ("const", Op::Const),
    ("pop", Op::Pop),
    ("dup", Op::Dup),
    ("swap", Op::Swap),
    ("rot3", Op::Rot3),
    ("load", Op::Load),
    ("store", Op::Store),
    ("delete", Op::Delete),
    ("load_closure", Op::LoadClosure),
    ("load_attr", Op::LoadAttr),
    ("store_attr", Op::StoreAttr),
    ("delete_attr", Op::DeleteAttr),
    ("load_method", Op::LoadMethod),
    ("store_subscr", Op::StoreSubscr),
    ("delete_subscr", Op::DeleteSubscr),
    ("binary", Op::Binary),
    ("unary", Op::Unary),
    ("compare", Op::Compare),
    ("jump", Op::Jump),
    ("jump_if_false", Op::JumpIfFalse),
    ("jump_if_true", Op::JumpIfTrue),
    ("get_iter", Op::GetIter),
    ("for_iter", Op::ForIter),
    ("call", Op::Call),
    ("call_ex", Op::CallEx),
    ("make_function", Op::MakeFunction),
    ("build_tuple", Op::BuildTuple),
    ("build_list", Op::BuildList),
    ("build_set", Op::BuildSet),
    ("build_map", Op::BuildMap),
    ("unpack", Op::Unpack),
    ("return", Op::Return),
    ("yield", Op::Yield),
    ("import", Op::Import),
    ("import_from", Op::ImportFrom),
    ("import_star", Op::ImportStar),
    ("convert", Op::Convert),
    ("format", Op::Format),
    ("format_spec", Op::FormatSpec),
    ("build_string", Op::BuildString),
    ("list_append", Op::ListAppend),
    ("set_add", Op::SetAdd),
    ("map_add", Op::MapAdd),
    ("try", Op::Try),
    ("end_try", Op::EndTry),
    ("except_match", Op::ExceptMatch),
    ("end_except", Op::EndExcept),
    ("reraise", Op::Reraise),
    ("raise", Op::Raise),
    ("raise_from", Op::RaiseFrom),
    ("with_enter", Op::WithEnter),
    ("with_exit", Op::WithExit),
    ("unpack_ex", Op::UnpackEx),
    ("build_slice", Op::BuildSlice),
    ("load_slice", Op::LoadSlice),
    ("store_slice", Op::StoreSlice),
    ("assertion_error", Op::AssertionError),
    ("jump_if_none", Op::JumpIfNone),
    ("jump_if_not_none", Op::JumpIfNotNone),
    ("yield_from", Op::YieldFrom),
    ("await", Op::Await),
    ("get_aiter", Op::GetAiter),
    ("for_aiter", Op::ForAiter),
];

pub fn lookup(name: &str) -> Option<Op> {
    PORTABLE.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
}

/// Each `open` line's `close` line (a `try`'s `end_try`, a `with_enter`'s `with_exit`),
/// matched in the text as brackets: index of the opener → index of its closer.
pub fn brackets(code: &[&Instruction], open: Op, close: Op) -> std::collections::HashMap<usize, usize> {
    let mut opened = Vec::new();
    let mut out = std::collections::HashMap::new();
    for (i, ins) in code.iter().enumerate() {
        match lookup(&ins.opname.node) {
            Some(op) if op == open => opened.push(i),
            Some(op) if op == close => {
                if let Some(o) = opened.pop() {
                    out.insert(o, i);
                }
            }
            _ => {}
        }
    }
    out
}

/// The `with_enter` lines whose protected lines hold instruction `i` (after the
/// `with_enter`, before its `with_exit`), outermost first; `exits` is `brackets`' map.
pub fn withs_around(exits: &std::collections::HashMap<usize, usize>, i: usize) -> Vec<usize> {
    let mut around: Vec<usize> = exits.iter().filter(|&(&e, &x)| e < i && i < x).map(|(&e, _)| e).collect();
    around.sort_unstable();
    around
}

/// The `with`s a jump from `i` to `target` leaves, outermost first: those around `i` whose
/// lines (up to and including the `with_exit`, the normal way out) do not hold `target`.
pub fn withs_left(exits: &std::collections::HashMap<usize, usize>, i: usize, target: usize) -> Vec<usize> {
    withs_around(exits, i).into_iter().filter(|e| !(*e < target && target <= exits[e])).collect()
}

/// The binary operators of `binary` and, for versions without BINARY_OP (≤3.10), the
/// opcode suffix of each (`BINARY_ADD`, `INPLACE_ADD`).
pub const BINARY_NAMES: &[(&str, &str)] = &[
    ("+", "ADD"),
    ("-", "SUBTRACT"),
    ("*", "MULTIPLY"),
    ("/", "TRUE_DIVIDE"),
    ("//", "FLOOR_DIVIDE"),
    ("%", "MODULO"),
    ("**", "POWER"),
    ("@", "MATRIX_MULTIPLY"),
    ("<<", "LSHIFT"),
    (">>", "RSHIFT"),
    ("&", "AND"),
    ("|", "OR"),
    ("^", "XOR"),
];

/// The comparisons of `compare`.
pub const COMPARISONS: &[&str] = &["<", "<=", "==", "!=", ">", ">=", "is", "is_not", "in", "not_in"];

/// The operand of an instruction as an operator or word (`+`, `[]`, `not`, `is_not`).
pub fn operator(ins: &Instruction) -> Option<&str> {
    match ins.operands.first().map(|o| &o.node) {
        Some(Value::Symbol(s)) | Some(Value::Word(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// The count operand (`call 2`, `build_list 3`), 0 when missing or not a small number.
pub fn count(ins: &Instruction) -> usize {
    match ins.operands.first().map(|o| &o.node) {
        Some(Value::Int(n)) => usize::try_from(n).unwrap_or(0),
        _ => 0,
    }
}

/// The second count operand (`unpack_ex 1, 2`), 0 when missing.
pub fn second_count(ins: &Instruction) -> usize {
    match ins.operands.get(1).map(|o| &o.node) {
        Some(Value::Int(n)) => usize::try_from(n).unwrap_or(0),
        _ => 0,
    }
}

/// `call N, (NAMES)`: how many of the arguments are keywords.
pub fn keyword_count(ins: &Instruction) -> usize {
    match ins.operands.get(1).map(|o| &o.node) {
        Some(Value::Tuple(t)) => t.len(),
        _ => 0,
    }
}

/// The flag words after `make_function @f` (or `call_ex kwargs`).
pub fn has_word(ins: &Instruction, word: &str) -> bool {
    ins.operands.iter().any(|o| matches!(&o.node, Value::Word(w) if w == word))
}

/// The label an instruction jumps to.
pub fn label(ins: &Instruction) -> Option<&str> {
    match ins.operands.first().map(|o| &o.node) {
        Some(Value::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

/// How many values the instruction takes and leaves when it falls through, and when it
/// jumps (`None`: it does not jump).
pub struct Effect {
    pub pops: usize,
    pub pushes: usize,
    pub jump: Option<(usize, usize)>,
    /// It never falls through (jump, return).
    pub exits: bool,
}

pub fn effect(op: Op, ins: &Instruction) -> Effect {
    let e = |pops, pushes| Effect { pops, pushes, jump: None, exits: false };
    let n = count(ins);
    match op {
        Op::Const | Op::Load | Op::LoadClosure | Op::Import => e(0, 1),
        Op::ImportFrom => e(1, 2),
        Op::ImportStar => e(1, 0),
        Op::Convert | Op::Format => e(1, 1),
        Op::FormatSpec => e(2, 1),
        Op::BuildString => e(n, 1),
        Op::ListAppend | Op::SetAdd => e(1, 0),
        Op::MapAdd => e(2, 0),
        // The handler is entered with the exception pushed on the stack `try` found.
        Op::Try => Effect { pops: 0, pushes: 0, jump: Some((0, 1)), exits: false },
        Op::EndTry | Op::EndExcept => e(0, 0),
        Op::ExceptMatch => e(2, 2),
        Op::Reraise | Op::Raise => Effect { pops: 1, pushes: 0, jump: None, exits: true },
        Op::RaiseFrom => Effect { pops: 2, pushes: 0, jump: None, exits: true },
        // The manager → its exit (the context, however many slots the version keeps) and what
        // `__enter__` returned; an exception inside is the lowering's own handler's.
        // Its "jump" is the way an exception swallowed by `__exit__` goes: to its `with_exit`
        // (found by `flow::with_exits`), with the exit on the stack for it.
        Op::WithEnter => Effect { pops: 1, pushes: 2, jump: Some((1, 1)), exits: false },
        Op::WithExit => e(1, 0),
        // `unpack_ex B, A`: B values before the starred target, A after it.
        Op::UnpackEx => e(1, n + second_count(ins) + 1),
        Op::BuildSlice => e(n, 1),
        Op::LoadSlice => e(3, 1),
        Op::StoreSlice => e(4, 0),
        Op::AssertionError => e(0, 1),
        // The iterable → what its `return` gave (the values it yields pass through).
        Op::YieldFrom | Op::Await => e(1, 1),
        Op::JumpIfNone | Op::JumpIfNotNone => Effect { pops: 1, pushes: 0, jump: Some((1, 0)), exits: false },
        Op::Pop | Op::Store => e(1, 0),
        Op::Delete => e(0, 0),
        Op::Dup => e(1, 2),
        Op::Swap => e(2, 2),
        Op::Rot3 => e(3, 3),
        Op::LoadAttr | Op::LoadMethod | Op::Unary | Op::GetIter | Op::Yield => e(1, 1),
        Op::StoreAttr | Op::DeleteSubscr | Op::Binary | Op::Compare => e(2, if op == Op::Binary || op == Op::Compare { 1 } else { 0 }),
        Op::DeleteAttr => e(1, 0),
        Op::StoreSubscr => e(3, 0),
        Op::Jump => Effect { pops: 0, pushes: 0, jump: Some((0, 0)), exits: true },
        Op::JumpIfFalse | Op::JumpIfTrue => Effect { pops: 1, pushes: 0, jump: Some((1, 0)), exits: false },
        Op::ForIter | Op::ForAiter => Effect { pops: 1, pushes: 2, jump: Some((1, 0)), exits: false },
        Op::GetAiter => e(1, 1),
        Op::Call => e(n + 1, 1),
        Op::CallEx => e(if has_word(ins, "kwargs") { 3 } else { 2 }, 1),
        Op::MakeFunction => e(["defaults", "kwdefaults", "annotations"].iter().filter(|w| has_word(ins, w)).count(), 1),
        Op::BuildTuple | Op::BuildList | Op::BuildSet => e(n, 1),
        Op::BuildMap => e(2 * n, 1),
        Op::Unpack => e(1, n),
        Op::Return => Effect { pops: 1, pushes: 0, jump: None, exits: true },
    }
}
