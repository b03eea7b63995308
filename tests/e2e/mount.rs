//! The FUSE mount (`vcd mount`) with a real kernel mount: every snapshot browsable and
//! byte-identical to what was backed up, metadata as stored, read-only, live refresh, clean
//! unmount on SIGTERM, concurrent readers (behind a barrier), EROFS for every kind of write,
//! EIO (with a log line) for damaged data, names under `tags/` and `hosts/` suffixed only where
//! needed, and an inode table the kernel's forgets shrink.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::common::Env;
use crate::gen;

use crate::common::mounted;

/// A running `vcd mount`; unmounts on drop even if the test failed.
pub(crate) struct Mount {
    child: Option<Child>,
    point: PathBuf,
    log: PathBuf,
}

impl Mount {
    pub(crate) fn start(env: &Env, name: &str, extra: &[&str]) -> Mount {
        let point = env.path(name);
        fs::create_dir_all(&point).unwrap();
        let point = fs::canonicalize(&point).unwrap();
        let log = env.path(&format!("{name}.log"));
        let mut args = vec!["mount", point.to_str().unwrap()];
        args.extend_from_slice(extra);
        let child = crate::common::spawn_mount(env.cmd(&args), &point, &log);
        Mount {
            child: Some(child),
            point,
            log,
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.point.join(rel)
    }

    /// SIGTERM, then the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let start = Instant::now();
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = c.kill();
                panic!("vcd mount did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if mounted(&self.point) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.point)
                .status();
        }
    }
}

/// The time-named directories at the root of a mount.
fn time_dirs(m: &Mount) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(&m.point)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("20") && n.contains('T'))
        .collect();
    v.sort();
    v
}

fn inside(m: &Mount, dir: &str, src: &Path) -> PathBuf {
    m.path(dir).join(src.strip_prefix("/").unwrap())
}

