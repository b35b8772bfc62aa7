//! A function's parameter list: its counts, the VARARGS / VARKEYWORDS flags, and its names
//! declared as the first fast locals in CPython's order.

use super::hash::FastMap;
use super::locals::FAST_LOCAL;
use super::tables::CodeBuilder;
use super::{CO_VARARGS, CO_VARKEYWORDS};
use crate::diagnostics::{Diagnostic, codes};
use crate::object::PyStr;
use crate::syntax::ast::{Name, Param, Span, Spanned};

pub(super) fn signature(
    params: &[Param],
    cb: &mut CodeBuilder,
    argcount: &mut u32,
    posonly: &mut u32,
    kwonly: &mut u32,
    flags: &mut u32,
    diags: &mut Vec<Diagnostic>,
) {
    // Collect in source order, then declare in CPython's order: positional, keyword-only,
    // *args, **kwargs.
    let mut positional = Vec::new();
    let mut keyword_only = Vec::new();
    let mut varargs = None;
    let mut varkw: Option<&Spanned<Name>> = None;
    let mut star_seen = false;
    let mut slash_seen = false;
    let bad = |span: Span, msg: &str| Diagnostic::error(codes::SIGNATURE, msg.to_string()).with_primary(span, "");
    for p in params {
        if let Some(kw) = varkw {
            let span = match p {
                Param::Plain(n) | Param::VarArgs(n) | Param::VarKeywords(n) => n.span,
                Param::PosOnlyMarker(s) | Param::KwOnlyMarker(s) => *s,
            };
            diags.push(bad(span, "nothing may follow **kwargs").with_secondary(kw.span, "**kwargs is here"));
            continue;
        }
        match p {
            Param::Plain(n) => {
                if star_seen {
                    keyword_only.push(n)
                } else {
                    positional.push(n)
                }
            }
            Param::PosOnlyMarker(s) => {
                if star_seen || slash_seen || positional.is_empty() {
                    diags.push(bad(*s, "`/` must follow at least one positional parameter, once, before `*`"));
                } else {
                    slash_seen = true;
                    *posonly = positional.len() as u32;
                }
            }
            Param::KwOnlyMarker(s) => {
                if star_seen {
                    diags.push(bad(*s, "only one `*` or `*args` is allowed"));
                }
                star_seen = true;
            }
            Param::VarArgs(n) => {
                if star_seen {
                    diags.push(bad(n.span, "only one `*` or `*args` is allowed"));
                }
                star_seen = true;
                varargs = Some(n);
            }
            Param::VarKeywords(n) => varkw = Some(n),
        }
    }
    if star_seen && varargs.is_none() && keyword_only.is_empty() {
        if let Some(Param::KwOnlyMarker(s)) = params.iter().find(|p| matches!(p, Param::KwOnlyMarker(_))) {
            diags.push(
                bad(*s, "a bare `*` must be followed by at least one keyword-only parameter")
                    .with_help("remove the `*`, or write `*args` to accept extra positional arguments"),
            );
        }
    }
    let mut seen: FastMap<&PyStr, Span> = FastMap::default();
    for n in positional.iter().chain(&keyword_only).chain(varargs.iter()).chain(varkw.iter()) {
        if let Some(prev) = seen.insert(&n.node.0, n.span) {
            diags.push(
                Diagnostic::error(codes::SIGNATURE, format!("duplicate parameter `{}`", n.node.text()))
                    .with_primary(n.span, "second time")
                    .with_secondary(prev, "first time"),
            );
            return;
        }
    }
    *argcount = positional.len() as u32;
    *kwonly = keyword_only.len() as u32;
    for n in positional.into_iter().chain(keyword_only) {
        cb.declare_local(n.node.0.clone(), FAST_LOCAL, Some(n.span), diags);
    }
    if let Some(n) = varargs {
        *flags |= CO_VARARGS;
        cb.declare_local(n.node.0.clone(), FAST_LOCAL, Some(n.span), diags);
    }
    if let Some(n) = varkw {
        *flags |= CO_VARKEYWORDS;
        cb.declare_local(n.node.0.clone(), FAST_LOCAL, Some(n.span), diags);
    }
}
