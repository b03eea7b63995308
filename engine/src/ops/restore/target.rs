//! The restore target, reached through directory descriptors only. A root restore writes into
//! a tree that other users may change while it runs (an in-place restore over `/home`, a target
//! someone pre-created): a path walked again by name could meet a symlink swapped in since.
//! So nothing here resolves more than one component at a time, no component is followed if it
//! is a symlink, and every entry is created and given its metadata through the descriptor of
//! the directory that holds it (or a verified `O_PATH` descriptor of the entry itself).
//!
//! Every directory the restore makes or enters is recorded (`DirRec`: parent, name, device
//! and inode, final metadata): a few dozen bytes plus its name, so a crafted tree of millions
//! of directories costs memory for its names only. A directory is reopened later (hard links,
//! final metadata) by `Cursor`, one component at a time from a descriptor already held, and must
//! still be the same inode, or the operation on it fails with `Changed`.
//!
//! Directories are created 0700 and owned by the restoring user; their final owner, mode and
//! times are set only after everything inside them is written, so no one reads a file early
//! through a directory that will be closed, and no one else can rename entries in a directory
//! this restore is still filling. A directory that already exists and belongs to someone else
//! is refused unless the caller allows it (its owner could rename entries under the restore).

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, XattrFlags};

use crate::format::tree::{Node, NodeKind, Timestamp, Xattr};

pub(super) type DirFd = Arc<OwnedFd>;

/// Descriptors a cursor keeps open below the target: deeper directories are reopened through
/// `..` of the one above them when the walk climbs back (checked against their inode).
const HELD: usize = 64;

/// What the restore applies to a directory once everything inside it is written.
#[derive(Clone, Copy, Debug)]
pub(super) struct DirMeta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: Timestamp,
}

impl DirMeta {
    pub fn of(n: &Node) -> Self {
        DirMeta {
            mode: n.mode,
            uid: n.uid,
            gid: n.gid,
            mtime: n.mtime,
        }
    }
}

pub(super) struct DirRec {
    parent: u32,
    name: Box<[u8]>,
    dev: u64,
    ino: u64,
    /// Made by this restore (never removed by it, whatever comes later under the same name).
    created: bool,
    /// None for the target and for directories only passed through to reach a selection.
    pub meta: Option<DirMeta>,
}

/// What the restore may do to the target's existing content and to what it creates.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rules {
    /// Set owners (only root can).
    pub chown: bool,
    pub xattrs: bool,
    /// Enter existing directories that belong to another user.
    pub allow_foreign: bool,
    pub euid: u32,
}

/// The directory records of one restore; index 0 is the target itself.
pub(super) struct Dirs {
    root: PathBuf,
    recs: Vec<DirRec>,
}

fn changed(what: &str) -> io::Error {
    io::Error::other(format!(
        "{what} changed during the restore (renamed or replaced); left alone"
    ))
}

fn os(name: &[u8]) -> &OsStr {
    OsStr::from_bytes(name)
}

/// Opens `name` in `dir` as a directory, never through a symlink.
fn open_dir_at(dir: BorrowedFd, name: &[u8]) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rfs::openat(dir, os(name), flags, Mode::empty())?)
}

fn identity(fd: BorrowedFd) -> io::Result<rfs::Stat> {
    Ok(rfs::fstat(fd)?)
}

fn foreign(st: &rfs::Stat, rules: &Rules) -> io::Result<()> {
    if st.st_uid != rules.euid && !rules.allow_foreign {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "directory belongs to uid {}, not to the restoring user (uid {}): its owner could \
                 redirect what is written inside; refused (--allow-foreign-dirs to restore into it)",
                st.st_uid, rules.euid
            ),
        ));
    }
    Ok(())
}

impl Dirs {
    /// Opens the target (created if missing; symlinks in the path given by the caller are
    /// the caller's choice and are followed once, here).
    pub fn open(target: &Path, rules: &Rules) -> io::Result<(Dirs, DirFd)> {
        std::fs::create_dir_all(target)?;
        let root = std::fs::canonicalize(target)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rfs::openat(rfs::CWD, &root, flags, Mode::empty())?;
        let st = identity(fd.as_fd())?;
        foreign(&st, rules)?;
        let rec = DirRec {
            parent: 0,
            name: Box::new([]),
            dev: st.st_dev,
            ino: st.st_ino,
            created: false,
            meta: None,
        };
        Ok((
            Dirs {
                root,
                recs: vec![rec],
            },
            Arc::new(fd),
        ))
    }

