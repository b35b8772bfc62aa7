//! The common lines, parsed without the LR machinery.
//!
//! Almost every line of a program is `label:`, an instruction or directive with operands that
//! are single tokens separated by commas, or `.code NAME`. For such a line this builds the
//! same `Line` as the grammar in grammar/pyasm.lalrpop (same nodes, same spans) at a fraction
//! of the cost; anything else — brackets, a mistake, a condition of three values — it leaves
//! to the grammar (`None`), which is then the one that parses and reports it. The grammar
//! stays the definition of the syntax; this is a shortcut for the lines it is sure of.

use super::ast::*;
use super::lexer::{self, Tok};
use crate::object::PyStr;

/// The line of `tokens` (one line, ending with its newline token), or `None` to let the
/// grammar parse it. Takes the tokens' values out when it succeeds.
pub fn line(file: u32, tokens: &mut [lexer::Spanned<'_>]) -> Option<Line> {
    let sp = |s: usize, e: usize| Span::new(file, s, e);
    let (body, newline) = tokens.split_at_mut(tokens.len().checked_sub(1)?);
    if !matches!(newline[0].1, Tok::Newline) {
        return None;
    }
    let (label, rest) = match body {
        // The grammar's label span ends just before the end of the colon.
        [(s, Tok::Ident(name), _), (_, Tok::Colon, e), rest @ ..] => (Some(Spanned::new(String::from(*name), sp(*s, *e - 1))), rest),
        _ => (None, body),
    };
    let statement = match rest {
        [] => None,
        [(s, Tok::DotCode, _), (ns, name, ne)] => {
            let name = match name {
                Tok::Ident(n) | Tok::AngleName(n) => Name(PyStr::from(*n)),
                Tok::Str(v) => Name(std::mem::take(v)),
                _ => return None,
            };
            let (ns, ne) = (*ns, *ne);
            Some(Spanned::new(Statement::Code(CodeHeader { id: Spanned::new(name, sp(ns, ne)), params: None }), sp(*s, ne)))
        }
        [(s, Tok::Directive(d), de), ops @ ..] => {
            let (s, de, d) = (*s, *de, String::from(*d));
            let args = operands(file, ops)?;
            let end = args.last().map_or(de, |a| a.span.end as usize);
            Some(Spanned::new(Statement::Directive(Directive { name: Spanned::new(d, sp(s, de)), args }), sp(s, end)))
        }
        [(s, Tok::Ident(op), oe), ops @ ..] => {
            let (s, oe, op) = (*s, *oe, String::from(*op));
            let operands = operands(file, ops)?;
            let end = operands.last().map_or(oe, |a| a.span.end as usize);
            Some(Spanned::new(
                Statement::Instruction(Instruction { opname: Spanned::new(op, sp(s, oe)), operands, recovered: Recovered::No }),
                sp(s, end),
            ))
        }
        _ => return None,
    };
    Some(Line { label, statement, line_no: 0 })
}

/// `a, b, c`: values of one token each (`@name`: two), separated by commas; `None` for
/// anything else.
fn operands(file: u32, ops: &mut [lexer::Spanned<'_>]) -> Option<Vec<Spanned<Value>>> {
    if ops.is_empty() {
        return Some(Vec::new());
    }
    // Check the shape first, so that values are only taken from a line that is accepted.
    let mut i = 0;
    let mut count = 0;
    loop {
        let width = match (&ops.get(i)?.1, ops.get(i + 1).map(|t| &t.1)) {
            (Tok::Symbol("@"), Some(Tok::Ident(_) | Tok::AngleName(_) | Tok::Str(_))) => 2,
            // Any other `@` is the grammar's to read (and to report): the loop below takes
            // every `@` as the start of a code reference.
            (Tok::Symbol("@"), _) => return None,
            (t, _) if simple(t) => 1,
            _ => return None,
        };
        i += width;
        count += 1;
        match ops.get(i) {
            None => break,
            Some((_, Tok::Comma, _)) if i + 1 < ops.len() => i += 1,
            Some(_) => return None,
        }
    }
    let mut out = Vec::with_capacity(count);
    let mut i = 0;
    while i < ops.len() {
        let (s, e) = (ops[i].0, ops[i].2);
        let value = match std::mem::replace(&mut ops[i].1, Tok::Comma) {
            Tok::Symbol("@") => {
                i += 1;
                let name = match std::mem::replace(&mut ops[i].1, Tok::Comma) {
                    Tok::Ident(n) | Tok::AngleName(n) => Name(PyStr::from(n)),
                    Tok::Str(v) => Name(v),
                    _ => unreachable!("checked above"),
                };
                out.push(Spanned::new(Value::CodeRef(name), Span::new(file, s, ops[i].2)));
                i += 2;
                continue;
            }
            Tok::Ident(w) | Tok::Version(w) => Value::Word(w.to_string()),
            Tok::AngleName(a) => Value::Angle(a.to_string()),
            Tok::Int(v) => Value::Int(v),
            Tok::Float(f) => Value::Float(f),
            Tok::Imag(f) => Value::Imag(f),
            Tok::Str(v) => Value::Str(v),
            Tok::Bytes(b) => Value::Bytes(b),
            Tok::Raw(r) => Value::Raw(r),
            Tok::Loc(l) => Value::Loc(l),
            Tok::Ellipsis => Value::Ellipsis,
            Tok::Symbol(sym) => Value::Symbol(sym.to_string()),
            _ => unreachable!("checked above"),
        };
        out.push(Spanned::new(value, Span::new(file, s, e)));
        i += 2;
    }
    Some(out)
}

/// A token that is one value by itself.
fn simple(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Ident(_)
            | Tok::Version(_)
            | Tok::AngleName(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Imag(_)
            | Tok::Str(_)
            | Tok::Bytes(_)
            | Tok::Raw(_)
            | Tok::Loc(_)
            | Tok::Ellipsis
            | Tok::Symbol(_)
    )
}

#[cfg(test)]
mod tests {
    use super::super::{grammar, lexer};

    /// For every line the shortcut accepts, the grammar's line is the same (nodes and spans).
    #[test]
    fn the_shortcut_builds_what_the_grammar_builds() {
        let mut text = String::from(
            "loop: LOAD_CONST -5, 1.5, 2j, 'a\\n', b'x', $3, ..., 3:4-10, <listcomp>\n\
             .code <module>\n.code \"odd name\"\nlabel :\n   BINARY_OP **=\nLOAD_CONST @f\nLOAD_CONST @\"g\"\n\
             .python 3.6-3.15\n.loc 3:1-4:2\nCOMPARE_OP <=, bool\nX: .names a, b\n\n\
             BINARY_OP @\nBINARY_OP @=\nLOAD_CONST @, 1\nLOAD_CONST 1, @\nLOAD_CONST @ 5\nX @\n",
        );
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "pyasm") {
                text.push_str(&std::fs::read_to_string(e.path()).unwrap());
                text.push('\n');
            }
        }
        let mut accepted = 0;
        for raw in text.split_inclusive('\n') {
            let mut tokens = lexer::lex(raw, &mut Vec::new());
            let expected = grammar::FileParser::new().parse(0, &mut Vec::new(), tokens.clone().into_iter().map(Ok::<_, lexer::LexError>));
            if let Some(mut got) = super::line(0, &mut tokens) {
                let mut expected = expected.unwrap_or_else(|e| panic!("{raw:?}: the grammar fails ({e:?}) where the shortcut does not"));
                // Where a statement's span ends `parse` decides afterwards (at its last token,
                // not at a comment after it), for both alike.
                for l in expected.iter_mut().chain([&mut got]) {
                    if let Some(s) = &mut l.statement {
                        s.span.end = 0;
                    }
                }
                assert_eq!(expected, vec![got], "{raw:?}");
                accepted += 1;
            }
        }
        assert!(accepted > 100, "only {accepted} lines took the shortcut");
    }
}
