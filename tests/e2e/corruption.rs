//! Damage detection: one flipped byte in a data blob is caught by `check --read-data` and by
//! `restore`, both naming the file it touches, while the other files still restore intact; one
//! flipped byte in a pack trailer, an index file or a snapshot file is reported by `check`.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use engine::cache::Location;
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
