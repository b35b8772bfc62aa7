//! The line tables of CPython 3.6–3.10: `co_lnotab` (3.6–3.9) and 3.10's `co_linetable`.
//! No columns before 3.11; these map byte offsets to line numbers only.
//!
//! The API is one pair of functions for all five versions, in terms of what the compiler
//! knows when it writes the table: every instruction, in order, with its size in bytes
//! (EXTENDED_ARG prefixes counted as their own instructions or included, either way — only
//! the offsets at which a mark sits matter) and a [`LineMark`]:
//!
//! * [`encode_line_numbers`] writes exactly what that version's compiler writes for those marks;
//! * [`decode_line_numbers`] recovers marks from a table, and `encode(decode(t)) == t` for every
//!   table the compilers write (measured over the whole standard library of each version, see
//!   `tests/old_marshal.rs`). A table that is not canonical decodes to marks whose encoding
//!   differs; callers check and fall back to the raw table.
//!
//! # co_lnotab (3.6–3.9)
//!
//! Pairs of bytes `(bytecode delta, line delta)`; the line delta is signed (`i8`) since 3.6.
//! Both count from the previous *entry group*, starting at offset 0 and `co_firstlineno`.
//! The compiler writes a group when an instruction carrying a line number starts:
//! * 3.6–3.8: only the first instruction of each statement carries one, and a group is
//!   written unless both deltas are 0 — so two statements on one line give a `(n, 0)` group;
//! * 3.9: every instruction carries one, and a group is written only when the line changes.
//! 3.6–3.9 then ran the peephole optimizer, which deletes NOPs and moves every group's offset
//! accordingly, keeping the groups: a line whose code was removed leaves a group with a
//! bytecode delta of 0 (`(0, 1), (0, -1)`; on 3.6–3.8 even `(0, 0)` for a same-line statement).
//! Marks of size 0 stand for those; after one, the next group is always written.
//! A group is split when a delta does not fit: first `(255, 0)` as often as 255 goes into the
//! bytecode delta, then (if the line delta exceeds `-128..=127`) `(rest, ±k)` and `(0, ±k)`
//! where k = 127 upwards, -128 downwards, then always `(0 or rest, remaining line delta)` —
//! possibly `(0, 0)`. Measured: a function `a = 1; b = 2` on line 2 gives `[0, 1, 4, 0, …]` on
//! 3.6–3.8 and `[0, 1, 8, 1, …]` on 3.9.
//!
//! # co_linetable (3.10)
//!
//! Pairs `(byte length of a range, line delta)`, one per maximal run of instructions with
//! the same line; a line delta of -128 means "no line" (and does not move the line the next
//! delta counts from). Line deltas beyond ±127 are written first as `(0, ±127)` pairs; ranges
//! longer than 254 bytes are split into `(254, delta)` then `(254, 0)`… (`-128` again for a
//! no-line range). The line starts at `co_firstlineno`; ranges of zero length are not written.

use crate::version::PythonVersion;

/// What the compiler knew about an instruction's line when it wrote the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineMark {
    /// No line number of its own: continues whatever came before.
    Inherit,
    /// Starts a line (3.6–3.8: a statement; same-line statements are kept apart).
    Line(i32),
    /// 3.10 only: an artificial instruction with no line (`co_lines()` gives `None`). The
    /// older formats cannot say this; there it is treated like [`LineMark::Inherit`].
    NoLine,
}

/// Which line-table format (and which writing rule) a version uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineTableKind {
    /// 3.6–3.8 lnotab: a group per marked instruction unless both deltas are 0.
    LnotabPerStatement,
    /// 3.9 lnotab: a group only where the line changes.
    LnotabPerLine,
    /// 3.10 co_linetable.
    Linetable310,
}

