//! Storage backends: where repository files live. A backend stores opaque named byte strings
//! in a few namespaces (`FileType`) and knows nothing of encryption or formats; everything
//! above this trait is written against it, so an object store can replace the local directory.
//!
//! Contract every backend keeps (and `tests::conformance` checks):
//! - `put` is atomic: a reader sees the whole file or none of it, also after a crash;
//! - `put` of a name that exists replaces it (content-addressed names make that harmless);
//! - `list` never shows partially written files;
//! - a missing file is `io::ErrorKind::NotFound`.

use std::io;
use std::sync::Arc;

pub mod local;
pub mod mem;

pub use local::LocalBackend;
pub use mem::MemBackend;

/// The namespaces of a repository. `dir()` is the on-disk folder and the object-store prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Config,
    Key,
    Pack,
    Index,
    Snapshot,
    Lock,
}

impl FileType {
    pub const ALL: [FileType; 6] = [
        FileType::Config,
        FileType::Key,
        FileType::Pack,
        FileType::Index,
        FileType::Snapshot,
        FileType::Lock,
    ];

    pub fn dir(self) -> &'static str {
        match self {
            FileType::Config => "",
            FileType::Key => "keys",
            FileType::Pack => "data",
            FileType::Index => "index",
            FileType::Snapshot => "snapshots",
            FileType::Lock => "locks",
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
        }
    }
}

pub trait Backend: Send + Sync {
    /// Human-readable location, for messages.
    fn location(&self) -> String;
    /// True if a repository was initialised here (a `config` exists).
    fn exists(&self) -> io::Result<bool>;
    /// Creates whatever structure the backend needs before the first `put`.
    fn create(&self) -> io::Result<()>;
    fn put(&self, t: FileType, name: &str, data: &[u8]) -> io::Result<()>;
    fn get(&self, t: FileType, name: &str) -> io::Result<Vec<u8>>;
    /// Reads `len` bytes at `offset`; a short file is `UnexpectedEof`.
    fn get_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> io::Result<Vec<u8>>;
    /// `get_range` into a buffer the caller keeps between calls (its contents are replaced).
    /// Backends that can read in place override it, sparing an allocation per read.
    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> io::Result<()> {
        *buf = self.get_range(t, name, offset, len)?;
        Ok(())
    }
    /// Starts a file of type `t` to be written piece by piece and named when complete: a pack
    /// is named by the hash of its bytes, known only after the last one, and streaming it
    /// spares holding all of it in memory.
    fn put_stream(&self, t: FileType) -> io::Result<Box<dyn PutStream + '_>>;
    /// Names and sizes of every complete file of type `t`.
    fn list(&self, t: FileType) -> io::Result<Vec<(String, u64)>>;
    fn delete(&self, t: FileType, name: &str) -> io::Result<()>;
}

/// A file being written by `Backend::put_stream`. Until `commit` it is invisible to `list`
/// and `get`; dropped uncommitted, it leaves nothing behind.
pub trait PutStream: io::Write + Send {
    /// Makes the file durable and visible as `name`, with the same guarantees as `put`.
    fn commit(self: Box<Self>, name: &str) -> io::Result<()>;
}

pub type DynBackend = Arc<dyn Backend>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The behaviour every backend must show.
    pub fn conformance(b: &dyn Backend) {
        use std::io::Write;
        assert!(!b.exists().unwrap());
        b.create().unwrap();
        b.put(FileType::Config, "config", b"cfg").unwrap();
        assert!(b.exists().unwrap());
        assert_eq!(b.get(FileType::Config, "config").unwrap(), b"cfg");

        let name = "ab".repeat(32);
        b.put(FileType::Pack, &name, b"0123456789").unwrap();
        assert_eq!(b.get_range(FileType::Pack, &name, 2, 3).unwrap(), b"234");
        let mut buf = b"old contents".to_vec();
        b.read_range_into(FileType::Pack, &name, 2, 3, &mut buf)
            .unwrap();
        assert_eq!(buf, b"234");
        assert!(b
            .read_range_into(FileType::Pack, &name, 8, 5, &mut buf)
            .is_err());
        assert_eq!(
            b.get_range(FileType::Pack, &name, 8, 5).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 10)]);
        assert!(b.list(FileType::Index).unwrap().is_empty());
        b.put(FileType::Pack, &name, b"abc").unwrap();
        assert_eq!(b.get(FileType::Pack, &name).unwrap(), b"abc");
        b.delete(FileType::Pack, &name).unwrap();
        assert_eq!(
            b.get(FileType::Pack, &name).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            b.delete(FileType::Pack, &name).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(b.list(FileType::Pack).unwrap().is_empty());

        // A streamed file is invisible until committed, and nothing once dropped uncommitted.
        let mut w = b.put_stream(FileType::Pack).unwrap();
        w.write_all(b"stream").unwrap();
        w.write_all(b"ed").unwrap();
        assert!(b.list(FileType::Pack).unwrap().is_empty());
        w.commit(&name).unwrap();
        assert_eq!(b.get(FileType::Pack, &name).unwrap(), b"streamed");
        assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 8)]);
        let mut w = b.put_stream(FileType::Pack).unwrap();
        w.write_all(b"abandoned").unwrap();
        drop(w);
        assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 8)]);
        b.delete(FileType::Pack, &name).unwrap();

        for t in FileType::ALL {
            if t != FileType::Config {
                b.put(t, "0011", b"x").unwrap();
                assert_eq!(b.list(t).unwrap(), vec![("0011".to_string(), 1)]);
            }
        }
    }

    #[test]
    fn mem_backend_conforms() {
        conformance(&MemBackend::default());
    }

    #[test]
    fn local_backend_conforms() {
        let d = tempfile::tempdir().unwrap();
        conformance(&LocalBackend::new(d.path().join("repo")));
        // The abandoned stream's temp file went with it.
        let left: Vec<_> = std::fs::read_dir(d.path().join("repo/data"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
