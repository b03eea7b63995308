//! Damage detection: one flipped byte in a data blob is caught by `check --read-data` and by
//! `restore`, both naming the file it touches, while the other files still restore intact; one
//! flipped byte in a pack trailer, an index file or a snapshot file is reported by `check`.
//! Beyond data: a damaged tree blob shared by two snapshots and a deleted pack are traced by
//! `check` to every snapshot and path they touch, and `restore` restores the rest and exits
//! non-zero naming what it could not.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use engine::cache::Location;
use engine::format::blob::BlobType;
use engine::format::tree::{Node, NodeKind};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::Env;
use crate::crash::fx;

/// The node of `path` (absolute, as backed up) in snapshot `snap`.
fn node_at(repo: &engine::Repo, snap: &str, path: &Path) -> Node {
    let snaps = repo.snapshots().unwrap();
    let s = engine::policy::select::select(&snaps, snap).unwrap();
    let mut tree = repo.load_tree(&s.snap.tree).unwrap();
    let names: Vec<&std::ffi::OsStr> = path.iter().skip(1).collect();
    for (i, name) in names.iter().enumerate() {
        let n = tree
            .find(name.as_bytes())
            .unwrap_or_else(|| panic!("{name:?} not in the snapshot"))
            .clone();
        if i + 1 == names.len() {
            return n;
        }
        assert_eq!(n.kind, NodeKind::Dir);
        tree = repo.load_tree(&n.subtree.unwrap()).unwrap();
    }
    unreachable!("empty path")
}

fn pack_path(e: &Env, pack: &str) -> PathBuf {
    e.repo().join("data").join(&pack[..2]).join(pack)
}

/// Flips one bit of the byte at `off` in `file`; returns the original byte.
fn flip(file: &Path, off: u64) -> u8 {
    let mut b = std::fs::read(file).unwrap();
    let orig = b[off as usize];
    b[off as usize] ^= 0x20;
    std::fs::write(file, b).unwrap();
    orig
}

fn put_back(file: &Path, off: u64, orig: u8) {
    let mut b = std::fs::read(file).unwrap();
    b[off as usize] = orig;
    std::fs::write(file, b).unwrap();
}

fn only_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{}: {files:?}", dir.display());
    files.into_iter().next().unwrap()
}

#[test]
fn flipped_byte_in_a_data_blob_is_caught_by_check_and_restore() {
    let e = Env::new();
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0xc0_7707);
    fx::tree(&src, &mut rng, 40, &[3 << 20, 5 << 20]);
    fx::random_file(&src.join("victim.bin"), 2 << 20, &mut rng);
    let snap = e.backup(&src, &[]);
    e.ok(&["check", "--read-data"]);

    // Where the victim's first chunk lives, found through the snapshot and the index.
    let victim = src.join("victim.bin");
    let loc: Location = {
        let repo = e.open_repo();
        let n = node_at(&repo, &snap, &victim);
        let id = n.data_ids().next().expect("the victim has data");
        repo.lookup(&id).unwrap()
    };
    let pack = pack_path(&e, &loc.pack.to_hex());
    flip(&pack, loc.entry.offset + loc.entry.length as u64 / 2);

    let (_, err) = e.code(1, &["check", "--read-data"]);
    assert!(
        err.contains(victim.to_str().unwrap()),
        "check does not name the damaged file:\n{err}"
    );
    assert!(
        err.contains(&loc.pack.to_hex()),
        "check does not name the damaged pack:\n{err}"
    );

    let target = e.path("restore");
    let (_, err) = e.code(1, &["restore", &snap, "--target", target.to_str().unwrap()]);
    let restored = fx::restored(&target, &src);
    let restored_victim = restored.join("victim.bin");
    assert!(
        err.contains(restored_victim.to_str().unwrap()),
        "restore does not name the damaged file:\n{err}"
    );
    assert!(err.contains("could not be restored"), "stderr:\n{err}");
    for line in err.lines().filter(|l| l.starts_with("  ")) {
        assert!(
            line.contains("victim.bin"),
            "restore blames another file: {line}\n{err}"
        );
    }
    // Every other file came back whole.
    fx::assert_same_tree(&src, &restored, &["victim.bin"]);
    assert_ne!(
        std::fs::read(&victim).unwrap(),
        std::fs::read(&restored_victim).unwrap()
    );
}

