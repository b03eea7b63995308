//! The tree comparator's self-test. Each field `gen::compare` compares is changed alone in a
//! fresh `cp -a` copy of a generated tree: content, size, type, mode, owner and group (of a
//! file and of a symlink), file, directory and symlink mtimes, symlink target, xattr values,
//! added and removed xattrs, extra and missing entries, a broken hard link, hard-link partners
//! swapped with the link counts kept, filled holes and device numbers. The comparison must name
//! that path, with that kind of difference, and no other path. And the generator refuses a
//! filesystem without `user.*` xattrs instead of silently generating a tree without them.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use filetime::FileTime;
use nix::sys::stat::{makedev, mknod, Mode, SFlag};

use crate::common::Env;
use crate::gen::{self, cp_a, differences, Spec};

/// How the comparator names `rel` at the start of a line.
fn label(rel: &Path) -> String {
    let p = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        Path::new(".").join(rel)
    };
    format!("{p:?}: ")
}

fn pb(rel: &str) -> PathBuf {
    PathBuf::from(rel)
}

/// Runs `f`, then puts back the mtimes (and atimes) the entries at `paths` had before it.
fn keeping_times(paths: &[PathBuf], f: impl FnOnce()) {
    let times: Vec<(FileTime, FileTime)> = paths
        .iter()
        .map(|p| {
            let m = fs::symlink_metadata(p).unwrap();
            (
                FileTime::from_last_access_time(&m),
                FileTime::from_last_modification_time(&m),
            )
        })
        .collect();
    f();
    for (p, (a, m)) in paths.iter().zip(times) {
        filetime::set_symlink_file_times(p, a, m).unwrap();
    }
}

/// Changes `rel` in the copy with `f`, keeping its own and its parent's times.
fn keep(copy: &Path, rel: &Path, f: impl FnOnce(&Path)) {
    let p = copy.join(rel);
    let parent = p.parent().unwrap().to_path_buf();
    keeping_times(&[p.clone(), parent], || f(&p));
}

/// Same owner, mode and times as `like` (after `p` was recreated).
fn same_meta(p: &Path, like: &fs::Metadata) {
    std::os::unix::fs::lchown(p, Some(like.uid()), Some(like.gid())).unwrap();
    if !like.file_type().is_symlink() {
        fs::set_permissions(
            p,
            std::os::unix::fs::PermissionsExt::from_mode(like.mode() & 0o7777),
        )
        .unwrap();
    }
    filetime::set_symlink_file_times(
        p,
        FileTime::from_last_access_time(like),
        FileTime::from_last_modification_time(like),
    )
    .unwrap();
}

struct SelfTest {
    env: Env,
    src: PathBuf,
    cases: usize,
}

impl SelfTest {
    /// Copies the source, applies `change` to the copy, and asserts the comparison names each
    /// of `paths` with a line containing `needle`, and nothing else.
    fn case(&mut self, what: &str, paths: &[PathBuf], needle: &str, change: impl FnOnce(&Path)) {
        self.cases += 1;
        let copy = self.env.path(&format!("copy-{}", self.cases));
        cp_a(&self.src, &copy);
        change(&copy);
        let d = differences(&self.src, &copy);
        for p in paths {
            let l = label(p);
            assert!(
                d.iter().any(|x| x.starts_with(&l) && x.contains(needle)),
                "{what}: no difference naming {l:?} with {needle:?} in {d:#?}"
            );
        }
        for x in &d {
            assert!(
                paths.iter().any(|p| x.starts_with(&label(p))),
                "{what}: a difference at a path not changed: {x}\nall: {d:#?}"
            );
        }
        let r = std::panic::catch_unwind(|| gen::compare(&self.src, &copy));
        assert!(r.is_err(), "{what}: compare did not panic");
        fs::remove_dir_all(&copy).unwrap();
    }
}

