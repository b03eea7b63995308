//! Taking and releasing repository locks (FORMAT.md §Locks has the table of which command takes
//! which). A lock file is written, then every other lock is read again, so two racing writers
//! cannot both believe they hold an exclusive lock. A held lock is refreshed in the background
//! and removed when its guard drops. The locks a repository handle holds are kept in its
//! `LockRegistry` (not in process-wide state), so a signal handler can remove them and a
//! long-running host forgets each one as it is released.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backend::{DynBackend, FileType};
use crate::crypto::{aad, DataKey};
use crate::error::{Error, Result};
use crate::format::lock_file::LockInfo;
use crate::id::Id;
use crate::repo::Repo;

pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);

/// The locks one repository handle holds right now.
pub struct LockRegistry {
    backend: DynBackend,
    held: Mutex<HashSet<String>>,
}

impl LockRegistry {
    pub(crate) fn new(backend: DynBackend) -> Self {
        LockRegistry {
            backend,
            held: Mutex::new(HashSet::new()),
        }
    }

    /// Removes every lock this handle holds, for a signal handler about to exit; the guards
    /// find theirs gone when they drop. Safe to call twice.
    pub fn release_all(&self) {
        let held: Vec<String> = self.held.lock().unwrap().drain().collect();
        for name in held {
            let _ = self.backend.delete(FileType::Lock, &name);
        }
    }

    /// How many locks are held (the registry must not grow with locks taken and released).
    pub fn len(&self) -> usize {
        self.held.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A held lock; dropping it removes the lock file.
pub struct LockGuard {
    registry: Arc<LockRegistry>,
    name: String,
    stop: Arc<AtomicBool>,
    refresher: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.refresher.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        let _ = self.registry.backend.delete(FileType::Lock, &self.name);
        self.registry.held.lock().unwrap().remove(&self.name);
    }
}

/// Stale by the rule of `LockInfo::is_stale_at`, with this host and its processes.
pub fn is_stale(info: &LockInfo, now: chrono::DateTime<chrono::Utc>) -> bool {
    info.is_stale_at(now, &crate::host::hostname(), |pid| {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        // ESRCH: no such process. EPERM means it exists but is not ours: alive.
        !matches!(
            nix::sys::signal::kill(pid, None),
            Err(nix::errno::Errno::ESRCH)
        )
    })
}

/// Every lock in the repository with its name; unreadable ones are reported as `None`.
pub fn list_locks(repo: &Repo) -> Result<Vec<(String, Option<LockInfo>)>> {
    list_locks_but(repo, None)
}

/// `list_locks` without reading `own` (on remote storage each read is a request).
fn list_locks_but(repo: &Repo, own: Option<&str>) -> Result<Vec<(String, Option<LockInfo>)>> {
    let mut out = Vec::new();
    for (name, _) in repo.list(FileType::Lock)? {
        if Some(name.as_str()) == own {
            continue;
        }
        let info = repo
            .backend
            .get(FileType::Lock, &name)
            .ok()
            .and_then(|b| repo.keys.data.open(aad::LOCK, &b).ok())
            .and_then(|p| LockInfo::decode(&p));
        out.push((name, info));
    }
    Ok(out)
}

fn write_lock(backend: &DynBackend, key: &DataKey, name: &str, info: &LockInfo) -> Result<()> {
    let b = key.seal(aad::LOCK, &info.encode());
    backend
        .put(FileType::Lock, name, &b)
        .map_err(crate::repo::be("writing lock", name))
}

/// What a lock excludes: an exclusive lock every other lock, a prune's lock exclusive ones and
/// other prunes', a shared one exclusive ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shared,
    Exclusive,
    Prune,
}

fn conflicts(repo: &Repo, own: Option<&str>, kind: Kind) -> Result<Option<String>> {
    let now = chrono::Utc::now();
    for (name, info) in list_locks_but(repo, own)? {
        match info {
            Some(i) if is_stale(&i, now) => continue,
            Some(i)
                if kind == Kind::Exclusive || i.exclusive || (kind == Kind::Prune && i.prune) =>
            {
                return Ok(Some(i.describe()))
            }
            Some(_) => continue,
            // A lock we cannot read may be half-visible on an eventually consistent store:
            // respect it unless it is old (object stores give no mtime here; treat as held).
            None => return Ok(Some(format!("unreadable lock {name}"))),
        }
    }
    Ok(None)
}

