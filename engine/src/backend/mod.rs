//! Storage backends: where repository files live. A backend stores opaque named byte strings
//! in a few namespaces (`FileType`) and knows nothing of encryption or formats; everything
//! above this trait is written against it, so an object store can replace the local directory.
//!
//! Contract every backend keeps (and `conformance::run` checks):
//! - `put` is atomic: a reader sees the whole file or none of it, also after a crash;
//! - `put` of a name that exists replaces it (content-addressed names make that harmless);
//! - `put_new` never replaces: of several callers creating one name, exactly one succeeds and
//!   the others get `BackendError::Exists` (the config, which marks a repository as
//!   initialised, is created this way, so two racing `init`s cannot both write one);
//! - `list` never shows partially written files;
//! - `delete` of a missing file is `NotFound` or success (an object store cannot tell);
//! - a missing file is `BackendError::NotFound`; other failures say whether a retry may help
//!   (`Transient`) or not (`Permanent`).

use std::io;
use std::sync::Arc;

pub mod conformance;
mod error;
pub mod local;
pub mod mem;
pub mod retry;
pub mod s3;
pub mod sftp;
pub mod url;

pub use error::{BResult, BackendError};

pub use local::LocalBackend;
pub use mem::MemBackend;
pub use retry::{RetryBackend, RetryPolicy};
pub use s3::{S3Backend, S3Options};
pub use sftp::{SftpBackend, SftpConfig};
pub use url::Location;

/// How to reach each kind of storage, beyond its location.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub s3: S3Options,
    pub sftp: SftpConfig,
    pub retry: RetryPolicy,
}

/// The backend for a location, with retries of transient failures around it. Opening makes
/// no request: a wrong endpoint or credentials show at the first call.
pub fn open(loc: &Location, opts: &Options) -> BResult<DynBackend> {
    Ok(match loc {
        Location::Local(p) => Arc::new(RetryBackend::new(LocalBackend::new(p), opts.retry)),
        Location::S3(s) => Arc::new(RetryBackend::new(
            S3Backend::new(s, opts.s3.clone())?,
            opts.retry,
        )),
        Location::Sftp(s) => Arc::new(RetryBackend::new(
            SftpBackend::new(s, opts.sftp.clone())?,
            opts.retry,
        )),
    })
}

/// The namespaces of a repository. `dir()` is the on-disk folder and the object-store prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Config,
    Key,
    Pack,
    Index,
    Snapshot,
    Lock,
    /// Prune's deletion plans (FORMAT.md §14): packs awaiting deletion.
    Pending,
    /// Restoration records (FORMAT.md §15): what each restore, verification and rollback did.
    Restore,
    /// The audit trail (FORMAT.md §16): one hash-chained entry per operation.
    Audit,
}

impl FileType {
    pub const ALL: [FileType; 9] = [
        FileType::Config,
        FileType::Key,
        FileType::Pack,
        FileType::Index,
        FileType::Snapshot,
        FileType::Lock,
        FileType::Pending,
        FileType::Restore,
        FileType::Audit,
    ];

    pub fn dir(self) -> &'static str {
        match self {
            FileType::Config => "",
            FileType::Key => "keys",
            FileType::Pack => "data",
            FileType::Index => "index",
            FileType::Snapshot => "snapshots",
            FileType::Lock => "locks",
            FileType::Pending => "pending",
            FileType::Restore => "restores",
            FileType::Audit => "audit",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FileType::Config => "config",
            FileType::Key => "key",
            FileType::Pack => "pack",
            FileType::Index => "index file",
            FileType::Snapshot => "snapshot",
            FileType::Lock => "lock",
            FileType::Pending => "deletion plan",
            FileType::Restore => "restoration record",
            FileType::Audit => "audit entry",
        }
    }
}