#[test]
fn compare_names_every_kind_of_difference() {
    let env = Env::bare();
    let src = env.path("src");
    let g = gen::generate_with(&src, 9, &Spec::small());
    // Two hard-linked pairs alike in everything but their inodes, for the partner swap.
    fs::create_dir(src.join("swap")).unwrap();
    for (x, y) in [("a1", "a2"), ("b1", "b2")] {
        fs::write(src.join("swap").join(x), b"twin content\n").unwrap();
        fs::hard_link(src.join("swap").join(x), src.join("swap").join(y)).unwrap();
        let t = FileTime::from_unix_time(1_600_000_000, 5);
        filetime::set_file_times(src.join("swap").join(x), t, t).unwrap();
    }
    fs::create_dir(src.join("dev")).unwrap();
    mknod(
        &src.join("dev/char"),
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o640),
        makedev(1, 3),
    )
    .unwrap();

    let mut t = SelfTest {
        env,
        src: src.clone(),
        cases: 0,
    };
    // The unchanged copy is the same: what follows is each change alone.
    let copy = t.env.path("copy-0");
    cp_a(&src, &copy);
    let d = differences(&src, &copy);
    assert!(d.is_empty(), "cp -a copy differs: {d:#?}");

    let files: Vec<&PathBuf> = g
        .small
        .iter()
        .filter(|p| fs::metadata(src.join(p)).unwrap().len() > 0)
        .collect();
    let (f1, f2) = (files[3].clone(), files[4].clone());
    t.case(
        "content",
        std::slice::from_ref(&f1),
        "content differs at byte 0",
        |c| {
            keep(c, &f1, |p| {
                let mut b = fs::read(p).unwrap();
                b[0] ^= 1;
                fs::write(p, b).unwrap();
            })
        },
    );
    t.case("size", std::slice::from_ref(&f2), "size", |c| {
        keep(c, &f2, |p| {
            let mut b = fs::read(p).unwrap();
            b.push(0);
            fs::write(p, b).unwrap();
        })
    });
    let nudge = |p: &Path| {
        let m = fs::symlink_metadata(p).unwrap();
        let t = FileTime::from_unix_time(m.mtime(), (m.mtime_nsec() as u32 + 1) % 1_000_000_000);
        filetime::set_symlink_file_times(p, FileTime::from_last_access_time(&m), t).unwrap();
    };
    t.case("file mtime", &[pb("perms/exec")], "mtime", |c| {
        nudge(&c.join("perms/exec"))
    });
    t.case("directory mtime", &[pb("nested/empty")], "mtime", |c| {
        nudge(&c.join("nested/empty"))
    });
    t.case("root mtime", &[pb("")], "mtime", |c| nudge(c));
    t.case("symlink mtime", &[pb("links/dangling")], "mtime", |c| {
        nudge(&c.join("links/dangling"))
    });
    t.case("mode", &[pb("perms/setuid")], "mode 4755 vs 0755", |c| {
        fs::set_permissions(
            c.join("perms/setuid"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap()
    });
    t.case(
        "owner",
        &[pb("perms/owned")],
        "owner 1234:5678 vs 1235:5678",
        |c| std::os::unix::fs::lchown(c.join("perms/owned"), Some(1235), None).unwrap(),
    );
    t.case(
        "group",
        &[pb("perms/owned")],
        "owner 1234:5678 vs 1234:5679",
        |c| std::os::unix::fs::lchown(c.join("perms/owned"), None, Some(5679)).unwrap(),
    );
    t.case(
        "symlink owner",
        &[pb("links/owned")],
        "owner 4321:8765 vs 4321:8766",
        |c| std::os::unix::fs::lchown(c.join("links/owned"), None, Some(8766)).unwrap(),
    );
    t.case(
        "xattr value",
        &[pb("perms/exec")],
        "xattr \"user.binary\" value",
        |c| {
            let p = c.join("perms/exec");
            let mut v = xattr::get(&p, "user.binary").unwrap().unwrap();
            *v.last_mut().unwrap() ^= 1;
            xattr::set(&p, "user.binary", &v).unwrap();
        },
    );
    t.case(
        "empty xattr value",
        &[pb("names/with space")],
        "xattr \"user.empty_value\" value \"\" vs \"x\"",
        |c| xattr::set(c.join("names/with space"), "user.empty_value", b"x").unwrap(),
    );
    t.case(
        "xattr on the root",
        &[pb("")],
        "xattr \"user.root\" value",
        |c| xattr::set(c, "user.root", b"changed").unwrap(),
    );
    t.case(
        "added xattr",
        &[pb("empty")],
        "xattr \"user.added\" only in the second tree",
        |c| xattr::set(c.join("empty"), "user.added", b"new").unwrap(),
    );
    t.case(
        "removed xattr",
        &[pb("perms/setgid_dir")],
        "xattr \"user.on_a_dir\" only in the first tree",
        |c| xattr::remove(c.join("perms/setgid_dir"), "user.on_a_dir").unwrap(),
    );
    t.case(
        "symlink target",
        &[pb("links/same_dir")],
        "symlink target \"same_dir_target\" vs \"same_dir_targex\"",
        |c| {
            keep(c, Path::new("links/same_dir"), |p| {
                let m = fs::symlink_metadata(p).unwrap();
                fs::remove_file(p).unwrap();
                std::os::unix::fs::symlink("same_dir_targex", p).unwrap();
                same_meta(p, &m);
            })
        },
    );
    t.case(
        "type (file to fifo)",
        &[pb("names/.hidden")],
        "type file vs fifo",
        |c| {
            keep(c, Path::new("names/.hidden"), |p| {
                let m = fs::symlink_metadata(p).unwrap();
                fs::remove_file(p).unwrap();
                nix::unistd::mkfifo(p, Mode::from_bits_truncate(0o644)).unwrap();
                same_meta(p, &m);
            })
        },
    );
    t.case(
        "type (symlink to file)",
        &[pb("links/loop")],
        "type symlink vs file",
        |c| {
            keep(c, Path::new("links/loop"), |p| {
                fs::remove_file(p).unwrap();
                fs::write(p, b"loop").unwrap();
            })
        },
    );
    t.case(
        "extra entry",
        &[pb("names/extra")],
        "only in the second tree",
        |c| {
            keeping_times(&[c.join("names")], || {
                fs::write(c.join("names/extra"), b"").unwrap()
            })
        },
    );
    t.case(
        "missing entry",
        &[pb("names/back\\slash")],
        "only in the first tree",
        |c| {
            keeping_times(&[c.join("names")], || {
                fs::remove_file(c.join("names/back\\slash")).unwrap()
            })
        },
    );
    // One name of a five-name inode made a copy: every name's link count differs.
    let a_names = vec![
        pb("hard/a"),
        pb("hard/b"),
        pb("hard/sub/c"),
        PathBuf::from(OsStr::from_bytes(b"hard/sub/\xff non-utf8 link")),
        g.small[0].parent().unwrap().join("link_to_hard_a"),
    ];
    t.case("broken hard link", &a_names, "link count", |c| {
        keep(c, Path::new("hard/sub/c"), |p| {
            let m = fs::symlink_metadata(p).unwrap();
            let x = xattr::get(p, "user.linked").unwrap().unwrap();
            let b = fs::read(p).unwrap();
            fs::remove_file(p).unwrap();
            fs::write(p, b).unwrap();
            xattr::set(p, "user.linked", &x).unwrap();
            same_meta(p, &m);
        })
    });
    // a1 with b1 and a2 with b2: two inodes of two names each, as before, but other partners.
    t.case(
        "swapped hard-link partners",
        &[pb("swap/a2"), pb("swap/b1"), pb("swap/b2")],
        "is a hard link of",
        |c| {
            let s = c.join("swap");
            keeping_times(std::slice::from_ref(&s), || {
                fs::remove_file(s.join("b1")).unwrap();
                fs::hard_link(s.join("a1"), s.join("b1")).unwrap();
                fs::remove_file(s.join("a2")).unwrap();
                fs::hard_link(s.join("b2"), s.join("a2")).unwrap();
            });
            for n in ["a1", "a2", "b1", "b2"] {
                assert_eq!(fs::metadata(s.join(n)).unwrap().nlink(), 2);
            }
        },
    );
    t.case("holes", &[pb("sparse/hole_end")], "holes not kept", |c| {
        keep(c, Path::new("sparse/hole_end"), |p| {
            let b = fs::read(p).unwrap();
            fs::write(p, b).unwrap();
        })
    });
    t.case("device number", &[pb("dev/char")], "device", |c| {
        keep(c, Path::new("dev/char"), |p| {
            let m = fs::symlink_metadata(p).unwrap();
            fs::remove_file(p).unwrap();
            mknod(
                p,
                SFlag::S_IFCHR,
                Mode::from_bits_truncate(0o640),
                makedev(1, 5),
            )
            .unwrap();
            same_meta(p, &m);
        })
    });
}

/// Unmounts on drop.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// On a filesystem that refuses `user.*` xattrs (ramfs), generating a tree fails, naming the
/// reason, rather than producing a tree without xattrs.
#[test]
fn generator_refuses_a_filesystem_without_xattrs() {
    let env = Env::bare();
    let point = env.path("ramfs");
    fs::create_dir(&point).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "ramfs", "ramfs"])
        .arg(&point)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "mount -t ramfs failed (the e2e tests run as root)"
    );
    let _guard = Unmount(point.clone());
    let r = std::panic::catch_unwind(|| gen::generate_with(&point.join("src"), 1, &Spec::small()));
    let msg = match r {
        Ok(_) => panic!("a tree was generated on a filesystem without xattrs"),
        Err(e) => e
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| format!("{e:?}")),
    };
    assert!(msg.contains("does not take user.* xattrs"), "{msg}");
}
