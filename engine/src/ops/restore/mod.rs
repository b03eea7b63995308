//! Restore: snapshot → trees → files on disk. Work is ordered by pack, not by file: the tree
//! walk collects a batch of files (bounded, so memory is too), their blobs are grouped by the
//! pack that holds them, and each pack's needed ranges are read once and written to every file
//! position that wants them, packs in parallel. Metadata goes on after the data (writing would
//! change mtimes), directories last. Every blob is checked against its id on the way.
//!
//! Nothing is written outside the target: tree names are validated when decoded (no `/`,
//! `..`, NUL), existing symlinks in the way are replaced rather than followed, and files are
//! opened with O_NOFOLLOW.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::GlobSet;
use rayon::prelude::*;

mod plan;
mod verify;

pub use verify::verify_file;

use plan::{PackReads, Problem, ReadLimits};

use crate::error::{Error, Result};
use crate::format::snapshot::SnapshotRef;
use crate::format::tree::{Extent, Node, NodeKind, Tree};
use crate::ops::fsmeta;
use crate::ops::progress::Progress;
use crate::policy::filter::build_excludes;
use crate::repo::{BlobSource, Repo};

/// A batch is executed once it holds this many files (fewer when the descriptor limit is low:
/// every file of a batch stays open from creation to metadata) or data blobs.
const BATCH_FILES: usize = 8192;
const BATCH_BLOBS: usize = 65536;
/// Blobs closer than 256 KiB in a pack are fetched with one read, of at most 4 MiB (each
/// worker keeps a buffer this large).
const READ_LIMITS: ReadLimits = ReadLimits {
    gap: 256 << 10,
    max_read: 4 << 20,
};

#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub target: PathBuf,
    /// Globs over snapshot paths (`/home/u/x`); a directory that matches brings everything below.
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    /// Re-read every restored file and check it against the snapshot.
    pub verify: bool,
    /// Stops the operation at its next checkpoint (`Error::Interrupted`).
    pub cancel: crate::cancel::CancelToken,
}

#[derive(Debug, Default)]
pub struct RestoreResult {
    /// Regular files written (the first name of a hard-linked file among them).
    pub files: u64,
    /// Further names of hard-linked files, linked to the first.
    pub links: u64,
    /// Symlinks, fifos, sockets and devices.
    pub special: u64,
    pub dirs: u64,
    pub bytes: u64,
    /// Files that could not be restored intact, and why.
    pub errors: Vec<String>,
    /// Of `files`, those read back and found identical by `verify`.
    pub verified: u64,
}

struct FileJob {
    path: PathBuf,
    node: Node,
}

thread_local! {
    // Reused across packs: a fresh multi-MiB buffer per read cost a page fault and a page
    // clearing per 4 KiB read.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Files a batch may hold open: half of what the descriptor limit leaves. The host decides the
/// limit (the CLI raises the soft limit to the hard one at start).
fn batch_files() -> usize {
    use nix::sys::resource::{getrlimit, Resource};
    let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    (limit.saturating_sub(64) / 2).clamp(16, BATCH_FILES as u64) as usize
}

/// Creates a regular file for restoring into; whatever is in the way (a file, a symlink, a
/// directory tree) is removed first, and the file is sized so that holes stay holes.
fn create_file(p: &Path, size: u64) -> io::Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(p)
    };
    let f = match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            clear_path(p, false)?;
            open()?
        }
        r => r?,
    };
    if size > 0 {
        f.set_len(size)?;
    }
    Ok(f)
}

/// Runs `make` (which creates `p`), and if something is already at `p`, removes it and runs
/// `make` again: one system call in the common case of an empty target.
fn create_replacing(p: &Path, make: impl Fn() -> io::Result<()>) -> io::Result<()> {
    match make() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            clear_path(p, false)?;
            make()
        }
        r => r,
    }
}

/// Writes batches of files: shared by the tree walk (which only queues files) and the thread
/// that writes them, so walking the next batch overlaps writing this one.
struct Writer<'a> {
    cancel: &'a crate::cancel::CancelToken,
    repo: &'a Repo,
    chown: bool,
    verify: bool,
    progress: &'a Progress,
    errors: Mutex<Vec<String>>,
}

/// What one batch wrote.
#[derive(Default)]
struct Written {
    files: u64,
    bytes: u64,
    verified: u64,
}

