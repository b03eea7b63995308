//! Decoded trees kept for repeated lookups (the mount asks for one directory's tree at every
//! `lookup` and `readdir` in it), bounded by an estimate of their decoded size
//! (`Tree::mem_size`), least recently used evicted first. By bytes, not by count: one crafted
//! tree of small entries decodes to hundreds of MiB, and a count of such trees is no bound.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::format::tree::Tree;
use crate::id::Id;
use crate::repo::BlobSource;

pub struct TreeCache {
    capacity: usize,
    inner: Mutex<Inner>,
    /// One lock per tree being loaded: concurrent requests for one tree wait for the first
    /// load instead of each decoding a copy (several copies of a large tree at once are what
    /// the byte bound is there to prevent).
    loading: Mutex<HashMap<Id, Arc<Mutex<()>>>>,
}

#[derive(Default)]
struct Inner {
    /// id → (tree, its estimated bytes, its last use).
    map: HashMap<Id, (Arc<Tree>, usize, u64)>,
    /// last use → id: the oldest first.
    by_use: BTreeMap<u64, Id>,
    bytes: usize,
    tick: u64,
}

impl Inner {
    fn get(&mut self, id: &Id) -> Option<Arc<Tree>> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.map.get_mut(id)?;
        self.by_use.remove(&e.2);
        e.2 = tick;
        self.by_use.insert(tick, *id);
        Some(Arc::clone(&e.0))
    }

    /// Inserts, then evicts the least recently used until within `capacity`; the tree just
    /// inserted stays even when it alone is larger, so that a directory past the budget is
    /// decoded once per use, not once per entry looked up in it.
    fn insert(&mut self, id: Id, t: Arc<Tree>, capacity: usize) {
        self.tick += 1;
        let size = t.mem_size();
        if let Some((_, old, used)) = self.map.insert(id, (t, size, self.tick)) {
            self.bytes -= old;
            self.by_use.remove(&used);
        }
        self.by_use.insert(self.tick, id);
        self.bytes += size;
        while self.bytes > capacity && self.map.len() > 1 {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            if let Some((_, size, _)) = self.map.remove(&oldest) {
                self.bytes -= size;
            }
        }
    }
}

impl TreeCache {
    pub fn new(capacity_bytes: usize) -> Self {
        TreeCache {
            capacity: capacity_bytes,
            inner: Mutex::new(Inner::default()),
            loading: Mutex::new(HashMap::new()),
        }
    }

    /// The tree, from the cache or loaded (and then cached). A tree that fails to load or
    /// decode is an error for this call only: nothing is cached for it.
    pub fn load(&self, src: &dyn BlobSource, id: &Id) -> Result<Arc<Tree>> {
        if let Some(t) = self.lock().get(id) {
            return Ok(t);
        }
        let slot = Arc::clone(
            self.loading
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(*id)
                .or_default(),
        );
        let r = {
            // A loader that panicked poisoned only its own slot: the next one loads again.
            let _one = slot.lock().unwrap_or_else(|e| e.into_inner());
            let cached = self.lock().get(id);
            match cached {
                Some(t) => Ok(t),
                None => src.load_tree(id).map(|t| {
                    let t = Arc::new(t);
                    self.lock().insert(*id, Arc::clone(&t), self.capacity);
                    t
                }),
            }
        };
        let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        // The last of the callers sharing this slot removes it (the map holds one reference).
        if Arc::strong_count(&slot) == 2 {
            loading.remove(id);
        }
        r
    }

    /// (estimated bytes held, trees held)
    pub fn stats(&self) -> (usize, usize) {
        let g = self.lock();
        (g.bytes, g.map.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tree::{Node, NodeKind, Xattr};
    use crate::repo::testing::{mem_repo, tree};

    /// A tree of one entry whose attribute makes it about `kib` KiB in memory.
    fn sized(r: &crate::Repo, name: &str, kib: usize) -> Id {
        let mut n = Node::new(name.as_bytes().to_vec(), NodeKind::File);
        n.xattrs.push(Xattr {
            name: b"user.pad".to_vec(),
            value: vec![1; kib << 10],
        });
        tree(r, vec![n])
    }

    #[test]
    fn bounded_by_bytes_least_recently_used_first() {
        let r = mem_repo();
        let (a, b, c) = (sized(&r, "a", 40), sized(&r, "b", 40), sized(&r, "c", 40));
        let cache = TreeCache::new(100 << 10);
        cache.load(&r, &a).unwrap();
        cache.load(&r, &b).unwrap();
        assert_eq!(cache.stats().1, 2);
        cache.load(&r, &a).unwrap(); // a is now newer than b
        cache.load(&r, &c).unwrap();
        let (bytes, n) = cache.stats();
        assert_eq!(n, 2, "one of three 40 KiB trees went");
        assert!(bytes <= 100 << 10, "{bytes}");
        let g = cache.lock();
        assert!(g.map.contains_key(&a) && g.map.contains_key(&c) && !g.map.contains_key(&b));
    }

    #[test]
    fn a_tree_larger_than_the_budget_is_kept_alone() {
        let r = mem_repo();
        let (small, big) = (sized(&r, "s", 1), sized(&r, "b", 60));
        let cache = TreeCache::new(16 << 10);
        cache.load(&r, &small).unwrap();
        let t = cache.load(&r, &big).unwrap();
        assert_eq!(t.nodes[0].name, b"b");
        let g = cache.lock();
        assert_eq!(g.map.len(), 1);
        assert!(g.map.contains_key(&big));
        assert_eq!(g.bytes, t.mem_size());
    }

    #[test]
    fn a_tree_that_fails_is_an_error_each_time_and_not_cached() {
        let r = mem_repo();
        let cache = TreeCache::new(1 << 20);
        let missing = Id([9; 32]);
        for _ in 0..2 {
            assert!(cache.load(&r, &missing).unwrap_err().is_damage());
        }
        assert_eq!(cache.stats(), (0, 0));
        assert!(cache.loading.lock().unwrap().is_empty());
    }
}
