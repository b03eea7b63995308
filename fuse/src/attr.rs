//! Attributes: what `stat` shows for each kind of entry (node → `FileAttr`), including the
//! narrowing of the tree's 64-bit device numbers and link counts to the kernel's 32 bits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::format::tree::NodeKind;

use crate::inodes::Entry;
use fuser::{FileAttr, FileType, INodeNo};

pub(crate) fn systime(sec: i64, nsec: u32) -> SystemTime {
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

pub(crate) fn ftype(k: NodeKind) -> FileType {
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

/// A glibc `dev_t` (as `stat` gave it at backup) in the kernel's 32-bit encoding for FUSE
/// (`new_encode_dev`: 12 bits of major, 20 of minor). None when the numbers do not fit: cutting
/// bits off would show another device.
pub(crate) fn rdev32(dev: u64) -> Option<u32> {
    // glibc's layout: minor in bits 0-7 and 20-43, major in bits 8-19 and 44-63.
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    if major > 0xfff || minor > 0xf_ffff {
        return None;
    }
    Some(((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)) as u32)
}

/// Link counts past the kernel's 32 bits show as the largest it can hold, not wrapped.
pub(crate) fn nlink32(links: u64) -> u32 {
    u32::try_from(links.max(1)).unwrap_or(u32::MAX)
}

/// The attributes of a directory the mount makes up (root, groups, snapshot roots).
pub(crate) fn dir_attr(ino: u64, mtime: SystemTime, uid: u32, gid: u32) -> FileAttr {
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
        uid,
        gid,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

/// The attributes of a link the mount makes up (`latest`, `ids/…`, `tags/…`).
pub(crate) fn link_attr(
    ino: u64,
    target: &[u8],
    mtime: SystemTime,
    uid: u32,
    gid: u32,
) -> FileAttr {
    FileAttr {
        kind: FileType::Symlink,
        perm: 0o777,
        nlink: 1,
        size: target.len() as u64,
        ..dir_attr(ino, mtime, uid, gid)
    }
}

/// The attributes of an entry of a snapshot, as stored. A device number that does not fit shows
/// as 0 (no device) with a warning, rather than as some other device.
pub(crate) fn node_attr(ino: u64, n: &Entry) -> FileAttr {
    let size = match n.kind {
        NodeKind::File => n.size,
        NodeKind::Symlink => n.target.as_ref().map_or(0, |t| t.len() as u64),
        _ => 0,
    };
    let rdev = rdev32(n.rdev).unwrap_or_else(|| {
        tracing::warn!(
            "inode {ino}: device number {:#x} does not fit in FUSE's 32 bits; shown as 0",
            n.rdev
        );
        0
    });
    FileAttr {
        ino: INodeNo(ino),
        size,
        // Only stored data occupies blocks: holes stay holes, as `du` expects.
        blocks: n.stored.div_ceil(512),
        atime: systime(n.mtime.sec, n.mtime.nsec),
        mtime: systime(n.mtime.sec, n.mtime.nsec),
        ctime: systime(n.ctime.sec, n.ctime.nsec),
        crtime: systime(n.mtime.sec, n.mtime.nsec),
        kind: ftype(n.kind),
        perm: (n.mode & 0o7777) as u16,
        nlink: nlink32(n.links),
        uid: n.uid,
        gid: n.gid,
        rdev,
        blksize: 4096,
        flags: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::format::tree::Node;
    use engine::Id;

    fn entry(n: &Node) -> Entry {
        Entry::new(n, Id([0; 32]))
    }

    /// The kernel's `new_decode_dev`, to check the encoding round-trips.
    fn decode(d: u32) -> (u64, u64) {
        let d = d as u64;
        ((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00))
    }

    #[test]
    fn device_numbers_keep_major_and_minor_or_are_refused() {
        for (major, minor) in [(0, 0), (1, 3), (8, 17), (259, 65536), (0xfff, 0xf_ffff)] {
            let dev = libc::makedev(major, minor);
            assert_eq!(
                decode(rdev32(dev).unwrap()),
                (major as u64, minor as u64),
                "{major}:{minor}"
            );
        }
        // Numbers the 32-bit encoding cannot carry are refused, not cut to another device
        // (the old `as u32` turned 4096:0 into 0:0 and 1:0x100000 into 1:0).
        assert_eq!(rdev32(libc::makedev(0x1000, 0)), None);
        assert_eq!(rdev32(libc::makedev(1, 0x10_0000)), None);
        assert_eq!(rdev32(libc::makedev(u32::MAX, u32::MAX)), None);
    }

    #[test]
    fn link_counts_saturate() {
        assert_eq!(nlink32(0), 1);
        assert_eq!(nlink32(7), 7);
        assert_eq!(nlink32(u32::MAX as u64), u32::MAX);
        assert_eq!(nlink32(u32::MAX as u64 + 2), u32::MAX);
        let mut n = Node::new(b"f".to_vec(), NodeKind::File);
        n.links = 1 << 32;
        assert_eq!(node_attr(2, &entry(&n)).nlink, u32::MAX);
        let mut d = Node::new(b"d".to_vec(), NodeKind::CharDevice);
        d.rdev = libc::makedev(0x1000, 1);
        assert_eq!(node_attr(2, &entry(&d)).rdev, 0);
        d.rdev = libc::makedev(4, 64);
        assert_eq!(decode(node_attr(2, &entry(&d)).rdev), (4, 64));
    }
}
