//! Failures a user meets: each gives a clear message and the documented exit code (1 error,
//! 3 incomplete backup, 10 no repository, 11 locked, 12 wrong password), and leaves the
//! repository valid.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use engine::backend::FileType;
use engine::format::blob::{seal_blob, BlobType};
use engine::format::index_file::PackEntries;
use engine::format::pack::PackWriter;
use engine::format::snapshot::{BackupType, Snapshot, Summary, SNAPSHOT_VERSION};
use engine::format::tree::{Extent, Node, NodeKind, Tree};
use engine::Id;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::{Env, PASSWORD};
use crate::crash::fx;

fn small_source(e: &Env, seed: u64) -> PathBuf {
    let src = e.path("src");
    fx::tree(&src, &mut StdRng::seed_from_u64(seed), 12, &[1 << 20]);
    src
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn wrong_password_exits_12() {
    let e = Env::new();
    let src = small_source(&e, 0xe12);
    let snap = e.backup(&src, &[]);
    std::fs::write(e.path("pw"), "not the password\n").unwrap();
    let target = e.path("restore");
    for args in [
        &["snapshots"][..],
        &["backup", src.to_str().unwrap()],
        &["restore", &snap, "--target", target.to_str().unwrap()],
        &["check"],
    ] {
        let (_, err) = e.code(12, args);
        assert!(err.contains("wrong password"), "{args:?}: stderr:\n{err}");
    }
    assert!(
        !target.exists(),
        "restore with a wrong password created its target"
    );
    assert_eq!(fx::locks(&e.repo()), 0);
    std::fs::write(e.path("pw"), format!("{PASSWORD}\n")).unwrap();
    e.ok(&["check", "--read-data"]);
    assert_eq!(e.snapshots().len(), 1);
    let got = e.restore(&snap, &src, "restore");
    fx::assert_same_tree(&src, &got, &[]);
}

#[test]
fn missing_repository_exits_10() {
    let e = Env::bare();
    let src = small_source(&e, 0xe10);
    for args in [
        &["snapshots"][..],
        &["backup", src.to_str().unwrap()],
        &["check"],
    ] {
        let (_, err) = e.code(10, args);
        assert!(err.contains("no repository at"), "{args:?}: stderr:\n{err}");
        assert!(
            err.contains(e.repo().to_str().unwrap()),
            "{args:?}: stderr:\n{err}"
        );
        assert!(err.contains("vcd init"), "{args:?}: stderr:\n{err}");
    }
    assert!(
        !e.repo().exists(),
        "a failed command created the repository directory"
    );
    // An existing but empty directory is no repository either.
    std::fs::create_dir(e.repo()).unwrap();
    let (_, err) = e.code(10, &["snapshots"]);
    assert!(err.contains("vcd init"), "stderr:\n{err}");
}

use crate::common::NOBODY;

#[test]
fn unreadable_source_file_exits_3_and_still_writes_a_snapshot() {
    // Root reads any file, so vcd runs as nobody, owning the scratch area.
    let e = Env::bare();
    let src = small_source(&e, 0xe03);
    let secret = src.join("d1/secret");
    std::fs::write(&secret, b"nobody may read this").unwrap();
    crate::common::nobody_cannot_read(&e, &secret);
    let nobody =
        |args: &[&str]| -> Output { e.cmd(args).uid(NOBODY).gid(NOBODY).output().unwrap() };
    let ok = |args: &[&str]| {
        let o = nobody(args);
        assert!(o.status.success(), "{args:?}: {:?}", text(&o));
        text(&o).0
    };
    ok(&["init"]);
    let o = nobody(&["backup", "--json", src.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "stdout:\n{out}\nstderr:\n{err}");
    let secret_s = secret.to_str().unwrap();
    assert!(
        err.contains(secret_s) && err.contains("Permission denied"),
        "stderr:\n{err}"
    );
    assert!(err.contains("could not be read"), "stderr:\n{err}");
    assert!(
        !err.contains('\x1b'),
        "terminal escapes in piped stderr:\n{err:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("backup --json prints JSON");
    let snap = v["id"]
        .as_str()
        .expect("a snapshot was written")
        .to_string();

    let snaps: serde_json::Value = serde_json::from_str(&ok(&["snapshots", "--json"])).unwrap();
    let snaps = snaps.as_array().unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0]["id"], snap.as_str());
    let errors = snaps[0]["summary"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].as_str().unwrap().contains(secret_s), "{errors:?}");

    let target = e.path("restore");
    ok(&["restore", &snap, "--target", target.to_str().unwrap()]);
    let got = fx::restored(&target, &src);
    fx::assert_same_tree(&src, &got, &["d1/secret"]);
    assert!(!got.join("d1/secret").exists());
    ok(&["check", "--read-data"]);
}

