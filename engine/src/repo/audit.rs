//! The repository's seam for the audit trail (FORMAT.md §16): a handle that reads and writes
//! audit entries, and outlives the `Repo` it came from, so a front end can record how an
//! operation ended after the operation let go of the repository.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::backend::{DynBackend, FileType};
use crate::crypto::{aad, DataKey};
use crate::error::{Error, Result};
use crate::id::Id;

use super::{be, Repo};

/// An entry names its parents and what its operation removed: a forget of 50,000 snapshots
/// is 3.4 MB.
const MAX_ENTRY: u64 = 16 << 20;

/// How long a listing of `audit/` or `snapshots/` made by a command serves the trail's later
/// needs in the same command (its snapshot's anchor, the watch, the append): on remote
/// storage each listing is a request, and a short command needs one of each. Older, they are
/// listed again. A stale one costs nothing but a fork in the trail (a DAG) that the next
/// append joins.
pub const RECENT: Duration = Duration::from_secs(60);

/// The latest listings of `audit/` and `snapshots/` made through one repository handle.
#[derive(Default)]
pub(crate) struct Recent {
    audit: Mutex<Option<(Instant, Vec<String>)>>,
    snapshots: Mutex<Option<(Instant, Vec<String>)>>,
}

impl Recent {
    pub(crate) fn saw_snapshots(&self, names: Vec<String>) {
        *self.snapshots.lock().unwrap() = Some((Instant::now(), names));
    }

    /// The listing in `slot` if it was made after `since` and within `RECENT`.
    fn fresh(slot: &Mutex<Option<(Instant, Vec<String>)>>, since: Instant) -> Option<Vec<String>> {
        match &*slot.lock().unwrap() {
            Some((at, v)) if *at >= since && at.elapsed() < RECENT => Some(v.clone()),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct AuditStore {
    backend: DynBackend,
    key: DataKey,
    key_id: Id,
    /// This host's cache directory for the repository (`<cache>/<repo id>`), if any.
    cache: Option<PathBuf>,
    recent: Arc<Recent>,
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
            recent: Arc::clone(&self.recent),
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
            recent: Arc::default(),
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
        let names = self.list_now()?;
        *self.recent.audit.lock().unwrap() = Some((Instant::now(), names.clone()));
        Ok(names)
    }

    /// `list`, or what it returned for this handle since `since` (and within `RECENT`).
    pub fn list_since(&self, since: Instant) -> Result<Vec<String>> {
        match Recent::fresh(&self.recent.audit, since) {
            Some(v) => Ok(v),
            None => self.list(),
        }
    }

    /// The names in `snapshots/`: the repository handle's latest listing if made since
    /// `since` (and within `RECENT`), or a new one.
    pub fn snapshot_names_since(&self, since: Instant) -> Result<Vec<String>> {
        if let Some(v) = Recent::fresh(&self.recent.snapshots, since) {
            return Ok(v);
        }
        let names: Vec<String> = self
            .backend
            .list(FileType::Snapshot)
            .map_err(be("listing", "snapshots"))?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        self.recent.saw_snapshots(names.clone());
        Ok(names)
    }

    fn list_now(&self) -> Result<Vec<String>> {
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
        // The trail's heads changed: the next look lists it again.
        *self.recent.audit.lock().unwrap() = None;
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
