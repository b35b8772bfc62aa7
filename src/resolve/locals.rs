//! Fast locals: the kinds of a slot, the names in order, and the rules for declaring one name
//! twice (a parameter that is also a cell, a cell and a free variable of one name).

use super::tables::CodeBuilder;
use crate::diagnostics::{Diagnostic, codes};
use crate::object::PyStr;
use crate::resolve::hash::FastMap;
use crate::resolve::{CO_VARARGS, CO_VARKEYWORDS};
use crate::syntax::ast::Span;

/// Kind bits of a fast-locals slot (3.11; see [`crate::object::LocalSlot`] for 3.6–3.10).
pub use crate::object::{KIND_CELL as FAST_CELL, KIND_FREE as FAST_FREE, KIND_LOCAL as FAST_LOCAL};
/// 3.12+: a variable of an inlined comprehension, hidden from `locals()` (`.hidden`).
pub const FAST_HIDDEN: u8 = 0x10;
/// 3.14+: how a parameter may be passed (set by the assembler from the signature):
/// positionally, by keyword, and whether it collects the rest (`*args`, `**kwargs`).
pub const FAST_ARG_POS: u8 = 0x02;
pub const FAST_ARG_KW: u8 = 0x04;
pub const FAST_ARG_VAR: u8 = 0x08;

/// The argument-kind bits of localsplus slot `slot` (0 past the parameters). Parameters come
/// first: positional-only, positional-or-keyword, keyword-only, then `*args` and `**kwargs`.
/// Computed per slot: the counts may come from a hostile .pyc.
pub fn param_kind(slot: usize, argcount: u32, posonly: u32, kwonly: u32, flags: u32) -> u8 {
    let (slot, argcount) = (slot as u64, argcount as u64);
    if slot < argcount {
        return if slot < posonly as u64 { FAST_ARG_POS } else { FAST_ARG_POS | FAST_ARG_KW };
    }
    let mut next = argcount + kwonly as u64;
    if slot < next {
        return FAST_ARG_KW;
    }
    if flags & CO_VARARGS != 0 {
        if slot == next {
            return FAST_ARG_POS | FAST_ARG_VAR;
        }
        next += 1;
    }
    if flags & CO_VARKEYWORDS != 0 && slot == next {
        return FAST_ARG_KW | FAST_ARG_VAR;
    }
    0
}

/// Fast-local names in order; a name may occur twice (see `declare_local`), and lookups give
/// the first slot.
#[derive(Default)]
pub(super) struct NameList {
    pub(super) names: Vec<PyStr>,
    first: FastMap<PyStr, usize>,
}

impl NameList {
    pub(super) fn get_index_of(&self, name: &PyStr) -> Option<usize> {
        self.first.get(name).copied()
    }
    pub(super) fn is_doubled(&self, name: &PyStr) -> bool {
        self.names.iter().filter(|n| *n == name).count() > 1
    }
    pub(super) fn insert(&mut self, name: PyStr) {
        self.first.entry(name.clone()).or_insert(self.names.len());
        self.names.push(name);
    }
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }
    pub(super) fn get_index(&self, i: usize) -> Option<&PyStr> {
        self.names.get(i)
    }
    pub(super) fn iter(&self) -> impl Iterator<Item = &PyStr> {
        self.names.iter()
    }
}

