//! The linker: a front-end stage between `syntax` and `resolve`.
//!
//! One module may be written over several files. This stage parses each of them, splices in
//! `.include`d files, expands macros and checks what only makes sense across files (one
//! `.python`, one `.filename`, one `.module` name); the result is one list of lines that the
//! resolver sees as one program. Spans keep their file ids (`SourceFiles` holds every file),
//! so the resolver's own cross-reference checks — a code object defined twice, an unknown
//! `@name`, an unused code object, the missing `<module>` — name the right files by
//! themselves. `enrich` adds what only the linker knows to those diagnostics (the uses of a
//! macro an error sits in, where the nearest names are defined).
//!
//! * `expand`: `.include`, `.macro` … `.endmacro` and macro uses.
//! * `modules`: many modules (files, package folders) into one application.
//! * `pyz`: the zip application format (writer and bounded reader).

pub mod expand;
pub mod modules;
pub mod pyz;

use crate::diagnostics::{Diagnostic, Label, SourceFiles, codes, nearest};
use crate::syntax::ast::{Line, Span, Spanned, Statement, Value};

/// The directives the linker reads (and removes before the resolver sees the lines).
pub const LINK_DIRECTIVES: &[&str] = &["include", "macro", "endmacro", "module"];

/// One module's lines, ready for the resolver.
pub struct LinkedModule {
    pub lines: Vec<Line>,
    /// `.module NAME`, when a file says it.
    pub module_name: Option<Spanned<String>>,
    /// Where the expansions of macros came from, to point diagnostics at the uses.
    pub expansions: expand::Expansions,
    /// Each code object's ID and where it is defined: what `enrich` needs of the lines, which
    /// the assembler drops once they are resolved.
    pub code_ids: Vec<(String, Span)>,
}

/// Reads the files of one module (`inputs`, in order), with their includes and macros.
pub fn link_module(files: &mut SourceFiles, inputs: &[u32], diags: &mut Vec<Diagnostic>) -> LinkedModule {
    let mut gathered = expand::gather(files, inputs, diags);
    check_file_directives(files, &gathered.lines, diags);
    let module_name = module_name(&gathered.lines, diags);
    // Read; the resolver has no use for it.
    gathered.lines.retain(|l| !matches!(&l.statement, Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "module"));
    let lines = expand::expand_macros(files, &mut gathered, diags);
    let code_ids = lines
        .iter()
        .filter_map(|l| match &l.statement {
            Some(Spanned { node: Statement::Code(h), .. }) => Some((h.id.node.text(), h.id.span)),
            _ => None,
        })
        .collect();
    LinkedModule { lines, module_name, expansions: gathered.expansions, code_ids }
}

/// The top-level directives of each line list, with whether each is outside a code object.
fn top_level(lines: &[Line]) -> impl Iterator<Item = (&Spanned<Statement>, &crate::syntax::ast::Directive)> {
    let mut inside = false;
    lines.iter().filter_map(move |l| {
        let stmt = l.statement.as_ref()?;
        match &stmt.node {
            Statement::Code(_) => {
                inside = true;
                None
            }
            Statement::Directive(d) if d.name.node == "end" => {
                inside = false;
                None
            }
            Statement::Directive(d) if !inside => Some((stmt, d)),
            _ => None,
        }
    })
}

/// `.python` and (top-level) `.filename` must agree between the files of one module: the
/// resolver would otherwise silently take the last one.
fn check_file_directives(files: &SourceFiles, lines: &[Line], diags: &mut Vec<Diagnostic>) {
    for which in ["python", "filename"] {
        let mut first: Option<(Span, String)> = None;
        for (stmt, d) in top_level(lines).filter(|(_, d)| d.name.node == which) {
            let text = args_text(files, d);
            match &first {
                None => first = Some((stmt.span, text)),
                Some((span, t)) if *t != text && span.file != stmt.span.file => diags.push(
                    Diagnostic::error(codes::LINK_CONFLICT, format!("the files of this module disagree about `.{which}`"))
                        .with_primary(stmt.span, format!("this file says {text}"))
                        .with_secondary(*span, format!("another file of the module says {t}"))
                        .with_help(format!("one module has one `.{which}`: make them agree, or write it in one file only")),
                ),
                Some(_) => {}
            }
        }
    }
}

