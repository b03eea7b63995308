//! Round trips through the real binary: what is backed up comes back identical in content and
//! metadata, incremental and full backups read what they should, point-in-time and selective
//! restores pick the right snapshot and paths, and `ls`, `diff` and `snapshots --json` describe
//! a known tree exactly.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use filetime::FileTime;
use serde_json::Value;

use crate::common::Env;
use crate::gen::{self, compare, cp_a, differences, Spec};

fn summary_u64(v: &Value, field: &str) -> u64 {
    v["summary"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("summary.{field} missing in {v:#}"))
}

fn assert_no_backup_errors(v: &Value) {
    assert_eq!(
        v["summary"]["errors"],
        serde_json::json!([]),
        "backup reported errors: {v:#}"
    );
    assert_eq!(
        v["warnings"],
        serde_json::json!([]),
        "backup reported warnings: {v:#}"
    );
}

/// Backs up a generated tree, restores it, compares; then checks an unchanged incremental
/// backup reads nothing and a full one reads everything.
fn roundtrip_seed(seed: u64, spec: &Spec) {
    let env = Env::new();
    let src = env.path("src");
    gen::generate_with(&src, seed, spec);
    let first = env.backup_json(&src, &[]);
    assert_no_backup_errors(&first);
    assert!(summary_u64(&first, "bytes_read") > 0);
    let id = first["id"].as_str().unwrap().to_string();
    let restored = env.restore(&id, &src, "restored");
    compare(&src, &restored);

    // Nothing changed: an incremental backup reuses every file, a full one reads them all.
    let incr = env.backup_json(&src, &[]);
    assert_no_backup_errors(&incr);
    assert_eq!(
        summary_u64(&incr, "bytes_read"),
        0,
        "unchanged tree was re-read: {incr:#}"
    );
    assert_eq!(
        summary_u64(&incr, "files_new") + summary_u64(&incr, "files_changed"),
        0,
        "{incr:#}"
    );
    assert_eq!(
        summary_u64(&incr, "files_unchanged"),
        summary_u64(&first, "files_new")
    );
    assert_eq!(incr["parent"], first["id"]);
    let full = env.backup_json(&src, &["--type", "full"]);
    assert_no_backup_errors(&full);
    assert_eq!(
        summary_u64(&full, "bytes_read"),
        summary_u64(&first, "bytes_read"),
        "{full:#}"
    );
    // Every file read again, and each found as it was: unchanged, read again.
    assert_eq!(summary_u64(&full, "files_changed"), 0, "{full:#}");
    assert_eq!(
        summary_u64(&full, "files_unchanged"),
        summary_u64(&first, "files_new"),
        "{full:#}"
    );
    assert_eq!(
        summary_u64(&full, "files_reread"),
        summary_u64(&first, "files_new"),
        "{full:#}"
    );
}

#[test]
fn roundtrip_random_tree_seed_1() {
    roundtrip_seed(1, &Spec::default());
}

#[test]
fn roundtrip_random_tree_seed_2() {
    roundtrip_seed(
        2,
        &Spec {
            small_files: 400,
            big_files: 3,
            big_size: 2 << 20,
        },
    );
}

#[test]
fn roundtrip_random_tree_seed_3() {
    roundtrip_seed(3, &Spec::small());
}

