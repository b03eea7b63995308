//! One blob: a chunk or tree compressed (when that helps), sealed, and described by the entry a
//! pack trailer and index file hold for it (FORMAT.md §Packs). Opening a blob checks its
//! plaintext against its id, so a reader never hands on bytes the index did not promise.

use std::cell::{Cell, RefCell};

use serde::{Deserialize, Serialize};

use crate::crypto::{aad, ChunkIdKey, Keys, COMPACT_OVERHEAD, OVERHEAD};
use crate::error::{Error, Result};
use crate::id::Id;

/// Bytes of one encoded entry: type, flags, id, offset u64, length u32, raw length u32.
pub const ENTRY_LEN: usize = 1 + 1 + 32 + 8 + 4 + 4;
/// No blob's plaintext is larger than this (the chunker's max is far below it); decoders use it
/// to refuse hostile lengths before allocating.
pub const MAX_BLOB_RAW: u32 = 64 << 20;
/// No entry's sealed length is larger than this: a plaintext of at most `MAX_BLOB_RAW` bytes,
/// stored as is or as a zstd frame (only kept when smaller, but zstd's worst case, 1/256 more,
/// is allowed in case an older writer kept a larger one), plus the larger sealing overhead.
/// Readers size their range reads from an entry's length: a hostile 4 GiB one is refused here.
pub const MAX_BLOB_SEALED: u32 = MAX_BLOB_RAW + (MAX_BLOB_RAW >> 8) + OVERHEAD as u32;

const FLAG_ZSTD: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum BlobType {
    Data,
    Tree,
}

impl BlobType {
    fn code(self) -> u8 {
        match self {
            BlobType::Data => 0,
            BlobType::Tree => 1,
        }
    }
    fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(BlobType::Data),
            1 => Some(BlobType::Tree),
            _ => None,
        }
    }
}

/// Where a blob sits inside a pack, and how to turn it back into plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobEntry {
    pub ty: BlobType,
    pub compressed: bool,
    /// Sealed with a 16-byte stored nonce (`DataKey::seal_compact_into`), and when compressed
    /// a zstd frame without magic number, content size or dictionary id: 12-15 bytes fewer a
    /// blob. Every blob written since trailer version 4; older ones carry the full 24-byte
    /// nonce and standard frames.
    pub compact: bool,
    pub id: Id,
    pub offset: u64,
    /// Sealed length in the pack.
    pub length: u32,
    /// Plaintext length.
    pub raw_length: u32,
}

impl BlobEntry {
    /// The bytes sealing adds to a blob of this layout.
    pub fn overhead(&self) -> usize {
        if self.compact {
            COMPACT_OVERHEAD
        } else {
            OVERHEAD
        }
    }

    /// True when every number of the entry is one a writer could have produced: a sealed
    /// length between its layout's overhead and `MAX_BLOB_SEALED`, a raw length of at most
    /// `MAX_BLOB_RAW`, and a blob that ends inside the largest pack (`pack::MAX_PACK_SIZE`).
    /// Every decoder of entries (rows, columns, hence trailers, index files and local-cache
    /// records) refuses an entry that fails this, so `offset + length` cannot overflow, and
    /// fits a `usize`, wherever the entry goes next.
    pub fn in_bounds(&self) -> bool {
        (self.length as usize) >= self.overhead()
            && self.length <= MAX_BLOB_SEALED
            && self.raw_length <= MAX_BLOB_RAW
            && self
                .offset
                .checked_add(self.length as u64)
                .is_some_and(|end| end <= crate::format::pack::MAX_PACK_SIZE)
    }

    /// The kind byte of the column layout: compact << 2 | type << 1 | compressed.
    pub(crate) fn kind(&self) -> u8 {
        (self.compact as u8) << 2 | self.ty.code() << 1 | self.compressed as u8
    }

    /// (type, compressed, compact) of a kind byte; None when a bit beyond those three is set.
    pub(crate) fn parse_kind(kind: u8) -> Option<(BlobType, bool, bool)> {
        if kind >> 3 != 0 {
            return None;
        }
        Some((
            BlobType::from_code(kind >> 1 & 1)?,
            kind & 1 != 0,
            kind & 4 != 0,
        ))
    }

    /// The row of versions 1 and 2, which predate compact blobs (tests and fuzz seeds write it).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        debug_assert!(!self.compact, "rows cannot say compact");
        out.push(self.ty.code());
        out.push(if self.compressed { FLAG_ZSTD } else { 0 });
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.length.to_le_bytes());
        out.extend_from_slice(&self.raw_length.to_le_bytes());
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != ENTRY_LEN {
            return None;
        }
        let ty = BlobType::from_code(b[0])?;
        if b[1] & !FLAG_ZSTD != 0 {
            return None;
        }
        let e = BlobEntry {
            ty,
            compressed: b[1] & FLAG_ZSTD != 0,
            compact: false,
            id: Id::from_slice(&b[2..34])?,
            offset: u64::from_le_bytes(b[34..42].try_into().ok()?),
            length: u32::from_le_bytes(b[42..46].try_into().ok()?),
            raw_length: u32::from_le_bytes(b[46..50].try_into().ok()?),
        };
        e.in_bounds().then_some(e)
    }
}

