//! The filesystem operations: `SnapshotFs`, the `fuser::Filesystem` the kernel's requests reach,
//! built from the inode table, the layout, the attributes and the engine's file reader.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use engine::backend::FileType as RepoFile;
use engine::format::snapshot::SnapshotRef;
use engine::format::tree::{Node, NodeKind, Tree};
use engine::vfs::reader::{BlobCache, FileMap};
use engine::vfs::trees::TreeCache;
use engine::{Id, Repo};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    KernelConfig, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen,
    ReplyXattr, Request,
};

use crate::attr::{dir_attr, ftype, link_attr, node_attr, systime};
use crate::errno::errno;
use crate::inodes::{Entry, Inodes, Kind, ROOT};
use crate::layout::Listing;
use crate::{MountOptions, READAHEAD_CHUNKS, READAHEAD_THREADS, TREE_CACHE_BYTES};

const TTL: Duration = Duration::from_secs(1);
/// How often the root may look for new snapshots (a listing of `snapshots/`).
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// An extended attribute of the root giving the inode table's size, so that tests (and a
/// curious user) can see entries being forgotten. Not listed by `listxattr`, so `cp -a` and
/// `getfattr -d` do not copy or show it.
pub(crate) const INODES_XATTR: &[u8] = b"user.vcd.inodes";

/// An open file: its chunk map, how many handles share it, and where the last read ended
/// (to recognise sequential reads for readahead).
struct OpenFile {
    map: Arc<FileMap>,
    handles: usize,
    last_end: u64,
}

pub struct SnapshotFs {
    repo: Arc<Repo>,
    opts: MountOptions,
    listing: RwLock<Listing>,
    inodes: RwLock<Inodes>,
    trees: TreeCache,
    cache: Arc<BlobCache>,
    open: Mutex<HashMap<u64, OpenFile>>,
    prefetch: crossbeam_channel::Sender<Id>,
    uid: u32,
    gid: u32,
    mounted_at: SystemTime,
}

impl SnapshotFs {
    pub fn new(repo: Arc<Repo>, opts: MountOptions) -> Self {
        let cache = Arc::new(BlobCache::new(opts.cache_bytes));
        let (tx, rx) = crossbeam_channel::bounded::<Id>(64);
        for _ in 0..READAHEAD_THREADS {
            let (repo, cache, rx) = (Arc::clone(&repo), Arc::clone(&cache), rx.clone());
            // Readahead: decode the next chunks of a sequentially read file while the reader
            // consumes the current one. Failures are left for the real read to report.
            std::thread::spawn(move || {
                for id in rx {
                    if !cache.contains(&id) {
                        let _ = cache.load(repo.as_ref(), &id);
                    }
                }
            });
        }
        SnapshotFs {
            repo,
            opts,
            listing: RwLock::new(Listing::default()),
            inodes: RwLock::new(Inodes::new()),
            trees: TreeCache::new(TREE_CACHE_BYTES),
            cache,
            open: Mutex::new(HashMap::new()),
            prefetch: tx,
            // SAFETY: getuid and getgid cannot fail and touch no memory.
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            mounted_at: SystemTime::now(),
        }
    }

    fn wanted(&self, s: &SnapshotRef) -> bool {
        self.opts.filter.matches(&s.snap)
    }

