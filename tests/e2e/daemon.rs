//! The policy run by vcd itself: `vcd run JOB` (full and incremental as a user reads them, the
//! job's zstd level, its retention over its own snapshots, its exit code), and a real
//! `vcd daemon` on the real clock (jobs every few seconds; a second daemon refused; SIGHUP with
//! a broken file keeps the old configuration; SIGTERM exits 0 and leaves no lock; missed runs
//! caught up once).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::common::Env;
use crate::gen::words as text;

/// A configuration over `e`'s repository and password file with the categories `crit`
/// (`src/crit`) and `opt` (`src/opt`), then `jobs`.
fn write_config(e: &Env, jobs: &str) -> PathBuf {
    let f = e.path("vcd.toml");
    let text = format!(
        "[repository]\npath = {:?}\npassword_file = {:?}\n\n\
         [categories.crit]\npaths = [{:?}]\n\n\
         [categories.opt]\npaths = [{:?}]\nexclude = [\"*.tmp\"]\n\n{jobs}",
        e.repo().to_str().unwrap(),
        e.path("pw").to_str().unwrap(),
        e.path("src/crit").to_str().unwrap(),
        e.path("src/opt").to_str().unwrap(),
    );
    std::fs::write(&f, text).unwrap();
    f
}

/// `vcd --config FILE --cache-dir … ARGS` (the repository and password come from the file).
fn vcd(e: &Env, config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(crate::common::vcd_bin());
    c.arg("--config")
        .arg(config)
        .arg("--cache-dir")
        .arg(e.cache())
        .args(args)
        .env_remove("VCD_PASSWORD")
        .env_remove("VCD_PASSWORD_COMMAND")
        .env_remove("VCD_REPOSITORY")
        .env_remove("VCD_PASSWORD_FILE")
        .env_remove("VCD_CONFIG")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null());
    c
}

