//! `Repo`: an opened repository. It wires the backend, the keys, the config and the local
//! index together and offers typed reads and writes of repository objects: every read is
//! checked (hash of the file against its name, then the MAC), every write is sealed and named
//! by its hash. Backup, restore and check are written against this, not against files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::backend::{Backend, BackendError, DynBackend, FileType};
use crate::cache::Index;
use crate::crypto::{aad, KdfParams, Keys, MasterKey};
use crate::error::{Error, Result};
use crate::format::config::{Config, COMPACT_VERSION};
use crate::format::index_file::{self, PackEntries};
use crate::id::Id;
pub mod audit;
mod blobs;
pub mod keys;
pub mod lock;
mod plans;
#[cfg(test)]
pub(crate) mod testing;

use crate::format::blob::BlobEntry;
use crate::format::pack::{self, FOOTER_LEN};
use crate::format::snapshot::{Snapshot, SnapshotRef};
pub use blobs::BlobSource;
use keys::KeyFile;

pub struct Repo {
    pub(crate) backend: DynBackend,
    pub(crate) keys: Keys,
    pub(crate) locks: Arc<lock::LockRegistry>,
    pub(crate) master: MasterKey,
    config: Config,
    key_id: Id,
    index: Index,
    index_path: Option<PathBuf>,
    /// A remote repository's metadata, kept locally (None: local storage, or no cache).
    pub(crate) files: Option<crate::cache::files::FileCache>,
    /// The format version the stored config says, as far as this handle knows (`upgrade_to`).
    stored_version: std::sync::atomic::AtomicU32,
    /// Whether the index files have been read since opening. Opening does not read them: a
    /// command reads them once it holds its lock, or at its first use of the index (on remote
    /// storage, a listing of `index/` and one of `pending/` not made twice).
    synced: std::sync::atomic::AtomicBool,
    first_sync: std::sync::Mutex<()>,
    /// Listings the audit trail reuses (`audit::RECENT`).
    recent: Arc<audit::Recent>,
}

pub(crate) fn be<'a>(what: &'static str, name: &'a str) -> impl FnOnce(BackendError) -> Error + 'a {
    move |source| Error::Backend {
        what,
        name: name.to_string(),
        source,
    }
}

/// Where the local index of a repository lives under a cache directory.
pub fn index_dir(cache_dir: &Path, repo_id: &Id) -> PathBuf {
    cache_dir.join(repo_id.to_hex()).join("index.sled")
}

impl Repo {
    /// Creates a repository: structure, first key, config. Fails if one exists, or if key
    /// files do (an interrupted or concurrent `init`). The config is created exclusively: of
    /// inits racing on one location exactly one succeeds, and the others remove their key file.
    pub fn init(
        backend: DynBackend,
        password: &[u8],
        config: Config,
        kdf: KdfParams,
    ) -> Result<Id> {
        Self::init_audited(backend, password, config, kdf).map(|(id, _)| id)
    }

    /// `init`, and the new repository's audit store, so the front end can record the init as
    /// the trail's first entry without opening the repository again (another KDF run).
    pub fn init_audited(
        backend: DynBackend,
        password: &[u8],
        config: Config,
        kdf: KdfParams,
    ) -> Result<(Id, audit::AuditStore)> {
        config.validate()?;
        if backend.exists().map_err(be("probing", "config"))? {
            return Err(Error::RepoExists(backend.location()));
        }
        if !backend
            .list(FileType::Key)
            .map_err(be("listing", "keys"))?
            .is_empty()
        {
            return Err(Error::RepoExists(format!(
                "{}: it has key files but no config (an init was interrupted, or is running \
                 now; if none is, delete its key files and init again)",
                backend.location()
            )));
        }
        backend.create().map_err(be("creating repository", ""))?;
        let master = MasterKey::generate();
        let keys = master.derive();
        let key_id = keys::store(backend.as_ref(), &KeyFile::create(&master, password, kdf)?)?;
        let sealed = seal_config(&keys, &config);
        // The config goes last: its presence is what marks a repository as initialised.
        match backend.put_new(FileType::Config, "config", &sealed) {
            Ok(()) => {
                let store = audit::AuditStore::new(backend.clone(), &keys, key_id);
                Ok((key_id, store))
            }
            Err(e) if e.is_exists() => {
                // Another init won: our key seals a master key nothing is encrypted with.
                if let Err(e) = backend.delete(FileType::Key, &key_id.to_hex()) {
                    tracing::warn!("removing key {} of the lost init: {e}", key_id.short());
                }
                Err(Error::RepoExists(backend.location()))
            }
            Err(e) => Err(be("writing", "config")(e)),
        }
    }

