//! Marshal reader, format 4 (CPython 3.4+), hardened against hostile input.
//!
//! The inverse of [`crate::emit::marshal`]: bytes → [`Constant`] / [`CodeObject`]. It accepts
//! what CPython's `marshal.loads` accepts, with the deliberate exceptions listed below, and on
//! anything else returns a [`LoadError`] naming the byte offset. It never panics, never
//! recurses on the input's nesting and never allocates more than a small multiple of the
//! input's size.
//!
//! # Format facts it relies on
//!
//! Every object starts with a type byte; bit 0x80 (`FLAG_REF`) asks the reader to remember
//! the object in the next slot of a reference table, and `TYPE_REF` + a 4-byte index later
//! stands for that object again. Integers are little-endian; sizes are signed 32-bit.
//! Tuples, frozensets and code objects reserve their slot *before* their contents are read
//! (CPython does the same), every other object takes its slot when it is complete. The
//! singletons (`None`, `True`, `False`, `...`, `StopIteration`) and `TYPE_REF` itself never
//! take a slot, even when flagged: CPython ignores the flag there.
//!
//! # Where this reader differs from `marshal.loads`, on purpose
//!
//! * `list`, `dict` and `set` (`[`, `{`, `<`) cannot be constants in pyasm's model: error.
//! * A reference to an object that is not complete yet (a tuple containing itself, which
//!   CPython builds as a cyclic tuple) is an error: a tree cannot hold a cycle.
//! * References are *copied* into the tree. To keep a hostile file from expanding
//!   exponentially (a tuple of two references to the previous tuple, forty levels deep),
//!   the total number of constant nodes produced is capped at
//!   [`NODES_PER_INPUT_BYTE`] × input length + [`NODE_ALLOWANCE`], and the total payload of
//!   str/bytes/int data at [`PAYLOAD_PER_INPUT_BYTE`] × input length + [`PAYLOAD_ALLOWANCE`]
//!   (about 200 bytes of memory per input byte plus 30 MB, at worst). Legitimate code can
//!   exceed this only through nested constant folding (`((x * 4096,) * 256,) * 256`); such a
//!   file is refused with a message saying so. Likewise a reference may not make the tree
//!   nest deeper than [`MAX_DEPTH`].
//! * Data after the top-level object is an error (CPython ignores it).
//! * A str with bytes that are not (generalized) UTF-8 is an error, as in CPython, whose
//!   decoder raises `UnicodeDecodeError`: [`PyStr`] can only hold well-formed UTF-8 plus
//!   lone surrogates encoded as three-byte sequences ("surrogatepass"), and those are kept
//!   byte for byte (a surrogate pair written as two three-byte sequences stays two lone
//!   surrogates, as it does in CPython).
//! * The ASCII string types do not check that the bytes are ASCII; CPython reads them as
//!   Latin-1, and so does this reader (byte 0xE9 becomes `é`, stored as `C3 A9`).
//! * Frozenset elements are kept in the order written, duplicates included (CPython would
//!   build a set: hash order, duplicates merged).
//! * Code objects (each version's layout, [`CodeLayout`]; 3.6–3.10's three name tuples
//!   become the model's localsplus, co_varnames ++ co_cellvars ++ co_freevars): the field
//!   types are checked (bytes, tuple, tuple of str, str), 3.11+'s two localsplus fields must
//!   have the same length, and the counts must not be negative
//!   (the model holds them unsigned; CPython refuses negative ones too). CPython's further
//!   semantic checks (`co_code` of odd length, `argcount < posonlyargcount`, too few
//!   locals for the arguments) are left to the consumer: the model can represent those
//!   code objects, and a disassembler should show them rather than refuse.

use crate::marshal_format::*;
use super::LoadError;
use crate::object::{CodeObject, Constant, KIND_CELL, KIND_FREE, KIND_LOCAL, LocalSlot, PyStr, push_code_point};
use crate::version::PythonVersion;
use num_bigint::{BigInt, BigUint, Sign};

/// Deepest nesting accepted, counting the top-level object as depth 1: CPython's
/// `MAX_MARSHAL_STACK_DEPTH`. A leaf inside 1999 nested tuples is fine, inside 2000 it is not.
pub const MAX_DEPTH: usize = 2000;
/// Budget of constant nodes (every object, including the copies made for references) per byte
/// of marshal data, plus a fixed allowance. Without references a byte yields at most one
/// node; the 307 stdlib pycs of the tests peak at 0.12 per byte with references. The
/// allowance covers legitimate sharing in small files: constant folding turns
/// `((0,) * 256,) * 256` into 256 references to one 256-tuple (65,000 nodes from 2.6 KB).
pub const NODES_PER_INPUT_BYTE: u64 = 4;
pub const NODE_ALLOWANCE: u64 = 1 << 18;
/// Budget of str/bytes/int payload bytes (including the copies made for references) per byte
/// of marshal data, plus a fixed allowance. Real pycs peak at 1.1 per byte (the input's own
/// strings); `(('a' * 4096,) * 256,) * 2` folds into 2 MB from a 7 KB pyc.
pub const PAYLOAD_PER_INPUT_BYTE: u64 = 16;
pub const PAYLOAD_ALLOWANCE: u64 = 16 << 20;


