//! Per-version instruction tables.
//!
//! Every fact about an opcode — its number, how its argument is written, how many inline
//! CACHE units follow it, its stack effect, how many values it takes, how control leaves
//! it — lives in exactly one generated file per CPython version (`v3_11.rs`, …). Those files
//! are written by `tools/gen_opcodes.py` run under that version's own interpreter and checked
//! against it by `tests/opcode_tables.rs`. Nothing else in pyasm spells an opcode number.

mod v3_6;
mod v3_7;
mod v3_8;
mod v3_9;
mod v3_10;
mod v3_11;
mod v3_12;
mod v3_13;
mod v3_14;
mod v3_15;
mod signature;

pub use signature::{Effect, Kinds, Signature, SlotSpec, describe as describe_kinds, kind};
use crate::version::PythonVersion;

/// What an instruction's argument means, and so how its operand is written in .pyasm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument (the arg byte is 0).
    None,
    /// A plain number (counts, COPY/SWAP depth, RESUME kind, …), or flag words.
    Number,
    /// A number chosen from named values (`CALL_INTRINSIC_1 INTRINSIC_PRINT`): each flag word
    /// is a whole value, and the disassembler writes the word.
    Enum,
    /// Two plain locals packed as `(first << 4) | second` (`LOAD_FAST_LOAD_FAST a, b`).
    LocalPair,
    /// Index into co_consts: the operand is a literal constant.
    Const,
    /// Index into co_names: the operand is a name.
    Name,
    /// Index into localsplus of a plain local (LOAD_FAST and friends).
    Local,
    /// Index into localsplus of a cell or free variable (LOAD_DEREF and friends).
    Free,
    /// Relative jump forward, in jump units (see `VersionTable::jump_unit`) past this
    /// instruction's caches. The block-setup instructions of 3.6–3.10 (SETUP_FINALLY,
    /// SETUP_WITH, …) are relative jumps to their handler.
    JumpForward,
    /// Relative jump backward, in code units back from the end of this instruction's caches.
    JumpBackward,
    /// Absolute jump (3.6–3.10: JUMP_ABSOLUTE, POP_JUMP_IF_TRUE, …): the target's offset
    /// from the start of the code, in jump units.
    JumpAbsolute,
    /// Index into the version's comparison operators (`<`, `==`, …), shifted left by the
    /// instruction's `shift`, with the operator's own low bits (`CompareOp::bits`) below it.
    Compare,
    /// Index into the version's binary operators (`+`, `+=`, …).
    BinaryOp,
}

/// How control leaves an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Falls through to the next instruction.
    Next,
    /// May jump to its target or fall through.
    Branch,
    /// Always jumps to its target.
    Jump,
    /// Leaves the code object (return, raise, re-raise): no successor.
    Exit,
}

/// A stack effect as a function of the argument:
/// `base + Σ coef·((oparg >> shift) & mask)`, with per-argument exceptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackEffect {
    pub base: i32,
    /// `(shift, mask, coef)` terms.
    pub terms: &'static [(u8, u32, i32)],
    /// `(oparg, effect)` pairs that override the formula.
    pub exceptions: &'static [(u32, i32)],
}

impl StackEffect {
    pub fn eval(&self, oparg: u32) -> i64 {
        if let Some(&(_, e)) = self.exceptions.iter().find(|(a, _)| *a == oparg) {
            return e as i64;
        }
        let mut total = self.base as i64;
        for &(shift, mask, coef) in self.terms {
            let field = (oparg.checked_shr(shift as u32).unwrap_or(0) & mask) as i64;
            total += coef as i64 * field;
        }
        total
    }
}

