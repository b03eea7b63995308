//! The chunk index: which pack holds which blob (FORMAT.md §Index).
//!
//! Two layers. The repository's `index/` files are the durable record: each lists packs and
//! their blob entries, sealed. The local sled database under the cache directory is derived
//! from them, for lookups that need not hold the whole index in memory; it remembers which
//! index files it has absorbed, and is reloaded whenever that set no longer matches the
//! repository (files removed, or the database lost). Losing sled loses nothing. See `Index`
//! for how the database is laid out and why.

pub mod files;
mod perms;
mod records;
mod table;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use crate::error::{Error, Result};
use crate::format::blob::{BlobEntry, ENTRY_LEN};
use crate::format::index_file::PackEntries;
use crate::id::Id;
use records::Records;
use table::{prefix, PackCache, Table};

/// Where a blob is: its pack and its entry in that pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub pack: Id,
    pub entry: BlobEntry,
}

/// The local index: one record per pack (its entries, in the columns of
/// `meta::encode_entries`) appended to a records file beside the database; in sled, where each
/// pack's record is (with its hash), the index files absorbed, and marks of complete
/// snapshots. For lookups, a table in memory maps every blob id's 8-byte prefix to the packs
/// that hold it, built from the pack records on first use (12 bytes a blob); a lookup is a
/// binary search there and a search of the pack's entries, kept decoded in a small cache.
///
/// Why not a sled key per blob: every sled operation costs 15-20 µs once the database outgrows
/// its cache (measured at a million blobs, inserts and reads alike), which made a backup of a
/// million small files spend half its CPU in sled. Per pack, sled sees hundreds of times fewer
/// operations, and the table answers "not stored" for new chunks without touching sled.
///
/// Why the records are not sled values: records run to hundreds of KiB, and sled kept the ones
/// it had read in its page cache well past its cache setting (heaptrack of a million-file
/// restore: some 36 MB of its 112 MB peak heap, from building the table). Read with `pread`,
/// a record lives only as long as its decoding.
pub struct Index {
    db: sled::Db,
    packs: sled::Tree,
    records: Records,
    files: sled::Tree,
    meta: sled::Tree,
    table: RwLock<Option<Table>>,
    cache: Mutex<PackCache>,
    /// Packs a deletion plan names (FORMAT.md §14): a lookup prefers any other location, and
    /// `contains`, which decides whether a backup stores a chunk, does not count them.
    pending: RwLock<HashSet<Id>>,
    /// Held (flock) while this process uses the on-disk database. Last, so it is released
    /// only after sled has closed the database.
    _lock: Option<std::fs::File>,
}

