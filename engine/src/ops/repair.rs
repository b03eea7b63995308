//! Rebuilding the index. The repository's packs are self-describing, so the index can always be
//! recomputed: from the index files that are still readable, and from pack trailers for every
//! pack they do not cover (or for all packs). New index files are written before the old ones
//! are deleted, so a crash during repair loses nothing.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::index_file::PackEntries;
use crate::id::Id;
use crate::repo::Repo;

#[derive(Debug, Default)]
pub struct RepairReport {
    pub packs: usize,
    pub blobs: usize,
    /// Packs whose entries came from their trailer (not from an index file).
    pub packs_from_trailers: usize,
    /// Index entries dropped because their pack is gone.
    pub packs_missing: usize,
    /// Packs that could not be read at all, with why.
    pub unreadable: Vec<String>,
    pub index_files_written: usize,
    pub index_files_removed: usize,
}

/// Caller holds an exclusive lock.
pub fn repair_index(repo: &Repo, read_all_packs: bool) -> Result<RepairReport> {
    let mut rep = RepairReport::default();
    let old_files: Vec<String> = repo
        .list(FileType::Index)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut known: HashMap<Id, Vec<crate::format::blob::BlobEntry>> = HashMap::new();
    if !read_all_packs {
        for name in &old_files {
            match repo.read_index_file(name) {
                Ok(list) => {
                    for p in list {
                        known.insert(p.pack, p.entries);
                    }
                }
                // Written by a newer vcd: rebuilding without it would drop its packs from the
                // index and then delete the file. Stop before changing anything.
                Err(e @ Error::UnsupportedVersion { .. }) => return Err(e),
                Err(e) => tracing::warn!("index file {name}: {e}; its packs will be read instead"),
            }
        }
    }
    let stored: Vec<(Id, u64)> = repo
        .list(FileType::Pack)?
        .into_iter()
        .filter_map(|(n, s)| Some((n.parse().ok()?, s)))
        .collect();
    let stored_set: std::collections::HashSet<Id> = stored.iter().map(|(p, _)| *p).collect();
    rep.packs_missing = known.keys().filter(|p| !stored_set.contains(p)).count();

    let todo: Vec<&(Id, u64)> = stored
        .iter()
        .filter(|(p, _)| !known.contains_key(p))
        .collect();
    let read: Vec<Result<std::result::Result<PackEntries, String>>> = todo
        .par_iter()
        .map(
            |(p, size)| match repo.read_pack_trailer(&p.to_hex(), *size) {
                Ok(entries) => Ok(Ok(PackEntries { pack: *p, entries })),
                // A pack of a newer format is not damage: leaving it out would lose its blobs.
                Err(e @ Error::UnsupportedVersion { .. }) => Err(e),
                Err(e) => Ok(Err(format!("pack {p}: {e}"))),
            },
        )
        .collect();
    let read = read.into_iter().collect::<Result<Vec<_>>>()?;
    let mut all: Vec<PackEntries> = known
        .into_iter()
        .filter(|(p, _)| stored_set.contains(p))
        .map(|(pack, entries)| PackEntries { pack, entries })
        .collect();
    for r in read {
        match r {
            Ok(p) => {
                rep.packs_from_trailers += 1;
                all.push(p);
            }
            Err(e) => {
                tracing::warn!("{e}");
                rep.unreadable.push(e);
            }
        }
    }
    all.sort_by_key(|p| p.pack);
    rep.packs = all.len();
    rep.blobs = all.iter().map(|p| p.entries.len()).sum();

    repo.clear_index()?;
    let written = repo.save_index(&all)?;
    rep.index_files_written = written.len();
    // Each new file is read back (hash, seal, entries) before any old one goes: an index
    // written wrong must never be the only one left.
    let mut back = 0;
    for id in &written {
        back += repo
            .read_index_file(&id.to_hex())?
            .iter()
            .map(|p| p.entries.len())
            .sum::<usize>();
    }
    if back != rep.blobs {
        return Err(crate::error::Error::damaged(
            "index file",
            "(new)",
            format!(
                "the new index files read back {back} entries of {}; the old ones are kept",
                rep.blobs
            ),
        ));
    }
    let keep: std::collections::HashSet<String> = written.iter().map(|i| i.to_hex()).collect();
    // The local index is made durable first: it already holds only the new files' entries.
    repo.flush_index()?;
    for name in old_files.iter().filter(|n| !keep.contains(*n)) {
        repo.backend()
            .delete(FileType::Index, name)
            .map_err(crate::repo::be("deleting index file", name))?;
        rep.index_files_removed += 1;
    }
    Ok(rep)
}
