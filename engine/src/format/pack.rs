//! Packfiles and the blobs inside them (FORMAT.md §Packs).
//!
//! A pack is `blob* || sealed trailer || trailer length (u32 LE) || magic "vcdpack1"`.
//! Each blob is `seal(BLOB, zstd(chunk) or chunk)`. The trailer lists every blob's type, flags,
//! id, offset, sealed length and raw length, so one pack alone is enough to rebuild its index
//! entries. A pack's name is the unkeyed BLAKE3 of its bytes. Everything here is pure: bytes in,
//! bytes out; the backup's packer and the backend do the I/O.

use crate::crypto::{aad, DataKey, OVERHEAD};
use crate::error::{Error, Result};
use crate::format::blob::{BlobEntry, SealedBlob, ENTRY_LEN};
use crate::format::meta::{
    decode_entries, decode_meta, decode_rows, encode_entries, encode_meta, MetaReader,
    MAX_PACK_ENTRIES, META_V3, META_V4,
};
use crate::id::Id;

/// NEVER CHANGE: identifies a vcd pack (last 8 bytes of every pack).
pub const PACK_MAGIC: &[u8; 8] = b"vcdpack1";
/// Trailer length (4) + magic (8).
pub const FOOTER_LEN: usize = 12;
pub const TRAILER_VERSION: u8 = META_V4;
/// No blob ends beyond this offset in any pack: decoders of entries (`BlobEntry::in_bounds`)
/// refuse larger ones, so readers may add an entry's offset and length without overflow.
/// A writer closes a pack once its blobs reach the configured pack size (at most 1 GiB,
/// `Config::validate`), so the largest blob region is just under 1 GiB plus one blob
/// (`MAX_BLOB_SEALED`); 2 GiB leaves room for that and for a larger configured maximum.
pub const MAX_PACK_SIZE: u64 = 2 << 30;
const _: () = assert!(MAX_PACK_SIZE >= (1 << 30) + crate::format::blob::MAX_BLOB_SEALED as u64);

/// Writes one pack to `out` as its blobs arrive and hashes its bytes on the way, so a pack is
/// never held whole in memory: a backup streams each pack into the backend. Blobs arrive
/// sealed; this adds the sealed trailer and names the pack.
pub struct PackStream<W> {
    out: W,
    hasher: blake3::Hasher,
    /// Small blobs gathered before they are hashed and written: BLAKE3 hashes several 1 KiB
    /// chunks at once with SIMD only when they come in one call, and a pack of small blobs
    /// hashed blob by blob went one block at a time (a tenth of a prune's time at 1M blobs).
    stage: Vec<u8>,
    len: u64,
    entries: Vec<BlobEntry>,
}

const STAGE: usize = 64 << 10;

impl<W: std::io::Write> PackStream<W> {
    pub fn new(out: W) -> Self {
        PackStream {
            out,
            hasher: blake3::Hasher::new(),
            stage: Vec::new(),
            len: 0,
            entries: Vec::new(),
        }
    }

    pub fn add(&mut self, b: &SealedBlob) -> std::io::Result<()> {
        self.add_sealed(
            &BlobEntry {
                ty: b.ty,
                compressed: b.compressed,
                compact: b.compact,
                id: b.id,
                offset: 0,
                length: b.bytes.len() as u32,
                raw_length: b.raw_length,
            },
            &b.bytes,
        )
    }

