//! Backup: walk the sources, chunk and store what is new, write trees bottom-up, then the
//! snapshot. Owns the write path: blobs are deduplicated against the index and the set of
//! blobs added in this run (`Sink`), compressed and sealed on the rayon pool, and sent to the
//! packer thread, which streams them into one open pack per blob type straight into the
//! backend (a pack is never held in memory). The committer thread makes each complete pack
//! durable under its name and, every `INDEX_EVERY` packs or `INDEX_EVERY_ENTRIES` blobs,
//! writes an index file naming them.
//! Both channels are bounded, which is what bounds memory: when storage is slow, workers
//! wait instead of piling up blobs.
//!
//! Commit order (see lib.rs): packs → index files → snapshot.

use crate::format::blob;
use crate::format::meta;
use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};
use globset::GlobSet;
use rayon::prelude::*;

use crate::backend::{FileType, PutStream};
use crate::error::{Error, Result};
use crate::format::blob::{BlobType, SealedBlob};
use crate::format::chunker::{Chunker, StreamChunker};
use crate::format::index_file::PackEntries;
use crate::format::pack::PackStream;
use crate::format::snapshot::{BackupType, Snapshot, Summary, SNAPSHOT_VERSION};
use crate::format::tree::{Extent, Node, NodeKind, Tree};
use crate::id::Id;
use crate::ops::fsmeta::{self, Names};
use crate::ops::progress::Progress;
use crate::policy::filter::build_excludes;
use crate::policy::select::{find_parent, select};
use crate::repo::Repo;

/// Packs written between two index files: a crash loses the dedup of at most this many.
const INDEX_EVERY: usize = 64;
/// ... or after this many blobs: packs of small files hold thousands each, and the entries
/// waiting for an index file, and the in-run set of their ids, are held in memory.
const INDEX_EVERY_ENTRIES: usize = 50_000;
/// Sealed blobs go to the packer in batches of this many bytes or blobs.
const BATCH_BYTES: usize = 1 << 20;
const BATCH_BLOBS: usize = 1024;
/// The packer's write buffer: blobs below it are gathered, larger ones written directly.
const WRITE_BUF: usize = 64 << 10;
/// Files up to this size are read whole; larger ones are streamed through a window.
const SMALL_FILE: u64 = 1 << 20;
/// The streaming window: twice the largest chunk, at least; one per thread reading a large
/// file, so it counts in peak memory (8 MiB windows: 2-20 MiB more peak RSS, no faster).
const WINDOW: usize = 4 << 20;

#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    pub paths: Vec<PathBuf>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub kind: BackupType,
    /// Globs; one without `/` matches a name at any depth, one with `/` an absolute path.
    pub excludes: Vec<String>,
    pub one_file_system: bool,
    pub dry_run: bool,
    pub host: Option<String>,
    /// Use this snapshot as the parent instead of the latest one of the same host and paths.
    pub parent: Option<Id>,
    /// Record this time instead of now (imports, tests of point-in-time recovery).
    pub time: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug)]
pub struct BackupResult {
    /// None on a dry run.
    pub id: Option<Id>,
    pub snapshot: Snapshot,
    /// Non-fatal problems that do not make the snapshot incomplete (a file changed while read).
    pub warnings: Vec<String>,
}

/// Deduplicates and seals blobs, and hands them to the packer; one per backup.
struct Sink<'a> {
    repo: &'a Repo,
    level: i32,
    dry_run: bool,
    inflight: Mutex<HashSet<Id>>,
    /// Blobs sealed but not yet sent, per blob type, and their bytes: the packer gets them in
    /// batches, so small files do not cost a channel round trip (and a thread wake-up) each.
    batches: [Mutex<(Vec<SealedBlob>, usize)>; 2],
    tx: Mutex<Option<Sender<Vec<SealedBlob>>>>,
    bytes_added: AtomicU64,
    blobs_added: AtomicU64,
}

