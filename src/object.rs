//! The in-memory model of what a .pyc holds: code objects and their constants.
//!
//! This is the meeting point of the pipeline: the assembler produces it, the marshal writer
//! serialises it, and (later) the marshal reader and disassembler start from it. It carries
//! no version-specific encoding; `emit` knows how each version lays it out.

use num_bigint::BigInt;

/// A Python `str`, kept as the bytes marshal writes for it: UTF-8 with lone surrogates
/// encoded as three-byte sequences ("surrogatepass"). Python strings may hold lone
/// surrogates, which Rust's `String` cannot, so this is the one exact representation.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PyStr(Vec<u8>);

impl PyStr {
    pub fn from_wtf8(bytes: Vec<u8>) -> PyStr {
        PyStr(bytes)
    }
    pub fn as_wtf8(&self) -> &[u8] {
        &self.0
    }
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }
    /// The string as Rust text when it has no lone surrogates.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
    /// Text for messages: lone surrogates shown as U+FFFD.
    pub fn to_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
    /// Code points (surrogates included), decoding the generalized UTF-8.
    pub fn code_points(&self) -> Vec<u32> {
        let b = &self.0;
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let c = b[i] as u32;
            let (cp, n) = if c < 0x80 {
                (c, 1)
            } else if c < 0xE0 && i + 1 < b.len() {
                (((c & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
            } else if c < 0xF0 && i + 2 < b.len() {
                (((c & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F), 3)
            } else if i + 3 < b.len() {
                (
                    ((c & 0x07) << 18)
                        | ((b[i + 1] as u32 & 0x3F) << 12)
                        | ((b[i + 2] as u32 & 0x3F) << 6)
                        | (b[i + 3] as u32 & 0x3F),
                    4,
                )
            } else {
                (0xFFFD, 1)
            };
            out.push(cp);
            i += n;
        }
        out
    }
    /// Builds a string from code points (any value up to 0x10FFFF, surrogates allowed).
    pub fn from_code_points(cps: &[u32]) -> PyStr {
        let mut v = Vec::with_capacity(cps.len());
        for &cp in cps {
            push_code_point(&mut v, cp);
        }
        PyStr(v)
    }
    /// Number of code points (Python's `len`).
    pub fn char_len(&self) -> usize {
        self.0.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
    }
    /// True for strings CPython interns when they appear as constants: only
    /// ASCII letters, digits and underscore (CPython's `all_name_chars`).
    pub fn is_name_like(&self) -> bool {
        self.0.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
    }
}

/// Appends one code point in generalized UTF-8 (surrogates encoded like any other BMP point).
pub fn push_code_point(v: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        v.push(cp as u8);
    } else if cp < 0x800 {
        v.push(0xC0 | (cp >> 6) as u8);
        v.push(0x80 | (cp & 0x3F) as u8);
    } else if cp < 0x10000 {
        v.push(0xE0 | (cp >> 12) as u8);
        v.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        v.push(0x80 | (cp & 0x3F) as u8);
    } else {
        v.push(0xF0 | (cp >> 18) as u8);
        v.push(0x80 | ((cp >> 12) & 0x3F) as u8);
        v.push(0x80 | ((cp >> 6) & 0x3F) as u8);
        v.push(0x80 | (cp & 0x3F) as u8);
    }
}

impl From<&str> for PyStr {
    fn from(s: &str) -> PyStr {
        PyStr(s.as_bytes().to_vec())
    }
}
impl From<String> for PyStr {
    fn from(s: String) -> PyStr {
        PyStr(s.into_bytes())
    }
}
impl std::fmt::Debug for PyStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_lossy())
    }
}
impl std::fmt::Display for PyStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_lossy())
    }
}

/// A constant as it appears in `co_consts` (and, recursively, inside tuples and frozensets).
#[derive(Clone, Debug)]
pub enum Constant {
    None,
    True,
    False,
    Ellipsis,
    StopIteration,
    Int(BigInt),
    /// Kept as a float; equality below compares bit patterns so -0.0 and NaNs stay exact.
    Float(f64),
    Complex { re: f64, im: f64 },
    Str(PyStr),
    Bytes(Vec<u8>),
    Tuple(Vec<Constant>),
    /// Elements in the order they are written (marshal keeps whatever order it is given).
    FrozenSet(Vec<Constant>),
    /// `slice(start, stop, step)`: always three items (3.14+, marshal version 5).
    Slice(Vec<Constant>),
    Code(Box<CodeObject>),
}

