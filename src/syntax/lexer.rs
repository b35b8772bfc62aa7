//! Tokens of .pyasm text (logos). Literal values (numbers, strings with Python's escapes) are
//! decoded here, so the grammar and everything after it see values, not spellings.

use crate::object::{PyStr, push_code_point};
use logos::Logos;
use num_bigint::BigInt;
use num_traits::Num;

/// Why a piece of text is not a token. Each variant becomes one diagnostic.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum LexError {
    #[default]
    UnexpectedChar,
    UnterminatedString,
    BadEscape(String),
    OctalTooLarge(String),
    NonAsciiInBytes,
    BadNumber(String),
    RawTooLarge,
}

impl LexError {
    pub fn message(&self, text: &str) -> (String, Option<String>) {
        match self {
            LexError::UnexpectedChar => (
                format!("unexpected character `{}`", text.chars().next().unwrap_or(' ')),
                match text.chars().next() {
                    Some('=') => Some(
                        "`=` means nothing in .pyasm; a parameter's default is not part of the code object: \
                         push a tuple of defaults and use MAKE_FUNCTION defaults"
                            .into(),
                    ),
                    Some(';') => Some("comments start with `#`".into()),
                    _ => None,
                },
            ),
            LexError::UnterminatedString => (
                "this string has no closing quote".into(),
                Some("a string must end on the line where it starts; write a newline as \\n".into()),
            ),
            LexError::BadEscape(e) => (format!("unknown escape sequence `{e}`"), Some(
                "valid escapes: \\\\ \\' \\\" \\a \\b \\f \\n \\r \\t \\v \\ooo \\xhh, and in str also \\uhhhh \\Uhhhhhhhh".into(),
            )),
            LexError::OctalTooLarge(e) => (
                format!("octal escape `{e}` is larger than \\377"),
                Some("in bytes, an octal escape gives one byte: at most \\377".into()),
            ),
            LexError::NonAsciiInBytes => (
                "bytes literals may only contain ASCII characters".into(),
                Some("write other byte values as \\xhh".into()),
            ),
            LexError::BadNumber(why) => (format!("malformed number `{text}`: {why}"), None),
            LexError::RawTooLarge => (
                format!("raw argument `{text}` does not fit in 32 bits"),
                None,
            ),
        }
    }
}

