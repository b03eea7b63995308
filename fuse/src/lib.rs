//! A read-only FUSE filesystem over a vcd repository's snapshots, built on the engine's read
//! path (`engine::vfs::reader`): no second reader of the repository format lives here. This crate
//! owns the inode table, the directory layout of the mount, and the mapping of engine errors to
//! errno (not found → ENOENT, damage or I/O → EIO with a log line naming the file).
//!
//! Layout:
//! ```text
//! /<YYYY-MM-DDTHH:MM:SSZ>[-<short id>]/...   one directory per snapshot (the suffix only when
//!                                            two snapshots share a second)
//! /latest -> <newest>                        symlinks into the above
//! /ids/<short id> -> ../<time>
//! /tags/<tag>/<time> -> ../../<time>
//! /hosts/<host>/<time> -> ../../<time>
//! ```
//! The root is rebuilt when the repository's snapshot list changes, so snapshots taken after
//! mounting appear without a remount.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine::backend::FileType as RepoFile;
use engine::format::snapshot::SnapshotRef;
use engine::format::tree::{Node, NodeKind, Tree};
use engine::vfs::reader::{BlobCache, FileMap};
use engine::{Id, Repo};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    KernelConfig, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen,
    ReplyXattr, Request,
};

const TTL: Duration = Duration::from_secs(1);
const ROOT: u64 = 1;
/// How often the root may look for new snapshots (a listing of `snapshots/`).
const REFRESH_EVERY: Duration = Duration::from_secs(1);
const TREE_CACHE_ENTRIES: usize = 16384;
const READAHEAD_CHUNKS: usize = 8;
/// Threads decoding chunks ahead of sequential readers.
const READAHEAD_THREADS: usize = 2;

#[derive(Debug, Clone)]
pub struct MountOptions {
    /// Bytes of decrypted chunks kept in memory, shared by all open files.
    pub cache_bytes: usize,
    /// Show only snapshots with one of these tags / hosts / paths (empty: all).
    pub tags: Vec<String>,
    pub hosts: Vec<String>,
    pub paths: Vec<String>,
    pub allow_other: bool,
    /// FUSE worker threads.
    pub threads: usize,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            cache_bytes: 256 << 20,
            tags: vec![],
            hosts: vec![],
            paths: vec![],
            allow_other: false,
            threads: 4,
        }
    }
}

#[derive(Clone)]
enum Kind {
    Root,
    /// `ids`, `tags`, `hosts`, `tags/<t>`, `hosts/<h>`.
    Group(Group),
    Link(Vec<u8>),
    SnapRoot(Arc<SnapshotRef>),
    Node(Arc<SnapshotRef>, Arc<Node>),
}

#[derive(Clone, PartialEq, Eq)]
enum Group {
    Ids,
    Tags,
    Hosts,
    Tag(String),
    Host(String),
}

struct Inode {
    parent: u64,
    name: Vec<u8>,
    kind: Kind,
}

#[derive(Default)]
struct Inodes {
    list: Vec<Inode>,
    by_name: HashMap<(u64, Vec<u8>), u64>,
    /// Hard links inside one snapshot share one inode: (snapshot, device, inode) → ino.
    by_link: HashMap<(Id, u64, u64), u64>,
}

impl Inodes {
    fn get(&self, ino: u64) -> Option<&Inode> {
        self.list.get((ino as usize).checked_sub(1)?)
    }

    fn intern(&mut self, parent: u64, name: &[u8], kind: Kind) -> u64 {
        self.intern_with(parent, name, || kind)
    }

    /// Like `intern`, building the entry only when the name is new (readdir of a large
    /// directory then clones only the nodes it has not seen).
    fn intern_with(&mut self, parent: u64, name: &[u8], make: impl FnOnce() -> Kind) -> u64 {
        if let Some(&i) = self.by_name.get(&(parent, name.to_vec())) {
            return i;
        }
        let kind = make();
        let link_key = match &kind {
            Kind::Node(s, n) if n.kind == NodeKind::File && n.links > 1 => {
                Some((s.id, n.device, n.inode))
            }
            _ => None,
        };
        if let Some(k) = link_key {
            if let Some(&i) = self.by_link.get(&k) {
                self.by_name.insert((parent, name.to_vec()), i);
                return i;
            }
        }
        self.list.push(Inode {
            parent,
            name: name.to_vec(),
            kind,
        });
        let ino = self.list.len() as u64;
        self.by_name.insert((parent, name.to_vec()), ino);
        if let Some(k) = link_key {
            self.by_link.insert(k, ino);
        }
        ino
    }
}

