//! Key files (`keys/<id>`): each seals the repository's master key under a key derived from one
//! person's password with Argon2id, so several people can open one repository and each can be
//! removed alone. JSON, unencrypted apart from the sealed master key (the KDF parameters must be
//! readable before anything can be decrypted). Adding, replacing and removing keys happen here,
//! under the locks FORMAT.md §10 names, so every caller gets the same ordering and refusals.

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, FileType};
use crate::crypto::{aad, KdfParams, MasterKey};
use crate::error::{Error, Result};
use crate::id::Id;
use crate::repo::{lock, Repo};

pub const KEY_VERSION: u32 = 1;

/// Why a key could not be removed: each is something the user must change their request for.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no key matches {0:?}")]
    NoSuchKey(String),
    #[error("key id prefix {0:?} is ambiguous")]
    Ambiguous(String),
    #[error(
        "refusing to remove key {0}: it is the key in use (use `vcd key passwd` to replace it)"
    )]
    InUse(String),
    #[error(
        "refusing to remove key {0}: it is the last key, without it nothing opens the repository"
    )]
    Last(String),
}

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

/// Seals the repository's master key under another password in a new key file; returns its id.
/// A shared lock: it only adds a file, which conflicts with no other writer but must not land
/// while an exclusive command is deciding which key files exist.
pub fn add(repo: &Repo, password: &[u8], kdf: KdfParams) -> Result<Id> {
    let _lock = lock::acquire(repo, false)?;
    store_new(repo, password, kdf)
}

fn store_new(repo: &Repo, password: &[u8], kdf: KdfParams) -> Result<Id> {
    let k = KeyFile::create(&repo.master, password, kdf)?;
    store(&*repo.backend, &k)
}

/// Replaces the key this handle was opened with by one for `password`; returns the new key's
/// id. The new file is stored before the old one goes, so a failure in between leaves both
/// passwords working rather than none. Exclusive: it deletes a key file another command may be
/// about to open with.
pub fn change_password(repo: &Repo, password: &[u8], kdf: KdfParams) -> Result<Id> {
    let _lock = lock::acquire(repo, true)?;
    let new = store_new(repo, password, kdf)?;
    let old = repo.key_id().to_hex();
    match repo.backend.delete(FileType::Key, &old) {
        Ok(()) => Ok(new),
        // Someone removed it already (with another key): the change still holds.
        Err(e) if e.is_not_found() => Ok(new),
        Err(e) => Err(Error::Backend {
            what: "deleting key",
            name: old,
            source: e,
        }),
    }
}