impl CodeBuilder<'_> {
    pub(super) fn declare_local(&mut self, name: PyStr, kind: u8, span: Option<Span>, diags: &mut Vec<Diagnostic>) {
        if let Some(i) = self.locals.get_index_of(&name) {
            let what = |k: u8| if k & FAST_FREE != 0 { "a free variable" } else if k & FAST_CELL != 0 && k & FAST_LOCAL == 0 { "a cell" } else { "a local" };
            // A parameter may also be declared a cell: 3.6–3.10 list it in both co_varnames
            // and co_cellvars (two slots, the cell's in the order `.cells` gives), 3.11+ give
            // its one slot both kinds.
            if kind == FAST_CELL && self.kinds[i] == FAST_LOCAL && self.version.block_stack && !self.locals.is_doubled(&name) {
                self.locals.insert(name);
                self.kinds.push(kind);
                self.local_spans.push(span);
                return;
            }
            if kind == FAST_CELL && self.kinds[i] == FAST_LOCAL {
                self.kinds[i] |= FAST_CELL;
                return;
            }
            // CPython can give one name two slots: a cell and a free variable (a class body
            // inside a method that uses `__class__`), or a local (maybe also a cell) and a free
            // variable (3.12+ type parameters); operands then name the first, and the
            // second is reached with `$N`.
            let prev = self.kinds[i];
            let local_and_free = self.version.hidden_locals; // 3.12+, with type parameters
            let cell_and_free = (kind == FAST_FREE && (prev == FAST_CELL || (local_and_free && prev & FAST_FREE == 0)))
                || ((kind == FAST_CELL || (local_and_free && kind == FAST_LOCAL)) && prev == FAST_FREE);
            if cell_and_free && !self.locals.is_doubled(&name) {
                self.locals.insert(name);
                self.kinds.push(kind);
                self.local_spans.push(span);
                return;
            }
            let mut d = Diagnostic::error(codes::DIRECTIVE, format!("`{name}` is declared twice"));
            if let Some(s) = span {
                d = d.with_primary(s, format!("declared here as {}", what(kind)));
            }
            if let Some(Some(prev)) = self.local_spans.get(i) {
                d = d.with_secondary(*prev, format!("already {}", what(self.kinds[i])));
            }
            diags.push(d);
            return;
        }
        self.locals.insert(name);
        self.kinds.push(kind);
        self.local_spans.push(span);
    }

    /// Declares the `.cells` and `.freevars` names, after every `.locals` name and parameter.
    pub(super) fn declare_cells_and_frees(&mut self, cells: Vec<(PyStr, Span)>, frees: Vec<(PyStr, Span)>, diags: &mut Vec<Diagnostic>) {
        for (n, s) in cells {
            self.declare_local(n, FAST_CELL, Some(s), diags);
        }
        for (n, s) in frees {
            self.declare_local(n, FAST_FREE, Some(s), diags);
        }
    }

    /// CPython's layout: parameters and other locals first, then cells that are not
    /// parameters, then free variables — the declaration order already is that, except that
    /// `.locals` may follow `.cells` in the text; sort stably by section.
    pub(super) fn order_by_section(&mut self) {
        let mut order: Vec<usize> = (0..self.locals.len()).collect();
        order.sort_by_key(|&i| match self.kinds[i] {
            k if k & FAST_LOCAL != 0 => 0,
            k if k & FAST_CELL != 0 => 1,
            _ => 2,
        });
        let mut reordered = NameList::default();
        for &i in &order {
            reordered.insert(self.locals.get_index(i).unwrap().clone());
        }
        self.kinds = order.iter().map(|&i| self.kinds[i]).collect();
        self.local_spans = order.iter().map(|&i| self.local_spans[i]).collect();
        self.locals = reordered;
    }

    /// `.hidden`: marks declared variables of an inlined comprehension (3.12+).
    pub(super) fn mark_hidden(&mut self, hidden: Vec<(PyStr, Span)>, diags: &mut Vec<Diagnostic>) {
        for (name, span) in hidden {
            match self.locals.get_index_of(&name) {
                Some(i) => self.kinds[i] |= FAST_HIDDEN,
                None => diags.push(
                    Diagnostic::error(codes::UNKNOWN_LOCAL, format!("`{name}` is not a variable of this code object"))
                        .with_primary(span, "`.hidden` marks a declared variable")
                        .with_help(format!("declare it first, e.g. `.locals {name}`")),
                ),
            }
        }
    }
}
