//! The depth analysis: follows every path through a resolved code object and tracks the stack
//! depth, the way CPython computes `co_stacksize`. It reports underflow, depths that disagree
//! where paths meet, and execution running off the end.

use super::Analysis;
use crate::diagnostics::{Diagnostic, codes};
use crate::opcodes::{DepthMerge, Flow};
use crate::resolve::{Arg, ResolvedCode};

/// The depth walk; `diags` holds what the checks before it found (none of them errors).
pub fn walk(code: &ResolvedCode, mut diags: Vec<Diagnostic>) -> (Analysis, Vec<Diagnostic>) {
    let n = code.instrs.len();
    let mut depth: Vec<Option<u32>> = vec![None; n];
    let mut region_depth: Vec<Option<u32>> = code.regions.iter().map(|r| r.depth).collect();
    // (instruction, depth, instruction we came from)
    let mut work: Vec<(usize, i64, Option<usize>)> = Vec::new();
    let mut max: i64 = 0;
    let mut reported_mismatch = vec![false; n];
    if n > 0 {
        let generator = code.final_flags() & (crate::resolve::CO_GENERATOR | crate::resolve::CO_COROUTINE | crate::resolve::CO_ASYNC_GENERATOR) != 0;
        let entry = if generator { i64::from(code.version.generator_entry_depth) } else { 0 };
        work.push((0, entry, None));
    }
    let seed_handler = |r: usize, d: u32, work: &mut Vec<(usize, i64, Option<usize>)>, max: &mut i64| {
        let region = &code.regions[r];
        let hd = d as i64 + 1 + i64::from(region.lasti);
        *max = (*max).max(hd);
        work.push((region.handler, hd, None));
    };
    for (r, region) in code.regions.iter().enumerate() {
        if let (Some(d), Some(_)) = (region.depth, region.first) {
            seed_handler(r, d, &mut work, &mut max);
        }
    }
    // The regions that start at each instruction, looked up once per instruction reached.
    let mut starting_here: crate::resolve::hash::FastMap<usize, Vec<usize>> = crate::resolve::hash::FastMap::default();
    for (r, region) in code.regions.iter().enumerate() {
        if let Some(first) = region.first {
            starting_here.entry(first).or_default().push(r);
        }
    }
    for e in &code.entries {
        let hd = e.depth as i64 + 1 + i64::from(e.lasti);
        max = max.max(hd);
        work.push((e.target, hd, None));
    }
    // 3.6–3.10 (block stack): the compilers let paths meet with different depths — a handler
    // is entered with the values its SETUP_* jump pushes, a `finally` block's normal entry
    // with fewer, and what follows inherits the difference — and keep the larger depth,
    // walking again from where it grew. So does this analysis there, with a bound on the
    // walks in case some loop made the depth grow forever.
    let mut raises_left: usize = 64 * n + 1024;
    let mut maybe_underflow: Vec<usize> = Vec::new();
    while let Some((i, d, from)) = work.pop() {
        if i >= n {
            continue; // reported by check_targets / the fall-through check below
        }
        if depth[i].is_some() && code.version.depth_merge == DepthMerge::First {
            continue;
        }
        if let (Some(existing), DepthMerge::Larger) = (depth[i], code.version.depth_merge) {
            if d <= existing as i64 {
                continue;
            }
            raises_left = raises_left.saturating_sub(1);
            if raises_left == 0 {
                diags.push(
                    Diagnostic::error(codes::STACK_MISMATCH, "the stack depth keeps growing around a loop")
                        .with_primary(code.instrs[i].span, format!("reached again with depth {d}, more than {existing} before"))
                        .with_note("each pass through the loop must leave the stack as deep as it found it"),
                );
                break;
            }
            depth[i] = None; // walk on from here with the larger depth
        }
        if let Some(existing) = depth[i] {
            if existing as i64 != d && !reported_mismatch[i] {
                reported_mismatch[i] = true;
                let mut e = Diagnostic::error(
                    codes::STACK_MISMATCH,
                    format!("the stack depth here is {existing} on one path and {d} on another"),
                )
                .with_primary(code.instrs[i].span, "paths meet here with different depths");
                if let Some(f) = from {
                    e = e.with_secondary(code.instrs[f].span, format!("this path arrives with depth {d}"));
                }
                diags.push(e.with_note("every path to an instruction must leave the same number of values on the stack"));
            }
            continue;
        }
        depth[i] = Some(d as u32);
        // Entering a region fixes its handler's depth, unless `depth(N)` gave it.
        for &r in starting_here.get(&i).map(Vec::as_slice).unwrap_or(&[]) {
            if region_depth[r].is_none() {
                region_depth[r] = Some(d as u32);
                seed_handler(r, d as u32, &mut work, &mut max);
            }
        }
        let ins = &code.instrs[i];
        let oparg = ins.arg.oparg();
        let after = d + ins.op.stack.eval(oparg);
        // The version table says how many values each instruction reads (pops); that is
        // the depth it needs, whatever it leaves behind.
        let needs = ins.op.pops.eval(oparg);
        let underflow = || underflow_diagnostic(ins, d, needs);
        if d < needs || after < 0 {
            if code.version.depth_merge != DepthMerge::Equal {
                // A larger depth may still arrive (see above); decided when the walk ends.
                maybe_underflow.push(i);
            } else {
                diags.push(underflow());
            }
            continue;
        }
        max = max.max(after);
        let target = match ins.arg {
            Arg::Target(t) => Some(t),
            Arg::Value(_) => None,
        };
        let mut push_jump = |work: &mut Vec<(usize, i64, Option<usize>)>, max: &mut i64| {
            if let Some(t) = target {
                let jd = d + ins.op.jump_stack.eval(oparg);
                if jd < 0 && code.version.depth_merge != DepthMerge::Equal {
                    maybe_underflow.push(i);
                } else if jd < 0 {
                    diags.push(underflow());
                } else {
                    *max = (*max).max(jd);
                    work.push((t, jd, Some(i)));
                }
            }
        };
        match ins.op.flow {
            Flow::Next | Flow::Branch => {
                // The work list is a stack: with DepthMerge::First the jump goes on last so
                // that it is followed first.
                let jump_first = code.version.depth_merge == DepthMerge::First;
                if ins.op.flow == Flow::Branch && !jump_first {
                    push_jump(&mut work, &mut max);
                }
                if i + 1 < n {
                    work.push((i + 1, after, Some(i)));
                }
                if ins.op.flow == Flow::Branch && jump_first {
                    push_jump(&mut work, &mut max);
                }
                if i + 1 == n {
                    diags.push(
                        Diagnostic::error(codes::FALLS_OFF_END, "execution can run past the last instruction")
                            .with_primary(ins.span, "after this instruction there is nothing left to run")
                            .with_secondary(code.end_span, "the code object ends here")
                            .with_help("end every path with RETURN_VALUE, RAISE_VARARGS, RERAISE or a jump"),
                    );
                }
            }
            Flow::Jump => push_jump(&mut work, &mut max),
            Flow::Exit => {}
        }
    }
    // Block stack: an underflow counts where even the largest depth reaching it is too small.
    maybe_underflow.sort_unstable();
    maybe_underflow.dedup();
    for i in maybe_underflow {
        let ins = &code.instrs[i];
        let oparg = ins.arg.oparg();
        let d = depth[i].map_or(0, i64::from);
        let needs = ins.op.pops.eval(oparg);
        let worst = ins.op.stack.eval(oparg).min(if ins.op.is_jump() { ins.op.jump_stack.eval(oparg) } else { 0 });
        if d < needs || d + worst < 0 {
            diags.push(underflow_diagnostic(ins, d, needs.max(-worst)));
        }
    }
    if n == 0 {
        diags.push(
            Diagnostic::error(codes::FALLS_OFF_END, format!("code object `{}` has no instructions", code.id.node.text()))
                .with_primary(code.id.span, "")
                .with_help("a code object needs at least RESUME 0, LOAD_CONST None, RETURN_VALUE"),
        );
    }
    // One warning per run of unreachable instructions (not after errors, which stop paths).
    let mut i = if diags.iter().any(|d| d.is_error()) { n } else { 0 };
    while i < n {
        if depth[i].is_none() {
            let start = i;
            while i < n && depth[i].is_none() {
                i += 1;
            }
            // A compiler keeps the handler of a `try` body that cannot raise (3.11+: it starts
            // with PUSH_EXC_INFO, or is a cleanup ending in RERAISE): that is not a mistake.
            if ["PUSH_EXC_INFO"].contains(&code.instrs[start].op.name) || code.instrs[i - 1].op.name == "RERAISE" {
                continue;
            }
            let span = code.instrs[start].span.to(code.instrs[i - 1].span);
            diags.push(
                Diagnostic::warning(codes::UNREACHABLE, "unreachable instructions")
                    .with_primary(span, "no path from the start of the code leads here"),
            );
        } else {
            i += 1;
        }
    }
    for (r, region) in code.regions.iter().enumerate() {
        if region_depth[r].is_none() && region.first.is_some() && depth[region.first.unwrap()].is_none() {
            // Unreachable region: its handler depth is unknown; use 0 so encoding can go on.
            region_depth[r] = Some(0);
        }
    }
    if max > i32::MAX as i64 {
        diags.push(
            Diagnostic::error(codes::OUT_OF_RANGE, format!("the stack would grow to {max} values, more than a code object can hold"))
                .with_primary(code.id.span, "")
                .with_help("check the depth(N) of .try regions and the depths of .exception entries"),
        );
    }
    let mut stacksize = max.clamp(0, i32::MAX as i64) as u32;
    if !code.version.path_walk.is_empty() && !diags.iter().any(|d| d.is_error()) {
        if let Some(s) = stacksize_by_paths(code) {
            stacksize = s;
        }
    }
    let analysis = Analysis { stacksize, depth_before: depth, region_depth };
    (analysis, diags)
}

