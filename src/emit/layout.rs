//! Instruction layout: each instruction becomes its EXTENDED_ARG prefixes, its own code unit
//! and its CACHE units; jump offsets are computed to a fixed point (a longer jump may need a
//! prefix, which moves everything after it, which may lengthen other jumps). Then the location
//! and exception tables are built over the final offsets.

use crate::diagnostics::{Diagnostic, codes};
use crate::emit::exceptions::{ExceptionEntry, encode_exception_table};
use crate::emit::linetable::encode_locations;
use crate::emit::lnotab::{LineMark, encode_line_numbers};
use crate::opcodes::{ArgKind, VersionTable};
use crate::resolve::{Arg, ResolvedCode};
use crate::verify::Analysis;

/// The encoded body of one code object.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub code: Vec<u8>,
    /// Offset (in code units) where each instruction starts, prefixes included; one extra
    /// entry at the end holds the total length.
    pub offsets: Vec<u32>,
    /// The final argument of each instruction.
    pub args: Vec<u32>,
    pub linetable: Vec<u8>,
    pub exceptiontable: Vec<u8>,
}

/// Number of EXTENDED_ARG prefixes an argument needs.
pub fn prefixes(arg: u32) -> u32 {
    match arg {
        0..=0xFF => 0,
        0x100..=0xFFFF => 1,
        0x1_0000..=0xFF_FFFF => 2,
        _ => 3,
    }
}

pub fn layout(code: &ResolvedCode, analysis: &Analysis, version: &VersionTable) -> Result<Layout, Vec<Diagnostic>> {
    let n = code.instrs.len();
    let mut args: Vec<u32> = code
        .instrs
        .iter()
        .map(|i| match i.arg {
            Arg::Value(v) => v,
            // Where the compiler starts matters: the iteration stops at the first consistent
            // layout it reaches, and a jump can fit both with and without a prefix (a backward
            // jump 255 units long without one is 256 with it).
            Arg::Target(t) if version.jumps_start_at_index => t as u32,
            Arg::Target(_) => 0,
        })
        .collect();
    let mut min_prefixes = vec![0u32; n];
    for &(i, k) in &code.min_prefixes {
        if let Some(m) = min_prefixes.get_mut(i) {
            *m = k.min(3);
        }
    }
    let prefixes_of = |i: usize, arg: u32| prefixes(arg).max(min_prefixes[i]);
    let size = |i: usize, arg: u32| prefixes_of(i, arg) + 1 + code.instrs[i].op.caches as u32;
    let mut offsets = vec![0u32; n + 1];
    // From zero, sizes only grow from one round to the next, so this settles; from the
    // instruction indexes, as in CPython, it settles in practice, and where it would not, the
    // least layout (from zero) is taken instead.
    let mut settled = false;
    for attempt in 0..2 {
        if attempt == 1 {
            for (i, ins) in code.instrs.iter().enumerate() {
                if let Arg::Target(_) = ins.arg {
                    args[i] = 0;
                }
            }
        }
        // From zero the sizes only grow, so that attempt runs until it settles.
        let rounds = if attempt == 0 && version.jumps_start_at_index { 64 } else { usize::MAX };
        for _round in 0..rounds {
            for i in 0..n {
                offsets[i + 1] = offsets[i] + size(i, args[i]);
            }
            let mut changed = false;
            for (i, ins) in code.instrs.iter().enumerate() {
                if let Arg::Target(t) = ins.arg {
                    let end = offsets[i + 1];
                    let target = offsets[t];
                    // Offsets are in code units; a jump argument counts jump units (bytes
                    // up to 3.9).
                    let new = version.jump_arg(match ins.op.arg {
                        ArgKind::JumpForward => target - end,
                        ArgKind::JumpBackward => end - target,
                        ArgKind::JumpAbsolute => target,
                        _ => unreachable!("only jumps have targets"),
                    });
                    if new != args[i] {
                        args[i] = new;
                        changed = true;
                    }
                }
            }
            if !changed {
                settled = true;
                break;
            }
        }
        if settled {
            break;
        }
    }
    debug_assert!(settled, "the jump layout from zero always settles");
    let mut bytes = Vec::with_capacity(offsets[n] as usize * 2);
    let mut units = Vec::with_capacity(n);
    for (i, ins) in code.instrs.iter().enumerate() {
        let arg = args[i];
        let p = prefixes_of(i, arg);
        for k in (1..=p).rev() {
            bytes.push(version.extended_arg);
            bytes.push((arg >> (8 * k)) as u8);
        }
        bytes.push(ins.op.code);
        bytes.push(arg as u8);
        for _ in 0..ins.op.caches {
            bytes.push(version.cache);
            bytes.push(0);
        }
        match units.last_mut() {
            Some((loc, n)) if version.merge_locations && *loc == ins.loc => *n += size(i, arg),
            _ => units.push((ins.loc, size(i, arg))),
        }
    }
    let linetable = if version.block_stack {
        // 3.6–3.10: line numbers only, marked where a `.line` starts a statement; a `.line`
        // directly followed by another is a mark of size 0 (a line without code).
        let line_mark = |line: i32| if line >= 0 { LineMark::Line(line) } else { LineMark::NoLine };
        let mut without_code = code.lines_without_code.iter().peekable();
        let mut marks: Vec<(LineMark, u32)> = Vec::with_capacity(code.instrs.len());
        for (i, ins) in code.instrs.iter().enumerate() {
            while let Some((_, loc)) = without_code.next_if(|(at, _)| *at == i) {
                marks.push((line_mark(loc.line), 0));
            }
            let mark = if ins.line_mark { line_mark(ins.loc.line) } else { LineMark::Inherit };
            marks.push((mark, 2 * size(i, args[i])));
        }
        // After the last instruction: lines whose code was removed at the very end.
        marks.extend(without_code.map(|(_, loc)| (line_mark(loc.line), 0)));
        encode_line_numbers(version.version, code.firstlineno, &marks)
    } else {
        encode_locations(code.firstlineno, &units)
    };
    let entries = exception_entries(code, analysis, &offsets)?;
    Ok(Layout { code: bytes, offsets, args, linetable, exceptiontable: encode_exception_table(&entries) })
}

