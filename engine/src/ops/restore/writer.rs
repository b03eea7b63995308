//! The restore's writer: batches of files, created through their directories' descriptors and
//! filled pack by pack (each pack's needed ranges read once, written to every file position
//! that wants them, packs in parallel), then verified and given their metadata through the
//! descriptors they were written by. Every blob is checked against its id on the way.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;

use rayon::prelude::*;

use super::plan::{self, PackReads, Problem, ReadLimits};
use super::target::{self, DirFd, Dirs, Rules};
use super::verify::verify_file;
use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::format::tree::{Extent, Node, Timestamp};
use crate::ops::progress::Progress;
use crate::repo::{BlobSource, Repo};

/// Blobs closer than 256 KiB in a pack are fetched with one read, of at most 4 MiB (each
/// worker keeps a buffer this large).
const READ_LIMITS: ReadLimits = ReadLimits {
    gap: 256 << 10,
    max_read: 4 << 20,
};

/// On remote storage each read is a request with a round trip: gaps of up to 2 MiB are read
/// through, and a read may span 8 MiB (half a default pack: each I/O thread keeps one buffer).
const REMOTE_READ_LIMITS: ReadLimits = ReadLimits {
    gap: 2 << 20,
    max_read: 8 << 20,
};

/// One regular file to write: where (its directory's descriptor and record, its name) and what.
pub(super) struct FileJob {
    pub dir: DirFd,
    pub dir_rec: u32,
    pub name: Box<[u8]>,
    pub node: Node,
    /// The file at this name already holds the node's content if it is still this one.
    pub reuse: Option<Unchanged>,
}

/// A file a backup just read, as it was then: while it is still so (the change time moves with
/// any write, and with any change of owner, mode or attributes), it holds what that backup
/// read.
#[derive(Debug, Clone)]
pub(super) struct Unchanged {
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    /// The names of its extended attributes: all it may have.
    pub xattrs: Vec<Box<[u8]>>,
}

thread_local! {
    // Reused across packs: a fresh multi-MiB buffer per read cost a page fault and a page
    // clearing per 4 KiB read.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What one batch wrote.
#[derive(Default)]
pub(super) struct Written {
    pub files: u64,
    pub bytes: u64,
    pub verified: u64,
    pub unchanged: u64,
}

/// Shared by the tree walk (which makes directories and queues files) and the thread that
/// writes the queued files, so walking the next batch overlaps writing this one.
pub(super) struct Writer<'a> {
    pub cancel: &'a CancelToken,
    pub repo: &'a Repo,
    pub rules: Rules,
    /// Leave device nodes, fifos and sockets out.
    pub skip_special: bool,
    pub verify: bool,
    pub overwrite: super::Overwrite,
    pub delete: bool,
    pub before_verify: Option<fn(&File)>,
    pub progress: &'a Progress,
    pub dirs: Mutex<Dirs>,
    pub errors: Mutex<Vec<String>>,
}

