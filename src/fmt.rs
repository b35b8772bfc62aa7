//! `pyasm fmt`: the one layout of a .pyasm file.
//!
//! * `.code`, `.end`, `.macro`, `.endmacro`, labels and top-level directives start at column
//!   0; instructions, directives and whole-line comments inside a code object or macro body
//!   are indented by four spaces (a label on the line of an instruction pads it to there).
//! * Within a line, tokens are separated by one space where they were separated at all,
//!   none before `,` `)` `}` or after `(` `{`, one after `,`; the tokens themselves are kept
//!   as written (a literal's spelling is the writer's choice).
//! * A trailing comment starts at column 32, or the next multiple of 8 after a longer line
//!   (columns as a terminal shows them: 日本語 or an emoji take two each).
//! * No trailing whitespace, `\n` line ends, one newline at the end of the file.
//!
//! Lines are never added, removed or joined: an instruction's line number is its position
//! when the file has no `.loc`, so the layout cannot change an assembled byte. A line that
//! does not lex is kept as written. The result is checked to have the same tokens as the
//! input, so a formatter bug can only refuse, never change the program.

use crate::diagnostics::{SourceFiles, Suggestion};
use crate::syntax::lexer::{self, Tok};
use unicode_width::UnicodeWidthStr;

const INDENT: &str = "    ";
const COMMENT_COLUMN: usize = 32;

/// The file in the canonical layout, or why it was left alone.
pub fn format(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let (formatted, next_inside) = format_line(line, inside);
        inside = next_inside;
        out.push_str(&formatted);
        out.push('\n');
    }
    // `split` gives one empty piece after the final newline: no blank lines at the end.
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out == "\n" {
        out.clear();
    }
    if same_tokens(text, &out) { Ok(out) } else { Err("the formatted text would not have the same tokens (a bug in pyasm fmt)".into()) }
}

fn kinds(text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    lexer::lex(text, &mut errors).into_iter().filter(|(_, t, _)| *t != Tok::Newline).map(|(s, t, e)| format!("{t:?}{}", &text[s..e])).collect()
}

fn same_tokens(a: &str, b: &str) -> bool {
    kinds(a) == kinds(b)
}

/// One line in the layout, and whether the next line is inside a body.
fn format_line(line: &str, inside: bool) -> (String, bool) {
    let mut errors = Vec::new();
    // (The lexer ends a text without a newline with a Newline token of its own.)
    let tokens: Vec<_> = lexer::lex(line, &mut errors).into_iter().filter(|(_, t, _)| *t != Tok::Newline).collect();
    let last_end = tokens.last().map_or(0, |t| t.2);
    let rest = line[last_end..].trim();
    if !errors.is_empty() || !(rest.is_empty() || rest.starts_with('#')) {
        return (line.trim_end().to_string(), inside);
    }
    let comment = rest;
    if tokens.is_empty() {
        let indent = if inside && !comment.is_empty() { INDENT } else { "" };
        return (format!("{indent}{comment}"), inside);
    }
    // A label: `name:` first.
    let (label, body) = match tokens.as_slice() {
        [(_, Tok::Ident(n), _), (_, Tok::Colon, _), rest @ ..] => (Some(*n), rest),
        _ => (None, &tokens[..]),
    };
    let (starts_body, ends_body) = match body.first() {
        Some((_, Tok::DotCode, _)) => (true, false),
        Some((_, Tok::Directive("macro"), _)) => (true, false),
        Some((_, Tok::Directive("end" | "endmacro"), _)) => (false, true),
        _ => (false, false),
    };
    let mut code = String::new();
    if let Some(l) = label {
        code.push_str(l);
        code.push(':');
    }
    if !body.is_empty() {
        let column0 = starts_body || ends_body || !inside;
        if label.is_some() {
            code.push(' ');
            while code.width() < INDENT.len() && !column0 {
                code.push(' ');
            }
        } else if !column0 {
            code.push_str(INDENT);
        }
        for (i, (s, t, e)) in body.iter().enumerate() {
            if i > 0 {
                let (_, prev, prev_end) = &body[i - 1];
                let separated = *prev_end < *s;
                let space = match (prev, t) {
                    (_, Tok::Comma | Tok::RParen | Tok::RBrace) => false,
                    (Tok::LParen | Tok::LBrace, _) => false,
                    (Tok::Comma, _) => true,
                    _ => separated,
                };
                if space {
                    code.push(' ');
                }
            }
            code.push_str(&line[*s..*e]);
        }
    }
    if !comment.is_empty() {
        code = with_comment(&code, comment, 0);
    }
    let next_inside = if starts_body { true } else if ends_body { false } else { inside };
    (code, next_inside)
}

/// A line's code (without trailing blanks) and its comment, where it has one and lexes.
pub fn split_comment(line: &str) -> Option<(&str, &str)> {
    let mut errors = Vec::new();
    let tokens = lexer::lex(line, &mut errors);
    let last_end = tokens.iter().filter(|(_, t, _)| *t != Tok::Newline).last().map_or(0, |t| t.2);
    let rest = line[last_end..].trim();
    (errors.is_empty() && rest.starts_with('#')).then(|| (line[..last_end].trim_end(), rest))
}

