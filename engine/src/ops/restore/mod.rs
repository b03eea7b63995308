//! Restore: snapshot → trees → files on disk. The tree walk (`walk`: an explicit stack, so
//! depth is limited by the filesystem only) makes directories and symlinks and queues regular
//! files in batches (bounded, so memory is too); a writer thread fills each batch pack by pack
//! (`writer`), so walking the next batch overlaps writing this one. Hard links come after
//! the data, directories' final owner, mode and times last, deepest first.
//!
//! Nothing is written outside the target, even when other users can change the target while
//! the restore runs: tree names are validated when decoded (no `/`, `..`, NUL), and every
//! entry is created and changed through the descriptor of its directory (`target`), never by
//! a path that could meet a symlink swapped in.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::GlobSet;

mod plan;
mod target;
mod verify;
mod walk;
mod writer;

#[cfg(test)]
mod tests;

pub use verify::verify_file;

use target::{Cursor, Dirs, Rules};
use walk::{finish_dirs, Restorer};
use writer::{FileJob, Writer, Written};

use crate::error::{Error, Result};
use crate::format::snapshot::SnapshotRef;
use crate::id::Id;
use crate::ops::progress::Progress;
use crate::policy::filter::build_excludes;
use crate::repo::Repo;

#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub target: PathBuf,
    /// Globs over snapshot paths (`/home/u/x`); a directory that matches brings everything below.
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    /// Re-read every restored file and check it against the snapshot.
    pub verify: bool,
    /// Leave owners alone (a root restore otherwise sets the snapshot's).
    pub no_owner: bool,
    /// Skip device nodes, fifos and sockets.
    pub no_special: bool,
    /// Do not set extended attributes (ACLs, capabilities, SELinux labels among them).
    pub no_xattrs: bool,
    /// Restore into existing directories that belong to another user (refused by default:
    /// their owner could rename entries under the restore).
    pub allow_foreign_dirs: bool,
    /// Restore the snapshot's directory at this absolute path as the target itself, instead of
    /// the whole snapshot (a rollback restores the image of a target into that target).
    pub subtree: Option<PathBuf>,
    /// What happens to an entry that already exists in the target.
    pub overwrite: Overwrite,
    /// Remove what the target has that the snapshot has not, in the directories the restore
    /// takes whole (never an excluded name).
    pub delete: bool,
    /// The target as a backup took it just before (a rollback image): a regular file that
    /// image shows holding the snapshot's content, owner, special mode bits and extended
    /// attributes, and that is still the same file (inode, size, times, change time, attribute
    /// names), is kept in place and given the snapshot's metadata instead of written again.
    pub image: Option<Image>,
    /// Stops the operation at its next checkpoint (`Error::Interrupted`).
    pub cancel: crate::cancel::CancelToken,
    /// Test hook: runs on each file between writing and verifying it.
    #[doc(hidden)]
    pub before_verify: Option<fn(&File)>,
}

/// A backup of the target taken just before the restore (`RestoreOptions::image`).
#[derive(Debug, Clone, Copy)]
pub struct Image {
    /// The tree of the target's directory in that backup.
    pub tree: Id,
    /// When that backup started (before it looked at any file).
    pub taken: chrono::DateTime<chrono::Utc>,
}

impl Image {
    /// Files changed this close to the image (or after) are not taken as unchanged on the
    /// strength of their times: a filesystem's clock may tick coarsely, so a write just after
    /// the image read a file could leave its change time as it was ("racily clean", as git
    /// calls it). A change at least this long before the image cannot be mistaken.
    fn racy_from(&self) -> crate::format::tree::Timestamp {
        let t = self.taken - chrono::Duration::seconds(1);
        crate::format::tree::Timestamp {
            sec: t.timestamp(),
            nsec: t.timestamp_subsec_nanos(),
        }
    }
}

/// What a restore does with an entry that already exists in the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it (restic's default): the target ends as the snapshot has it.
    #[default]
    Always,
    /// Replace it unless it is a regular file of the snapshot's size and modification time
    /// (as an incremental backup decides a file is unchanged).
    IfChanged,
    /// Leave whatever is there; restore only what is missing.
    Never,
}

impl std::str::FromStr for Overwrite {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "always" => Ok(Overwrite::Always),
            "if-changed" => Ok(Overwrite::IfChanged),
            "never" => Ok(Overwrite::Never),
            _ => Err(Error::Invalid(format!(
                "overwrite {s:?} (always, if-changed or never)"
            ))),
        }
    }
}

impl Overwrite {
    pub fn as_str(self) -> &'static str {
        match self {
            Overwrite::Always => "always",
            Overwrite::IfChanged => "if-changed",
            Overwrite::Never => "never",
        }
    }
}

#[derive(Debug, Default)]
pub struct RestoreResult {
    /// Regular files written (the first name of a hard-linked file among them).
    pub files: u64,
    /// Further names of hard-linked files, linked to the first.
    pub links: u64,
    /// Symlinks, fifos, sockets and devices.
    pub special: u64,
    /// Device nodes, fifos and sockets left out (`no_special`).
    pub skipped_special: u64,
    pub dirs: u64,
    pub bytes: u64,
    /// Files that could not be restored intact, and why.
    pub errors: Vec<String>,
    /// Of `files`, those read back and found identical by `verify`.
    pub verified: u64,
    /// Entries left as they were in the target (`overwrite`).
    pub kept: u64,
    /// Of `files`, those the target's image showed already holding the snapshot's content:
    /// kept in place, given the snapshot's metadata, their data not written again.
    pub unchanged: u64,
    /// Entries removed from the target (`delete`).
    pub deleted: u64,
}

