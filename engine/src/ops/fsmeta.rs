//! The filesystem edge: turning what `lstat`, `readlink`, `llistxattr` and `SEEK_DATA` say about
//! a path into a tree `Node`, and putting a node's metadata back onto a restored path. The
//! metadata half of the filesystem edge; the backup walk and the restore writer open and
//! create the files themselves, the local backend holds the repository and `cache` the local
//! index.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::Mutex;

use crate::format::tree::{self, Node, NodeKind, Timestamp, Xattr};

pub fn kind_of(m: &Metadata) -> NodeKind {
    let ft = m.file_type();
    if ft.is_dir() {
        NodeKind::Dir
    } else if ft.is_symlink() {
        NodeKind::Symlink
    } else if ft.is_fifo() {
        NodeKind::Fifo
    } else if ft.is_char_device() {
        NodeKind::CharDevice
    } else if ft.is_block_device() {
        NodeKind::BlockDevice
    } else if ft.is_socket() {
        NodeKind::Socket
    } else {
        NodeKind::File
    }
}

/// uid/gid → name, looked up once each per process.
#[derive(Default)]
pub struct Names {
    users: Mutex<HashMap<u32, String>>,
    groups: Mutex<HashMap<u32, String>>,
}

impl Names {
    pub fn user(&self, uid: u32) -> String {
        self.users
            .lock()
            .unwrap()
            .entry(uid)
            .or_insert_with(|| {
                nix::unistd::User::from_uid(uid.into())
                    .ok()
                    .flatten()
                    .map(|u| u.name)
                    .unwrap_or_default()
            })
            .clone()
    }

    pub fn group(&self, gid: u32) -> String {
        self.groups
            .lock()
            .unwrap()
            .entry(gid)
            .or_insert_with(|| {
                nix::unistd::Group::from_gid(gid.into())
                    .ok()
                    .flatten()
                    .map(|g| g.name)
                    .unwrap_or_default()
            })
            .clone()
    }
}

/// A node for `path` with everything but a file's content and a directory's subtree. A name or
/// symlink target longer than a tree may hold (FORMAT.md §8; no Linux system call takes one)
/// is an error for this entry alone, never a tree that readers refuse.
pub fn node_from(name: &[u8], path: &Path, m: &Metadata, names: &Names) -> io::Result<Node> {
    let too_long = |what: &str, len: usize, max: usize| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} of {len} bytes, longer than a snapshot holds ({max})"),
        )
    };
    if name.len() > tree::MAX_NAME {
        return Err(too_long("a name", name.len(), tree::MAX_NAME));
    }
    let kind = kind_of(m);
    let mut n = Node::new(name.to_vec(), kind);
    n.mode = m.mode() & 0o7777;
    n.uid = m.uid();
    n.gid = m.gid();
    n.user = names.user(m.uid());
    n.group = names.group(m.gid());
    n.mtime = Timestamp {
        sec: m.mtime(),
        nsec: m.mtime_nsec() as u32,
    };
    n.ctime = Timestamp {
        sec: m.ctime(),
        nsec: m.ctime_nsec() as u32,
    };
    n.inode = m.ino();
    n.device = m.dev();
    n.links = m.nlink();
    if kind == NodeKind::File {
        n.size = m.len();
    }
    if matches!(kind, NodeKind::CharDevice | NodeKind::BlockDevice) {
        n.rdev = m.rdev();
    }
    if kind == NodeKind::Symlink {
        let t = std::fs::read_link(path)?;
        let len = t.as_os_str().len();
        if len > tree::MAX_TARGET {
            return Err(too_long("a symlink target", len, tree::MAX_TARGET));
        }
        n.target = Some(serde_bytes::ByteBuf::from(
            t.as_os_str().as_bytes().to_vec(),
        ));
    }
    n.xattrs = read_xattrs(path);
    Ok(n)
}

