//! Positions: LSP counts lines and columns in code units of the encoding agreed at
//! `initialize` (UTF-16 unless the client offers UTF-8), pyasm counts bytes. `LineIndex`
//! converts between the two for one text; `apply_change` applies an incremental edit.

use lsp_types::{Position, PositionEncodingKind, Range, TextDocumentContentChangeEvent};
use std::borrow::Cow;

/// What a column counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// Bytes of UTF-8 (pyasm's own offsets).
    Utf8,
    /// UTF-16 code units: the protocol's default, which every client supports.
    #[default]
    Utf16,
}

impl Encoding {
    /// The server's choice among the encodings a client lists (`general.positionEncodings`).
    pub fn choose(offered: &[PositionEncodingKind]) -> Encoding {
        if offered.contains(&PositionEncodingKind::UTF8) { Encoding::Utf8 } else { Encoding::Utf16 }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }

    fn units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        }
    }
}

/// The byte offset of each line start of a text.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Cow<'a, [usize]>,
    encoding: Encoding,
}

/// The byte offset of each line start of `text` (what a `LineIndex` is made of).
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str, encoding: Encoding) -> LineIndex<'a> {
        LineIndex { text, starts: Cow::Owned(line_starts(text)), encoding }
    }

    /// With `line_starts(text)` made before (a snapshot keeps them for its files).
    pub fn with_starts(text: &'a str, starts: &'a [usize], encoding: Encoding) -> LineIndex<'a> {
        LineIndex { text, starts: Cow::Borrowed(starts), encoding }
    }

    /// The LSP position of a byte offset (clamped to the text, and to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let offset = floor_char_boundary(self.text, offset);
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let col: usize = match self.encoding {
            Encoding::Utf8 => offset - self.starts[line],
            e => self.text[self.starts[line]..offset].chars().map(|c| e.units(c)).sum(),
        };
        Position { line: line as u32, character: col as u32 }
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range { start: self.position(start), end: self.position(end) }
    }

    /// The byte offset of an LSP position. A column past the end of its line means the line's
    /// end (before the newline), a line past the end of the text the text's end, as the
    /// protocol asks; one inside a character (a UTF-8 column in the middle of its bytes, a
    /// UTF-16 one between a surrogate pair), that character's start.
    pub fn offset(&self, p: Position) -> usize {
        let Some(&start) = self.starts.get(p.line as usize) else { return self.text.len() };
        let end = self.line_end(p.line as usize);
        let mut units = 0u32;
        for (i, c) in self.text[start..end].char_indices() {
            units += self.encoding.units(c) as u32;
            if units > p.character {
                return start + i;
            }
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

/// The start of the character at byte `offset` (clamped to the text); `str::floor_char_boundary`
/// is newer than the Rust this builds with.
pub fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Applies one change of `textDocument/didChange`: a whole new text, or a range replaced.
pub fn apply_change(text: &mut String, change: &TextDocumentContentChangeEvent, encoding: Encoding) {
    match change.range {
        None => *text = change.text.clone(),
        Some(r) => {
            let (start, end) = {
                let index = LineIndex::new(text, encoding);
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
        let index = LineIndex::new(text, Encoding::Utf16);
        assert_eq!(index.position(0), Position::new(0, 0));
        assert_eq!(index.position(3), Position::new(1, 0));
        let x = text.find('x').unwrap();
        assert_eq!(index.position(x), Position::new(1, 3));
        assert_eq!(index.offset(Position::new(1, 3)), x);
        // Between the two units of "𝄞": its start.
        assert_eq!(index.offset(Position::new(1, 2)), x - 4);
        // Past the end of a line: its end, before "\r\n".
        assert_eq!(index.offset(Position::new(1, 99)), x + 1);
        assert_eq!(index.offset(Position::new(9, 0)), text.len());
        assert_eq!(index.position(text.len()), Position::new(2, 4));
    }

    #[test]
    fn utf8_columns_are_bytes() {
        let text = "ab\né𝄞x\r\nlast";
        let index = LineIndex::new(text, Encoding::Utf8);
        let x = text.find('x').unwrap();
        assert_eq!(index.position(x), Position::new(1, 6));
        assert_eq!(index.offset(Position::new(1, 6)), x);
        // Inside the bytes of "𝄞": its start.
        assert_eq!(index.offset(Position::new(1, 4)), x - 4);
        assert_eq!(index.offset(Position::new(1, 99)), x + 1);
        assert_eq!(index.position(text.len()), Position::new(2, 4));
        assert_eq!(Encoding::choose(&[PositionEncodingKind::UTF16, PositionEncodingKind::UTF8]), Encoding::Utf8);
        assert_eq!(Encoding::choose(&[PositionEncodingKind::UTF32]), Encoding::Utf16);
    }

    #[test]
    fn incremental_changes_replace_ranges() {
        let mut text = "one\ntwo\nthree\n".to_string();
        let change = |sl, sc, el, ec, t: &str| TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: t.to_string(),
        };
        let u16 = Encoding::Utf16;
        apply_change(&mut text, &change(1, 0, 1, 3, "TWO"), u16);
        assert_eq!(text, "one\nTWO\nthree\n");
        apply_change(&mut text, &change(0, 3, 2, 0, " "), u16);
        assert_eq!(text, "one three\n");
        apply_change(&mut text, &TextDocumentContentChangeEvent { range: None, range_length: None, text: "new".into() }, u16);
        assert_eq!(text, "new");
        // The same edit after "日本" is at column 2 in UTF-16, 6 in UTF-8.
        for (enc, col) in [(Encoding::Utf16, 2), (Encoding::Utf8, 6)] {
            let mut text = "日本語".to_string();
            apply_change(&mut text, &change(0, col, 0, col, "|"), enc);
            assert_eq!(text, "日本|語");
        }
    }
}
