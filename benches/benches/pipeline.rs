//! The whole backup and restore over an in-memory backend: walk, read, chunk, hash, dedup,
//! compress, seal, pack, index, trees, snapshot; then back out to files on disk.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{random_bytes, text_bytes, KIB, MIB};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use engine::backend::mem::MemBackend;
use engine::crypto::KdfParams;
use engine::format::config::Config;
use engine::ops::backup::{backup, BackupOptions};
use engine::ops::progress::Progress;
use engine::ops::restore::{restore, RestoreOptions};
use engine::Repo;

const PASSWORD: &[u8] = b"bench";

/// ~64 MiB of sources: a few large random and text files plus a tree of small text files.
fn make_sources(root: &Path) -> u64 {
    let mut total = 0u64;
    let mut write = |rel: &str, data: Vec<u8>| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        total += data.len() as u64;
        std::fs::write(p, data).unwrap();
    };
    for i in 0..3u64 {
        write(
            &format!("media/blob{i}.bin"),
            random_bytes(10 * MIB, 10 + i),
        );
    }
    for i in 0..3u64 {
        write(&format!("logs/app{i}.log"), text_bytes(8 * MIB, 20 + i));
    }
    // 10 MiB of small files: 400 files of ~25 KiB in 20 directories.
    for i in 0..400u64 {
        let size = 16 * KIB + (i as usize * 97) % (20 * KIB);
        write(
            &format!("src/d{:02}/f{i:03}.txt", i % 20),
            text_bytes(size, 1000 + i),
        );
    }
    total
}

/// 64 MiB of random data in four files: every stage runs, nothing compresses, so the
/// pipeline's throughput can be held against the bound its stages' own throughputs set.
fn make_random_sources(root: &Path) -> u64 {
    for i in 0..4u64 {
        std::fs::write(
            root.join(format!("random{i}.bin")),
            random_bytes(16 * MIB, 40 + i),
        )
        .unwrap();
    }
    64 * MIB as u64
}

fn new_repo() -> Repo {
    let backend = Arc::new(MemBackend::default());
    let kdf = KdfParams {
        m_cost: 64,
        t_cost: 1,
        ..KdfParams::recommended()
    };
    Repo::init(backend.clone(), PASSWORD, Config::new(), kdf).unwrap();
    Repo::open(backend, PASSWORD, None).unwrap()
}

fn bench(c: &mut Criterion) {
    let src = tempfile::tempdir().unwrap();
    let total = make_sources(src.path());
    let opts = BackupOptions {
        paths: vec![src.path().to_path_buf()],
        ..Default::default()
    };

    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(total));

    // A first backup into an empty repository: every chunk is new.
    g.bench_function("backup_64MiB", |b| {
        b.iter_batched(
            new_repo,
            |repo| {
                backup(&repo, &opts, &Progress::default()).unwrap();
                repo
            },
            BatchSize::PerIteration,
        )
    });

    let random_src = tempfile::tempdir().unwrap();
    let random_total = make_random_sources(random_src.path());
    let random_opts = BackupOptions {
        paths: vec![random_src.path().to_path_buf()],
        ..Default::default()
    };
    g.throughput(Throughput::Bytes(random_total));
    g.bench_function("backup_random_64MiB", |b| {
        b.iter_batched(
            new_repo,
            |repo| {
                backup(&repo, &random_opts, &Progress::default()).unwrap();
                repo
            },
            BatchSize::PerIteration,
        )
    });
    g.throughput(Throughput::Bytes(total));

    let repo = new_repo();
    backup(&repo, &opts, &Progress::default()).unwrap();

    // The same sources again: the parent snapshot lets unchanged files be reused unread.
    g.bench_function("backup_unchanged_64MiB", |b| {
        b.iter(|| backup(&repo, &opts, &Progress::default()).unwrap())
    });

    let snap = repo.snapshots().unwrap().remove(0);
    g.bench_function("restore_64MiB", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let r = restore(
                    &repo,
                    &snap,
                    &RestoreOptions {
                        target: dir.path().to_path_buf(),
                        ..Default::default()
                    },
                    &Progress::default(),
                )
                .unwrap();
                assert!(r.errors.is_empty(), "{:?}", r.errors);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
