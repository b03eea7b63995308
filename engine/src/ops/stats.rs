//! Repository statistics: what the snapshots hold (logical size) against what is stored
//! (unique blobs, sealed bytes, repository files), and the ratios between them.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::backend::FileType;
use crate::error::Result;
use crate::format::blob::BlobType;
use crate::format::tree::NodeKind;
use crate::id::Id;
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
    let mut memo = HashMap::new();
    for snap in &snaps {
        let (files, bytes) = totals(repo, snap.snap.tree, &mut memo, cancel)?;
        s.files = s.files.saturating_add(files);
        s.logical_bytes = s.logical_bytes.saturating_add(bytes);
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

/// Regular files and their bytes under tree `root`, each tree read once: snapshots share most
/// of their trees, and a crafted tree can reference one subtree from many places (a chain whose
/// levels each point twice at the next would take time exponential in its depth to walk path
/// by path). Post-order with an explicit stack, so depth costs heap, not stack. Trees cannot
/// form a cycle: a tree's id is the hash of its content, which holds its subtrees' ids.
fn totals(
    repo: &Repo,
    root: Id,
    memo: &mut HashMap<Id, (u64, u64)>,
    cancel: &crate::cancel::CancelToken,
) -> Result<(u64, u64)> {
    struct Frame {
        id: Id,
        subs: Vec<Id>,
        sum: (u64, u64),
    }
    let open = |id: Id| -> Result<Frame> {
        let mut f = Frame {
            id,
            subs: Vec::new(),
            sum: (0, 0),
        };
        for n in repo.load_tree(&id)?.nodes {
            match (n.kind, n.subtree) {
                (NodeKind::Dir, Some(sub)) => f.subs.push(sub),
                (NodeKind::File, _) => {
                    f.sum.0 += 1;
                    f.sum.1 = f.sum.1.saturating_add(n.size);
                }
                _ => {}
            }
        }
        Ok(f)
    };
    let add = |a: &mut (u64, u64), b: (u64, u64)| {
        a.0 = a.0.saturating_add(b.0);
        a.1 = a.1.saturating_add(b.1);
    };
    if let Some(&t) = memo.get(&root) {
        return Ok(t);
    }
    let mut stack = vec![open(root)?];
    loop {
        cancel.check()?;
        let top = stack.last_mut().expect("returns when the root is done");
        if let Some(sub) = top.subs.pop() {
            match memo.get(&sub) {
                Some(&t) => add(&mut top.sum, t),
                None => stack.push(open(sub)?),
            }
            continue;
        }
        let done = stack.pop().expect("non-empty");
        memo.insert(done.id, done.sum);
        match stack.last_mut() {
            Some(parent) => add(&mut parent.sum, done.sum),
            None => return Ok(done.sum),
        }
    }
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
    fn a_subtree_shared_at_every_level_is_counted_per_path_but_read_once() {
        let r = repo();
        // Each level holds the next twice: 2^60 paths to the bottom file.
        let mut nodes = vec![file(&r, "f", b"12345")];
        for _ in 0..60 {
            let sub = dir(&r, "a", nodes);
            let mut twin = sub.clone();
            twin.name = b"b".to_vec();
            nodes = vec![sub, twin];
        }
        snapshot(&r, tree(&r, nodes));
        let s = stats(&r, &Default::default()).unwrap();
        assert_eq!(s.files, 1 << 60);
        assert_eq!(s.logical_bytes, 5 << 60);
    }

    #[test]
    fn deep_trees_do_not_overflow_a_small_stack() {
        let r = repo();
        snapshot(&r, deep(&r, DEEP, b"x"));
        let s = on_small_stack(|| stats(&r, &Default::default()).unwrap());
        assert_eq!((s.files, s.tree_blobs as usize), (1, DEEP + 1));
    }
}
