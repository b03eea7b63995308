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
