//! Backup options end to end: `--exclude` (names at any depth, absolute paths, directories with
//! a trailing `/`), `--exclude-file` (comments, blank lines, padding), `-x` (a tmpfs mounted
//! inside the source stays out, its mount point kept empty), and `--dry-run` (it reports what
//! it would add, and the repository is byte-identical afterwards, an older-version config
//! included).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::Env;
use crate::crash::fx;

fn write(p: &Path, data: &[u8]) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

#[test]
fn exclude_and_exclude_file_leave_out_exactly_what_they_match() {
    let e = Env::new();
    let src = e.path("src");
    let keep = [
        "a.txt",
        "sub/b.txt",
        "sub/deep/c.txt",
        "other/cache/kept", // `/…/src/cache` is absolute: this one is not it
        "logs.d/x",         // `*.log` is a whole name: not `logs.d`
        "spaced.txt.bak",
        "#not-a-comment-in-a-name",
    ];
    let drop = [
        "a.tmp",
        "sub/b.tmp",
        "sub/deep/c.tmp",
        "cache/big",
        "cache/sub/file",
        "sub/node_modules/pkg/index.js",
        "node_modules/x",
        "app.log",
        "sub/deep/debug.log",
        "spaced.txt",
    ];
    for (i, rel) in keep.iter().chain(&drop).enumerate() {
        write(&src.join(rel), format!("{i} {rel}\n").as_bytes());
    }
    let list = e.path("excludes");
    fs::write(
        &list,
        "# a comment line\n\n*.log\n   spaced.txt   \n\nnode_modules/\n",
    )
    .unwrap();
    let cache = src.join("cache");
    let id = e.backup(
        &src,
        &[
            "--exclude",
            "*.tmp",
            "--exclude",
            cache.to_str().unwrap(),
            "--exclude-file",
            list.to_str().unwrap(),
        ],
    );
    // The expected tree: the source without the excluded entries.
    let want = e.path("want");
    fx::link_copy(&src, &want);
    for rel in &drop {
        fs::remove_file(want.join(rel)).unwrap();
    }
    for d in ["cache", "node_modules", "sub/node_modules"] {
        fs::remove_dir_all(want.join(d)).unwrap();
    }
    let got = e.restore(&id, &src, "r");
    fx::assert_same_tree(&want, &got, &[]);
    // Not vacuous: without the options everything is there.
    let all = e.backup(&src, &[]);
    fx::assert_same_tree(&src, &e.restore(&all, &src, "r-all"), &[]);

    // An exclude file that cannot be read is an error, before anything is written.
    let before = e.snapshots().len();
    let (_, err) = e.code(
        1,
        &[
            "backup",
            src.to_str().unwrap(),
            "--exclude-file",
            e.path("no-such-list").to_str().unwrap(),
        ],
    );
    assert!(err.contains("reading exclude file"), "{err}");
    assert!(err.contains("no-such-list"), "{err}");
    assert_eq!(e.snapshots().len(), before);
}

/// Unmounts on drop.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn one_file_system_keeps_a_mount_inside_the_source_out() {
    let e = Env::new();
    let src = e.path("src");
    write(&src.join("here/file"), b"on the source's filesystem\n");
    let point = src.join("here/mnt");
    fs::create_dir_all(&point).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&point)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "mount -t tmpfs failed (the e2e tests run as root)"
    );
    let _guard = Unmount(point.clone());
    write(&point.join("other-fs"), b"on a tmpfs\n");
    write(&point.join("dir/deeper"), b"also on the tmpfs\n");

    let one = e.backup(&src, &["-x"]);
    let got = e.restore(&one, &src, "r-x");
    assert_eq!(
        fs::read(got.join("here/file")).unwrap(),
        b"on the source's filesystem\n"
    );
    assert!(
        fs::symlink_metadata(got.join("here/mnt")).unwrap().is_dir(),
        "the mount point itself is kept"
    );
    assert_eq!(
        fs::read_dir(got.join("here/mnt")).unwrap().count(),
        0,
        "nothing of the other filesystem is backed up with -x"
    );

    let both = e.backup(&src, &[]);
    let got = e.restore(&both, &src, "r-all");
    fx::assert_same_tree(&src, &got, &[]);
    assert_eq!(
        fs::read(got.join("here/mnt/dir/deeper")).unwrap(),
        b"also on the tmpfs\n"
    );
}

/// Every file below `dir` (dot files too) with its bytes, but the audit trail: a dry run
/// records itself there like any command (FORMAT.md §16).
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for ent in fs::read_dir(&d).unwrap() {
            let p = ent.unwrap().path();
            if p == dir.join("audit") {
                continue;
            }
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn assert_same_repo(before: &BTreeMap<PathBuf, Vec<u8>>, after: &BTreeMap<PathBuf, Vec<u8>>) {
    let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(before),
        names(after),
        "files in the repository changed"
    );
    for (p, b) in before {
        assert!(b == &after[p], "{} changed", p.display());
    }
}

#[test]
fn dry_run_reports_and_leaves_the_repository_byte_identical() {
    let e = Env::new();
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0xd7_5e1);
    fx::tree(&src, &mut rng, 20, &[1 << 20]);
    let first = e.backup(&src, &[]);
    // An older format version: a real write raises it, a dry run must not.
    let repo = e.open_repo();
    let keys = repo.keys().clone();
    drop(repo);
    let raw = fs::read(e.repo().join("config")).unwrap();
    let plain = keys.data.open(engine::crypto::aad::CONFIG, &raw).unwrap();
    let mut cfg: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    cfg["version"] = 1.into();
    let sealed = keys.data.seal(
        engine::crypto::aad::CONFIG,
        &serde_json::to_vec(&cfg).unwrap(),
    );
    fs::write(e.repo().join("config"), sealed).unwrap();
    // New and changed data for the dry run to find.
    fx::random_file(&src.join("d1/new.bin"), 3 << 20, &mut rng);
    fx::random_file(&src.join("d0/s000"), 5000, &mut rng);

    let before = contents(&e.repo());
    for extra in [&[][..], &["--type", "full"]] {
        let mut args = vec!["--dry-run"];
        args.extend_from_slice(extra);
        let v = e.backup_json(&src, &args);
        assert_eq!(v["dry_run"], true, "{v:#}");
        assert!(v["id"].is_null(), "a dry run names no snapshot: {v:#}");
        assert_eq!(v["parent"].as_str(), Some(first.as_str()), "{v:#}");
        let added = v["summary"]["bytes_added"].as_u64().unwrap();
        assert!(
            added > 3 << 20,
            "the dry run counts what it would add: {v:#}"
        );
        assert_same_repo(&before, &contents(&e.repo()));
    }
    let out = e.ok(&["backup", "-n", src.to_str().unwrap()]);
    assert!(!out.contains("saved"), "{out}");
    assert_same_repo(&before, &contents(&e.repo()));
    assert_eq!(e.snapshots().len(), 1);

    // The same backup for real changes the repository (the comparison sees it) and stores
    // what the dry run counted.
    let v = e.backup_json(&src, &[]);
    assert!(
        v["summary"]["bytes_added"].as_u64().unwrap() > 3 << 20,
        "{v:#}"
    );
    let after = contents(&e.repo());
    assert!(after.len() > before.len());
    assert_ne!(before[Path::new("config")], after[Path::new("config")]);
    let got = e.restore(v["id"].as_str().unwrap(), &src, "r");
    fx::assert_same_tree(&src, &got, &[]);
}