    pub fn rec(&self, i: u32) -> &DirRec {
        &self.recs[i as usize]
    }

    pub fn len(&self) -> u32 {
        self.recs.len() as u32
    }

    /// The path of directory `i` (for messages only: nothing is opened by path).
    pub fn path(&self, i: u32) -> PathBuf {
        let mut names = Vec::new();
        let mut cur = i;
        while cur != 0 {
            let r = &self.recs[cur as usize];
            names.push(&r.name);
            cur = r.parent;
        }
        let mut p = self.root.clone();
        for n in names.iter().rev() {
            p.push(os(n));
        }
        p
    }

    pub fn entry_path(&self, dir: u32, name: &[u8]) -> PathBuf {
        self.path(dir).join(os(name))
    }

    fn ancestors(&self, i: u32) -> Vec<u32> {
        let mut out = vec![i];
        let mut cur = i;
        while cur != 0 {
            cur = self.recs[cur as usize].parent;
            out.push(cur);
        }
        out.reverse();
        out
    }

    fn check(&self, i: u32, fd: BorrowedFd) -> io::Result<()> {
        let st = identity(fd)?;
        let r = &self.recs[i as usize];
        if (st.st_dev, st.st_ino) != (r.dev, r.ino) {
            return Err(changed("directory"));
        }
        Ok(())
    }

    /// Makes `name` a directory in `parent` (record `parent_rec`), or enters the one there.
    /// Something else in the way is removed; a symlink is never followed. New directories are
    /// 0700 until `apply_dir_meta`; `node`'s xattrs go on at once (they change nothing that
    /// the restore does inside the directory).
    pub fn make_dir(
        &mut self,
        parent_rec: u32,
        parent: BorrowedFd,
        name: &[u8],
        node: Option<&Node>,
        rules: &Rules,
    ) -> io::Result<(u32, OwnedFd)> {
        let mut created = match rfs::mkdirat(parent, os(name), Mode::from_raw_mode(0o700)) {
            Ok(()) => true,
            Err(rustix::io::Errno::EXIST) => false,
            Err(e) => return Err(e.into()),
        };
        let fd = match open_dir_at(parent, name) {
            Ok(fd) => fd,
            Err(e) if created => return Err(e),
            Err(_) => {
                self.remove_entry(parent, name)?;
                rfs::mkdirat(parent, os(name), Mode::from_raw_mode(0o700))?;
                created = true;
                open_dir_at(parent, name)?
            }
        };
        let st = identity(fd.as_fd())?;
        if !created {
            foreign(&st, rules)?;
        } else if st.st_uid != rules.euid {
            // Ours a moment ago: someone replaced it between mkdir and open.
            return Err(changed("new directory"));
        }
        if let (Some(n), true) = (node, rules.xattrs) {
            set_xattrs_fd(fd.as_fd(), &n.xattrs);
        }
        self.recs.push(DirRec {
            parent: parent_rec,
            name: name.into(),
            dev: st.st_dev,
            ino: st.st_ino,
            created,
            meta: node.map(DirMeta::of),
        });
        Ok((self.recs.len() as u32 - 1, fd))
    }

    /// Removes whatever is at `name` in `dir` (a whole directory tree included), unless it
    /// is a directory this restore made: that is never removed, whoever put its name in the way.
    pub fn remove_entry(&self, dir: BorrowedFd, name: &[u8]) -> io::Result<()> {
        let st = match rfs::statat(dir, os(name), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Ok(rfs::unlinkat(dir, os(name), AtFlags::empty())?);
        }
        if self
            .recs
            .iter()
            .any(|r| r.created && (r.dev, r.ino) == (st.st_dev, st.st_ino))
        {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a directory restored earlier is in the way (duplicate name in the snapshot)",
            ));
        }
        remove_tree(dir, name)
    }
}