#[test]
fn every_snapshot_is_browsable_and_identical() {
    let env = Env::new();
    let src = env.path("src");
    let g = gen::generate_with(&src, 11, &gen::Spec::small());
    // Three versions, with copies of each kept as the reference.
    let times = [
        "2026-11-20T02:00:00Z",
        "2026-11-21T02:00:00Z",
        "2026-11-22T02:00:00Z",
    ];
    let mut copies = Vec::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for (v, t) in times.iter().enumerate() {
        if v > 0 {
            for rel in g.small.iter().step_by(7 + v) {
                let p = src.join(rel);
                if p.exists()
                    && fs::symlink_metadata(&p).unwrap().is_file()
                    && fs::metadata(&p).unwrap().mode() & 0o200 != 0
                {
                    let mut b = fs::read(&p).unwrap();
                    b.extend_from_slice(format!("version {v}").as_bytes());
                    fs::write(&p, b).unwrap();
                }
            }
            fs::write(
                src.join(format!("new-in-{v}")),
                gen::random_bytes(&mut rng, 300_000),
            )
            .unwrap();
            fs::remove_file(src.join(&g.small[v])).ok();
        }
        let copy = env.path(&format!("copy{v}"));
        gen::cp_a(&src, &copy);
        copies.push(copy);
        env.backup(
            &src,
            &["--time", t, "--tag", if v == 1 { "middle" } else { "edge" }],
        );
    }
    let m = Mount::start(&env, "mnt", &[]);
    let dirs = time_dirs(&m);
    assert_eq!(
        dirs,
        times.to_vec(),
        "the root lists every snapshot by its UTC time"
    );
    assert_eq!(
        fs::read_link(m.path("latest")).unwrap(),
        PathBuf::from(times[2])
    );
    for (v, t) in times.iter().enumerate() {
        gen::compare(&copies[v], &inside(&m, t, &src));
    }
    // The other views lead to the same snapshots.
    let ids: Vec<_> = fs::read_dir(m.path("ids"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(ids.len(), 3);
    for id in ids {
        let target = fs::read_link(&id).unwrap();
        assert!(
            target.to_str().unwrap().starts_with("../2026-11-2"),
            "{target:?}"
        );
    }
    let tagged: Vec<_> = fs::read_dir(m.path("tags/middle"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(tagged, vec![std::ffi::OsString::from(times[1])]);
    gen::compare(
        &copies[1],
        &m.path("tags/middle")
            .join(times[1])
            .join(src.strip_prefix("/").unwrap()),
    );
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    assert_eq!(fs::read_dir(m.path("hosts").join(host)).unwrap().count(), 3);
}

#[test]
fn cp_a_stat_getfattr_and_random_reads() {
    let env = Env::new();
    let src = env.path("src");
    let g = gen::generate_with(&src, 12, &gen::Spec::small());
    // A large file of many chunks, to read across chunk boundaries.
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let big = gen::random_bytes(&mut rng, 9 << 20);
    fs::write(src.join("big.bin"), &big).unwrap();
    let copy = env.path("copy");
    gen::cp_a(&src, &copy);
    env.backup(&src, &[]);
    let m = Mount::start(&env, "mnt", &[]);
    let snap = inside(&m, "latest", &src);

    // cp -a out of the mount reproduces the tree, metadata included.
    let out = env.path("out");
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(&snap)
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    gen::compare(&copy, &out);

    // stat and getfattr show the snapshot's metadata.
    let f = g
        .small
        .iter()
        .find(|p| fs::symlink_metadata(src.join(p)).unwrap().is_file())
        .unwrap();
    let (a, b) = (
        fs::metadata(copy.join(f)).unwrap(),
        fs::metadata(snap.join(f)).unwrap(),
    );
    assert_eq!(
        (
            a.mode(),
            a.uid(),
            a.gid(),
            a.size(),
            a.mtime(),
            a.mtime_nsec()
        ),
        (
            b.mode(),
            b.uid(),
            b.gid(),
            b.size(),
            b.mtime(),
            b.mtime_nsec()
        )
    );
    let stat = std::process::Command::new("stat")
        .args(["-c", "%a %s %Y"])
        .arg(snap.join(f))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&stat.stdout).trim(),
        format!("{:o} {} {}", a.mode() & 0o7777, a.size(), a.mtime())
    );
    let with_x = walk_files(&copy)
        .into_iter()
        .find(|p| xattr::list(p).unwrap().count() > 0)
        .expect("some file has xattrs");
    let rel = with_x.strip_prefix(&copy).unwrap();
    let out = std::process::Command::new("getfattr")
        .args(["-d", "--absolute-names"])
        .arg(snap.join(rel))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for name in xattr::list(&with_x).unwrap() {
        assert!(
            text.contains(name.to_str().unwrap()),
            "getfattr shows {name:?}: {text}"
        );
    }

    // Reads at random offsets and lengths, across chunk boundaries and past the end.
    let fh = File::open(snap.join("big.bin")).unwrap();
    for _ in 0..300 {
        let off = rng.gen_range(0..big.len() as u64 + 4096);
        let len = rng.gen_range(1..3 << 20);
        let mut buf = vec![0u8; len];
        let n = read_at_full(&fh, &mut buf, off);
        let want = if off as usize >= big.len() {
            &[][..]
        } else {
            &big[off as usize..(off as usize + len).min(big.len())]
        };
        assert_eq!(n, want.len(), "length of read at {off}+{len}");
        assert!(buf[..n] == *want, "bytes of read at {off}+{len}");
    }
}

fn read_at_full(f: &File, buf: &mut [u8], off: u64) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], off + n as u64).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// Every regular file below `root`, sorted.
pub(crate) fn walk_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn read_only_live_refresh_concurrent_readers_and_clean_sigterm() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let big = gen::random_bytes(&mut rng, 24 << 20);
    fs::write(src.join("big"), &big).unwrap();
    fs::write(src.join("small"), b"hello").unwrap();
    let others: Vec<Vec<u8>> = (0..3)
        .map(|i| gen::random_bytes(&mut rng, (2 << 20) + i * 4099))
        .collect();
    for (i, b) in others.iter().enumerate() {
        fs::write(src.join(format!("other{i}")), b).unwrap();
    }
    fs::create_dir(src.join("dir")).unwrap();
    xattr::set(src.join("small"), "user.kept", b"yes").unwrap();
    env.backup(&src, &["--time", "2026-11-20T02:00:00Z"]);
    let mut m = Mount::start(&env, "mnt", &[]);
    let snap = inside(&m, "latest", &src);

    // Every kind of write fails with EROFS, on files, directories and the mount's root.
    let erofs = |what: &str, r: std::io::Result<()>| match r {
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => {}
        other => panic!("{what}: want EROFS, got {other:?}"),
    };
    let nix_erofs = |what: &str, r: nix::Result<()>| {
        erofs(
            what,
            r.map_err(|e| std::io::Error::from_raw_os_error(e as i32)),
        )
    };
    let small = snap.join("small");
    erofs("create", fs::write(snap.join("new"), b"x"));
    erofs(
        "open for writing",
        fs::OpenOptions::new().write(true).open(&small).map(|_| ()),
    );
    erofs("mkdir", fs::create_dir(snap.join("d")));
    erofs("rename", fs::rename(&small, snap.join("moved")));
    erofs("unlink", fs::remove_file(&small));
    erofs(
        "chmod",
        fs::set_permissions(&small, std::os::unix::fs::PermissionsExt::from_mode(0o777)),
    );
    erofs("create at the root", fs::write(m.path("x"), b"x"));
    nix_erofs("truncate", nix::unistd::truncate(&small, 1));
    nix_erofs("truncate to 0", nix::unistd::truncate(&small, 0));
    erofs("setxattr", xattr::set(&small, "user.new", b"v"));
    erofs("setxattr (replace)", xattr::set(&small, "user.kept", b"no"));
    erofs("removexattr", xattr::remove(&small, "user.kept"));
    erofs(
        "utimens",
        filetime::set_file_times(
            &small,
            filetime::FileTime::from_unix_time(1, 0),
            filetime::FileTime::from_unix_time(2, 0),
        ),
    );
    erofs(
        "utimens (now)",
        filetime::set_file_mtime(&small, filetime::FileTime::now()),
    );
    erofs("chown", std::os::unix::fs::lchown(&small, Some(1), Some(1)));
    erofs(
        "chown (group only)",
        std::os::unix::fs::chown(&small, None, Some(1)),
    );
    erofs(
        "symlink",
        std::os::unix::fs::symlink("small", snap.join("link")),
    );
    erofs("link", fs::hard_link(&small, snap.join("hard")));
    erofs("rmdir", fs::remove_dir(snap.join("dir")));
    erofs("rmdir at the root", fs::remove_dir(m.path("ids")));
    nix_erofs(
        "mknod (fifo)",
        nix::sys::stat::mknod(
            &snap.join("fifo"),
            nix::sys::stat::SFlag::S_IFIFO,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
            0,
        ),
    );
    nix_erofs(
        "mknod (device)",
        nix::sys::stat::mknod(
            &snap.join("null"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
            nix::sys::stat::makedev(1, 3),
        ),
    );
    // Nothing changed.
    assert_eq!(fs::read(&small).unwrap(), b"hello");
    assert_eq!(xattr::get(&small, "user.kept").unwrap().unwrap(), b"yes");
    assert_eq!(
        fs::read_dir(&snap).unwrap().count(),
        6,
        "big, small, other0-2, dir"
    );

    // Readers behind a barrier: all open, then all read, at the same moment; half of them
    // the same large file, the others one of three other files each (two readers apiece).
    const READERS: usize = 8;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(READERS));
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let (name, want) = if i % 2 == 0 {
                ("big".to_string(), big.clone())
            } else {
                (format!("other{}", i / 2 % 3), others[i / 2 % 3].clone())
            };
            let p = snap.join(&name);
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut f = File::open(p).unwrap();
                barrier.wait();
                let mut out = Vec::new();
                let mut buf = vec![0u8; 128 << 10 | (i * 4096 + 1)];
                loop {
                    let n = f.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                (name, out == want)
            })
        })
        .collect();
    for r in readers {
        let (name, same) = r.join().unwrap();
        assert!(same, "a concurrent reader of {name} got wrong bytes");
    }

    // A snapshot taken while mounted appears without a remount.
    fs::write(src.join("small"), b"changed").unwrap();
    env.backup(&src, &["--time", "2026-11-21T02:00:00Z"]);
    let start = Instant::now();
    while time_dirs(&m).len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "new snapshot never appeared: {:?}",
            time_dirs(&m)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        time_dirs(&m),
        vec!["2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z"]
    );
    assert_eq!(
        fs::read(inside(&m, "2026-11-21T02:00:00Z", &src).join("small")).unwrap(),
        b"changed"
    );
    assert_eq!(
        fs::read(inside(&m, "2026-11-20T02:00:00Z", &src).join("small")).unwrap(),
        b"hello"
    );
    assert_eq!(
        fs::read_link(m.path("latest")).unwrap(),
        PathBuf::from("2026-11-21T02:00:00Z")
    );

    // SIGTERM: exit 0, nothing left mounted.
    let st = m.stop();
    assert!(
        st.success(),
        "vcd mount exited with {st} after SIGTERM: {}",
        m.log_text()
    );
    assert!(!mounted(&m.point), "stale mount left after SIGTERM");
}

