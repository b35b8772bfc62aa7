//! `.if python >= 3.12` … `.elif …` … `.else` … `.endif`: keeps the lines of the branch
//! that holds for the target version.

use crate::diagnostics::{Diagnostic, SourceFiles, codes};
use crate::syntax::ast::{Directive, Line, Span, Spanned, Statement, Value};
use crate::version::PythonVersion;

/// One open `.if`: whether a branch was already taken, whether the current one is, and
/// where it started.
struct Open {
    taken: bool,
    active: bool,
    else_seen: bool,
    start: Span,
}

/// The lines for `target`, each with whether it came from inside a conditional block.
pub fn select(lines: &[Line], files: &SourceFiles, target: PythonVersion, diags: &mut Vec<Diagnostic>) -> Vec<(Line, bool)> {
    let mut out = Vec::with_capacity(lines.len());
    let mut stack: Vec<Open> = Vec::new();
    for line in lines {
        let active = stack.iter().all(|o| o.active);
        let directive = match &line.statement {
            Some(Spanned { node: Statement::Directive(d), span }) if ["if", "elif", "else", "endif"].contains(&d.name.node.as_str()) => Some((d, *span)),
            _ => None,
        };
        let Some((d, span)) = directive else {
            if active {
                out.push((line.clone(), !stack.is_empty()));
            }
            continue;
        };
        if line.label.is_some() && active {
            out.push((Line { label: line.label.clone(), statement: None, line_no: line.line_no }, !stack.is_empty()));
        }
        match d.name.node.as_str() {
            "if" => {
                let holds = condition(d, files, target, diags);
                stack.push(Open { taken: holds, active: holds, else_seen: false, start: span });
            }
            "elif" | "else" => {
                let Some(open) = stack.last_mut() else {
                    diags.push(unmatched(d, span));
                    continue;
                };
                if open.else_seen {
                    diags.push(
                        Diagnostic::error(codes::CONDITIONAL, format!("`.{}` after `.else`", d.name.node))
                            .with_primary(span, "")
                            .with_secondary(open.start, "in this `.if`"),
                    );
                }
                let holds = if d.name.node == "else" {
                    open.else_seen = true;
                    if !d.args.is_empty() {
                        diags.push(Diagnostic::error(codes::CONDITIONAL, "`.else` takes no condition").with_primary(span, "").with_help("write `.elif python …`"));
                    }
                    true
                } else {
                    condition(d, files, target, diags)
                };
                open.active = !open.taken && holds;
                open.taken |= holds;
            }
            _ => {
                if stack.pop().is_none() {
                    diags.push(unmatched(d, span));
                }
            }
        }
    }
    for open in stack {
        diags.push(
            Diagnostic::error(codes::CONDITIONAL, "this `.if` has no `.endif`")
                .with_primary(open.start, "opened here")
                .with_help("end the conditional block with `.endif`"),
        );
    }
    out
}

fn unmatched(d: &Directive, span: Span) -> Diagnostic {
    Diagnostic::error(codes::CONDITIONAL, format!("`.{}` without an `.if`", d.name.node)).with_primary(span, "")
}

/// Evaluates `python OP VERSION` for the target. A malformed condition is reported and
/// counts as false.
fn condition(d: &Directive, files: &SourceFiles, target: PythonVersion, diags: &mut Vec<Diagnostic>) -> bool {
    let whole = d.args.iter().fold(d.name.span, |s, a| s.to(a.span));
    let parsed = match d.args.as_slice() {
        [Spanned { node: Value::Word(w), .. }, Spanned { node: Value::Symbol(op), .. }, v] if w == "python" => {
            // The version as written: as a number, 3.10 would be 3.1.
            files.text(v.span.file)[v.span.range()].parse::<PythonVersion>().ok().map(|v| (op.as_str(), v))
        }
        _ => None,
    };
    let Some((op, v)) = parsed else {
        diags.push(
            Diagnostic::error(codes::CONDITIONAL, format!("`.{}` takes a condition on the version", d.name.node))
                .with_primary(whole, "expected `python OP VERSION`")
                .with_help("for example `.if python >= 3.12`; OP is one of < <= == != > >="),
        );
        return false;
    };
    match op {
        "<" => target < v,
        "<=" => target <= v,
        "==" => target == v,
        "!=" => target != v,
        ">" => target > v,
        ">=" => target >= v,
        _ => {
            diags.push(
                Diagnostic::error(codes::CONDITIONAL, format!("`{op}` is not a comparison of versions"))
                    .with_primary(whole, "")
                    .with_help("use one of < <= == != > >="),
            );
            false
        }
    }
}