/// Removes directory `name` in `parent` and everything below it, one descriptor per level and
/// no recursion, never following a symlink.
fn remove_tree(parent: BorrowedFd, name: &[u8]) -> io::Result<()> {
    let mut stack: Vec<(OwnedFd, Vec<u8>)> = vec![(open_dir_at(parent, name)?, name.to_vec())];
    while let Some((top, _)) = stack.last() {
        let mut sub = None;
        for e in rfs::Dir::read_from(top)? {
            let e = e?;
            let n = e.file_name().to_bytes();
            if n == b"." || n == b".." {
                continue;
            }
            let is_dir = match e.file_type() {
                FileType::Directory => true,
                FileType::Unknown => {
                    let st = rfs::statat(top, os(n), AtFlags::SYMLINK_NOFOLLOW)?;
                    FileType::from_raw_mode(st.st_mode) == FileType::Directory
                }
                _ => false,
            };
            if is_dir {
                sub = Some(n.to_vec());
                break;
            }
            rfs::unlinkat(top, os(n), AtFlags::empty())?;
        }
        match sub {
            Some(n) => {
                let fd = open_dir_at(top.as_fd(), &n)?;
                stack.push((fd, n));
            }
            None => {
                let (_, n) = stack.pop().expect("loop runs on a non-empty stack");
                let up = stack.last().map_or(parent, |(fd, _)| fd.as_fd());
                rfs::unlinkat(up, os(&n), AtFlags::REMOVEDIR)?;
            }
        }
    }
    Ok(())
}

/// A position in the restored tree: descriptors of the directories from the target down to
/// the current one (the deepest `HELD` of them, and the target), with their records.
pub(super) struct Cursor {
    chain: Vec<(u32, Option<DirFd>)>,
}

impl Cursor {
    pub fn new(root: DirFd) -> Self {
        Cursor {
            chain: vec![(0, Some(root))],
        }
    }

    /// The current directory's record and descriptor.
    pub fn top(&self) -> (u32, &DirFd) {
        let (rec, fd) = self.chain.last().expect("the target is never popped");
        (
            *rec,
            fd.as_ref().expect("the current directory is always held"),
        )
    }

    pub fn push(&mut self, rec: u32, fd: DirFd) {
        self.chain.push((rec, Some(fd)));
        let n = self.chain.len();
        if n > HELD + 1 {
            self.chain[n - 1 - HELD].1 = None;
        }
    }

    /// Climbs to the parent. Its descriptor, if dropped, is reopened through `..` and must be
    /// the same directory; if it is not (something above was moved), the cursor starts again
    /// from the target and walks down by name, checking every step.
    pub fn pop(&mut self, dirs: &Dirs) -> io::Result<()> {
        assert!(self.chain.len() > 1, "the target is never popped");
        let (_, fd) = self.chain.pop().expect("checked above");
        let last = self.chain.last_mut().expect("the target remains");
        if last.1.is_some() {
            return Ok(());
        }
        let want = last.0;
        let up = fd
            .as_deref()
            .ok_or_else(|| changed("directory"))
            .and_then(|fd| open_dir_at(fd.as_fd(), b".."));
        match up.and_then(|up| dirs.check(want, up.as_fd()).map(|()| up)) {
            Ok(up) => {
                last.1 = Some(Arc::new(up));
                Ok(())
            }
            Err(_) => {
                let recs: Vec<u32> = self.chain.iter().map(|(r, _)| *r).collect();
                self.chain.truncate(1);
                for r in recs.into_iter().skip(1) {
                    self.descend(dirs, r)?;
                }
                Ok(())
            }
        }
    }

    fn descend(&mut self, dirs: &Dirs, rec: u32) -> io::Result<()> {
        let (_, top) = self.top();
        let fd = open_dir_at(top.as_fd(), &dirs.rec(rec).name)?;
        dirs.check(rec, fd.as_fd())?;
        self.push(rec, Arc::new(fd));
        Ok(())
    }

    /// Moves to directory `rec` (climbing and descending as little as the two paths differ)
    /// and returns its descriptor. On failure the cursor is back at the target.
    pub fn goto(&mut self, dirs: &Dirs, rec: u32) -> io::Result<DirFd> {
        let want = dirs.ancestors(rec);
        let mut k = 0;
        while k < self.chain.len() && k < want.len() && self.chain[k].0 == want[k] {
            k += 1;
        }
        let res = (|| {
            while self.chain.len() > k {
                self.pop(dirs)?;
            }
            for &r in &want[k..] {
                self.descend(dirs, r)?;
            }
            Ok(())
        })();
        if let Err(e) = res {
            self.chain.truncate(1);
            return Err(e);
        }
        Ok(Arc::clone(self.top().1))
    }
}

