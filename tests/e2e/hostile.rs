//! The hostile-repository suite: repositories crafted through the engine (`craft`) to hold
//! what whoever controls the storage could put there with the key, or without it: trees 20,000
//! levels deep, directories with megabyte extended attributes shared by thousands of paths,
//! duplicate and hostile names, key files that demand 4 GiB of memory or are a terabyte long,
//! extents whose length is not their blob's. Every read command (`ls`, `diff`, `stats`,
//! `check`, `restore`, `mount` with `find`) runs under a 1 GiB address-space limit and must end
//! in a clear error or a correct result: never a signal, a panic or a dead mount point.
//!
//! Each case runs all its commands and reports every one that misbehaved at the end, so one
//! failure does not hide the state of the others.

mod craft;

use std::fs;
use std::io::BufRead;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use engine::format::blob::BlobType;
use engine::format::tree::{Extent, Node, NodeKind};
use engine::Id;

use craft::{dir, read_deep, run, sparse, with_xattr, Crafter, LimitedMount};

const T1: &str = "2026-01-01T00:00:00Z";
const T2: &str = "2026-01-02T00:00:00Z";

/// Checks that may each fail; all run, then every failure is reported together.
#[derive(Default)]
struct Verdicts(Vec<String>);

impl Verdicts {
    fn check(&mut self, what: &str, f: impl FnOnce()) {
        if let Err(e) = catch_unwind(AssertUnwindSafe(f)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            self.0.push(format!("[{what}] {}", craft::tail(&msg)));
        }
    }

    fn assert_all(self) {
        assert!(
            self.0.is_empty(),
            "{} check(s) failed:\n\n{}",
            self.0.len(),
            self.0.join("\n\n")
        );
    }
}

/// A directory `ok` holding a file `f` of `intact\n`: what must stay readable beside a bomb.
fn ok_dir(c: &mut Crafter) -> Node {
    let f = c.file(b"f", b"intact\n");
    let t = c.tree(vec![f]);
    dir(b"ok", t)
}

/// `ok/f` of the newest snapshot reads back intact through the mount.
fn ok_reads(m: &LimitedMount) {
    let f = m.point.join("latest/ok/f");
    assert_eq!(fs::read(&f).unwrap(), b"intact\n", "{f:?}");
}

/// Listing the directory `p` (inside a mount) fails with EIO.
fn eio(p: &Path) {
    let e = fs::read_dir(p)
        .and_then(|d| d.collect::<Result<Vec<_>, _>>())
        .expect_err(&format!("{p:?} lists"));
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{p:?}: {e}");
}

const DEPTH: usize = 20_000;

/// A chain of DEPTH directories `d` with a file `bottom` at the end; returns the root tree.
fn chain(c: &mut Crafter, bottom: &[u8]) -> Id {
    let f = c.file(b"bottom", bottom);
    let mut id = c.tree(vec![f]);
    for _ in 0..DEPTH {
        id = c.tree(vec![dir(b"d", id)]);
    }
    id
}

