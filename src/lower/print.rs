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
    for (line, origin) in lowered.lines.iter().zip(&lowered.origin) {
        if let Some(o) = origin {
            if last != Some(*o) {
                let written = files.text(o.file)[o.range()].trim();
                s.push_str(&format!("    # {written}\n"));
            }
        }
        last = *origin;
        render_line(line, files, origin.is_some(), &mut s);
    }
    s
}

fn render_line(line: &Line, files: &SourceFiles, lowered: bool, s: &mut String) {
    let label = line.label.as_ref().map(|l| format!("{}:", l.node));
    match &line.statement {
        None => {
            if let Some(l) = label {
                s.push_str(&l);
                s.push('\n');
            } else if !lowered {
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
                s.push_str(&format!("{indent}{}\n", files.text(span.file)[span.range()].trim()));
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