/// A tmpfs mounted for the life of the value.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(
            st.success(),
            "mount -t tmpfs failed (the e2e tests run as root)"
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_filesystem_fails_cleanly_and_keeps_earlier_snapshots() {
    let e = Env::bare();
    let _fs = Tmpfs::mount(&e.repo(), "8m");
    e.ok(&["init", "--pack-size", "1"]);
    let mut rng = StdRng::seed_from_u64(0xe01);
    let small = e.path("small");
    fx::tree(&small, &mut rng, 15, &[]);
    let first = e.backup(&small, &[]);

    // 16 MiB of random data into 8 MiB: several packs fit, then one does not.
    let big = e.path("big");
    for i in 0..4 {
        fx::random_file(&big.join(format!("f{i}")), 4 << 20, &mut rng);
    }
    let (_, err) = e.code(1, &["backup", big.to_str().unwrap()]);
    let line = err
        .lines()
        .find(|l| l.starts_with("vcd: error:"))
        .expect("an error line");
    assert!(line.contains("writing pack"), "stderr:\n{err}");
    assert_eq!(
        line.matches("No space left on device").count(),
        1,
        "said once:\n{err}"
    );
    assert_eq!(fx::locks(&e.repo()), 0, "the failed backup left its lock");
    assert_eq!(e.snapshots().len(), 1, "the failed backup wrote a snapshot");

    // The filesystem is still (nearly) full: check and restore only read.
    e.ok(&["check", "--read-data"]);
    let got = e.restore(&first, &small, "restore");
    fx::assert_same_tree(&small, &got, &[]);
}

/// Stores `blobs` in one new pack and an index file naming it; returns their ids.
fn store(repo: &engine::Repo, ty: BlobType, blobs: &[Vec<u8>]) -> Vec<Id> {
    let mut w = PackWriter::default();
    let mut ids = Vec::new();
    for b in blobs {
        let id = repo.keys().chunk_id.id(b);
        w.add(&seal_blob(repo.keys(), ty, id, b, 0));
        ids.push(id);
    }
    let p = w.finish(&repo.keys().data);
    repo.backend()
        .put(FileType::Pack, &p.id.to_hex(), &p.bytes)
        .unwrap();
    repo.save_index(&[PackEntries {
        pack: p.id,
        entries: p.entries,
    }])
    .unwrap();
    ids
}

fn file_node(name: &[u8], data_id: Id, len: usize) -> Node {
    let mut n = Node::new(name.to_vec(), NodeKind::File);
    n.mode = 0o644;
    n.size = len as u64;
    n.content = vec![Extent::Data {
        id: data_id,
        len: len as u32,
    }];
    n
}

fn snapshot(repo: &engine::Repo, tree: Id) -> String {
    let s = Snapshot {
        version: SNAPSHOT_VERSION,
        time: chrono::Utc::now(),
        host: "crafted".into(),
        user: "mallory".into(),
        paths: vec!["/crafted".into()],
        tags: vec![],
        category: None,
        categories: vec![],
        job: None,
        kind: BackupType::Incremental,
        parent: None,
        tree,
        audit: Vec::new(),
        original: None,
        summary: Summary::default(),
    };
    repo.save_snapshot(&s).unwrap().to_hex()
}

