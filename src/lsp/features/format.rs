//! Formatting requests, answered by `pyasm fmt`'s layout.

use super::*;

pub fn formatting(cx: &mut Ctx, p: lsp::DocumentFormattingParams) -> Option<Vec<lsp::TextEdit>> {
    let path = crate::lsp::path_of(&p.text_document.uri)?;
    let text = cx.text(&path)?;
    let formatted = crate::fmt::format(&text).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    let index = LineIndex::new(&text, cx.encoding());
    Some(vec![lsp::TextEdit { range: index.range(0, text.len()), new_text: formatted }])
}
