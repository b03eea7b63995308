//! Restore against crafted snapshots in a memory repository: depth, verification that catches
//! tampering, directories closed while they fill, holes, and what a root restore may leave out.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::format::tree::{Extent, Node, NodeKind, Xattr};
use crate::repo::testing::{self, deep, dir, file, on_small_stack, snapshot, tree, DEEP};

fn snap_of(repo: &Repo, root: Id) -> SnapshotRef {
    let id = snapshot(repo, root);
    repo.snapshots()
        .unwrap()
        .into_iter()
        .find(|s| s.id == id)
        .unwrap()
}

fn run(repo: &Repo, root: Id, opts: RestoreOptions) -> RestoreResult {
    restore(repo, &snap_of(repo, root), &opts, &Progress::default()).unwrap()
}

fn opts(target: &Path) -> RestoreOptions {
    RestoreOptions {
        target: target.to_path_buf(),
        ..Default::default()
    }
}

#[test]
fn a_tree_deeper_than_the_stack_restores() {
    let repo = testing::repo();
    let root = deep(&repo, DEEP, b"at the bottom");
    let t = tempfile::tempdir().unwrap();
    let r = on_small_stack(|| run(&repo, root, opts(t.path())));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.dirs, DEEP as u64);
    // Walk down by descriptor: the full path is longer than PATH_MAX allows.
    let mut fd = rustix::fs::openat(
        rustix::fs::CWD,
        t.path(),
        rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    for _ in 0..DEEP {
        fd = rustix::fs::openat(
            &fd,
            "d",
            rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NOFOLLOW,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
    }
    let f = rustix::fs::openat(
        &fd,
        "bottom",
        rustix::fs::OFlags::RDONLY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let mut got = String::new();
    std::io::Read::read_to_string(&mut File::from(f), &mut got).unwrap();
    assert_eq!(got, "at the bottom");
}

fn corrupt(f: &File) {
    use std::os::unix::fs::FileExt;
    f.write_all_at(b"X", 0).unwrap();
}

#[test]
fn verify_catches_a_file_changed_after_writing() {
    let repo = testing::repo();
    let root = tree(
        &repo,
        vec![
            file(&repo, "a", b"first file's bytes"),
            file(&repo, "b", b"second file's bytes"),
        ],
    );
    let t = tempfile::tempdir().unwrap();
    let clean = run(
        &repo,
        root,
        RestoreOptions {
            verify: true,
            ..opts(&t.path().join("clean"))
        },
    );
    assert!(clean.errors.is_empty(), "{:?}", clean.errors);
    assert_eq!(clean.verified, 2);
    let r = run(
        &repo,
        root,
        RestoreOptions {
            verify: true,
            before_verify: Some(corrupt),
            ..opts(&t.path().join("tampered"))
        },
    );
    assert_eq!(r.verified, 0);
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    for e in &r.errors {
        assert!(
            e.contains("verification failed") && e.contains("bytes at offset 0"),
            "{e}"
        );
    }
}

static OPEN_PARENT_MODE: AtomicU32 = AtomicU32::new(0);

/// Records the mode of the directory holding the file being verified.
fn parent_mode(f: &File) {
    use std::os::fd::AsRawFd;
    let p = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap();
    let m = std::fs::metadata(p.parent().unwrap()).unwrap().mode() & 0o7777;
    OPEN_PARENT_MODE.fetch_or(m, Ordering::SeqCst);
}

#[test]
fn directories_stay_closed_until_their_content_is_written() {
    let repo = testing::repo();
    let mut d = dir(
        &repo,
        "shared",
        vec![file(&repo, "f", b"readable at the end")],
    );
    d.mode = 0o755;
    let root = tree(&repo, vec![d]);
    let t = tempfile::tempdir().unwrap();
    let r = run(
        &repo,
        root,
        RestoreOptions {
            verify: true,
            before_verify: Some(parent_mode),
            ..opts(t.path())
        },
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // While the file was written, no one but the restoring user could enter its directory;
    // at the end it has the snapshot's mode.
    assert_eq!(OPEN_PARENT_MODE.load(Ordering::SeqCst), 0o700);
    let m = std::fs::metadata(t.path().join("shared")).unwrap().mode() & 0o7777;
    assert_eq!(m, 0o755);
}

#[test]
fn a_huge_hole_verifies_without_reading_it() {
    let repo = testing::repo();
    let mut n = file(&repo, "sparse", b"data after a hole");
    let Extent::Data { id, len } = n.content[0] else {
        panic!()
    };
    // 4 TiB of hole: reading it as zeros would take hours.
    let hole = 4u64 << 40;
    n.content = vec![Extent::Hole { len: hole }, Extent::Data { id, len }];
    n.size = hole + len as u64;
    let root = tree(&repo, vec![n]);
    let t = tempfile::tempdir().unwrap();
    let r = run(
        &repo,
        root,
        RestoreOptions {
            verify: true,
            ..opts(t.path())
        },
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.verified, 1);
    let got = std::fs::metadata(t.path().join("sparse")).unwrap();
    assert_eq!(got.len(), hole + len as u64);
    assert!(got.blocks() * 512 < 1 << 20, "the hole stayed a hole");
}

#[test]
fn verifying_a_hole_stops_when_cancelled() {
    let t = tempfile::tempdir().unwrap();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(t.path().join("f"))
        .unwrap();
    f.set_len(1 << 30).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"x", 1 << 29).unwrap();
    let cancel = crate::cancel::CancelToken::default();
    cancel.cancel();
    let mut buf = Vec::new();
    let r = verify::check_hole(&f, 0, 1 << 30, &mut buf, &cancel);
    assert!(matches!(r, Err(Error::Interrupted)), "{r:?}");
    let go = crate::cancel::CancelToken::default();
    let r = verify::check_hole(&f, 0, 1 << 30, &mut buf, &go);
    assert!(
        matches!(r, Err(Error::Mismatch { .. })),
        "data inside a hole: {r:?}"
    );
}

fn special_tree(repo: &Repo) -> Id {
    let mut f = file(repo, "owned", b"owned by 1234, with an xattr");
    f.uid = 1234;
    f.gid = 1234;
    f.xattrs = vec![Xattr {
        name: b"user.vcd".to_vec(),
        value: b"kept".to_vec(),
    }];
    let mut fifo = Node::new(b"fifo".to_vec(), NodeKind::Fifo);
    fifo.mode = 0o644;
    let mut dev = Node::new(b"null".to_vec(), NodeKind::CharDevice);
    dev.mode = 0o666;
    dev.rdev = libc::makedev(1, 3);
    tree(repo, vec![f, fifo, dev])
}

fn has_user_xattrs(p: &Path) -> bool {
    xattr::set(p, "user.probe", b"1").is_ok()
}

#[test]
fn a_root_restore_recreates_owners_devices_and_xattrs_unless_told_not_to() {
    if !nix::unistd::geteuid().is_root() {
        panic!("this test checks what a root restore recreates: run the suite as root");
    }
    let repo = testing::repo();
    let root = special_tree(&repo);
    let t = tempfile::tempdir().unwrap();
    assert!(
        has_user_xattrs(t.path()),
        "the test filesystem refuses user.* xattrs"
    );
    let full = t.path().join("full");
    let r = run(&repo, root, opts(&full));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.special, r.skipped_special), (2, 0));
    let m = std::fs::metadata(full.join("owned")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 1234));
    assert_eq!(
        xattr::get(full.join("owned"), "user.vcd").unwrap(),
        Some(b"kept".to_vec())
    );
    let dev = std::fs::symlink_metadata(full.join("null")).unwrap();
    assert!(dev.file_type().is_char_device());
    assert_eq!(dev.rdev(), libc::makedev(1, 3));
    assert_eq!(dev.mode() & 0o7777, 0o666);
    assert!(std::fs::symlink_metadata(full.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());

    let bare = t.path().join("bare");
    let r = run(
        &repo,
        root,
        RestoreOptions {
            no_owner: true,
            no_special: true,
            no_xattrs: true,
            ..opts(&bare)
        },
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.special, r.skipped_special), (0, 2));
    let m = std::fs::metadata(bare.join("owned")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0));
    assert_eq!(m.permissions().mode() & 0o7777, 0o644);
    assert_eq!(xattr::get(bare.join("owned"), "user.vcd").unwrap(), None);
    assert!(!bare.join("null").exists() && !bare.join("fifo").exists());
}