impl LineTableKind {
    /// The format of a version, for 3.6–3.10 (`None` for others: 3.11+ use location tables).
    pub fn for_version(v: PythonVersion) -> Option<LineTableKind> {
        match (v.major, v.minor) {
            (3, 6..=8) => Some(LineTableKind::LnotabPerStatement),
            (3, 9) => Some(LineTableKind::LnotabPerLine),
            (3, 10) => Some(LineTableKind::Linetable310),
            _ => None,
        }
    }
}

/// Writes the version's line table for instructions `(mark, size in bytes)`, as its compiler
/// does. Panics if `version` is not 3.6–3.10.
pub fn encode_line_numbers(version: PythonVersion, firstlineno: i32, instrs: &[(LineMark, u32)]) -> Vec<u8> {
    match LineTableKind::for_version(version).expect("a 3.6–3.10 version") {
        LineTableKind::LnotabPerStatement => encode_lnotab(firstlineno, instrs, false),
        LineTableKind::LnotabPerLine => encode_lnotab(firstlineno, instrs, true),
        LineTableKind::Linetable310 => encode_linetable_310(firstlineno, instrs),
    }
}

/// Recovers the marks of every instruction (sizes in bytes, in order) from a version's line
/// table: usually none (continues) or one; several where 3.6–3.9's peephole optimizer removed
/// the code of whole lines and left their entries at the next instruction's offset (encode
/// those as marks of size 0 before it, see [`with_sizes`]). One list more than there are
/// instructions: the last holds marks at the end of the code (lines removed at the very end). Errors name what the table does
/// that the compiler never does and marks cannot say: a line starting inside an instruction,
/// a table running past the code, a truncated pair.
pub fn decode_line_numbers(
    version: PythonVersion,
    firstlineno: i32,
    table: &[u8],
    sizes: &[u32],
) -> Result<Vec<Vec<LineMark>>, String> {
    let kind = LineTableKind::for_version(version).ok_or_else(|| format!("Python {version} has no lnotab"))?;
    if table.len() % 2 != 0 {
        return Err(format!("the line table has an odd length ({} bytes); it is made of pairs", table.len()));
    }
    match kind {
        LineTableKind::Linetable310 => decode_linetable_310(firstlineno, table, sizes),
        _ => decode_lnotab(firstlineno, table, sizes),
    }
}

fn encode_lnotab(firstlineno: i32, instrs: &[(LineMark, u32)], skip_same_line: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut offset, mut last_offset, mut last_line) = (0i64, 0i64, firstlineno as i64);
    // Whether the last group written was for a mark of size 0: code the peephole optimizer
    // removed after the table was written, so the next group had a bytecode delta then.
    let mut after_removed = false;
    for &(mark, size) in instrs {
        if let LineMark::Line(line) = mark {
            let mut d_bytecode = offset - last_offset;
            let mut d_line = line as i64 - last_line;
            let skip = if skip_same_line { d_line == 0 } else { d_bytecode == 0 && d_line == 0 && !after_removed };
            if !skip {
                while d_bytecode > 255 {
                    out.extend_from_slice(&[255, 0]);
                    d_bytecode -= 255;
                }
                if !(-128..=127).contains(&d_line) {
                    let k: i64 = if d_line < 0 { -128 } else { 127 };
                    let n = d_line / k;
                    d_line -= n * k;
                    out.extend_from_slice(&[d_bytecode as u8, k as i8 as u8]);
                    for _ in 1..n {
                        out.extend_from_slice(&[0, k as i8 as u8]);
                    }
                    d_bytecode = 0;
                }
                out.extend_from_slice(&[d_bytecode as u8, d_line as i8 as u8]);
                last_offset = offset;
                last_line = line as i64;
                after_removed = size == 0;
            }
        }
        offset += size as i64;
    }
    out
}

/// Starts of instructions, and the total length.
fn offsets(sizes: &[u32]) -> (Vec<u64>, u64) {
    let mut at = 0u64;
    let starts = sizes
        .iter()
        .map(|&s| {
            let o = at;
            at += s as u64;
            o
        })
        .collect();
    (starts, at)
}