/// How a version lays out a marshalled code object. One variant per distinct layout; the
/// versions map onto them in [`CodeLayout::for_version`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeLayout {
    /// 3.6–3.7: argcount, kwonlyargcount, nlocals, stacksize, flags (five 32-bit ints), code,
    /// consts, names, varnames, freevars, cellvars, filename, name, firstlineno (32-bit int),
    /// lnotab. (`w_complex_object` in Python/marshal.c of 3.6.15 and 3.7.16.)
    V36,
    /// 3.8–3.10: as [`CodeLayout::V36`] with posonlyargcount after argcount (six ints); 3.10's
    /// last field is co_linetable, in the same place as co_lnotab.
    V38,
    /// 3.11–3.15: argcount, posonlyargcount, kwonlyargcount, stacksize, flags (five 32-bit ints),
    /// code, consts, names, localsplusnames, localspluskinds, filename, name, qualname,
    /// firstlineno (32-bit int), linetable, exceptiontable.
    V311,
}

impl CodeLayout {
    /// The 32-bit counts at the start of a code object, in order.
    fn counts(self) -> &'static [&'static str] {
        match self {
            CodeLayout::V36 => &["co_argcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize", "co_flags"],
            CodeLayout::V38 => {
                &["co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize", "co_flags"]
            }
            CodeLayout::V311 => &["co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_stacksize", "co_flags"],
        }
    }
    /// The object fields, in order, and what each must be.
    fn fields(self) -> &'static [(&'static str, FieldKind)] {
        match self {
            CodeLayout::V36 | CodeLayout::V38 => &CODE_FIELDS_36,
            CodeLayout::V311 => &CODE_FIELDS_311,
        }
    }
    /// `co_firstlineno` (a raw 32-bit int) comes before the object field of this index: the
    /// same in every layout so far (after co_qualname in 3.11+, after co_name in 3.6–3.10,
    /// the eighth object field in both lists).
    fn firstlineno_before(self) -> usize {
        8
    }

    /// The layout of a version's code objects, if this reader knows it.
    pub fn for_version(v: PythonVersion) -> Option<CodeLayout> {
        match (v.major, v.minor) {
            (3, 6..=7) => Some(CodeLayout::V36),
            (3, 8..=10) => Some(CodeLayout::V38),
            // 3.12–3.15 kept 3.11's layout.
            (3, 11..=15) => Some(CodeLayout::V311),
            _ => None,
        }
    }
}

/// Which objects of the input carried `FLAG_REF` and where `TYPE_REF` was used: what a
/// byte-exact re-encoding has to reproduce. Offsets are those of type bytes, in the same
/// coordinates as [`LoadError::offset`] (file offsets when loading a pyc).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefStats {
    /// One entry per reference slot, in slot order: where the flagged object starts.
    pub flagged: Vec<usize>,
    /// Every `TYPE_REF`, in order of appearance: (its offset, the slot it names).
    pub refs: Vec<(usize, u32)>,
    /// Objects whose `FLAG_REF` CPython ignores (singletons and `TYPE_REF`): no slot taken.
    /// CPython's writer never produces these.
    pub ignored_flags: Vec<usize>,
}

impl RefStats {
    /// Number of objects that took a reference slot.
    pub fn flagged_count(&self) -> usize {
        self.flagged.len()
    }
    /// Number of `TYPE_REF` uses.
    pub fn ref_count(&self) -> usize {
        self.refs.len()
    }
}

/// Reads a marshalled 3.11 code object; the data must hold exactly that object.
pub fn load_code(data: &[u8]) -> Result<CodeObject, LoadError> {
    load_code_with_refs(data).map(|(code, _)| code)
}

/// [`load_code`], also reporting which objects carried `FLAG_REF` and where `TYPE_REF` was used.
pub fn load_code_with_refs(data: &[u8]) -> Result<(CodeObject, RefStats), LoadError> {
    load_code_layout(data, CodeLayout::V311)
}

/// Reads one marshalled constant (code objects use 3.11's layout); the data must hold exactly
/// that object.
pub fn load_constant(data: &[u8]) -> Result<Constant, LoadError> {
    read(data, 0, CodeLayout::V311).map(|(c, _)| c)
}

/// Reads a marshalled code object of the given layout (see [`CodeLayout::for_version`]), also
/// reporting `FLAG_REF`/`TYPE_REF` use; the data must hold exactly that object.
pub fn load_code_layout(data: &[u8], layout: CodeLayout) -> Result<(CodeObject, RefStats), LoadError> {
    read_code(data, 0, layout)
}

/// Reads a code object from `data`, reporting offsets as `base + position in data`.
pub(crate) fn read_code(data: &[u8], base: usize, layout: CodeLayout) -> Result<(CodeObject, RefStats), LoadError> {
    match read(data, base, layout)? {
        (Constant::Code(code), stats) => Ok((*code, stats)),
        (other, _) => {
            let message =
                format!("expected a code object, found {} (type byte {})", type_name(&other), show_byte(data[0]));
            drop_iteratively(other);
            Err(LoadError { offset: base, message })
        }
    }
}

/// Reads exactly one object spanning all of `data`.
pub(crate) fn read(data: &[u8], base: usize, layout: CodeLayout) -> Result<(Constant, RefStats), LoadError> {
    let len = data.len() as u64;
    let mut r = Reader {
        data,
        pos: 0,
        base,
        layout,
        slots: Vec::new(),
        stack: Vec::new(),
        stats: RefStats::default(),
        nodes: 0,
        node_limit: len.saturating_mul(NODES_PER_INPUT_BYTE).saturating_add(NODE_ALLOWANCE),
        payload: 0,
        payload_limit: len.saturating_mul(PAYLOAD_PER_INPUT_BYTE).saturating_add(PAYLOAD_ALLOWANCE),
    };
    let value = r.object()?;
    if r.pos != data.len() {
        let what = type_name(&value);
        drop_iteratively(value);
        return Err(r.err(
            r.pos,
            format!(
                "{} trailing bytes after the top-level {what} (CPython would ignore them; pyasm does not)",
                data.len() - r.pos
            ),
        ));
    }
    Ok((value, std::mem::take(&mut r.stats)))
}

