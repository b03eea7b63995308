//! A restored target compared with its snapshot, within the restore's scope: every entry's
//! type, mode, owner (when asked), modification time, symlink target, device number, extended
//! attributes, hard links and content (each data extent hashed against its chunk id), and the
//! entries the target has that the snapshot has not. Read-only: nothing in the target changes,
//! and no link is followed.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use globset::GlobSet;

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::format::snapshot::SnapshotRef;
use crate::format::tree::NodeKind;
use crate::ops::fsmeta;
use crate::policy::filter::build_excludes;
use crate::repo::Repo;

#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    /// Compare owners too (a restore by root without `--no-owner` sets them).
    pub owners: bool,
    pub cancel: CancelToken,
}

#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Entries of the snapshot compared.
    pub entries: u64,
    /// `PATH: what differs`, PATH as in the snapshot, in walk order.
    pub differences: Vec<String>,
}

impl Comparison {
    pub fn ok(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares `target` (where `snap` was restored) with `snap` within the scope.
pub fn compare(
    repo: &Repo,
    snap: &SnapshotRef,
    target: &Path,
    opts: &CompareOptions,
) -> Result<Comparison> {
    let includes = if opts.includes.is_empty() {
        None
    } else {
        Some(build_excludes(&opts.includes)?)
    };
    let excludes = build_excludes(&opts.excludes)?;
    let mut c = Comparison::default();
    let mut walker = Walker {
        repo,
        target,
        includes,
        excludes,
        opts,
        links: HashMap::new(),
        out: &mut c,
    };
    let root = repo.load_tree(&snap.snap.tree)?;
    walker.dir(root, PathBuf::from("/"), false)?;
    Ok(c)
}

struct Walker<'a> {
    repo: &'a Repo,
    target: &'a Path,
    includes: Option<GlobSet>,
    excludes: GlobSet,
    opts: &'a CompareOptions,
    /// Snapshot (device, inode) of a multiply-linked file → (target device and inode, path).
    links: HashMap<(u64, u64), ((u64, u64), PathBuf)>,
    out: &'a mut Comparison,
}

impl Walker<'_> {
    /// Where a snapshot path is in the target: names are bytes, never made lossy here.
    fn on_disk(&self, path: &Path) -> PathBuf {
        self.target.join(path.strip_prefix("/").unwrap_or(path))
    }

    fn diff(&mut self, path: &Path, what: String) {
        self.out
            .differences
            .push(format!("{}: {what}", path.to_string_lossy()));
    }

    /// One directory of the snapshot; `taken`: inside a directory the scope takes whole.
    fn dir(&mut self, tree: crate::format::tree::Tree, path: PathBuf, taken: bool) -> Result<()> {
        use std::os::unix::ffi::OsStrExt;
        let mut names = Vec::new();
        for node in tree.nodes {
            self.opts.cancel.check()?;
            let p = path.join(std::ffi::OsStr::from_bytes(&node.name));
            if self.excludes.is_match(&p) {
                names.push(node.name.clone());
                continue;
            }
            let take = taken || self.includes.as_ref().is_none_or(|g| g.is_match(&p));
            names.push(node.name.clone());
            if take {
                self.entry(&p, &node)?;
            }
            if let Some(sub) = node.subtree {
                let t = self.repo.load_tree(&sub)?;
                self.dir(t, p, take)?;
            }
        }
        if taken || self.includes.is_none() {
            self.extra(&path, &names)?;
        }
        Ok(())
    }

    /// Entries in the target directory the snapshot does not have (and the scope would not
    /// leave out).
    fn extra(&mut self, path: &Path, names: &[Vec<u8>]) -> Result<()> {
        use std::os::unix::ffi::OsStrExt;
        let Ok(rd) = std::fs::read_dir(self.on_disk(path)) else {
            return Ok(()); // reported as missing or of another type already
        };
        let mut extra: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| {
                !names
                    .iter()
                    .any(|n| n.as_slice() == e.file_name().as_bytes())
            })
            .map(|e| path.join(e.file_name()))
            .filter(|p| !self.excludes.is_match(p))
            .collect();
        extra.sort();
        for p in extra {
            self.diff(&p, "not in the snapshot".into());
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, n: &crate::format::tree::Node) -> Result<()> {
        self.out.entries += 1;
        let at = self.on_disk(path);
        let m = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.diff(path, "missing".into());
                return Ok(());
            }
            Err(e) => return Err(Error::io(&at, e)),
        };
        let kind = fsmeta::kind_of(&m);
        if kind != n.kind {
            self.diff(
                path,
                format!("{kind:?} instead of {:?}", n.kind).to_lowercase(),
            );
            return Ok(());
        }
        if kind != NodeKind::Symlink && m.mode() & 0o7777 != n.mode {
            self.diff(
                path,
                format!("mode {:04o} instead of {:04o}", m.mode() & 0o7777, n.mode),
            );
        }
        if self.opts.owners && (m.uid(), m.gid()) != (n.uid, n.gid) {
            self.diff(
                path,
                format!(
                    "owner {}:{} instead of {}:{}",
                    m.uid(),
                    m.gid(),
                    n.uid,
                    n.gid
                ),
            );
        }
        if kind != NodeKind::Dir
            && (m.mtime(), m.mtime_nsec() as u32) != (n.mtime.sec, n.mtime.nsec)
        {
            self.diff(path, "modification time differs".into());
        }
        for x in &n.xattrs {
            let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&x.name);
            match xattr::get(&at, name) {
                Ok(Some(v)) if v == x.value => {}
                Ok(Some(_)) => self.diff(
                    path,
                    format!(
                        "extended attribute {} differs",
                        String::from_utf8_lossy(&x.name)
                    ),
                ),
                _ => self.diff(
                    path,
                    format!(
                        "extended attribute {} missing",
                        String::from_utf8_lossy(&x.name)
                    ),
                ),
            }
        }
        match kind {
            NodeKind::Symlink => {
                let t = std::fs::read_link(&at).map_err(|e| Error::io(&at, e))?;
                let want: &[u8] = n.target.as_ref().map_or(&[][..], |b| &b[..]);
                if std::os::unix::ffi::OsStrExt::as_bytes(t.as_os_str()) != want {
                    self.diff(path, "symlink target differs".into());
                }
            }
            NodeKind::CharDevice | NodeKind::BlockDevice if m.rdev() != n.rdev => {
                self.diff(path, "device number differs".into());
            }
            NodeKind::File => self.file(path, &at, n, &m)?,
            _ => {}
        }
        Ok(())
    }

    fn file(
        &mut self,
        path: &Path,
        at: &Path,
        n: &crate::format::tree::Node,
        m: &std::fs::Metadata,
    ) -> Result<()> {
        if n.links > 1 {
            let here = (m.dev(), m.ino());
            match self.links.get(&(n.device, n.inode)) {
                Some((first, p)) if *first != here => {
                    let msg = format!(
                        "not a hard link of {}, as in the snapshot",
                        p.to_string_lossy()
                    );
                    self.diff(path, msg);
                }
                Some(_) => return Ok(()), // the same file: its content was compared
                None => {
                    self.links
                        .insert((n.device, n.inode), (here, path.to_path_buf()));
                }
            }
        }
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(at)
            .map_err(|e| Error::io(at, e))?;
        match crate::ops::restore::verify_file(self.repo, &f, n, &self.opts.cancel) {
            Ok(()) => {}
            Err(Error::Mismatch { detail, .. }) => self.diff(path, format!("content: {detail}")),
            Err(e) => return Err(e),
        }
        Ok(())
    }
}
