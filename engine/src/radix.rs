//! `Buckets`: a directory over a sorted sequence of uniformly spread `u64` keys (id prefixes),
//! so that finding a key looks at a handful of neighbouring entries instead of binary
//! searching millions of scattered ones. At a million keys a binary search misses the cache
//! at nearly every step; it was a fifth of a prune's time and most of an index lookup's.

use std::ops::Range;

/// Where the keys with each value of their top `bits` bits begin, for about 16 keys a bucket.
#[derive(Debug, Default, Clone)]
pub struct Buckets {
    bits: u32,
    /// One start per bucket, and the end of the sequence last. Empty until `build`.
    starts: Vec<usize>,
}

impl Buckets {
    /// Builds the directory of `keys`, which must be sorted.
    pub fn build(keys: impl ExactSizeIterator<Item = u64>) -> Buckets {
        let n = keys.len();
        let bits = (usize::BITS - (n / 16).leading_zeros()).min(24);
        let mut b = Buckets {
            bits,
            starts: vec![n; (1 << bits) + 1],
        };
        let mut next = 0;
        for (i, k) in keys.enumerate() {
            let kb = b.bucket(k);
            debug_assert!(kb + 1 >= next, "keys not sorted");
            while next <= kb {
                b.starts[next] = i;
                next += 1;
            }
        }
        b
    }

    fn bucket(&self, k: u64) -> usize {
        if self.bits == 0 {
            0
        } else {
            (k >> (64 - self.bits)) as usize
        }
    }

    /// The positions that may hold `k` (all of them hold keys sharing its top bits).
    pub fn range(&self, k: u64) -> Range<usize> {
        let b = self.bucket(k);
        match (self.starts.get(b), self.starts.get(b + 1)) {
            (Some(&lo), Some(&hi)) => lo..hi,
            _ => 0..0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_found_in_its_range_and_absent_keys_in_none() {
        for n in [0usize, 1, 15, 16, 17, 1000, 70_000] {
            // Spread keys, with runs of equal keys and the extremes.
            let mut keys: Vec<u64> = (0..n as u64)
                .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & !0xF)
                .collect();
            if n > 2 {
                keys[0] = 0;
                keys[1] = u64::MAX;
                keys[2] = keys[3 % n];
            }
            keys.sort_unstable();
            let b = Buckets::build(keys.iter().copied());
            for (i, k) in keys.iter().enumerate() {
                let r = b.range(*k);
                assert!(r.contains(&i), "n {n}: key {k:#x} at {i} not in {r:?}");
                let top = |x: u64| if b.bits == 0 { 0 } else { x >> (64 - b.bits) };
                assert!(keys[r].iter().all(|x| top(*x) == top(*k)));
            }
            for k in keys.iter().filter(|k| **k != u64::MAX).map(|k| k | 1) {
                let r = b.range(k);
                assert!(!keys[r].contains(&k));
            }
        }
        assert_eq!(Buckets::default().range(5), 0..0);
    }
}