/// 20,000 levels (a path of 40 KB, ten times PATH_MAX): every command walks it to the
/// bottom without recursion, or says clearly why it cannot.
#[test]
fn a_tree_20000_levels_deep() {
    let mut c = Crafter::new();
    let a_root = chain(&mut c, b"deep bottom\n");
    let b_root = chain(&mut c, b"deeper bottom\n");
    let a = c.snapshot(a_root, T1);
    let b = c.snapshot(b_root, T2);
    let env = &c.env;
    let bottom = format!("{}/bottom", "/d".repeat(DEPTH));
    let mut v = Verdicts::default();

    v.check("ls", || {
        let r = run(env, &["ls", &a]);
        r.ok();
        let f = fs::File::open(&r.stdout).unwrap();
        let (mut n, mut last) = (0, String::new());
        for l in std::io::BufReader::new(f).lines() {
            n += 1;
            last = l.unwrap();
        }
        assert_eq!(n, DEPTH + 1, "ls lines");
        assert!(last == bottom, "ls ends with the bottom file");
    });
    v.check("ls of a path at the bottom", || {
        let r = run(env, &["ls", &a, &bottom]);
        r.ok();
        assert_eq!(r.out().trim_end(), bottom);
    });
    v.check("diff", || {
        let r = run(env, &["diff", &a, &b]);
        r.ok();
        let out = r.out();
        assert!(out.contains(&format!("M    {bottom}\n")), "diff output");
        assert!(out.ends_with("0 added, 0 removed, 1 modified\n"), "diff");
    });
    v.check("stats", || {
        run(env, &["stats"]).ok();
    });
    v.check("check", || {
        run(env, &["check"]).ok();
    });
    v.check("check --read-data", || {
        run(env, &["check", "--read-data"]).ok();
    });
    v.check("restore", || {
        let t = env.path("restored");
        let r = run(env, &["restore", &a, "--target", t.to_str().unwrap()]);
        r.sane();
        if r.code() == Some(0) {
            let mut comps: Vec<&[u8]> = vec![b"d"; DEPTH];
            comps.push(b"bottom");
            assert_eq!(read_deep(&t, &comps).unwrap(), b"deep bottom\n");
        }
        // std's remove_dir_all (the scratch area's drop) recurses once per level: GNU rm
        // walks any depth.
        let rm = std::process::Command::new("rm").arg("-rf").arg(&t).status();
        assert!(rm.unwrap().success(), "rm -rf of the restored chain");
    });
    v.check("mount + find", || {
        let mut m = LimitedMount::start(env);
        let first = m.point.join(T1);
        let (code, out) = m.find(&first, &["-name", "bottom"]);
        assert_eq!(code, 0, "find");
        assert_eq!(out.lines().count(), 1, "find finds the bottom once");
        let mut comps: Vec<&[u8]> = vec![b"d"; DEPTH];
        comps.push(b"bottom");
        assert_eq!(read_deep(&first, &comps).unwrap(), b"deep bottom\n");
        m.stop();
    });
    v.assert_all();
}

/// The attack as found: 48 directories with a 1 MiB extended attribute each, in one tree that
/// 48 directories share, make 2,304 paths and 2.3 GiB of attributes from a repository of a
/// few hundred KB. The tree is refused at decode (values are at most 64 KiB): every command
/// fails clearly on it, and the mount answers EIO for those directories and keeps serving.
#[test]
fn megabyte_xattrs_in_shared_subtrees() {
    let mut c = Crafter::new();
    let empty = c.tree(vec![]);
    let bomb = vec![0u8; 1 << 20];
    let s = c.tree(
        (0..48)
            .map(|i| {
                let d = dir(format!("x{i:02}").as_bytes(), empty);
                with_xattr(d, b"user.bomb", bomb.clone())
            })
            .collect(),
    );
    let t = c.tree(
        (0..48)
            .map(|i| dir(format!("y{i:02}").as_bytes(), s))
            .collect(),
    );
    let ok = ok_dir(&mut c);
    let base_root = c.tree(vec![ok.clone()]);
    let root = c.tree(vec![dir(b"bomb", t), ok]);
    let base = c.snapshot(base_root, T1);
    let snap = c.snapshot(root, T2);
    let repo_bytes = c.env.repo_bytes();
    assert!(repo_bytes < 2 << 20, "the bomb takes {repo_bytes} bytes");
    let env = &c.env;
    let refused = ["damaged", "extended attribute"];
    let mut v = Verdicts::default();

    v.check("ls", || {
        run(env, &["ls", &snap]).fails_saying(&refused);
    });
    v.check("diff", || {
        run(env, &["diff", &base, &snap]).fails_saying(&refused);
    });
    v.check("stats", || {
        run(env, &["stats"]).sane();
    });
    v.check("check", || {
        run(env, &["check"]).fails_saying(&refused);
    });
    v.check("restore", || {
        let t = env.path("restored");
        run(env, &["restore", &snap, "--target", t.to_str().unwrap()]).fails_saying(&refused);
    });
    v.check("mount + find -maxdepth 5", || {
        let mut m = LimitedMount::start(env);
        let (code, out) = m.find(&m.point.clone(), &["-maxdepth", "5"]);
        assert_ne!(code, 0, "find met no error");
        assert!(out.contains("/bomb/y47\n"), "find lists bomb/y47");
        // Both snapshots are listed; the bomb's directories are EIO, the rest reads.
        let latest = m.point.join("latest");
        eio(&latest.join("bomb/y00"));
        assert_eq!(fs::read(latest.join("ok/f")).unwrap(), b"intact\n");
        assert!(
            m.log_text().contains("bomb/y00: directory unreadable"),
            "the log names the directory:\n{}",
            craft::tail(&m.log_text())
        );
        m.stop();
    });
    v.assert_all();
}

