//! zstd on text-like and on random (incompressible) chunks, at the levels a repository might be
//! configured with. A context is reused across calls, as the engine does (`blob::seal_blob`).

mod common;

use std::time::Duration;

use common::{random_bytes, text_bytes, KIB};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let text = text_bytes(512 * KIB, 4);
    let random = random_bytes(512 * KIB, 6);
    let bytes = Throughput::Bytes(text.len() as u64);

    let mut g = c.benchmark_group("compress");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(bytes.clone());
    for level in [1, 2, 3, 9, 19] {
        let mut z = zstd::bulk::Compressor::new(level).unwrap();
        let ratio = text.len() as f64 / z.compress(&text).unwrap().len() as f64;
        eprintln!("zstd level {level}: ratio {ratio:.2} on text-like 512 KiB");
        if level == 19 {
            // ~0.1 s an iteration: ten samples are plenty.
            g.sample_size(10);
        }
        g.bench_with_input(
            BenchmarkId::new("zstd_text_512KiB", level),
            &level,
            |b, _| b.iter(|| z.compress(black_box(&text)).unwrap()),
        );
    }
    let mut z = zstd::bulk::Compressor::new(3).unwrap();
    g.bench_function("zstd_random_512KiB/3", |b| {
        b.iter(|| z.compress(black_box(&random)).unwrap())
    });
    g.finish();

    let packed = zstd::bulk::compress(&text, 3).unwrap();
    let mut d = zstd::bulk::Decompressor::new().unwrap();
    let mut g = c.benchmark_group("decompress");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(bytes);
    g.bench_function("zstd_text_512KiB/3", |b| {
        b.iter(|| d.decompress(black_box(&packed), text.len()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
