//! FastCDC content-defined chunking with the repository's default parameters.

mod common;

use std::time::Duration;

use common::{random_bytes, text_bytes, MIB};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use engine::format::chunker::Chunker;
use engine::format::config::ChunkerParams;

fn bench(c: &mut Criterion) {
    let chunker = Chunker::new(ChunkerParams::DEFAULT, 0x5eed_1234_abcd_0042);
    let mut g = c.benchmark_group("chunker");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes((64 * MIB) as u64));
    for (name, data) in [
        ("random_64MiB", random_bytes(64 * MIB, 1)),
        ("text_64MiB", text_bytes(64 * MIB, 2)),
    ] {
        g.bench_function(name, |b| b.iter(|| chunker.cuts(black_box(&data))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
