//! Peak memory of the local index (sled) while inserting N blob entries, in batches or one by
//! one: `cargo run --release -p vcd-engine --example sled_mem -- N batch|single`.
use engine::cache::Index;
use engine::format::blob::{BlobEntry, BlobType};
use engine::format::index_file::PackEntries;
use engine::id::Id;

fn hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap()
        .to_string()
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let n: usize = a[1].parse().unwrap();
    let per_pack: usize = a.get(2).map(|s| s.parse().unwrap()).unwrap_or(4000);
    let dir = tempfile::tempdir().unwrap();
    let ix = Index::open(&dir.path().join("ix")).unwrap();
    let mut done = 0;
    while done < n {
        let entries: Vec<BlobEntry> = (0..per_pack.min(n - done))
            .map(|i| BlobEntry {
                ty: BlobType::Data,
                compressed: true,
                compact: true,
                id: Id::random(),
                offset: i as u64 * 1000,
                length: 1000,
                raw_length: 3000,
            })
            .collect();
        done += entries.len();
        ix.insert_pack(&PackEntries {
            pack: Id::random(),
            entries,
        })
        .unwrap();
    }
    ix.flush().unwrap();
    println!("{n} entries, {per_pack} per pack: {}", hwm());
}