#[test]
fn busy_or_missing_mountpoint_is_a_clear_error() {
    let env = Env::new();
    let (_, err) = env.code(1, &["mount", env.path("nope").to_str().unwrap()]);
    assert!(err.contains("does not exist"), "{err}");
    let m = Mount::start(&env, "mnt", &[]);
    let (_, err) = env.code(1, &["mount", m.point.to_str().unwrap()]);
    assert!(
        err.contains("busy") || err.contains("already mounted"),
        "{err}"
    );
}

#[test]
fn damaged_pack_gives_eio_and_names_the_file() {
    let env = Env::new();
    let (a, b) = (env.path("a"), env.path("b"));
    fs::create_dir_all(&a).unwrap();
    fs::create_dir_all(&b).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let good = gen::random_bytes(&mut rng, 3 << 20);
    fs::write(b.join("good"), &good).unwrap();
    // Separate backups put the two files' data in separate packs.
    env.backup(&b, &["--time", "2026-11-20T02:00:00Z"]);
    let before: Vec<PathBuf> = packs(&env);
    fs::write(a.join("bad"), gen::random_bytes(&mut rng, 3 << 20)).unwrap();
    env.backup(&a, &["--time", "2026-11-21T02:00:00Z"]);
    let new: Vec<PathBuf> = packs(&env)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    // The largest new pack holds `bad`'s data (the other holds trees).
    let victim = new
        .iter()
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = fs::read(victim).unwrap();
    bytes[1000] ^= 0xff;
    fs::write(victim, bytes).unwrap();

    let m = Mount::start(&env, "mnt", &[]);
    let dirs = time_dirs(&m);
    let bad_path = inside(&m, dirs.last().unwrap(), &a).join("bad");
    let err = fs::read(&bad_path).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    let good_path = inside(&m, &dirs[0], &b).join("good");
    assert!(
        fs::read(&good_path).unwrap() == good,
        "an intact file still reads"
    );
    let start = Instant::now();
    while !m.log_text().contains("bad") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no log line names the file: {}",
            m.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn packs(env: &Env) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for d in fs::read_dir(env.repo().join("data")).unwrap() {
        for f in fs::read_dir(d.unwrap().path()).unwrap() {
            v.push(f.unwrap().path());
        }
    }
    v.sort();
    v
}