fn decode_lnotab(firstlineno: i32, table: &[u8], sizes: &[u32]) -> Result<Vec<Vec<LineMark>>, String> {
    let (mut starts, end) = offsets(sizes);
    // The end of the code is where lines whose code was removed at the very end sit.
    starts.push(end);
    let mut marks = vec![Vec::new(); sizes.len() + 1];
    let pairs: Vec<(u8, i8)> = table.chunks_exact(2).map(|p| (p[0], p[1] as i8)).collect();
    let (mut offset, mut line) = (0u64, firstlineno as i64);
    let mut i = 0;
    while i < pairs.len() {
        // `(255, 0)` pairs only ever carry a bytecode delta forward.
        while i + 1 < pairs.len() && pairs[i] == (255, 0) {
            offset += 255;
            i += 1;
        }
        offset += pairs[i].0 as u64;
        line += pairs[i].1 as i64;
        let mut last = pairs[i].1;
        i += 1;
        // A line delta that did not fit continues in `(0, ±k)` pairs after a saturated one;
        // any other pair without a bytecode delta is a line of its own at the same offset
        // (code the peephole optimizer removed).
        while i < pairs.len() && pairs[i].0 == 0 && ((last == 127 && pairs[i].1 >= 0) || (last == -128 && pairs[i].1 <= 0)) {
            line += pairs[i].1 as i64;
            last = pairs[i].1;
            i += 1;
        }
        let line = i32::try_from(line).map_err(|_| format!("line number {line} out of range"))?;
        if offset > end {
            return Err(format!("the line table marks byte {offset}, past the end of the code ({end} bytes)"));
        }
        let index = starts
            .binary_search(&offset)
            .map_err(|_| format!("the line table marks byte {offset}, inside an instruction"))?;
        marks[index].push(LineMark::Line(line));
    }
    Ok(marks)
}

fn encode_linetable_310(firstlineno: i32, instrs: &[(LineMark, u32)]) -> Vec<u8> {
    struct State {
        out: Vec<u8>,
        /// The current range: its line (`None`: no line) and where it started.
        line: Option<i64>,
        start: i64,
        /// The line the next delta counts from.
        prev_line: i64,
    }
    impl State {
        fn close_range(&mut self, offset: i64) {
            let mut bdelta = offset - self.start;
            if bdelta == 0 {
                return;
            }
            let mut ldelta: i64 = match self.line {
                None => -128,
                Some(line) => {
                    let mut d = line - self.prev_line;
                    self.prev_line = line;
                    while d > 127 {
                        self.out.extend_from_slice(&[0, 127]);
                        d -= 127;
                    }
                    while d < -127 {
                        self.out.extend_from_slice(&[0, (-127i8) as u8]);
                        d += 127;
                    }
                    d
                }
            };
            while bdelta > 254 {
                self.out.extend_from_slice(&[254, ldelta as i8 as u8]);
                ldelta = if self.line.is_none() { -128 } else { 0 };
                bdelta -= 254;
            }
            self.out.extend_from_slice(&[bdelta as u8, ldelta as i8 as u8]);
            self.start = offset;
        }
    }
    let first = firstlineno as i64;
    let mut s = State { out: Vec::new(), line: Some(first), start: 0, prev_line: first };
    let mut offset = 0i64;
    for &(mark, size) in instrs {
        let line = match mark {
            LineMark::Inherit => s.line,
            LineMark::Line(l) => Some(l as i64),
            LineMark::NoLine => None,
        };
        if line != s.line {
            s.close_range(offset);
            s.line = line;
        }
        offset += size as i64;
    }
    s.close_range(offset);
    s.out
}

