//! zstd on text-like chunks, at the levels a repository might be configured with.

mod common;

use std::time::Duration;

use common::{text_bytes, KIB};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let data = text_bytes(512 * KIB, 4);
    let bytes = Throughput::Bytes(data.len() as u64);

    let mut g = c.benchmark_group("compress");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(bytes.clone());
    for level in [1, 3, 9, 19] {
        let ratio = data.len() as f64 / zstd::bulk::compress(&data, level).unwrap().len() as f64;
        eprintln!("zstd level {level}: ratio {ratio:.2} on text-like 512 KiB");
        if level == 19 {
            // ~0.1 s an iteration: ten samples are plenty.
            g.sample_size(10);
        }
        g.bench_with_input(
            BenchmarkId::new("zstd_text_512KiB", level),
            &level,
            |b, &l| b.iter(|| zstd::bulk::compress(black_box(&data), l).unwrap()),
        );
    }
    g.finish();

    let packed = zstd::bulk::compress(&data, 3).unwrap();
    let mut g = c.benchmark_group("decompress");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(bytes);
    g.bench_function("zstd_text_512KiB/3", |b| {
        b.iter(|| zstd::bulk::decompress(black_box(&packed), data.len()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