impl<'a> Sink<'a> {
    /// Stores `data` unless the repository or this run already has it; returns its id.
    fn add(&self, ty: BlobType, data: &[u8]) -> Result<Id> {
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
        let id = self.repo.keys().chunk_id.id(data);
        if self.repo.index().contains(&id)? || !self.inflight.lock().unwrap().insert(id) {
            return Ok(id);
        }
        let sealed = blob::seal_blob(self.repo.keys(), ty, id, data, self.level);
        self.bytes_added
            .fetch_add(sealed.bytes.len() as u64, Ordering::Relaxed);
        self.blobs_added.fetch_add(1, Ordering::Relaxed);
        if self.dry_run {
            return Ok(id);
        }
        let full = {
            let mut b = self.batches[ty as usize].lock().unwrap();
            b.1 += sealed.bytes.len();
            b.0.push(sealed);
            if b.1 >= BATCH_BYTES || b.0.len() >= BATCH_BLOBS {
                Some(std::mem::take(&mut *b).0)
            } else {
                None
            }
        };
        if let Some(batch) = full {
            self.send(batch)?;
        }
        Ok(id)
    }

    fn send(&self, batch: Vec<SealedBlob>) -> Result<()> {
        let tx = self.tx.lock().unwrap().clone();
        match tx {
            Some(tx) => tx
                .send(batch)
                .map_err(|_| Error::Invalid("pack writer stopped".into())),
            None => Err(Error::Invalid("pack writer stopped".into())),
        }
    }

    /// Sends what is batched and closes the channel: the packer then finishes its packs.
    fn finish(&self) -> Result<()> {
        for b in &self.batches {
            let batch = std::mem::take(&mut *b.lock().unwrap()).0;
            if !batch.is_empty() {
                self.send(batch)?;
            }
        }
        self.close();
        Ok(())
    }

    /// Closes the channel without sending the batches: blobs in them are simply not stored.
    fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// A pack whose bytes are all written but not yet committed under its name.
type Written<'r> = (Id, Box<dyn PutStream + 'r>, Vec<blob::BlobEntry>);

/// Streams sealed blobs into packs (one open pack per blob type) and hands each complete one
/// to the committer. Runs on its own thread, so the workers never wait for a write. Blobs
/// smaller than the write buffer are gathered into one write; larger ones go straight through.
fn packer<'r>(
    repo: &'r Repo,
    rx: Receiver<Vec<SealedBlob>>,
    done: Sender<Written<'r>>,
) -> Result<()> {
    type Out<'r> = std::io::BufWriter<Box<dyn PutStream + 'r>>;
    let pack_size = repo.config().pack_size as u64;
    let mut open: [Option<PackStream<Out<'r>>>; 2] = [None, None];
    let werr = || crate::repo::be("writing pack", "(new)");
    let close = |p: PackStream<Out<'r>>| -> Result<()> {
        let (id, out, entries) = p.finish(&repo.keys().data).map_err(werr())?;
        let out = out.into_inner().map_err(|e| werr()(e.into_error()))?;
        done.send((id, out, entries))
            .map_err(|_| Error::Invalid("pack committer stopped".into()))
    };
    for b in rx.into_iter().flatten() {
        let slot = &mut open[b.ty as usize];
        let p = match slot {
            Some(p) => p,
            None => {
                repo.upgrade()?;
                slot.insert(PackStream::new(std::io::BufWriter::with_capacity(
                    WRITE_BUF,
                    repo.backend().put_stream(FileType::Pack).map_err(werr())?,
                )))
            }
        };
        p.add(&b).map_err(werr())?;
        if p.len() >= pack_size || p.count() >= meta::MAX_PACK_ENTRIES {
            close(slot.take().expect("just written"))?;
        }
    }
    for p in open.into_iter().flatten() {
        close(p)?;
    }
    Ok(())
}

