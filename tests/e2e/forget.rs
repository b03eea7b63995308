//! `vcd forget`: the specification's backup schedule run for 400 days with its three retention
//! policies applied after every day (the survivors are listed by hand from the calendar, and
//! each restores as its day's tree was); bad input refused with nothing deleted; a policy that
//! would empty a group; an exclusive lock; and what the table, the JSON and a dry run show.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Datelike, NaiveDate, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::Env;

/// Files under a root: relative path → content.
type Tree = BTreeMap<String, Vec<u8>>;

const SUBTREES: [&str; 3] = ["critical", "important", "optional"];

/// A small source that changes a little every day: a few files rewritten, sometimes one added
/// or removed. Its content is kept in memory, so each day's tree can be compared later.
struct Source {
    root: PathBuf,
    rng: StdRng,
    files: Tree,
    added: u32,
}

impl Source {
    fn new(root: PathBuf, seed: u64) -> Self {
        let mut s = Source {
            root,
            rng: StdRng::seed_from_u64(seed),
            files: Tree::new(),
            added: 0,
        };
        for sub in SUBTREES {
            fs::create_dir_all(s.root.join(sub)).unwrap();
            for i in 0..6 {
                s.write(&format!("{sub}/f{i}"));
            }
        }
        s
    }

    /// Writes new random content, with an mtime of its own so an incremental backup can never
    /// take it for unchanged.
    fn write(&mut self, rel: &str) {
        let len = self.rng.gen_range(20..400);
        let data: Vec<u8> = (0..len).map(|_| self.rng.gen()).collect();
        let p = self.root.join(rel);
        fs::write(&p, &data).unwrap();
        let stamp = 1_700_000_000 + i64::from(self.added) * 1000 + self.files.len() as i64;
        filetime::set_file_mtime(&p, filetime::FileTime::from_unix_time(stamp, 0)).unwrap();
        self.added += 1;
        self.files.insert(rel.to_string(), data);
    }

    fn next_day(&mut self) {
        for _ in 0..2 {
            let n = self.rng.gen_range(0..self.files.len());
            let rel = self.files.keys().nth(n).unwrap().clone();
            self.write(&rel);
        }
        if self.rng.gen_bool(0.3) {
            let sub = SUBTREES[self.rng.gen_range(0..3)];
            let rel = format!("{sub}/n{}", self.added);
            self.write(&rel);
        }
        if self.rng.gen_bool(0.2) && self.files.len() > 12 {
            let n = self.rng.gen_range(0..self.files.len());
            let rel = self.files.keys().nth(n).unwrap().clone();
            fs::remove_file(self.root.join(&rel)).unwrap();
            self.files.remove(&rel);
        }
    }
}

/// Every regular file under `root`, by path relative to it.
fn read_tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = Tree::new();
    walk(root, root, &mut out);
    out
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Snapshots kept and removed by a `forget --json` run, over all its groups.
fn kept_removed(v: &serde_json::Value) -> (usize, usize) {
    let rows: Vec<&serde_json::Value> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["snapshots"].as_array().unwrap())
        .collect();
    let kept = rows.iter().filter(|r| r["keep"] == true).count();
    (kept, rows.len() - kept)
}

// The survivors of the 400-day run, from the calendar. The run covers 1 June 2027 to 4 July
// 2028 (the 400th day, a Tuesday).
//
// Daily (`--keep-within 30d`, relative to the newest daily, 4 July 02:00): 5 June 02:00 is
// exactly 30 days older, so not younger than 30 days; the 30 days 5 June to 4 July stay.
const DAILY: [&str; 30] = [
    "2028-06-05",
    "2028-06-06",
    "2028-06-07",
    "2028-06-08",
    "2028-06-09",
    "2028-06-10",
    "2028-06-11",
    "2028-06-12",
    "2028-06-13",
    "2028-06-14",
    "2028-06-15",
    "2028-06-16",
    "2028-06-17",
    "2028-06-18",
    "2028-06-19",
    "2028-06-20",
    "2028-06-21",
    "2028-06-22",
    "2028-06-23",
    "2028-06-24",
    "2028-06-25",
    "2028-06-26",
    "2028-06-27",
    "2028-06-28",
    "2028-06-29",
    "2028-06-30",
    "2028-07-01",
    "2028-07-02",
    "2028-07-03",
    "2028-07-04",
];
// Weekly (`--keep-within 12w`, relative to the newest weekly, Sunday 2 July 01:00): 9 April is
// exactly 12 weeks older; the 12 Sundays 16 April to 2 July stay.
const WEEKLY: [&str; 12] = [
    "2028-04-16",
    "2028-04-23",
    "2028-04-30",
    "2028-05-07",
    "2028-05-14",
    "2028-05-21",
    "2028-05-28",
    "2028-06-04",
    "2028-06-11",
    "2028-06-18",
    "2028-06-25",
    "2028-07-02",
];
// Monthly (`--keep-monthly 12`): 14 first Sundays fall in the run (6 June 2027 to 2 July
// 2028); the newest 12 stay, from August 2027.
const MONTHLY: [&str; 12] = [
    "2027-08-01",
    "2027-09-05",
    "2027-10-03",
    "2027-11-07",
    "2027-12-05",
    "2028-01-02",
    "2028-02-06",
    "2028-03-05",
    "2028-04-02",
    "2028-05-07",
    "2028-06-04",
    "2028-07-02",
];

