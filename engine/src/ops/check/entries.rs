//! Check's table of every index file's entries: compact rows sorted by blob id for lookups,
//! and their numbers in pack order for the steps that go pack by pack.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::format::blob::BlobEntry;
use crate::id::Id;

/// Every entry of every index file, 56 bytes a blob: rows sorted by blob id for lookups, and
/// their numbers in pack order for the steps that go pack by pack. (A map of packs to entry
/// lists with a sorted table of references took 80 bytes a blob: most of check's memory at a
/// million blobs.)
pub(super) struct Entries {
    pub(super) packs: Vec<Id>,
    pub(super) numbers: HashMap<Id, u32>,
    rows: Vec<Row>,
    by_pack: Vec<u32>,
    /// Pack n's rows are `by_pack[starts[n]..starts[n + 1]]`.
    starts: Vec<usize>,
}

/// One entry in 52 bytes: u32 fields, so no padding; the pack number shares a word with the
/// entry's kind byte (`BlobEntry::kind`, 3 bits).
#[derive(Clone, Copy)]
struct Row {
    id: [u8; 32],
    offset: [u32; 2],
    length: u32,
    raw_length: u32,
    pack_kind: u32,
}

impl Row {
    /// `no` is below `MAX_PACKS` (`EntriesBuilder::add` numbers no more).
    fn new(no: u32, e: &BlobEntry) -> Row {
        Row {
            id: e.id.0,
            offset: [(e.offset >> 32) as u32, e.offset as u32],
            length: e.length,
            raw_length: e.raw_length,
            pack_kind: no << 3 | e.kind() as u32,
        }
    }

    fn pack(&self) -> u32 {
        self.pack_kind >> 3
    }

    fn entry(&self) -> BlobEntry {
        let (ty, compressed, compact) =
            BlobEntry::parse_kind((self.pack_kind & 7) as u8).expect("three bits are a kind");
        BlobEntry {
            ty,
            compressed,
            compact,
            id: Id(self.id),
            offset: (self.offset[0] as u64) << 32 | self.offset[1] as u64,
            length: self.length,
            raw_length: self.raw_length,
        }
    }
}

/// Packs a row can number: three bits of its `pack_kind` word are the kind. 2^29 packs of
/// the default 16 MiB are 8 PiB, but index files are hostile bytes and may name that many.
const MAX_PACKS: u32 = 1 << 29;

pub(super) struct EntriesBuilder {
    packs: Vec<Id>,
    numbers: HashMap<Id, u32>,
    rows: Vec<Row>,
    /// `MAX_PACKS`, lower in tests.
    max_packs: u32,
}

impl Default for EntriesBuilder {
    fn default() -> Self {
        EntriesBuilder {
            packs: Vec::new(),
            numbers: HashMap::new(),
            rows: Vec::new(),
            max_packs: MAX_PACKS,
        }
    }
}

impl EntriesBuilder {
    /// Adds a pack's entries; an error (check cannot go on) once the index files have named
    /// more packs than a row can number.
    pub(super) fn add(&mut self, pack: Id, entries: &[BlobEntry]) -> Result<()> {
        let no = match self.numbers.get(&pack) {
            Some(&no) => no,
            None => {
                let no = u32::try_from(self.packs.len())
                    .ok()
                    .filter(|&no| no < self.max_packs)
                    .ok_or_else(|| {
                        Error::damaged(
                            "index",
                            "",
                            format!(
                                "names more than {} packs, more than check can hold",
                                self.max_packs
                            ),
                        )
                    })?;
                self.numbers.insert(pack, no);
                self.packs.push(pack);
                no
            }
        };
        self.rows.extend(entries.iter().map(|e| Row::new(no, e)));
        Ok(())
    }

    /// `pending`: packs awaiting deletion, whose copy of a blob stored twice comes last.
    pub(super) fn build(self, pending: &HashSet<Id>) -> Entries {
        let EntriesBuilder {
            packs,
            numbers,
            mut rows,
            max_packs: _,
        } = self;
        rows.sort_unstable_by_key(|r| (r.id, pending.contains(&packs[r.pack() as usize])));
        rows.shrink_to_fit();
        let mut by_pack: Vec<u32> = (0..rows.len() as u32).collect();
        by_pack.sort_unstable_by_key(|&i| {
            let r = &rows[i as usize];
            (r.pack(), r.offset)
        });
        let mut starts = vec![0usize; packs.len() + 1];
        for r in &rows {
            starts[r.pack() as usize + 1] += 1;
        }
        for n in 1..starts.len() {
            starts[n] += starts[n - 1];
        }
        Entries {
            packs,
            numbers,
            rows,
            by_pack,
            starts,
        }
    }
}

