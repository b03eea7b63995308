//! The write path of a backup: `Sink` deduplicates blobs against the index and the blobs of
//! this run, seals them on the caller's thread, and batches them to the packer thread, which
//! streams one open pack per blob type into the backend; the committer thread makes each pack
//! durable under its name and writes the index files naming them. Both channels are bounded,
//! which is what bounds memory: when storage is slow, workers wait instead of piling up blobs.

use crate::format::blob;
use crate::format::meta;
use std::collections::HashSet;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crossbeam_channel::{Receiver, Sender};

use crate::backend::PutStream;
use crate::error::{Error, Result};
use crate::format::blob::{BlobType, SealedBlob};
use crate::format::index_file::PackEntries;
use crate::format::pack::PackStream;
use crate::id::Id;
use crate::repo::{BlobSource, Repo};

/// Packs written between two index files: a crash loses the dedup of at most this many.
pub(super) const INDEX_EVERY: usize = 64;
/// ... or after this many blobs: packs of small files hold thousands each, and the entries
/// waiting for an index file, and the in-run set of their ids, are held in memory.
pub(super) const INDEX_EVERY_ENTRIES: usize = 50_000;
/// Sealed blobs go to the packer in batches of this many bytes or blobs.
pub(super) const BATCH_BYTES: usize = 1 << 20;
pub(super) const BATCH_BLOBS: usize = 1024;
/// The packer's write buffer: blobs below it are gathered, larger ones written directly.
pub(super) const WRITE_BUF: usize = 64 << 10;

/// Lanes open packs at once, at most: a lane's pack holds what one worker sealed, so it is
/// one stretch of the walk. When all workers share one pack it interleaves blobs of distant
/// parts of the tree (idle workers steal the far half of a directory's entries), and a restore,
/// which goes through the tree in order, needs each pack twice, far apart: on remote storage
/// it fetched 1.85 times the repository.
const MAX_LANES: usize = 8;
/// ... and no more lanes than keep this many bytes of open packs (a remote pack is held in
/// memory until it is uploaded).
const LANE_BYTES: u64 = 256 << 20;

/// Sealed blobs of one lane, on their way to the packer.
pub(super) type Batch = (usize, Vec<SealedBlob>);
/// A lane's blobs not yet sent, and their bytes, per blob type.
pub(super) type Pending = [Mutex<(Vec<SealedBlob>, usize)>; 2];

/// Deduplicates and seals blobs, and hands them to the packer; one per backup.
pub(in crate::ops) struct Sink<'a> {
    pub(in crate::ops) repo: &'a Repo,
    pub(super) level: i32,
    pub(super) dry_run: bool,
    pub(super) inflight: Mutex<HashSet<Id>>,
    /// Blobs sealed but not yet sent, per lane and blob type, and their bytes: the packer gets
    /// them in batches, so small files do not cost a channel round trip (and a thread wake-up)
    /// each. A worker's lane is its thread's index in the pool.
    pub(super) batches: Vec<Pending>,
    pub(super) tx: Mutex<Option<Sender<Batch>>>,
    pub(super) bytes_added: AtomicU64,
    pub(super) blobs_added: AtomicU64,
}

/// How many lanes a backup by the current rayon pool's workers uses (see `MAX_LANES`).
pub(super) fn lanes(pack_size: u64) -> usize {
    let by_memory = (LANE_BYTES / pack_size.max(1)).max(1) as usize;
    rayon::current_num_threads()
        .clamp(1, MAX_LANES)
        .min(by_memory)
}

impl<'a> Sink<'a> {
    /// A sink sending to `tx` in `lanes` lanes.
    pub(super) fn new(
        repo: &'a Repo,
        level: i32,
        dry_run: bool,
        lanes: usize,
        tx: Sender<Batch>,
    ) -> Self {
        Sink {
            repo,
            level,
            dry_run,
            inflight: Mutex::new(HashSet::new()),
            batches: (0..lanes.max(1)).map(|_| Default::default()).collect(),
            tx: Mutex::new(Some(tx)),
            bytes_added: AtomicU64::new(0),
            blobs_added: AtomicU64::new(0),
        }
    }