/// The specification's schedule: a daily incremental backup of the critical and important data
/// at 02:00 UTC (tag `daily`), a weekly full backup of everything every Sunday at 01:00 (tag
/// `weekly`), a monthly full backup of everything on the first Sunday at 00:00 (tag
/// `monthly`); and its three policies: dailies kept 30 days (`--keep-within 30d`, after every
/// day), weeklies 12 weeks (`--keep-within 12w`: "kept 12 weeks" is a span of time, like the
/// dailies' 30 days; with one weekly a week it keeps what `--keep-weekly 12` would), monthlies
/// 12 months (`--keep-monthly 12`), both every Sunday and on every 15th.
#[test]
fn four_hundred_days_of_the_specification_schedule() {
    let started = Instant::now();
    let e = Env::with_cheap_key();
    let data = e.path("data");
    let mut src = Source::new(data.clone(), 13);
    let crit = data.join("critical");
    let imp = data.join("important");
    let (crit, imp, all) = (
        crit.to_str().unwrap(),
        imp.to_str().unwrap(),
        data.to_str().unwrap(),
    );
    let first = NaiveDate::from_ymd_opt(2027, 6, 1).unwrap();
    // The tree of each day, and the (tag, day) of each snapshot.
    let mut trees: BTreeMap<NaiveDate, Tree> = BTreeMap::new();
    let mut made: BTreeMap<String, (String, NaiveDate)> = BTreeMap::new();
    let (mut sundays, mut first_sundays, mut forgets) = (0usize, 0usize, 0usize);
    // Per tag: snapshots in the repository, and snapshots made so far.
    let mut held: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut backup = |tag: &str, day: NaiveDate, hour: u32, paths: &[&str], full: bool| {
        let time = format!("{day}T{hour:02}:00:00Z");
        let mut args = vec!["backup", "--json", "--tag", tag, "--time", &time];
        if full {
            args.extend(["--type", "full"]);
        }
        args.extend(paths);
        let id = json(&e.ok(&args))["id"].as_str().unwrap().to_string();
        made.insert(id, (tag.to_string(), day));
    };
    for i in 0..400 {
        let day = first + chrono::Days::new(i);
        if i > 0 {
            src.next_day();
        }
        trees.insert(day, src.files.clone());
        let sunday = day.weekday() == Weekday::Sun;
        if sunday && day.day() <= 7 {
            backup("monthly", day, 0, &[all], true);
            first_sundays += 1;
        }
        if sunday {
            backup("weekly", day, 1, &[all], true);
            sundays += 1;
        }
        backup("daily", day, 2, &[crit, imp], false);

        // What each policy keeps follows from its rule alone: at most 30 dailies (one a day),
        // 12 weeklies (one a week), 12 monthlies (one a month); the rest goes. Weeklies and
        // monthlies change only on Sundays, and the rules count back from the newest snapshot,
        // not from today, so their policies run on Sundays, and on the 15th to show that a run
        // in between finds nothing to do (every day would be 700 more runs of vcd).
        let days = i as usize + 1;
        let weekly_run = sunday || day.day() == 15;
        for (tag, rule, made_so_far, keeps, runs) in [
            ("daily", ["--keep-within", "30d"], days, 30, true),
            ("weekly", ["--keep-within", "12w"], sundays, 12, weekly_run),
            (
                "monthly",
                ["--keep-monthly", "12"],
                first_sundays,
                12,
                weekly_run,
            ),
        ] {
            if !runs {
                continue;
            }
            let v = json(&e.ok(&["forget", "--json", "--tag", tag, rule[0], rule[1]]));
            forgets += 1;
            let before = held.entry(tag).or_default();
            *before += made_so_far - seen.insert(tag, made_so_far).unwrap_or(0);
            let after = made_so_far.min(keeps);
            assert_eq!(
                kept_removed(&v),
                (after, *before - after),
                "{day}: forget --tag {tag}"
            );
            *before = after;
        }
    }
    let run = started.elapsed();

    let mut want: Vec<(String, String)> = Vec::new();
    for (tag, days, hour) in [
        ("daily", &DAILY[..], 2),
        ("weekly", &WEEKLY, 1),
        ("monthly", &MONTHLY, 0),
    ] {
        want.extend(
            days.iter()
                .map(|d| (tag.to_string(), format!("{d}T{hour:02}:00:00Z"))),
        );
    }
    want.sort();
    let survivors = e.snapshots();
    let mut got: Vec<(String, String)> = survivors
        .iter()
        .map(|s| {
            let tags = s["tags"].as_array().unwrap();
            assert_eq!(tags.len(), 1, "{s}");
            (
                tags[0].as_str().unwrap().to_string(),
                s["time"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, want);

    for s in &survivors {
        let id = s["id"].as_str().unwrap();
        let (tag, day) = &made[id];
        let target = e.path(&format!("r-{}", &id[..12]));
        e.ok(&["restore", id, "--target", target.to_str().unwrap()]);
        let restored = read_tree(&target.join(data.strip_prefix("/").unwrap()));
        let mut expect = trees[day].clone();
        if tag == "daily" {
            expect.retain(|k, _| !k.starts_with("optional/"));
        }
        assert!(
            restored == expect,
            "{tag} snapshot of {day} ({id}) does not restore that day's tree"
        );
    }
    e.ok(&["check"]);
    eprintln!(
        "400 days: {} backups and {forgets} forgets in {:.1} s, {} survivors restored and checked, {:.1} s in all",
        made.len(),
        run.as_secs_f64(),
        survivors.len(),
        started.elapsed().as_secs_f64()
    );
}

/// A repository with snapshots from two hosts of one small source: host `a` on 1 to 4 January
/// 2027 (the one of the 2nd also tagged `keep`), host `b` on the 3rd. Ids by (host, day).
fn two_hosts() -> (Env, BTreeMap<(&'static str, u32), String>) {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    fs::create_dir_all(&src).unwrap();
    let mut ids = BTreeMap::new();
    for (host, day) in [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("b", 3)] {
        fs::write(src.join("f"), format!("{host} {day}")).unwrap();
        let time = format!("2027-01-0{day}T02:00:00Z");
        let mut args = vec!["--host", host, "--time", &time, "--tag", "daily"];
        if (host, day) == ("a", 2) {
            args.extend(["--tag", "keep"]);
        }
        ids.insert((host, day), e.backup(&src, &args));
    }
    (e, ids)
}

fn ids_left(e: &Env) -> Vec<String> {
    let mut v: Vec<String> = e
        .snapshots()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn bad_input_is_refused_and_deletes_nothing() {
    let (e, ids) = two_hosts();
    let all = ids_left(&e);
    assert_eq!(all.len(), 5);
    let a1 = ids[&("a", 1)].as_str();
    let refused: [(&[&str], &str); 10] = [
        // Every id is resolved before anything is deleted: the known one stays too.
        (
            &["forget", a1, "ffffffff"],
            "no snapshot matches \"ffffffff\"",
        ),
        (&["forget", a1, "--keep-last", "1"], "contradict"),
        (&["forget", a1, "--keep-last", "0"], "contradict"),
        (&["forget", a1, "--keep-tag", "keep"], "contradict"),
        (
            &["forget", a1, "--host", "a"],
            "do not apply to snapshots named by id",
        ),
        (&["forget"], "no keep rule given"),
        (
            &["forget", "--host", "a", "--dry-run"],
            "no keep rule given",
        ),
        (
            &[
                "forget",
                "--keep-last",
                "0",
                "--keep-daily",
                "0",
                "--keep-within",
                "0d",
            ],
            "no keep rule given",
        ),
        (
            &["forget", "--keep-last", "1", "--tz", "Mars/Olympus"],
            "unknown time zone",
        ),
        (
            &["--no-lock", "forget", "--keep-last", "1"],
            "--no-lock is for commands that only read",
        ),
    ];
    for (args, says) in refused {
        let (out, err) = e.code(1, args);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert_eq!(ids_left(&e), all, "{args:?} deleted something");
    }
    // Flags clap rejects are usage errors (exit 2).
    for args in [
        &["forget", "--keep-within", "30x"][..],
        &["forget", "--keep-daily=-1"],
        &["forget", "--keep-last", "1", "--group-by", "host,time"],
    ] {
        let (_, err) = e.code(2, args);
        assert!(err.contains("invalid value"), "{args:?}: {err}");
    }
    assert_eq!(ids_left(&e), all);
}

/// The documented rule: a policy that keeps none of a group leaves that group whole, says which
/// group, and exits 1; the other groups are processed.
#[test]
fn a_policy_that_keeps_nothing_of_a_group_leaves_it_untouched() {
    let (e, ids) = two_hosts();
    let (out, err) = e.code(1, &["forget", "--keep-tag", "keep", "--json", "--dry-run"]);
    let v = json(&out);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["group"]["host"], "a");
    assert_eq!(groups[0]["untouched"], false);
    assert_eq!(groups[1]["group"]["host"], "b");
    assert_eq!(groups[1]["untouched"], true);
    assert!(
        err.contains("keeps no snapshot of group host b, paths "),
        "{err}"
    );
    assert_eq!(ids_left(&e).len(), 5);

    let (out, err) = e.code(1, &["forget", "--keep-tag", "keep"]);
    assert!(err.contains("keeps no snapshot of group host b"), "{err}");
    assert!(!err.contains("group host a"), "{err}");
    assert!(
        err.contains("would remove every snapshot of 1 group(s); they were left untouched"),
        "{err}"
    );
    assert!(out.contains("(group left untouched)"), "{out}");
    assert!(out.contains("removed 3 snapshot(s), kept 2"), "{out}");
    let mut want = vec![ids[&("a", 2)].clone(), ids[&("b", 3)].clone()];
    want.sort();
    assert_eq!(ids_left(&e), want);

    // Named snapshots go whatever they are, the last of a group included.
    let b = ids[&("b", 3)].as_str();
    let out = e.ok(&["forget", &b[..8]]);
    assert!(out.contains("removed 1 snapshot(s)"), "{out}");
    assert_eq!(ids_left(&e), [ids[&("a", 2)].clone()]);
}

#[test]
fn an_exclusive_lock_stops_forget_before_it_deletes() {
    let (e, ids) = two_hosts();
    let repo = e.open_repo();
    let guard = engine::repo::lock::acquire(&repo, true).unwrap();
    let a1 = ids[&("a", 1)].as_str();
    for args in [
        &["forget", "--keep-last", "1"][..],
        &["forget", "--keep-last", "1", "--dry-run"],
        &["forget", a1],
    ] {
        let (_, err) = e.code(11, args);
        assert!(err.contains("repository is locked"), "{args:?}: {err}");
        assert_eq!(ids_left(&e).len(), 5, "{args:?}");
    }
    drop(guard);
    // Forget takes a shared lock: a held shared lock (a backup running) does not stop it.
    let shared = engine::repo::lock::acquire(&repo, false).unwrap();
    e.ok(&["forget", "--keep-last", "1"]);
    drop(shared);
    let mut want = vec![ids[&("a", 4)].clone(), ids[&("b", 3)].clone()];
    want.sort();
    assert_eq!(ids_left(&e), want);
}

/// Ten daily snapshots, 1 to 10 January 2027 (the 10th a Sunday), kept by `--keep-daily 3
/// --keep-weekly 2`: the 10th (daily 1 and the newest of its ISO week), the 9th and 8th
/// (daily 2, 3), the 3rd (the newest of the week before, 28 December to 3 January).
#[test]
fn table_and_json_name_the_rules_and_a_dry_run_deletes_nothing() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    fs::create_dir_all(&src).unwrap();
    let mut by_day = BTreeMap::new();
    for day in 1..=10 {
        fs::write(src.join("f"), format!("day {day}")).unwrap();
        let time = format!("2027-01-{day:02}T02:00:00Z");
        by_day.insert(
            day,
            e.backup(&src, &["--time", &time, "--category", "critical"]),
        );
    }
    let policy = ["--keep-daily", "3", "--keep-weekly", "2"];
    let reasons = [
        (10, "daily 1, weekly 1"),
        (9, "daily 2"),
        (8, "daily 3"),
        (3, "weekly 2"),
    ];

    let out = e.ok(&[&["forget", "--dry-run"][..], &policy].concat());
    let line = |day: u32| {
        let short = &by_day[&day][..8];
        out.lines()
            .find(|l| l.trim_start().starts_with(short))
            .unwrap_or_else(|| panic!("no row for day {day}:\n{out}"))
            .to_string()
    };
    assert!(out.contains("reasons"), "{out}");
    for (day, why) in reasons {
        let l = line(day);
        assert!(l.contains(&format!("2027-01-{day:02} 02:00:00")), "{l}");
        assert!(
            l.contains(" keep ") && l.contains(&format!("  {why}  ")),
            "{l}"
        );
        assert!(l.contains("critical"), "{l}");
    }
    for day in [1, 2, 4, 5, 6, 7] {
        let l = line(day);
        assert!(l.contains(" would remove "), "{l}");
    }
    assert!(
        out.contains("dry run: would remove 6 snapshot(s), keep 4; nothing was removed"),
        "{out}"
    );
    assert_eq!(ids_left(&e).len(), 10);

    let v = json(&e.ok(&[&["forget", "--dry-run", "--json"][..], &policy].concat()));
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["removed"], serde_json::json!([]));
    let rows = v["groups"][0]["snapshots"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0]["id"], by_day[&10].as_str());
    assert_eq!(rows[0]["time"], "2027-01-10T02:00:00Z");
    assert_eq!(
        rows[0]["reasons"],
        serde_json::json!([{"rule": "daily", "bucket": 1}, {"rule": "weekly", "bucket": 1}])
    );
    let doomed: Vec<&str> = rows
        .iter()
        .filter(|r| r["keep"] == false)
        .map(|r| {
            assert_eq!(r["reasons"], serde_json::json!([]));
            r["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids_left(&e).len(), 10);

    // The real run removes exactly what the dry run listed.
    let v = json(&e.ok(&[&["forget", "--json"][..], &policy].concat()));
    assert_eq!(v["dry_run"], false);
    let mut removed: Vec<&str> = v["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    removed.sort();
    let mut doomed = doomed;
    doomed.sort();
    assert_eq!(removed, doomed);
    let mut want: Vec<String> = reasons.iter().map(|(d, _)| by_day[d].clone()).collect();
    want.sort();
    assert_eq!(ids_left(&e), want);
    // Run again: nothing more to remove.
    let v = json(&e.ok(&[&["forget", "--json"][..], &policy].concat()));
    assert_eq!(v["removed"], serde_json::json!([]));

    // A within rule and a tag rule in JSON.
    let v = json(&e.ok(&["forget", "--dry-run", "--json", "--keep-within", "1d"]));
    let rows = v["groups"][0]["snapshots"].as_array().unwrap();
    assert_eq!(
        rows[0]["reasons"],
        serde_json::json!([{"rule": "within", "within": "1d"}])
    );
}

/// Days are UTC days unless `--tz` says otherwise: 03:00 UTC on 10 March is the evening of the
/// 9th in New York.
#[test]
fn a_time_zone_moves_a_snapshot_into_another_day() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"x").unwrap();
    let early = e.backup(&src, &["--time", "2027-03-10T03:00:00Z"]);
    let late = e.backup(&src, &["--time", "2027-03-10T15:00:00Z"]);
    let kept = |extra: &[&str]| -> Vec<String> {
        let v = json(
            &e.ok(&[
                &["forget", "--dry-run", "--json", "--keep-daily", "2"][..],
                extra,
            ]
            .concat()),
        );
        v["groups"][0]["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["keep"] == true)
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(kept(&[]), std::slice::from_ref(&late));
    assert_eq!(kept(&["--tz", "America/New_York"]), [late, early.clone()]);
    let out = e.ok(&[
        "forget",
        "--dry-run",
        "--keep-daily",
        "2",
        "--tz",
        "America/New_York",
    ]);
    assert!(out.contains("time (America/New_York)"), "{out}");
    let row = out
        .lines()
        .find(|l| l.trim_start().starts_with(&early[..8]))
        .unwrap();
    assert!(
        row.contains("2027-03-09 22:00:00") && row.contains("daily 2"),
        "{row}"
    );
}