/// Commits packs (fsync and rename, overlapping the next pack's writing) and writes an index
/// file every `INDEX_EVERY` packs or `INDEX_EVERY_ENTRIES` blobs, whichever comes first;
/// returns the entries not yet in an index file when the channel closes. Only committed packs
/// reach an index file. Once indexed, blobs leave the in-run set `inflight` (the index answers
/// for them now), so neither grows with the size of the backup.
fn committer(
    repo: &Repo,
    rx: Receiver<Written<'_>>,
    inflight: &Mutex<HashSet<Id>>,
) -> Result<Vec<PackEntries>> {
    let mut pending: Vec<PackEntries> = Vec::new();
    let mut entries_pending = 0;
    for (id, out, entries) in rx {
        let name = id.to_hex();
        out.commit(&name)
            .map_err(crate::repo::be("writing pack", &name))?;
        entries_pending += entries.len();
        pending.push(PackEntries { pack: id, entries });
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
            // several threads' malloc arenas; glibc keeps such memory unless asked, and a
            // million-file backup then peaked ~5 MiB higher.
            #[cfg(target_env = "gnu")]
            // SAFETY: no arguments but a size hint; only returns free memory to the system.
            unsafe {
                libc::malloc_trim(0);
            }
            pending.clear();
            entries_pending = 0;
        }
    }
    Ok(pending)
}

#[derive(Default)]
struct Counters {
    files_new: AtomicU64,
    files_changed: AtomicU64,
    files_unchanged: AtomicU64,
    dirs: AtomicU64,
    bytes_read: AtomicU64,
    bytes_total: AtomicU64,
}

struct Walker<'a> {
    repo: &'a Repo,
    sink: &'a Sink<'a>,
    excludes: GlobSet,
    one_fs: bool,
    full: bool,
    /// The parent snapshot is marked complete in the local index (`Index::mark_complete`).
    trust_parent: bool,
    chunker: Chunker,
    names: Names,
    progress: &'a Progress,
    counters: Counters,
    errors: Mutex<Vec<String>>,
    warnings: Mutex<Vec<String>>,
}

/// What the parent snapshot knew of a path, when it knew it.
type Prev<'t> = Option<&'t Node>;

impl<'a> Walker<'a> {
    fn fail(&self, path: &Path, e: impl std::fmt::Display) {
        let msg = format!("{}: {e}", path.display());
        tracing::warn!("{msg}");
        self.progress.error();
        self.errors.lock().unwrap().push(msg);
    }

    fn warn(&self, msg: String) {
        tracing::warn!("{msg}");
        self.warnings.lock().unwrap().push(msg);
    }

