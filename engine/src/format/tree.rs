//! Directory trees (FORMAT.md §Trees). A tree blob lists one directory's entries, sorted by
//! name; subdirectories point at their own tree blob by id, so an unchanged subtree has the same
//! id in every snapshot and is stored once. Encoding: one version byte, then postcard (a
//! documented, stable varint format) of `Tree`. Names are raw bytes: any Unix file name
//! round-trips, UTF-8 or not.
//!
//! Every variable-length field of a node is bounded (names, symlink targets, extended
//! attributes: FORMAT.md §8) by what Linux itself allows, so that no consumer holds or
//! recreates more per entry than a real filesystem could have given the backup; a tree
//! exceeding a bound is damage, and the backup keeps within them (`fit_xattrs`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

pub const TREE_VERSION: u8 = 1;

/// The longest entry name: no system call takes a path component longer (PATH_MAX, 4096 with
/// its NUL). Most filesystems stop at 255 bytes, but 255 UTF-16 units of an SMB or NTFS name
/// can be 765 bytes of UTF-8.
pub const MAX_NAME: usize = 4095;
/// The longest symlink target `symlink(2)` accepts (PATH_MAX with its NUL).
pub const MAX_TARGET: usize = 4095;
/// The longest extended attribute name (Linux's XATTR_NAME_MAX).
pub const MAX_XATTR_NAME: usize = 255;
/// The largest extended attribute value (Linux's XATTR_SIZE_MAX).
pub const MAX_XATTR_VALUE: usize = 64 << 10;
/// The most bytes a node's attribute names may take, each with a NUL: the most `listxattr`
/// returns (Linux's XATTR_LIST_MAX), so no Linux file has more.
pub const MAX_XATTR_LIST: usize = 64 << 10;
/// The most bytes of attribute values one node may carry. Linux has no such limit, but no
/// common filesystem comes near it (ext4 keeps a node's attributes in one block unless
/// `ea_inode` is on); it keeps one entry's attributes small beside its tree.
pub const MAX_XATTR_VALUES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

/// A run of a file's bytes: stored data, or a hole that was never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Extent {
    Data { id: Id, len: u32 },
    Hole { len: u64 },
}