/// Modifies, adds and deletes files; the new snapshot restores the new state, the old one the
/// old state.
#[test]
fn roundtrip_incremental_after_changes() {
    let env = Env::new();
    let src = env.path("src");
    let g = gen::generate_with(&src, 4, &Spec::small());
    let s1 = env.backup_json(&src, &[]);
    assert_no_backup_errors(&s1);
    let old = env.path("old");
    cp_a(&src, &old);

    let small = &g.small;
    // Same size, same mtime, different bytes: only ctime tells.
    let same = src.join(&small[1]);
    let m = fs::metadata(&same).unwrap();
    let mut b = fs::read(&same).unwrap();
    b.iter_mut().for_each(|x| *x = !*x);
    b.push(b'!');
    fs::write(&same, &b[..b.len() - 1]).unwrap();
    let t = FileTime::from_last_modification_time(&m);
    filetime::set_file_times(&same, t, t).unwrap();
    // Grown, shrunk, truncated to zero.
    fs::write(
        src.join(&small[2]),
        [&fs::read(src.join(&small[2])).unwrap()[..], b"appended"].concat(),
    )
    .unwrap();
    fs::write(src.join(&small[3]), b"short").unwrap();
    fs::write(src.join(&small[4]), b"").unwrap();
    // A big file changed in the middle.
    let big = src.join(&g.big[0]);
    let mut bb = fs::read(&big).unwrap();
    let mid = bb.len() / 2;
    bb[mid..mid + 100].fill(0xAB);
    fs::write(&big, &bb).unwrap();
    // Deleted: files, a directory tree, one name of a hard-linked file.
    fs::remove_file(src.join(&small[6])).unwrap();
    fs::remove_file(src.join("links/dangling")).unwrap();
    fs::remove_dir_all(src.join("perms/setgid_dir")).unwrap();
    fs::remove_file(src.join("hard/b")).unwrap();
    // Added: files, a directory, a new hard link to an existing file, a symlink.
    fs::write(src.join("new file"), b"new content\n").unwrap();
    fs::create_dir_all(src.join("new_dir/deeper")).unwrap();
    fs::write(src.join("new_dir/deeper/x"), vec![7u8; 300_000]).unwrap();
    fs::hard_link(src.join("hard/pair_one"), src.join("new_dir/pair_three")).unwrap();
    std::os::unix::fs::symlink("../new file", src.join("new_dir/link")).unwrap();
    // Metadata only.
    fs::set_permissions(src.join(&small[7]), fs::Permissions::from_mode(0o604)).unwrap();
    filetime::set_file_times(
        src.join(&small[8]),
        FileTime::from_unix_time(5, 5),
        FileTime::from_unix_time(6, 6),
    )
    .unwrap();
    std::os::unix::fs::lchown(src.join(&small[9]), Some(77), Some(88)).unwrap();
    // A file replaced by a directory and a directory by a file.
    fs::remove_file(src.join(&small[10])).unwrap();
    fs::create_dir(src.join(&small[10])).unwrap();
    fs::remove_dir_all(src.join("emptydir")).unwrap();
    fs::write(src.join("emptydir"), b"now a file").unwrap();
    xattr::set(src.join(&small[11]), "user.changed", b"yes").unwrap();

    let s2 = env.backup_json(&src, &[]);
    assert_no_backup_errors(&s2);
    assert_eq!(
        s2["parent"], s1["id"],
        "the second backup continues from the first"
    );
    assert!(summary_u64(&s2, "files_unchanged") > 100, "{s2:#}");
    assert!(summary_u64(&s2, "files_changed") >= 6, "{s2:#}");
    assert!(
        summary_u64(&s2, "bytes_read") < summary_u64(&s1, "bytes_read") / 2,
        "incremental backup read too much: {s2:#}"
    );

    let r2 = env.restore(s2["id"].as_str().unwrap(), &src, "r2");
    compare(&src, &r2);
    assert_eq!(
        fs::read(r2.join(&small[1])).unwrap(),
        fs::read(src.join(&small[1])).unwrap()
    );
    let r1 = env.restore(s1["id"].as_str().unwrap(), &src, "r1");
    compare(&old, &r1);
    // And the two states really differ (the comparison is not vacuous).
    assert!(!differences(&old, &src).is_empty());
}

/// A tree of plain files with known sizes.
fn plain_tree(root: &Path, files: usize, size: usize) -> u64 {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(77);
    fs::create_dir_all(root.join("sub")).unwrap();
    let mut total = 0;
    for i in 0..files {
        let mut b = vec![0u8; size + i * 1000];
        rng.fill_bytes(&mut b);
        let p = if i % 2 == 0 {
            root.join(format!("f{i}"))
        } else {
            root.join(format!("sub/f{i}"))
        };
        fs::write(p, &b).unwrap();
        total += b.len() as u64;
    }
    total
}

