//! The body shared by pack trailers and index files: a version byte, a zstd frame, and blob
//! entries in rows (versions 1-2) or columns (3-4), with LEB128 varints. Every count is checked
//! against the bytes present before anything is allocated.

use crate::error::{Error, Result};
use crate::format::blob::{decompress, BlobEntry, ENTRY_LEN};
use crate::id::Id;

/// Pack trailers and index files share one versioning: version 1 is the body as is with entries
/// in rows (`ENTRY_LEN` bytes each), version 2 the same body zstd-compressed, version 3 a
/// zstd-compressed body with entries in columns (`encode_entries`), version 4 (written) the
/// same with compact blobs allowed (`BlobEntry::compact`). All are read.
pub(crate) const META_V1: u8 = 1;
pub(crate) const META_V2: u8 = 2;
pub(crate) const META_V3: u8 = 3;
pub(crate) const META_V4: u8 = 4;
/// zstd level for metadata (trailers, index files): they are small and written once a pack.
const META_LEVEL: i32 = 3;
/// Upper bound on blobs in one pack or index file entry list; decoders refuse larger counts
/// before allocating.
pub const MAX_PACK_ENTRIES: usize = 1 << 20;
/// Most bytes one entry takes in the columns of `encode_entries`: its kind, its id, a sealed
/// and a raw length (u32 varints, 5 bytes each) and an offset distance (a zigzag varint of at
/// most 65 bits, 10 bytes). Bounds what a reader of one pack's columns may allocate.
pub(crate) const MAX_ENCODED_ENTRY: usize = 1 + 32 + 5 + 5 + 10;

/// Appends `entries` in the version-3/4 layout: their count, then one column after another:
/// a kind byte each (compact << 2 | type << 1 | compressed; compact only in version 4), every id, the sealed lengths, the raw lengths,
/// and each offset as its distance from the end of the entry before (zero in a pack written
/// front to back). Counts, lengths and distances are LEB128 varints (distances zigzag-signed).
/// Columns compress where rows did not: the random ids sit together and the numbers shrink to
/// a byte or two, some 15% off a trailer or index file of small files.
pub(crate) fn encode_entries(entries: &[BlobEntry], out: &mut Vec<u8>) {
    put_varint(out, entries.len() as u128);
    out.extend(entries.iter().map(BlobEntry::kind));
    for e in entries {
        out.extend_from_slice(&e.id.0);
    }
    for e in entries {
        put_varint(out, e.length as u128);
    }
    for e in entries {
        put_varint(out, e.raw_length as u128);
    }
    let mut next = 0u64;
    for e in entries {
        let d = e.offset as i128 - next as i128;
        put_varint(
            out,
            if d >= 0 {
                (d as u128) << 1
            } else {
                ((-d) as u128) << 1 | 1
            },
        );
        next = e.offset.saturating_add(e.length as u64);
    }
}

/// Reads entries written by `encode_entries`; None on anything malformed (a compact blob
/// where `compact` is false: version 3) or out of bounds (`BlobEntry::in_bounds`: no offset
/// beyond `pack::MAX_PACK_SIZE`). Every count is checked against the bytes actually present
/// before anything is allocated.
pub(crate) fn decode_entries(r: &mut MetaReader, compact: bool) -> Option<Vec<BlobEntry>> {
    let n = usize::try_from(r.varint()?).ok()?;
    if n > MAX_PACK_ENTRIES {
        return None;
    }
    let kinds = r.take(n)?;
    let ids = r.take(n.checked_mul(32)?)?;
    let mut lens = Vec::with_capacity(n);
    for _ in 0..n {
        lens.push(u32::try_from(r.varint()?).ok()?);
    }
    let mut out = Vec::with_capacity(n);
    let mut next = 0u64;
    for i in 0..n {
        let raw_length = u32::try_from(r.varint()?).ok()?;
        let (ty, compressed, is_compact) = BlobEntry::parse_kind(kinds[i])?;
        if is_compact && !compact {
            return None;
        }
        out.push(BlobEntry {
            ty,
            compressed,
            compact: is_compact,
            id: Id::from_slice(&ids[i * 32..i * 32 + 32])?,
            offset: 0,
            length: lens[i],
            raw_length,
        });
    }
    for e in &mut out {
        // A distance of up to 2^127 either way: u128 holds `next` plus or minus any of them.
        let d = r.varint()?;
        let off = if d & 1 == 0 {
            (next as u128).checked_add(d >> 1)?
        } else {
            (next as u128).checked_sub(d >> 1)?
        };
        e.offset = u64::try_from(off).ok()?;
        // Bounded before `next` is computed from it: past this, offset + length is at most
        // `MAX_PACK_SIZE`, here and in every reader of the entry.
        if !e.in_bounds() {
            return None;
        }
        next = e.offset + e.length as u64;
    }
    Some(out)
}

