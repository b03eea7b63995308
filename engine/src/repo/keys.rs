//! Key files (`keys/<id>`): each seals the repository's master key under a key derived from one
//! person's password with Argon2id, so several people can open one repository and each can be
//! removed alone. JSON, unencrypted apart from the sealed master key (the KDF parameters must be
//! readable before anything can be decrypted).

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, FileType};
use crate::crypto::{aad, KdfParams, MasterKey};
use crate::error::{Error, Result};
use crate::id::Id;

pub const KEY_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub version: u32,
    pub created: chrono::DateTime<chrono::Utc>,
    pub host: String,
    pub user: String,
    pub kdf: KdfParams,
    /// `seal(MASTER_KEY, master key)` under the password-derived key.
    #[serde(with = "hex::serde")]
    pub master: Vec<u8>,
}

impl KeyFile {
    pub fn create(master: &MasterKey, password: &[u8], kdf: KdfParams) -> Result<Self> {
        let kek = kdf.derive(password)?;
        Ok(KeyFile {
            version: KEY_VERSION,
            created: chrono::Utc::now(),
            host: crate::host::hostname(),
            user: crate::host::username(),
            master: kek.seal(aad::MASTER_KEY, master.as_bytes()),
            kdf,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("key files serialise")
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let k: KeyFile =
            serde_json::from_slice(b).map_err(|e| Error::damaged("key", "", e.to_string()))?;
        if k.version > KEY_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "key file",
                version: k.version,
                supported: KEY_VERSION,
            });
        }
        Ok(k)
    }

    /// None when the password is not this key's.
    pub fn unlock(&self, password: &[u8]) -> Result<Option<MasterKey>> {
        let kek = self.kdf.derive(password)?;
        match kek.open(aad::MASTER_KEY, &self.master) {
            Ok(m) => {
                let b: [u8; 32] = m
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::damaged("key", "", "master key has the wrong length"))?;
                Ok(Some(MasterKey::from_bytes(b)))
            }
            Err(_) => Ok(None),
        }
    }
}

/// Writes a key file; returns its id (the hash of its bytes).
pub fn store(backend: &dyn Backend, k: &KeyFile) -> Result<Id> {
    let b = k.encode();
    let id = Id::of_file(&b);
    backend
        .put(FileType::Key, &id.to_hex(), &b)
        .map_err(|e| Error::Backend {
            what: "writing key",
            name: id.to_hex(),
            source: e,
        })?;
    Ok(id)
}

/// Every key file, verified against its name.
pub fn list(backend: &dyn Backend) -> Result<Vec<(Id, KeyFile)>> {
    let names = backend.list(FileType::Key).map_err(|e| Error::Backend {
        what: "listing keys",
        name: String::new(),
        source: e,
    })?;
    let mut out = Vec::new();
    for (name, _) in names {
        let b = backend
            .get(FileType::Key, &name)
            .map_err(|e| Error::Backend {
                what: "reading key",
                name: name.clone(),
                source: e,
            })?;
        let id = Id::of_file(&b);
        if id.to_hex() != name {
            tracing::warn!("key file {name} does not match its hash; skipped");
            continue;
        }
        match KeyFile::decode(&b) {
            Ok(k) => out.push((id, k)),
            Err(e) => tracing::warn!("key file {name}: {e}; skipped"),
        }
    }
    Ok(out)
}

/// Tries every key with the password; returns the master key and the id of the key that opened.
pub fn open(backend: &dyn Backend, password: &[u8]) -> Result<(MasterKey, Id)> {
    let keys = list(backend)?;
    if keys.is_empty() {
        return Err(Error::damaged(
            "keys",
            "",
            "the repository has no readable key file",
        ));
    }
    for (id, k) in keys {
        match k.unlock(password) {
            Ok(Some(m)) => return Ok((m, id)),
            Ok(None) => {}
            // One unusable key file (unknown KDF, hostile parameters) must not lock out the
            // people whose keys are fine.
            Err(e) => tracing::warn!("key {}: {e}; skipped", id.short()),
        }
    }
    Err(Error::WrongPassword)
}
