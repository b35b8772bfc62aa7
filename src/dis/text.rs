//! Writing values in .pyasm syntax: the inverse of the lexer's literals.

use crate::object::{Constant, PyStr};

/// True for words the lexer reads as a bare identifier (ASCII only, to stay simple).
pub fn is_bare_word(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True for `<word>` names the lexer reads bare.
pub fn is_angle_name(s: &str) -> bool {
    s.len() > 2 && s.starts_with('<') && s.ends_with('>') && is_bare_word(&s[1..s.len() - 1])
}

/// A name (global, local, code ID): bare when the lexer would read it back as the same
/// name, quoted otherwise.
pub fn name(s: &PyStr) -> String {
    match s.as_str() {
        Some(t) if is_bare_word(t) || is_angle_name(t) => t.to_string(),
        _ => string(s),
    }
}

/// A str literal with Python-style escapes; lone surrogates as `\uXXXX`.
pub fn string(s: &PyStr) -> String {
    let mut out = String::with_capacity(s.as_wtf8().len() + 2);
    out.push('"');
    for cp in s.code_points() {
        match cp {
            0x5C => out.push_str("\\\\"),
            0x22 => out.push_str("\\\""),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x20..=0x7E => out.push(cp as u8 as char),
            0..=0xFF if !(0xA1..=0xFF).contains(&cp) || cp == 0xAD => out.push_str(&format!("\\x{cp:02x}")),
            0xD800..=0xDFFF => out.push_str(&format!("\\u{cp:04x}")),
            _ => match char::from_u32(cp) {
                Some(c) if !c.is_control() && !is_invisible(c) => out.push(c),
                _ if cp <= 0xFFFF => out.push_str(&format!("\\u{cp:04x}")),
                _ => out.push_str(&format!("\\U{cp:08x}")),
            },
        }
    }
    out.push('"');
    out
}

/// Characters that print as nothing (or confusingly) and are better escaped.
fn is_invisible(c: char) -> bool {
    matches!(c as u32, 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB)
        || (c as u32 >= 0xE000 && (c as u32) < 0xF900)
        || c as u32 >= 0xF0000
}

pub fn bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 3);
    out.push_str("b\"");
    for &x in b {
        match x {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7E => out.push(x as char),
            _ => out.push_str(&format!("\\x{x:02x}")),
        }
    }
    out.push('"');
    out
}

/// A float that reads back bit-exactly (Rust's shortest round-trip formatting).
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{f:?}");
    // `{:?}` always has a `.` or an exponent, which keeps it a float for the lexer.
    s
}

/// A constant as a .pyasm literal. `code_ref` names a nested code object.
pub fn constant(c: &Constant, code_ref: &mut dyn FnMut(&crate::object::CodeObject) -> String) -> String {
    match c {
        Constant::None => "None".into(),
        Constant::True => "True".into(),
        Constant::False => "False".into(),
        Constant::Ellipsis => "...".into(),
        Constant::StopIteration => "StopIteration".into(),
        Constant::Int(i) => i.to_string(),
        Constant::Float(f) => float(*f),
        Constant::Complex { re, im } => format!("complex({}, {})", float(*re), float(*im)),
        Constant::Str(s) => string(s),
        Constant::Bytes(b) => bytes(b),
        Constant::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(|i| constant(i, code_ref)).collect();
            match parts.len() {
                1 => format!("({},)", parts[0]),
                _ => format!("({})", parts.join(", ")),
            }
        }
        Constant::FrozenSet(items) => {
            if items.is_empty() {
                "frozenset()".into()
            } else {
                let parts: Vec<String> = items.iter().map(|i| constant(i, code_ref)).collect();
                format!("frozenset({{{}}})", parts.join(", "))
            }
        }
        Constant::Slice(items) => {
            let parts: Vec<String> = items.iter().map(|i| constant(i, code_ref)).collect();
            format!("slice({})", parts.join(", "))
        }
        Constant::Code(c) => format!("@{}", code_ref(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_what_they_must() {
        assert_eq!(string(&PyStr::from("a\"b\\\n")), r#""a\"b\\\n""#);
        assert_eq!(string(&PyStr::from_code_points(&[0xdc80, 0xe9, 0x7f])), r#""\udc80é\x7f""#);
        assert_eq!(bytes(b"\x00a\"\xff"), r#"b"\x00a\"\xff""#);
    }

    #[test]
    fn floats_read_back() {
        for f in [0.1, -0.0, 1e300, 5e-324, 1.0, 123456789.0] {
            assert_eq!(float(f).parse::<f64>().unwrap().to_bits(), f.to_bits());
        }
        assert_eq!(float(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn names() {
        assert_eq!(name(&PyStr::from("x")), "x");
        assert_eq!(name(&PyStr::from("<listcomp>")), "<listcomp>");
        assert_eq!(name(&PyStr::from(".0")), "\".0\"");
    }
}
