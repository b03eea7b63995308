//! What the CLI writes: write errors on stdout (exit 1, locks released; a closed pipe ends
//! quietly), `cat lock`, progress lines without a terminal, the JSON time format, backup
//! warnings, and tables sized to their content.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::{Env, NOBODY};
use crate::crash::fx;

fn source(e: &Env) -> PathBuf {
    let src = e.path("src");
    fx::tree(&src, &mut StdRng::seed_from_u64(0x07), 12, &[1 << 20]);
    src
}

/// Files under the repository's locks/ directory.
fn locks(e: &Env) -> Vec<String> {
    std::fs::read_dir(e.repo().join("locks"))
        .map(|d| {
            d.map(|x| x.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `vcd args` with stdout going to /dev/full.
fn to_dev_full(e: &Env, args: &[&str]) -> (Option<i32>, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = e.cmd(args).stdout(full).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn write_error_on_stdout_exits_1_and_releases_the_lock() {
    let e = Env::new();
    let src = source(&e);
    e.backup(&src, &[]);
    for args in [&["snapshots"][..], &["check"], &["ls", "latest"]] {
        let (code, err) = to_dev_full(&e, args);
        assert_eq!(code, Some(1), "vcd {args:?} >/dev/full\nstderr:\n{err}");
        assert!(
            err.contains("writing to standard output") && err.contains("No space left"),
            "vcd {args:?}: {err}"
        );
        assert!(locks(&e).is_empty(), "vcd {args:?} left {:?}", locks(&e));
    }
}

#[test]
fn check_of_a_damaged_repository_fails_even_when_stdout_fails() {
    let e = Env::new();
    let src = source(&e);
    e.backup(&src, &[]);
    let index = std::fs::read_dir(e.repo().join("index"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&index, b"not an index file").unwrap();
    let (code, err) = to_dev_full(&e, &["check"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("repository has"), "{err}");
    assert!(locks(&e).is_empty(), "check left {:?}", locks(&e));
}

#[test]
fn closed_pipe_ends_quietly() {
    let e = Env::new();
    let src = source(&e);
    // More names than a pipe's buffer holds, so `ls` is still writing when the reader goes.
    for i in 0..3000 {
        std::fs::write(src.join(format!("file-with-a-longish-name-{i:05}")), b"").unwrap();
    }
    e.backup(&src, &[]);
    // `vcd ls latest | head -c1`: the reader goes away after one byte.
    for args in [&["snapshots"][..], &["ls", "latest"]] {
        let mut child = e
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        std::io::Read::read_exact(&mut out, &mut one).unwrap();
        drop(out);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "vcd {args:?} | head -c1: {err}");
        // Only the line saying which snapshot `latest` chose (written before the listing).
        let other: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("vcd: using snapshot "))
            .collect();
        assert!(other.is_empty(), "vcd {args:?} | head -c1 wrote: {err}");
    }
}

#[test]
fn cat_lock_prints_a_held_lock() {
    let e = Env::new();
    let repo = e.open_repo();
    let guard = engine::repo::lock::acquire(&repo, true).unwrap();
    let names = locks(&e);
    assert_eq!(names.len(), 1);
    let out = e.ok(&["cat", "lock", &names[0]]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pid"], std::process::id(), "{v:#}");
    assert_eq!(v["exclusive"], true, "{v:#}");
    assert_valid_time(&v["time"]);
    let (_, err) = e.code(1, &["cat", "lock", "0123"]);
    assert!(err.contains("no lock 0123"), "{err}");
    drop(guard);
    assert!(locks(&e).is_empty());
}

/// RFC 3339 in UTC with whole seconds and `Z`: `2026-11-28T16:20:00Z`.
fn assert_valid_time(v: &serde_json::Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    let ok = s.len() == 20
        && s.ends_with('Z')
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
        && s.as_bytes()[10] == b'T';
    assert!(ok, "time {s:?} is not RFC 3339 UTC in whole seconds with Z");
}

#[test]
fn every_json_output_writes_times_the_same_way() {
    let e = Env::new();
    let src = source(&e);
    let b = e.backup_json(&src, &[]);
    assert_valid_time(&b["time"]);
    let snaps = e.snapshots();
    assert_valid_time(&snaps[0]["time"]);
    assert_eq!(b["time"], snaps[0]["time"]);
    let id = b["id"].as_str().unwrap();
    let s: serde_json::Value = serde_json::from_str(&e.ok(&["cat", "snapshot", id])).unwrap();
    assert_valid_time(&s["time"]);
    let keys = std::fs::read_dir(e.repo().join("keys")).unwrap();
    let key = keys.into_iter().next().unwrap().unwrap().file_name();
    let k: serde_json::Value =
        serde_json::from_str(&e.ok(&["cat", "key", key.to_str().unwrap()])).unwrap();
    assert_valid_time(&k["created"]);
}

#[test]
fn backup_json_warnings_name_unreadable_sources() {
    let e = Env::bare();
    let src = source(&e);
    let secret = src.join("secret");
    std::fs::write(&secret, b"nobody may read this").unwrap();
    crate::common::nobody_cannot_read(&e, &secret);
    let run = |args: &[&str]| e.cmd(args).uid(NOBODY).gid(NOBODY).output().unwrap();
    assert!(run(&["init"]).status.success());
    let o = run(&["backup", "--json", src.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors = v["summary"]["errors"].as_array().unwrap();
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{v:#}");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains(secret.to_str().unwrap())),
        "warnings do not name the unreadable file: {v:#}"
    );
}

/// Progress lines as printed without a terminal, made frequent for the test.
fn progress_lines(e: &Env, args: &[&str], what: &str) -> Vec<String> {
    let o = e
        .cmd(args)
        .env("VCD_PROGRESS_INTERVAL_MS", "20")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "vcd {args:?}: {err}");
    let lines: Vec<String> = err
        .lines()
        .filter(|l| l.starts_with(&format!("{what}: ")))
        .map(String::from)
        .collect();
    assert!(!lines.is_empty(), "no progress lines:\n{err}");
    lines
}

#[test]
fn progress_lines_without_a_terminal_carry_totals_and_percentages() {
    let e = Env::new();
    let src = source(&e);
    // Besides the tree's symlink: a second name for a file.
    std::fs::hard_link(src.join("big0.bin"), src.join("big0-again")).unwrap();
    let id = e.backup(&src, &[]);
    let v = &e.snapshots()[0]["summary"];
    let files = v["files_new"].as_u64().unwrap();
    let target = e.path("r");
    let args = [
        "restore",
        &id,
        "--target",
        target.to_str().unwrap(),
        "--verify",
    ];
    let lines = progress_lines(&e, &args, "restore");
    let last = lines.last().unwrap();
    // Every name of a regular file counts, as in the snapshot's summary; the symlink does not.
    assert!(
        last.starts_with(&format!("restore: {files}/{files} files, ")) && last.contains("(100%)"),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| l.contains('%')), "{lines:#?}");

    // The summary counts what the progress counted, and verifies as many as it wrote.
    let out = e.ok(&[
        "restore",
        &id,
        "--target",
        e.path("r2").to_str().unwrap(),
        "--verify",
    ]);
    let written = files - 1;
    assert!(
        out.contains(&format!(
            ": {written} files, 1 hard links, 1 symlinks and special files"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "verified {written} files against the snapshot (of the {written} files written"
        )),
        "{out}"
    );

    let lines = progress_lines(&e, &["check", "--read-data"], "check");
    let last = lines.last().unwrap();
    assert!(
        last.contains(" packs, ") && last.contains("(100%)"),
        "{lines:#?}"
    );
    assert!(!last.contains("/0 B"), "{lines:#?}");

    let lines = progress_lines(&e, &["backup", src.to_str().unwrap()], "backup");
    assert!(lines.last().unwrap().contains(" files, "), "{lines:#?}");
}

#[test]
fn tables_stay_aligned_with_long_tags() {
    let e = Env::new();
    let src = source(&e);
    e.backup(
        &src,
        &["--tag", "a-tag-much-longer-than-the-column-once-was"],
    );
    e.backup(&src, &[]);
    let out = e.ok(&["snapshots"]);
    let lines: Vec<&str> = out.lines().collect();
    // The size column is right-aligned: every row's size ends where the header's does.
    let end = lines[0].find("size").unwrap() + "size".len();
    for l in &lines[1..3] {
        assert!(l[..end].ends_with('B'), "misaligned:\n{out}");
        assert_eq!(&l[end..end + 2], "  ", "misaligned:\n{out}");
    }
    let stats = e.ok(&["stats"]);
    let cols: Vec<usize> = stats
        .lines()
        .map(|l| {
            l.find(':').unwrap() + 1 + l[l.find(':').unwrap() + 1..].find(|c| c != ' ').unwrap()
        })
        .collect();
    assert!(
        cols.windows(2).all(|w| w[0] == w[1]),
        "stats misaligned:\n{stats}"
    );
}

/// The commands a script watches print JSON with `--json`: check, restore, key list (one
/// document), ls and diff (JSON Lines), with times in one format (RFC 3339, UTC, `Z`).
#[test]
fn check_restore_ls_diff_and_key_list_speak_json() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("d/a"), b"alpha").unwrap();
    let first = e.backup(&src, &[]);
    std::fs::write(src.join("d/b"), b"bravo").unwrap();
    let second = e.backup(&src, &[]);
    let doc = |args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&e.ok(args)).unwrap_or_else(|err| panic!("{args:?}: {err}"))
    };
    let lines = |args: &[&str]| -> Vec<serde_json::Value> {
        e.ok(args)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|err| panic!("{l}: {err}")))
            .collect()
    };
    let c = doc(&["check", "--json"]);
    assert_eq!((&c["ok"], &c["snapshots"]), (&true.into(), &2.into()));
    let t = e.path("t");
    let r = doc(&[
        "restore",
        &second,
        "--target",
        t.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        (&r["files"], &r["snapshot"]),
        (&2.into(), &second.clone().into())
    );
    assert!(r["restoration"].as_str().unwrap().len() == 64, "{r}");
    let d = lines(&["diff", &first, &second, "--json"]);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0]["change"], "added");
    assert!(d[0]["path"].as_str().unwrap().ends_with("/d/b"));
    assert_eq!(
        (&d[1]["type"], &d[1]["added"]),
        (&"summary".into(), &1.into())
    );
    let dir = format!("{}/d", src.display());
    let l = lines(&["ls", &second, &dir, "--json"]);
    assert_eq!(l.len(), 2, "the directory's two files: {l:?}");
    let a = l
        .iter()
        .find(|x| x["path"].as_str().unwrap().ends_with("/a"))
        .unwrap();
    assert_eq!((&a["type"], &a["size"]), (&"file".into(), &5.into()));
    assert!(a["mtime"].as_str().unwrap().ends_with('Z'), "{a}");
    let k = doc(&["key", "list", "--json"]);
    assert_eq!(k.as_array().unwrap().len(), 1);
    assert_eq!(k[0]["current"], true);
    let created = k[0]["created"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok() && created.ends_with('Z'));
}