struct Restorer<'a, 'w> {
    w: &'w Writer<'a>,
    /// The canonical target directory.
    root: PathBuf,
    includes: Option<GlobSet>,
    excludes: GlobSet,
    batch: Vec<FileJob>,
    batch_blobs: usize,
    batch_files: usize,
    /// Full batches go to the writer thread; None once the walk is done.
    tx: Option<crossbeam_channel::Sender<Vec<FileJob>>>,
    dirs: Vec<(PathBuf, Node)>,
    /// (device, inode) of restored multiply-linked files → where the first one went.
    links_seen: HashMap<(u64, u64), PathBuf>,
    links: Vec<(PathBuf, PathBuf)>,
    result: RestoreResult,
}

/// Removes whatever is at `p` unless it is a real directory, so nothing is written through a
/// symlink that was already in the target.
fn clear_path(p: &Path, want_dir: bool) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() && want_dir => Ok(()),
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Writer<'_> {
    fn fail(&self, what: String) {
        tracing::warn!("{what}");
        self.progress.error();
        self.errors.lock().unwrap().push(what);
    }
}

impl Restorer<'_, '_> {
    fn fail(&self, what: String) {
        self.w.fail(what);
    }

    fn selected(&self, snap_path: &Path, inherited: bool) -> (bool, bool) {
        // (restore this node, descend into it)
        if self.excludes.is_match(snap_path) {
            return (false, false);
        }
        match &self.includes {
            None => (true, true),
            Some(_) if inherited => (true, true),
            Some(g) if g.is_match(snap_path) => (true, true),
            Some(_) => (false, true),
        }
    }

    /// `ready`: `dir` is known to be a real directory (made or checked by this restore), so
    /// entries can be created in it without looking at it again.
    fn walk(
        &mut self,
        tree: &Tree,
        dir: &Path,
        snap_dir: &Path,
        inherited: bool,
        mut ready: bool,
    ) -> Result<()> {
        for n in &tree.nodes {
            self.w.cancel.check()?;
            let name = std::ffi::OsStr::from_bytes(&n.name);
            let path = dir.join(name);
            let sp = snap_dir.join(name);
            let (take, descend) = self.selected(&sp, inherited);
            if n.kind == NodeKind::Dir && !descend || n.kind != NodeKind::Dir && !take {
                continue;
            }
            if take && !ready {
                self.ensure_dir(dir)?;
                ready = true;
            }
            if n.kind == NodeKind::Dir {
                let sub = match n.subtree.map(|id| self.w.repo.load_tree(&id)) {
                    Some(Ok(t)) => t,
                    Some(Err(e)) => {
                        self.fail(format!("{}: directory unreadable: {e}", sp.display()));
                        continue;
                    }
                    None => Tree::default(),
                };
                if take {
                    self.make_dir(&path)?;
                    self.dirs.push((path.clone(), n.clone()));
                    self.result.dirs += 1;
                }
                self.walk(&sub, &path, &sp, take && self.includes.is_some(), take)?;
                continue;
            }
            if let Err(e) = self.node(&path, n) {
                self.fail(format!("{}: {e}", path.display()));
            }
        }
        Ok(())
    }