#[test]
fn a_directory_of_another_user_in_the_target_is_refused_unless_allowed() {
    if !nix::unistd::geteuid().is_root() {
        panic!("this test chowns a directory to another user: run the suite as root");
    }
    let repo = testing::repo();
    let root = tree(
        &repo,
        vec![
            dir(&repo, "theirs", vec![file(&repo, "f", b"into their dir")]),
            file(&repo, "mine", b"next to it"),
        ],
    );
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("theirs")).unwrap();
    std::os::unix::fs::chown(t.path().join("theirs"), Some(65534), Some(65534)).unwrap();
    let r = run(&repo, root, opts(t.path()));
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].contains("belongs to uid 65534")
            && r.errors[0].contains("--allow-foreign-dirs"),
        "{}",
        r.errors[0]
    );
    assert!(!t.path().join("theirs/f").exists());
    assert_eq!(std::fs::read(t.path().join("mine")).unwrap(), b"next to it");
    let r = run(
        &repo,
        root,
        RestoreOptions {
            allow_foreign_dirs: true,
            ..opts(t.path())
        },
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        std::fs::read(t.path().join("theirs/f")).unwrap(),
        b"into their dir"
    );
}

#[test]
fn symlinks_in_the_way_are_replaced_not_followed() {
    let repo = testing::repo();
    let root = tree(
        &repo,
        vec![
            dir(&repo, "d", vec![file(&repo, "f", b"restored")]),
            file(&repo, "g", b"g"),
        ],
    );
    let t = tempfile::tempdir().unwrap();
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("f"), b"sentinel").unwrap();
    let target = t.path().join("target");
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("d")).unwrap();
    std::os::unix::fs::symlink(outside.join("f"), target.join("g")).unwrap();
    let r = run(&repo, root, opts(&target));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(std::fs::read(outside.join("f")).unwrap(), b"sentinel");
    assert!(std::fs::symlink_metadata(target.join("d"))
        .unwrap()
        .is_dir());
    assert_eq!(std::fs::read(target.join("d/f")).unwrap(), b"restored");
    assert_eq!(std::fs::read(target.join("g")).unwrap(), b"g");
}