impl Index {
    /// Opens (or creates) the database at `path`. When another process holds it, falls back to
    /// a private temporary database, which `sync` fills from the repository's index files.
    pub fn open(path: &Path) -> Result<Self> {
        perms::private_dirs(path)?;
        // Our own lock, beside the database: sled's lock error cannot be told apart from
        // other failures, and a busy database must never be mistaken for a corrupt one.
        let lock_path = path.with_extension("lock");
        perms::private_file(&lock_path)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            tracing::info!(
                "local index at {} is in use by another vcd; using a temporary one",
                path.display()
            );
            return Self::temporary();
        }
        let open = || {
            sled::Config::new()
                .path(path)
                .cache_capacity(16 << 20)
                .open()
        };
        let db = match open() {
            Ok(db) => db,
            Err(e) => {
                // We hold the lock, so nobody else uses it: a damaged cache is rebuilt from
                // the repository rather than failed over.
                tracing::warn!(
                    "local index at {} is unreadable ({e}); rebuilding it",
                    path.display()
                );
                std::fs::remove_dir_all(path).map_err(|e| Error::io(path, e))?;
                perms::private_dirs(path)?;
                open()?
            }
        };
        perms::narrow_tree(path);
        let records_path = path.with_extension("records");
        perms::private_file(&records_path)?;
        let records = Records::open(records_path)?;
        let mut ix = Self::from_db(db, records)?;
        ix._lock = Some(lock);
        Ok(ix)
    }

    pub fn temporary() -> Result<Self> {
        Self::from_db(
            sled::Config::new()
                .temporary(true)
                .cache_capacity(16 << 20)
                .open()?,
            Records::temporary()?,
        )
    }

    fn from_db(db: sled::Db, records: Records) -> Result<Self> {
        let ix = Index {
            packs: db.open_tree("pack_records")?,
            records,
            files: db.open_tree("absorbed")?,
            meta: db.open_tree("meta")?,
            table: RwLock::new(None),
            cache: Mutex::new(PackCache::default()),
            pending: RwLock::new(HashSet::new()),
            _lock: None,
            db,
        };
        // Trees of earlier layouts (a key per blob; records as sled values; the absorbed files
        // under other names): a database that has them was written, or written again, by an
        // older vcd. Everything is cleared and read again from the repository's index files.
        // Each layout names its absorbed files anew so that an older vcd opening this database
        // finds none and rebuilds its own trees rather than trusting empty ones. Cleared
        // first: a crash in between leaves the old trees, and this runs again.
        let names = ix.db.tree_names();
        let old: Vec<&[u8]> = [
            b"blobs".as_slice(),
            b"index_files",
            b"packs",
            b"absorbed_files",
        ]
        .into_iter()
        .filter(|o| names.iter().any(|n| n.as_ref() == *o))
        .collect();
        if !old.is_empty() {
            tracing::info!("local index of an earlier layout; rebuilding it");
            ix.clear()?;
            for o in old {
                ix.db.drop_tree(o)?;
            }
            ix.db.flush()?;
        }
        ix.check_records()?;
        Ok(ix)
    }

    /// After a crash (power loss: the records file is synced before the database is flushed,
    /// but sled may write on its own) the database can name records the file never received.
    /// Every append stores the file's new end in `meta` before the record is named, and sled
    /// recovers a prefix of its writes (it replays its log in order up to the first gap): a database that names a lost record also holds an end
    /// beyond the file's. One read here, however many packs; a record damaged some other way
    /// fails its hash when read.
    fn check_records(&self) -> Result<()> {
        let len = self.records.end();
        let end = self
            .meta
            .get(RECORDS_END)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_le_bytes))
            .unwrap_or(0);
        if end > len {
            tracing::info!("local index names records its file lacks; rebuilding it");
            self.clear()?;
        } else if self.packs.is_empty() && len > 0 {
            // Records nobody names (a database removed as unreadable, say): drop them.
            self.records.truncate()?;
            self.meta.remove(RECORDS_END)?;
        }
        Ok(())
    }

    /// A pack's record. One that fails its hash sets the clearing marker, so the next open's
    /// `sync_index` rebuilds the database from the repository; this run reports the error.
    fn read_record(&self, pack: &Id, loc: &[u8]) -> Result<Vec<BlobEntry>> {
        let r = self.records.read(pack, loc);
        if r.is_err() {
            if let Err(e) = self.mark_clearing() {
                tracing::warn!("marking the local index for a rebuild: {e}");
            }
        }
        r
    }

    /// Sets the marker that makes the next `sync_index` clear and rebuild the database.
    fn mark_clearing(&self) -> Result<()> {
        self.meta.insert(CLEARING, &[])?;
        self.db.flush()?;
        Ok(())
    }

    /// Runs `f` on the lookup table, building it from the pack records on first use.
    fn with_table<R>(&self, f: impl FnOnce(&Table) -> R) -> Result<R> {
        if let Some(t) = &*self.table.read().unwrap() {
            return Ok(f(t));
        }
        let mut guard = self.table.write().unwrap();
        if guard.is_none() {
            let t = Table::build(self.packs.iter().map(|kv| {
                let (k, v) = kv?;
                let pack =
                    Id::from_slice(&k).ok_or_else(|| Error::Index("corrupt pack key".into()))?;
                Ok((pack, self.read_record(&pack, &v)?))
            }))?;
            *guard = Some(t);
        }
        Ok(f(guard.as_ref().expect("just built")))
    }

    /// The entries of a pack, sorted by blob id.
    fn pack_entries(&self, pack: Id) -> Result<Arc<Vec<BlobEntry>>> {
        if let Some(e) = self.cache.lock().unwrap().get(&pack) {
            return Ok(e);
        }
        let v = self
            .packs
            .get(pack.0)?
            .ok_or_else(|| Error::Index(format!("no record for pack {pack}")))?;
        let mut entries = self.read_record(&pack, &v)?;
        entries.sort_unstable_by_key(|e| e.id);
        let entries = Arc::new(entries);
        self.cache.lock().unwrap().put(pack, entries.clone());
        Ok(entries)
    }

    /// Where a blob is. A pack awaiting deletion is given only when no other pack holds the
    /// blob: a snapshot written beside the prune that planned it may still need it there.
    pub fn lookup(&self, id: &Id) -> Result<Option<Location>> {
        self.find(id, true)
    }

    /// True when a pack that is not awaiting deletion holds the blob: a backup must store a
    /// blob again rather than lean on a pack a prune will delete.
    pub fn contains(&self, id: &Id) -> Result<bool> {
        Ok(self.find(id, false)?.is_some())
    }

    fn find(&self, id: &Id, or_pending: bool) -> Result<Option<Location>> {
        let packs = self.with_table(|t| t.candidates(prefix(id)))?;
        let pending = self.pending.read().unwrap();
        let mut fallback = None;
        for pack in packs {
            let entries = self.pack_entries(pack)?;
            if let Ok(i) = entries.binary_search_by(|e| e.id.cmp(id)) {
                let loc = Location {
                    pack,
                    entry: entries[i],
                };
                if !pending.contains(&pack) {
                    return Ok(Some(loc));
                }
                if or_pending && fallback.is_none() {
                    fallback = Some(loc);
                }
            }
        }
        Ok(fallback)
    }

    /// Sets the packs awaiting deletion. When they differ from the set this database last
    /// saw, the marks of complete snapshots go: a mark vouches for blobs a plan may since
    /// have left only in packs awaiting deletion, and a backup must look those up.
    pub fn set_pending(&self, packs: HashSet<Id>) -> Result<()> {
        let mut sorted: Vec<&Id> = packs.iter().collect();
        sorted.sort();
        let mut h = blake3::Hasher::new();
        for p in sorted {
            h.update(&p.0);
        }
        let digest = h.finalize();
        if self.meta.get(PENDING)?.as_deref() != Some(digest.as_bytes().as_slice()) {
            for k in self.meta.scan_prefix(COMPLETE).keys() {
                self.meta.remove(k?)?;
            }
            self.meta.insert(PENDING, digest.as_bytes().as_slice())?;
        }
        *self.pending.write().unwrap() = packs;
        Ok(())
    }

    /// The packs awaiting deletion, as last set.
    pub fn pending(&self) -> HashSet<Id> {
        self.pending.read().unwrap().clone()
    }

    pub fn insert_pack(&self, p: &PackEntries) -> Result<()> {
        let mut rec = Vec::with_capacity(8 + p.entries.len() * ENTRY_LEN);
        crate::format::meta::encode_entries(&p.entries, &mut rec);
        let loc = self.records.append(&rec, &self.meta)?;
        self.packs.insert(p.pack.0, loc.encode().as_slice())?;
        // After the record: a lookup that finds the prefix must find the record.
        if let Some(t) = self.table.write().unwrap().as_mut() {
            if t.add(p.pack, &p.entries) {
                // The pack was recorded before: its cached entries may be the old ones.
                self.cache.lock().unwrap().remove(&p.pack);
            }
        }
        Ok(())
    }

    /// Records that every entry of index file `name` is in the database.
    pub fn mark_file(&self, name: &str) -> Result<()> {
        self.files.insert(name.as_bytes(), &[])?;
        Ok(())
    }

    pub fn absorbed_files(&self) -> Result<Vec<String>> {
        self.files
            .iter()
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect()
    }

    /// Empties the database. sled clears key by key, so a marker makes an interrupted clear
    /// visible: `sync_index` then clears again instead of trusting a half-emptied table.
    pub fn clear(&self) -> Result<()> {
        self.mark_clearing()?;
        // Snapshot marks first: they vouch for entries about to be removed.
        for k in self.meta.scan_prefix(COMPLETE).keys() {
            self.meta.remove(k?)?;
        }
        self.files.clear()?;
        self.packs.clear()?;
        self.records.truncate()?;
        // Synced before the marker goes: records appended after this clear reuse offsets from
        // 0, and a file that kept its old bytes through a crash would fail their hashes.
        self.records.sync()?;
        self.meta.remove(RECORDS_END)?;
        *self.table.write().unwrap() = None;
        *self.cache.lock().unwrap() = PackCache::default();
        self.meta.remove(CLEARING)?;
        self.db.flush()?;
        Ok(())
    }

    /// The entries of one pack as recorded, if the database has it (read afresh, not cached).
    pub fn entries_of(&self, pack: &Id) -> Result<Option<Vec<BlobEntry>>> {
        match self.packs.get(pack.0)? {
            Some(v) => Ok(Some(self.read_record(pack, &v)?)),
            None => Ok(None),
        }
    }

    /// Gives back the lookup table and the cached pack entries; the next lookup builds the
    /// table again. For a long run that has done its lookups (a prune before it rewrites the
    /// index files).
    pub fn release_lookups(&self) {
        *self.table.write().unwrap() = None;
        *self.cache.lock().unwrap() = PackCache::default();
    }

    /// True when a clear was interrupted.
    pub fn is_incomplete(&self) -> Result<bool> {
        Ok(self.meta.contains_key(CLEARING)?)
    }

    /// Records that every blob snapshot `snap` refers to is in this database: a backup whose
    /// parent is `snap` may then reuse an unchanged file's chunk list without looking each
    /// chunk up. `clear` removes the marks, so they never outlive the entries they vouch for.
    pub fn mark_complete(&self, snap: &Id) -> Result<()> {
        self.meta.insert(complete_key(snap), &[])?;
        Ok(())
    }

    pub fn is_complete(&self, snap: &Id) -> Result<bool> {
        Ok(self.meta.contains_key(complete_key(snap))?)
    }

    /// Entries in the lookup table: one per blob and pack holding it.
    pub fn len(&self) -> Result<usize> {
        self.with_table(|t| t.len())
    }

    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }

    /// Every pack in the database with its entries, one record read at a time.
    pub fn packs(&self) -> impl Iterator<Item = Result<(Id, Vec<BlobEntry>)>> + '_ {
        self.packs.iter().map(|kv| {
            let (k, v) = kv?;
            let pack = Id::from_slice(&k).ok_or_else(|| Error::Index("corrupt pack key".into()))?;
            Ok((pack, self.read_record(&pack, &v)?))
        })
    }

    /// Every blob entry in the database, pack by pack.
    pub fn iter(&self) -> impl Iterator<Item = Result<(Id, Location)>> + '_ {
        self.packs.iter().flat_map(|kv| {
            let r = kv.map_err(Error::from).and_then(|(k, v)| {
                let pack =
                    Id::from_slice(&k).ok_or_else(|| Error::Index("corrupt pack key".into()))?;
                Ok((pack, self.read_record(&pack, &v)?))
            });
            let out: Vec<Result<(Id, Location)>> = match r {
                Ok((pack, entries)) => entries
                    .into_iter()
                    .map(|entry| Ok((entry.id, Location { pack, entry })))
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            out
        })
    }

    /// Makes everything inserted so far durable: the records first, so that the database
    /// never names a record the file has not kept.
    pub fn flush(&self) -> Result<()> {
        self.records.sync()?;
        self.db.flush()?;
        Ok(())
    }
}