    /// Opens with a password. `cache_dir` holds the local index and remembers which key opened
    /// the repository, to try it first next time; None uses a temporary index.
    pub fn open(backend: DynBackend, password: &[u8], cache_dir: Option<&Path>) -> Result<Repo> {
        // The config read answers "is there a repository" too: one request, not two, on
        // remote storage. Only a missing one asks `exists`, which on S3 tells a missing bucket.
        let raw = match backend.get(FileType::Config, "config") {
            Ok(raw) => raw,
            Err(e) if e.is_not_found() => {
                if !backend.exists().map_err(be("probing", "config"))? {
                    return Err(Error::RepoNotFound(backend.location()));
                }
                backend
                    .get(FileType::Config, "config")
                    .map_err(be("reading", "config"))?
            }
            Err(e) => return Err(be("reading", "config")(e)),
        };
        let first = cache_dir
            .map(|d| keys::remembered(d, &raw))
            .unwrap_or_default();
        let (master, key_id, key_size, plain) =
            keys::open(backend.as_ref(), password, &first, |m| {
                m.derive().data.open(aad::CONFIG, &raw).ok()
            })?;
        let keys = master.derive();
        let config = Config::decode(&plain)?;
        let index_path = cache_dir.map(|d| index_dir(d, &config.id));
        let index = match &index_path {
            Some(p) => Index::open(p)?,
            None => Index::temporary()?,
        };
        if let Some(d) = cache_dir {
            keys::remember(d, &config.id, &key_id, key_size, &raw);
        }
        let stored_version = std::sync::atomic::AtomicU32::new(config.version);
        let files = cache_dir
            .filter(|_| backend.is_remote())
            .map(|d| crate::cache::files::FileCache::new(d.join(config.id.to_hex()).join("files")));
        let repo = Repo {
            files,
            locks: Arc::new(lock::LockRegistry::new(Arc::clone(&backend))),
            backend,
            keys,
            master,
            config,
            key_id,
            index,
            index_path,
            stored_version,
            synced: std::sync::atomic::AtomicBool::new(false),
            first_sync: std::sync::Mutex::new(()),
            recent: Arc::default(),
        };
        Ok(repo)
    }

    /// Raises a repository of an earlier format version to the one packs and index files
    /// need, before its first new pack or index file, which may hold what the earlier version
    /// cannot describe.
    pub fn upgrade(&self) -> Result<()> {
        self.upgrade_to(COMPACT_VERSION)
    }

    /// Raises the stored format version to `version` if it is lower. The config is rewritten
    /// atomically with every other field unchanged; racing writers write the same or a
    /// higher version, and a lower one is never written over a higher one this handle saw.
    pub fn upgrade_to(&self, version: u32) -> Result<()> {
        use std::sync::atomic::Ordering;
        let was = self.stored_version.load(Ordering::Acquire);
        if was >= version {
            return Ok(());
        }
        // Read again: another process may have raised it further since this handle opened.
        let raw = self
            .backend
            .get(FileType::Config, "config")
            .map_err(be("reading", "config"))?;
        let plain = self
            .keys
            .data
            .open(aad::CONFIG, &raw)
            .map_err(|m| Error::damaged("config", "config", m.to_string()))?;
        let mut c = Config::decode(&plain)?;
        if c.version < version {
            c.version = version;
            let sealed = seal_config(&self.keys, &c);
            self.backend
                .put(FileType::Config, "config", &sealed)
                .map_err(be("writing", "config"))?;
            tracing::info!("repository format raised from version {was} to {version}");
        }
        self.stored_version.store(c.version, Ordering::Release);
        Ok(())
    }

    /// The locks this handle holds: a signal handler may `release_all` them before exiting.
    pub fn lock_registry(&self) -> Arc<lock::LockRegistry> {
        Arc::clone(&self.locks)
    }