/// Extended attributes of the path itself (not a symlink's target). Filesystems without xattr
/// support simply have none. Attributes beyond the tree format's bounds (FORMAT.md §8) are left
/// out with a warning: Linux cannot give one, but a tree holding one would be refused by every
/// reader.
pub fn read_xattrs(path: &Path) -> Vec<Xattr> {
    let Ok(list) = xattr::list(path) else {
        return Vec::new();
    };
    let mut out: Vec<Xattr> = list
        .filter_map(|name| {
            let value = xattr::get(path, &name).ok().flatten()?;
            Some(Xattr {
                name: name.as_bytes().to_vec(),
                value,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    let (kept, dropped) = tree::fit_xattrs(out);
    for why in dropped {
        tracing::warn!("{}: {why}; not backed up", path.display());
    }
    kept
}

/// The data regions of a file as (offset, length), found with SEEK_DATA/SEEK_HOLE. Files that
/// occupy as many blocks as their size cannot have holes and skip the probing.
pub fn data_regions(f: &File, m: &Metadata) -> io::Result<Vec<(u64, u64)>> {
    use nix::errno::Errno;
    use nix::unistd::{lseek, Whence};
    let size = m.len();
    if size == 0 {
        return Ok(vec![]);
    }
    if m.blocks() * 512 >= size {
        return Ok(vec![(0, size)]);
    }
    let fd = f.as_raw_fd();
    let mut out = Vec::new();
    let mut pos: i64 = 0;
    while (pos as u64) < size {
        let data = match lseek(fd, pos, Whence::SeekData) {
            Ok(d) => d,
            Err(Errno::ENXIO) => break, // only a hole remains
            Err(Errno::EINVAL) => return Ok(vec![(0, size)]), // filesystem without SEEK_DATA
            Err(e) => return Err(e.into()),
        };
        let hole = lseek(fd, data, Whence::SeekHole)?;
        let end = (hole as u64).min(size);
        if end > data as u64 {
            out.push((data as u64, end - data as u64));
        }
        pos = hole;
    }
    Ok(out)
}

fn ft(t: Timestamp) -> filetime::FileTime {
    filetime::FileTime::from_unix_time(t.sec, t.nsec)
}

/// Applies ownership (when `chown`), mode, xattrs and times to a restored path. Order matters:
/// chown clears setuid bits, so mode comes after it; times come last because setting xattrs
/// or mode changes ctime only, but writing would change mtime.
pub fn apply_metadata(path: &Path, n: &Node, chown: bool) -> io::Result<()> {
    let is_link = n.kind == NodeKind::Symlink;
    if chown {
        std::os::unix::fs::lchown(path, Some(n.uid), Some(n.gid))?;
    }
    if !is_link {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(n.mode))?;
    }
    for x in &n.xattrs {
        if let Err(e) = xattr::set(path, OsStr::from_bytes(&x.name), &x.value) {
            // Not every target filesystem takes every namespace: report, do not fail the file.
            tracing::warn!(
                "{}: cannot set xattr {}: {e}",
                path.display(),
                String::from_utf8_lossy(&x.name)
            );
        }
    }
    // utimensat(AT_SYMLINK_NOFOLLOW) for every kind: `filetime::set_file_times` opens the
    // path, which blocks forever on a fifo (no writer) and would follow a symlink.
    filetime::set_symlink_file_times(path, ft(n.mtime), ft(n.mtime))
}

/// `apply_metadata` for a regular file already open for writing: the same order, through the
/// descriptor, so no path is walked again (per-path calls were a tenth of a restore's system time
/// on a tree of small files) and nothing can be swapped in under the name meanwhile.
pub fn apply_file_metadata(
    f: &std::fs::File,
    path: &Path,
    n: &Node,
    chown: bool,
) -> io::Result<()> {
    use xattr::FileExt as _;
    if chown {
        std::os::unix::fs::fchown(f, Some(n.uid), Some(n.gid))?;
    }
    f.set_permissions(std::fs::Permissions::from_mode(n.mode))?;
    for x in &n.xattrs {
        if let Err(e) = f.set_xattr(OsStr::from_bytes(&x.name), &x.value) {
            tracing::warn!(
                "{}: cannot set xattr {}: {e}",
                path.display(),
                String::from_utf8_lossy(&x.name)
            );
        }
    }
    filetime::set_file_handle_times(f, Some(ft(n.mtime)), Some(ft(n.mtime)))
}

/// Creates a fifo, device node or socket placeholder.
pub fn make_special(path: &Path, n: &Node) -> io::Result<()> {
    use nix::sys::stat::{mknod, Mode, SFlag};
    let kind = match n.kind {
        NodeKind::Fifo => SFlag::S_IFIFO,
        NodeKind::CharDevice => SFlag::S_IFCHR,
        NodeKind::BlockDevice => SFlag::S_IFBLK,
        NodeKind::Socket => SFlag::S_IFSOCK,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a special file",
            ))
        }
    };
    mknod(
        path,
        kind,
        Mode::from_bits_truncate(n.mode & 0o777),
        n.rdev as libc::dev_t,
    )
    .map_err(io::Error::from)
}
