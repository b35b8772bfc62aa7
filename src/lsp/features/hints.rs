//! Inlay hints: the stack after each instruction (a macro use: after its expansion) and the
//! resolved argument where the text does not show it.

use super::*;

/// At most this many slots are shown in a stack hint (the top ones).
const HINT_SLOTS: usize = 6;

/// `[a, b, c]` with only the top `HINT_SLOTS` slots: `[…4, x, y]` says four more lie below.
pub fn shorten(stack: &str) -> String {
    let inner = stack.trim_start_matches('[').trim_end_matches(']');
    if inner.is_empty() {
        return "[]".into();
    }
    let slots: Vec<&str> = inner.split(", ").collect();
    if slots.len() <= HINT_SLOTS {
        return stack.to_string();
    }
    let hidden = slots.len() - (HINT_SLOTS - 1);
    format!("[…{hidden}, {}]", slots[hidden..].join(", "))
}

fn hint(position: lsp::Position, label: String, kind: lsp::InlayHintKind, tooltip: &str) -> lsp::InlayHint {
    lsp::InlayHint {
        position,
        label: lsp::InlayHintLabel::String(label),
        kind: Some(kind),
        text_edits: None,
        tooltip: Some(lsp::InlayHintTooltip::String(tooltip.into())),
        padding_left: Some(true),
        padding_right: None,
        data: None,
    }
}

/// The resolved argument where the text does not show it: a constant's index, a jump's
/// target offset.
fn argument_hint(ins: &crate::resolve::Instr, i: usize, layout: Option<&crate::emit::layout::Layout>) -> Option<String> {
    let layout = layout?;
    match (ins.op.arg, ins.arg) {
        (_, Arg::Target(t)) => Some(format!("→ {}", layout.offsets.get(t)? * 2)),
        (ArgKind::Const, _) => Some(format!("consts[{}]", layout.args.get(i)? >> ins.op.shift)),
        _ => None,
    }
}

pub fn inlay_hints(cx: &mut Ctx, p: lsp::InlayHintParams) -> Option<Vec<lsp::InlayHint>> {
    let (snap, path) = cx.snapshot(&p.text_document.uri)?;
    let file = snap.file(&path)?;
    let index = snap.lines(file.file);
    let (from, to) = (index.offset(p.range.start) as u32, index.offset(p.range.end) as u32);
    let program = snap.facts.program.as_ref()?;
    let mut stacks: Vec<(u32, lsp::InlayHint)> = Vec::new();
    let mut arguments = Vec::new();
    for (c, code) in program.codes.iter().enumerate() {
        let Some(v) = snap.facts.verified.get(c) else { continue };
        let layout = snap.facts.layouts.get(c).and_then(Option::as_ref);
        for (i, ins) in code.instrs.iter().enumerate() {
            // An instruction of a macro expansion shows at the use.
            let (span, expanded) = match snap.facts.expansions.use_site(ins.span.file) {
                Some(site) => (site, true),
                None => (ins.span, false),
            };
            if span.file != file.file || span.start < from || span.start > to {
                continue;
            }
            if let (false, Some(label)) = (expanded, argument_hint(ins, i, layout)) {
                let at = index.position(ins.operand_span.end as usize);
                arguments.push(hint(at, label, lsp::InlayHintKind::PARAMETER, "the resolved argument"));
            }
            let label = match (v.stacks.get(i), v.analysis.depth_before.get(i).copied().flatten()) {
                (Some(Some((_, after))), _) if after == "-" => continue,
                (Some(Some((_, after))), _) => shorten(after),
                (_, Some(d)) => format!("depth {}", d as i64 + ins.op.stack.eval(ins.arg.oparg())),
                _ => continue,
            };
            let line = index.position(span.start as usize).line;
            let at = index.position(index.line_end(line as usize));
            stacks.push((span.start, hint(at, label, lsp::InlayHintKind::TYPE, "the stack after this instruction, bottom first")));
        }
    }
    // Several instructions on one line (a macro use): the last one's stack.
    let mut out: Vec<lsp::InlayHint> = Vec::new();
    for (_, h) in stacks {
        match out.last_mut() {
            Some(last) if last.position == h.position => *last = h,
            _ => out.push(h),
        }
    }
    out.extend(arguments);
    // The argument before the stack where both are at the end of the line.
    out.sort_by_key(|h| (h.position.line, h.position.character, h.kind == Some(lsp::InlayHintKind::TYPE)));
    Some(out)
}