/// `code` followed by `comment` at the layout's comment column (`code` starting at column
/// `indent`).
fn with_comment(code: &str, comment: &str, indent: usize) -> String {
    let width = indent + code.width();
    let column = if width < COMMENT_COLUMN { COMMENT_COLUMN } else { (width + 1).div_ceil(8) * 8 };
    format!("{code}{}{comment}", " ".repeat(column - width))
}

/// A fix that rewrites whole lines (the call-layout fix writes two instructions the other
/// way round) keeps their comments: the replaced text is widened to the end of its last line's
/// comment; a trailing comment goes with the replacement line that writes the same code, a
/// whole-line comment stays a line of its own after the first, and one whose code the fix
/// does not write again goes to the last line.
pub fn keep_comments(files: &SourceFiles, s: &mut Suggestion) {
    let text = files.text(s.span.file);
    let (start, mut end) = (s.span.start as usize, s.span.end as usize);
    if end > text.len() || !text[start..end].contains('\n') {
        return;
    }
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    if text[end..line_end].trim_start().starts_with('#') {
        end = line_end;
    }
    let covered: Vec<Option<(&str, &str)>> = text[start..end].split('\n').map(split_comment).collect();
    if covered.iter().all(Option::is_none) {
        return;
    }
    let indent = start - text[..start].rfind('\n').map_or(0, |i| i + 1);
    let mut lines: Vec<(String, Option<String>)> = s.replacement.split('\n').map(|l| (l.to_string(), None)).collect();
    let mut own_lines = Vec::new();
    for (code, comment) in covered.into_iter().flatten() {
        let code = code.trim();
        if code.is_empty() {
            own_lines.push(comment);
            continue;
        }
        let same = lines.iter().position(|(l, c)| c.is_none() && l.trim() == code);
        let last = lines.len() - 1;
        let line = &mut lines[same.unwrap_or(last)];
        line.1 = Some(line.1.take().map_or(comment.to_string(), |c| format!("{c} {comment}")));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, (code, comment)) in lines.iter().enumerate() {
        out.push(match comment {
            Some(c) => with_comment(code, c, if i == 0 { indent } else { 0 }),
            None => code.clone(),
        });
        if i == 0 {
            out.extend(own_lines.iter().map(|c| format!("{INDENT}{c}")));
        }
    }
    s.span.end = end as u32;
    s.replacement = out.join("\n");
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn lays_out_lines_and_keeps_their_count() {
        let text = ".python 3.11\n  .code <module>\nRESUME   0\nloop: LOAD_CONST ( 1 ,2 )# c\n\n  x:\n\tRETURN_VALUE\n.end   \n\n\n";
        let want = ".python 3.11\n.code <module>\n    RESUME 0\nloop: LOAD_CONST (1, 2)         # c\n\nx:\n    RETURN_VALUE\n.end\n";
        assert_eq!(format(text).unwrap(), want);
        assert_eq!(format(want).unwrap(), want);
    }

    #[test]
    fn a_fix_that_rewrites_lines_keeps_their_comments() {
        use crate::diagnostics::{SourceFiles, Suggestion};
        let text = "    PUSH_NULL  # null\n    # then\n    LOAD_NAME f  # f; '#'\n";
        let mut files = SourceFiles::new();
        let f = files.add("a.pyasm".to_string(), text.to_string());
        let end = text.find("f  #").unwrap() + 1;
        let mut s = Suggestion { span: crate::syntax::ast::Span::new(f, 4, end), replacement: "LOAD_NAME f\n    PUSH_NULL".into() };
        super::keep_comments(&files, &mut s);
        assert_eq!(s.span.end as usize, text.len() - 1);
        let want = "LOAD_NAME f                 # f; '#'\n    # then\n    PUSH_NULL                   # null";
        assert_eq!(s.replacement, want);
    }

    #[test]
    fn comments_align_by_display_width() {
        // 日本語 and 🎉 take two columns each: the comments start at column 32 as shown.
        let text = ".code <module>\n    LOAD_CONST \"日本語\" # 名前\n    LOAD_CONST \"🎉\" # 🎉\n  始め: NOP #x\n    LOAD_CONST \"長い長い長い長い長い\" # long\n.end\n";
        let want = ".code <module>\n    LOAD_CONST \"日本語\"         # 名前\n    LOAD_CONST \"🎉\"             # 🎉\n始め: NOP                       #x\n    LOAD_CONST \"長い長い長い長い長い\"   # long\n.end\n";
        let got = format(text).unwrap();
        assert_eq!(got, want);
        assert_eq!(format(&got).unwrap(), got, "idempotent");
        for line in got.lines().filter(|l| l.contains('#')) {
            let code = &line[..line.find('#').unwrap()];
            let w = unicode_width::UnicodeWidthStr::width(code);
            assert!(w == 32 || (w > 32 && w % 8 == 0), "{line:?}: the comment at column {w}");
        }
    }

    #[test]
    fn keeps_what_does_not_lex_and_adjacent_tokens() {
        let text = ".code f(a, b)\n    LOAD_CONST @f\n    BAD \"unterminated\n    LOAD_CONST frozenset({1, 2})\n.end\n";
        assert_eq!(format(text).unwrap(), text);
    }
}