/// A blob ready to go into a pack: sealed bytes plus what the trailer must say about them.
pub struct SealedBlob {
    pub ty: BlobType,
    pub id: Id,
    pub compressed: bool,
    /// How the bytes were sealed (`BlobEntry::compact`); `seal_blob` always seals compactly.
    pub compact: bool,
    pub raw_length: u32,
    pub bytes: Vec<u8>,
}

/// Compresses (when that makes it smaller) and seals one chunk. `level` 0 disables zstd.
pub fn seal_blob(keys: &Keys, ty: BlobType, id: Id, data: &[u8], level: i32) -> SealedBlob {
    let mut bytes = Vec::new();
    let compressed = with_compressed(data, level, |plain| {
        keys.data
            .seal_compact_into(aad::BLOB, plain.unwrap_or(data), &mut bytes);
        plain.is_some()
    });
    SealedBlob {
        ty,
        id,
        compressed,
        compact: true,
        raw_length: data.len() as u32,
        bytes,
    }
}

thread_local! {
    // A zstd context owns megabytes of match tables. Creating one per blob cost a tenth of a
    // first backup's CPU (allocation, then page faults on every fresh table), so each thread
    // keeps one per direction.
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { RefCell::new(None) };
    // Index 0: standard frames (blobs written before trailer version 4); 1: compact frames.
    static DECOMPRESSOR: RefCell<[Option<zstd::bulk::Decompressor<'static>>; 2]> = const { RefCell::new([None, None]) };
    static COMPRESS_BUF: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Calls `f` with `data` compressed at `level`, or with None when that would not make it
/// smaller (or `level` is 0). The compressed bytes live in a per-thread buffer of zstd's
/// `compressBound` size: with less room zstd cannot take its single-pass path and works
/// about three times as long on data that does not compress, which is exactly the data
/// that ends up stored raw.
fn with_compressed<R>(data: &[u8], level: i32, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    if level == 0 || data.len() < 2 {
        return f(None);
    }
    let mut out = COMPRESS_BUF.take();
    out.clear();
    out.reserve(zstd::zstd_safe::compress_bound(data.len()));
    let shrank = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_none_or(|(l, _)| *l != level) {
            *c = Some((level, compact_compressor(level).ok()?));
        }
        let (_, z) = c.as_mut()?;
        z.compress_to_buffer(data, &mut out).ok()?;
        Some(out.len() < data.len())
    });
    let r = f(if shrank == Some(true) {
        Some(&out)
    } else {
        None
    });
    COMPRESS_BUF.set(out);
    r
}

/// A compressor writing compact frames: no magic number (the entry says the blob is
/// compressed), no content size (the entry has the raw length), no dictionary id, no checksum
/// (the blob id is checked after decompression).
fn compact_compressor(level: i32) -> std::io::Result<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::{CParameter, FrameFormat};
    let mut z = zstd::bulk::Compressor::new(level)?;
    z.set_parameter(CParameter::Format(FrameFormat::Magicless))?;
    z.set_parameter(CParameter::ContentSizeFlag(false))?;
    z.set_parameter(CParameter::DictIdFlag(false))?;
    z.set_parameter(CParameter::ChecksumFlag(false))?;
    Ok(z)
}

pub(crate) fn decompress(data: &[u8], capacity: usize, compact: bool) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        let slot = &mut d[compact as usize];
        if slot.is_none() {
            let mut z = zstd::bulk::Decompressor::new()?;
            if compact {
                use zstd::zstd_safe::{DParameter, FrameFormat};
                z.set_parameter(DParameter::Format(FrameFormat::Magicless))?;
            }
            *slot = Some(z);
        }
        slot.as_mut().expect("set above").decompress(data, capacity)
    })
}

/// Opens a sealed blob and checks that its plaintext hashes to the id the index promised.
pub fn open_blob(keys: &Keys, e: &BlobEntry, sealed: &[u8]) -> Result<Vec<u8>> {
    let damaged = |detail: String| Error::damaged("blob", e.id.to_hex(), detail);
    // raw_length sizes zstd's output buffer up front: refuse hostile ones before allocating.
    if e.raw_length > MAX_BLOB_RAW {
        return Err(damaged(format!(
            "raw length {} exceeds the maximum {MAX_BLOB_RAW}",
            e.raw_length
        )));
    }
    let plain = if e.compact {
        keys.data.open_compact(aad::BLOB, sealed)
    } else {
        keys.data.open(aad::BLOB, sealed)
    }
    .map_err(|m| damaged(m.to_string()))?;
    let data = if e.compressed {
        decompress(&plain, e.raw_length as usize, e.compact)
            .map_err(|x| damaged(format!("zstd: {x}")))?
    } else {
        plain
    };
    if data.len() != e.raw_length as usize {
        return Err(damaged(format!(
            "length {} instead of {}",
            data.len(),
            e.raw_length
        )));
    }
    check_blob_id(&keys.chunk_id, e.id, &data)?;
    Ok(data)
}

pub fn check_blob_id(k: &ChunkIdKey, id: Id, data: &[u8]) -> Result<()> {
    if k.id(data) != id {
        return Err(Error::damaged(
            "blob",
            id.to_hex(),
            "content does not match its id",
        ));
    }
    Ok(())
}
