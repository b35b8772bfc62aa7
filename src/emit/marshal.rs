//! Marshal writer, format version 4 (what CPython 3.4+ writes, and what a 3.11 .pyc holds
//! after its 16-byte header).
//!
//! Two goals, in order:
//!
//! 1. **Correct**: `marshal.loads` accepts the output and yields objects equal to ours
//!    (code objects compare equal, constants are type- and value-exact, `-0.0`, NaN payloads
//!    and lone surrogates survive).
//! 2. **Byte-identical to CPython 3.11** for code the 3.11 compiler could have produced, so
//!    assembled pycs can be compared against compiled ones with `cmp`.
//!
//! Goal 2 is the hard part, because CPython's output depends on object *identity* and
//! reference counts, which we do not have. Marshal v3+ sets `FLAG_REF` (0x80) on an object's
//! type byte when the object's refcount is above one (or, since the str is interned, always),
//! remembers it under the next index, and writes `TYPE_REF` + index for later occurrences of
//! the same object. We approximate identity by value, using what the 3.11 compiler does
//! (measured on 3.11.7 by annotating `marshal.dumps` of compiled modules):
//!
//! * The compiler merges equal constants across the whole module (its "const cache",
//!   keyed by type and exact value), and passes through the same cache each code object's
//!   `co_consts`, `co_names` and `co_localsplusnames` tuples, its line table and its
//!   exception table. So all of those are shared by value — a nested function's `(None,)`
//!   consts tuple is the same object as a `(None,)` constant elsewhere — and get `FLAG_REF`
//!   exactly when they occur more than once (counting the children of a shared object once,
//!   as a refcount would).
//! * Always shared (always `FLAG_REF`): interned strings; small ints (-5..=256); the empty
//!   tuple, str and bytes; one-byte bytes and one-character latin-1 strs (CPython caches
//!   them); the filename (every code object holds the same str, and so does the caller);
//!   the compiler's static names (`<module>`, `<lambda>`, `<listcomp>`, …); the top-level
//!   object being dumped (the caller holds a reference).
//! * `co_code` always gets `FLAG_REF` but is never shared: 3.11 stores the instructions in
//!   the code object itself and `co_code` is a fresh bytes object that the code object also
//!   caches (refcount 2 while marshal runs), one per code object even when equal.
//! * Never shared, no `FLAG_REF`: nested code objects, `co_localspluskinds` (unless empty),
//!   a `co_qualname` that differs from `co_name` (built by string formatting) — except in a
//!   class body, whose `__qualname__` constant is that very string object (unless an equal
//!   string constant came earlier: then the constant is merged into that one and
//!   `co_qualname` stays a separate object, e.g. two classes `f.<locals>.C` in one function);
//!   NaN floats and complexes (the const cache compares them by identity, so each `LOAD_CONST`
//!   of a NaN gets its own object), and any tuple containing one.
//! * A one-character latin-1 str is one process-wide object: a constant `'ä'` and a name
//!   `ä` are the same object, interned because the parser interned the identifier.
//! * Frozensets: 3.11.7 writes the elements of a set in the order of their own standalone
//!   `marshal.dumps` (for reproducible builds, bpo-37596) and holds each element in a
//!   temporary list while doing so — so every element gets `FLAG_REF`, and the order in
//!   [`Constant::FrozenSet`] does not matter. And when a code object is created, interning
//!   its str constants rebuilds any frozenset one of whose direct str items was swapped for
//!   an already-interned equal string; such a set is a fresh object per code object, hence not
//!   shared. We assume that happens whenever a set holds an identifier-shaped str (usually
//!   interned already as another object: an identifier in the module, a builtin or method
//!   name, or — even for one-character strs like `'x'` — a string of 3.11's deep-frozen
//!   startup modules), but not for digit strings like `'225'`, rarely interned elsewhere;
//!   other sets are shared by value like constants.
//!
//! Interning (which decides `TYPE_SHORT_ASCII` vs `TYPE_SHORT_ASCII_INTERNED` etc.), as the
//! 3.11 compiler leaves it: `co_names` and `co_localsplusnames` entries always; `co_name`
//! unless it is one of the `<…>` static names; `co_qualname` only when it is the same object
//! as `co_name`; str constants (recursively inside tuples and frozensets) when they consist of
//! ASCII letters, digits and `_` only ([`PyStr::is_name_like`]), plus `'*'` and one-character
//! strs that are also names; the filename never.
//!
//! How close this gets (3.11.7, `tests/encoders.rs`, the ignored tests): every module of the
//! standard library including its tests (1773 files) compiled and re-marshalled from the
//! decoded code objects comes out byte-identical, and so do all 5283 installed
//! `__pycache__/*.cpython-311*.pyc`. The rules are heuristics about interpreter state, though:
//! code whose strings happen to be interned differently in the compiling process (a
//! frozenset holding a never-before-seen identifier-shaped string, say) can still differ in
//! flags and reference indexes — never in what `marshal.loads` returns.
//!
//! Consequence for callers: the element order of a [`Constant::FrozenSet`] is not preserved;
//! elements are written in CPython's canonical order (3.11+; 3.6–3.10 keep the given order).
//!
//! 3.6–3.10 ([`dump_code_for`] with those versions) use their own code layout (co_varnames,
//! co_freevars and co_cellvars instead of localsplus, co_nlocals, no qualname or exception
//! table) and their own sharing rules, described at `Old` below. Every code object written so
//! loads equal in its interpreter; byte identity is rarer there, because those versions flag
//! an interned name only when the compiling process holds it elsewhere too.

use crate::marshal_format::*;
use crate::resolve::CO_NEWLOCALS;
use crate::object::{CodeObject, Constant, PyStr};
use num_bigint::{BigInt, Sign};
use num_traits::ToPrimitive;
use crate::resolve::hash::{FastHasher, FastMap, FastSet};



/// `marshal.dumps(code)` for a 3.11 code object.
pub fn dump_code(code: &CodeObject) -> Vec<u8> {
    dump_code_for(code, crate::version::PythonVersion::new(3, 11))
}

