//! Hover: an opcode's `explain` text and the stack around the instruction; a variable's,
//! name's, constant's or label's index and definition; what a code object or macro is.

use super::*;

pub fn hover(cx: &mut Ctx, p: lsp::HoverParams) -> Option<lsp::Hover> {
    let at = at(cx, &p.text_document_position_params)?;
    let snap = &at.snap;
    let version = snap.version();
    let occ = at.index().at(at.offset).cloned();
    let instr = snap.instr_at(at.index().file, at.offset);
    // The instruction of the line (a macro use: the last of its expansion), for the stack.
    let on_line = snap.instr_on_line(at.index().file, at.offset);
    let mut parts: Vec<String> = Vec::new();
    match occ.as_ref().map(|o| &o.key) {
        Some(Key::Opcode(name)) => {
            if let Some(t) = version {
                parts.push(format!("```text\n{}\n```", crate::explain::explain(name, t).unwrap_or_else(|e| e)));
            }
            parts.extend(on_line.and_then(|(c, i)| stack_slots(snap, c, i)));
        }
        Some(key @ Key::Label(scope, name)) => {
            let mut s = format!("label `{name}`");
            if let Some((_, code)) = snap.code_at(*scope) {
                s.push_str(&format!(" in `{}`", code.id.node.text()));
                let target = code.instrs.iter().find_map(|x| match (x.arg, x.span.start <= at.offset && at.offset <= x.span.end) {
                    (Arg::Target(t), true) => Some(t),
                    _ => None,
                });
                if let Some(t) = target {
                    s.push_str(&format!(", the jump goes to instruction {t}"));
                }
            }
            parts.extend([s].into_iter().chain(where_defined(snap, key)));
        }
        Some(key @ Key::Local(scope, name)) => {
            let mut s = format!("variable `{name}`");
            if let Some((_, code)) = snap.code_at(*scope) {
                if let Some(i) = code.localsplus.iter().position(|l| l.name.to_lossy() == *name) {
                    let kind = code.localsplus[i].kind;
                    let what = match () {
                        _ if kind & crate::object::KIND_FREE != 0 => "free variable",
                        _ if kind & crate::object::KIND_CELL != 0 => "cell",
                        _ => "local",
                    };
                    s.push_str(&format!(": {what}, fast slot {i} of `{}`", code.id.node.text()));
                }
            }
            parts.extend([s].into_iter().chain(where_defined(snap, key)));
        }
        Some(Key::Name(name)) => {
            let mut s = format!("name `{name}`");
            if let Some((c, _)) = instr {
                let code = &snap.facts.program.as_ref()?.codes[c];
                if let Some(i) = code.names.iter().position(|n| n.to_lossy() == *name) {
                    s.push_str(&format!(": co_names[{i}] of `{}`", code.id.node.text()));
                }
            }
            parts.push(s);
        }
        Some(key @ Key::Code(name)) => {
            let mut s = format!("code object `{name}`");
            if let Some(code) = snap.facts.program.as_ref().and_then(|p| p.codes.iter().find(|c| c.id.node.text() == *name)) {
                s.push_str(&format!(
                    " — co_name `{}`, {} argument{}, {} fast slot{}, {} instruction{}",
                    code.name.to_lossy(),
                    code.argcount,
                    plural(code.argcount as usize),
                    code.localsplus.len(),
                    plural(code.localsplus.len()),
                    code.instrs.len(),
                    plural(code.instrs.len())
                ));
            }
            parts.extend([s].into_iter().chain(where_defined(snap, key)));
        }
        Some(key @ Key::Macro(name)) => parts.extend([format!("macro `{name}`")].into_iter().chain(where_defined(snap, key))),
        Some(Key::Include(path)) => parts.push(format!("includes `{}`", path.display())),
        Some(Key::Directive(_)) | None => {}
    }
    // A constant operand: its index in co_consts.
    if let (None, Some((c, i))) = (&occ, instr) {
        let code = &snap.facts.program.as_ref()?.codes[c];
        let ins = &code.instrs[i];
        let inside = ins.operand_span.start <= at.offset && at.offset <= ins.operand_span.end;
        if let (ArgKind::Const, Arg::Value(v), true) = (ins.op.arg, ins.arg, inside) {
            let index = (v >> ins.op.shift) as usize;
            let shown = match code.consts.get(index) {
                Some(PoolConst::Value(k)) => crate::dis::text::constant(k, &mut |_| String::new()),
                Some(PoolConst::Code(k)) => format!("@{}", snap.facts.program.as_ref()?.codes[*k].id.node.text()),
                None => String::from("?"),
            };
            parts.push(format!("constant `{shown}`: co_consts[{index}] of `{}`", code.id.node.text()));
        }
    }
    // Elsewhere on an instruction's line (after its mnemonic, at its inlay hint): the stack.
    if occ.is_none() {
        parts.extend(on_line.and_then(|(c, i)| stack_slots(snap, c, i)));
    }
    if parts.is_empty() {
        return None;
    }
    // The name hovered, for the editor to highlight.
    let range = occ.map(|o| snap.lines(at.index().file).range(o.span.start as usize, o.span.end as usize));
    Some(lsp::Hover { range, ..markdown(parts.join("\n\n")) })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// At most this many slots of a stack are listed in a hover (the top ones).
const HOVER_SLOTS: usize = 8;

/// The stack before and after instruction `i` of code object `c`, as kinds, and each slot's
/// value with a link to the instruction that pushed it (from the typed analysis).
fn stack_slots(snap: &Snapshot, c: usize, i: usize) -> Option<String> {
    let program = snap.facts.program.as_ref()?;
    let v = snap.facts.verified.get(c)?;
    let code = &program.codes[c];
    let Some(entries) = &v.entries else {
        // No typed signatures for the version: the depth.
        let d = v.analysis.depth_before.get(i).copied().flatten()?;
        return Some(format!("stack depth before: {d}"));
    };
    let at = entries.stack_at(code, &program.codes, &v.analysis, i)?;
    let words = |s: &[crate::verify::typed::query::StackSlot]| format!("[{}]", s.iter().map(|x| x.short.as_str()).collect::<Vec<_>>().join(", "));
    let mut out = format!("stack before `{}`  \nstack after `{}`", words(&at.before), at.after.as_deref().map_or("-".into(), words));
    for (title, slots) in [("before", Some(&at.before)), ("after", at.after.as_ref())] {
        let Some(slots) = slots.filter(|s| !s.is_empty()) else { continue };
        out.push_str(&format!("\n\n**stack {title}**, top first:\n"));
        for (n, s) in slots.iter().enumerate().rev().take(HOVER_SLOTS) {
            out.push_str(&format!("\n- {n}: `{}` {} — {}", s.short, shown(&s.what), origin_text(snap, code, s.origin)));
        }
        if slots.len() > HOVER_SLOTS {
            out.push_str(&format!("\n- … {} more below", slots.len() - HOVER_SLOTS));
        }
    }
    Some(out)
}

/// A slot's value as messages name it: a loaded name or constant in backticks.
fn shown(what: &str) -> String {
    if what.starts_with("the ") || what.starts_with("a ") || what == "NULL" { what.to_string() } else { format!("`{}`", what.replace('`', "'")) }
}

/// Where a slot was pushed, as a markdown link to the instruction (`[util.pyasm:4](file:///…#L4)`).
fn origin_text(snap: &Snapshot, code: &crate::resolve::ResolvedCode, origin: SlotOrigin) -> String {
    let (verb, j) = match origin {
        SlotOrigin::Entry => return "there at the frame's start".into(),
        SlotOrigin::Instr(j) => ("pushed by", j),
        SlotOrigin::Handler(j) => ("pushed entering the handler at", j),
    };
    let Some(ins) = code.instrs.get(j) else { return verb.to_string() };
    // An instruction of a macro expansion: its use in the real file.
    let span = snap.facts.expansions.use_site(ins.span.file).unwrap_or(ins.span);
    let (name, (line, _), _) = snap.files.locate(span);
    let path = super::super::workspace::normalize(Path::new(name));
    let file = path.file_name().map_or(name.to_string(), |n| n.to_string_lossy().into_owned());
    let link = match lsp::Url::from_file_path(&path) {
        Ok(u) => format!("[{file}:{line}]({u}#L{line})"),
        Err(_) => format!("{file}:{line}"),
    };
    format!("{verb} `{}` at {link}", ins.op.name)
}