/// Python's name for a constant's type, for messages.
fn type_name(c: &Constant) -> &'static str {
    match c {
        Constant::None => "None",
        Constant::True | Constant::False => "bool",
        Constant::Ellipsis => "ellipsis",
        Constant::StopIteration => "StopIteration",
        Constant::Int(_) => "int",
        Constant::Float(_) => "float",
        Constant::Complex { .. } => "complex",
        Constant::Str(_) => "str",
        Constant::Bytes(_) => "bytes",
        Constant::Tuple(_) => "tuple",
        Constant::FrozenSet(_) => "frozenset",
        Constant::Slice(_) => "slice",
        Constant::Code(_) => "code object",
    }
}

fn show_byte(b: u8) -> String {
    if (0x21..0x7F).contains(&b) { format!("0x{b:02x} '{}'", b as char) } else { format!("0x{b:02x}") }
}

/// Size of a finished value, for the expansion budgets and the nesting bound.
#[derive(Clone, Copy, Debug)]
struct Cost {
    nodes: u64,
    payload: u64,
    /// Nesting height: 1 for a leaf, 1 + the tallest child for a container.
    height: usize,
}

impl Cost {
    fn leaf(payload: usize) -> Cost {
        Cost { nodes: 1, payload: payload as u64, height: 1 }
    }
    fn add_child(&mut self, c: Cost) {
        self.nodes += c.nodes;
        self.payload += c.payload;
        self.height = self.height.max(c.height + 1);
    }
}

enum Slot {
    /// Reserved by a container whose contents are still being read.
    Pending {
        start: usize,
        what: &'static str,
    },
    Ready {
        value: Constant,
        cost: Cost,
    },
}

/// A container being filled.
enum Frame {
    Seq(SeqFrame),
    Code(Box<CodeFrame>),
}

struct SeqFrame {
    /// TYPE_TUPLE, TYPE_FROZENSET or TYPE_SLICE (small tuples are tuples).
    seq: u8,
    start: usize,
    slot: Option<usize>,
    want: usize,
    items: Vec<Constant>,
    cost: Cost,
}

struct CodeFrame {
    start: usize,
    slot: Option<usize>,
    layout: CodeLayout,
    /// The layout's counts, in its order (see [`CodeLayout::counts`]).
    counts: [u32; 6],
    firstlineno: Option<i32>,
    /// The object fields read so far, in layout order.
    fields: Vec<Constant>,
    cost: Cost,
}

/// The object fields of a 3.11 code object, in order, and what each must be.
const CODE_FIELDS_311: [(&str, FieldKind); 10] = [
    ("co_code", FieldKind::Bytes),
    ("co_consts", FieldKind::Tuple),
    ("co_names", FieldKind::StrTuple),
    ("co_localsplusnames", FieldKind::StrTuple),
    ("co_localspluskinds", FieldKind::Bytes),
    ("co_filename", FieldKind::Str),
    ("co_name", FieldKind::Str),
    ("co_qualname", FieldKind::Str),
    ("co_linetable", FieldKind::Bytes),
    ("co_exceptiontable", FieldKind::Bytes),
];
/// The object fields of a 3.6–3.10 code object, in order (co_firstlineno comes before the
/// last one, co_lnotab or 3.10's co_linetable).
const CODE_FIELDS_36: [(&str, FieldKind); 9] = [
    ("co_code", FieldKind::Bytes),
    ("co_consts", FieldKind::Tuple),
    ("co_names", FieldKind::StrTuple),
    ("co_varnames", FieldKind::StrTuple),
    ("co_freevars", FieldKind::StrTuple),
    ("co_cellvars", FieldKind::StrTuple),
    ("co_filename", FieldKind::Str),
    ("co_name", FieldKind::Str),
    ("co_lnotab", FieldKind::Bytes),
];

#[derive(Clone, Copy)]
enum FieldKind {
    Bytes,
    Tuple,
    StrTuple,
    Str,
}

impl Frame {
    fn is_complete(&self) -> bool {
        match self {
            Frame::Seq(s) => s.items.len() == s.want,
            Frame::Code(c) => c.fields.len() == c.layout.fields().len(),
        }
    }
}

/// What reading one object's header produced.
enum Step {
    /// A complete value (leaf or reference).
    Value(Constant, Cost),
    /// A container frame was pushed.
    Opened,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    layout: CodeLayout,
    slots: Vec<Slot>,
    /// Containers being filled, innermost last.
    stack: Vec<Frame>,
    stats: RefStats,
    nodes: u64,
    node_limit: u64,
    payload: u64,
    payload_limit: u64,
}

impl Drop for Reader<'_> {
    /// Slot copies and half-built containers may nest [`MAX_DEPTH`] levels deep; take them
    /// apart without recursion (the derived drop recurses once per level).
    fn drop(&mut self) {
        for slot in self.slots.drain(..) {
            if let Slot::Ready { value, .. } = slot {
                drop_iteratively(value);
            }
        }
        for frame in self.stack.drain(..) {
            match frame {
                Frame::Seq(s) => s.items.into_iter().for_each(drop_iteratively),
                Frame::Code(c) => c.fields.into_iter().for_each(drop_iteratively),
            }
        }
    }
}

impl<'a> Reader<'a> {
    fn err(&self, at: usize, message: impl Into<String>) -> LoadError {
        LoadError { offset: self.base + at, message: message.into() }
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], LoadError> {
        let start = self.pos;
        if n > self.remaining() {
            return Err(self.err(
                start,
                format!("marshal data too short: {what} needs {n} bytes, only {} remain", self.remaining()),
            ));
        }
        self.pos += n;
        Ok(&self.data[start..start + n])
    }

