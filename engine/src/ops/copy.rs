//! `copy`: snapshots from one repository into another (local, S3, SFTP, any pair). Each
//! repository has its own keys, so the same bytes have other blob ids there and other chunk
//! boundaries (the chunker is keyed too): file contents are read from the source, cut again
//! with the destination's chunker, and stored only where the destination lacks a chunk; the
//! trees are rebuilt over the new ids. The copy names the snapshot it came from (`original`,
//! FORMAT.md §9), so a snapshot already copied, or copied back, is skipped without reading
//! anything: a second copy transfers nothing.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::format::blob::BlobType;
use crate::format::chunker::StreamChunker;
use crate::format::snapshot::{Snapshot, SnapshotRef};
use crate::format::tree::{Extent, NodeKind, Tree};
use crate::id::Id;
use crate::ops::backup::Sink;
use crate::ops::progress::Progress;
use crate::repo::Repo;
use crate::CancelToken;

#[derive(Default)]
pub struct CopyOptions {
    pub cancel: CancelToken,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CopyReport {
    /// (source snapshot, its copy), in the order copied.
    pub copied: Vec<(Id, Id)>,
    /// Source snapshots the destination holds already (copied before, or copied from there).
    pub skipped: Vec<Id>,
    /// File bytes read from the source (0 when everything was skipped).
    pub bytes_read: u64,
    /// What the destination stored: sealed bytes and blobs it did not have.
    pub bytes_added: u64,
    pub blobs_added: u64,
}

/// The snapshot a copy chain started from: its `original`, or itself.
fn origin(s: &SnapshotRef) -> Id {
    s.snap.original.unwrap_or(s.id)
}

/// Copies `which` (snapshots of `src`, oldest first is best: later ones then find their
/// chunks stored) into `dst`.
pub fn copy(
    src: &Repo,
    dst: &Repo,
    which: &[SnapshotRef],
    opts: &CopyOptions,
    progress: &Progress,
) -> Result<CopyReport> {
    if src.config().id == dst.config().id {
        return Err(Error::Invalid(
            "the source and the destination are the same repository".into(),
        ));
    }
    let have: HashSet<Id> = dst.snapshots()?.iter().map(origin).collect();
    let mut report = CopyReport::default();
    let todo: Vec<&SnapshotRef> = which
        .iter()
        .filter(|s| {
            let done = have.contains(&origin(s));
            if done {
                report.skipped.push(s.id);
            }
            !done
        })
        .collect();
    if todo.is_empty() {
        return Ok(report);
    }
    progress.set_totals(
        todo.iter()
            .map(|s| {
                s.snap.summary.files_new
                    + s.snap.summary.files_changed
                    + s.snap.summary.files_unchanged
            })
            .sum(),
        todo.iter().map(|s| s.snap.summary.bytes_total).sum(),
    );
    let level = dst.config().compression;
    let ((copied, read), added, blobs) = crate::ops::backup::with_sink(dst, level, |sink| {
        let c = Copier {
            src,
            sink,
            cancel: &opts.cancel,
            progress,
            trees: Mutex::new(HashMap::new()),
            contents: Mutex::new(HashMap::new()),
            bytes_read: Default::default(),
        };
        let mut roots = Vec::new();
        for s in &todo {
            roots.push(c.tree(&s.snap.tree)?);
        }
        Ok((roots, c.bytes_read.into_inner()))
    })?;
    report.bytes_read = read;
    report.bytes_added = added;
    report.blobs_added = blobs;
    for (s, root) in todo.iter().zip(copied) {
        opts.cancel.check()?;
        let snap = Snapshot {
            tree: root,
            // The source's parents are not the destination's.
            parent: None,
            original: Some(origin(s)),
            // Anchors of the source's audit trail mean nothing here.
            audit: Vec::new(),
            ..s.snap.clone()
        };
        let id = dst.save_snapshot(&snap)?;
        report.copied.push((s.id, id));
    }
    Ok(report)
}

struct Copier<'a, 's> {
    src: &'a Repo,
    sink: &'a Sink<'s>,
    cancel: &'a CancelToken,
    progress: &'a Progress,
    /// Source tree id -> destination tree id: snapshots share most of their trees.
    trees: Mutex<HashMap<Id, Id>>,
    /// Source content (the hash of its extents) -> destination extents: an unchanged file of
    /// a later snapshot is not read again.
    contents: Mutex<HashMap<Id, Vec<Extent>>>,
    bytes_read: std::sync::atomic::AtomicU64,
}

impl Copier<'_, '_> {
    fn tree(&self, id: &Id) -> Result<Id> {
        if let Some(d) = self.trees.lock().unwrap().get(id) {
            return Ok(*d);
        }
        self.cancel.check()?;
        let mut t: Tree = self.src.load_tree(id)?;
        t.nodes.par_iter_mut().try_for_each(|n| -> Result<()> {
            match n.kind {
                NodeKind::Dir => {
                    if let Some(sub) = &n.subtree {
                        n.subtree = Some(self.tree(sub)?);
                    }
                }
                NodeKind::File => {
                    n.content = self.content(&n.content)?;
                    self.progress.add(1, 0);
                }
                _ => {}
            }
            Ok(())
        })?;
        let new = self.sink.add(BlobType::Tree, &t.encode())?;
        self.trees.lock().unwrap().insert(*id, new);
        Ok(new)
    }