#[test]
fn flipped_bytes_in_trailer_index_and_snapshot_are_reported_by_check() {
    let e = Env::new();
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0xc0_7708);
    fx::tree(&src, &mut rng, 20, &[1 << 20]);
    let snap = e.backup(&src, &[]);
    e.ok(&["check", "--read-data"]);

    // A pack trailer: the sealed bytes before the 12-byte footer.
    let data_pack = {
        let repo = e.open_repo();
        let n = node_at(&repo, &snap, &src.join("big0.bin"));
        let id = n.data_ids().next().unwrap();
        repo.lookup(&id).unwrap().pack.to_hex()
    };
    let pack = pack_path(&e, &data_pack);
    let b = std::fs::read(&pack).unwrap();
    let tlen = u32::from_le_bytes(b[b.len() - 12..b.len() - 8].try_into().unwrap()) as u64;
    let off = b.len() as u64 - 12 - tlen / 2;
    let orig = flip(&pack, off);
    for args in [&["check"][..], &["check", "--read-data"]] {
        let (_, err) = e.code(1, args);
        assert!(
            err.contains(&data_pack) && err.contains("trailer"),
            "{args:?}: stderr:\n{err}"
        );
    }
    put_back(&pack, off, orig);
    e.ok(&["check", "--read-data"]);

    // An index file.
    let index = only_file(&e.repo().join("index"));
    let name = index.file_name().unwrap().to_str().unwrap().to_string();
    let off = std::fs::metadata(&index).unwrap().len() / 2;
    let orig = flip(&index, off);
    let (_, err) = e.code(1, &["check"]);
    assert!(
        err.contains(&format!("index file {name}")),
        "stderr:\n{err}"
    );
    put_back(&index, off, orig);
    e.ok(&["check", "--read-data"]);

    // A snapshot file.
    let sfile = e.repo().join("snapshots").join(&snap);
    let off = std::fs::metadata(&sfile).unwrap().len() / 2;
    let orig = flip(&sfile, off);
    let (_, err) = e.code(1, &["check"]);
    assert!(
        err.contains(&snap) && err.contains("snapshot"),
        "stderr:\n{err}"
    );
    put_back(&sfile, off, orig);
    e.ok(&["check", "--read-data"]);

    // Intact again: the snapshot restores.
    let got = e.restore(&snap, &src, "restore");
    fx::assert_same_tree(&src, &got, &[]);
}

/// Lines of `err` that mention `needle`.
fn lines_with<'a>(err: &'a str, needle: &str) -> Vec<&'a str> {
    err.lines().filter(|l| l.contains(needle)).collect()
}

