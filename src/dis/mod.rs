//! The disassembler: code objects back to .pyasm text that assembles to the same code objects.
//!
//! It writes the readable form (labels, symbolic operands, `.loc`, `.exception`) and then
//! proves it: the text is assembled again in-process and every field compared with the
//! original. Where the readable form did not reproduce a field (a table order, a flag, an
//! inferred qualname), the explicit directive is added and the check repeated; where even that
//! cannot help (co_code itself), the result says so. It never silently loses information.

pub mod text;

use crate::diagnostics::SourceFiles;
use crate::emit::exceptions::decode_exception_table;
use crate::emit::linetable::{Location, decode_locations};
use crate::emit::lnotab::{LineMark, decode_line_numbers, encode_line_numbers, with_sizes};
use crate::object::{CodeObject, Constant, PyStr};
use crate::opcodes::{ArgKind, OpInfo, VersionTable};
use crate::resolve::{
    CO_NEWLOCALS, CO_OPTIMIZED, CO_VARARGS, CO_VARKEYWORDS, FAST_ARG_KW, FAST_ARG_POS, FAST_ARG_VAR, FAST_CELL, FAST_FREE, FAST_HIDDEN, FAST_LOCAL,
    param_kind,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

/// The outcome of disassembling one module.
#[derive(Debug)]
pub struct Disassembly {
    pub text: String,
    /// Fields that the text does not reproduce, as `code path: field` (empty when exact).
    pub mismatches: Vec<String>,
}

/// Explicit settings added for one code object after a trial assembly showed they are needed.
#[derive(Clone, Default)]
struct Overrides {
    flags: bool,
    stacksize: bool,
    qualname: bool,
    consts: bool,
    names: bool,
    linetable: bool,
    exceptiontable: bool,
    /// 3.6–3.9: jumps keep the EXTENDED_ARG prefixes they had, where the assembler's own
    /// layout would drop some (the peephole optimizer shortened the code after its layout).
    jump_prefixes: bool,
}

struct Decoded<'a> {
    op: &'static OpInfo,
    offset: u32,
    arg: u32,
    /// For jumps: the target offset.
    target: Option<u32>,
    /// EXTENDED_ARG prefixes before it.
    prefixes: u32,
    _code: &'a CodeObject,
}

/// Disassembles a module code object for the given version.
pub fn disassemble(module: &CodeObject, version: &'static VersionTable) -> Result<Disassembly, String> {
    check_depth(module)?;
    let mut all: Vec<&CodeObject> = Vec::new();
    collect(module, &mut all);
    let ids = assign_ids(&all);
    let mut overrides: Vec<Overrides> = all.iter().map(|c| predict(c, version)).collect();
    let filename = common_filename(&all);
    // Each round either proves the text exact or adds the directives that the differences
    // call for; fixing a parent's co_consts can reveal differences in its children.
    let mut round = 0;
    loop {
        round += 1;
        let text = render(&all, &ids, &overrides, filename.as_ref(), version)?;
        let mismatches = trial(&text, module, version, &all, &mut overrides)?;
        let fixable = mismatches.iter().any(|(_, fixable)| *fixable);
        if mismatches.is_empty() || !fixable || round == 8 {
            return Ok(Disassembly { text, mismatches: mismatches.into_iter().map(|(m, _)| m).collect() });
        }
    }
}

/// The listing (see `crate::listing`) of a module read from a .pyc, with the disassembly it
/// was made from.
///
/// It is made by assembling the disassembly, which `disassemble` has already proved to give
/// back the same code objects: so the offsets, bytes, table indexes and stack depths shown are
/// those of the .pyc, computed by the same code that lists hand-written files. Where the proof
/// failed for co_code itself, the mismatches say so and the caller must warn that the bytes
/// shown are pyasm's, not the file's.
pub fn listing(module: &CodeObject, version: &'static VersionTable) -> Result<(String, Disassembly), String> {
    let dis = disassemble(module, version)?;
    let mut files = SourceFiles::new();
    let file = files.add("<dis>", dis.text.as_str());
    let opts = crate::Options { version: Some(version.version), listing: true, ..Default::default() };
    match crate::assemble(&files, file, &opts) {
        Ok(out) => Ok((out.listing.unwrap_or_default(), dis)),
        Err(diags) => Err(format!("the disassembly does not assemble:\n{}", files.render(&diags, false))),
    }
}

