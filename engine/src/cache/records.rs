//! The pack records file of the local index: each pack's entries appended as one record, read
//! back with `pread` and checked against the hash sled keeps for it.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::format::blob::BlobEntry;
use crate::format::meta::{decode_entries, MetaReader, MAX_ENCODED_ENTRY, MAX_PACK_ENTRIES};
use crate::id::Id;

use super::RECORDS_END;

/// The pack records file: records appended one after another, each found through its
/// `RecordLoc` in sled. Only `Index::clear` removes records (by emptying the file), which is
/// enough: every removal of index entries (prune, repair) goes through a clear, and a pack
/// recorded twice is rare (the same pack named by two index files).
pub(super) struct Records {
    pub(super) file: std::fs::File,
    pub(super) path: PathBuf,
    /// Where the next record goes: appends are serialised by this lock, reads need none.
    pub(super) end: Mutex<u64>,
}

impl Records {
    pub(super) fn open(path: PathBuf) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let end = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        Ok(Records {
            file,
            path,
            end: Mutex::new(end),
        })
    }

    pub(super) fn temporary() -> Result<Self> {
        let path = PathBuf::from("(temporary index records)");
        let file = tempfile::tempfile().map_err(|e| Error::io(&path, e))?;
        Ok(Records {
            file,
            path,
            end: Mutex::new(0),
        })
    }

    /// Where the next record goes: the file's length, as opened and appended to since.
    pub(super) fn end(&self) -> u64 {
        *self.end.lock().unwrap()
    }

    /// Appends a record and stores the file's new end under `RECORDS_END` in `meta`: under the
    /// lock, so the stored end only grows, and before the caller names the record.
    pub(super) fn append(&self, rec: &[u8], meta: &sled::Tree) -> Result<RecordLoc> {
        // `read` refuses longer records: one written would fail every read after.
        if rec.len() > MAX_RECORD_LEN {
            return Err(Error::Index(format!(
                "pack record of {} bytes, more than the maximum {MAX_RECORD_LEN}",
                rec.len()
            )));
        }
        let len = rec.len() as u32;
        let mut end = self.end.lock().unwrap();
        self.file
            .write_all_at(rec, *end)
            .map_err(|e| Error::io(&self.path, e))?;
        let loc = RecordLoc {
            offset: *end,
            len,
            hash: Id::of_file(rec),
        };
        *end += rec.len() as u64;
        meta.insert(RECORDS_END, &end.to_le_bytes())?;
        Ok(loc)
    }

    /// Reads and decodes the record `loc` (a sled value) points to, checking its hash.
    pub(super) fn read(&self, pack: &Id, loc: &[u8]) -> Result<Vec<BlobEntry>> {
        read_record(pack, loc, self.end(), &self.path, |buf, offset| {
            self.file.read_exact_at(buf, offset)
        })
    }

    pub(super) fn truncate(&self) -> Result<()> {
        let mut end = self.end.lock().unwrap();
        self.file.set_len(0).map_err(|e| Error::io(&self.path, e))?;
        *end = 0;
        Ok(())
    }

    pub(super) fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}

/// Where a pack's record is in the records file, and its hash (BLAKE3): the sled value of the
/// pack's key. 44 bytes: offset u64, length u32, hash, little-endian.
pub(super) struct RecordLoc {
    pub(super) offset: u64,
    pub(super) len: u32,
    pub(super) hash: Id,
}

impl RecordLoc {
    const LEN: usize = 8 + 4 + 32;

    pub(super) fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..12].copy_from_slice(&self.len.to_le_bytes());
        b[12..].copy_from_slice(&self.hash.0);
        b
    }

    pub(super) fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != Self::LEN {
            return None;
        }
        Some(RecordLoc {
            offset: u64::from_le_bytes(b[..8].try_into().ok()?),
            len: u32::from_le_bytes(b[8..12].try_into().ok()?),
            hash: Id::from_slice(&b[12..])?,
        })
    }
}

/// Largest record `read` allocates for: a pack's entries (at most `MAX_PACK_ENTRIES`) in the
/// columns of `encode_entries`, each at most `MAX_ENCODED_ENTRY` bytes, and their count. A
/// damaged location could otherwise claim 4 GiB, allocated before its hash is checked.
pub(crate) const MAX_RECORD_LEN: usize = 10 + MAX_PACK_ENTRIES * MAX_ENCODED_ENTRY;

