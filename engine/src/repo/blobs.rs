//! The seams through which operations read and write blobs, instead of reaching for the
//! backend, the keys and the index separately. `BlobSource` is the read side (restore, check,
//! the mount's chunk cache, ls/diff/stats): find a blob, read its sealed bytes, open and verify
//! them. The write side (backup) is the `Repo` methods under "sink": is a chunk stored, seal it,
//! stream a pack, commit it, record what a snapshot vouches for.

use crate::backend::{FileType, PutStream};
use crate::cache::Location;
use crate::error::{Error, Result};
use crate::format::blob::{self, BlobEntry, BlobType, SealedBlob};
use crate::format::chunker::Chunker;
use crate::format::pack::{self, PackStream};
use crate::format::tree::Tree;
use crate::id::Id;
use crate::repo::{be, Repo};

/// Reading blobs. Every blob handed out was decrypted and checked against its id.
pub trait BlobSource: Send + Sync {
    /// Where a blob is, or None when no index file names it.
    fn locate(&self, id: &Id) -> Result<Option<Location>>;

    /// Reads `len` sealed bytes of `pack` at `offset` into `buf` (its contents are replaced).
    /// A pack the index names but storage lacks is damage.
    fn read_pack_range(&self, pack: &Id, offset: u64, len: u64, buf: &mut Vec<u8>) -> Result<()>;

    /// Decrypts, decompresses and verifies one sealed blob against its entry's id.
    fn open_blob(&self, entry: &BlobEntry, sealed: &[u8]) -> Result<Vec<u8>>;

    /// The keyed id of a chunk's plaintext.
    fn chunk_id(&self, data: &[u8]) -> Id;

    /// A blob's sealed bytes, as stored in its pack.
    fn read_sealed_blob(&self, loc: &Location) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_pack_range(
            &loc.pack,
            loc.entry.offset,
            loc.entry.length as u64,
            &mut buf,
        )?;
        Ok(buf)
    }

    fn load_blob_at(&self, loc: &Location) -> Result<Vec<u8>> {
        self.open_blob(&loc.entry, &self.read_sealed_blob(loc)?)
    }

    fn load_blob(&self, id: &Id) -> Result<Vec<u8>> {
        let loc = self.locate(id)?.ok_or(Error::BlobNotIndexed(*id))?;
        self.load_blob_at(&loc)
    }

    /// A tree blob, decoded. A blob stored as data is refused before it is read: its bytes
    /// are authentic, but no writer names a data blob as a directory's tree.
    fn load_tree(&self, id: &Id) -> Result<Tree> {
        let loc = self.locate(id)?.ok_or(Error::BlobNotIndexed(*id))?;
        if loc.entry.ty != BlobType::Tree {
            return Err(Error::damaged(
                "tree",
                id.to_hex(),
                "the blob is stored as data, not as a tree",
            ));
        }
        let b = self.load_tree_blob(id, &loc)?;
        Tree::decode(&b).map_err(|e| match e {
            Error::Damaged { detail, .. } => Error::damaged("tree", id.to_hex(), detail),
            e => e,
        })
    }

    /// A tree blob's plaintext, read from where the index says; a source with a cache of
    /// trees answers from it.
    fn load_tree_blob(&self, _id: &Id, loc: &Location) -> Result<Vec<u8>> {
        self.load_blob_at(loc)
    }
}

impl BlobSource for Repo {
    fn locate(&self, id: &Id) -> Result<Option<Location>> {
        self.index()?.lookup(id)
    }

    fn read_pack_range(&self, pack: &Id, offset: u64, len: u64, buf: &mut Vec<u8>) -> Result<()> {
        let name = pack.to_hex();
        self.backend
            .read_range_into(FileType::Pack, &name, offset, len, buf)
            .map_err(|e| {
                if e.is_not_found() {
                    Error::damaged(
                        "pack",
                        &name,
                        "missing: the index names it but storage does not have it",
                    )
                } else {
                    be("reading pack", &name)(e)
                }
            })
    }

    fn open_blob(&self, entry: &BlobEntry, sealed: &[u8]) -> Result<Vec<u8>> {
        blob::open_blob(&self.keys, entry, sealed)
    }

    fn chunk_id(&self, data: &[u8]) -> Id {
        self.keys.chunk_id.id(data)
    }

