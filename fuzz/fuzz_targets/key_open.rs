//! `repo::keys::open`, the choice of key that `Repo::open` makes, over a storage whose config
//! and key files are all hostile: oversize, undecodable or misnamed key files, keys the
//! password unlocks whose master key does not open the config, remembered keys. Whatever it
//! returns must be a stored key whose master key opens the config to the plaintext returned.
//! Only key files whose KDF is tiny or out of bounds (refused unrun) are stored, so Argon2
//! stays fast; the password tried is "fuzz password".
//!
//! Input: one flags byte, then length-prefixed parts (u16 LE length, then the bytes): the
//! sealed config, then up to four key files. Key file i is stored under its hash, or under a
//! wrong name if flag bit i is set; bit 7 names key file 0 as the remembered key, bit 6 says
//! its size is remembered too (so it is read by name, without a listing) and bit 5 makes that
//! remembered size wrong (a cache entry from a key file since replaced or planted).

#![no_main]

use engine::backend::{Backend, FileType, MemBackend};
use engine::crypto::{aad, MAX_M_COST, MAX_P_COST, MAX_T_COST};
use engine::format::config::Config;
use engine::id::Id;
use engine::repo::keys::{self, KeyFile, Remembered};
use libfuzzer_sys::fuzz_target;

/// Parts of `b`, each a u16 LE length and that many bytes (a short last part is cut).
fn parts(mut b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((len, rest)) = b.split_first_chunk::<2>() {
        let n = (u16::from_le_bytes(*len) as usize).min(rest.len());
        out.push(&rest[..n]);
        b = &rest[n..];
    }
    out
}

/// True when running this key file's KDF is cheap: tiny parameters, or ones the bounds refuse
/// before Argon2 runs. Undecodable files are cheap (skipped).
fn cheap(b: &[u8]) -> bool {
    match KeyFile::decode(b) {
        Ok(k) => {
            let p = &k.kdf;
            (p.m_cost <= 64 && p.t_cost <= 2)
                || p.m_cost > MAX_M_COST
                || p.t_cost > MAX_T_COST
                || p.p_cost > MAX_P_COST
        }
        Err(_) => true,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let parts = parts(rest);
    let Some((config, key_files)) = parts.split_first() else {
        return;
    };
    let b = MemBackend::default();
    b.put(FileType::Config, "config", config).unwrap();
    let mut first = Vec::new();
    for (i, k) in key_files.iter().take(4).enumerate() {
        if !cheap(k) {
            continue;
        }
        let id = Id::of_file(k);
        let name = if flags & (1 << i) != 0 {
            format!("{:064x}", i)
        } else {
            id.to_hex()
        };
        b.put(FileType::Key, &name, k).unwrap();
        if i == 0 && flags & 0x80 != 0 {
            let len = k.len() as u64;
            let size = match (flags & 0x40 != 0, flags & 0x20 != 0) {
                (false, _) => None,
                (true, false) => Some(len),
                (true, true) => Some(len ^ 1),
            };
            first.push(Remembered { key: id, size });
        }
    }
    let r = keys::open(&b, b"fuzz password", &first, |m| {
        m.derive().data.open(aad::CONFIG, config).ok()
    });
    if let Ok((master, id, size, plain)) = r {
        let stored = b
            .get(FileType::Key, &id.to_hex())
            .expect("the key is stored");
        assert_eq!(Id::of_file(&stored), id, "the key is stored under its hash");
        assert_eq!(
            size,
            stored.len() as u64,
            "the size returned is the key file's"
        );
        let again = master.derive().data.open(aad::CONFIG, config);
        assert_eq!(again.as_deref(), Ok(plain.as_slice()));
        let _ = Config::decode(&plain);
    }
});