/// What the root shows, derived from the snapshot list.
#[derive(Default)]
struct Listing {
    names: Vec<String>,
    snaps: Vec<SnapshotRef>,
    /// time-name → snapshot
    by_name: BTreeMap<String, Arc<SnapshotRef>>,
    latest: Option<String>,
    files: Vec<String>,
    checked: Option<Instant>,
}

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
    trees: Mutex<HashMap<Id, Arc<Tree>>>,
    cache: Arc<BlobCache>,
    open: Mutex<HashMap<u64, OpenFile>>,
    prefetch: crossbeam_channel::Sender<(Id, u64)>,
    uid: u32,
    gid: u32,
    mounted_at: SystemTime,
}

fn time_name(s: &SnapshotRef) -> String {
    s.snap.time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn systime(sec: i64, nsec: u32) -> SystemTime {
    // Timestamps far outside SystemTime's range (a filesystem can store them) clamp to the
    // epoch instead of panicking a FUSE worker.
    let t = if sec >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(sec as u64, nsec.min(999_999_999)))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::new(sec.unsigned_abs(), 0))
            .and_then(|t| t.checked_add(Duration::new(0, nsec.min(999_999_999))))
    };
    t.unwrap_or(UNIX_EPOCH)
}

fn ftype(k: NodeKind) -> FileType {
    match k {
        NodeKind::File => FileType::RegularFile,
        NodeKind::Dir => FileType::Directory,
        NodeKind::Symlink => FileType::Symlink,
        NodeKind::Fifo => FileType::NamedPipe,
        NodeKind::CharDevice => FileType::CharDevice,
        NodeKind::BlockDevice => FileType::BlockDevice,
        NodeKind::Socket => FileType::Socket,
    }
}

impl SnapshotFs {
    pub fn new(repo: Arc<Repo>, opts: MountOptions) -> Self {
        let cache = Arc::new(BlobCache::new(opts.cache_bytes));
        let (tx, rx) = crossbeam_channel::bounded::<(Id, u64)>(64);
        for _ in 0..READAHEAD_THREADS {
            let (repo, cache, rx) = (Arc::clone(&repo), Arc::clone(&cache), rx.clone());
            // Readahead: decode the next chunks of a sequentially read file while the reader
            // consumes the current one. Failures are left for the real read to report.
            std::thread::spawn(move || {
                for (id, _ino) in rx {
                    if !cache.contains(&id) {
                        let _ = cache.load(&repo, &id);
                    }
                }
            });
        }
        let mut inodes = Inodes::default();
        inodes.list.push(Inode {
            parent: ROOT,
            name: Vec::new(),
            kind: Kind::Root,
        });
        SnapshotFs {
            repo,
            opts,
            listing: RwLock::new(Listing::default()),
            inodes: RwLock::new(inodes),
            trees: Mutex::new(HashMap::new()),
            cache,
            open: Mutex::new(HashMap::new()),
            prefetch: tx,
            uid: nix_uid(),
            gid: nix_gid(),
            mounted_at: SystemTime::now(),
        }
    }

    fn wanted(&self, s: &SnapshotRef) -> bool {
        let o = &self.opts;
        (o.tags.is_empty() || s.snap.tags.iter().any(|t| o.tags.contains(t)))
            && (o.hosts.is_empty() || o.hosts.contains(&s.snap.host))
            && (o.paths.is_empty() || s.snap.paths.iter().any(|p| o.paths.contains(p)))
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
        if l.files == files && !l.names.is_empty() {
            return;
        }
        // New snapshots come with new index files: absorb them before anything reads their blobs.
        if let Err(e) = self.repo.sync_index() {
            tracing::error!("reading new index files: {e}");
        }
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
        let mut count: HashMap<String, usize> = HashMap::new();
        for s in &snaps {
            *count.entry(time_name(s)).or_default() += 1;
        }
        let mut by_name = BTreeMap::new();
        for s in &snaps {
            let t = time_name(s);
            let name = if count[&t] > 1 {
                format!("{t}-{}", s.id.short())
            } else {
                t
            };
            by_name.insert(name, Arc::new(s.clone()));
        }
        l.latest = by_name
            .iter()
            .max_by_key(|(_, s)| (s.snap.time, s.id))
            .map(|(n, _)| n.clone());
        l.names = by_name.keys().cloned().collect();
        l.by_name = by_name;
        l.snaps = snaps;
        l.files = files;
    }