    fn u8(&mut self, what: &str) -> Result<u8, LoadError> {
        Ok(self.take(1, what)?[0])
    }

    fn i32(&mut self, what: &str) -> Result<i32, LoadError> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A signed 32-bit size whose items each take at least `min_each` bytes: refuses negative
    /// sizes and sizes the remaining data cannot hold, before anything is allocated.
    fn size(&mut self, what: &str, min_each: usize) -> Result<usize, LoadError> {
        let at = self.pos;
        let n = self.i32(&format!("the size of a {what}"))?;
        if n < 0 {
            return Err(self.err(at, format!("bad marshal data: {what} size out of range ({n})")));
        }
        self.check_fits(at, n as usize, min_each, what)?;
        Ok(n as usize)
    }

    fn check_fits(&self, at: usize, n: usize, min_each: usize, what: &str) -> Result<(), LoadError> {
        let need = (n as u64) * (min_each as u64);
        if need > self.remaining() as u64 {
            return Err(self.err(
                at,
                format!(
                    "marshal data too short: a {what} of size {n} needs at least {need} more bytes, only {} remain",
                    self.remaining()
                ),
            ));
        }
        Ok(())
    }

    fn spend(&mut self, at: usize, cost: Cost) -> Result<(), LoadError> {
        self.nodes += cost.nodes;
        self.payload += cost.payload;
        if self.nodes > self.node_limit {
            return Err(self.err(
                at,
                format!(
                    "too many objects: references would expand {} bytes of marshal data to more than {} \
                     constant nodes (pyasm copies what CPython shares)",
                    self.data.len(),
                    self.node_limit
                ),
            ));
        }
        if self.payload > self.payload_limit {
            return Err(self.err(
                at,
                format!(
                    "too much data: references would expand {} bytes of marshal data to more than {} bytes \
                     of str/bytes/int contents (pyasm copies what CPython shares)",
                    self.data.len(),
                    self.payload_limit
                ),
            ));
        }
        Ok(())
    }

    /// Reads one complete object, iteratively: containers being filled live on an explicit
    /// stack, so hostile nesting cannot overflow the thread's stack.
    fn object(&mut self) -> Result<Constant, LoadError> {
        let mut stack = std::mem::take(&mut self.stack);
        let result = self.object_with(&mut stack);
        self.stack = stack; // dismantled by `Drop` if an error left it non-empty
        result
    }

    fn object_with(&mut self, stack: &mut Vec<Frame>) -> Result<Constant, LoadError> {
        loop {
            if let Some(Frame::Code(cf)) = stack.last_mut() {
                if cf.fields.len() == cf.layout.firstlineno_before() && cf.firstlineno.is_none() {
                    let v = self.i32("co_firstlineno")?;
                    // Re-borrow: `self.i32` needed `self` mutably.
                    if let Some(Frame::Code(cf)) = stack.last_mut() {
                        cf.firstlineno = Some(v);
                    }
                }
            }
            let start = self.pos;
            let (mut value, mut cost) = match self.step(stack)? {
                Step::Value(v, c) => (v, c),
                Step::Opened => {
                    if !stack.last().is_some_and(Frame::is_complete) {
                        continue;
                    }
                    let frame = stack.pop().expect("just pushed");
                    self.finish(frame, stack.is_empty())?
                }
            };
            let mut at = start;
            // Hand the value to its container; completed containers cascade upwards.
            loop {
                let Some(top) = stack.last_mut() else { return Ok(value) };
                match top {
                    Frame::Seq(s) => {
                        s.cost.add_child(cost);
                        s.items.push(value);
                    }
                    Frame::Code(c) => {
                        c.cost.add_child(cost);
                        let field = c.fields.len();
                        if let Err(m) = check_field(c.layout, field, &value, &c.fields) {
                            drop_iteratively(value);
                            return Err(self.err(at, m));
                        }
                        c.fields.push(value);
                    }
                }
                if !top.is_complete() {
                    break;
                }
                let frame = stack.pop().expect("top exists");
                at = match &frame {
                    Frame::Seq(s) => s.start,
                    Frame::Code(c) => c.start,
                };
                (value, cost) = self.finish(frame, stack.is_empty())?;
            }
        }
    }

