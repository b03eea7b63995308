//! The repository's seam for the audit trail (FORMAT.md §16): a handle that reads and writes
//! audit entries, and outlives the `Repo` it came from, so a front end can record how an
//! operation ended after the operation let go of the repository.

use std::path::PathBuf;

use crate::backend::{DynBackend, FileType};
use crate::crypto::{aad, DataKey};
use crate::error::{Error, Result};
use crate::id::Id;

use super::{be, Repo};

/// An entry names its parents and what its operation removed: a forget of 50,000 snapshots
/// is 3.4 MB.
const MAX_ENTRY: u64 = 16 << 20;

#[derive(Clone)]
pub struct AuditStore {
    backend: DynBackend,
    key: DataKey,
    key_id: Id,
    /// This host's cache directory for the repository (`<cache>/<repo id>`), if any.
    cache: Option<PathBuf>,
}

impl Repo {
    pub fn audit_store(&self) -> AuditStore {
        AuditStore {
            backend: self.backend.clone(),
            key: self.keys.data.clone(),
            key_id: self.key_id,
            cache: self
                .index_path
                .as_ref()
                .and_then(|p| p.parent())
                .map(|p| p.to_path_buf()),
        }
    }
}

impl AuditStore {
    /// For a repository just made (no cache directory yet).
    pub(super) fn new(backend: DynBackend, keys: &crate::crypto::Keys, key_id: Id) -> Self {
        AuditStore {
            backend,
            key: keys.data.clone(),
            key_id,
            cache: None,
        }
    }

    /// The key the repository was opened with.
    pub fn key_id(&self) -> Id {
        self.key_id
    }

    /// `name` in this host's cache directory for the repository.
    pub fn cache_file(&self, name: &str) -> Option<PathBuf> {
        self.cache.as_ref().map(|d| d.join(name))
    }

    /// The entries' names. A file larger than any entry can be is left out (and said): it is
    /// not one, and reading it whole on every command is what its maker would want.
    pub fn list(&self) -> Result<Vec<String>> {
        Ok(self
            .backend
            .list(FileType::Audit)
            .map_err(be("listing", "audit"))?
            .into_iter()
            .filter_map(|(n, size)| {
                if size > MAX_ENTRY {
                    tracing::warn!("audit/{n}: {size} bytes, too large for an entry: left out");
                    return None;
                }
                Some(n)
            })
            .collect())
    }

    /// One entry's plaintext, checked against its name (the chain's hash) and its seal.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        let b = self
            .backend
            .get(FileType::Audit, name)
            .map_err(be("reading", name))?;
        if Id::of_file(&b).to_hex() != name {
            return Err(Error::damaged(
                "audit entry",
                name,
                "content does not match its name (hash mismatch)",
            ));
        }
        self.key
            .open(aad::AUDIT, &b)
            .map_err(|m| Error::damaged("audit entry", name, m.to_string()))
    }

    /// Seals, names and stores one entry; returns its name.
    pub fn write(&self, plain: &[u8]) -> Result<Id> {
        let b = self.key.seal(aad::AUDIT, plain);
        let id = Id::of_file(&b);
        self.backend
            .put(FileType::Audit, &id.to_hex(), &b)
            .map_err(be("writing", "audit entry"))?;
        Ok(id)
    }

    /// Removes an entry: for tests that play an attacker with the key.
    #[doc(hidden)]
    pub fn delete(&self, name: &str) -> Result<()> {
        self.backend
            .delete(FileType::Audit, name)
            .map_err(be("deleting", name))
    }
}
