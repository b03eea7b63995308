//! Trees deeper than any stack and any path: a chain of 5,000 directories, some 10,000 bytes
//! of path (PATH_MAX is 4,096), backs up, lists, diffs, checks, counts, mounts and restores.
//! No path that long can be handed to the kernel, so the tests reach the bottom through
//! directory descriptors, as `/proc/self/fd/N/...`, a few hundred levels at a time.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::common::Env;
use crate::mount::Mount;

const DEPTH: usize = 5000;
/// Levels one path crosses when descending: 1,000 bytes, well below PATH_MAX.
const STEP: usize = 500;
const FIRST: &[u8] = b"the bottom, first version\n";
const SECOND: &[u8] = b"the bottom, second version, longer\n";

fn fd_path(f: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()))
}

/// Directory `top`, then `n` levels of `d` below it: the last one, open.
fn descend(top: &Path, n: usize) -> File {
    let mut dir = File::open(top).unwrap_or_else(|e| panic!("{}: {e}", top.display()));
    let mut done = 0;
    while done < n {
        let k = STEP.min(n - done);
        dir = File::open(fd_path(&dir).join("d/".repeat(k)))
            .unwrap_or_else(|e| panic!("{} levels below {}: {e}", done + k, top.display()));
        done += k;
    }
    dir
}

/// `src` with `DEPTH` directories `d` below it, one in the other, the deepest 0700, holding
/// `bottom` (0640).
fn build(src: &Path) {
    fs::create_dir(src).unwrap();
    let mut dir = File::open(src).unwrap();
    for _ in 0..DEPTH {
        let p = fd_path(&dir).join("d");
        fs::create_dir(&p).unwrap();
        dir = File::open(&p).unwrap();
    }
    let bottom = fd_path(&dir).join("bottom");
    fs::write(&bottom, FIRST).unwrap();
    fs::set_permissions(&bottom, fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(fd_path(&dir), fs::Permissions::from_mode(0o700)).unwrap();
}

/// The deepest directory's mode, and `bottom`'s mode and content, below `top`.
fn bottom_of(top: &Path) -> (u32, u32, Vec<u8>) {
    let dir = descend(top, DEPTH);
    let names: Vec<_> = fs::read_dir(fd_path(&dir))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["bottom"], "the deepest directory's entries");
    let bottom = fd_path(&dir).join("bottom");
    (
        dir.metadata().unwrap().permissions().mode() & 0o7777,
        fs::symlink_metadata(&bottom).unwrap().permissions().mode() & 0o7777,
        fs::read(&bottom).unwrap(),
    )
}

/// `src`'s path followed by `n` levels of `/d`.
fn deep_path(src: &Path, n: usize) -> String {
    format!("{}{}", src.display(), "/d".repeat(n))
}

/// Defect: the backup recursed once per directory and aborted with a stack overflow (exit 134,
/// no snapshot, a stale lock) on such a tree; past PATH_MAX it could not have read it anyway.
#[test]
fn deep_tree_backs_up_lists_diffs_checks_counts_and_mounts() {
    let e = Env::new();
    let src = e.path("src");
    build(&src);
    let first = e.backup_json(&src, &[]);
    assert_eq!(first["summary"]["errors"], serde_json::json!([]));
    assert_eq!(first["summary"]["dirs"], DEPTH + 1);
    let a = first["id"].as_str().unwrap().to_string();

    let listing = e.ok(&["ls", &a, src.to_str().unwrap()]);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), DEPTH + 1);
    for (i, l) in lines[..DEPTH].iter().enumerate() {
        assert!(*l == deep_path(&src, i + 1), "line {i} of the listing");
    }
    assert_eq!(lines[DEPTH], format!("{}/bottom", deep_path(&src, DEPTH)));

    fs::write(fd_path(&descend(&src, DEPTH)).join("bottom"), SECOND).unwrap();
    let b = e.backup(&src, &[]);
    let diff = e.ok(&["diff", &a, &b]);
    assert_eq!(
        diff,
        format!(
            "M    {}/bottom\n\n0 added, 0 removed, 1 modified\n",
            deep_path(&src, DEPTH)
        )
    );

    let check = e.ok(&["check", "--read-data"]);
    assert!(check.contains("no errors found"), "{check}");
    let stats: serde_json::Value = serde_json::from_str(&e.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["files"], 2);
    assert_eq!(stats["logical_bytes"], FIRST.len() + SECOND.len());
    // Every directory of the chain changed with its bottom: twice the chain, at least.
    assert!(stats["tree_blobs"].as_u64().unwrap() >= 2 * (DEPTH as u64 + 1));

    let m = Mount::start(&e, "mnt", &[]);
    let top = m.path("latest").join(src.strip_prefix("/").unwrap());
    assert_eq!(bottom_of(&top), (0o700, 0o640, SECOND.to_vec()));
}

#[test]
fn deep_tree_restores() {
    let e = Env::new();
    let src = e.path("src");
    build(&src);
    let id = e.backup(&src, &[]);
    let restored = e.restore(&id, &src, "restored");
    assert_eq!(bottom_of(&restored), (0o700, 0o640, FIRST.to_vec()));
}