    /// Builds the finished container's value and fills its reference slot.
    fn finish(&mut self, frame: Frame, top_level: bool) -> Result<(Constant, Cost), LoadError> {
        let (value, cost, slot) = match frame {
            Frame::Seq(s) => {
                let v = match s.seq {
                    TYPE_FROZENSET => Constant::FrozenSet(s.items),
                    TYPE_SLICE => Constant::Slice(s.items),
                    _ => Constant::Tuple(s.items),
                };
                (v, s.cost, s.slot)
            }
            Frame::Code(c) => {
                let CodeFrame { layout, counts, firstlineno, fields, cost, slot, .. } = *c;
                let mut it = fields.into_iter();
                let mut next = || it.next().expect("all fields read");
                let bytes = |c: Constant| match c {
                    Constant::Bytes(b) => b,
                    _ => unreachable!("checked by check_field"),
                };
                let tuple = |c: Constant| match c {
                    Constant::Tuple(t) => t,
                    _ => unreachable!("checked by check_field"),
                };
                let string = |c: Constant| match c {
                    Constant::Str(s) => s,
                    _ => unreachable!("checked by check_field"),
                };
                let code = bytes(next());
                let consts = tuple(next());
                let names: Vec<PyStr> = tuple(next()).into_iter().map(string).collect();
                let strings = |c: Constant| -> Vec<PyStr> { tuple(c).into_iter().map(string).collect() };
                let (localsplus, filename, name, qualname, linetable, exceptiontable);
                let [argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags];
                match layout {
                    CodeLayout::V36 | CodeLayout::V38 => {
                        let varnames = strings(next());
                        let freevars = strings(next());
                        let cellvars = strings(next());
                        // The model's order: co_varnames ++ co_cellvars ++ co_freevars.
                        let slot = |kind: u8| move |name: PyStr| LocalSlot { name, kind };
                        localsplus = varnames
                            .into_iter()
                            .map(slot(KIND_LOCAL))
                            .chain(cellvars.into_iter().map(slot(KIND_CELL)))
                            .chain(freevars.into_iter().map(slot(KIND_FREE)))
                            .collect();
                        filename = string(next());
                        name = string(next());
                        qualname = PyStr::default();
                        linetable = bytes(next());
                        exceptiontable = Vec::new();
                        [argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags] = if layout == CodeLayout::V36 {
                            [counts[0], 0, counts[1], counts[2], counts[3], counts[4]]
                        } else {
                            counts
                        };
                    }
                    CodeLayout::V311 => {
                        let lp_names = strings(next());
                        let kinds = bytes(next());
                        localsplus =
                            lp_names.into_iter().zip(kinds).map(|(name, kind)| LocalSlot { name, kind }).collect();
                        filename = string(next());
                        name = string(next());
                        qualname = string(next());
                        linetable = bytes(next());
                        exceptiontable = bytes(next());
                        [argcount, posonlyargcount, kwonlyargcount, stacksize, flags] =
                            [counts[0], counts[1], counts[2], counts[3], counts[4]];
                        nlocals = 0;
                    }
                }
                let co = CodeObject {
                    argcount,
                    posonlyargcount,
                    kwonlyargcount,
                    nlocals,
                    stacksize,
                    flags,
                    code,
                    consts,
                    names,
                    localsplus,
                    filename,
                    name,
                    qualname,
                    firstlineno: firstlineno.expect("read before co_linetable"),
                    linetable,
                    exceptiontable,
                };
                (Constant::Code(Box::new(co)), cost, slot)
            }
        };
        if let Some(i) = slot {
            // Nothing can refer to the top-level object once it is complete (reading stops),
            // so it is not copied into its slot.
            if !top_level {
                self.slots[i] = Slot::Ready { value: deep_clone(&value), cost };
            }
        }
        Ok((value, cost))
    }

    /// Reserves the next reference slot for an object starting at `start`.
    fn reserve(&mut self, start: usize, what: &'static str) -> usize {
        self.stats.flagged.push(self.base + start);
        self.slots.push(Slot::Pending { start, what });
        self.slots.len() - 1
    }

    /// Reads one object's type byte and either the whole object (leaves, references) or its
    /// header (containers, which are pushed onto `stack`).
    fn step(&mut self, stack: &mut Vec<Frame>) -> Result<Step, LoadError> {
        let start = self.pos;
        let Some(&code) = self.data.get(start) else {
            return Err(self.err(start, "marshal data too short: EOF read where an object was expected"));
        };
        self.pos += 1;
        let depth = stack.len() + 1;
        if depth > MAX_DEPTH {
            return Err(
                self.err(start, format!("objects nested deeper than {MAX_DEPTH} levels (marshal's recursion limit)"))
            );
        }
        let flag = code & FLAG_REF != 0;
        let ty = code & !FLAG_REF;

        let singleton = match ty {
            TYPE_NONE => Some(Constant::None),
            TYPE_TRUE => Some(Constant::True),
            TYPE_FALSE => Some(Constant::False),
            TYPE_ELLIPSIS => Some(Constant::Ellipsis),
            TYPE_STOPITER => Some(Constant::StopIteration),
            _ => None,
        };
        if let Some(v) = singleton {
            if flag {
                self.stats.ignored_flags.push(self.base + start);
            }
            let cost = Cost::leaf(0);
            self.spend(start, cost)?;
            return Ok(Step::Value(v, cost));
        }

        match ty {
            TYPE_REF => {
                if flag {
                    self.stats.ignored_flags.push(self.base + start);
                }
                let n = self.i32("a reference index")?;
                let index = usize::try_from(n).ok().filter(|&i| i < self.slots.len());
                let Some(index) = index else {
                    return Err(self.err(
                        start,
                        format!(
                            "bad marshal data: invalid reference to slot {n}, only {} slots exist at this point",
                            self.slots.len()
                        ),
                    ));
                };
                let cost = match &self.slots[index] {
                    Slot::Pending { start: s, what } => {
                        return Err(self.err(
                            start,
                            format!(
                                "bad marshal data: reference to slot {n}, the {what} at offset {}, from inside \
                                 that {what} (an object cannot contain itself)",
                                self.base + s
                            ),
                        ));
                    }
                    Slot::Ready { cost, .. } => *cost,
                };
                if depth - 1 + cost.height > MAX_DEPTH {
                    return Err(self.err(
                        start,
                        format!(
                            "reference to slot {n} at nesting depth {depth} would make the constant nest deeper \
                             than {MAX_DEPTH} levels"
                        ),
                    ));
                }
                // Check the budget before copying anything.
                self.spend(start, cost)?;
                let Slot::Ready { value, .. } = &self.slots[index] else { unreachable!("checked above") };
                let value = deep_clone(value);
                self.stats.refs.push((self.base + start, n as u32));
                Ok(Step::Value(value, cost))
            }
            TYPE_TUPLE | TYPE_SMALL_TUPLE | TYPE_FROZENSET | TYPE_SLICE => {
                let seq = if ty == TYPE_SMALL_TUPLE { TYPE_TUPLE } else { ty };
                let what = match seq {
                    TYPE_FROZENSET => "frozenset",
                    TYPE_SLICE => "slice",
                    _ => "tuple",
                };
                let want = if ty == TYPE_SLICE {
                    3 // start, stop, step
                } else if ty == TYPE_SMALL_TUPLE {
                    let at = self.pos;
                    let n = self.u8("the size of a small tuple")? as usize;
                    self.check_fits(at, n, 1, what)?;
                    n
                } else {
                    self.size(what, 1)?
                };
                let slot = flag.then(|| self.reserve(start, what));
                self.spend(start, Cost::leaf(0))?;
                stack.push(Frame::Seq(SeqFrame {
                    seq,
                    start,
                    slot,
                    want,
                    // Not `want`: 2000 nested headers could each claim the whole rest of the
                    // input. The vector grows with the items actually read.
                    items: Vec::with_capacity(want.min(16)),
                    cost: Cost::leaf(0),
                }));
                Ok(Step::Opened)
            }
            TYPE_CODE => {
                let slot = flag.then(|| self.reserve(start, "code object"));
                let layout = self.layout;
                let mut counts = [0u32; 6];
                for (c, name) in counts.iter_mut().zip(layout.counts()) {
                    let at = self.pos;
                    let v = self.i32(name)?;
                    *c = u32::try_from(v).map_err(|_| self.err(at, format!("{name} is negative ({v})")))?;
                }
                self.spend(start, Cost::leaf(0))?;
                stack.push(Frame::Code(Box::new(CodeFrame {
                    start,
                    slot,
                    layout,
                    counts,
                    firstlineno: None,
                    fields: Vec::with_capacity(layout.fields().len()),
                    cost: Cost::leaf(0),
                })));
                Ok(Step::Opened)
            }
            TYPE_LIST | TYPE_DICT | TYPE_SET => {
                let name = match ty {
                    TYPE_LIST => "list",
                    TYPE_DICT => "dict",
                    _ => "set",
                };
                Err(self.err(
                    start,
                    format!(
                        "a {name} (type byte {}) cannot be a constant: code objects hold only immutable values",
                        show_byte(code)
                    ),
                ))
            }
            TYPE_NULL => Err(self.err(start, "bad marshal data: NULL object (type byte '0')")),
            _ => {
                let (value, payload) = self.leaf(start, ty, code)?;
                let cost = Cost::leaf(payload);
                self.spend(start, cost)?;
                if flag {
                    let i = self.reserve(start, type_name(&value));
                    self.slots[i] = Slot::Ready { value: value.clone(), cost };
                }
                Ok(Step::Value(value, cost))
            }
        }
    }