    /// The storage, for tools that read raw objects (`vcd cat`, key files) and for test
    /// fixtures that craft hostile ones. Operations go through the blob seams instead.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// The purpose keys, for the same tools and fixtures as `backend`.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn key_id(&self) -> Id {
        self.key_id
    }

    /// Runs `f`, whose rayon loops read the repository, on as many threads as the storage
    /// takes calls at once when that is more than the machine's cores: a remote store's reads
    /// wait on round trips, not on the CPU. Local storage runs it as it is.
    pub fn io_parallel<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let width = self.backend.concurrency();
        if width <= rayon::current_num_threads() {
            return f();
        }
        match rayon::ThreadPoolBuilder::new()
            .num_threads(width)
            .thread_name(|i| format!("vcd-io-{i}"))
            .build()
        {
            Ok(pool) => pool.install(f),
            Err(_) => f(),
        }
    }

    pub fn index_path(&self) -> Option<&Path> {
        self.index_path.as_deref()
    }

    /// Reads a content-addressed file and checks it against its name.
    pub fn get_verified(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        use crate::cache::files::Kind;
        let kind = match t {
            FileType::Snapshot => Some(Kind::Snapshot),
            FileType::Index => Some(Kind::Index),
            _ => None,
        };
        let cache = self.files.as_ref().zip(kind);
        if let Some((c, k)) = cache {
            match c.get(k, name) {
                Some(b) if Id::of_file(&b).to_hex() == name => return Ok(b),
                Some(_) => c.remove(k, name),
                None => {}
            }
        }
        let b = self.get_verified_uncached(t, name)?;
        if let Some((c, k)) = cache {
            c.put(k, name, &b);
        }
        Ok(b)
    }

    fn get_verified_uncached(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let b = self.backend.get(t, name).map_err(|e| {
            if e.is_not_found() {
                Error::NotFound(format!("{} {name}", t.label()))
            } else {
                Error::Backend {
                    what: "reading",
                    name: name.to_string(),
                    source: e,
                }
            }
        })?;
        if Id::of_file(&b).to_hex() != name {
            return Err(Error::damaged(
                t.label(),
                name,
                "content does not match its name (hash mismatch)",
            ));
        }
        Ok(b)
    }

    /// `get_verified` of a file known to be `len` bytes long, into a buffer the caller keeps
    /// between calls: a run that reads many packs (a prune's repack) faults in one buffer's
    /// pages once, not each pack's.
    pub fn get_verified_into(
        &self,
        t: FileType,
        name: &str,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.backend
            .read_range_into(t, name, 0, len, buf)
            .map_err(|e| {
                if e.is_not_found() {
                    Error::NotFound(format!("{} {name}", t.label()))
                } else {
                    be("reading", name)(e)
                }
            })?;
        if Id::of_file(buf).to_hex() != name {
            return Err(Error::damaged(
                t.label(),
                name,
                "content does not match its name (hash mismatch)",
            ));
        }
        Ok(())
    }

    pub fn read_sealed(&self, t: FileType, name: &str, role: &[u8]) -> Result<Vec<u8>> {
        let b = self.get_verified(t, name)?;
        self.keys
            .data
            .open(role, &b)
            .map_err(|m| Error::damaged(t.label(), name, m.to_string()))
    }

    /// Seals, names and stores one object; returns its id.
    pub fn write_sealed(&self, t: FileType, role: &[u8], plain: &[u8]) -> Result<Id> {
        let b = self.keys.data.seal(role, plain);
        let id = Id::of_file(&b);
        // "writing snapshot <id>": a bare id would not say what failed to be written.
        let name = format!("{} {}", t.label(), id.to_hex());
        self.backend
            .put(t, &id.to_hex(), &b)
            .map_err(be("writing", &name))?;
        Ok(id)
    }

    pub fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        let l = self.backend.list(t).map_err(be("listing", t.dir()))?;
        if t == FileType::Snapshot {
            self.recent
                .saw_snapshots(l.iter().map(|(n, _)| n.clone()).collect());
        }
        Ok(l)
    }

    /// Every readable snapshot. A damaged one is reported and left out, not fatal: the others
    /// must stay restorable.
    pub fn snapshots(&self) -> Result<Vec<SnapshotRef>> {
        let names = self.list(FileType::Snapshot)?;
        let mut out: Vec<SnapshotRef> = names
            .par_iter()
            .filter_map(|(name, _)| {
                let r = self
                    .read_sealed(FileType::Snapshot, name, aad::SNAPSHOT)
                    .and_then(|p| Snapshot::decode(&p));
                match r {
                    Ok(snap) => Some(SnapshotRef {
                        id: name.parse().ok()?,
                        snap,
                    }),
                    Err(e) => {
                        tracing::warn!("snapshot {name}: {e}");
                        None
                    }
                }
            })
            .collect();
        out.sort_by_key(|s| (s.snap.time, s.id));
        if let Some(c) = &self.files {
            let listed: std::collections::HashSet<&str> =
                names.iter().map(|(n, _)| n.as_str()).collect();
            c.retain(crate::cache::files::Kind::Snapshot, |n| listed.contains(n));
        }
        // Read rule 2 (FORMAT.md): index files after snapshots. A backup that finished since
        // this handle opened wrote its index files before its snapshot, so absorbing them now
        // lets every snapshot listed above find its blobs.
        self.sync_index()?;
        Ok(out)
    }

    pub fn save_snapshot(&self, s: &Snapshot) -> Result<Id> {
        let b = self.keys.data.seal(aad::SNAPSHOT, &s.encode());
        let id = Id::of_file(&b);
        self.backend
            .put(FileType::Snapshot, &id.to_hex(), &b)
            .map_err(be("writing", &format!("snapshot {}", id.to_hex())))?;
        // The next command lists it: a remote repository's copy is kept here already.
        if let Some(c) = &self.files {
            c.put(crate::cache::files::Kind::Snapshot, &id.to_hex(), &b);
        }
        Ok(id)
    }

    pub fn read_index_file(&self, name: &str) -> Result<Vec<PackEntries>> {
        let p = self.read_sealed(FileType::Index, name, aad::INDEX)?;
        index_file::decode_index_file(&p).map_err(|e| match e {
            Error::Damaged { detail, .. } => Error::damaged("index file", name, detail),
            e => e,
        })
    }

    /// Writes one index file for `packs` and records its entries locally. Splits large sets.
    pub fn save_index(&self, packs: &[PackEntries]) -> Result<Vec<Id>> {
        self.write_index_files(packs, true)
    }

    /// Writes index files for `packs`, split at `MAX_INDEX_FILE_ENTRIES` entries; with
    /// `record`, also records their entries in the local index. Prune's rewrite does not:
    /// it deletes index files this local index absorbed, which rebuilds it anyway.
    pub(crate) fn write_index_files(&self, packs: &[PackEntries], record: bool) -> Result<Vec<Id>> {
        let mut ids = Vec::new();
        let mut start = 0;
        while start < packs.len() {
            let mut end = start;
            let mut n = 0;
            while end < packs.len()
                && (end == start
                    || n + packs[end].entries.len() <= index_file::MAX_INDEX_FILE_ENTRIES)
            {
                n += packs[end].entries.len();
                end += 1;
            }
            self.upgrade()?;
            let (id, bytes) = index_file::seal_index_file(&self.keys.data, &packs[start..end]);
            self.backend
                .put(FileType::Index, &id.to_hex(), &bytes)
                .map_err(be("writing index", &id.to_hex()))?;
            if let Some(c) = &self.files {
                c.put(crate::cache::files::Kind::Index, &id.to_hex(), &bytes);
            }
            if record {
                for p in &packs[start..end] {
                    self.index.insert_pack(p)?;
                }
                self.index.mark_file(&id.to_hex())?;
            }
            ids.push(id);
            start = end;
        }
        Ok(ids)
    }

    /// Whether this handle has read the index files since it was opened.
    pub fn index_synced(&self) -> bool {
        self.synced.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The local index, once in line with the repository's index files: the first use reads
    /// them (in a pool of its own: callers on every thread of a shared pool may be waiting for
    /// it).
    pub(crate) fn index(&self) -> Result<&Index> {
        if !self.index_synced() {
            let _one = self.first_sync.lock().unwrap_or_else(|e| e.into_inner());
            if !self.index_synced() {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(self.backend.concurrency().max(2))
                    .thread_name(|i| format!("vcd-index-{i}"))
                    .build()
                    .map_err(|e| Error::Index(format!("starting threads: {e}")))?;
                pool.install(|| self.sync_index())?;
            }
        }
        Ok(&self.index)
    }

    /// Brings the local index in line with the repository's index files. Returns the names of
    /// index files that could not be read (they are reported, and left out).
    pub fn sync_index(&self) -> Result<Vec<String>> {
        let files: Vec<String> = self
            .list(FileType::Index)?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let have = self.index.absorbed_files()?;
        let set: std::collections::HashSet<&str> = files.iter().map(|s| s.as_str()).collect();
        if let Some(c) = &self.files {
            c.retain(crate::cache::files::Kind::Index, |n| set.contains(n));
        }
        if self.index.is_incomplete()? {
            tracing::info!("the local index was left half-cleared; rebuilding it");
            self.index.clear()?;
        } else if have.iter().any(|h| !set.contains(h.as_str())) {
            // Index files were removed (repair, prune): entries may be stale, so start over.
            tracing::info!("index files changed; rebuilding the local index");
            self.index.clear()?;
        }
        let have: std::collections::HashSet<String> =
            self.index.absorbed_files()?.into_iter().collect();
        let todo: Vec<&String> = files.iter().filter(|f| !have.contains(*f)).collect();
        let bad = std::sync::Mutex::new(Vec::new());
        todo.par_iter().try_for_each(|name| -> Result<()> {
            match self.read_index_file(name) {
                Ok(packs) => {
                    for p in &packs {
                        self.index.insert_pack(p)?;
                    }
                    self.index.mark_file(name)?;
                }
                Err(e) => {
                    tracing::warn!("index file {name}: {e}");
                    bad.lock().unwrap().push(name.to_string());
                }
            }
            Ok(())
        })?;
        if !todo.is_empty() {
            self.index.flush()?;
        }
        // After the index files: a plan names packs that index files name, and a backup that
        // missed a plan written after this listing has its lock in the plan's `waits_for`.
        self.absorb_plans()?;
        self.synced
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(bad.into_inner().unwrap())
    }

    /// Reads a pack's trailer with two range reads (footer, then trailer).
    pub fn read_pack_trailer(&self, name: &str, size: u64) -> Result<Vec<BlobEntry>> {
        if size < FOOTER_LEN as u64 {
            return Err(Error::damaged("pack", name, "shorter than its footer"));
        }
        let footer = self
            .backend
            .get_range(
                FileType::Pack,
                name,
                size - FOOTER_LEN as u64,
                FOOTER_LEN as u64,
            )
            .map_err(be("reading pack", name))?;
        let tlen = pack::decode_footer(&footer, size).map_err(|e| rename_damage(e, name))? as u64;
        let tstart = size - FOOTER_LEN as u64 - tlen;
        let sealed = self
            .backend
            .get_range(FileType::Pack, name, tstart, tlen)
            .map_err(be("reading pack", name))?;
        let plain = self
            .keys
            .data
            .open(aad::PACK_TRAILER, &sealed)
            .map_err(|m| Error::damaged("pack", name, format!("trailer: {m}")))?;
        pack::decode_trailer(&plain, tstart).map_err(|e| rename_damage(e, name))
    }
}