fn decode_linetable_310(firstlineno: i32, table: &[u8], sizes: &[u32]) -> Result<Vec<Vec<LineMark>>, String> {
    let (starts, end) = offsets(sizes);
    // (range start, range end, line) for every range, in order.
    let mut ranges: Vec<(u64, u64, Option<i64>)> = Vec::new();
    let (mut offset, mut line) = (0u64, firstlineno as i64);
    for p in table.chunks_exact(2) {
        let (bdelta, ldelta) = (p[0] as u64, p[1] as i8);
        let this = if ldelta == -128 {
            None
        } else {
            line += ldelta as i64;
            Some(line)
        };
        if bdelta > 0 {
            // A range longer than 254 bytes was split: pieces with the same line join again.
            match ranges.last_mut() {
                Some(last) if last.1 == offset && last.2 == this => last.1 += bdelta,
                _ => ranges.push((offset, offset + bdelta, this)),
            }
            offset += bdelta;
        }
    }
    if offset != end {
        return Err(format!("the line table covers {offset} bytes, the code has {end}"));
    }
    let mut marks = Vec::with_capacity(sizes.len() + 1);
    let mut current = Some(firstlineno as i64);
    let mut r = 0;
    for (&start, &size) in starts.iter().zip(sizes) {
        while r < ranges.len() && ranges[r].1 <= start {
            r += 1;
        }
        let Some(&(lo, hi, l)) = ranges.get(r) else {
            // Unreachable while the ranges cover the code (checked above); an error, not a
            // short list, keeps the caller's one-mark-per-instruction promise either way.
            return Err(format!("no line range covers the instruction at byte {start}"));
        };
        if lo > start || hi < start + size as u64 {
            return Err(format!("a line range boundary falls inside the instruction at byte {start}"));
        }
        if l == current {
            marks.push(Vec::new());
        } else {
            current = l;
            marks.push(vec![match l {
                Some(l) => LineMark::Line(i32::try_from(l).map_err(|_| format!("line number {l} out of range"))?),
                None => LineMark::NoLine,
            }]);
        }
    }
    marks.push(Vec::new()); // nothing sits after the last instruction in 3.10's ranges
    Ok(marks)
}

