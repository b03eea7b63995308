//! Measures chunker parameters on real data: for each candidate (min/avg/max) it chunks every
//! file under the given directories (in order, as a backup would), and reports chunking
//! throughput, chunk count, mean chunk size and the bytes left after dedup. Giving two
//! versions of the same software (e.g. two Rust toolchains) measures cross-version dedup.
//!
//! cargo run --release -p vcd-engine --example chunk_params -- DIR [DIR...]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use engine::format::chunker::Chunker;
use engine::format::config::ChunkerParams;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut v: Vec<_> = rd.filter_map(|e| e.ok()).collect();
    v.sort_by_key(|e| e.file_name());
    for e in v {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            files(&e.path(), out);
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
}

fn main() {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let mut list = Vec::new();
    for d in &dirs {
        files(d, &mut list);
    }
    let data: Vec<Vec<u8>> = list.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    let total: u64 = data.iter().map(|d| d.len() as u64).sum();
    println!("{} files, {:.1} MiB", data.len(), total as f64 / 1048576.0);
    println!(
        "| min | avg | max | chunk MB/s | chunks | mean chunk KiB | unique MiB | dedup saved |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    let k = 1024;
    for (min, avg, max) in [
        (64 * k, 256 * k, 1024 * k),
        (128 * k, 512 * k, 2048 * k),
        (256 * k, 1024 * k, 4096 * k),
        (512 * k, 1024 * k, 8192 * k),
        (512 * k, 2048 * k, 8192 * k),
        (1024 * k, 4096 * k, 16384 * k),
    ] {
        let c = Chunker::new(
            ChunkerParams {
                min_size: min,
                avg_size: avg,
                max_size: max,
            },
            0x5eed,
        );
        let t = Instant::now();
        let all: Vec<Vec<usize>> = data.iter().map(|d| c.cuts(d)).collect();
        let secs = t.elapsed().as_secs_f64();
        let mut seen = HashSet::new();
        let (mut n, mut unique) = (0u64, 0u64);
        for (d, cuts) in data.iter().zip(&all) {
            let mut off = 0;
            for &l in cuts {
                n += 1;
                if seen.insert(blake3::hash(&d[off..off + l])) {
                    unique += l as u64;
                }
                off += l;
            }
        }
        println!(
            "| {} KiB | {} KiB | {} KiB | {:.0} | {} | {:.0} | {:.1} | {:.2}% |",
            min / k,
            avg / k,
            max / k,
            total as f64 / 1e6 / secs,
            n,
            total as f64 / n as f64 / 1024.0,
            unique as f64 / 1048576.0,
            100.0 * (1.0 - unique as f64 / total as f64)
        );
    }
}