fn run_json(e: &Env, config: &Path, job: &str) -> serde_json::Value {
    let o = vcd(e, config, &["run", job, "--json"]).output().unwrap();
    assert!(
        o.status.success(),
        "run {job}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn snapshots_of(e: &Env, job: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&e.ok(&["snapshots", "--json", "--job", job])).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn run_reads_every_byte_for_a_full_job_only_changes_for_an_incremental_one_and_keeps_per_job() {
    let e = Env::with_cheap_key();
    for (dir, n) in [("src/crit", 6), ("src/opt", 4)] {
        std::fs::create_dir_all(e.path(dir)).unwrap();
        for i in 0..n {
            std::fs::write(e.path(&format!("{dir}/f{i}")), text(i, 2000)).unwrap();
        }
    }
    std::fs::write(e.path("src/opt/skip.tmp"), b"excluded").unwrap();
    let config = write_config(
        &e,
        "[jobs.daily]\nschedule = \"0 2 * * *\"\ntype = \"incremental\"\ncategories = [\"crit\"]\nkeep = { last = 2 }\n\n\
         [jobs.weekly]\nschedule = \"0 1 * * SUN\"\ntype = \"full\"\ncategories = [\"crit\", \"opt\"]\ncompression = 19\n\n\
         [jobs.broken]\nschedule = \"0 3 * * *\"\ntype = \"incremental\"\ncategories = [\"gone\"]\n\n\
         [categories.gone]\npaths = [\"/nonexistent/vcd-e2e\"]\n",
    );
    // The first run has no parent: it read everything and is recorded as full.
    let first = run_json(&e, &config, "daily");
    assert_eq!(first["type"], "full");
    assert_eq!(first["job"], "daily");
    assert_eq!(first["categories"], serde_json::json!(["crit"]));

    // Incremental: only the changed file is read.
    std::fs::write(e.path("src/crit/f0"), text(100, 2000)).unwrap();
    let inc = run_json(&e, &config, "daily");
    let s = &inc["summary"];
    assert_eq!(inc["type"], "incremental");
    assert_eq!(
        (&s["files_changed"], &s["files_unchanged"]),
        (&1.into(), &5.into())
    );
    let changed = std::fs::metadata(e.path("src/crit/f0")).unwrap().len();
    assert_eq!(s["bytes_read"], changed);
    assert!(s.get("files_reread").is_none(), "{s}");

    // Full: every byte read again, the unchanged files told from the changed one, and the new
    // data stored at the job's level (19).
    std::fs::write(e.path("src/crit/f1"), text(101, 2000)).unwrap();
    let new_opt = text(102, 3000);
    std::fs::write(e.path("src/opt/new"), &new_opt).unwrap();
    let o = vcd(&e, &config, &["run", "weekly"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    // Against its parent, the previous full of the same paths: none, so all new.
    assert!(
        out.contains("full backup; files: 11 new, 0 changed"),
        "{out}"
    );
    std::fs::write(e.path("src/crit/f2"), text(103, 2000)).unwrap();
    let full = run_json(&e, &config, "weekly");
    let s = &full["summary"];
    assert_eq!(full["type"], "full");
    assert_eq!(s["bytes_read"], s["bytes_total"]);
    assert_eq!(
        (
            &s["files_changed"],
            &s["files_unchanged"],
            &s["files_reread"]
        ),
        (&1.into(), &10.into(), &10.into())
    );
    let o = vcd(&e, &config, &["run", "weekly"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("full backup; files: 0 new, 0 changed, 11 unchanged (11 read again)"),
        "{out}"
    );
    // The file the weekly job stored first, compared with the same bytes at level 3.
    let level3 = Env::with_cheap_key();
    std::fs::create_dir(level3.path("src")).unwrap();
    std::fs::write(level3.path("src/new"), &new_opt).unwrap();
    level3.ok(&[
        "backup",
        "-q",
        "--compression",
        "3",
        level3.path("src").to_str().unwrap(),
    ]);
    let stored = |e: &Env| {
        use engine::repo::BlobSource;
        let repo = e.open_repo();
        repo.lookup(&repo.chunk_id(&new_opt)).unwrap().entry.length
    };
    assert!(
        stored(&e) < stored(&level3),
        "{} vs {}",
        stored(&e),
        stored(&level3)
    );

    // The daily job's retention (last 2) removed its own first snapshot and none of weekly's.
    std::fs::write(e.path("src/crit/f3"), text(104, 2000)).unwrap();
    let third = run_json(&e, &config, "daily");
    assert_eq!(third["forgotten"].as_array().unwrap().len(), 1);
    let daily = snapshots_of(&e, "daily");
    assert_eq!(daily.len(), 2);
    assert!(daily.iter().all(|s| s["id"] != first["snapshot"]));
    assert_eq!(snapshots_of(&e, "weekly").len(), 3);
    let v: serde_json::Value =
        serde_json::from_str(&e.ok(&["snapshots", "--json", "--category", "opt"])).unwrap();
    assert_eq!(
        v.as_array().unwrap().len(),
        3,
        "only the weekly job covers opt"
    );
    // The excluded file is in no snapshot.
    let ls = e.ok(&["ls", full["snapshot"].as_str().unwrap()]);
    assert!(
        ls.contains("/src/opt/new") && !ls.contains("skip.tmp"),
        "{ls}"
    );

    // A job whose source does not exist fails as `vcd backup` of it does (exit 1, the path
    // named); a job that does not exist is an error naming the jobs there are.
    let o = vcd(&e, &config, &["run", "broken"]).output().unwrap();
    let (_, backup_err) = e.code(1, &["backup", "/nonexistent/vcd-e2e"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nonexistent/vcd-e2e: No such file"), "{err}");
    assert!(
        backup_err.contains("/nonexistent/vcd-e2e: No such file"),
        "{backup_err}"
    );
    let o = vcd(&e, &config, &["run", "hourly"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no job \"hourly\"") && err.contains("broken, daily, weekly"),
        "{err}"
    );
}

/// A daemon with its stderr in a file.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(e: &Env, config: &Path, name: &str) -> Daemon {
        let log = e.path(&format!("{name}.log"));
        let child = vcd(
            e,
            config,
            &["daemon", "--state-dir", e.path("state").to_str().unwrap()],
        )
        // Daemons of tests running at once each serve their metrics on a port of their own.
        .env("VCD_METRICS_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
        Daemon { child, log }
    }

    /// The address its log says it serves metrics on.
    fn metrics_addr(&mut self) -> String {
        let find = |d: &Daemon| {
            d.log()
                .split("metrics on http://")
                .nth(1)
                .and_then(|r| r.split("/metrics").next())
                .map(str::to_string)
        };
        self.until("metrics served", |d| find(d).is_some());
        find(self).unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, s: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), s).unwrap();
    }

    /// Waits (up to a minute) for `what` to hold.
    fn until(&mut self, what: &str, mut f: impl FnMut(&Daemon) -> bool) {
        let start = Instant::now();
        while !f(self) {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("{what}: the daemon ended ({st}):\n{}", self.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what}: not after a minute:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(mut self) -> (std::process::ExitStatus, String) {
        self.signal(Signal::SIGTERM);
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return (st, self.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "SIGTERM: still running after a minute:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count(e: &Env, dir: &str) -> usize {
    std::fs::read_dir(e.path(dir)).map_or(0, |d| d.count())
}

#[test]
fn a_daemon_runs_its_jobs_refuses_a_second_keeps_its_config_on_a_bad_reload_and_stops_on_sigterm() {
    let e = Env::with_cheap_key();
    std::fs::create_dir_all(e.path("src/crit")).unwrap();
    std::fs::create_dir_all(e.path("src/opt")).unwrap();
    std::fs::write(e.path("src/crit/a"), text(1, 500)).unwrap();
    let jobs = "[jobs.often]\nschedule = \"*/2 * * * * *\"\ntype = \"incremental\"\ncategories = [\"crit\"]\nkeep = { last = 3 }\n";
    let config = write_config(&e, jobs);
    let mut d = Daemon::start(&e, &config, "first");
    d.until("two backups", |_| count(&e, "repo/snapshots") >= 2);

    // One daemon per configuration: the second names the first and its lock.
    let o = vcd(
        &e,
        &config,
        &["daemon", "--state-dir", e.path("state").to_str().unwrap()],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("another vcd daemon (pid {})", d.child.id())),
        "{err}"
    );
    let locks: Vec<PathBuf> = std::fs::read_dir(e.path("state"))
        .unwrap()
        .map(|x| x.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "lock"))
        .collect();
    assert_eq!(locks.len(), 1);
    assert!(err.contains(locks[0].to_str().unwrap()), "{err}");

    // A broken configuration on SIGHUP: reported with its line and column, the old one kept
    // (the job still runs every two seconds).
    let broken = std::fs::read_to_string(&config)
        .unwrap()
        .replace("type = \"incremental\"", "type = \"incremental\"\nkepp = 1");
    let line = broken.lines().position(|l| l == "kepp = 1").unwrap() + 1;
    std::fs::write(&config, broken).unwrap();
    d.signal(Signal::SIGHUP);
    d.until("the reload refused", |d| {
        d.log().contains("keeping the configuration in use")
    });
    let log = d.log();
    let cfg = config.to_str().unwrap();
    assert!(
        log.contains(&format!("{cfg}:{line}:1: unknown field `kepp`")),
        "{log}"
    );
    let after_reload = d.log().matches("job often: done").count();
    d.until("a backup after the reload", |d| {
        d.log().matches("job often: done").count() >= after_reload + 2
    });
    assert!(d.child.try_wait().unwrap().is_none(), "still running");

    let (status, log) = d.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("stopping (signal 15)"), "{log}");
    assert!(!locks[0].exists(), "the lock file is gone");
    assert!(
        std::fs::read_dir(e.repo().join("locks")).map_or(true, |mut d| d.next().is_none()),
        "no repository lock left"
    );
    // Its retention ran each time: 3 snapshots of the job at most.
    // (4 when the stop came between a backup and its retention.)
    let snaps = snapshots_of(&e, "often");
    assert!((2..=4).contains(&snaps.len()), "{}", snaps.len());
    e.ok(&["check"]);
}

#[test]
fn a_daemon_started_after_missed_runs_runs_the_job_once_and_a_new_job_waits_for_its_time() {
    let e = Env::with_cheap_key();
    std::fs::create_dir_all(e.path("src/crit")).unwrap();
    std::fs::create_dir_all(e.path("src/opt")).unwrap();
    std::fs::write(e.path("src/crit/a"), text(1, 500)).unwrap();
    std::fs::write(e.path("src/opt/b"), text(2, 500)).unwrap();
    // Daily, at the hour furthest from now: no scheduled run falls within the test.
    let hour = (chrono::Utc::now()
        .format("%H")
        .to_string()
        .parse::<u32>()
        .unwrap()
        + 12)
        % 24;
    let config = write_config(
        &e,
        &format!(
            "[jobs.nightly]\nschedule = \"0 {hour} * * *\"\ntype = \"incremental\"\ncategories = [\"crit\"]\n\n\
             [jobs.fresh]\nschedule = \"0 {hour} * * *\"\ntype = \"full\"\ncategories = [\"opt\"]\n"
        ),
    );
    // Its last run three days ago: three runs missed since.
    let three_days_ago = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
    let o = vcd(&e, &config, &["run", "nightly", "--time", &three_days_ago])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut d = Daemon::start(&e, &config, "catch-up");
    d.until("the catch-up run", |d| {
        d.log().contains("job nightly: done")
    });
    // Time for a second run, were there to be one per missed occurrence.
    std::thread::sleep(Duration::from_secs(3));
    let (status, log) = d.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("job nightly: 3 runs missed since"), "{log}");
    assert_eq!(log.matches("job nightly: started").count(), 1, "{log}");
    assert_eq!(snapshots_of(&e, "nightly").len(), 2);
    // A job never run before has missed nothing: it waits for its first time.
    assert!(!log.contains("job fresh"), "{log}");
    assert!(snapshots_of(&e, "fresh").is_empty());

    // Started again at once: nothing is due, nothing runs.
    let mut d = Daemon::start(&e, &config, "again");
    d.until("start-up", |d| d.log().contains("started: 2 job(s)"));
    std::thread::sleep(Duration::from_secs(2));
    let (status, log) = d.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(!log.contains("job nightly: started"), "{log}");
    assert_eq!(snapshots_of(&e, "nightly").len(), 2);
}

#[test]
fn schedule_lists_the_next_runs_and_installs_a_systemd_unit() {
    let e = Env::bare();
    let f = e.path("vcd.toml");
    let fs = f.to_str().unwrap();
    e.ok(&["--config", fs, "config", "init"]);
    let v: serde_json::Value = serde_json::from_str(&e.ok(&[
        "--config",
        fs,
        "schedule",
        "--json",
        "--from",
        "2026-11-27T12:00:00Z",
        "--count",
        "3",
    ]))
    .unwrap();
    let of = |job: &str| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["job"] == job)
            .map(|r| r["time"].as_str().unwrap().to_string())
            .collect()
    };
    // The first Sunday of December, January (across the year) and February.
    assert_eq!(
        of("monthly"),
        [
            "2026-12-06T00:00:00Z",
            "2027-01-03T00:00:00Z",
            "2027-02-07T00:00:00Z"
        ]
    );
    assert_eq!(
        of("weekly"),
        [
            "2026-11-29T01:00:00Z",
            "2026-12-06T01:00:00Z",
            "2026-12-13T01:00:00Z"
        ]
    );
    assert_eq!(of("daily")[0], "2026-11-28T02:00:00Z");
    let table = e.ok(&["--config", fs, "schedule", "--from", "2026-11-27T12:00:00Z"]);
    assert!(
        table.lines().any(|l| l.contains("2026-12-06 00:00 UTC")
            && l.contains("Sun")
            && l.contains("monthly")),
        "{table}"
    );

    let dir = e.path("units");
    e.ok(&[
        "--config",
        fs,
        "schedule",
        "install",
        "--systemd",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    let unit = std::fs::read_to_string(dir.join("vcd.service")).unwrap();
    let exe = crate::common::vcd_bin();
    assert!(
        unit.contains(&format!(
            "--config {fs} daemon --state-dir /var/lib/vcd-daemon"
        )),
        "{unit}"
    );
    assert!(
        unit.contains("ExecReload=/bin/kill -HUP $MAINPID"),
        "{unit}"
    );
    // Never over a unit that exists without --force.
    let (_, err) = e.code(
        1,
        &[
            "--config",
            fs,
            "schedule",
            "install",
            "--systemd",
            "--dir",
            dir.to_str().unwrap(),
        ],
    );
    assert!(err.contains("exists"), "{err}");
    // The unit the repository ships is this one, for /usr/bin/vcd and /etc/vcd/vcd.toml.
    let shipped = std::fs::read_to_string(dist().join("systemd/vcd.service")).unwrap();
    let real = exe.canonicalize().unwrap();
    assert_eq!(
        unit.replace(&real.display().to_string(), "/usr/bin/vcd")
            .replace(&exe.display().to_string(), "/usr/bin/vcd")
            .replace(fs, "/etc/vcd/vcd.toml"),
        shipped,
        "dist/systemd/vcd.service is stale: run dist/update"
    );
}

fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist")
}

#[test]
fn the_shipped_completions_and_man_pages_are_what_the_binary_generates() {
    let e = Env::bare();
    for (shell, file) in [
        ("bash", "completions/vcd.bash"),
        ("zsh", "completions/_vcd"),
        ("fish", "completions/vcd.fish"),
    ] {
        let out = e.ok(&["completions", shell]);
        assert!(
            out.contains("daemon") && out.contains("schedule"),
            "{shell}"
        );
        let shipped = std::fs::read_to_string(dist().join(file)).unwrap();
        assert!(out == shipped, "dist/{file} is stale: run dist/update");
    }
    let dir = e.path("man");
    e.ok(&["man", "--dir", dir.to_str().unwrap()]);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for p in ["vcd.1", "vcd-daemon.1", "vcd-run.1", "vcd-backup.1"] {
        assert!(pages.contains(&p.to_string()), "{pages:?}");
    }
    let daemon = std::fs::read_to_string(dir.join("vcd-daemon.1")).unwrap();
    assert!(daemon.contains(".TH vcd-daemon"), "{daemon}");
    for p in &pages {
        let shipped = std::fs::read(dist().join("man").join(p)).unwrap_or_default();
        assert!(
            std::fs::read(dir.join(p)).unwrap() == shipped,
            "dist/man/{p} is stale: run dist/update"
        );
    }
}

#[test]
fn sigterm_during_a_job_stops_it_cleanly_and_the_daemon_exits_0() {
    let e = Env::with_cheap_key();
    std::fs::create_dir_all(e.path("src/crit")).unwrap();
    std::fs::create_dir_all(e.path("src/opt")).unwrap();
    // Enough incompressible data that the backup is still running when the signal comes.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..8 {
        let mut data = vec![0u8; 16 << 20];
        for w in data.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes());
        }
        std::fs::write(e.path(&format!("src/crit/big{i}")), data).unwrap();
    }
    let config = write_config(
        &e,
        "[jobs.big]\nschedule = \"* * * * * *\"\ntype = \"full\"\ncategories = [\"crit\"]\n",
    );
    // A new job waits for its first time: here, the next second.
    let mut d = Daemon::start(&e, &config, "term");
    d.until("the job started", |d| d.log().contains("job big: started"));
    let (status, log) = d.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("stopping (signal 15)"), "{log}");
    // Interrupted at a checkpoint, or (on a fast machine) finished: either way it says so
    // and the repository is whole, with no lock left behind.
    assert!(
        log.contains("job big: interrupted") || log.contains("job big: done"),
        "{log}"
    );
    assert!(
        std::fs::read_dir(e.repo().join("locks")).map_or(true, |mut d| d.next().is_none()),
        "no repository lock left"
    );
    e.ok(&["check"]);
    // A snapshot for each run that finished, none for the one interrupted.
    assert_eq!(
        snapshots_of(&e, "big").len(),
        log.matches("job big: done").count(),
        "{log}"
    );
}

