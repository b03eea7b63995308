//! The specification's policy run for 400 simulated days: the scheduler's clock is injected,
//! the backups are real (of a generated tree that changes at every run, recorded at the
//! simulated times), and what survives is checked against date lists written from the
//! calendar, not computed by the code under test.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};

use super::*;
use crate::format::snapshot::BackupType;
use crate::ops::system::BackupSystem;
use crate::policy::config::{check, DEFAULT};
use crate::policy::scheduler::{self, History};
use crate::repo::testing::mem_repo;

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

/// The default configuration with its categories' paths moved under `src`.
fn config_under(src: &Path) -> Config {
    let mut text = String::new();
    let mut n = 0;
    for line in DEFAULT.lines() {
        if line.starts_with("paths = ") {
            let dirs: &[&str] = match n {
                0 => &["critical/etc", "critical/spr"],
                1 => &["important"],
                _ => &["optional"],
            };
            n += 1;
            let list: Vec<String> = dirs
                .iter()
                .map(|d| format!("{:?}", src.join(d).to_str().unwrap()))
                .collect();
            text.push_str(&format!("paths = [{}]\n", list.join(", ")));
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    assert_eq!(n, 3);
    let (c, d) = check(&text);
    c.unwrap_or_else(|| panic!("{d:#?}"))
}

/// Every category's directories get four files; each day the first of each changes, and the
/// critical category has a `.tmp` file its exclude leaves out.
fn change(src: &Path, now: DateTime<Utc>) {
    for d in ["critical/etc", "critical/spr", "important", "optional"] {
        let dir = src.join(d);
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..4 {
            let p = dir.join(format!("f{f}"));
            if !p.exists() || f == 0 {
                let line = format!("{d}/f{f} at {now}\n");
                std::fs::write(&p, line.repeat(200 + f as usize * 50)).unwrap();
                // The simulated time as its mtime: two writes within one tick of the kernel's
                // clock would otherwise look alike to an incremental backup.
                std::fs::File::options()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_modified(now.into())
                    .unwrap();
            }
        }
    }
    std::fs::write(src.join("critical/etc/scratch.tmp"), b"never backed up").unwrap();
}

fn days(from: &str, n: usize) -> Vec<String> {
    let d = chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap();
    (0..n)
        .map(|i| (d + Duration::days(i as i64)).to_string())
        .collect()
}

#[test]
fn the_specifications_policy_over_400_days_keeps_what_it_promises_and_runs_on_time() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let c = config_under(&src);
    let repo = mem_repo();
    let start = utc(2026, 10, 20, 12); // a Tuesday
    let end = start + Duration::days(400); // Wednesday 24 November 2027, noon
    change(&src, start);

    let mut history = History::default();
    history.settle(&c, start);
    let mut runs: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut now = start;
    while let Some(t) = scheduler::next_wake(&c, &history, now) {
        if t > end {
            break;
        }
        now = t;
        if now.hour() == 2 {
            change(&src, now);
        }
        for d in scheduler::due(&c, &history, now) {
            assert_eq!(d.missed, 1, "{d:?}: the clock went straight to it");
            let opts = RunOptions {
                time: Some(now),
                ..Default::default()
            };
            let r = run(&repo, &c, &d.job, &opts, &Progress::default()).unwrap();
            assert!(r.complete(), "{} at {now}: {r:?}", d.job);
            runs.entry(d.job.clone()).or_default().push(now);
            history.ran(&d.job, now);
        }
    }

    // Each job ran at its time, every time.
    let at = |job: &str, h: u32| {
        assert!(
            runs[job].iter().all(|t| t.hour() == h && t.minute() == 0),
            "{job}"
        );
    };
    at("daily", 2);
    at("weekly", 1);
    at("monthly", 0);
    at("prune", 4);
    at("check", 5);
    let daily: Vec<String> = runs["daily"]
        .iter()
        .map(|t| t.date_naive().to_string())
        .collect();
    assert_eq!(daily, days("2026-10-21", 400));
    let sundays = |job: &str| -> Vec<String> {
        assert!(runs[job].iter().all(|t| t.weekday() == Weekday::Sun));
        runs[job]
            .iter()
            .map(|t| t.date_naive().to_string())
            .collect()
    };
    let weekly = sundays("weekly");
    assert_eq!(weekly.len(), 57);
    assert_eq!(
        (weekly[0].as_str(), weekly[56].as_str()),
        ("2026-10-25", "2027-11-21")
    );
    assert!(runs["weekly"]
        .windows(2)
        .all(|w| w[1] - w[0] == Duration::weeks(1)));
    assert_eq!(sundays("prune"), weekly);
    // The first Sunday of each month: November 2026 and August 2027 begin on a Sunday (the
    // 1st, not the 8th), and the year turns between December and January.
    let first_sundays = [
        "2026-11-01",
        "2026-12-06",
        "2027-01-03",
        "2027-02-07",
        "2027-03-07",
        "2027-04-04",
        "2027-05-02",
        "2027-06-06",
        "2027-07-04",
        "2027-08-01",
        "2027-09-05",
        "2027-10-03",
        "2027-11-07",
    ];
    assert_eq!(sundays("monthly"), first_sundays);
    assert_eq!(sundays("check"), first_sundays);

    // What survives: each job's own retention, over its own snapshots.
    let snaps = repo.snapshots().unwrap();
    let mut kept: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &snaps {
        kept.entry(s.snap.job.clone().unwrap())
            .or_default()
            .push(s.snap.time.date_naive().to_string());
    }
    for v in kept.values_mut() {
        v.sort();
    }
    // 30 days of dailies: the newest (24 November) and the 29 days before it.
    assert_eq!(kept["daily"], days("2027-10-26", 30));
    // 12 weekly fulls: the newest Sunday and the 11 before it.
    assert_eq!(
        kept["weekly"],
        [
            "2027-09-05",
            "2027-09-12",
            "2027-09-19",
            "2027-09-26",
            "2027-10-03",
            "2027-10-10",
            "2027-10-17",
            "2027-10-24",
            "2027-10-31",
            "2027-11-07",
            "2027-11-14",
            "2027-11-21",
        ]
    );
    // 12 monthly fulls: December 2026 to November 2027 (November 2026's is more than 12
    // months older than 7 November 2027).
    assert_eq!(kept["monthly"], first_sundays[1..]);
    assert_eq!(snaps.len(), 54);

    // Types, categories and what a full backup reads.
    let cats = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for s in &snaps {
        let sum = &s.snap.summary;
        match s.snap.job.as_deref().unwrap() {
            "daily" => {
                assert_eq!(s.snap.kind, BackupType::Incremental);
                assert_eq!(s.snap.categories, cats(&["critical", "important"]));
                // One file of each directory changed: the rest were reused, not read.
                assert_eq!((sum.files_changed, sum.files_unchanged), (3, 9), "{sum:?}");
                assert!(sum.bytes_read < sum.bytes_total / 2, "{sum:?}");
                assert_eq!(sum.files_reread, 0);
            }
            _ => {
                assert_eq!(s.snap.kind, BackupType::Full);
                assert_eq!(
                    s.snap.categories,
                    cats(&["critical", "important", "optional"])
                );
                assert_eq!(sum.bytes_read, sum.bytes_total);
                // Read again, and told apart: the four changed files from the twelve that
                // were not (all sixteen for the weekly an hour after the monthly).
                assert_eq!(sum.files_reread + sum.files_changed, 16, "{sum:?}");
                assert!(sum.files_reread >= 12, "{sum:?}");
            }
        }
        assert!(sum.errors.is_empty());
    }

    // Every survivor reads back intact, and the excluded file is in none of them.
    let sys = BackupSystem {
        repo: &repo,
        config: c.clone(),
    };
    for s in &snaps {
        let v = sys.verify_backup(&s.id.to_hex()).unwrap();
        assert!(v.ok() && v.files >= 12, "{v:?}");
        let tree = repo.load_tree(&s.snap.tree).unwrap();
        crate::ops::ls::walk::<Error>(&repo, tree, "", |e| {
            assert!(!e.path.ends_with(".tmp"), "{}", e.path);
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn the_api_creates_verifies_schedules_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let repo = mem_repo();
    let mut sys = BackupSystem {
        repo: &repo,
        config: config_under(&src),
    };
    let t0 = utc(2027, 3, 1, 9);
    change(&src, t0);
    let run = |t| RunOptions {
        time: Some(t),
        ..Default::default()
    };
    let a = sys
        .create_backup(BackupType::Incremental, &["critical".into()], &run(t0))
        .unwrap();
    // No parent: whatever was asked, every byte was read.
    assert_eq!(a.snapshot.kind, BackupType::Full);
    assert_eq!(a.snapshot.paths.len(), 2);
    change(&src, t0 + Duration::hours(1));
    let b = sys
        .create_backup(
            BackupType::Incremental,
            &["critical".into()],
            &run(t0 + Duration::hours(1)),
        )
        .unwrap();
    assert_eq!(b.snapshot.kind, BackupType::Incremental);
    assert_eq!(b.snapshot.parent, a.id);
    let v = sys.verify_backup("latest").unwrap();
    assert_eq!(v.snapshot, b.id);
    assert!(v.ok() && v.files == 8 && v.blobs_read > 0, "{v:?}");

    let next = sys
        .schedule_backup(
            "first-monday",
            "30 3 * * MON#1",
            BackupType::Full,
            &["optional".into()],
            t0,
        )
        .unwrap();
    assert_eq!(next[0], Utc.with_ymd_and_hms(2027, 4, 5, 3, 30, 0).unwrap());
    assert_eq!(next.len(), 5);
    assert!(sys
        .schedule_backup("x", "0 0 30 2 *", BackupType::Full, &[], t0)
        .is_err());
    assert!(sys
        .schedule_backup("y", "0 0 * * *", BackupType::Full, &["nope".into()], t0)
        .is_err());
    let r = run_job_named(&sys, "first-monday", t0 + Duration::hours(2));
    assert_eq!(r.snapshot.job.as_deref(), Some("first-monday"));

    let policy = crate::policy::retention::Policy {
        last: 1,
        ..Default::default()
    };
    let f = sys.cleanup_old_backups(&policy).unwrap();
    // Two groups (no job; job first-monday): the newest of each stays.
    assert_eq!(f.removed, vec![a.id.unwrap()]);
    assert_eq!(repo.snapshots().unwrap().len(), 2);
}

fn run_job_named(sys: &BackupSystem, job: &str, t: DateTime<Utc>) -> BackupResult {
    let opts = RunOptions {
        time: Some(t),
        ..Default::default()
    };
    match run(sys.repo, &sys.config, job, &opts, &Progress::default()).unwrap() {
        JobReport::Backup { backup, .. } => *backup,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_category_glob_is_expanded_at_each_run_without_following_links() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("logs");
    for d in ["app-1", "app-2", "other"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
        std::fs::write(root.join(d).join("x.log"), d).unwrap();
    }
    std::os::unix::fs::symlink(tmp.path(), root.join("app-link")).unwrap();
    let pattern = format!("{}/app-*", root.display());
    let found = expand(&pattern).unwrap();
    // The link is matched by name (and backed up as a link), not walked into.
    let names: Vec<String> = found
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["app-1", "app-2", "app-link"]);
    let deep = expand(&format!("{}/**/*.log", root.display())).unwrap();
    assert_eq!(deep.len(), 3, "{deep:?}");
    assert!(expand(&format!("{}/nothing-*", root.display()))
        .unwrap()
        .is_empty());
}
