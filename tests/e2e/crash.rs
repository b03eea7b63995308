//! Crash safety: a backup killed with SIGKILL at random (seeded) moments leaves a repository
//! that `check --read-data` passes, stale locks that `vcd unlock` removes (and that block no
//! one, the killed process being gone), a next backup that succeeds, and every earlier snapshot
//! restorable byte for byte. SIGINT stops a backup with exit 130 and leaves no lock behind.
//!
//! `fx` holds the small source fixtures and tree comparison the corruption and errors tests
//! use too.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{Env, PASSWORD};

/// Source fixtures and tree comparison shared by crash, corruption and errors.
pub(crate) mod fx {
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::{Path, PathBuf};

    use rand::rngs::StdRng;
    use rand::{Rng, RngCore};

    /// Writes `len` random (incompressible) bytes to `path`, replacing any file there (a new
    /// inode, so hard-linked copies keep the old content).
    pub fn random_file(path: &Path, len: usize, rng: &mut StdRng) {
        let mut b = vec![0u8; len];
        rng.fill_bytes(&mut b);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).unwrap();
        }
        let _ = fs::remove_file(path);
        fs::write(path, b).unwrap();
    }

    /// A small source tree under `root`: `small` files of 0..64 KiB spread over three
    /// directories (one empty file among them), one file per size in `big`, and a symlink.
    pub fn tree(root: &Path, rng: &mut StdRng, small: usize, big: &[usize]) {
        fs::create_dir_all(root.join("empty-dir")).unwrap();
        for i in 0..small {
            let len = if i == 0 {
                0
            } else {
                rng.gen_range(1..64 << 10)
            };
            random_file(&root.join(format!("d{}/s{i:03}", i % 3)), len, rng);
        }
        for (i, &len) in big.iter().enumerate() {
            random_file(&root.join(format!("big{i}.bin")), len, rng);
        }
        std::os::unix::fs::symlink("d0/s000", root.join("link")).unwrap();
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Kind {
        Dir,
        File(u64),
        Symlink(PathBuf),
        Other,
    }

    fn listing(root: &Path) -> BTreeMap<PathBuf, Kind> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Kind>) {
            for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
                let p = e.unwrap().path();
                let m = fs::symlink_metadata(&p).unwrap();
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                let k = if m.is_dir() {
                    walk(root, &p, out);
                    Kind::Dir
                } else if m.is_file() {
                    Kind::File(m.len())
                } else if m.is_symlink() {
                    Kind::Symlink(fs::read_link(&p).unwrap())
                } else {
                    Kind::Other
                };
                out.insert(rel, k);
            }
        }
        let mut out = BTreeMap::new();
        walk(root, root, &mut out);
        out
    }

    /// Asserts that `actual` holds exactly what `expected` holds (names, kinds, file bytes,
    /// symlink targets), except the relative paths in `skip` and what is below them, which are
    /// not compared.
    pub fn assert_same_tree(expected: &Path, actual: &Path, skip: &[&str]) {
        let keep = |m: BTreeMap<PathBuf, Kind>| -> BTreeMap<PathBuf, Kind> {
            m.into_iter()
                .filter(|(p, _)| !skip.iter().any(|s| p.starts_with(s)))
                .collect()
        };
        let (want, got) = (keep(listing(expected)), keep(listing(actual)));
        let names = |m: &BTreeMap<PathBuf, Kind>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&want),
            names(&got),
            "{} vs {}: entries differ",
            expected.display(),
            actual.display()
        );
        for (rel, k) in &want {
            assert_eq!(
                Some(k),
                got.get(rel),
                "{}: kind or size differs",
                rel.display()
            );
            if let Kind::File(_) = k {
                let same =
                    fs::read(expected.join(rel)).unwrap() == fs::read(actual.join(rel)).unwrap();
                assert!(
                    same,
                    "{}: restored bytes differ from the source",
                    rel.display()
                );
            }
        }
    }

    /// Copies `src` to `dst` with hard links (cheap); `src` must from then on replace files,
    /// never write them in place, for the copy to stay as it was.
    pub fn link_copy(src: &Path, dst: &Path) {
        fs::create_dir_all(dst).unwrap();
        for e in fs::read_dir(src).unwrap() {
            let p = e.unwrap().path();
            let to = dst.join(p.file_name().unwrap());
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                link_copy(&p, &to);
            } else if m.is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(&p).unwrap(), &to).unwrap();
            } else {
                fs::hard_link(&p, &to).unwrap();
            }
        }
    }

    /// Number of lock files in the repository (not counting `.tmp*` files: a lock being
    /// written, or one whose writer was killed before renaming it into place).
    pub fn locks(repo: &Path) -> usize {
        let Ok(d) = fs::read_dir(repo.join("locks")) else {
            return 0;
        };
        d.filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .as_encoded_bytes()
                .starts_with(b".")
        })
        .count()
    }

    /// Where `src` (an absolute path) lands inside a restore target.
    pub fn restored(target: &Path, src: &Path) -> PathBuf {
        target.join(src.strip_prefix("/").unwrap())
    }
}

