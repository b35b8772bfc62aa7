//! The listing: every instruction as the assembler laid it out — offset, encoded bytes
//! (EXTENDED_ARG prefixes and CACHE units included), the resolved operand (table index and
//! value), the source position and the stack depth before and after. It shows a student what
//! the assembler decided. For a portable program (docs/format.md 1.12) the instructions are
//! grouped under a comment holding the portable line each came from, as `pyasm lower` shows
//! them, so the listing reads as what one version makes of each line.

use crate::diagnostics::SourceFiles;
use crate::dis::text;
use crate::emit::layout::{Layout, prefixes};
use crate::opcodes::ArgKind;
use crate::resolve::{Arg, ResolvedCode, constants::PoolConst};
use crate::syntax::ast::Span;
use crate::verify::Analysis;
use std::fmt::Write;

pub fn code_listing(
    code: &ResolvedCode,
    analysis: &Analysis,
    stacks: &[Option<(String, String)>],
    layout: &Layout,
    flags: u32,
    codes: &[ResolvedCode],
    portable: Option<&SourceFiles>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "code {} (name {}, qualname {}, firstlineno {}, stacksize {}, flags 0x{:x})",
        text::name(&code.id.node.0),
        text::string(&code.name),
        text::string(code.qualname.as_ref().unwrap_or(&code.name)),
        code.firstlineno,
        analysis.stacksize,
        flags
    );
    let _ = writeln!(out, "  {:>6}  {:<23} {:<30} {:<34} {:<14} stack", "offset", "bytes", "instruction", "operand", "position");
    let mut group: Option<Span> = None;
    for (i, ins) in code.instrs.iter().enumerate() {
        if let Some(files) = portable.filter(|_| group != Some(ins.span)) {
            let _ = writeln!(out, "  # {}", portable_line(files, ins.span));
            group = Some(ins.span);
        }
        let start = layout.offsets[i] as usize;
        let end = layout.offsets[i + 1] as usize;
        // The instruction's own units (prefixes included), then its CACHE units counted.
        let caches = ins.op.caches as usize;
        let own: Vec<String> = layout.code[start * 2..(end - caches) * 2].iter().map(|b| format!("{b:02x}")).collect();
        let mut bytes = own.join(" ");
        if caches > 0 {
            bytes.push_str(&format!(" +{caches} cache"));
        }
        let arg = layout.args[i];
        let name = if prefixes(arg) > 0 { format!("{} {arg} (+EXT×{})", ins.op.name, prefixes(arg)) } else if ins.op.has_arg() { format!("{} {arg}", ins.op.name) } else { ins.op.name.to_string() };
        let index = (arg >> ins.op.shift) as usize;
        let operand = match (ins.op.arg, ins.arg) {
            (ArgKind::Const, _) => match code.consts.get(index) {
                Some(PoolConst::Value(c)) => format!("consts[{index}] = {}", text::constant(c, &mut |_| String::new())),
                Some(PoolConst::Code(k)) => format!("consts[{index}] = @{}", text::name(&codes[*k].id.node.0)),
                None => String::new(),
            },
            (ArgKind::Name, _) => code.names.get(index).map(|n| format!("names[{index}] = {}", text::name(n))).unwrap_or_default(),
            (ArgKind::Local | ArgKind::Free, _) => {
                code.localsplus.get(index).map(|s| format!("fast[{index}] = {}", text::name(&s.name))).unwrap_or_default()
            }
            (ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute, Arg::Target(t)) => format!("to offset {}", layout.offsets[t] * 2),
            (ArgKind::Compare, _) => code.version.compare_ops.get(index).map(|c| c.symbol.to_string()).unwrap_or_default(),
            (ArgKind::LocalPair, _) => {
                let slot = |i: usize| code.localsplus.get(i).map(|s| text::name(&s.name)).unwrap_or_default();
                format!("fast[{}], fast[{}] = {}, {}", arg >> 4, arg & 15, slot((arg >> 4) as usize), slot((arg & 15) as usize))
            }
            (ArgKind::Enum, _) => ins.op.flags.iter().find(|f| f.bits == arg).map(|f| f.word.to_string()).unwrap_or_default(),
            (ArgKind::BinaryOp, _) => code.version.binary_ops.get(arg as usize).map(|b| b.symbol.to_string()).unwrap_or_default(),
            _ => String::new(),
        };
        let flag_words: Vec<&str> = ins.op.flags.iter().filter(|f| f.bits != 0 && arg & f.bits == f.bits).map(|f| f.word).collect();
        let operand = if flag_words.is_empty() || matches!(ins.op.arg, ArgKind::Number | ArgKind::Enum) { operand } else { format!("{operand} +{}", flag_words.join("+")) };
        let l = ins.loc;
        let position = if l.line < 0 {
            "-".to_string()
        } else if l.col < 0 {
            format!("{}", l.line)
        } else if l.end_line == l.line {
            format!("{}:{}-{}", l.line, l.col, l.end_col)
        } else {
            format!("{}:{}-{}:{}", l.line, l.col, l.end_line, l.end_col)
        };
        let mut stack = match analysis.depth_before.get(i).copied().flatten() {
            Some(d) => format!("{d} -> {}", d as i64 + ins.op.stack.eval(arg)),
            None => "unreachable".to_string(),
        };
        // The kinds the typed verifier found, bottom first: before -> after.
        if let Some(Some((before, after))) = stacks.get(i) {
            stack = format!("{stack:<8} {before} -> {after}");
        }
        let _ = writeln!(out, "  {:>6}  {:<23} {:<30} {:<34} {:<14} {}", start * 2, bytes, name, operand, position, stack);
    }
    exception_table(&mut out, layout);
    out
}

/// The portable line an instruction was lowered from, as written. The lowered lines carry
/// its span; the exit pyasm puts before a loop's exit label carries the label's, shown as
/// the label line.
fn portable_line(files: &SourceFiles, span: Span) -> String {
    let text = files.text(span.file);
    let written = text.get(span.start as usize..span.end as usize).unwrap_or("").trim();
    let is_label = !written.is_empty() && text.get(span.end as usize..).is_some_and(|rest| rest.starts_with(':'));
    if is_label { format!("{written}:") } else { written.to_string() }
}

/// The exception table as the interpreter reads it: each range of offsets, its handler, the
/// depth it unwinds to and whether it pushes the raising offset.
fn exception_table(out: &mut String, layout: &Layout) {
    let Ok(entries) = crate::emit::exceptions::decode_exception_table(&layout.exceptiontable) else { return };
    if entries.is_empty() {
        return;
    }
    let _ = writeln!(out, "  exception table:");
    for e in entries {
        let _ = writeln!(
            out,
            "    {} to {} -> {} depth {}{}",
            e.start * 2,
            e.end * 2,
            e.target * 2,
            e.depth,
            if e.lasti { " lasti" } else { "" }
        );
    }
}