impl Extent {
    pub fn len(&self) -> u64 {
        match *self {
            Extent::Data { len, .. } => len as u64,
            Extent::Hole { len } => len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xattr {
    #[serde(with = "serde_bytes")]
    pub name: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    #[serde(with = "serde_bytes")]
    pub name: Vec<u8>,
    pub kind: NodeKind,
    /// Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    pub group: String,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    pub size: u64,
    pub inode: u64,
    pub device: u64,
    pub links: u64,
    /// Device number of character and block devices.
    pub rdev: u64,
    /// Symlink target, raw bytes.
    pub target: Option<serde_bytes::ByteBuf>,
    pub xattrs: Vec<Xattr>,
    /// A file's bytes in order; extents add up to `size`.
    pub content: Vec<Extent>,
    /// A directory's tree blob.
    pub subtree: Option<Id>,
}

impl Node {
    pub fn new(name: Vec<u8>, kind: NodeKind) -> Self {
        Node {
            name,
            kind,
            mode: 0,
            uid: 0,
            gid: 0,
            user: String::new(),
            group: String::new(),
            mtime: Timestamp::default(),
            ctime: Timestamp::default(),
            size: 0,
            inode: 0,
            device: 0,
            links: 1,
            rdev: 0,
            target: None,
            xattrs: Vec::new(),
            content: Vec::new(),
            subtree: None,
        }
    }

    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// Data blob ids of a file, in order.
    pub fn data_ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.content.iter().filter_map(|e| match e {
            Extent::Data { id, .. } => Some(*id),
            Extent::Hole { .. } => None,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// A name a tree may hold: it must stay one path component below its directory.
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(Error::UnsafeName(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    Ok(())
}

/// Why an extended attribute cannot be kept within the bounds, or None when it fits beside
/// attributes taking `list` bytes of names (with their NULs) and `values` bytes of values.
fn xattr_misfit(x: &Xattr, list: usize, values: usize) -> Option<String> {
    let name = String::from_utf8_lossy(&x.name);
    if x.name.is_empty() || x.name.contains(&0) {
        return Some(format!(
            "extended attribute name {name:?} is empty or holds a NUL"
        ));
    }
    if x.name.len() > MAX_XATTR_NAME {
        return Some(format!(
            "extended attribute name of {} bytes, more than {MAX_XATTR_NAME}",
            x.name.len()
        ));
    }
    if x.value.len() > MAX_XATTR_VALUE {
        return Some(format!(
            "extended attribute {name} has {} bytes, more than {MAX_XATTR_VALUE}",
            x.value.len()
        ));
    }
    if list + x.name.len() + 1 > MAX_XATTR_LIST {
        return Some(format!(
            "extended attribute {name}: names take more than {MAX_XATTR_LIST} bytes"
        ));
    }
    if values + x.value.len() > MAX_XATTR_VALUES {
        return Some(format!(
            "extended attribute {name}: values take more than {MAX_XATTR_VALUES} bytes"
        ));
    }
    None
}

/// Keeps the attributes that fit the bounds, in order; returns the kept ones and why each other
/// one was left out. What a backup stores, so that it never writes a tree no reader accepts.
pub fn fit_xattrs(xattrs: Vec<Xattr>) -> (Vec<Xattr>, Vec<String>) {
    let (mut list, mut values) = (0, 0);
    let mut kept = Vec::with_capacity(xattrs.len());
    let mut dropped = Vec::new();
    for x in xattrs {
        match xattr_misfit(&x, list, values) {
            Some(why) => dropped.push(why),
            None => {
                list += x.name.len() + 1;
                values += x.value.len();
                kept.push(x);
            }
        }
    }
    (kept, dropped)
}

/// The bounds of one node's variable-length fields (the name's safety is `check_name`'s).
fn check_bounds(n: &Node) -> std::result::Result<(), String> {
    if n.name.len() > MAX_NAME {
        return Err(format!(
            "a name of {} bytes, more than {MAX_NAME}",
            n.name.len()
        ));
    }
    let what = n.name_lossy();
    if let Some(t) = n.target.as_ref().filter(|t| t.len() > MAX_TARGET) {
        return Err(format!(
            "{what}: a symlink target of {} bytes, more than {MAX_TARGET}",
            t.len()
        ));
    }
    let (mut list, mut values) = (0, 0);
    for x in &n.xattrs {
        if let Some(why) = xattr_misfit(x, list, values) {
            return Err(format!("{what}: {why}"));
        }
        list += x.name.len() + 1;
        values += x.value.len();
    }
    Ok(())
}

impl Tree {
    /// Sorts entries by name, the order the format requires.
    pub fn sort(&mut self) {
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![TREE_VERSION];
        postcard::to_io(self, &mut out).expect("trees serialise into a Vec");
        out
    }

    /// Decodes and validates: unknown versions, trailing bytes, unsafe or duplicate names and
    /// files whose extents disagree with their size are all refused.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let Some((&v, rest)) = b.split_first() else {
            return Err(Error::damaged("tree", "", "empty"));
        };
        if v != TREE_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "tree",
                version: v as u32,
                supported: TREE_VERSION as u32,
            });
        }
        let (t, tail): (Tree, &[u8]) = postcard::take_from_bytes(rest)
            .map_err(|e| Error::damaged("tree", "", e.to_string()))?;
        if !tail.is_empty() {
            return Err(Error::damaged("tree", "", "trailing bytes"));
        }
        for (i, n) in t.nodes.iter().enumerate() {
            // Bounds first: an overlong name is damage, not a name to quote whole.
            check_bounds(n).map_err(|why| Error::damaged("tree", "", why))?;
            check_name(&n.name)?;
            if i > 0 && t.nodes[i - 1].name >= n.name {
                return Err(Error::damaged(
                    "tree",
                    "",
                    "entries not sorted or duplicated",
                ));
            }
            if n.kind == NodeKind::File {
                let sum = n
                    .content
                    .iter()
                    .try_fold(0u64, |a, e| a.checked_add(e.len()));
                if sum != Some(n.size) {
                    return Err(Error::damaged(
                        "tree",
                        "",
                        format!("{}: extents do not add up to the size", n.name_lossy()),
                    ));
                }
            }
            if n.content.iter().any(|e| e.is_empty()) {
                return Err(Error::damaged(
                    "tree",
                    "",
                    format!("{}: empty extent", n.name_lossy()),
                ));
            }
            if n.kind != NodeKind::Dir && n.subtree.is_some() {
                return Err(Error::damaged(
                    "tree",
                    "",
                    format!(
                        "{}: a subtree on something that is not a directory",
                        n.name_lossy()
                    ),
                ));
            }
            if n.kind == NodeKind::Dir && n.subtree.is_none() {
                return Err(Error::damaged(
                    "tree",
                    "",
                    format!("{}: directory without a subtree", n.name_lossy()),
                ));
            }
        }
        Ok(t)
    }

    pub fn find(&self, name: &[u8]) -> Option<&Node> {
        self.position(name).map(|i| &self.nodes[i])
    }

    /// The index of the entry named `name`.
    pub fn position(&self, name: &[u8]) -> Option<usize> {
        self.nodes
            .binary_search_by(|n| n.name.as_slice().cmp(name))
            .ok()
    }

    /// An estimate of the memory the decoded tree holds, for caches bounded by bytes: decoding
    /// multiplies a tree's size (a node of 25 encoded bytes is over 250 in memory), so the
    /// blob's length says little about it.
    pub fn mem_size(&self) -> usize {
        use std::mem::size_of;
        let node = |n: &Node| {
            n.name.len()
                + n.user.len()
                + n.group.len()
                + n.target.as_ref().map_or(0, |t| t.len())
                + n.xattrs
                    .iter()
                    .map(|x| size_of::<Xattr>() + x.name.len() + x.value.len())
                    .sum::<usize>()
                + n.content.len() * size_of::<Extent>()
        };
        size_of::<Tree>()
            + self.nodes.capacity() * size_of::<Node>()
            + self.nodes.iter().map(node).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &[u8], content: Vec<Extent>) -> Node {
        let mut n = Node::new(name.to_vec(), NodeKind::File);
        n.size = content.iter().map(|e| e.len()).sum();
        n.content = content;
        n
    }

    #[test]
    fn roundtrip_with_non_utf8_names_and_holes() {
        let mut t = Tree {
            nodes: vec![
                file(
                    b"b\xff\xfe name\nwith newline",
                    vec![
                        Extent::Data {
                            id: Id([1; 32]),
                            len: 10,
                        },
                        Extent::Hole { len: 1 << 40 },
                    ],
                ),
                file(b"a", vec![]),
            ],
        };
        t.nodes[1].xattrs.push(Xattr {
            name: b"user.x".to_vec(),
            value: vec![0, 1, 2],
        });
        t.sort();
        let b = t.encode();
        assert_eq!(Tree::decode(&b).unwrap(), t);
        assert_eq!(t.find(b"a").unwrap().name, b"a");
        for n in 0..b.len() {
            assert!(Tree::decode(&b[..n]).is_err());
        }
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [&b"../x"[..], b"..", b".", b"a/b", b"", b"a\0b"] {
            let t = Tree {
                nodes: vec![file(bad, vec![])],
            };
            assert!(
                matches!(Tree::decode(&t.encode()), Err(Error::UnsafeName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn size_must_match_extents() {
        let mut n = file(b"f", vec![Extent::Hole { len: 5 }]);
        n.size = 6;
        assert!(Tree::decode(&Tree { nodes: vec![n] }.encode()).is_err());
    }

    fn xattr(name: &[u8], len: usize) -> Xattr {
        Xattr {
            name: name.to_vec(),
            value: vec![7; len],
        }
    }

    fn decode_one(n: Node) -> Result<Tree> {
        Tree::decode(&Tree { nodes: vec![n] }.encode())
    }

    fn refused(n: Node, says: &str) {
        match decode_one(n) {
            Err(e @ Error::Damaged { .. }) => assert!(e.to_string().contains(says), "{e}"),
            r => panic!("{says}: {r:?}"),
        }
    }

    #[test]
    fn xattrs_are_bounded_as_linux_bounds_them() {
        let with = |xs: Vec<Xattr>| {
            let mut n = file(b"f", vec![]);
            n.xattrs = xs;
            n
        };
        decode_one(with(vec![xattr(b"user.max", MAX_XATTR_VALUE)])).unwrap();
        refused(
            with(vec![xattr(b"user.big", MAX_XATTR_VALUE + 1)]),
            "extended attribute user.big has 65537 bytes, more than 65536",
        );
        refused(with(vec![xattr(b"user.bomb", 1 << 20)]), "user.bomb");
        decode_one(with(vec![xattr(&[b'n'; MAX_XATTR_NAME], 1)])).unwrap();
        refused(
            with(vec![xattr(&[b'n'; MAX_XATTR_NAME + 1], 1)]),
            "256 bytes",
        );
        refused(with(vec![xattr(b"", 1)]), "empty");
        refused(with(vec![xattr(b"user.a\0b", 1)]), "NUL");
        // Sixteen values at the limit are 1 MiB; a seventeenth is too many.
        let many = |k: usize| {
            (0..k)
                .map(|i| xattr(format!("user.{i:02}").as_bytes(), MAX_XATTR_VALUE))
                .collect::<Vec<_>>()
        };
        decode_one(with(many(16))).unwrap();
        refused(with(many(17)), "values take more than 1048576 bytes");
        // Names: 256 of 255 bytes (with their NULs, exactly 64 KiB) fit; one more does not.
        let names = |k: usize| {
            (0..k)
                .map(|i| {
                    let mut name = format!("user.{i:03}").into_bytes();
                    name.resize(MAX_XATTR_NAME, b'x');
                    xattr(&name, 0)
                })
                .collect::<Vec<_>>()
        };
        decode_one(with(names(256))).unwrap();
        refused(with(names(257)), "names take more than 65536 bytes");
    }

    #[test]
    fn names_and_targets_are_bounded() {
        decode_one(file(&[b'n'; MAX_NAME], vec![])).unwrap();
        refused(file(&[b'n'; MAX_NAME + 1], vec![]), "a name of 4096 bytes");
        let mut l = Node::new(b"l".to_vec(), NodeKind::Symlink);
        l.target = Some(serde_bytes::ByteBuf::from(vec![b't'; MAX_TARGET]));
        decode_one(l.clone()).unwrap();
        l.target = Some(serde_bytes::ByteBuf::from(vec![b't'; MAX_TARGET + 1]));
        refused(l, "symlink target of 4096 bytes");
    }

    #[test]
    fn fit_xattrs_keeps_what_a_tree_may_hold() {
        let xs = vec![
            xattr(b"user.a", 10),
            xattr(b"user.huge", MAX_XATTR_VALUE + 1),
            xattr(b"", 1),
            xattr(b"user.b", MAX_XATTR_VALUE),
        ];
        let (kept, dropped) = fit_xattrs(xs);
        let names: Vec<&[u8]> = kept.iter().map(|x| x.name.as_slice()).collect();
        assert_eq!(names, [&b"user.a"[..], b"user.b"]);
        assert_eq!(dropped.len(), 2, "{dropped:?}");
        assert!(dropped[0].contains("user.huge"), "{dropped:?}");
        let mut n = file(b"f", vec![]);
        n.xattrs = kept;
        decode_one(n).unwrap();
    }

    #[test]
    fn memory_estimate_counts_what_decoding_allocates() {
        let small = Tree {
            nodes: vec![file(b"f", vec![])],
        };
        let mut n = file(b"f", vec![]);
        n.xattrs.push(xattr(b"user.x", MAX_XATTR_VALUE));
        let big = Tree { nodes: vec![n] };
        assert!(small.mem_size() >= std::mem::size_of::<Node>());
        assert!(big.mem_size() >= small.mem_size() + MAX_XATTR_VALUE);
    }
}