/// A source position span `LINE:COL-END` or `LINE:COL-ENDLINE:ENDCOL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocSpan {
    pub line: i32,
    pub col: i32,
    pub end_line: i32,
    pub end_col: i32,
}

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(skip r"[ \t\r\f]+")]
#[logos(skip(r"#[^\n]*", allow_greedy = true))]
#[logos(error = LexError)]
pub enum Tok<'s> {
    #[token("\n")]
    Newline,
    #[token(".code")]
    DotCode,
    #[regex(r"\.[A-Za-z_][A-Za-z0-9_]*", |lex| &lex.slice()[1..])]
    Directive(&'s str),
    #[regex(r"[\p{XID_Start}_][\p{XID_Continue}]*")]
    Ident(&'s str),
    /// `<module>`, `<listcomp>`, … written bare.
    #[regex(r"<[A-Za-z_][A-Za-z0-9_]*>")]
    AngleName(&'s str),
    #[regex(r"-?[0-9][0-9_]*", |lex| parse_int(lex.slice(), 10, 0))]
    #[regex(r"-?0[xX][0-9a-fA-F_]+", |lex| parse_int(lex.slice(), 16, 2))]
    #[regex(r"-?0[oO][0-7_]+", |lex| parse_int(lex.slice(), 8, 2))]
    #[regex(r"-?0[bB][01_]+", |lex| parse_int(lex.slice(), 2, 2))]
    Int(BigInt),
    #[regex(r"-?[0-9][0-9_]*\.[0-9_]*([eE][+-]?[0-9_]+)?", |lex| parse_float(lex.slice()))]
    #[regex(r"-?[0-9][0-9_]*[eE][+-]?[0-9_]+", |lex| parse_float(lex.slice()))]
    #[regex(r"-inf|-nan", |lex| parse_float(lex.slice()))]
    Float(f64),
    #[regex(r"-?[0-9][0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9_]+)?[jJ]", |lex| { let s = lex.slice(); parse_float(&s[..s.len() - 1]) })]
    Imag(f64),
    #[regex(r#""([^"\\\n]|\\[^\n])*""#, |lex| decode_str(lex.slice()))]
    #[regex(r#"'([^'\\\n]|\\[^\n])*'"#, |lex| decode_str(lex.slice()))]
    Str(PyStr),
    #[regex(r#"[bB]"([^"\\\n]|\\[^\n])*""#, |lex| decode_bytes(&lex.slice()[1..]))]
    #[regex(r#"[bB]'([^'\\\n]|\\[^\n])*'"#, |lex| decode_bytes(&lex.slice()[1..]))]
    Bytes(Vec<u8>),
    /// An unterminated string: reported as an error token so parsing can go on.
    #[regex(r#"[bB]?"([^"\\\n]|\\[^\n])*"#, unterminated)]
    #[regex(r#"[bB]?'([^'\\\n]|\\[^\n])*"#, unterminated)]
    Unterminated,
    /// `$N`: the argument exactly as encoded.
    #[regex(r"\$[0-9]+", |lex| lex.slice()[1..].parse::<u32>().map_err(|_| LexError::RawTooLarge))]
    #[regex(r"\$0[xX][0-9a-fA-F]+", |lex| u32::from_str_radix(&lex.slice()[3..], 16).map_err(|_| LexError::RawTooLarge))]
    Raw(u32),
    /// `3.11.7`: only meaningful after `.python`.
    #[regex(r"[0-9]+\.[0-9]+\.[0-9]+")]
    /// `3.6-3.15`, `3.9-`: a portable file's range of versions (docs/format.md 1.12).
    #[regex(r"[0-9]+\.[0-9]+-([0-9]+\.[0-9]+)?")]
    Version(&'s str),
    #[regex(r"[0-9]+:[0-9]+-([0-9]+:)?[0-9]+", |lex| parse_loc(lex.slice()))]
    Loc(LocSpan),
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token("...")]
    Ellipsis,
    /// Operator symbols: BINARY_OP's (`+`, `//=`, `@`, …) and COMPARE_OP's (`<=`, `!=`, …).
    // `[]` is 3.14's subscript operator of BINARY_OP.
    #[regex(r"(\+|-|\*|\*\*|/|//|%|@|<<|>>|&|\||\^)=?|<|<=|==|!=|>|>=|~|\[\]")]
    Symbol(&'s str),
    /// Never produced by logos: stands for text that failed to lex, so the parser can recover.
    Error,
}

fn unterminated<'s>(_: &mut logos::Lexer<'s, Tok<'s>>) -> Result<(), LexError> {
    Err(LexError::UnterminatedString)
}

fn parse_int(text: &str, radix: u32, prefix: usize) -> Result<BigInt, LexError> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut digits = &body[prefix..];
    if prefix > 0 {
        // Python allows one underscore right after the base prefix: 0x_ff.
        digits = digits.strip_prefix('_').unwrap_or(digits);
    }
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return Err(LexError::BadNumber("`_` may only stand between digits".into()));
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if radix == 10 && clean.len() > 1 && clean.starts_with('0') && clean.chars().any(|c| c != '0') {
        return Err(LexError::BadNumber(
            "leading zeros are not allowed in decimal numbers (use 0o for octal)".into(),
        ));
    }
    let v = BigInt::from_str_radix(&clean, radix).map_err(|e| LexError::BadNumber(e.to_string()))?;
    Ok(if neg { -v } else { v })
}

fn parse_float(text: &str) -> Result<f64, LexError> {
    match text {
        "-inf" => return Ok(f64::NEG_INFINITY),
        "-nan" => return Ok(-f64::NAN),
        _ => {}
    }
    if text.contains("__") || text.contains("_.") || text.contains("._") || text.ends_with('_') {
        return Err(LexError::BadNumber("`_` may only stand between digits".into()));
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    clean.parse::<f64>().map_err(|e| LexError::BadNumber(e.to_string()))
}

fn parse_loc(text: &str) -> Result<LocSpan, LexError> {
    let too_big = || LexError::BadNumber("position does not fit in 32 bits".into());
    let (start, end) = text.split_once('-').expect("regex guarantees a dash");
    let (line, col) = start.split_once(':').expect("regex guarantees a colon");
    let line: i32 = line.parse().map_err(|_| too_big())?;
    let col: i32 = col.parse().map_err(|_| too_big())?;
    let (end_line, end_col) = match end.split_once(':') {
        Some((l, c)) => (l.parse().map_err(|_| too_big())?, c.parse().map_err(|_| too_big())?),
        None => (line, end.parse().map_err(|_| too_big())?),
    };
    Ok(LocSpan { line, col, end_line, end_col })
}

/// Decodes the escapes shared by str and bytes literals; `unicode` enables \u, \U and
/// non-ASCII source characters.
fn decode_escapes(quoted: &str, unicode: bool) -> Result<Vec<u32>, LexError> {
    let body = &quoted[1..quoted.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if !unicode && !c.is_ascii() {
                return Err(LexError::NonAsciiInBytes);
            }
            out.push(c as u32);
            continue;
        }
        let e = chars.next().ok_or(LexError::UnterminatedString)?;
        let simple = match e {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s as u32);
            continue;
        }
        let mut take_hex = |n: usize, what: &str| -> Result<u32, LexError> {
            let mut s = String::new();
            for _ in 0..n {
                match chars.peek() {
                    Some(c) if c.is_ascii_hexdigit() => s.push(chars.next().unwrap()),
                    _ => return Err(LexError::BadEscape(format!("\\{what}{s}"))),
                }
            }
            Ok(u32::from_str_radix(&s, 16).unwrap())
        };
        match e {
            'x' => out.push(take_hex(2, "x")?),
            'u' if unicode => out.push(take_hex(4, "u")?),
            'U' if unicode => {
                let v = take_hex(8, "U")?;
                if v > 0x10FFFF {
                    return Err(LexError::BadEscape(format!("\\U{v:08x}")));
                }
                out.push(v)
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap();
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                if !unicode && v > 0xFF {
                    return Err(LexError::OctalTooLarge(format!("\\{v:o}")));
                }
                out.push(v)
            }
            other => return Err(LexError::BadEscape(format!("\\{other}"))),
        }
    }
    Ok(out)
}