pub trait Backend: Send + Sync {
    /// Human-readable location, for messages.
    fn location(&self) -> String;
    /// True if a repository was initialised here (a `config` exists).
    fn exists(&self) -> BResult<bool>;
    /// Creates whatever structure the backend needs before the first `put`.
    fn create(&self) -> BResult<()>;
    fn put(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()>;
    /// `put`, but only if `name` does not exist yet: `BackendError::Exists` otherwise, with
    /// nothing changed. As atomic as `put`, and exclusive against concurrent `put_new`s.
    fn put_new(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()>;
    fn get(&self, t: FileType, name: &str) -> BResult<Vec<u8>>;
    /// Reads `len` bytes at `offset`; a short file is `UnexpectedEof`.
    fn get_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> BResult<Vec<u8>>;
    /// `get_range` into a buffer the caller keeps between calls (its contents are replaced).
    /// Backends that can read in place override it, sparing an allocation per read.
    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> BResult<()> {
        *buf = self.get_range(t, name, offset, len)?;
        Ok(())
    }
    /// Starts a file of type `t` to be written piece by piece and named when complete: a pack
    /// is named by the hash of its bytes, known only after the last one, and streaming it
    /// spares holding all of it in memory.
    fn put_stream(&self, t: FileType) -> BResult<Box<dyn PutStream + '_>>;
    /// Names and sizes of every complete file of type `t`.
    fn list(&self, t: FileType) -> BResult<Vec<(String, u64)>>;
    fn delete(&self, t: FileType, name: &str) -> BResult<()>;
    /// When a file was last written, where the backend can say (None otherwise). Prune asks
    /// it only of packs no index file names, to leave young ones to the backup writing them.
    fn modified(&self, _t: FileType, _name: &str) -> BResult<Option<std::time::SystemTime>> {
        Ok(None)
    }
    /// Removes temp files (`.tmp*`, left by killed writers) of each type last written before
    /// `before(type)` (the config's for those beside the config); returns how many and their
    /// bytes. Backends that write in one request have none.
    fn remove_temp_files(&self, _before: &TempCutoff) -> BResult<(u64, u64)> {
        Ok((0, 0))
    }
    /// How many calls may usefully be in flight at once: 1 for a local disk (the kernel
    /// overlaps the writes anyway), more where each call waits on a network round trip.
    fn concurrency(&self) -> usize {
        1
    }
    /// Whether each call crosses a network: then the repository keeps a local copy of its
    /// metadata (`cache::files`), which for a local directory would only copy the disk.
    fn is_remote(&self) -> bool {
        false
    }
}

/// For `Backend::remove_temp_files`: the time before which a temp file of a type counts as
/// left behind.
pub type TempCutoff = dyn Fn(FileType) -> std::time::SystemTime + Sync;

/// A file being written by `Backend::put_stream`. Until `commit` it is invisible to `list`
/// and `get`; dropped uncommitted, it leaves nothing behind.
pub trait PutStream: io::Write + Send {
    /// Makes the file durable and visible as `name`, with the same guarantees as `put`.
    fn commit(self: Box<Self>, name: &str) -> BResult<()>;
}

pub type DynBackend = Arc<dyn Backend>;

/// Names every backend accepts: no path separators, no leading dot (temp files and `.`/`..`),
/// no NUL. Checked before a name becomes a path or a key.
pub(crate) fn valid_name(name: &str) -> io::Result<()> {
    if name.is_empty() || name.starts_with('.') || name.contains('/') || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid object name {name:?}"),
        ));
    }
    Ok(())
}

/// A stream held in memory and handed whole to `store` on commit, for backends that cannot
/// name a file after writing it (an object store, SFTP, memory).
pub(crate) struct Buffered<'a> {
    buf: Vec<u8>,
    store: Box<Store<'a>>,
}

/// What a `Buffered` stream does with its bytes on commit (name, bytes).
type Store<'a> = dyn FnOnce(&str, Vec<u8>) -> BResult<()> + Send + 'a;

impl<'a> Buffered<'a> {
    pub(crate) fn new(store: impl FnOnce(&str, Vec<u8>) -> BResult<()> + Send + 'a) -> Box<Self> {
        Box::new(Buffered {
            buf: Vec::new(),
            store: Box::new(store),
        })
    }
}

impl io::Write for Buffered<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PutStream for Buffered<'_> {
    fn commit(self: Box<Self>, name: &str) -> BResult<()> {
        let Buffered { buf, store } = *self;
        store(name, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_backend_conforms() {
        conformance::run(&MemBackend::default());
    }

    #[test]
    fn local_backend_conforms() {
        let d = tempfile::tempdir().unwrap();
        conformance::run(&LocalBackend::new(d.path().join("repo")));
        // The abandoned stream's temp file went with it.
        let left: Vec<_> = std::fs::read_dir(d.path().join("repo/data"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