/// Replaces every big file and about half of the small ones with new random bytes, deletes a
/// few small files and adds a few: most of the next backup's data is new.
fn mutate(src: &Path, rng: &mut StdRng, round: usize) {
    for i in 0..4 {
        fx::random_file(
            &src.join(format!("big{i}.bin")),
            rng.gen_range(5 << 20..10 << 20),
            rng,
        );
    }
    for d in 0..3 {
        let dir = src.join(format!("d{d}"));
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            match rng.gen_range(0..10) {
                0 if p.file_name().unwrap() != "s000" => std::fs::remove_file(&p).unwrap(),
                1..=5 => fx::random_file(&p, rng.gen_range(1..200 << 10), rng),
                _ => {}
            }
        }
        for k in 0..3 {
            fx::random_file(
                &dir.join(format!("r{round}-{k}")),
                rng.gen_range(1..300 << 10),
                rng,
            );
        }
    }
}

fn spawn_backup(e: &Env, src: &Path) -> Child {
    e.cmd(&["backup", "--quiet", src.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning vcd backup")
}

/// Waits (bounded) until `cond` holds while the backup runs.
fn wait_until(child: &mut Child, what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "backup ended before {what}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "backup never got to {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until the backup has written its lock, i.e. is past opening the repository.
fn wait_for_lock(e: &Env, child: &mut Child) {
    wait_until(child, "taking its lock", || fx::locks(&e.repo()) > 0);
}

/// Adds the newest snapshot (or `id`) with a copy of the source as it is now.
fn record(e: &Env, src: &Path, snaps: &mut Vec<(String, PathBuf)>, id: Option<String>) {
    let all = e.snapshots();
    assert_eq!(all.len(), snaps.len() + 1, "exactly one new snapshot");
    let id = id.unwrap_or_else(|| all.last().unwrap()["id"].as_str().unwrap().to_string());
    let copy = e.path(&format!("copy-{}", snaps.len()));
    fx::link_copy(src, &copy);
    snaps.push((id, copy));
}

/// Number of pack files (complete ones: they are renamed into place from `.tmp` files, which
/// sit in `data/` while written).
fn packs(e: &Env) -> usize {
    let data = e.repo().join("data");
    std::fs::read_dir(data)
        .unwrap()
        .filter(|d| d.as_ref().unwrap().file_type().unwrap().is_dir())
        .map(|d| {
            std::fs::read_dir(d.unwrap().path())
                .unwrap()
                .filter(|f| {
                    !f.as_ref()
                        .unwrap()
                        .file_name()
                        .as_encoded_bytes()
                        .starts_with(b".")
                })
                .count()
        })
        .sum()
}

fn check_read_data(e: &Env, when: &str) {
    let o = e.run(&["check", "--read-data"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "check --read-data failed {when}:\n{err}"
    );
    assert!(
        !err.contains("error"),
        "check reported errors {when}:\n{err}"
    );
}

/// Removes stale locks with `vcd unlock` and checks none is left.
fn unlock(e: &Env) {
    e.ok(&["unlock"]);
    assert_eq!(
        fx::locks(&e.repo()),
        0,
        "vcd unlock left locks of killed backups behind"
    );
}

#[test]
fn sigkill_during_backup_leaves_a_valid_repository() {
    // Small packs: a backup writes a pack every few dozen milliseconds, so kills land between
    // and during pack writes, not only before the first one.
    let e = Env::bare();
    e.ok(&["init", "--pack-size", "2"]);
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0x5eed_c4a5);
    // ~45 MiB: 4 big files of 5-10 MiB and 150 small ones across three directories.
    let bigs: Vec<usize> = (0..4).map(|_| rng.gen_range(5 << 20..10 << 20)).collect();
    fx::tree(&src, &mut rng, 150, &bigs);

    // (snapshot id, copy of the source as that snapshot saw it)
    let mut snaps: Vec<(String, PathBuf)> = Vec::new();
    let started = Instant::now();
    let id = e.backup(&src, &[]);
    let normal = started.elapsed();
    record(&e, &src, &mut snaps, Some(id));

    // One kill known to land after the lock was written: it must leave a stale lock that
    // counts as stale by itself (its process is gone) and that `vcd unlock` removes.
    mutate(&src, &mut rng, 0);
    let mut child = spawn_backup(&e, &src);
    wait_for_lock(&e, &mut child);
    child.kill().unwrap();
    child.wait().unwrap(); // reaped: the pid is gone, so the lock is stale
    assert_eq!(
        fx::locks(&e.repo()),
        1,
        "the killed backup's lock should still be there"
    );
    {
        let repo = engine::Repo::open(
            Arc::new(engine::backend::LocalBackend::new(e.repo())),
            PASSWORD.as_bytes(),
            None,
        )
        .unwrap();
        let now = chrono::Utc::now();
        for (name, info) in engine::repo::lock::list_locks(&repo).unwrap() {
            let info = info.unwrap_or_else(|| panic!("lock {name} unreadable"));
            assert!(
                engine::repo::lock::is_stale(&info, now),
                "lock of a killed process is not stale: {info:?}"
            );
        }
        // Not even an exclusive lock is blocked by it.
        drop(
            engine::repo::lock::acquire(&repo, true)
                .expect("a dead process's lock blocked an exclusive lock"),
        );
    }
    check_read_data(&e, "after a kill past the lock");
    unlock(&e);

    // Random kills: a seeded delay between 0 and the duration of a normal backup.
    let window = normal.as_millis().max(50) as u64;
    let (mut kills, mut attempts, mut left_packs) = (0, 0, 0);
    while kills < 6 {
        attempts += 1;
        assert!(
            attempts <= 30,
            "only {kills} of {attempts} kills landed during a backup"
        );
        let delay = Duration::from_millis(rng.gen_range(0..window));
        let packs_before = packs(&e);
        let mut child = spawn_backup(&e, &src);
        std::thread::sleep(delay);
        if let Some(status) = child.try_wait().unwrap() {
            // It finished first: a completed snapshot like any other.
            eprintln!("backup finished within {delay:?} (attempt {attempts})");
            assert!(status.success(), "backup failed on its own: {status:?}");
            record(&e, &src, &mut snaps, None);
            mutate(&src, &mut rng, snaps.len());
            continue;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        left_packs += (packs(&e) > packs_before) as usize;
        eprintln!(
            "kill {kills} after {delay:?} (attempt {attempts}, {:?} into the test), {} new packs",
            started.elapsed(),
            packs(&e) - packs_before
        );
        check_read_data(&e, &format!("after kill {kills} ({delay:?} into a backup)"));
        unlock(&e);
        // Killed after writing its snapshot (the last step) but before exiting: that snapshot
        // is complete, and must restore like the others.
        let landed_late = e.snapshots().len() > snaps.len();
        if landed_late {
            eprintln!("kill {kills} came after the snapshot was written");
            record(&e, &src, &mut snaps, None);
        }
        if kills % 2 == 0 {
            // The next backup succeeds and is restorable like the others.
            let id = e.backup(&src, &[]);
            record(&e, &src, &mut snaps, Some(id));
        }
        if landed_late || kills % 2 == 0 {
            mutate(&src, &mut rng, snaps.len());
        }
    }

    // Not a test of luck: some kills must have landed while packs were being written.
    assert!(left_packs > 0, "no kill landed after a pack was written");

    let id = e.backup(&src, &[]);
    record(&e, &src, &mut snaps, Some(id));
    check_read_data(&e, "at the end");
    for (i, (id, copy)) in snaps.iter().enumerate() {
        let got = e.restore(id, &src, &format!("restore-{i}"));
        fx::assert_same_tree(copy, &got, &[]);
    }
}

#[test]
fn sigint_during_backup_exits_130_and_releases_the_lock() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0130);
    // Two shapes of source: big files (read in streamed windows) and one directory of
    // thousands of small files (each read whole). Ctrl-C must stop both.
    let big = |src: &Path, rng: &mut StdRng| fx::tree(src, rng, 30, &[12 << 20; 4]);
    let small = |src: &Path, rng: &mut StdRng| {
        for i in 0..3000 {
            fx::random_file(&src.join(format!("f{i:04}")), 16 << 10, rng);
        }
    };
    for (what, make) in [
        ("big files", &big as &dyn Fn(&Path, &mut StdRng)),
        ("small files", &small),
    ] {
        let e = Env::new();
        let src = e.path("src");
        make(&src, &mut rng);
        let mut child = e
            .cmd(&["backup", src.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Once the first pack is stored the walk is well under way (a third of the data).
        wait_until(&mut child, "writing a pack", || packs(&e) > 0);
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{what}: stderr:\n{err}");
        assert!(err.contains("interrupted"), "{what}: stderr:\n{err}");
        assert_eq!(
            fx::locks(&e.repo()),
            0,
            "{what}: an interrupted backup left its lock"
        );
        assert!(
            e.snapshots().is_empty(),
            "{what}: an interrupted backup wrote a snapshot"
        );
        let o = e.run(&["check", "--read-data"]);
        let cerr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{what}: check after SIGINT:\n{cerr}");
        // An orderly stop indexes the packs it stored: none is left unreferenced.
        assert!(
            !cerr.contains("not in any index"),
            "{what}: check after SIGINT:\n{cerr}"
        );

        let id = e.backup(&src, &[]);
        let got = e.restore(&id, &src, "restore");
        fx::assert_same_tree(&src, &got, &[]);
    }
}
