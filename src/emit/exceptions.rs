//! The 3.11+ exception table (`co_exceptiontable`), "zero-cost" exception handling: instead
//! of SETUP_* instructions pushing blocks at run time, the code object carries a table
//! mapping ranges of instructions to handlers. CPython's `Objects/exception_handling_notes.txt`
//! describes it; this module reads and writes the byte format.
//!
//! Each entry says: if an exception is raised by an instruction in `start..end` (code units,
//! end exclusive), pop the value stack down to `depth`, push the offset of the raising
//! instruction if `lasti`, push the exception, and jump to `target`.
//!
//! Encoding: an entry is four unsigned numbers — start, size (= end - start), target,
//! `depth << 1 | lasti` — each written big-endian in 6-bit groups, bit 6 (0x40) set on every
//! group but the last. Bit 7 (0x80) is set on the first byte of each entry and nowhere else,
//! which lets the interpreter binary-search the table for an entry start. Entries are sorted
//! by start and do not overlap; the compiler never needs an "inner" entry to override an
//! outer one because it splits ranges instead.

/// One range → handler mapping. Offsets are in code units (2-byte words), as in 3.11+.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExceptionEntry {
    pub start: u32,
    /// Exclusive.
    pub end: u32,
    pub target: u32,
    /// Stack depth to unwind to before pushing the exception.
    pub depth: u32,
    /// Also push the offset of the raising instruction (used by `with` and re-raise cleanup).
    pub lasti: bool,
}

const ENTRY_START: u8 = 0x80;
const CONTINUE: u8 = 0x40;

fn write_item(out: &mut Vec<u8>, value: u64, entry_start: bool) {
    // Number of 6-bit groups needed (at least one). CPython only ever writes up to five
    // (values < 2**30); larger values get more groups in the same scheme.
    let mut groups = 1;
    while groups < 11 && value >> (6 * groups) != 0 {
        groups += 1;
    }
    let mut mark = if entry_start { ENTRY_START } else { 0 };
    for g in (0..groups).rev() {
        let bits = ((value >> (6 * g)) & 0x3F) as u8;
        let cont = if g > 0 { CONTINUE } else { 0 };
        out.push(bits | cont | mark);
        mark = 0;
    }
}

/// Encodes the table in the order given (the verifier is responsible for sorting and for
/// ranges being non-empty and non-overlapping; CPython's reader relies on both).
///
/// # Panics
/// If an entry ends before it starts — a bug in the caller, not a user error.
pub fn encode_exception_table(entries: &[ExceptionEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 4);
    for e in entries {
        assert!(e.end >= e.start, "exception table entry ends before it starts: {e:?}");
        write_item(&mut out, e.start as u64, true);
        write_item(&mut out, (e.end - e.start) as u64, false);
        write_item(&mut out, e.target as u64, false);
        write_item(&mut out, ((e.depth as u64) << 1) | e.lasti as u64, false);
    }
    out
}

/// Decodes a table into its entries, in order. Malformed input — truncation, a missing or
/// misplaced entry-start bit, values too large, `start + size` overflowing — is an error,
/// never a panic.
pub fn decode_exception_table(bytes: &[u8]) -> Result<Vec<ExceptionEntry>, String> {
    let mut pos = 0;
    let mut out = Vec::new();
    let read_item = |pos: &mut usize, first: bool, what: &str| -> Result<u64, String> {
        let start = *pos;
        let mut value: u64 = 0;
        let mut first_byte = true;
        loop {
            let b = *bytes
                .get(*pos)
                .ok_or_else(|| format!("exception table truncated at byte {} (reading {what})", *pos))?;
            let marked = b & ENTRY_START != 0;
            if marked != (first && first_byte) {
                return Err(if marked {
                    format!("exception table: byte {} ({b:#04x}) starts an entry inside {what}", *pos)
                } else {
                    format!("exception table: byte {} ({b:#04x}) should start an entry", *pos)
                });
            }
            *pos += 1;
            first_byte = false;
            value = (value << 6) | (b & 0x3F) as u64;
            if b & CONTINUE == 0 {
                return Ok(value);
            }
            if value >> 34 != 0 {
                return Err(format!("exception table: {what} at byte {start} is too large"));
            }
        }
    };
    let to_u32 = |v: u64, what: &str, at: usize| -> Result<u32, String> {
        u32::try_from(v).map_err(|_| format!("exception table: {what} {v} at byte {at} does not fit in 32 bits"))
    };
    while pos < bytes.len() {
        let at = pos;
        let start = to_u32(read_item(&mut pos, true, "start")?, "start", at)?;
        let size = to_u32(read_item(&mut pos, false, "size")?, "size", at)?;
        let target = to_u32(read_item(&mut pos, false, "target")?, "target", at)?;
        let dl = read_item(&mut pos, false, "depth")?;
        let depth = to_u32(dl >> 1, "depth", at)?;
        let end =
            start.checked_add(size).ok_or_else(|| format!("exception table: entry at byte {at} ends past 2**32"))?;
        out.push(ExceptionEntry { start, end, target, depth, lasti: dl & 1 != 0 });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(start: u32, end: u32, target: u32, depth: u32, lasti: bool) -> ExceptionEntry {
        ExceptionEntry { start, end, target, depth, lasti }
    }

    #[test]
    fn encodes_known_bytes() {
        // start 2, size 3, target 10, depth 1 lasti → 3.
        assert_eq!(encode_exception_table(&[e(2, 5, 10, 1, true)]), [0x82, 0x03, 0x0A, 0x03]);
        // start 100 = 1<<6 | 36: two groups, the first marked and continued.
        assert_eq!(encode_exception_table(&[e(100, 101, 64, 0, false)]), [0xC1, 0x24, 0x01, 0x41, 0x00, 0x00]);
        assert!(encode_exception_table(&[]).is_empty());
    }

    #[test]
    fn round_trips() {
        let entries = [
            e(0, 1, 2, 0, false),
            e(4, 70, 4000, 3, true),
            e(1 << 29, (1 << 30) - 1, 1 << 29, 12345, false),
            e(0, 0, 0, 0, true),
            e(u32::MAX - 1, u32::MAX, u32::MAX, u32::MAX, true),
        ];
        let t = encode_exception_table(&entries);
        assert_eq!(decode_exception_table(&t).unwrap(), entries);
    }

    #[test]
    #[should_panic]
    fn backwards_range_is_a_bug() {
        encode_exception_table(&[e(5, 4, 0, 0, false)]);
    }

    #[test]
    fn decoder_rejects_garbage_without_panicking() {
        assert!(decode_exception_table(&[0x02, 0x03, 0x0A, 0x03]).is_err()); // no start mark
        assert!(decode_exception_table(&[0x82, 0x03, 0x0A]).is_err()); // truncated
        assert!(decode_exception_table(&[0x82, 0x83, 0x0A, 0x03]).is_err()); // mark inside
        assert!(decode_exception_table(&[0xC2]).is_err()); // truncated continuation
        assert!(decode_exception_table(&[0xFF, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F, 0, 0, 0]).is_err()); // huge
        assert!(decode_exception_table(&[0xFF, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F, 0x41, 0, 0, 0]).is_err()); // end overflows
        assert_eq!(decode_exception_table(&[]).unwrap(), vec![]);
        let mut state = 0x9E37_79B9_u32;
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
                let _ = decode_exception_table(&bytes);
            }
        }
        // Long runs of continuation bytes must stop early rather than overflow.
        let mut long = vec![0xC0];
        long.extend(std::iter::repeat_n(0x7F, 100));
        assert!(decode_exception_table(&long).is_err());
    }
}
