//! The restore's tree walk: an explicit stack of directories (depth is limited by the
//! filesystem only), making directories, symlinks and special files as it goes and queueing
//! regular files in batches for the writer thread (`writer`); hard links once the data is
//! written, and directories' final metadata last (`finish_dirs`).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::GlobSet;

use super::target::{self, Cursor, DirFd};
use super::writer::{FileJob, Writer};
use super::{Overwrite, RestoreResult};
use crate::error::{Error, Result};
use crate::format::tree::{Node, NodeKind, Tree};
use crate::id::Id;
use crate::ops::progress::Progress;

/// A batch is executed once it holds this many files (fewer when the descriptor limit is low:
/// every file of a batch stays open from creation to metadata) or data blobs.
const BATCH_FILES: usize = 8192;
const BATCH_BLOBS: usize = 65536;
/// On remote storage a pack that two batches need is fetched twice, a request each time and
/// the bytes between the blobs again: batches are eight times larger there.
const REMOTE_BATCH: usize = 8;
/// Trees the walk keeps decoded on its stack; deeper ones are loaded again on the way back.
const HELD_TREES: usize = 64;

/// Files a batch may hold open: a quarter of what the descriptor limit leaves (each queued
/// file may also hold its directory open). The host decides the limit (the CLI raises the
/// soft limit to the hard one at start).
fn batch_files(remote: bool) -> usize {
    use nix::sys::resource::{getrlimit, Resource};
    let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    let most = BATCH_FILES * if remote { REMOTE_BATCH } else { 1 };
    (limit.saturating_sub(256) / 4).clamp(16, most as u64) as usize
}

/// One directory of the snapshot on the walk's stack.
struct Frame {
    /// None while the frame is deep in the stack (loaded again from `id` on the way back).
    tree: Option<Tree>,
    id: Option<Id>,
    /// The same directory in the target's image (`RestoreOptions::image`), and its tree,
    /// loaded with `tree`.
    image: Option<Id>,
    image_tree: Option<Tree>,
    next: usize,
    /// Length of the walk's snapshot path without this directory's name.
    snap_len: usize,
    /// Inside a directory an include matched: everything below is taken.
    inherited: bool,
    /// Made (or entered) on disk; made frames are a prefix of the stack, one per cursor level.
    made: bool,
    /// Taken whole by the scope: `delete` may remove what the snapshot lacks here.
    whole: bool,
    name: Box<[u8]>,
}

/// A name of a restored file: its directory's record and its name there.
type Entry = (u32, Box<[u8]>);

pub(super) struct Restorer<'a, 'w> {
    w: &'w Writer<'a>,
    includes: Option<GlobSet>,
    excludes: GlobSet,
    cursor: Cursor,
    batch: Vec<FileJob>,
    batch_blobs: usize,
    batch_files: usize,
    batch_blobs_max: usize,
    /// Full batches go to the writer thread; None once the walk is done.
    pub tx: Option<crossbeam_channel::Sender<Vec<FileJob>>>,
    /// (device, inode) of restored multiply-linked files → where the first one went.
    links_seen: HashMap<(u64, u64), Entry>,
    links: Vec<(Entry, Entry)>,
    pub result: RestoreResult,
    /// See `Image::racy_from` (None: no image).
    racy_from: Option<crate::format::tree::Timestamp>,
}

impl<'a, 'w> Restorer<'a, 'w> {
    /// A walk queueing its files for `tx`, with `scope` its (includes, excludes).
    pub fn new(
        w: &'w Writer<'a>,
        scope: (Option<GlobSet>, GlobSet),
        cursor: Cursor,
        tx: crossbeam_channel::Sender<Vec<FileJob>>,
        remote: bool,
        racy_from: Option<crate::format::tree::Timestamp>,
    ) -> Self {
        let scale = if remote { REMOTE_BATCH } else { 1 };
        Restorer {
            w,
            includes: scope.0,
            excludes: scope.1,
            cursor,
            batch: Vec::new(),
            batch_blobs: 0,
            batch_files: batch_files(remote),
            batch_blobs_max: BATCH_BLOBS * scale,
            tx: Some(tx),
            links_seen: HashMap::new(),
            links: Vec::new(),
            result: RestoreResult::default(),
            racy_from,
        }
    }

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

    fn path(&self, name: &[u8]) -> PathBuf {
        let (rec, _) = self.cursor.top();
        self.w.dirs.lock().unwrap().entry_path(rec, name)
    }

