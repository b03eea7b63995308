//! The local-directory backend. Layout: `config`, `keys/`, `index/`, `snapshots/`, `locks/`,
//! and `data/XX/` where XX is the first two hex digits of the pack name (keeps directories
//! small). Every `put` writes a temp file beside its destination, fsyncs it, renames it into
//! place and fsyncs the directory, so a crash leaves either the old state or the new one; a
//! `put_new` renames without replacing (RENAME_NOREPLACE, or link then unlink).
//! A `put_stream` does the same with its temp file in the type's directory (`data/` for
//! packs), since its name, and so its subdirectory, is known only at the end. Temp files start
//! with `.tmp` and are never listed. Directories are created 0700 and files 0600 whatever the
//! umask: the repository is encrypted, but its names and sizes are still nobody else's business.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{valid_name, BResult, Backend, FileType, PutStream};

pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBackend { root: root.into() }
    }

    fn path(&self, t: FileType, name: &str) -> PathBuf {
        match t {
            FileType::Config => self.root.join("config"),
            FileType::Pack => {
                let sub = name.get(..2).unwrap_or("__");
                self.root.join("data").join(sub).join(name)
            }
            _ => self.root.join(t.dir()).join(name),
        }
    }

    /// `data` in a temp file beside where `name` goes (the directory created if missing).
    fn write_temp(&self, t: FileType, name: &str, data: &[u8]) -> BResult<tempfile::NamedTempFile> {
        valid_name(name)?;
        let dest = self.path(t, name);
        let dir = dest.parent().expect("object paths have a parent");
        ensure_dir(dir)?;
        let mut tmp = tempfile::Builder::new().prefix(".tmp").tempfile_in(dir)?;
        tmp.write_all(data)?;
        Ok(tmp)
    }

    /// Where a streamed file of type `t` is written before it has a name: the type's own
    /// directory (for packs `data/`, one rename away from `data/XX/`), so the rename never
    /// crosses a filesystem.
    fn stream_dir(&self, t: FileType) -> PathBuf {
        match t {
            FileType::Config => self.root.clone(),
            _ => self.root.join(t.dir()),
        }
    }
}

struct LocalPut<'a> {
    backend: &'a LocalBackend,
    t: FileType,
    tmp: tempfile::NamedTempFile,
}

impl Write for LocalPut<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.tmp.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

impl PutStream for LocalPut<'_> {
    fn commit(self: Box<Self>, name: &str) -> BResult<()> {
        valid_name(name)?;
        let dest = self.backend.path(self.t, name);
        ensure_dir(dest.parent().expect("object paths have a parent"))?;
        persist(self.tmp, &dest)
    }
}

/// Makes a written temp file durable under `dest`: fsync it, rename it, fsync the directory.
fn persist(tmp: tempfile::NamedTempFile, dest: &Path) -> BResult<()> {
    tmp.as_file().sync_all()?;
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(fsync_dir(
        dest.parent().expect("object paths have a parent"),
    )?)
}

/// `persist` that never replaces `dest`: renameat2(RENAME_NOREPLACE), or where the filesystem
/// lacks it link(2) then unlink, both of which fail with EEXIST if `dest` exists. The temp
/// file is complete and synced before its name appears, so the new name is as atomic as
/// `persist`'s; on EEXIST the temp file is dropped (removed).
fn persist_new(tmp: tempfile::NamedTempFile, dest: &Path) -> BResult<()> {
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(dest).map_err(|e| e.error)?;
    Ok(fsync_dir(
        dest.parent().expect("object paths have a parent"),
    )?)
}

fn ensure_dir(dir: &Path) -> BResult<()> {
    if !dir.is_dir() {
        create_dirs(dir)?;
    }
    Ok(())
}