    /// A remote repository's trees come from the local metadata cache when it has them
    /// (checked as any blob is: MAC and keyed id), and go into it when read.
    fn load_tree_blob(&self, id: &Id, loc: &Location) -> Result<Vec<u8>> {
        use crate::cache::files::Kind;
        let Some(c) = &self.files else {
            return self.load_blob_at(loc);
        };
        let name = id.to_hex();
        if let Some(sealed) = c.get(Kind::Tree, &name) {
            match self.open_blob(&loc.entry, &sealed) {
                Ok(b) => return Ok(b),
                Err(_) => c.remove(Kind::Tree, &name),
            }
        }
        // Trees are read one directory at a time, and a request each made a restore on a new
        // host (an empty cache) wait 9 of its 12 seconds: the uncached trees around this one
        // in its pack come with it, in one read.
        let entries = self.index()?.entries_of(&loc.pack)?.unwrap_or_default();
        let (start, end, near) = tree_span(&entries, &loc.entry, TREE_SPAN, |id| {
            c.contains(Kind::Tree, &id.to_hex())
        });
        let mut buf = Vec::new();
        self.read_pack_range(&loc.pack, start, end - start, &mut buf)?;
        let slice = |e: &BlobEntry| {
            let s = (e.offset - start) as usize;
            &buf[s..s + e.length as usize]
        };
        let b = self.open_blob(&loc.entry, slice(&loc.entry))?;
        for e in near {
            // Checked when read, as every cached tree is.
            c.put(Kind::Tree, &e.id.to_hex(), slice(e));
        }
        Ok(b)
    }
}

/// The most bytes one tree read spans (a default pack is 16 MiB).
const TREE_SPAN: u64 = 4 << 20;

/// The read that fetches `target` from its pack (`entries`, the pack's index entries) and, as
/// far as it stays within `max` bytes, the tree blobs around it that `cached` says are not in
/// the cache yet; returns (start, end, the blobs it holds, `target` included). A directory's
/// subtrees are written before it, so both sides are taken, nearest first.
fn tree_span<'e>(
    entries: &'e [BlobEntry],
    target: &'e BlobEntry,
    max: u64,
    cached: impl Fn(&Id) -> bool,
) -> (u64, u64, Vec<&'e BlobEntry>) {
    let end_of = |e: &BlobEntry| e.offset.saturating_add(e.length as u64);
    let mut near: Vec<&BlobEntry> = entries
        .iter()
        .filter(|e| e.ty == BlobType::Tree && e.offset != target.offset && !cached(&e.id))
        .collect();
    near.sort_by_key(|e| e.offset);
    let at = near.partition_point(|e| e.offset < target.offset);
    let (mut lo, mut hi) = (at, at);
    let (mut start, mut end) = (target.offset, end_of(target));
    loop {
        let left = lo.checked_sub(1).map(|i| near[i]);
        let right = near.get(hi).copied();
        // The side whose blob adds fewer bytes to the read; the earlier one on a tie.
        let pick = match (left, right) {
            (Some(l), Some(r)) if start - l.offset <= end_of(r).saturating_sub(end) => Some(l),
            (Some(l), None) => Some(l),
            (_, r) => r,
        };
        let Some(e) = pick else { break };
        let (s, t) = (start.min(e.offset), end.max(end_of(e)));
        if t - s > max {
            break;
        }
        (start, end) = (s, t);
        if Some(e) == left {
            lo -= 1;
        } else {
            hi += 1;
        }
    }
    let mut held: Vec<&BlobEntry> = near[lo..hi].to_vec();
    held.push(target);
    (start, end, held)
}

/// Inherent forms of the read seam, so callers need not import the trait.
impl Repo {
    pub fn lookup_opt(&self, id: &Id) -> Result<Option<Location>> {
        self.locate(id)
    }

    pub fn lookup(&self, id: &Id) -> Result<Location> {
        self.locate(id)?.ok_or(Error::BlobNotIndexed(*id))
    }

    pub fn load_blob(&self, id: &Id) -> Result<Vec<u8>> {
        BlobSource::load_blob(self, id)
    }

    pub fn load_tree(&self, id: &Id) -> Result<Tree> {
        BlobSource::load_tree(self, id)
    }

    /// Entries of a whole pack held in memory (check --read-data).
    pub fn parse_pack(&self, bytes: &[u8]) -> Result<Vec<BlobEntry>> {
        pack::parse_pack(&self.keys.data, bytes)
    }
}