    /// Stores `data` unless the repository or this run already has it; returns its id.
    pub(in crate::ops) fn add(&self, ty: BlobType, data: &[u8]) -> Result<Id> {
        if data.len() > blob::MAX_BLOB_RAW as usize {
            // Readers refuse such blobs: fail the backup now rather than write a snapshot
            // that cannot be read back. Only a tree can get here (chunks are at most 2 MiB):
            // a directory of some 600,000 entries.
            return Err(Error::Invalid(format!(
                "a {ty:?} blob of {} bytes exceeds the format's limit of {} bytes (a directory with too many entries?)",
                data.len(),
                blob::MAX_BLOB_RAW
            )));
        }
        let id = self.repo.chunk_id(data);
        if self.repo.is_stored(&id)? || !self.inflight.lock().unwrap().insert(id) {
            return Ok(id);
        }
        let sealed = self.repo.seal_blob(ty, id, data, self.level);
        if ty == BlobType::Tree {
            // The next backup reads its parent's trees: a remote repository's come from here.
            self.repo.cache_tree(&id, &sealed.bytes);
        }
        self.bytes_added
            .fetch_add(sealed.bytes.len() as u64, Ordering::Relaxed);
        self.blobs_added.fetch_add(1, Ordering::Relaxed);
        if self.dry_run {
            return Ok(id);
        }
        // Threads outside the pool (none in a backup) share lane 0.
        let lane = rayon::current_thread_index().unwrap_or(0) % self.batches.len();
        let full = {
            let mut b = self.batches[lane][ty as usize].lock().unwrap();
            b.1 += sealed.bytes.len();
            b.0.push(sealed);
            if b.1 >= BATCH_BYTES || b.0.len() >= BATCH_BLOBS {
                Some(std::mem::take(&mut *b).0)
            } else {
                None
            }
        };
        if let Some(batch) = full {
            self.send((lane, batch))?;
        }
        Ok(id)
    }

    pub(super) fn send(&self, batch: Batch) -> Result<()> {
        let tx = self.tx.lock().unwrap().clone();
        match tx {
            Some(tx) => tx.send(batch).map_err(|_| Error::Stopped("pack writer")),
            None => Err(Error::Stopped("pack writer")),
        }
    }

    /// Sends what is batched and closes the channel: the packer then finishes its packs.
    pub(in crate::ops) fn finish(&self) -> Result<()> {
        for (lane, types) in self.batches.iter().enumerate() {
            for b in types {
                let batch = std::mem::take(&mut *b.lock().unwrap()).0;
                if !batch.is_empty() {
                    self.send((lane, batch))?;
                }
            }
        }
        self.close();
        Ok(())
    }

    /// Closes the channel without sending the batches: blobs in them are simply not stored.
    pub(in crate::ops) fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// A pack whose bytes are all written but not yet committed under its name.
pub(super) type Written<'r> = (Id, Box<dyn PutStream + 'r>, Vec<blob::BlobEntry>);

/// Streams sealed blobs into packs (one open pack per lane and blob type) and hands each
/// complete one to the committer. Runs on its own thread, so the workers never wait for a
/// write. Blobs smaller than the write buffer are gathered into one write; larger ones go
/// straight through.
pub(super) fn packer<'r>(
    repo: &'r Repo,
    rx: Receiver<Batch>,
    done: Sender<Written<'r>>,
) -> Result<()> {
    type Out<'r> = std::io::BufWriter<Box<dyn PutStream + 'r>>;
    let pack_size = repo.config().pack_size as u64;
    let mut open: Vec<[Option<PackStream<Out<'r>>>; 2]> = Vec::new();
    let werr = || |e: std::io::Error| crate::repo::be("writing pack", "(new)")(e.into());
    let close = |p: PackStream<Out<'r>>| -> Result<()> {
        let (id, out, entries) = repo.finish_pack(p).map_err(werr())?;
        let out = out.into_inner().map_err(|e| werr()(e.into_error()))?;
        done.send((id, out, entries))
            .map_err(|_| Error::Stopped("pack committer"))
    };
    for (lane, batch) in rx {
        if open.len() <= lane {
            open.resize_with(lane + 1, Default::default);
        }
        for b in batch {
            let slot = &mut open[lane][b.ty as usize];
            let p = match slot {
                Some(p) => p,
                None => slot.insert(PackStream::new(std::io::BufWriter::with_capacity(
                    WRITE_BUF,
                    repo.start_pack()?,
                ))),
            };
            p.add(&b).map_err(werr())?;
            if p.len() >= pack_size || p.count() >= meta::MAX_PACK_ENTRIES {
                close(slot.take().expect("just written"))?;
            }
        }
    }
    for p in open.into_iter().flatten().flatten() {
        close(p)?;
    }
    Ok(())
}