impl PartialEq for Constant {
    /// Exact identity of value *and type*, the way CPython's constant merging sees it:
    /// `1`, `1.0` and `True` differ, `0.0` and `-0.0` differ, and NaNs equal themselves bitwise.
    fn eq(&self, other: &Constant) -> bool {
        use Constant::*;
        match (self, other) {
            (None, None) | (True, True) | (False, False) | (Ellipsis, Ellipsis) => true,
            (StopIteration, StopIteration) => true,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Complex { re: a, im: b }, Complex { re: c, im: d }) => {
                a.to_bits() == c.to_bits() && b.to_bits() == d.to_bits()
            }
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Tuple(a), Tuple(b)) => a == b,
            (FrozenSet(a), FrozenSet(b)) => a == b,
            (Slice(a), Slice(b)) => a == b,
            (Code(a), Code(b)) => a == b,
            _ => false,
        }
    }
}
impl Eq for Constant {}

/// One entry of the combined fast-locals array (`co_localsplusnames` / `co_localspluskinds`).
///
/// 3.6–3.10 store three separate tuples instead (`co_varnames`, `co_cellvars`,
/// `co_freevars`); they are kept here as one list in that order, each entry carrying exactly
/// one of the three kind bits ([`KIND_LOCAL`], [`KIND_CELL`], [`KIND_FREE`]), so each tuple is
/// the entries of its kind in order. A name may then appear twice (an argument that is
/// also a cell is in both co_varnames and co_cellvars), and the cells' order is their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalSlot {
    pub name: PyStr,
    /// The version's kind bits (3.11: 0x20 local, 0x40 cell, 0x80 free).
    pub kind: u8,
}

/// Kind bits of a [`LocalSlot`] (CPython's CO_FAST_LOCAL / CO_FAST_CELL / CO_FAST_FREE, 3.11+;
/// used with the same meaning for the three tuples of 3.6–3.10).
pub const KIND_LOCAL: u8 = 0x20;
pub const KIND_CELL: u8 = 0x40;
pub const KIND_FREE: u8 = 0x80;

/// 3.6–3.10: how many of the slots are co_varnames (they come first; see [`LocalSlot`]),
/// which is also the co_nlocals the compilers write.
pub fn varnames_len(slots: &[LocalSlot]) -> usize {
    slots.iter().filter(|s| s.kind & KIND_LOCAL != 0).count()
}

/// A code object with every field a .pyc of 3.6–3.15 stores, already encoded. Fields a
/// version does not have are left empty/zero (posonlyargcount before 3.8, qualname and
/// exceptiontable before 3.11, nlocals from 3.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeObject {
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    /// `co_nlocals` as stored by 3.6–3.10 (the compiler writes len(co_varnames)); 0 for 3.11+,
    /// whose marshal format does not store it.
    pub nlocals: u32,
    pub stacksize: u32,
    pub flags: u32,
    pub code: Vec<u8>,
    pub consts: Vec<Constant>,
    pub names: Vec<PyStr>,
    pub localsplus: Vec<LocalSlot>,
    pub filename: PyStr,
    pub name: PyStr,
    pub qualname: PyStr,
    pub firstlineno: i32,
    /// The version's line table bytes: co_lnotab (3.6–3.9), 3.10's co_linetable, or the
    /// location table of 3.11+.
    pub linetable: Vec<u8>,
    pub exceptiontable: Vec<u8>,
}

impl std::hash::Hash for Constant {
    /// Consistent with `PartialEq`: floats hash by bit pattern.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        use Constant::*;
        std::mem::discriminant(self).hash(state);
        match self {
            None | True | False | Ellipsis | StopIteration => {}
            Int(i) => i.hash(state),
            Float(f) => f.to_bits().hash(state),
            Complex { re, im } => {
                re.to_bits().hash(state);
                im.to_bits().hash(state);
            }
            Str(s) => s.hash(state),
            Bytes(b) => b.hash(state),
            Tuple(items) | FrozenSet(items) | Slice(items) => items.hash(state),
            Code(c) => c.name.hash(state),
        }
    }
}
