//! From text to syntax tree: the logos lexer, the lalrpop grammar (in `grammar/`), and the
//! conversion of lexer and parser errors into diagnostics.

pub mod ast;
mod fast;
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
    let mut nesting = Vec::new();
    let mut recovered = Vec::new();
    let result = match parse_lines(file, text, &mut lex_errors, &mut nesting, &mut recovered) {
        Some(lines) => Ok(lines),
        None => {
            // A line the grammar could not recover from: parse the file as a whole, which
            // decides what becomes of the rest.
            recovered.clear();
            lex_errors.clear();
            let mut tokens = lexer::lex(text, &mut lex_errors);
            nesting = limit_nesting(file, &mut tokens);
            grammar::FileParser::new().parse(file, &mut recovered, tokens.into_iter().map(Ok::<_, LexError>))
        }
    };
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
    diags.extend(nesting);
    let mut lines = match result {
        Ok(lines) => lines,
        Err(e) => {
            diags.push(parse_error(file, text, e, &lex_errors));
            Vec::new()
        }
    };
    let starts = line_starts(text);
    // Lines that failed to parse still define their label (and a `.code` header its code
    // object), so that the rest of the file is not buried under follow-on errors.
    salvage(file, text, &starts, &recovered, &mut lines);
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

/// The lines of `text` one by one, lexed as they are parsed: the common ones by `fast`, the
/// others by the grammar. `File` is a sequence of lines that each end at their newline token,
/// and the grammar recovers from a mistake at the end of its line, so a line parses alone as
/// it does in the file. Lines nested too deeply are reported into `nesting` (see
/// `limit_nesting`, which is about one line at a time). `None` when the grammar fails on a
/// line without recovering.
fn parse_lines<'s>(
    file: u32,
    text: &'s str,
    lex_errors: &mut Vec<(usize, usize, LexError)>,
    nesting: &mut Vec<Diagnostic>,
    recovered: &mut Vec<Recovery<'s>>,
) -> Option<Vec<Line>> {
    // Every newline is a token of its own (no token spans lines), and a last one is supplied.
    let newlines = text.bytes().filter(|&b| b == b'\n').count() + usize::from(!text.ends_with('\n'));
    let mut lines = Vec::with_capacity(newlines);
    let mut rest = lexer::tokens(text, lex_errors);
    let mut line = Vec::new();
    loop {
        line.clear();
        for tok in rest.by_ref() {
            let end = matches!(tok.1, Tok::Newline);
            line.push(tok);
            if end {
                break;
            }
        }
        if line.is_empty() {
            return Some(lines);
        }
        nesting.append(&mut limit_nesting(file, &mut line));
        if let Some(l) = fast::line(file, &mut line) {
            lines.push(l);
            continue;
        }
        match grammar::FileParser::new().parse(file, recovered, line.drain(..).map(Ok::<_, LexError>)) {
            Ok(mut ls) => lines.append(&mut ls),
            Err(_) => return None,
        }
    }
}

pub fn line_starts(text: &str) -> Vec<usize> {
    // A byte scan: lines are short, and a search per line (`match_indices`) costs several
    // times as much.
    std::iter::once(0).chain(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1)).collect()
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
        Tok::Version(v) => format!("`{v}`"),
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
            // A newline is shown as a point at the end of the line, not as a line break.
            let end = if tok == Tok::Newline { s } else { end.max(s + usize::from(s < text.len())) };
            let mut d = Diagnostic::error(codes::SYNTAX, format!("unexpected {}", describe(&tok)))
                .with_primary(Span::new(file, s, end), "not expected here");
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

/// The deepest nesting of `(` and `{` a line may have. CPython's marshal refuses constants
/// nested much deeper (2000 levels in all), and deep nesting would exhaust the stack of the
/// recursive passes after the parser.
pub const MAX_NESTING: usize = 100;

/// Replaces every line that nests too deeply by one error token (so the parser recovers at
/// its end) and reports it. Lines of usual depth are left where they are: the token list is
/// only rebuilt when some line is too deep.
fn limit_nesting(file: u32, tokens: &mut Vec<lexer::Spanned<'_>>) -> Vec<Diagnostic> {
    let too_deep = too_deep_lines(tokens);
    if too_deep.is_empty() {
        return Vec::new();
    }
    let mut diags = Vec::new();
    let old = std::mem::take(tokens);
    let mut out = Vec::with_capacity(old.len());
    let mut next = too_deep.into_iter().peekable();
    // While inside a line that is too deep: the index of its newline.
    let mut skip_to: Option<usize> = None;
    for (i, tok) in old.into_iter().enumerate() {
        if let Some(newline) = skip_to {
            if i == newline {
                skip_to = None;
                out.push(tok);
            }
            continue;
        }
        if let Some((_, newline, (s, e))) = next.next_if(|(first, _, _)| *first == i) {
            diags.push(
                Diagnostic::error(codes::SYNTAX, format!("nested more than {MAX_NESTING} levels deep"))
                    .with_primary(Span::new(file, s, e), "too deep here")
                    .with_note("Python's marshal format cannot hold constants nested much deeper"),
            );
            out.push((tok.0, Tok::Error, tok.0));
            skip_to = Some(newline);
            continue;
        }
        out.push(tok);
    }
    *tokens = out;
    diags
}