/// A word that sets bits of the argument (`null` on LOAD_GLOBAL, `closure` on MAKE_FUNCTION, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagWord {
    pub word: &'static str,
    pub bits: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct OpInfo {
    pub name: &'static str,
    pub code: u8,
    pub arg: ArgKind,
    /// For table-index kinds: the index is stored as `index << shift`, leaving low bits for flags.
    pub shift: u8,
    /// Words accepted after (or, for `Number`, instead of) the main operand.
    pub flags: &'static [FlagWord],
    /// Inline CACHE code units that follow the instruction.
    pub caches: u8,
    /// Effect on the stack depth when execution continues at the next instruction: the
    /// interpreter's `dis.stack_effect`, except where that books values differently from
    /// how the instruction runs (3.11: `RETURN_GENERATOR`, `PRECALL`, `CALL`; see
    /// `effect_overrides` in `tools/gen_opcodes.py`).
    pub stack: StackEffect,
    /// Effect when the jump is taken (equal to `stack` for instructions that do not jump).
    pub jump_stack: StackEffect,
    /// How many values the instruction takes from the stack (the depth it needs before it
    /// runs); it then pushes `pops + stack` values when it falls through and
    /// `pops + jump_stack` when it jumps.
    ///
    /// It counts every value the instruction reads, not only those it removes: an instruction
    /// that reaches below the top (`COPY n` and `SWAP n` read `n` deep, `LIST_APPEND n` reads
    /// its list `n` below the appended value) takes all of them and gives back those it leaves.
    /// Where the exits differ (`FOR_ITER`, `SEND`, `JUMP_IF_TRUE_OR_POP`, …) it is the most any
    /// exit reads, so both `pops + stack` and `pops + jump_stack` are at least 0. Error paths
    /// count too. So `pops.eval(oparg)` is the least depth at which the instruction is safe to
    /// run, and a depth below it is an underflow. Hand-written per version in
    /// `tools/gen_opcodes.py`, since the interpreter does not expose it.
    pub pops: StackEffect,
    pub flow: Flow,
    /// What the instruction reads and writes, as kinds (see `signature`); `Signature::UNTYPED`
    /// in a table whose version has no signatures yet (`VersionTable::typed`).
    pub sig: Signature,
    /// Signatures for particular argument values (the intrinsics of CALL_INTRINSIC_1, the
    /// attributes of SET_FUNCTION_ATTRIBUTE); `sig` covers the other values.
    pub variants: &'static [(u32, Signature)],
}

impl OpInfo {
    /// The signature that applies at argument `oparg`.
    pub fn signature(&self, oparg: u32) -> &Signature {
        self.variants.iter().find(|(v, _)| *v == oparg).map_or(&self.sig, |(_, s)| s)
    }
    pub fn has_arg(&self) -> bool {
        self.arg != ArgKind::None
    }
    pub fn is_jump(&self) -> bool {
        matches!(self.arg, ArgKind::JumpForward | ArgKind::JumpBackward | ArgKind::JumpAbsolute)
    }
}

/// A direction-free jump name (`JUMP`, `POP_JUMP_IF_FALSE`, …) and the real opcodes it
/// stands for; the assembler picks one from where the label lies.
#[derive(Clone, Copy, Debug)]
pub struct PseudoJump {
    pub name: &'static str,
    pub forward: &'static str,
    /// `None` where the version has no backward form (then a backward target is an error).
    pub backward: Option<&'static str>,
}

/// A comparison operator of COMPARE_OP.
#[derive(Clone, Copy, Debug)]
pub struct CompareOp {
    pub symbol: &'static str,
    /// The bits the compiler sets below the shifted index for this operator (3.12+: a mask
    /// the specializer uses); zero before 3.12.
    pub bits: u32,
}

/// How an operator symbol is written as an operand: as itself, except that the words of a
/// several-word comparison (≤3.8: `not in`, `is not`, `exception match`) are joined by `_`
/// (`COMPARE_OP exception_match`), as IS_OP and CONTAINS_OP name theirs.
pub fn operator_word(symbol: &str) -> String {
    symbol.replace(' ', "_")
}