/// For each constant, the first index holding an equal one (itself, unless duplicated).
fn first_equal(consts: &[Constant]) -> Vec<usize> {
    let mut first: HashMap<&Constant, usize> = HashMap::new();
    consts
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            Constant::Code(_) => i,
            _ => *first.entry(c).or_insert(i),
        })
        .collect()
}

/// The directives the readable form will need, predicted from the assembler's rules so that
/// most modules are exact on the first trial: co_consts and co_names must be declared when
/// first-use order (with a function's leading None) does not give them.
fn predict(code: &CodeObject, version: &'static VersionTable) -> Overrides {
    let mut ov = Overrides::default();
    let Ok(instrs) = decode(code, version) else { return ov };
    let dup = first_equal(&code.consts).iter().enumerate().any(|(i, &f)| f != i);
    let comprehension = crate::resolve::is_comprehension(&code.name);
    let mut order: Vec<usize> = Vec::new();
    let mut leading_none_missing = false;
    if has_docstring(code, version) {
        order.push(0); // written by `.docstring`
    } else if code.flags & CO_OPTIMIZED != 0 && !comprehension && !version.docstring_flag {
        // The assembler puts None first in a function's constants.
        match code.consts.first() {
            Some(Constant::None) => order.push(0),
            _ => leading_none_missing = true,
        }
    }
    let mut seen_names: Vec<usize> = Vec::new();
    for d in &instrs {
        let index = (d.arg >> d.op.shift) as usize;
        match d.op.arg {
            ArgKind::Const if !order.contains(&index) => order.push(index),
            ArgKind::Name if !seen_names.contains(&index) => seen_names.push(index),
            _ => {}
        }
    }
    let consts_ok = order.len() == code.consts.len() && order.iter().enumerate().all(|(k, &i)| i == k);
    ov.consts = dup || leading_none_missing || !consts_ok;
    ov.names = seen_names.len() != code.names.len() || seen_names.iter().enumerate().any(|(k, &i)| i != k);
    if version.block_stack {
        ov.linetable = old_line_marks(code, &instrs, version).is_none();
    }
    ov
}

/// 3.6–3.10: the line marks of each instruction (see [`crate::emit::lnotab`]), if they encode
/// back to the code's own table; `None` when only the raw table can say it.
fn old_line_marks(code: &CodeObject, instrs: &[Decoded], version: &VersionTable) -> Option<Vec<Vec<LineMark>>> {
    let code_units = code.code.len() as u32 / 2;
    let sizes: Vec<u32> = instrs
        .iter()
        .enumerate()
        .map(|(k, d)| 2 * (instrs.get(k + 1).map_or(code_units, |n| n.offset) - d.offset))
        .collect();
    let marks = decode_line_numbers(version.version, code.firstlineno, &code.linetable, &sizes).ok()?;
    // The assembler marks an instruction once per `.line` before it; several marks (lines whose
    // code the peephole optimizer removed) become marks of size 0.
    (encode_line_numbers(version.version, code.firstlineno, &with_sizes(&marks, &sizes)) == code.linetable).then_some(marks)
}

/// 3.14+: a flagged docstring, which the text writes with `.docstring`.
fn has_docstring(code: &CodeObject, version: &VersionTable) -> bool {
    version.docstring_flag
        && code.flags & crate::resolve::CO_HAS_DOCSTRING != 0
        && matches!(code.consts.first(), Some(Constant::Str(_)))
}

