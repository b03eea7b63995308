//! Deterministic inputs shared by the benches: random bytes and pseudo-English text.
#![allow(dead_code)] // each bench uses only some of these

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// `n` bytes of seeded random data (incompressible, like media or encrypted files).
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; n];
    StdRng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "it",
    "you",
    "that",
    "he",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "his",
    "they",
    "be",
    "at",
    "one",
    "have",
    "this",
    "from",
    "or",
    "had",
    "by",
    "not",
    "word",
    "but",
    "what",
    "some",
    "we",
    "can",
    "out",
    "other",
    "were",
    "all",
    "there",
    "when",
    "up",
    "use",
    "your",
    "how",
    "said",
    "an",
    "each",
    "she",
    "which",
    "do",
    "their",
    "time",
    "if",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "write",
    "would",
    "like",
    "so",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "more",
    "day",
    "could",
    "go",
    "come",
    "did",
    "number",
    "sound",
    "no",
    "most",
    "people",
    "my",
    "over",
    "know",
    "water",
    "than",
    "call",
    "first",
    "who",
    "may",
    "down",
    "side",
    "been",
    "now",
    "find",
    "backup",
    "repository",
    "snapshot",
    "chunk",
    "archive",
    "restore",
    "configuration",
    "directory",
    "encryption",
    "compression",
    "deduplication",
    "index",
];

/// `n` bytes of seeded pseudo-English lines (compressible, like source code, logs or documents).
pub fn text_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut r = StdRng::seed_from_u64(seed);
    let mut v = Vec::with_capacity(n + 128);
    let mut line = 0u64;
    while v.len() < n {
        line += 1;
        // Some lines look like log records, most like prose.
        if r.gen_ratio(1, 5) {
            v.extend_from_slice(
                format!(
                    "2026-11-{:02} {:02}:{:02}:{:02} INFO line {line}: ",
                    r.gen_range(1..29),
                    r.gen_range(0..24),
                    r.gen_range(0..60),
                    r.gen_range(0..60)
                )
                .as_bytes(),
            );
        }
        let words = r.gen_range(4..16);
        for i in 0..words {
            let w = WORDS[r.gen_range(0..WORDS.len())];
            if i == 0 {
                let mut c = w.as_bytes().to_vec();
                c[0] = c[0].to_ascii_uppercase();
                v.extend_from_slice(&c);
            } else {
                v.push(b' ');
                v.extend_from_slice(w.as_bytes());
            }
        }
        v.extend_from_slice(if r.gen_ratio(1, 8) { b",\n" } else { b".\n" });
    }
    v.truncate(n);
    v
}