    /// Makes on disk every directory of the stack not made yet (a selective restore reaches
    /// them only when something below is taken). On failure the frames from the one that
    /// failed up are given up (their entries skipped).
    fn ensure(&mut self, stack: &mut [Frame]) -> bool {
        let first = stack.iter().position(|f| !f.made).unwrap_or(stack.len());
        for i in first..stack.len() {
            let made = {
                let (rec, fd) = self.cursor.top();
                let fd = Arc::clone(fd);
                let mut dirs = self.w.dirs.lock().unwrap();
                dirs.make_dir(rec, fd.as_fd(), &stack[i].name, None, &self.w.rules)
            };
            match made {
                Ok((rec, fd)) => {
                    self.cursor.push(rec, Arc::new(fd));
                    stack[i].made = true;
                }
                Err(e) => {
                    self.fail(format!("{}: {e}", self.path(&stack[i].name).display()));
                    for f in &mut stack[i..] {
                        f.next = usize::MAX;
                    }
                    return false;
                }
            }
        }
        true
    }

    /// Walks the tree `root`, whose snapshot path is `prefix` (empty for the snapshot's root).
    pub fn walk(&mut self, root: Id, image: Option<Id>, prefix: &[u8]) -> Result<()> {
        let mut snap: Vec<u8> = prefix.to_vec();
        let mut stack = vec![Frame {
            tree: None,
            id: Some(root),
            image,
            image_tree: None,
            next: 0,
            snap_len: 0,
            inherited: false,
            made: true,
            whole: self.includes.is_none(),
            name: Box::new([]),
        }];
        while !stack.is_empty() {
            let depth = stack.len();
            let top = stack.last_mut().expect("checked by the loop");
            self.w.cancel.check()?;
            if top.tree.is_none() {
                top.tree = Some(match top.id.map(|id| self.w.repo.load_tree(&id)) {
                    None => Tree::default(),
                    Some(Ok(t)) => t,
                    // The snapshot's root: nothing to restore from.
                    Some(Err(e)) if depth == 1 => return Err(e),
                    // One damaged directory: the rest of the snapshot is still restored.
                    Some(Err(e)) => {
                        let p = Path::new(OsStr::from_bytes(&snap)).to_path_buf();
                        self.fail(format!("{}: directory unreadable: {e}", p.display()));
                        top.next = usize::MAX;
                        Tree::default()
                    }
                });
                // Only an optimisation: an image tree that cannot be read means files are
                // written as usual.
                top.image_tree = top.image.and_then(|id| self.w.repo.load_tree(&id).ok());
            }
            let tree = top.tree.as_mut().expect("loaded above");
            if top.next >= tree.nodes.len() {
                let f = stack.pop().expect("non-empty");
                if self.w.delete && f.made && f.whole {
                    self.delete_extra(&f, &snap)?;
                }
                if f.made && !stack.is_empty() {
                    let dirs = self.w.dirs.lock().unwrap();
                    self.cursor
                        .pop(&dirs)
                        .map_err(|e| Error::io(dirs.path(0), e))?;
                }
                snap.truncate(f.snap_len);
                continue;
            }
            // Taken out rather than cloned: a frame is never walked twice.
            let n = std::mem::replace(
                &mut tree.nodes[top.next],
                Node::new(Vec::new(), NodeKind::File),
            );
            top.next += 1;
            let (inherited, made) = (top.inherited, top.made);
            let before = top.image_tree.as_ref().and_then(|t| {
                t.nodes
                    .binary_search_by(|m| m.name.as_slice().cmp(&n.name))
                    .ok()
                    .map(|i| &t.nodes[i])
            });
            let (reuse, image_dir) = match (before, n.kind) {
                (Some(m), NodeKind::File) => (self.unchanged(m, &n), None),
                (Some(m), NodeKind::Dir) if m.kind == NodeKind::Dir => (None, m.subtree),
                _ => (None, None),
            };
            let base = snap.len();
            snap.push(b'/');
            snap.extend_from_slice(&n.name);
            let (take, descend) = self.selected(Path::new(OsStr::from_bytes(&snap)), inherited);
            let is_dir = n.kind == NodeKind::Dir;
            if is_dir && !descend || !is_dir && !take || take && !made && !self.ensure(&mut stack) {
                snap.truncate(base);
                continue;
            }
            if !is_dir {
                snap.truncate(base);
                if let Err(e) = self.node(n, reuse) {
                    self.fail(e);
                }
                continue;
            }
            let mut made = false;
            if take && self.keep_existing(&n) {
                // Never: what is in the way of this directory stays, and so its subtree
                // is not restored.
                self.result.kept += 1;
                snap.truncate(base);
                continue;
            }
            if take {
                let r = {
                    let (rec, fd) = self.cursor.top();
                    let fd = Arc::clone(fd);
                    let mut dirs = self.w.dirs.lock().unwrap();
                    dirs.make_dir(rec, fd.as_fd(), &n.name, Some(&n), &self.w.rules)
                };
                match r {
                    Ok((rec, fd)) => {
                        self.cursor.push(rec, Arc::new(fd));
                        self.result.dirs += 1;
                        made = true;
                    }
                    Err(e) => {
                        self.fail(format!("{}: {e}", self.path(&n.name).display()));
                        snap.truncate(base);
                        continue;
                    }
                }
            }
            stack.push(Frame {
                tree: None,
                id: n.subtree,
                image: image_dir,
                image_tree: None,
                next: 0,
                snap_len: base,
                inherited: take && self.includes.is_some(),
                made,
                whole: take,
                name: n.name.into_boxed_slice(),
            });
            if stack.len() > HELD_TREES + 1 {
                let i = stack.len() - 1 - HELD_TREES;
                stack[i].tree = None;
                stack[i].image_tree = None;
            }
        }
        Ok(())
    }