/// Attributes at the limit (64 KiB values, 255-byte names) are valid: 16,384 paths through
/// a shared tree carry 1 GiB of them. Commands that keep a copy per path exceed the memory
/// limit; the mount keeps none per path and serves them all.
#[test]
fn near_limit_xattrs_in_shared_subtrees() {
    let mut c = Crafter::new();
    let empty = c.tree(vec![]);
    let name = format!("user.{}", "n".repeat(250));
    let value = vec![7u8; 65536];
    let s = c.tree(
        (0..128)
            .map(|i| {
                let d = dir(format!("z{i:03}").as_bytes(), empty);
                with_xattr(d, name.as_bytes(), value.clone())
            })
            .collect(),
    );
    let t = c.tree(
        (0..128)
            .map(|i| dir(format!("w{i:03}").as_bytes(), s))
            .collect(),
    );
    let ok = ok_dir(&mut c);
    let base_root = c.tree(vec![ok.clone()]);
    let root = c.tree(vec![dir(b"shared", t), ok]);
    let base = c.snapshot(base_root, T1);
    let snap = c.snapshot(root, T2);
    let env = &c.env;
    let mut v = Verdicts::default();
    let dirs = 1 + 128 + 128 * 128;

    v.check("ls", || {
        let r = run(env, &["ls", &snap]);
        r.ok();
        assert_eq!(r.out().lines().count(), dirs + 2, "ls lines");
    });
    v.check("diff", || {
        let r = run(env, &["diff", &base, &snap]);
        r.ok();
        assert!(
            r.out()
                .ends_with(&format!("{dirs} added, 0 removed, 0 modified\n")),
            "diff: {}",
            craft::tail(&r.out())
        );
    });
    v.check("stats", || {
        run(env, &["stats"]).ok();
    });
    v.check("check --read-data", || {
        run(env, &["check", "--read-data"]).ok();
    });
    v.check("restore", || {
        let t = env.path("restored");
        let r = run(env, &["restore", &snap, "--target", t.to_str().unwrap()]);
        r.sane();
        // This filesystem may refuse 64 KiB values (ext4 without ea_inode): a warning per
        // directory, not a failure of the restore.
        if r.code() == Some(0) {
            let n = fs::read_dir(t.join("shared/w127")).unwrap().count();
            assert_eq!(n, 128);
            assert_eq!(fs::read(t.join("ok/f")).unwrap(), b"intact\n");
        }
    });
    v.check("mount + find -maxdepth 4", || {
        let mut m = LimitedMount::start(env);
        let (code, out) = m.find(&m.point.clone(), &["-maxdepth", "5"]);
        assert_eq!(code, 0, "find");
        assert!(out.contains("/shared/w127/z127\n"), "find lists w127/z127");
        let latest = m.point.join("latest");
        for p in ["shared/w000/z000", "shared/w127/z127"] {
            let got = xattr::get(latest.join(p), &name).unwrap();
            assert!(
                got.as_deref() == Some(&value[..]),
                "{p}: the value reads back"
            );
        }
        ok_reads(&m);
        m.stop();
    });
    v.assert_all();
}

/// Listing directories (readdir, no stat) numbers their entries without the kernel keeping
/// them: one tree of 2,000 entries shared by 64 directories must not leave 128,000 entries in
/// the mount's inode table.
#[test]
fn readdir_of_shared_subtrees_keeps_the_inode_table_small() {
    let mut c = Crafter::new();
    let files: Vec<Node> = (0..2000)
        .map(|i| Node::new(format!("f{i:04}").into_bytes(), NodeKind::File))
        .collect();
    let s = c.tree(files);
    let t = c.tree(
        (0..64)
            .map(|i| dir(format!("w{i:02}").as_bytes(), s))
            .collect(),
    );
    let ok = ok_dir(&mut c);
    let root = c.tree(vec![dir(b"t", t), ok]);
    c.snapshot(root, T1);
    let mut m = LimitedMount::start(&c.env);
    let top = m.snap().join("t");
    let before = m.inodes();
    for i in 0..64 {
        let n = fs::read_dir(top.join(format!("w{i:02}"))).unwrap().count();
        assert_eq!(n, 2000);
    }
    let after = m.inodes();
    assert!(
        after < before + 64 + 100,
        "the inode table grew from {before} to {after} entries for 64 directories listed"
    );
    m.assert_alive();
    ok_reads(&m);
    m.stop();
}