/// The arguments of a directive as written (after the name).
fn args_text(files: &SourceFiles, d: &crate::syntax::ast::Directive) -> String {
    match (d.args.first(), d.args.last()) {
        (Some(a), Some(b)) => files.text(a.span.file)[a.span.to(b.span).range()].to_string(),
        _ => String::new(),
    }
}

/// `.module NAME` (a string or a word): the module's dotted name in an application.
fn module_name(lines: &[Line], diags: &mut Vec<Diagnostic>) -> Option<Spanned<String>> {
    let mut found: Option<Spanned<String>> = None;
    for (stmt, d) in top_level(lines).filter(|(_, d)| d.name.node == "module") {
        let name = match d.args.as_slice() {
            [Spanned { node: Value::Word(w), .. }] => Some(w.clone()),
            [Spanned { node: Value::Str(s), .. }] => Some(s.to_lossy()),
            _ => None,
        };
        let name = match name {
            Some(n) if is_dotted_name(&n) => n,
            _ => {
                diags.push(
                    Diagnostic::error(codes::DIRECTIVE, "`.module` takes a module name")
                        .with_primary(stmt.span, "")
                        .with_help("write `.module util` or, for a module in a package, `.module \"pkg.util\"`"),
                );
                continue;
            }
        };
        match &found {
            Some(prev) if prev.node != name => diags.push(
                Diagnostic::error(codes::LINK_CONFLICT, "the files of this module disagree about `.module`")
                    .with_primary(stmt.span, format!("this says `{name}`"))
                    .with_secondary(prev.span, format!("this says `{}`", prev.node)),
            ),
            Some(_) => {}
            None => found = Some(Spanned::new(name, stmt.span)),
        }
    }
    found
}

/// `a`, `a.b.c`: Python identifiers joined by dots, each already in NFKC form. Python reads
/// an identifier in source as its NFKC normalization (`import ﬁle` imports `file`), so a
/// module stored under a name that is not NFKC-stable could never be imported by name.
pub fn is_dotted_name(s: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || unicode_ident::is_xid_start(c))
                && chars.all(unicode_ident::is_xid_continue)
                && part.nfkc().eq(part.chars())
        })
}

#[cfg(test)]
mod tests {
    use super::is_dotted_name;

    #[test]
    fn module_names_are_nfkc_stable_identifiers() {
        for good in ["a", "_x", "pkg.mod", "café", "naïve.π", "x1"] {
            assert!(is_dotted_name(good), "{good}");
        }
        // `ﬁle` (a ligature) reads as `file` in Python source; `²` is not XID; `1a` starts with a digit.
        for bad in ["", "a..b", ".a", "ﬁle", "x²", "1a", "a-b", "a b", "cafe\u{301}"] {
            assert!(!is_dotted_name(bad), "{bad}");
        }
    }
}

/// Gives each code object from a file other than the module's first file that file's name as
/// its co_filename (tracebacks then name the file its line numbers count in), unless some
/// file sets `.filename` for the module. Done by a `.filename` line right after the
/// `.code` header, so a `.filename` of the code object's own still wins.
pub fn filenames_per_file(files: &SourceFiles, lines: &mut Vec<Line>, main_file: u32, real_file: &dyn Fn(u32) -> u32) {
    if top_level(lines).any(|(_, d)| d.name.node == "filename") {
        return;
    }
    let elsewhere = |l: &Line| matches!(&l.statement, Some(Spanned { node: Statement::Code(h), .. }) if real_file(h.id.span.file) != main_file);
    if !lines.iter().any(elsewhere) {
        // One file (the common case): nothing to add, and the lines are not copied.
        return;
    }
    let mut out = Vec::with_capacity(lines.len());
    for line in lines.drain(..) {
        let header = match &line.statement {
            Some(Spanned { node: Statement::Code(h), span }) => Some((h.id.span, *span)),
            _ => None,
        };
        let line_no = line.line_no;
        out.push(line);
        if let Some((id_span, span)) = header {
            let file = real_file(id_span.file);
            if file != main_file {
                let name = crate::object::PyStr::from(files.name(file));
                let directive = crate::syntax::ast::Directive {
                    name: Spanned::new("filename".to_string(), span),
                    args: vec![Spanned::new(Value::Str(name), span)],
                };
                out.push(Line { label: None, statement: Some(Spanned::new(Statement::Directive(directive), span)), line_no });
            }
        }
    }
    *lines = out;
}

