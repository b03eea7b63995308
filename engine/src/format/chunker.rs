//! Content-defined chunking with FastCDC (v2020). Boundaries depend only on content, so an
//! insertion early in a file moves only the chunks around it. The gear table is XORed with a
//! seed derived from the master key, so chunk sizes do not reveal content to someone who knows
//! the public gear table (as borg's seeded buzhash does).
//!
//! `Chunker::cuts` works on a slice; `StreamChunker` feeds it windows of a file read with large
//! buffered reads, giving the same boundaries as chunking the whole file at once.

use std::io;

use fastcdc::v2020::{FastCDC, Normalization};

use crate::format::config::ChunkerParams;

#[derive(Debug, Clone, Copy)]
pub struct Chunker {
    pub params: ChunkerParams,
    pub seed: u64,
}

impl Chunker {
    pub fn new(params: ChunkerParams, seed: u64) -> Self {
        Chunker { params, seed }
    }

    /// Chunk lengths of `data`, in order; they add up to `data.len()`.
    pub fn cuts(&self, data: &[u8]) -> Vec<usize> {
        let p = self.params;
        if data.len() <= p.min_size as usize {
            // Below the minimum there is nothing to cut: skip building gear tables.
            return if data.is_empty() {
                vec![]
            } else {
                vec![data.len()]
            };
        }
        FastCDC::with_level_and_seed(
            data,
            p.min_size,
            p.avg_size,
            p.max_size,
            Normalization::Level1,
            self.seed,
        )
        .map(|c| c.length)
        .collect()
    }
}

/// Chunks a stream read through a reusable window buffer (no per-chunk allocation). Each call
/// to `next_batch` returns the chunks that are final in the current window: all of them at the
/// end of the stream, otherwise all but the last, which is re-cut together with the next read.
pub struct StreamChunker<R> {
    chunker: Chunker,
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: io::Read> StreamChunker<R> {
    /// `window` must be at least twice the maximum chunk size.
    pub fn new(chunker: Chunker, reader: R, window: usize) -> Self {
        let window = window.max(2 * chunker.params.max_size as usize);
        StreamChunker {
            chunker,
            reader,
            buf: vec![0; window],
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// The next run of final chunks as (buffer, lengths); None at the end of the stream.
    pub fn next_batch(&mut self) -> io::Result<Option<(&[u8], Vec<usize>)>> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while !self.eof && self.end < self.buf.len() {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.end == 0 {
            return Ok(None);
        }
        let mut cuts = self.chunker.cuts(&self.buf[..self.end]);
        if !self.eof && cuts.len() > 1 {
            cuts.pop();
        }
        let used: usize = cuts.iter().sum();
        self.start = used;
        Ok(Some((&self.buf[..used], cuts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn small() -> Chunker {
        Chunker::new(
            ChunkerParams {
                min_size: 1024,
                avg_size: 4096,
                max_size: 16384,
            },
            0x1234,
        )
    }

    fn data(n: usize, seed: u64) -> Vec<u8> {
        let mut r = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| r.gen()).collect()
    }

    #[test]
    fn stream_matches_whole_slice() {
        let c = small();
        let d = data(300_000, 1);
        let whole = c.cuts(&d);
        assert_eq!(whole.iter().sum::<usize>(), d.len());
        // A reader returning odd-sized reads must not change the boundaries.
        struct Odd<'a>(&'a [u8], usize);
        impl io::Read for Odd<'_> {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                self.1 += 1;
                let n = (self.1 * 7919 % 5000 + 1).min(b.len()).min(self.0.len());
                b[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut s = StreamChunker::new(c, Odd(&d, 0), 32768);
        let mut got = Vec::new();
        let mut bytes = Vec::new();
        while let Some((buf, cuts)) = s.next_batch().unwrap() {
            bytes.extend_from_slice(buf);
            got.extend(cuts);
        }
        assert_eq!(got, whole);
        assert_eq!(bytes, d);
    }

    #[test]
    fn insertion_moves_few_chunks() {
        let c = small();
        let d = data(1_000_000, 2);
        let mut e = vec![0x55];
        e.extend_from_slice(&d);
        let set = |v: &[u8]| {
            let mut off = 0;
            c.cuts(v)
                .into_iter()
                .map(|l| {
                    off += l;
                    blake3::hash(&v[off - l..off])
                })
                .collect::<std::collections::HashSet<_>>()
        };
        let a = set(&d);
        let b = set(&e);
        let new = b.difference(&a).count();
        assert!(new <= 3, "{new} new chunks after a one-byte insertion");
    }

    #[test]
    fn seed_changes_boundaries() {
        let d = data(500_000, 3);
        let mut other = small();
        other.seed = 99;
        assert_ne!(small().cuts(&d), other.cuts(&d));
    }
}
