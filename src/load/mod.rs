//! Loading: .pyc files and marshalled code objects back into the in-memory model
//! ([`crate::object`]), the input of the disassembler.
//!
//! Everything here treats its input as hostile: any malformed, truncated or malicious file
//! gives a [`LoadError`] naming the byte offset, never a panic, a hang or an allocation much
//! larger than the file. See [`marshal`] for the limits.
//!
//! The pyc header: the first two bytes are the magic number (little-endian), then `\r\n`.
//! From 3.7 on (PEP 552) a 4-byte flags word and 8 bytes of either mtime + source size or a
//! source hash follow, 16 bytes in all; 3.3–3.6 had a 12-byte header (magic, mtime, size).
//! Which magic numbers pyasm reads comes from the version tables ([`crate::opcodes::TABLES`]),
//! so adding a version there is all it takes here, plus its [`CodeLayout`].

pub mod marshal;

pub use marshal::{CodeLayout, MAX_DEPTH, RefStats, load_code, load_code_with_refs, load_constant};

use crate::emit::pyc::{PYC_HEADER_LEN, PycHeader, read_pyc_header};
use crate::object::CodeObject;
use crate::opcodes::{TABLES, VersionTable};

/// Why a file could not be loaded, and where: `offset` is a byte offset into the input
/// (the whole file for [`load_pyc`], the marshal data for [`load_code`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {} (0x{:x}): {}", self.offset, self.offset, self.message)
    }
}

impl std::error::Error for LoadError {}

/// A loaded .pyc file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pyc {
    pub magic: u16,
    pub header: PycHeader,
    /// Where the marshalled code object starts (16 for 3.7+).
    pub header_len: usize,
    pub code: CodeObject,
}

impl Pyc {
    /// The version table of the Python that wrote this pyc.
    pub fn table(&self) -> &'static VersionTable {
        version_for_magic(self.magic).expect("load_pyc only accepts known magic numbers")
    }
}

/// The version whose pycs start with this magic number, among those pyasm supports.
pub fn version_for_magic(magic: u16) -> Option<&'static VersionTable> {
    TABLES.iter().copied().find(|t| t.magic == magic)
}

/// Reads a complete .pyc file: header, then exactly one marshalled code object.
pub fn load_pyc(bytes: &[u8]) -> Result<Pyc, LoadError> {
    load_pyc_with_refs(bytes).map(|(pyc, _)| pyc)
}

/// [`load_pyc`], also reporting `FLAG_REF`/`TYPE_REF` use (offsets are file offsets).
pub fn load_pyc_with_refs(bytes: &[u8]) -> Result<(Pyc, RefStats), LoadError> {
    let (magic, table, header, header_len) = read_header(bytes)?;
    let layout = CodeLayout::for_version(table.version).ok_or_else(|| LoadError {
        offset: 0,
        message: format!("pyasm cannot read Python {} code objects yet (magic {magic})", table.version),
    })?;
    let (code, stats) = marshal::read_code(&bytes[header_len..], header_len, layout).map_err(|e| {
        if e.offset == header_len && header_len == bytes.len() {
            LoadError { offset: e.offset, message: format!("the pyc has a header but no code object: {}", e.message) }
        } else {
            e
        }
    })?;
    Ok((Pyc { magic, header, header_len, code }, stats))
}

fn read_header(bytes: &[u8]) -> Result<(u16, &'static VersionTable, PycHeader, usize), LoadError> {
    let err = |offset: usize, message: String| LoadError { offset, message };
    if bytes.len() < 4 {
        return Err(err(
            bytes.len(),
            format!("truncated pyc: {} bytes, not even the 4-byte magic number", bytes.len()),
        ));
    }
    let magic = u16::from_le_bytes([bytes[0], bytes[1]]);
    if &bytes[2..4] != b"\r\n" {
        return Err(err(
            2,
            format!(
                "not a pyc file: bytes 2..4 are {:02x} {:02x}, every magic number ends with 0d 0a",
                bytes[2], bytes[3]
            ),
        ));
    }
    let table = version_for_magic(magic).ok_or_else(|| err(0, unknown_magic(magic)))?;
    let header_len = table.pyc_header_len as usize;
    if bytes.len() < header_len {
        return Err(err(
            bytes.len(),
            format!(
                "truncated pyc header: {} bytes, a Python {} pyc header is {header_len}",
                bytes.len(),
                table.version
            ),
        ));
    }
    let header = if header_len == PYC_HEADER_LEN {
        // Length and `\r\n` are checked above, so the flags word is what it can object to.
        read_pyc_header(bytes).map_err(|m| err(4, m))?.1
    } else {
        let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        PycHeader::Timestamp { mtime: word(4), source_size: word(8) }
    };
    Ok((magic, table, header, header_len))
}

fn unknown_magic(magic: u16) -> String {
    let known: Vec<String> = TABLES.iter().map(|t| format!("{} (Python {})", t.magic, t.version)).collect();
    let lo = TABLES.iter().map(|t| t.magic).min().unwrap_or(0);
    let hi = TABLES.iter().map(|t| t.magic).max().unwrap_or(0);
    // CPython 3 magic numbers run from 3000 up and only ever grow (Python 2 used 20121..62211).
    let hint = if !(3000..4000).contains(&magic) {
        "; it is not a Python 3 magic number"
    } else if magic > hi {
        "; the pyc comes from a newer Python than pyasm supports (or a pre-release)"
    } else if magic < lo {
        "; the pyc comes from an older Python than pyasm supports"
    } else {
        "; the pyc comes from a pre-release of a supported Python"
    };
    let b = magic.to_le_bytes();
    format!(
        "unknown pyc magic number {magic} (bytes {:02x} {:02x} 0d 0a){hint}; pyasm reads {}",
        b[0],
        b[1],
        known.join(", ")
    )
}