/// Sixteen distinct trees of 900 entries with a 64 KiB attribute each: 56 MiB apiece in
/// memory, 900 MiB together, from a repository of a few hundred KB. The mount's tree cache is
/// bounded by bytes, so listing them all one after the other keeps at most one in memory.
#[test]
fn many_large_trees_are_cached_by_bytes() {
    let mut c = Crafter::new();
    let value = vec![3u8; 64 << 10];
    let dirs: Vec<Node> = (0..16)
        .map(|t| {
            let files = (0..900)
                .map(|i| {
                    let f = Node::new(format!("t{t:02}-{i:03}").into_bytes(), NodeKind::File);
                    with_xattr(f, b"user.pad", value.clone())
                })
                .collect();
            dir(format!("t{t:02}").as_bytes(), c.tree(files))
        })
        .collect();
    let root = c.tree(dirs);
    c.snapshot(root, T1);
    let mut m = LimitedMount::start(&c.env);
    for t in 0..16 {
        let d = m.snap().join(format!("t{t:02}"));
        let n = fs::read_dir(&d).map(|r| r.count());
        m.assert_alive();
        assert_eq!(n.unwrap(), 900, "{d:?}");
    }
    m.assert_alive();
    let f = m.snap().join("t15/t15-899");
    assert!(xattr::get(&f, "user.pad").unwrap() == Some(value));
    m.stop();
}

/// Duplicated and unsorted names are refused where the tree is decoded: a clear error from
/// every command, EIO from the mount for that directory only.
#[test]
fn duplicate_and_unsorted_names() {
    let mut c = Crafter::new();
    let (a1, a2) = (c.file(b"a", b"first\n"), c.file(b"a", b"second\n"));
    let dups = c.raw_tree(vec![a1.clone(), a2]);
    let b = c.file(b"b", b"b\n");
    let unsorted = c.raw_tree(vec![b, a1]);
    let ok = ok_dir(&mut c);
    let base_root = c.tree(vec![ok.clone()]);
    let root = c.tree(vec![dir(b"dups", dups), dir(b"unsorted", unsorted), ok]);
    let base = c.snapshot(base_root, T1);
    let snap = c.snapshot(root, T2);
    let env = &c.env;
    let refused = ["damaged", "not sorted or duplicated"];
    let mut v = Verdicts::default();
    v.check("ls", || {
        run(env, &["ls", &snap]).fails_saying(&refused);
    });
    v.check("diff", || {
        run(env, &["diff", &base, &snap]).fails_saying(&refused);
    });
    v.check("stats", || {
        run(env, &["stats"]).sane();
    });
    v.check("check", || {
        run(env, &["check"]).fails_saying(&refused);
    });
    v.check("restore", || {
        let t = env.path("restored");
        run(env, &["restore", &snap, "--target", t.to_str().unwrap()]).fails_saying(&refused);
    });
    v.check("mount", || {
        let mut m = LimitedMount::start(env);
        let (code, _) = m.find(&m.point.clone(), &[]);
        assert_ne!(code, 0, "find met no error");
        let latest = m.point.join("latest");
        eio(&latest.join("dups"));
        eio(&latest.join("unsorted"));
        assert_eq!(fs::read(latest.join("ok/f")).unwrap(), b"intact\n");
        m.stop();
    });
    v.assert_all();
}