#[test]
fn roundtrip_full_rereads_incremental_reads_nothing() {
    let env = Env::new();
    let src = env.path("src");
    let total = plain_tree(&src, 12, 200_000);

    let a = env.backup_json(&src, &[]);
    assert_no_backup_errors(&a);
    assert_eq!(summary_u64(&a, "bytes_read"), total);
    assert_eq!(summary_u64(&a, "bytes_total"), total);
    assert_eq!(summary_u64(&a, "files_new"), 12);
    // Nothing to compare with: every byte was read, and the snapshot says it is full.
    assert_eq!(a["type"], "full");

    let b = env.backup_json(&src, &[]);
    assert_eq!(summary_u64(&b, "bytes_read"), 0, "{b:#}");
    assert_eq!(summary_u64(&b, "bytes_total"), total);
    assert_eq!(summary_u64(&b, "files_unchanged"), 12);
    assert_eq!(b["parent"], a["id"]);

    let c = env.backup_json(&src, &["--type", "full"]);
    assert_eq!(summary_u64(&c, "bytes_read"), total, "{c:#}");
    assert_eq!(summary_u64(&c, "files_unchanged"), 12);
    assert_eq!(summary_u64(&c, "files_reread"), 12);
    assert_eq!(summary_u64(&c, "files_changed"), 0);
    assert_eq!(c["type"], "full");
    // Re-read, but nothing new to store: no data blobs (at most the trees above the source,
    // whose directories' metadata may have changed meanwhile).
    let depth = src.components().count() as u64;
    assert!(summary_u64(&c, "blobs_added") <= depth, "{c:#}");

    // One file touched: only it is read again.
    fs::write(src.join("f0"), b"changed").unwrap();
    let d = env.backup_json(&src, &[]);
    assert_eq!(summary_u64(&d, "bytes_read"), 7, "{d:#}");
    assert_eq!(summary_u64(&d, "files_changed"), 1);
    assert_eq!(summary_u64(&d, "files_unchanged"), 11);

    let snaps = env.snapshots();
    let kinds: Vec<&str> = snaps.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["full", "incremental", "full", "incremental"]);
    let r = env.restore(d["id"].as_str().unwrap(), &src, "r");
    compare(&src, &r);
}

fn local_rfc3339(s: &str) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let n = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    chrono::Local
        .from_local_datetime(&n)
        .single()
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[test]
fn roundtrip_point_in_time_restore() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir(&src).unwrap();
    // (recorded time, content): the 11:00 one is made last, so creation order is not time order.
    let states = [
        ("2024-03-01 10:00:00", "one"),
        ("2024-03-01 12:00:00", "two"),
        ("2024-03-01 14:00:00", "three"),
        ("2024-03-01 11:00:00", "late but earlier"),
    ];
    let mut ids = Vec::new();
    for (t, content) in states {
        fs::write(src.join("state"), content).unwrap();
        fs::write(
            src.join(format!("only_in_{}", content.replace(' ', "_"))),
            t,
        )
        .unwrap();
        let v = env.backup_json(&src, &["--time", t]);
        let recorded: chrono::DateTime<chrono::Utc> = v["time"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            recorded,
            local_rfc3339(t),
            "backup --time {t} recorded {recorded}"
        );
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let snaps = env.snapshots();
    let order: Vec<&str> = snaps.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        [&ids[0], &ids[3], &ids[1], &ids[2]],
        "snapshots are listed by time"
    );

    let cases = [
        ("2024-03-01 10:00:00", "one"),
        ("2024-03-01 10:59:59", "one"),
        ("2024-03-01 11:00:00", "late but earlier"),
        ("2024-03-01 11:30:00", "late but earlier"),
        ("2024-03-01 12:00:00", "two"),
        ("2024-03-01 13:59:59", "two"),
        ("2024-03-01 14:00:00", "three"),
        ("2099-01-01 00:00:00", "three"),
    ];
    for (i, (at, want)) in cases.iter().enumerate() {
        let target = env.path(&format!("at{i}"));
        let out = env.ok(&["restore", "--at", at, "--target", target.to_str().unwrap()]);
        let r = target.join(src.strip_prefix("/").unwrap());
        assert_eq!(
            fs::read_to_string(r.join("state")).unwrap(),
            *want,
            "restore --at {at:?}\n{out}"
        );
        // Exactly that snapshot's files, not a mix.
        let names: BTreeSet<String> = fs::read_dir(&r)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.contains(&format!("only_in_{}", want.replace(' ', "_"))),
            "{names:?}"
        );
        // Each backup added one `only_in_*` file: the k-th made has k of them.
        let k = 1 + states.iter().position(|(_, c)| c == want).unwrap();
        assert_eq!(names.len(), 1 + k, "restore --at {at:?}: {names:?}");
    }
    // Before the first snapshot there is nothing to restore.
    let (_, err) = env.code(
        1,
        &[
            "restore",
            "--at",
            "2024-03-01 09:59:59",
            "--target",
            env.path("none").to_str().unwrap(),
        ],
    );
    assert!(err.contains("no snapshot matches"), "{err}");
    assert!(!env.path("none").exists());
    let (_, err) = env.code(
        1,
        &[
            "restore",
            "--at",
            "yesterday-ish",
            "--target",
            env.path("none").to_str().unwrap(),
        ],
    );
    assert!(err.contains("cannot read time"), "{err}");
}

