//! Repository locks (`locks/<random id>`). Backups take a shared lock, repair and prune an
//! exclusive one. A lock names its host, process and time; it is refreshed while held, and
//! counts as stale when its process is gone (same host) or it has not been refreshed within
//! `STALE_AFTER`. Stale locks never block anyone; `vcd unlock` deletes them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::{DynBackend, FileType};
use crate::crypto::{aad, DataKey};
use crate::error::{Error, Result};
use crate::id::Id;
use crate::repo::Repo;

pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(30);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockInfo {
    pub time: chrono::DateTime<chrono::Utc>,
    pub host: String,
    pub user: String,
    pub pid: u32,
    pub exclusive: bool,
}

impl LockInfo {
    pub fn is_stale(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        if now - self.time > STALE_AFTER {
            return true;
        }
        if self.host == crate::host::hostname() {
            let pid = nix::unistd::Pid::from_raw(self.pid as i32);
            // ESRCH: no such process. EPERM means it exists but is not ours: alive.
            return matches!(
                nix::sys::signal::kill(pid, None),
                Err(nix::errno::Errno::ESRCH)
            );
        }
        false
    }

    pub fn describe(&self) -> String {
        format!(
            "{} lock by {}@{} pid {} since {}",
            if self.exclusive {
                "exclusive"
            } else {
                "shared"
            },
            self.user,
            self.host,
            self.pid,
            self.time.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// Names of locks this process holds, so an interrupt handler can remove them.
static HELD: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
static BACKENDS: Mutex<Vec<DynBackend>> = Mutex::new(Vec::new());

/// Removes every lock this process holds. For signal handlers; safe to call twice.
pub fn release_all() {
    let held: Vec<_> = std::mem::take(&mut *HELD.lock().unwrap());
    let backends = BACKENDS.lock().unwrap();
    for (b, name) in held {
        if let Some(be) = backends.get(b) {
            let _ = be.delete(FileType::Lock, &name);
        }
    }
}

/// A held lock; dropping it removes the lock file.
pub struct LockGuard {
    backend: DynBackend,
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
        let _ = self.backend.delete(FileType::Lock, &self.name);
        HELD.lock().unwrap().retain(|(_, n)| n != &self.name);
    }
}

/// Every lock in the repository with its name; unreadable ones are reported as `None`.
pub fn list_locks(repo: &Repo) -> Result<Vec<(String, Option<LockInfo>)>> {
    let mut out = Vec::new();
    for (name, _) in repo.list(FileType::Lock)? {
        let info = repo
            .backend()
            .get(FileType::Lock, &name)
            .ok()
            .and_then(|b| repo.keys().data.open(aad::LOCK, &b).ok())
            .and_then(|p| serde_json::from_slice::<LockInfo>(&p).ok());
        out.push((name, info));
    }
    Ok(out)
}

fn write_lock(backend: &DynBackend, key: &DataKey, name: &str, info: &LockInfo) -> Result<()> {
    let b = key.seal(
        aad::LOCK,
        &serde_json::to_vec(info).expect("locks serialise"),
    );
    backend
        .put(FileType::Lock, name, &b)
        .map_err(crate::repo::be("writing lock", name))
}

fn conflicts(repo: &Repo, own: Option<&str>, exclusive: bool) -> Result<Option<String>> {
    let now = chrono::Utc::now();
    for (name, info) in list_locks(repo)? {
        if Some(name.as_str()) == own {
            continue;
        }
        match info {
            Some(i) if i.is_stale(now) => continue,
            Some(i) if exclusive || i.exclusive => return Ok(Some(i.describe())),
            Some(_) => continue,
            // A lock we cannot read may be half-visible on an eventually consistent store:
            // respect it unless it is old (object stores give no mtime here; treat as held).
            None => return Ok(Some(format!("unreadable lock {name}"))),
        }
    }
    Ok(None)
}

/// Takes a lock. Checks, writes its own, then checks again so two racing writers cannot both
/// believe they hold an exclusive lock.
pub fn acquire(repo: &Repo, exclusive: bool) -> Result<LockGuard> {
    if let Some(c) = conflicts(repo, None, exclusive)? {
        return Err(Error::Locked(c));
    }
    let name = Id::random().to_hex();
    let backend = repo.backend_arc();
    let key = repo.keys().data.clone();
    let info = LockInfo {
        time: chrono::Utc::now(),
        host: crate::host::hostname(),
        user: crate::host::username(),
        pid: std::process::id(),
        exclusive,
    };
    write_lock(&backend, &key, &name, &info)?;
    {
        let mut bs = BACKENDS.lock().unwrap();
        bs.push(Arc::clone(&backend));
        HELD.lock().unwrap().push((bs.len() - 1, name.clone()));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut guard = LockGuard {
        backend: Arc::clone(&backend),
        name: name.clone(),
        stop: Arc::clone(&stop),
        refresher: None,
    };
    if let Some(c) = conflicts(repo, Some(&name), exclusive)? {
        return Err(Error::Locked(c)); // guard drops: our lock file goes
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
        let stale = info.as_ref().is_none_or(|i| i.is_stale(now));
        if all || stale {
            repo.backend()
                .delete(FileType::Lock, &name)
                .map_err(crate::repo::be("deleting lock", &name))?;
            n += 1;
        }
    }
    Ok(n)
}
