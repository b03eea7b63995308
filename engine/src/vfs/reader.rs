//! Random-access reads of one file of a snapshot, for the FUSE mount and anything else that
//! reads files without restoring them. A file's extents become an offset table (binary search
//! finds the extent under an offset), chunks come through a `BlobCache` shared by all readers:
//! decrypted, decompressed and verified once, kept within a byte budget, least recently used
//! evicted first.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use crate::error::Result;
use crate::format::tree::{Extent, Node};
use crate::id::Id;
use crate::repo::BlobSource;

/// Plaintext chunks by id, bounded by total bytes.
pub struct BlobCache {
    capacity: usize,
    inner: Mutex<CacheInner>,
    /// Chunks being loaded right now: a second reader (or readahead) waits for the first
    /// instead of decrypting the same chunk twice.
    loading: Mutex<HashMap<Id, Arc<Slot>>>,
}

/// One chunk being loaded; its waiters sleep on `done` until the loader ends one way or another.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    done: Condvar,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    #[default]
    Loading,
    /// The load returned (Ok or Err): waiters look in the cache again, and on a miss load it
    /// themselves, so that each reports its own error.
    Finished,
    /// The loader panicked: retrying would most likely panic again, so waiters return an error.
    Panicked,
}

/// Ends a slot when the load ends, including by unwinding: without it a panicking loader would
/// leave every waiter for that chunk asleep for ever.
struct SlotGuard<'a> {
    cache: &'a BlobCache,
    id: Id,
    slot: Arc<Slot>,
    finished: bool,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        // Poisoned locks are taken anyway: this runs during unwinding, and must not panic again.
        self.cache
            .loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        *self.slot.state.lock().unwrap_or_else(|e| e.into_inner()) = if self.finished {
            SlotState::Finished
        } else {
            SlotState::Panicked
        };
        self.slot.done.notify_all();
    }
}

#[derive(Default)]
struct CacheInner {
    map: HashMap<Id, (Arc<Vec<u8>>, u64)>,
    bytes: usize,
    tick: u64,
    hits: u64,
    misses: u64,
}

impl BlobCache {
    pub fn new(capacity_bytes: usize) -> Self {
        BlobCache {
            capacity: capacity_bytes,
            inner: Mutex::new(CacheInner::default()),
            loading: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, id: &Id) -> Option<Arc<Vec<u8>>> {
        let mut g = self.inner.lock().unwrap();
        g.tick += 1;
        let t = g.tick;
        match g.map.get_mut(id) {
            Some(e) => {
                e.1 = t;
                let v = Arc::clone(&e.0);
                g.hits += 1;
                Some(v)
            }
            None => {
                g.misses += 1;
                None
            }
        }
    }

    pub fn contains(&self, id: &Id) -> bool {
        self.inner.lock().unwrap().map.contains_key(id)
    }

    pub fn insert(&self, id: Id, data: Arc<Vec<u8>>) {
        let mut g = self.inner.lock().unwrap();
        g.tick += 1;
        let t = g.tick;
        let len = data.len();
        if let Some(old) = g.map.insert(id, (data, t)) {
            g.bytes -= old.0.len();
        }
        g.bytes += len;
        // The cache holds few, large entries (chunks average 512 KiB): a scan for the oldest
        // is cheaper than keeping an ordered structure up to date on every hit.
        while g.bytes > self.capacity && g.map.len() > 1 {
            let oldest = g
                .map
                .iter()
                .filter(|(k, _)| **k != id)
                .min_by_key(|(_, v)| v.1)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    let (v, _) = g.map.remove(&k).unwrap();
                    g.bytes -= v.len();
                }
                None => break,
            }
        }
    }

    /// The chunk, from the cache or loaded (and then cached).
    pub fn load(&self, repo: &dyn BlobSource, id: &Id) -> Result<Arc<Vec<u8>>> {
        self.load_with(id, || repo.load_blob(id))
    }

    /// The chunk, from the cache or from `fetch` (and then cached). Concurrent callers for one
    /// id share one `fetch`.
    pub fn load_with(
        &self,
        id: &Id,
        fetch: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Arc<Vec<u8>>> {
        let slot = loop {
            if let Some(v) = self.get(id) {
                return Ok(v);
            }
            let mut loading = self.loading.lock().unwrap();
            let slot = match loading.get(id) {
                Some(s) => Arc::clone(s),
                None => {
                    let s = Arc::new(Slot::default());
                    loading.insert(*id, Arc::clone(&s));
                    break s;
                }
            };
            drop(loading);
            let mut st = slot.state.lock().unwrap();
            while *st == SlotState::Loading {
                st = slot.done.wait(st).unwrap();
            }
            if *st == SlotState::Panicked {
                // The loader's panic is its own failure; this waiter only learns the load
                // ended without a result.
                return Err(crate::Error::Stopped("the thread loading this blob"));
            }
        };
        let mut guard = SlotGuard {
            cache: self,
            id: *id,
            slot,
            finished: false,
        };
        let r = fetch().map(Arc::new);
        if let Ok(v) = &r {
            self.insert(*id, Arc::clone(v));
        }
        guard.finished = true;
        drop(guard);
        r
    }

    /// How many threads wait for `id` to be loaded by another (for tests).
    #[cfg(test)]
    fn waiters(&self, id: &Id) -> usize {
        self.loading
            .lock()
            .unwrap()
            .get(id)
            .map_or(0, |s| Arc::strong_count(s).saturating_sub(2))
    }

    /// (bytes held, hits, misses)
    pub fn stats(&self) -> (usize, u64, u64) {
        let g = self.inner.lock().unwrap();
        (g.bytes, g.hits, g.misses)
    }
}

