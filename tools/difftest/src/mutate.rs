//! Mutations of a disassembled program at the instruction level: the mistakes a student or a
//! code generator makes (an instruction dropped, doubled or out of order, an operand off by
//! one, a value of the wrong kind, the call layout of another version, a missing setup
//! instruction, a wrong handler depth).
//!
//! Each mutation has a *kind* and names the instruction it changed; `Mutation::class` (kind and
//! opcode) is what crash classes are grouped by. Operand kinds come from the version's table
//! (`ArgKind`), so the mutator knows a count from a local from a jump without per-version code.

use crate::choice::Choices;
use crate::program::{CodeInfo, Instr, Line, Program};
use pyasm::opcodes::{ArgKind, VersionTable};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutation {
    pub kind: &'static str,
    /// The opcode (or directive) it changed.
    pub op: String,
    /// For people: what exactly changed, and where.
    pub detail: String,
}

impl Mutation {
    pub fn class(&self) -> String {
        format!("{} {}", self.kind, self.op)
    }
}

/// Every kind, with its weight in the mix. Tuned so that a good share of the mutants keep a
/// consistent stack depth (the current verifier refuses the others) while every kind is seen.
pub const KINDS: &[(&str, usize)] = &[
    ("drop", 6),
    ("duplicate", 3),
    ("swap", 8),
    ("shift-count", 12),
    ("shift-local", 8),
    ("shift-deref", 4),
    ("shift-name", 2),
    ("retarget-jump", 8),
    ("wrong-const", 8),
    ("int-before-jump", 5),
    ("non-iterator", 5),
    ("wrong-container", 5),
    ("store-to-pop", 6),
    ("unchecked-load", 4),
    ("move-null", 8),
    ("toggle-null", 6),
    ("toggle-method", 6),
    ("extra-null", 5),
    ("drop-setup", 8),
    ("handler-depth", 6),
];

/// Applies one mutation of a kind drawn from `KINDS`; tries other kinds when the drawn one has
/// no place to apply in this program. None when nothing applies at all.
pub fn mutate_once(p: &mut Program, table: &'static VersionTable, c: &mut dyn Choices) -> Option<Mutation> {
    let weights: Vec<usize> = KINDS.iter().map(|(_, w)| *w).collect();
    for _ in 0..20 {
        let kind = KINDS[c.weighted(&weights)].0;
        if let Some(m) = apply(kind, p, table, c) {
            return Some(m);
        }
    }
    None
}

/// Applies one mutation of the given kind, if the program has a place for it.
pub fn apply(kind: &'static str, p: &mut Program, table: &'static VersionTable, c: &mut dyn Choices) -> Option<Mutation> {
    let codes = p.codes();
    if codes.is_empty() {
        return None;
    }
    let code = c.pick(&codes).clone();
    let sites = p.instrs_of(&code);
    let m = Site { p, table, code: &code, sites: &sites, kind };
    match kind {
        "drop" => m.drop(c),
        "duplicate" => m.duplicate(c),
        "swap" => m.swap(c),
        "shift-count" => m.shift_count(c),
        "shift-local" => m.shift_var(c, ArgKind::Local),
        "shift-deref" => m.shift_var(c, ArgKind::Free),
        "shift-name" => m.shift_name(c),
        "retarget-jump" => m.retarget(c),
        "wrong-const" => m.wrong_const(c),
        "int-before-jump" => m.int_before_jump(c),
        "non-iterator" => m.non_iterator(c),
        "wrong-container" => m.wrong_container(c),
        "store-to-pop" => m.store_to_pop(c),
        "unchecked-load" => m.unchecked_load(c),
        "move-null" => m.move_null(c),
        "toggle-null" => m.toggle_flag(c, "null"),
        "toggle-method" => m.toggle_flag(c, "method"),
        "extra-null" => m.extra_null(c),
        "drop-setup" => m.drop_setup(c),
        "handler-depth" => m.handler_depth(c),
        _ => None,
    }
}