#[test]
fn restore_category_gives_back_only_that_categorys_paths_of_a_job_snapshot() {
    let e = Env::with_cheap_key();
    for (dir, n) in [("src/crit", 3), ("src/opt", 2)] {
        std::fs::create_dir_all(e.path(dir)).unwrap();
        for i in 0..n {
            std::fs::write(e.path(&format!("{dir}/f{i}")), text(i, 50)).unwrap();
        }
    }
    let config = write_config(
        &e,
        "[jobs.weekly]\nschedule = \"0 1 * * SUN\"\ntype = \"full\"\ncategories = [\"crit\", \"opt\"]\n",
    );
    run_json(&e, &config, "weekly");
    let t = e.path("t");
    let o = vcd(
        &e,
        &config,
        &[
            "restore",
            "latest",
            "--category",
            "crit",
            "--target",
            t.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let crit = t.join(e.path("src/crit").strip_prefix("/").unwrap());
    let opt = t.join(e.path("src/opt").strip_prefix("/").unwrap());
    assert_eq!(std::fs::read_dir(&crit).unwrap().count(), 3);
    assert!(!opt.exists(), "only the category asked for");
    // Without a configuration the whole snapshot holding the category is restored.
    let t2 = e.path("t2");
    let none = e.path("none.toml");
    let o = e
        .cmd(&[
            "--config",
            none.to_str().unwrap(),
            "restore",
            "latest",
            "--category",
            "crit",
            "--target",
            t2.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(t2
        .join(e.path("src/opt").strip_prefix("/").unwrap())
        .exists());
}

/// `GET /metrics` over a plain TCP connection: (status code, body).
fn scrape(addr: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(c, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut r = String::new();
    c.read_to_string(&mut r).unwrap();
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_string())
}

/// The value of the sample `name` (with its labels, as written) in exposition text.
pub(crate) fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `promtool check metrics` on `text`: its verdict, and what it said.
pub(crate) fn promtool(text: &str) -> (bool, String) {
    use std::io::Write;
    let mut p = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; .ci/run and quickstart.sh install it)");
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = p.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), said)
}

#[test]
fn the_daemon_serves_metrics_promtool_accepts_and_they_follow_the_repository() {
    let e = Env::with_cheap_key();
    std::fs::create_dir_all(e.path("src/crit")).unwrap();
    std::fs::write(e.path("src/crit/f"), b"first").unwrap();
    let config = write_config(
        &e,
        "[jobs.nightly]\nschedule = \"0 2 * * *\"\ntype = \"incremental\"\ncategories = [\"crit\"]\nrpo = \"24h\"\n",
    );
    run_json(&e, &config, "nightly");
    let mut d = Daemon::start(&e, &config, "metrics");
    let addr = d.metrics_addr();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let (code, first) = scrape(&addr);
    assert_eq!(code, 200, "{first}");
    let (ok, said) = promtool(&first);
    assert!(ok, "promtool: {said}\n{first}");
    assert_eq!(sample(&first, "vcd_snapshots"), Some(1.0), "{first}");
    let job = "vcd_job_last_success_timestamp_seconds{vcd_job=\"nightly\"}";
    let before = sample(&first, job).unwrap();
    assert_eq!(
        sample(&first, "vcd_rpo_seconds{vcd_job=\"nightly\"}"),
        Some(86400.0)
    );
    // A backup since: the next scrape says so.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(e.path("src/crit/f"), b"second").unwrap();
    run_json(&e, &config, "nightly");
    let (code, second) = scrape(&addr);
    assert_eq!(code, 200);
    assert_eq!(sample(&second, "vcd_snapshots"), Some(2.0), "{second}");
    assert!(sample(&second, job).unwrap() > before, "{second}");
    assert!(promtool(&second).0);
    let (st, log) = d.stop();
    assert!(st.success(), "{log}");
}

#[test]
fn the_daemon_tells_a_job_past_its_rpo_once() {
    let e = Env::with_cheap_key();
    std::fs::create_dir_all(e.path("src/crit")).unwrap();
    std::fs::write(e.path("src/crit/f"), b"old").unwrap();
    let (addr, got) = crate::notify::receiver();
    // A job that runs on the 1st of January only, whose last snapshot is three days old.
    let config = write_config(
        &e,
        &format!(
            "[jobs.yearly]\nschedule = \"0 0 1 1 *\"\ntype = \"full\"\ncategories = [\"crit\"]\nrpo = \"24h\"\n\n\
             [notify]\nurl = \"http://{addr}/hook\"\n"
        ),
    );
    let mut ids = Vec::new();
    for hours in [73, 72] {
        let at = (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339();
        let o = vcd(
            &e,
            &config,
            &[
                "backup",
                "--json",
                "--job",
                "yearly",
                "--time",
                &at,
                e.path("src/crit").to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    // This host sees both; then the storage loses the older one, as a rollback would.
    assert!(vcd(&e, &config, &["snapshots", "-q"])
        .output()
        .unwrap()
        .status
        .success());
    std::fs::remove_file(e.repo().join("snapshots").join(&ids[0])).unwrap();
    let mut d = Daemon::start(&e, &config, "breach");
    // The first answer is a 500: the first event is told again; then the second.
    d.until("both told", |_| got.lock().unwrap().len() >= 3);
    let (st, log) = d.stop();
    assert!(st.success(), "{log}");
    assert!(log.contains("job yearly: past its RPO"), "{log}");
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "each told once: {log}");
    let ev: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(
        (&ev["event"], &ev["job"]),
        (&"rpo_breach".into(), &"yearly".into())
    );
    assert_eq!(ev["rpo_secs"], 86400);
    assert!(ev["age_secs"].as_i64().unwrap() >= 72 * 3600 - 60, "{ev}");
    let ev: serde_json::Value = serde_json::from_slice(&got[2].body).unwrap();
    assert_eq!(ev["event"], "storage_rolled_back");
    assert!(ev["error"].as_str().unwrap().contains(&ids[0][..8]), "{ev}");
}