/// `marshal.dumps(code)` as the given version's interpreter writes it: the layout is the same
/// from 3.11 on, but which strings are interned (and so shared) changed.
pub fn dump_code_for(code: &CodeObject, version: crate::version::PythonVersion) -> Vec<u8> {
    let mut chars = FastSet::default();
    collect_char_names(code, &mut chars);
    let policy = Policy::for_version(version);
    run_with(chars, policy, |d| d.code(code, true))
}

/// What differs between versions in how objects are shared.
#[derive(Clone, Copy, Debug, Default)]
struct Policy {
    /// 3.13+: code objects intern co_filename, co_name and co_qualname (the compiler's static
    /// `<…>` names too), and every one-character latin-1 str is an interned singleton (measured
    /// on 3.13.0 and 3.14.2).
    intern_code_names: bool,
    /// 3.6–3.10 (`None` from 3.11): their layout and sharing rules, see [`Old`].
    old: Option<Old>,
}

/// How 3.6–3.10 lay out and share (measured on 3.6.15, 3.7.16, 3.8.18, 3.9.18 and 3.10.13 by
/// annotating `marshal.dumps` of compiled modules; see the module docs of `tests/old_marshal.rs`
/// for the byte-identity figures):
///
/// * `co_code` and `co_lnotab` are fresh objects held only by their code object: no
///   `FLAG_REF`, never shared. An empty line table is the cached empty bytes from 3.7 on
///   (always flagged, shared with `b''` constants); 3.6 resizes a fresh one to zero. 3.10
///   passes co_code and co_linetable through the const cache: shared by value.
/// * Constants: 3.8+ merge equal constants across the module (the const cache, as 3.11), and
///   also the `co_names`/`co_varnames`/`co_freevars`/`co_cellvars` tuples. 3.6 and 3.7 merge
///   only within one code object: 3.6's peephole optimizer folds constant tuples out of the
///   code object's own constants (so a str inside a folded tuple is the same object as an equal
///   top-level constant), 3.7's AST optimizer builds fresh objects for folded tuples.
/// * Interned strings are shared process-wide, but `FLAG_REF` follows the real reference
///   count: a name used once in the module is flagged only if something else in the
///   compiling interpreter holds it (a builtin's name, an attribute of a loaded module, …),
///   which a file alone does not tell. Flagged here: names occurring more than once, and
///   the one-character latin-1 strs (cached singletons).
/// * Frozensets are written in the order of the model (their iteration order, which for strs
///   depends on the hash seed: not reproducible at all), elements not held.
/// * The compiler's static names are shared and flagged: `<module>` and `<lambda>` interned,
///   the comprehension names (`<listcomp>`, …) from 3.8 on; `.0` is an interned static.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Old {
    /// 3.8–3.10 write co_posonlyargcount.
    posonly: bool,
    /// How far equal constants (and name tuples) are merged.
    merge: Merge,
    /// 3.7+: an empty bytes object is the cached singleton.
    empty_bytes_cached: bool,
    /// 3.8+: the comprehension names (`<listcomp>`, …) are interned like `<lambda>`.
    comprehension_names_interned: bool,
    /// 3.10: co_code and co_linetable go through the const cache too (shared by value with
    /// each other's equals and with equal bytes constants).
    merge_code_and_table: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Merge {
    /// 3.6: within a code object, folded tuples included.
    CodeObject,
    /// 3.7: top-level constants of a code object are distinct by construction; folded tuples
    /// hold fresh objects.
    Nothing,
    /// 3.8–3.10: across the module, name tuples included.
    Module,
}

impl Policy {
    fn for_version(v: crate::version::PythonVersion) -> Policy {
        let old = match (v.major, v.minor) {
            (3, 6) => Some(Old {
                posonly: false,
                merge: Merge::CodeObject,
                empty_bytes_cached: false,
                comprehension_names_interned: false,
                merge_code_and_table: false,
            }),
            (3, 7) => Some(Old {
                posonly: false,
                merge: Merge::Nothing,
                empty_bytes_cached: true,
                comprehension_names_interned: false,
                merge_code_and_table: false,
            }),
            (3, 8..=10) => Some(Old {
                posonly: true,
                merge: Merge::Module,
                empty_bytes_cached: true,
                comprehension_names_interned: true,
                merge_code_and_table: v.minor >= 10,
            }),
            _ => None,
        };
        Policy { intern_code_names: v >= crate::version::PythonVersion::new(3, 13), old }
    }
}

/// `marshal.dumps(value)` for a constant (the top-level object gets `FLAG_REF`, as it does in
/// CPython where the caller holds a reference).
pub fn dump_constant(c: &Constant) -> Vec<u8> {
    let mut chars = FastSet::default();
    collect_const_char_names(c, &mut chars);
    run(chars, |d| d.constant(c, true, false))
}

/// Two passes over the same traversal: the first counts how often each shared object occurs
/// (so the second knows which ones need `FLAG_REF`), the second writes.
fn run<'a>(interned_chars: FastSet<&'a [u8]>, walk: impl Fn(&mut Dumper<'a>)) -> Vec<u8> {
    run_with(interned_chars, Policy::default(), walk)
}

fn run_with<'a>(interned_chars: FastSet<&'a [u8]>, policy: Policy, walk: impl Fn(&mut Dumper<'a>)) -> Vec<u8> {
    let mut d = Dumper {
        policy,
        writing: false,
        counts: FastMap::default(),
        forced: FastSet::default(),
        interned_chars,
        seen_strs: FastSet::default(),
        refs: FastMap::default(),
        next_ref: 0,
        out: Vec::new(),
        code_number: 0,
        code_count: 0,
    };
    walk(&mut d);
    d.writing = true;
    d.out.clear();
    d.seen_strs.clear();
    d.code_count = 0;
    walk(&mut d);
    d.out
}

/// One-character latin-1 names anywhere in the tree: the parser interned those singletons,
/// so equal str constants are written as interned too.
fn collect_char_names<'a>(co: &'a CodeObject, out: &mut FastSet<&'a [u8]>) {
    let names = co.names.iter().chain(co.localsplus.iter().map(|s| &s.name)).chain([&co.name]);
    for n in names {
        if is_latin1_char(n) {
            out.insert(n.as_wtf8());
        }
    }
    for c in &co.consts {
        collect_const_char_names(c, out);
    }
}

