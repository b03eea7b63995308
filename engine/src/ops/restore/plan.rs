//! Restore planning, pure: which packs a batch of files needs, which byte ranges of each pack to
//! read, and which file positions each blob goes to. Reading a pack once per batch, in a few
//! large ranges, is what makes a restore fast on any storage; deciding it here, with no I/O,
//! is what makes the decision testable.

use std::collections::{BTreeMap, HashMap};

use crate::cache::Location;
use crate::error::Result;
use crate::format::tree::Extent;
use crate::id::Id;

/// Where one blob's bytes go: (index of the file in the batch, offset in that file).
pub type Targets = Vec<(usize, u64)>;

/// Why a file of the batch cannot be restored intact (it is still created; the restore fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No index entry for the blob.
    NotIndexed(Id),
    /// The index and the tree disagree on the blob's length: writing it would spill into the
    /// neighbouring extent.
    Length { id: Id, indexed: u32, tree: u32 },
}

/// One read from a pack, `start..start + len`, and the blobs inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub start: u64,
    pub len: u64,
    pub blobs: Vec<(Location, Targets)>,
}

/// The reads of one pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackReads {
    pub pack: Id,
    pub reads: Vec<Read>,
}

/// A batch's plan: reads per pack (sorted by pack id), and per file its first problem.
#[derive(Debug, Default)]
pub struct Plan {
    pub packs: Vec<PackReads>,
    pub problems: Vec<Option<Problem>>,
}

/// Limits of one read: blobs closer than `gap` bytes are fetched together, and a read stops
/// growing once it spans `max_read` bytes (one blob larger than that is still read whole).
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    pub gap: u64,
    pub max_read: u64,
}

/// Plans a batch: `files[i]` is file i's extents, `lookup` says where a blob is (None: not
/// indexed). A blob used several times, in one file or many, is read once.
pub fn plan(
    files: &[&[Extent]],
    mut lookup: impl FnMut(&Id) -> Result<Option<Location>>,
    limits: ReadLimits,
) -> Result<Plan> {
    let mut problems = vec![None; files.len()];
    let mut by_pack: HashMap<Id, BTreeMap<u64, (Location, Targets)>> = HashMap::new();
    for (fi, extents) in files.iter().enumerate() {
        let mut off = 0u64;
        for e in extents.iter() {
            if let Extent::Data { id, len } = e {
                let problem = match lookup(id)? {
                    Some(loc) if loc.entry.raw_length != *len => Some(Problem::Length {
                        id: *id,
                        indexed: loc.entry.raw_length,
                        tree: *len,
                    }),
                    Some(loc) => {
                        by_pack
                            .entry(loc.pack)
                            .or_default()
                            .entry(loc.entry.offset)
                            .or_insert_with(|| (loc, Vec::new()))
                            .1
                            .push((fi, off));
                        None
                    }
                    None => Some(Problem::NotIndexed(*id)),
                };
                if problems[fi].is_none() {
                    problems[fi] = problem;
                }
            }
            off += e.len();
        }
    }
    let mut packs: Vec<PackReads> = by_pack
        .into_iter()
        .map(|(pack, m)| PackReads {
            pack,
            reads: coalesce(m.into_values().collect(), limits),
        })
        .collect();
    packs.sort_by_key(|p| p.pack);
    Ok(Plan { packs, problems })
}

