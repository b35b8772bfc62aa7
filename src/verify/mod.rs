//! The verifier, in three passes over each resolved code object: `checks` (arguments,
//! constants, targets), `depth` (the stack depth on every path, co_stacksize) and `typed`
//! (what kind of value each stack slot and local holds, so that nothing pyasm accepts can
//! crash the interpreter).

mod checks;
mod depth;
pub mod typed;

pub use depth::stacksize_by_paths;

use crate::diagnostics::Diagnostic;
use crate::resolve::ResolvedCode;

#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// The largest depth reached (co_stacksize).
    pub stacksize: u32,
    /// Depth before each instruction; `None` where no path reaches it.
    pub depth_before: Vec<Option<u32>>,
    /// Depth each `.try` region's handler unwinds to.
    pub region_depth: Vec<Option<u32>>,
}

/// The checks and the depth analysis of one code object (`typed` runs after, per program).
pub fn analyze(code: &ResolvedCode) -> (Analysis, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    checks::check_indexes(code, &mut diags);
    checks::check_constant_types(code, &mut diags);
    checks::check_targets(code, &mut diags);
    // With an unidentified instruction the stack effects are unknown: checking would only
    // report errors that are consequences of the first one.
    if code.unknown_effects || diags.iter().any(|d| d.is_error()) {
        return (Analysis::default(), diags);
    }
    depth::walk(code, diags)
}

/// What the verifier says of one code object of a program.
pub struct Verified {
    pub analysis: Analysis,
    pub diags: Vec<Diagnostic>,
    /// For the listing: each instruction's stack before and after it, as kinds (when asked
    /// for and the version has typed signatures).
    pub stacks: Vec<Option<(String, String)>>,
    /// With the stacks: what `typed::query` asks about (the stack's slots and their origins).
    pub entries: Option<typed::query::Entries>,
}

/// Verifies every code object of a program. The typed pass goes from the module down, so
/// that a function made and called at once (a comprehension) is checked knowing what its
/// caller passes.
pub fn verify_program(program: &crate::resolve::Program, want_stacks: bool, typed_checks: bool) -> Vec<Verified> {
    use crate::resolve::constants::PoolConst;
    let codes = &program.codes;
    let mut out: Vec<Verified> = codes
        .iter()
        .map(|c| {
            let (analysis, diags) = analyze(c);
            Verified { analysis, diags, stacks: Vec::new(), entries: None }
        })
        .collect();
    // Parents before children: the code-object references form a DAG (cycles are refused).
    let children: Vec<Vec<usize>> =
        codes.iter().map(|c| c.consts.iter().filter_map(|k| if let PoolConst::Code(x) = k { Some(*x) } else { None }).collect()).collect();
    let mut parents = vec![0usize; codes.len()];
    for cs in &children {
        for &c in cs {
            parents[c] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..codes.len()).filter(|&c| parents[c] == 0).collect();
    let child: Vec<bool> = parents.iter().map(|&p| p > 0).collect();
    let mut calls: Vec<Option<Vec<crate::opcodes::Kinds>>> = vec![None; codes.len()];
    let mut called = vec![false; codes.len()];
    let mut escaped = vec![false; codes.len()];
    while let Some(c) = ready.pop() {
        if typed_checks && !out[c].diags.iter().any(|d| d.is_error()) {
            let params = if called[c] && !escaped[c] { calls[c].clone() } else { None };
            let cx = typed::Context { codes, params, depth: &out[c].analysis, want_stacks };
            let mut t = typed::check(&codes[c], &cx);
            // A code object that no reachable instruction makes into a function (CPython keeps
            // the comprehensions of code after a `return`) never runs: what it would do with
            // its arguments is not known, and it makes no function itself.
            if child[c] && !called[c] && !escaped[c] {
                t.diags.clear();
                t.calls.clear();
                t.escapes.clear();
            }
            for (callee, kinds) in t.calls {
                called[callee] = true;
                let merged = match calls[callee].take() {
                    None => kinds,
                    Some(old) if old.len() == kinds.len() => old.iter().zip(&kinds).map(|(a, b)| a | b).collect(),
                    Some(_) => {
                        escaped[callee] = true;
                        kinds
                    }
                };
                calls[callee] = Some(merged);
            }
            for e in t.escapes {
                escaped[e] = true;
            }
            out[c].diags.extend(t.diags);
            out[c].stacks = t.stacks;
            out[c].entries = t.entries;
        } else {
            // Unchecked: what it passes its children is unknown.
            for &k in &children[c] {
                escaped[k] = true;
            }
        }
        for &k in &children[c] {
            parents[k] -= 1;
            if parents[k] == 0 {
                ready.push(k);
            }
        }
    }
    out
}
