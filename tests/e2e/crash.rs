//! Crash safety: a backup killed with SIGKILL at each of its steps (lock taken, a pack written,
//! the index file written, the snapshot written: observed with inotify, the process stopped
//! there, the landing asserted from the files it left) and at random moments after its lock
//! leaves a repository that `check --read-data` passes, stale locks that `vcd unlock` removes
//! (and that block no one, the killed process being gone), every earlier snapshot restorable
//! byte for byte, and a next backup that succeeds. SIGINT stops a backup with exit 130 and
//! leaves no lock behind. Kills of other commands that write: `crash_ops`; a full disk:
//! `disk_full`.
//!
//! `fx` holds the small source fixtures and tree comparison the corruption and errors tests
//! use too.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::Env;
use crate::phases::{self, Dir, Event, State};

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
pub(crate) fn mutate(src: &Path, rng: &mut StdRng, round: usize) {
    for i in 0..3 {
        fx::random_file(
            &src.join(format!("big{i}.bin")),
            rng.gen_range(1 << 20..3 << 20),
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
                1..=5 => fx::random_file(&p, rng.gen_range(1..64 << 10), rng),
                _ => {}
            }
        }
        for k in 0..3 {
            fx::random_file(
                &dir.join(format!("r{round}-{k}")),
                rng.gen_range(1..64 << 10),
                rng,
            );
        }
    }
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