/// Reads entries in the version 1 and 2 layout: a u32 LE count, then that many `ENTRY_LEN`
/// rows; None on anything malformed or out of bounds (`BlobEntry::decode`).
pub(crate) fn decode_rows(r: &mut MetaReader) -> Option<Vec<BlobEntry>> {
    let n = u32::from_le_bytes(r.take(4)?.try_into().ok()?) as usize;
    if n > MAX_PACK_ENTRIES {
        return None;
    }
    r.take(n * ENTRY_LEN)?
        .chunks_exact(ENTRY_LEN)
        .map(BlobEntry::decode)
        .collect()
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A cursor over a decoded metadata body.
pub(crate) struct MetaReader<'a>(pub &'a [u8]);

impl<'a> MetaReader<'a> {
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(a)
    }

    /// A LEB128 varint of at most 19 bytes (enough for any u128 we write).
    pub fn varint(&mut self) -> Option<u128> {
        let mut v = 0u128;
        for i in 0..19 {
            let b = *self.take(1)?.first()?;
            v |= ((b & 0x7f) as u128) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A metadata object (trailer, index file) as written: the version byte, the compressed body.
pub(crate) fn encode_meta(body: &[u8]) -> Vec<u8> {
    let mut out = vec![META_V4];
    out.extend_from_slice(&compress_meta(body));
    out
}

/// The version and body of a metadata object of any version; `max` bounds a compressed body's
/// size. `short` is what an empty input is called in the error.
pub(crate) fn decode_meta<'a>(
    what: &'static str,
    b: &'a [u8],
    max: usize,
    short: &str,
) -> Result<(u8, std::borrow::Cow<'a, [u8]>)> {
    let bad = |d: &str| Error::damaged(what, "", d.to_string());
    let Some((&version, rest)) = b.split_first() else {
        return Err(bad(short));
    };
    match version {
        META_V1 => Ok((version, rest.into())),
        META_V2 | META_V3 | META_V4 => decompress_meta(rest, max)
            .map(|b| (version, b.into()))
            .map_err(|m| bad(&format!("compressed body: {m}"))),
        v => Err(Error::UnsupportedVersion {
            what,
            version: v as u32,
            supported: META_V4 as u32,
        }),
    }
}

/// Compresses a metadata body (trailer, index file). Entries are mostly random ids, but
/// offsets, lengths and flags compress: 18% off an index file of the benchmark repository.
pub(crate) fn compress_meta(body: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(body, META_LEVEL).expect("zstd compresses any input")
}

/// Decompresses a metadata body that may hold at most `max` bytes. The frame must state its
/// size (ours always do), so nothing is allocated on a hostile frame's word beyond `max`.
pub(crate) fn decompress_meta(b: &[u8], max: usize) -> std::result::Result<Vec<u8>, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(b) {
        Ok(Some(n)) if n <= max as u64 => n as usize,
        Ok(Some(n)) => return Err(format!("states {n} bytes, more than the maximum {max}")),
        _ => return Err("no valid zstd frame header".into()),
    };
    let out = decompress(b, size, false).map_err(|e| format!("zstd: {e}"))?;
    if out.len() != size {
        return Err("shorter than its frame says".into());
    }
    Ok(out)
}