/// Removes the key whose id starts with `prefix`; returns its id. Refuses the key this handle
/// was opened with and the last readable key, so removing can never lock everyone out.
/// Exclusive, and the keys are listed under the lock, so two removals cannot each leave the
/// other's key as the last one and then remove it.
pub fn remove(repo: &Repo, prefix: &str) -> Result<Id> {
    let _lock = lock::acquire(repo, true)?;
    let keys = list(&*repo.backend)?;
    let want = prefix.to_lowercase();
    let hits: Vec<Id> = keys
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !want.is_empty() && id.to_hex().starts_with(&want))
        .collect();
    let id = match hits.as_slice() {
        [] => return Err(KeyError::NoSuchKey(prefix.to_string()).into()),
        [id] => *id,
        _ => return Err(KeyError::Ambiguous(prefix.to_string()).into()),
    };
    if id == repo.key_id() {
        return Err(KeyError::InUse(id.short()).into());
    }
    if keys.len() == 1 {
        return Err(KeyError::Last(id.short()).into());
    }
    repo.backend()
        .delete(FileType::Key, &id.to_hex())
        .map_err(|e| Error::Backend {
            what: "deleting key",
            name: id.to_hex(),
            source: e,
        })?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::testing::{cheap_kdf, mem_repo};

    fn key_files(repo: &Repo) -> Vec<Id> {
        list(&*repo.backend)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    fn reopen(repo: &Repo, password: &[u8]) -> Result<Repo> {
        Repo::open(std::sync::Arc::clone(&repo.backend), password, None)
    }

    fn is_locked<T>(r: Result<T>) -> bool {
        matches!(r, Err(Error::Locked(_)))
    }

    #[test]
    fn an_added_key_opens_the_same_repository() {
        let repo = mem_repo();
        let id = add(&repo, b"second", cheap_kdf()).unwrap();
        assert_eq!(key_files(&repo).len(), 2);
        let other = reopen(&repo, b"second").unwrap();
        assert_eq!(other.key_id(), id);
        assert_eq!(other.config().id, repo.config().id);
        assert!(repo.lock_registry().is_empty(), "the lock was released");
    }

    #[test]
    fn change_password_replaces_the_key_in_use() {
        let repo = mem_repo();
        let old = repo.key_id();
        let new = change_password(&repo, b"new", cheap_kdf()).unwrap();
        assert_eq!(key_files(&repo), vec![new]);
        assert_ne!(new, old);
        assert!(matches!(reopen(&repo, b"pw"), Err(Error::WrongPassword)));
        assert_eq!(reopen(&repo, b"new").unwrap().key_id(), new);
        assert_eq!(repo.list(FileType::Lock).unwrap().len(), 0);
    }

    #[test]
    fn remove_refuses_the_key_in_use_the_last_key_and_unclear_prefixes() {
        let repo = mem_repo();
        let mine = repo.key_id();
        let theirs = add(&repo, b"second", cheap_kdf()).unwrap();
        let err = |r: Result<Id>| match r {
            Err(Error::Key(k)) => k,
            r => panic!("expected a key error, got {r:?}"),
        };
        assert!(matches!(
            err(remove(&repo, &mine.to_hex()[..6])),
            KeyError::InUse(_)
        ));
        assert!(matches!(err(remove(&repo, "zz")), KeyError::NoSuchKey(_)));
        assert!(matches!(err(remove(&repo, "")), KeyError::NoSuchKey(_)));
        // Prefixes are matched without regard to case.
        assert_eq!(
            remove(&repo, &theirs.to_hex()[..8].to_uppercase()).unwrap(),
            theirs
        );
        assert_eq!(key_files(&repo), vec![mine]);

        // The last key: the one in use was removed through another handle meanwhile.
        let theirs = add(&repo, b"second", cheap_kdf()).unwrap();
        let other = reopen(&repo, b"second").unwrap();
        remove(&other, &mine.to_hex()).unwrap();
        assert!(matches!(
            err(remove(&repo, &theirs.to_hex())),
            KeyError::Last(_)
        ));
        assert_eq!(key_files(&repo), vec![theirs]);
    }

    #[test]
    fn key_changes_respect_locks() {
        let repo = mem_repo();
        let spare = add(&repo, b"second", cheap_kdf()).unwrap();
        let shared = lock::acquire(&repo, false).unwrap();
        // Deleting a key file while another command may be opening with it is refused...
        assert!(is_locked(remove(&repo, &spare.to_hex())));
        assert!(is_locked(change_password(&repo, b"new", cheap_kdf())));
        // ...and neither left a key file or a lock behind; adding one coexists.
        assert_eq!(key_files(&repo).len(), 2);
        add(&repo, b"third", cheap_kdf()).unwrap();
        drop(shared);
        let exclusive = lock::acquire(&repo, true).unwrap();
        assert!(is_locked(add(&repo, b"fourth", cheap_kdf())));
        drop(exclusive);
        assert_eq!(key_files(&repo).len(), 3);
        assert_eq!(repo.list(FileType::Lock).unwrap().len(), 0);
        remove(&repo, &spare.to_hex()).unwrap();
    }

    #[test]
    fn a_prefix_naming_two_keys_is_ambiguous() {
        let repo = mem_repo();
        // Seventeen keys share a first hex digit somewhere; stop at the first pair.
        let shared = loop {
            add(&repo, b"more", cheap_kdf()).unwrap();
            let mut firsts: Vec<String> = key_files(&repo)
                .iter()
                .map(|id| id.to_hex()[..1].to_string())
                .collect();
            firsts.sort();
            if let Some(w) = firsts.windows(2).find(|w| w[0] == w[1]) {
                break w[0].clone();
            }
        };
        let before = key_files(&repo).len();
        assert!(matches!(
            remove(&repo, &shared),
            Err(Error::Key(KeyError::Ambiguous(_)))
        ));
        assert_eq!(key_files(&repo).len(), before);
    }
}