/// Refuses a target a restore cannot write into, before anything is written: one that exists
/// and is not a directory (followed: a link to a directory is that directory), or one on a
/// read-only filesystem (its nearest existing ancestor's, when it does not exist yet).
pub fn check_target(target: &Path) -> Result<()> {
    if let Ok(m) = std::fs::metadata(target) {
        if !m.is_dir() {
            return Err(Error::Invalid(format!(
                "restore target {} exists and is not a directory",
                target.display()
            )));
        }
    }
    let existing = target
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    if let Ok(fs) = nix::sys::statvfs::statvfs(existing) {
        if fs.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
            return Err(Error::Invalid(format!(
                "restore target {} is on a read-only filesystem: nothing was written",
                target.display()
            )));
        }
    }
    Ok(())
}

/// The tree of the directory at absolute `path` in the tree `root`.
pub(crate) fn subtree_id(repo: &Repo, root: Id, path: &Path) -> Result<Id> {
    let mut id = root;
    for comp in path.components() {
        let std::path::Component::Normal(name) = comp else {
            continue;
        };
        let tree = repo.load_tree(&id)?;
        id = tree
            .nodes
            .iter()
            .find(|n| n.name == name.as_bytes())
            .and_then(|n| n.subtree)
            .ok_or_else(|| {
                Error::NotFound(format!("directory {} in the snapshot", path.display()))
            })?;
    }
    Ok(id)
}

/// Refuses include patterns that match nothing in the snapshot (a typo would otherwise restore
/// nothing and succeed). The trees are walked until every pattern has matched.
fn unmatched_includes(
    repo: &Repo,
    snap: &SnapshotRef,
    g: &GlobSet,
    patterns: &[String],
) -> Result<()> {
    /// Why the walk ended early: every pattern matched, or an error.
    enum Stop {
        AllMatched,
        Failed(Error),
    }
    impl From<Error> for Stop {
        fn from(e: Error) -> Self {
            Stop::Failed(e)
        }
    }
    let mut seen = vec![false; patterns.len()];
    let tree = repo.load_tree(&snap.snap.tree)?;
    let walked = crate::ops::ls::walk(repo, tree, "", |e| {
        for i in g.matches(&e.path) {
            seen[i] = true;
        }
        if seen.iter().all(|s| *s) {
            return Err(Stop::AllMatched);
        }
        Ok(())
    });
    match walked {
        Ok(()) | Err(Stop::AllMatched) => {}
        Err(Stop::Failed(e)) => return Err(e),
    }
    let missing: Vec<&str> = patterns
        .iter()
        .zip(&seen)
        .filter(|(_, s)| !**s)
        .map(|(p, _)| p.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "--include {}: matches nothing in snapshot {} (paths in a snapshot are absolute: {})",
        missing
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        snap.id.short(),
        snap.snap.paths.join(" ")
    )))
}

pub fn restore(
    repo: &Repo,
    snap: &SnapshotRef,
    opts: &RestoreOptions,
    progress: &Progress,
) -> Result<RestoreResult> {
    let includes = if opts.includes.is_empty() {
        None
    } else {
        let g = build_excludes(&opts.includes)?;
        unmatched_includes(repo, snap, &g, &opts.includes)?;
        Some(g)
    };
    check_target(&opts.target)?;
    let excludes = build_excludes(&opts.excludes)?;
    let remote = repo.backend().is_remote();
    let euid = nix::unistd::geteuid();
    let rules = Rules {
        chown: euid.is_root() && !opts.no_owner,
        xattrs: !opts.no_xattrs,
        allow_foreign: opts.allow_foreign_dirs,
        euid: euid.as_raw(),
    };
    let (start, prefix) = match &opts.subtree {
        None => (snap.snap.tree, Vec::new()),
        Some(p) => (subtree_id(repo, snap.snap.tree, p)?, {
            let b = p.as_os_str().as_bytes();
            b.strip_suffix(b"/").unwrap_or(b).to_vec()
        }),
    };
    let (dirs, root) = Dirs::open(&opts.target, &rules).map_err(|e| Error::io(&opts.target, e))?;
    let w = Writer {
        cancel: &opts.cancel,
        repo,
        rules,
        skip_special: opts.no_special,
        verify: opts.verify,
        overwrite: opts.overwrite,
        delete: opts.delete,
        before_verify: opts.before_verify,
        progress,
        dirs: Mutex::new(dirs),
        errors: Mutex::new(Vec::new()),
    };
    let (tx, rx) = crossbeam_channel::bounded::<Vec<FileJob>>(1);
    let (walked, written) = std::thread::scope(|s| {
        let writer = s.spawn(|| -> Result<Written> {
            let mut total = Written::default();
            for jobs in rx {
                let b = w.flush(jobs)?;
                total.files += b.files;
                total.bytes += b.bytes;
                total.verified += b.verified;
                total.unchanged += b.unchanged;
            }
            Ok(total)
        });
        let mut r = Restorer::new(
            &w,
            (includes, excludes),
            Cursor::new(Arc::clone(&root)),
            tx,
            remote,
            opts.image.map(|i| i.racy_from()),
        );
        let walked = r
            .walk(start, opts.image.map(|i| i.tree), &prefix)
            .and_then(|()| r.send_batch());
        // Closing the channel ends the writer.
        r.tx = None;
        let written = writer.join().expect("restore writer panicked");
        (walked.map(|()| r), written)
    });
    // The writer's error is the cause when the walk stopped because the writer did.
    let written = written?;
    let mut r = walked?;
    r.result.files += written.files;
    r.result.bytes += written.bytes;
    r.result.verified += written.verified;
    r.result.unchanged += written.unchanged;
    r.link_all(&root, progress);
    finish_dirs(&w, &root);
    let mut result = std::mem::take(&mut r.result);
    drop(r);
    result.errors = w.errors.into_inner().unwrap();
    Ok(result)
}
