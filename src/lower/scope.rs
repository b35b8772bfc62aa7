//! What lowering needs to know about each code object: its variables and where each name
//! lives (as Python's compiler decides a name's scope), and its qualified name.

use super::set::{self, Op};
use crate::object::PyStr;
use crate::syntax::ast::{Line, Param, Statement, Value};
use std::collections::HashMap;

/// Where `load x` finds x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A function's local (FAST).
    Fast,
    /// A cell or free variable (DEREF).
    Deref,
    /// A module or class body's name (NAME).
    Name,
    /// A global (GLOBAL).
    Global,
}

#[derive(Debug, Default)]
pub struct CodeInfo {
    /// The `.code` ID as written (what `@ID` names).
    pub id: String,
    pub name: PyStr,
    pub qualname_override: Option<PyStr>,
    pub is_function: bool,
    /// Parameters and `.locals`, in order: the plain locals.
    pub locals: Vec<String>,
    pub params: Vec<String>,
    pub cells: Vec<String>,
    pub freevars: Vec<String>,
    pub globals: Vec<String>,
    /// The code objects this one makes (`make_function @f`, `const @f`), in order.
    pub children: Vec<String>,
    /// It contains `yield`: a generator.
    pub generator: bool,
    /// It contains `await`: a coroutine (with `yield` too, an async generator).
    pub coroutine: bool,
}

impl CodeInfo {
    pub fn scope(&self, name: &str) -> Scope {
        if self.globals.iter().any(|g| g == name) {
            Scope::Global
        } else if !self.is_function {
            Scope::Name
        } else if self.cells.iter().chain(&self.freevars).any(|c| c == name) {
            Scope::Deref
        } else if self.locals.iter().any(|l| l == name) {
            Scope::Fast
        } else {
            Scope::Global
        }
    }
    pub fn local_index(&self, name: &str) -> Option<usize> {
        self.locals.iter().position(|l| l == name)
    }
}

fn word_list(args: &[crate::syntax::ast::Spanned<Value>]) -> Vec<String> {
    args.iter()
        .filter_map(|a| match &a.node {
            Value::Word(w) | Value::Angle(w) => Some(w.clone()),
            Value::Str(s) => Some(s.to_lossy()),
            _ => None,
        })
        .collect()
}

/// Reads one code object: the `.code` header line and its body.
pub fn read(header: &Line, body: &[&Line]) -> CodeInfo {
    let mut info = CodeInfo::default();
    if let Some(stmt) = &header.statement {
        if let Statement::Code(h) = &stmt.node {
            info.id = h.id.node.text();
            info.name = h.id.node.0.clone();
            if let Some(params) = &h.params {
                info.is_function = true;
                for p in params {
                    match p {
                        Param::Plain(n) | Param::VarArgs(n) | Param::VarKeywords(n) => info.params.push(n.node.text()),
                        _ => {}
                    }
                }
            }
        }
    }
    // CPython orders locals: positional, keyword-only, *args, **kwargs — the header's order
    // except that *args moves after the keyword-only ones; for lowering only membership and
    // "is a parameter" matter.
    info.locals = info.params.clone();
    for line in body {
        let Some(stmt) = &line.statement else { continue };
        match &stmt.node {
            Statement::Directive(d) => match d.name.node.as_str() {
                "locals" => info.locals.extend(word_list(&d.args)),
                "cells" => info.cells.extend(word_list(&d.args)),
                "freevars" => info.freevars.extend(word_list(&d.args)),
                "global" => info.globals.extend(word_list(&d.args)),
                "name" => {
                    if let Some(n) = d.args.first().and_then(|a| crate::lower::name_value(&a.node)) {
                        info.name = n;
                    }
                }
                "qualname" => info.qualname_override = d.args.first().and_then(|a| crate::lower::name_value(&a.node)),
                _ => {}
            },
            Statement::Instruction(i) => {
                let op = set::lookup(&i.opname.node);
                if op == Some(Op::Yield) || op == Some(Op::YieldFrom) {
                    info.generator = true;
                }
                if matches!(op, Some(Op::Await | Op::GetAiter | Op::ForAiter)) || (op == Some(Op::WithEnter) && set::has_word(i, "async")) {
                    info.coroutine = true;
                }
                if matches!(op, Some(Op::MakeFunction) | Some(Op::Const)) || i.opname.node == "LOAD_CONST" {
                    if let Some(Value::CodeRef(n)) = i.operands.first().map(|o| &o.node) {
                        info.children.push(n.text());
                    }
                }
            }
            Statement::Code(_) => {}
        }
    }
    info
}

/// Each code object's qualified name, as the resolver infers it (`resolve::child_qualname`):
/// from the first code object that makes it, starting at the module.
pub fn qualnames(codes: &[CodeInfo]) -> HashMap<String, PyStr> {
    let by_id: HashMap<&str, usize> = codes.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let mut parent: Vec<Option<usize>> = vec![None; codes.len()];
    for (i, c) in codes.iter().enumerate() {
        for child in &c.children {
            if let Some(&k) = by_id.get(child.as_str()) {
                if parent[k].is_none() && codes[k].id != "<module>" && k != i {
                    parent[k] = Some(i);
                }
            }
        }
    }
    let mut out: HashMap<String, PyStr> = HashMap::new();
    // Parents first: walk up at most the number of code objects (a cycle is the
    // resolver's error to report).
    fn qual(i: usize, codes: &[CodeInfo], parent: &[Option<usize>], depth: usize) -> PyStr {
        if let Some(q) = &codes[i].qualname_override {
            return q.clone();
        }
        match parent[i] {
            Some(p) if depth < codes.len() && codes[p].id != "<module>" => {
                let pq = qual(p, codes, parent, depth + 1);
                crate::resolve::child_qualname(&pq, codes[p].is_function, &codes[p].name, &codes[i].name)
            }
            _ => codes[i].name.clone(),
        }
    }
    for (i, c) in codes.iter().enumerate() {
        out.insert(c.id.clone(), qual(i, codes, &parent, 0));
    }
    out
}