    fn parent_tree(&self, prev: Prev) -> Option<Tree> {
        let id = prev.filter(|n| n.kind == NodeKind::Dir)?.subtree?;
        match self.repo.load_tree(&id) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!("parent tree {id} unreadable ({e}); reading everything below it");
                None
            }
        }
    }

    fn store_tree(&self, t: &Tree) -> Result<Id> {
        self.sink.add(BlobType::Tree, &t.encode())
    }

    /// Backs up directory `path`; returns its tree.
    fn dir(&self, path: &Path, dev: u64, prev: Option<&Tree>) -> Result<Tree> {
        crate::check_interrupt()?;
        let mut names: Vec<std::ffi::OsString> = match std::fs::read_dir(path) {
            Ok(rd) => {
                let mut v = Vec::new();
                for e in rd {
                    match e {
                        Ok(e) => v.push(e.file_name()),
                        Err(e) => self.fail(path, e),
                    }
                }
                v
            }
            Err(e) => {
                self.fail(path, e);
                return Ok(Tree::default());
            }
        };
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let nodes = names
            .par_iter()
            .map(|name| {
                let p = prev.and_then(|t| t.find(name.as_bytes()));
                self.entry(&path.join(name), name, dev, p)
            })
            .collect::<Result<Vec<Option<Node>>>>()?;
        self.counters.dirs.fetch_add(1, Ordering::Relaxed);
        Ok(Tree {
            nodes: nodes.into_iter().flatten().collect(),
        })
    }

    /// One directory entry; None when excluded or unreadable (the latter recorded as an error).
    fn entry(&self, path: &Path, name: &OsStr, dev: u64, prev: Prev) -> Result<Option<Node>> {
        // Per entry, not only per directory: one directory may hold a great many files.
        crate::check_interrupt()?;
        if self.excludes.is_match(path) {
            return Ok(None);
        }
        let m = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.fail(path, e);
                return Ok(None);
            }
        };
        let mut node = match fsmeta::node_from(name.as_bytes(), path, &m, &self.names) {
            Ok(n) => n,
            Err(e) => {
                self.fail(path, e);
                return Ok(None);
            }
        };
        match node.kind {
            NodeKind::Dir => {
                let tree = if self.one_fs && m.dev() != dev {
                    Tree::default()
                } else {
                    let pt = self.parent_tree(prev);
                    self.dir(path, dev, pt.as_ref())?
                };
                node.subtree = Some(self.store_tree(&tree)?);
            }
            NodeKind::File => {
                let stored = self.file(path, &mut node, &m, prev)?;
                if !stored {
                    return Ok(None);
                }
            }
            _ => {}
        }
        Ok(Some(node))
    }

    /// Fills a file node's content. Returns false when the file could not be read.
    fn file(&self, path: &Path, node: &mut Node, m: &Metadata, prev: Prev) -> Result<bool> {
        self.counters
            .bytes_total
            .fetch_add(m.len(), Ordering::Relaxed);
        if let Some(p) = prev.filter(|p| p.kind == NodeKind::File) {
            let same = p.size == node.size
                && p.mtime == node.mtime
                && p.ctime == node.ctime
                && p.inode == node.inode;
            if !self.full && same && (self.trust_parent || self.all_indexed(p)?) {
                node.content = p.content.clone();
                self.counters
                    .files_unchanged
                    .fetch_add(1, Ordering::Relaxed);
                self.progress.add(1, m.len());
                return Ok(true);
            }
            self.counters.files_changed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.files_new.fetch_add(1, Ordering::Relaxed);
        }
        // Open without following links or blocking (a fifo swapped in after lstat must not
        // hang the backup), then make sure the descriptor is the file lstat described: an
        // editor's atomic save may have replaced it, and then the new file's own metadata
        // goes with its content.
        let f = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .and_then(|f| f.metadata().map(|fm| (f, fm)))
        {
            Ok((f, fm)) if !fm.is_file() => {
                drop(f);
                self.fail(
                    path,
                    "replaced by something that is not a regular file while being read",
                );
                return Ok(false);
            }
            Ok((f, fm)) => {
                if (fm.dev(), fm.ino()) != (m.dev(), m.ino()) {
                    let name = std::mem::take(&mut node.name);
                    match fsmeta::node_from(&name, path, &fm, &self.names) {
                        Ok(n) => *node = n,
                        Err(e) => {
                            self.fail(path, e);
                            return Ok(false);
                        }
                    }
                    self.warn(format!(
                        "{}: replaced while being backed up; the new file was stored",
                        path.display()
                    ));
                }
                (f, fm)
            }
            Err(e) => {
                self.fail(path, e);
                return Ok(false);
            }
        };
        let (f, m) = (&f.0, &f.1);
        match self.read_content(path, f, m) {
            Ok((content, read)) => {
                if read != m.len() {
                    self.warn(format!(
                        "{}: file changed size while being read ({} → {read} bytes)",
                        path.display(),
                        m.len()
                    ));
                    node.size = read;
                } else if let Ok(after) = std::fs::symlink_metadata(path) {
                    if after.mtime() != m.mtime()
                        || after.mtime_nsec() != m.mtime_nsec()
                        || after.len() != m.len()
                    {
                        self.warn(format!("{}: file changed while being read", path.display()));
                    }
                }
                node.content = content;
                Ok(true)
            }
            Err(ReadError::Fatal(e)) => Err(e),
            Err(ReadError::Source(e)) => {
                self.fail(path, e);
                Ok(false)
            }
        }
    }

    fn all_indexed(&self, n: &Node) -> Result<bool> {
        for id in n.data_ids() {
            if !self.repo.index().contains(&id)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn read_content(
        &self,
        path: &Path,
        f: &File,
        m: &Metadata,
    ) -> Result<(Vec<Extent>, u64), ReadError> {
        let regions = fsmeta::data_regions(f, m).map_err(ReadError::Source)?;
        let mut content = Vec::new();
        let mut pos = 0u64;
        for (off, len) in regions {
            if off > pos {
                content.push(Extent::Hole { len: off - pos });
            }
            let read = if len <= SMALL_FILE {
                let mut buf = vec![0u8; len as usize];
                let n = read_full_at(f, &mut buf, off).map_err(ReadError::Source)?;
                for (id, l) in self.add_chunks(&buf[..n], self.chunker.cuts(&buf[..n]))? {
                    content.push(Extent::Data { id, len: l as u32 });
                }
                n as u64
            } else {
                let reader = PRead { f, off, left: len };
                let mut s = StreamChunker::new(self.chunker, reader, WINDOW);
                let mut total = 0u64;
                while let Some((buf, cuts)) = s.next_batch().map_err(ReadError::Source)? {
                    crate::check_interrupt()?;
                    total += buf.len() as u64;
                    for (id, l) in self.add_chunks(buf, cuts)? {
                        content.push(Extent::Data { id, len: l as u32 });
                    }
                    self.progress.add(0, buf.len() as u64);
                }
                total
            };
            self.counters.bytes_read.fetch_add(read, Ordering::Relaxed);
            pos = off + read;
            if read < len {
                break; // the file shrank
            }
        }
        if pos < m.len() {
            // A trailing hole: only when the file did not shrink while we read it.
            let shrank = std::fs::symlink_metadata(path)
                .map(|a| a.len() < m.len())
                .unwrap_or(true);
            if !shrank {
                content.push(Extent::Hole { len: m.len() - pos });
                pos = m.len();
            }
        }
        if m.len() <= SMALL_FILE {
            self.progress.add(1, pos);
        } else {
            self.progress.add(1, 0);
        }
        Ok((content, pos))
    }

    /// Hashes and stores the chunks of `buf` in parallel; returns (id, length) in order.
    fn add_chunks(&self, buf: &[u8], cuts: Vec<usize>) -> Result<Vec<(Id, usize)>> {
        let mut slices = Vec::with_capacity(cuts.len());
        let mut off = 0;
        for l in cuts {
            slices.push(&buf[off..off + l]);
            off += l;
        }
        if slices.len() == 1 {
            return Ok(vec![(
                self.sink.add(BlobType::Data, slices[0])?,
                slices[0].len(),
            )]);
        }
        slices
            .par_iter()
            .map(|s| Ok((self.sink.add(BlobType::Data, s)?, s.len())))
            .collect()
    }
}

enum ReadError {
    /// The source could not be read: skip the file, record it.
    Source(io::Error),
    /// The repository could not be written: stop the backup.
    Fatal(Error),
}

impl From<Error> for ReadError {
    fn from(e: Error) -> Self {
        ReadError::Fatal(e)
    }
}

fn read_full_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], off + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A reader over one region of a file, by positioned reads.
struct PRead<'f> {
    f: &'f File,
    off: u64,
    left: u64,
}