/// What the stack analysis does where paths reach one instruction with different depths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepthMerge {
    /// They must agree (3.11+: the exception table gives each handler its depth).
    Equal,
    /// The larger wins and the walk goes on from there with it, as the 3.7–3.10 compilers
    /// compute co_stacksize (a `finally` block's normal entry has fewer values than its
    /// exception entry, and what follows inherits the difference).
    Larger,
    /// The first depth stays (3.6). 3.6's compiler walks every path separately, cutting
    /// cycles, with bookings that do not balance around loops (an `except … as` clause leaves
    /// three values more than it found); pyasm follows jumps before falling through, so each
    /// handler is first reached from its SETUP instruction, with its full depth.
    First,
}

/// A binary operator of BINARY_OP: its index is the oparg.
#[derive(Clone, Copy, Debug)]
pub struct BinaryOp {
    pub name: &'static str,
    pub symbol: &'static str,
}

#[derive(Debug)]
pub struct VersionTable {
    pub version: PythonVersion,
    /// The number in the first two bytes of a .pyc (little-endian, followed by `\r\n`).
    pub magic: u16,
    pub marshal_version: u8,
    pub opcodes: &'static [OpInfo],
    pub pseudo_jumps: &'static [PseudoJump],
    pub binary_ops: &'static [BinaryOp],
    pub compare_ops: &'static [CompareOp],
    pub extended_arg: u8,
    /// The CACHE opcode (3.11+); 0 where the version has none (3.6–3.10), where no instruction
    /// has caches either.
    pub cache: u8,
    /// Locals may be marked hidden (3.12+: variables of inlined comprehensions).
    pub hidden_locals: bool,
    /// Parameter slots carry how they may be passed (3.14+).
    pub param_kinds: bool,
    /// The location table gives consecutive instructions with the same position one entry
    /// (3.12+); 3.11 writes an entry per instruction.
    pub merge_locations: bool,
    /// 3.14+: a docstring is flagged by CO_HAS_DOCSTRING instead of a function's co_consts
    /// always starting with the docstring or None, and functions defined directly in a class
    /// body carry CO_METHOD.
    pub docstring_flag: bool,
    /// How the compiler starts its jump-offset fixed point: 3.11 and 3.12 from zero (the least
    /// fixed point), 3.13+ with each jump's argument set to its target's instruction index, so
    /// that a jump may keep an EXTENDED_ARG that a smaller layout would not need.
    pub jumps_start_at_index: bool,
    /// Bytes per unit of a jump argument: 1 (3.6–3.9 count bytes), 2 (3.10+ count code units).
    pub jump_unit: u8,
    /// Exceptions are handled by the block stack (SETUP_FINALLY, SETUP_WITH, POP_BLOCK, …;
    /// 3.6–3.10) instead of an exception table: `.try`/`.exception` do not exist, and a
    /// handler's entry depth is its SETUP instruction's jump effect.
    pub block_stack: bool,
    /// CO_NOFREE's bit, which the compiler sets on code objects without cell or free
    /// variables (3.6–3.10), or 0 where the flag does not exist.
    pub nofree_flag: u32,
    /// Bytes of the .pyc header before the marshalled code: 12 (3.6: magic, mtime, size) or
    /// 16 (3.7+: magic, flags, mtime or hash, size).
    pub pyc_header_len: u8,
    /// Values on the stack when a generator, coroutine or async generator starts running:
    /// 1 in 3.10 (the first sent value, which GEN_START pops), else 0.
    pub generator_entry_depth: u8,
    pub depth_merge: DepthMerge,
    /// The opcodes carry typed signatures (`OpInfo::sig`), which the verifier checks.
    pub typed: bool,
    /// The instructions FOR_ITER jumps past when its iterator is exhausted: the jump's target
    /// must be these (3.12: END_FOR; 3.13: END_FOR, POP_TOP).
    pub for_iter_skips: &'static [&'static str],
    /// The kind of the offset an exception handler gets below the exception when its entry
    /// asks for `lasti`: an int object up to 3.13, a tagged int (`kind::INDEX`) from 3.14 on.
    pub lasti_kind: Kinds,
    /// Names the compiler binds to a value of one kind that instructions then use without
    /// checking (3.14+: `__conditional_annotations__`, the set SET_ADD records the
    /// conditional annotations that ran in): loading one gives that kind, storing one must
    /// store it (`tools/signatures.py` TRUSTED_NAMES).
    pub trusted_names: &'static [(&'static str, Kinds)],
    /// 3.6 only: co_stacksize comes from its compiler's own walk (see
    /// `verify::stacksize_by_paths`), with these bookings where they differ from the table's
    /// (the table's `stack`, or for jumps the larger of `stack` and `jump_stack`). Empty for
    /// other versions, whose co_stacksize is the analysis' largest depth.
    pub path_walk: &'static [PathWalk],
}