/// Adds to the resolver's and verifier's diagnostics what only the linker knows:
/// * a label in a macro expansion gets a secondary label at each use it was expanded from;
/// * "no code object is named" gets the places where the nearest names are defined;
/// * "there is no `.code <module>`" over several files points at each file's first code object;
/// * one mistake in a macro body, found once per use, is shown once with a label per use.
pub fn enrich(files: &SourceFiles, linked: &LinkedModule, inputs: &[u32], diags: &mut Vec<Diagnostic>) {
    let code_ids = &linked.code_ids;
    for d in diags.iter_mut() {
        // (Only the text tells where the comments of the lines a fix rewrites are.)
        d.suggestions.iter_mut().for_each(|s| crate::fmt::keep_comments(files, s));
        if d.code == codes::UNKNOWN_CODE && d.message.starts_with("no code object is named") {
            if let Some(primary) = d.labels.iter().find(|l| l.primary) {
                let written = &files.text(primary.span.file)[primary.span.range()];
                let name = written.trim_start_matches('@').trim_matches(|c| c == '"' || c == '\'');
                let near = nearest(name, code_ids.iter().map(|(n, _)| n.as_str()));
                let extra: Vec<Label> = code_ids
                    .iter()
                    .filter(|(n, _)| near.contains(&n.as_str()))
                    .map(|(n, s)| Label { span: *s, message: format!("`{n}` is defined here"), primary: false })
                    .collect();
                d.labels.extend(extra);
            }
        }
        if d.code == codes::NO_MODULE && inputs.len() > 1 && d.message.starts_with("there is no") {
            let firsts: Vec<Span> = inputs
                .iter()
                .filter_map(|f| code_ids.iter().find(|(_, s)| linked.expansions.real_file(s.file) == *f).map(|(_, s)| *s))
                .collect();
            for s in firsts {
                if !d.labels.iter().any(|l| l.span == s) {
                    d.labels.push(Label { span: s, message: "this file's first code object".into(), primary: false });
                }
            }
            let names: Vec<&str> = inputs.iter().map(|f| files.name(*f)).collect();
            d.notes.push(format!("none of the module's files ({}) defines `.code <module>`", names.join(", ")));
        }
        linked.expansions.add_use_labels(d);
        if d.message.contains('@') {
            d.message = linked.expansions.written_labels(&d.message);
        }
    }
    merge_macro_repeats(diags);
}

/// How many "in this use of macro" labels one merged diagnostic shows.
const MAX_USE_LABELS: usize = 5;

/// A mistake in a macro body is found in each expansion: the same message at the same place
/// in the body, differing only in the use labels. One diagnostic per body mistake remains,
/// with (up to `MAX_USE_LABELS`) labels at the uses and a note counting the rest.
fn merge_macro_repeats(diags: &mut Vec<Diagnostic>) {
    let is_use = |l: &Label| !l.primary && l.message.starts_with("in this use of macro");
    let key = |d: &Diagnostic| {
        let other: Vec<&Label> = d.labels.iter().filter(|l| !is_use(l)).collect();
        (d.severity, d.code, d.message.clone(), format!("{other:?}"), d.notes.clone())
    };
    let mut kept: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    // For each kept diagnostic from a macro body: the key and how many uses were left off.
    let mut merged: Vec<(usize, usize)> = Vec::new();
    let mut keys: Vec<Option<_>> = Vec::new();
    for d in diags.drain(..) {
        if !d.labels.iter().any(is_use) {
            keys.push(None);
            kept.push(d);
            continue;
        }
        let k = key(&d);
        match keys.iter().position(|x| x.as_ref() == Some(&k)) {
            Some(i) => {
                let mut left = 0;
                for l in d.labels.into_iter().filter(is_use) {
                    if kept[i].labels.iter().any(|x| x.span == l.span) {
                        continue;
                    }
                    if kept[i].labels.iter().filter(|x| is_use(x)).count() >= MAX_USE_LABELS {
                        left += 1;
                    } else {
                        kept[i].labels.push(l);
                    }
                }
                match merged.iter_mut().find(|(at, _)| *at == i) {
                    Some((_, n)) => *n += left,
                    None => merged.push((i, left)),
                }
            }
            None => {
                keys.push(Some(k));
                kept.push(d);
            }
        }
    }
    for (i, left) in merged {
        if left > 0 {
            kept[i].notes.push(format!("and {left} more use{} of the macro", if left == 1 { "" } else { "s" }));
        }
    }
    *diags = kept;
}
