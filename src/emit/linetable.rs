//! The 3.11+ location table (`co_linetable`): for every code unit, the source span it came
//! from (line, end line, column, end column), as described in CPython's
//! `Objects/locations.md`.
//!
//! Why exactness matters: tracebacks, `co_positions()`, `co_lines()`, `dis` and debuggers
//! all read this table, and we want a code object assembled from the same locations as
//! CPython's compiler to be byte-identical to CPython's (so assembled and compiled pycs can
//! be diffed). So the encoder reproduces CPython 3.11's choice of entry form, not merely *a*
//! valid encoding.
//!
//! Format. The table is a sequence of entries, each covering 1–8 code units:
//!
//! * first byte: bit 7 set (marks an entry start), bits 3–6 the form code, bits 0–2 the
//!   number of code units minus one;
//! * then form-specific data. "varint": 6-bit groups, least significant first, bit 6 set on
//!   every group but the last. "svarint": a varint of `|v| << 1 | (v < 0)`.
//!
//! | code  | form      | data                                             | line        |
//! |-------|-----------|--------------------------------------------------|-------------|
//! | 0–9   | short     | 1 byte: `(col % 8) << 4 \| (end_col - col)`; col = code*8 + … | unchanged |
//! | 10–12 | one-line  | 2 bytes: col, end_col                            | += code-10  |
//! | 13    | no column | svarint line delta                               | += delta    |
//! | 14    | long      | svarint line delta, varint end_line-line, varint col+1, varint end_col+1 | += delta |
//! | 15    | none      | —                                                | (no line)   |
//!
//! Line deltas are relative to the previous entry that *had* a line (the "none" form does
//! not move it), starting from `co_firstlineno`.
//!
//! Merging: CPython 3.11 writes one entry (or several, for instructions longer than 8 code
//! units) per *instruction*, even when consecutive instructions share a location — the
//! merging of equal neighbours arrived with 3.12's assembler. Checked on 3.11.7: a class body
//! starts with five identical one-unit entries (`80 00` ×5), and re-encoding every
//! instruction of compiled stdlib modules one by one reproduces `co_linetable` byte for byte
//! (see `tests/encoders.rs`). So `encode_locations` never merges; callers that want
//! 3.12-style tables would merge before calling.

/// A source span. `-1` in any field means "absent", as in CPython (`None` in
/// `co_positions()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: i32,
    pub end_line: i32,
    pub col: i32,
    pub end_col: i32,
}

impl Location {
    /// No location at all (artificial instructions such as some `RESUME`s or cleanup code).
    pub const NONE: Location = Location { line: -1, end_line: -1, col: -1, end_col: -1 };
}

/// The most code units one entry may cover (3 bits of length).
const MAX_ENTRY_UNITS: u32 = 8;

const FORM_ONE_LINE_0: u8 = 10;
const FORM_NO_COLUMN: u8 = 13;
const FORM_LONG: u8 = 14;
const FORM_NONE: u8 = 15;

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x40 {
        out.push(0x40 | (v & 0x3F) as u8);
        v >>= 6;
    }
    out.push(v as u8);
}

fn write_svarint(out: &mut Vec<u8>, v: i64) {
    let u = if v < 0 { (v.unsigned_abs() << 1) | 1 } else { (v as u64) << 1 };
    write_varint(out, u);
}

fn entry_start(out: &mut Vec<u8>, code: u8, units: u32) {
    debug_assert!((1..=MAX_ENTRY_UNITS).contains(&units));
    out.push(0x80 | (code << 3) | (units - 1) as u8);
}

