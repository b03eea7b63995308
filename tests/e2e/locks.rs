//! Which command takes which lock (FORMAT.md §10), seen from outside: read commands wait for an
//! exclusive lock unless given `--no-lock`, which commands that write refuse; key removal and
//! password changes wait for every other lock; a mount holds its shared lock while mounted;
//! read-only storage is checked, restored and mounted with `--no-lock`. And the repository and
//! the local cache are private (0700 directories, 0600 files) whatever the umask.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{vcd_bin, Env};
use crate::crash::fx;

/// An environment with one snapshot of a small source; returns it and the snapshot id.
fn with_snapshot() -> (Env, PathBuf, String) {
    let e = Env::new();
    let src = e.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/f"), b"locked data").unwrap();
    let snap = e.backup(&src, &[]);
    (e, src, snap)
}

/// The ids of the repository's key files, in listing order.
fn key_ids(e: &Env) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(e.repo().join("keys"))
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

#[test]
fn read_commands_wait_for_an_exclusive_lock_unless_told_no_lock() {
    let (e, src, snap) = with_snapshot();
    let repo = e.open_repo();
    let guard = engine::repo::lock::acquire(&repo, true).unwrap();
    let target = e.path("r1");
    let t = target.to_str().unwrap();
    let inside = src.strip_prefix("/").unwrap().join("d");
    let inside = inside.to_str().unwrap();
    // Small self-contained files are read without a lock (a held lock can be inspected).
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["cat", "snapshot", &snap])).unwrap();
    let tree = v["tree"].as_str().expect("a tree id").to_string();
    for args in [
        vec!["restore", &snap, "--target", t],
        vec!["ls", &snap],
        vec!["ls", &snap, inside],
        vec!["diff", &snap, &snap],
        vec!["stats"],
        vec!["cat", "tree", &tree],
        vec!["check"],
    ] {
        let (_, err) = e.code(11, &args);
        assert!(err.contains("repository is locked"), "{args:?}: {err}");
    }
    assert!(
        !target.join(inside).exists(),
        "a refused restore wrote files"
    );
    // Commands that take no lock are not held up.
    e.ok(&["snapshots"]);
    e.ok(&["key", "list"]);

    // --no-lock reads anyway, and writes no lock file of its own.
    e.ok(&["--no-lock", "restore", &snap, "--target", t]);
    assert_eq!(
        fs::read(target.join(inside).join("f")).unwrap(),
        b"locked data"
    );
    let out = e.ok(&["ls", "--no-lock", &snap, inside]);
    assert!(out.contains("/f"), "{out}");
    e.ok(&["--no-lock", "diff", &snap, &snap]);
    e.ok(&["--no-lock", "stats"]);
    e.ok(&["--no-lock", "cat", "tree", &tree]);
    e.ok(&["--no-lock", "check"]);
    assert_eq!(fx::locks(&e.repo()), 1, "only the test's own lock");
    drop(guard);
    e.ok(&["ls", &snap]);
    assert_eq!(fx::locks(&e.repo()), 0);
}