/// co_stacksize the way 3.6's compiler computes it: a depth-first walk of every path from
/// the start, cutting a path where it comes back to a block it is still inside or reaches a
/// block it entered before at least as deep, with that version's own bookings
/// (`VersionTable::path_walk`: SETUP_FINALLY adds its handler's values on both exits, …).
/// Each path counts, so code after a `try` can count more than it holds. Blocks start at
/// jump targets and after jumps and exits; only JUMP_FORWARD and JUMP_ABSOLUTE (the
/// unconditional jumps) end a path — after a return the walk goes on into the code that
/// follows, as the compiler's does. `None` if the walk takes too long (a hostile file).
pub fn stacksize_by_paths(code: &ResolvedCode) -> Option<u32> {
    enum Step {
        Enter(usize, i64),
        Resume(usize, usize, i64),
        Leave(usize),
    }
    let n = code.instrs.len();
    let mut leader = vec![false; n + 1];
    if n > 0 {
        leader[0] = true;
    }
    for (i, ins) in code.instrs.iter().enumerate() {
        if let Arg::Target(t) = ins.arg {
            leader[t.min(n)] = true;
        }
        if ins.op.is_jump() || ins.op.flow != Flow::Next {
            leader[i + 1] = true;
        }
    }
    let booking = |ins: &crate::resolve::Instr| -> (i64, i64) {
        let oparg = ins.arg.oparg();
        // (falls through, jumps): a listed instruction moves both exits by its booked
        // effect, and the target by `target` more; the others as the table books them.
        match code.version.path_walk.iter().find(|p| p.name == ins.op.name) {
            Some(p) => (i64::from(p.effect), i64::from(p.effect) + i64::from(p.target)),
            None => (ins.op.stack.eval(oparg), ins.op.jump_stack.eval(oparg)),
        }
    };
    let mut seen = vec![false; n];
    let mut start_depth = vec![i64::MIN; n];
    let mut max: i64 = 0;
    let mut budget: u64 = 20_000_000;
    let mut steps = vec![Step::Enter(0, 0)];
    while let Some(step) = steps.pop() {
        budget = budget.checked_sub(1)?;
        match step {
            Step::Enter(b, d) => {
                if b >= n || seen[b] || start_depth[b] >= d {
                    continue;
                }
                seen[b] = true;
                start_depth[b] = d;
                steps.push(Step::Leave(b));
                steps.push(Step::Resume(b, b, d));
            }
            Step::Leave(b) => seen[b] = false,
            Step::Resume(b, mut i, mut d) => loop {
                budget = budget.checked_sub(1)?;
                if i >= n {
                    break;
                }
                if i != b && leader[i] {
                    steps.push(Step::Enter(i, d));
                    break;
                }
                let ins = &code.instrs[i];
                let (effect, jump_effect) = booking(ins);
                let before = d;
                d += effect;
                max = max.max(d);
                if let (true, Arg::Target(t)) = (ins.op.is_jump(), ins.arg) {
                    let td = before + jump_effect;
                    max = max.max(td);
                    if ins.op.flow != Flow::Jump {
                        steps.push(Step::Resume(b, i + 1, d));
                    }
                    steps.push(Step::Enter(t, td));
                    break;
                }
                i += 1;
            },
        }
    }
    Some(max.clamp(0, i32::MAX as i64) as u32)
}

/// "stack underflow: OP needs N values", at an instruction reached with `depth` values.
fn underflow_diagnostic(ins: &crate::resolve::Instr, depth: i64, needs: i64) -> Diagnostic {
    let held = match depth {
        0 => "the stack is empty here".to_string(),
        1 => "the stack holds only 1 value here".to_string(),
        _ => format!("the stack holds only {depth} values here"),
    };
    let values = if needs == 1 { "1 value".to_string() } else { format!("{needs} values") };
    Diagnostic::error(codes::STACK_UNDERFLOW, format!("stack underflow: {} needs {values}", ins.op.name))
        .with_primary(ins.span, held)
        .with_help(format!("push the {needs} operand(s) of {} before it", ins.op.name))
}