    /// Makes `p` a real directory; its parent must be one already.
    fn make_dir(&self, p: &Path) -> Result<()> {
        let made = match fs::create_dir(p) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if fs::symlink_metadata(p).map(|m| m.is_dir()).unwrap_or(false) {
                    Ok(())
                } else {
                    clear_path(p, true).and_then(|_| fs::create_dir(p))
                }
            }
            r => r,
        };
        made.map_err(|e| Error::io(p, e))
    }

    /// Makes every directory from the target down to `p` a real directory (a selective
    /// restore reaches directories it did not create on the way down; a symlink among them
    /// must not be followed).
    fn ensure_dir(&self, p: &Path) -> Result<()> {
        // The target itself (resolved once, symlinks and all) is never touched.
        let Ok(rel) = p.strip_prefix(&self.root) else {
            return Ok(());
        };
        let mut cur = self.root.clone();
        for c in rel.components() {
            cur.push(c);
            self.make_dir(&cur)?;
        }
        Ok(())
    }

    fn node(&mut self, path: &Path, n: &Node) -> io::Result<()> {
        match n.kind {
            NodeKind::File => {
                if n.links > 1 {
                    let key = (n.device, n.inode);
                    if let Some(first) = self.links_seen.get(&key) {
                        self.links.push((first.clone(), path.to_path_buf()));
                        // Its bytes count as done, as the snapshot's total counts them.
                        self.w.progress.add(0, n.size);
                        return Ok(());
                    }
                    self.links_seen.insert(key, path.to_path_buf());
                }
                self.batch_blobs += n.content.len();
                self.batch.push(FileJob {
                    path: path.to_path_buf(),
                    node: n.clone(),
                });
                if self.batch.len() >= self.batch_files || self.batch_blobs >= BATCH_BLOBS {
                    self.send_batch().map_err(io::Error::other)?;
                }
                Ok(())
            }
            NodeKind::Symlink => {
                let t = n.target.as_ref().map(|t| t.to_vec()).unwrap_or_default();
                let t = std::ffi::OsStr::from_bytes(&t);
                create_replacing(path, || std::os::unix::fs::symlink(t, path))?;
                self.result.special += 1;
                fsmeta::apply_metadata(path, n, self.w.chown)
            }
            NodeKind::Dir => unreachable!("directories are handled by walk"),
            _ => {
                create_replacing(path, || fsmeta::make_special(path, n))?;
                self.result.special += 1;
                fsmeta::apply_metadata(path, n, self.w.chown)
            }
        }
    }

    fn send_batch(&mut self) -> Result<()> {
        let jobs = std::mem::take(&mut self.batch);
        self.batch_blobs = 0;
        if jobs.is_empty() {
            return Ok(());
        }
        // Fails only when the writer stopped on an error, which it reports itself.
        let stopped = || Error::Stopped("restore writer");
        self.tx
            .as_ref()
            .ok_or_else(stopped)?
            .send(jobs)
            .map_err(|_| stopped())
    }
}

