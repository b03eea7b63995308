//! The directory half of the backup walk: listing directories, visiting their entries and
//! building their trees bottom-up, with no function that calls itself, so a deep tree costs
//! heap, never stack.
//!
//! A directory being backed up is a `Dir` on the heap, linked to its parent. Its entries are
//! visited by jobs of one rayon scope, spawned by halving ranges (idle threads steal the largest
//! ranges first). Visiting a subdirectory lists it, spawns the jobs of its entries and returns:
//! no job waits for another, so a thread's stack holds one job at a time however deep the tree
//! (the old walk recursed per level and overflowed at some 1,750 levels). Each `Dir` counts the
//! entries not yet final; the job that settles the last one builds the tree, stores it, gives
//! its id to the parent's node and settles that entry of the parent, up the chain in a loop.
//! Jobs spawned last run first on their thread, so the walk goes depth first, in name order, as
//! the recursion did: what is held is about one listing per level being walked.
//!
//! System calls reach an entry through its directory's `Reach`: the directory's real path
//! while that is short. Past `REACH_MAX` bytes, a directory is opened and reached as
//! `/proc/self/fd/N`, so no path handed to the kernel exceeds PATH_MAX however deep the tree.
//! Below such a directory the real path, for excludes and messages, is rebuilt from the names up
//! the chain when needed, and a directory lets go of its reach (path and descriptor) once its
//! last entry is visited: a descriptor stays open only while a directory reached through it has
//! entries to visit, so a chain holds a few at a time, and a tree at most one per `REACH_MAX`
//! bytes of the path being walked, never one per level.

use std::borrow::Cow;
use std::collections::btree_map;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rayon::Scope;

use crate::error::{Error, Result};
use crate::format::tree::{Node, NodeKind, Tree};
use crate::ops::fsmeta;

use super::walk::{Prev, Source, Walker};

/// Longest path (bytes) of a directory reached by its path; a deeper one is opened and reached
/// through its descriptor. Its entries' paths then stay below PATH_MAX (4096) with any name (at
/// most 255 bytes).
const REACH_MAX: usize = 3072;

/// How system calls reach a directory: its path, or `/proc/self/fd/N/...`, with the descriptor
/// N that path goes through, kept open as long as the path is.
#[derive(Clone)]
struct Reach {
    at: PathBuf,
    anchor: Option<Arc<File>>,
}

impl Reach {
    fn by_path(p: &Path) -> Reach {
        Reach {
            at: p.to_path_buf(),
            anchor: None,
        }
    }
}

/// A directory being backed up.
struct Dir {
    /// The parent, and this directory's index among its entries; None for the walk's root.
    up: Option<(Arc<Dir>, usize)>,
    /// `reach` is by the real path (no directory from the root down to here was reached
    /// through a descriptor). Such a reach is kept: the real paths below are rebuilt from it.
    real: bool,
    /// None once every entry is visited, unless `real`.
    reach: Mutex<Option<Reach>>,
    /// Entries whose visit has not begun.
    unvisited: AtomicUsize,
    /// What the parent snapshot had here.
    prev: Option<Tree>,
    /// Sorted by bytes, as the tree's nodes must be.
    names: Vec<OsString>,
    /// By name; None is an entry left out (excluded, unreadable). A subdirectory's node waits
    /// here for its subtree.
    nodes: Mutex<Vec<Option<Node>>>,
    /// Entries not yet final, plus one while the entries' jobs are being spawned.
    pending: AtomicUsize,
}

impl Dir {
    fn new(up: Option<(Arc<Dir>, usize)>, reach: Reach, real: bool, prev: Option<Tree>) -> Dir {
        Dir {
            up,
            real,
            reach: Mutex::new(Some(reach)),
            unvisited: AtomicUsize::new(0),
            prev,
            names: Vec::new(),
            nodes: Mutex::new(Vec::new()),
            pending: AtomicUsize::new(1),
        }
    }

    fn with_names(mut self, names: Vec<OsString>) -> Dir {
        self.nodes = Mutex::new(vec![None; names.len()]);
        self.pending = AtomicUsize::new(names.len() + 1);
        self.unvisited = AtomicUsize::new(names.len());
        self.names = names;
        self
    }

    /// The real path, rebuilt from the names up to the nearest directory reached by it.
    fn path(&self) -> PathBuf {
        let mut names = Vec::new();
        let mut d = self;
        while !d.real {
            let (parent, i) =
                d.up.as_ref()
                    .expect("a walk's root is reached by its real path");
            names.push(parent.names[*i].as_os_str());
            d = parent;
        }
        let mut out = d.reach().expect("kept when real").at;
        out.extend(names.iter().rev());
        out
    }

