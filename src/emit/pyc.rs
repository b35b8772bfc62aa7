//! The 16-byte .pyc header (PEP 552 layout, CPython 3.7+) and the source hash it may carry.
//!
//! A .pyc is `header ++ marshal(code)`. The header is what the import system checks before
//! trusting the cached code: the magic number says which bytecode dialect follows, and the
//! rest says how to decide whether the cache is stale — either the source's mtime and size,
//! or a 64-bit keyed hash of the source bytes (hash-based pycs, "checked" or not).
//!
//! Layout, all little-endian:
//!
//! | bytes  | field                                                         |
//! |--------|---------------------------------------------------------------|
//! | 0..2   | magic number (u16)                                            |
//! | 2..4   | `b"\r\n"` (catches text-mode mangling)                        |
//! | 4..8   | flags (u32): 0 = timestamp; bit 0 = hash-based, bit 1 = checked|
//! | 8..16  | mtime (u32) + source size (u32), or the 8-byte source hash    |

use siphasher::sip::{SipHasher13, SipHasher24};
use std::hash::Hasher;

/// How the import system should validate the cache against its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PycHeader {
    /// Stale when the source's mtime (seconds, truncated to 32 bits) or size (mod 2**32) differ.
    Timestamp { mtime: u32, source_size: u32 },
    /// Hash-based pyc. `checked`: the importer re-hashes the source and compares (subject to
    /// `--check-hash-based-pycs`); unchecked ones are trusted as long as they exist.
    Hash { checked: bool, hash: [u8; 8] },
}

/// Length of the header written by [`write_pyc`] and understood by [`read_pyc_header`].
pub const PYC_HEADER_LEN: usize = 16;

/// Flag bits of the header's third word.
const FLAG_HASH_BASED: u32 = 1;
const FLAG_CHECK_SOURCE: u32 = 2;

/// Builds a complete .pyc: header followed by the already-marshalled code object. The header's
/// length is a fact of the version with this magic number (`VersionTable::pyc_header_len`): 16
/// bytes from 3.7, 12 for 3.6 (magic, mtime, source size — no flags word, no hash-based pycs;
/// a [`PycHeader::Hash`] cannot be written there, callers refuse it first, see
/// [`supports_hash`]; it is written as mtime 0, size 0).
pub fn write_pyc(magic: u16, header: &PycHeader, marshalled_code: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PYC_HEADER_LEN + marshalled_code.len());
    out.extend_from_slice(&magic.to_le_bytes());
    out.extend_from_slice(b"\r\n");
    if header_len(magic) == 12 {
        let (mtime, size) = match *header {
            PycHeader::Timestamp { mtime, source_size } => (mtime, source_size),
            PycHeader::Hash { .. } => (0, 0),
        };
        out.extend_from_slice(&mtime.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(marshalled_code);
        return out;
    }
    match *header {
        PycHeader::Timestamp { mtime, source_size } => {
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&mtime.to_le_bytes());
            out.extend_from_slice(&source_size.to_le_bytes());
        }
        PycHeader::Hash { checked, hash } => {
            let flags = FLAG_HASH_BASED | if checked { FLAG_CHECK_SOURCE } else { 0 };
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&hash);
        }
    }
    out.extend_from_slice(marshalled_code);
    out
}

/// The header length of the version with this magic number (16 for magic numbers pyasm has no
/// table for: every version since 3.7).
fn header_len(magic: u16) -> usize {
    crate::opcodes::TABLES.iter().find(|t| t.magic == magic).map_or(PYC_HEADER_LEN, |t| t.pyc_header_len as usize)
}

/// Whether pycs of the version with this magic number can be hash-based (PEP 552, 3.7+).
pub fn supports_hash(magic: u16) -> bool {
    header_len(magic) == PYC_HEADER_LEN
}

/// The magic number of the first 3.11 alpha (3450). The keyed source hash switched from
/// SipHash-2-4 to SipHash-1-3 in 3.11, together with `str` hashing (measured: 3.7–3.10 agree
/// with SipHash-2-4, 3.11–3.13 with SipHash-1-3). Magic numbers only ever grow, so comparing
/// against this threshold picks the right function for every released interpreter.
const FIRST_SIPHASH13_MAGIC: u16 = 3450;

/// What `importlib.util.source_hash(source)` returns on the interpreter with this magic
/// number: `_imp.source_hash(_RAW_MAGIC_NUMBER, source)`, i.e. CPython's keyed SipHash
/// (`_Py_KeyedHash`) with k0 = the first four header bytes read as a little-endian integer
/// (magic plus `\r\n`) and k1 = 0.
///
/// CPython copies the 64-bit result into the 8 bytes in *native* byte order; this returns the
/// little-endian form, which is what every little-endian host (x86, ARM) writes. A pyc made
/// on a big-endian host would carry the bytes reversed.
pub fn source_hash(magic: u16, source: &[u8]) -> [u8; 8] {
    let key = u32::from_le_bytes([magic.to_le_bytes()[0], magic.to_le_bytes()[1], b'\r', b'\n']) as u64;
    let value = if magic >= FIRST_SIPHASH13_MAGIC {
        let mut h = SipHasher13::new_with_keys(key, 0);
        h.write(source);
        h.finish()
    } else {
        let mut h = SipHasher24::new_with_keys(key, 0);
        h.write(source);
        h.finish()
    };
    value.to_le_bytes()
}

