//! Deduplication through the real binary: data already in the repository is not stored again,
//! whether re-read by a full backup or found at another path, and content-defined chunking
//! keeps an insertion at the start of a large file from changing more than a few chunks.

use std::fs;

use rand::{RngCore, SeedableRng};
use serde_json::Value;

use crate::common::Env;
use crate::gen::{self, compare, cp_a, Spec};

const MIB: u64 = 1 << 20;

fn summary_u64(v: &Value, field: &str) -> u64 {
    v["summary"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("summary.{field} missing in {v:#}"))
}

#[test]
fn dedup_same_data_again_adds_under_one_percent() {
    let env = Env::new();
    let src = env.path("src");
    // Mostly incompressible bulk (the stored size is about the data size), plus the odd cases.
    gen::generate_with(
        &src,
        11,
        &Spec {
            small_files: 300,
            big_files: 7,
            big_size: 3 << 20,
        },
    );
    let empty = env.repo_bytes();
    let first = env.backup_json(&src, &[]);
    let after_first = env.repo_bytes();
    let stored = after_first - empty;
    assert!(
        stored > 10 * MIB,
        "first backup stored only {stored} bytes: {first:#}"
    );

    // The same tree, re-read in full.
    let full = env.backup_json(&src, &["--type", "full"]);
    assert_eq!(
        summary_u64(&full, "bytes_read"),
        summary_u64(&first, "bytes_read"),
        "{full:#}"
    );
    let after_full = env.repo_bytes();
    let grew = after_full - after_first;
    assert!(
        grew * 100 < stored,
        "a full backup of unchanged data grew the repository by {grew} bytes ({:.2}% of {stored}): {full:#}",
        grew as f64 * 100.0 / stored as f64
    );

    // The same bytes at another path: no parent snapshot, every file read, nothing stored but
    // the new trees.
    let copy = env.path("copy");
    cp_a(&src, &copy);
    let other = env.backup_json(&copy, &[]);
    assert_eq!(other["parent"], Value::Null, "{other:#}");
    assert_eq!(
        summary_u64(&other, "bytes_read"),
        summary_u64(&first, "bytes_read"),
        "{other:#}"
    );
    let grew = env.repo_bytes() - after_full;
    assert!(
        grew * 100 < stored,
        "backing up a copy grew the repository by {grew} bytes ({:.2}% of {stored}): {other:#}",
        grew as f64 * 100.0 / stored as f64
    );

    // The deduplicated snapshot is whole.
    let r = env.restore(other["id"].as_str().unwrap(), &copy, "restored_copy");
    compare(&copy, &r);
}

#[test]
fn dedup_one_byte_insert_adds_few_chunks() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir(&src).unwrap();
    let mut data = vec![0u8; 64 * MIB as usize];
    rand::rngs::StdRng::seed_from_u64(64).fill_bytes(&mut data);
    let file = src.join("big.bin");
    fs::write(&file, &data).unwrap();

    let before = env.repo_bytes();
    let first = env.backup_json(&src, &[]);
    let after_first = env.repo_bytes();
    // Random data does not compress: the first backup really stored 64 MiB.
    assert!(after_first - before >= 64 * MIB, "{first:#}");
    let chunks = summary_u64(&first, "blobs_added");
    assert!(
        chunks >= 8,
        "64 MiB in {chunks} blobs: chunking is not content-defined at ~1 MiB"
    );

    let mut shifted = Vec::with_capacity(data.len() + 1);
    shifted.push(0x42);
    shifted.extend_from_slice(&data);
    drop(data);
    fs::write(&file, &shifted).unwrap();
    let second = env.backup_json(&src, &[]);
    assert_eq!(summary_u64(&second, "files_changed"), 1, "{second:#}");
    assert_eq!(
        summary_u64(&second, "bytes_read"),
        64 * MIB + 1,
        "{second:#}"
    );
    // New blobs: the chunk(s) around the insertion, and one tree per directory from the root
    // down to the source (they all change).
    let trees = src.components().count() as u64;
    let added = summary_u64(&second, "blobs_added");
    assert!(
        added <= 4 + trees,
        "one inserted byte added {added} blobs (of {chunks} chunks): {second:#}"
    );
    let grew = env.repo_bytes() - after_first;
    assert!(
        grew < 12 * MIB,
        "one inserted byte grew the repository by {grew} bytes: {second:#}"
    );
    println!(
        "64 MiB file: {chunks} chunks; after a 1-byte insert {added} blobs, {grew} bytes added"
    );

    let r = env.restore(second["id"].as_str().unwrap(), &src, "r");
    assert!(
        fs::read(r.join("big.bin")).unwrap() == shifted,
        "restored file differs"
    );
}

/// More blobs than a backup keeps before it writes an index file (50,000): the in-run set of
/// stored ids is trimmed as index files are written, and content seen again after that must
/// still be found (now in the index) and not stored twice.
#[test]
fn many_small_files_are_indexed_as_the_backup_goes_and_still_deduplicated() {
    let env = Env::new();
    let src = env.path("src");
    let unique = 60_000;
    for d in 0..unique / 1000 {
        let dir = src.join(format!("d{d:03}"));
        fs::create_dir_all(&dir).unwrap();
        for i in 0..1000 {
            let n = d * 1000 + i;
            fs::write(dir.join(format!("f{i:03}")), format!("small file {n}\n")).unwrap();
        }
    }
    // Walked last (sorted after the d… directories): copies of the first files' contents.
    let again = src.join("z-again");
    fs::create_dir_all(&again).unwrap();
    for n in 0..500 {
        fs::write(again.join(format!("f{n:03}")), format!("small file {n}\n")).unwrap();
    }
    let v = env.backup_json(&src, &[]);
    // Every distinct content once, plus one tree per directory: 60 d…, z-again, and one per
    // component of the source path from / down.
    let trees = unique / 1000 + 1 + src.components().count();
    assert_eq!(
        summary_u64(&v, "blobs_added"),
        (unique + trees) as u64,
        "{v:#}"
    );
    let index_files = fs::read_dir(env.repo().join("index")).unwrap().count();
    assert!(
        index_files >= 2,
        "{index_files} index file(s): expected one written mid-run"
    );
    // Two directories are enough to show the blobs on both sides of the trim are readable;
    // creating 60,000 files again would double the test's time.
    let target = env.path("r");
    let s = src.to_str().unwrap();
    env.ok(&[
        "restore",
        v["id"].as_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "--include",
        &format!("{s}/z-again"),
        "--include",
        &format!("{s}/d059"),
    ]);
    let r = target.join(src.strip_prefix("/").unwrap());
    assert_eq!(fs::read_dir(r.join("z-again")).unwrap().count(), 500);
    assert_eq!(fs::read_dir(r.join("d059")).unwrap().count(), 1000);
    assert_eq!(
        fs::read(r.join("z-again/f499")).unwrap(),
        b"small file 499\n"
    );
    assert_eq!(
        fs::read(r.join("d059/f999")).unwrap(),
        b"small file 59999\n"
    );
    env.ok(&["check", "--read-data"]);
}