/// Entry points for the fuzz target `cache_record` (fuzz/fuzz_targets/cache_record.rs): the
/// local index's record reading on bytes in memory. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::error::Result;
    use crate::format::blob::BlobEntry;
    use crate::id::Id;

    /// Reads the record that `loc` (a pack's sled value: offset u64 LE, length u32 LE, BLAKE3
    /// hash) names in a records file holding `file` whose end the index believes is `end`, as
    /// `Index` reads one through `pread`.
    pub fn read_record(loc: &[u8], end: u64, file: &[u8]) -> Result<Vec<BlobEntry>> {
        let path = std::path::Path::new("(fuzz records)");
        super::records::read_record(&Id([0; 32]), loc, end, path, |buf, offset| {
            let part = usize::try_from(offset)
                .ok()
                .and_then(|o| file.get(o..o.checked_add(buf.len())?))
                .ok_or(std::io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(part);
            Ok(())
        })
    }

    /// A record as `Index::insert_pack` writes one (for seeds and round trips).
    pub fn encode_record(entries: &[BlobEntry]) -> Vec<u8> {
        let mut rec = Vec::new();
        crate::format::meta::encode_entries(entries, &mut rec);
        rec
    }
}

const COMPLETE: &[u8] = b"complete/";
/// Key in `meta`: the records file's end after the last append (u64 LE).
pub(super) const RECORDS_END: &[u8] = b"records_end";
/// Key in `meta` while a clear runs, or after a damaged record was read.
const CLEARING: &[u8] = b"clearing";
/// The hash of the set of packs awaiting deletion when the marks of complete snapshots were
/// last valid.
const PENDING: &[u8] = b"pending";