/// Names of the locks held now, other than this handle's own: every lock that is not stale,
/// and every lock that cannot be read (it may be one being written). Prune waits for these
/// before it deletes what its deletion plan names (FORMAT.md §14).
pub fn live_locks(repo: &Repo) -> Result<Vec<(String, String)>> {
    let now = chrono::Utc::now();
    let own = repo.locks.held.lock().unwrap().clone();
    Ok(list_locks(repo)?
        .into_iter()
        .filter(|(name, _)| !own.contains(name))
        .filter_map(|(name, info)| match info {
            Some(i) if is_stale(&i, now) => None,
            Some(i) => Some((name, i.describe())),
            None => Some((name.clone(), format!("unreadable lock {name}"))),
        })
        .collect())
}

/// Takes a lock. Checks, writes its own, then checks again so two racing writers cannot both
/// believe they hold an exclusive lock.
pub fn acquire(repo: &Repo, exclusive: bool) -> Result<LockGuard> {
    acquire_kind(
        repo,
        if exclusive {
            Kind::Exclusive
        } else {
            Kind::Shared
        },
    )
}

/// A prune's lock: it lets backups, restores and every other shared lock run beside it, but
/// not a second prune, a repair or a key change (FORMAT.md §10).
pub fn acquire_prune(repo: &Repo) -> Result<LockGuard> {
    acquire_kind(repo, Kind::Prune)
}

