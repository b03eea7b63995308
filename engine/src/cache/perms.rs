//! Modes of the local cache's files: 0700 directories and 0600 files whatever the umask, since
//! the local index lists every blob and pack of a repository (issue 11, defect 7).

use std::path::Path;

use crate::error::{Error, Result};

/// Creates the cache directories down to `path` with mode 0700 (given to mkdir, so no umask
/// can widen it), and narrows this repository's two (which may predate that) to 0700: the
/// local index lists every blob and pack of a repository. A cache root that existed already,
/// perhaps given by the user, is left as it is.
pub(super) fn private_dirs(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io(path, e))?;
    for d in [Some(path), path.parent()].into_iter().flatten() {
        narrow(d, 0o700);
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 if it does not exist, so whoever opens it next finds it
/// private, and narrows it to 0600 if it does.
pub(super) fn private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    narrow(path, 0o600);
    Ok(())
}

/// Narrows what sled wrote under `dir` (it creates its files with the umask's modes) to 0700
/// directories and 0600 files. Run after sled has opened, which is when it writes its files
/// but for a rare snapshot or large value later: those wait for the next open, unreachable
/// meanwhile behind the 0700 directories above them.
pub(super) fn narrow_tree(dir: &Path) {
    // An explicit stack, as every directory walk here: no recursion depth to worry about.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => {
                    narrow(&e.path(), 0o700);
                    stack.push(e.path());
                }
                Ok(t) if t.is_file() => narrow(&e.path(), 0o600),
                _ => {}
            }
        }
    }
}

/// Best effort: a filesystem without Unix modes must not make the cache unusable, and the
/// directories above still keep others out where modes exist.
fn narrow(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::debug!("could not set mode {mode:o} on {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn not_private(p: &Path, out: &mut Vec<String>) {
        let m = std::fs::symlink_metadata(p).unwrap();
        let mode = m.permissions().mode() & 0o7777;
        if mode != if m.is_dir() { 0o700 } else { 0o600 } {
            out.push(format!("{} {mode:o}", p.display()));
        }
        if m.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                not_private(&e.unwrap().path(), out);
            }
        }
    }

    #[test]
    fn a_new_local_index_is_private_and_an_old_one_is_narrowed() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("cache");
        let path = root.join("repo-id").join("index.sled");
        drop(super::super::Index::open(&path).unwrap());
        // What sled and the records file left at the modes of an earlier vcd.
        for e in std::fs::read_dir(&path).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
        let records = path.with_extension("records");
        std::fs::set_permissions(&records, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(super::super::Index::open(&path).unwrap());
        let mut bad = Vec::new();
        not_private(&root, &mut bad);
        assert!(bad.is_empty(), "not private: {bad:#?}");
    }
}