    fn reach(&self) -> Option<Reach> {
        self.reach.lock().unwrap().clone()
    }

    /// Where entry `i` is, for its visit; the last visit to begin takes the reach from a
    /// directory not reached by its real path.
    fn place(&self, i: usize) -> Place<'_> {
        let name = self.names[i].as_os_str();
        let last = self.unvisited.fetch_sub(1, Ordering::AcqRel) == 1;
        let reach = if last && !self.real {
            self.reach.lock().unwrap().take()
        } else {
            self.reach()
        };
        let reach = reach.expect("reached until its last entry's visit begins");
        Place {
            at: reach.at.join(name),
            anchor: reach.anchor,
            dir: self,
            name,
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // Parents one by one: left to itself, dropping a chain of directories (a walk stopped
        // by an error deep down) would recurse once per level.
        let mut up = self.up.take();
        while let Some((parent, _)) = up {
            up = Arc::try_unwrap(parent).ok().and_then(|mut d| d.up.take());
        }
    }
}

/// Where an entry is: `at` for system calls (through `anchor`, held open while the place is
/// used); its real path when a message or an exclude needs it.
pub(super) struct Place<'d> {
    pub(super) at: PathBuf,
    anchor: Option<Arc<File>>,
    dir: &'d Dir,
    name: &'d OsStr,
}

impl Place<'_> {
    pub(super) fn path(&self) -> Cow<'_, Path> {
        if self.dir.real {
            Cow::Borrowed(&self.at)
        } else {
            Cow::Owned(self.dir.path().join(self.name))
        }
    }
}

/// One walk: a directory or a single entry, and everything below it.
struct Run<'w, 'a> {
    w: &'w Walker<'a>,
    /// The device of the walk's root, for `--one-file-system`.
    dev: u64,
    /// Set on the first fatal error: the jobs still queued return at once.
    stop: AtomicBool,
    fatal: Mutex<Option<Error>>,
    /// The root's tree, once settled.
    root: Mutex<Option<Tree>>,
}

impl<'w, 'a> Run<'w, 'a> {
    fn go(w: &'w Walker<'a>, dev: u64, root: Dir) -> Result<Tree> {
        let run = Run {
            w,
            dev,
            stop: AtomicBool::new(false),
            fatal: Mutex::new(None),
            root: Mutex::new(None),
        };
        rayon::scope(|s| run.start(s, Arc::new(root)));
        if let Some(e) = run.fatal.into_inner().unwrap() {
            return Err(e);
        }
        Ok(run
            .root
            .into_inner()
            .unwrap()
            .expect("a walk without a fatal error settles its root"))
    }

    fn abort(&self, e: Error) {
        self.stop.store(true, Ordering::Relaxed);
        self.fatal.lock().unwrap().get_or_insert(e);
    }

