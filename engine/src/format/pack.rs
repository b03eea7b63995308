//! Packfiles and the blobs inside them (FORMAT.md §Packs).
//!
//! A pack is `blob* || sealed trailer || trailer length (u32 LE) || magic "vcdpack1"`.
//! Each blob is `seal(BLOB, zstd(chunk) or chunk)`. The trailer lists every blob's type, flags,
//! id, offset, sealed length and raw length, so one pack alone is enough to rebuild its index
//! entries. A pack's name is the unkeyed BLAKE3 of its bytes. Everything here is pure: bytes in,
//! bytes out; the backup's packer and the backend do the I/O.

use std::cell::{Cell, RefCell};

use serde::{Deserialize, Serialize};

use crate::crypto::{aad, ChunkIdKey, DataKey, Keys, COMPACT_OVERHEAD, OVERHEAD};
use crate::error::{Error, Result};
use crate::id::Id;

/// NEVER CHANGE: identifies a vcd pack (last 8 bytes of every pack).
pub const PACK_MAGIC: &[u8; 8] = b"vcdpack1";
/// Trailer length (4) + magic (8).
pub const FOOTER_LEN: usize = 12;
/// Pack trailers and index files share one versioning: version 1 is the body as is with entries
/// in rows (`ENTRY_LEN` bytes each), version 2 the same body zstd-compressed, version 3 a
/// zstd-compressed body with entries in columns (`encode_entries`), version 4 (written) the
/// same with compact blobs allowed (`BlobEntry::compact`). All are read.
pub(crate) const META_V1: u8 = 1;
pub(crate) const META_V2: u8 = 2;
pub(crate) const META_V3: u8 = 3;
pub(crate) const META_V4: u8 = 4;
pub const TRAILER_VERSION: u8 = META_V4;
/// zstd level for metadata (trailers, index files): they are small and written once a pack.
const META_LEVEL: i32 = 3;
/// Bytes of one encoded entry: type, flags, id, offset u64, length u32, raw length u32.
pub const ENTRY_LEN: usize = 1 + 1 + 32 + 8 + 4 + 4;
/// No blob's plaintext is larger than this (the chunker's max is far below it); decoders use it
/// to refuse hostile lengths before allocating.
pub const MAX_BLOB_RAW: u32 = 64 << 20;
/// Upper bound on blobs in one pack, for the same reason.
pub const MAX_PACK_ENTRIES: usize = 1 << 20;

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
        if (e.length as usize) < e.overhead() || e.raw_length > MAX_BLOB_RAW {
            return None;
        }
        Some(e)
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

fn decompress(data: &[u8], capacity: usize, compact: bool) -> std::io::Result<Vec<u8>> {
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

/// Writes one pack to `out` as its blobs arrive and hashes its bytes on the way, so a pack is
/// never held whole in memory: a backup streams each pack into the backend. Blobs arrive
/// sealed; this adds the sealed trailer and names the pack.
pub struct PackStream<W> {
    out: W,
    hasher: blake3::Hasher,
    len: u64,
    entries: Vec<BlobEntry>,
}

impl<W: std::io::Write> PackStream<W> {
    pub fn new(out: W) -> Self {
        PackStream {
            out,
            hasher: blake3::Hasher::new(),
            len: 0,
            entries: Vec::new(),
        }
    }

    pub fn add(&mut self, b: &SealedBlob) -> std::io::Result<()> {
        self.out.write_all(&b.bytes)?;
        self.hasher.update(&b.bytes);
        self.entries.push(BlobEntry {
            ty: b.ty,
            compressed: b.compressed,
            compact: b.compact,
            id: b.id,
            offset: self.len,
            length: b.bytes.len() as u32,
            raw_length: b.raw_length,
        });
        self.len += b.bytes.len() as u64;
        Ok(())
    }

    /// Bytes of blobs written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn count(&self) -> usize {
        self.entries.len()
    }

    /// Writes the trailer; returns the pack's id (the hash of all its bytes, as
    /// `Id::of_file` would give), the writer, and the entries.
    pub fn finish(mut self, key: &DataKey) -> std::io::Result<(Id, W, Vec<BlobEntry>)> {
        let plain = encode_trailer(&self.entries);
        let mut tail = Vec::with_capacity(plain.len() + OVERHEAD + 4 + PACK_MAGIC.len());
        key.seal_into(aad::PACK_TRAILER, &plain, &mut tail);
        let sealed_len = tail.len() as u32;
        tail.extend_from_slice(&sealed_len.to_le_bytes());
        tail.extend_from_slice(PACK_MAGIC);
        self.out.write_all(&tail)?;
        self.hasher.update(&tail);
        Ok((
            Id(*self.hasher.finalize().as_bytes()),
            self.out,
            self.entries,
        ))
    }
}

