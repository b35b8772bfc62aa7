//! Cross-references between code objects: `@name` operands, and the graph they make — who
//! references whom (each code object's parent), cycles, unused code, nesting depth — which
//! gives qualnames, NESTED and METHOD flags and default filenames.

use super::constants::PoolConst;
use super::hash::FastMap;
use super::{CO_METHOD, CO_NESTED, MAX_CODE_NESTING, Program};
use crate::diagnostics::{Diagnostic, codes, nearest};
use crate::object::PyStr;
use crate::syntax::ast::{Spanned, Value};

/// The block index of the code object an `@name` operand names.
pub(super) fn code_index(ids: &FastMap<PyStr, usize>, v: &Spanned<Value>) -> Result<usize, Diagnostic> {
    let Value::CodeRef(n) = &v.node else { unreachable!() };
    ids.get(&n.0).copied().ok_or_else(|| {
        let text = n.text();
        let mut e = Diagnostic::error(codes::UNKNOWN_CODE, format!("no code object is named `{text}`")).with_primary(v.span, "referenced here");
        let names: Vec<String> = ids.keys().map(|k| k.to_lossy()).collect();
        let near = nearest(&text, names.iter().map(|s| s.as_str()));
        if !near.is_empty() {
            e = e.with_help(crate::diagnostics::did_you_mean(&near, |n| format!("@{n}")).unwrap_or_default());
        }
        for n in &near {
            e = e.with_suggestion(v.span, format!("@{n}"));
        }
        e
    })
}

/// Finds, for each code object, who references it; checks for cycles; fills in qualnames,
/// NESTED flags and filenames.
pub(super) fn link_references(p: &mut Program, default_filename: &PyStr, diags: &mut Vec<Diagnostic>) {
    let n = p.codes.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    for (i, c) in p.codes.iter().enumerate() {
        for k in &c.consts {
            if let PoolConst::Code(child) = k {
                if parent[*child].is_none() && *child != p.module {
                    parent[*child] = Some(i);
                }
            }
        }
    }
    let order = walk_from_module(p, &parent, diags);
    check_depth(p, &parent, &order, diags);
    name_and_flag(p, &parent, &order, default_filename);
    for c in p.codes.iter_mut() {
        if c.qualname.is_none() {
            c.qualname = Some(c.name.clone());
        }
        if c.filename.is_none() {
            c.filename = Some(default_filename.clone());
        }
    }
    p.parent = parent;
}

/// The code objects reachable from the module, parents before children; reports cycles and
/// code objects never reached (unused, or part of a cycle).
fn walk_from_module(p: &Program, parent: &[Option<usize>], diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    let n = p.codes.len();
    let mut order = vec![p.module];
    let mut seen = vec![false; n];
    seen[p.module] = true;
    let mut k = 0;
    while k < order.len() {
        let i = order[k];
        k += 1;
        for c in p.codes[i].consts.clone() {
            if let PoolConst::Code(child) = c {
                if child == p.module || is_ancestor(parent, child, i) {
                    diags.push(
                        Diagnostic::error(codes::UNKNOWN_CODE, "code objects refer to each other in a cycle")
                            .with_primary(p.codes[i].id.span, format!("`{}` refers back to `{}`", p.codes[i].id.node.text(), p.codes[child].id.node.text())),
                    );
                    continue;
                }
                if !seen[child] {
                    seen[child] = true;
                    order.push(child);
                }
            }
        }
    }
    for (i, c) in p.codes.iter().enumerate() {
        if !seen[i] {
            diags.push(
                Diagnostic::warning(codes::UNUSED_CODE, format!("code object `{}` is never used", c.id.node.text()))
                    .with_primary(c.id.span, "nothing loads it with LOAD_CONST @…"),
            );
        }
    }
    order
}

/// Marshal refuses objects nested deeper than 2000 levels; each code object inside another
/// costs two (the code and its co_consts tuple).
fn check_depth(p: &Program, parent: &[Option<usize>], order: &[usize], diags: &mut Vec<Diagnostic>) {
    let mut level = vec![0usize; p.codes.len()];
    for &i in order {
        if let Some(par) = parent[i] {
            level[i] = level[par] + 1;
            if level[i] == MAX_CODE_NESTING + 1 {
                diags.push(
                    Diagnostic::error(codes::UNKNOWN_CODE, format!("code objects are nested more than {MAX_CODE_NESTING} deep"))
                        .with_primary(p.codes[i].id.span, "this one is too deep")
                        .with_note("Python's marshal format cannot load deeper nesting"),
                );
            }
        }
    }
}

/// Qualnames, NESTED and METHOD flags and filenames of the code objects in `order`.
fn name_and_flag(p: &mut Program, parent: &[Option<usize>], order: &[usize], default_filename: &PyStr) {
    // CPython's rule: a scope is nested when its parent is a function or is itself nested;
    // only functions carry the NESTED flag.
    let mut nested_scope = vec![false; p.codes.len()];
    for &i in order {
        let (nested, qual) = match parent[i] {
            None => (false, p.codes[i].name.clone()),
            Some(par) => {
                let pc = &p.codes[par];
                let nested = pc.is_function || nested_scope[par];
                let base = if par == p.module { None } else { pc.qualname.clone() };
                let qual = match base {
                    None => p.codes[i].name.clone(),
                    Some(b) => child_qualname(&b, pc.is_function, &pc.name, &p.codes[i].name),
                };
                (nested, qual)
            }
        };
        nested_scope[i] = nested;
        let in_class_body = parent[i].is_some_and(|par| par != p.module && !p.codes[par].is_function);
        let c = &mut p.codes[i];
        if nested && c.is_function {
            c.flags |= CO_NESTED;
        }
        if p.version.docstring_flag && in_class_body && c.is_function {
            c.flags |= CO_METHOD;
        }
        if c.qualname.is_none() {
            c.qualname = Some(qual);
        }
        if c.filename.is_none() {
            c.filename = Some(default_filename.clone());
        }
    }
}

/// The qualified name of a code object named `name` made inside one whose qualified name
/// is `parent` (not the module): `C.m`, `outer.<locals>.inner`. Lowering uses it too, for
/// the qualified name MAKE_FUNCTION pops up to 3.10.
pub fn child_qualname(parent: &PyStr, parent_is_function: bool, parent_name: &PyStr, name: &PyStr) -> PyStr {
    let mut s = parent.as_wtf8().to_vec();
    // CPython adds `<locals>` after a def or lambda, not after a comprehension.
    if parent_is_function && !is_comprehension(parent_name) {
        s.extend_from_slice(b".<locals>");
    }
    s.push(b'.');
    s.extend_from_slice(name.as_wtf8());
    PyStr::from_wtf8(s)
}

/// Comprehensions and generator expressions: functions that CPython compiles without a
/// docstring slot and whose children get no `<locals>` in their qualname.
pub fn is_comprehension(name: &PyStr) -> bool {
    ["<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"].iter().any(|n| *name == PyStr::from(*n))
}

fn is_ancestor(parent: &[Option<usize>], candidate: usize, mut of: usize) -> bool {
    let mut steps = 0;
    while let Some(p) = parent[of] {
        if p == candidate {
            return true;
        }
        of = p;
        steps += 1;
        if steps > parent.len() {
            return true;
        }
    }
    false
}
