//! Backup: walk the sources, chunk and store what is new, write trees bottom-up, then the
//! snapshot. `walk` reads the sources, `store` owns the write path (dedup, seal, pack, commit).
//!
//! Commit order (see lib.rs): packs → index files → snapshot.

mod dirs;
mod store;
mod walk;

use store::{committer, packer, Batch};
pub(in crate::ops) use store::{with_sink, Sink};
use walk::{source_tree, Counters, Source, Walker};

pub use walk::scan;

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use crossbeam_channel::bounded;

use crate::error::{Error, Result};
use crate::format::snapshot::{BackupType, Snapshot, Summary, SNAPSHOT_VERSION};
use crate::id::Id;
use crate::ops::fsmeta::Names;
use crate::ops::progress::Progress;
use crate::policy::filter::build_excludes;
use crate::policy::select::{find_parent, select};
use crate::repo::Repo;

#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    pub paths: Vec<PathBuf>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    /// The categories of the configured job this backup runs for, recorded in the snapshot.
    pub categories: Vec<String>,
    /// The configured job this backup runs for, recorded in the snapshot.
    pub job: Option<String>,
    /// The audit trail's heads, recorded in the snapshot as an anchor (FORMAT.md §16).
    pub audit: Vec<Id>,
    pub kind: BackupType,
    /// The zstd level of the new data this backup stores (None: the repository's level).
    pub compression: Option<i32>,
    /// Globs; one without `/` matches a name at any depth, one with `/` an absolute path.
    pub excludes: Vec<String>,
    pub one_file_system: bool,
    pub dry_run: bool,
    pub host: Option<String>,
    /// Use this snapshot as the parent instead of the latest one of the same host and paths.
    pub parent: Option<Id>,
    /// Record this time instead of now (imports, tests of point-in-time recovery).
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    /// Stops the operation at its next checkpoint (`Error::Interrupted`).
    pub cancel: crate::cancel::CancelToken,
    /// Called after large frees (each index file written), for a host whose allocator keeps
    /// freed memory until asked (glibc: `malloc_trim`). Process tuning is the host's business.
    pub release_memory: Option<fn()>,
}

#[derive(Debug)]
pub struct BackupResult {
    /// None on a dry run.
    pub id: Option<Id>,
    pub snapshot: Snapshot,
    /// Non-fatal problems that do not make the snapshot incomplete (a file changed while read).
    pub warnings: Vec<String>,
}

