//! Random-access reads of one file of a snapshot, for the FUSE mount and anything else that
//! reads files without restoring them. A file's extents become an offset table (binary search
//! finds the extent under an offset), chunks come through a `BlobCache` shared by all readers:
//! decrypted, decompressed and verified once, kept within a byte budget, least recently used
//! evicted first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::format::tree::{Extent, Node};
use crate::id::Id;
use crate::repo::Repo;

/// Plaintext chunks by id, bounded by total bytes.
pub struct BlobCache {
    capacity: usize,
    inner: Mutex<CacheInner>,
    /// Chunks being loaded right now: a second reader (or readahead) waits for the first
    /// instead of decrypting the same chunk twice.
    loading: Mutex<std::collections::HashSet<Id>>,
    loaded: std::sync::Condvar,
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
            loading: Mutex::new(std::collections::HashSet::new()),
            loaded: std::sync::Condvar::new(),
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
    pub fn load(&self, repo: &Repo, id: &Id) -> Result<Arc<Vec<u8>>> {
        loop {
            if let Some(v) = self.get(id) {
                return Ok(v);
            }
            let mut loading = self.loading.lock().unwrap();
            if !loading.contains(id) {
                loading.insert(*id);
                break;
            }
            // Someone else is loading it: wait, then look again (their load may have failed,
            // in which case this thread takes over and reports the error itself).
            while loading.contains(id) {
                loading = self.loaded.wait(loading).unwrap();
            }
        }
        let r = repo.load_blob(id).map(Arc::new);
        if let Ok(v) = &r {
            self.insert(*id, Arc::clone(v));
        }
        self.loading.lock().unwrap().remove(id);
        self.loaded.notify_all();
        r
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
        repo: &Repo,
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
}