fn collect_const_char_names<'a>(c: &'a Constant, out: &mut FastSet<&'a [u8]>) {
    match c {
        Constant::Tuple(items) | Constant::FrozenSet(items) | Constant::Slice(items) => {
            items.iter().for_each(|i| collect_const_char_names(i, out))
        }
        Constant::Code(co) => collect_char_names(co, out),
        _ => {}
    }
}

/// The identity of a shared object, by value. Strings carry their interned state because an
/// interned and a non-interned str are different objects even with equal text; the filename
/// and the compiler's static `<…>` names are separate objects from equal constants.
/// A key borrows its bytes and numbers from the objects being written: a module's keys are
/// built twice per shared object (counting, then writing), and copies of them were most of
/// marshal's time.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
enum Key<'a> {
    None,
    True,
    False,
    Ellipsis,
    StopIteration,
    Int(&'a BigInt),
    Float(u64),
    Complex(u64, u64),
    Str {
        interned: bool,
        text: &'a [u8],
    },
    /// A one-character latin-1 str: a process-wide singleton, interned or not.
    Char(&'a [u8]),
    Bytes(&'a [u8]),
    Tuple(Vec<Key<'a>>),
    FrozenSet(Vec<Key<'a>>),
    Slice(Vec<Key<'a>>),
    Filename(&'a [u8]),
    StaticName(&'a [u8]),
    /// 3.6: a constant merged only within the code object of this number.
    Scoped(u32, Box<Key<'a>>),
}

/// A key with its hash, computed once per occurrence: the tables grow by rehashing every
/// key, and a code object's consts tuple is one key made of all its constants.
#[derive(Clone, Debug)]
struct Hashed<'a> {
    hash: u64,
    key: Key<'a>,
}

impl<'a> Hashed<'a> {
    fn new(key: Key<'a>) -> Hashed<'a> {
        let hash = std::hash::BuildHasher::hash_one(&std::hash::BuildHasherDefault::<FastHasher>::default(), &key);
        Hashed { hash, key }
    }
}

impl PartialEq for Hashed<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.key == other.key
    }
}

impl Eq for Hashed<'_> {}

impl std::hash::Hash for Hashed<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// How one occurrence of an object takes part in reference sharing.
enum Ident<'a> {
    /// Written plainly (None, True, …: marshal has dedicated type codes for them).
    Singleton,
    /// Shared by value: written once, with `FLAG_REF` if `forced` (always shared), `held` (this
    /// occurrence has an extra reference while it is written) or it occurs more than once.
    Shared { key: Key<'a>, forced: bool, held: bool },
    /// A distinct object every time; `FLAG_REF` (taking an index nobody uses) if `flag`.
    Unique { flag: bool },
}

struct Dumper<'a> {
    policy: Policy,
    /// False during the counting pass.
    writing: bool,
    counts: FastMap<Hashed<'a>, u32>,
    /// Keys that some occurrence says are always shared.
    forced: FastSet<Hashed<'a>>,
    /// One-character names (see `collect_char_names`).
    interned_chars: FastSet<&'a [u8]>,
    /// Non-interned str constants met so far in this pass, for the class-qualname rule.
    seen_strs: FastSet<&'a [u8]>,
    refs: FastMap<Hashed<'a>, u32>,
    next_ref: u32,
    out: Vec<u8>,
    /// Number of the code object being written, counted in traversal order (3.6's scopes).
    code_number: u32,
    code_count: u32,
}

/// Whether a str constant is interned by the 3.11 compiler. Besides name-like strings, the
/// one-character `'*'` is: it is a cached singleton (like every latin-1 character) that the
/// interpreter interns at startup (it is the name in `from m import *`), and interning a
/// singleton marks it interned process-wide. Measured on 3.11.7: it is the only non-name-like
/// interned one-character str in a fresh process, even with `-S`.
fn const_str_interned(s: &PyStr) -> bool {
    s.is_name_like() || s.as_wtf8() == b"*"
}

/// CPython caches one-character strings for code points below 256.
fn is_latin1_char(s: &PyStr) -> bool {
    s.char_len() == 1 && s.code_points().first().is_some_and(|&c| c < 256)
}

fn str_key(s: &PyStr, interned: bool) -> Key<'_> {
    if is_latin1_char(s) { Key::Char(s.as_wtf8()) } else { Key::Str { interned, text: s.as_wtf8() } }
}

fn const_key(c: &Constant) -> Option<Key<'_>> {
    Some(match c {
        Constant::None => Key::None,
        Constant::True => Key::True,
        Constant::False => Key::False,
        Constant::Ellipsis => Key::Ellipsis,
        Constant::StopIteration => Key::StopIteration,
        Constant::Int(i) => Key::Int(i),
        // NaNs are never merged (see the module docs): no key, so a distinct object each time.
        Constant::Float(f) if f.is_nan() => return None,
        Constant::Complex { re, im } if re.is_nan() || im.is_nan() => return None,
        Constant::Float(f) => Key::Float(f.to_bits()),
        Constant::Complex { re, im } => Key::Complex(re.to_bits(), im.to_bits()),
        Constant::Str(s) => str_key(s, const_str_interned(s)),
        Constant::Bytes(b) => Key::Bytes(b),
        Constant::Tuple(items) => Key::Tuple(items.iter().map(const_key).collect::<Option<_>>()?),
        // Merged by value across the module, like tuples (measured on 3.14.2).
        Constant::Slice(items) => Key::Slice(items.iter().map(const_key).collect::<Option<_>>()?),
        // Order-insensitive, like set equality.
        Constant::FrozenSet(items) => {
            let mut keys = items.iter().map(const_key).collect::<Option<Vec<_>>>()?;
            keys.sort();
            Key::FrozenSet(keys)
        }
        // Code objects are keyed by identity in CPython's const cache: never merged.
        Constant::Code(_) => return None,
    })
}

/// Whether code-object creation rebuilds this frozenset (see the module docs): a direct str
/// item that gets interned, or a nested frozenset that is rebuilt itself.
fn frozenset_rebuilt(items: &[Constant]) -> bool {
    items.iter().any(|c| match c {
        Constant::Str(s) => const_str_interned(s) && s.as_wtf8().first().is_some_and(|b| !b.is_ascii_digit()),
        Constant::FrozenSet(inner) => frozenset_rebuilt(inner),
        _ => false,
    })
}

/// `top`: the object handed to marshal (the caller holds a reference). `in_set`: a direct
/// element of a frozenset being written (marshal's temporary sort list holds a reference).
fn const_ident(c: &Constant, top: bool, in_set: bool) -> Ident<'_> {
    let held = top || in_set;
    match c {
        Constant::None | Constant::True | Constant::False | Constant::Ellipsis | Constant::StopIteration => {
            Ident::Singleton
        }
        Constant::Code(_) => Ident::Unique { flag: held },
        Constant::FrozenSet(items) if frozenset_rebuilt(items) => Ident::Unique { flag: held },
        _ => match const_key(c) {
            Some(key) => {
                let singleton = match c {
                    Constant::Int(i) => i.to_i32().is_some_and(|v| (-5..=256).contains(&v)),
                    Constant::Str(s) => const_str_interned(s) || is_latin1_char(s),
                    Constant::Bytes(b) => b.len() <= 1,
                    Constant::Tuple(items) => items.is_empty(),
                    _ => false,
                };
                Ident::Shared { key, forced: singleton, held }
            }
            // A tuple or frozenset holding a code object cannot be merged either.
            None => Ident::Unique { flag: held },
        },
    }
}

fn name_tuple_ident<'a>(names: &[&'a PyStr]) -> Ident<'a> {
    Ident::Shared {
        key: Key::Tuple(names.iter().map(|n| str_key(n, true)).collect()),
        forced: names.is_empty(),
        held: false,
    }
}

