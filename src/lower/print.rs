//! `pyasm lower`: the lowered program as .pyasm text for its one version, each group of
//! lines under a comment holding the portable line it came from.

use super::Lowered;
use crate::diagnostics::SourceFiles;
use crate::dis::text;
use crate::resolve::constants::literal;
use crate::syntax::ast::{Line, Span, Spanned, Statement, Value};

pub fn render(lowered: &Lowered, files: &SourceFiles) -> String {
    let mut s = String::new();
    let mut last: Option<Span> = None;
    let lines = &lowered.lines;
    let comment = |s: &mut String, o: &Span| s.push_str(&format!("    # {}\n", files.text(o.file)[o.range()].trim()));
    // Portable lines lowered to nothing, whose comment went above the group they joined.
    let mut shown = vec![false; lines.len()];
    for (k, (line, origin)) in lines.iter().zip(&lowered.origin).enumerate() {
        if shown[k] {
            continue;
        }
        if let Some(o) = origin {
            if last != Some(*o) {
                comment(&mut s, o);
                // A line fused into this group (`return` into RETURN_CONST, `format` into
                // FORMAT_VALUE) lowers to nothing after it: its comment goes here too.
                let mut j = k + lowered.origin[k..].iter().take_while(|g| **g == Some(*o)).count();
                while let (Some(mark), Some(Some(p))) = (lines.get(j), lowered.origin.get(j)) {
                    if mark.label.is_some() || mark.statement.is_some() {
                        break;
                    }
                    comment(&mut s, p);
                    shown[j] = true;
                    j += 1;
                }
            }
        }
        last = *origin;
        render_line(line, origin.is_some(), files, &mut s);
    }
    s
}

fn render_line(line: &Line, lowered: bool, files: &SourceFiles, s: &mut String) {
    if line.label.is_none() && line.statement.is_none() && !lowered {
        // A blank or comment line of the source: one blank line between groups, none at the
        // start (the file's opening comment).
        if !s.is_empty() && !s.ends_with("\n\n") {
            s.push('\n');
        }
        return;
    }
    render_statement(line, files, lowered, s);
}

fn render_statement(line: &Line, files: &SourceFiles, lowered: bool, s: &mut String) {
    let label = line.label.as_ref().map(|l| format!("{}:", l.node));
    match &line.statement {
        None => {
            if let Some(l) = label {
                s.push_str(&l);
                s.push('\n');
            }
        }
        Some(Spanned { node: Statement::Instruction(ins), .. }) => {
            if let Some(l) = label {
                s.push_str(&l);
                s.push('\n');
            }
            let ops: Vec<String> = ins.operands.iter().map(value).collect();
            s.push_str(&format!("        {}{}{}\n", ins.opname.node, if ops.is_empty() { "" } else { " " }, ops.join(", ")));
        }
        Some(Spanned { node: Statement::Directive(d), span }) => {
            if let Some(l) = label {
                s.push_str(&l);
                s.push('\n');
            }
            let indent = if d.name.node == "python" || d.name.node == "end" || d.name.node == "filename" { "" } else { "    " };
            if lowered && (d.name.node == "try" || d.name.node == "end_try") {
                let args: Vec<String> = d.args.iter().map(value).collect();
                s.push_str(&format!("    .{}{}{}\n", d.name.node, if args.is_empty() { "" } else { " " }, args.join(", ")));
            } else if d.name.node == "python" {
                let args: Vec<String> = d.args.iter().map(value).collect();
                s.push_str(&format!(".python {}\n", args.join(", ")));
            } else {
                let text = files.text(span.file)[span.range()].trim();
                if text.starts_with(&format!(".{}", d.name.node)) {
                    s.push_str(&format!("{indent}{text}\n"));
                } else {
                    // A directive of pyasm's own (a variable it declares, the flags it sets),
                    // at a portable line's span: written from its arguments.
                    let args: Vec<String> = d.args.iter().map(value).collect();
                    s.push_str(&format!("{indent}.{}{}{}\n", d.name.node, if args.is_empty() { "" } else { " " }, args.join(", ")));
                }
            }
        }
        Some(Spanned { node: Statement::Code(_), span }) => {
            s.push_str(files.text(span.file)[span.range()].trim());
            s.push('\n');
        }
    }
}

/// An operand as written.
fn value(v: &Spanned<Value>) -> String {
    match &v.node {
        Value::Word(w) | Value::Angle(w) | Value::Symbol(w) => w.clone(),
        Value::Raw(n) => format!("${n}"),
        Value::CodeRef(n) => format!("@{}", text::name(&n.0)),
        Value::Loc(l) => format!("{}:{}-{}:{}", l.line, l.col, l.end_line, l.end_col),
        Value::Call(f, args) if f.node == "depth" => format!("depth({})", args.iter().map(value).collect::<Vec<_>>().join(", ")),
        Value::Tuple(items) if items.iter().any(|i| !is_literal(i)) => {
            let parts: Vec<String> = items.iter().map(value).collect();
            format!("({}{})", parts.join(", "), if parts.len() == 1 { "," } else { "" })
        }
        _ => match literal(v) {
            Ok(c) => text::constant(&c, &mut |_| String::from("<code>")),
            Err(_) => String::from("?"),
        },
    }
}

fn is_literal(v: &Spanned<Value>) -> bool {
    literal(v).is_ok()
}