#[test]
fn daemon_detaches_once_mounted_and_ends_on_unmount() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"daemon data").unwrap();
    env.backup(&src, &[]);
    let mp = env.path("mnt");
    fs::create_dir_all(&mp).unwrap();
    let mp = fs::canonicalize(&mp).unwrap();
    let o = env
        .cmd(&["mount", "--daemon", mp.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{out}");
    // Ready when the parent returns: no polling needed.
    assert!(mounted(&mp), "not mounted when --daemon returned: {out}");
    assert_eq!(
        fs::read(inside_path(&mp, "latest", &src).join("f")).unwrap(),
        b"daemon data"
    );
    let pid: u32 = out
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {out:?}"));
    let st = std::process::Command::new("umount")
        .arg(&mp)
        .status()
        .unwrap();
    assert!(st.success());
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the daemon did not exit after unmount"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!mounted(&mp));
}

fn inside_path(mp: &Path, dir: &str, src: &Path) -> PathBuf {
    mp.join(dir).join(src.strip_prefix("/").unwrap())
}

/// readdir resumes at the kernel's offsets: a directory far larger than one reply lists every
/// entry exactly once.
#[test]
fn large_directory_lists_every_entry_once() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..2500 {
        fs::write(
            src.join(format!("entry-with-a-longish-name-{i:05}")),
            i.to_string(),
        )
        .unwrap();
    }
    env.backup(&src, &[]);
    let m = Mount::start(&env, "mnt", &[]);
    let dir = inside(&m, "latest", &src);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let want: Vec<String> = (0..2500)
        .map(|i| format!("entry-with-a-longish-name-{i:05}"))
        .collect();
    assert_eq!(names, want);
    assert_eq!(
        fs::read_to_string(dir.join("entry-with-a-longish-name-02499")).unwrap(),
        "2499"
    );
}

