//! The filesystem edge of a backup: turning what `lstat`, `readlink`, `llistxattr` and
//! `SEEK_DATA` say about a path into a tree `Node`. The metadata half of that edge; the backup
//! walk opens the files itself. Putting metadata back is the restore's (`restore::target`,
//! through descriptors only).

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
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
