//! Cryptography: the master key and the purpose keys derived from it, authenticated
//! encryption of every repository object (XChaCha20-Poly1305, random 192-bit nonces), keyed
//! BLAKE3 chunk ids, and the Argon2id password KDF. Nothing here touches I/O.
//!
//! Sealed layout (FORMAT.md §Encryption): `nonce (24) || ciphertext || tag (16)`.
//! The associated data names the object's role, so a sealed trailer cannot be passed off as a
//! blob or a snapshot as a config.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::id::Id;

pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;
/// Bytes a sealed object has beyond its plaintext.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;
/// Nonce bytes a compactly sealed object stores: the first 16 of its XChaCha20 nonce, the
/// other 8 being zero (FORMAT.md §3).
pub const COMPACT_NONCE_LEN: usize = 16;
/// Bytes a compactly sealed object has beyond its plaintext.
pub const COMPACT_OVERHEAD: usize = COMPACT_NONCE_LEN + TAG_LEN;

/// Associated data per object role. NEVER CHANGE: part of the on-disk format.
pub mod aad {
    pub const BLOB: &[u8] = b"vcd/v1/blob";
    pub const PACK_TRAILER: &[u8] = b"vcd/v1/pack-trailer";
    pub const INDEX: &[u8] = b"vcd/v1/index";
    pub const SNAPSHOT: &[u8] = b"vcd/v1/snapshot";
    pub const CONFIG: &[u8] = b"vcd/v1/config";
    pub const LOCK: &[u8] = b"vcd/v1/lock";
    pub const PLAN: &[u8] = b"vcd/v1/deletion-plan";
    pub const RESTORE: &[u8] = b"vcd/v1/restoration";
    pub const AUDIT: &[u8] = b"vcd/v1/audit";
    pub const MASTER_KEY: &[u8] = b"vcd/v1/master-key";
}

/// BLAKE3 derive_key contexts. NEVER CHANGE: part of the on-disk format.
const CTX_DATA: &str = "vcd 2026-11 repository data encryption key";
const CTX_CHUNK_ID: &str = "vcd 2026-11 chunk id key";
const CTX_CHUNKER_SEED: &str = "vcd 2026-11 chunker gear seed";

/// The repository's one secret. Every key file seals a copy of it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        MasterKey(k)
    }

    pub fn from_bytes(b: [u8; 32]) -> Self {
        MasterKey(b)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The purpose keys: one for encryption, one for chunk ids, so a leak of ids reveals
    /// nothing about the encryption key and vice versa.
    pub fn derive(&self) -> Keys {
        Keys {
            data: DataKey(blake3::derive_key(CTX_DATA, &self.0)),
            chunk_id: ChunkIdKey(blake3::derive_key(CTX_CHUNK_ID, &self.0)),
            chunker_seed: u64::from_le_bytes(
                blake3::derive_key(CTX_CHUNKER_SEED, &self.0)[..8]
                    .try_into()
                    .unwrap(),
            ),
        }
    }
}

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ChunkIdKey([u8; 32]);

#[derive(Clone)]
pub struct Keys {
    pub data: DataKey,
    pub chunk_id: ChunkIdKey,
    /// XORed into FastCDC's gear table (chunker.rs).
    pub chunker_seed: u64,
}

impl ChunkIdKey {
    /// A blob's id: BLAKE3 keyed with the chunk-id key over the plaintext.
    pub fn id(&self, data: &[u8]) -> Id {
        Id(*blake3::keyed_hash(&self.0, data).as_bytes())
    }
}

impl DataKey {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        DataKey(b)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.0))
    }

    /// Appends `nonce || ciphertext || tag` of `plaintext` to `out`.
    pub fn seal_into(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        self.seal_with(NONCE_LEN, aad, plaintext, out)
    }

    /// Appends `nonce[..16] || ciphertext || tag` of `plaintext` to `out`: the nonce's last 8
    /// bytes are zero and not stored. Its randomness is the 128 bits HChaCha20 derives the
    /// subkey from, as many as a random AES-CTR IV has (restic's blobs): nonces first repeat
    /// after about 2^64 objects under one key. Used for blobs, 8 bytes apiece.
    pub fn seal_compact_into(&self, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        self.seal_with(COMPACT_NONCE_LEN, aad, plaintext, out)
    }

    fn seal_with(&self, stored: usize, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce[..stored]);
        out.reserve(plaintext.len() + stored + TAG_LEN);
        out.extend_from_slice(&nonce[..stored]);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher()
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), aad, &mut out[start..])
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        out.extend_from_slice(&tag);
    }

    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        self.seal_into(aad, plaintext, &mut out);
        out
    }

    /// Opens a sealed object; a wrong key, wrong role or any flipped bit is an error.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, MacError> {
        self.open_with(NONCE_LEN, aad, sealed)
    }

    /// Opens an object sealed by `seal_compact_into`.
    pub fn open_compact(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, MacError> {
        self.open_with(COMPACT_NONCE_LEN, aad, sealed)
    }

    fn open_with(&self, stored: usize, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, MacError> {
        if sealed.len() < stored + TAG_LEN {
            return Err(MacError);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..stored].copy_from_slice(&sealed[..stored]);
        let rest = &sealed[stored..];
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut buf = ct.to_vec();
        self.cipher()
            .decrypt_in_place_detached(
                XNonce::from_slice(&nonce),
                aad,
                &mut buf,
                Tag::from_slice(tag),
            )
            .map_err(|_| MacError)?;
        Ok(buf)
    }
}

/// Authentication failed: wrong key, or the bytes were changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacError;

impl std::fmt::Display for MacError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("authentication failed (MAC mismatch)")
    }
}