    /// Spawns the jobs of `dir`'s entries.
    fn start<'s>(&'s self, s: &Scope<'s>, dir: Arc<Dir>) {
        if !dir.names.is_empty() {
            self.spawn(s, Arc::clone(&dir), 0, dir.names.len());
        }
        // The one held while spawning.
        if let Err(e) = self.release(dir) {
            self.abort(e);
        }
    }

    fn spawn<'s>(&'s self, s: &Scope<'s>, dir: Arc<Dir>, a: usize, b: usize) {
        s.spawn(move |s| self.range(s, dir, a, b));
    }

    /// Entries `a..b` of `dir`: the upper halves go to the deque, for this thread to take
    /// next or another to steal; this job visits entry `a`.
    fn range<'s>(&'s self, s: &Scope<'s>, dir: Arc<Dir>, a: usize, mut b: usize) {
        while b - a > 1 {
            let mid = a + (b - a) / 2;
            self.spawn(s, Arc::clone(&dir), mid, b);
            b = mid;
        }
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = self.visit(s, &dir, a) {
            self.abort(e);
        }
    }

    /// Entry `i` of `dir`. Errors returned are fatal; a source that cannot be read is recorded
    /// and left out.
    fn visit<'s>(&'s self, s: &Scope<'s>, dir: &Arc<Dir>, i: usize) -> Result<()> {
        let w = self.w;
        // Per entry, not only per directory: one directory may hold a great many files.
        w.cancel.check()?;
        let place = dir.place(i);
        let name = place.name;
        if !w.excludes.is_empty() && w.excludes.is_match(&*place.path()) {
            return self.settle(dir, i, None);
        }
        let m = match std::fs::symlink_metadata(&place.at) {
            Ok(m) => m,
            Err(e) => {
                w.fail(&place.path(), e);
                return self.settle(dir, i, None);
            }
        };
        let mut node = match fsmeta::node_from(name.as_bytes(), &place.at, &m, &w.names) {
            Ok(n) => n,
            Err(e) => {
                w.fail(&place.path(), e);
                return self.settle(dir, i, None);
            }
        };
        let prev: Prev = dir.prev.as_ref().and_then(|t| t.find(name.as_bytes()));
        match node.kind {
            NodeKind::Dir if w.one_fs && m.dev() != self.dev => {
                node.subtree = Some(w.store_tree(&Tree::default())?);
                self.settle(dir, i, Some(node))
            }
            NodeKind::Dir => {
                let pt = w.parent_tree(prev);
                dir.nodes.lock().unwrap()[i] = Some(node);
                let child = self.list(dir, i, place, pt);
                self.start(s, Arc::new(child));
                Ok(())
            }
            NodeKind::File => {
                let stored = w.file(&place, &mut node, &m, prev)?;
                self.settle(dir, i, stored.then_some(node))
            }
            _ => self.settle(dir, i, Some(node)),
        }
    }

    /// Subdirectory `place`, entry `i` of `dir`, with its names. One that cannot be listed is
    /// recorded and backed up empty.
    fn list(&self, dir: &Arc<Dir>, i: usize, place: Place, prev: Option<Tree>) -> Dir {
        let up = Some((Arc::clone(dir), i));
        let (reach, real) = if place.at.as_os_str().len() <= REACH_MAX {
            let reach = Reach {
                at: place.at.clone(),
                anchor: place.anchor.clone(),
            };
            (reach, dir.real)
        } else {
            let opened = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&place.at);
            match opened {
                Ok(f) => {
                    let at = PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()));
                    let anchor = Some(Arc::new(f));
                    (Reach { at, anchor }, false)
                }
                Err(e) => {
                    self.w.fail(&place.path(), e);
                    return Dir::new(
                        up,
                        Reach {
                            at: PathBuf::new(),
                            anchor: None,
                        },
                        false,
                        prev,
                    );
                }
            }
        };
        let names = self.w.names_of(&reach.at, &place.path());
        let d = Dir::new(up, reach, real, prev);
        match names {
            Some(names) => d.with_names(names),
            None => d,
        }
    }

    /// Entry `i` of `dir` is final as `node` (None: left out).
    fn settle(&self, dir: &Arc<Dir>, i: usize, node: Option<Node>) -> Result<()> {
        dir.nodes.lock().unwrap()[i] = node;
        self.release(Arc::clone(dir))
    }

    /// One entry of `dir` fewer to wait for. The last one builds the tree and stores it, and
    /// the parent's entry is then final: up the chain, in a loop.
    fn release(&self, mut dir: Arc<Dir>) -> Result<()> {
        loop {
            if dir.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
                return Ok(());
            }
            let nodes = std::mem::take(&mut *dir.nodes.lock().unwrap());
            let tree = Tree {
                nodes: nodes.into_iter().flatten().collect(),
            };
            let Some((parent, i)) = dir.up.as_ref().map(|(p, i)| (Arc::clone(p), *i)) else {
                *self.root.lock().unwrap() = Some(tree);
                return Ok(());
            };
            let id = self.w.store_tree(&tree)?;
            parent.nodes.lock().unwrap()[i]
                .as_mut()
                .expect("a subdirectory's node waits for its tree")
                .subtree = Some(id);
            dir = parent;
        }
    }
}