    /// Re-reads the snapshot list when `snapshots/` changed (checked at most once a second).
    fn refresh(&self) {
        {
            let l = self.listing.read().unwrap();
            if l.checked.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
                return;
            }
        }
        let files: Vec<String> = match self.repo.list(RepoFile::Snapshot) {
            Ok(v) => v.into_iter().map(|(n, _)| n).collect(),
            Err(e) => {
                tracing::error!("listing snapshots: {e}");
                return;
            }
        };
        let mut l = self.listing.write().unwrap();
        l.checked = Some(Instant::now());
        if l.files == files && !l.by_name.is_empty() {
            return;
        }
        // New snapshots come with new index files: `snapshots` absorbs them after listing
        // (read rule 2), before anything reads their blobs.
        let snaps = match self.repo.snapshots() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("reading snapshots: {e}");
                return;
            }
        };
        // Only snapshots of the first listing: one written since may not have had its index
        // file absorbed above, and would read as EIO until the next refresh.
        let snaps: Vec<SnapshotRef> = snaps
            .into_iter()
            .filter(|s| self.wanted(s) && files.contains(&s.id.to_hex()))
            .collect();
        *l = Listing::new(snaps, files);
        l.checked = Some(Instant::now());
    }

    /// A directory's tree, or the errno to reply (with a log line naming the directory). A tree
    /// that does not load or decode fails this directory alone, with EIO.
    fn dir_tree(&self, ino: u64, id: &Id) -> Result<Arc<Tree>, Errno> {
        self.trees.load(self.repo.as_ref(), id).map_err(|e| {
            tracing::error!("{}: directory unreadable: {e}", self.path_of(ino));
            errno(&e)
        })
    }

    /// The tree a directory entry lists (a snapshot root's or a directory's), if it is one.
    fn listed_tree(kind: &Kind) -> Option<(&Arc<SnapshotRef>, Id)> {
        match kind {
            Kind::SnapRoot(s) => Some((s, s.snap.tree)),
            Kind::Node(s, e) if e.kind == NodeKind::Dir => e.subtree.map(|t| (s, t)),
            _ => None,
        }
    }

    /// Calls `f` with the whole node of a snapshot entry, found by name in its directory's
    /// tree: content and extended attributes are not kept in the inode table.
    fn with_node<R>(&self, ino: u64, f: impl FnOnce(&Node) -> R) -> Result<R, Errno> {
        let (parent, name, dir_tree) = {
            let inodes = self.inodes.read().unwrap();
            let i = inodes.get(ino).ok_or(Errno::ENOENT)?;
            match &i.kind {
                Kind::Node(_, e) => (i.parent, i.name.clone(), e.dir_tree),
                _ => return Err(Errno::EINVAL),
            }
        };
        let t = self.dir_tree(parent, &dir_tree)?;
        // The tree is the one the entry was found in: it holds the name.
        let n = t.find(&name).ok_or(Errno::EIO)?;
        Ok(f(n))
    }

    /// The path of an inode inside the mount, for log lines.
    fn path_of(&self, mut ino: u64) -> String {
        let inodes = self.inodes.read().unwrap();
        let mut parts = Vec::new();
        while ino != ROOT {
            let Some(i) = inodes.get(ino) else { break };
            parts.push(String::from_utf8_lossy(&i.name).into_owned());
            ino = i.parent;
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    fn kind(&self, ino: u64) -> Option<Kind> {
        self.inodes.read().unwrap().get(ino).map(|i| i.kind.clone())
    }

    fn attr(&self, ino: u64, kind: &Kind) -> FileAttr {
        let (uid, gid) = (self.uid, self.gid);
        match kind {
            Kind::Root | Kind::Group(_) => dir_attr(ino, self.mounted_at, uid, gid),
            Kind::SnapRoot(s) => {
                let t = systime(
                    s.snap.time.timestamp(),
                    s.snap.time.timestamp_subsec_nanos(),
                );
                dir_attr(ino, t, uid, gid)
            }
            Kind::Link(target) => link_attr(ino, target, self.mounted_at, uid, gid),
            Kind::Node(_, n) => node_attr(ino, n),
        }
    }

    /// The entries of a virtual directory (root, ids, tags, hosts): (name, kind).
    fn children(&self, kind: &Kind) -> Result<Vec<(Vec<u8>, Kind)>, Errno> {
        if matches!(kind, Kind::Root) {
            self.refresh();
        }
        // Snapshot directories are served straight from their cached tree by `readdir` and
        // `lookup_child`, which never build this list for them.
        self.listing
            .read()
            .unwrap()
            .children(kind)
            .ok_or(Errno::ENOTDIR)
    }

    /// Finds (parent, name) and counts the kernel's lookup of it.
    fn lookup_child(&self, parent: u64, name: &[u8]) -> Result<(u64, Kind), Errno> {
        let pk = self.kind(parent).ok_or(Errno::ENOENT)?;
        if let Some((s, id)) = Self::listed_tree(&pk) {
            // A snapshot directory is one binary search in its tree, not a listing.
            let t = self.dir_tree(parent, &id)?;
            let j = t.position(name).ok_or(Errno::ENOENT)?;
            let make = || Kind::Node(Arc::clone(s), Arc::new(Entry::new(&t.nodes[j], id)));
            return self
                .inodes
                .write()
                .unwrap()
                .lookup_child(parent, j, t.nodes.len(), name, make)
                .ok_or(Errno::ENOENT);
        }
        if matches!(pk, Kind::Node(..) | Kind::Link(_)) {
            return Err(Errno::ENOTDIR);
        }
        if parent != ROOT {
            let mut inodes = self.inodes.write().unwrap();
            if let Some(i) = inodes.find(parent, name) {
                let k = inodes.get(i).ok_or(Errno::ENOENT)?.kind.clone();
                inodes.remember(i);
                return Ok((i, k));
            }
        }
        let kind = self
            .children(&pk)?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k)
            .ok_or(Errno::ENOENT)?;
        let mut inodes = self.inodes.write().unwrap();
        let ino = inodes.intern_with(parent, name, || kind.clone());
        // A root entry may now point at another snapshot (refresh): keep the inode current.
        if parent == ROOT {
            inodes.set_kind(ino, kind.clone());
        }
        inodes.remember(ino);
        Ok((ino, kind))
    }

    fn file_map(&self, ino: u64) -> Result<Arc<FileMap>, Errno> {
        if let Some(o) = self.open.lock().unwrap().get(&ino) {
            return Ok(Arc::clone(&o.map));
        }
        match self.kind(ino) {
            Some(Kind::Node(_, e)) if e.kind == NodeKind::File => {
                self.with_node(ino, |n| Arc::new(FileMap::new(n)))
            }
            Some(_) => Err(Errno::EINVAL),
            None => Err(Errno::ENOENT),
        }
    }

    /// Calls `f` with an entry's extended attributes (none for the virtual entries).
    fn with_xattrs<R>(
        &self,
        ino: u64,
        f: impl FnOnce(&[engine::format::tree::Xattr]) -> R,
    ) -> Result<R, Errno> {
        match self.kind(ino) {
            Some(Kind::Node(_, e)) if e.has_xattrs => self.with_node(ino, |n| f(&n.xattrs)),
            Some(_) => Ok(f(&[])),
            None => Err(Errno::ENOENT),
        }
    }
}