fn seal_config(keys: &Keys, config: &Config) -> Vec<u8> {
    keys.data.seal(
        aad::CONFIG,
        &serde_json::to_vec_pretty(config).expect("config serialises"),
    )
}

fn rename_damage(e: Error, name: &str) -> Error {
    match e {
        Error::Damaged { what, detail, .. } => Error::damaged(what, name, detail),
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob::BlobType;
    use crate::repo::testing::{file, mem_repo, snapshot, store, tree};

    #[test]
    fn a_snapshot_written_after_open_is_readable_through_the_older_handle() {
        let older = mem_repo();
        let writer = Repo::open(Arc::clone(&older.backend), b"pw", None).unwrap();
        let data = store(&writer, BlobType::Data, b"late data");
        let f = file(&writer, "late", b"late data");
        let root = tree(&writer, vec![f]);
        snapshot(&writer, root);
        // `older` synced its index before these files existed; listing snapshots must bring
        // in the index files written before the snapshot (read rule 2).
        let snaps = older.snapshots().unwrap();
        assert_eq!(snaps.len(), 1);
        let t = older.load_tree(&snaps[0].snap.tree).unwrap();
        assert_eq!(t.nodes.len(), 1);
        assert_eq!(older.load_blob(&data).unwrap(), b"late data");
    }
}