/// Groups blobs sorted by offset into reads.
fn coalesce(blobs: Vec<(Location, Targets)>, limits: ReadLimits) -> Vec<Read> {
    let mut reads: Vec<Read> = Vec::new();
    for b in blobs {
        let (off, end) = (b.0.entry.offset, b.0.entry.offset + b.0.entry.length as u64);
        match reads.last_mut() {
            Some(r) if off <= r.start + r.len + limits.gap && r.len < limits.max_read => {
                r.len = r.len.max(end - r.start);
                r.blobs.push(b);
            }
            _ => reads.push(Read {
                start: off,
                len: end - off,
                blobs: vec![b],
            }),
        }
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob::{BlobEntry, BlobType};

    fn id(n: u8) -> Id {
        Id([n; 32])
    }

    /// Blob n sits in pack `pack` at `offset`, `length` sealed bytes, `raw` plain.
    fn loc(pack: u8, n: u8, offset: u64, length: u32, raw: u32) -> Location {
        Location {
            pack: id(pack),
            entry: BlobEntry {
                ty: BlobType::Data,
                compressed: false,
                compact: true,
                id: id(n),
                offset,
                length,
                raw_length: raw,
            },
        }
    }

    fn data(n: u8, len: u32) -> Extent {
        Extent::Data { id: id(n), len }
    }

    const LIMITS: ReadLimits = ReadLimits {
        gap: 100,
        max_read: 1000,
    };

    fn run(files: &[&[Extent]], index: &[Location], limits: ReadLimits) -> Plan {
        let map: HashMap<Id, Location> = index.iter().map(|l| (l.entry.id, *l)).collect();
        plan(files, |i| Ok(map.get(i).copied()), limits).unwrap()
    }

    /// (start, len, [blob numbers]) of one read.
    type ReadShape = (u64, u64, Vec<u8>);
    /// A table row: blobs (offset, length) in one pack → the reads expected.
    type Case<'a> = (&'a [(u64, u32)], &'a [(u64, u64, &'a [u8])]);

    /// (pack, reads) of a plan, for compact expectations.
    fn shape(p: &Plan) -> Vec<(u8, Vec<ReadShape>)> {
        p.packs
            .iter()
            .map(|pr| {
                (
                    pr.pack.0[0],
                    pr.reads
                        .iter()
                        .map(|r| {
                            let ids = r.blobs.iter().map(|b| b.0.entry.id.0[0]).collect();
                            (r.start, r.len, ids)
                        })
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn reads_are_coalesced_within_the_gap_and_split_beyond_it() {
        // Table: blob offsets/lengths in one pack → expected reads.
        let cases: &[Case] = &[
            // adjacent
            (&[(0, 10), (10, 10)], &[(0, 20, &[1, 2])]),
            // gap of exactly 100: still one read
            (&[(0, 10), (110, 10)], &[(0, 120, &[1, 2])]),
            // gap of 101: two reads
            (&[(0, 10), (111, 10)], &[(0, 10, &[1]), (111, 10, &[2])]),
            // max_read reached: the next blob starts a new read
            (
                &[(0, 1000), (1000, 10)],
                &[(0, 1000, &[1]), (1000, 10, &[2])],
            ),
            // one blob larger than max_read is read whole
            (&[(0, 5000)], &[(0, 5000, &[1])]),
            // out-of-order index entries are sorted by offset
            (&[(500, 10), (0, 10)], &[(0, 10, &[2]), (500, 10, &[1])]),
        ];
        for (blobs, want) in cases {
            let index: Vec<Location> = blobs
                .iter()
                .enumerate()
                .map(|(i, (o, l))| loc(9, i as u8 + 1, *o, *l, *l))
                .collect();
            let ext: Vec<Extent> = index
                .iter()
                .map(|l| data(l.entry.id.0[0], l.entry.raw_length))
                .collect();
            let p = run(&[&ext], &index, LIMITS);
            let want: Vec<ReadShape> = want.iter().map(|(s, l, b)| (*s, *l, b.to_vec())).collect();
            assert_eq!(shape(&p), vec![(9, want)], "blobs {blobs:?}");
            assert!(p.problems.iter().all(|x| x.is_none()));
        }
    }

    #[test]
    fn a_blob_used_twice_is_read_once_and_written_to_every_position() {
        let index = [loc(1, 7, 0, 50, 40), loc(2, 8, 0, 50, 40)];
        let a = [data(7, 40), data(8, 40), data(7, 40)];
        let b = [Extent::Hole { len: 10 }, data(7, 40)];
        let p = run(&[&a, &b], &index, LIMITS);
        assert_eq!(
            shape(&p),
            vec![(1, vec![(0, 50, vec![7])]), (2, vec![(0, 50, vec![8])])]
        );
        let targets = &p.packs[0].reads[0].blobs[0].1;
        assert_eq!(targets, &vec![(0, 0), (0, 80), (1, 10)]);
        assert_eq!(p.packs[1].reads[0].blobs[0].1, vec![(0, 40)]);
    }

    #[test]
    fn missing_and_mismatched_blobs_are_problems_of_their_file_only() {
        let index = [loc(1, 7, 0, 50, 40), loc(1, 8, 50, 50, 33)];
        let ok = [data(7, 40)];
        let missing = [data(9, 10), data(7, 40)];
        let wrong_len = [data(8, 40), data(9, 1)];
        let p = run(&[&ok, &missing, &wrong_len], &index, LIMITS);
        assert_eq!(p.problems[0], None);
        assert_eq!(p.problems[1], Some(Problem::NotIndexed(id(9))));
        // The first problem of a file is the one reported.
        assert_eq!(
            p.problems[2],
            Some(Problem::Length {
                id: id(8),
                indexed: 33,
                tree: 40
            })
        );
        // Good blobs of a file with a problem are still planned (the rest of it is written).
        assert_eq!(shape(&p), vec![(1, vec![(0, 50, vec![7])])]);
        assert_eq!(p.packs[0].reads[0].blobs[0].1, vec![(0, 0), (1, 10)]);
    }

    #[test]
    fn a_lookup_error_stops_the_plan() {
        let ext = [data(1, 1)];
        let r = plan(
            &[&ext],
            |_| Err(crate::error::Error::Index("boom".into())),
            LIMITS,
        );
        assert!(r.is_err());
    }
}