impl Filesystem for SnapshotFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Large reads: the kernel splits reads at max(max_write, max_readahead) pages (capped
        // by the kernel, usually at 1 MiB).
        let _ = config
            .set_max_readahead(4 << 20)
            .or_else(|max| config.set_max_readahead(max));
        self.refresh();
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.lookup_child(parent.0, name.as_bytes()) {
            Ok((ino, kind)) => reply.entry(&TTL, &self.attr(ino, &kind), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    // fuser 0.18 keeps `ForgetOne` private, so `batch_forget` cannot be overridden; its
    // default calls this once per inode.
    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.inodes.write().unwrap().forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        if ino.0 == ROOT {
            self.refresh();
        }
        match self.kind(ino.0) {
            Some(k) => reply.attr(&TTL, &self.attr(ino.0, &k)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.kind(ino.0) {
            Some(Kind::Link(t)) => {
                // `latest` follows the newest snapshot even when its inode predates it.
                if self
                    .inodes
                    .read()
                    .unwrap()
                    .get(ino.0)
                    .is_some_and(|i| i.parent == ROOT && i.name == b"latest")
                {
                    self.refresh();
                    if let Some(l) = self.listing.read().unwrap().latest.clone() {
                        return reply.data(l.as_bytes());
                    }
                }
                reply.data(&t)
            }
            Some(Kind::Node(_, n)) if n.kind == NodeKind::Symlink => {
                reply.data(n.target.as_deref().unwrap_or_default())
            }
            Some(_) => reply.error(Errno::EINVAL),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
            return reply.error(Errno::EROFS);
        }
        match self.file_map(ino.0) {
            Ok(m) => {
                let mut open = self.open.lock().unwrap();
                let e = open.entry(ino.0).or_insert(OpenFile {
                    map: m,
                    handles: 0,
                    last_end: u64::MAX,
                });
                e.handles += 1;
                // Content never changes: let the kernel keep its page cache across opens.
                reply.opened(FileHandle(ino.0), FopenFlags::FOPEN_KEEP_CACHE)
            }
            Err(e) => reply.error(e),
        }
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        _flush: bool,
        reply: fuser::ReplyEmpty,
    ) {
        let mut open = self.open.lock().unwrap();
        if let Some(e) = open.get_mut(&ino.0) {
            e.handles -= 1;
            if e.handles == 0 {
                open.remove(&ino.0);
            }
        }
        reply.ok();
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyData,
    ) {
        let map = match self.file_map(ino.0) {
            Ok(m) => m,
            Err(e) => return reply.error(e),
        };
        match map.read(self.repo.as_ref(), &self.cache, offset, size as usize) {
            Ok((data, last)) => {
                let end = offset + data.len() as u64;
                let sequential = {
                    let mut open = self.open.lock().unwrap();
                    match open.get_mut(&ino.0) {
                        Some(e) => {
                            let seq = e.last_end == offset || offset == 0;
                            e.last_end = end;
                            seq
                        }
                        None => false,
                    }
                };
                if let (true, Some(i)) = (sequential, last) {
                    for id in map.following_ids(i, READAHEAD_CHUNKS) {
                        let _ = self.prefetch.try_send(id);
                    }
                }
                reply.data(&data)
            }
            Err(e) => {
                tracing::error!(
                    "{}: read at offset {offset} failed: {e}",
                    self.path_of(ino.0)
                );
                reply.error(errno(&e))
            }
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(kind) = self.kind(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let parent = self
            .inodes
            .read()
            .unwrap()
            .get(ino.0)
            .map_or(ROOT, |i| i.parent);
        // Entry k (0 ".", 1 "..", then the children) carries offset k + 1: where to resume.
        let mut k = offset;
        if k == 0 {
            if reply.add(ino, 1, FileType::Directory, ".") {
                return reply.ok();
            }
            k = 1;
        }
        if k == 1 {
            if reply.add(INodeNo(parent), 2, FileType::Directory, "..") {
                return reply.ok();
            }
            k = 2;
        }
        let skip = (k - 2) as usize;
        if let Some((_, id)) = Self::listed_tree(&kind) {
            // A snapshot directory: its cached tree, entry j numbered first + j, nothing stored.
            let t = match self.dir_tree(ino.0, &id) {
                Ok(t) => t,
                Err(e) => return reply.error(e),
            };
            let first = self
                .inodes
                .write()
                .unwrap()
                .first_child(ino.0, t.nodes.len());
            let Some(first) = first else {
                return reply.error(Errno::ENOENT);
            };
            for (j, n) in t.nodes.iter().enumerate().skip(skip) {
                if reply.add(
                    INodeNo(first + j as u64),
                    j as u64 + 3,
                    ftype(n.kind),
                    OsStr::from_bytes(&n.name),
                ) {
                    break;
                }
            }
            return reply.ok();
        }
        let children = match self.children(&kind) {
            Ok(c) => c,
            Err(e) => return reply.error(e),
        };
        let mut inodes = self.inodes.write().unwrap();
        for (j, (name, k)) in children.into_iter().enumerate().skip(skip) {
            let ft = match &k {
                Kind::Root | Kind::Group(_) | Kind::SnapRoot(_) => FileType::Directory,
                Kind::Link(_) => FileType::Symlink,
                Kind::Node(_, n) => ftype(n.kind),
            };
            let child = inodes.intern_with(ino.0, &name, || k.clone());
            if ino.0 == ROOT {
                // A root entry may now name another snapshot (refresh): keep the inode current.
                inodes.set_kind(child, k);
            }
            if reply.add(INodeNo(child), j as u64 + 3, ft, OsStr::from_bytes(&name)) {
                break;
            }
        }
        reply.ok();
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: fuser::LockOwner,
        reply: fuser::ReplyEmpty,
    ) {
        reply.ok();
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let value = if ino.0 == ROOT && name.as_bytes() == INODES_XATTR {
            Some(self.inodes.read().unwrap().len().to_string().into_bytes())
        } else {
            let found = self.with_xattrs(ino.0, |xs| {
                xs.iter()
                    .find(|x| x.name == name.as_bytes())
                    .map(|x| x.value.clone())
            });
            match found {
                Ok(v) => v,
                Err(e) => return reply.error(e),
            }
        };
        match value {
            None => reply.error(Errno::ENODATA),
            Some(v) if size == 0 => reply.size(v.len() as u32),
            Some(v) if v.len() > size as usize => reply.error(Errno::ERANGE),
            Some(v) => reply.data(&v),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let names = self.with_xattrs(ino.0, |xs| {
            let mut buf = Vec::new();
            for x in xs {
                buf.extend_from_slice(&x.name);
                buf.push(0);
            }
            buf
        });
        let buf = match names {
            Ok(b) => b,
            Err(e) => return reply.error(e),
        };
        if size == 0 {
            reply.size(buf.len() as u32)
        } else if buf.len() > size as usize {
            reply.error(Errno::ERANGE)
        } else {
            reply.data(&buf)
        }
    }
}