/// Reads the record a location (`loc`, a sled value) names with `read_at(buf, offset)` from a
/// records file of `end` bytes at `path`, checks its hash and decodes it. The location's
/// length is checked against the file's end and `MAX_RECORD_LEN` before anything is allocated.
pub(crate) fn read_record(
    pack: &Id,
    loc: &[u8],
    end: u64,
    path: &std::path::Path,
    read_at: impl FnOnce(&mut [u8], u64) -> std::io::Result<()>,
) -> Result<Vec<BlobEntry>> {
    let damaged = || {
        Error::Index(format!(
            "record for pack {pack} is damaged; the local index is rebuilt from the repository on the next run"
        ))
    };
    let l = RecordLoc::decode(loc).ok_or_else(damaged)?;
    // Either bound alone would do against a 4 GiB claim in a small file; both are cheap, and
    // the first also holds for a records file grown large.
    let past_end = l.offset.checked_add(l.len as u64).is_none_or(|e| e > end);
    if l.len as usize > MAX_RECORD_LEN || past_end {
        return Err(damaged());
    }
    let mut buf = vec![0u8; l.len as usize];
    match read_at(&mut buf, l.offset) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(damaged()),
        Err(e) => return Err(Error::io(path, e)),
    }
    if Id::of_file(&buf) != l.hash {
        return Err(damaged());
    }
    decode_record(pack, &buf)
}

pub(super) fn decode_record(pack: &Id, v: &[u8]) -> Result<Vec<BlobEntry>> {
    let mut r = MetaReader(v);
    match decode_entries(&mut r, true) {
        Some(e) if r.is_empty() => Ok(e),
        _ => Err(Error::Index(format!("corrupt record for pack {pack}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob::BlobType;

    fn loc(offset: u64, len: u32, hash: Id) -> [u8; RecordLoc::LEN] {
        RecordLoc { offset, len, hash }.encode()
    }

    /// A location whose length no record can have, or that reaches past the records file's
    /// end, is damage before anything is allocated or read: `read_at` is never called.
    #[test]
    fn hostile_record_locations_are_refused_before_allocating() {
        let p = std::path::Path::new("records");
        let never = |buf: &mut [u8], _: u64| -> std::io::Result<()> {
            panic!("read {} bytes for a hostile location", buf.len())
        };
        let h = Id([0; 32]);
        for (offset, len, end) in [
            (0, u32::MAX, u64::MAX),
            (0, MAX_RECORD_LEN as u32 + 1, u64::MAX),
            (0, 100, 99),
            (u64::MAX, 1, u64::MAX),
            (u64::MAX - 10, 100, u64::MAX),
        ] {
            let e = read_record(&h, &loc(offset, len, h), end, p, never).unwrap_err();
            assert!(matches!(e, Error::Index(_)), "{offset} {len} {end}: {e}");
        }
        // A valid record at the file's very end reads; a wrong hash is damage.
        let entries = vec![BlobEntry {
            ty: BlobType::Data,
            compressed: false,
            compact: true,
            id: Id([1; 32]),
            offset: 0,
            length: 33,
            raw_length: 1,
        }];
        let mut file = vec![0u8; 5];
        let mut rec = Vec::new();
        crate::format::meta::encode_entries(&entries, &mut rec);
        file.extend_from_slice(&rec);
        let read = |buf: &mut [u8], o: u64| {
            buf.copy_from_slice(&file[o as usize..o as usize + buf.len()]);
            Ok(())
        };
        let l = loc(5, rec.len() as u32, Id::of_file(&rec));
        assert_eq!(
            read_record(&h, &l, file.len() as u64, p, read).unwrap(),
            entries
        );
        let l = loc(5, rec.len() as u32, Id([1; 32]));
        assert!(read_record(&h, &l, file.len() as u64, p, read).is_err());
    }

    /// `MAX_RECORD_LEN` holds the longest record a pack can have: as many entries as a pack
    /// may hold, each with the longest varints (u32::MAX lengths, offsets alternating between
    /// u64::MAX and 0 so every distance takes 10 bytes; the encoder takes any entry).
    #[test]
    fn the_longest_record_fits_the_bound() {
        let e = |i: usize| BlobEntry {
            ty: BlobType::Data,
            compressed: false,
            compact: false,
            id: Id([1; 32]),
            offset: if i.is_multiple_of(2) { u64::MAX } else { 0 },
            length: u32::MAX,
            raw_length: u32::MAX,
        };
        let entries: Vec<BlobEntry> = (0..MAX_PACK_ENTRIES).map(e).collect();
        let mut rec = Vec::new();
        crate::format::meta::encode_entries(&entries, &mut rec);
        assert_eq!(rec.len(), 3 + MAX_PACK_ENTRIES * MAX_ENCODED_ENTRY);
        assert!(rec.len() <= MAX_RECORD_LEN);
    }
}