/// The text format nests constants at most `syntax::MAX_NESTING` deep and code objects at
/// most `resolve::MAX_CODE_NESTING`; deeper input is refused here, before any recursive walk
/// (a hostile .pyc may nest up to marshal's limit of 2000).
fn check_depth(module: &CodeObject) -> Result<(), String> {
    let mut stack: Vec<(&Constant, usize, usize)> = Vec::new(); // (constant, constant depth, code depth)
    let mut codes: Vec<(&CodeObject, usize)> = vec![(module, 0)];
    while let Some((code, level)) = codes.pop() {
        if level > crate::resolve::MAX_CODE_NESTING {
            return Err(format!("code objects are nested more than {} deep", crate::resolve::MAX_CODE_NESTING));
        }
        stack.extend(code.consts.iter().map(|c| (c, 1, level)));
        while let Some((c, depth, level)) = stack.pop() {
            if depth > crate::syntax::MAX_NESTING {
                return Err(format!("{}: a constant is nested more than {} deep", code.qualname, crate::syntax::MAX_NESTING));
            }
            match c {
                Constant::Tuple(items) | Constant::FrozenSet(items) | Constant::Slice(items) => stack.extend(items.iter().map(|i| (i, depth + 1, level))),
                Constant::Code(child) => codes.push((child, level + 1)),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Every code object, module first, then depth-first in co_consts order.
fn collect<'a>(code: &'a CodeObject, out: &mut Vec<&'a CodeObject>) {
    out.push(code);
    for c in &code.consts {
        if let Constant::Code(child) = c {
            collect(child, out);
        }
    }
}

fn identity(code: &CodeObject) -> *const CodeObject {
    code as *const CodeObject
}

/// Unique IDs: the module is `<module>`; others their name, else their qualname, else the
/// name with a number.
fn assign_ids(all: &[&CodeObject]) -> HashMap<*const CodeObject, PyStr> {
    let mut count: HashMap<&PyStr, usize> = HashMap::new();
    for c in &all[1..] {
        *count.entry(&c.name).or_default() += 1;
    }
    let mut qcount: HashMap<&PyStr, usize> = HashMap::new();
    for c in &all[1..] {
        *qcount.entry(&c.qualname).or_default() += 1;
    }
    let module = PyStr::from("<module>");
    let mut used: HashSet<PyStr> = HashSet::new();
    used.insert(module.clone());
    let mut ids = HashMap::new();
    ids.insert(identity(all[0]), module.clone());
    for c in &all[1..] {
        let mut id = if count[&c.name] == 1 && c.name != module {
            c.name.clone()
        } else if qcount[&c.qualname] == 1 && c.qualname != module {
            c.qualname.clone()
        } else {
            c.name.clone()
        };
        if used.contains(&id) {
            let base = id.to_lossy();
            let mut k = 2;
            loop {
                let candidate = PyStr::from(format!("{base}#{k}"));
                if !used.contains(&candidate) {
                    id = candidate;
                    break;
                }
                k += 1;
            }
        }
        used.insert(id.clone());
        ids.insert(identity(c), id);
    }
    ids
}

fn common_filename(all: &[&CodeObject]) -> Option<PyStr> {
    let first = &all[0].filename;
    all.iter().all(|c| &c.filename == first).then(|| first.clone())
}

fn decode<'a>(code: &'a CodeObject, version: &'static VersionTable) -> Result<Vec<Decoded<'a>>, String> {
    let bytes = &code.code;
    if bytes.len() % 2 != 0 {
        return Err(format!("{}: co_code has an odd length ({})", code.qualname, bytes.len()));
    }
    let units = bytes.len() / 2;
    let mut out = Vec::new();
    let mut i = 0;
    while i < units {
        let start = i;
        let mut arg: u32 = 0;
        let mut op_byte = bytes[2 * i];
        let mut prefixes = 0;
        while op_byte == version.extended_arg {
            arg = (arg << 8) | bytes[2 * i + 1] as u32;
            i += 1;
            prefixes += 1;
            if i >= units || prefixes > 3 {
                return Err(format!("{}: EXTENDED_ARG at offset {} has no instruction after it", code.qualname, start * 2));
            }
            op_byte = bytes[2 * i];
        }
        arg = (arg << 8) | bytes[2 * i + 1] as u32;
        let op = version
            .by_code(op_byte)
            .ok_or_else(|| format!("{}: unknown opcode {op_byte} at offset {}", code.qualname, i * 2))?;
        if op.name == "CACHE" {
            return Err(format!("{}: a CACHE entry at offset {} does not follow an instruction", code.qualname, i * 2));
        }
        let end = i + 1 + op.caches as usize;
        if end > units {
            return Err(format!("{}: {} at offset {} is cut off (its caches run past the end)", code.qualname, op.name, i * 2));
        }
        for k in i + 1..end {
            if bytes[2 * k] != version.cache || bytes[2 * k + 1] != 0 {
                return Err(format!("{}: cache entry at offset {} is not zero", code.qualname, k * 2));
            }
        }
        // Targets are code units; jump arguments count jump units (bytes up to 3.9), and an
        // odd byte offset is no instruction.
        let units_arg = version.jump_code_units(arg).unwrap_or(u32::MAX);
        let target = match op.arg {
            ArgKind::JumpForward => Some((end as u32).saturating_add(units_arg)),
            ArgKind::JumpBackward => (end as u32).checked_sub(units_arg).or(Some(u32::MAX)),
            ArgKind::JumpAbsolute => Some(units_arg),
            _ => None,
        };
        out.push(Decoded { op, offset: start as u32, arg, target, prefixes, _code: code });
        i = end;
    }
    Ok(out)
}

/// Renders every code object.
fn render(
    all: &[&CodeObject],
    ids: &HashMap<*const CodeObject, PyStr>,
    overrides: &[Overrides],
    filename: Option<&PyStr>,
    version: &'static VersionTable,
) -> Result<String, String> {
    let mut out = String::new();
    let _ = writeln!(out, "# Disassembled by pyasm {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, ".python {}", version.version);
    if let Some(f) = filename {
        let _ = writeln!(out, ".filename {}", text::string(f));
    }
    for (k, code) in all.iter().enumerate() {
        out.push('\n');
        render_code(&mut out, code, ids, &overrides[k], filename.is_none(), version)?;
    }
    Ok(out)
}

fn flag_words(flags: u32) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = flags;
    for (w, b) in crate::resolve::FLAG_WORDS {
        if flags & b != 0 {
            parts.push(w.to_string());
            rest &= !b;
        }
    }
    if rest != 0 || parts.is_empty() {
        parts.push(format!("0x{rest:x}"));
    }
    parts.join(", ")
}

fn render_code(
    out: &mut String,
    code: &CodeObject,
    ids: &HashMap<*const CodeObject, PyStr>,
    ov: &Overrides,
    own_filename: bool,
    version: &'static VersionTable,
) -> Result<(), String> {
    let id = &ids[&identity(code)];
    let instrs = decode(code, version)?;
    let is_function = code.flags & CO_OPTIMIZED != 0;
    // Header with the signature.
    let _ = write!(out, ".code {}", text::name(id));
    // In u64: the counts come from the file and may be near 2^31 each.
    let nparams = code.argcount as u64
        + code.kwonlyargcount as u64
        + u64::from(code.flags & CO_VARARGS != 0)
        + u64::from(code.flags & CO_VARKEYWORDS != 0);
    if is_function {
        if nparams > code.localsplus.len() as u64 {
            return Err(format!("{}: more parameters than local variables", code.qualname));
        }
        let pname = |i: u32| text::name(&code.localsplus[i as usize].name);
        let mut params: Vec<String> = Vec::new();
        for i in 0..code.argcount {
            params.push(pname(i));
            if code.posonlyargcount > 0 && i + 1 == code.posonlyargcount {
                params.push("/".into());
            }
        }
        let mut next = code.argcount + code.kwonlyargcount;
        if code.flags & CO_VARARGS != 0 {
            params.push(format!("*{}", pname(next)));
            next += 1;
        } else if code.kwonlyargcount > 0 {
            params.push("*".into());
        }
        for i in code.argcount..code.argcount + code.kwonlyargcount {
            params.push(pname(i));
        }
        if code.flags & CO_VARKEYWORDS != 0 {
            params.push(format!("**{}", pname(next)));
        }
        let _ = write!(out, "({})", params.join(", "));
    }
    out.push('\n');
    if &code.name != id {
        let _ = writeln!(out, "    .name {}", text::string(&code.name));
    }
    if ov.qualname {
        let _ = writeln!(out, "    .qualname {}", text::string(&code.qualname));
    }
    if own_filename {
        let _ = writeln!(out, "    .filename {}", text::string(&code.filename));
    }
    let _ = writeln!(out, "    .firstlineno {}", code.firstlineno);
    if ov.flags || (!is_function && code.flags & (CO_NEWLOCALS | CO_VARARGS | CO_VARKEYWORDS) != 0) {
        let _ = writeln!(out, "    .flags {}", flag_words(code.flags));
    }
    if ov.stacksize {
        let _ = writeln!(out, "    .stacksize {}", code.stacksize);
    }
    // Variables beyond the parameters.
    let start = if is_function { nparams as usize } else { 0 };
    let mut locals = Vec::new();
    let mut cells = Vec::new();
    let mut frees = Vec::new();
    let mut hidden = Vec::new();
    // 3.14+: the assembler derives parameters' argument kinds from the signature, so they
    // are written only through it; they must be what it would derive.
    let arg_bits = FAST_ARG_POS | FAST_ARG_KW | FAST_ARG_VAR;
    for (i, slot) in code.localsplus.iter().enumerate() {
        let wanted =
            if version.param_kinds { param_kind(i, code.argcount, code.posonlyargcount, code.kwonlyargcount, code.flags) } else { 0 };
        if slot.kind & arg_bits != wanted {
            return Err(format!(
                "{}: local `{}` has argument kind bits 0x{:x} where its signature gives 0x{wanted:x}, which the text form cannot express",
                code.qualname,
                slot.name,
                slot.kind & arg_bits
            ));
        }
        if slot.kind & FAST_HIDDEN != 0 && version.hidden_locals {
            hidden.push(text::name(&slot.name));
        }
        if slot.kind & FAST_LOCAL != 0 && i >= start {
            locals.push(text::name(&slot.name));
        }
        if slot.kind & FAST_CELL != 0 {
            cells.push(text::name(&slot.name));
        }
        if slot.kind & FAST_FREE != 0 {
            frees.push(text::name(&slot.name));
        }
        let hidden_bit = if version.hidden_locals { FAST_HIDDEN } else { 0 };
        let kind = slot.kind & !(arg_bits & wanted) & !hidden_bit;
        if kind & !(FAST_LOCAL | FAST_CELL | FAST_FREE) != 0 || kind & (FAST_LOCAL | FAST_CELL | FAST_FREE) == 0 {
            return Err(format!("{}: local `{}` has kind 0x{:x}, which Python {} does not use", code.qualname, slot.name, slot.kind, version.version));
        }
    }
    for (dir, list) in [(".locals", &locals), (".cells", &cells), (".freevars", &frees), (".hidden", &hidden)] {
        if !list.is_empty() {
            let _ = writeln!(out, "    {dir} {}", list.join(", "));
        }
    }
    let mut code_ref = |c: &CodeObject| text::name(&ids[&identity(c)]);
    // `.docstring` declares co_consts[0] (and, 3.14+, the flag); `.consts` the rest.
    let doc = has_docstring(code, version);
    if doc {
        let _ = writeln!(out, "    .docstring {}", text::constant(&code.consts[0], &mut code_ref));
    }
    if ov.consts {
        let rest = if doc { &code.consts[1..] } else { &code.consts[..] };
        let parts: Vec<String> = rest.iter().map(|c| text::constant(c, &mut code_ref)).collect();
        let _ = writeln!(out, "    .consts {}", parts.join(", "));
    }
    if ov.names && !code.names.is_empty() {
        let parts: Vec<String> = code.names.iter().map(text::name).collect();
        let _ = writeln!(out, "    .names {}", parts.join(", "));
    }
    if ov.linetable {
        let _ = writeln!(out, "    .linetable {}", text::bytes(&code.linetable));
    }
    if ov.exceptiontable {
        let _ = writeln!(out, "    .exceptiontable {}", text::bytes(&code.exceptiontable));
    }

    // Labels: jump targets and exception-table boundaries.
    let code_len = code.code.len() as u32 / 2;
    let starts: HashSet<u32> = instrs.iter().map(|d| d.offset).chain([code_len]).collect();
    let entries = if ov.exceptiontable {
        Vec::new()
    } else {
        decode_exception_table(&code.exceptiontable).map_err(|e| format!("{}: exception table: {e}", code.qualname))?
    };
    #[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
    enum Role {
        Handler,
        Loop,
        Jump,
        Block,
    }
    let mut roles: BTreeMap<u32, Role> = BTreeMap::new();
    let mut mark = |off: u32, role: Role| -> Result<(), String> {
        if !starts.contains(&off) {
            return Err(format!("{}: offset {} is not the start of an instruction", code.qualname, off as u64 * 2));
        }
        let r = roles.entry(off).or_insert(role);
        *r = (*r).min(role);
        Ok(())
    };
    for d in &instrs {
        if let Some(t) = d.target {
            mark(t, if t <= d.offset { Role::Loop } else { Role::Jump })?;
        }
    }
    for e in &entries {
        mark(e.start, Role::Block)?;
        mark(e.end, Role::Block)?;
        mark(e.target, Role::Handler)?;
    }
    let names: HashMap<u32, String> = roles
        .iter()
        .enumerate()
        .map(|(k, (off, role))| {
            let prefix = match role {
                Role::Handler => "handler",
                Role::Loop => "loop",
                Role::Jump => "to",
                Role::Block => "block",
            };
            (*off, format!("{prefix}{}", k + 1))
        })
        .collect();
    for e in &entries {
        let _ = writeln!(
            out,
            "    .exception {}, {}, {}, {}{}",
            names[&e.start],
            names[&e.end],
            names[&e.target],
            e.depth,
            if e.lasti { ", lasti" } else { "" }
        );
    }

    // 3.6–3.10: line marks, one `.line` (or `.loc none`) per mark. A table without any (all
    // code on the first line) still needs one `.line`, or the assembler would number the
    // instructions by their lines in the text; one for co_firstlineno at the start writes
    // nothing in any version's table.
    let mut old_marks = if version.block_stack && !ov.linetable { old_line_marks(code, &instrs, version) } else { None };
    if let Some(marks) = old_marks.as_mut() {
        if !instrs.is_empty() && marks.iter().all(Vec::is_empty) {
            marks[0].push(LineMark::Line(code.firstlineno));
        }
    }
    // Positions of each instruction (from the unit it starts at).
    let mut unit_locs: Vec<Location> = Vec::new();
    if !ov.linetable && !version.block_stack {
        let decoded = decode_locations(code.firstlineno, &code.linetable).map_err(|e| format!("{}: location table: {e}", code.qualname))?;
        for (loc, n) in decoded {
            for _ in 0..n {
                unit_locs.push(loc);
            }
        }
    }
    let mut current: Option<Location> = None;
    let firsts = first_equal(&code.consts);
    for (k, d) in instrs.iter().enumerate() {
        if let Some(label) = names.get(&d.offset) {
            let _ = writeln!(out, "{label}:");
        }
        if version.block_stack {
            if let Some(marks) = &old_marks {
                for m in &marks[k] {
                    match m {
                        LineMark::Line(l) => {
                            let _ = writeln!(out, "    .line {l}");
                        }
                        LineMark::NoLine => {
                            let _ = writeln!(out, "    .loc none");
                        }
                        LineMark::Inherit => {}
                    }
                }
            }
        } else if !ov.linetable {
            let loc = unit_locs.get(d.offset as usize).copied().unwrap_or(Location::NONE);
            if current != Some(loc) {
                let _ = writeln!(out, "    .loc {}", fmt_loc(loc));
                current = Some(loc);
            }
        } else if current.is_none() {
            // A raw table still needs explicit-position mode.
            let _ = writeln!(out, "    .loc none");
            current = Some(Location::NONE);
        }
        // 3.6–3.9: prefixes the peephole optimizer left after shortening the code, which the
        // assembler's layout would not choose: more than the argument needs, or (when a trial
        // showed it) a jump's that a shorter layout fits without. Each `EXTENDED_ARG` line
        // asks for one.
        let natural = crate::emit::layout::prefixes(d.arg);
        if version.block_stack && d.prefixes > 0 && (d.prefixes > natural || (d.op.is_jump() && ov.jump_prefixes)) {
            for _ in 0..d.prefixes {
                let _ = writeln!(out, "    EXTENDED_ARG");
            }
        }
        let operand = operand(d, code, &firsts, &names, ids, version)?;
        if operand.is_empty() {
            let _ = writeln!(out, "    {}", d.op.name);
        } else {
            let _ = writeln!(out, "    {} {}", d.op.name, operand);
        }
    }
    // Lines whose code the peephole optimizer removed at the very end.
    for m in old_marks.as_ref().and_then(|marks| marks.get(instrs.len())).map_or(&[][..], Vec::as_slice) {
        if let LineMark::Line(l) = m {
            let _ = writeln!(out, "    .line {l}");
        }
    }
    if let Some(label) = names.get(&code_len) {
        let _ = writeln!(out, "{label}:");
    }
    out.push_str(".end\n");
    Ok(())
}

fn fmt_loc(l: Location) -> String {
    if l == Location::NONE {
        "none".into()
    } else if l.col < 0 && l.end_col < 0 && l.end_line == l.line && l.line >= 0 {
        l.line.to_string()
    } else if l.line >= 0 && l.col >= 0 && l.end_col >= 0 && l.end_line == l.line {
        format!("{}:{}-{}", l.line, l.col, l.end_col)
    } else if l.line >= 0 && l.col >= 0 && l.end_col >= 0 && l.end_line >= 0 {
        format!("{}:{}-{}:{}", l.line, l.col, l.end_line, l.end_col)
    } else {
        let f = |v: i32| if v < 0 { "none".to_string() } else { v.to_string() };
        format!("{}, {}, {}, {}", f(l.line), f(l.end_line), f(l.col), f(l.end_col))
    }
}

fn operand(
    d: &Decoded,
    code: &CodeObject,
    firsts: &[usize],
    labels: &HashMap<u32, String>,
    ids: &HashMap<*const CodeObject, PyStr>,
    version: &VersionTable,
) -> Result<String, String> {
    let op = d.op;
    let raw = || format!("${}", d.arg);
    let index = (d.arg >> op.shift) as usize;
    let flags = d.arg & ((1u32 << op.shift) - 1);
    // `main, word, …` when flag words cover `bits` exactly; empty (so raw) when they do not.
    let with_flags = |main: String, bits: u32| -> String {
        if bits == 0 {
            return main;
        }
        let words: Vec<&str> = op.flags.iter().filter(|f| bits & f.bits == f.bits && f.bits != 0).map(|f| f.word).collect();
        let covered = op.flags.iter().filter(|f| words.contains(&f.word)).fold(0, |a, f| a | f.bits);
        if covered != bits {
            return String::new();
        }
        format!("{main}, {}", words.join(", "))
    };
    // A name with two slots (cell and free, local and free) is written by name only for its
    // first slot: by name, the first would be taken.
    let slot_name = |i: usize| match code.localsplus.get(i) {
        Some(s) if code.localsplus.iter().position(|o| o.name == s.name) == Some(i) => Some(text::name(&s.name)),
        _ => None,
    };
    let s = match op.arg {
        ArgKind::None => {
            if d.arg != 0 {
                raw()
            } else {
                String::new()
            }
        }
        ArgKind::Number => {
            // Flag words where they decompose the argument exactly (MAKE_FUNCTION), else the number.
            let bitwise = op.name == "MAKE_FUNCTION";
            if bitwise && d.arg != 0 {
                let words: Vec<&str> = op.flags.iter().filter(|f| d.arg & f.bits != 0).map(|f| f.word).collect();
                let covered = op.flags.iter().filter(|f| d.arg & f.bits != 0).fold(0, |a, f| a | f.bits);
                if covered == d.arg { words.join(", ") } else { d.arg.to_string() }
            } else {
                d.arg.to_string()
            }
        }
        ArgKind::Const => match code.consts.get(index) {
            // A duplicate (NaNs, say) is named by index: by value the first copy would be taken.
            Some(_) if firsts[index] != index => raw(),
            Some(c) => {
                let mut code_ref = |c: &CodeObject| text::name(&ids[&identity(c)]);
                text::constant(c, &mut code_ref)
            }
            None => raw(),
        },
        ArgKind::Name => match code.names.get(index) {
            Some(n) => with_flags(text::name(n), flags),
            None => String::new(),
        },
        // 3.6–3.10: plain operands index co_varnames (the first slots), cell and free ones
        // co_cellvars + co_freevars, by name the first cell or free slot of that name.
        ArgKind::Free if version.block_stack => {
            let derefs = &code.localsplus[crate::object::varnames_len(&code.localsplus)..];
            match derefs.get(index) {
                Some(n) if derefs.iter().position(|o| o.name == n.name) == Some(index) => text::name(&n.name),
                _ => raw(),
            }
        }
        ArgKind::Local | ArgKind::Free => slot_name(index).unwrap_or_else(raw),
        ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute => {
            let t = d.target.unwrap_or(u32::MAX);
            labels.get(&t).cloned().ok_or_else(|| format!("{}: jump at offset {} lands outside the code", code.qualname, d.offset as u64 * 2))?
        }
        ArgKind::Compare => match version.compare_ops.get(index) {
            // The operator's own bits must be there; any others must be flag words.
            Some(c) if flags & c.bits == c.bits => with_flags(crate::opcodes::operator_word(c.symbol), flags & !c.bits),
            _ => raw(),
        },
        ArgKind::Enum => op.flags.iter().find(|f| f.bits == d.arg).map(|f| f.word.to_string()).unwrap_or_else(|| d.arg.to_string()),
        ArgKind::LocalPair => {
            match (d.arg < 256, slot_name((d.arg >> 4) as usize), slot_name((d.arg & 15) as usize)) {
                (true, Some(a), Some(b)) => format!("{a}, {b}"),
                _ => raw(),
            }
        }
        ArgKind::BinaryOp => version.binary_ops.get(d.arg as usize).map(|b| b.symbol.to_string()).unwrap_or_else(raw),
    };
    Ok(if s.is_empty() && op.arg != ArgKind::None { raw() } else { s })
}

/// Assembles `text` and compares with the original; marks the overrides that would fix each
/// difference. Returns (description, fixable) for every difference.
fn trial(
    text: &str,
    module: &CodeObject,
    version: &'static VersionTable,
    all: &[&CodeObject],
    overrides: &mut [Overrides],
) -> Result<Vec<(String, bool)>, String> {
    let mut files = SourceFiles::new();
    let file = files.add("<dis>", text);
    let opts = crate::Options { version: Some(version.version), ..Default::default() };
    let assembled = match crate::assemble(&files, file, &opts) {
        Ok(a) => a,
        Err(diags) => {
            let rendered = files.render(&diags, false);
            return Err(format!("the disassembly does not assemble:\n{rendered}"));
        }
    };
    let index: HashMap<*const CodeObject, usize> = all.iter().enumerate().map(|(k, c)| (identity(c), k)).collect();
    let mut out = Vec::new();
    compare_tree(module, &assembled.module, version, &index, overrides, &mut out);
    Ok(out)
}

/// Compares two code objects and, where their constants line up, their children.
fn compare_tree(
    a: &CodeObject,
    b: &CodeObject,
    version: &VersionTable,
    index: &HashMap<*const CodeObject, usize>,
    overrides: &mut [Overrides],
    out: &mut Vec<(String, bool)>,
) {
    let path = if a.qualname.as_wtf8().is_empty() { a.name.to_lossy() } else { a.qualname.to_lossy() };
    let ov = &mut overrides[index[&identity(a)]];
    let start = out.len();
    let mut diff = |field: &str, set: &mut bool| {
        out.push((format!("{path}: {field}"), !*set));
        *set = true;
    };
    if a.flags != b.flags {
        diff("co_flags", &mut ov.flags);
    }
    if a.stacksize != b.stacksize {
        diff("co_stacksize", &mut ov.stacksize);
    }
    // Before 3.11 there is no co_qualname (the loaded one is empty, the assembler's unused).
    if a.qualname != b.qualname && !version.block_stack {
        diff("co_qualname", &mut ov.qualname);
    }
    if !consts_equal(&a.consts, &b.consts) {
        diff("co_consts", &mut ov.consts);
    }
    if a.names != b.names {
        diff("co_names", &mut ov.names);
    }
    // The line table follows the code's layout: judge it once co_code is right (wrong
    // constant or name indexes change argument sizes, and with them every offset).
    if a.linetable != b.linetable && a.code == b.code {
        diff("co_linetable", &mut ov.linetable);
    }
    if a.exceptiontable != b.exceptiontable {
        diff("co_exceptiontable", &mut ov.exceptiontable);
    }
    // 3.6–3.9: a layout the assembler settles differently (see `Overrides::jump_prefixes`),
    // once the constants and names are right.
    let judged_code = !out[start..].iter().any(|(_, fixable)| *fixable);
    let mut code_fixable = false;
    if a.code != b.code && judged_code && version.block_stack && !ov.jump_prefixes {
        out.push((format!("{path}: co_code"), true));
        ov.jump_prefixes = true;
        code_fixable = true;
    }
    let fixed_fields = [
        ("co_code", a.code == b.code || code_fixable),
        ("co_argcount", a.argcount == b.argcount),
        ("co_posonlyargcount", a.posonlyargcount == b.posonlyargcount),
        ("co_kwonlyargcount", a.kwonlyargcount == b.kwonlyargcount),
        ("co_localsplus", a.localsplus == b.localsplus),
        ("co_nlocals", a.nlocals == b.nlocals),
        ("co_filename", a.filename == b.filename),
        ("co_name", a.name == b.name),
        ("co_firstlineno", a.firstlineno == b.firstlineno),
    ];
    for (field, same) in fixed_fields {
        // co_code follows co_consts and co_names: judge it once those are right.
        if !same && !(field == "co_code" && out.iter().any(|(m, fixable)| *fixable && m.starts_with(&path))) {
            out.push((format!("{path}: {field}"), false));
        }
    }
    if a.consts.len() == b.consts.len() {
        for (x, y) in a.consts.iter().zip(&b.consts) {
            if let (Constant::Code(x), Constant::Code(y)) = (x, y) {
                compare_tree(x, y, version, index, overrides, out);
            }
        }
    }
}

/// Constants compared shallowly for code objects (they are compared one by one by `trial`).
fn consts_equal(a: &[Constant], b: &[Constant]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Constant::Code(_), Constant::Code(_)) => true,
            _ => x == y,
        })
}
