//! The SFTP backend: a repository directory on another host, reached through the system's own
//! `ssh` (so `~/.ssh/config`, keys, agents and `known_hosts` work as for any ssh command),
//! speaking SFTP with the `openssh-sftp-client` crate. Layout as the local backend's.
//!
//! Why not OpenDAL's SFTP service, as for S3: it writes a file in place (a reader or a crash
//! sees half of it), and it hides the two operations that make the contract hold here:
//! - `put` writes `.tmp-…` beside the destination, fsyncs it (`fsync@openssh.com`) and renames
//!   it over the destination (`posix-rename@openssh.com`, atomic);
//! - `put_new` writes the temp file the same way and hard-links it to its name
//!   (`hardlink@openssh.com`), which fails if the name exists: exclusive and atomic.
//!
//! A lost connection drops the session; the next call (a retry, from `RetryBackend`) starts a
//! new ssh. Directories are made when a put first needs them.

use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use openssh_sftp_client::error::{Error as SftpError, SftpErrorKind};
use openssh_sftp_client::{Sftp, SftpOptions};
use tokio::io::AsyncSeekExt;

use super::url::SftpLocation;
use super::{valid_name, BResult, Backend, BackendError, Buffered, FileType, PutStream};

#[derive(Debug, Clone, Default)]
pub struct SftpConfig {
    /// An ssh configuration file to use instead of `~/.ssh/config` (`ssh -F`).
    pub ssh_config: Option<PathBuf>,
    /// The program to run instead of `ssh`.
    pub ssh_program: Option<PathBuf>,
}

/// A directory entry: name, size, whether a directory, when last written.
type DirEntry = (String, u64, bool, Option<std::time::SystemTime>);

struct Session {
    sftp: Sftp,
    /// What ssh said on stderr (why a connection failed), capped.
    stderr: Arc<Mutex<String>>,
    _child: tokio::process::Child,
}

pub struct SftpBackend {
    rt: tokio::runtime::Runtime,
    loc: SftpLocation,
    cfg: SftpConfig,
    url: String,
    session: Mutex<Option<Arc<Session>>>,
}

/// A failure that needs a new session (the ssh process or its pipe is gone), as opposed to an
/// answer of the server about one file.
fn is_connection(e: &SftpError) -> bool {
    !matches!(
        e,
        SftpError::SftpError(..) | SftpError::UnsupportedExtension(_)
    )
}

impl SftpBackend {
    pub fn new(loc: &SftpLocation, cfg: SftpConfig) -> BResult<SftpBackend> {
        let url = super::url::Location::Sftp(loc.clone()).to_string();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vcd-sftp")
            .enable_all()
            .build()
            .map_err(|e| {
                BackendError::Permanent(io::Error::other(format!(
                    "{url}: starting the I/O runtime: {e}"
                )))
            })?;
        Ok(SftpBackend {
            rt,
            loc: loc.clone(),
            cfg,
            url,
            session: Mutex::new(None),
        })
    }

    fn path(&self, t: FileType, name: &str) -> BResult<String> {
        valid_name(name)?;
        Ok(match t {
            FileType::Config => self.join("config"),
            FileType::Pack => self.join(&format!("data/{}/{name}", name.get(..2).unwrap_or("__"))),
            _ => self.join(&format!("{}/{name}", t.dir())),
        })
    }

    fn join(&self, rel: &str) -> String {
        let root = self.loc.path.trim_end_matches('/');
        if root.is_empty() {
            format!("/{rel}")
        } else {
            format!("{root}/{rel}")
        }
    }

    fn dir_of(&self, t: FileType) -> String {
        match t {
            FileType::Config => self.loc.path.clone(),
            _ => self.join(t.dir()),
        }
    }

    fn session(&self) -> BResult<Arc<Session>> {
        let mut s = self.session.lock().unwrap();
        if let Some(s) = &*s {
            return Ok(s.clone());
        }
        let new = Arc::new(self.rt.block_on(self.connect())?);
        *s = Some(new.clone());
        Ok(new)
    }