    /// Reads the body of a scalar object; returns it and its payload size.
    fn leaf(&mut self, start: usize, ty: u8, code: u8) -> Result<(Constant, usize), LoadError> {
        match ty {
            TYPE_INT => {
                let v = self.i32("an int")?;
                Ok((Constant::Int(BigInt::from(v)), 4))
            }
            TYPE_INT64 => {
                let b = self.take(8, "a 64-bit int")?;
                let v = i64::from_le_bytes(b.try_into().expect("8 bytes"));
                Ok((Constant::Int(BigInt::from(v)), 8))
            }
            TYPE_LONG => self.long(),
            TYPE_BINARY_FLOAT => {
                let v = self.f64_bin("a float")?;
                Ok((Constant::Float(v), 8))
            }
            TYPE_BINARY_COMPLEX => {
                let re = self.f64_bin("the real part of a complex")?;
                let im = self.f64_bin("the imaginary part of a complex")?;
                Ok((Constant::Complex { re, im }, 16))
            }
            TYPE_FLOAT => {
                let v = self.f64_text("a float")?;
                Ok((Constant::Float(v), 8))
            }
            TYPE_COMPLEX => {
                let re = self.f64_text("the real part of a complex")?;
                let im = self.f64_text("the imaginary part of a complex")?;
                Ok((Constant::Complex { re, im }, 16))
            }
            TYPE_STRING => {
                let n = self.size("bytes object", 1)?;
                let b = self.take(n, "a bytes object")?;
                Ok((Constant::Bytes(b.to_vec()), n))
            }
            TYPE_ASCII | TYPE_ASCII_INTERNED | TYPE_SHORT_ASCII | TYPE_SHORT_ASCII_INTERNED => {
                let n = if ty == TYPE_SHORT_ASCII || ty == TYPE_SHORT_ASCII_INTERNED {
                    self.u8("the size of a short str")? as usize
                } else {
                    self.size("str", 1)?
                };
                let b = self.take(n, "an ASCII str")?;
                let s = if b.is_ascii() {
                    PyStr::from_wtf8(b.to_vec())
                } else {
                    // CPython builds these as one-byte-per-character strings: Latin-1.
                    let mut v = Vec::with_capacity(2 * n);
                    for &c in b {
                        push_code_point(&mut v, c as u32);
                    }
                    PyStr::from_wtf8(v)
                };
                let len = s.as_wtf8().len();
                Ok((Constant::Str(s), len))
            }
            TYPE_UNICODE | TYPE_INTERNED => {
                let n = self.size("str", 1)?;
                let at = self.pos;
                let b = self.take(n, "a str")?;
                if let Err((i, why)) = check_utf8_surrogatepass(b) {
                    return Err(self.err(
                        at + i,
                        format!(
                            "str is not UTF-8 (surrogates allowed): {why} at byte {i} of the string \
                             (CPython raises UnicodeDecodeError)"
                        ),
                    ));
                }
                Ok((Constant::Str(PyStr::from_wtf8(b.to_vec())), n))
            }
            TYPE_UNKNOWN => Err(self.err(
                start,
                "bad marshal data: unknown type code 0x3f '?' (TYPE_UNKNOWN, written for unmarshallable objects)",
            )),
            _ => Err(self.err(start, format!("bad marshal data: unknown type code {}", show_byte(code)))),
        }
    }