/// The lines nested more than `MAX_NESTING` deep, as (index of their first token, index of
/// their newline, span of the first bracket too deep). A line is the tokens up to a newline;
/// the last line may have none.
fn too_deep_lines(tokens: &[lexer::Spanned<'_>]) -> Vec<(usize, usize, (usize, usize))> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut line_start = 0;
    let mut first_too_deep: Option<(usize, usize)> = None;
    for (i, tok) in tokens.iter().enumerate() {
        match tok.1 {
            Tok::LParen | Tok::LBrace => {
                depth += 1;
                if depth > MAX_NESTING && first_too_deep.is_none() {
                    first_too_deep = Some((tok.0, tok.2));
                }
            }
            Tok::RParen | Tok::RBrace => depth = depth.saturating_sub(1),
            Tok::Newline => {
                if let Some(at) = first_too_deep.take() {
                    found.push((line_start, i, at));
                }
                depth = 0;
                line_start = i + 1;
            }
            _ => {}
        }
    }
    found
}

/// `line_no` of the Line the grammar makes for a line it could not parse.
pub const RECOVERED: u32 = u32::MAX;

type Recovery<'a> = lalrpop_util::ErrorRecovery<usize, Tok<'a>, LexError>;

/// Where a parse error was detected.
fn error_position(e: &ParseError<usize, Tok, LexError>) -> Option<usize> {
    match e {
        ParseError::UnrecognizedToken { token: (s, _, _), .. } | ParseError::ExtraToken { token: (s, _, _) } => Some(*s),
        ParseError::InvalidToken { location } | ParseError::UnrecognizedEof { location, .. } => Some(*location),
        ParseError::User { .. } => None,
    }
}

/// The tokens of the line at `lo..hi` of `text` as `parse` gave them to the grammar (a line
/// nested too deeply is one error token). Tokens never span lines, so lexing the line alone
/// gives the same tokens as lexing the file; only lines that failed to parse are lexed again,
/// which is cheaper than keeping every token of the file.
fn relex_line(file: u32, text: &str, lo: usize, hi: usize) -> Vec<lexer::Spanned<'_>> {
    let line = &text[lo..hi.min(text.len())];
    let mut tokens: Vec<lexer::Spanned> = lexer::lex(line, &mut Vec::new()).into_iter().map(|(s, t, e)| (s + lo, t, e + lo)).collect();
    limit_nesting(file, &mut tokens);
    tokens
}

/// Rebuilds what can be trusted of a line that did not parse — its label, a `.code` header's
/// ID and parameter names, an instruction's opcode — so that one bad line does not bury the
/// rest of the file under follow-on errors (undefined labels, stack underflows, instructions
/// "outside a code object").
fn salvage(file: u32, text: &str, starts: &[usize], recovered: &[Recovery], lines: &mut [Line]) {
    use ast::{CodeHeader, Instruction, Name, Param, Recovered, Spanned, Statement};
    let mut slots = lines.iter_mut().filter(|l| l.line_no == RECOVERED);
    for r in recovered {
        let Some(slot) = slots.next() else { break };
        slot.line_no = 0;
        let Some(pos) = error_position(&r.error) else { continue };
        let line = line_of(&starts, pos.min(text.len())) as usize;
        let (lo, hi) = (starts[line - 1], starts.get(line).copied().unwrap_or(usize::MAX));
        let line_tokens = relex_line(file, text, lo, hi);
        let toks: Vec<&lexer::Spanned> = line_tokens.iter().filter(|t| t.1 != Tok::Newline).collect();
        let (label, rest) = match toks.as_slice() {
            [(s, Tok::Ident(name), _), (_, Tok::Colon, e), rest @ ..] => {
                (Some(Spanned::new(name.to_string(), Span::new(file, *s, *e))), rest)
            }
            other => (None, other),
        };
        let name_of = |t: &Tok| match t {
            Tok::Ident(n) | Tok::AngleName(n) => Some(crate::object::PyStr::from(*n)),
            Tok::Str(s) => Some(s.clone()),
            _ => None,
        };
        let statement = match rest {
            [(s, Tok::DotCode, _), (is, id, ie), more @ ..] => name_of(id).map(|n| {
                let params = match more.first() {
                    Some((_, Tok::LParen, _)) => {
                        let mut ps = Vec::new();
                        let mut i = 1;
                        while i < more.len() && more[i].1 != Tok::RParen {
                            let (ps_, t, pe) = more[i];
                            let span = Span::new(file, *ps_, *pe);
                            let next_name = more.get(i + 1).and_then(|(a, t, b)| name_of(t).map(|n| Spanned::new(Name(n), Span::new(file, *a, *b))));
                            match t {
                                Tok::Symbol("*") => match next_name {
                                    Some(n) => {
                                        ps.push(Param::VarArgs(n));
                                        i += 1;
                                    }
                                    None => ps.push(Param::KwOnlyMarker(span)),
                                },
                                Tok::Symbol("**") => {
                                    if let Some(n) = next_name {
                                        ps.push(Param::VarKeywords(n));
                                        i += 1;
                                    }
                                }
                                Tok::Symbol("/") => ps.push(Param::PosOnlyMarker(span)),
                                t => {
                                    // A name right after an error (`a=1`: the `1`) is not a parameter.
                                    let after_error = i > 0 && more[i - 1].1 == Tok::Error;
                                    if let (Some(n), false) = (name_of(t), after_error) {
                                        ps.push(Param::Plain(Spanned::new(Name(n), span)));
                                    }
                                }
                            }
                            i += 1;
                        }
                        Some(ps)
                    }
                    _ => None,
                };
                Spanned::new(
                    Statement::Code(CodeHeader { id: Spanned::new(Name(n), Span::new(file, *is, *ie)), params }),
                    Span::new(file, *s, *ie),
                )
            }),
            [(s, Tok::Ident(op), e), ..] => Some(Spanned::new(
                Statement::Instruction(Instruction {
                    opname: Spanned::new(op.to_string(), Span::new(file, *s, *e)),
                    operands: Vec::new(),
                    recovered: Recovered::OperandsLost,
                }),
                Span::new(file, *s, *e),
            )),
            _ => None,
        };
        slot.label = label;
        slot.statement = statement;
    }
}