/// Encodes a location table. `instrs` lists every instruction in order with its size in code
/// units (EXTENDED_ARG prefixes and inline CACHE units included, since the table covers every
/// code unit). Instructions longer than 8 units are split into several entries with the same
/// location, as CPython does; zero-size instructions cover no code and write nothing.
///
/// The form chosen for each entry is CPython 3.11's (`write_location_info_entry` in
/// `Python/compile.c`):
/// 1. no line (`line < 0`) → "none";
/// 2. a column missing and the span on one line (end line equal or absent) → "no column";
/// 3. otherwise, if the span is on one line:
///    same line as the previous entry, `col < 80` and `0 <= end_col - col < 16` → short;
///    line delta 0..=2 and both columns < 128 → one-line;
/// 4. anything else → long.
pub fn encode_locations(firstlineno: i32, instrs: &[(Location, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(instrs.len() * 2);
    let mut prev_line = firstlineno;
    for &(loc, size) in instrs {
        let mut left = size;
        while left > 0 {
            let units = left.min(MAX_ENTRY_UNITS);
            write_entry(&mut out, &mut prev_line, loc, units);
            left -= units;
        }
    }
    out
}

fn write_entry(out: &mut Vec<u8>, prev_line: &mut i32, loc: Location, units: u32) {
    if loc.line < 0 {
        entry_start(out, FORM_NONE, units);
        return;
    }
    let delta = loc.line as i64 - *prev_line as i64;
    if loc.col < 0 || loc.end_col < 0 {
        if loc.end_line == loc.line || loc.end_line == -1 {
            entry_start(out, FORM_NO_COLUMN, units);
            write_svarint(out, delta);
            *prev_line = loc.line;
            return;
        }
        // A multi-line span without columns falls through to the long form, like CPython.
    } else if loc.end_line == loc.line {
        let (col, end_col) = (loc.col, loc.end_col);
        if delta == 0 && col < 80 && end_col >= col && end_col - col < 16 {
            entry_start(out, (col / 8) as u8, units);
            out.push((((col % 8) as u8) << 4) | (end_col - col) as u8);
            return;
        }
        if (0..3).contains(&delta) && col < 128 && end_col < 128 {
            entry_start(out, FORM_ONE_LINE_0 + delta as u8, units);
            out.push(col as u8);
            out.push(end_col as u8);
            *prev_line = loc.line;
            return;
        }
    }
    entry_start(out, FORM_LONG, units);
    write_svarint(out, delta);
    // CPython writes `end_line - line` as an unsigned 32-bit varint; a span ending before it
    // starts (or an absent end line with columns present) wraps around, and readers wrap back.
    write_varint(out, loc.end_line.wrapping_sub(loc.line) as u32 as u64);
    write_varint(out, (loc.col.max(-1) as i64 + 1) as u64);
    write_varint(out, (loc.end_col.max(-1) as i64 + 1) as u64);
    *prev_line = loc.line;
}

/// A cursor over untrusted table bytes; every read is checked.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self, what: &str) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| format!("location table truncated at byte {} (reading {what})", self.pos))?;
        if b & 0x80 != 0 {
            return Err(format!("location table: byte {} ({b:#04x}) starts a new entry inside {what}", self.pos));
        }
        self.pos += 1;
        Ok(b)
    }

    /// An unsigned varint that must fit in 32 bits (what CPython's reader accumulates into).
    fn varint(&mut self, what: &str) -> Result<u32, String> {
        let start = self.pos;
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.byte(what)?;
            value |= ((b & 0x3F) as u64) << shift;
            if b & 0x40 == 0 {
                break;
            }
            shift += 6;
            if shift > 30 {
                return Err(format!("location table: varint at byte {start} is too long ({what})"));
            }
        }
        u32::try_from(value).map_err(|_| format!("location table: varint at byte {start} exceeds 32 bits ({what})"))
    }

    fn svarint(&mut self, what: &str) -> Result<i64, String> {
        let u = self.varint(what)?;
        let magnitude = (u >> 1) as i64;
        Ok(if u & 1 != 0 { -magnitude } else { magnitude })
    }
}

fn add_line(line: i32, delta: i64, at: usize) -> Result<i32, String> {
    i32::try_from(line as i64 + delta).map_err(|_| format!("location table: line number overflows at byte {at}"))
}

