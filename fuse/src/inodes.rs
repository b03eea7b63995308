//! The inode table: inode numbers ↔ (parent, name, what the entry is), with the kernel's lookup
//! counts, so that entries the kernel has forgotten are dropped and the table stays bounded by
//! what the kernel holds (plus the virtual entries, bounded by the snapshot list).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use engine::format::snapshot::SnapshotRef;
use engine::format::tree::{Node, NodeKind};
use engine::Id;

pub(crate) const ROOT: u64 = 1;

#[derive(Clone)]
pub(crate) enum Kind {
    Root,
    /// `ids`, `tags`, `hosts`, `tags/<t>`, `hosts/<h>`.
    Group(Group),
    Link(Vec<u8>),
    SnapRoot(Arc<SnapshotRef>),
    Node(Arc<SnapshotRef>, Arc<Node>),
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Group {
    Ids,
    Tags,
    Hosts,
    Tag(String),
    Host(String),
}

pub(crate) struct Inode {
    pub parent: u64,
    pub name: Vec<u8>,
    pub kind: Kind,
    /// Lookups the kernel holds (entries replied, minus those it has forgotten).
    lookups: u64,
    /// Further names of a hard-linked file, besides (parent, name).
    aliases: Vec<(u64, Vec<u8>)>,
}

pub(crate) struct Inodes {
    map: HashMap<u64, Inode>,
    /// Numbers are never reused, so a number the kernel still holds cannot name another entry.
    next: u64,
    /// Ordered, so that a directory's entries are one range (dropped with the directory).
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
                aliases: Vec::new(),
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

    pub fn find(&self, parent: u64, name: &[u8]) -> Option<u64> {
        self.by_name.get(&(parent, name.to_vec())).copied()
    }

    /// Replaces what an entry is (a root entry may name another snapshot after a refresh).
    pub fn set_kind(&mut self, ino: u64, kind: Kind) {
        if let Some(i) = self.map.get_mut(&ino) {
            i.kind = kind;
        }
    }

    /// The number of (parent, name), building the entry only when the name is new (readdir of
    /// a large directory then clones only the nodes it has not seen). Takes no lookup: readdir
    /// numbers its entries without the kernel keeping them.
    pub fn intern_with(&mut self, parent: u64, name: &[u8], make: impl FnOnce() -> Kind) -> u64 {
        if let Some(i) = self.find(parent, name) {
            return i;
        }
        let kind = make();
        let key = link_key(&kind);
        if let Some(&i) = key.as_ref().and_then(|k| self.by_link.get(k)) {
            if let Some(e) = self.map.get_mut(&i) {
                e.aliases.push((parent, name.to_vec()));
                self.by_name.insert((parent, name.to_vec()), i);
                return i;
            }
        }
        let ino = self.next;
        self.next += 1;
        self.map.insert(
            ino,
            Inode {
                parent,
                name: name.to_vec(),
                kind,
                lookups: 0,
                aliases: Vec::new(),
            },
        );
        self.by_name.insert((parent, name.to_vec()), ino);
        if let Some(k) = key {
            self.by_link.insert(k, ino);
        }
        ino
    }

    /// Counts one lookup the kernel now holds (a `lookup` reply).
    pub fn remember(&mut self, ino: u64) {
        if let Some(i) = self.map.get_mut(&ino) {
            i.lookups += 1;
        }
    }

    /// The kernel dropped `n` lookups of `ino`. A snapshot entry whose count reaches zero is
    /// removed, with the entries numbered under it that the kernel never looked up (readdir's);
    /// the virtual entries (root, groups, links, snapshot roots) stay.
    pub fn forget(&mut self, ino: u64, n: u64) {
        let Some(i) = self.map.get_mut(&ino) else {
            return;
        };
        i.lookups = i.lookups.saturating_sub(n);
        if i.lookups == 0 && matches!(i.kind, Kind::Node(..)) {
            self.remove(ino);
        }
    }

    fn remove(&mut self, ino: u64) {
        let mut stack = vec![ino];
        while let Some(ino) = stack.pop() {
            let Some(e) = self.map.remove(&ino) else {
                continue;
            };
            for key in std::iter::once((e.parent, e.name)).chain(e.aliases) {
                if self.by_name.get(&key) == Some(&ino) {
                    self.by_name.remove(&key);
                }
            }
            if let Some(k) = link_key(&e.kind) {
                if self.by_link.get(&k) == Some(&ino) {
                    self.by_link.remove(&k);
                }
            }
            // The names under a removed directory can no longer be reached; an entry the
            // kernel still holds under another name (a hard link) keeps its number.
            let under: Vec<((u64, Vec<u8>), u64)> = self
                .by_name
                .range((
                    Bound::Included((ino, Vec::new())),
                    Bound::Excluded((ino + 1, Vec::new())),
                ))
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            for (key, child) in under {
                self.by_name.remove(&key);
                if self.map.get(&child).is_some_and(|c| c.lookups == 0) {
                    stack.push(child);
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
        Kind::Node(Arc::clone(s), Arc::new(Node::new(name.to_vec(), kind)))
    }

    #[test]
    fn entries_are_dropped_when_their_lookups_are_forgotten() {
        let s = snap();
        let mut t = Inodes::new();
        let root = t.intern_with(ROOT, b"snap", || Kind::SnapRoot(Arc::clone(&s)));
        let dir = t.intern_with(root, b"d", || node(&s, b"d", NodeKind::Dir));
        t.remember(dir);
        t.remember(dir);
        let f = t.intern_with(dir, b"f", || node(&s, b"f", NodeKind::File));
        t.remember(f);
        // Numbered by readdir only: never looked up.
        let g = t.intern_with(dir, b"g", || node(&s, b"g", NodeKind::File));
        assert_eq!(t.intern_with(dir, b"f", || unreachable!()), f);
        assert_eq!(t.len(), 5);

        t.forget(f, 1);
        assert!(t.get(f).is_none());
        assert_eq!(t.find(dir, b"f"), None);
        t.forget(dir, 1);
        assert!(t.get(dir).is_some(), "one lookup is still held");
        t.forget(dir, 1);
        assert!(t.get(dir).is_none());
        assert!(
            t.get(g).is_none(),
            "readdir's entries go with their directory"
        );
        assert_eq!(t.len(), 2, "root and the snapshot root stay");
        t.forget(root, 5);
        t.forget(ROOT, 5);
        assert_eq!(t.len(), 2);
        // A new lookup gets a new number, never a forgotten one.
        let d2 = t.intern_with(root, b"d", || node(&s, b"d", NodeKind::Dir));
        assert!(d2 > g);
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
            Kind::Node(Arc::clone(&s), Arc::new(n))
        };
        let a = t.intern_with(root, b"a", || linked(b"a"));
        let b = t.intern_with(root, b"b", || linked(b"b"));
        assert_eq!(a, b);
        t.remember(a);
        t.remember(b);
        t.forget(a, 1);
        assert_eq!(t.find(root, b"b"), Some(a));
        t.forget(a, 1);
        assert_eq!(t.find(root, b"a"), None);
        assert_eq!(t.find(root, b"b"), None);
        let c = t.intern_with(root, b"a", || linked(b"a"));
        assert_ne!(c, a, "the link map forgot the old number too");
    }
}
