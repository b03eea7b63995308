//! Marking: every blob reachable from a set of snapshots. Trees are walked level by level, the
//! trees of one level read in parallel, and each tree once however many snapshots share it.
//!
//! Memory: a blob is remembered by the first 8 bytes of its id, in a sorted vector (8 bytes
//! and a bit a blob once marked, at most 16 bytes a blob while marking); two ids sharing a
//! prefix only make a prune keep a blob it could have dropped, never drop one in use. Every
//! decision that could drop a used blob on the strength of a prefix is taken on the whole id
//! instead (`Survey`). Trees are remembered whole, since a tree taken for visited when it was
//! not would leave its files unmarked.

use std::collections::HashSet;

use rayon::prelude::*;

use crate::cancel::CancelToken;
use crate::error::Result;
use crate::format::snapshot::SnapshotRef;
use crate::id::Id;
use crate::radix::Buckets;
use crate::repo::Repo;

fn prefix(id: &Id) -> u64 {
    u64::from_le_bytes(id.0[..8].try_into().expect("8 bytes"))
}

#[derive(Default)]
pub(super) struct Marks {
    /// Prefixes of every used blob (trees too), sorted, without repeats once `mark` returns.
    blobs: Vec<u64>,
    /// The directory of `blobs`, for finding a prefix without a binary search over them all.
    buckets: Buckets,
    /// Bits per entry of `blobs`: whether a stored pack holding it was seen, and whether one
    /// that no plan names was (`Survey`).
    found: Vec<u64>,
    stays: Vec<u64>,
    /// Prefixes the latest `mark` added to those an earlier one had marked, sorted.
    fresh: Vec<u64>,
    trees: HashSet<Id>,
    snapshots: HashSet<Id>,
}

impl Marks {
    /// Where `id`'s prefix is in `blobs`, if it is used.
    pub(super) fn find(&self, id: &Id) -> Option<usize> {
        let p = prefix(id);
        let r = self.buckets.range(p);
        let lo = r.start;
        self.blobs[r].binary_search(&p).ok().map(|i| lo + i)
    }

    pub(super) fn is_used(&self, id: &Id) -> bool {
        self.find(id).is_some()
    }

    /// Whether `id`'s prefix was first marked by the latest `mark`, an earlier one having
    /// marked others: what snapshots written since the earlier look use, and it did not.
    pub(super) fn is_new(&self, id: &Id) -> bool {
        self.fresh.binary_search(&prefix(id)).is_ok()
    }

    /// Marks entry `i` found in a stored pack, one that stays unless `stays` is false.
    /// Returns whether it had been found in a pack that stays before, and this one stays.
    pub(super) fn set_found(&mut self, i: usize, stays: bool) -> bool {
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        self.found[w] |= bit;
        if !stays {
            return false;
        }
        let twice = self.stays[w] & bit != 0;
        self.stays[w] |= bit;
        twice
    }

    /// How many used blobs no pack was found holding.
    pub(super) fn not_found(&self) -> usize {
        self.blobs.len()
            - self
                .found
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum::<usize>()
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
        let mut adding: Vec<u64> = Vec::new();
        let mut level: Vec<Id> = Vec::new();
        for s in snaps {
            if self.snapshots.insert(s.id) && self.trees.insert(s.snap.tree) {
                push(&mut adding, prefix(&s.snap.tree));
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
                    push(&mut adding, prefix(&d));
                }
                for t in subtrees {
                    if self.trees.insert(t) {
                        push(&mut adding, prefix(&t));
                        level.push(t);
                    }
                }
            }
        }
        fold(&mut adding);
        if self.blobs.is_empty() {
            self.blobs = adding;
            self.blobs.shrink_to_fit();
        } else {
            adding.retain(|p| {
                let r = self.buckets.range(*p);
                self.blobs[r].binary_search(p).is_err()
            });
            adding.shrink_to_fit();
            self.blobs.extend_from_slice(&adding);
            self.blobs.sort_unstable();
            self.fresh = adding;
        }
        self.buckets = Buckets::build(self.blobs.iter().copied());
        self.found = vec![0; self.blobs.len().div_ceil(64)];
        self.stays = self.found.clone();
        Ok(())
    }
}

/// Adds a prefix. Repeats are folded away whenever the vector would grow, so it never holds
/// more than twice the distinct prefixes (a blob is met once per tree naming it, and a file's
/// unchanged blobs are named again by each new version of its directory).
fn push(v: &mut Vec<u64>, p: u64) {
    if v.len() == v.capacity() {
        fold(v);
        v.reserve_exact(v.len().max(1 << 12));
    }
    v.push(p);
}

fn fold(v: &mut Vec<u64>) {
    v.sort_unstable();
    v.dedup();
}