/// Builds one pack in memory (tests, benchmarks, fuzz seeds): a `PackStream` into a `Vec`.
pub struct PackWriter(PackStream<Vec<u8>>);

impl Default for PackWriter {
    fn default() -> Self {
        PackWriter::with_capacity(0)
    }
}

pub struct FinishedPack {
    pub id: Id,
    pub bytes: Vec<u8>,
    pub entries: Vec<BlobEntry>,
}

impl PackWriter {
    pub fn with_capacity(cap: usize) -> Self {
        PackWriter(PackStream::new(Vec::with_capacity(cap)))
    }

    pub fn add(&mut self, b: &SealedBlob) {
        self.0.add(b).expect("writing to a Vec cannot fail");
    }

    pub fn len(&self) -> usize {
        self.0.len() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn count(&self) -> usize {
        self.0.count()
    }

    pub fn finish(self, key: &DataKey) -> FinishedPack {
        let (id, bytes, entries) = self.0.finish(key).expect("writing to a Vec cannot fail");
        FinishedPack { id, bytes, entries }
    }
}

pub fn encode_trailer(entries: &[BlobEntry]) -> Vec<u8> {
    let mut body = Vec::with_capacity(4 + entries.len() * ENTRY_LEN);
    encode_entries(entries, &mut body);
    encode_meta(&body)
}

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
/// where `compact` is false: version 3). Every count is checked against the bytes actually
/// present before anything is allocated.
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
        let e = BlobEntry {
            ty,
            compressed,
            compact: is_compact,
            id: Id::from_slice(&ids[i * 32..i * 32 + 32])?,
            offset: 0,
            length: lens[i],
            raw_length,
        };
        if (e.length as usize) < e.overhead() || e.raw_length > MAX_BLOB_RAW {
            return None;
        }
        out.push(e);
    }
    for e in &mut out {
        let d = r.varint()?;
        let off = if d & 1 == 0 {
            (next as u128).checked_add(d >> 1)?
        } else {
            (next as u128).checked_sub(d >> 1)?
        };
        e.offset = u64::try_from(off).ok()?;
        next = e.offset.saturating_add(e.length as u64);
    }
    Some(out)
}

/// Reads entries in the version 1 and 2 layout: a u32 LE count, then that many `ENTRY_LEN`
/// rows; None on anything malformed.
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

/// Decodes a trailer's plaintext; `data_len` is the size of the blob region, which every entry
/// must lie inside.
pub fn decode_trailer(b: &[u8], data_len: u64) -> Result<Vec<BlobEntry>> {
    let bad = |d: &str| Error::damaged("pack trailer", "", d.to_string());
    let (version, body) = decode_meta(
        "pack trailer",
        b,
        4 + MAX_PACK_ENTRIES * ENTRY_LEN,
        "too short",
    )?;
    let mut r = MetaReader(&body);
    let entries = if version >= META_V3 {
        decode_entries(&mut r, version >= META_V4).ok_or_else(|| bad("invalid entries"))?
    } else {
        decode_rows(&mut r).ok_or_else(|| bad("entry count does not match length"))?
    };
    if !r.is_empty() {
        return Err(bad("trailing bytes"));
    }
    for e in &entries {
        if e.offset
            .checked_add(e.length as u64)
            .is_none_or(|end| end > data_len)
        {
            return Err(bad("entry outside the pack"));
        }
    }
    Ok(entries)
}