fn acquire_kind(repo: &Repo, kind: Kind) -> Result<LockGuard> {
    // A shared lock is written without a look first: the check after writing decides, and on
    // remote storage a listing is saved on every backup. An exclusive command that lists in
    // that moment is refused, as the shared command's lock would refuse it a moment later.
    // Exclusive ones look first, so as not to refuse shared commands for nothing.
    if kind != Kind::Shared {
        if let Some(c) = conflicts(repo, None, kind)? {
            return Err(Error::Locked(c));
        }
    }
    let name = Id::random().to_hex();
    let registry = Arc::clone(&repo.locks);
    let backend = Arc::clone(&repo.backend);
    let key = repo.keys.data.clone();
    let info = LockInfo {
        time: chrono::Utc::now(),
        host: crate::host::hostname(),
        user: crate::host::username(),
        pid: std::process::id(),
        exclusive: kind == Kind::Exclusive,
        prune: kind == Kind::Prune,
    };
    // Registered before it exists, so a signal arriving while it is written still removes it.
    registry.held.lock().unwrap().insert(name.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let mut guard = LockGuard {
        registry,
        name: name.clone(),
        stop: Arc::clone(&stop),
        refresher: None,
    };
    write_lock(&backend, &key, &name, &info)?;
    if let Some(c) = conflicts(repo, Some(&name), kind)? {
        return Err(Error::Locked(c)); // guard drops: our lock file goes
    }
    // The deletion plans are read again now that the lock is visible: a plan written before
    // it may not have been seen when the repository was opened, and a prune that writes one
    // later finds this lock and waits for it (FORMAT.md §14, I1).
    // A handle that has not read the index yet reads the plans with it, after this point.
    if repo.index_synced() {
        repo.absorb_plans()?;
    }
    guard.refresher = Some(std::thread::spawn(move || loop {
        std::thread::park_timeout(REFRESH_EVERY);
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let mut i = info.clone();
        i.time = chrono::Utc::now();
        if let Err(e) = write_lock(&backend, &key, &name, &i) {
            tracing::warn!("could not refresh lock {name}: {e}");
        }
    }));
    Ok(guard)
}

/// Deletes stale locks (or all, with `all`); returns how many.
pub fn unlock(repo: &Repo, all: bool) -> Result<usize> {
    let now = chrono::Utc::now();
    let mut n = 0;
    for (name, info) in list_locks(repo)? {
        let stale = info.as_ref().is_none_or(|i| is_stale(i, now));
        if all || stale {
            repo.backend
                .delete(FileType::Lock, &name)
                .map_err(crate::repo::be("deleting lock", &name))?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::testing::mem_repo;

    fn lock_files(repo: &Repo) -> usize {
        repo.list(FileType::Lock).unwrap().len()
    }

    #[test]
    fn shared_locks_coexist_and_exclude_an_exclusive_one() {
        let repo = mem_repo();
        let a = acquire(&repo, false).unwrap();
        let b = acquire(&repo, false).unwrap();
        assert_eq!(lock_files(&repo), 2);
        assert!(matches!(acquire(&repo, true), Err(Error::Locked(_))));
        // The refused attempt left no file behind.
        assert_eq!(lock_files(&repo), 2);
        drop(a);
        drop(b);
        assert_eq!(lock_files(&repo), 0);
        let x = acquire(&repo, true).unwrap();
        assert!(matches!(acquire(&repo, false), Err(Error::Locked(_))));
        drop(x);
        assert_eq!(lock_files(&repo), 0);
    }

    #[test]
    fn a_prune_runs_beside_shared_locks_but_not_beside_another_prune_or_an_exclusive_lock() {
        let repo = mem_repo();
        let backup = acquire(&repo, false).unwrap();
        let prune = acquire_prune(&repo).unwrap();
        // A backup may still start while the prune runs.
        let second_backup = acquire(&repo, false).unwrap();
        assert!(
            matches!(acquire_prune(&repo), Err(Error::Locked(m)) if m.starts_with("prune lock"))
        );
        assert!(matches!(acquire(&repo, true), Err(Error::Locked(_))));
        let live: Vec<String> = live_locks(&repo)
            .unwrap()
            .into_iter()
            .map(|l| l.0)
            .collect();
        assert!(
            live.is_empty(),
            "this handle's own locks are not listed: {live:?}"
        );
        let other = crate::repo::Repo::open(Arc::clone(&repo.backend), b"pw", None).unwrap();
        assert_eq!(live_locks(&other).unwrap().len(), 3);
        drop((backup, second_backup, prune));
        let x = acquire(&repo, true).unwrap();
        assert!(matches!(acquire_prune(&repo), Err(Error::Locked(_))));
        drop(x);
    }

    #[test]
    fn the_registry_forgets_released_locks() {
        let repo = mem_repo();
        for _ in 0..50 {
            let g = acquire(&repo, false).unwrap();
            assert_eq!(repo.locks.len(), 1);
            drop(g);
        }
        assert!(repo.locks.is_empty());
    }

    #[test]
    fn release_all_removes_held_lock_files() {
        let repo = mem_repo();
        let g = acquire(&repo, true).unwrap();
        let h = repo.lock_registry();
        h.release_all();
        assert_eq!(lock_files(&repo), 0);
        assert!(h.is_empty());
        drop(g); // finds its file gone: no panic, nothing left
        assert_eq!(lock_files(&repo), 0);
    }

    #[test]
    fn stale_and_unreadable_locks() {
        let repo = mem_repo();
        let old = LockInfo {
            time: chrono::Utc::now() - chrono::Duration::hours(2),
            host: "elsewhere".into(),
            user: "u".into(),
            pid: 1,
            exclusive: true,
            prune: false,
        };
        write_lock(&repo.backend, &repo.keys.data, "old", &old).unwrap();
        // A stale exclusive lock blocks no one, and `unlock` removes only it.
        let g = acquire(&repo, true).unwrap();
        assert_eq!(unlock(&repo, false).unwrap(), 1);
        assert_eq!(lock_files(&repo), 1);
        drop(g);
        // A lock that cannot be read is respected.
        repo.backend
            .put(FileType::Lock, "garbage", b"not sealed")
            .unwrap();
        assert!(matches!(acquire(&repo, false), Err(Error::Locked(m)) if m.contains("unreadable")));
        assert_eq!(unlock(&repo, false).unwrap(), 1);
        acquire(&repo, false).unwrap();
    }
}
