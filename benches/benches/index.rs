//! The local sled index: inserting packs' entries and looking ids up, at 100k entries
//! (and 1M with VCD_BENCH_LARGE=1: sled takes about a minute to insert those).
//!
//! Throughput here is in entries (elements), not bytes: an index entry has no payload.

mod common;

use std::time::Duration;

use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode,
    Throughput,
};
use engine::index::{Index, PackEntries};
use engine::pack::{BlobEntry, BlobType};
use engine::Id;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// Entries per pack: a 16 MiB pack of 512 KiB chunks holds ~32; small files make it more.
const PER_PACK: usize = 64;

fn id(r: &mut StdRng) -> Id {
    let mut b = [0u8; 32];
    r.fill_bytes(&mut b);
    Id(b)
}

fn packs(n: usize, seed: u64) -> Vec<PackEntries> {
    let mut r = StdRng::seed_from_u64(seed);
    (0..n.div_ceil(PER_PACK))
        .map(|p| {
            let count = PER_PACK.min(n - p * PER_PACK);
            let mut offset = 0u64;
            let entries = (0..count)
                .map(|_| {
                    let raw_length = r.gen_range(128 * 1024..2 * 1024 * 1024);
                    let length = raw_length / 2;
                    let e = BlobEntry {
                        ty: BlobType::Data,
                        compressed: true,
                        id: id(&mut r),
                        offset,
                        length,
                        raw_length,
                    };
                    offset += length as u64;
                    e
                })
                .collect();
            PackEntries {
                pack: id(&mut r),
                entries,
            }
        })
        .collect()
}

fn fill(packs: &[PackEntries]) -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().unwrap();
    let ix = Index::open(&dir.path().join("index.sled")).unwrap();
    for p in packs {
        ix.insert_pack(p).unwrap();
    }
    (dir, ix)
}

fn bench(c: &mut Criterion) {
    let mut sizes = vec![100_000];
    if std::env::var("VCD_BENCH_LARGE").is_ok_and(|v| v == "1") {
        sizes.push(1_000_000);
    }
    for n in sizes {
        let label = if n >= 1_000_000 {
            format!("{}M", n / 1_000_000)
        } else {
            format!("{}k", n / 1000)
        };
        let data = packs(n, n as u64);

        let mut g = c.benchmark_group("index_insert");
        // Seconds an iteration: flat sampling runs 10 samples, not the 55 iterations of linear.
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(if n >= 1_000_000 { 60 } else { 15 }));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(&label), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let ix = Index::open(&dir.path().join("index.sled")).unwrap();
                    (dir, ix)
                },
                |(dir, ix)| {
                    for p in &data {
                        ix.insert_pack(p).unwrap();
                    }
                    ix.flush().unwrap();
                    (dir, ix)
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();

        let (_dir, ix) = fill(&data);
        ix.flush().unwrap();
        let ids: Vec<Id> = data
            .iter()
            .flat_map(|p| p.entries.iter().map(|e| e.id))
            .collect();
        let mut r = StdRng::seed_from_u64(9);
        let mut g = c.benchmark_group("index_lookup");
        g.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("hit", &label), |b| {
            b.iter(|| {
                let id = &ids[r.gen_range(0..ids.len())];
                ix.lookup(black_box(id)).unwrap().unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("miss", &label), |b| {
            b.iter(|| {
                let missing = id(&mut r);
                ix.lookup(black_box(&missing)).unwrap()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
