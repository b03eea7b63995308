//! The index is derived data: losing the local sled cache, or every index file in the
//! repository, loses nothing. `vcd repair index` rebuilds from what is left (index files, pack
//! trailers) and every snapshot restores byte-identically afterwards.

use std::fs;
use std::path::PathBuf;

use crate::common::Env;
use crate::gen::{self, compare, cp_a, Spec};

/// A repository with two snapshots of a changing tree; returns (snapshot id, copy of the
/// tree as it was) for each.
fn two_snapshots(env: &Env, seed: u64) -> (PathBuf, Vec<(String, PathBuf)>) {
    let src = env.path("src");
    let g = gen::generate_with(&src, seed, &Spec::small());
    let s1 = env.backup(&src, &[]);
    let c1 = env.path("state1");
    cp_a(&src, &c1);
    for rel in g.small.iter().take(20) {
        fs::write(src.join(rel), format!("changed {}", rel.display())).unwrap();
    }
    fs::write(src.join("added"), vec![3u8; 100_000]).unwrap();
    fs::remove_dir_all(src.join("names")).unwrap();
    let s2 = env.backup(&src, &[]);
    let c2 = env.path("state2");
    cp_a(&src, &c2);
    (src, vec![(s1, c1), (s2, c2)])
}

fn restore_all(env: &Env, src: &std::path::Path, snaps: &[(String, PathBuf)], tag: &str) {
    for (i, (id, state)) in snaps.iter().enumerate() {
        let r = env.restore(id, src, &format!("{tag}{i}"));
        compare(state, &r);
    }
}