impl Read for PRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        if n == 0 {
            return Ok(0);
        }
        let k = self.f.read_at(&mut buf[..n], self.off)?;
        self.off += k as u64;
        self.left -= k as u64;
        Ok(k)
    }
}

/// The source paths as a tree of names: a path given whole is `Real`; the directories above it
/// are `Virtual`, holding only what leads to the given paths.
enum Source {
    Real(PathBuf),
    Virtual(PathBuf, BTreeMap<Vec<u8>, Source>),
}

fn source_tree(paths: &[PathBuf]) -> Source {
    let mut root = Source::Virtual(PathBuf::from("/"), BTreeMap::new());
    for p in paths {
        if p == Path::new("/") {
            return Source::Real(p.clone());
        }
        let comps: Vec<&OsStr> = p.iter().skip(1).collect();
        let mut cur = &mut root;
        let mut at = PathBuf::from("/");
        for (i, c) in comps.iter().enumerate() {
            at.push(c);
            let Source::Virtual(_, children) = cur else {
                break;
            };
            let last = i + 1 == comps.len();
            let e = children
                .entry(c.as_bytes().to_vec())
                .or_insert_with(|| Source::Virtual(at.clone(), BTreeMap::new()));
            if last {
                *e = Source::Real(at.clone());
            }
            cur = e;
        }
    }
    root
}

