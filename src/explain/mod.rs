//! `pyasm explain`: what an instruction does, in words, next to the facts the version tables
//! hold about it (number, operand kind, stack effect, cache entries, versions).
//!
//! The words live in one data file, `descriptions.txt`, keyed by opcode name and shared by
//! every version; notes there mark where a version changed the meaning. The facts are never
//! written twice: they are read from `crate::opcodes::TABLES`, so a new version table is
//! explained as soon as it lands (tests/explain.rs fails if one of its opcodes has no words).

use crate::diagnostics::nearest;
use crate::opcodes::{ArgKind, Flow, OpInfo, StackEffect, TABLES, VersionTable};
use crate::version::PythonVersion;
use std::fmt::Write;
use std::sync::OnceLock;

const DESCRIPTIONS: &str = include_str!("descriptions.txt");

/// A note that holds for a range of versions (`to: None` means "and later").
#[derive(Clone, Debug)]
pub struct Note {
    pub from: PythonVersion,
    pub to: Option<PythonVersion>,
    pub text: String,
}

impl Note {
    pub fn applies_to(&self, v: PythonVersion) -> bool {
        v >= self.from && self.to.is_none_or(|t| v <= t)
    }
    fn label(&self) -> String {
        match self.to {
            None => format!("{}+", self.from),
            Some(t) if t == self.from => format!("{t}"),
            Some(t) => format!("{}-{t}", self.from),
        }
    }
}

/// How versions that lack an instruction do its job.
#[derive(Clone, Debug)]
pub struct Replacement {
    pub names: Vec<String>,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    /// Paragraphs of the description.
    pub paragraphs: Vec<String>,
    pub notes: Vec<Note>,
    pub replaced_by: Vec<Replacement>,
}

impl Entry {
    /// The first sentence, for one-line listings.
    pub fn summary(&self) -> &str {
        let text = self.paragraphs.first().map(String::as_str).unwrap_or("");
        match text.find(". ") {
            Some(i) => &text[..=i],
            None => text,
        }
    }
}

/// Every entry of the data file, in file order. Panics on a malformed file: it is part of the
/// binary, and tests/explain.rs parses it on every run.
pub fn entries() -> &'static [Entry] {
    static PARSED: OnceLock<Vec<Entry>> = OnceLock::new();
    PARSED.get_or_init(|| parse(DESCRIPTIONS).unwrap_or_else(|e| panic!("src/explain/descriptions.txt: {e}")))
}

/// What a line of the data file continues.
enum Open {
    Paragraph,
    Note,
    Replacement,
}

/// Parses the data file (format in its header).
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut out: Vec<Entry> = Vec::new();
    let mut open = Open::Paragraph;
    let mut new_paragraph = true;
    for (n, line) in text.lines().enumerate() {
        let at = |msg: &str| format!("line {}: {msg}", n + 1);
        if line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("== ") {
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
                return Err(at(&format!("`{name}` is not an opcode name")));
            }
            if out.iter().any(|e| e.name == name) {
                return Err(at(&format!("{name} has two entries")));
            }
            out.push(Entry { name: name.to_string(), paragraphs: Vec::new(), notes: Vec::new(), replaced_by: Vec::new() });
            open = Open::Paragraph;
            new_paragraph = true;
            continue;
        }
        if line.trim().is_empty() {
            open = Open::Paragraph;
            new_paragraph = true;
            continue;
        }
        let Some(entry) = out.last_mut() else { return Err(at("text before the first `== NAME`")) };
        if let Some(rest) = line.strip_prefix('[') {
            let (range, text) = rest.split_once(']').ok_or_else(|| at("a note needs `[VERSIONS]`"))?;
            let (from, to) = parse_range(range).map_err(|e| at(&e))?;
            entry.notes.push(Note { from, to, text: text.trim().to_string() });
            open = Open::Note;
        } else if let Some(rest) = line.strip_prefix("=> ") {
            let (names, text) = rest.split_once(':').ok_or_else(|| at("`=>` needs `NAMES: text`"))?;
            let names = names.split(',').map(|s| s.trim().to_string()).collect();
            entry.replaced_by.push(Replacement { names, text: text.trim().to_string() });
            open = Open::Replacement;
        } else if let Some(more) = line.strip_prefix("  ") {
            let target = match open {
                Open::Note => entry.notes.last_mut().map(|n| &mut n.text),
                Open::Replacement => entry.replaced_by.last_mut().map(|r| &mut r.text),
                Open::Paragraph => None,
            };
            let target = target.ok_or_else(|| at("an indented line continues a note or `=>` line, and none is open"))?;
            target.push(' ');
            target.push_str(more.trim());
        } else {
            if !matches!(open, Open::Paragraph) {
                return Err(at("description text after a note: notes come last (indent to continue one)"));
            }
            if new_paragraph {
                entry.paragraphs.push(line.trim().to_string());
                new_paragraph = false;
            } else {
                let p = entry.paragraphs.last_mut().expect("a paragraph is open");
                p.push(' ');
                p.push_str(line.trim());
            }
        }
    }
    if let Some(e) = out.iter().find(|e| e.paragraphs.is_empty()) {
        return Err(format!("{} has no description", e.name));
    }
    Ok(out)
}