fn complete_key(snap: &Id) -> Vec<u8> {
    let mut k = COMPLETE.to_vec();
    k.extend_from_slice(&snap.0);
    k
}

#[cfg(test)]
mod tests {
    use super::table::*;
    use super::*;
    use crate::format::blob::BlobType;
    use crate::format::index_file::*;

    fn entry(i: u8) -> BlobEntry {
        BlobEntry {
            ty: BlobType::Data,
            compressed: i.is_multiple_of(2),
            compact: false,
            id: Id([i; 32]),
            offset: i as u64 * 100,
            length: 50,
            raw_length: 40,
        }
    }

    #[test]
    fn index_file_roundtrip_and_truncation() {
        let packs = vec![
            PackEntries {
                pack: Id([9; 32]),
                entries: vec![entry(1), entry(2)],
            },
            PackEntries {
                pack: Id([8; 32]),
                entries: vec![],
            },
        ];
        let b = encode_index_file(&packs);
        assert_eq!(decode_index_file(&b).unwrap(), packs);
        for n in 0..b.len() {
            assert!(
                decode_index_file(&b[..n]).is_err(),
                "truncated at {n} accepted"
            );
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(decode_index_file(&extra).is_err());
        assert_eq!(b[0], INDEX_VERSION);
        // Versions 1 and 2 (entries in rows; the body as is, or compressed) are still read.
        let mut rows = (packs.len() as u32).to_le_bytes().to_vec();
        for p in &packs {
            rows.extend_from_slice(&p.pack.0);
            rows.extend_from_slice(&(p.entries.len() as u32).to_le_bytes());
            for e in &p.entries {
                e.encode_into(&mut rows);
            }
        }
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&rows);
        assert_eq!(decode_index_file(&v1).unwrap(), packs);
        let mut v2 = vec![2u8];
        v2.extend_from_slice(&crate::format::meta::compress_meta(&rows));
        assert_eq!(decode_index_file(&v2).unwrap(), packs);
        // Version 4 says which blobs are compact; a version-3 file cannot.
        let compact = vec![PackEntries {
            pack: Id([7; 32]),
            entries: vec![BlobEntry {
                compact: true,
                ..entry(3)
            }],
        }];
        let b4 = encode_index_file(&compact);
        assert_eq!(decode_index_file(&b4).unwrap(), compact);
        let mut b3 = b4.clone();
        b3[0] = 3;
        assert!(decode_index_file(&b3).is_err());
    }