/// Commits packs (fsync and rename, overlapping the next pack's writing; on remote storage
/// the upload, up to the backend's `concurrency` at once) and writes an index file every
/// `INDEX_EVERY` packs or `INDEX_EVERY_ENTRIES` blobs, whichever comes first; returns the
/// entries not yet in an index file when the channel closes. Only committed packs reach an
/// index file. Once indexed, blobs leave the in-run set `inflight` (the index answers for them
/// now), so neither grows with the size of the backup.
pub(super) fn committer(
    repo: &Repo,
    rx: Receiver<Written<'_>>,
    inflight: &Mutex<HashSet<Id>>,
    release_memory: Option<fn()>,
) -> Result<Vec<PackEntries>> {
    let mut pending: Vec<PackEntries> = Vec::new();
    let mut entries_pending = 0;
    let mut committed = |pe: PackEntries| -> Result<()> {
        entries_pending += pe.entries.len();
        pending.push(pe);
        if pending.len() >= INDEX_EVERY || entries_pending >= INDEX_EVERY_ENTRIES {
            repo.save_index(&pending)?;
            // After the index has them, so a worker that misses them in the set finds them
            // there. One that looked in the index just before may store a blob again: a
            // harmless duplicate (FORMAT.md §7).
            let mut set = inflight.lock().unwrap();
            for e in pending.iter().flat_map(|p| &p.entries) {
                set.remove(&e.id);
            }
            drop(set);
            // The entries, the index file's buffers and the set's ids were freed across
            // several threads' malloc arenas: the host may hand that memory back (the CLI
            // calls malloc_trim; a million-file backup otherwise peaked ~5 MiB higher).
            if let Some(release) = release_memory {
                release();
            }
            pending.clear();
            entries_pending = 0;
        }
        Ok(())
    };
    let commit = |(id, out, entries): Written<'_>| -> Result<PackEntries> {
        let name = id.to_hex();
        out.commit(&name)
            .map_err(crate::repo::be("writing pack", &name))?;
        Ok(PackEntries { pack: id, entries })
    };
    let width = repo.backend().concurrency().max(1);
    if width == 1 {
        for w in rx {
            committed(commit(w)?)?;
        }
    } else {
        std::thread::scope(|s| -> Result<()> {
            let mut running = std::collections::VecDeque::new();
            for w in rx {
                if running.len() >= width {
                    let h: std::thread::ScopedJoinHandle<'_, _> =
                        running.pop_front().expect("non-empty");
                    committed(h.join().expect("commit thread panicked")?)?;
                }
                running.push_back(s.spawn(move || commit(w)));
            }
            for h in running {
                committed(h.join().expect("commit thread panicked")?)?;
            }
            Ok(())
        })?;
    }
    Ok(pending)
}

/// Runs `f` with a sink whose blobs are packed, committed and indexed as it adds them (the
/// packer and committer threads of a backup); returns what `f` returned once every pack is
/// committed and named by an index file, with the bytes and blobs added. For operations that
/// store blobs from somewhere other than a filesystem walk (`copy`).
pub(in crate::ops) fn with_sink<T>(
    repo: &Repo,
    level: i32,
    f: impl FnOnce(&Sink<'_>) -> Result<T>,
) -> Result<(T, u64, u64)> {
    let (tx, rx) = crossbeam_channel::bounded::<Batch>(4);
    let lanes = lanes(repo.config().pack_size as u64);
    let sink = Sink::new(repo, level, false, lanes, tx);
    let (done, packed, committed) = std::thread::scope(|s| {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let packing = s.spawn(|| packer(repo, rx, done_tx));
        let committing = s.spawn(|| committer(repo, done_rx, &sink.inflight, None));
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let r = f(&sink);
            if r.is_ok() {
                sink.finish()?;
            }
            r
        }));
        sink.close();
        let packed = packing.join().expect("packer thread panicked");
        let committed = committing.join().expect("committer thread panicked");
        (done, packed, committed)
    });
    let done = done.unwrap_or_else(|p| std::panic::resume_unwind(p));
    let pending = committed?;
    let done = packed.and(done);
    if !pending.is_empty() {
        let saved = repo.save_index(&pending);
        if done.is_ok() {
            saved?;
        }
    }
    let v = done?;
    repo.flush_index()?;
    Ok((
        v,
        sink.bytes_added.load(Ordering::Relaxed),
        sink.blobs_added.load(Ordering::Relaxed),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::testing::mem_repo;
    use std::collections::BTreeSet;

    /// 64 KiB that zstd cannot shrink, different for each (lane, n).
    fn noise(lane: usize, n: usize) -> Vec<u8> {
        let mut h = blake3::Hasher::new();
        h.update(&[lane as u8, n as u8]);
        let mut out = vec![0; 64 << 10];
        h.finalize_xof().fill(&mut out);
        out
    }

    #[test]
    fn each_worker_fills_packs_of_its_own() {
        let repo = mem_repo();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        // 40 blobs of 64 KiB per worker: several batches each, arriving interleaved.
        let ids: Vec<Vec<Id>> = pool.install(|| {
            with_sink(&repo, 0, |sink| {
                let per: Vec<Result<Vec<Id>>> = rayon::broadcast(|ctx| {
                    (0..40)
                        .map(|n| sink.add(BlobType::Data, &noise(ctx.index(), n)))
                        .collect()
                });
                per.into_iter().collect()
            })
            .unwrap()
            .0
        });
        let packs_of = |ids: &[Id]| -> BTreeSet<Id> {
            ids.iter()
                .map(|id| repo.lookup_opt(id).unwrap().expect("indexed").pack)
                .collect()
        };
        let (a, b) = (packs_of(&ids[0]), packs_of(&ids[1]));
        assert!(
            a.is_disjoint(&b),
            "packs shared by two workers: {a:?} {b:?}"
        );
        assert_eq!(
            (a.len(), b.len()),
            (1, 1),
            "each worker's 2.5 MiB fills one pack"
        );
    }
}
