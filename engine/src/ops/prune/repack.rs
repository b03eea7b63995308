//! Repacking: the used blobs of wasteful packs copied into new packs, sealed bytes as they
//! are (nothing is compressed or sealed again), data and trees kept in separate packs as a
//! backup keeps them. A pack is read whole and checked against its name first, or, when more
//! than half of it is unused, only its used blobs are read, each checked as a restore checks
//! it: a damaged blob is never copied.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};

use crate::backend::{FileType, PutStream};
use crate::cancel::CancelToken;
use crate::error::Result;
use crate::format::blob::BlobEntry;
use crate::format::index_file::PackEntries;
use crate::format::pack::PackStream;
use crate::id::Id;
use crate::repo::{be, BlobSource, Repo};

use super::mark::Marks;

/// Packs written, and index files naming them.
pub(super) struct Written {
    pub(super) packs: usize,
    pub(super) bytes: u64,
    pub(super) index_files: usize,
}

/// New packs' entries are written to an index file at 64 packs, as a backup does, or at this
/// many entries, whichever comes first: a repack of small blobs would otherwise hold a million
/// entries (tens of MiB) until its 64th pack.
const INDEX_EVERY_ENTRIES: usize = 50_000;

type Out<'r> = Counted<BufWriter<Box<dyn PutStream + 'r>>>;

/// Counts the bytes written through it: the size of a pack, trailer included.
struct Counted<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct Packer<'r> {
    repo: &'r Repo,
    open: [Option<PackStream<Out<'r>>>; 2],
    done: Vec<PackEntries>,
    done_entries: usize,
    written: Written,
}

impl<'r> Packer<'r> {
    fn close(&mut self, ty: usize) -> Result<()> {
        let Some(p) = self.open[ty].take() else {
            return Ok(());
        };
        let werr = |e: std::io::Error| be("writing pack", "(new)")(e.into());
        let (id, out, entries) = self.repo.finish_pack(p).map_err(werr)?;
        let size = out.n;
        let out = out.inner.into_inner().map_err(|e| werr(e.into_error()))?;
        out.commit(&id.to_hex())
            .map_err(be("writing pack", &id.to_hex()))?;
        self.written.packs += 1;
        self.written.bytes += size;
        self.done_entries += entries.len();
        self.done.push(PackEntries { pack: id, entries });
        // So a crash loses little work, and memory holds few entries.
        if self.done.len() >= 64 || self.done_entries >= INDEX_EVERY_ENTRIES {
            self.flush()?;
        }
        Ok(())
    }

    fn add(&mut self, e: &BlobEntry, sealed: &[u8], pack_size: u64) -> Result<()> {
        let ty = e.ty as usize;
        let p = match &mut self.open[ty] {
            Some(p) => p,
            slot => slot.insert(PackStream::new(Counted {
                inner: BufWriter::with_capacity(64 << 10, self.repo.start_pack()?),
                n: 0,
            })),
        };
        p.add_sealed(e, sealed)
            .map_err(|e| be("writing pack", "(new)")(e.into()))?;
        if p.len() >= pack_size {
            self.close(ty)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.done.is_empty() {
            self.written.index_files += self.repo.save_index(&self.done)?.len();
            self.done.clear();
            self.done_entries = 0;
        }
        Ok(())
    }
}

/// `duplicates`: (pack, blob) copies not to copy, another pack holding the copy the index
/// gives (`Survey::duplicates`). That is also what keeps a blob held by two of the packs
/// repacked from being copied twice; were one missed, it would cost space, not data.
pub(super) fn repack(
    repo: &Repo,
    packs: &[Id],
    sizes: &HashMap<Id, u64>,
    used: &HashMap<Id, u64>,
    marks: &Marks,
    duplicates: &HashSet<(Id, Id)>,
    cancel: &CancelToken,
) -> Result<Written> {
    let pack_size = repo.config().pack_size as u64;
    let mut w = Packer {
        repo,
        open: [None, None],
        done: Vec::new(),
        done_entries: 0,
        written: Written {
            packs: 0,
            bytes: 0,
            index_files: 0,
        },
    };
    let mut bytes = Vec::new();
    for pack in packs {
        cancel.check()?;
        let size = sizes.get(pack).copied().unwrap_or(0);
        let keep = |e: &BlobEntry| marks.is_used(&e.id) && !duplicates.contains(&(*pack, e.id));
        if used.get(pack).is_some_and(|u| u * 2 < size) {
            copy_ranges(repo, pack, &keep, &mut bytes, &mut w, pack_size)?;
            continue;
        }
        repo.get_verified_into(FileType::Pack, &pack.to_hex(), size, &mut bytes)?;
        for e in repo.parse_pack(&bytes)?.iter().filter(|e| keep(e)) {
            let sealed = &bytes[e.offset as usize..e.offset as usize + e.length as usize];
            w.add(e, sealed, pack_size)?;
        }
    }
    w.close(0)?;
    w.close(1)?;
    w.flush()?;
    Ok(w.written)
}

/// Reads of one pack's used blobs are merged across gaps up to this size.
const MERGE_GAP: u64 = 256 << 10;
/// And stop growing at this size.
const MAX_READ: u64 = 8 << 20;

/// Copies the blobs `keep` picks from a pack mostly unused: reads only their byte ranges, as
/// the index gives them, and checks each blob (its seal and its id, as a restore does) since
/// the pack's own hash cannot be checked without reading it whole. On the benchmark history
/// the packs more than half unused were 1 GB to read for 77 MB of used blobs.
fn copy_ranges(
    repo: &Repo,
    pack: &Id,
    keep: &dyn Fn(&BlobEntry) -> bool,
    buf: &mut Vec<u8>,
    w: &mut Packer<'_>,
    pack_size: u64,
) -> Result<()> {
    let mut entries: Vec<BlobEntry> = repo
        .indexed_entries(pack)?
        .into_iter()
        .filter(|e| keep(e))
        .collect();
    entries.sort_by_key(|e| e.offset);
    let mut i = 0;
    while i < entries.len() {
        let start = entries[i].offset;
        let mut j = i + 1;
        let mut end = start + entries[i].length as u64;
        while j < entries.len()
            && entries[j].offset <= end + MERGE_GAP
            && entries[j].offset + entries[j].length as u64 - start <= MAX_READ
        {
            end = end.max(entries[j].offset + entries[j].length as u64);
            j += 1;
        }
        repo.read_pack_range(pack, start, end - start, buf)?;
        for e in &entries[i..j] {
            let at = (e.offset - start) as usize;
            let sealed = &buf[at..at + e.length as usize];
            repo.open_blob(e, sealed)?;
            w.add(e, sealed, pack_size)?;
        }
        i = j;
    }
    Ok(())
}