/// Names that are not one path component, or longer than any system call takes: each in a
/// snapshot of its own, refused by every command, nothing written outside a restore's
/// target, EIO from the mount.
#[test]
fn hostile_names() {
    let long = vec![b'n'; 5000];
    let bad: Vec<(&[u8], &str)> = vec![
        (b"..", "unsafe name"),
        (b".", "unsafe name"),
        (b"", "unsafe name"),
        (b"/", "unsafe name"),
        (b"a/b", "unsafe name"),
        (b"a\0b", "unsafe name"),
        (b"../escape", "unsafe name"),
        (&long, "5000 bytes"),
    ];
    let mut c = Crafter::new();
    let mut snaps = Vec::new();
    for (i, (name, _)) in bad.iter().enumerate() {
        let f = c.file(name, b"evil\n");
        let h = c.raw_tree(vec![f]);
        let ok = ok_dir(&mut c);
        let root = c.tree(vec![dir(b"h", h), ok]);
        snaps.push(c.snapshot(root, &format!("2026-01-{:02}T00:00:00Z", i + 1)));
    }
    let env = &c.env;
    let mut v = Verdicts::default();
    for (i, (snap, (name, says))) in snaps.iter().zip(&bad).enumerate() {
        let what = String::from_utf8_lossy(&name[..name.len().min(10)]).into_owned();
        v.check(&format!("ls {what:?}"), || {
            run(env, &["ls", snap]).fails_saying(&[says]);
        });
        v.check(&format!("restore {what:?}"), || {
            let t = env.path(&format!("restored{i}"));
            run(env, &["restore", snap, "--target", t.to_str().unwrap()]).fails_saying(&[says]);
            assert!(
                !env.path("escape").exists(),
                "restore wrote outside its target"
            );
            assert!(!t.join("escape").exists() && !t.join("h/escape").exists());
        });
        v.check(&format!("diff {what:?}"), || {
            run(env, &["diff", &snaps[0], snap]).sane();
        });
    }
    v.check("check", || {
        run(env, &["check"]).fails_saying(&["unsafe name", "5000 bytes"]);
    });
    v.check("stats", || {
        run(env, &["stats"]).sane();
    });
    v.check("mount", || {
        let mut m = LimitedMount::start(env);
        let (code, _) = m.find(&m.point.clone(), &[]);
        assert_ne!(code, 0, "find met no error");
        for e in fs::read_dir(&m.point).unwrap() {
            let p = e.unwrap().path();
            // The snapshots by their times (a day's link leads to one of them).
            if !p.file_name().unwrap().to_str().unwrap().contains('T') {
                continue;
            }
            eio(&p.join("h"));
            assert_eq!(fs::read(p.join("ok/f")).unwrap(), b"intact\n");
        }
        m.stop();
    });
    v.assert_all();
}

/// Key files whose Argon2 parameters ask for 2 to 4 GiB beside the real key, then also a key
/// file of 1 TiB (sparse): opening with the right password opens (or fails saying why), with a
/// wrong one (which tries every key) says so; never a process killed by its own allocation.
#[test]
fn key_bombs() {
    let mut c = Crafter::new();
    let ok = ok_dir(&mut c);
    let root = c.tree(vec![ok]);
    let snap = c.snapshot(root, T1);
    let env = &c.env;
    let keys = env.repo().join("keys");
    let real = fs::read_dir(&keys).unwrap().next().unwrap().unwrap().path();
    let key: serde_json::Value = serde_json::from_slice(&fs::read(&real).unwrap()).unwrap();
    for (i, (m_cost, t_cost, p_cost)) in [
        (4u64 << 20, 1u64, 1u64),
        (4 << 20, 100, 4),
        (2 << 20, 3, 64),
    ]
    .into_iter()
    .enumerate()
    {
        let mut k = key.clone();
        k["kdf"]["m_cost"] = m_cost.into();
        k["kdf"]["t_cost"] = t_cost.into();
        k["kdf"]["p_cost"] = p_cost.into();
        k["kdf"]["salt"] = format!("{i:032x}").into();
        let b = serde_json::to_vec(&k).unwrap();
        fs::write(keys.join(Id::of_file(&b).to_hex()), b).unwrap();
    }
    let mut v = Verdicts::default();
    let both = |v: &mut Verdicts, what: &str| {
        v.check(&format!("{what}: right password"), || {
            let r = run(env, &["ls", &snap]);
            r.sane();
            if r.code() == Some(0) {
                assert!(r.out().contains("/ok/f\n"), "ls lists ok/f");
            }
        });
        v.check(&format!("{what}: wrong password"), || {
            fs::write(env.path("pw"), "not the password\n").unwrap();
            let r = run(env, &["snapshots"]);
            fs::write(env.path("pw"), format!("{}\n", crate::common::PASSWORD)).unwrap();
            r.fails_saying(&[]);
        });
    };
    both(&mut v, "KDF bombs");
    sparse(&keys.join("f".repeat(64)), 1 << 40);
    both(&mut v, "KDF bombs and a 1 TiB key file");
    v.assert_all();
}