/// Creates regular file `name` in `dir` for writing (and reading back when `read`), sized so
/// that holes stay holes. Whatever is in the way is removed first (see `remove_entry`).
pub(super) fn create_file_at(
    dirs_remove: impl Fn(BorrowedFd, &[u8]) -> io::Result<()>,
    dir: BorrowedFd,
    name: &[u8],
    size: u64,
    read: bool,
) -> io::Result<File> {
    let access = if read { OFlags::RDWR } else { OFlags::WRONLY };
    let flags = access | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let open = || rfs::openat(dir, os(name), flags, Mode::from_raw_mode(0o600));
    let fd = match open() {
        Err(rustix::io::Errno::EXIST) => {
            dirs_remove(dir, name)?;
            open()?
        }
        r => r?,
    };
    let f = File::from(fd);
    if size > 0 {
        f.set_len(size)?;
    }
    Ok(f)
}

/// Opens regular file `name` in `dir` (never following a link, never blocking on a fifo)
/// when it is still the file `u` describes: same device, inode, size, modification and change
/// times, one name. What is checked is what was opened, so a file swapped in after the image
/// is not taken for it.
pub(super) fn open_unchanged(
    dir: BorrowedFd,
    name: &[u8],
    u: &super::writer::Unchanged,
) -> Option<File> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let f = File::from(rfs::openat(dir, os(name), flags, Mode::empty()).ok()?);
    let st = rfs::fstat(&f).ok()?;
    let same = rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::RegularFile
        && st.st_nlink == 1
        && st.st_dev == u.device
        && st.st_ino == u.inode
        && st.st_size as u64 == u.size
        && (st.st_mtime, st.st_mtime_nsec as u32) == (u.mtime.sec, u.mtime.nsec)
        && (st.st_ctime, st.st_ctime_nsec as u32) == (u.ctime.sec, u.ctime.nsec);
    if !same {
        return None;
    }
    // The image may have left out an attribute it could not read or store (an ACL it could
    // not read, a value too large): the file must have no name beyond those it recorded.
    let mut buf = vec![0u8; 64 << 10];
    let len = rfs::flistxattr(&f, &mut buf).ok()?;
    let mut names: Vec<&[u8]> = buf[..len]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .collect();
    names.sort_unstable();
    let mut want: Vec<&[u8]> = u.xattrs.iter().map(|n| &n[..]).collect();
    want.sort_unstable();
    (names == want).then_some(f)
}

/// Creates a symlink, fifo, device node or socket `n` as `name` in `dir`, 0600 until its
/// metadata goes on.
pub(super) fn make_special_at(
    dirs_remove: impl Fn(BorrowedFd, &[u8]) -> io::Result<()>,
    dir: BorrowedFd,
    name: &[u8],
    n: &Node,
) -> io::Result<()> {
    let make = || -> rustix::io::Result<()> {
        let ft = match n.kind {
            NodeKind::Symlink => {
                let t = n.target.as_deref().map(|t| t.as_ref()).unwrap_or(&[][..]);
                return rfs::symlinkat(os(t), dir, os(name));
            }
            NodeKind::Fifo => FileType::Fifo,
            NodeKind::CharDevice => FileType::CharacterDevice,
            NodeKind::BlockDevice => FileType::BlockDevice,
            NodeKind::Socket => FileType::Socket,
            _ => return Err(rustix::io::Errno::INVAL),
        };
        rfs::mknodat(dir, os(name), ft, Mode::from_raw_mode(0o600), n.rdev as _)
    };
    match make() {
        Err(rustix::io::Errno::EXIST) => {
            dirs_remove(dir, name)?;
            Ok(make()?)
        }
        r => Ok(r?),
    }
}

fn kind_matches(st: &rfs::Stat, kind: NodeKind) -> bool {
    let ft = FileType::from_raw_mode(st.st_mode);
    matches!(
        (kind, ft),
        (NodeKind::Symlink, FileType::Symlink)
            | (NodeKind::Fifo, FileType::Fifo)
            | (NodeKind::CharDevice, FileType::CharacterDevice)
            | (NodeKind::BlockDevice, FileType::BlockDevice)
            | (NodeKind::Socket, FileType::Socket)
    )
}

fn timestamps(t: Timestamp) -> rfs::Timestamps {
    let ts = rfs::Timespec {
        tv_sec: t.sec,
        tv_nsec: t.nsec.min(999_999_999) as _,
    };
    rfs::Timestamps {
        last_access: ts,
        last_modification: ts,
    }
}

fn owner(uid: u32, gid: u32) -> (Option<rfs::Uid>, Option<rfs::Gid>) {
    // -1 means "leave unchanged" to the kernel: a snapshot cannot ask for it.
    let u = (uid != u32::MAX).then(|| rfs::Uid::from_raw(uid));
    let g = (gid != u32::MAX).then(|| rfs::Gid::from_raw(gid));
    (u, g)
}