/// Parses the 12-byte footer: returns the sealed trailer's length.
pub fn decode_footer(footer: &[u8], pack_len: u64) -> Result<u32> {
    let bad = |d: &str| Error::damaged("pack footer", "", d.to_string());
    if footer.len() != FOOTER_LEN || &footer[4..] != PACK_MAGIC {
        return Err(bad("not a vcd pack (magic missing)"));
    }
    let n = u32::from_le_bytes(footer[..4].try_into().unwrap());
    if (n as u64) + FOOTER_LEN as u64 > pack_len || (n as usize) < OVERHEAD {
        return Err(bad("trailer length out of range"));
    }
    Ok(n)
}

/// Reads the entries of a whole pack held in memory (check --read-data, fuzzing).
pub fn parse_pack(key: &DataKey, pack: &[u8]) -> Result<Vec<BlobEntry>> {
    if pack.len() < FOOTER_LEN {
        return Err(Error::damaged("pack", "", "shorter than its footer"));
    }
    let flen = decode_footer(&pack[pack.len() - FOOTER_LEN..], pack.len() as u64)? as usize;
    let tstart = pack.len() - FOOTER_LEN - flen;
    let plain = key
        .open(aad::PACK_TRAILER, &pack[tstart..pack.len() - FOOTER_LEN])
        .map_err(|m| Error::damaged("pack trailer", "", m.to_string()))?;
    decode_trailer(&plain, tstart as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    #[test]
    fn pack_roundtrip() {
        let keys = MasterKey::generate().derive();
        let mut w = PackWriter::default();
        let datas: Vec<Vec<u8>> = vec![
            vec![7u8; 10000],
            b"short".to_vec(),
            (0..5000u32).map(|i| (i * 7919) as u8).collect(),
        ];
        for d in &datas {
            let id = keys.chunk_id.id(d);
            w.add(&seal_blob(&keys, BlobType::Data, id, d, 3));
        }
        let p = w.finish(&keys.data);
        assert_eq!(p.id, Id::of_file(&p.bytes));
        let entries = parse_pack(&keys.data, &p.bytes).unwrap();
        assert_eq!(entries, p.entries);
        assert_eq!(encode_trailer(&entries)[0], META_V4);
        assert_eq!(TRAILER_VERSION, META_V4);
        assert!(entries[0].compressed, "a run of one byte compresses");
        assert!(!entries[1].compressed, "5 bytes do not");
        assert!(entries.iter().all(|e| e.compact));
        // 16 nonce bytes and the tag; "short" stored as is.
        assert_eq!(entries[1].length as usize, 5 + COMPACT_OVERHEAD);
        let standard = zstd::bulk::compress(&datas[0], 3).unwrap().len();
        assert!(
            (entries[0].length as usize) < standard + COMPACT_OVERHEAD,
            "a compact frame is smaller than a standard one"
        );
        for (e, d) in entries.iter().zip(&datas) {
            let s = &p.bytes[e.offset as usize..(e.offset + e.length as u64) as usize];
            assert_eq!(&open_blob(&keys, e, s).unwrap(), d);
        }
        // a flipped byte inside a blob is damage, named by blob
        let e = entries[2];
        let mut s = p.bytes[e.offset as usize..(e.offset + e.length as u64) as usize].to_vec();
        s[30] ^= 1;
        assert!(open_blob(&keys, &e, &s).unwrap_err().is_damage());
        // a wrong id (index pointing at the wrong blob) is damage too
        let mut wrong = e;
        wrong.id = Id::random();
        let s = &p.bytes[e.offset as usize..(e.offset + e.length as u64) as usize];
        assert!(open_blob(&keys, &wrong, s).unwrap_err().is_damage());
    }

    /// Blobs written before trailer version 4 (a 24-byte nonce, standard zstd frames) open.
    #[test]
    fn blobs_of_the_earlier_layout_open() {
        let keys = MasterKey::generate().derive();
        let data = vec![3u8; 5000];
        let id = keys.chunk_id.id(&data);
        let frame = zstd::bulk::compress(&data, 3).unwrap();
        for (compressed, plain) in [(true, &frame), (false, &data)] {
            let sealed = keys.data.seal(aad::BLOB, plain);
            let e = BlobEntry {
                ty: BlobType::Data,
                compressed,
                compact: false,
                id,
                offset: 0,
                length: sealed.len() as u32,
                raw_length: data.len() as u32,
            };
            assert_eq!(open_blob(&keys, &e, &sealed).unwrap(), data);
            // Read as the other layout it is damage, not data.
            let other = BlobEntry { compact: true, ..e };
            assert!(open_blob(&keys, &other, &sealed).unwrap_err().is_damage());
        }
        // And a compact blob read as the earlier layout is damage too.
        let sb = seal_blob(&keys, BlobType::Data, id, &data, 3);
        let e = BlobEntry {
            ty: BlobType::Data,
            compressed: sb.compressed,
            compact: false,
            id,
            offset: 0,
            length: sb.bytes.len() as u32,
            raw_length: data.len() as u32,
        };
        assert!(open_blob(&keys, &e, &sb.bytes).unwrap_err().is_damage());
        assert_eq!(
            open_blob(&keys, &BlobEntry { compact: true, ..e }, &sb.bytes).unwrap(),
            data
        );
    }

    #[test]
    fn entry_columns_roundtrip_any_offsets_and_refuse_garbage() {
        let e = |offset: u64, length: u32, ty: BlobType, compressed: bool| BlobEntry {
            ty,
            compressed,
            compact: offset.is_multiple_of(2),
            id: Id::random(),
            offset,
            length,
            raw_length: length * 3,
        };
        // Back to back, a gap, a step backwards, and far offsets: all come back as written.
        let entries = vec![
            e(0, 100, BlobType::Data, true),
            e(100, 41, BlobType::Tree, false),
            e(5000, 70_000, BlobType::Data, false),
            e(10, 50, BlobType::Data, true),
            e(u64::MAX - 100, 41, BlobType::Tree, true),
        ];
        let mut body = Vec::new();
        encode_entries(&entries, &mut body);
        let mut r = MetaReader(&body);
        assert_eq!(decode_entries(&mut r, true).unwrap(), entries);
        assert!(r.is_empty());
        // Version 3 had no compact blobs: a kind that says compact is refused there.
        assert!(decode_entries(&mut MetaReader(&body), false).is_none());
        let plain: Vec<BlobEntry> = entries
            .iter()
            .map(|x| BlobEntry {
                compact: false,
                ..*x
            })
            .collect();
        let mut v3 = Vec::new();
        encode_entries(&plain, &mut v3);
        assert_eq!(decode_entries(&mut MetaReader(&v3), false).unwrap(), plain);
        // Every truncation is refused, and so are a count beyond the bytes present, a varint
        // that never ends, an unknown kind and a sealed length below the AEAD overhead.
        for n in 0..body.len() {
            assert!(
                decode_entries(&mut MetaReader(&body[..n]), true).is_none(),
                "cut at {n}"
            );
        }
        let mut hostile = Vec::new();
        put_varint(&mut hostile, MAX_PACK_ENTRIES as u128);
        assert!(decode_entries(&mut MetaReader(&hostile), true).is_none());
        assert!(decode_entries(&mut MetaReader(&[0xff; 40]), true).is_none());
        for k in [0x7e, 8, 0xff] {
            let mut bad_kind = body.clone();
            bad_kind[1] = k;
            assert!(
                decode_entries(&mut MetaReader(&bad_kind), true).is_none(),
                "{k}"
            );
        }
        // Below the overhead of its layout: 31 bytes cannot be a compact blob, 39 not a full one.
        let mut short = Vec::new();
        encode_entries(&[e(0, 31, BlobType::Data, false)], &mut short);
        assert!(decode_entries(&mut MetaReader(&short), true).is_none());
        let mut short = Vec::new();
        encode_entries(&[e(1, 39, BlobType::Data, false)], &mut short);
        assert!(decode_entries(&mut MetaReader(&short), true).is_none());
        // And the smallest of each (an empty blob) is accepted.
        let smallest = vec![
            e(0, 32, BlobType::Data, false),
            e(1, 40, BlobType::Tree, true),
        ];
        let mut b = Vec::new();
        encode_entries(&smallest, &mut b);
        assert_eq!(decode_entries(&mut MetaReader(&b), true).unwrap(), smallest);
    }

    #[test]
    fn trailer_decoder_rejects_garbage() {
        assert!(decode_trailer(&[], 0).is_err());
        assert!(decode_trailer(&[1, 255, 255, 255, 255], 100).is_err());
        let e = BlobEntry {
            ty: BlobType::Tree,
            compressed: false,
            compact: false,
            id: Id::random(),
            offset: 90,
            length: 41,
            raw_length: 1,
        };
        let t = encode_trailer(&[e]);
        assert!(decode_trailer(&t, 131).is_ok());
        // Version 3 (no compact blobs) is read; a compact entry in it is not, nor version 5.
        let mut v3 = t.clone();
        v3[0] = META_V3;
        assert_eq!(decode_trailer(&v3, 131).unwrap(), vec![e]);
        let mut c3 = encode_trailer(&[BlobEntry { compact: true, ..e }]);
        assert!(decode_trailer(&c3, 131).unwrap()[0].compact);
        c3[0] = META_V3;
        assert!(decode_trailer(&c3, 131).is_err());
        let mut v5 = t.clone();
        v5[0] = 5;
        assert!(matches!(
            decode_trailer(&v5, 131),
            Err(Error::UnsupportedVersion { version: 5, .. })
        ));
        assert!(
            decode_trailer(&t, 130).is_err(),
            "entry past the data region"
        );
        assert!(decode_footer(b"\0\0\0\0vcdpack2", 100).is_err());
        // Versions 1 and 2 (one row per entry; the body as is, or compressed) are still read;
        // a truncated compressed body is not.
        let mut rows = 1u32.to_le_bytes().to_vec();
        e.encode_into(&mut rows);
        let mut v1 = vec![META_V1];
        v1.extend_from_slice(&rows);
        assert_eq!(decode_trailer(&v1, 131).unwrap(), vec![e]);
        let mut v2 = vec![META_V2];
        v2.extend_from_slice(&compress_meta(&rows));
        assert_eq!(decode_trailer(&v2, 131).unwrap(), vec![e]);
        for n in 1..t.len() {
            assert!(decode_trailer(&t[..n], 131).is_err(), "truncated at {n}");
        }
        // A frame that claims more than the maximum is refused before allocating.
        let big = compress_meta(&vec![0u8; 1 << 16]);
        assert!(decompress_meta(&big, 1 << 10)
            .unwrap_err()
            .contains("maximum"));
    }

    /// Found by fuzz/fuzz_targets/blob.rs: open_blob passed an entry's raw_length straight to
    /// zstd as its output capacity, so an entry claiming ~3 GiB allocated ~3 GiB up front.
    #[test]
    fn open_blob_refuses_hostile_raw_length_before_allocating() {
        let keys = MasterKey::from_bytes([7; 32]).derive();
        let sealed = keys.data.seal(aad::BLOB, b"");
        for raw_length in [MAX_BLOB_RAW + 1, 0xbfff_0060, u32::MAX] {
            let e = BlobEntry {
                ty: BlobType::Tree,
                compressed: true,
                compact: false,
                id: Id([0; 32]),
                offset: 0,
                length: sealed.len() as u32,
                raw_length,
            };
            match open_blob(&keys, &e, &sealed) {
                Err(Error::Damaged { detail, .. }) => {
                    assert!(detail.contains("exceeds the maximum"), "{detail}")
                }
                other => panic!("raw_length {raw_length}: {other:?}"),
            }
        }
    }
}
