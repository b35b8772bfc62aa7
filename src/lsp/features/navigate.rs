//! Go to definition, find references, rename.

use super::*;

fn key_at(cx: &mut Ctx, p: &lsp::TextDocumentPositionParams) -> Option<(At, Occurrence)> {
    let at = at(cx, p)?;
    let occ = at.index().at(at.offset)?.clone();
    Some((at, occ))
}

pub fn definition(cx: &mut Ctx, p: lsp::GotoDefinitionParams) -> Option<lsp::GotoDefinitionResponse> {
    let (at, occ) = key_at(cx, &p.text_document_position_params)?;
    if let Key::Include(path) = &occ.key {
        let uri = lsp::Url::from_file_path(path).ok()?;
        return Some(lsp::GotoDefinitionResponse::Scalar(lsp::Location { uri, range: lsp::Range::default() }));
    }
    let defs: Vec<lsp::Location> = at.snap.occurrences(&occ.key).filter(|(_, o)| o.is_def).filter_map(|(f, o)| location(&at.snap, f, o.span)).collect();
    match defs.len() {
        0 => None,
        1 => Some(lsp::GotoDefinitionResponse::Scalar(defs.into_iter().next()?)),
        _ => Some(lsp::GotoDefinitionResponse::Array(defs)),
    }
}

pub fn references(cx: &mut Ctx, p: lsp::ReferenceParams) -> Option<Vec<lsp::Location>> {
    let (at, occ) = key_at(cx, &p.text_document_position)?;
    if matches!(occ.key, Key::Directive(_)) {
        return None;
    }
    let with_def = p.context.include_declaration;
    Some(at.snap.occurrences(&occ.key).filter(|(_, o)| with_def || !o.is_def).filter_map(|(f, o)| location(&at.snap, f, o.span)).collect())
}

fn renamable(key: &Key) -> bool {
    matches!(key, Key::Label(..) | Key::Local(..) | Key::Code(_) | Key::Macro(_))
}

pub fn prepare_rename(cx: &mut Ctx, p: lsp::TextDocumentPositionParams) -> Option<lsp::PrepareRenameResponse> {
    let (at, occ) = key_at(cx, &p)?;
    if !renamable(&occ.key) || !at.snap.occurrences(&occ.key).any(|(_, o)| o.is_def) {
        return None;
    }
    let range = at.snap.lines(at.index().file).range(occ.span.start as usize, occ.span.end as usize);
    Some(lsp::PrepareRenameResponse::Range(range))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

pub fn rename(cx: &mut Ctx, p: lsp::RenameParams) -> Result<Option<lsp::WorkspaceEdit>, Failure> {
    let Some((at, occ)) = key_at(cx, &p.text_document_position) else { return Ok(None) };
    let invalid = lsp_server::ErrorCode::InvalidParams as i32;
    if !renamable(&occ.key) {
        return Err((invalid, "only labels, variables, code objects and macros can be renamed".into()));
    }
    let ok = match &occ.key {
        Key::Code(_) => is_identifier(&p.new_name) || (p.new_name.starts_with('<') && p.new_name.ends_with('>') && is_identifier(&p.new_name[1..p.new_name.len() - 1])),
        _ => is_identifier(&p.new_name),
    };
    if !ok {
        return Err((invalid, format!("`{}` is not a name this can have", p.new_name)));
    }
    let mut changes: HashMap<lsp::Url, Vec<lsp::TextEdit>> = HashMap::new();
    for (f, o) in at.snap.occurrences(&occ.key) {
        // A quoted name (`@"x y"`) would need its quotes rewritten: left alone.
        let written = &at.snap.files.text(f.file)[o.span.range()];
        if written.starts_with('"') {
            continue;
        }
        if let Some(l) = location(&at.snap, f, o.span) {
            changes.entry(l.uri).or_default().push(lsp::TextEdit { range: l.range, new_text: p.new_name.clone() });
        }
    }
    Ok(Some(lsp::WorkspaceEdit { changes: Some(changes), ..Default::default() }))
}