    /// When the image's node `m` shows the file at `n`'s name holding exactly what `n` holds,
    /// what the file must still be for that to stand. Kept in place, the file keeps its inode:
    /// so it must already have the snapshot's owner and special mode bits (a restore as root
    /// must never hand a setuid or capable inode to someone who held it before), exactly the
    /// extended attributes the restore would give it (ACLs included), one name, and a change
    /// time safely before the image.
    fn unchanged(&self, m: &Node, n: &Node) -> Option<super::writer::Unchanged> {
        let rules = &self.w.rules;
        let same = m.kind == NodeKind::File
            && m.links <= 1
            && n.links <= 1
            && m.size == n.size
            && m.content == n.content
            && (m.uid, m.gid) == (n.uid, n.gid)
            && (rules.chown || m.uid == rules.euid)
            && m.mode & 0o7000 == n.mode & 0o7000
            && if rules.xattrs {
                m.xattrs == n.xattrs
            } else {
                m.xattrs.is_empty()
            }
            && self.racy_from.is_some_and(|r| m.ctime < r);
        same.then(|| super::writer::Unchanged {
            device: m.device,
            inode: m.inode,
            size: m.size,
            mtime: m.mtime,
            ctime: m.ctime,
            xattrs: m.xattrs.iter().map(|x| x.name.clone().into()).collect(),
        })
    }