    fn with_id(mut e: BlobEntry, id: Id) -> BlobEntry {
        e.id = id;
        e
    }

    #[test]
    fn lookups_find_the_right_entry_among_packs_sharing_prefixes() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("index.sled");
        // Ids that share their first 8 bytes and differ after: the table cannot tell them
        // apart, the pack records must.
        let mut a = [5u8; 32];
        a[31] = 1;
        let mut b = a;
        b[31] = 2;
        let (a, b) = (Id(a), Id(b));
        let p1 = PackEntries {
            pack: Id([1; 32]),
            entries: vec![with_id(entry(1), a), entry(3)],
        };
        let p2 = PackEntries {
            pack: Id([2; 32]),
            entries: vec![with_id(entry(2), b), entry(3)],
        };
        {
            let ix = Index::open(&path).unwrap();
            ix.insert_pack(&p1).unwrap();
            // Looked up once, so the table exists and the next insert goes into it.
            assert_eq!(ix.lookup(&a).unwrap().unwrap().pack, p1.pack);
            ix.insert_pack(&p2).unwrap();
            assert_eq!(ix.lookup(&b).unwrap().unwrap().pack, p2.pack);
            assert_eq!(ix.lookup(&b).unwrap().unwrap().entry, p2.entries[0]);
            assert_eq!(ix.len().unwrap(), 4);
            ix.flush().unwrap();
        }
        // Reopened: the table is rebuilt from the pack records.
        let ix = Index::open(&path).unwrap();
        assert_eq!(ix.lookup(&a).unwrap().unwrap().entry, p1.entries[0]);
        assert_eq!(ix.lookup(&b).unwrap().unwrap().pack, p2.pack);
        assert!(ix.lookup(&Id([3; 32])).unwrap().is_some(), "in two packs");
        let mut c = a.0;
        c[31] = 3;
        assert!(!ix.contains(&Id(c)).unwrap(), "same prefix, not stored");
        assert!(!ix.contains(&Id([4; 32])).unwrap());
        assert_eq!(ix.iter().count(), 4);
        // A pack recorded again (two index files list it) replaces its entries, cached or not.
        let p1b = PackEntries {
            pack: p1.pack,
            entries: vec![with_id(entry(9), a)],
        };
        ix.insert_pack(&p1b).unwrap();
        assert_eq!(ix.lookup(&a).unwrap().unwrap().entry, p1b.entries[0]);
    }

    #[test]
    fn a_database_of_the_per_blob_layout_is_emptied_so_it_is_rebuilt() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("index.sled");
        {
            let db = sled::Config::new().path(&path).open().unwrap();
            db.open_tree("blobs")
                .unwrap()
                .insert([1u8; 32], vec![0u8; 59])
                .unwrap();
            db.open_tree("index_files")
                .unwrap()
                .insert(b"f1", &[])
                .unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert(complete_key(&Id([7; 32])), &[])
                .unwrap();
            db.flush().unwrap();
        }
        let ix = Index::open(&path).unwrap();
        assert!(
            ix.absorbed_files().unwrap().is_empty(),
            "sync reads every file again"
        );
        assert!(!ix.is_complete(&Id([7; 32])).unwrap());
        for old in [b"blobs".as_slice(), b"index_files"] {
            assert!(!ix.db.tree_names().iter().any(|n| n.as_ref() == old));
        }
    }

    #[test]
    fn a_database_with_records_in_sled_is_emptied_so_it_is_rebuilt() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("index.sled");
        {
            let db = sled::Config::new().path(&path).open().unwrap();
            let mut rec = Vec::new();
            crate::format::meta::encode_entries(&[entry(1)], &mut rec);
            db.open_tree("packs")
                .unwrap()
                .insert([9u8; 32], rec)
                .unwrap();
            db.open_tree("absorbed_files")
                .unwrap()
                .insert(b"f1", &[])
                .unwrap();
            db.flush().unwrap();
        }
        let ix = Index::open(&path).unwrap();
        assert!(ix.absorbed_files().unwrap().is_empty());
        assert!(ix.is_empty());
        for old in [b"packs".as_slice(), b"absorbed_files"] {
            assert!(!ix.db.tree_names().iter().any(|n| n.as_ref() == old));
        }
    }

    fn two_packs() -> (PackEntries, PackEntries) {
        (
            PackEntries {
                pack: Id([9; 32]),
                entries: vec![entry(1), entry(2)],
            },
            PackEntries {
                pack: Id([8; 32]),
                entries: vec![entry(3)],
            },
        )
    }

    /// An index at `path` holding `two_packs`, not yet flushed.
    fn with_two_packs(path: &Path) -> Index {
        let (p1, p2) = two_packs();
        let ix = Index::open(path).unwrap();
        ix.insert_pack(&p1).unwrap();
        ix.insert_pack(&p2).unwrap();
        ix
    }

    #[test]
    fn records_the_file_lost_make_the_index_rebuild() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("index.sled");
        let (_, p2) = two_packs();
        {
            let ix = with_two_packs(&path);
            ix.mark_file("f1").unwrap();
            ix.mark_complete(&Id([7; 32])).unwrap();
            ix.flush().unwrap();
        }
        // As after a power loss that kept the database's writes but not the file's tail.
        let rec = path.with_extension("records");
        let len = std::fs::metadata(&rec).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&rec)
            .unwrap()
            .set_len(len - 1)
            .unwrap();
        let ix = Index::open(&path).unwrap();
        assert!(ix.is_empty());
        assert!(
            ix.absorbed_files().unwrap().is_empty(),
            "sync reads f1 again"
        );
        assert!(!ix.is_complete(&Id([7; 32])).unwrap());
        assert_eq!(std::fs::metadata(&rec).unwrap().len(), 0);
        // And it works again from there.
        ix.insert_pack(&p2).unwrap();
        assert_eq!(ix.lookup(&Id([3; 32])).unwrap().unwrap().pack, p2.pack);
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_wrong_answer() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("index.sled");
        let (p1, _) = two_packs();
        with_two_packs(&path).flush().unwrap();
        let rec = path.with_extension("records");
        let mut bytes = std::fs::read(&rec).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&rec, &bytes).unwrap();
        let ix = Index::open(&path).unwrap();
        let e = ix.lookup(&Id([1; 32])).unwrap_err().to_string();
        assert!(e.contains("damaged") && e.contains("rebuilt"), "{e}");
        // Marked, so the next open's sync clears and rebuilds it.
        assert!(ix.is_incomplete().unwrap());
        // A clear (what that sync does) empties the file and starts over.
        ix.clear().unwrap();
        assert_eq!(std::fs::metadata(&rec).unwrap().len(), 0);
        ix.insert_pack(&p1).unwrap();
        assert_eq!(ix.lookup(&Id([2; 32])).unwrap().unwrap().entry, entry(2));
    }

    /// Defect: a record's location is read from sled, and its length sized the read buffer
    /// before the record's hash was checked: a damaged one could claim 4 GiB. Now it is
    /// damage, found before allocating (`records::read_record`'s tests show the order).
    #[test]
    fn a_record_location_beyond_the_records_file_is_damage() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("index.sled");
        with_two_packs(&path).flush().unwrap();
        let ix = Index::open(&path).unwrap();
        let loc = |offset: u64, len: u32| {
            records::RecordLoc {
                offset,
                len,
                hash: Id([0; 32]),
            }
            .encode()
        };
        for (offset, len) in [(0, u32::MAX), (u64::MAX, 1), (1, 1 << 20)] {
            ix.packs
                .insert([9u8; 32], loc(offset, len).as_slice())
                .unwrap();
            *ix.cache.lock().unwrap() = PackCache::default();
            let e = ix.lookup(&Id([1; 32])).unwrap_err().to_string();
            assert!(e.contains("damaged") && e.contains("rebuilt"), "{e}");
        }
    }

    #[test]
    fn complete_marks_go_with_a_clear() {
        let ix = Index::temporary().unwrap();
        ix.mark_complete(&Id([7; 32])).unwrap();
        assert!(ix.is_complete(&Id([7; 32])).unwrap());
        assert!(!ix.is_complete(&Id([8; 32])).unwrap());
        ix.clear().unwrap();
        assert!(!ix.is_complete(&Id([7; 32])).unwrap());
    }

    #[test]
    fn merging_sorted_runs() {
        let mut base = vec![[0, 1, 0], [0, 3, 0], [0, 3, 1]];
        merge_into(&mut base, &[[0, 2, 5], [0, 3, 0], [1, 0, 9]]);
        assert_eq!(
            base,
            vec![[0, 1, 0], [0, 2, 5], [0, 3, 0], [0, 3, 1], [1, 0, 9]]
        );
        let mut empty = vec![];
        merge_into(&mut empty, &[[0, 1, 1], [0, 1, 1]]);
        assert_eq!(empty, vec![[0, 1, 1]]);
        assert_eq!(slot_prefix(&slot(u64::MAX - 5, 7)), u64::MAX - 5);
        assert!(
            slot(1 << 32, 0) > slot(u32::MAX as u64, 9),
            "slots sort by prefix first"
        );

        let pack_of = |k: u8| -> Vec<BlobEntry> {
            (0..4096u32)
                .map(|i| {
                    let mut id = [k; 32];
                    id[..4].copy_from_slice(&i.to_be_bytes());
                    with_id(entry(1), Id(id))
                })
                .collect()
        };
        let mut t = Table::default();
        // Enough to force merges of `extra` into `base`.
        for k in 0..40u8 {
            t.add(Id([k; 32]), &pack_of(k));
        }
        assert_eq!(t.len(), 40 * 4096);
        t.merge();
        assert_eq!(t.base.len(), 40 * 4096);
        assert!(t.base.windows(2).all(|w| w[0] < w[1]));
        let mut probe = [7u8; 32];
        probe[..4].copy_from_slice(&100u32.to_be_bytes());
        assert_eq!(t.candidates(prefix(&Id(probe))), vec![Id([7; 32])]);
        // Built at once from the same packs: the same table.
        let built = Table::build((0..40u8).map(|k| Ok((Id([k; 32]), pack_of(k))))).unwrap();
        assert_eq!(built.base, t.base);
        assert_eq!(built.packs, t.packs);
    }

    #[test]
    fn sled_index_insert_lookup_clear() {
        let ix = Index::temporary().unwrap();
        let p = PackEntries {
            pack: Id([9; 32]),
            entries: vec![entry(1), entry(2)],
        };
        ix.insert_pack(&p).unwrap();
        ix.mark_file("f1").unwrap();
        let l = ix.lookup(&Id([2; 32])).unwrap().unwrap();
        assert_eq!(l.pack, Id([9; 32]));
        assert_eq!(l.entry, entry(2));
        assert!(ix.lookup(&Id([3; 32])).unwrap().is_none());
        assert_eq!(ix.absorbed_files().unwrap(), vec!["f1".to_string()]);
        ix.clear().unwrap();
        assert!(ix.is_empty());
    }
}