impl<'a> Walker<'a> {
    fn source(&self, s: &Source, prev: Option<&Tree>) -> Result<Tree> {
        let Source::Virtual(_, children) = s else {
            unreachable!("the root is virtual unless it is / itself");
        };
        let mut nodes = Vec::new();
        for (name, child) in children {
            let p = prev.and_then(|t| t.find(name));
            match child {
                Source::Real(path) => {
                    let dev = std::fs::symlink_metadata(path)
                        .map(|m| m.dev())
                        .unwrap_or(0);
                    if let Some(n) = self.entry(path, OsStr::from_bytes(name), dev, p)? {
                        nodes.push(n);
                    }
                }
                Source::Virtual(path, _) => {
                    // A component above a source may be a symlink (/home -> /data/home):
                    // follow it and record a directory, or restore would recreate the link
                    // and drop everything below it.
                    let m = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
                    if !m.is_dir() {
                        return Err(Error::Invalid(format!(
                            "{} is not a directory",
                            path.display()
                        )));
                    }
                    let mut n = fsmeta::node_from(name, path, &m, &self.names)
                        .map_err(|e| Error::io(path, e))?;
                    n.kind = NodeKind::Dir;
                    n.target = None;
                    let pt = self.parent_tree(p);
                    let t = self.source(child, pt.as_ref())?;
                    n.subtree = Some(self.store_tree(&t)?);
                    nodes.push(n);
                }
            }
        }
        Ok(Tree { nodes })
    }
}