/// `create_dir_all` with every directory it creates 0700 (the mode is given to mkdir, so the
/// umask can only take bits away); directories that exist already are left as they are.
fn create_dirs(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn exists(&self) -> BResult<bool> {
        match fs::metadata(self.root.join("config")) {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn create(&self) -> BResult<()> {
        create_dirs(&self.root)?;
        for t in FileType::ALL {
            if t != FileType::Config {
                create_dirs(&self.root.join(t.dir()))?;
            }
        }
        for i in 0..=255u8 {
            create_dirs(&self.root.join("data").join(format!("{i:02x}")))?;
        }
        // Each new directory's entry lives in its parent: sync the parents, deepest first, so
        // the structure is durable before the config (written last) says it exists.
        fsync_dir(&self.root.join("data"))?;
        fsync_dir(&self.root)?;
        if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsync_dir(parent)?;
        }
        Ok(())
    }

    fn put(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        persist(self.write_temp(t, name, data)?, &self.path(t, name))
    }

    fn put_new(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        persist_new(self.write_temp(t, name, data)?, &self.path(t, name))
    }

    fn put_stream(&self, t: FileType) -> BResult<Box<dyn PutStream + '_>> {
        let dir = self.stream_dir(t);
        ensure_dir(&dir)?;
        Ok(Box::new(LocalPut {
            backend: self,
            t,
            tmp: tempfile::Builder::new().prefix(".tmp").tempfile_in(dir)?,
        }))
    }

    fn get(&self, t: FileType, name: &str) -> BResult<Vec<u8>> {
        valid_name(name)?;
        Ok(fs::read(self.path(t, name))?)
    }

    fn get_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> BResult<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_range_into(t, name, offset, len, &mut buf)?;
        Ok(buf)
    }

    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> BResult<()> {
        valid_name(name)?;
        let mut f = File::open(self.path(t, name))?;
        f.seek(SeekFrom::Start(offset))?;
        let len = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "range too long"))?;
        buf.clear();
        buf.reserve_exact(len);
        // read_to_end fills the spare capacity without zeroing it first.
        f.take(len as u64).read_to_end(buf)?;
        if buf.len() != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} bytes where {len} were expected", buf.len()),
            )
            .into());
        }
        Ok(())
    }

    fn list(&self, t: FileType) -> BResult<Vec<(String, u64)>> {
        let mut out = Vec::new();
        if t == FileType::Config {
            if let Ok(m) = fs::metadata(self.root.join("config")) {
                out.push(("config".to_string(), m.len()));
            }
            return Ok(out);
        }
        let base = self.root.join(t.dir());
        let dirs: Vec<PathBuf> = if t == FileType::Pack {
            match fs::read_dir(&base) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(e.into()),
            }
        } else {
            vec![base]
        };
        for d in dirs {
            let rd = match fs::read_dir(&d) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            for e in rd {
                let e = e?;
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with('.') {
                    continue;
                }
                let m = match e.metadata() {
                    Ok(m) => m,
                    // Gone since readdir (a lock released by another process): not listed.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                };
                if m.is_file() {
                    out.push((name.to_string(), m.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn delete(&self, t: FileType, name: &str) -> BResult<()> {
        valid_name(name)?;
        let p = self.path(t, name);
        fs::remove_file(&p)?;
        Ok(fsync_dir(p.parent().expect("object paths have a parent"))?)
    }

    fn modified(&self, t: FileType, name: &str) -> BResult<Option<std::time::SystemTime>> {
        valid_name(name)?;
        Ok(Some(fs::symlink_metadata(self.path(t, name))?.modified()?))
    }

    fn remove_temp_files(&self, before: &super::TempCutoff) -> BResult<(u64, u64)> {
        let mut dirs = vec![(self.root.clone(), FileType::Config)];
        for t in FileType::ALL {
            if t != FileType::Config {
                dirs.push((self.root.join(t.dir()), t));
            }
        }
        if let Ok(rd) = fs::read_dir(self.root.join("data")) {
            dirs.extend(
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .map(|p| (p, FileType::Pack)),
            );
        }
        let (mut n, mut bytes) = (0, 0);
        for (d, t) in dirs {
            let before = before(t);
            let Ok(rd) = fs::read_dir(&d) else { continue };
            let mut removed = false;
            for e in rd.filter_map(|e| e.ok()) {
                if !e.file_name().as_encoded_bytes().starts_with(b".tmp") {
                    continue;
                }
                // Not followed: a symlink named .tmp* is removed as itself, never its target.
                let Ok(m) = e.metadata() else { continue };
                if !m.is_file() || m.modified().map_or(true, |t| t >= before) {
                    continue;
                }
                match fs::remove_file(e.path()) {
                    Ok(()) => {
                        n += 1;
                        bytes += m.len();
                        removed = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if removed {
                fsync_dir(&d)?;
            }
        }
        Ok((n, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Every directory and file under `root` with its permission bits.
    fn modes(root: &Path) -> Vec<(PathBuf, bool, u32)> {
        let mut out = Vec::new();
        for e in fs::read_dir(root).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            out.push((e.path(), m.is_dir(), m.permissions().mode() & 0o7777));
            if m.is_dir() {
                out.extend(modes(&e.path()));
            }
        }
        out
    }

    #[test]
    fn directories_are_0700_and_files_0600() {
        let t = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(t.path().join("repo"));
        b.create().unwrap();
        b.put(FileType::Config, "config", b"c").unwrap();
        b.put(FileType::Pack, "abcd", b"p").unwrap();
        // A directory that went missing is created again with the same mode.
        fs::remove_dir(t.path().join("repo/data/ef")).unwrap();
        b.put(FileType::Pack, "ef01", b"p").unwrap();
        let mut w = b.put_stream(FileType::Pack).unwrap();
        w.write_all(b"streamed").unwrap();
        w.commit("1234").unwrap();
        let root = fs::metadata(t.path().join("repo")).unwrap();
        assert_eq!(root.permissions().mode() & 0o7777, 0o700);
        let all = modes(&t.path().join("repo"));
        assert!(all.len() > 256);
        for (p, dir, mode) in all {
            let want = if dir { 0o700 } else { 0o600 };
            assert_eq!(mode, want, "{} is {mode:o}", p.display());
        }
    }

    #[test]
    fn temp_files_go_by_the_cutoff_of_their_type() {
        let t = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(t.path().join("repo"));
        b.create().unwrap();
        let root = t.path().join("repo");
        for (dir, name) in [("", ".tmpc"), ("locks", ".tmpl"), ("index", ".tmpi")] {
            fs::write(root.join(dir).join(name), b"left").unwrap();
        }
        fs::create_dir_all(root.join("data/ab")).unwrap();
        fs::write(root.join("data/.tmpd"), b"left").unwrap();
        fs::write(root.join("data/ab/.tmpp"), b"left").unwrap();
        fs::write(root.join("index/keep"), b"not a temp file").unwrap();
        let future = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        let past = std::time::SystemTime::UNIX_EPOCH;
        // Locks' temp files are spared: their cutoff lies before they were written.
        let cutoff = move |t: FileType| if t == FileType::Lock { past } else { future };
        assert_eq!(b.remove_temp_files(&cutoff).unwrap(), (4, 16));
        assert!(root.join("locks/.tmpl").exists());
        assert!(root.join("index/keep").exists());
        for gone in [".tmpc", "index/.tmpi", "data/.tmpd", "data/ab/.tmpp"] {
            assert!(!root.join(gone).exists(), "{gone}");
        }
        assert_eq!(b.remove_temp_files(&move |_| future).unwrap(), (1, 4));
        assert!(!root.join("locks/.tmpl").exists());
    }
}