impl Writer<'_> {
    pub fn fail(&self, what: String) {
        tracing::warn!("{what}");
        self.progress.error();
        self.errors.lock().unwrap().push(what);
    }

    /// Where a job's file is, for messages (nothing is opened by this path).
    fn path(&self, job: &FileJob) -> PathBuf {
        self.dirs.lock().unwrap().entry_path(job.dir_rec, &job.name)
    }

    fn fail_job(&self, job: &FileJob, what: impl std::fmt::Display) {
        self.fail(format!("{}: {what}", self.path(job).display()));
    }

    fn read_limits(&self) -> ReadLimits {
        if self.repo.backend().is_remote() {
            REMOTE_READ_LIMITS
        } else {
            READ_LIMITS
        }
    }

    /// Writes the data of every file in the batch, pack by pack, then their metadata.
    pub fn flush(&self, jobs: Vec<FileJob>) -> Result<Written> {
        // Files kept in place (`Unchanged`): opened, and checked through what was opened.
        let mut kept: Vec<Option<File>> = jobs
            .par_iter()
            .map(|j| {
                j.reuse
                    .as_ref()
                    .and_then(|u| target::open_unchanged(j.dir.as_fd(), &j.name, u))
            })
            .collect();
        let unchanged = kept.iter().filter(|k| k.is_some()).count() as u64;
        let extents: Vec<&[Extent]> = jobs
            .iter()
            .zip(&kept)
            .map(|(j, k)| match k {
                Some(_) => &[][..],
                None => j.node.content.as_slice(),
            })
            .collect();
        let plan = plan::plan(&extents, |id| self.repo.lookup_opt(id), self.read_limits())?;
        let mut bad_file: Vec<bool> = plan.problems.iter().map(Option::is_some).collect();
        for (job, p) in jobs.iter().zip(&plan.problems) {
            match p {
                Some(Problem::NotIndexed(id)) => {
                    self.fail_job(job, format!("blob {id} is not in the index"))
                }
                Some(Problem::Length { id, indexed, tree }) => self.fail_job(
                    job,
                    format!("blob {id} is {indexed} bytes, the snapshot says {tree}"),
                ),
                None => {}
            }
        }
        // Files are created in parallel and stay open until their metadata is set: one open
        // per file, and no name looked up again for writing, verifying or metadata.
        let remove = |dir: std::os::fd::BorrowedFd, name: &[u8]| {
            self.dirs.lock().unwrap().remove_entry(dir, name)
        };
        let files: Vec<Option<File>> = jobs
            .par_iter()
            .zip(kept.par_iter_mut())
            .map(|(job, k)| {
                if let Some(f) = k.take() {
                    self.progress.add(0, job.node.size);
                    return Some(f);
                }
                let made = target::create_file_at(
                    remove,
                    job.dir.as_fd(),
                    &job.name,
                    job.node.size,
                    self.verify,
                );
                match made {
                    Ok(f) => Some(f),
                    Err(e) => {
                        self.fail_job(job, e);
                        None
                    }
                }
            })
            .collect();
        for (fi, f) in files.iter().enumerate() {
            bad_file[fi] |= f.is_none();
        }
        let bad_file = Mutex::new(bad_file);
        self.repo.io_parallel(|| {
            plan.packs.par_iter().try_for_each(|reads| -> Result<()> {
                self.cancel.check()?;
                self.restore_pack(reads, &jobs, &files, &bad_file)
            })
        })?;
        let bad_file = bad_file.into_inner().unwrap();
        let results: Vec<Result<(u64, bool, bool)>> = jobs
            .par_iter()
            .zip(files)
            .enumerate()
            .map(|(fi, (job, f))| {
                let Some(f) = f else {
                    return Ok((0, false, false));
                };
                let mut verified = false;
                if self.verify && !bad_file[fi] {
                    if let Some(hook) = self.before_verify {
                        hook(&f);
                    }
                    match verify_file(self.repo, &f, &job.node, self.cancel) {
                        Ok(()) => verified = true,
                        Err(Error::Interrupted) => return Err(Error::Interrupted),
                        Err(e) => self.fail_job(job, format!("verification failed: {e}")),
                    }
                }
                if let Err(e) = target::apply_file_meta(&f, &job.node, &self.rules) {
                    self.fail_job(job, format!("metadata: {e}"));
                }
                self.progress.add(1, 0);
                Ok((job.node.size, verified, true))
            })
            .collect();
        let mut w = Written {
            unchanged,
            ..Written::default()
        };
        for r in results {
            let (size, verified, created) = r?;
            w.files += created as u64;
            w.bytes += size;
            w.verified += verified as u64;
        }
        Ok(w)
    }

    fn restore_pack(
        &self,
        reads: &PackReads,
        jobs: &[FileJob],
        files: &[Option<File>],
        bad_file: &Mutex<Vec<bool>>,
    ) -> Result<()> {
        let name = reads.pack.to_hex();
        READ_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            for r in &reads.reads {
                self.cancel.check()?;
                let (start, end) = (r.start, r.start + r.len);
                // One failed read fails every blob in it: keep its message for each.
                let read = self
                    .repo
                    .read_pack_range(&reads.pack, start, end - start, &mut buf)
                    .map_err(|e| e.to_string());
                for (loc, targets) in &r.blobs {
                    let data = match &read {
                        Ok(()) => {
                            let s = (loc.entry.offset - start) as usize;
                            self.repo
                                .open_blob(&loc.entry, &buf[s..s + loc.entry.length as usize])
                                .map_err(|e| e.to_string())
                        }
                        Err(e) => Err(e.clone()),
                    };
                    let data = match data {
                        Ok(d) => d,
                        Err(e) => {
                            let mut bad = bad_file.lock().unwrap();
                            for (fi, _) in targets {
                                if !bad[*fi] {
                                    bad[*fi] = true;
                                    self.fail_job(
                                        &jobs[*fi],
                                        format!("blob {} in pack {name}: {e}", loc.entry.id),
                                    );
                                }
                            }
                            continue;
                        }
                    };
                    for (fi, off) in targets {
                        let Some(f) = &files[*fi] else { continue };
                        if let Err(e) = f.write_all_at(&data, *off) {
                            bad_file.lock().unwrap()[*fi] = true;
                            self.fail_job(&jobs[*fi], e);
                        }
                        self.progress.add(0, data.len() as u64);
                    }
                }
            }
            // An outsized read (one huge blob) is not kept for the rest of the restore.
            if buf.capacity() > 2 * self.read_limits().max_read as usize {
                *buf = Vec::new();
            }
            Ok(())
        })
    }
}
