//! Keyed BLAKE3 chunk ids.

mod common;

use std::time::Duration;

use common::{random_bytes, KIB};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use engine::crypto::MasterKey;

fn bench(c: &mut Criterion) {
    let keys = MasterKey::from_bytes([7; 32]).derive();
    let data = random_bytes(512 * KIB, 3);
    let mut g = c.benchmark_group("hash");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("chunk_id_512KiB", |b| {
        b.iter(|| keys.chunk_id.id(black_box(&data)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
