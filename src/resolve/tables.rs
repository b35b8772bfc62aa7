//! The tables of one code object while its block is resolved: co_consts, co_names and the
//! fast locals (whose rules are in `locals`).

use super::constants::PoolConst;
use super::hash::{FastIndexSet, FastMap};
use super::locals::NameList;
use crate::object::PyStr;
use crate::opcodes::VersionTable;
use crate::syntax::ast::Span;

/// co_consts under construction. Declared entries are kept as written, duplicates included
/// (CPython never merges NaNs, so a .pyc can hold equal-looking constants twice); an operand
/// refers to the first equal entry, or adds one.
#[derive(Default)]
pub(super) struct ConstPool {
    pub(super) entries: Vec<PoolConst>,
    pub(super) first: FastMap<PoolConst, u32>,
}

impl ConstPool {
    pub(super) fn declare(&mut self, c: PoolConst) {
        let index = self.entries.len() as u32;
        self.first.entry(c.clone()).or_insert(index);
        self.entries.push(c);
    }
    pub(super) fn index_of(&mut self, c: PoolConst) -> u32 {
        if let Some(&i) = self.first.get(&c) {
            return i;
        }
        self.declare(c);
        self.entries.len() as u32 - 1
    }
}

/// Builder state for one block.
pub(super) struct CodeBuilder<'t> {
    pub(super) version: &'t VersionTable,
    pub(super) consts: ConstPool,
    pub(super) names: FastIndexSet<PyStr>,
    pub(super) locals: NameList,
    pub(super) kinds: Vec<u8>,
    pub(super) local_spans: Vec<Option<Span>>,
}

impl<'t> CodeBuilder<'t> {
    pub(super) fn new(version: &'t VersionTable) -> Self {
        CodeBuilder {
            version,
            consts: ConstPool::default(),
            names: FastIndexSet::default(),
            locals: NameList::default(),
            kinds: Vec::new(),
            local_spans: Vec::new(),
        }
    }
}