/// Most memory, in KiB, a key file may ask the KDF for: 128 MiB, under 3 times what vcd writes
/// (46 MiB). Every open runs the KDF of each key file tried before the right one, so this and
/// the two below bound what a planted key file costs: about 11 times a real key's work.
pub const MAX_M_COST: u32 = 128 * 1024;
/// Most passes a key file may ask for: 4 times what vcd writes (2).
pub const MAX_T_COST: u32 = 8;
/// Most lanes a key file may ask for (vcd writes 1; Argon2 here runs them one after another).
pub const MAX_P_COST: u32 = 4;
const MIN_SALT: usize = 8;
const MAX_SALT: usize = 64;

/// Argon2id parameters, stored in each key file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KdfParams {
    pub algorithm: String,
    /// Memory in KiB.
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    #[serde(with = "hex::serde")]
    pub salt: Vec<u8>,
}

impl KdfParams {
    /// OWASP's Argon2id recommendation (46 MiB, 2 passes). Memory is kept under 50 MiB on
    /// purpose: the KDF runs in every command, and its peak adds to the process's peak RSS.
    pub fn recommended() -> Self {
        let mut salt = vec![0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        KdfParams {
            algorithm: "argon2id".into(),
            m_cost: 47_104,
            t_cost: 2,
            p_cost: 1,
            salt,
        }
    }

    /// Refuses parameters a hostile key file could use to exhaust memory or time: anything
    /// beyond what vcd writes (`recommended`, the only parameters `init`, `key add` and `key
    /// passwd` use) with some headroom (`MAX_M_COST`, `MAX_T_COST`, `MAX_P_COST`).
    fn validate(&self) -> Result<()> {
        if self.algorithm != "argon2id" {
            return Err(Error::Crypto(format!("unknown KDF {:?}", self.algorithm)));
        }
        if self.m_cost > MAX_M_COST || self.t_cost > MAX_T_COST || self.p_cost > MAX_P_COST {
            return Err(Error::Crypto(format!(
                "KDF parameters beyond what vcd writes ({} KiB, {} passes, {} lanes; at most \
                 {MAX_M_COST} KiB, {MAX_T_COST} passes, {MAX_P_COST} lanes)",
                self.m_cost, self.t_cost, self.p_cost
            )));
        }
        if !(MIN_SALT..=MAX_SALT).contains(&self.salt.len()) {
            return Err(Error::Crypto(format!(
                "KDF salt of {} bytes (vcd writes 16)",
                self.salt.len()
            )));
        }
        Ok(())
    }

    /// Derives the key that seals the master key in a key file.
    pub fn derive(&self, password: &[u8]) -> Result<DataKey> {
        self.validate()?;
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| Error::Crypto(e.to_string()))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        a.hash_password_into(password, &self.salt, out.as_mut())
            .map_err(|e| Error::Crypto(e.to_string()))?;
        Ok(DataKey::from_bytes(*out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_tamper() {
        let k = MasterKey::generate().derive();
        let s = k.data.seal(aad::BLOB, b"hello world");
        assert_eq!(s.len(), 11 + OVERHEAD);
        assert_eq!(k.data.open(aad::BLOB, &s).unwrap(), b"hello world");
        // wrong role
        assert!(k.data.open(aad::SNAPSHOT, &s).is_err());
        // every flipped byte is caught
        for i in 0..s.len() {
            let mut t = s.clone();
            t[i] ^= 0x40;
            assert!(
                k.data.open(aad::BLOB, &t).is_err(),
                "flip at {i} not caught"
            );
        }
        // other key
        let k2 = MasterKey::generate().derive();
        assert!(k2.data.open(aad::BLOB, &s).is_err());
        assert!(k.data.open(aad::BLOB, &s[..10]).is_err());
    }

    #[test]
    fn compact_seal_open_roundtrip_and_tamper() {
        let k = MasterKey::generate().derive();
        let mut s = Vec::new();
        k.data.seal_compact_into(aad::BLOB, b"hello world", &mut s);
        assert_eq!(s.len(), 11 + COMPACT_OVERHEAD);
        assert_eq!(k.data.open_compact(aad::BLOB, &s).unwrap(), b"hello world");
        for i in 0..s.len() {
            let mut t = s.clone();
            t[i] ^= 0x40;
            assert!(k.data.open_compact(aad::BLOB, &t).is_err(), "flip at {i}");
        }
        assert!(k.data.open_compact(aad::SNAPSHOT, &s).is_err());
        // The two layouts never open as each other.
        assert!(k.data.open(aad::BLOB, &s).is_err());
        let full = k.data.seal(aad::BLOB, b"hello world");
        assert!(k.data.open_compact(aad::BLOB, &full).is_err());
        // It is XChaCha20-Poly1305 with the nonce's last 8 bytes zero.
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..COMPACT_NONCE_LEN].copy_from_slice(&s[..COMPACT_NONCE_LEN]);
        let mut as_full = nonce.to_vec();
        as_full.extend_from_slice(&s[COMPACT_NONCE_LEN..]);
        assert_eq!(k.data.open(aad::BLOB, &as_full).unwrap(), b"hello world");
        let mut short = Vec::new();
        k.data.seal_compact_into(aad::BLOB, b"", &mut short);
        assert!(k
            .data
            .open_compact(aad::BLOB, &short[..COMPACT_OVERHEAD - 1])
            .is_err());
        assert_eq!(k.data.open_compact(aad::BLOB, &short).unwrap(), b"");
    }

    #[test]
    fn chunk_ids_are_keyed() {
        let a = MasterKey::generate().derive();
        let b = MasterKey::generate().derive();
        assert_eq!(a.chunk_id.id(b"x"), a.chunk_id.id(b"x"));
        assert_ne!(a.chunk_id.id(b"x"), b.chunk_id.id(b"x"));
        assert_ne!(a.chunk_id.id(b"x"), Id(*blake3::hash(b"x").as_bytes()));
    }

    #[test]
    fn kdf_depends_on_password_and_rejects_hostile_params() {
        let mut p = KdfParams::recommended();
        p.m_cost = 64;
        p.t_cost = 1;
        let k1 = p.derive(b"pw").unwrap();
        let k2 = p.derive(b"pw2").unwrap();
        let s = k1.seal(aad::MASTER_KEY, b"m");
        assert!(k2.open(aad::MASTER_KEY, &s).is_err());
        assert!(k1.open(aad::MASTER_KEY, &s).is_ok());
        p.m_cost = u32::MAX;
        assert!(p.derive(b"pw").is_err());
    }

    /// Defect: the bounds were 4 GiB and 100 passes, so a planted key file could make every
    /// open spend 17 s and 4 GB on one key. They are now what vcd writes, with headroom, and
    /// checked before Argon2 allocates anything.
    #[test]
    fn kdf_parameters_are_bounded_by_what_vcd_writes() {
        let r = KdfParams::recommended();
        assert!(r.validate().is_ok());
        assert!(r.m_cost <= MAX_M_COST && r.t_cost <= MAX_T_COST && r.p_cost <= MAX_P_COST);
        let at_limit = KdfParams {
            m_cost: 64,
            t_cost: MAX_T_COST,
            p_cost: MAX_P_COST,
            ..r.clone()
        };
        at_limit.derive(b"pw").unwrap();
        let refused = [
            KdfParams {
                m_cost: 4 * 1024 * 1024,
                ..r.clone()
            },
            KdfParams {
                m_cost: MAX_M_COST + 1,
                ..r.clone()
            },
            KdfParams {
                m_cost: 64,
                t_cost: 100,
                ..r.clone()
            },
            KdfParams {
                m_cost: 64,
                t_cost: MAX_T_COST + 1,
                ..r.clone()
            },
            KdfParams {
                m_cost: 64,
                p_cost: 64,
                ..r.clone()
            },
            KdfParams {
                salt: vec![1; 4],
                ..r.clone()
            },
            KdfParams {
                salt: vec![1; 1 << 20],
                ..r.clone()
            },
        ];
        for p in refused {
            let e = p.derive(b"pw").err().expect("refused");
            assert!(matches!(e, Error::Crypto(_)), "{e}");
        }
    }
}
