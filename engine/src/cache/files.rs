//! The local copy of a remote repository's metadata: snapshot and index files, and the sealed
//! bytes of tree blobs, so `snapshots`, `ls`, the mount and an incremental backup do not fetch
//! them again from an object store or over SSH. Derived data like the index: every entry is
//! checked when read (files by the hash that names them, trees by their MAC and keyed id, by
//! the caller), a bad one is removed and fetched again, and losing the directory loses
//! nothing. Entries stay encrypted as in the repository. Writes are atomic (temp and rename)
//! so a crashed writer leaves no half entry; failures to write are ignored (a cache is
//! optional).

use std::io::Write;
use std::path::{Path, PathBuf};

/// What an entry is: a repository file of some type (by name), or a tree blob (by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Snapshot,
    Index,
    Tree,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Snapshot => "snapshots",
            Kind::Index => "index",
            Kind::Tree => "trees",
        }
    }
}

pub struct FileCache {
    root: PathBuf,
}

fn hex_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|c| c.is_ascii_hexdigit())
}

impl FileCache {
    /// The cache under `root` (`<cache>/<repo id>/files`), made 0700 on first write.
    pub fn new(root: PathBuf) -> FileCache {
        FileCache { root }
    }

    fn path(&self, kind: Kind, name: &str) -> Option<PathBuf> {
        // Names come from listings of storage others may control: only ids make paths.
        hex_name(name).then(|| self.root.join(kind.dir()).join(&name[..2]).join(name))
    }

    pub fn get(&self, kind: Kind, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(kind, name)?).ok()
    }

    pub fn contains(&self, kind: Kind, name: &str) -> bool {
        self.path(kind, name).is_some_and(|p| p.exists())
    }

    pub fn put(&self, kind: Kind, name: &str, bytes: &[u8]) {
        let Some(p) = self.path(kind, name) else {
            return;
        };
        let dir = p.parent().expect("has a parent");
        let write = || -> std::io::Result<()> {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            let mut t = tempfile::Builder::new().prefix(".tmp").tempfile_in(dir)?;
            t.write_all(bytes)?;
            t.persist(&p).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::debug!("metadata cache: writing {}: {e}", p.display());
        }
    }

    pub fn remove(&self, kind: Kind, name: &str) {
        if let Some(p) = self.path(kind, name) {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Removes the entries of `kind` whose names `keep` refuses (files the repository no
    /// longer has).
    pub fn retain(&self, kind: Kind, keep: impl Fn(&str) -> bool) {
        let top = self.root.join(kind.dir());
        let Ok(subs) = std::fs::read_dir(&top) else {
            return;
        };
        for sub in subs.flatten() {
            let Ok(files) = std::fs::read_dir(sub.path()) else {
                continue;
            };
            for f in files.flatten() {
                let n = f.file_name();
                let n = n.to_string_lossy();
                if !keep(&n) {
                    let _ = std::fs::remove_file(f.path());
                }
            }
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_are_private_and_only_ids_make_paths() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let c = FileCache::new(d.path().join("files"));
        let id = "ab".repeat(32);
        assert_eq!(c.get(Kind::Snapshot, &id), None);
        c.put(Kind::Snapshot, &id, b"sealed");
        assert_eq!(c.get(Kind::Snapshot, &id).unwrap(), b"sealed");
        assert_eq!(c.get(Kind::Index, &id), None);
        let mode = std::fs::metadata(d.path().join("files/snapshots"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        for hostile in ["../../etc/passwd", "ab", &"zz".repeat(32), ""] {
            c.put(Kind::Tree, hostile, b"x");
            assert_eq!(c.get(Kind::Tree, hostile), None);
        }
        c.retain(Kind::Snapshot, |n| n != id);
        assert_eq!(c.get(Kind::Snapshot, &id), None);
    }
}