/// One instruction as 3.6's compiler books it for co_stacksize: every exit moves the depth by
/// `effect`, and a jump's target gets `target` more.
#[derive(Clone, Copy, Debug)]
pub struct PathWalk {
    pub name: &'static str,
    pub effect: i32,
    pub target: i32,
}

impl VersionTable {
    /// A jump argument for a distance (or, for absolute jumps, an offset) in code units:
    /// 3.6–3.9 count bytes, two per code unit.
    pub fn jump_arg(&self, code_units: u32) -> u32 {
        code_units * (2 / u32::from(self.jump_unit))
    }
    /// The distance in code units a jump argument stands for; `None` for an odd byte count,
    /// which lands inside an instruction.
    pub fn jump_code_units(&self, arg: u32) -> Option<u32> {
        let per_unit = 2 / u32::from(self.jump_unit);
        (arg % per_unit == 0).then_some(arg / per_unit)
    }
    pub fn by_name(&self, name: &str) -> Option<&'static OpInfo> {
        match self.index() {
            Some(ix) => ix.by_name.get(name).map(|&i| &self.opcodes[i as usize]),
            None => self.opcodes.iter().find(|o| o.name == name),
        }
    }
    pub fn by_code(&self, code: u8) -> Option<&'static OpInfo> {
        match self.index() {
            Some(ix) => ix.by_code[code as usize].map(|i| &self.opcodes[i as usize]),
            None => self.opcodes.iter().find(|o| o.code == code),
        }
    }
    /// The lookup index of one of `TABLES` (a table made elsewhere, as tests may, has none).
    fn index(&self) -> Option<&'static OpIndex> {
        static INDEXES: std::sync::OnceLock<Vec<OpIndex>> = std::sync::OnceLock::new();
        let k = TABLES.iter().position(|t| std::ptr::eq(*t, self))?;
        Some(&INDEXES.get_or_init(|| TABLES.iter().map(|t| OpIndex::of(t.opcodes)).collect())[k])
    }
    pub fn pseudo_jump(&self, name: &str) -> Option<&'static PseudoJump> {
        self.pseudo_jumps.iter().find(|p| p.name == name)
    }
}

/// Where each opcode of a table is, by name and by number: every instruction of every file
/// is looked up, and the tables are lists of a few hundred. The first entry wins, as in a
/// search of the list.
struct OpIndex {
    by_code: [Option<u16>; 256],
    by_name: crate::resolve::hash::FastMap<&'static str, u16>,
}

impl OpIndex {
    fn of(opcodes: &'static [OpInfo]) -> OpIndex {
        let mut ix = OpIndex { by_code: [None; 256], by_name: crate::resolve::hash::FastMap::with_capacity_and_hasher(opcodes.len(), Default::default()) };
        for (i, o) in opcodes.iter().enumerate() {
            ix.by_code[o.code as usize].get_or_insert(i as u16);
            ix.by_name.entry(o.name).or_insert(i as u16);
        }
        ix
    }
}

/// Every version pyasm can target, oldest first.
pub static TABLES: &[&VersionTable] = &[
    &v3_6::TABLE,
    &v3_7::TABLE,
    &v3_8::TABLE,
    &v3_9::TABLE,
    &v3_10::TABLE,
    &v3_11::TABLE,
    &v3_12::TABLE,
    &v3_13::TABLE,
    &v3_14::TABLE,
    &v3_15::TABLE,
];

pub fn table_for(version: PythonVersion) -> Option<&'static VersionTable> {
    TABLES.iter().copied().find(|t| t.version == version)
}