pub fn backup(repo: &Repo, opts: &BackupOptions, progress: &Progress) -> Result<BackupResult> {
    let start = Instant::now();
    let time = opts.time.unwrap_or_else(chrono::Utc::now);
    if opts.paths.is_empty() {
        return Err(Error::Invalid("nothing to back up: no paths given".into()));
    }
    let mut abs = Vec::new();
    for p in &opts.paths {
        let a = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
        // Normalise `.`/`..` lexically; symlinks in the given path are kept as given.
        let mut norm = PathBuf::new();
        for c in a.components() {
            match c {
                std::path::Component::ParentDir => {
                    norm.pop();
                }
                std::path::Component::CurDir => {}
                c => norm.push(c),
            }
        }
        std::fs::symlink_metadata(&norm).map_err(|e| Error::io(&norm, e))?;
        abs.push(norm);
    }
    abs.sort();
    abs.dedup();
    let paths: Vec<String> = abs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let host = opts.host.clone().unwrap_or_else(crate::host::hostname);

    let snaps = repo.snapshots()?;
    let parent = match opts.parent {
        Some(id) => Some(select(&snaps, &id.to_hex())?),
        None => find_parent(&snaps, &host, &paths),
    };
    let prev_root = match parent {
        Some(p) => Some(repo.load_tree(&p.snap.tree)?),
        None => None,
    };
    // Every blob of a parent this database has vouched for is indexed here: its unchanged
    // files are reused without a lookup per chunk (a million of them at a million files).
    let trust_parent = match parent {
        Some(p) => repo.index().is_complete(&p.id)?,
        None => false,
    };

    // A few batches in flight keep the packer busy while the workers seal more: at most some
    // megabytes of sealed blobs, never a whole pack.
    let (tx, rx) = bounded::<Vec<SealedBlob>>(4);
    let sink = Sink {
        repo,
        level: repo.config().compression,
        dry_run: opts.dry_run,
        inflight: Mutex::new(HashSet::new()),
        batches: Default::default(),
        tx: Mutex::new(Some(tx)),
        bytes_added: AtomicU64::new(0),
        blobs_added: AtomicU64::new(0),
    };
    let walker = Walker {
        repo,
        sink: &sink,
        excludes: build_excludes(&opts.excludes)?,
        one_fs: opts.one_file_system,
        full: opts.kind == BackupType::Full,
        trust_parent,
        chunker: Chunker::new(repo.config().chunker, repo.keys().chunker_seed),
        names: Names::default(),
        progress,
        counters: Counters::default(),
        errors: Mutex::new(Vec::new()),
        warnings: Mutex::new(Vec::new()),
    };

    let (walked, packed, committed) = std::thread::scope(|s| {
        // One pack being committed while the next is written.
        let (done_tx, done_rx) = bounded(1);
        let packing = s.spawn(|| packer(repo, rx, done_tx));
        let committing = s.spawn(|| committer(repo, done_rx, &sink.inflight));
        // Closes the channel however the walk ends, a panic included: otherwise the packer
        // would wait for more blobs forever and the scope would never end.
        struct CloseOnDrop<'s, 'r>(&'s Sink<'r>);
        impl Drop for CloseOnDrop<'_, '_> {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        let close = CloseOnDrop(&sink);
        let walked = (|| {
            let src = source_tree(&abs);
            let root = match &src {
                Source::Real(p) => walker.dir(
                    p,
                    std::fs::symlink_metadata(p).map(|m| m.dev()).unwrap_or(0),
                    prev_root.as_ref(),
                )?,
                Source::Virtual(..) => walker.source(&src, prev_root.as_ref())?,
            };
            let id = walker.store_tree(&root)?;
            sink.finish()?;
            Ok::<_, Error>(id)
        })();
        drop(close);
        let packed = packing.join().expect("packer thread panicked");
        let committed = committing.join().expect("committer thread panicked");
        (walked, packed, committed)
    });
    // A write failure (disk full, say) explains the failures downstream of it ("committer
    // stopped", "pack writer stopped"): report the committer's first, then the packer's.
    let pending = committed?;
    let walked = packed.and(walked);
    // Index what was stored even when the walk failed (interrupted, say): the packs are
    // written, and the next backup then deduplicates against them instead of storing them again.
    if !pending.is_empty() {
        let saved = repo.save_index(&pending);
        if walked.is_ok() {
            saved?;
        }
    }
    let root = walked?;
    repo.index().flush()?;

    let c = &walker.counters;
    let summary = Summary {
        files_new: c.files_new.load(Ordering::Relaxed),
        files_changed: c.files_changed.load(Ordering::Relaxed),
        files_unchanged: c.files_unchanged.load(Ordering::Relaxed),
        dirs: c.dirs.load(Ordering::Relaxed),
        bytes_read: c.bytes_read.load(Ordering::Relaxed),
        bytes_total: c.bytes_total.load(Ordering::Relaxed),
        bytes_added: sink.bytes_added.load(Ordering::Relaxed),
        blobs_added: sink.blobs_added.load(Ordering::Relaxed),
        duration_secs: start.elapsed().as_secs_f64(),
        errors: walker.errors.into_inner().unwrap(),
    };
    let snapshot = Snapshot {
        version: SNAPSHOT_VERSION,
        time,
        host,
        user: crate::host::username(),
        paths,
        tags: opts.tags.clone(),
        category: opts.category.clone(),
        kind: opts.kind,
        parent: parent.map(|p| p.id),
        tree: root,
        summary,
    };
    // The last moment an interrupt can stop the backup: after it, the snapshot exists.
    crate::check_interrupt()?;
    let id = if opts.dry_run {
        None
    } else {
        let id = repo.save_snapshot(&snapshot)?;
        // Only now is every blob the snapshot refers to known to be indexed (found there, or
        // stored and indexed above). Failing to mark it costs the next backup speed, not data.
        let marked = repo.index().mark_complete(&id);
        if let Err(e) = marked.and_then(|_| repo.index().flush()) {
            tracing::warn!("local index: {e}");
        }
        Some(id)
    };
    Ok(BackupResult {
        id,
        snapshot,
        warnings: walker.warnings.into_inner().unwrap(),
    })
}

/// Counts files and bytes under `paths` the way a backup would see them, for progress totals.
pub fn scan(paths: &[PathBuf], excludes: &[String], progress: &Progress) -> Result<()> {
    let ex = build_excludes(excludes)?;
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut stack: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| std::path::absolute(p).ok())
        .collect();
    while let Some(p) = stack.pop() {
        if ex.is_match(&p) {
            continue;
        }
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
            }
        } else if m.is_file() {
            files += 1;
            bytes += m.len();
        }
    }
    progress.set_totals(files, bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_tree_merges_prefixes() {
        let s = source_tree(&[
            PathBuf::from("/a/b/c"),
            PathBuf::from("/a/d"),
            PathBuf::from("/a/b"),
        ]);
        let Source::Virtual(_, root) = s else {
            panic!()
        };
        let Source::Virtual(_, a) = &root[&b"a".to_vec()] else {
            panic!()
        };
        assert!(matches!(a[&b"b".to_vec()], Source::Real(_)));
        assert!(matches!(a[&b"d".to_vec()], Source::Real(_)));
    }
}