/// A directory's tree blob, shared by two snapshots, is damaged: `check` names both snapshots
/// with the directory's path and no other path; `restore` of either snapshot restores every
/// other file and exits non-zero naming the directory.
#[test]
fn corrupted_tree_blob_is_named_in_every_snapshot_and_the_rest_restores() {
    let e = Env::new();
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0xc0_7709);
    fx::tree(&src, &mut rng, 30, &[1 << 20]);
    let s1 = e.backup(&src, &[]);
    let copy1 = e.path("copy1");
    crate::gen::cp_a(&src, &copy1);
    fx::random_file(&src.join("d0/s000"), 1000, &mut rng);
    let s2 = e.backup(&src, &[]);
    let d1 = src.join("d1");
    let loc: Location = {
        let repo = e.open_repo();
        let (a, b) = (node_at(&repo, &s1, &d1), node_at(&repo, &s2, &d1));
        assert_eq!(
            a.subtree, b.subtree,
            "d1 is one tree blob in both snapshots"
        );
        repo.lookup(&a.subtree.unwrap()).unwrap()
    };
    assert_eq!(loc.entry.ty, BlobType::Tree);
    flip(
        &pack_path(&e, &loc.pack.to_hex()),
        loc.entry.offset + loc.entry.length as u64 / 2,
    );

    let d1s = d1.to_str().unwrap();
    for args in [&["check"][..], &["check", "--read-data"]] {
        let (_, err) = e.code(1, args);
        for s in [&s1, &s2] {
            assert!(
                lines_with(&err, &format!("snapshot {}", &s[..8]))
                    .iter()
                    .any(|l| l.contains(d1s)),
                "{args:?} does not name {d1s} in snapshot {s}:\n{err}"
            );
        }
        for l in lines_with(&err, src.to_str().unwrap()) {
            assert!(l.contains(d1s), "{args:?} blames another path: {l}\n{err}");
        }
    }

    for (s, want) in [(&s1, &copy1), (&s2, &src)] {
        let target = e.path(&format!("restore-{}", &s[..8]));
        let o = e.run(&["restore", s, "--target", target.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "restore {s}: stderr:\n{err}");
        assert!(err.contains(d1s), "restore does not name {d1s}:\n{err}");
        fx::assert_same_tree(want, &fx::restored(&target, &src), &["d1"]);
    }
}

/// A data pack is deleted: `check` names it, the snapshot and the file that lost its data, and
/// not the earlier snapshot, which restores whole; `restore` of the later one restores every
/// other file and exits non-zero naming the file.
#[test]
fn deleted_pack_is_traced_to_its_snapshot_and_file_and_the_rest_restores() {
    let e = Env::new();
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0xc0_770a);
    fx::tree(&src, &mut rng, 20, &[1 << 20]);
    let s1 = e.backup(&src, &[]);
    let copy1 = e.path("copy1");
    crate::gen::cp_a(&src, &copy1);
    let victim = src.join("d2/victim.bin");
    fx::random_file(&victim, 2 << 20, &mut rng);
    let s2 = e.backup(&src, &[]);
    // The second backup's only new data is the victim's: its pack holds nothing else.
    let pack = {
        let repo = e.open_repo();
        let n = node_at(&repo, &s2, &victim);
        let id = n.data_ids().next().unwrap();
        repo.lookup(&id).unwrap().pack.to_hex()
    };
    std::fs::remove_file(pack_path(&e, &pack)).unwrap();

    let vs = victim.to_str().unwrap();
    for args in [&["check"][..], &["check", "--read-data"]] {
        let (_, err) = e.code(1, args);
        assert!(
            lines_with(&err, &pack)
                .iter()
                .any(|l| l.contains("missing")),
            "{args:?} does not name the missing pack:\n{err}"
        );
        assert!(
            lines_with(&err, &format!("snapshot {}", &s2[..8]))
                .iter()
                .any(|l| l.contains(vs)),
            "{args:?} does not name {vs} in snapshot {s2}:\n{err}"
        );
        assert!(
            lines_with(&err, &s1[..8]).is_empty(),
            "{args:?} blames the intact snapshot:\n{err}"
        );
        for l in lines_with(&err, src.to_str().unwrap()) {
            assert!(l.contains(vs), "{args:?} blames another path: {l}\n{err}");
        }
    }

    let target = e.path("restore-2");
    let o = e.run(&["restore", &s2, "--target", target.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr:\n{err}");
    assert!(
        err.contains("victim.bin"),
        "restore does not name the file:\n{err}"
    );
    fx::assert_same_tree(&src, &fx::restored(&target, &src), &["d2/victim.bin"]);
    let r1 = e.restore(&s1, &src, "restore-1");
    fx::assert_same_tree(&copy1, &r1, &[]);
}
