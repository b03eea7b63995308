//! Building a 16 MiB pack: compress + seal each chunk (`seal_blob`), append, seal the trailer.
//! `fill_16MiB_random_zstd3` is what an incompressible byte costs after chunking and hashing:
//! the engine's compression attempt (which gives up early) plus sealing and packing.

mod common;

use std::time::Duration;

use common::{random_bytes, text_bytes, KIB, MIB};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use engine::crypto::MasterKey;
use engine::format::blob::{seal_blob, BlobType};
use engine::format::pack::PackWriter;

const PACK: usize = 16 * MIB;
const CHUNK: usize = 512 * KIB;

fn bench(c: &mut Criterion) {
    let keys = MasterKey::from_bytes([7; 32]).derive();
    // Half random, half text-like chunks, enough raw data to fill one pack of 16 MiB.
    let chunks: Vec<Vec<u8>> = (0..PACK / CHUNK)
        .map(|i| {
            if i % 2 == 0 {
                random_bytes(CHUNK, 100 + i as u64)
            } else {
                text_bytes(CHUNK, 100 + i as u64)
            }
        })
        .collect();
    let random: Vec<Vec<u8>> = (0..PACK / CHUNK)
        .map(|i| random_bytes(CHUNK, 300 + i as u64))
        .collect();
    let raw: usize = chunks.iter().map(Vec::len).sum();

    let mut g = c.benchmark_group("pack");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(raw as u64));
    for (name, level, chunks) in [
        ("fill_16MiB_zstd3", 3, &chunks),
        ("fill_16MiB_raw", 0, &chunks),
        ("fill_16MiB_random_zstd3", 3, &random),
    ] {
        let ids: Vec<_> = chunks.iter().map(|d| keys.chunk_id.id(d)).collect();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut w = PackWriter::with_capacity(PACK + MIB);
                for (d, id) in chunks.iter().zip(&ids) {
                    w.add(&seal_blob(&keys, BlobType::Data, *id, black_box(d), level));
                }
                w.finish(&keys.data)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