/// Extents that disagree with their blobs (shorter, longer, 4 GiB, a tree blob as data) and a
/// directory whose tree is a data blob: restore and the mount report the files they cannot
/// produce and produce the rest; `check --read-data` finds every one.
#[test]
fn length_and_type_mismatches() {
    let mut c = Crafter::new();
    let data = c.blob(BlobType::Data, &[b'x'; 50]);
    let extent_file = |name: &[u8], size: u64, id: Id, len: u32| {
        let mut n = Node::new(name.to_vec(), NodeKind::File);
        n.mode = 0o644;
        n.size = size;
        n.content = vec![Extent::Data { id, len }];
        n
    };
    let empty = c.tree(vec![]);
    let empty_len = engine::format::tree::Tree::default().encode().len() as u32;
    let ok = ok_dir(&mut c);
    let files = c.tree(vec![
        extent_file(b"short", 100, data, 100),
        extent_file(b"long", 10, data, 10),
        extent_file(b"huge", u32::MAX as u64, data, u32::MAX),
        extent_file(b"typed", empty_len as u64, empty, empty_len),
        ok.clone(),
    ]);
    let noise = c.blob(BlobType::Data, b"\x01not a tree at all");
    let dirs = c.tree(vec![dir(b"notatree", noise), dir(b"datatree", data), ok]);
    let files = c.snapshot(files, T1);
    let dirs = c.snapshot(dirs, T2);
    let env = &c.env;
    let mut v = Verdicts::default();

    v.check("ls files", || {
        let r = run(env, &["ls", &files]);
        r.ok();
        assert_eq!(r.out().lines().count(), 6);
    });
    v.check("ls dirs", || {
        run(env, &["ls", &dirs]).fails_saying(&["damaged", "tree"]);
    });
    v.check("diff", || {
        run(env, &["diff", &files, &dirs]).fails_saying(&["damaged", "tree"]);
    });
    v.check("stats", || {
        run(env, &["stats"]).sane();
    });
    v.check("check --read-data", || {
        run(env, &["check", "--read-data"]).fails_saying(&["short", "long", "huge", "typed"]);
    });
    v.check("restore files", || {
        let t = env.path("restored-files");
        let r = run(env, &["restore", &files, "--target", t.to_str().unwrap()]);
        r.fails_saying(&["short", "long", "huge"]);
        assert_eq!(fs::read(t.join("ok/f")).unwrap(), b"intact\n");
    });
    v.check("restore dirs", || {
        let t = env.path("restored-dirs");
        run(env, &["restore", &dirs, "--target", t.to_str().unwrap()]).fails_saying(&["tree"]);
    });
    v.check("mount", || {
        let mut m = LimitedMount::start(env);
        let (code, _) = m.find(&m.point.clone(), &[]);
        assert_ne!(code, 0, "find met no error");
        let snaps: Vec<_> = fs::read_dir(&m.point)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_str().unwrap().contains('T'))
            .collect();
        assert_eq!(snaps.len(), 2);
        let (fdir, ddir) = if snaps[0].join("short").exists() {
            (&snaps[0], &snaps[1])
        } else {
            (&snaps[1], &snaps[0])
        };
        for f in ["short", "long", "huge"] {
            let e = fs::read(fdir.join(f)).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EIO), "{f}: {e}");
        }
        // A tree blob read as data: its bytes are authentic, so they may be served as they
        // are; what must not happen is a crash.
        let _ = fs::read(fdir.join("typed"));
        assert_eq!(fs::read(fdir.join("ok/f")).unwrap(), b"intact\n");
        eio(&ddir.join("notatree"));
        eio(&ddir.join("datatree"));
        assert_eq!(fs::read(ddir.join("ok/f")).unwrap(), b"intact\n");
        m.stop();
    });
    v.assert_all();
}
