//! Index files (`index/<id>`, FORMAT.md §Index files): which packs hold which blobs, as the
//! repository records it durably. Pure: plaintext in, packs out, and the sealing that names a
//! file by its hash.

use crate::crypto::{aad, DataKey};
use crate::error::{Error, Result};
use crate::format::blob::{BlobEntry, ENTRY_LEN};
use crate::format::meta::{decode_entries, MetaReader};
use crate::id::Id;

/// Written index files are version 4 (zstd-compressed, entries in columns, compact blobs);
/// versions 1 and 2 (entries in rows, the body as is or compressed) and 3 (columns, no compact
/// blobs) are still read (`meta::decode_meta`).
pub const INDEX_VERSION: u8 = crate::format::meta::META_V4;
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
/// pack its id and its entries in the columns of `meta::encode_entries`.
pub fn encode_index_file(packs: &[PackEntries]) -> Vec<u8> {
    let n: usize = packs.iter().map(|p| p.entries.len()).sum();
    let mut body = Vec::with_capacity(4 + packs.len() * 36 + n * ENTRY_LEN);
    crate::format::meta::put_varint(&mut body, packs.len() as u128);
    for p in packs {
        body.extend_from_slice(&p.pack.0);
        crate::format::meta::encode_entries(&p.entries, &mut body);
    }
    crate::format::meta::encode_meta(&body)
}

pub fn decode_index_file(b: &[u8]) -> Result<Vec<PackEntries>> {
    let bad = |d: &str| Error::damaged("index file", "", d.to_string());
    let (version, body) =
        crate::format::meta::decode_meta("index file", b, MAX_INDEX_BODY, "truncated")?;
    // Versions 3 and 4 count in varints and write entries in columns; 1 and 2 in u32s and rows.
    let v3 = version >= crate::format::meta::META_V3;
    let mut r = MetaReader(&body);
    let npacks = if v3 {
        r.varint().and_then(|n| usize::try_from(n).ok())
    } else {
        r.take(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as usize)
    }
    .ok_or_else(|| bad("truncated"))?;
    // Each pack needs at least 33 bytes: a hostile count cannot make us allocate.
    let mut packs = Vec::with_capacity(npacks.min(body.len() / 33));
    for _ in 0..npacks {
        let pack = r
            .take(32)
            .and_then(Id::from_slice)
            .ok_or_else(|| bad("truncated"))?;
        let entries = if v3 {
            decode_entries(&mut r, version >= crate::format::meta::META_V4)
        } else {
            crate::format::meta::decode_rows(&mut r)
        }
        .ok_or_else(|| bad("invalid entries"))?;
        packs.push(PackEntries { pack, entries });
    }
    if !r.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(packs)
}

/// Seals and names an index file: returns (name, bytes).
pub fn seal_index_file(key: &DataKey, packs: &[PackEntries]) -> (Id, Vec<u8>) {
    let bytes = key.seal(aad::INDEX, &encode_index_file(packs));
    (Id::of_file(&bytes), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob::BlobType;
    use crate::format::meta::{compress_meta, put_varint, META_V1};
    use crate::format::pack::MAX_PACK_SIZE;

    /// Defect: an index file's offsets were decoded unbounded, and readers add an entry's
    /// length to its offset. Crafted files of each layout, with an entry ending beyond any
    /// pack (near u64::MAX, or one byte past `MAX_PACK_SIZE`), are damage.
    #[test]
    fn offsets_beyond_the_largest_pack_are_damage() {
        // Version 4, written by hand: one pack, one entry, its offset as a zigzag distance.
        let v4 = |offset: u64| {
            let mut body = Vec::new();
            put_varint(&mut body, 1);
            body.extend_from_slice(&[9; 32]);
            put_varint(&mut body, 1);
            body.push(0); // kind: data, stored, not compact
            body.extend_from_slice(&[1; 32]);
            put_varint(&mut body, 41);
            put_varint(&mut body, 1);
            put_varint(&mut body, (offset as u128) << 1);
            crate::format::meta::encode_meta(&body)
        };
        // Version 1: the same as a row.
        let v1 = |offset: u64| {
            let mut b = vec![META_V1];
            b.extend_from_slice(&1u32.to_le_bytes());
            b.extend_from_slice(&[9; 32]);
            b.extend_from_slice(&1u32.to_le_bytes());
            BlobEntry {
                ty: BlobType::Data,
                compressed: false,
                compact: false,
                id: Id([1; 32]),
                offset,
                length: 41,
                raw_length: 1,
            }
            .encode_into(&mut b);
            b
        };
        let last = MAX_PACK_SIZE - 41;
        for file in [v4, v1] {
            assert_eq!(
                decode_index_file(&file(last)).unwrap()[0].entries[0].offset,
                last
            );
            for offset in [last + 1, u64::MAX - 40, u64::MAX] {
                let e = decode_index_file(&file(offset)).unwrap_err();
                assert!(e.is_damage(), "{offset}: {e}");
            }
        }
        // Version 2 is version 1 compressed: the same rows, the same bound.
        let mut v2 = vec![crate::format::meta::META_V2];
        v2.extend_from_slice(&compress_meta(&v1(u64::MAX - 40)[1..]));
        assert!(decode_index_file(&v2).unwrap_err().is_damage());
    }
}