/// The input of [`encode_line_numbers`] from the marks of every instruction and their sizes
/// (as [`decode_line_numbers`] gives them): all but the last mark of an instruction become
/// marks of size 0 before it, and marks at the end (after the last instruction) marks of
/// size 0 there.
pub fn with_sizes(marks: &[Vec<LineMark>], sizes: &[u32]) -> Vec<(LineMark, u32)> {
    let mut out = Vec::with_capacity(sizes.len());
    for (m, &size) in marks.iter().zip(sizes) {
        match m.split_last() {
            None => out.push((LineMark::Inherit, size)),
            Some((last, before)) => {
                out.extend(before.iter().map(|&b| (b, 0)));
                out.push((*last, size));
            }
        }
    }
    for trailing in marks.iter().skip(sizes.len()) {
        out.extend(trailing.iter().map(|&m| (m, 0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use LineMark::*;

    fn v(minor: u8) -> PythonVersion {
        PythonVersion::new(3, minor)
    }

    /// `def f(x):\n a = 1; b = 2\n if x:\n  return 3\n c = [i for i in x]\n return 4`: the
    /// tables printed by each interpreter, and the instructions of `f` (2 bytes each).
    #[test]
    fn same_line_statements() {
        let marks = [
            (Line(2), 2),
            (Inherit, 2),
            (Line(2), 2),
            (Inherit, 2),
            (Line(3), 2),
            (Inherit, 2),
            (Line(4), 2),
            (Inherit, 2),
            (Line(5), 2),
            (Inherit, 2),
            (Inherit, 2),
            (Inherit, 2),
            (Inherit, 2),
            (Inherit, 2),
            (Inherit, 2),
            (Line(6), 2),
            (Inherit, 2),
        ];
        for minor in 6..=8 {
            assert_eq!(encode_line_numbers(v(minor), 1, &marks), [0, 1, 4, 0, 4, 1, 4, 1, 4, 1, 14, 1]);
        }
        assert_eq!(encode_line_numbers(v(9), 1, &marks), [0, 1, 8, 1, 4, 1, 4, 1, 14, 1]);
        assert_eq!(encode_line_numbers(v(10), 1, &marks), [8, 1, 4, 1, 4, 1, 14, 1, 4, 1]);
        let sizes: Vec<u32> = marks.iter().map(|m| m.1).collect();
        for minor in 6..=10 {
            let t = encode_line_numbers(v(minor), 1, &marks);
            let back = decode_line_numbers(v(minor), 1, &t, &sizes).unwrap();
            assert_eq!(encode_line_numbers(v(minor), 1, &with_sizes(&back, &sizes)), t, "3.{minor}");
        }
    }

    #[test]
    fn big_deltas_split() {
        // 600 bytes, then a line 300 further on.
        let marks = [(Inherit, 600), (Line(301), 2)];
        assert_eq!(encode_line_numbers(v(6), 1, &marks), [255, 0, 255, 0, 90, 127, 0, 127, 0, 46]);
        let marks = [(Inherit, 600), (Line(1), 2)];
        assert_eq!(encode_line_numbers(v(6), 1, &marks), [255, 0, 255, 0, 90, 0]);
        let marks = [(Inherit, 2), (Line(-255), 2)];
        assert_eq!(encode_line_numbers(v(7), 1, &marks), [2, 128, 0, 128, 0, 0]);
        // 3.10: line deltas first, then the range split in 254-byte pieces.
        let marks = [(Line(300), 600), (NoLine, 300)];
        assert_eq!(
            encode_line_numbers(v(10), 1, &marks),
            [0, 127, 0, 127, 254, 45, 254, 0, 92, 0, 254, 128, 46, 128]
        );
        for (minor, marks) in [(6, vec![(Inherit, 600), (Line(301), 2)]), (10, marks.to_vec())] {
            let t = encode_line_numbers(v(minor), 1, &marks);
            let sizes: Vec<u32> = marks.iter().map(|m| m.1).collect();
            let mut want: Vec<Vec<LineMark>> =
                marks.iter().map(|m| if m.0 == Inherit { vec![] } else { vec![m.0] }).collect();
            want.push(vec![]);
            assert_eq!(decode_line_numbers(v(minor), 1, &t, &sizes).unwrap(), want);
        }
    }

    /// 3.8's lnotab for a line whose code the peephole optimizer removed: `(0, 1), (0, -1)`
    /// at the next instruction (seen in concurrent/futures/process.py).
    #[test]
    fn lines_without_code() {
        let table = [8, 1, 0, 1, 0, 0xff, 10, 0x55];
        for minor in [8, 9] {
            let marks = decode_line_numbers(v(minor), 1, &table, &[2; 10]).unwrap();
            assert_eq!(marks[4], [Line(2), Line(3), Line(2)]);
            assert_eq!(encode_line_numbers(v(minor), 1, &with_sizes(&marks, &[2; 10])), table);
        }
    }

    /// 3.6: a function whose unreachable last line the peephole optimizer removed (seen in
    /// unittest/test/testmock): its entry sits at the end of the code.
    #[test]
    fn lines_removed_at_the_end() {
        let table = [0, 1, 4, 1];
        let marks = decode_line_numbers(v(6), 1, &table, &[2, 2]).unwrap();
        assert_eq!(marks, [vec![Line(2)], vec![], vec![Line(3)]]);
        assert_eq!(encode_line_numbers(v(6), 1, &with_sizes(&marks, &[2, 2])), table);
        assert!(decode_line_numbers(v(6), 1, &[6, 1], &[2, 2]).is_err());
    }

    #[test]
    fn bad_tables_are_errors() {
        assert!(decode_line_numbers(v(6), 1, &[3, 1], &[2, 2]).is_err());
        assert!(decode_line_numbers(v(6), 1, &[4], &[2, 2]).is_err());
        assert!(decode_line_numbers(v(10), 1, &[3, 1, 1, 1], &[2, 2]).is_err());
        assert!(decode_line_numbers(v(10), 1, &[2, 1], &[2, 2]).is_err());
        assert!(decode_line_numbers(v(11), 1, &[], &[]).is_err());
    }
}