#[test]
fn a_damaged_directory_is_reported_and_the_rest_restored() {
    let repo = testing::repo();
    let mut lost = dir(&repo, "lost", vec![]);
    lost.subtree = Some(Id::of_file(b"a tree that was never stored"));
    let root = tree(
        &repo,
        vec![
            lost,
            dir(&repo, "kept", vec![file(&repo, "f", b"still here")]),
        ],
    );
    let t = tempfile::tempdir().unwrap();
    let r = run(&repo, root, opts(t.path()));
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].starts_with("/lost: directory unreadable"),
        "{}",
        r.errors[0]
    );
    assert_eq!(
        std::fs::read(t.path().join("kept/f")).unwrap(),
        b"still here"
    );
}

/// A restore given the image a backup of the target just took keeps in place the files that
/// image shows holding the snapshot's content and that are still the same files, giving them
/// the snapshot's metadata; everything else is written as usual: a file changed after the
/// image, one of the right size and time but other bytes, one changed just before the image
/// (its change time is too close to trust), one with an owner or an extended attribute the
/// snapshot's has not, and one with a second name.
#[test]
fn files_an_image_shows_unchanged_are_kept_in_place_and_the_rest_written() {
    use std::os::unix::fs::PermissionsExt;
    let repo = testing::repo();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let files = [
        ("a", "alpha"),
        ("b", "bravo"),
        ("c", "charlie"),
        ("d", "delta"),
        ("e", "echo"),
        ("g", "golf"),
        ("h", "hotel"),
        ("r", "romeo"),
    ];
    for (n, body) in files {
        std::fs::write(src.join(n), body).unwrap();
        std::fs::set_permissions(src.join(n), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let backup = |paths: Vec<std::path::PathBuf>| {
        let o = crate::ops::backup::BackupOptions {
            paths,
            ..Default::default()
        };
        crate::ops::backup::backup(&repo, &o, &Progress::default()).unwrap()
    };
    let s = backup(vec![src.clone()]);
    let snap = repo
        .snapshots()
        .unwrap()
        .into_iter()
        .find(|x| Some(x.id) == s.id)
        .unwrap();
    let t = std::fs::canonicalize(work.path()).unwrap().join("t");
    run(&repo, snap.snap.tree, opts(&t));
    let at = |n: &str| t.join(src.strip_prefix("/").unwrap()).join(n);
    let rewrite_keeping_time = |n: &str, body: &str| {
        let time = std::fs::metadata(at(n)).unwrap().modified().unwrap();
        std::fs::write(at(n), body).unwrap();
        File::options()
            .write(true)
            .open(at(n))
            .unwrap()
            .set_modified(time)
            .unwrap();
    };
    // a: only its mode differs; b: other bytes of the same size and time; c: as restored;
    // e: another owner (as root); g: an attribute the snapshot lacks; h: a second name.
    std::fs::set_permissions(at("a"), std::fs::Permissions::from_mode(0o600)).unwrap();
    rewrite_keeping_time("b", "BRAVO");
    let root = nix::unistd::geteuid().is_root();
    if root {
        std::os::unix::fs::chown(at("e"), Some(4321), Some(4321)).unwrap();
    }
    let xattrs = xattr::set(at("g"), "user.extra", b"1").is_ok();
    std::fs::hard_link(at("h"), at("h2")).unwrap();
    // What changed within a second of the image is not trusted: r's mode is set again.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::set_permissions(at("r"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let taken = chrono::Utc::now();
    let image = backup(vec![t.clone()]);
    let tree = subtree_id(&repo, image.snapshot.tree, &t).unwrap();
    // d: changed after the image, keeping its size and time (its change time moves).
    rewrite_keeping_time("d", "DELTA");
    let o = RestoreOptions {
        image: Some(Image { tree, taken }),
        verify: true,
        ..opts(&t)
    };
    let r = restore(&repo, &snap, &o, &Progress::default()).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.files, r.verified), (8, 8));
    // a and c, and e unless the test runs as root (it cannot be made another's otherwise).
    assert_eq!(r.unchanged, if root { 2 } else { 3 }, "{r:?}");
    for (n, body) in files {
        assert_eq!(std::fs::read_to_string(at(n)).unwrap(), body, "{n}");
        let m = std::fs::metadata(at(n)).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o644, "{n}");
        let want = std::fs::metadata(src.join(n)).unwrap();
        assert_eq!(m.modified().unwrap(), want.modified().unwrap(), "{n}");
        assert_eq!((m.uid(), m.gid()), (want.uid(), want.gid()), "{n}");
        assert_eq!(m.nlink(), 1, "{n}: a name of its own");
    }
    if xattrs {
        assert_eq!(xattr::get(at("g"), "user.extra").unwrap(), None);
    }
}