fn parse_range(s: &str) -> Result<(PythonVersion, Option<PythonVersion>), String> {
    if let Some(from) = s.strip_suffix('+') {
        return Ok((from.parse()?, None));
    }
    match s.split_once('-') {
        Some((a, b)) => Ok((a.parse()?, Some(b.parse()?))),
        None => {
            let v: PythonVersion = s.parse()?;
            Ok((v, Some(v)))
        }
    }
}

/// The description of an opcode name. Instrumented forms (`INSTRUMENTED_CALL`, …) that have no
/// entry of their own are described from the instruction they stand for.
pub fn describe(name: &str) -> Option<Entry> {
    if let Some(e) = entries().iter().find(|e| e.name == name) {
        return Some(e.clone());
    }
    let base = name.strip_prefix("INSTRUMENTED_")?;
    Some(Entry {
        name: name.to_string(),
        paragraphs: vec![format!(
            "The form of {base} that the interpreter swaps in, at run time, while a monitoring tool \
             (sys.monitoring) watches the code: it reports the event, then does what {base} does. \
             It never appears in a .pyc and cannot be assembled."
        )],
        notes: Vec::new(),
        replaced_by: Vec::new(),
    })
}

/// Every opcode and pseudo-jump name of every version table, sorted and without repeats.
pub fn all_table_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> =
        TABLES.iter().flat_map(|t| t.opcodes.iter().map(|o| o.name).chain(t.pseudo_jumps.iter().map(|p| p.name))).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Where a name stands in one version.
