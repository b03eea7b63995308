//! The read side of a backup: walking the sources, comparing each file with what the parent
//! snapshot knew of it, reading and chunking what changed, and building trees bottom-up.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use globset::GlobSet;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::format::blob::BlobType;
use crate::format::chunker::{Chunker, StreamChunker};
use crate::format::tree::{Extent, Node, NodeKind, Tree};
use crate::id::Id;
use crate::ops::fsmeta::{self, Names};
use crate::ops::progress::Progress;
use crate::policy::filter::build_excludes;
use crate::repo::Repo;

use super::dirs::Place;
use super::store::Sink;

/// Files up to this size are read whole; larger ones are streamed through a window.
pub(super) const SMALL_FILE: u64 = 1 << 20;
/// The streaming window: twice the largest chunk, at least; one per thread reading a large
/// file, so it counts in peak memory (8 MiB windows: 2-20 MiB more peak RSS, no faster).
pub(super) const WINDOW: usize = 4 << 20;

#[derive(Default)]
pub(super) struct Counters {
    pub(super) files_new: AtomicU64,
    pub(super) files_changed: AtomicU64,
    pub(super) files_unchanged: AtomicU64,
    pub(super) files_reread: AtomicU64,
    pub(super) dirs: AtomicU64,
    pub(super) bytes_read: AtomicU64,
    pub(super) bytes_total: AtomicU64,
}

pub(super) struct Walker<'a> {
    pub(super) cancel: &'a crate::cancel::CancelToken,
    pub(super) repo: &'a Repo,
    pub(super) sink: &'a Sink<'a>,
    pub(super) excludes: GlobSet,
    pub(super) one_fs: bool,
    pub(super) full: bool,
    /// The parent snapshot is marked complete in the local index (`Index::mark_complete`).
    pub(super) trust_parent: bool,
    pub(super) chunker: Chunker,
    pub(super) names: Names,
    pub(super) progress: &'a Progress,
    pub(super) counters: Counters,
    pub(super) errors: Mutex<Vec<String>>,
    pub(super) warnings: Mutex<Vec<String>>,
}

/// What the parent snapshot knew of a path, when it knew it.
pub(super) type Prev<'t> = Option<&'t Node>;

impl<'a> Walker<'a> {
    pub(super) fn fail(&self, path: &Path, e: impl std::fmt::Display) {
        let msg = format!("{}: {e}", path.display());
        tracing::warn!("{msg}");
        self.progress.error();
        self.errors.lock().unwrap().push(msg);
    }

    pub(super) fn warn(&self, msg: String) {
        tracing::warn!("{msg}");
        self.warnings.lock().unwrap().push(msg);
    }

