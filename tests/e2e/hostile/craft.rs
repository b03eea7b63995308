//! The hostile suite's tools: a builder that crafts repositories through the engine's public
//! API (blobs, trees and snapshots no honest `vcd backup` writes), and runners that start the
//! real `vcd` under an address-space limit and judge how it ended.

use std::collections::HashSet;
use std::fs::{self, File};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use engine::backend::FileType;
use engine::format::blob::{seal_blob, BlobType};
use engine::format::index_file::PackEntries;
use engine::format::pack::PackWriter;
use engine::format::snapshot::{BackupType, Snapshot, Summary, SNAPSHOT_VERSION};
use engine::format::tree::{Extent, Node, NodeKind, Tree, Xattr};
use engine::Id;

use crate::common::{mounted, vcd_bin, Env};

/// The address space every command of the suite gets. A normal run needs about 300 MiB of it
/// (glibc's thread arenas and stacks reserve much more than is resident; `restore` of a small
/// snapshot fails to start its threads below 320 MiB and runs at 512 MiB): 1 GiB leaves clear
/// headroom, while every bomb here would need several GiB.
pub const LIMIT: u64 = 1 << 30;

/// Blobs gathered into one pack before it is written.
const PACK_BYTES: usize = 8 << 20;

/// A repository (initialised by `vcd init`) and the pack being filled with crafted blobs.
pub struct Crafter {
    pub env: Env,
    repo: engine::Repo,
    pack: PackWriter,
    stored: HashSet<Id>,
}

impl Crafter {
    pub fn new() -> Self {
        let env = Env::new();
        let repo = env.open_repo();
        Crafter {
            env,
            repo,
            pack: PackWriter::default(),
            stored: HashSet::new(),
        }
    }

    /// Stores `data` as a blob of type `ty` (once per id); returns its id.
    pub fn blob(&mut self, ty: BlobType, data: &[u8]) -> Id {
        let id = self.repo.keys().chunk_id.id(data);
        if self.stored.insert(id) {
            // Level 3: bombs are runs of zeros, and their point is how little they take.
            self.pack.add(&seal_blob(self.repo.keys(), ty, id, data, 3));
            if self.pack.len() >= PACK_BYTES {
                self.flush();
            }
        }
        id
    }

    /// A tree of exactly these nodes, in this order: nothing is sorted or checked.
    pub fn raw_tree(&mut self, nodes: Vec<Node>) -> Id {
        let b = Tree { nodes }.encode();
        self.blob(BlobType::Tree, &b)
    }

    /// A tree of these nodes sorted by name, as the format wants.
    pub fn tree(&mut self, nodes: Vec<Node>) -> Id {
        let mut t = Tree { nodes };
        t.sort();
        self.blob(BlobType::Tree, &t.encode())
    }

    /// A file node holding `data`.
    pub fn file(&mut self, name: &[u8], data: &[u8]) -> Node {
        let mut n = Node::new(name.to_vec(), NodeKind::File);
        n.mode = 0o644;
        n.size = data.len() as u64;
        if !data.is_empty() {
            let id = self.blob(BlobType::Data, data);
            n.content = vec![Extent::Data {
                id,
                len: data.len() as u32,
            }];
        }
        n
    }

    /// Writes the pending pack and an index file naming it.
    pub fn flush(&mut self) {
        if self.pack.is_empty() {
            return;
        }
        let p = std::mem::take(&mut self.pack).finish(&self.repo.keys().data);
        self.repo
            .backend()
            .put(FileType::Pack, &p.id.to_hex(), &p.bytes)
            .unwrap();
        self.repo
            .save_index(&[PackEntries {
                pack: p.id,
                entries: p.entries,
            }])
            .unwrap();
    }

    /// A snapshot of `root` at `time` (RFC 3339), after everything crafted so far is stored;
    /// returns its full id.
    pub fn snapshot(&mut self, root: Id, time: &str) -> String {
        self.flush();
        let s = Snapshot {
            version: SNAPSHOT_VERSION,
            time: time.parse().unwrap(),
            host: "crafted".into(),
            user: "mallory".into(),
            paths: vec!["/".into()],
            tags: vec![],
            category: None,
            categories: vec![],
            job: None,
            kind: BackupType::Incremental,
            parent: None,
            tree: root,
            audit: Vec::new(),
            original: None,
            summary: Summary::default(),
        };
        self.repo.save_snapshot(&s).unwrap().to_hex()
    }
}