enum InVersion {
    Real(&'static OpInfo),
    /// A pyasm direction-free jump name: its forward opcode and backward opcode (if any).
    Pseudo(&'static OpInfo, Option<&'static str>),
    Absent,
}

fn look_up(t: &'static VersionTable, name: &str) -> InVersion {
    if let Some(op) = t.by_name(name) {
        return InVersion::Real(op);
    }
    if let Some(p) = t.pseudo_jump(name) {
        if let Some(fwd) = t.by_name(p.forward) {
            return InVersion::Pseudo(fwd, p.backward);
        }
    }
    InVersion::Absent
}

/// What does the job of `name` in a version that lacks it, for the "does not exist in
/// Python X.Y" diagnostic: the replacements the description names that the version has (or,
/// the other way round, an older instruction whose replacement `name` is).
pub fn replacement_in(name: &str, table: &'static VersionTable) -> Option<String> {
    let name = name.trim().to_ascii_uppercase();
    if !matches!(look_up(table, &name), InVersion::Absent) {
        return None;
    }
    let entry = describe(&name)?;
    let v = table.version;
    for r in &entry.replaced_by {
        let have: Vec<&str> = r.names.iter().map(String::as_str).filter(|n| !matches!(look_up(table, n), InVersion::Absent)).collect();
        if !have.is_empty() {
            return Some(format!("in Python {v} write {} instead: {} (see `pyasm explain {name} --python {v}`)", have.join(", "), r.text.trim_end_matches('.')));
        }
    }
    entries()
        .iter()
        .find(|older| older.replaced_by.iter().any(|r| r.names.contains(&name)) && !matches!(look_up(table, &older.name), InVersion::Absent))
        .map(|older| format!("in Python {v} this job is done by {} (see `pyasm explain {} --python {v}`)", older.name, older.name))
}

/// The instruction to write instead of `name` (which takes no operand) in a version that
/// lacks it, where the replacement `replacement_in` names is exactly one instruction
/// (`BINARY_OP +` for BINARY_ADD): a fix a tool can apply.
pub fn replacement_instruction(name: &str, table: &'static VersionTable) -> Option<String> {
    let name = name.trim().to_ascii_uppercase();
    if !matches!(look_up(table, &name), InVersion::Absent) {
        return None;
    }
    let entry = describe(&name)?;
    let r = entry.replaced_by.iter().find(|r| r.names.iter().any(|n| !matches!(look_up(table, n), InVersion::Absent)))?;
    let quoted = r.text.trim_end_matches('.').strip_prefix('`')?.strip_suffix('`')?;
    let op = quoted.split_whitespace().next()?;
    (!quoted.contains('`') && !matches!(look_up(table, op), InVersion::Absent)).then(|| quoted.to_string())
}

/// The versions line: `3.11 (116), 3.12 (116)`.
fn versions_having(name: &str) -> Vec<String> {
    TABLES
        .iter()
        .filter_map(|t| match look_up(t, name) {
            InVersion::Real(op) => Some(format!("{} ({})", t.version, op.code)),
            InVersion::Pseudo(..) => Some(format!("{} (pyasm jump name)", t.version)),
            InVersion::Absent => None,
        })
        .collect()
}

/// The full `pyasm explain NAME --python V` text, or an error message for an unknown name.
pub fn explain(name: &str, table: &'static VersionTable) -> Result<String, String> {
    let name = name.trim().to_ascii_uppercase();
    let entry = describe(&name);
    let here = look_up(table, &name);
    let v = table.version;
    let entry = match (entry, &here) {
        (Some(e), _) => e,
        (None, InVersion::Absent) if versions_having(&name).is_empty() => {
            let mut candidates: Vec<&str> = all_table_names();
            candidates.extend(entries().iter().map(|e| e.name.as_str()));
            let mut msg = format!("`{name}` is not an instruction pyasm knows");
            let near = nearest(&name, candidates.into_iter());
            if !near.is_empty() {
                let _ = write!(msg, "; {}", crate::diagnostics::did_you_mean(&near, str::to_string).unwrap_or_default());
            }
            msg.push_str("\n(`pyasm explain --list` lists the instructions of a version)");
            return Err(msg);
        }
        // A table opcode without words: tests/explain.rs keeps this from happening.
        (None, _) => Entry { name: name.clone(), paragraphs: vec!["(no description yet)".into()], notes: vec![], replaced_by: vec![] },
    };

    let mut out = String::new();
    match &here {
        InVersion::Real(op) => {
            let _ = writeln!(out, "{name}: opcode {} in Python {v}", op.code);
        }
        InVersion::Pseudo(fwd, back) => {
            let _ = match back {
                Some(b) => writeln!(out, "{name}: a pyasm jump name in Python {v}, for {} (label ahead) or {b} (label behind)", fwd.name),
                None => writeln!(out, "{name}: a pyasm jump name in Python {v}, for {} (label ahead; {v} has no backward form)", fwd.name),
            };
        }
        InVersion::Absent => {
            let others = versions_having(&name);
            if others.is_empty() {
                let supported: Vec<String> = TABLES.iter().map(|t| t.version.to_string()).collect();
                let _ = writeln!(out, "{name}: not an instruction of Python {v}, nor of any version this build supports ({})", supported.join(", "));
            } else {
                let _ = writeln!(out, "{name}: not an instruction of Python {v} (it is one of {})", others.join(", "));
            }
        }
    }
    out.push('\n');
    for p in &entry.paragraphs {
        wrap(&mut out, p, "  ");
        out.push('\n');
    }
    let (mine, others): (Vec<&Note>, Vec<&Note>) = entry.notes.iter().partition(|n| n.applies_to(v));
    if !mine.is_empty() {
        let _ = writeln!(out, "  In Python {v}:");
        for n in mine {
            wrap(&mut out, &n.text, "    ");
        }
        out.push('\n');
    }
    if !others.is_empty() {
        let _ = writeln!(out, "  In other versions:");
        for n in others {
            wrap(&mut out, &format!("{}: {}", n.label(), n.text), "    ");
        }
        out.push('\n');
    }

    match here {
        InVersion::Real(op) => facts(&mut out, op, op.name, table),
        InVersion::Pseudo(fwd, _) => facts(&mut out, fwd, &name, table),
        InVersion::Absent => {
            for r in &entry.replaced_by {
                let have: Vec<String> = r
                    .names
                    .iter()
                    .map(|n| if matches!(look_up(table, n), InVersion::Absent) { format!("{n} (not in {v} either)") } else { n.clone() })
                    .collect();
                wrap(&mut out, &format!("Without {name}: {} — {}", have.join(", "), r.text), "  ");
            }
            // The other way round: an older instruction that did this job in the chosen version
            // (unless the entry already names it).
            let named: Vec<&String> = entry.replaced_by.iter().flat_map(|r| &r.names).collect();
            for older in entries() {
                let replaced = older.replaced_by.iter().any(|r| r.names.iter().any(|n| *n == name));
                if replaced && !named.contains(&&older.name) && !matches!(look_up(table, &older.name), InVersion::Absent) {
                    wrap(&mut out, &format!("In {v} this job is done by {} (`pyasm explain {}`): {}", older.name, older.name, older.summary()), "  ");
                }
            }
            if !entry.replaced_by.is_empty() {
                out.push('\n');
            }
        }
    }
    let having = versions_having(&name);
    let _ = writeln!(out, "{:<10}{}", "versions", if having.is_empty() { "none that this build supports".to_string() } else { having.join(", ") });
    Ok(out)
}

/// The table's facts about one instruction, shown under `name` (a pseudo-jump name stands for
/// its forward opcode).
fn facts(out: &mut String, op: &OpInfo, name: &str, table: &VersionTable) {
    let mut operand = operand_text(op, name, table);
    if !op.flags.is_empty() {
        let words: Vec<String> = op.flags.iter().map(|f| format!("{} ({})", f.word, f.bits)).collect();
        operand.push_str(&format!("; flag words: {}", words.join(", ")));
    }
    if op.shift > 0 {
        operand.push_str(&format!("; stored as index << {} with the flags in the low bits", op.shift));
    }
    field(out, "operand", &operand);
    let takes = Formula::of(&op.pops);
    let leaves = takes.plus(&Formula::of(&op.stack));
    field(out, "stack", &format!("takes {}, leaves {} (net {})", takes.show(false), leaves.show(false), Formula::of(&op.stack).show(true)));
    if op.jump_stack != op.stack {
        let jumped = takes.plus(&Formula::of(&op.jump_stack));
        field(out, "", &format!("when it jumps: leaves {} (net {})", jumped.show(false), Formula::of(&op.jump_stack).show(true)));
    }
    field(
        out,
        "caches",
        &match op.caches {
            0 => "none".to_string(),
            n => format!("{n} CACHE unit{} after it ({} bytes), inserted by pyasm", if n == 1 { "" } else { "s" }, 2 * n as u32),
        },
    );
    field(
        out,
        "control",
        match op.flow {
            Flow::Next => "goes on to the next instruction",
            Flow::Branch => "jumps to its label or goes on to the next instruction",
            Flow::Jump => "always jumps to its label",
            Flow::Exit => "leaves the code object (returns or raises): no next instruction",
        },
    );
}

/// A labelled line of facts, wrapped under its own start.
fn field(out: &mut String, label: &str, text: &str) {
    let mut wrapped = String::new();
    wrap(&mut wrapped, text, "          ");
    out.push_str(&format!("{label:<10}"));
    out.push_str(&wrapped[10..]);
}

/// How the operand is written in .pyasm, by argument kind.
fn operand_text(op: &OpInfo, name: &str, table: &VersionTable) -> String {
    if name != op.name {
        return format!("a label, ahead or behind (`{name} loop`); pyasm picks the opcode and computes the offset");
    }
    match op.arg {
        ArgKind::None => "none: write the opcode alone".into(),
        ArgKind::Number if op.flags.is_empty() => format!("a number (`{} 2`)", op.name),
        ArgKind::Number => format!("a number or flag words (`{} {}`)", op.name, op.flags.iter().rev().find(|f| f.bits != 0).map(|f| f.word).unwrap_or("0")),
        ArgKind::Const => format!("a constant, written as a literal or @code reference (`{} (1, \"a\")`); pyasm builds co_consts", op.name),
        ArgKind::Name => format!("a name in co_names, written as an identifier or a string (`{} x`)", op.name),
        ArgKind::Local => format!("a local variable (parameter or `.locals` name) (`{} x`)", op.name),
        ArgKind::Free => format!("a cell or free variable (`.cells` / `.freevars` name) (`{} x`)", op.name),
        ArgKind::JumpForward => format!("a label after this instruction (`{} done`); pyasm computes the offset", op.name),
        ArgKind::JumpBackward => format!("a label before this instruction (`{} top`); pyasm computes the offset", op.name),
        ArgKind::JumpAbsolute => format!("a label anywhere in the code (`{} top`); pyasm computes its offset", op.name),
        ArgKind::Compare => {
            let symbols: Vec<&str> = table.compare_ops.iter().map(|c| c.symbol).collect();
            let flags = if op.flags.is_empty() {
                String::new()
            } else {
                format!(", then flag words ({})", op.flags.iter().map(|f| f.word).collect::<Vec<_>>().join(", "))
            };
            format!("a comparison operator: {}{flags}; pyasm adds the operator's own mask bits", symbols.join(" "))
        }
        ArgKind::Enum => {
            let words: Vec<&str> = op.flags.iter().map(|f| f.word).collect();
            format!("one of the named values {} or its number (`{} {}`)", words.join(" "), op.name, words.first().copied().unwrap_or("0"))
        }
        ArgKind::LocalPair => format!("two local variables among the first 16, packed 4 bits each (`{} a, b`)", op.name),
        ArgKind::BinaryOp => {
            let symbols: Vec<&str> = table.binary_ops.iter().map(|b| b.symbol).collect();
            format!("an operator symbol: {}", symbols.join(" "))
        }
    }
}

/// A stack-effect formula, `base + Σ coef·((arg >> shift) & mask)`, with per-argument values
/// that override it.
#[derive(Clone, Debug)]
struct Formula {
    base: i64,
    terms: Vec<(u8, u32, i64)>,
    exceptions: Vec<(u32, i64)>,
}

impl Formula {
    fn of(e: &StackEffect) -> Formula {
        Formula {
            base: e.base as i64,
            terms: e.terms.iter().map(|&(s, m, c)| (s, m, c as i64)).collect(),
            exceptions: e.exceptions.iter().map(|&(a, v)| (a, v as i64)).collect(),
        }
    }