    /// TYPE_LONG: a signed digit count (the sign is the number's), then that many 15-bit
    /// digits as 16-bit little-endian words, least significant first.
    fn long(&mut self) -> Result<(Constant, usize), LoadError> {
        let at = self.pos;
        let n = self.i32("the digit count of a long")?;
        if n == 0 {
            return Ok((Constant::Int(BigInt::from(0)), 0));
        }
        if n == i32::MIN {
            return Err(self.err(at, "bad marshal data: long size out of range"));
        }
        let count = n.unsigned_abs() as usize;
        self.check_fits(at, count, 2, "long")?;
        let digits_at = self.pos;
        let raw = self.take(2 * count, "the digits of a long")?;
        let mut words: Vec<u32> = Vec::with_capacity(count * 15 / 32 + 1);
        let (mut acc, mut bits) = (0u64, 0u32);
        for (i, pair) in raw.chunks_exact(2).enumerate() {
            let d = u16::from_le_bytes([pair[0], pair[1]]);
            if d > 0x7FFF {
                return Err(self.err(
                    digits_at + 2 * i,
                    format!("bad marshal data: digit out of range in long (0x{d:04x}, digits are 15-bit)"),
                ));
            }
            if d == 0 && i == count - 1 {
                return Err(self.err(
                    digits_at + 2 * i,
                    "bad marshal data: unnormalized long data (the most significant digit is 0)",
                ));
            }
            acc |= (d as u64) << bits;
            bits += 15;
            if bits >= 32 {
                words.push(acc as u32);
                acc >>= 32;
                bits -= 32;
            }
        }
        if bits > 0 {
            words.push(acc as u32);
        }
        let sign = if n < 0 { Sign::Minus } else { Sign::Plus };
        Ok((Constant::Int(BigInt::from_biguint(sign, BigUint::new(words))), 2 * count))
    }

    fn f64_bin(&mut self, what: &str) -> Result<f64, LoadError> {
        let b = self.take(8, what)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// The old text form: a length byte, then the number as CPython's `repr` would write it.
    fn f64_text(&mut self, what: &str) -> Result<f64, LoadError> {
        let n = self.u8(&format!("the length of {what}"))? as usize;
        let at = self.pos;
        let b = self.take(n, what)?;
        parse_float_text(b)
            .ok_or_else(|| self.err(at, format!("could not convert string to float: {:?}", String::from_utf8_lossy(b))))
    }
}

/// `c.clone()` without recursion: constants can nest [`MAX_DEPTH`] levels, and the derived
/// `Clone` uses several hundred bytes of stack per level in a debug build.
fn deep_clone(root: &Constant) -> Constant {
    /// A container whose children are being copied.
    struct Partial<'c> {
        src: &'c Constant,
        children: &'c [Constant],
        done: Vec<Constant>,
    }
    fn children(c: &Constant) -> Option<&[Constant]> {
        match c {
            Constant::Tuple(items) | Constant::FrozenSet(items) | Constant::Slice(items) => Some(items),
            Constant::Code(co) => Some(&co.consts),
            _ => None,
        }
    }
    let mut stack: Vec<Partial> = Vec::new();
    let mut next = root;
    loop {
        let mut value = match children(next) {
            Some(items) => {
                stack.push(Partial { src: next, children: items, done: Vec::with_capacity(items.len()) });
                None
            }
            None => Some(next.clone()),
        };
        loop {
            if let Some(v) = value.take() {
                match stack.last_mut() {
                    Some(p) => p.done.push(v),
                    None => return v,
                }
            }
            let top = stack.last().expect("a value was just placed in it");
            if top.done.len() < top.children.len() {
                next = &top.children[top.done.len()];
                break;
            }
            let p = stack.pop().expect("non-empty");
            value = Some(match p.src {
                Constant::Tuple(_) => Constant::Tuple(p.done),
                Constant::FrozenSet(_) => Constant::FrozenSet(p.done),
                Constant::Slice(_) => Constant::Slice(p.done),
                Constant::Code(co) => Constant::Code(Box::new(CodeObject {
                    argcount: co.argcount,
                    posonlyargcount: co.posonlyargcount,
                    kwonlyargcount: co.kwonlyargcount,
                    nlocals: co.nlocals,
                    stacksize: co.stacksize,
                    flags: co.flags,
                    code: co.code.clone(),
                    consts: p.done,
                    names: co.names.clone(),
                    localsplus: co.localsplus.clone(),
                    filename: co.filename.clone(),
                    name: co.name.clone(),
                    qualname: co.qualname.clone(),
                    firstlineno: co.firstlineno,
                    linetable: co.linetable.clone(),
                    exceptiontable: co.exceptiontable.clone(),
                })),
                _ => unreachable!("only containers are pushed"),
            });
        }
    }
}

/// Drops a constant without recursion (see [`deep_clone`]).
fn drop_iteratively(root: Constant) {
    let mut stack = vec![root];
    while let Some(mut c) = stack.pop() {
        match &mut c {
            Constant::Tuple(items) | Constant::FrozenSet(items) | Constant::Slice(items) => stack.append(items),
            Constant::Code(co) => stack.append(&mut co.consts),
            _ => {}
        }
    }
}

