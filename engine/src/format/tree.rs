//! Directory trees (FORMAT.md §Trees). A tree blob lists one directory's entries, sorted by
//! name; subdirectories point at their own tree blob by id, so an unchanged subtree has the same
//! id in every snapshot and is stored once. Encoding: one version byte, then postcard (a
//! documented, stable varint format) of `Tree`. Names are raw bytes: any Unix file name
//! round-trips, UTF-8 or not.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

pub const TREE_VERSION: u8 = 1;

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
        self.nodes
            .binary_search_by(|n| n.name.as_slice().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
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
}