/// Under `tags/<tag>/` (and `hosts/<host>/`) a name carries `-<short id>` only when two
/// snapshots there share a second, as at the top level; the links still lead to the top-level
/// names, which carry the suffix whenever any two snapshots share a second.
#[test]
fn group_names_carry_the_id_only_when_needed_there() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), "x").unwrap();
    let t1 = "2026-11-20T02:00:00Z";
    let t2 = "2026-11-21T02:00:00Z";
    env.backup(&src, &["--time", t1, "--tag", "a"]);
    env.backup(&src, &["--time", t1, "--tag", "b", "--tag", "both"]);
    env.backup(&src, &["--time", t2, "--tag", "a", "--tag", "both"]);
    env.backup(&src, &["--time", t2, "--tag", "both"]);
    let m = Mount::start(&env, "mnt", &[]);
    let top = time_dirs(&m);
    assert_eq!(top.len(), 4, "{top:?}");
    assert!(top.iter().all(|n| n.len() == t1.len() + 9), "{top:?}");
    let list = |dir: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = fs::read_dir(m.path(dir))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let target = fs::read_link(e.path()).unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    target.to_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let a = list("tags/a");
    assert_eq!(
        a.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec![t1, t2],
        "unique within tags/a: no suffix"
    );
    let b = list("tags/b");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].0, t1);
    assert_ne!(a[0].1, b[0].1, "each leads to its own snapshot");
    for (tag, entries) in [("a", &a), ("b", &b)] {
        for (n, target) in entries {
            let name = target.strip_prefix("../../").unwrap();
            assert!(top.contains(&name.to_string()), "{n} -> {target}");
            let f = inside(&m, &format!("tags/{tag}/{n}"), &src).join("f");
            assert_eq!(fs::read(&f).unwrap(), b"x", "{f:?}");
        }
    }
    let both = list("tags/both");
    let names: Vec<&str> = both.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 3);
    assert_eq!(names[0], t1, "the only one of tags/both at t1");
    assert!(
        names[1].starts_with(&format!("{t2}-")) && names[2].starts_with(&format!("{t2}-")),
        "two at t2 in tags/both: {names:?}"
    );
    for (n, target) in &both {
        if n.len() > t1.len() {
            assert_eq!(target, &format!("../../{n}"), "the same suffixed name");
        }
    }
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    let hosts = list(&format!("hosts/{host}"));
    assert_eq!(
        hosts.len(),
        4,
        "all four share the host, two by two per second"
    );
    assert!(hosts.iter().all(|(n, t)| t == &format!("../../{n}")));
}