/// Parses the 16-byte header of a 3.7+ pyc. Returns the magic number, the header and the
/// header's length (where the marshalled code starts). Refuses a missing `\r\n` and unknown
/// flag bits, and otherwise reads the flags the way importlib does (bit 1 alone is ignored).
pub fn read_pyc_header(bytes: &[u8]) -> Result<(u16, PycHeader, usize), String> {
    if bytes.len() < PYC_HEADER_LEN {
        return Err(format!("pyc too short: {} bytes, the header alone is {PYC_HEADER_LEN}", bytes.len()));
    }
    let magic = u16::from_le_bytes([bytes[0], bytes[1]]);
    if &bytes[2..4] != b"\r\n" {
        return Err(format!("bad pyc magic: bytes 2..4 are {:02x} {:02x}, expected 0d 0a", bytes[2], bytes[3]));
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let flags = word(4);
    if flags & !(FLAG_HASH_BASED | FLAG_CHECK_SOURCE) != 0 {
        return Err(format!("invalid pyc flags {flags:#x}"));
    }
    let header = if flags & FLAG_HASH_BASED != 0 {
        let mut hash = [0u8; 8];
        hash.copy_from_slice(&bytes[8..16]);
        PycHeader::Hash { checked: flags & FLAG_CHECK_SOURCE != 0, hash }
    } else {
        // Bit 1 without bit 0 is accepted by importlib (`_classify_pyc`) as a timestamp pyc.
        PycHeader::Timestamp { mtime: word(8), source_size: word(12) }
    };
    Ok((magic, header, PYC_HEADER_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn source_hash_matches_recorded_interpreters() {
        // importlib.util.source_hash(b'hello') as printed by each interpreter.
        let cases: &[(u16, &str)] = &[
            (3394, "39ae048169105238"), // 3.7
            (3413, "608550514225d8bf"), // 3.8
            (3425, "b70feb3c359861fa"), // 3.9
            (3439, "3c80f1191ea979cb"), // 3.10
            (3495, "7c360be58bb7a2aa"), // 3.11
            (3531, "9bca4702dbaedbed"), // 3.12
            (3571, "aa4d9968b297cf0d"), // 3.13
        ];
        for &(magic, want) in cases {
            assert_eq!(hex(&source_hash(magic, b"hello")), want, "magic {magic}");
        }
    }

    #[test]
    fn header_round_trip() {
        let headers = [
            PycHeader::Timestamp { mtime: 0x1234_5678, source_size: 99 },
            PycHeader::Hash { checked: true, hash: [1, 2, 3, 4, 5, 6, 7, 8] },
            PycHeader::Hash { checked: false, hash: [9; 8] },
        ];
        for h in headers {
            let pyc = write_pyc(3495, &h, b"\xe3rest");
            assert_eq!(&pyc[..4], b"\xa7\x0d\r\n");
            assert_eq!(&pyc[16..], b"\xe3rest");
            assert_eq!(read_pyc_header(&pyc), Ok((3495, h, 16)));
        }
        let mut pyc = write_pyc(3495, &PycHeader::Hash { checked: true, hash: [0; 8] }, b"");
        assert_eq!(&pyc[4..8], &[3, 0, 0, 0]);
        pyc[4] = 2;
        assert_eq!(read_pyc_header(&pyc), Ok((3495, PycHeader::Timestamp { mtime: 0, source_size: 0 }, 16)));
    }

    #[test]
    fn python_36_header_is_12_bytes() {
        // 3379 is 3.6's magic number: magic, \r\n, mtime, size.
        let pyc = write_pyc(3379, &PycHeader::Timestamp { mtime: 0x0102_0304, source_size: 7 }, b"\xe3rest");
        assert_eq!(pyc, b"\x33\x0d\r\n\x04\x03\x02\x01\x07\x00\x00\x00\xe3rest");
        assert!(!supports_hash(3379));
        assert!(supports_hash(3394));
        let loaded = crate::load::load_pyc(&write_pyc(3379, &PycHeader::Timestamp { mtime: 5, source_size: 6 }, b"N"));
        // `N` is no code object, but the header was read: the error is at byte 12.
        assert_eq!(loaded.unwrap_err().offset, 12);
    }

    #[test]
    fn header_rejects_garbage() {
        assert!(read_pyc_header(b"").is_err());
        assert!(read_pyc_header(&[0u8; 15]).is_err());
        let mut bad = write_pyc(3495, &PycHeader::Timestamp { mtime: 0, source_size: 0 }, b"");
        bad[2] = b'x';
        assert!(read_pyc_header(&bad).is_err());
        for flags in [4u8, 0x80] {
            let mut bad = write_pyc(3495, &PycHeader::Timestamp { mtime: 0, source_size: 0 }, b"");
            bad[4] = flags;
            assert!(read_pyc_header(&bad).is_err(), "flags {flags}");
        }
    }
}