/// The exception table: runs of instructions with the same innermost `.try` handler, plus
/// the explicit `.exception` entries; sorted, and checked not to overlap.
fn exception_entries(code: &ResolvedCode, analysis: &Analysis, offsets: &[u32]) -> Result<Vec<ExceptionEntry>, Vec<Diagnostic>> {
    let mut entries: Vec<(ExceptionEntry, crate::syntax::ast::Span)> = Vec::new();
    let mut current: Option<(usize, ExceptionEntry)> = None;
    for (i, ins) in code.instrs.iter().enumerate() {
        let key = ins.region.map(|r| {
            let region = &code.regions[r];
            let depth = analysis.region_depth.get(r).copied().flatten().unwrap_or(0);
            (offsets[region.handler], depth, region.lasti, r)
        });
        match (&mut current, key) {
            (Some((_, e)), Some((target, depth, lasti, _))) if e.target == target && e.depth == depth && e.lasti == lasti => {
                e.end = offsets[i + 1];
            }
            (cur, key) => {
                if let Some((r, e)) = cur.take() {
                    entries.push((e, code.regions[r].span));
                }
                if let Some((target, depth, lasti, r)) = key {
                    *cur = Some((r, ExceptionEntry { start: offsets[i], end: offsets[i + 1], target, depth, lasti }));
                }
            }
        }
    }
    if let Some((r, e)) = current {
        entries.push((e, code.regions[r].span));
    }
    for e in &code.entries {
        entries.push((
            ExceptionEntry { start: offsets[e.start], end: offsets[e.end], target: offsets[e.target], depth: e.depth, lasti: e.lasti },
            e.span,
        ));
    }
    entries.sort_by_key(|(e, _)| e.start);
    let mut errors = Vec::new();
    for w in entries.windows(2) {
        if w[1].0.start < w[0].0.end {
            errors.push(
                Diagnostic::error(codes::EXCEPTION_REGION, "two exception-table entries overlap")
                    .with_primary(w[1].1, "this entry")
                    .with_secondary(w[0].1, "overlaps this one")
                    .with_note("use nested .try regions, or make explicit .exception entries disjoint"),
            );
        }
    }
    if errors.is_empty() { Ok(entries.into_iter().map(|(e, _)| e).collect()) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use crate::diagnostics::SourceFiles;

    /// Assembles a module body and returns its co_code as (opname, arg) pairs, CACHEs left out.
    fn code_of(body: &str) -> Vec<(String, u32)> {
        let text = format!(".python 3.11\n.code <module>\n{body}\n.end\n");
        let mut files = SourceFiles::new();
        let f = files.add("t.pyasm", text);
        let out = crate::assemble(&files, f, &Default::default()).unwrap_or_else(|d| panic!("{}", files.render(&d, false)));
        let table = out.version;
        let bytes = &out.module.code;
        let mut v = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let op = table.by_code(bytes[i]).unwrap();
            if op.name != "CACHE" {
                v.push((op.name.to_string(), bytes[i + 1] as u32));
            }
            i += 2;
        }
        v
    }

    fn nops(n: usize) -> String {
        "    NOP\n".repeat(n)
    }

    #[test]
    fn argument_prefix_boundaries() {
        assert_eq!(super::prefixes(255), 0);
        assert_eq!(super::prefixes(256), 1);
        assert_eq!(super::prefixes(0xFFFF), 1);
        assert_eq!(super::prefixes(0x1_0000), 2);
        assert_eq!(super::prefixes(0xFF_FFFF), 2);
        assert_eq!(super::prefixes(0x100_0000), 3);
        assert_eq!(super::prefixes(u32::MAX), 3);
    }

    #[test]
    fn raw_arguments_get_every_prefix_they_need() {
        let c = code_of("    RESUME 0\n    RESUME $0x1020304\n    LOAD_CONST None\n    RETURN_VALUE");
        assert_eq!(&c[1..5], &[
            ("EXTENDED_ARG".into(), 1),
            ("EXTENDED_ARG".into(), 2),
            ("EXTENDED_ARG".into(), 3),
            ("RESUME".into(), 4)
        ]);
    }

    #[test]
    fn forward_jump_just_fits_and_just_does_not() {
        // 255 units between the jump and its target: no prefix.
        let c = code_of(&format!("    RESUME 0\n    JUMP target\n{}target:\n    LOAD_CONST None\n    RETURN_VALUE", nops(255)));
        assert_eq!(c[1], ("JUMP_FORWARD".into(), 255));
        // 256: one EXTENDED_ARG, which does not change a forward distance.
        let c = code_of(&format!("    RESUME 0\n    JUMP target\n{}target:\n    LOAD_CONST None\n    RETURN_VALUE", nops(256)));
        assert_eq!(&c[1..3], &[("EXTENDED_ARG".into(), 1), ("JUMP_FORWARD".into(), 0)]);
    }

    #[test]
    fn backward_jump_grows_past_its_own_prefix() {
        // The distance counts the jump itself: 254 NOPs + the jump = 255, no prefix.
        let c = code_of(&format!("    RESUME 0\nloop:\n{}    JUMP loop", nops(254)));
        assert_eq!(c.last().unwrap(), &("JUMP_BACKWARD".into(), 255));
        // 255 NOPs: 256 needs a prefix, which makes it 257.
        let c = code_of(&format!("    RESUME 0\nloop:\n{}    JUMP loop", nops(255)));
        assert_eq!(&c[c.len() - 2..], &[("EXTENDED_ARG".into(), 1), ("JUMP_BACKWARD".into(), 1)]);
    }

    #[test]
    fn one_prefix_can_push_another_jump_over_the_limit() {
        // Jump A spans jump B; when B needs a prefix, A's distance grows from 255 to 256.
        let body = format!(
            "    RESUME 0\n    JUMP a\n    JUMP b\n{}a:\n    NOP\n{}b:\n    LOAD_CONST None\n    RETURN_VALUE",
            nops(254),
            nops(1)
        );
        let c = code_of(&body);
        // B jumps over 254 + 1 + 1 = 256 units: prefix. A then spans B's two units + 254 = 256.
        assert_eq!(&c[1..5], &[
            ("EXTENDED_ARG".into(), 1),
            ("JUMP_FORWARD".into(), 0),
            ("EXTENDED_ARG".into(), 1),
            ("JUMP_FORWARD".into(), 0)
        ]);
    }

    #[test]
    fn caches_follow_their_instruction_and_count_in_jumps() {
        // BINARY_OP has one cache entry in 3.11; the forward distance includes it.
        let c = code_of("    RESUME 0\n    LOAD_CONST 1\n    LOAD_CONST 2\n    JUMP over\n    NOP\nover:\n    BINARY_OP +\n    RETURN_VALUE");
        assert_eq!(c[3], ("JUMP_FORWARD".into(), 1));
    }
}