/// The sink: what a backup needs to store blobs.
impl Repo {
    /// The chunker every writer of this repository must use (its parameters and keyed seed).
    pub fn chunker(&self) -> Chunker {
        Chunker::new(self.config.chunker, self.keys.chunker_seed)
    }

    /// True when the index already names a blob with this id.
    pub fn is_stored(&self, id: &Id) -> Result<bool> {
        self.index()?.contains(id)
    }

    /// Keeps a tree's sealed bytes in the metadata cache of a remote repository.
    pub fn cache_tree(&self, id: &Id, sealed: &[u8]) {
        if let Some(c) = &self.files {
            c.put(crate::cache::files::Kind::Tree, &id.to_hex(), sealed);
        }
    }

    /// Compresses (at `level`, when it helps) and seals one blob for a pack.
    pub fn seal_blob(&self, ty: BlobType, id: Id, data: &[u8], level: i32) -> SealedBlob {
        blob::seal_blob(&self.keys, ty, id, data, level)
    }

    /// Starts a new pack file, written as its blobs arrive and named when committed.
    pub fn start_pack(&self) -> Result<Box<dyn PutStream + '_>> {
        self.upgrade()?;
        self.backend
            .put_stream(FileType::Pack)
            .map_err(be("writing pack", "(new)"))
    }

    /// Seals the trailer of a pack being streamed and names it; returns (name, output,
    /// entries). The output must then be committed under the name.
    pub fn finish_pack<W: std::io::Write>(
        &self,
        p: PackStream<W>,
    ) -> std::io::Result<(Id, W, Vec<BlobEntry>)> {
        p.finish(&self.keys.data)
    }

    /// Whether this machine's index holds every blob of snapshot `id` (see `mark_complete`).
    pub fn snapshot_is_complete(&self, id: &Id) -> Result<bool> {
        self.index()?.is_complete(id)
    }

    /// Records that every blob of snapshot `id` is indexed here, so the next backup may reuse
    /// its unchanged files without a lookup per chunk.
    pub fn mark_complete(&self, id: &Id) -> Result<()> {
        self.index.mark_complete(id)?;
        self.index.flush()
    }

    /// Makes the local index durable (it is derived data: this is about speed, not safety).
    pub fn flush_index(&self) -> Result<()> {
        self.index.flush()
    }

    /// Every (blob id, location) of the local index.
    pub fn indexed_blobs(&self) -> impl Iterator<Item = Result<(Id, Location)>> + '_ {
        // A first read that fails is the first item; the callers stop at an error.
        let failed = self.index().err().map(Err);
        failed.into_iter().chain(self.index.iter())
    }

    /// Every pack of the local index with its entries.
    pub fn indexed_packs(&self) -> impl Iterator<Item = Result<(Id, Vec<BlobEntry>)>> + '_ {
        let failed = self.index().err().map(Err);
        failed.into_iter().chain(self.index.packs())
    }

    /// The entries the index records for `pack`.
    pub fn indexed_entries(&self, pack: &Id) -> Result<Vec<BlobEntry>> {
        self.index()?
            .entries_of(pack)?
            .ok_or_else(|| Error::Index(format!("no record for pack {pack}")))
    }

    /// Frees the memory lookups use (see `Index::release_lookups`).
    pub fn release_lookups(&self) {
        self.index.release_lookups()
    }

    /// Empties the local index (repair rebuilds it from what it writes next).
    pub(crate) fn clear_index(&self) -> Result<()> {
        self.index.clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::testing::{mem_repo, store};

    fn entry(n: u8, ty: BlobType, offset: u64, length: u32) -> BlobEntry {
        BlobEntry {
            ty,
            compressed: false,
            compact: true,
            id: Id([n; 32]),
            offset,
            length,
            raw_length: length,
        }
    }

    #[test]
    fn a_tree_read_takes_the_uncached_trees_around_it_within_the_span() {
        use BlobType::{Data, Tree};
        // Blobs of 100 bytes at 0, 100, ... 900; number n at offset 100 * (n - 1).
        let ty = |n: u8| if n == 4 { Data } else { Tree };
        let pack: Vec<BlobEntry> = (1..=10)
            .map(|n| entry(n, ty(n), 100 * (n as u64 - 1), 100))
            .collect();
        let numbers = |held: &[&BlobEntry]| {
            let mut v: Vec<u8> = held.iter().map(|e| e.id.0[0]).collect();
            v.sort();
            v
        };
        /// (target, span, cached) -> (start, end, blobs held)
        type Case<'a> = (u8, u64, &'a [u8], (u64, u64, &'a [u8]));
        let cases: &[Case] = &[
            // Everything uncached and room for all: the data blob (4) is read through, not held.
            (7, 1000, &[], (0, 1000, &[1, 2, 3, 5, 6, 7, 8, 9, 10])),
            // Room for three: the nearest, the earlier ones on a tie (a directory's subtrees,
            // which a walk from the top needs next, are written before it).
            (7, 300, &[], (400, 700, &[5, 6, 7])),
            (7, 300, &[5], (500, 800, &[6, 7, 8])),
            // Room for one only: the target alone.
            (7, 150, &[], (600, 700, &[7])),
            // The root is written last: a read from the end of the pack grows backwards.
            (10, 300, &[], (700, 1000, &[8, 9, 10])),
            // Cached trees are not held again; the read may still pass over them.
            (7, 1000, &[8, 9], (0, 1000, &[1, 2, 3, 5, 6, 7, 10])),
            (7, 1000, &[1, 2, 3, 5, 6, 8, 9, 10], (600, 700, &[7])),
        ];
        for &(target, span, cached, (start, end, held)) in cases {
            let t = &pack[target as usize - 1];
            let (s, e, h) = tree_span(&pack, t, span, |id| cached.contains(&id.0[0]));
            assert_eq!(
                (s, e, numbers(&h)),
                (start, end, held.to_vec()),
                "target {target}, span {span}, cached {cached:?}"
            );
        }
        // A hostile entry at the end of the address space is not an overflow.
        let far = [entry(1, Tree, u64::MAX - 1, 100), entry(2, Tree, 0, 100)];
        let (s, e, h) = tree_span(&far, &far[1], 1 << 20, |_| false);
        assert_eq!((s, e, h.len()), (0, 100, 1));
    }

    #[test]
    fn a_stored_blob_comes_back_verified() {
        let repo = mem_repo();
        let id = store(&repo, BlobType::Data, b"hello, blob");
        assert_eq!(repo.load_blob(&id).unwrap(), b"hello, blob");
        let loc = repo.lookup(&id).unwrap();
        assert_eq!(repo.load_blob_at(&loc).unwrap(), b"hello, blob");
        assert_eq!(repo.chunk_id(b"hello, blob"), id);
    }

    #[test]
    fn unknown_missing_and_damaged_blobs_are_typed_errors() {
        let repo = mem_repo();
        let e = repo.load_blob(&Id([5; 32])).unwrap_err();
        assert!(matches!(e, Error::BlobNotIndexed(_)) && e.is_damage());

        let id = store(&repo, BlobType::Data, b"some bytes");
        let loc = repo.lookup(&id).unwrap();
        let name = loc.pack.to_hex();
        let good = repo.backend.get(FileType::Pack, &name).unwrap();

        // One flipped byte inside the blob: its MAC fails.
        let mut bad = good.clone();
        bad[loc.entry.offset as usize + 20] ^= 1;
        repo.backend.put(FileType::Pack, &name, &bad).unwrap();
        let e = repo.load_blob(&id).unwrap_err();
        assert!(e.is_damage(), "{e}");

        // The pack gone from storage: damage, not a retryable read failure.
        repo.backend.delete(FileType::Pack, &name).unwrap();
        let e = repo.load_blob(&id).unwrap_err();
        assert!(e.is_damage() && !e.is_retryable(), "{e}");
        assert!(e.to_string().contains("missing"), "{e}");

        // A tree blob that does not decode as a tree is damage naming the tree.
        let t = store(
            &repo,
            BlobType::Tree,
            &[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        );
        let e = repo.load_tree(&t).unwrap_err();
        assert!(e.is_damage() && e.to_string().contains("tree"), "{e}");

        // A data blob named as a tree is refused even when its bytes are a valid tree.
        let as_data = store(&repo, BlobType::Data, &Tree::default().encode());
        let e = repo.load_tree(&as_data).unwrap_err();
        assert!(
            e.is_damage() && e.to_string().contains("stored as data"),
            "{e}"
        );
    }
}
