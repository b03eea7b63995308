//! Repository statistics: what the snapshots hold (logical size) against what is stored
//! (unique blobs, sealed bytes, repository files), and the ratios between them.

use std::collections::HashSet;

use serde::Serialize;

use crate::backend::FileType;
use crate::error::Result;
use crate::format::blob::BlobType;
use crate::format::tree::NodeKind;
use crate::repo::Repo;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RepoStats {
    pub snapshots: u64,
    /// Regular files in all snapshots, each counted once per snapshot that holds it.
    pub files: u64,
    /// Bytes a restore of every snapshot would write.
    pub logical_bytes: u64,
    /// Bytes of the distinct blobs before compression and encryption.
    pub unique_raw_bytes: u64,
    /// Bytes of the distinct blobs as stored (compressed and sealed).
    pub stored_blob_bytes: u64,
    /// Bytes of every repository file: packs, index files, snapshots, keys, config.
    pub repository_bytes: u64,
    pub data_blobs: u64,
    pub tree_blobs: u64,
    /// logical / unique raw.
    pub dedup_ratio: f64,
    /// unique raw / stored blobs.
    pub compression_ratio: f64,
    /// logical / repository.
    pub total_ratio: f64,
}

pub fn stats(repo: &Repo, cancel: &crate::cancel::CancelToken) -> Result<RepoStats> {
    let mut s = RepoStats::default();
    let snaps = repo.snapshots()?;
    s.snapshots = snaps.len() as u64;
    for snap in &snaps {
        // Explicit stack: a deep tree must not overflow the thread's.
        let mut stack = vec![snap.snap.tree];
        while let Some(t) = stack.pop() {
            cancel.check()?;
            for n in repo.load_tree(&t)?.nodes {
                match (n.kind, n.subtree) {
                    (NodeKind::Dir, Some(sub)) => stack.push(sub),
                    (NodeKind::File, _) => {
                        s.logical_bytes += n.size;
                        s.files += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    // A blob stored twice (two backups racing) still counts once.
    let mut seen = HashSet::new();
    for r in repo.indexed_blobs() {
        let (id, loc) = r?;
        if !seen.insert(id) {
            continue;
        }
        if loc.entry.ty == BlobType::Tree {
            s.tree_blobs += 1;
        } else {
            s.data_blobs += 1;
        }
        s.unique_raw_bytes += loc.entry.raw_length as u64;
        s.stored_blob_bytes += loc.entry.length as u64;
    }
    for t in [
        FileType::Pack,
        FileType::Index,
        FileType::Snapshot,
        FileType::Key,
        FileType::Config,
    ] {
        s.repository_bytes += repo.list(t)?.iter().map(|(_, n)| n).sum::<u64>();
    }
    s.dedup_ratio = ratio(s.logical_bytes, s.unique_raw_bytes);
    s.compression_ratio = ratio(s.unique_raw_bytes, s.stored_blob_bytes);
    s.total_ratio = ratio(s.logical_bytes, s.repository_bytes);
    Ok(s)
}

/// `a / b`, or 0 for an empty repository.
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::testing::*;

    #[test]
    fn counts_files_per_snapshot_and_blobs_once() {
        let r = repo();
        assert_eq!(stats(&r, &Default::default()).unwrap().snapshots, 0);
        let root = tree(
            &r,
            vec![
                file(&r, "a", b"hello"),
                dir(&r, "d", vec![file(&r, "b", b"hello"), file(&r, "c", b"")]),
            ],
        );
        snapshot(&r, root);
        snapshot(&r, root);
        let s = stats(&r, &Default::default()).unwrap();
        assert_eq!(s.snapshots, 2);
        assert_eq!(s.files, 6);
        assert_eq!(s.logical_bytes, 20);
        // "hello" is stored twice by the helper (two packs) but is one blob.
        assert_eq!(s.data_blobs, 1);
        assert_eq!(s.tree_blobs, 2);
        assert_eq!(s.dedup_ratio, 20.0 / s.unique_raw_bytes as f64);
        assert!(s.repository_bytes > s.stored_blob_bytes);
    }

    #[test]
    fn deep_trees_do_not_overflow_a_small_stack() {
        let r = repo();
        snapshot(&r, deep(&r, DEEP, b"x"));
        let s = on_small_stack(|| stats(&r, &Default::default()).unwrap());
        assert_eq!((s.files, s.tree_blobs as usize), (1, DEEP + 1));
    }
}