    async fn connect(&self) -> BResult<Session> {
        let program = self
            .cfg
            .ssh_program
            .clone()
            .unwrap_or_else(|| PathBuf::from("ssh"));
        let mut cmd = tokio::process::Command::new(&program);
        if let Some(f) = &self.cfg.ssh_config {
            cmd.arg("-F").arg(f);
        }
        if let Some(u) = &self.loc.user {
            cmd.arg("-l").arg(u);
        }
        // No prompt can be answered through the SFTP pipe; a dead link is noticed in a minute.
        cmd.args([
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=4",
        ])
        .args(["-s", "--", &self.loc.host, "sftp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            BackendError::Permanent(io::Error::new(
                e.kind(),
                format!("{}: running {}: {e}", self.url, program.display()),
            ))
        })?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let sink = stderr.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut s = sink.lock().unwrap();
                    if s.len() < 4096 {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            unreachable!("both piped");
        };
        match Sftp::new(stdin, stdout, SftpOptions::default()).await {
            Ok(sftp) => Ok(Session {
                sftp,
                stderr,
                _child: child,
            }),
            Err(e) => {
                let _ = child.wait().await;
                // Give the stderr reader a moment to take ssh's last words.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let said = stderr.lock().unwrap().trim().to_string();
                let msg = format!(
                    "{}: ssh to {} failed: {}",
                    self.url,
                    self.loc.host,
                    if said.is_empty() {
                        e.to_string()
                    } else {
                        said.clone()
                    }
                );
                // Refused keys and unknown hosts stay so; a refused or reset connection may not.
                let permanent = [
                    "Permission denied",
                    "Host key verification failed",
                    "Could not resolve hostname",
                    "No such file",
                    "subsystem request failed",
                ]
                .iter()
                .any(|m| said.contains(m));
                Err(if permanent {
                    BackendError::Permanent(io::Error::new(io::ErrorKind::PermissionDenied, msg))
                } else {
                    BackendError::Transient(io::Error::new(io::ErrorKind::ConnectionRefused, msg))
                })
            }
        }
    }

    /// Runs one operation on the session; a connection failure drops the session so the next
    /// call reconnects.
    fn call<T>(
        &self,
        what: &str,
        path: &str,
        op: impl AsyncFnOnce(&Session) -> Result<T, SftpError>,
    ) -> BResult<T> {
        let s = self.session()?;
        match self.rt.block_on(op(&s)) {
            Ok(v) => Ok(v),
            Err(e) => {
                if is_connection(&e) {
                    let mut cur = self.session.lock().unwrap();
                    if cur.as_ref().is_some_and(|c| Arc::ptr_eq(c, &s)) {
                        *cur = None;
                    }
                }
                Err(self.error(what, path, &s, e))
            }
        }
    }

    fn error(&self, what: &str, path: &str, s: &Session, e: SftpError) -> BackendError {
        let detail = match &e {
            SftpError::SftpError(kind, msg) => format!("{kind:?}: {}", msg.get().0),
            other => {
                let said = s.stderr.lock().unwrap().trim().to_string();
                if said.is_empty() {
                    other.to_string()
                } else {
                    format!("{other} ({said})")
                }
            }
        };
        let msg = format!("{}: {what} {path}: {detail}", self.url);
        let io = |k: io::ErrorKind| io::Error::new(k, msg.clone());
        match &e {
            SftpError::SftpError(SftpErrorKind::NoSuchFile, _) => {
                BackendError::NotFound(io(io::ErrorKind::NotFound))
            }
            SftpError::SftpError(SftpErrorKind::PermDenied, _) => {
                BackendError::Permanent(io(io::ErrorKind::PermissionDenied))
            }
            SftpError::SftpError(..) | SftpError::UnsupportedExtension(_) => {
                BackendError::Permanent(io(io::ErrorKind::Other))
            }
            _ => BackendError::Transient(io(io::ErrorKind::ConnectionReset)),
        }
    }

    /// Writes `data` to a new temp file in `dir` (made if missing), fsynced; returns its path.
    fn write_temp(&self, dir: &str, data: &[u8]) -> BResult<String> {
        let tmp = format!("{dir}/.tmp-{}", hex::encode(rand::random::<[u8; 12]>()));
        let write = async |s: &Session| -> Result<(), SftpError> {
            let mut f = match s
                .sftp
                .options()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .await
            {
                Ok(f) => f,
                Err(SftpError::SftpError(SftpErrorKind::NoSuchFile, _)) => {
                    mkdir_p(&s.sftp, dir).await?;
                    s.sftp
                        .options()
                        .write(true)
                        .create_new(true)
                        .open(&tmp)
                        .await?
                }
                Err(e) => return Err(e),
            };
            f.write_all(data).await?;
            if s.sftp.support_fsync() {
                f.sync_all().await?;
            }
            f.close().await
        };
        match self.call("writing", &tmp, write) {
            Ok(()) => Ok(tmp),
            Err(e) => {
                let _ = self.call("removing", &tmp, async |s: &Session| {
                    s.sftp.fs().remove_file(&tmp).await
                });
                Err(e)
            }
        }
    }

    fn put_at(&self, dest: &str, dir: &str, data: &[u8], new: bool) -> BResult<()> {
        let tmp = self.write_temp(dir, data)?;
        let r = if new {
            self.call("creating", dest, async |s: &Session| {
                let mut fs = s.sftp.fs();
                match fs.hard_link(&tmp, dest).await {
                    Ok(()) => Ok(false),
                    // A failed link on an existing name is the answer "taken".
                    Err(SftpError::SftpError(SftpErrorKind::Failure, _))
                        if fs.metadata(dest).await.is_ok() =>
                    {
                        Ok(true)
                    }
                    Err(e) => Err(e),
                }
            })
            .and_then(|taken| {
                if taken {
                    Err(BackendError::Exists(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{}: {dest} exists", self.url),
                    )))
                } else {
                    Ok(())
                }
            })
        } else {
            self.call("renaming", dest, async |s: &Session| {
                s.sftp.fs().rename(&tmp, dest).await
            })
        };
        if new || r.is_err() {
            let _ = self.call("removing", &tmp, async |s: &Session| {
                s.sftp.fs().remove_file(&tmp).await
            });
        }
        r
    }

    fn list_dir(&self, dir: &str) -> BResult<Vec<(String, u64, bool)>> {
        Ok(self
            .list_dir_times(dir)?
            .into_iter()
            .map(|(n, len, d, _)| (n, len, d))
            .collect())
    }

    /// Names, sizes, whether a directory, and when last written, of `dir`'s entries.
    fn list_dir_times(&self, dir: &str) -> BResult<Vec<DirEntry>> {
        let r = self.call("listing", dir, async |s: &Session| {
            use futures_util::StreamExt;
            let d = s.sftp.fs().open_dir(dir).await?;
            let mut entries = std::pin::pin!(d.read_dir());
            let mut out = Vec::new();
            while let Some(e) = entries.next().await {
                let e = e?;
                let name = e.filename().to_string_lossy().into_owned();
                let m = e.metadata();
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                let modified = m.modified().map(|t| t.as_system_time());
                out.push((name, m.len().unwrap_or(0), is_dir, modified));
            }
            Ok(out)
        });
        match r {
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            r => r,
        }
    }
}

