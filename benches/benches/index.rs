//! The local sled index (`engine::index::Index`): filling it, inserting into it and looking ids
//! up, at 1M entries; `VCD_BENCH_LARGE=1` adds 10M.
//!
//! Per size:
//! - `index_fill/<n>`: one timed pass inserting n entries into an empty index (64 per pack, so
//!   one sled batch a pack) plus the final flush, printed on stderr with entries/s, the process's
//!   peak and current RSS, and the database's size on disk. Criterion would repeat a
//!   minute-long pass at least 10 times, so this is measured once, outside it.
//! - `index_insert/<n>`: criterion, inserting one more 64-entry pack into the filled index
//!   (throughput in entries). The index grows while it runs, by ~0.1M entries at most.
//! - `index_lookup/hit/<n>` and `index_lookup/miss/<n>`: criterion, one lookup of a random
//!   present id (drawn from every 10th/100th id inserted) or of a random absent one.
//!
//! Entries are generated pack by pack as they are inserted, so the process's memory is sled's,
//! not the bench's. Measured 2026-11-25 on the 2-core bench machine (sled 0.34.7,
//! cache_capacity 16 MiB, ext4 on a virtio disk; `nice -n 19` while other builds kept the load
//! at 4-6, so these are upper bounds):
//!
//! | entries | fill | entries/s | insert a 64-entry pack | lookup hit | lookup miss | RSS after fill | on disk |
//! |---:|---:|---:|---:|---:|---:|---:|---:|
//! | 1M  | 66 s     | 15,200 | 5.8 ms (11,000/s) | 23 µs | 27 µs  | 90 MiB  | 297 MiB  |
//! | 10M | 1,098 s  | 9,100  | 8.7 ms (7,400/s)  | 95 µs | 109 µs | 336 MiB | 3.0 GiB  |
//!
//! Filling 10M slows from 18,400 entries/s over the first million to 7,600/s over the last
//! (132 s a million), and RSS grows ~27 MiB a million entries (93 MiB at 1M, 336 MiB at 10M),
//! well past the 16 MiB cache capacity (presumably sled's page table and per-node state).
//! Lookups go to disk (page cache) once the tree outgrows the cache: 2.3 µs at 100k entries,
//! 23 µs at 1M, ~100 µs at 10M. Whole-process peak RSS (/usr/bin/time -v): 104 MiB for the
//! default run, 350 MiB with 10M.
//!
//! `Index::insert_pack`'s batch size (64), measured at 1M with a copy of it on plain sled: no
//! batch, 16, 64, 128 and 256 all take 50-100 s (within this machine's noise) at 86-113 MiB;
//! 1,024 takes 57 s at 2.3 GiB and 4,096 35 s at 5.2 GiB. Only huge batches are faster, and
//! their memory rules them out.
//!
//! The default run (1M) takes about 1.5 minutes (fill ~70 s + 12 s of criterion); with
//! `VCD_BENCH_LARGE=1`, 1M then 10M, about 20 minutes:
//! `VCD_BENCH_LARGE=1 nice -n 19 cargo bench -p vcd-benches --bench index`.
//!
//! Throughput here is in entries (elements), not bytes: an index entry has no payload.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

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
/// Present ids kept for the lookup benches, at most (every n/SAMPLE-th id inserted).
const SAMPLE: usize = 100_000;

fn id(r: &mut StdRng) -> Id {
    let mut b = [0u8; 32];
    r.fill_bytes(&mut b);
    Id(b)
}

/// One pack of `count` entries with random ids.
fn pack(r: &mut StdRng, count: usize) -> PackEntries {
    let mut offset = 0u64;
    let entries = (0..count)
        .map(|_| {
            let raw_length = r.gen_range(128 * 1024..2 * 1024 * 1024);
            let length = raw_length / 2;
            let e = BlobEntry {
                ty: BlobType::Data,
                compressed: true,
                id: id(r),
                offset,
                length,
                raw_length,
            };
            offset += length as u64;
            e
        })
        .collect();
    PackEntries {
        pack: id(r),
        entries,
    }
}

/// A line of /proc/self/status, e.g. VmHWM, in MiB.
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn disk_mib(p: &Path) -> f64 {
    fn walk(p: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return 0;
        };
        let mut n = m.blocks() * 512;
        if m.is_dir() {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                n += walk(&e.path());
            }
        }
        n
    }
    walk(p) as f64 / (1 << 20) as f64
}

/// Fills a new index with n entries in one timed pass; returns it with a sample of its ids.
fn fill(n: usize, label: &str) -> (tempfile::TempDir, Index, Vec<Id>) {
    // On disk under target/, like the real cache, not in a tmpfs /tmp.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let ix = Index::open(&dir.path().join("index.sled")).unwrap();
    // Builds the (empty) lookup table now, as a backup's first lookup does, so the inserts
    // below also go into it.
    assert_eq!(ix.len().unwrap(), 0);
    let mut r = StdRng::seed_from_u64(n as u64);
    let every = n.div_ceil(SAMPLE);
    let mut sample = Vec::with_capacity(SAMPLE);
    let (rss0, t) = (status_mib("VmRSS"), Instant::now());
    let mut done = 0;
    while done < n {
        let p = pack(&mut r, PER_PACK.min(n - done));
        for (i, e) in p.entries.iter().enumerate() {
            if (done + i) % every == 0 {
                sample.push(e.id);
            }
        }
        ix.insert_pack(&p).unwrap();
        done += p.entries.len();
        if done % 1_000_000 == 0 && done < n {
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "index_fill/{label}: {done} entries in {s:.1} s ({:.0}/s), RSS {:.0} MiB",
                done as f64 / s,
                status_mib("VmRSS")
            );
        }
    }
    ix.flush().unwrap();
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "index_fill/{label}: {n} entries in {s:.1} s = {:.0} entries/s ({:.1} µs each); \
         RSS {:.0} MiB (was {rss0:.0}), peak {:.0} MiB; {:.0} MiB on disk",
        n as f64 / s,
        s * 1e6 / n as f64,
        status_mib("VmRSS"),
        status_mib("VmHWM"),
        disk_mib(dir.path())
    );
    (dir, ix, sample)
}

fn bench(c: &mut Criterion) {
    let mut sizes = vec![1_000_000];
    if std::env::var("VCD_BENCH_LARGE").is_ok_and(|v| v == "1") {
        sizes.push(10_000_000);
    }
    for n in sizes {
        let label = format!("{}M", n / 1_000_000);
        let (_dir, ix, ids) = fill(n, &label);

        let mut r = StdRng::seed_from_u64(9);
        let mut g = c.benchmark_group("index_insert");
        // Milliseconds an iteration, and each grows the index: few, flat samples.
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        g.throughput(Throughput::Elements(PER_PACK as u64));
        g.bench_function(BenchmarkId::from_parameter(&label), |b| {
            b.iter_batched(
                || pack(&mut r, PER_PACK),
                |p| ix.insert_pack(black_box(&p)).unwrap(),
                BatchSize::SmallInput,
            )
        });
        g.finish();
        ix.flush().unwrap();

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
