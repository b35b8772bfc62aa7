//! Pass 2 over a block: the instructions in order, each with its position (`.loc`, `.line`),
//! the innermost `.try` region that protects it and the `EXTENDED_ARG` prefixes asked for
//! before it; `.exception` entries by label.

use super::directives::{Declarations, directive_error, parse_loc};
use super::labels::{Labels, parse_exception, parse_try};
use super::operands::{is_prefix_request, resolve_instruction, unknown_opcode};
use super::structure::Block;
use super::tables::CodeBuilder;
use super::{Arg, Instr, ResolvedCode};
use crate::diagnostics::{Diagnostic, codes};
use crate::emit::linetable::Location;
use crate::syntax::ast::{Directive, Instruction, Line, Recovered, Span, Spanned, Statement, Value};

/// Stands in the stack of open `.try` regions for one whose directive was wrong.
const BROKEN_REGION: usize = usize::MAX;

/// What pass 2 carries from one line to the next.
struct Sequence {
    /// The position of the next instruction.
    loc: Location,
    /// A `.loc`/`.line` came since the last instruction.
    loc_pending: bool,
    /// `EXTENDED_ARG` lines (no operand) since the last instruction.
    prefix_requests: u32,
    /// Indexes into `rc.regions` of the `.try` regions open here, innermost last.
    open_regions: Vec<usize>,
}

/// The context every instruction of a block is resolved in.
pub(super) struct Context<'b, 'c> {
    pub labels: &'b Labels,
    pub code_ref: &'b mut dyn FnMut(&Spanned<Value>) -> Result<usize, Diagnostic>,
    pub cb: &'b mut CodeBuilder<'c>,
}

/// Resolves a block's instructions in order into `rc.instrs`.
pub(super) fn instructions(b: &Block, rc: &mut ResolvedCode, cx: &mut Context, decls: &mut Declarations, diags: &mut Vec<Diagnostic>) {
    let mut s = Sequence { loc: Location::NONE, loc_pending: false, prefix_requests: 0, open_regions: Vec::new() };
    for line in &b.body {
        let Some(stmt) = &line.statement else { continue };
        match &stmt.node {
            Statement::Directive(d) => s.directive(d, rc, cx.labels, &mut decls.firstlineno, diags),
            Statement::Instruction(ins) if is_prefix_request(ins) => s.prefix_requests += 1,
            Statement::Instruction(ins) => s.instruction(line, stmt.span, ins, rc, cx, decls.has_loc, diags),
            Statement::Code(_) => {}
        }
    }
    s.finish(b, rc, diags);
}

