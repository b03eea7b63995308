//! Marking: every blob reachable from a set of snapshots. Trees are walked level by level, the
//! trees of one level read in parallel, and each tree once however many snapshots share it.
//!
//! Memory: a blob is remembered by the first 8 bytes of its id (9 bytes a blob in the map, with
//! whether a pack holding it was seen); two ids sharing a prefix only make a prune keep a blob
//! it could have dropped, never drop one in use. Every decision that could drop a used blob on
//! the strength of a prefix is taken on the whole id instead (`Survey`). Trees are remembered
//! whole, since a tree taken for visited when it was not would leave its files unmarked.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

use crate::cancel::CancelToken;
use crate::error::Result;
use crate::format::snapshot::SnapshotRef;
use crate::id::Id;
use crate::repo::Repo;

/// Ids are keyed hashes, uniform already: their first 8 bytes are the hash.
#[derive(Default)]
pub(super) struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 << 8) | x as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub(super) type PrefixMap<V> = HashMap<u64, V, BuildHasherDefault<PrefixHasher>>;

pub(super) fn prefix(id: &Id) -> u64 {
    u64::from_le_bytes(id.0[..8].try_into().expect("8 bytes"))
}

#[derive(Default)]
pub(super) struct Marks {
    /// Every used blob (trees too) by prefix, with whether a pack holding it was seen.
    pub(super) blobs: PrefixMap<bool>,
    trees: HashSet<Id>,
    snapshots: HashSet<Id>,
}

impl Marks {
    pub(super) fn is_used(&self, id: &Id) -> bool {
        self.blobs.contains_key(&prefix(id))
    }

    pub(super) fn snapshots(&self) -> usize {
        self.snapshots.len()
    }

    /// Marks what the snapshots not marked before reach. Marks are never taken back: a
    /// snapshot forgotten since an earlier call keeps its blobs for this prune.
    pub(super) fn mark(
        &mut self,
        repo: &Repo,
        snaps: &[SnapshotRef],
        cancel: &CancelToken,
    ) -> Result<()> {
        let mut level: Vec<Id> = Vec::new();
        for s in snaps {
            if self.snapshots.insert(s.id) && self.trees.insert(s.snap.tree) {
                self.blobs.insert(prefix(&s.snap.tree), false);
                level.push(s.snap.tree);
            }
        }
        while !level.is_empty() {
            cancel.check()?;
            let found: Vec<(Vec<Id>, Vec<Id>)> = level
                .par_iter()
                .map(|t| {
                    let tree = repo.load_tree(t)?;
                    let mut subtrees = Vec::new();
                    let mut data = Vec::new();
                    for n in &tree.nodes {
                        subtrees.extend(n.subtree);
                        data.extend(n.data_ids());
                    }
                    Ok((subtrees, data))
                })
                .collect::<Result<_>>()?;
            level = Vec::new();
            for (subtrees, data) in found {
                for d in data {
                    self.blobs.entry(prefix(&d)).or_insert(false);
                }
                for t in subtrees {
                    if self.trees.insert(t) {
                        self.blobs.entry(prefix(&t)).or_insert(false);
                        level.push(t);
                    }
                }
            }
        }
        Ok(())
    }
}