#[test]
fn tree_entry_named_dot_dot_slash_is_refused_by_restore() {
    let e = Env::new();
    let payload = b"written outside the restore target".to_vec();
    let (top, nested) = {
        let repo = e.open_repo();
        let data = store(&repo, BlobType::Data, std::slice::from_ref(&payload))[0];
        let evil = file_node(b"../x", data, payload.len());
        // Snapshot 1: `../x` at the top. Snapshot 2: `../x` inside directory `d`, beside a
        // harmless file.
        let top_tree = Tree {
            nodes: vec![evil.clone()],
        };
        let inner = Tree {
            nodes: vec![evil, file_node(b"ok", data, payload.len())],
        };
        let ids = store(&repo, BlobType::Tree, &[top_tree.encode(), inner.encode()]);
        let mut d = Node::new(b"d".to_vec(), NodeKind::Dir);
        d.mode = 0o755;
        d.subtree = Some(ids[1]);
        let outer = Tree { nodes: vec![d] };
        let outer_id = store(&repo, BlobType::Tree, &[outer.encode()])[0];
        (snapshot(&repo, ids[0]), snapshot(&repo, outer_id))
    };

    for (snap, name) in [(&top, "t1"), (&nested, "t2")] {
        let target = e.path(name);
        let (_, err) = e.code(1, &["restore", snap, "--target", target.to_str().unwrap()]);
        assert!(
            err.contains("unsafe name") && err.contains("../x"),
            "stderr:\n{err}"
        );
        assert!(!e.path("x").exists(), "restore wrote outside its target");
        assert!(!target.join("x").exists() && !target.join("d/x").exists());
    }
    assert!(
        !e.path("t2").join("d").join("ok").exists(),
        "a refused tree was partly restored"
    );
    // check reports the crafted trees too: the repository holds something restore refuses.
    let (_, err) = e.code(1, &["check"]);
    assert!(err.contains("unsafe name"), "stderr:\n{err}");
}

#[test]
fn backup_while_an_exclusive_lock_is_held_exits_11() {
    let e = Env::new();
    let src = small_source(&e, 0xe11);
    let repo = e.open_repo();
    let guard = engine::repo::lock::acquire(&repo, true).unwrap();
    let (_, err) = e.code(11, &["backup", src.to_str().unwrap()]);
    assert!(
        err.contains("repository is locked") && err.contains("exclusive lock"),
        "stderr:\n{err}"
    );
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "the message names the holder:\n{err}"
    );
    assert!(err.contains("vcd unlock"), "stderr:\n{err}");
    // `vcd unlock` leaves a live lock alone.
    e.ok(&["unlock"]);
    assert_eq!(fx::locks(&e.repo()), 1);
    e.code(11, &["backup", src.to_str().unwrap()]);
    drop(guard);
    assert_eq!(fx::locks(&e.repo()), 0);
    e.ok(&["check"]);
    assert!(
        e.snapshots().is_empty(),
        "a refused backup wrote a snapshot"
    );
    let snap = e.backup(&src, &[]);
    let got = e.restore(&snap, &src, "restore");
    fx::assert_same_tree(&src, &got, &[]);
}

/// The stored config's format version, read with the repository's key.
fn config_version(e: &Env) -> (serde_json::Value, engine::crypto::Keys) {
    let repo = e.open_repo();
    let keys = repo.keys().clone();
    let raw = std::fs::read(e.repo().join("config")).unwrap();
    let plain = keys.data.open(engine::crypto::aad::CONFIG, &raw).unwrap();
    (serde_json::from_slice(&plain).unwrap(), keys)
}

/// A repository of format version 1 is read as is, raised to the current version by the first
/// backup (so an older vcd refuses it rather than misjudge what this one writes), and a
/// repository of a newer version is refused with a message naming it.
#[test]
fn repository_versions_are_upgraded_on_write_and_newer_ones_refused() {
    use engine::crypto::aad;
    let e = Env::new();
    let src = small_source(&e, 77);
    let (mut cfg, keys) = config_version(&e);
    // `init` writes version 2; 3 comes with prune's first deletion plan (tests/e2e/prune.rs).
    assert_eq!(cfg["version"], engine::format::config::COMPACT_VERSION);
    assert_eq!(engine::format::config::COMPACT_VERSION, 2);
    assert_eq!(engine::format::config::REPO_VERSION, 3);
    let write = |cfg: &serde_json::Value| {
        let sealed = keys
            .data
            .seal(aad::CONFIG, &serde_json::to_vec(cfg).unwrap());
        std::fs::write(e.repo().join("config"), sealed).unwrap();
    };
    cfg["version"] = 1.into();
    write(&cfg);
    // Reading leaves it alone.
    e.ok(&["snapshots"]);
    assert_eq!(config_version(&e).0["version"], 1);
    let snap = e.backup(&src, &[]);
    let (after, _) = config_version(&e);
    assert_eq!(after["version"], 2, "{after}");
    // Nothing else in the config changed.
    let mut expect = cfg.clone();
    expect["version"] = 2.into();
    assert_eq!(after, expect);
    let r = e.restore(&snap, &src, "r");
    fx::assert_same_tree(&src, &r, &[]);

    cfg["version"] = 4.into();
    write(&cfg);
    let (_, err) = e.code(1, &["snapshots"]);
    assert!(err.contains("version 4"), "{err}");
}