impl Sequence {
    /// The positional directives: `.loc`/`.line`, `.try`/`.end_try`, `.exception`.
    fn directive(&mut self, d: &Directive, rc: &mut ResolvedCode, labels: &Labels, firstlineno: &mut Option<i32>, diags: &mut Vec<Diagnostic>) {
        let version = rc.version;
        match d.name.node.as_str() {
            "loc" | "line" => match parse_loc(d) {
                Ok(l) => {
                    if firstlineno.is_none() && l.line >= 1 {
                        *firstlineno = Some(l.line);
                    }
                    if self.loc_pending && version.block_stack {
                        rc.lines_without_code.push((rc.instrs.len(), self.loc));
                    }
                    self.loc = l;
                    self.loc_pending = true;
                }
                Err(e) => diags.push(e),
            },
            "try" | "end_try" | "exception" if version.block_stack => {
                let mut e = directive_error(d, &format!("`.{}` needs an exception table, which Python {} does not have", d.name.node, version.version));
                e.code = codes::EXCEPTION_REGION;
                diags.push(e.with_help(
                    "before 3.11 handlers are set up at run time: SETUP_FINALLY (or SETUP_WITH, SETUP_EXCEPT, …) LABEL, then POP_BLOCK where the protected code ends",
                ));
            }
            "try" => match parse_try(d, labels) {
                Ok(mut r) => {
                    r.first = None;
                    rc.regions.push(r);
                    self.open_regions.push(rc.regions.len() - 1);
                }
                Err(e) => {
                    diags.push(e);
                    // Still open a region, so that its `.end_try` matches.
                    self.open_regions.push(BROKEN_REGION);
                }
            },
            "end_try" => {
                if self.open_regions.pop().is_none() {
                    let mut e = directive_error(d, "`.end_try` without a `.try`");
                    e.code = codes::EXCEPTION_REGION;
                    diags.push(e);
                }
            }
            "exception" => match parse_exception(d, labels) {
                Ok(e) => rc.entries.push(e),
                Err(e) => diags.push(e),
            },
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn instruction(
        &mut self,
        line: &Line,
        span: Span,
        ins: &Instruction,
        rc: &mut ResolvedCode,
        cx: &mut Context,
        has_loc: bool,
        diags: &mut Vec<Diagnostic>,
    ) {
        let version = rc.version;
        let here = rc.instrs.len();
        if self.prefix_requests > 0 {
            rc.min_prefixes.push((here, std::mem::take(&mut self.prefix_requests)));
        }
        let region = self.open_regions.iter().rev().copied().find(|&r| r != BROKEN_REGION);
        if let Some(r) = region {
            if rc.regions[r].first.is_none() {
                rc.regions[r].first = Some(here);
            }
        }
        let (loc, line_mark) = self.position(line, rc, has_loc);
        let operand_span = ins.operands.first().map_or(span, |o| o.span);
        let result = match ins.recovered {
            // Its operands were lost with its syntax error: keep the opcode only.
            Recovered::OperandsLost => match version.by_name(&ins.opname.node) {
                Some(op) => Err((Some(op), Vec::new())),
                None => Err((None, vec![unknown_opcode(ins, version)])),
            },
            // A macro use the linker reported and could not expand: no opcode, so
            // unknown effects (below), and nothing more to say.
            Recovered::Unexpanded => Err((None, Vec::new())),
            Recovered::No => resolve_instruction(ins, here, cx.cb, cx.labels, cx.code_ref).map_err(|e| (version.by_name(&ins.opname.node), e)),
        };
        match result {
            Ok((op, arg)) => rc.instrs.push(Instr { op, arg, span, loc, region, placeholder: false, operand_span, line_mark }),
            Err((known, mut es)) => {
                diags.append(&mut es);
                // Keep the instruction (with argument 0) so that later indexes stay
                // right and, when the opcode is known, the stack check can still run.
                let op = known.unwrap_or_else(|| {
                    rc.unknown_effects = true;
                    version.by_name("NOP").expect("every version has NOP")
                });
                rc.instrs.push(Instr { op, arg: Arg::Value(0), span, loc, region, placeholder: true, operand_span, line_mark });
            }
        }
    }

    /// The next instruction's position, and whether it starts a line (see [`Instr::line_mark`]).
    fn position(&mut self, line: &Line, rc: &ResolvedCode, has_loc: bool) -> (Location, bool) {
        if has_loc {
            return (self.loc, std::mem::take(&mut self.loc_pending));
        }
        // Without `.line` directives each source line of the .pyasm file is a line.
        let l = line.line_no as i32;
        let loc = Location { line: l, end_line: l, col: -1, end_col: -1 };
        (loc, rc.instrs.last().is_none_or(|p: &Instr| p.loc.line != loc.line))
    }

    /// What is left open at the block's `.end`: `.try` regions, trailing `.line`s, prefixes.
    fn finish(self, b: &Block, rc: &mut ResolvedCode, diags: &mut Vec<Diagnostic>) {
        for r in self.open_regions.into_iter().filter(|&r| r != BROKEN_REGION) {
            let mut e = Diagnostic::error(codes::EXCEPTION_REGION, "this `.try` has no `.end_try`")
                .with_primary(rc.regions[r].span, "opened here")
                .with_help("close the protected region with `.end_try` before the code object's `.end`");
            // The fix: a `.end_try` line before the `.end` (indented as `pyasm fmt` lays out a body).
            if b.end_span != b.header.span {
                e = e.with_suggestion(Span { end: b.end_span.start, ..b.end_span }, "    .end_try\n");
            }
            diags.push(e);
        }
        // 3.6–3.10: `.line` after the last instruction: lines whose code was removed at the end.
        if self.loc_pending && rc.version.block_stack {
            rc.lines_without_code.push((rc.instrs.len(), self.loc));
        }
        if self.prefix_requests > 0 {
            diags.push(
                Diagnostic::error(codes::OPERAND, "`EXTENDED_ARG` without an instruction after it")
                    .with_primary(b.end_span, "the code ends here")
                    .with_help("`EXTENDED_ARG` (no operand) asks for one more prefix on the next instruction"),
            );
        }
    }
}