    fn tree(&self, id: &Id) -> engine::Result<Arc<Tree>> {
        if let Some(t) = self.trees.lock().unwrap().get(id) {
            return Ok(Arc::clone(t));
        }
        let t = Arc::new(self.repo.load_tree(id)?);
        let mut c = self.trees.lock().unwrap();
        if c.len() >= TREE_CACHE_ENTRIES {
            c.clear();
        }
        c.insert(*id, Arc::clone(&t));
        Ok(t)
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

    fn dir_attr(&self, ino: u64, mtime: SystemTime) -> FileAttr {
        FileAttr {
            ino: INodeNo(ino),
            size: 0,
            blocks: 0,
            atime: mtime,
            mtime,
            ctime: mtime,
            crtime: mtime,
            kind: FileType::Directory,
            perm: 0o555,
            nlink: 2,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn attr(&self, ino: u64, kind: &Kind) -> FileAttr {
        match kind {
            Kind::Root | Kind::Group(_) => self.dir_attr(ino, self.mounted_at),
            Kind::SnapRoot(s) => {
                let t = systime(
                    s.snap.time.timestamp(),
                    s.snap.time.timestamp_subsec_nanos(),
                );
                self.dir_attr(ino, t)
            }
            Kind::Link(target) => {
                let mut a = self.dir_attr(ino, self.mounted_at);
                a.kind = FileType::Symlink;
                a.perm = 0o777;
                a.nlink = 1;
                a.size = target.len() as u64;
                a
            }
            Kind::Node(_, n) => {
                let size = match n.kind {
                    NodeKind::File => n.size,
                    NodeKind::Symlink => n.target.as_ref().map_or(0, |t| t.len() as u64),
                    _ => 0,
                };
                // Only stored data occupies blocks: holes stay holes, as `du` expects.
                let data: u64 = n
                    .content
                    .iter()
                    .map(|e| match e {
                        engine::format::tree::Extent::Data { len, .. } => *len as u64,
                        engine::format::tree::Extent::Hole { .. } => 0,
                    })
                    .sum();
                FileAttr {
                    ino: INodeNo(ino),
                    size,
                    blocks: data.div_ceil(512),
                    atime: systime(n.mtime.sec, n.mtime.nsec),
                    mtime: systime(n.mtime.sec, n.mtime.nsec),
                    ctime: systime(n.ctime.sec, n.ctime.nsec),
                    crtime: systime(n.mtime.sec, n.mtime.nsec),
                    kind: ftype(n.kind),
                    perm: (n.mode & 0o7777) as u16,
                    nlink: n.links.max(1) as u32,
                    uid: n.uid,
                    gid: n.gid,
                    rdev: n.rdev as u32,
                    blksize: 4096,
                    flags: 0,
                }
            }
        }
    }

    /// The children of a virtual directory (root, ids, tags, hosts): (name, kind).
    fn children(&self, kind: &Kind) -> Result<Vec<(Vec<u8>, Kind)>, Errno> {
        let group_links = |pick: &dyn Fn(&SnapshotRef) -> bool| -> Vec<(Vec<u8>, Kind)> {
            let l = self.listing.read().unwrap();
            l.by_name
                .iter()
                .filter(|(_, s)| pick(s))
                .map(|(n, _)| {
                    (
                        n.as_bytes().to_vec(),
                        Kind::Link(format!("../../{n}").into_bytes()),
                    )
                })
                .collect()
        };
        match kind {
            Kind::Root => {
                self.refresh();
                let l = self.listing.read().unwrap();
                let mut v: Vec<(Vec<u8>, Kind)> = l
                    .by_name
                    .iter()
                    .map(|(n, s)| (n.as_bytes().to_vec(), Kind::SnapRoot(Arc::clone(s))))
                    .collect();
                if let Some(latest) = &l.latest {
                    v.push((b"latest".to_vec(), Kind::Link(latest.as_bytes().to_vec())));
                }
                v.push((b"ids".to_vec(), Kind::Group(Group::Ids)));
                v.push((b"tags".to_vec(), Kind::Group(Group::Tags)));
                v.push((b"hosts".to_vec(), Kind::Group(Group::Hosts)));
                Ok(v)
            }
            Kind::Group(Group::Ids) => {
                let l = self.listing.read().unwrap();
                Ok(l.by_name
                    .iter()
                    .map(|(n, s)| {
                        (
                            s.id.short().into_bytes(),
                            Kind::Link(format!("../{n}").into_bytes()),
                        )
                    })
                    .collect())
            }
            Kind::Group(Group::Tags) => {
                let l = self.listing.read().unwrap();
                let mut tags: Vec<String> =
                    l.snaps.iter().flat_map(|s| s.snap.tags.clone()).collect();
                tags.sort();
                tags.dedup();
                Ok(tags
                    .into_iter()
                    .filter(|t| engine::format::tree::check_name(t.as_bytes()).is_ok())
                    .map(|t| (t.clone().into_bytes(), Kind::Group(Group::Tag(t))))
                    .collect())
            }
            Kind::Group(Group::Hosts) => {
                let l = self.listing.read().unwrap();
                let mut hosts: Vec<String> = l.snaps.iter().map(|s| s.snap.host.clone()).collect();
                hosts.sort();
                hosts.dedup();
                Ok(hosts
                    .into_iter()
                    .filter(|h| engine::format::tree::check_name(h.as_bytes()).is_ok())
                    .map(|h| (h.clone().into_bytes(), Kind::Group(Group::Host(h))))
                    .collect())
            }
            Kind::Group(Group::Tag(t)) => Ok(group_links(&|s| s.snap.tags.contains(t))),
            Kind::Group(Group::Host(h)) => Ok(group_links(&|s| &s.snap.host == h)),
            // Snapshot directories are served straight from their cached tree by `readdir`
            // and `lookup_child`, which never build this list for them.
            Kind::SnapRoot(_) | Kind::Node(..) | Kind::Link(_) => Err(Errno::ENOTDIR),
        }
    }

    fn lookup_child(&self, parent: u64, name: &[u8]) -> Result<(u64, Kind), Errno> {
        if let Some(&i) = self
            .inodes
            .read()
            .unwrap()
            .by_name
            .get(&(parent, name.to_vec()))
        {
            if parent != ROOT {
                let k = self.kind(i).ok_or(Errno::ENOENT)?;
                return Ok((i, k));
            }
        }
        let pk = self.kind(parent).ok_or(Errno::ENOENT)?;
        let found = match &pk {
            // A snapshot directory is one binary search in its tree, not a listing.
            Kind::SnapRoot(s) | Kind::Node(s, _) => {
                let id = match &pk {
                    Kind::SnapRoot(s) => s.snap.tree,
                    Kind::Node(_, n) => n.subtree.ok_or(Errno::ENOTDIR)?,
                    _ => unreachable!(),
                };
                let t = self.tree(&id).map_err(|e| {
                    tracing::error!("{}: directory unreadable: {e}", self.path_of(parent));
                    Errno::EIO
                })?;
                t.find(name)
                    .map(|n| Kind::Node(Arc::clone(s), Arc::new(n.clone())))
            }
            _ => self
                .children(&pk)?
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, k)| k),
        };
        let kind = found.ok_or(Errno::ENOENT)?;
        let ino = self
            .inodes
            .write()
            .unwrap()
            .intern(parent, name, kind.clone());
        // A root entry may now point at another snapshot (refresh): keep the inode current.
        if parent == ROOT {
            self.inodes.write().unwrap().list[(ino - 1) as usize].kind = kind.clone();
        }
        Ok((ino, kind))
    }

    fn file_map(&self, ino: u64) -> Result<Arc<FileMap>, Errno> {
        if let Some(o) = self.open.lock().unwrap().get(&ino) {
            return Ok(Arc::clone(&o.map));
        }
        match self.kind(ino) {
            Some(Kind::Node(_, n)) if n.kind == NodeKind::File => Ok(Arc::new(FileMap::new(&n))),
            Some(_) => Err(Errno::EINVAL),
            None => Err(Errno::ENOENT),
        }
    }

    fn xattrs(&self, ino: u64) -> Vec<engine::format::tree::Xattr> {
        match self.kind(ino) {
            Some(Kind::Node(_, n)) => n.xattrs.clone(),
            _ => vec![],
        }
    }
}

fn nix_uid() -> u32 {
    // SAFETY: getuid cannot fail and touches no memory.
    unsafe { libc::getuid() }
}

fn nix_gid() -> u32 {
    // SAFETY: as above.
    unsafe { libc::getgid() }
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
                if ino.0 != ROOT
                    && self
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
                reply.data(n.target.as_ref().map_or(&[][..], |t| t.as_slice()))
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
        match map.read(&self.repo, &self.cache, offset, size as usize) {
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
                        let _ = self.prefetch.try_send((id, ino.0));
                    }
                }
                reply.data(&data)
            }
            Err(e) => {
                tracing::error!(
                    "{}: read at offset {offset} failed: {e}",
                    self.path_of(ino.0)
                );
                reply.error(Errno::EIO)
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
        let tree = match &kind {
            Kind::SnapRoot(s) => Some((s, s.snap.tree)),
            Kind::Node(s, n) if n.kind == NodeKind::Dir => n.subtree.map(|t| (s, t)),
            _ => None,
        };
        if let Some((snap, id)) = tree {
            // A snapshot directory: walk its cached tree, cloning only entries not yet seen.
            let t = match self.tree(&id) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!("{}: directory unreadable: {e}", self.path_of(ino.0));
                    return reply.error(Errno::EIO);
                }
            };
            let mut inodes = self.inodes.write().unwrap();
            for (j, n) in t.nodes.iter().enumerate().skip(skip) {
                let child = inodes.intern_with(ino.0, &n.name, || {
                    Kind::Node(Arc::clone(snap), Arc::new(n.clone()))
                });
                if reply.add(
                    INodeNo(child),
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
            let child = inodes.intern(ino.0, &name, k.clone());
            if ino.0 == ROOT {
                // A root entry may now name another snapshot (refresh): keep the inode current.
                inodes.list[(child - 1) as usize].kind = k;
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
        let x = self.xattrs(ino.0);
        match x.iter().find(|x| x.name == name.as_bytes()) {
            None => reply.error(Errno::ENODATA),
            Some(x) if size == 0 => reply.size(x.value.len() as u32),
            Some(x) if x.value.len() > size as usize => reply.error(Errno::ERANGE),
            Some(x) => reply.data(&x.value),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let mut buf = Vec::new();
        for x in self.xattrs(ino.0) {
            buf.extend_from_slice(&x.name);
            buf.push(0);
        }
        if size == 0 {
            reply.size(buf.len() as u32)
        } else if buf.len() > size as usize {
            reply.error(Errno::ERANGE)
        } else {
            reply.data(&buf)
        }
    }
}

/// Mounts read-only and serves in background threads until the returned session is dropped
/// (or `umount_and_join` is called), which unmounts.
pub fn mount(
    repo: Arc<Repo>,
    mountpoint: &Path,
    opts: MountOptions,
) -> std::io::Result<fuser::BackgroundSession> {
    let mut cfg = fuser::Config::default();
    cfg.mount_options = vec![
        fuser::MountOption::RO,
        fuser::MountOption::FSName("vcd".into()),
        fuser::MountOption::Subtype("vcd".into()),
        fuser::MountOption::DefaultPermissions,
        fuser::MountOption::NoDev,
        fuser::MountOption::NoSuid,
    ];
    if opts.allow_other {
        cfg.acl = fuser::SessionACL::All;
    }
    cfg.n_threads = Some(opts.threads.max(1));
    let fs = SnapshotFs::new(repo, opts);
    fuser::spawn_mount(fs, mountpoint, &cfg)
}