    /// Restores a non-directory `n` into the current directory (regular files are queued).
    fn node(
        &mut self,
        n: Node,
        reuse: Option<super::writer::Unchanged>,
    ) -> std::result::Result<(), String> {
        let (rec, dir) = self.cursor.top();
        let dir: DirFd = Arc::clone(dir);
        if self.keep_existing(&n) {
            self.result.kept += 1;
            self.w.progress.add(1, n.size);
            return Ok(());
        }
        match n.kind {
            NodeKind::File => {
                if n.links > 1 {
                    let key = (n.device, n.inode);
                    if let Some(first) = self.links_seen.get(&key) {
                        self.links.push((first.clone(), (rec, n.name.into())));
                        // Its bytes count as done, as the snapshot's total counts them.
                        self.w.progress.add(0, n.size);
                        return Ok(());
                    }
                    self.links_seen.insert(key, (rec, n.name.clone().into()));
                }
                self.batch_blobs += n.content.len();
                self.batch.push(FileJob {
                    dir,
                    dir_rec: rec,
                    name: n.name.clone().into(),
                    node: n,
                    reuse,
                });
                if self.batch.len() >= self.batch_files || self.batch_blobs >= self.batch_blobs_max
                {
                    self.send_batch().map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            NodeKind::Dir => unreachable!("directories are handled by walk"),
            NodeKind::Symlink => self.special(rec, &dir, &n),
            _ if !self.w.skip_special => self.special(rec, &dir, &n),
            _ => {
                self.result.skipped_special += 1;
                Ok(())
            }
        }
    }

    /// Whether `overwrite` leaves what is at `n`'s name in the current directory as it is
    /// (for a directory: only when something that is not a directory is in its way).
    fn keep_existing(&self, n: &Node) -> bool {
        use rustix::fs::{self as rfs, AtFlags, FileType};
        if self.w.overwrite == Overwrite::Always {
            return false;
        }
        let (_, dir) = self.cursor.top();
        let Ok(st) = rfs::statat(
            dir.as_fd(),
            OsStr::from_bytes(&n.name),
            AtFlags::SYMLINK_NOFOLLOW,
        ) else {
            return false;
        };
        let ft = FileType::from_raw_mode(st.st_mode);
        match (self.w.overwrite, n.kind) {
            (_, NodeKind::Dir) => self.w.overwrite == Overwrite::Never && ft != FileType::Directory,
            (Overwrite::Never, _) => true,
            (_, NodeKind::File) => {
                ft == FileType::RegularFile
                    && st.st_size as u64 == n.size
                    && (st.st_mtime, st.st_mtime_nsec as u32) == (n.mtime.sec, n.mtime.nsec)
            }
            _ => false,
        }
    }

    /// `delete`: removes from the directory of frame `f` (current on the cursor) the entries
    /// its snapshot directory lacks, except excluded names. `snap` is the frame's path.
    fn delete_extra(&mut self, f: &Frame, snap: &[u8]) -> Result<()> {
        let tree = match f.id {
            Some(id) => self.w.repo.load_tree(&id)?,
            None => Tree::default(),
        };
        let keep: std::collections::HashSet<&[u8]> =
            tree.nodes.iter().map(|n| n.name.as_slice()).collect();
        let (rec, dir) = self.cursor.top();
        let dir = Arc::clone(dir);
        let mut names: Vec<Vec<u8>> = Vec::new();
        let listed = rustix::fs::Dir::read_from(dir.as_fd())
            .map_err(|e| Error::io(self.w.dirs.lock().unwrap().path(rec), e.into()))?;
        for e in listed {
            let e = e.map_err(|e| Error::io(self.w.dirs.lock().unwrap().path(rec), e.into()))?;
            let name = e.file_name().to_bytes();
            if name == b"." || name == b".." || keep.contains(name) {
                continue;
            }
            let mut p = snap.to_vec();
            p.push(b'/');
            p.extend_from_slice(name);
            if self.excludes.is_match(Path::new(OsStr::from_bytes(&p))) {
                continue;
            }
            names.push(name.to_vec());
        }
        for name in names {
            self.w.cancel.check()?;
            let r = self.w.dirs.lock().unwrap().remove_entry(dir.as_fd(), &name);
            match r {
                Ok(()) => self.result.deleted += 1,
                Err(e) => self.fail(format!("{}: removing: {e}", self.path(&name).display())),
            }
        }
        Ok(())
    }

    fn special(&mut self, rec: u32, dir: &DirFd, n: &Node) -> std::result::Result<(), String> {
        let w = self.w;
        let remove =
            |d: std::os::fd::BorrowedFd, name: &[u8]| w.dirs.lock().unwrap().remove_entry(d, name);
        target::make_special_at(remove, dir.as_fd(), &n.name, n)
            .and_then(|()| target::apply_special_meta(dir.as_fd(), &n.name, n, &w.rules))
            .map_err(|e| {
                let p = w.dirs.lock().unwrap().entry_path(rec, &n.name);
                format!("{}: {e}", p.display())
            })?;
        self.result.special += 1;
        Ok(())
    }

    pub fn send_batch(&mut self) -> Result<()> {
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

    /// The further names of hard-linked files, each linked to its first name. Two cursors
    /// (one for each side) keep the directory walks short.
    pub fn link_all(&mut self, root: &DirFd, progress: &Progress) {
        let dirs = self.w.dirs.lock().unwrap();
        let mut from = Cursor::new(Arc::clone(root));
        let mut to = Cursor::new(Arc::clone(root));
        for ((fdir, fname), (ldir, lname)) in std::mem::take(&mut self.links) {
            let res = from.goto(&dirs, fdir).and_then(|f| {
                let t = to.goto(&dirs, ldir)?;
                target::link_at(&dirs, f.as_fd(), &fname, t.as_fd(), &lname)
            });
            match res {
                Ok(()) => {
                    self.result.links += 1;
                    progress.add(1, 0);
                }
                Err(e) => {
                    let msg = format!(
                        "{}: hard link to {}: {e}",
                        dirs.entry_path(ldir, &lname).display(),
                        dirs.entry_path(fdir, &fname).display()
                    );
                    self.w.fail(msg);
                }
            }
        }
    }
}

/// Directories' final owner, mode and times, deepest first (records are in walk order, so
/// every directory comes after its parent: in reverse, after everything below it), so setting
/// a directory's times is not undone by work inside it.
pub(super) fn finish_dirs(w: &Writer, root: &DirFd) {
    let dirs = w.dirs.lock().unwrap();
    let mut cursor = Cursor::new(Arc::clone(root));
    for i in (1..dirs.len()).rev() {
        let Some(meta) = dirs.rec(i).meta else {
            continue;
        };
        let res = cursor
            .goto(&dirs, i)
            .and_then(|fd| target::apply_dir_meta(fd.as_fd(), &meta, &w.rules));
        if let Err(e) = res {
            let msg = format!("{}: metadata: {e}", dirs.path(i).display());
            w.fail(msg);
        }
    }
}