/// Checks a code object's object field as it arrives, so the error names that field's offset.
fn check_field(layout: CodeLayout, index: usize, value: &Constant, earlier: &[Constant]) -> Result<(), String> {
    let (name, kind) = layout.fields()[index];
    let ok = match kind {
        FieldKind::Bytes => matches!(value, Constant::Bytes(_)),
        FieldKind::Tuple => matches!(value, Constant::Tuple(_)),
        FieldKind::Str => matches!(value, Constant::Str(_)),
        FieldKind::StrTuple => match value {
            Constant::Tuple(items) => {
                if let Some((i, bad)) = items.iter().enumerate().find(|(_, c)| !matches!(c, Constant::Str(_))) {
                    return Err(format!("{name}[{i}] must be a str, found {}", type_name(bad)));
                }
                true
            }
            _ => false,
        },
    };
    if !ok {
        let want = match kind {
            FieldKind::Bytes => "bytes",
            FieldKind::Tuple => "a tuple",
            FieldKind::StrTuple => "a tuple of str",
            FieldKind::Str => "a str",
        };
        return Err(format!("{name} must be {want}, found {}", type_name(value)));
    }
    if name == "co_localspluskinds" {
        let (Constant::Bytes(kinds), Some(Constant::Tuple(names))) = (value, earlier.get(3)) else {
            unreachable!("types checked")
        };
        if kinds.len() != names.len() {
            return Err(format!(
                "co_localspluskinds has {} bytes but co_localsplusnames has {} names; they must match",
                kinds.len(),
                names.len()
            ));
        }
    }
    Ok(())
}

/// Checks UTF-8 the way CPython's decoder does with `errors="surrogatepass"`: well-formed
/// UTF-8 (no overlong forms, nothing above U+10FFFF), plus U+D800..U+DFFF written as
/// three-byte sequences. Returns the index of the first bad byte and why.
fn check_utf8_surrogatepass(b: &[u8]) -> Result<(), (usize, &'static str)> {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        // (length, allowed range of the second byte)
        let (len, lo, hi) = match c {
            0x00..=0x7F => {
                i += 1;
                continue;
            }
            0xC2..=0xDF => (2, 0x80, 0xBF),
            0xE0 => (3, 0xA0, 0xBF),
            0xE1..=0xEF => (3, 0x80, 0xBF), // 0xED: A0..BF are the surrogates, passed through
            0xF0 => (4, 0x90, 0xBF),
            0xF1..=0xF3 => (4, 0x80, 0xBF),
            0xF4 => (4, 0x80, 0x8F),
            _ => return Err((i, "invalid start byte")),
        };
        if i + len > b.len() {
            // CPython reports "unexpected end of data" only if the bytes so far are valid.
            let valid_so_far = b[i + 1..]
                .iter()
                .enumerate()
                .all(|(k, &x)| if k == 0 { (lo..=hi).contains(&x) } else { (0x80..=0xBF).contains(&x) });
            return Err((i, if valid_so_far { "unexpected end of data" } else { "invalid continuation byte" }));
        }
        if !(lo..=hi).contains(&b[i + 1]) || b[i + 2..i + len].iter().any(|x| !(0x80..=0xBF).contains(x)) {
            return Err((i, "invalid continuation byte"));
        }
        i += len;
    }
    Ok(())
}

/// Parses the text form of a float the way `PyOS_string_to_double` does for marshal: the
/// whole string (up to a NUL, where CPython's C string ends) must be a decimal number or
/// `inf`/`infinity`/`nan` (any case), with an optional sign and no surrounding space.
/// Overflow gives ±inf; `-nan` is a NaN with the sign bit set.
fn parse_float_text(raw: &[u8]) -> Option<f64> {
    let text = match raw.iter().position(|&b| b == 0) {
        Some(i) => &raw[..i],
        None => raw,
    };
    let (neg, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == b"inf" || lower == b"infinity" {
        f64::INFINITY
    } else if lower == b"nan" {
        f64::NAN
    } else {
        // digits [. digits] with at least one digit, then an optional exponent.
        let mut i = 0;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < body.len() && body[*i].is_ascii_digit() {
                *i += 1;
            }
            *i - s
        };
        let mut mantissa = digits(&mut i);
        if i < body.len() && body[i] == b'.' {
            i += 1;
            mantissa += digits(&mut i);
        }
        if mantissa == 0 {
            return None;
        }
        if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
            i += 1;
            if i < body.len() && (body[i] == b'+' || body[i] == b'-') {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return None;
            }
        }
        if i != body.len() {
            return None;
        }
        std::str::from_utf8(body).ok()?.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_text() {
        let p = |s: &str| parse_float_text(s.as_bytes()).map(f64::to_bits);
        assert_eq!(p("1.5"), Some(1.5f64.to_bits()));
        assert_eq!(p("-0.0"), Some((-0.0f64).to_bits()));
        assert_eq!(p("-nan"), Some(0xfff8_0000_0000_0000));
        assert_eq!(p("NaN"), Some(0x7ff8_0000_0000_0000));
        assert_eq!(p("+Infinity"), Some(f64::INFINITY.to_bits()));
        assert_eq!(p("1e400"), Some(f64::INFINITY.to_bits()));
        assert_eq!(p(".5"), Some(0.5f64.to_bits()));
        assert_eq!(p("2."), Some(2.0f64.to_bits()));
        assert_eq!(p("-.5e3"), Some((-500.0f64).to_bits()));
        assert_eq!(parse_float_text(b"1.5\0xyz").map(f64::to_bits), Some(1.5f64.to_bits()));
        for bad in ["", ".", "-", " 1.5", "1.5 ", "1_0", "0x1", "1e", "1.5e+", "in", "nanx", "--1", "+-1"] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn utf8_check() {
        assert!(check_utf8_surrogatepass("héllo \u{10FFFF}".as_bytes()).is_ok());
        assert!(check_utf8_surrogatepass(b"\xed\xa0\x80\xed\xb0\x80").is_ok());
        for bad in [&b"\xff"[..], b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xed\xa0"] {
            assert!(check_utf8_surrogatepass(bad).is_err(), "{bad:?}");
        }
    }
}
