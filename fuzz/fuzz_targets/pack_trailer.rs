//! Pack decoding: `decode_trailer`, `decode_footer`, `BlobEntry::decode` and `parse_pack` on raw
//! bytes, plus a structured mode that seals the input as a trailer with the fixed key inside a
//! well-formed pack, so the trailer decoder behind the MAC is reached too.
//!
//! Input: one mode byte, then mode-specific bytes.

#![no_main]

use std::sync::OnceLock;

use engine::crypto::{aad, Keys, MasterKey};
use engine::format::blob::BlobEntry;
use engine::format::pack::{self, FOOTER_LEN, PACK_MAGIC};
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| MasterKey::from_bytes([7; 32]).derive())
}

fn u64_prefix(b: &[u8]) -> (u64, &[u8]) {
    if b.len() < 8 {
        return (0, b);
    }
    let (a, rest) = b.split_at(8);
    (u64::from_le_bytes(a.try_into().unwrap()), rest)
}

fn check_entries(entries: &[BlobEntry], data_len: u64) {
    for e in entries {
        let end = e
            .offset
            .checked_add(e.length as u64)
            .expect("accepted entry overflows");
        assert!(end <= data_len, "accepted entry outside the data region");
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    match mode % 5 {
        0 => {
            let (data_len, b) = u64_prefix(rest);
            if let Ok(entries) = pack::decode_trailer(b, data_len) {
                check_entries(&entries, data_len);
                // Several byte strings decode alike (older versions, other zstd frames,
                // longer varints): what must hold is that re-encoding loses nothing.
                assert_eq!(
                    pack::decode_trailer(&pack::encode_trailer(&entries), data_len).unwrap(),
                    entries,
                    "trailer does not survive re-encoding"
                );
            }
        }
        1 => {
            let (pack_len, b) = u64_prefix(rest);
            if let Ok(n) = pack::decode_footer(b, pack_len) {
                assert!(n as u64 + FOOTER_LEN as u64 <= pack_len);
            }
            if b.len() >= FOOTER_LEN {
                let _ = pack::decode_footer(&b[..FOOTER_LEN], pack_len);
            }
        }
        2 => {
            if let Some(e) = BlobEntry::decode(rest) {
                let mut out = Vec::new();
                e.encode_into(&mut out);
                assert_eq!(out, rest, "entry re-encodes differently");
            }
        }
        3 => {
            if let Ok(entries) = pack::parse_pack(&keys().data, rest) {
                check_entries(&entries, rest.len() as u64);
            }
        }
        _ => {
            // Structured: a blob region of `region` zero bytes, then the input sealed as the
            // trailer, its length and the magic.
            if rest.len() < 2 {
                return;
            }
            let region = u16::from_le_bytes([rest[0], rest[1]]) as usize;
            let plain = &rest[2..];
            let mut p = vec![0u8; region];
            let sealed = keys().data.seal(aad::PACK_TRAILER, plain);
            p.extend_from_slice(&sealed);
            p.extend_from_slice(&(sealed.len() as u32).to_le_bytes());
            p.extend_from_slice(PACK_MAGIC);
            match pack::parse_pack(&keys().data, &p) {
                Ok(entries) => {
                    check_entries(&entries, region as u64);
                    assert_eq!(
                        pack::decode_trailer(&pack::encode_trailer(&entries), region as u64)
                            .unwrap(),
                        entries,
                        "trailer does not survive re-encoding"
                    );
                }
                Err(e) => assert!(
                    e.is_damage() || matches!(e, engine::Error::UnsupportedVersion { .. }),
                    "unexpected error kind: {e}"
                ),
            }
        }
    }
});