/// A namespace the target filesystem refuses is reported, not an error of the restore.
fn xattr_refused(x: &Xattr, e: rustix::io::Errno) {
    tracing::warn!(
        "cannot set xattr {}: {}",
        String::from_utf8_lossy(&x.name),
        io::Error::from(e)
    );
}

fn set_xattrs_fd(fd: BorrowedFd, xattrs: &[Xattr]) {
    for x in xattrs {
        if let Err(e) = rfs::fsetxattr(fd, os(&x.name), &x.value, XattrFlags::empty()) {
            xattr_refused(x, e);
        }
    }
}

/// Puts a symlink's or special file's metadata on `name` in `dir`: through an `O_PATH`
/// descriptor of the entry, checked to be what was just made, so nothing swapped in under the
/// name is touched (chmod and xattrs go through `/proc/self/fd`, which names that object).
pub(super) fn apply_special_meta(
    dir: BorrowedFd,
    name: &[u8],
    n: &Node,
    rules: &Rules,
) -> io::Result<()> {
    let fd = rfs::openat(
        dir,
        os(name),
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let st = identity(fd.as_fd())?;
    if !kind_matches(&st, n.kind) {
        return Err(changed("entry"));
    }
    if rules.chown {
        let (u, g) = owner(n.uid, n.gid);
        rfs::chownat(&fd, "", u, g, AtFlags::EMPTY_PATH)?;
    }
    let proc = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let is_link = n.kind == NodeKind::Symlink;
    if !is_link {
        rfs::chmodat(
            rfs::CWD,
            &proc,
            Mode::from_raw_mode(n.mode & 0o7777),
            AtFlags::empty(),
        )?;
    }
    if rules.xattrs {
        // A symlink's own xattrs: its name inside the held directory, not followed.
        let link_path = format!("/proc/self/fd/{}/", dir.as_raw_fd());
        for x in &n.xattrs {
            let r = if is_link {
                let mut p = link_path.clone().into_bytes();
                p.extend_from_slice(name);
                rfs::lsetxattr(os(&p), os(&x.name), &x.value, XattrFlags::empty())
            } else {
                rfs::setxattr(&proc, os(&x.name), &x.value, XattrFlags::empty())
            };
            if let Err(e) = r {
                xattr_refused(x, e);
            }
        }
    }
    let ts = timestamps(n.mtime);
    if is_link {
        rfs::utimensat(dir, os(name), &ts, AtFlags::SYMLINK_NOFOLLOW)?;
    } else {
        rfs::utimensat(rfs::CWD, &proc, &ts, AtFlags::empty())?;
    }
    Ok(())
}

/// A directory's final owner, mode and times, through its descriptor. Owner first: chown
/// clears setgid, which the mode then restores.
pub(super) fn apply_dir_meta(fd: BorrowedFd, m: &DirMeta, rules: &Rules) -> io::Result<()> {
    if rules.chown {
        let (u, g) = owner(m.uid, m.gid);
        rfs::fchown(fd, u, g)?;
    }
    rfs::fchmod(fd, Mode::from_raw_mode(m.mode & 0o7777))?;
    rfs::futimens(fd, &timestamps(m.mtime))?;
    Ok(())
}

/// A regular file's metadata through the descriptor it was written by.
pub(super) fn apply_file_meta(f: &File, n: &Node, rules: &Rules) -> io::Result<()> {
    if rules.chown {
        let (u, g) = owner(n.uid, n.gid);
        rfs::fchown(f, u, g)?;
    }
    rfs::fchmod(f, Mode::from_raw_mode(n.mode & 0o7777))?;
    if rules.xattrs {
        set_xattrs_fd(f.as_fd(), &n.xattrs);
    }
    rfs::futimens(f, &timestamps(n.mtime))?;
    Ok(())
}

/// A second name for a file restored earlier: `first` in `from_dir` linked as `name` in
/// `dir`, replacing what is in the way. The first name is not followed if it is a symlink.
pub(super) fn link_at(
    dirs: &Dirs,
    from_dir: BorrowedFd,
    first: &[u8],
    dir: BorrowedFd,
    name: &[u8],
) -> io::Result<()> {
    let link = || rfs::linkat(from_dir, os(first), dir, os(name), AtFlags::empty());
    match link() {
        Err(rustix::io::Errno::EXIST) => {
            dirs.remove_entry(dir, name)?;
            Ok(link()?)
        }
        r => Ok(r?),
    }
}