    pub(super) fn parent_tree(&self, prev: Prev) -> Option<Tree> {
        let id = prev.filter(|n| n.kind == NodeKind::Dir)?.subtree?;
        match self.repo.load_tree(&id) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!("parent tree {id} unreadable ({e}); reading everything below it");
                None
            }
        }
    }

    pub(super) fn store_tree(&self, t: &Tree) -> Result<Id> {
        self.sink.add(BlobType::Tree, &t.encode())
    }

    /// Fills a file node's content. Returns false when the file could not be read.
    pub(super) fn file(
        &self,
        place: &Place,
        node: &mut Node,
        m: &Metadata,
        prev: Prev,
    ) -> Result<bool> {
        self.counters
            .bytes_total
            .fetch_add(m.len(), Ordering::Relaxed);
        let prev_file = prev.filter(|p| p.kind == NodeKind::File);
        let same = prev_file.is_some_and(|p| {
            p.size == node.size
                && p.mtime == node.mtime
                && p.ctime == node.ctime
                && p.inode == node.inode
        });
        if let Some(p) = prev_file {
            if !self.full && same && (self.trust_parent || self.all_indexed(p)?) {
                node.content = p.content.clone();
                self.counters
                    .files_unchanged
                    .fetch_add(1, Ordering::Relaxed);
                self.progress.add(1, m.len());
                return Ok(true);
            }
        }
        let read = self.read_file(place, node, m)?;
        // Counted once the content is known: a full backup reads every file, and one whose
        // metadata and content are the parent's is unchanged, read again (so is one whose
        // chunks were not all in the index). Changed metadata counts as a change, as in an
        // incremental backup.
        let c = &self.counters;
        match prev_file {
            _ if !read => {}
            Some(p) if same && p.content == node.content => {
                c.files_unchanged.fetch_add(1, Ordering::Relaxed);
                c.files_reread.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {
                c.files_changed.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                c.files_new.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(read)
    }

    /// Reads a file's content into `node`; false when it could not be read (recorded).
    fn read_file(&self, place: &Place, node: &mut Node, m: &Metadata) -> Result<bool> {
        // Open without following links or blocking (a fifo swapped in after lstat must not
        // hang the backup), then make sure the descriptor is the file lstat described: an
        // editor's atomic save may have replaced it, and then the new file's own metadata
        // goes with its content.
        let f = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&place.at)
            .and_then(|f| f.metadata().map(|fm| (f, fm)))
        {
            Ok((f, fm)) if !fm.is_file() => {
                drop(f);
                self.fail(
                    &place.path(),
                    "replaced by something that is not a regular file while being read",
                );
                return Ok(false);
            }
            Ok((f, fm)) => {
                if (fm.dev(), fm.ino()) != (m.dev(), m.ino()) {
                    let name = std::mem::take(&mut node.name);
                    match fsmeta::node_from(&name, &place.at, &fm, &self.names) {
                        Ok(n) => *node = n,
                        Err(e) => {
                            self.fail(&place.path(), e);
                            return Ok(false);
                        }
                    }
                    self.warn(format!(
                        "{}: replaced while being backed up; the new file was stored",
                        place.path().display()
                    ));
                }
                (f, fm)
            }
            Err(e) => {
                self.fail(&place.path(), e);
                return Ok(false);
            }
        };
        let (f, m) = (&f.0, &f.1);
        match self.read_content(place, f, m) {
            Ok((content, read)) => {
                if read != m.len() {
                    self.warn(format!(
                        "{}: file changed size while being read ({} → {read} bytes)",
                        place.path().display(),
                        m.len()
                    ));
                    node.size = read;
                } else if let Ok(after) = std::fs::symlink_metadata(&place.at) {
                    if after.mtime() != m.mtime()
                        || after.mtime_nsec() != m.mtime_nsec()
                        || after.len() != m.len()
                    {
                        self.warn(format!(
                            "{}: file changed while being read",
                            place.path().display()
                        ));
                    }
                }
                node.content = content;
                Ok(true)
            }
            Err(ReadError::Fatal(e)) => Err(e),
            Err(ReadError::Source(e)) => {
                self.fail(&place.path(), e);
                Ok(false)
            }
        }
    }

    pub(super) fn all_indexed(&self, n: &Node) -> Result<bool> {
        for id in n.data_ids() {
            if !self.repo.is_stored(&id)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub(super) fn read_content(
        &self,
        place: &Place,
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
                    self.cancel.check()?;
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
            let shrank = std::fs::symlink_metadata(&place.at)
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
    pub(super) fn add_chunks(&self, buf: &[u8], cuts: Vec<usize>) -> Result<Vec<(Id, usize)>> {
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

pub(super) enum ReadError {
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

pub(super) fn read_full_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
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
pub(super) struct PRead<'f> {
    pub(super) f: &'f File,
    pub(super) off: u64,
    pub(super) left: u64,
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
pub(super) enum Source {
    Real(PathBuf),
    Virtual(PathBuf, BTreeMap<Vec<u8>, Source>),
}

pub(super) fn source_tree(paths: &[PathBuf]) -> Source {
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

/// Counts files and bytes under `paths` the way a backup would see them, for progress totals.
/// Entries past PATH_MAX are not counted: these are only totals for a progress display.
pub fn scan(paths: &[PathBuf], excludes: &[String], progress: &Progress) -> Result<()> {
    let ex = build_excludes(excludes)?;
    let (mut files, mut bytes) = (0u64, 0u64);
    // The names of each directory being scanned, and one path cut back to a frame's own: a
    // whole path per entry waiting held memory quadratic in the depth.
    let roots = paths
        .iter()
        .filter_map(|p| std::path::absolute(p).ok())
        .map(PathBuf::into_os_string)
        .collect();
    let mut stack: Vec<(Vec<OsString>, usize)> = vec![(roots, 0)];
    let mut path = Vec::new();
    while let Some((names, len)) = stack.last_mut() {
        let Some(name) = names.pop() else {
            stack.pop();
            continue;
        };
        path.truncate(*len);
        if !path.is_empty() && !path.ends_with(b"/") {
            path.push(b'/');
        }
        path.extend_from_slice(name.as_bytes());
        let p = Path::new(OsStr::from_bytes(&path));
        if ex.is_match(p) {
            continue;
        }
        let Ok(m) = std::fs::symlink_metadata(p) else {
            continue;
        };
        if m.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                let names = rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
                stack.push((names, path.len()));
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
    fn scan_counts_the_files_and_bytes_a_backup_would_read() {
        let t = tempfile::tempdir().unwrap();
        let p = |rel: &str| t.path().join(rel);
        std::fs::create_dir_all(p("a/b")).unwrap();
        std::fs::write(p("a/x"), b"123").unwrap();
        std::fs::write(p("a/b/y"), b"12345").unwrap();
        std::fs::write(p("a/b/skip.tmp"), b"1234567").unwrap();
        std::fs::write(p("c"), b"12").unwrap();
        std::os::unix::fs::symlink("c", p("a/link")).unwrap();
        let progress = Progress::default();
        scan(&[t.path().to_path_buf()], &["*.tmp".into()], &progress).unwrap();
        let totals = |p: &Progress| {
            (
                p.total_files.load(Ordering::Relaxed),
                p.total_bytes.load(Ordering::Relaxed),
            )
        };
        assert_eq!(totals(&progress), (3, 10));
        let progress = Progress::default();
        scan(&[p("a/b"), p("c")], &[], &progress).unwrap();
        assert_eq!(totals(&progress), (3, 14));
    }
}
