//! XChaCha20-Poly1305 sealing and opening of one chunk.

mod common;

use std::time::Duration;

use common::{random_bytes, KIB};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use engine::crypto::{aad, MasterKey};

fn bench(c: &mut Criterion) {
    let keys = MasterKey::from_bytes([7; 32]).derive();
    let data = random_bytes(512 * KIB, 5);
    let sealed = keys.data.seal(aad::BLOB, &data);
    let mut g = c.benchmark_group("seal");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("seal_512KiB", |b| {
        b.iter(|| keys.data.seal(aad::BLOB, black_box(&data)))
    });
    g.bench_function("open_512KiB", |b| {
        b.iter(|| keys.data.open(aad::BLOB, black_box(&sealed)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
