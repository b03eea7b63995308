//! The inode table: inode numbers ↔ (parent, name, what the entry is), with the kernel's lookup
//! counts, so that entries the kernel has forgotten are dropped and the table stays bounded by
//! what the kernel holds (plus the virtual entries, bounded by the snapshot list).
//!
//! Entries of snapshots are numbered without being stored: a directory's tree gets a range of
//! numbers when first listed or looked into (entry `j` is `first + j`), so `readdir` of any
//! directory, however large and under however many paths one shared tree appears, adds
//! nothing to the table; an entry is stored only when the kernel looks it up, and then only
//! what `stat` needs (`Entry`). The one visible cost: the second name of a hard link lists
//! (`d_ino`) under its own number but stats under the number the link shares.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use engine::format::snapshot::SnapshotRef;
use engine::format::tree::{Extent, Node, NodeKind, Timestamp};
use engine::Id;

pub(crate) const ROOT: u64 = 1;

#[derive(Clone)]
pub(crate) enum Kind {
    Root,
    /// `ids`, `tags`, `hosts`, `tags/<t>`, `hosts/<h>`.
    Group(Group),
    Link(Vec<u8>),
    SnapRoot(Arc<SnapshotRef>),
    Node(Arc<SnapshotRef>, Arc<Entry>),
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Group {
    Ids,
    Tags,
    Hosts,
    Categories,
    Jobs,
    Tag(String),
    Host(String),
    Category(String),
    Job(String),
}

/// What the table keeps of an entry of a snapshot: what `stat`, `readlink` and a walk need.
/// Its content and extended attributes stay in its directory's tree (`dir_tree`), read through
/// the tree cache when the file is opened or an attribute asked for, so that an entry costs the
/// same few hundred bytes whatever its node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub kind: NodeKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    pub size: u64,
    pub links: u64,
    pub rdev: u64,
    pub inode: u64,
    pub device: u64,
    /// Bytes of stored data (holes excluded), for `st_blocks`.
    pub stored: u64,
    /// A symlink's target (at most 4095 bytes: the tree format bounds it).
    pub target: Option<Box<[u8]>>,
    pub subtree: Option<Id>,
    pub has_xattrs: bool,
    /// The tree of the directory holding the entry, where its whole node is found by name.
    pub dir_tree: Id,
}

impl Entry {
    pub fn new(n: &Node, dir_tree: Id) -> Self {
        Entry {
            kind: n.kind,
            mode: n.mode,
            uid: n.uid,
            gid: n.gid,
            mtime: n.mtime,
            ctime: n.ctime,
            size: n.size,
            links: n.links,
            rdev: n.rdev,
            inode: n.inode,
            device: n.device,
            stored: n
                .content
                .iter()
                .map(|e| match e {
                    Extent::Data { len, .. } => *len as u64,
                    Extent::Hole { .. } => 0,
                })
                .sum(),
            target: n.target.as_ref().map(|t| t.to_vec().into_boxed_slice()),
            subtree: n.subtree,
            has_xattrs: !n.xattrs.is_empty(),
            dir_tree,
        }
    }
}

pub(crate) struct Inode {
    pub parent: u64,
    pub name: Vec<u8>,
    pub kind: Kind,
    /// Lookups the kernel holds (entries replied, minus those it has forgotten).
    lookups: u64,
    /// A directory of a snapshot: the number of its tree's first entry, once given.
    first: Option<u64>,
}

pub(crate) struct Inodes {
    map: HashMap<u64, Inode>,
    /// Numbers are never reused, so a number the kernel still holds cannot name another entry.
    next: u64,
    /// The virtual entries (root, groups, links, snapshot roots) by (parent, name).
    by_name: BTreeMap<(u64, Vec<u8>), u64>,
    /// Hard links inside one snapshot share one inode: (snapshot, device, inode) → ino.
    by_link: HashMap<(Id, u64, u64), u64>,
}

fn link_key(kind: &Kind) -> Option<(Id, u64, u64)> {
    match kind {
        Kind::Node(s, n) if n.kind == NodeKind::File && n.links > 1 => {
            Some((s.id, n.device, n.inode))
        }
        _ => None,
    }
}

/// The snapshot whose tree a directory entry lists, if it is one.
fn snapshot_of(kind: &Kind) -> Option<Id> {
    match kind {
        Kind::SnapRoot(s) | Kind::Node(s, _) => Some(s.id),
        _ => None,
    }
}

