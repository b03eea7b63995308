//! The pack records file of the local index: each pack's entries appended as one record, read
//! back with `pread` and checked against the hash sled keeps for it.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::format::blob::BlobEntry;
use crate::format::meta::{decode_entries, MetaReader};
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
        let len = u32::try_from(rec.len())
            .map_err(|_| Error::Index("pack record larger than 4 GiB".into()))?;
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
        let damaged = || {
            Error::Index(format!(
                "record for pack {pack} is damaged; the local index is rebuilt from the repository on the next run"
            ))
        };
        let l = RecordLoc::decode(loc).ok_or_else(damaged)?;
        let mut buf = vec![0u8; l.len as usize];
        match self.file.read_exact_at(&mut buf, l.offset) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(damaged()),
            Err(e) => return Err(Error::io(&self.path, e)),
        }
        if Id::of_file(&buf) != l.hash {
            return Err(damaged());
        }
        decode_record(pack, &buf)
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

pub(super) fn decode_record(pack: &Id, v: &[u8]) -> Result<Vec<BlobEntry>> {
    let mut r = MetaReader(v);
    match decode_entries(&mut r, true) {
        Some(e) if r.is_empty() => Ok(e),
        _ => Err(Error::Index(format!("corrupt record for pack {pack}"))),
    }
}