/// A directory node pointing at `subtree`.
pub fn dir(name: &[u8], subtree: Id) -> Node {
    let mut n = Node::new(name.to_vec(), NodeKind::Dir);
    n.mode = 0o755;
    n.subtree = Some(subtree);
    n
}

/// `n` with one more extended attribute.
pub fn with_xattr(mut n: Node, name: &[u8], value: Vec<u8>) -> Node {
    n.xattrs.push(Xattr {
        name: name.to_vec(),
        value,
    });
    n
}

/// How a limited command ended; stdout went to a file, since some are large.
pub struct Run {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: PathBuf,
    pub stderr: String,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn out(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap()
    }

    /// The command ended on its own terms: no signal (SIGABRT on a failed allocation, SIGSEGV
    /// on a stack overflow, SIGKILL from the OOM killer), no panic, and a failure says why.
    /// Returns self so that a case can go on to check the outcome.
    pub fn sane(&self) -> &Self {
        let err = &self.stderr;
        assert!(
            self.status.signal().is_none(),
            "{}: killed by signal {:?} (memory limit {LIMIT} bytes)\nstderr:\n{}",
            self.what,
            self.status.signal(),
            tail(err)
        );
        assert!(
            !err.contains("panicked") && !err.contains("memory allocation of"),
            "{}: crashed\nstderr:\n{}",
            self.what,
            tail(err)
        );
        let code = self.code().unwrap();
        assert!(
            code != 101 && code < 128,
            "{}: exit {code}\nstderr:\n{}",
            self.what,
            tail(err)
        );
        if code != 0 {
            assert!(
                err.contains("vcd: error: ") || err.contains("could not be restored"),
                "{}: exit {code} without saying why\nstderr:\n{}",
                self.what,
                tail(err)
            );
        }
        self
    }

    /// Sane and successful.
    pub fn ok(&self) -> &Self {
        self.sane();
        assert_eq!(
            self.code(),
            Some(0),
            "{}\nstderr:\n{}",
            self.what,
            tail(&self.stderr)
        );
        self
    }

    /// Sane, failed, and its stderr has every one of `words`.
    pub fn fails_saying(&self, words: &[&str]) -> &Self {
        self.sane();
        assert_ne!(
            self.code(),
            Some(0),
            "{}: succeeded\nstdout:\n{}",
            self.what,
            tail(&self.out())
        );
        for w in words {
            assert!(
                self.stderr.contains(w),
                "{}: stderr lacks {w:?}:\n{}",
                self.what,
                tail(&self.stderr)
            );
        }
        self
    }
}

/// The last few KiB of a long text, for failure messages.
pub fn tail(s: &str) -> &str {
    let mut i = s.len().saturating_sub(4000);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// `prlimit --as=LIMIT vcd <env's repository options> args`, not yet started.
fn limited_cmd(env: &Env, args: &[&str]) -> Command {
    let base = env.cmd(args);
    let mut c = Command::new("prlimit");
    c.arg(format!("--as={LIMIT}")).arg("--").arg(vcd_bin());
    c.args(base.get_args());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.stdin(Stdio::null());
    c
}

/// Runs `vcd args` under the memory limit, with a guard against hanging for ever.
pub fn run(env: &Env, args: &[&str]) -> Run {
    let n = fs::read_dir(env.dir.path()).unwrap().count();
    let stdout = env.path(&format!("stdout-{n}"));
    let errf = env.path(&format!("stderr-{n}"));
    let mut child = limited_cmd(env, args)
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&errf).unwrap())
        .spawn()
        .unwrap();
    let status = wait_or_kill(&mut child, &format!("vcd {}", args.join(" ")));
    Run {
        what: format!("vcd {}", shorten(&args.join(" "))),
        status,
        stdout,
        stderr: String::from_utf8_lossy(&fs::read(&errf).unwrap()).into_owned(),
    }
}

/// Arguments can be 40 KB paths: keep messages readable.
fn shorten(s: &str) -> String {
    if s.len() > 200 {
        let mut i = 200;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        format!("{}…({} bytes)", &s[..i], s.len())
    } else {
        s.to_string()
    }
}