/// Adds the newest snapshot (or `id`) with a copy of the source as it is now.
pub(crate) fn record(e: &Env, src: &Path, snaps: &mut Vec<(String, PathBuf)>, id: Option<String>) {
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

pub(crate) fn check_read_data(e: &Env, when: &str) {
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
pub(crate) fn unlock(e: &Env) {
    e.ok(&["unlock"]);
    assert_eq!(
        fx::locks(&e.repo()),
        0,
        "vcd unlock left locks of killed backups behind"
    );
}

/// How far a killed backup got, from the files it left (in the order a backup writes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Nothing in the repository yet.
    Started,
    /// Its lock file is there.
    Locked,
    /// At least one pack is in place.
    Packed,
    /// At least one index file is in place.
    Indexed,
    /// Its snapshot is in place.
    Saved,
    /// It exited before it could be stopped.
    Ended,
}

impl Phase {
    fn of(before: &State, stop: &phases::Stop) -> Phase {
        let s = &stop.state;
        if stop.ended {
            Phase::Ended
        } else if s.snapshots.len() > before.snapshots.len() {
            Phase::Saved
        } else if !s.index.is_subset(&before.index) || s.index.len() > before.index.len() {
            Phase::Indexed
        } else if s.packs.len() > before.packs.len() {
            Phase::Packed
        } else if s.locks.len() > before.locks.len() {
            Phase::Locked
        } else {
            Phase::Started
        }
    }

    /// The event that starts this phase.
    fn event(self, ev: &Event) -> bool {
        match self {
            Phase::Locked => ev.placed(Dir::Locks),
            Phase::Packed => ev.pack_placed(),
            Phase::Indexed => ev.placed(Dir::Index),
            Phase::Saved => ev.placed(Dir::Snapshots),
            Phase::Started | Phase::Ended => unreachable!("not a step to stop at"),
        }
    }
}

/// The repository is valid after a kill: `check --read-data` passes; the killed backup's
/// lock, if any, is stale by itself (its process is gone), blocks not even an exclusive lock,
/// and `vcd unlock` removes it; a snapshot the backup saved is complete; every earlier
/// snapshot restores byte for byte; and the next backup succeeds.
pub(crate) fn valid_after_kill(
    e: &Env,
    src: &Path,
    snaps: &mut Vec<(String, PathBuf)>,
    new_snapshot: bool,
    when: &str,
) {
    check_read_data(e, when);
    if fx::locks(&e.repo()) > 0 {
        let repo = e.open_repo();
        let now = chrono::Utc::now();
        for (name, info) in engine::repo::lock::list_locks(&repo).unwrap() {
            let info = info.unwrap_or_else(|| panic!("{when}: lock {name} unreadable"));
            assert!(
                engine::repo::lock::is_stale(&info, now),
                "{when}: lock of a killed process is not stale: {info:?}"
            );
        }
        drop(
            engine::repo::lock::acquire(&repo, true)
                .expect("a dead process's lock blocked an exclusive lock"),
        );
    }
    unlock(e);
    let saved = e.snapshots().len() > snaps.len();
    assert_eq!(
        saved, new_snapshot,
        "{when}: a snapshot exists exactly when the kill came after it was written"
    );
    if saved {
        record(e, src, snaps, None);
    }
    for (i, (id, copy)) in snaps.iter().enumerate() {
        let target = e.path(&format!("check-restore-{i}"));
        e.ok(&[
            "restore",
            id,
            "--target",
            target.to_str().unwrap(),
            "--quiet",
        ]);
        fx::assert_same_tree(copy, &fx::restored(&target, src), &[]);
        std::fs::remove_dir_all(&target).unwrap();
    }
    let id = e.backup(src, &[]);
    record(e, src, snaps, Some(id));
}

#[test]
fn sigkill_at_each_phase_of_a_backup_leaves_a_valid_repository() {
    // Packs of 1 MiB: a backup of a few MiB writes several, so there is time between the
    // first pack and the index file (written once, after the last pack).
    let e = Env::bare();
    e.ok(&["init", "--pack-size", "1"]);
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0x5eed_c4a5);
    let bigs: Vec<usize> = (0..3).map(|_| rng.gen_range(1 << 20..3 << 20)).collect();
    fx::tree(&src, &mut rng, 60, &bigs);

    // (snapshot id, copy of the source as that snapshot saw it)
    let mut snaps: Vec<(String, PathBuf)> = Vec::new();
    let started = Instant::now();
    let id = e.backup(&src, &[]);
    let normal = started.elapsed();
    record(&e, &src, &mut snaps, Some(id));

    // At each step a backup takes, one kill that lands there: stopped at the event that
    // starts the step, before the next one's event (when it lands later, it is tried again).
    let mut round = 0;
    for target in [Phase::Locked, Phase::Packed, Phase::Indexed, Phase::Saved] {
        let mut tries = 0;
        loop {
            tries += 1;
            round += 1;
            mutate(&src, &mut rng, round);
            let before = phases::state(&e.repo());
            let stop = phases::kill_at(
                &e.repo(),
                e.cmd(&["backup", "--quiet", src.to_str().unwrap()]),
                &format!("backup killed at {target:?}"),
                Duration::ZERO,
                |ev| target.event(ev),
            );
            let landed = Phase::of(&before, &stop);
            eprintln!("kill at {target:?} (try {tries}) landed at {landed:?}");
            assert!(
                landed >= target,
                "a kill after the event of {target:?} landed earlier, at {landed:?}"
            );
            if landed == Phase::Packed {
                assert!(stop.state.index == before.index, "no index file yet");
            }
            let when = format!("after a kill at {target:?} (landed at {landed:?})");
            valid_after_kill(&e, &src, &mut snaps, landed >= Phase::Saved, &when);
            if landed == target {
                break;
            }
            // A snapshot is the backup's last file: between its placement and the exit there
            // are only milliseconds (the lock's removal, the audit entry), and a loaded machine
            // often stops the process too late. One kill in three or four lands; thirty tries
            // make eight misses in a row, seen once in a loaded suite, as good as impossible.
            assert!(tries < 30, "{tries} kills at {target:?} all landed later");
        }
    }

    // Kills at random moments after the lock was taken (before it the backup has done nothing
    // a kill could disturb): each lands somewhere between the lock and the end.
    let mut landings = Vec::new();
    for k in 0..3 {
        round += 1;
        mutate(&src, &mut rng, round);
        let before = phases::state(&e.repo());
        let delay = Duration::from_millis(rng.gen_range(0..normal.as_millis().max(50) as u64));
        let stop = phases::kill_at(
            &e.repo(),
            e.cmd(&["backup", "--quiet", src.to_str().unwrap()]),
            "backup killed at random",
            delay,
            |ev| ev.placed(Dir::Locks),
        );
        let landed = Phase::of(&before, &stop);
        eprintln!("random kill {k}, {delay:?} after the lock, landed at {landed:?}");
        assert!(landed >= Phase::Locked, "{landed:?}");
        landings.push(landed);
        let when = format!("after random kill {k} (landed at {landed:?})");
        if landed == Phase::Ended {
            // Not a kill: a backup that finished, its snapshot like any other.
            unlock(&e);
            record(&e, &src, &mut snaps, None);
            continue;
        }
        valid_after_kill(&e, &src, &mut snaps, landed >= Phase::Saved, &when);
    }
    eprintln!("random kills landed at {landings:?}");
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
