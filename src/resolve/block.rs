//! One `.code` block → a [`ResolvedCode`]: the signature, pass 1 (declarations and labels,
//! `directives`), the tables completed, pass 2 (instructions in order, `instructions`), then
//! what only the whole block tells (first line, kind flags, localsplus).

use super::constants::{PoolConst, to_constant};
use super::directives::{Declarations, declarations};
use super::flags::infer_kind_flags;
use super::hash::FastMap;
use super::instructions::{Context, instructions};
use super::locals::{FAST_CELL, FAST_FREE, param_kind};
use super::references::{code_index, is_comprehension};
use super::signature::signature;
use super::structure::Block;
use super::tables::CodeBuilder;
use super::{CO_NEWLOCALS, CO_OPTIMIZED, ResolvedCode};
use crate::diagnostics::Diagnostic;
use crate::object::{LocalSlot, PyStr};
use crate::opcodes::VersionTable;
use crate::syntax::ast::{Spanned, Value};

pub(super) fn resolve_block(
    b: &Block,
    version: &'static VersionTable,
    ids: &FastMap<PyStr, usize>,
    diags: &mut Vec<Diagnostic>,
) -> ResolvedCode {
    let mut cb = CodeBuilder::new(version);
    let mut rc = new_code(b, version);
    if let Some(params) = &b.code.params {
        rc.flags |= CO_OPTIMIZED | CO_NEWLOCALS;
        signature(params, &mut cb, &mut rc.argcount, &mut rc.posonlyargcount, &mut rc.kwonlyargcount, &mut rc.flags, diags);
    }
    let (mut decls, labels) = declarations(b, &mut rc, &mut cb, diags);
    cb.declare_cells_and_frees(std::mem::take(&mut decls.cells), std::mem::take(&mut decls.frees), diags);
    cb.order_by_section();
    let mut code_ref = |v: &Spanned<Value>| code_index(ids, v);
    declare_consts(&decls, &rc, &mut cb, &mut code_ref, diags);
    rc.instrs.reserve_exact(decls.instructions);
    let mut cx = Context { labels: &labels, code_ref: &mut code_ref, cb: &mut cb };
    instructions(b, &mut rc, &mut cx, &mut decls, diags);
    finish(b, rc, cb, decls, diags)
}

/// A code object with nothing resolved yet but its ID and spans.
fn new_code(b: &Block, version: &'static VersionTable) -> ResolvedCode {
    ResolvedCode {
        version,
        id: b.code.id.clone(),
        header_span: b.header.span,
        end_span: b.end_span,
        is_function: b.code.params.is_some(),
        name: b.code.id.node.0.clone(),
        qualname: None,
        filename: None,
        firstlineno: 0,
        argcount: 0,
        posonlyargcount: 0,
        kwonlyargcount: 0,
        flags: 0,
        flags_override: None,
        flags_add: 0,
        flags_remove: 0,
        stacksize_override: None,
        consts: Vec::new(),
        names: Vec::new(),
        localsplus: Vec::new(),
        instrs: Vec::new(),
        regions: Vec::new(),
        entries: Vec::new(),
        unknown_effects: false,
        linetable_override: None,
        lines_without_code: Vec::new(),
        min_prefixes: Vec::new(),
        exceptiontable_override: None,
    }
}

/// co_consts as declared: the docstring, then `.consts`; a function without either gets None
/// first (CPython's rule; comprehensions and generator expressions do not have one).
fn declare_consts(
    decls: &Declarations,
    rc: &ResolvedCode,
    cb: &mut CodeBuilder,
    code_ref: &mut dyn FnMut(&Spanned<Value>) -> Result<usize, Diagnostic>,
    diags: &mut Vec<Diagnostic>,
) {
    for c in decls.docstring.into_iter().chain(decls.consts.iter().copied()) {
        match to_constant(c, code_ref) {
            Ok(k) => {
                cb.consts.declare(k);
            }
            Err(e) => diags.push(e),
        }
    }
    let comprehension = is_comprehension(&rc.name);
    if rc.is_function && !comprehension && !decls.consts_declared && !rc.version.docstring_flag {
        cb.consts.declare(PoolConst::Value(crate::object::Constant::None));
    }
}

/// What only the whole block tells: the first line, the kind flags, the tables moved in.
fn finish(b: &Block, mut rc: ResolvedCode, mut cb: CodeBuilder, decls: Declarations, diags: &mut Vec<Diagnostic>) -> ResolvedCode {
    let version = rc.version;
    cb.mark_hidden(decls.hidden, diags);
    // CPython's module always starts at line 1; other code at its first position.
    let module = b.code.id.node.0 == PyStr::from("<module>");
    let first = if module { decls.explicit_firstlineno } else { decls.firstlineno };
    rc.firstlineno = first.unwrap_or(if decls.has_loc || module { 1 } else { b.header_line as i32 });
    rc.flags |= infer_kind_flags(&rc.instrs);
    rc.consts = cb.consts.entries;
    rc.names = cb.names.into_iter().collect();
    if version.param_kinds {
        let flags = rc.final_flags();
        for (i, kind) in cb.kinds.iter_mut().enumerate() {
            *kind |= param_kind(i, rc.argcount, rc.posonlyargcount, rc.kwonlyargcount, flags);
        }
    }
    rc.localsplus = cb.locals.names.into_iter().zip(cb.kinds).map(|(name, kind)| LocalSlot { name, kind }).collect();
    // 3.6–3.10 flag code without cell or free variables (CO_NOFREE).
    if !rc.localsplus.iter().any(|s| s.kind & (FAST_CELL | FAST_FREE) != 0) {
        rc.flags |= version.nofree_flag;
    }
    rc
}
