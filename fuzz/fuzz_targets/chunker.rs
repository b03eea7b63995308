//! `Chunker::cuts` over arbitrary data with small valid parameters, and `StreamChunker` over the
//! same data (read in odd-sized pieces through a small window) giving the same cuts.
//!
//! Input: 16 header bytes (parameters, seed, read pattern, window), then the data.

#![no_main]

use std::io;

use engine::format::chunker::{Chunker, StreamChunker};
use engine::format::config::ChunkerParams;
use libfuzzer_sys::fuzz_target;

/// Returns reads of varying sizes (1..=`1 + 4 * step`), so window refills land anywhere.
struct Odd<'a> {
    data: &'a [u8],
    step: usize,
    n: usize,
}

impl io::Read for Odd<'_> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        self.n += 1;
        let want = (self.n * 7919) % (1 + 4 * self.step) + 1;
        let k = want.min(b.len()).min(self.data.len());
        b[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 16 {
        return;
    }
    let (head, data) = input.split_at(16);
    let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]) as u32;
    // Small valid parameters: min 64..=1024, avg min.max(256)..+4096, max avg.max(1024)..+16384.
    let min_size = 64 + u16_at(0) % (1024 - 64 + 1);
    let avg_size = min_size.max(256) + u16_at(2) % 4097;
    let max_size = avg_size.max(1024) + u16_at(4) % 16385;
    let params = ChunkerParams {
        min_size,
        avg_size,
        max_size,
    };
    params
        .validate()
        .expect("the target only builds valid parameters");
    let seed = u64::from_le_bytes(head[6..14].try_into().unwrap());
    let chunker = Chunker::new(params, seed);

    let cuts = chunker.cuts(data);
    assert_eq!(
        cuts.iter().sum::<usize>(),
        data.len(),
        "cuts must cover the input exactly"
    );
    for &c in &cuts {
        assert!(c > 0, "empty chunk");
        assert!(
            c <= max_size as usize,
            "chunk of {c} bytes exceeds max_size {max_size}"
        );
    }

    // The window is raised to at least 2 * max_size by StreamChunker::new.
    let window = head[15] as usize * 64;
    let reader = Odd {
        data,
        step: head[14] as usize * 8,
        n: 0,
    };
    let mut s = StreamChunker::new(chunker, reader, window);
    let mut got = Vec::with_capacity(cuts.len());
    let mut bytes = Vec::with_capacity(data.len());
    while let Some((buf, batch)) = s.next_batch().expect("in-memory reads cannot fail") {
        assert_eq!(buf.len(), batch.iter().sum::<usize>());
        assert!(
            !batch.is_empty(),
            "a batch with no chunks would loop forever"
        );
        bytes.extend_from_slice(buf);
        got.extend(batch);
    }
    assert_eq!(got, cuts, "StreamChunker must cut where Chunker::cuts does");
    assert_eq!(
        bytes, data,
        "StreamChunker must hand back the input unchanged"
    );
});