    fn eval(&self, arg: u32) -> i64 {
        if let Some(&(_, v)) = self.exceptions.iter().find(|(a, _)| *a == arg) {
            return v;
        }
        self.base + self.terms.iter().map(|&(s, m, c)| c * (arg.checked_shr(s as u32).unwrap_or(0) & m) as i64).sum::<i64>()
    }

    fn plus(&self, other: &Formula) -> Formula {
        let mut terms = self.terms.clone();
        for &(s, m, c) in &other.terms {
            match terms.iter_mut().find(|(s2, m2, _)| *s2 == s && *m2 == m) {
                Some(t) => t.2 += c,
                None => terms.push((s, m, c)),
            }
        }
        terms.retain(|t| t.2 != 0);
        let mut args: Vec<u32> = self.exceptions.iter().chain(&other.exceptions).map(|e| e.0).collect();
        args.sort_unstable();
        args.dedup();
        let exceptions = args.iter().map(|&a| (a, self.eval(a) + other.eval(a))).collect();
        Formula { base: self.base + other.base, terms, exceptions }
    }

    /// `1 + (arg & 1)`; `signed` writes a leading `+` on a positive constant (for net effects).
    fn show(&self, signed: bool) -> String {
        let mut s = String::new();
        if self.base != 0 || self.terms.is_empty() {
            s = if signed && self.base > 0 { format!("+{}", self.base) } else { self.base.to_string() };
        }
        for &(shift, mask, coef) in &self.terms {
            let mut field = "arg".to_string();
            if shift > 0 {
                field = format!("(arg >> {shift})");
            }
            if mask != u32::MAX {
                field = if mask < 16 { format!("({field} & {mask})") } else { format!("({field} & 0x{mask:x})") };
            }
            let magnitude = if coef.abs() == 1 { field } else { format!("{}·{field}", coef.abs()) };
            if s.is_empty() {
                s = if coef < 0 { format!("-{magnitude}") } else { magnitude };
            } else {
                s = format!("{s} {} {magnitude}", if coef < 0 { '-' } else { '+' });
            }
        }
        for &(arg, v) in &self.exceptions {
            let _ = write!(s, ", but {v} for arg {arg}");
        }
        s
    }
}

/// `pyasm explain --list`: every instruction of a version with its operand kind, cache count
/// and the first sentence of its description.
pub fn list(table: &VersionTable) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Python {}: {} opcodes and {} pyasm jump names", table.version, table.opcodes.len(), table.pseudo_jumps.len());
    let _ = writeln!(out, "{:>4}  {:<34} {:<9} {:>6}  what it does", "num", "name", "operand", "caches");
    let mut ops: Vec<&OpInfo> = table.opcodes.iter().collect();
    ops.sort_by_key(|o| o.code);
    for op in ops {
        let mut summary = describe(op.name).map(|e| e.summary().to_string()).unwrap_or_default();
        if summary.chars().count() > 72 {
            summary = summary.chars().take(71).collect::<String>() + "…";
        }
        let _ = writeln!(out, "{:>4}  {:<34} {:<9} {:>6}  {}", op.code, op.name, kind_word(op.arg), op.caches, summary);
    }
    for p in table.pseudo_jumps {
        let to = match p.backward {
            Some(b) => format!("{} or {b}", p.forward),
            None => p.forward.to_string(),
        };
        let _ = writeln!(out, "{:>4}  {:<34} {:<9} {:>6}  pyasm picks {to} from where the label lies", "-", p.name, "label", "-");
    }
    out
}

fn kind_word(k: ArgKind) -> &'static str {
    match k {
        ArgKind::None => "-",
        ArgKind::Number => "number",
        ArgKind::Enum => "named",
        ArgKind::LocalPair => "local pair",
        ArgKind::Const => "const",
        ArgKind::Name => "name",
        ArgKind::Local => "local",
        ArgKind::Free => "cell/free",
        ArgKind::JumpForward => "label >",
        ArgKind::JumpBackward => "label <",
        ArgKind::JumpAbsolute => "label",
        ArgKind::Compare => "compare",
        ArgKind::BinaryOp => "operator",
    }
}

/// Appends `text` wrapped at 96 columns, each line starting with `indent`.
fn wrap(out: &mut String, text: &str, indent: &str) {
    const WIDTH: usize = 96;
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        if line.len() > indent.len() && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if line.len() > indent.len() {
        out.push_str(&line);
        out.push('\n');
    }
}