fn count_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            n += count_files(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

#[test]
fn repair_index_after_losing_the_cache() {
    let env = Env::new();
    let (src, snaps) = two_snapshots(&env, 21);
    assert!(env.cache().exists());
    fs::remove_dir_all(env.cache()).unwrap();
    let out = env.ok(&["repair", "index"]);
    let packs = count_files(&env.repo().join("data"));
    assert!(
        out.contains(&format!(
            "index rebuilt: {packs} packs (0 read from their trailers)"
        )),
        "{out}"
    );
    assert!(env.cache().exists(), "repair rebuilt the local index");
    restore_all(&env, &src, &snaps, "r");
    env.ok(&["check"]);
}

#[test]
fn repair_index_after_losing_every_index_file() {
    let env = Env::new();
    let (src, snaps) = two_snapshots(&env, 22);
    let index_dir = env.repo().join("index");
    let before = count_files(&index_dir);
    assert!(before > 0);
    for e in fs::read_dir(&index_dir).unwrap() {
        fs::remove_file(e.unwrap().path()).unwrap();
    }
    // Without an index the snapshots cannot be read (the local cache notices the files went).
    let (_, err) = env.code(
        1,
        &[
            "restore",
            &snaps[0].0,
            "--target",
            env.path("before_repair").to_str().unwrap(),
        ],
    );
    assert!(err.contains("not in the index"), "{err}");
    let (_, err) = env.code(1, &["check"]);
    assert!(err.contains("error"), "{err}");

    let out = env.ok(&["repair", "index"]);
    let packs = count_files(&env.repo().join("data"));
    assert!(
        out.contains(&format!(
            "index rebuilt: {packs} packs ({packs} read from their trailers)"
        )),
        "{out}"
    );
    assert!(count_files(&index_dir) > 0, "repair wrote index files");
    restore_all(&env, &src, &snaps, "r");
    let out = env.ok(&["check", "--read-data"]);
    assert!(out.contains("no errors found"), "{out}");

    // The rebuilt index also serves a fresh cache, and new backups deduplicate against it.
    fs::remove_dir_all(env.cache()).unwrap();
    let v = env.backup_json(&src, &["--type", "full"]);
    assert!(v["summary"]["bytes_read"].as_u64().unwrap() > 0);
    let depth = src.components().count() as u64;
    assert!(
        v["summary"]["blobs_added"].as_u64().unwrap() <= depth,
        "{v:#}"
    );
}

#[test]
fn repair_not_needed_to_restore_without_cache() {
    let env = Env::new();
    let (src, snaps) = two_snapshots(&env, 23);
    fs::remove_dir_all(env.cache()).unwrap();
    restore_all(&env, &src, &snaps, "r");
    // And with no cache at all (a temporary index for the run).
    let target = env.path("nocache");
    env.ok(&[
        "--no-cache",
        "restore",
        &snaps[1].0,
        "--target",
        target.to_str().unwrap(),
    ]);
    compare(&snaps[1].1, &target.join(src.strip_prefix("/").unwrap()));
}

/// A backup reuses an unchanged file's chunk list without looking each chunk up when the local
/// index vouches for the parent snapshot. Once the index no longer has some of the parent's
/// blobs (a data pack lost, `repair index` rebuilt the index without it), that must stop: the
/// files whose chunks are gone are read again, and the new snapshot restores.
#[test]
fn a_parent_whose_blobs_left_the_index_is_not_trusted() {
    let env = Env::new();
    let src = env.path("src");
    gen::generate_with(&src, 31, &Spec::small());
    let first = env.backup_json(&src, &[]);
    let files = first["summary"]["files_new"].as_u64().unwrap();
    assert!(files > 10, "{first:#}");
    let again = env.backup_json(&src, &[]);
    assert_eq!(again["summary"]["files_unchanged"], files, "{again:#}");
    assert_eq!(again["summary"]["bytes_read"], 0, "{again:#}");

    // The largest pack holds data (trees go to packs of their own, and are small).
    let mut packs = Vec::new();
    let mut stack = vec![env.repo().join("data")];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                packs.push((e.metadata().unwrap().len(), e.path()));
            }
        }
    }
    packs.sort();
    fs::remove_file(&packs.last().unwrap().1).unwrap();
    env.ok(&["repair", "index"]);

    let after = env.backup_json(&src, &[]);
    let unchanged = after["summary"]["files_unchanged"].as_u64().unwrap();
    // Files whose chunks left the index are read again (found unchanged, and counted so):
    // fewer than all are reused as they were.
    let reread = after["summary"]["files_reread"].as_u64().unwrap_or(0);
    assert!(reread > 0, "files were trusted: {after:#}");
    assert!(unchanged - reread < files, "files were trusted: {after:#}");
    assert!(
        after["summary"]["bytes_read"].as_u64().unwrap() > 0,
        "{after:#}"
    );
    let r = env.restore(after["id"].as_str().unwrap(), &src, "r");
    compare(&src, &r);
}

/// An index file (or pack) of a format newer than this vcd reads is not damage: `repair index`
/// stops before it changes anything, rather than leaving its packs out and deleting the file.
#[test]
fn repair_index_refuses_to_drop_an_index_file_of_a_newer_format() {
    use engine::crypto::aad;
    let env = Env::new();
    let src = env.path("src");
    gen::generate_with(&src, 41, &Spec::small());
    let snap = env.backup(&src, &[]);
    let dir = env.repo().join("index");
    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let repo = env.open_repo();
    let key = &repo.keys().data;
    let orig = fs::read(&files[0]).unwrap();
    let mut plain = key.open(aad::INDEX, &orig).unwrap();
    plain[0] = 99;
    let sealed = key.seal(aad::INDEX, &plain);
    let newer = dir.join(engine::id::Id::of_file(&sealed).to_hex());
    fs::write(&newer, &sealed).unwrap();
    fs::remove_file(&files[0]).unwrap();

    let (_, err) = env.code(1, &["repair", "index"]);
    assert!(err.contains("version 99"), "{err}");
    assert!(newer.exists(), "the newer index file was deleted");
    assert_eq!(
        count_files(&dir),
        1,
        "repair wrote index files before stopping"
    );
    // Put back as it was, the repository is whole.
    fs::write(&files[0], &orig).unwrap();
    fs::remove_file(&newer).unwrap();
    let r = env.restore(&snap, &src, "r");
    compare(&src, &r);
}