/// The 3.6–3.10 compilers' own names, held by the compiler (so always flagged), and whether
/// each is interned in 3.6 and 3.7 (from 3.8 all are).
const OLD_STATIC_NAMES: [(&str, bool); 7] = [
    ("<module>", true),
    ("<lambda>", true),
    (".0", true),
    ("<listcomp>", false),
    ("<setcomp>", false),
    ("<dictcomp>", false),
    ("<genexpr>", false),
];

/// `co_linetable`, `co_exceptiontable`: merged by value; only the empty one is a singleton.
fn table_ident(b: &[u8]) -> Ident<'_> {
    Ident::Shared { key: Key::Bytes(b), forced: b.is_empty(), held: false }
}

impl<'a> Dumper<'a> {
    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }
    fn long(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn size(&mut self, n: usize) {
        // Marshal sizes are signed 32-bit; nothing in a code object comes near 2**31.
        let n = i32::try_from(n).expect("object too large for marshal (2**31 or more items/bytes)");
        self.long(n);
    }

    /// Starts an object. Returns the flag to OR into its type byte when its body must be
    /// written (and traversed), or `None` when a back-reference was written instead (or, while
    /// counting, when the object was already counted and its children with it).
    fn begin(&mut self, ident: Ident<'a>) -> Option<u8> {
        match ident {
            Ident::Singleton => Some(0),
            Ident::Unique { flag } => {
                if self.writing && flag {
                    self.next_ref += 1;
                    Some(FLAG_REF)
                } else {
                    Some(0)
                }
            }
            Ident::Shared { key, forced, held } => {
                let key = Hashed::new(key);
                if !self.writing {
                    if forced {
                        self.forced.insert(key.clone());
                    }
                    let n = self.counts.entry(key).or_insert(0);
                    *n += 1;
                    return if *n == 1 { Some(0) } else { None };
                }
                if let Some(&idx) = self.refs.get(&key) {
                    self.byte(TYPE_REF);
                    self.long(idx as i32);
                    return None;
                }
                let shared = held || self.forced.contains(&key) || self.counts.get(&key).copied().unwrap_or(0) > 1;
                if shared {
                    self.refs.insert(key, self.next_ref);
                    self.next_ref += 1;
                    Some(FLAG_REF)
                } else {
                    Some(0)
                }
            }
        }
    }

    fn str_body(&mut self, s: &PyStr, interned: bool, flag: u8) {
        let b = s.as_wtf8();
        if s.is_ascii() {
            if b.len() < 256 {
                self.byte(flag | if interned { TYPE_SHORT_ASCII_INTERNED } else { TYPE_SHORT_ASCII });
                self.byte(b.len() as u8);
            } else {
                self.byte(flag | if interned { TYPE_ASCII_INTERNED } else { TYPE_ASCII });
                self.size(b.len());
            }
        } else {
            self.byte(flag | if interned { TYPE_INTERNED } else { TYPE_UNICODE });
            self.size(b.len());
        }
        self.out.extend_from_slice(b);
    }

    fn str_obj(&mut self, s: &PyStr, interned: bool, ident: Ident<'a>) {
        if let Some(flag) = self.begin(ident) {
            self.str_body(s, interned, flag);
        }
    }

    fn bytes_obj(&mut self, b: &[u8], ident: Ident<'a>) {
        if let Some(flag) = self.begin(ident) {
            self.byte(flag | TYPE_STRING);
            self.size(b.len());
            self.out.extend_from_slice(b);
        }
    }

    fn tuple_header(&mut self, n: usize, flag: u8) {
        if n < 256 {
            self.byte(flag | TYPE_SMALL_TUPLE);
            self.byte(n as u8);
        } else {
            self.byte(flag | TYPE_TUPLE);
            self.size(n);
        }
    }

    fn name_tuple(&mut self, names: &[&'a PyStr]) {
        if let Some(flag) = self.begin(name_tuple_ident(names)) {
            self.tuple_header(names.len(), flag);
            for n in names {
                let ident = Ident::Shared { key: str_key(n, true), forced: true, held: false };
                self.str_obj(n, true, ident);
            }
        }
    }

    fn int_body(&mut self, i: &BigInt, flag: u8) {
        if let Some(v) = i.to_i32() {
            self.byte(flag | TYPE_INT);
            self.long(v);
            return;
        }
        // TYPE_LONG: digit count (negative for negative numbers), then base-2**15 digits,
        // least significant first.
        self.byte(flag | TYPE_LONG);
        let (sign, mag) = i.to_u32_digits();
        let mut digits: Vec<u16> = Vec::new();
        let mut acc: u64 = 0;
        let mut bits = 0;
        for w in mag {
            acc |= (w as u64) << bits;
            bits += 32;
            while bits >= 15 {
                digits.push((acc & 0x7FFF) as u16);
                acc >>= 15;
                bits -= 15;
            }
        }
        if acc != 0 {
            digits.push(acc as u16);
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        let n = i32::try_from(digits.len()).expect("int too large for marshal");
        self.long(if sign == Sign::Minus { -n } else { n });
        for d in digits {
            self.out.extend_from_slice(&d.to_le_bytes());
        }
    }

    /// [`const_ident`], adjusted to the merging of 3.6–3.10 (`nested`: inside a constant tuple
    /// or frozenset).
    fn old_const_ident(&self, c: &'a Constant, top: bool, in_set: bool, nested: bool) -> Ident<'a> {
        let ident = const_ident(c, top, in_set && self.policy.old.is_none());
        let Some(old) = self.policy.old else { return ident };
        match ident {
            Ident::Shared { key, forced, held } if !forced => match old.merge {
                Merge::Module => Ident::Shared { key, forced, held },
                Merge::CodeObject => Ident::Shared { key: Key::Scoped(self.code_number, Box::new(key)), forced, held },
                Merge::Nothing if !nested => Ident::Shared { key: Key::Scoped(self.code_number, Box::new(key)), forced, held },
                Merge::Nothing => Ident::Unique { flag: held },
            },
            // Interned strs are process-wide objects but only flagged when used twice.
            Ident::Shared { key, forced: true, held } => {
                let singleton = match c {
                    Constant::Str(s) => is_latin1_char(s),
                    Constant::Bytes(b) => !b.is_empty() || old.empty_bytes_cached,
                    _ => true,
                };
                if singleton {
                    Ident::Shared { key, forced: true, held }
                } else if matches!(c, Constant::Str(_)) {
                    Ident::Shared { key, forced: false, held }
                } else {
                    Ident::Shared { key: Key::Scoped(self.code_number, Box::new(key)), forced: false, held }
                }
            }
            other => other,
        }
    }

    fn constant(&mut self, c: &'a Constant, top: bool, in_set: bool) {
        self.constant_in(c, top, in_set, false, false)
    }

    /// `fresh`: a distinct object whatever its value (3.6–3.8's peephole-folded tuples).
    fn constant_in(&mut self, c: &'a Constant, top: bool, in_set: bool, nested: bool, fresh: bool) {
        let ident = if fresh { Ident::Unique { flag: top } } else { self.old_const_ident(c, top, in_set, nested) };
        let Some(flag) = self.begin(ident) else { return };
        match c {
            Constant::None => self.byte(TYPE_NONE),
            Constant::True => self.byte(TYPE_TRUE),
            Constant::False => self.byte(TYPE_FALSE),
            Constant::Ellipsis => self.byte(TYPE_ELLIPSIS),
            Constant::StopIteration => self.byte(TYPE_STOPITER),
            Constant::Int(i) => self.int_body(i, flag),
            Constant::Float(f) => {
                self.byte(flag | TYPE_BINARY_FLOAT);
                self.out.extend_from_slice(&f.to_le_bytes());
            }
            Constant::Complex { re, im } => {
                self.byte(flag | TYPE_BINARY_COMPLEX);
                self.out.extend_from_slice(&re.to_le_bytes());
                self.out.extend_from_slice(&im.to_le_bytes());
            }
            Constant::Str(s) => {
                // 3.6–3.10 processes have also interned "\n" and "." by the time they compile
                // (measured over each version's stdlib: always interned, no other punctuation is).
                let interned = const_str_interned(s)
                    || self.interned_chars.contains(s.as_wtf8())
                    || (self.policy.intern_code_names && is_latin1_char(s))
                    || (self.policy.old.is_some() && matches!(s.as_wtf8(), b"\n" | b"."));
                if !interned {
                    self.seen_strs.insert(s.as_wtf8());
                }
                self.str_body(s, interned, flag)
            }
            Constant::Bytes(b) => {
                self.byte(flag | TYPE_STRING);
                self.size(b.len());
                self.out.extend_from_slice(b);
            }
            Constant::Tuple(items) => {
                self.tuple_header(items.len(), flag);
                for item in items {
                    self.constant_in(item, false, false, true, false);
                }
            }
            Constant::Slice(items) => {
                self.byte(flag | TYPE_SLICE);
                for item in items {
                    self.constant(item, false, false);
                }
            }
            Constant::FrozenSet(items) => {
                self.byte(flag | TYPE_FROZENSET);
                self.size(items.len());
                let mut order: Vec<&Constant> = items.iter().collect();
                if self.writing && self.policy.old.is_none() {
                    let mut keyed: Vec<(Vec<u8>, &Constant)> =
                        items.iter().map(|item| (self.standalone_dump(item), item)).collect();
                    keyed.sort_by(|a, b| a.0.cmp(&b.0));
                    order = keyed.into_iter().map(|(_, item)| item).collect();
                }
                for item in order {
                    self.constant_in(item, false, true, true, false);
                }
            }
            Constant::Code(code) => self.code_body(code, flag),
        }
    }

    /// What `marshal.dumps(item)` gives for a set element at the moment CPython sorts the set:
    /// a separate dump with its own reference table, the element itself not yet held by the
    /// sort list. Sharing decisions still come from the whole-dump counts.
    fn standalone_dump(&mut self, item: &'a Constant) -> Vec<u8> {
        let mut sub = Dumper {
            policy: self.policy,
            writing: true,
            counts: std::mem::take(&mut self.counts),
            forced: std::mem::take(&mut self.forced),
            interned_chars: std::mem::take(&mut self.interned_chars),
            seen_strs: FastSet::default(),
            refs: FastMap::default(),
            next_ref: 0,
            out: Vec::new(),
            code_number: self.code_number,
            code_count: self.code_count,
        };
        sub.constant(item, false, false);
        self.counts = std::mem::take(&mut sub.counts);
        self.forced = std::mem::take(&mut sub.forced);
        self.interned_chars = std::mem::take(&mut sub.interned_chars);
        sub.out
    }

    fn code(&mut self, code: &'a CodeObject, top: bool) {
        if let Some(flag) = self.begin(Ident::Unique { flag: top }) {
            self.code_body(code, flag);
        }
    }

    fn code_body(&mut self, co: &'a CodeObject, flag: u8) {
        let outer = self.code_number;
        self.code_number = self.code_count;
        self.code_count += 1;
        match self.policy.old {
            Some(old) => self.old_code_body(co, flag, old),
            None => self.new_code_body(co, flag),
        }
        self.code_number = outer;
    }

    /// A 3.6–3.10 code object (Python/marshal.c `w_complex_object` of those versions): the
    /// counts (argcount, [posonlyargcount,] kwonlyargcount, nlocals, stacksize, flags), code,
    /// consts, names, varnames, freevars, cellvars, filename, name, firstlineno, lnotab (3.10:
    /// linetable).
    fn old_code_body(&mut self, co: &'a CodeObject, flag: u8, old: Old) {
        self.byte(flag | TYPE_CODE);
        self.long(co.argcount as i32);
        if old.posonly {
            self.long(co.posonlyargcount as i32);
        }
        for v in [co.kwonlyargcount, co.nlocals, co.stacksize, co.flags] {
            self.long(v as i32);
        }
        let code_ident = if old.merge_code_and_table { table_ident(&co.code) } else { Ident::Unique { flag: false } };
        self.bytes_obj(&co.code, code_ident);

        let consts_ident = match co.consts.iter().map(const_key).collect::<Option<Vec<_>>>() {
            Some(keys) if keys.is_empty() => Ident::Shared { key: Key::Tuple(keys), forced: true, held: false },
            Some(keys) if old.merge == Merge::Module => Ident::Shared { key: Key::Tuple(keys), forced: false, held: false },
            _ => Ident::Unique { flag: false },
        };
        // An equal tuple twice in one co_consts: the compiler's table would have merged them, so
        // these are tuples that 3.6–3.8's peephole optimizer folded (defaults, say) and appended
        // as new objects, each time.
        let mut seen: FastMap<Key, u32> = FastMap::default();
        for c in &co.consts {
            if let (Constant::Tuple(_), Some(k)) = (c, const_key(c)) {
                *seen.entry(k).or_insert(0) += 1;
            }
        }
        if let Some(flag) = self.begin(consts_ident) {
            self.tuple_header(co.consts.len(), flag);
            for c in &co.consts {
                let fresh = matches!(c, Constant::Tuple(_)) && const_key(c).is_some_and(|k| seen.get(&k).is_some_and(|&n| n > 1));
                self.constant_in(c, false, false, false, fresh);
            }
        }

        let of_kind = |kind: u8| co.localsplus.iter().filter(|s| s.kind & kind != 0).map(|s| &s.name).collect::<Vec<_>>();
        let names: Vec<&PyStr> = co.names.iter().collect();
        for tuple in [names, of_kind(crate::object::KIND_LOCAL), of_kind(crate::object::KIND_FREE), of_kind(crate::object::KIND_CELL)] {
            // Before 3.8 only the empty tuple (a singleton) is shared.
            let ident = match name_tuple_ident(&tuple) {
                Ident::Shared { forced: false, .. } if old.merge != Merge::Module => Ident::Unique { flag: false },
                other => other,
            };
            if let Some(flag) = self.begin(ident) {
                self.tuple_header(tuple.len(), flag);
                for n in &tuple {
                    self.old_name(n);
                }
            }
        }
        let filename = Ident::Shared { key: Key::Filename(co.filename.as_wtf8()), forced: true, held: false };
        self.str_obj(&co.filename, false, filename);
        if let Some(&(_, interned)) = OLD_STATIC_NAMES.iter().find(|(n, _)| n.as_bytes() == co.name.as_wtf8()) {
            let interned = interned || old.comprehension_names_interned;
            let key = Key::StaticName(co.name.as_wtf8());
            self.str_obj(&co.name, interned, Ident::Shared { key, forced: true, held: false });
        } else {
            self.old_name(&co.name);
        }
        self.long(co.firstlineno);
        let table = if (co.linetable.is_empty() && old.empty_bytes_cached) || old.merge_code_and_table {
            table_ident(&co.linetable)
        } else {
            Ident::Unique { flag: false }
        };
        self.bytes_obj(&co.linetable, table);
    }

    /// An interned name (3.6–3.10): shared by value, flagged when used twice or a cached
    /// one-character str, or one of the compiler's interned statics.
    fn old_name(&mut self, n: &'a PyStr) {
        let forced = is_latin1_char(n) || OLD_STATIC_NAMES.iter().any(|(s, i)| *i && s.as_bytes() == n.as_wtf8());
        self.str_obj(n, true, Ident::Shared { key: str_key(n, true), forced, held: false });
    }

    fn new_code_body(&mut self, co: &'a CodeObject, flag: u8) {
        // Field order of 3.11's w_complex_object for code objects (checked against 3.11.7
        // output): the five counts, code, consts, names, localsplusnames, localspluskinds,
        // filename, name, qualname, firstlineno, linetable, exceptiontable.
        self.byte(flag | TYPE_CODE);
        for v in [co.argcount, co.posonlyargcount, co.kwonlyargcount, co.stacksize, co.flags] {
            self.long(v as i32);
        }

        // A class body starts by storing its qualname as `__qualname__`: its first constant is
        // the co_qualname object itself, unless an equal string constant came before (decided
        // now, before this body's constants are met).
        let is_class_body = co.flags & CO_NEWLOCALS == 0
            && co.qualname != co.name
            && matches!(co.consts.first(), Some(Constant::Str(s)) if *s == co.qualname);
        let owns_qualname_const = is_class_body && !self.seen_strs.contains(co.qualname.as_wtf8());

        let code_ident = if co.code.is_empty() { table_ident(&co.code) } else { Ident::Unique { flag: true } };
        self.bytes_obj(&co.code, code_ident);

        let consts_ident = match co.consts.iter().map(const_key).collect::<Option<Vec<_>>>() {
            Some(keys) => Ident::Shared { forced: keys.is_empty(), key: Key::Tuple(keys), held: false },
            None => Ident::Unique { flag: false },
        };
        if let Some(flag) = self.begin(consts_ident) {
            self.tuple_header(co.consts.len(), flag);
            for c in &co.consts {
                self.constant(c, false, false);
            }
        }

        let names: Vec<&PyStr> = co.names.iter().collect();
        self.name_tuple(&names);
        let lp_names: Vec<&PyStr> = co.localsplus.iter().map(|s| &s.name).collect();
        self.name_tuple(&lp_names);
        let kinds: Vec<u8> = co.localsplus.iter().map(|s| s.kind).collect();
        let kinds_ident = if kinds.is_empty() { table_ident(&[]) } else { Ident::Unique { flag: false } };
        self.bytes_obj(&kinds, kinds_ident);

        let intern_names = self.policy.intern_code_names;
        let filename_key =
            if intern_names { str_key(&co.filename, true) } else { Key::Filename(co.filename.as_wtf8()) };
        let filename = Ident::Shared { key: filename_key, forced: true, held: false };
        self.str_obj(&co.filename, intern_names, filename);

        // The compiler's own names for anonymous scopes are static, non-interned strings;
        // everything else is an identifier, interned by the parser.
        let name_is_static = co.name.as_wtf8().first() == Some(&b'<');
        let name_ident = || {
            let text = co.name.as_wtf8();
            let key = if name_is_static && !intern_names { Key::StaticName(text) } else { str_key(&co.name, true) };
            Ident::Shared { key, forced: true, held: false }
        };
        let name_interned = !name_is_static || intern_names;
        self.str_obj(&co.name, name_interned, name_ident());

        if co.qualname == co.name {
            self.str_obj(&co.qualname, name_interned, name_ident());
        } else if intern_names {
            let ident = Ident::Shared { key: str_key(&co.qualname, true), forced: true, held: false };
            self.str_obj(&co.qualname, true, ident);
        } else {
            let ident = if owns_qualname_const {
                let key = str_key(&co.qualname, const_str_interned(&co.qualname));
                Ident::Shared { key, forced: false, held: false }
            } else {
                Ident::Unique { flag: false }
            };
            self.str_obj(&co.qualname, false, ident);
        }

        self.long(co.firstlineno);
        self.bytes_obj(&co.linetable, table_ident(&co.linetable));
        self.bytes_obj(&co.exceptiontable, table_ident(&co.exceptiontable));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::LocalSlot;

    fn int(v: i64) -> Constant {
        Constant::Int(BigInt::from(v))
    }
    fn s(text: &str) -> Constant {
        Constant::Str(PyStr::from(text))
    }

    // Expected bytes below were printed by CPython 3.11.7's marshal.dumps.
    #[test]
    fn top_level_constants() {
        assert_eq!(dump_constant(&Constant::None), b"N");
        assert_eq!(dump_constant(&int(100000)), b"\xe9\xa0\x86\x01\x00");
        assert_eq!(dump_constant(&Constant::Float(1.5)), b"\xe7\x00\x00\x00\x00\x00\x00\xf8?");
        assert_eq!(dump_constant(&s("abc")), b"\xda\x03abc");
        assert_eq!(dump_constant(&s(" ")), b"\xfa\x01 ");
        assert_eq!(dump_constant(&Constant::Tuple(vec![int(1)])), b"\xa9\x01\xe9\x01\x00\x00\x00");
    }

    #[test]
    fn ints() {
        // 2**31 needs three 15-bit digits: 0, 0, 2.
        let two31 = Constant::Int(BigInt::from(1u64 << 31));
        assert_eq!(dump_constant(&two31), b"\xec\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00");
        let m = Constant::Int(-BigInt::from((1u64 << 31) + 1));
        assert_eq!(dump_constant(&m), b"\xec\xfd\xff\xff\xff\x01\x00\x00\x00\x02\x00");
        assert_eq!(dump_constant(&int(-(1 << 31))), b"\xe9\x00\x00\x00\x80");
        // 2**45: digits 0, 0, 0, 1.
        let big = Constant::Int(BigInt::from(1u64 << 45));
        assert_eq!(dump_constant(&big), b"\xec\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00");
    }

    #[test]
    fn strings() {
        // Non-ASCII goes as UTF-8 with surrogates passed through.
        let lone = Constant::Str(PyStr::from_code_points(&[0xDC80]));
        assert_eq!(dump_constant(&lone), b"\xf5\x03\x00\x00\x00\xed\xb2\x80");
        let long = "x".repeat(300);
        let d = dump_constant(&s(&long));
        assert_eq!(&d[..5], b"\xc1\x2c\x01\x00\x00");
        let long_name = format!("{long} y");
        assert_eq!(dump_constant(&s(&long_name))[0], 0x80 | b'a');
    }

    #[test]
    fn repeated_values_share() {
        // Expected: marshal.dumps(compile(SRC, ..).co_consts[i]) — after compile() returns, so
        // the AST no longer holds the items (`python -c` would show extra FLAG_REFs).
        // ('a b c', 'a b c', ...) where both items are one object, as const merging makes it.
        let t = Constant::Tuple(vec![s("a b c"), s("a b c"), int(1000), Constant::Float(2.0)]);
        let d = dump_constant(&t);
        let want: &[u8] = b"\xa9\x04\xfa\x05a b cr\x01\x00\x00\x00i\xe8\x03\x00\x00g\x00\x00\x00\x00\x00\x00\x00@";
        assert_eq!(d, want);
        // A once-used tuple's items are counted once even if the tuple appears twice.
        let inner = Constant::Tuple(vec![s("x y")]);
        let outer = Constant::Tuple(vec![inner.clone(), inner]);
        assert_eq!(dump_constant(&outer), b"\xa9\x02\xa9\x01z\x03x yr\x01\x00\x00\x00");
    }

    #[test]
    fn frozenset_elements_sorted_and_flagged() {
        // marshal.dumps(fs) for the frozenset of
        // `x in {'zzq_a', 'zzq b', 1000, 2.5, (1, 'q r'), 'aa', b'xy', -1, 70000, 3.5}`:
        // elements in the order of their own dumps, each with FLAG_REF, whatever order we give.
        let items = vec![
            s("zzq_a"),
            s("zzq b"),
            int(1000),
            Constant::Float(2.5),
            Constant::Tuple(vec![int(1), s("q r")]),
            s("aa"),
            Constant::Bytes(b"xy".to_vec()),
            int(-1),
            int(70000),
            Constant::Float(3.5),
        ];
        let want: &[u8] = b"\xbe\n\x00\x00\x00\xa9\x02\xe9\x01\x00\x00\x00z\x03q r\xe7\x00\x00\x00\x00\x00\x00\x04@\xe7\x00\x00\x00\x00\x00\x00\x0c@\xe9p\x11\x01\x00\xe9\xe8\x03\x00\x00\xf3\x02\x00\x00\x00xy\xfa\x05zzq b\xda\x02aa\xda\x05zzq_a\xe9\xff\xff\xff\xff";
        assert_eq!(dump_constant(&Constant::FrozenSet(items.clone())), want);
        let mut reversed = items;
        reversed.reverse();
        assert_eq!(dump_constant(&Constant::FrozenSet(reversed)), want);
    }

    #[test]
    fn nans_are_never_merged() {
        let nan = Constant::Float(f64::NAN);
        let t =
            dump_constant(&Constant::Tuple(vec![nan.clone(), nan.clone(), Constant::Float(1.0), Constant::Float(1.0)]));
        let mut want = b"\xa9\x04g".to_vec();
        want.extend_from_slice(&f64::NAN.to_le_bytes());
        want.push(b'g');
        want.extend_from_slice(&f64::NAN.to_le_bytes());
        want.extend_from_slice(b"\xe7\x00\x00\x00\x00\x00\x00\xf0?r\x01\x00\x00\x00");
        assert_eq!(t, want);
    }

    #[test]
    fn one_character_strings() {
        // '*' is interned in every 3.11 process; other punctuation is not.
        assert_eq!(dump_constant(&s("*")), b"\xda\x01*");
        assert_eq!(dump_constant(&s(".")), b"\xfa\x01.");
        // A one-character latin-1 constant used as a name too is the interned name object.
        let mut co = func("f", "f");
        co.consts = vec![Constant::None, s("\u{e4}")];
        co.localsplus = vec![LocalSlot { name: PyStr::from("\u{e4}"), kind: 0x20 }];
        let d = dump_code(&co);
        assert!(d.windows(7).any(|w| w == b"\xf4\x02\x00\x00\x00\xc3\xa4"), "interned, flagged");
        assert!(d.windows(5).any(|w| w == b"r\x02\x00\x00\x00"), "name refers to the constant");
    }

    #[test]
    fn class_body_qualname_is_its_first_constant() {
        let class = |line: i32| {
            let mut c = func("C", "f.<locals>.C");
            c.flags = 0;
            c.argcount = 0;
            c.localsplus.clear();
            c.consts = vec![s("f.<locals>.C"), Constant::None];
            c.firstlineno = line;
            c
        };
        let mut f = func("f", "f");
        f.consts = vec![Constant::None, Constant::Code(Box::new(class(2))), Constant::Code(Box::new(class(4)))];
        let d = dump_code(&f);
        // First class: the constant gets FLAG_REF and co_qualname refers to it. Second class:
        // its constant is that same object, its co_qualname a separate, unflagged string.
        let flagged = b"\xfa\x0cf.<locals>.C";
        let plain = b"z\x0cf.<locals>.C";
        assert_eq!(d.windows(flagged.len()).filter(|w| w == flagged).count(), 1);
        assert_eq!(d.windows(plain.len()).filter(|w| w == plain).count(), 1);
    }

    fn func(name: &str, qualname: &str) -> CodeObject {
        CodeObject {
            argcount: 1,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            nlocals: 0,
            stacksize: 1,
            flags: 3,
            code: b"\x97\x00|\x00S\x00".to_vec(),
            consts: vec![Constant::None],
            names: vec![],
            localsplus: vec![LocalSlot { name: PyStr::from("x"), kind: 0x20 }],
            filename: PyStr::from("m.py"),
            name: PyStr::from(name),
            qualname: PyStr::from(qualname),
            firstlineno: 1,
            linetable: b"\x80\x00\xd8\x0b\x0c".to_vec(),
            exceptiontable: vec![],
        }
    }

    #[test]
    fn code_object_layout() {
        let d = dump_code(&func("f", "f"));
        let mut want: Vec<u8> = vec![0xE3];
        for v in [1u32, 0, 0, 1, 3] {
            want.extend_from_slice(&v.to_le_bytes());
        }
        want.extend_from_slice(b"\xf3\x06\x00\x00\x00\x97\x00|\x00S\x00"); // [1] code
        want.extend_from_slice(b")\x01N"); // consts, used once
        want.extend_from_slice(b"\xa9\x00"); // [2] () names
        want.extend_from_slice(b")\x01\xda\x01x"); // localsplusnames, [3] 'x'
        want.extend_from_slice(b"s\x01\x00\x00\x00 "); // kinds
        want.extend_from_slice(b"\xfa\x04m.py"); // [4] filename
        want.extend_from_slice(b"\xda\x01f"); // [5] name
        want.extend_from_slice(b"r\x05\x00\x00\x00"); // qualname is name
        want.extend_from_slice(&1i32.to_le_bytes());
        want.extend_from_slice(b"s\x05\x00\x00\x00\x80\x00\xd8\x0b\x0c"); // linetable
        want.extend_from_slice(b"\xf3\x00\x00\x00\x00"); // [6] b''
        assert_eq!(d, want);
    }

    #[test]
    fn nested_code_sharing() {
        let mut module = func("<module>", "<module>");
        module.localsplus.clear();
        module.consts = vec![
            Constant::Code(Box::new(func("g", "g"))),
            Constant::Code(Box::new(func("<lambda>", "g.<locals>.<lambda>"))),
            Constant::None,
        ];
        let d = dump_code(&module);
        let text = String::from_utf8_lossy(&d).into_owned();
        // Filename, linetable and consts tuple `(None,)` of the two functions are shared.
        assert_eq!(text.matches("m.py").count(), 1);
        assert_eq!(d.windows(5).filter(|w| *w == b"\x80\x00\xd8\x0b\x0c").count(), 1);
        // Nested code objects carry no FLAG_REF, '<module>' is written non-interned with one.
        assert_eq!(d[0], FLAG_REF | TYPE_CODE);
        assert_eq!(d.iter().filter(|&&b| b == FLAG_REF | TYPE_CODE).count(), 1);
        assert!(d.windows(10).any(|w| w == b"\xfa\x08<module>"));
        assert!(d.windows(21).any(|w| w == b"z\x13g.<locals>.<lambda>"));
    }
}
