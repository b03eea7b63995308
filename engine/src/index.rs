//! The chunk index: which pack holds which blob (FORMAT.md §Index).
//!
//! Two layers. The repository's `index/` files are the durable record: each lists packs and
//! their blob entries, sealed. The local sled database under the cache directory is derived
//! from them, for lookups that need not hold the whole index in memory; it remembers which
//! index files it has absorbed, and is reloaded whenever that set no longer matches the
//! repository (files removed, or the database lost). Losing sled loses nothing.

use std::path::Path;

use crate::crypto::{aad, DataKey};
use crate::error::{Error, Result};
use crate::id::Id;
use crate::pack::{decode_entries, BlobEntry, BlobType, MetaReader, ENTRY_LEN, MAX_PACK_ENTRIES};

/// Written index files are version 3 (zstd-compressed, entries in columns); versions 1 and 2
/// (entries in rows, the body as is or compressed) are still read (`pack::decode_meta`).
pub const INDEX_VERSION: u8 = 3;
/// Largest decompressed index file body accepted (about 5 million entries).
const MAX_INDEX_BODY: usize = 256 << 20;
/// Index files are split beyond this many blobs so none grows without bound.
pub const MAX_INDEX_FILE_ENTRIES: usize = 200_000;

/// One pack's entries, as an index file lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackEntries {
    pub pack: Id,
    pub entries: Vec<BlobEntry>,
}

/// Encodes an index file's plaintext: the version, then (compressed) the pack count and per
/// pack its id and its entries in the columns of `pack::encode_entries`.
pub fn encode_index_file(packs: &[PackEntries]) -> Vec<u8> {
    let n: usize = packs.iter().map(|p| p.entries.len()).sum();
    let mut body = Vec::with_capacity(4 + packs.len() * 36 + n * ENTRY_LEN);
    crate::pack::put_varint(&mut body, packs.len() as u128);
    for p in packs {
        body.extend_from_slice(&p.pack.0);
        crate::pack::encode_entries(&p.entries, &mut body);
    }
    crate::pack::encode_meta(&body)
}

pub fn decode_index_file(b: &[u8]) -> Result<Vec<PackEntries>> {
    let bad = |d: &str| Error::damaged("index file", "", d.to_string());
    let (version, body) = crate::pack::decode_meta("index file", b, MAX_INDEX_BODY, "truncated")?;
    if version == crate::pack::META_V3 {
        let mut r = MetaReader(&body);
        let npacks = r
            .varint()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| bad("truncated"))?;
        // Each pack needs at least 33 bytes: a hostile count cannot make us allocate.
        let mut packs = Vec::with_capacity(npacks.min(body.len() / 33));
        for _ in 0..npacks {
            let pack = r
                .take(32)
                .and_then(Id::from_slice)
                .ok_or_else(|| bad("truncated"))?;
            let entries = decode_entries(&mut r).ok_or_else(|| bad("invalid entries"))?;
            packs.push(PackEntries { pack, entries });
        }
        if !r.is_empty() {
            return Err(bad("trailing bytes"));
        }
        return Ok(packs);
    }
    let b = &body[..];
    let mut r = b;
    let mut take = |n: usize| -> Result<&[u8]> {
        if r.len() < n {
            return Err(bad("truncated"));
        }
        let (a, rest) = r.split_at(n);
        r = rest;
        Ok(a)
    };
    let npacks = u32::from_le_bytes(take(4)?.try_into().unwrap()) as usize;
    // Each pack needs at least 36 bytes: a hostile count cannot make us allocate.
    let mut packs = Vec::with_capacity(npacks.min(b.len() / 36));
    for _ in 0..npacks {
        let pack = Id::from_slice(take(32)?).unwrap();
        let n = u32::from_le_bytes(take(4)?.try_into().unwrap()) as usize;
        if n > MAX_PACK_ENTRIES {
            return Err(bad("too many entries"));
        }
        let raw = take(n.checked_mul(ENTRY_LEN).ok_or_else(|| bad("overflow"))?)?;
        let entries = raw
            .chunks_exact(ENTRY_LEN)
            .map(|c| BlobEntry::decode(c).ok_or_else(|| bad("invalid entry")))
            .collect::<Result<Vec<_>>>()?;
        packs.push(PackEntries { pack, entries });
    }
    if !take(0)?.is_empty() || !r.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(packs)
}

/// Seals and names an index file: returns (name, bytes).
pub fn seal_index_file(key: &DataKey, packs: &[PackEntries]) -> (Id, Vec<u8>) {
    let bytes = key.seal(aad::INDEX, &encode_index_file(packs));
    (Id::of_file(&bytes), bytes)
}