    fn content(&self, extents: &[Extent]) -> Result<Vec<Extent>> {
        let key = {
            let mut h = blake3::Hasher::new();
            for e in extents {
                match e {
                    Extent::Data { id, len } => {
                        h.update(&[0]);
                        h.update(&id.0);
                        h.update(&len.to_le_bytes());
                    }
                    Extent::Hole { len } => {
                        h.update(&[1]);
                        h.update(&len.to_le_bytes());
                    }
                }
            }
            Id(*h.finalize().as_bytes())
        };
        if let Some(c) = self.contents.lock().unwrap().get(&key) {
            return Ok(c.clone());
        }
        let mut out = Vec::new();
        let mut run: Vec<Id> = Vec::new();
        for e in extents
            .iter()
            .chain(std::iter::once(&Extent::Hole { len: 0 }))
        {
            match e {
                Extent::Data { id, .. } => run.push(*id),
                Extent::Hole { len } => {
                    if !run.is_empty() {
                        self.recut(&std::mem::take(&mut run), &mut out)?;
                    }
                    if *len > 0 {
                        out.push(Extent::Hole { len: *len });
                    }
                }
            }
        }
        self.contents.lock().unwrap().insert(key, out.clone());
        Ok(out)
    }

    /// The bytes of `ids` (one run of data between holes), cut by the destination's chunker
    /// and stored.
    fn recut(&self, ids: &[Id], out: &mut Vec<Extent>) -> Result<()> {
        let reader = Blobs {
            src: self.src,
            ids,
            next: 0,
            buf: Vec::new(),
            pos: 0,
        };
        let chunker = self.sink.repo.chunker();
        let mut s = StreamChunker::new(chunker, reader, 4 << 20);
        loop {
            self.cancel.check()?;
            let batch = s.next_batch();
            let (buf, cuts) = match batch {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => {
                    return Err(match e.into_inner().map(|i| i.downcast::<Error>()) {
                        Some(Ok(inner)) => *inner,
                        Some(Err(other)) => Error::Invalid(other.to_string()),
                        None => Error::Invalid("reading the source failed".into()),
                    })
                }
            };
            self.bytes_read
                .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
            self.progress.add(0, buf.len() as u64);
            let mut off = 0;
            let mut slices = Vec::with_capacity(cuts.len());
            for l in cuts {
                slices.push(&buf[off..off + l]);
                off += l;
            }
            let ids: Vec<(Id, usize)> = slices
                .par_iter()
                .map(|c| Ok((self.sink.add(BlobType::Data, c)?, c.len())))
                .collect::<Result<_>>()?;
            for (id, len) in ids {
                out.push(Extent::Data {
                    id,
                    len: len as u32,
                });
            }
        }
        Ok(())
    }
}

/// The bytes of a list of source blobs, as one stream; blobs are fetched some at a time in
/// parallel (a remote source answers each after a round trip).
struct Blobs<'a> {
    src: &'a Repo,
    ids: &'a [Id],
    next: usize,
    buf: Vec<u8>,
    pos: usize,
}

const PREFETCH: usize = 16;

impl Read for Blobs<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.next == self.ids.len() {
                return Ok(0);
            }
            let end = (self.next + PREFETCH).min(self.ids.len());
            let got: Result<Vec<Vec<u8>>> = self.ids[self.next..end]
                .par_iter()
                .map(|id| self.src.load_blob(id))
                .collect();
            match got {
                Ok(blobs) => {
                    self.buf = blobs.concat();
                    self.pos = 0;
                    self.next = end;
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