/// The inode table forgets what the kernel forgets: after a walk of many files and a drop of
/// the kernel's dentry and inode caches, the table (its size is the root's `user.vcd.inodes`
/// attribute) is back near its size before the walk.
#[test]
fn inode_table_shrinks_when_the_kernel_forgets() {
    let env = Env::new();
    let src = env.path("src");
    for d in 0..20 {
        let dir = src.join(format!("d{d:02}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..150 {
            fs::write(dir.join(format!("f{f:03}")), format!("{d}/{f}")).unwrap();
        }
    }
    env.backup(&src, &[]);
    let m = Mount::start(&env, "mnt", &[]);
    let count = || -> usize {
        let v = xattr::get(&m.point, "user.vcd.inodes")
            .unwrap()
            .expect("the root has user.vcd.inodes");
        String::from_utf8(v).unwrap().parse().unwrap()
    };
    let before = count();
    let files = walk_files(&inside(&m, "latest", &src));
    assert_eq!(files.len(), 3000);
    for f in &files {
        fs::metadata(f).unwrap();
    }
    let walked = count();
    assert!(
        walked >= 3000,
        "every file looked up has an entry: {walked}"
    );
    let start = Instant::now();
    loop {
        fs::write("/proc/sys/vm/drop_caches", "2").unwrap();
        let now = count();
        if now < before + 100 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the table kept {now} entries of {walked} (before the walk: {before})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Looking a file up again after it was forgotten still works.
    assert_eq!(fs::read_to_string(&files[1234]).unwrap(), "8/34");
}

/// The mount as the design names it, `/mnt/vcd-snapshots/<date>/…`: a plain UTC date leads to
/// that day's newest snapshot (never a restore's rollback image), `categories/<name>/` and
/// `jobs/<name>/` list the snapshots holding a category or made by a job, and `--category`
/// (as every command that chooses a snapshot) narrows what the mount shows.
#[test]
fn days_categories_jobs_and_the_filters_of_every_snapshot_command() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let at = |t: &str, body: &str, extra: &[&str]| {
        fs::write(src.join("f"), body).unwrap();
        let mut a = vec!["--time", t];
        a.extend_from_slice(extra);
        env.backup(&src, &a)
    };
    at("2026-11-20T02:00:00Z", "20 early", &["--category", "crit"]);
    at("2026-11-20T14:00:00Z", "20 late", &["--category", "opt"]);
    at("2026-11-21T03:00:00Z", "21", &["--category", "crit"]);
    at("2026-11-21T05:00:00Z", "21 image", &["--tag", "rollback"]);
    // A job's snapshot, through a configuration.
    let cfg = env.path("vcd.toml");
    fs::write(
        &cfg,
        format!(
            "[repository]\npath = {:?}\npassword_file = {:?}\n\n[categories.crit]\npaths = [{:?}]\n\n\
             [jobs.nightly]\nschedule = \"0 2 * * *\"\ntype = \"incremental\"\ncategories = [\"crit\"]\n",
            env.repo().to_str().unwrap(),
            env.path("pw").to_str().unwrap(),
            src.to_str().unwrap()
        ),
    )
    .unwrap();
    fs::write(src.join("f"), "job").unwrap();
    let day = || chrono::Utc::now().format("%Y-%m-%d").to_string();
    let before = day();
    env.ok(&["--config", cfg.to_str().unwrap(), "run", "nightly"]);
    // The run's day (the two differ only across midnight UTC).
    let today = if m_has_day(&env, &before) {
        before
    } else {
        day()
    };

    let m = Mount::start(&env, "mnt", &[]);
    let link = |p: &str| {
        fs::read_link(m.path(p))
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    let f = |dir: &str| fs::read_to_string(inside(&m, dir, &src).join("f")).unwrap();
    assert_eq!(link("2026-11-20"), "2026-11-20T14:00:00Z");
    assert_eq!(f("2026-11-20"), "20 late");
    assert_eq!(
        f("2026-11-20T02:00:00Z"),
        "20 early",
        "the day's others beside it"
    );
    assert_eq!(
        link("2026-11-21"),
        "2026-11-21T03:00:00Z",
        "not the rollback image"
    );
    assert_eq!(f("2026-11-21"), "21");
    assert_eq!(f(&today), "job");
    let names = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(m.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("categories"), vec!["crit", "opt"]);
    let crit = names("categories/crit");
    assert_eq!(crit.len(), 3, "{crit:?}");
    assert_eq!(&crit[..2], ["2026-11-20T02:00:00Z", "2026-11-21T03:00:00Z"]);
    assert_eq!(names("categories/opt"), vec!["2026-11-20T14:00:00Z"]);
    assert_eq!(f("categories/opt/2026-11-20T14:00:00Z"), "20 late");
    assert_eq!(names("jobs"), vec!["nightly"]);
    let nightly = names("jobs/nightly");
    assert_eq!(nightly.len(), 1);
    assert_eq!(nightly[0], crit[2]);
    assert_eq!(f(&format!("jobs/nightly/{}", nightly[0])), "job");
    drop(m);

    // Only the snapshots of category opt.
    let m = Mount::start(&env, "opt", &["--category", "opt"]);
    assert_eq!(time_dirs(&m), vec!["2026-11-20T14:00:00Z"]);
    assert_eq!(
        fs::read_link(m.path("2026-11-20")).unwrap().to_str(),
        Some("2026-11-20T14:00:00Z")
    );
    assert!(
        fs::symlink_metadata(m.path("2026-11-21")).is_err(),
        "no link to a hidden day"
    );
    drop(m);
    let m = Mount::start(&env, "job", &["--job", "nightly"]);
    assert_eq!(time_dirs(&m), nightly);
}

/// Whether the repository's newest snapshot was taken on UTC day `day`.
fn m_has_day(env: &Env, day: &str) -> bool {
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["snapshots", "--json"])).unwrap();
    let last = v.as_array().unwrap().last().unwrap();
    last["time"].as_str().unwrap().starts_with(day)
}