    /// Adds a blob sealed before, as another pack held it (prune's repack): `e` describes it,
    /// its offset aside. The sealed bytes are bound to nothing about the pack, so they move as
    /// they are.
    pub fn add_sealed(&mut self, e: &BlobEntry, bytes: &[u8]) -> std::io::Result<()> {
        if self.stage.len() + bytes.len() > STAGE {
            self.flush_stage()?;
        }
        if bytes.len() >= STAGE {
            self.out.write_all(bytes)?;
            self.hasher.update(bytes);
        } else {
            if self.stage.capacity() == 0 {
                self.stage.reserve_exact(STAGE);
            }
            self.stage.extend_from_slice(bytes);
        }
        self.entries.push(BlobEntry {
            offset: self.len,
            length: bytes.len() as u32,
            ..*e
        });
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn flush_stage(&mut self) -> std::io::Result<()> {
        if !self.stage.is_empty() {
            self.out.write_all(&self.stage)?;
            self.hasher.update(&self.stage);
            self.stage.clear();
        }
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
        self.flush_stage()?;
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
    use crate::crypto::COMPACT_OVERHEAD;
    use crate::format::blob::*;
    use crate::format::meta::*;

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
        // Back to back, a gap, a step backwards, and the farthest end a pack may have: all come
        // back as written.
        let entries = vec![
            e(0, 100, BlobType::Data, true),
            e(100, 41, BlobType::Tree, false),
            e(5000, 70_000, BlobType::Data, false),
            e(10, 50, BlobType::Data, true),
            e(MAX_PACK_SIZE - 41, 41, BlobType::Tree, true),
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

    /// The columns of one entry list, written by hand so any distance can be stated: the
    /// kinds, ids, sealed and raw lengths of `entries`, then `gaps` as the offset column.
    fn columns(entries: &[(u32, u32)], gaps: &[u128]) -> Vec<u8> {
        let mut b = Vec::new();
        put_varint(&mut b, entries.len() as u128);
        b.extend(entries.iter().map(|_| 0u8));
        for _ in entries {
            b.extend_from_slice(&[1; 32]);
        }
        for &(length, _) in entries {
            put_varint(&mut b, length as u128);
        }
        for &(_, raw) in entries {
            put_varint(&mut b, raw as u128);
        }
        for &g in gaps {
            put_varint(&mut b, g);
        }
        b
    }

    /// Defect: offsets were decoded unbounded, so `offset + length` in a reader (restore's
    /// read planning, check) overflowed: a panic with overflow checks, a wrapped read without.
    #[test]
    fn entries_ending_beyond_the_largest_pack_are_refused() {
        let zigzag = |d: i128| {
            if d >= 0 {
                (d as u128) << 1
            } else {
                ((-d) as u128) << 1 | 1
            }
        };
        let last = MAX_PACK_SIZE - 41;
        // Columns: the farthest end a pack may have is read; one byte further is not, nor a
        // distance that reaches u64::MAX, nor the largest distance a varint can state.
        let ok = columns(&[(41, 1)], &[zigzag(last as i128)]);
        assert_eq!(
            decode_entries(&mut MetaReader(&ok), true).unwrap()[0].offset,
            last
        );
        for gap in [
            zigzag(last as i128 + 1),
            zigzag(u64::MAX as i128 - 40),
            zigzag(u64::MAX as i128),
            u128::MAX >> 2,
        ] {
            let b = columns(&[(41, 1)], &[gap]);
            assert!(decode_entries(&mut MetaReader(&b), true).is_none(), "{gap}");
        }
        // A second entry whose distance from a far first one adds up past the bound.
        let b = columns(&[(41, 1), (41, 1)], &[zigzag(1 << 30), zigzag(1 << 30)]);
        assert!(decode_entries(&mut MetaReader(&b), true).is_none());
        // A sealed length beyond any blob's, even where it would fit the pack.
        let b = columns(&[(MAX_BLOB_SEALED + 1, 1)], &[0]);
        assert!(decode_entries(&mut MetaReader(&b), true).is_none());
        let b = columns(&[(MAX_BLOB_SEALED, 1)], &[0]);
        assert!(decode_entries(&mut MetaReader(&b), true).is_some());

        // Rows (versions 1 and 2) state the offset as a u64: the same bound.
        let row = |offset: u64, length: u32| {
            let mut b = Vec::new();
            BlobEntry {
                ty: BlobType::Data,
                compressed: false,
                compact: false,
                id: Id([1; 32]),
                offset,
                length,
                raw_length: 1,
            }
            .encode_into(&mut b);
            b
        };
        assert!(BlobEntry::decode(&row(last, 41)).is_some());
        for (offset, length) in [
            (last + 1, 41),
            (u64::MAX - 40, 41),
            (u64::MAX, 41),
            (0, MAX_BLOB_SEALED + 1),
            (0, u32::MAX),
        ] {
            assert!(
                BlobEntry::decode(&row(offset, length)).is_none(),
                "{offset} {length}"
            );
            // And a trailer of such a row is damage whatever the pack's length claims.
            let mut v1 = vec![META_V1];
            v1.extend_from_slice(&1u32.to_le_bytes());
            v1.extend_from_slice(&row(offset, length));
            assert!(decode_trailer(&v1, u64::MAX).unwrap_err().is_damage());
        }
    }

    /// `MAX_PACK_SIZE` holds every pack a valid config can make: the largest pack size
    /// `Config::validate` accepts, plus the one blob that may take a pack past it.
    #[test]
    fn the_largest_pack_a_config_allows_is_in_bounds() {
        let mut c = crate::format::config::Config::new();
        c.pack_size = 1 << 30;
        assert!(c.validate().is_ok());
        c.pack_size += 1;
        assert!(c.validate().is_err(), "config allows larger packs now");
        let e = BlobEntry {
            ty: BlobType::Data,
            compressed: false,
            compact: false,
            id: Id([1; 32]),
            offset: (1 << 30) - 1,
            length: MAX_BLOB_SEALED,
            raw_length: MAX_BLOB_RAW,
        };
        assert!(e.in_bounds());
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
