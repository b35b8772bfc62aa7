//! The resolver: from the syntax tree to code in which nothing symbolic is left.
//!
//! Lines are grouped into `.code` blocks; each block's declarations build its tables
//! (fast locals, co_consts, co_names); each instruction's operand becomes a number, or a
//! jump target given as an instruction index (offsets need the layout, which is `emit`'s).
//! Afterwards the reference graph between code objects gives qualnames and NESTED flags.
//!
//! Where each piece is:
//!
//! ```text
//! structure.rs     lines → `.code` … `.end` blocks; the file-level directives
//! block.rs         one block → a ResolvedCode: the passes below, in order
//! signature.rs     a function's parameters → counts, flags, its first locals
//! directives.rs    pass 1: declarations (`.locals`, `.consts`, `.name`, …) and labels
//! labels.rs        labels, and the `.try` / `.exception` directives that name them
//! locals.rs        fast-local kinds and the rules for declaring a name twice
//! tables.rs        co_consts, co_names and the locals under construction
//! instructions.rs  pass 2: instructions in order, positions, `.try` regions
//! operands.rs      one instruction: its opcode and operands → its argument
//! flags.rs         code flags: words, `.flags`, flags implied by instructions
//! constants.rs     literal operands → constants
//! references.rs    `@name` operands and the graph they make: qualnames, NESTED, cycles
//! hash.rs          the fast hasher of the tables
//! ```

mod block;
pub mod constants;
mod directives;
mod flags;
pub mod hash;
mod instructions;
mod labels;
mod locals;
mod operands;
mod references;
mod signature;
mod structure;
mod tables;

use crate::diagnostics::{Diagnostic, codes};
use crate::emit::linetable::Location;
use crate::object::{LocalSlot, PyStr};
use crate::opcodes::{OpInfo, VersionTable};
use crate::syntax::ast::*;
use block::resolve_block;
use constants::PoolConst;
use flags::parse_flags;
use hash::FastMap;
use references::link_references;
use structure::structure;

pub use flags::{
    CO_ASYNC_GENERATOR, CO_COROUTINE, CO_GENERATOR, CO_HAS_DOCSTRING, CO_ITERABLE_COROUTINE, CO_METHOD, CO_NESTED, CO_NEWLOCALS,
    CO_NOFREE, CO_OPTIMIZED, CO_VARARGS, CO_VARKEYWORDS, FLAG_WORDS,
};
pub use locals::{FAST_ARG_KW, FAST_ARG_POS, FAST_ARG_VAR, FAST_CELL, FAST_FREE, FAST_HIDDEN, FAST_LOCAL, param_kind};
pub use references::{child_qualname, is_comprehension};
pub use structure::{CODE_DIRECTIVES, FILE_DIRECTIVES};

/// How deep code objects may nest (module = 0).
pub const MAX_CODE_NESTING: usize = 200;

/// An instruction's argument after resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// The final argument value.
    Value(u32),
    /// A jump to the instruction at this index (`instrs.len()` means "the end").
    Target(usize),
}