/// Waits for `child`; a child still running after five minutes is hung, not slow (every case
/// here ends in seconds), and is killed so that the suite reports it instead of hanging.
fn wait_or_kill(child: &mut Child, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{}: hung", shorten(what));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A `vcd mount` under the memory limit; unmounts on drop.
pub struct LimitedMount {
    child: Option<Child>,
    pub point: PathBuf,
    log: PathBuf,
}

impl LimitedMount {
    pub fn start(env: &Env) -> LimitedMount {
        let point = env.path("mnt");
        fs::create_dir_all(&point).unwrap();
        let point = fs::canonicalize(&point).unwrap();
        let log = env.path("mount.log");
        let cmd = limited_cmd(env, &["mount", point.to_str().unwrap()]);
        let child = crate::common::spawn_mount(cmd, &point, &log);
        LimitedMount {
            child: Some(child),
            point,
            log,
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The one snapshot directory of the mount.
    pub fn snap(&self) -> PathBuf {
        let mut v: Vec<PathBuf> = fs::read_dir(&self.point)
            .unwrap()
            .map(|e| e.unwrap().path())
            // By its time (not the link of its day).
            .filter(|p| p.file_name().unwrap().to_str().unwrap().contains('T'))
            .collect();
        assert_eq!(v.len(), 1, "{v:?}");
        v.pop().unwrap()
    }

    /// Runs `find start args` (not limited: the mount is what is under test) and returns its
    /// exit code and stdout; then asserts the mount is still alive and answering.
    pub fn find(&mut self, start: &Path, args: &[&str]) -> (i32, String) {
        let mut child = Command::new("find")
            .arg(start)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
        let st = wait_or_kill(&mut child, &format!("find {}", args.join(" ")));
        self.assert_alive();
        (st.code().unwrap_or(-1), out)
    }

    /// The daemon runs, and the mount point is mounted and lists.
    pub fn assert_alive(&mut self) {
        if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
            panic!(
                "vcd mount died ({st}, signal {:?}): {}",
                st.signal(),
                tail(&self.log_text())
            );
        }
        assert!(mounted(&self.point), "the mount point is no longer mounted");
        let n = fs::read_dir(&self.point)
            .unwrap_or_else(|e| panic!("the mount root does not list: {e}"))
            .count();
        assert!(n >= 4, "the mount root lists {n} entries");
    }

    /// The root's `user.vcd.inodes`: the size of the mount's inode table.
    pub fn inodes(&self) -> usize {
        let v = xattr::get(&self.point, "user.vcd.inodes")
            .unwrap()
            .expect("the root has user.vcd.inodes");
        String::from_utf8(v).unwrap().parse().unwrap()
    }

    /// SIGTERM; asserts a clean exit.
    pub fn stop(mut self) {
        let mut c = self.child.take().unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let st = wait_or_kill(&mut c, "vcd mount after SIGTERM");
        assert!(
            st.success(),
            "vcd mount exited with {st} after SIGTERM: {}",
            tail(&self.log_text())
        );
    }
}

impl Drop for LimitedMount {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if mounted(&self.point) {
            let _ = Command::new("umount").arg("-l").arg(&self.point).status();
        }
    }
}

/// Opens `path` one component at a time below `dir` (paths past PATH_MAX cannot be opened
/// whole) and reads the file at its end.
pub fn read_deep(dir: &Path, components: &[&[u8]]) -> std::io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let (last, dirs) = components.split_last().unwrap();
    let mut cur = File::open(dir)?;
    for c in dirs {
        let p = PathBuf::from(std::ffi::OsStr::from_bytes(c));
        cur = openat(&cur, &p, libc::O_DIRECTORY)?;
    }
    let p = PathBuf::from(std::ffi::OsStr::from_bytes(last));
    let mut f = openat(&cur, &p, 0)?;
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut v)?;
    Ok(v)
}

fn openat(dir: &File, name: &Path, flags: i32) -> std::io::Result<File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let c = std::ffi::CString::new(name.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid directory descriptor and NUL-terminated name; the returned descriptor is
    // owned by the File alone.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is not owned elsewhere.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Creates a sparse file of `len` bytes at `path`.
pub fn sparse(path: &Path, len: u64) {
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .unwrap();
    f.set_len(len).unwrap();
}
