//! From text to syntax tree: the logos lexer, the lalrpop grammar (in `grammar/`), and the
//! conversion of lexer and parser errors into diagnostics.

pub mod ast;
pub mod lexer;

use crate::diagnostics::{Diagnostic, codes};
use ast::{Line, Span};
use lalrpop_util::{ParseError, lalrpop_mod};
use lexer::{LexError, Tok};

lalrpop_mod!(
    #[allow(clippy::all, unused_parens, dead_code)]
    grammar,
    "/pyasm.rs"
);

/// Parses one file. Returns every line that parsed (with its 1-based line number) and a
/// diagnostic for every line that did not; a bad line never stops the rest.
pub fn parse(file: u32, text: &str) -> (Vec<Line>, Vec<Diagnostic>) {
    let mut lex_errors = Vec::new();
    let tokens = lexer::lex(text, &mut lex_errors);
    let mut diags: Vec<Diagnostic> = lex_errors
        .iter()
        .map(|(s, e, err)| {
            let (msg, hint) = err.message(&text[*s..*e]);
            let mut d = Diagnostic::error(codes::LEX, msg).with_primary(Span::new(file, *s, *e), "");
            if let Some(h) = hint {
                d = d.with_help(h);
            }
            d
        })
        .collect();
    let mut recovered = Vec::new();
    let result = grammar::FileParser::new().parse(file, &mut recovered, tokens.into_iter().map(Ok::<_, LexError>));
    let mut lines = match result {
        Ok(lines) => lines,
        Err(e) => {
            diags.push(parse_error(file, text, e, &lex_errors));
            Vec::new()
        }
    };
    for r in recovered {
        // A line that failed to lex already has its own, better diagnostic.
        let covered = match &r.error {
            ParseError::UnrecognizedToken { token: (s, Tok::Error, _), .. } => {
                lex_errors.iter().any(|(ls, _, _)| ls == s)
            }
            _ => false,
        };
        let on_lex_error_line = r.dropped_tokens.iter().any(|(_, t, _)| *t == Tok::Error);
        if !covered && !on_lex_error_line {
            diags.push(parse_error(file, text, r.error, &lex_errors));
        }
    }
    // A statement's span ends at its last token, not at the comment or newline after it.
    for line in lines.iter_mut() {
        if let Some(stmt) = &mut line.statement {
            let end = match &stmt.node {
                ast::Statement::Instruction(i) => i.operands.last().map_or(i.opname.span.end, |o| o.span.end),
                ast::Statement::Directive(d) => d.args.last().map_or(d.name.span.end, |a| a.span.end),
                ast::Statement::Code(h) => match &h.params {
                    None => h.id.span.end,
                    // Up to the closing parenthesis.
                    Some(_) => text[h.id.span.end as usize..stmt.span.end as usize]
                        .find(')')
                        .map_or(stmt.span.end, |p| h.id.span.end + p as u32 + 1),
                },
            };
            stmt.span.end = end;
        }
    }
    // Number the lines: the grammar sees tokens, not line numbers.
    let starts = line_starts(text);
    let mut line_no = 1u32;
    let mut iter_lines = lines.iter_mut().peekable();
    // Each Line corresponds to one newline token, in order; recompute from spans where we
    // can, else count.
    while let Some(line) = iter_lines.next() {
        let pos = line
            .label
            .as_ref()
            .map(|l| l.span.start)
            .or(line.statement.as_ref().map(|s| s.span.start));
        if let Some(pos) = pos {
            line_no = line_of(&starts, pos as usize);
        }
        line.line_no = line_no;
        line_no += 1;
    }
    (lines, diags)
}

pub fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// 1-based line containing byte `pos`.
pub fn line_of(starts: &[usize], pos: usize) -> u32 {
    match starts.binary_search(&pos) {
        Ok(i) => i as u32 + 1,
        Err(i) => i as u32,
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Newline => "end of line".into(),
        Tok::DotCode => "`.code`".into(),
        Tok::Directive(d) => format!("directive `.{d}`"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::AngleName(s) => format!("`{s}`"),
        Tok::Int(i) => format!("number `{i}`"),
        Tok::Float(f) => format!("number `{f}`"),
        Tok::Imag(f) => format!("number `{f}j`"),
        Tok::Str(_) => "a string".into(),
        Tok::Bytes(_) => "a bytes literal".into(),
        Tok::Raw(r) => format!("`${r}`"),
        Tok::Loc(_) => "a source position".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBrace => "`{`".into(),
        Tok::RBrace => "`}`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Colon => "`:`".into(),
        Tok::Ellipsis => "`...`".into(),
        Tok::Symbol(s) => format!("`{s}`"),
        Tok::Unterminated | Tok::Error => "unreadable text".into(),
    }
}

fn parse_error(
    file: u32,
    text: &str,
    e: ParseError<usize, Tok, LexError>,
    _lex: &[(usize, usize, LexError)],
) -> Diagnostic {
    match e {
        ParseError::UnrecognizedToken { token: (s, tok, end), expected } => {
            let mut d = Diagnostic::error(codes::SYNTAX, format!("unexpected {}", describe(&tok)))
                .with_primary(Span::new(file, s, end.max(s + usize::from(s < text.len()))), "not expected here");
            if let Some(h) = expected_hint(&expected) {
                d = d.with_help(h);
            }
            d
        }
        ParseError::UnrecognizedEof { location, .. } => {
            Diagnostic::error(codes::SYNTAX, "unexpected end of file").with_primary(Span::new(file, location, location), "")
        }
        ParseError::InvalidToken { location } => Diagnostic::error(codes::LEX, "invalid token")
            .with_primary(Span::new(file, location, location + 1), ""),
        ParseError::ExtraToken { token: (s, tok, end) } => {
            Diagnostic::error(codes::SYNTAX, format!("unexpected {}", describe(&tok))).with_primary(Span::new(file, s, end), "")
        }
        ParseError::User { error } => {
            let (msg, _) = error.message("");
            Diagnostic::error(codes::LEX, msg)
        }
    }
}

fn expected_hint(expected: &[String]) -> Option<String> {
    if expected.is_empty() {
        return None;
    }
    let nice: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "\"\\n\"" => "end of line".to_string(),
            "Ident" => "a name".to_string(),
            "Angle" => "a <name>".to_string(),
            "Int" | "Float" | "Imag" => "a number".to_string(),
            "Str" => "a string".to_string(),
            "Symbol" => "an operator".to_string(),
            "Directive" => "a directive".to_string(),
            other => format!("`{}`", other.trim_matches('"')),
        })
        .collect();
    let mut unique: Vec<String> = Vec::new();
    for n in nice {
        if !unique.contains(&n) {
            unique.push(n);
        }
    }
    if unique.len() > 6 {
        return None;
    }
    Some(format!("expected {}", unique.join(", ")))
}