pub fn backup(repo: &Repo, opts: &BackupOptions, progress: &Progress) -> Result<BackupResult> {
    let start = Instant::now();
    let time = opts.time.unwrap_or_else(chrono::Utc::now);
    if opts.paths.is_empty() {
        return Err(Error::Invalid("nothing to back up: no paths given".into()));
    }
    if let Some(l) = opts.compression.filter(|l| !(-7..=22).contains(l)) {
        return Err(Error::Invalid(format!(
            "compression level {l}: zstd levels are -7 to 22 (0 stores data uncompressed)"
        )));
    }
    let mut abs = Vec::new();
    for p in &opts.paths {
        let a = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
        // Normalise `.`/`..` lexically; symlinks in the given path are kept as given.
        let mut norm = PathBuf::new();
        for c in a.components() {
            match c {
                std::path::Component::ParentDir => {
                    norm.pop();
                }
                std::path::Component::CurDir => {}
                c => norm.push(c),
            }
        }
        std::fs::symlink_metadata(&norm).map_err(|e| Error::io(&norm, e))?;
        abs.push(norm);
    }
    abs.sort();
    abs.dedup();
    let paths: Vec<String> = abs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let host = opts.host.clone().unwrap_or_else(crate::host::hostname);

    let snaps = repo.snapshots()?;
    let parent = match opts.parent {
        Some(id) => Some(select(&snaps, &id.to_hex())?),
        None => find_parent(&snaps, &host, &paths),
    };
    let prev_root = match parent {
        Some(p) => Some(repo.load_tree(&p.snap.tree)?),
        None => None,
    };
    // Every blob of a parent this database has vouched for is indexed here: its unchanged
    // files are reused without a lookup per chunk (a million of them at a million files).
    let trust_parent = match parent {
        Some(p) => repo.snapshot_is_complete(&p.id)?,
        None => false,
    };

    // A few batches in flight keep the packer busy while the workers seal more: at most some
    // megabytes of sealed blobs, never a whole pack.
    let (tx, rx) = bounded::<Batch>(4);
    let lanes = store::lanes(repo.config().pack_size as u64);
    let level = opts.compression.unwrap_or(repo.config().compression);
    let sink = Sink::new(repo, level, opts.dry_run, lanes, tx);
    let walker = Walker {
        cancel: &opts.cancel,
        repo,
        sink: &sink,
        excludes: build_excludes(&opts.excludes)?,
        one_fs: opts.one_file_system,
        full: opts.kind == BackupType::Full,
        trust_parent,
        chunker: repo.chunker(),
        names: Names::default(),
        progress,
        counters: Counters::default(),
        errors: Mutex::new(Vec::new()),
        warnings: Mutex::new(Vec::new()),
    };

    let (walked, packed, committed) = std::thread::scope(|s| {
        // One pack being committed while the next is written.
        let (done_tx, done_rx) = bounded(1);
        let packing = s.spawn(|| packer(repo, rx, done_tx));
        let committing = s.spawn(|| committer(repo, done_rx, &sink.inflight, opts.release_memory));
        // Closes the channel however the walk ends, a panic included: otherwise the packer
        // would wait for more blobs forever and the scope would never end.
        struct CloseOnDrop<'s, 'r>(&'s Sink<'r>);
        impl Drop for CloseOnDrop<'_, '_> {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        let close = CloseOnDrop(&sink);
        let walked = (|| {
            let src = source_tree(&abs);
            let root = match &src {
                Source::Real(p) => walker.dir(
                    p,
                    std::fs::symlink_metadata(p).map(|m| m.dev()).unwrap_or(0),
                    prev_root.as_ref(),
                )?,
                Source::Virtual(..) => walker.source(&src, prev_root.as_ref())?,
            };
            let id = walker.store_tree(&root)?;
            sink.finish()?;
            Ok::<_, Error>(id)
        })();
        drop(close);
        let packed = packing.join().expect("packer thread panicked");
        let committed = committing.join().expect("committer thread panicked");
        (walked, packed, committed)
    });
    // A write failure (disk full, say) explains the failures downstream of it ("committer
    // stopped", "pack writer stopped"): report the committer's first, then the packer's.
    let pending = committed?;
    let walked = packed.and(walked);
    // Index what was stored even when the walk failed (interrupted, say): the packs are
    // written, and the next backup then deduplicates against them instead of storing them again.
    if !pending.is_empty() {
        let saved = repo.save_index(&pending);
        if walked.is_ok() {
            saved?;
        }
    }
    let root = walked?;
    repo.flush_index()?;

    let c = &walker.counters;
    let summary = Summary {
        files_new: c.files_new.load(Ordering::Relaxed),
        files_changed: c.files_changed.load(Ordering::Relaxed),
        files_unchanged: c.files_unchanged.load(Ordering::Relaxed),
        files_reread: c.files_reread.load(Ordering::Relaxed),
        dirs: c.dirs.load(Ordering::Relaxed),
        bytes_read: c.bytes_read.load(Ordering::Relaxed),
        bytes_total: c.bytes_total.load(Ordering::Relaxed),
        bytes_added: sink.bytes_added.load(Ordering::Relaxed),
        blobs_added: sink.blobs_added.load(Ordering::Relaxed),
        duration_secs: start.elapsed().as_secs_f64(),
        errors: walker.errors.into_inner().unwrap(),
    };
    let snapshot = Snapshot {
        version: SNAPSHOT_VERSION,
        time,
        host,
        user: crate::host::username(),
        paths,
        tags: opts.tags.clone(),
        category: opts.category.clone(),
        categories: opts.categories.clone(),
        job: opts.job.clone(),
        // With nothing to compare against, every byte was read: a full backup, whatever was
        // asked.
        kind: if parent.is_none() {
            BackupType::Full
        } else {
            opts.kind
        },
        parent: parent.map(|p| p.id),
        tree: root,
        audit: opts.audit.clone(),
        original: None,
        summary,
    };
    // The last moment an interrupt can stop the backup: after it, the snapshot exists.
    opts.cancel.check()?;
    let id = if opts.dry_run {
        None
    } else {
        let id = repo.save_snapshot(&snapshot)?;
        // Only now is every blob the snapshot refers to known to be indexed (found there, or
        // stored and indexed above). Failing to mark it costs the next backup speed, not data.
        if let Err(e) = repo.mark_complete(&id) {
            tracing::warn!("local index: {e}");
        }
        Some(id)
    };
    Ok(BackupResult {
        id,
        snapshot,
        warnings: walker.warnings.into_inner().unwrap(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_tree_merges_prefixes() {
        let s = source_tree(&[
            PathBuf::from("/a/b/c"),
            PathBuf::from("/a/d"),
            PathBuf::from("/a/b"),
        ]);
        let Source::Virtual(_, root) = s else {
            panic!()
        };
        let Source::Virtual(_, a) = &root[&b"a".to_vec()] else {
            panic!()
        };
        assert!(matches!(a[&b"b".to_vec()], Source::Real(_)));
        assert!(matches!(a[&b"d".to_vec()], Source::Real(_)));
    }
}