impl Arg {
    /// The argument as far as stack effects go: a jump's offset never changes its effect.
    pub fn oparg(self) -> u32 {
        match self {
            Arg::Value(v) => v,
            Arg::Target(_) => 0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Instr {
    pub op: &'static OpInfo,
    pub arg: Arg,
    pub span: Span,
    pub loc: Location,
    /// The innermost structured region (`.try`) that protects this instruction.
    pub region: Option<usize>,
    /// The operand could not be resolved (and was reported); the argument is a stand-in 0.
    pub placeholder: bool,
    /// The span of the main operand (the instruction's span when it has none).
    pub operand_span: Span,
    /// A `.line`/`.loc` directive comes right before it (since the previous instruction):
    /// 3.6–3.10 line tables mark such instructions, the compilers' statement starts.
    pub line_mark: bool,
}

/// A `.try` region.
#[derive(Clone, Debug)]
pub struct Region {
    pub handler: usize,
    pub lasti: bool,
    pub depth: Option<u32>,
    /// The first instruction inside the region (its depth is the default handler depth).
    pub first: Option<usize>,
    pub span: Span,
}

/// A `.exception` entry, by instruction indexes.
#[derive(Clone, Debug)]
pub struct ExplicitEntry {
    pub start: usize,
    pub end: usize,
    pub target: usize,
    pub depth: u32,
    pub lasti: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ResolvedCode {
    pub version: &'static VersionTable,
    pub id: Spanned<Name>,
    pub header_span: Span,
    pub end_span: Span,
    pub is_function: bool,
    pub name: PyStr,
    pub qualname: Option<PyStr>,
    pub filename: Option<PyStr>,
    pub firstlineno: i32,
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    /// Flags from the signature and instructions; NESTED is added by the program pass.
    pub flags: u32,
    pub flags_override: Option<u32>,
    /// `.add_flags` / `.remove_flags` (and the file-level `.add_flags`), applied last.
    pub flags_add: u32,
    pub flags_remove: u32,
    pub stacksize_override: Option<u32>,
    pub consts: Vec<PoolConst>,
    pub names: Vec<PyStr>,
    pub localsplus: Vec<LocalSlot>,
    pub instrs: Vec<Instr>,
    /// 3.6–3.10: `.line` directives followed by another `.line` before any instruction, as
    /// (index of the next instruction, position): lines whose code 3.6–3.9's peephole optimizer
    /// removed, kept in the line table as marks of size 0 (see `emit::lnotab`).
    pub lines_without_code: Vec<(usize, Location)>,
    /// `EXTENDED_ARG` lines without an operand before an instruction, as (its index, how many):
    /// it is written with at least that many prefixes, carrying its argument's high bytes (zero
    /// where the argument is small). 3.6–3.9's peephole optimizer shortens code after the
    /// layout and keeps every instruction's size, leaving prefixes the argument does not need
    /// (`EXTENDED_ARG 0`) or that a fresh layout would not choose.
    pub min_prefixes: Vec<(usize, u32)>,
    pub regions: Vec<Region>,
    pub entries: Vec<ExplicitEntry>,
    /// Some instruction could not be identified, so stack effects are unknown.
    pub unknown_effects: bool,
    /// `.linetable` / `.exceptiontable`: raw tables that replace the computed ones.
    pub linetable_override: Option<Vec<u8>>,
    pub exceptiontable_override: Option<Vec<u8>>,
}

impl ResolvedCode {
    /// co_flags: inferred (or `.flags`), then `.add_flags` / `.remove_flags`.
    pub fn final_flags(&self) -> u32 {
        (self.flags_override.unwrap_or(self.flags) | self.flags_add) & !self.flags_remove
    }
}

pub struct Program {
    pub version: &'static VersionTable,
    pub codes: Vec<ResolvedCode>,
    pub module: usize,
    /// For each code object, the code object that first references it.
    pub parent: Vec<Option<usize>>,
}

/// Options a caller (the CLI) passes down.
pub struct ResolveOptions {
    /// co_filename when the file does not set one.
    pub default_filename: String,
}

/// Resolves a parsed file against one version's table.
pub fn resolve(
    lines: &[Line],
    version: &'static VersionTable,
    opts: &ResolveOptions,
) -> (Option<Program>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let (blocks, file_filename, file_flag_directives) = structure(lines, &mut diags);

    // Code IDs first: definition order does not matter, so every block is known up front.
    let mut ids: FastMap<PyStr, usize> = FastMap::default();
    for (i, b) in blocks.iter().enumerate() {
        if let Some(&prev) = ids.get(&b.code.id.node.0) {
            diags.push(
                Diagnostic::error(codes::DUPLICATE_CODE, format!("code object `{}` is defined more than once", b.code.id.node.text()))
                    .with_primary(b.code.id.span, "defined again here")
                    .with_secondary(blocks[prev].code.id.span, "first defined here")
                    .with_help("give one of them another ID and set its co_name with .name"),
            );
        } else {
            ids.insert(b.code.id.node.0.clone(), i);
        }
    }
    let default_filename = file_filename.unwrap_or_else(|| PyStr::from(opts.default_filename.as_str()));
    let mut file_flags = 0;
    for d in &file_flag_directives {
        file_flags |= parse_flags(d, &mut diags).unwrap_or(0);
    }
    let mut codes_out = Vec::new();
    for b in &blocks {
        let mut rc = resolve_block(b, version, &ids, &mut diags);
        rc.flags_add |= file_flags;
        codes_out.push(rc);
    }
    let module = ids.get(&PyStr::from("<module>")).copied();
    if let Some(m) = module {
        if blocks[m].code.params.is_some() {
            diags.push(
                Diagnostic::error(codes::SIGNATURE, "the module cannot have parameters")
                    .with_primary(blocks[m].header.span, "a parameter list makes this a function")
                    .with_help("write `.code <module>` without parentheses"),
            );
        }
    }
    if module.is_none() && !blocks.is_empty() {
        diags.push(
            Diagnostic::error(codes::NO_MODULE, "there is no `.code <module>`")
                .with_primary(blocks[0].code.id.span, "the first code object")
                .with_help("the module's code object is the one with ID <module>: write `.code <module>`"),
        );
    }
    if blocks.is_empty() && diags.iter().all(|d| !d.is_error()) {
        diags.push(
            Diagnostic::error(codes::NO_MODULE, "this file defines no code object")
                .with_help("a program is a `.code <module>` … `.end` block; see docs/format.md"),
        );
    }
    let Some(module) = module else { return (None, diags) };
    let mut program = Program { version, codes: codes_out, module, parent: Vec::new() };
    link_references(&mut program, &default_filename, &mut diags);
    (Some(program), diags)
}