#[cfg(test)]
mod lock_tests {
    use super::*;
    use crate::format::blob::BlobType;

    #[test]
    fn a_busy_index_is_never_deleted() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("index.sled");
        let first = Index::open(&p).unwrap();
        let pe = PackEntries {
            pack: Id([9; 32]),
            entries: vec![BlobEntry {
                ty: BlobType::Data,
                compressed: false,
                compact: false,
                id: Id([1; 32]),
                offset: 0,
                length: 41,
                raw_length: 1,
            }],
        };
        first.insert_pack(&pe).unwrap();
        first.flush().unwrap();
        // A second user gets a private, empty index; the first keeps its data.
        let second = Index::open(&p).unwrap();
        assert!(second.is_empty());
        assert!(first.lookup(&Id([1; 32])).unwrap().is_some());
        drop(second);
        drop(first);
        let again = Index::open(&p).unwrap();
        assert!(
            again.lookup(&Id([1; 32])).unwrap().is_some(),
            "the database survived"
        );
    }
}

#[cfg(test)]
mod clear_tests {
    use super::*;

    #[test]
    fn an_interrupted_clear_is_visible_and_finished_by_the_next_clear() {
        let ix = Index::temporary().unwrap();
        ix.mark_file("old").unwrap();
        // What a kill in the middle of `clear` leaves: the marker, and some entries.
        ix.meta.insert(CLEARING, &[]).unwrap();
        assert!(ix.is_incomplete().unwrap());
        ix.clear().unwrap();
        assert!(!ix.is_incomplete().unwrap());
        assert!(ix.absorbed_files().unwrap().is_empty());
    }
}