/// Decodes a location table into its entries, in order: each entry's location and how many
/// code units it covers (1–8). Entries are not merged or split, so
/// `encode_locations(first, &decode_locations(first, t)?) == t` for any table CPython 3.11
/// writes. Short and one-line entries decode with `end_line = line`; "no column" entries with
/// `end_line = line` and both columns -1 (as `co_positions()` reports them).
///
/// Malformed input (truncation, a continuation byte where an entry should start, oversized
/// varints, line overflow) is an error, never a panic.
pub fn decode_locations(firstlineno: i32, table: &[u8]) -> Result<Vec<(Location, u32)>, String> {
    let mut r = Reader { bytes: table, pos: 0 };
    let mut line = firstlineno;
    let mut out = Vec::with_capacity(table.len() / 2);
    while r.pos < table.len() {
        let at = r.pos;
        let first = table[at];
        if first & 0x80 == 0 {
            return Err(format!("location table: byte {at} ({first:#04x}) should start an entry (bit 7 clear)"));
        }
        r.pos += 1;
        let code = (first >> 3) & 0x0F;
        let units = (first & 7) as u32 + 1;
        let loc = match code {
            0..=9 => {
                let b = r.byte("short form")?;
                let col = code as i32 * 8 + (b >> 4) as i32;
                Location { line, end_line: line, col, end_col: col + (b & 0x0F) as i32 }
            }
            10..=12 => {
                line = add_line(line, (code - FORM_ONE_LINE_0) as i64, at)?;
                let col = r.byte("one-line form")? as i32;
                let end_col = r.byte("one-line form")? as i32;
                Location { line, end_line: line, col, end_col }
            }
            FORM_NO_COLUMN => {
                line = add_line(line, r.svarint("no-column form")?, at)?;
                Location { line, end_line: line, col: -1, end_col: -1 }
            }
            FORM_LONG => {
                line = add_line(line, r.svarint("long form line")?, at)?;
                let end_line = line.wrapping_add(r.varint("long form end line")? as i32);
                let col = r.varint("long form column")? as i64 - 1;
                let end_col = r.varint("long form end column")? as i64 - 1;
                let col = i32::try_from(col).map_err(|_| format!("location table: column overflows at byte {at}"))?;
                let end_col =
                    i32::try_from(end_col).map_err(|_| format!("location table: end column overflows at byte {at}"))?;
                Location { line, end_line, col, end_col }
            }
            _ => Location::NONE,
        };
        out.push((loc, units));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(line: i32, end_line: i32, col: i32, end_col: i32) -> Location {
        Location { line, end_line, col, end_col }
    }

    #[test]
    fn forms_match_cpython_choices() {
        // RESUME at firstlineno, col 0..0: short form, code 0.
        assert_eq!(encode_locations(1, &[(loc(1, 1, 0, 0), 1)]), [0x80, 0x00]);
        // Same line, col 9..12: short form code 1, (9%8)<<4 | 3.
        assert_eq!(encode_locations(1, &[(loc(1, 1, 9, 12), 2)]), [0x80 | 1 << 3 | 1, 0x13]);
        // Next line: one-line form, code 11.
        assert_eq!(encode_locations(1, &[(loc(2, 2, 4, 9), 1)]), [0x80 | 11 << 3, 4, 9]);
        // Same line but end_col - col = 16: not short, one-line code 10.
        assert_eq!(encode_locations(1, &[(loc(1, 1, 0, 16), 1)]), [0x80 | 10 << 3, 0, 16]);
        // Column 80 on the same line: one-line code 10.
        assert_eq!(encode_locations(1, &[(loc(1, 1, 80, 81), 1)]), [0x80 | 10 << 3, 80, 81]);
        // No columns: code 13, svarint delta -1 → 3.
        assert_eq!(encode_locations(5, &[(loc(4, 4, -1, -1), 1)]), [0x80 | 13 << 3, 3]);
        assert_eq!(encode_locations(5, &[(loc(5, -1, 3, -1), 1)]), [0x80 | 13 << 3, 0]);
        // No line: code 15 and the running line is untouched.
        assert_eq!(encode_locations(5, &[(Location::NONE, 1), (loc(5, 5, 0, 1), 1)]), [0xF8, 0x80, 0x01]);
        // Multi-line span: long form: delta 0, end delta 2, col+1=1, end_col+1=6.
        assert_eq!(encode_locations(1, &[(loc(1, 3, 0, 5), 1)]), [0x80 | 14 << 3, 0, 2, 1, 6]);
        // Column 128 on a one-line span: long form, col+1 = 129 = 0x41 | 0x40, 0x02.
        assert_eq!(encode_locations(1, &[(loc(1, 1, 128, 130), 1)]), [0xF0, 0, 0, 0x41, 0x02, 0x43, 0x02]);
        // Line delta 3: long form.
        assert_eq!(encode_locations(1, &[(loc(4, 4, 0, 1), 1)]), [0xF0, 6, 0, 1, 2]);
        // Backwards line jump on the same line span: long form with negative svarint.
        assert_eq!(encode_locations(10, &[(loc(8, 8, 0, 1), 1)]), [0xF0, 5, 0, 1, 2]);
    }

    #[test]
    fn long_instructions_are_split_into_chunks_of_eight() {
        let t = encode_locations(1, &[(loc(2, 2, 0, 3), 19)]);
        // 8 units one-line (moves to line 2), 8 short, 3 short.
        assert_eq!(t, [0x80 | 11 << 3 | 7, 0, 3, 0x87, 0x03, 0x82, 0x03]);
        let d = decode_locations(1, &t).unwrap();
        assert_eq!(d.iter().map(|e| e.1).collect::<Vec<_>>(), [8, 8, 3]);
        assert!(d.iter().all(|e| e.0 == loc(2, 2, 0, 3)));
        assert!(encode_locations(1, &[(loc(1, 1, 0, 0), 0)]).is_empty());
    }

    #[test]
    fn no_merging_of_equal_neighbours() {
        let t = encode_locations(1, &[(loc(1, 1, 0, 0), 1), (loc(1, 1, 0, 0), 1)]);
        assert_eq!(t, [0x80, 0x00, 0x80, 0x00]);
    }

    #[test]
    fn round_trips() {
        let instrs = [
            (loc(1, 1, 0, 0), 1),
            (loc(3, 3, 4, 200), 3),
            (loc(3, 5, 4, 2), 2),
            (Location::NONE, 1),
            (loc(1, 1, -1, -1), 1),
            (loc(100000, 100000, 1000, 1002), 1),
            (loc(7, 9, -1, -1), 1),
            (loc(7, 6, 1, 2), 1),
            (loc(7, -1, 1, 2), 1),
            (loc(0, 0, 0, 0), 1),
        ];
        let t = encode_locations(1, &instrs);
        let d = decode_locations(1, &t).unwrap();
        assert_eq!(d.as_slice(), &instrs[..]);
        assert_eq!(encode_locations(1, &d), t);
    }

    #[test]
    fn decoder_rejects_garbage_without_panicking() {
        assert!(decode_locations(1, &[0x00]).is_err()); // not an entry start
        assert!(decode_locations(1, &[0x80]).is_err()); // truncated short form
        assert!(decode_locations(1, &[0xD0, 1]).is_err()); // truncated one-line form
        assert!(decode_locations(1, &[0xF0, 0x40]).is_err()); // truncated varint
        assert!(decode_locations(1, &[0xF0, 0, 0, 0x80, 0]).is_err()); // entry start inside data
        assert!(decode_locations(1, &[0xE8, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x01]).is_err()); // long varint
        assert!(decode_locations(i32::MAX, &[0xD8, 0, 0]).is_err()); // line overflow
        assert_eq!(decode_locations(1, &[]).unwrap(), vec![]);
        // Exhaustive-ish fuzz: every short byte string must decode or error, never panic.
        let mut state = 0x1234_5678_u32;
        for len in 0..40 {
            for _ in 0..500 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        state as u8
                    })
                    .collect();
                let _ = decode_locations(0, &bytes);
                let _ = decode_locations(i32::MIN, &bytes);
            }
        }
    }
}