/// Every path below `root`, relative, directories included.
fn all_paths(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.insert(p.strip_prefix(root).unwrap().to_path_buf());
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

fn set(paths: &[&str]) -> BTreeSet<PathBuf> {
    paths.iter().map(PathBuf::from).collect()
}

#[test]
fn roundtrip_restore_include_exclude() {
    let env = Env::new();
    let src = env.path("src");
    for (p, c) in [
        ("docs/a.txt", "a"),
        ("docs/b.log", "b"),
        ("docs/sub/c.txt", "c"),
        ("img/x.bin", "x"),
        ("img/y.log", "y"),
        ("top.txt", "top"),
    ] {
        fs::create_dir_all(src.join(p).parent().unwrap()).unwrap();
        fs::write(src.join(p), c).unwrap();
    }
    fs::create_dir(src.join("links")).unwrap();
    std::os::unix::fs::symlink("../docs/a.txt", src.join("links/l")).unwrap();
    let id = env.backup(&src, &[]);
    let s = src.to_str().unwrap();

    let restore = |name: &str, args: &[&str]| -> PathBuf {
        let target = env.path(name);
        let mut a = vec!["restore", &id, "--target", target.to_str().unwrap()];
        a.extend_from_slice(args);
        env.ok(&a);
        target.join(src.strip_prefix("/").unwrap())
    };

    // A directory brings everything below it, with its metadata.
    let docs = format!("{s}/docs");
    let r = restore("inc_dir", &["--include", &docs]);
    assert_eq!(
        all_paths(&r),
        set(&[
            "docs",
            "docs/a.txt",
            "docs/b.log",
            "docs/sub",
            "docs/sub/c.txt"
        ])
    );
    compare(&src.join("docs"), &r.join("docs"));

    // A name glob matches at any depth.
    let r = restore("inc_glob", &["--include", "*.txt"]);
    assert_eq!(
        all_paths(&r),
        set(&[
            "docs",
            "docs/a.txt",
            "docs/sub",
            "docs/sub/c.txt",
            "top.txt"
        ])
    );
    assert_eq!(fs::read(r.join("docs/sub/c.txt")).unwrap(), b"c");

    // Exclude only: everything else, identical.
    let r = restore("exc", &["--exclude", "*.log"]);
    let expected = env.path("expected_exc");
    cp_a(&src, &expected);
    fs::remove_file(expected.join("docs/b.log")).unwrap();
    fs::remove_file(expected.join("img/y.log")).unwrap();
    for d in ["docs", "img"] {
        let t = FileTime::from_last_modification_time(&fs::metadata(src.join(d)).unwrap());
        filetime::set_file_times(expected.join(d), t, t).unwrap();
    }
    compare(&expected, &r);

    // Both: the included directory minus the excluded names; an excluded directory is skipped whole.
    let r = restore(
        "both",
        &[
            "--include",
            &docs,
            "--exclude",
            "*.log",
            "--exclude",
            &format!("{s}/docs/sub"),
        ],
    );
    assert_eq!(all_paths(&r), set(&["docs", "docs/a.txt"]));

    // A single file by its path; a symlink comes back as a symlink.
    let r = restore("file", &["--include", &format!("{s}/links/l")]);
    assert_eq!(all_paths(&r), set(&["links", "links/l"]));
    assert_eq!(
        fs::read_link(r.join("links/l")).unwrap(),
        Path::new("../docs/a.txt")
    );

    // Nothing matches.
    let target = env.path("nothing");
    // An include that matches nothing is a mistake, not an empty restore: exit 1, the
    // pattern named, nothing written.
    let (_, err) = env.code(
        1,
        &[
            "restore",
            &id,
            "--target",
            target.to_str().unwrap(),
            "--include",
            "no-such-name",
        ],
    );
    assert!(
        err.contains("--include \"no-such-name\": matches nothing"),
        "{err}"
    );
    assert!(!target.exists());
}

#[test]
fn roundtrip_restore_verify() {
    let env = Env::new();
    let src = env.path("src");
    gen::generate_with(&src, 5, &Spec::small());
    let id = env.backup(&src, &[]);
    let target = env.path("r");
    let out = env.ok(&[
        "restore",
        &id,
        "--target",
        target.to_str().unwrap(),
        "--verify",
    ]);
    // Every distinct file is read back (further names of a hard-linked file are links to it).
    let (_, inodes) = gen::count_files(&src);
    assert!(
        out.contains(&format!("verified {inodes} files against the snapshot")),
        "{out}"
    );
    compare(&src, &target.join(src.strip_prefix("/").unwrap()));
}

#[test]
fn roundtrip_ls_diff_snapshots_json() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(src.join("dir")).unwrap();
    fs::write(src.join("a.txt"), "alpha\n").unwrap();
    fs::write(src.join("dir/b.bin"), vec![1u8; 1000]).unwrap();
    fs::write(src.join("empty"), "").unwrap();
    std::os::unix::fs::symlink("a.txt", src.join("link")).unwrap();
    fs::set_permissions(src.join("a.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    let t = FileTime::from_unix_time(1_620_284_889, 123_456_789); // 2021-05-06 07:08:09 UTC
    filetime::set_file_times(src.join("a.txt"), t, t).unwrap();
    let s = src.to_str().unwrap().to_string();

    let v1 = env.backup_json(&src, &["--tag", "t1", "--tag", "t2"]);
    let s1 = v1["id"].as_str().unwrap().to_string();

    // ls: every path, the directories above the source included, in name order.
    let mut expected: Vec<String> = src
        .ancestors()
        .filter(|a| *a != Path::new("/"))
        .map(|a| a.to_str().unwrap().to_string())
        .collect();
    expected.reverse();
    for p in ["a.txt", "dir", "dir/b.bin", "empty", "link"] {
        expected.push(format!("{s}/{p}"));
    }
    let out = env.ok(&["ls", &s1]);
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
    let out = env.ok(&["ls", &s1[..8], &s]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        expected[expected.len() - 5..]
    );
    let out = env.ok(&["ls", "--long", "latest", &format!("{s}/a.txt")]);
    assert_eq!(
        out,
        format!(
            "-0640 {:>8} {:>8} {:>12} 2021-05-06 07:08:09 {s}/a.txt\n",
            "root", "root", 6
        )
    );
    let out = env.ok(&["ls", "-l", &s1, &format!("{s}/link")]);
    assert!(
        out.starts_with("l0777 ") && out.trim_end().ends_with(&format!("{s}/link -> a.txt")),
        "{out}"
    );
    let (_, err) = env.code(1, &["ls", &s1, &format!("{s}/nope")]);
    assert!(err.contains("nope: no such entry"), "{err}");

    // Changes: modified content (M), metadata only (U), removed (-), added (+).
    fs::write(src.join("a.txt"), "alpha two\n").unwrap();
    fs::set_permissions(src.join("dir/b.bin"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(src.join("empty")).unwrap();
    fs::write(src.join("new.txt"), "new").unwrap();
    fs::create_dir_all(src.join("newdir/with")).unwrap();
    fs::write(src.join("newdir/with/file"), "f").unwrap();
    let v2 = env.backup_json(&src, &[]);
    let s2 = v2["id"].as_str().unwrap().to_string();

    let out = env.ok(&["diff", &s1, &s2]);
    let want = [
        format!("M    {s}/a.txt"),
        format!("U    {s}/dir/b.bin"),
        format!("-    {s}/empty"),
        format!("+    {s}/new.txt"),
        format!("+    {s}/newdir"),
        format!("+    {s}/newdir/with"),
        format!("+    {s}/newdir/with/file"),
        String::new(),
        "4 added, 1 removed, 2 modified".to_string(),
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
    let out = env.ok(&["diff", &s1, &s1]);
    assert_eq!(out, "\n0 added, 0 removed, 0 modified\n");

    // snapshots --json: both, oldest first, with the documented fields.
    let snaps = env.snapshots();
    assert_eq!(snaps.len(), 2);
    let (j1, j2) = (&snaps[0], &snaps[1]);
    assert_eq!(j1["id"], s1.as_str());
    assert_eq!(j2["id"], s2.as_str());
    assert_eq!(j1["short_id"], &s1[..8]);
    for j in [j1, j2] {
        let time = j["time"].as_str().unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(time)
            .unwrap_or_else(|e| panic!("time {time:?}: {e}"));
        let age = chrono::Utc::now().signed_duration_since(parsed);
        assert!(
            age.num_seconds() >= 0 && age.num_minutes() < 10,
            "time {time}"
        );
        assert_eq!(j["paths"], serde_json::json!([s]));
        assert!(j["host"].as_str().is_some_and(|h| !h.is_empty()));
    }
    // The first had no parent: it read everything and is full; the second continued from it.
    assert_eq!(
        (&j1["type"], &j2["type"]),
        (&"full".into(), &"incremental".into())
    );
    let t1: chrono::DateTime<chrono::Utc> = j1["time"].as_str().unwrap().parse().unwrap();
    let tb: chrono::DateTime<chrono::Utc> = v1["time"].as_str().unwrap().parse().unwrap();
    assert_eq!(t1, tb, "snapshots and backup agree on the time");
    assert_eq!(j1["tags"], serde_json::json!(["t1", "t2"]));
    assert_eq!(j2["tags"], serde_json::json!([]));
    assert_eq!(j1["parent"], Value::Null);
    assert_eq!(j2["parent"], s1.as_str());
    let sum1 = &j1["summary"];
    assert_eq!(sum1["files_new"], 3);
    assert_eq!(sum1["files_changed"], 0);
    assert_eq!(sum1["dirs"], 2);
    assert_eq!(sum1["bytes_total"], 1006);
    assert_eq!(sum1["bytes_read"], 1006);
    assert_eq!(sum1["errors"], serde_json::json!([]));
    let sum2 = &j2["summary"];
    assert_eq!(sum2["files_new"], 2, "{sum2:#}");
    assert_eq!(sum2["files_changed"], 2, "{sum2:#}");
    assert_eq!(sum2["files_unchanged"], 0, "{sum2:#}");
    assert_eq!(sum2["dirs"], 4, "{sum2:#}");
    assert_eq!(sum2["bytes_total"], 10 + 1000 + 3 + 1);
    assert_eq!(j1["summary"], v1["summary"]);

    let tagged: Value =
        serde_json::from_str(&env.ok(&["snapshots", "--json", "--tag", "t2"])).unwrap();
    assert_eq!(tagged.as_array().unwrap().len(), 1);
    assert_eq!(tagged[0]["id"], s1.as_str());
    let text = env.ok(&["snapshots"]);
    assert!(text.contains(&s1[..8]) && text.contains(&s2[..8]), "{text}");
    assert!(text.trim_end().ends_with("2 snapshots"), "{text}");
}