impl Inodes {
    pub fn new() -> Self {
        let mut map = HashMap::new();
        map.insert(
            ROOT,
            Inode {
                parent: ROOT,
                name: Vec::new(),
                kind: Kind::Root,
                lookups: 0,
                first: None,
            },
        );
        Inodes {
            map,
            next: ROOT + 1,
            by_name: BTreeMap::new(),
            by_link: HashMap::new(),
        }
    }

    pub fn get(&self, ino: u64) -> Option<&Inode> {
        self.map.get(&ino)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// A virtual entry by (parent, name).
    pub fn find(&self, parent: u64, name: &[u8]) -> Option<u64> {
        self.by_name.get(&(parent, name.to_vec())).copied()
    }

    /// Replaces what a virtual entry is (a root entry may name another snapshot after a
    /// refresh). A snapshot root that now shows another snapshot numbers its entries anew.
    pub fn set_kind(&mut self, ino: u64, kind: Kind) {
        if let Some(i) = self.map.get_mut(&ino) {
            if snapshot_of(&i.kind) != snapshot_of(&kind) {
                i.first = None;
            }
            i.kind = kind;
        }
    }

    /// The number of the virtual entry (parent, name), building the entry only when the name
    /// is new. Takes no lookup: readdir numbers its entries without the kernel keeping them.
    pub fn intern_with(&mut self, parent: u64, name: &[u8], make: impl FnOnce() -> Kind) -> u64 {
        if let Some(i) = self.find(parent, name) {
            return i;
        }
        let ino = self.next;
        self.next += 1;
        self.map.insert(
            ino,
            Inode {
                parent,
                name: name.to_vec(),
                kind: make(),
                lookups: 0,
                first: None,
            },
        );
        self.by_name.insert((parent, name.to_vec()), ino);
        ino
    }

    /// The number of the first entry of directory `dir`, whose tree has `count` entries: a
    /// range of `count` numbers given on first use. None when `dir` is not in the table.
    pub fn first_child(&mut self, dir: u64, count: usize) -> Option<u64> {
        let next = self.next;
        let d = self.map.get_mut(&dir)?;
        Some(*d.first.get_or_insert_with(|| {
            self.next = next + count as u64;
            next
        }))
    }

    /// The kernel looks up entry `j` (named `name`) of directory `dir`'s tree of `count`
    /// entries: its inode (stored now, from `make`, if the kernel held none), or the inode a
    /// hard link of it already has; counts the lookup.
    pub fn lookup_child(
        &mut self,
        dir: u64,
        j: usize,
        count: usize,
        name: &[u8],
        make: impl FnOnce() -> Kind,
    ) -> Option<(u64, Kind)> {
        let ino = self.first_child(dir, count)? + j as u64;
        if let Some(e) = self.map.get_mut(&ino) {
            e.lookups += 1;
            return Some((ino, e.kind.clone()));
        }
        let kind = make();
        let key = link_key(&kind);
        if let Some(&i) = key.as_ref().and_then(|k| self.by_link.get(k)) {
            if let Some(e) = self.map.get_mut(&i) {
                e.lookups += 1;
                return Some((i, e.kind.clone()));
            }
        }
        self.map.insert(
            ino,
            Inode {
                parent: dir,
                name: name.to_vec(),
                kind: kind.clone(),
                lookups: 1,
                first: None,
            },
        );
        if let Some(k) = key {
            self.by_link.insert(k, ino);
        }
        Some((ino, kind))
    }

    /// Counts one lookup the kernel now holds (a `lookup` reply).
    pub fn remember(&mut self, ino: u64) {
        if let Some(i) = self.map.get_mut(&ino) {
            i.lookups += 1;
        }
    }

    /// The kernel dropped `n` lookups of `ino`. A snapshot entry whose count reaches zero is
    /// removed; the virtual entries (root, groups, links, snapshot roots) stay.
    pub fn forget(&mut self, ino: u64, n: u64) {
        let Some(i) = self.map.get_mut(&ino) else {
            return;
        };
        i.lookups = i.lookups.saturating_sub(n);
        if i.lookups == 0 && matches!(i.kind, Kind::Node(..)) {
            if let Some(e) = self.map.remove(&ino) {
                if let Some(k) = link_key(&e.kind) {
                    if self.by_link.get(&k) == Some(&ino) {
                        self.by_link.remove(&k);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Arc<SnapshotRef> {
        Arc::new(crate::layout::tests::snap(
            1,
            "2026-01-01T00:00:00Z",
            &[],
            "h",
        ))
    }

    fn node(s: &Arc<SnapshotRef>, name: &[u8], kind: NodeKind) -> Kind {
        let mut n = Node::new(name.to_vec(), kind);
        if kind == NodeKind::Dir {
            n.subtree = Some(Id([2; 32]));
        }
        Kind::Node(Arc::clone(s), Arc::new(Entry::new(&n, Id([1; 32]))))
    }

    #[test]
    fn entries_are_stored_by_lookup_and_dropped_when_forgotten() {
        let s = snap();
        let mut t = Inodes::new();
        let root = t.intern_with(ROOT, b"snap", || Kind::SnapRoot(Arc::clone(&s)));
        // A tree of three entries: d (a directory), f, g.
        let (d, _) = t
            .lookup_child(root, 0, 3, b"d", || node(&s, b"d", NodeKind::Dir))
            .unwrap();
        let first = t.first_child(root, 3).unwrap();
        assert_eq!(d, first, "entry 0 is the first number");
        assert_eq!(
            t.lookup_child(root, 0, 3, b"d", || unreachable!())
                .unwrap()
                .0,
            d
        );
        let (f, _) = t
            .lookup_child(d, 0, 2, b"f", || node(&s, b"f", NodeKind::File))
            .unwrap();
        // Listing gives numbers without storing anything.
        let g = t.first_child(d, 2).unwrap() + 1;
        assert!(t.get(g).is_none());
        assert_eq!(t.len(), 4, "root, the snapshot root, d and f");

        t.forget(f, 1);
        assert!(t.get(f).is_none());
        t.forget(d, 1);
        assert!(t.get(d).is_some(), "one lookup is still held");
        t.forget(d, 1);
        assert!(t.get(d).is_none());
        assert_eq!(t.len(), 2, "root and the snapshot root stay");
        t.forget(root, 5);
        t.forget(ROOT, 5);
        assert_eq!(t.len(), 2);
        // The snapshot root keeps its range: d looked up again has its number again.
        let (d2, _) = t
            .lookup_child(root, 0, 3, b"d", || node(&s, b"d", NodeKind::Dir))
            .unwrap();
        assert_eq!(d2, d);
        // A new range for d's entries: numbers are never reused.
        let (f2, _) = t
            .lookup_child(d2, 0, 2, b"f", || node(&s, b"f", NodeKind::File))
            .unwrap();
        assert!(f2 > g, "{f2} > {g}");
    }

    #[test]
    fn listing_a_huge_directory_under_many_paths_stores_nothing() {
        let s = snap();
        let mut t = Inodes::new();
        let root = t.intern_with(ROOT, b"snap", || Kind::SnapRoot(Arc::clone(&s)));
        for j in 0..1000 {
            let (d, _) = t
                .lookup_child(root, j, 1000, b"d", || node(&s, b"d", NodeKind::Dir))
                .unwrap();
            // One million entries under each: one number range, no entries.
            t.first_child(d, 1_000_000).unwrap();
        }
        assert_eq!(t.len(), 2 + 1000);
    }

    #[test]
    fn a_snapshot_root_showing_another_snapshot_numbers_anew() {
        let (s1, s2) = (
            snap(),
            Arc::new(crate::layout::tests::snap(
                2,
                "2026-01-01T00:00:00Z",
                &[],
                "h",
            )),
        );
        let mut t = Inodes::new();
        let root = t.intern_with(ROOT, b"snap", || Kind::SnapRoot(Arc::clone(&s1)));
        let a = t.first_child(root, 5).unwrap();
        t.set_kind(root, Kind::SnapRoot(Arc::clone(&s1)));
        assert_eq!(t.first_child(root, 5).unwrap(), a);
        t.set_kind(root, Kind::SnapRoot(s2));
        assert!(t.first_child(root, 5).unwrap() > a);
    }

    #[test]
    fn hard_links_share_a_number_until_forgotten() {
        let s = snap();
        let mut t = Inodes::new();
        let root = t.intern_with(ROOT, b"snap", || Kind::SnapRoot(Arc::clone(&s)));
        let linked = |name: &[u8]| {
            let mut n = Node::new(name.to_vec(), NodeKind::File);
            n.links = 2;
            n.device = 3;
            n.inode = 4;
            Kind::Node(Arc::clone(&s), Arc::new(Entry::new(&n, Id([1; 32]))))
        };
        let (a, _) = t.lookup_child(root, 0, 2, b"a", || linked(b"a")).unwrap();
        let (b, _) = t.lookup_child(root, 1, 2, b"b", || linked(b"b")).unwrap();
        assert_eq!(a, b);
        t.forget(a, 1);
        assert!(t.get(a).is_some(), "b's lookup holds it");
        t.forget(a, 1);
        assert!(t.get(a).is_none());
        let (c, _) = t.lookup_child(root, 1, 2, b"b", || linked(b"b")).unwrap();
        assert_ne!(c, a, "the link map forgot the old number too");
    }
}