impl Entries {
    /// Where blob `id` is (any one place, if it is stored twice).
    pub(super) fn get(&self, id: &Id) -> Option<crate::cache::Location> {
        let from = self.rows.partition_point(|r| r.id < id.0);
        self.rows
            .get(from)
            .filter(|r| r.id == id.0)
            .map(|r| crate::cache::Location {
                pack: self.packs[r.pack() as usize],
                entry: r.entry(),
            })
    }

    /// Pack number `n`'s entries, by offset.
    pub(super) fn of_pack(&self, n: u32) -> impl Iterator<Item = BlobEntry> + '_ {
        self.by_pack[self.starts[n as usize]..self.starts[n as usize + 1]]
            .iter()
            .map(|&i| self.rows[i as usize].entry())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob::BlobType;

    #[test]
    fn rows_keep_every_field_of_every_kind() {
        assert_eq!(std::mem::size_of::<Row>(), 52);
        let mut n = 0u64;
        for ty in [BlobType::Data, BlobType::Tree] {
            for compressed in [false, true] {
                for compact in [false, true] {
                    n += 1;
                    let e = BlobEntry {
                        ty,
                        compressed,
                        compact,
                        id: Id([n as u8; 32]),
                        offset: u64::MAX - n,
                        length: u32::MAX - n as u32,
                        raw_length: n as u32,
                    };
                    for no in [0, 1, (1 << 29) - 1] {
                        let r = Row::new(no, &e);
                        assert_eq!(r.entry(), e);
                        assert_eq!(r.pack(), no);
                    }
                }
            }
        }
    }

    #[test]
    fn entries_by_id_and_by_pack() {
        let e = |id: u8, offset: u64| BlobEntry {
            ty: BlobType::Data,
            compressed: false,
            compact: true,
            id: Id([id; 32]),
            offset,
            length: 40,
            raw_length: 8,
        };
        let mut b = EntriesBuilder::default();
        b.add(Id([1; 32]), &[e(9, 100), e(3, 0)]).unwrap();
        b.add(Id([2; 32]), &[e(5, 0)]).unwrap();
        // The same pack named again (two index files): its entries add up under one number.
        b.add(Id([1; 32]), &[e(7, 200)]).unwrap();
        let t = b.build(&HashSet::new());
        assert_eq!(t.packs, vec![Id([1; 32]), Id([2; 32])]);
        let of0: Vec<_> = t.of_pack(0).map(|x| (x.id.0[0], x.offset)).collect();
        assert_eq!(of0, vec![(3, 0), (9, 100), (7, 200)], "by offset");
        assert_eq!(t.of_pack(1).count(), 1);
        let l = t.get(&Id([7; 32])).unwrap();
        assert_eq!((l.pack, l.entry), (Id([1; 32]), e(7, 200)));
        assert!(t.get(&Id([4; 32])).is_none());
        assert!(t.get(&Id([0; 32])).is_none());
        assert!(t.get(&Id([0xff; 32])).is_none());
    }

    /// Defect: a pack number past a row's 29 bits was an `assert!`, so index files naming
    /// that many packs made check panic. Now it is an error (the limit lowered to test it).
    #[test]
    fn more_packs_than_a_row_can_number_is_an_error() {
        let e = BlobEntry {
            ty: BlobType::Data,
            compressed: false,
            compact: true,
            id: Id([1; 32]),
            offset: 0,
            length: 40,
            raw_length: 8,
        };
        let mut b = EntriesBuilder {
            max_packs: 2,
            ..Default::default()
        };
        b.add(Id([1; 32]), &[e]).unwrap();
        b.add(Id([2; 32]), &[e]).unwrap();
        // A pack already numbered still adds.
        b.add(Id([1; 32]), &[e]).unwrap();
        let err = b.add(Id([3; 32]), &[e]).unwrap_err();
        assert!(
            err.is_damage() && err.to_string().contains("more than 2 packs"),
            "{err}"
        );
        assert_eq!(b.packs.len(), 2);
        assert_eq!(EntriesBuilder::default().max_packs, MAX_PACKS);
        assert_eq!(Row::new(MAX_PACKS - 1, &e).pack(), MAX_PACKS - 1);
    }
}