impl Walker<'_> {
    /// The names in directory `at` (real path `path`), sorted by bytes; None when it cannot be
    /// listed. Either is recorded as an error; a listing is counted as a directory.
    fn names_of(&self, at: &Path, path: &Path) -> Option<Vec<OsString>> {
        let rd = match std::fs::read_dir(at) {
            Ok(rd) => rd,
            Err(e) => {
                self.fail(path, e);
                return None;
            }
        };
        let mut names = Vec::new();
        for e in rd {
            match e {
                Ok(e) => names.push(e.file_name()),
                Err(e) => self.fail(path, e),
            }
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        self.counters
            .dirs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(names)
    }

    /// Backs up directory `path`; returns its tree (not stored).
    pub(super) fn dir(&self, path: &Path, dev: u64, prev: Option<&Tree>) -> Result<Tree> {
        self.cancel.check()?;
        let d = Dir::new(None, Reach::by_path(path), true, prev.cloned());
        let d = match self.names_of(path, path) {
            Some(names) => d.with_names(names),
            None => return Ok(Tree::default()),
        };
        Run::go(self, dev, d)
    }

    /// One entry given by path, and everything below it; None when excluded or unreadable
    /// (the latter recorded as an error).
    pub(super) fn entry(
        &self,
        path: &Path,
        name: &OsStr,
        dev: u64,
        prev: Prev,
    ) -> Result<Option<Node>> {
        let parent = path.parent().unwrap_or(Path::new("/"));
        let prev = prev.map(|n| Tree {
            nodes: vec![n.clone()],
        });
        let d = Dir::new(None, Reach::by_path(parent), true, prev).with_names(vec![name.into()]);
        let mut t = Run::go(self, dev, d)?;
        Ok(t.nodes.pop())
    }

    /// The tree of the source paths above the real ones (see `Source`), with an explicit stack.
    pub(super) fn source(&self, s: &Source, prev: Option<&Tree>) -> Result<Tree> {
        let Source::Virtual(_, children) = s else {
            unreachable!("the root is virtual unless it is / itself");
        };
        /// A virtual directory: its children still to do, what the parent snapshot had here,
        /// the nodes done, and its own node (None for the root).
        struct Frame<'s> {
            children: btree_map::Iter<'s, Vec<u8>, Source>,
            prev: Option<Tree>,
            nodes: Vec<Node>,
            node: Option<Node>,
        }
        let mut stack = vec![Frame {
            children: children.iter(),
            prev: prev.cloned(),
            nodes: Vec::new(),
            node: None,
        }];
        while let Some(top) = stack.last_mut() {
            let Some((name, child)) = top.children.next() else {
                let f = stack.pop().expect("just seen");
                let tree = Tree { nodes: f.nodes };
                let Some(mut n) = f.node else {
                    return Ok(tree);
                };
                n.subtree = Some(self.store_tree(&tree)?);
                stack.last_mut().expect("below the root").nodes.push(n);
                continue;
            };
            let p = top.prev.as_ref().and_then(|t| t.find(name));
            match child {
                Source::Real(path) => {
                    let dev = std::fs::symlink_metadata(path)
                        .map(|m| m.dev())
                        .unwrap_or(0);
                    if let Some(n) = self.entry(path, OsStr::from_bytes(name), dev, p)? {
                        top.nodes.push(n);
                    }
                }
                Source::Virtual(path, grandchildren) => {
                    // A component above a source may be a symlink (/home -> /data/home):
                    // follow it and record a directory, or restore would recreate the link
                    // and drop everything below it.
                    let m = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
                    if !m.is_dir() {
                        return Err(Error::Invalid(format!(
                            "{} is not a directory",
                            path.display()
                        )));
                    }
                    let mut n = fsmeta::node_from(name, path, &m, &self.names)
                        .map_err(|e| Error::io(path, e))?;
                    n.kind = NodeKind::Dir;
                    n.target = None;
                    let prev = self.parent_tree(p);
                    stack.push(Frame {
                        children: grandchildren.iter(),
                        prev,
                        nodes: Vec::new(),
                        node: Some(n),
                    });
                }
            }
        }
        unreachable!("the root frame returns")
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::io::AsRawFd;
    use std::path::{Path, PathBuf};

    use super::super::{backup, BackupOptions, BackupResult};
    use super::*;
    use crate::ops::ls::{self, Lookup};
    use crate::ops::progress::Progress;
    use crate::repo::testing::{self, DEEP};
    use crate::repo::Repo;

    fn fd_path(f: &File) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()))
    }

    /// `depth` directories `name`, one inside the other, under `root`, made through descriptors
    /// (the whole path may pass PATH_MAX), with the file `bottom` (mode 0640) in the last.
    fn chain(root: &Path, name: &str, depth: usize, bottom: &[u8]) {
        let mut dir = File::open(root).unwrap();
        for _ in 0..depth {
            let p = fd_path(&dir).join(name);
            std::fs::create_dir(&p).unwrap();
            dir = File::open(&p).unwrap();
        }
        let f = fd_path(&dir).join("bottom");
        std::fs::write(&f, bottom).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    }

    /// Backs up `paths` on rayon threads with 256 KiB stacks (the walk's jobs run there, and so
    /// does everything before them): a walk recursing once per level overflows them.
    fn backup_on_small_stacks(repo: &Repo, paths: Vec<PathBuf>) -> BackupResult {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .stack_size(256 << 10)
            .build()
            .unwrap();
        let opts = BackupOptions {
            paths,
            ..Default::default()
        };
        pool.install(|| backup(repo, &opts, &Progress::default()).unwrap())
    }

    /// The file at `path` in the snapshot: its mode and content.
    fn file_at(repo: &Repo, root: &Id, path: &str) -> (u32, Vec<u8>) {
        let Lookup::Entry(e) = ls::lookup(repo, root, path).unwrap() else {
            panic!("no file at {}...", &path[..100.min(path.len())]);
        };
        let mut data = Vec::new();
        for id in e.node.data_ids() {
            data.extend(repo.load_blob(&id).unwrap());
        }
        (e.node.mode, data)
    }

    use crate::id::Id;

    fn entries_below(repo: &Repo, root: &Id, path: &str) -> usize {
        let Lookup::Dir { path, tree } = ls::lookup(repo, root, path).unwrap() else {
            panic!("not a directory");
        };
        let mut n = 0;
        ls::walk::<crate::Error>(repo, tree, &path, |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        n
    }

    /// Defect: the walk recursed once per level (some 5 KiB of stack a level: 1,750 levels
    /// overflowed the main thread's 8 MiB and aborted the backup), and reached every entry by
    /// its whole path, which past PATH_MAX the kernel refuses. Here 2,000 levels, a path of
    /// some 8,000 bytes, on 256 KiB stacks.
    #[test]
    fn a_tree_deeper_than_path_max_backs_up_whole_on_small_stacks() {
        let t = tempfile::tempdir().unwrap();
        chain(t.path(), "ddd", DEEP, b"at the bottom");
        let repo = testing::repo();
        let r = backup_on_small_stacks(&repo, vec![t.path().to_path_buf()]);
        assert_eq!(r.snapshot.summary.errors, Vec::<String>::new());
        assert_eq!(r.snapshot.summary.dirs as usize, DEEP + 1);
        let root = r.snapshot.tree;
        let top = t.path().to_str().unwrap();
        let bottom = format!("{top}{}/bottom", "/ddd".repeat(DEEP));
        assert_eq!(
            file_at(&repo, &root, &bottom),
            (0o640, b"at the bottom".to_vec())
        );
        assert_eq!(entries_below(&repo, &root, top), DEEP + 1);
    }

    /// Defect: entries whose path passes PATH_MAX (here 150 levels of 40-byte names, some
    /// 6,000 bytes, shallow enough for any stack) were errors, "File name too long", and left
    /// out of the snapshot.
    #[test]
    fn entries_past_path_max_are_backed_up() {
        let t = tempfile::tempdir().unwrap();
        let name = "n".repeat(40);
        chain(t.path(), &name, 150, b"deep");
        let opts = BackupOptions {
            paths: vec![t.path().to_path_buf()],
            ..Default::default()
        };
        let repo = testing::repo();
        let r = backup(&repo, &opts, &Progress::default()).unwrap();
        assert_eq!(r.snapshot.summary.errors, Vec::<String>::new());
        let bottom = format!(
            "{}{}/bottom",
            t.path().to_str().unwrap(),
            format!("/{name}").repeat(150)
        );
        assert_eq!(
            file_at(&repo, &r.snapshot.tree, &bottom),
            (0o640, b"deep".to_vec())
        );
    }

    /// A source given deep below the root: the directories above it are walked by `source`
    /// (recursive before, once per component), here 1,000 of them on 256 KiB stacks.
    #[test]
    fn a_source_far_below_the_root_on_small_stacks() {
        let t = tempfile::tempdir().unwrap();
        chain(t.path(), "d", 1500, b"x");
        let src = t.path().join("d/".repeat(1000));
        let repo = testing::repo();
        let r = backup_on_small_stacks(&repo, vec![src.clone()]);
        assert_eq!(r.snapshot.summary.errors, Vec::<String>::new());
        assert_eq!(r.snapshot.summary.dirs, 501);
        let src = src.to_str().unwrap().trim_end_matches('/');
        assert_eq!(entries_below(&repo, &r.snapshot.tree, src), 501);
        let bottom = format!("{src}{}/bottom", "/d".repeat(500));
        assert_eq!(file_at(&repo, &r.snapshot.tree, &bottom).1, b"x");
    }

    /// A walk stopped deep down drops its chain of directories: through their parent links
    /// that was a recursion per level.
    #[test]
    fn dropping_a_deep_chain_of_directories_does_not_recurse() {
        let mut d = Arc::new(Dir::new(None, Reach::by_path(Path::new("/")), true, None));
        for i in 0..100_000 {
            d = Arc::new(Dir::new(
                Some((d, i)),
                Reach::by_path(Path::new("")),
                false,
                None,
            ));
        }
        testing::on_small_stack(move || drop(d));
    }
}
