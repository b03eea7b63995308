//! `open_blob` with a fixed key and an arbitrary `BlobEntry` (hostile raw_length, compressed or
//! not). Three ways to build the sealed bytes, so decryption, zstd and the id check are reached:
//! the payload as is (the MAC fails), the payload sealed with the fixed key (zstd sees arbitrary
//! bytes), and the payload compressed and sealed by `seal_blob`, then one byte of the
//! compressed plaintext changed and resealed (zstd sees a nearly valid frame).
//!
//! Input: flags (1), raw_length (u32 LE), corrupt position (u16 LE), corrupt xor (1), payload.
//! Flags: bit 0 tree blob, bit 1 not compressed, bits 2-3 mode, bit 4 raw_length is the
//! payload's length, bit 5 the id is not the payload's, bit 6 compact (16-byte nonce,
//! magicless zstd frame) rather than the earlier layout.

#![no_main]

use std::sync::OnceLock;

use engine::crypto::{aad, Keys, MasterKey};
use engine::format::blob::{open_blob, seal_blob, BlobEntry, BlobType};
use engine::id::Id;
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| MasterKey::from_bytes([7; 32]).derive())
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 8 {
        return;
    }
    let (head, payload) = input.split_at(8);
    let flags = head[0];
    let keys = keys();
    let ty = if flags & 1 != 0 {
        BlobType::Tree
    } else {
        BlobType::Data
    };
    let raw_length = if flags & 16 != 0 {
        payload.len() as u32
    } else {
        u32::from_le_bytes(head[1..5].try_into().unwrap())
    };
    let id = if flags & 32 != 0 {
        Id([head[7]; 32])
    } else {
        keys.chunk_id.id(payload)
    };
    let compact = flags & 64 != 0;
    let seal = |p: &[u8]| {
        if compact {
            let mut v = Vec::new();
            keys.data.seal_compact_into(aad::BLOB, p, &mut v);
            v
        } else {
            keys.data.seal(aad::BLOB, p)
        }
    };
    let sealed = match (flags >> 2) & 3 {
        0 => payload.to_vec(),
        1 => seal(payload),
        _ => {
            let sb = seal_blob(keys, ty, id, payload, 1);
            let mut plain = keys
                .data
                .open_compact(aad::BLOB, &sb.bytes)
                .expect("own seal opens");
            if !plain.is_empty() && head[7] != 0 {
                let at = u16::from_le_bytes([head[5], head[6]]) as usize % plain.len();
                plain[at] ^= head[7];
            }
            seal(&plain)
        }
    };
    let e = BlobEntry {
        ty,
        compressed: flags & 2 == 0,
        compact,
        id,
        offset: 0,
        length: sealed.len() as u32,
        raw_length,
    };
    if let Ok(data) = open_blob(keys, &e, &sealed) {
        assert_eq!(data.len(), raw_length as usize);
        assert_eq!(keys.chunk_id.id(&data), id);
    }
});