/// The program's version as written on its `.python` line, changed to `to`: a program
/// disassembled from one version assembled as another, as someone porting examples would.
pub fn transplant(p: &mut Program, from: &str, to: &str) -> Mutation {
    if let Some(i) = p.python_line() {
        p.lines[i] = Line::Other(format!(".python {to}"));
    }
    Mutation { kind: "transplant", op: format!("{from}->{to}"), detail: format!("disassembled from {from}, assembled as {to}") }
}

struct Site<'a> {
    p: &'a mut Program,
    table: &'static VersionTable,
    code: &'a CodeInfo,
    sites: &'a [usize],
    kind: &'static str,
}

const CONSTS: &[&str] = &["0", "1", "None", "\"s\"", "()", "(1, 2)", "1.5", "True", "b\"x\"", "frozenset({1})"];

impl Site<'_> {
    fn instr(&self, i: usize) -> &Instr {
        self.p.instr(i).expect("sites are instructions")
    }

    fn arg_kind(&self, op: &str) -> Option<ArgKind> {
        self.table.by_name(op).map(|o| o.arg).or_else(|| self.table.pseudo_jump(op).map(|_| ArgKind::JumpForward))
    }

    fn is_jump(&self, i: &Instr) -> bool {
        i.args.first().is_some_and(|a| self.code.labels.contains(a))
    }

    /// One of the sites whose instruction satisfies `f`.
    fn choose(&self, c: &mut dyn Choices, f: impl Fn(&Instr) -> bool) -> Option<usize> {
        let ok: Vec<usize> = self.sites.iter().copied().filter(|&i| f(self.instr(i))).collect();
        (!ok.is_empty()).then(|| *c.pick(&ok))
    }

    fn done(&self, op: &str, detail: String) -> Option<Mutation> {
        Some(Mutation { kind: self.kind, op: op.to_string(), detail: format!("{detail} (in {})", self.code.name) })
    }

    /// The next instruction after line `i` in this code object, skipping labels.
    fn next_instr(&self, i: usize) -> Option<usize> {
        self.sites.iter().copied().find(|&j| j > i)
    }

    fn drop(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| x.op != "RESUME")?;
        let text = self.instr(i).render();
        let op = self.instr(i).op.clone();
        self.p.lines.remove(i);
        self.done(&op, format!("dropped `{}`", text.trim()))
    }

    fn duplicate(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |_| true)?;
        let line = self.p.lines[i].clone();
        let op = self.instr(i).op.clone();
        self.p.lines.insert(i, line);
        self.done(&op, format!("`{}` twice", op))
    }

    fn swap(self, c: &mut dyn Choices) -> Option<Mutation> {
        let pairs: Vec<usize> = self
            .sites
            .iter()
            .copied()
            .filter(|&i| matches!(self.p.lines.get(i + 1), Some(Line::Instr(_))) && i + 1 < self.code.end)
            .collect();
        if pairs.is_empty() {
            return None;
        }
        let i = *c.pick(&pairs);
        let (a, b) = (self.instr(i).op.clone(), self.instr(i + 1).op.clone());
        self.p.lines.swap(i, i + 1);
        self.done(&format!("{a}/{b}"), format!("swapped `{a}` and `{b}`"))
    }

    fn shift_count(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| {
            x.op != "RESUME" && x.args.first().is_some_and(|a| a.parse::<i64>().is_ok()) && self.arg_kind(&x.op) == Some(ArgKind::Number)
        })?;
        let down = c.chance(50);
        let ins = self.p.instr_mut(i)?;
        let n: i64 = ins.args[0].parse().ok()?;
        let m = if down && n > 0 { n - 1 } else { n + 1 };
        ins.args[0] = m.to_string();
        let op = ins.op.clone();
        self.done(&op, format!("`{op} {n}` → `{op} {m}`"))
    }

    /// A local (or cell/free) operand moved to its neighbour in the fast-locals order.
    fn shift_var(self, c: &mut dyn Choices, kind: ArgKind) -> Option<Mutation> {
        let vars: Vec<String> = match kind {
            ArgKind::Local => self.code.locals.clone(),
            _ => self.code.cells.iter().chain(&self.code.freevars).cloned().collect(),
        };
        if vars.len() < 2 {
            return None;
        }
        let want = kind;
        let i = self.choose(c, |x| {
            let k = self.arg_kind(&x.op);
            (k == Some(want) || (want == ArgKind::Local && k == Some(ArgKind::LocalPair))) && x.args.iter().any(|a| vars.contains(a))
        })?;
        let slot = {
            let ins = self.instr(i);
            let slots: Vec<usize> = (0..ins.args.len()).filter(|&k| vars.contains(&ins.args[k])).collect();
            *c.pick(&slots)
        };
        let step_down = c.chance(50);
        let ins = self.p.instr_mut(i)?;
        let old = ins.args[slot].clone();
        let at = vars.iter().position(|v| *v == old)?;
        let new_at = if (step_down && at > 0) || at + 1 == vars.len() { at - 1 } else { at + 1 };
        ins.args[slot] = vars[new_at].clone();
        let op = ins.op.clone();
        self.done(&op, format!("`{op} {old}` → `{op} {}`", vars[new_at]))
    }

    fn shift_name(self, c: &mut dyn Choices) -> Option<Mutation> {
        let names: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for &i in self.sites {
                let x = self.instr(i);
                match x.args.first() {
                    Some(a) if self.arg_kind(&x.op) == Some(ArgKind::Name) && !v.contains(a) => v.push(a.clone()),
                    _ => {}
                }
            }
            v
        };
        if names.len() < 2 {
            return None;
        }
        let i = self.choose(c, |x| self.arg_kind(&x.op) == Some(ArgKind::Name) && !x.args.is_empty())?;
        let ins = self.p.instr_mut(i)?;
        let at = names.iter().position(|n| *n == ins.args[0])?;
        let new = names[(at + 1) % names.len()].clone();
        let old = std::mem::replace(&mut ins.args[0], new.clone());
        let op = ins.op.clone();
        self.done(&op, format!("`{op} {old}` → `{op} {new}`"))
    }

    fn retarget(self, c: &mut dyn Choices) -> Option<Mutation> {
        if self.code.labels.len() < 2 {
            return None;
        }
        let i = self.choose(c, |x| self.is_jump(x))?;
        let labels = self.code.labels.clone();
        let ins = self.p.instr_mut(i)?;
        let at = labels.iter().position(|l| *l == ins.args[0])?;
        let new_at = if c.chance(50) { (at + 1) % labels.len() } else { (at + labels.len() - 1) % labels.len() };
        let old = std::mem::replace(&mut ins.args[0], labels[new_at].clone());
        let op = ins.op.clone();
        self.done(&op, format!("`{op} {old}` → `{op} {}`", labels[new_at]))
    }

    fn wrong_const(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| x.op == "LOAD_CONST" && !x.args.is_empty() && !x.args[0].starts_with('@'))?;
        let ins = self.p.instr_mut(i)?;
        let old = ins.args[0].clone();
        let others: Vec<&str> = CONSTS.iter().copied().filter(|k| k.chars().next() != old.chars().next()).collect();
        let new = *c.pick(&others);
        ins.args[0] = new.to_string();
        self.done("LOAD_CONST", format!("`LOAD_CONST {old}` → `LOAD_CONST {new}`"))
    }

    /// The value a conditional jump tests replaced by an int (3.13+ wants an exact bool).
    fn int_before_jump(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| x.op.contains("_IF_") && self.is_jump(x))?;
        let op = self.instr(i).op.clone();
        let k = *c.pick(&["0", "1", "2", "\"\"", "None"]);
        self.p.lines.insert(i, Line::Instr(Instr::new("LOAD_CONST", &[k])));
        self.p.lines.insert(i, Line::Instr(Instr::new("POP_TOP", &[])));
        self.done(&op, format!("the value `{op}` tests replaced by `{k}`"))
    }

    /// What GET_ITER made (or was given) replaced by a value that is no iterator.
    fn non_iterator(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| matches!(x.op.as_str(), "GET_ITER" | "GET_YIELD_FROM_ITER" | "GET_AITER"))?;
        let op = self.instr(i).op.clone();
        let what: &[&str] = if c.chance(50) { &["LOAD_CONST", "(1, 2)"] } else { &["LOAD_NAME", "len"] };
        self.p.lines[i] = Line::Instr(Instr::new(what[0], &what[1..]));
        self.p.lines.insert(i, Line::Instr(Instr::new("POP_TOP", &[])));
        self.done(&op, format!("`{op}` replaced by `POP_TOP; {} {}`", what[0], what[1]))
    }

    fn wrong_container(self, c: &mut dyn Choices) -> Option<Mutation> {
        let swaps: &[(&str, &str)] = &[("BUILD_LIST", "BUILD_TUPLE"), ("BUILD_TUPLE", "BUILD_LIST"), ("BUILD_SET", "BUILD_LIST"), ("BUILD_MAP", "BUILD_LIST"), ("BUILD_LIST", "BUILD_SET")];
        let i = self.choose(c, |x| swaps.iter().any(|(a, _)| *a == x.op) && (x.op != "BUILD_MAP" || x.args.first().is_some_and(|a| a == "0")))?;
        let ins = self.p.instr_mut(i)?;
        let options: Vec<&str> = swaps.iter().filter(|(a, _)| *a == ins.op).map(|(_, b)| *b).collect();
        let new = *c.pick(&options);
        let old = std::mem::replace(&mut ins.op, new.to_string());
        self.done(&old, format!("`{old}` → `{new}`"))
    }

    /// A local's store replaced by POP_TOP: a later plain load reads an unbound slot.
    fn store_to_pop(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| x.op == "STORE_FAST" || x.op == "STORE_DEREF")?;
        let old = self.instr(i).render();
        let op = self.instr(i).op.clone();
        self.p.lines[i] = Line::Instr(Instr::new("POP_TOP", &[]));
        self.done(&op, format!("`{}` → `POP_TOP`", old.trim()))
    }

    fn unchecked_load(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| x.op == "LOAD_FAST_CHECK" || x.op == "LOAD_FAST_AND_CLEAR")?;
        let ins = self.p.instr_mut(i)?;
        let old = std::mem::replace(&mut ins.op, "LOAD_FAST".to_string());
        self.done(&old, format!("`{old}` → `LOAD_FAST`"))
    }

    /// PUSH_NULL moved past the next instruction or before the previous one.
    fn move_null(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| x.op == "PUSH_NULL")?;
        let at = self.sites.iter().position(|&s| s == i)?;
        let later = c.chance(60);
        let other = if later { self.sites.get(at + 1) } else { at.checked_sub(1).and_then(|k| self.sites.get(k)) };
        let j = *other?;
        let line = self.p.lines.remove(i);
        self.p.lines.insert(j, line);
        let neighbour = self.instr(if later { j - 1 } else { j + 1 }).op.clone();
        self.done("PUSH_NULL", format!("`PUSH_NULL` moved {} `{neighbour}`", if later { "after" } else { "before" }))
    }

    /// The `null` (LOAD_GLOBAL) or `method` (LOAD_ATTR) flag word toggled; half the time the
    /// next call's count absorbs the changed depth, so the stack still balances.
    fn toggle_flag(self, c: &mut dyn Choices, word: &str) -> Option<Mutation> {
        let op = if word == "null" { "LOAD_GLOBAL" } else { "LOAD_ATTR" };
        let has_flag = self.table.by_name(op).is_some_and(|o| o.flags.iter().any(|f| f.word == word));
        if !has_flag {
            return None;
        }
        let i = self.choose(c, |x| x.op == op)?;
        let ins = self.p.instr_mut(i)?;
        let had = ins.args.iter().any(|a| a == word);
        if had {
            ins.args.retain(|a| a != word);
        } else {
            ins.args.push(word.to_string());
        }
        let mut detail = format!("`{op}` {} `{word}`", if had { "without" } else { "with" });
        // Drawn whether or not there is a call, so that the choices after it do not depend on that.
        let absorb = c.chance(50);
        let call = self.sites.iter().copied().find(|&j| j > i && self.instr(j).op == "CALL");
        if let Some(j) = call.filter(|_| absorb) {
            let call = self.p.instr_mut(j)?;
            if let Some(n) = call.args.first().and_then(|a| a.parse::<i64>().ok()) {
                let m = if had { n + 1 } else { n - 1 };
                if m >= 0 {
                    call.args[0] = m.to_string();
                    detail.push_str(&format!(", next `CALL {n}` → `CALL {m}`"));
                }
            }
        }
        self.done(op, detail)
    }

    /// An extra PUSH_NULL before a callable, and the call's count one more.
    fn extra_null(self, c: &mut dyn Choices) -> Option<Mutation> {
        self.table.by_name("PUSH_NULL")?;
        let i = self.choose(c, |x| matches!(x.op.as_str(), "LOAD_ATTR" | "LOAD_GLOBAL" | "LOAD_NAME" | "LOAD_FAST" | "LOAD_DEREF"))?;
        let op = self.instr(i).op.clone();
        let call = self.sites.iter().copied().find(|&j| j > i && matches!(self.instr(j).op.as_str(), "CALL" | "CALL_KW"));
        self.p.lines.insert(i, Line::Instr(Instr::new("PUSH_NULL", &[])));
        let mut detail = format!("extra `PUSH_NULL` before `{op}`");
        if let Some(ins) = call.and_then(|j| self.p.instr_mut(j + 1)) {
            if let Some(n) = ins.args.first().and_then(|a| a.parse::<i64>().ok()) {
                ins.args[0] = (n + 1).to_string();
                detail.push_str(&format!(", next `CALL {n}` → `CALL {}`", n + 1));
            }
        }
        self.done(&op, detail)
    }

    /// One of the instructions that set a frame up removed: MAKE_CELL, COPY_FREE_VARS,
    /// RETURN_GENERATOR (with its POP_TOP), GET_ITER, GEN_START.
    fn drop_setup(self, c: &mut dyn Choices) -> Option<Mutation> {
        let i = self.choose(c, |x| matches!(x.op.as_str(), "MAKE_CELL" | "COPY_FREE_VARS" | "RETURN_GENERATOR" | "GET_ITER" | "GEN_START" | "PUSH_NULL" | "SETUP_FINALLY" | "POP_BLOCK"))?;
        let op = self.instr(i).op.clone();
        let next = self.next_instr(i);
        let mut detail = format!("dropped `{}`", self.instr(i).render().trim());
        if let Some(j) = next.filter(|&j| op == "RETURN_GENERATOR" && self.instr(j).op == "POP_TOP") {
            self.p.lines.remove(j);
            detail.push_str(" and the POP_TOP after it");
        }
        self.p.lines.remove(i);
        self.done(&op, detail)
    }

    /// An exception-table entry's depth one off, or its `lasti` toggled.
    fn handler_depth(self, c: &mut dyn Choices) -> Option<Mutation> {
        let rows: Vec<usize> = (self.code.start..self.code.end)
            .filter(|&i| matches!(&self.p.lines[i], Line::Other(o) if o.trim_start().starts_with(".exception ")))
            .collect();
        if rows.is_empty() {
            return None;
        }
        let i = *c.pick(&rows);
        let Line::Other(o) = &self.p.lines[i] else { return None };
        let mut parts = crate::program::split_operands(o.trim_start().trim_start_matches(".exception"));
        if parts.len() < 4 {
            return None;
        }
        let depth: i64 = parts[3].parse().ok()?;
        let detail;
        if c.chance(70) {
            let new = if c.chance(50) && depth > 0 { depth - 1 } else { depth + 1 };
            detail = format!("handler depth {depth} → {new}");
            parts[3] = new.to_string();
        } else if parts.len() > 4 {
            parts.truncate(4);
            detail = "handler without `lasti`".to_string();
        } else {
            parts.push("lasti".to_string());
            detail = "handler with `lasti`".to_string();
        }
        self.p.lines[i] = Line::Other(format!("    .exception {}", parts.join(", ")));
        self.done(".exception", detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choice::Seeded;
    use pyasm::version::PythonVersion;

    const TEXT: &str = ".python 3.12\n.code <module>\n    RESUME 0\n    PUSH_NULL\n    LOAD_NAME print\n    LOAD_CONST 1\n    CALL 1\n    POP_TOP\n    RETURN_CONST None\n.end\n";

    fn table() -> &'static VersionTable {
        pyasm::opcodes::table_for(PythonVersion::new(3, 12)).unwrap()
    }

    #[test]
    fn every_kind_changes_the_program_or_says_it_cannot() {
        for (kind, _) in KINDS {
            for seed in 0..10 {
                let mut p = Program::from_dis(TEXT, "t.pyasm");
                let before = p.clone();
                match apply(kind, &mut p, table(), &mut Seeded::new(seed)) {
                    Some(m) => {
                        assert_ne!(p, before, "{kind}: {m:?} left the program as it was");
                        assert_eq!(m.kind, *kind);
                    }
                    None => assert_eq!(p, before, "{kind} changed the program but reported nothing"),
                }
            }
        }
    }

    #[test]
    fn shift_count_and_move_null() {
        let mut p = Program::from_dis(TEXT, "t.pyasm");
        let m = apply("shift-count", &mut p, table(), &mut Seeded::new(1)).unwrap();
        assert_eq!(m.op, "CALL");
        assert!(p.render().contains("CALL 2") || p.render().contains("CALL 0"), "{}", p.render());
        let mut p = Program::from_dis(TEXT, "t.pyasm");
        let m = apply("move-null", &mut p, table(), &mut Seeded::new(3)).unwrap();
        assert_eq!(m.class(), "move-null PUSH_NULL");
        let ops: Vec<String> = p.lines.iter().filter_map(|l| if let Line::Instr(i) = l { Some(i.op.clone()) } else { None }).collect();
        let null = ops.iter().position(|o| o == "PUSH_NULL").unwrap();
        assert!(null == 0 || ops[null - 1] == "LOAD_NAME", "{ops:?}");
    }

    #[test]
    fn toggle_null_compensates_sometimes() {
        let text = TEXT.replace("LOAD_NAME print", "LOAD_GLOBAL print, null").replace("    PUSH_NULL\n", "");
        let mut seen_comp = false;
        for seed in 0..20 {
            let mut p = Program::from_dis(&text, "t.pyasm");
            let m = apply("toggle-null", &mut p, table(), &mut Seeded::new(seed)).unwrap();
            assert!(p.render().contains("    LOAD_GLOBAL print\n"));
            seen_comp |= m.detail.contains("CALL 1` → `CALL 2");
        }
        assert!(seen_comp);
    }

    #[test]
    fn transplant_rewrites_the_version() {
        let mut p = Program::from_dis(TEXT, "t.pyasm");
        let m = transplant(&mut p, "3.12", "3.13");
        assert!(p.render().starts_with(".python 3.13\n"));
        assert_eq!(m.class(), "transplant 3.12->3.13");
    }
}