impl Writer<'_> {
    /// Writes the data of every file in the batch, pack by pack, then their metadata.
    fn flush(&self, jobs: Vec<FileJob>) -> Result<Written> {
        let extents: Vec<&[Extent]> = jobs.iter().map(|j| j.node.content.as_slice()).collect();
        let plan = plan::plan(&extents, |id| self.repo.lookup_opt(id), READ_LIMITS)?;
        let mut bad_file: Vec<bool> = plan.problems.iter().map(Option::is_some).collect();
        for (job, p) in jobs.iter().zip(&plan.problems) {
            match p {
                Some(Problem::NotIndexed(id)) => self.fail(format!(
                    "{}: blob {id} is not in the index",
                    job.path.display()
                )),
                Some(Problem::Length { id, indexed, tree }) => self.fail(format!(
                    "{}: blob {id} is {indexed} bytes, the snapshot says {tree}",
                    job.path.display()
                )),
                None => {}
            }
        }
        // Files are created in parallel and stay open until their metadata is set: one open
        // per file, and no path walked again for writing or for metadata.
        let files: Vec<Option<File>> = jobs
            .par_iter()
            .map(|job| match create_file(&job.path, job.node.size) {
                Ok(f) => Some(f),
                Err(e) => {
                    self.fail(format!("{}: {e}", job.path.display()));
                    None
                }
            })
            .collect();
        for (fi, f) in files.iter().enumerate() {
            bad_file[fi] |= f.is_none();
        }
        let bad_file = Mutex::new(bad_file);
        plan.packs.par_iter().try_for_each(|reads| -> Result<()> {
            self.cancel.check()?;
            self.restore_pack(reads, &jobs, &files, &bad_file)
        })?;
        let bad_file = bad_file.into_inner().unwrap();
        let results: Vec<(u64, bool, bool)> = jobs
            .par_iter()
            .zip(files)
            .enumerate()
            .map(|(fi, (job, f))| {
                let Some(f) = f else {
                    return (0, false, false);
                };
                let mut verified = false;
                if self.verify && !bad_file[fi] {
                    match verify_file(self.repo, &job.path, &job.node) {
                        Ok(()) => verified = true,
                        Err(e) => {
                            self.fail(format!("{}: verification failed: {e}", job.path.display()))
                        }
                    }
                }
                if let Err(e) = fsmeta::apply_file_metadata(&f, &job.path, &job.node, self.chown) {
                    self.fail(format!("{}: metadata: {e}", job.path.display()));
                }
                self.progress.add(1, 0);
                (job.node.size, verified, true)
            })
            .collect();
        let mut w = Written::default();
        for (size, verified, created) in results {
            w.files += created as u64;
            w.bytes += size;
            w.verified += verified as u64;
        }
        Ok(w)
    }

    fn restore_pack(
        &self,
        reads: &PackReads,
        jobs: &[FileJob],
        files: &[Option<File>],
        bad_file: &Mutex<Vec<bool>>,
    ) -> Result<()> {
        let name = reads.pack.to_hex();
        READ_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            for r in &reads.reads {
                let (start, end) = (r.start, r.start + r.len);
                // One failed read fails every blob in it: keep its message for each.
                let read = self
                    .repo
                    .read_pack_range(&reads.pack, start, end - start, &mut buf)
                    .map_err(|e| e.to_string());
                for (loc, targets) in &r.blobs {
                    let data = match &read {
                        Ok(()) => {
                            let s = (loc.entry.offset - start) as usize;
                            self.repo
                                .open_blob(&loc.entry, &buf[s..s + loc.entry.length as usize])
                                .map_err(|e| e.to_string())
                        }
                        Err(e) => Err(e.clone()),
                    };
                    let data = match data {
                        Ok(d) => d,
                        Err(e) => {
                            let mut bad = bad_file.lock().unwrap();
                            for (fi, _) in targets {
                                if !bad[*fi] {
                                    bad[*fi] = true;
                                    self.fail(format!(
                                        "{}: blob {} in pack {name}: {e}",
                                        jobs[*fi].path.display(),
                                        loc.entry.id
                                    ));
                                }
                            }
                            continue;
                        }
                    };
                    for (fi, off) in targets {
                        let Some(f) = &files[*fi] else { continue };
                        if let Err(e) = f.write_all_at(&data, *off) {
                            bad_file.lock().unwrap()[*fi] = true;
                            self.fail(format!("{}: {e}", jobs[*fi].path.display()));
                        }
                        self.progress.add(0, data.len() as u64);
                    }
                }
            }
            // An outsized read (one huge blob) is not kept for the rest of the restore.
            if buf.capacity() > 2 * READ_LIMITS.max_read as usize {
                *buf = Vec::new();
            }
        });
        Ok(())
    }
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
        Some(build_excludes(&opts.includes)?)
    };
    let tree = repo.load_tree(&snap.snap.tree)?;
    fs::create_dir_all(&opts.target).map_err(|e| Error::io(&opts.target, e))?;
    let root = fs::canonicalize(&opts.target).map_err(|e| Error::io(&opts.target, e))?;
    let w = Writer {
        cancel: &opts.cancel,
        repo,
        chown: nix::unistd::geteuid().is_root(),
        verify: opts.verify,
        progress,
        errors: Mutex::new(Vec::new()),
    };
    let excludes = build_excludes(&opts.excludes)?;
    let (tx, rx) = crossbeam_channel::bounded::<Vec<FileJob>>(1);
    let (walked, written) = std::thread::scope(|s| {
        let writer = s.spawn(|| -> Result<Written> {
            let mut total = Written::default();
            for jobs in rx {
                let b = w.flush(jobs)?;
                total.files += b.files;
                total.bytes += b.bytes;
                total.verified += b.verified;
            }
            Ok(total)
        });
        let mut r = Restorer {
            w: &w,
            root: root.clone(),
            includes,
            excludes,
            batch: Vec::new(),
            batch_blobs: 0,
            batch_files: batch_files(),
            tx: Some(tx),
            dirs: Vec::new(),
            links_seen: HashMap::new(),
            links: Vec::new(),
            result: RestoreResult::default(),
        };
        let walked = r
            .walk(&tree, &root, Path::new("/"), false, true)
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
    for (first, link) in std::mem::take(&mut r.links) {
        let res = clear_path(&link, false).and_then(|_| fs::hard_link(&first, &link));
        match res {
            Ok(()) => {
                r.result.links += 1;
                progress.add(1, 0);
            }
            Err(e) => r.fail(format!(
                "{}: hard link to {}: {e}",
                link.display(),
                first.display()
            )),
        }
    }
    // Deepest first, so setting a directory's times is not undone by work inside it.
    for (path, n) in std::mem::take(&mut r.dirs).iter().rev() {
        if let Err(e) = fsmeta::apply_metadata(path, n, w.chown) {
            r.fail(format!("{}: metadata: {e}", path.display()));
        }
    }
    let mut result = std::mem::take(&mut r.result);
    drop(r);
    result.errors = w.errors.into_inner().unwrap();
    Ok(result)
}