fn decode_str(quoted: &str) -> Result<PyStr, LexError> {
    let cps = decode_escapes(quoted, true)?;
    let mut v = Vec::with_capacity(cps.len());
    for cp in cps {
        push_code_point(&mut v, cp);
    }
    Ok(PyStr::from_wtf8(v))
}

fn decode_bytes(quoted: &str) -> Result<Vec<u8>, LexError> {
    Ok(decode_escapes(quoted, false)?.into_iter().map(|b| b as u8).collect())
}

/// One lexed token with its byte span.
pub type Spanned<'s> = (usize, Tok<'s>, usize);

/// Lexes the whole text. Text that is not a token becomes a `Tok::Error` (so the parser can
/// recover at the end of the line) plus an entry in `errors`. A final newline is always
/// supplied so that the last line is complete.
pub fn lex<'s>(text: &'s str, errors: &mut Vec<(usize, usize, LexError)>) -> Vec<Spanned<'s>> {
    tokens(text, errors).collect()
}

/// The tokens `lex` gives, one at a time: the parser takes them a line at a time, so the
/// tokens of a whole file (several times its size) never exist at once.
pub fn tokens<'s, 'e>(text: &'s str, errors: &'e mut Vec<(usize, usize, LexError)>) -> impl Iterator<Item = Spanned<'s>> + 'e
where
    's: 'e,
{
    let mut lexer = Tok::lexer(text);
    let last = (!text.ends_with('\n')).then_some((text.len(), Tok::Newline, text.len()));
    std::iter::from_fn(move || {
        let tok = lexer.next()?;
        let span = lexer.span();
        Some(match tok {
            Ok(t) => (span.start, t, span.end),
            Err(e) => {
                errors.push((span.start, span.end, e));
                (span.start, Tok::Error, span.end)
            }
        })
    })
    .chain(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        let mut errs = Vec::new();
        let t = lex(s, &mut errs).into_iter().map(|(_, t, _)| t).collect();
        assert!(errs.is_empty(), "{errs:?}");
        t
    }

    #[test]
    fn lexes_an_instruction_line() {
        assert_eq!(
            toks("loop: LOAD_CONST -5 # comment\n"),
            vec![
                Tok::Ident("loop"),
                Tok::Colon,
                Tok::Ident("LOAD_CONST"),
                Tok::Int(BigInt::from(-5)),
                Tok::Newline
            ]
        );
    }

    #[test]
    fn names_symbols_and_positions() {
        assert_eq!(
            toks(".code <module>\nBINARY_OP **=\n.loc 3:4-3:10\n.loc 2:0-7"),
            vec![
                Tok::DotCode,
                Tok::AngleName("<module>"),
                Tok::Newline,
                Tok::Ident("BINARY_OP"),
                Tok::Symbol("**="),
                Tok::Newline,
                Tok::Directive("loc"),
                Tok::Loc(LocSpan { line: 3, col: 4, end_line: 3, end_col: 10 }),
                Tok::Newline,
                Tok::Directive("loc"),
                Tok::Loc(LocSpan { line: 2, col: 0, end_line: 2, end_col: 7 }),
                Tok::Newline,
            ]
        );
    }

    #[test]
    fn string_escapes() {
        let t = toks(r#""a\n\x41\u00e9\udc80" b'\xff\0'"#);
        assert_eq!(t[0], Tok::Str(PyStr::from_code_points(&[97, 10, 65, 0xe9, 0xdc80])));
        assert_eq!(t[1], Tok::Bytes(vec![0xff, 0]));
    }

    #[test]
    fn numbers() {
        let t = toks("1_000 0x_ff 1.5e3 -0.0 2j -inf $300");
        assert_eq!(t[0], Tok::Int(BigInt::from(1000)));
        assert_eq!(t[2], Tok::Float(1500.0));
        assert!(matches!(t[3], Tok::Float(f) if f == 0.0 && f.is_sign_negative()));
        assert_eq!(t[4], Tok::Imag(2.0));
        assert_eq!(t[5], Tok::Float(f64::NEG_INFINITY));
        assert_eq!(t[6], Tok::Raw(300));
    }

    #[test]
    fn errors_do_not_stop_lexing() {
        let mut errs = Vec::new();
        let t = lex("LOAD_CONST \"abc\nLOAD_CONST \"\\q\"\n", &mut errs);
        assert_eq!(errs.len(), 2);
        assert!(t.iter().filter(|(_, t, _)| *t == Tok::Newline).count() == 2);
    }
}
