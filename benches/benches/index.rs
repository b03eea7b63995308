//! The local index (`engine::cache::Index`: a record per pack in a file beside the sled
//! database, which says where each is, and a table of id prefixes in memory): filling it, inserting into it and looking ids up, at 1M entries;
//! `VCD_BENCH_LARGE=1` adds 10M.
//!
//! Per size:
//! - `index_fill/<n>`: one timed pass inserting n entries into an empty index (64 per pack, so
//!   one record a pack) plus the final flush, printed on stderr with entries/s, the process's
//!   peak and current RSS, and the database's size on disk. Measured once, outside criterion.
//! - `index_insert/<n>`: criterion, inserting one more 64-entry pack into the filled index
//!   (throughput in entries). The index grows while it runs.
//! - `index_lookup/hit/<n>` and `index_lookup/miss/<n>`: criterion, one lookup of a random
//!   present id (drawn from every 10th/100th id inserted) or of a random absent one. A random
//!   hit is the worst case: its pack is almost never among the 16 whose entries are kept
//!   decoded, so it pays a sled read, a `pread` of the pack's record and its decoding. Restores and mounts read
//!   blob after blob from the same packs.
//!
//! Measured 2026-11-26 on the 2-core bench machine (ext4 on a virtio disk):
//!
//! | index | entries | fill | insert a 64-entry pack | lookup hit (random pack) | lookup miss | RSS after fill | on disk |
//! |---|---:|---:|---:|---:|---:|---:|---:|
//! | a sled key per blob (until 2026-11-26) | 1M | 66 s (15,200/s) | 3.4-5.8 ms | 23-29 µs | 27-34 µs | 90 MiB | 297 MiB |
//! | a sled key per blob (until 2026-11-26) | 10M | 1,098 s (9,100/s) | 8.7 ms | 95 µs | 109 µs | 336 MiB | 3.0 GiB |
//! | a sled record per pack + prefix table | 1M | 0.5 s (2.0M/s) | 47 µs | 21 µs | 1.2 µs | 121 MiB | 74 MiB |
//! | a sled record per pack + prefix table | 10M | 8.3 s (1.2M/s) | 68 µs | 29 µs | 1.4 µs | 329 MiB (peak 363) | 724 MiB |
//! | records file + prefix table (commit 96af792) | 1M | 0.7 s (1.4M/s) | 48 µs | 18 µs | 1.9 µs | 37 MiB | 43 MiB |
//! | records file + prefix table (commit 96af792) | 10M | 7.1 s (1.4M/s) | 62 µs | 29 µs | 2.4 µs | 235 MiB (peak 268) | 416 MiB |
//!
//! (`VCD_BENCH_LARGE=1` run; a default run just before gave 0.7 s, 82 µs, 23 µs and 1.9 µs at
//! 1M.) Filling 10M slows only from 2.3M entries/s over the first million to ~1M/s over the
//! last, and RSS grows ~17 MiB a million entries.
//! RSS after fill is the whole bench process's (sled's cache and page table, the lookup table,
//! the bench's sample of ids); for comparison, a backup of a million small files peaks at
//! 54 MiB in all (`benches/scale`). sled kept the records it had read (values of hundreds of
//! KiB) in its page cache well past its cache setting; in their own file they cost nothing
//! once decoded (RSS at 1M: 121 → 37 MiB; at 10M: 329 → 235 MiB).
//! A miss is a binary search over the 12-byte slots (~20 cache misses at 1M); a hit adds the
//! search of the pack's entries, which a random access must first read from the records file.
//!
//! The default run (1M) takes well under a minute; with `VCD_BENCH_LARGE=1`, 1M then 10M:
//! `VCD_BENCH_LARGE=1 cargo bench -p vcd-benches --bench index`.
//!
//! Throughput here is in entries (elements), not bytes: an index entry has no payload.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode,
    Throughput,
};
use engine::cache::Index;
use engine::format::blob::{BlobEntry, BlobType};
use engine::format::index_file::PackEntries;
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
                compact: true,
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
