//! Hover: an opcode's `explain` text and the stack around the instruction; a variable's,
//! name's, constant's or label's index and definition; what a code object or macro is.

use super::*;

pub fn hover(cx: &mut Ctx, p: lsp::HoverParams) -> Option<lsp::Hover> {
    let at = at(cx, &p.text_document_position_params)?;
    let snap = &at.snap;
    let version = snap.version();
    let occ = at.index().at(at.offset).cloned();
    let instr = snap.instr_at(at.index().file, at.offset);
    let mut parts: Vec<String> = Vec::new();
    match occ.as_ref().map(|o| &o.key) {
        Some(Key::Opcode(name)) => {
            if let Some(t) = version {
                parts.push(format!("```text\n{}\n```", crate::explain::explain(name, t).unwrap_or_else(|e| e)));
            }
            if let Some((c, i)) = instr {
                if let Some(Some((before, after))) = snap.facts.verified.get(c).and_then(|v| v.stacks.get(i)) {
                    parts.push(format!("stack before `{before}`  \nstack after `{after}`"));
                }
            }
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
    if occ.is_none() {
        let (c, i) = instr?;
        let code = &snap.facts.program.as_ref()?.codes[c];
        let ins = &code.instrs[i];
        let inside = ins.operand_span.start <= at.offset && at.offset <= ins.operand_span.end;
        if let (ArgKind::Const, Arg::Value(v), true) = (ins.op.arg, ins.arg, inside) {
            let index = (v >> ins.op.shift) as usize;
            let shown = match code.consts.get(index) {
                Some(PoolConst::Value(k)) => crate::dis::text::constant(k, &mut |_| String::new()),
                Some(PoolConst::Code(k)) => format!("@{}", snap.facts.program.as_ref()?.codes[*k].id.node.text()),
                None => return None,
            };
            parts.push(format!("constant `{shown}`: co_consts[{index}] of `{}`", code.id.node.text()));
        }
    }
    (!parts.is_empty()).then(|| markdown(parts.join("\n\n")))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