#[test]
fn no_lock_is_refused_by_commands_that_write() {
    let bare = Env::bare();
    let (_, err) = bare.code(1, &["--no-lock", "init"]);
    assert!(err.contains("--no-lock"), "{err}");
    assert!(!bare.repo().join("config").exists());

    let (e, src, _) = with_snapshot();
    fs::write(e.path("pw2"), "second\n").unwrap();
    let pw2 = e.path("pw2");
    let pw2 = pw2.to_str().unwrap();
    let other = key_ids(&e)[0].clone();
    for args in [
        vec!["backup", src.to_str().unwrap()],
        vec!["repair", "index"],
        vec!["key", "add", "--new-password-file", pw2],
        vec!["key", "passwd", "--new-password-file", pw2],
        vec!["key", "remove", &other],
        vec!["unlock"],
    ] {
        let mut a = vec!["--no-lock"];
        a.extend_from_slice(&args);
        let (_, err) = e.code(1, &a);
        assert!(
            err.contains("--no-lock is for commands that only read"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(e.snapshots().len(), 1);
    assert_eq!(key_ids(&e).len(), 1);
}

#[test]
fn key_remove_and_passwd_wait_for_every_other_lock() {
    let (e, _, _) = with_snapshot();
    fs::write(e.path("pw2"), "second\n").unwrap();
    let pw2 = e.path("pw2");
    let pw2 = pw2.to_str().unwrap();
    let before = key_ids(&e);
    e.ok(&["key", "add", "--new-password-file", pw2]);
    let added: Vec<String> = key_ids(&e)
        .into_iter()
        .filter(|k| !before.contains(k))
        .collect();
    assert_eq!(added.len(), 1);

    // A shared lock of a live process (this one), as a running backup or restore holds.
    let repo = e.open_repo();
    let shared = engine::repo::lock::acquire(&repo, false).unwrap();
    let (_, err) = e.code(11, &["key", "remove", &added[0][..8]]);
    assert!(err.contains("repository is locked"), "{err}");
    e.code(11, &["key", "passwd", "--new-password-file", pw2]);
    assert_eq!(key_ids(&e).len(), 2, "a refused command changed the keys");
    // Adding a key only needs a shared lock, which coexists.
    e.ok(&["key", "add", "--new-password-file", pw2]);
    assert_eq!(key_ids(&e).len(), 3);
    assert_eq!(fx::locks(&e.repo()), 1);
    drop(shared);

    let out = e.ok(&["key", "remove", &added[0][..8]]);
    assert!(out.contains("removed key"), "{out}");
    assert_eq!(key_ids(&e).len(), 2);
    assert_eq!(fx::locks(&e.repo()), 0);
}

use crate::common::{mounted, ReadOnly};

/// A mount daemon started by a test: unmounted and ended on drop, so a failing test leaves no
/// mount (or a process holding the test's output open) behind.
struct Daemon {
    mp: PathBuf,
    pid: u32,
}

impl Daemon {
    /// Mounts with `--daemon` (and `extra` global flags).
    fn start(e: &Env, name: &str, extra: &[&str]) -> Daemon {
        let mp = e.path(name);
        fs::create_dir_all(&mp).unwrap();
        let mp = fs::canonicalize(&mp).unwrap();
        let mut args = extra.to_vec();
        args.extend(["mount", "--daemon", mp.to_str().unwrap()]);
        let o = e
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(o.status.success(), "{out}");
        assert!(mounted(&mp), "not mounted: {out}");
        let pid = out
            .split("(pid ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no pid in {out:?}"));
        Daemon { mp, pid }
    }

    fn running(&self) -> bool {
        Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    /// Unmounts as a user would and waits for the daemon to end.
    fn unmount(&self) {
        assert!(Command::new("umount")
            .arg(&self.mp)
            .status()
            .unwrap()
            .success());
        let start = Instant::now();
        while self.running() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the daemon did not exit after unmount"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if mounted(&self.mp) {
            let _ = Command::new("umount").arg("-l").arg(&self.mp).status();
        }
        if self.running() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn a_mount_holds_a_shared_lock_for_as_long_as_it_is_mounted() {
    let (e, src, _) = with_snapshot();
    let m = Daemon::start(&e, "mnt", &[]);
    let locks = engine::repo::lock::list_locks(&e.open_repo()).unwrap();
    assert_eq!(locks.len(), 1, "one lock while mounted");
    let info = locks[0].1.as_ref().expect("a readable lock");
    assert!(!info.exclusive);
    assert_eq!(info.pid, m.pid, "the lock is the mount daemon's");
    // It is what keeps an exclusive command out, and reads through the mount still work.
    e.code(11, &["repair", "index"]);
    let f =
        m.mp.join("latest")
            .join(src.strip_prefix("/").unwrap())
            .join("d/f");
    assert_eq!(fs::read(f).unwrap(), b"locked data");
    m.unmount();
    assert_eq!(fx::locks(&e.repo()), 0, "the lock outlived the mount");
    e.ok(&["repair", "index"]);

    // With --no-lock nothing is written while mounted.
    let m = Daemon::start(&e, "mnt2", &["--no-lock"]);
    assert_eq!(fx::locks(&e.repo()), 0);
    m.unmount();
}

/// A `vcd` command run under `umask 022`, with the environment's repository, password and
/// cache.
fn under_umask_022(e: &Env, args: &[&str]) {
    let st = Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$@\"")
        .arg("sh")
        .arg(vcd_bin())
        .arg("--repo")
        .arg(e.repo())
        .arg("--password-file")
        .arg(e.path("pw"))
        .arg("--cache-dir")
        .arg(e.cache())
        .args(args)
        .env_remove("VCD_PASSWORD")
        .env_remove("VCD_PASSWORD_COMMAND")
        .env_remove("VCD_REPOSITORY")
        .env_remove("VCD_PASSWORD_FILE")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "vcd {args:?} failed ({st})");
}

/// Every path under `root` (itself included) that is not a 0700 directory or a 0600 file.
fn not_private(root: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let m = fs::symlink_metadata(root).unwrap();
    let mode = m.permissions().mode() & 0o7777;
    let want = if m.is_dir() { 0o700 } else { 0o600 };
    if mode != want {
        bad.push(format!("{} {mode:o}", root.display()));
    }
    if m.is_dir() {
        for d in fs::read_dir(root).unwrap() {
            bad.extend(not_private(&d.unwrap().path()));
        }
    }
    bad
}

#[test]
fn repository_and_cache_are_private_whatever_the_umask() {
    let e = Env::bare();
    let src = e.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/f"), b"private").unwrap();
    under_umask_022(&e, &["init"]);
    under_umask_022(&e, &["backup", src.to_str().unwrap()]);
    under_umask_022(&e, &["check"]);
    let bad = not_private(&e.repo());
    assert!(bad.is_empty(), "repository not private: {bad:#?}");
    let bad = not_private(&e.cache());
    assert!(bad.is_empty(), "cache not private: {bad:#?}");
}

/// Issue 12, item 11: a repository on read-only storage could be restored but not checked or
/// mounted, both writing a lock. With `--no-lock` both work and write nothing; without it, the
/// refusal says what to do.
#[test]
fn read_only_storage_is_checked_restored_and_mounted_with_no_lock() {
    let (e, src, snap) = with_snapshot();
    {
        let _ro = ReadOnly::bind(&e.repo());
        let (_, err) = e.code(1, &["check"]);
        assert!(
            err.contains("Read-only file system") && err.contains("run with --no-lock"),
            "{err}"
        );
        let out = e.ok(&["--no-lock", "check", "--read-data"]);
        assert!(out.contains("no errors found"), "{out}");
        let t = e.path("restored");
        e.ok(&[
            "--no-lock",
            "restore",
            &snap,
            "--target",
            t.to_str().unwrap(),
        ]);
        assert_eq!(
            fs::read(fx::restored(&t, &src).join("d/f")).unwrap(),
            b"locked data"
        );
        let m = Daemon::start(&e, "mnt", &["--no-lock"]);
        let f =
            m.mp.join("latest")
                .join(src.strip_prefix("/").unwrap())
                .join("d/f");
        assert_eq!(fs::read(f).unwrap(), b"locked data");
        m.unmount();
    }
    assert_eq!(fx::locks(&e.repo()), 0);

    // The same for a user who may read the repository but not write to it.
    use std::os::unix::process::CommandExt;
    let nobody = crate::common::NOBODY;
    let st = Command::new("chown")
        .arg("-R")
        .arg(format!("{nobody}:{nobody}"))
        .arg(e.dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("chmod")
        .args(["-R", "a-w"])
        .arg(e.repo())
        .status();
    assert!(st.unwrap().success());
    let as_nobody = |args: &[&str]| e.cmd(args).uid(nobody).gid(nobody).output().unwrap();
    let o = as_nobody(&["check"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Permission denied") && err.contains("--no-lock"),
        "{err}"
    );
    let o = as_nobody(&["--no-lock", "check", "--read-data"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no errors found"));
    assert_eq!(fx::locks(&e.repo()), 0);
}