async fn mkdir_p(sftp: &Sftp, dir: &str) -> Result<(), SftpError> {
    let mut fs = sftp.fs();
    let mut cur = String::new();
    for part in dir.split('/') {
        if part.is_empty() {
            cur.push('/');
            continue;
        }
        if !cur.is_empty() && !cur.ends_with('/') {
            cur.push('/');
        }
        cur.push_str(part);
        if fs.metadata(&cur).await.is_ok() {
            continue;
        }
        match fs.create_dir(&cur).await {
            Ok(()) => {}
            // Made by another writer in the meantime.
            Err(_) if fs.metadata(&cur).await.is_ok() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Backend for SftpBackend {
    fn location(&self) -> String {
        self.url.clone()
    }

    fn exists(&self) -> BResult<bool> {
        let p = self.join("config");
        match self.call("reading", &p, async |s: &Session| {
            s.sftp.fs().metadata(&p).await
        }) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn create(&self) -> BResult<()> {
        let dirs: Vec<String> = FileType::ALL
            .iter()
            .filter(|t| **t != FileType::Config)
            .map(|t| self.join(t.dir()))
            .collect();
        self.call("creating", &self.loc.path, async |s: &Session| {
            for d in &dirs {
                mkdir_p(&s.sftp, d).await?;
            }
            Ok(())
        })
    }

    fn put(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        let dest = self.path(t, name)?;
        let dir = dest.rsplit_once('/').map(|x| x.0).unwrap_or("").to_string();
        self.put_at(&dest, &dir, data, false)
    }

    fn put_new(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        let dest = self.path(t, name)?;
        let dir = dest.rsplit_once('/').map(|x| x.0).unwrap_or("").to_string();
        self.put_at(&dest, &dir, data, true)
    }

    fn get(&self, t: FileType, name: &str) -> BResult<Vec<u8>> {
        let p = self.path(t, name)?;
        self.call("reading", &p, async |s: &Session| {
            s.sftp.fs().read(&p).await.map(|b| b.to_vec())
        })
    }

    fn get_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> BResult<Vec<u8>> {
        let p = self.path(t, name)?;
        let got = self.call("reading", &p, async |s: &Session| {
            let mut f = s.sftp.open(&p).await?;
            let mut out = Vec::with_capacity(len as usize);
            let mut pos = offset;
            while (out.len() as u64) < len {
                // `read` moves the offset by what it asked, not by what it got: seek each time.
                f.seek(io::SeekFrom::Start(pos)).await?;
                let want = (len - out.len() as u64).min(u32::MAX as u64) as u32;
                match f.read(want, BytesMut::new()).await? {
                    Some(b) if !b.is_empty() => {
                        pos += b.len() as u64;
                        out.extend_from_slice(&b);
                    }
                    _ => break,
                }
            }
            f.close().await?;
            Ok(out)
        })?;
        if (got.len() as u64) < len {
            return Err(BackendError::Permanent(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: {p}: {len} bytes at {offset} asked, {} read",
                    self.url,
                    got.len()
                ),
            )));
        }
        Ok(got)
    }

    fn put_stream(&self, t: FileType) -> BResult<Box<dyn PutStream + '_>> {
        Ok(Buffered::new(move |name: &str, buf: Vec<u8>| {
            self.put(t, name, &buf)
        }))
    }

    fn list(&self, t: FileType) -> BResult<Vec<(String, u64)>> {
        let dir = self.dir_of(t);
        let mut out = Vec::new();
        let keep = |n: &str| valid_name(n).is_ok();
        if t == FileType::Pack {
            for (sub, _, is_dir) in self.list_dir(&dir)? {
                if is_dir && sub.len() == 2 && sub.bytes().all(|c| c.is_ascii_hexdigit()) {
                    for (n, len, d) in self.list_dir(&format!("{dir}/{sub}"))? {
                        if !d && keep(&n) {
                            out.push((n, len));
                        }
                    }
                }
            }
        } else {
            for (n, len, d) in self.list_dir(&dir)? {
                if !d && keep(&n) && (t != FileType::Config || n == "config") {
                    out.push((n, len));
                }
            }
        }
        Ok(out)
    }

    fn delete(&self, t: FileType, name: &str) -> BResult<()> {
        let p = self.path(t, name)?;
        self.call("deleting", &p, async |s: &Session| {
            s.sftp.fs().remove_file(&p).await
        })
    }

    fn modified(&self, t: FileType, name: &str) -> BResult<Option<std::time::SystemTime>> {
        let p = self.path(t, name)?;
        let m = self.call("reading", &p, async |s: &Session| {
            s.sftp.fs().metadata(&p).await
        })?;
        Ok(m.modified().map(|t| t.as_system_time()))
    }

    fn remove_temp_files(&self, before: &super::TempCutoff) -> BResult<(u64, u64)> {
        let (mut n, mut bytes) = (0, 0);
        for t in FileType::ALL {
            let dir = self.dir_of(t);
            let mut dirs = vec![dir.clone()];
            if t == FileType::Pack {
                for (sub, _, is_dir) in self.list_dir(&dir)? {
                    if is_dir && sub.len() == 2 && sub.bytes().all(|c| c.is_ascii_hexdigit()) {
                        dirs.push(format!("{dir}/{sub}"));
                    }
                }
            }
            for d in dirs {
                for (name, len, is_dir, modified) in self.list_dir_times(&d)? {
                    let old = modified.is_some_and(|m| m < before(t));
                    if !is_dir && name.starts_with(".tmp-") && old {
                        let p = format!("{d}/{name}");
                        match self.call("removing", &p, async |s: &Session| {
                            s.sftp.fs().remove_file(&p).await
                        }) {
                            Ok(()) => {
                                n += 1;
                                bytes += len;
                            }
                            Err(e) if e.is_not_found() => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
        Ok((n, bytes))
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn concurrency(&self) -> usize {
        4
    }
}
