//! Where the generator's and the mutator's decisions come from: a seeded generator (the
//! campaign: the same seed gives the same programs on every machine) or the bytes of a fuzzer's
//! input (the cargo-fuzz target: libFuzzer steers the choices).

pub trait Choices {
    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize;

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// An index into `weights`, each chosen in proportion to its weight.
    fn weighted(&mut self, weights: &[usize]) -> usize {
        let total: usize = weights.iter().sum();
        let mut x = self.below(total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

impl dyn Choices + '_ {
    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// SplitMix64: small, fast and fully determined by its seed.
#[derive(Clone, Debug)]
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Seeded {
        Seeded(seed)
    }

    /// A generator for item `index` of stream `stream` under `seed`, independent of how many
    /// numbers other items used: programs stay the same when the mutation mix changes.
    pub fn for_item(seed: u64, stream: u64, index: u64) -> Seeded {
        let mut s = Seeded(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let base = s.next_u64();
        Seeded(base ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Choices for Seeded {
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Choices read from a fuzzer's bytes, two at a time; zeros once they run out.
pub struct FromBytes<'a>(pub &'a [u8]);

impl Choices for FromBytes<'_> {
    fn below(&mut self, n: usize) -> usize {
        let take = self.0.len().min(2);
        let (head, rest) = self.0.split_at(take);
        self.0 = rest;
        let v = head.iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        v % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_items_independent() {
        let a: Vec<usize> = (0..5).map(|_| Seeded::new(7).below(1000)).collect();
        assert!(a.iter().all(|x| *x == a[0]));
        let mut s1 = Seeded::for_item(1, 2, 3);
        let mut s2 = Seeded::for_item(1, 2, 3);
        let mut s3 = Seeded::for_item(1, 2, 4);
        let (x1, x2, x3) = (s1.next_u64(), s2.next_u64(), s3.next_u64());
        assert_eq!(x1, x2);
        assert_ne!(x1, x3);
    }

    #[test]
    fn weighted_respects_zero_weights() {
        let mut s = Seeded::new(3);
        for _ in 0..200 {
            assert_ne!(s.weighted(&[5, 0, 5]), 1);
        }
        let mut b = FromBytes(&[0, 7]);
        assert_eq!(b.below(5), 2);
        assert_eq!(b.below(5), 0);
    }
}
