//! Positions: LSP counts lines and UTF-16 code units, pyasm counts bytes. `LineIndex` converts
//! between the two for one text; `apply_change` applies an incremental edit.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// The byte offset of each line start of a text.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// The LSP position of a byte offset (clamped to the text, and to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let offset = self.text.floor_char_boundary(offset.min(self.text.len()));
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let col: usize = self.text[self.starts[line]..offset].chars().map(char::len_utf16).sum();
        Position { line: line as u32, character: col as u32 }
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range { start: self.position(start), end: self.position(end) }
    }

    /// The byte offset of an LSP position. A column past the end of its line means the line's
    /// end (before the newline), a line past the end of the text the text's end, as the
    /// protocol asks.
    pub fn offset(&self, p: Position) -> usize {
        let Some(&start) = self.starts.get(p.line as usize) else { return self.text.len() };
        let end = self.line_end(p.line as usize);
        let mut units = 0u32;
        for (i, c) in self.text[start..end].char_indices() {
            if units >= p.character {
                return start + i;
            }
            units += c.len_utf16() as u32;
        }
        end
    }

    /// The end of line `line`, before its newline (and a `\r` before that).
    pub fn line_end(&self, line: usize) -> usize {
        let next = self.starts.get(line + 1).map_or(self.text.len(), |s| s - 1);
        let start = self.starts.get(line).copied().unwrap_or(self.text.len());
        if next > start && self.text.as_bytes()[next - 1] == b'\r' { next - 1 } else { next }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.text.len())
    }
}

/// Applies one change of `textDocument/didChange`: a whole new text, or a range replaced.
pub fn apply_change(text: &mut String, change: &TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text.clone(),
        Some(r) => {
            let (start, end) = {
                let index = LineIndex::new(text);
                (index.offset(r.start), index.offset(r.end))
            };
            let (start, end) = (start.min(end), start.max(end));
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        // "é" is 2 bytes and 1 unit, "𝄞" 4 bytes and 2 units.
        let text = "ab\né𝄞x\r\nlast";
        let index = LineIndex::new(text);
        assert_eq!(index.position(0), Position::new(0, 0));
        assert_eq!(index.position(3), Position::new(1, 0));
        let x = text.find('x').unwrap();
        assert_eq!(index.position(x), Position::new(1, 3));
        assert_eq!(index.offset(Position::new(1, 3)), x);
        // Past the end of a line: its end, before "\r\n".
        assert_eq!(index.offset(Position::new(1, 99)), x + 1);
        assert_eq!(index.offset(Position::new(9, 0)), text.len());
        assert_eq!(index.position(text.len()), Position::new(2, 4));
    }

    #[test]
    fn incremental_changes_replace_ranges() {
        let mut text = "one\ntwo\nthree\n".to_string();
        let change = |sl, sc, el, ec, t: &str| TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: t.to_string(),
        };
        apply_change(&mut text, &change(1, 0, 1, 3, "TWO"));
        assert_eq!(text, "one\nTWO\nthree\n");
        apply_change(&mut text, &change(0, 3, 2, 0, " "));
        assert_eq!(text, "one three\n");
        apply_change(&mut text, &TextDocumentContentChangeEvent { range: None, range_length: None, text: "new".into() });
        assert_eq!(text, "new");
    }
}
