//! The in-memory lookup table of the local index (blob id prefix → pack numbers) and the small
//! cache of decoded pack entries that lookups search.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::error::Result;
use crate::format::blob::BlobEntry;
use crate::id::Id;
use crate::radix::Buckets;

pub(super) fn prefix(id: &Id) -> u64 {
    u64::from_be_bytes(id.0[..8].try_into().unwrap())
}

/// One table slot: a blob id's 8-byte prefix (high and low halves) and a pack number. Three
/// u32s rather than (u64, u32), which pads to 16 bytes: 12 bytes a blob. Arrays compare
/// element by element, so slots sort by prefix, then pack.
pub(super) type Slot = [u32; 3];

pub(super) fn slot(p: u64, no: u32) -> Slot {
    [(p >> 32) as u32, p as u32, no]
}

pub(super) fn slot_prefix(s: &Slot) -> u64 {
    (s[0] as u64) << 32 | s[1] as u64
}

/// Blob id prefixes → pack numbers: `base` sorted, and what was added since its last merge in
/// `extra` (a hash map, so an insert costs the same however small its pack) with the rare
/// second pack for a prefix (a blob stored twice, or two ids sharing 8 bytes) in `extra_dups`.
#[derive(Default)]
pub(super) struct Table {
    pub(super) base: Vec<Slot>,
    /// The directory of `base`, rebuilt whenever it changes.
    buckets: Buckets,
    pub(super) extra: HashMap<u64, u32>,
    pub(super) extra_dups: Vec<Slot>,
    pub(super) packs: Vec<Id>,
    pub(super) numbers: HashMap<Id, u32>,
}

impl Table {
    /// Builds the table from every pack's entries at once: one sort, no merges.
    pub(super) fn build(
        packs: impl Iterator<Item = Result<(Id, Vec<BlobEntry>)>>,
    ) -> Result<Table> {
        let mut t = Table::default();
        for r in packs {
            let (pack, entries) = r?;
            let (no, _) = t.number(pack);
            t.base
                .extend(entries.iter().map(|e| slot(prefix(&e.id), no)));
        }
        t.base.sort_unstable();
        t.base.dedup();
        t.base.shrink_to_fit();
        t.index_base();
        Ok(t)
    }

    fn index_base(&mut self) {
        self.buckets = Buckets::build(self.base.iter().map(slot_prefix));
    }

    /// The pack's number, and whether it was known before.
    pub(super) fn number(&mut self, pack: Id) -> (u32, bool) {
        match self.numbers.get(&pack) {
            Some(&no) => (no, true),
            None => {
                let no = self.packs.len() as u32;
                self.packs.push(pack);
                self.numbers.insert(pack, no);
                (no, false)
            }
        }
    }

    /// Adds a pack's entries; true when the pack was known before.
    pub(super) fn add(&mut self, pack: Id, entries: &[BlobEntry]) -> bool {
        let (no, known) = self.number(pack);
        for e in entries {
            let p = prefix(&e.id);
            match self.extra.entry(p) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(no);
                }
                std::collections::hash_map::Entry::Occupied(o) => {
                    if *o.get() != no {
                        self.extra_dups.push(slot(p, no));
                    }
                }
            }
        }
        if self.extra.len() > (self.base.len() / 8).max(1 << 16) {
            self.merge();
        }
        known
    }

    pub(super) fn len(&self) -> usize {
        self.base.len() + self.extra.len() + self.extra_dups.len()
    }

    pub(super) fn merge(&mut self) {
        if self.extra.is_empty() {
            return;
        }
        let mut add: Vec<Slot> = self.extra.drain().map(|(p, no)| slot(p, no)).collect();
        add.append(&mut self.extra_dups);
        add.sort_unstable();
        merge_into(&mut self.base, &add);
        self.index_base();
        // The map keeps its buckets after a drain: give them back, or the table holds a
        // map's worth of empty slots for good.
        self.extra.shrink_to_fit();
    }

    /// The packs whose entries have an id with this prefix.
    pub(super) fn candidates(&self, p: u64) -> Vec<Id> {
        let r = self.buckets.range(p);
        let near = &self.base[r];
        let start = near.partition_point(|e| slot_prefix(e) < p);
        let mut out: Vec<u32> = near[start..]
            .iter()
            .take_while(|e| slot_prefix(e) == p)
            .map(|e| e[2])
            .collect();
        if let Some(&no) = self.extra.get(&p) {
            out.push(no);
            out.extend(
                self.extra_dups
                    .iter()
                    .filter(|e| slot_prefix(e) == p)
                    .map(|e| e[2]),
            );
        }
        out.into_iter().map(|no| self.packs[no as usize]).collect()
    }
}

/// Merges sorted `add` into sorted `base` in place (from the back, so the table is never held
/// twice), without duplicates.
pub(super) fn merge_into(base: &mut Vec<Slot>, add: &[Slot]) {
    let (n, m) = (base.len(), add.len());
    // Exactly: growth by doubling would leave up to a table's worth of slack for good.
    base.reserve_exact(m);
    base.resize(n + m, [0; 3]);
    let (mut i, mut j) = (n, m);
    for k in (0..n + m).rev() {
        if j == 0 {
            break;
        }
        if i > 0 && base[i - 1] > add[j - 1] {
            base[k] = base[i - 1];
            i -= 1;
        } else {
            base[k] = add[j - 1];
            j -= 1;
        }
    }
    base.dedup();
}

/// Decoded entries of recently used packs. Restores and mounts read blob after blob from the
/// same few packs, so a handful of them covers the working set.
#[derive(Default)]
/// Keyed by pack id, not number: a clear renumbers the packs while a lookup may still hold
/// a number from before it, and a pack's entries never change.
pub(super) struct PackCache {
    pub(super) packs: VecDeque<(Id, Arc<Vec<BlobEntry>>)>,
}

/// Packs whose entries are kept decoded (a pack of small blobs holds ~15,000 entries, ~850 KiB).
pub(super) const PACK_CACHE: usize = 16;

impl PackCache {
    pub(super) fn get(&mut self, pack: &Id) -> Option<Arc<Vec<BlobEntry>>> {
        let i = self.packs.iter().position(|p| p.0 == *pack)?;
        let p = self.packs.remove(i).expect("found");
        let e = p.1.clone();
        self.packs.push_front(p);
        Some(e)
    }

    pub(super) fn put(&mut self, pack: Id, e: Arc<Vec<BlobEntry>>) {
        self.remove(&pack);
        if self.packs.len() >= PACK_CACHE {
            self.packs.pop_back();
        }
        self.packs.push_front((pack, e));
    }

    pub(super) fn remove(&mut self, pack: &Id) {
        self.packs.retain(|p| p.0 != *pack);
    }
}
