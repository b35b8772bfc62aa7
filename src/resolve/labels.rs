//! Labels: defined by `NAME:` before an instruction, used by jumps and by the `.try` and
//! `.exception` directives, which are read here.

use super::constants::small_int;
use super::directives::directive_error;
use super::hash::FastMap;
use super::{ExplicitEntry, Region};
use crate::diagnostics::{Diagnostic, codes, nearest};
use crate::syntax::ast::{Directive, Span, Spanned, Value};

/// A code object's labels: the index of the instruction each names, and where it is defined.
pub(super) type Labels = FastMap<String, (usize, Span)>;

/// Defines `label` at instruction `index`, unless it is already defined.
pub(super) fn define(labels: &mut Labels, label: &Spanned<String>, index: usize, diags: &mut Vec<Diagnostic>) {
    if let Some((_, prev)) = labels.get(&label.node) {
        diags.push(
            Diagnostic::error(codes::DUPLICATE_LABEL, format!("label `{}` is defined twice", label.node))
                .with_primary(label.span, "defined again here")
                .with_secondary(*prev, "first defined here"),
        );
    } else {
        labels.insert(label.node.clone(), (index, label.span));
    }
}

pub(super) fn label_index(v: &Spanned<Value>, labels: &Labels) -> Result<usize, Diagnostic> {
    match &v.node {
        Value::Word(w) => labels.get(w).map(|(i, _)| *i).ok_or_else(|| undefined_label(w, v.span, labels)),
        _ => Err(Diagnostic::error(codes::OPERAND, "expected a label").with_primary(v.span, "")),
    }
}

pub(super) fn undefined_label(w: &str, span: Span, labels: &Labels) -> Diagnostic {
    let mut e = Diagnostic::error(codes::UNDEFINED_LABEL, format!("label `{w}` is not defined in this code object"))
        .with_primary(span, "no such label");
    let near = nearest(w, labels.keys().map(|s| s.as_str()));
    if let Some(n) = near.first() {
        e = e.with_help(format!("did you mean `{n}`?")).with_suggestion(span, *n);
    } else {
        e = e.with_help(format!("define it by writing `{w}:` before the target instruction"));
    }
    e
}

pub(super) fn parse_try(d: &Directive, labels: &Labels) -> Result<Region, Diagnostic> {
    let Some(handler) = d.args.first() else {
        return Err(directive_error(d, "`.try` needs the label of its handler: `.try handler`"));
    };
    let handler = label_index(handler, labels)?;
    let mut r = Region { handler, lasti: false, depth: None, first: None, span: d.name.span.to(d.args[0].span) };
    for a in &d.args[1..] {
        match &a.node {
            Value::Word(w) if w == "lasti" => r.lasti = true,
            Value::Call(f, args) if f.node == "depth" && args.len() == 1 => r.depth = Some(small_int(&args[0], "depth")?),
            _ => {
                return Err(Diagnostic::error(codes::DIRECTIVE, "expected `lasti` or `depth(N)`").with_primary(a.span, ""));
            }
        }
    }
    Ok(r)
}

pub(super) fn parse_exception(d: &Directive, labels: &Labels) -> Result<ExplicitEntry, Diagnostic> {
    let usage = "expected `.exception START, END, HANDLER, DEPTH` (and `, lasti`)";
    if d.args.len() < 4 || d.args.len() > 5 {
        return Err(directive_error(d, usage));
    }
    let lasti = match d.args.get(4) {
        None => false,
        Some(Spanned { node: Value::Word(w), .. }) if w == "lasti" => true,
        Some(a) => return Err(Diagnostic::error(codes::DIRECTIVE, usage).with_primary(a.span, "expected `lasti`")),
    };
    Ok(ExplicitEntry {
        start: label_index(&d.args[0], labels)?,
        end: label_index(&d.args[1], labels)?,
        target: label_index(&d.args[2], labels)?,
        depth: small_int(&d.args[3], "depth")?,
        lasti,
        span: d.name.span.to(d.args[d.args.len() - 1].span),
    })
}