/// Where a blob is: its pack and its entry in that pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub pack: Id,
    pub entry: BlobEntry,
}

impl Location {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(32 + ENTRY_LEN);
        v.extend_from_slice(&self.pack.0);
        self.entry.encode_into(&mut v);
        v
    }
    fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != 32 + ENTRY_LEN {
            return None;
        }
        Some(Location {
            pack: Id::from_slice(&b[..32])?,
            entry: BlobEntry::decode(&b[32..])?,
        })
    }
}

/// The local lookup table: blob id → location, in sled.
pub struct Index {
    db: sled::Db,
    blobs: sled::Tree,
    files: sled::Tree,
    meta: sled::Tree,
    /// Held (flock) while this process uses the on-disk database. Last, so it is released
    /// only after sled has closed the database.
    _lock: Option<std::fs::File>,
}

impl Index {
    /// Opens (or creates) the database at `path`. When another process holds it, falls back to
    /// a private temporary database, which `sync` fills from the repository's index files.
    pub fn open(path: &Path) -> Result<Self> {
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        // Our own lock, beside the database: sled's lock error cannot be told apart from
        // other failures, and a busy database must never be mistaken for a corrupt one.
        let lock_path = path.with_extension("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        // SAFETY: flock on a descriptor we own; no memory is passed.
        if unsafe {
            libc::flock(
                std::os::unix::io::AsRawFd::as_raw_fd(&lock),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        } != 0
        {
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
                open()?
            }
        };
        let mut ix = Self::from_db(db)?;
        ix._lock = Some(lock);
        Ok(ix)
    }

    pub fn temporary() -> Result<Self> {
        Self::from_db(
            sled::Config::new()
                .temporary(true)
                .cache_capacity(16 << 20)
                .open()?,
        )
    }

    fn from_db(db: sled::Db) -> Result<Self> {
        Ok(Index {
            blobs: db.open_tree("blobs")?,
            files: db.open_tree("index_files")?,
            meta: db.open_tree("meta")?,
            db,
            _lock: None,
        })
    }

    pub fn lookup(&self, id: &Id) -> Result<Option<Location>> {
        match self.blobs.get(id.0)? {
            None => Ok(None),
            Some(v) => Location::decode(&v)
                .map(Some)
                .ok_or_else(|| Error::Index(format!("corrupt entry for {id}"))),
        }
    }

    pub fn contains(&self, id: &Id) -> Result<bool> {
        Ok(self.blobs.contains_key(id.0)?)
    }

    pub fn insert_pack(&self, p: &PackEntries) -> Result<()> {
        // Small batches: sled 0.34 keeps an oversized node in memory for large ones (measured
        // with examples/sled_mem.rs: 100,000 entries take 290 MiB in batches of 4,000 and
        // 43 MiB in batches of 64).
        for part in p.entries.chunks(64) {
            let mut batch = sled::Batch::default();
            for e in part {
                batch.insert(
                    &e.id.0,
                    Location {
                        pack: p.pack,
                        entry: *e,
                    }
                    .encode(),
                );
            }
            self.blobs.apply_batch(batch)?;
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
        self.meta.insert(b"clearing", &[])?;
        self.db.flush()?;
        self.files.clear()?;
        self.blobs.clear()?;
        self.meta.remove(b"clearing")?;
        self.db.flush()?;
        Ok(())
    }

    /// True when a clear was interrupted.
    pub fn is_incomplete(&self) -> Result<bool> {
        Ok(self.meta.contains_key(b"clearing")?)
    }

    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Every blob in the database, of one type or all.
    pub fn iter(&self) -> impl Iterator<Item = Result<(Id, Location)>> + '_ {
        self.blobs.iter().map(|kv| {
            let (k, v) = kv?;
            let id = Id::from_slice(&k).ok_or_else(|| Error::Index("corrupt key".into()))?;
            let loc = Location::decode(&v)
                .ok_or_else(|| Error::Index(format!("corrupt entry for {id}")))?;
            Ok((id, loc))
        })
    }

    pub fn count_type(&self, ty: BlobType) -> Result<usize> {
        let mut n = 0;
        for r in self.iter() {
            if r?.1.entry.ty == ty {
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u8) -> BlobEntry {
        BlobEntry {
            ty: BlobType::Data,
            compressed: i.is_multiple_of(2),
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
        v2.extend_from_slice(&crate::pack::compress_meta(&rows));
        assert_eq!(decode_index_file(&v2).unwrap(), packs);
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
        ix.meta.insert(b"clearing", &[]).unwrap();
        assert!(ix.is_incomplete().unwrap());
        ix.clear().unwrap();
        assert!(!ix.is_incomplete().unwrap());
        assert!(ix.absorbed_files().unwrap().is_empty());
    }
}
