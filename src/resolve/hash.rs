//! A fast hasher for the resolver's tables (labels, names, constants) and marshal's (shared
//! objects).
//!
//! Every operand of every instruction is looked up in one of these tables, and std's SipHash,
//! made to resist inputs crafted to collide, costs more than the rest of the lookup. A .pyasm
//! file is not an untrusted network input of that kind: a file made to collide would only make
//! its own assembly slower. The mixing step is the one of rustc's FxHasher (a rotate, xor and
//! multiply per word) with MurmurHash3's finalizer, written here rather than taken as a
//! dependency.

use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with the fast hasher.
pub type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A `HashSet` with the fast hasher.
pub type FastSet<T> = std::collections::HashSet<T, BuildHasherDefault<FastHasher>>;
/// An `IndexSet` with the fast hasher.
pub type FastIndexSet<T> = indexmap::IndexSet<T, BuildHasherDefault<FastHasher>>;

#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The remainder as a little-endian word padded with zeros, byte by byte: a copy
            // into a buffer of its variable length is a call to memcpy per hash.
            let last = rest.iter().enumerate().fold(0u64, |w, (i, &b)| w | (b as u64) << (8 * i));
            self.add(last);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // A multiply only carries a word's bits upwards, and the tables index buckets by the
        // low bits: without this final mixing (MurmurHash3's), labels that differ in their
        // last characters (`L10001`, `L10002`) would share buckets.
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_lookups_work() {
        let mut m: FastMap<String, usize> = FastMap::default();
        for i in 0..1000 {
            m.insert(format!("label{i}"), i);
        }
        assert!((0..1000).all(|i| m[&format!("label{i}")] == i));
        assert_eq!(m.get("label1000"), None);
    }
}
