//! Regressions for bugs found in review: each test failed before its fix.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;

use crate::common::Env;

/// A symlinked directory above a source path (/home -> /data/home) used to be stored as a
/// symlink with a subtree, and restore dropped everything below it.
#[test]
fn symlink_above_a_source_path_restores_the_data() {
    let env = Env::new();
    fs::create_dir_all(env.path("real/sub")).unwrap();
    fs::write(env.path("real/sub/f"), b"payload").unwrap();
    std::os::unix::fs::symlink("real", env.path("lnk")).unwrap();
    let src = env.path("lnk/sub");
    let snap = env.backup(&src, &[]);
    let restored = env.restore(&snap, &src, "out");
    assert_eq!(fs::read(restored.join("f")).unwrap(), b"payload");
    assert!(fs::symlink_metadata(restored.parent().unwrap())
        .unwrap()
        .is_dir());
    env.ok(&["check", "--read-data"]);
}

/// Restore used to keep every target file of a pack open, and failed with EMFILE on packs of
/// many small files under the common limit of 1024 descriptors.
#[test]
fn restore_of_many_small_files_under_a_low_descriptor_limit() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..1500 {
        fs::write(
            src.join(format!("f{i:04}")),
            format!("file number {i}\n").repeat(40),
        )
        .unwrap();
    }
    let snap = env.backup(&src, &[]);
    let target = env.path("out");
    let mut cmd = env.cmd(&[
        "restore",
        &snap,
        "--target",
        target.to_str().unwrap(),
        "--verify",
    ]);
    // SAFETY: setrlimit in the child before exec; no allocation.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = target.join(src.strip_prefix("/").unwrap());
    for i in 0..1500 {
        assert_eq!(
            fs::read_to_string(out.join(format!("f{i:04}"))).unwrap(),
            format!("file number {i}\n").repeat(40)
        );
    }
}

/// A restore target that is a symlink to a directory restores into that directory; the
/// link is left alone.
#[test]
fn restore_into_a_symlinked_target() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), b"A").unwrap();
    let snap = env.backup(&src, &[]);
    fs::create_dir_all(env.path("real-target")).unwrap();
    std::os::unix::fs::symlink(env.path("real-target"), env.path("t")).unwrap();
    env.ok(&[
        "restore",
        &snap,
        "--target",
        env.path("t").to_str().unwrap(),
    ]);
    assert!(fs::symlink_metadata(env.path("t"))
        .unwrap()
        .file_type()
        .is_symlink());
    let a = env
        .path("real-target")
        .join(src.strip_prefix("/").unwrap())
        .join("a");
    assert_eq!(fs::read(a).unwrap(), b"A");
}

/// Two vcd processes sharing a cache directory: the second used to delete the first one's
/// live index database.
#[test]
fn concurrent_commands_share_the_cache_safely() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..20 {
        fs::write(src.join(format!("f{i}")), vec![i as u8; 300_000]).unwrap();
    }
    let first = env.backup(&src, &[]);
    let mut bg = env
        .cmd(&["backup", "--type", "full", src.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..5 {
        let (_, err) = env.code(0, &["snapshots"]);
        assert!(
            !err.contains("rebuilding"),
            "a busy index was treated as damaged: {err}"
        );
    }
    assert!(bg.wait().unwrap().success());
    env.ok(&["check", "--read-data"]);
    let out = env.restore(&first, &src, "out");
    for i in 0..20 {
        assert_eq!(
            fs::read(out.join(format!("f{i}"))).unwrap(),
            vec![i as u8; 300_000]
        );
    }
}

/// Restoring over a target that already holds things in the way: each is replaced, and no
/// write goes through a symlink, also in a selective restore that reaches a directory it did
/// not create itself.
#[test]
fn restore_replaces_what_is_in_the_way_without_following_symlinks() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/x"), b"X").unwrap();
    fs::write(src.join("f"), b"F").unwrap();
    fs::write(src.join("g"), b"G").unwrap();
    std::os::unix::fs::symlink("f", src.join("l")).unwrap();
    let snap = env.backup(&src, &[]);

    let outside = env.path("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("victim"), b"untouched").unwrap();
    let prepare = |target: &Path| {
        let base = target.join(src.strip_prefix("/").unwrap());
        fs::create_dir_all(&base).unwrap();
        std::os::unix::fs::symlink(&outside, base.join("d")).unwrap();
        fs::create_dir_all(base.join("f/sub")).unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), base.join("g")).unwrap();
        fs::write(base.join("l"), b"a file where a symlink goes").unwrap();
        base
    };

    let t1 = env.path("t1");
    let base = prepare(&t1);
    env.ok(&["restore", &snap, "--target", t1.to_str().unwrap()]);
    assert_eq!(fs::read(base.join("d/x")).unwrap(), b"X");
    assert!(fs::symlink_metadata(base.join("d")).unwrap().is_dir());
    assert_eq!(fs::read(base.join("f")).unwrap(), b"F");
    assert_eq!(fs::read(base.join("g")).unwrap(), b"G");
    assert!(!fs::symlink_metadata(base.join("g"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_link(base.join("l")).unwrap(), Path::new("f"));

    let t2 = env.path("t2");
    let base = prepare(&t2);
    let include = format!("{}/d/x", src.display());
    env.ok(&[
        "restore",
        &snap,
        "--target",
        t2.to_str().unwrap(),
        "--include",
        &include,
    ]);
    assert_eq!(fs::read(base.join("d/x")).unwrap(), b"X");
    assert!(fs::symlink_metadata(base.join("d")).unwrap().is_dir());

    assert_eq!(fs::read(outside.join("victim")).unwrap(), b"untouched");
    assert!(!outside.join("x").exists(), "wrote through a symlink");
}