/// A file's extents with the offset where each starts.
#[derive(Debug, Clone)]
pub struct FileMap {
    extents: Vec<Extent>,
    starts: Vec<u64>,
    size: u64,
}

impl FileMap {
    pub fn new(n: &Node) -> Self {
        let mut starts = Vec::with_capacity(n.content.len());
        let mut off = 0u64;
        for e in &n.content {
            starts.push(off);
            off += e.len();
        }
        FileMap {
            extents: n.content.clone(),
            starts,
            size: off,
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Index of the extent holding byte `off` (None at or past the end).
    pub fn extent_at(&self, off: u64) -> Option<usize> {
        if off >= self.size {
            return None;
        }
        Some(match self.starts.binary_search(&off) {
            Ok(i) => i,
            Err(i) => i - 1,
        })
    }

    /// Data chunk ids of the extents after extent `i` (for readahead).
    pub fn following_ids(&self, i: usize, n: usize) -> Vec<Id> {
        self.extents[i + 1..]
            .iter()
            .filter_map(|e| match e {
                Extent::Data { id, .. } => Some(*id),
                Extent::Hole { .. } => None,
            })
            .take(n)
            .collect()
    }

    /// Reads up to `len` bytes at `off`; short only at the end of the file. Returns the bytes
    /// and the index of the last extent touched.
    pub fn read(
        &self,
        repo: &dyn BlobSource,
        cache: &BlobCache,
        off: u64,
        len: usize,
    ) -> Result<(Vec<u8>, Option<usize>)> {
        let mut out = Vec::with_capacity(len.min(self.size.saturating_sub(off) as usize));
        let end = off.saturating_add(len as u64).min(self.size);
        let mut pos = off;
        let mut last = None;
        while pos < end {
            let i = self.extent_at(pos).expect("pos is inside the file");
            last = Some(i);
            let start = self.starts[i];
            let e = &self.extents[i];
            let take_end = (start + e.len()).min(end);
            match e {
                Extent::Data { id, len } => {
                    let chunk = cache.load(repo, id)?;
                    if chunk.len() != *len as usize {
                        return Err(crate::Error::damaged(
                            "blob",
                            id.to_hex(),
                            format!("{} bytes where the tree says {len}", chunk.len()),
                        ));
                    }
                    out.extend_from_slice(
                        &chunk[(pos - start) as usize..(take_end - start) as usize],
                    );
                }
                Extent::Hole { .. } => out.resize(out.len() + (take_end - pos) as usize, 0),
            }
            pos = take_end;
        }
        Ok((out, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tree::NodeKind;

    #[test]
    fn extent_lookup_by_offset() {
        let mut n = Node::new(b"f".to_vec(), NodeKind::File);
        n.content = vec![
            Extent::Data {
                id: Id([1; 32]),
                len: 10,
            },
            Extent::Hole { len: 5 },
            Extent::Data {
                id: Id([2; 32]),
                len: 1,
            },
        ];
        n.size = 16;
        let m = FileMap::new(&n);
        assert_eq!(m.extent_at(0), Some(0));
        assert_eq!(m.extent_at(9), Some(0));
        assert_eq!(m.extent_at(10), Some(1));
        assert_eq!(m.extent_at(14), Some(1));
        assert_eq!(m.extent_at(15), Some(2));
        assert_eq!(m.extent_at(16), None);
        assert_eq!(m.following_ids(0, 5), vec![Id([2; 32])]);
    }

    #[test]
    fn cache_evicts_oldest_within_budget() {
        let c = BlobCache::new(100);
        c.insert(Id([1; 32]), Arc::new(vec![0; 40]));
        c.insert(Id([2; 32]), Arc::new(vec![0; 40]));
        assert!(c.get(&Id([1; 32])).is_some()); // 1 is now newer than 2
        c.insert(Id([3; 32]), Arc::new(vec![0; 40]));
        assert!(c.contains(&Id([1; 32])));
        assert!(!c.contains(&Id([2; 32])));
        assert!(c.contains(&Id([3; 32])));
        assert!(c.stats().0 <= 100);
    }

    #[test]
    fn a_panicking_loader_wakes_its_waiters_with_an_error() {
        let c = Arc::new(BlobCache::new(1 << 20));
        let id = Id([7; 32]);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let loader = {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    c.load_with(&id, || {
                        started_tx.send(()).unwrap();
                        go_rx.recv().unwrap();
                        panic!("loader fails");
                    })
                }))
                .is_err()
            })
        };
        started_rx.recv().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                let r = c.load_with(&id, || Ok(b"second".to_vec()));
                done_tx.send(r.map(|v| v.to_vec())).unwrap();
            });
        }
        // Panic only once the second caller is asleep on the slot.
        while c.waiters(&id) == 0 {
            std::thread::yield_now();
        }
        go_tx.send(()).unwrap();
        assert!(loader.join().unwrap(), "the loader panicked");
        let r = done_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the waiter was never woken");
        assert!(
            r.is_err(),
            "the waiter gets an error, not a load of its own"
        );
        // The slot is gone: a later caller loads afresh.
        assert_eq!(
            *c.load_with(&id, || Ok(b"later".to_vec())).unwrap(),
            b"later".to_vec()
        );
    }
}
