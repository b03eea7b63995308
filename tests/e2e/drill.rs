//! Restore drills through the binary (`vcd drill`, and `task = "drill"` run as a job), and a
//! restore that overruns its scenario's RTO, recorded as missed.

use std::path::{Path, PathBuf};

use crate::common::Env;
use crate::gen::words;
use crate::mount::walk_files;

/// Three categories of files under `src/`, backed up by a weekly job (all three) and then a
/// daily one (two of them, after a change), so the newest snapshot of `opt` is older than the
/// newest of `crit` and `imp`. Returns the configuration file.
fn two_jobs(e: &Env, extra: &str) -> PathBuf {
    for (dir, n) in [("crit", 30), ("imp", 20), ("opt", 10)] {
        for i in 0..n {
            let f = e.path(&format!("src/{dir}/d{}/f{i}", i % 3));
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, words(i as u64 + dir.len() as u64 * 100, 200 + 50 * i)).unwrap();
        }
    }
    let cfg = e.path("vcd.toml");
    let text = format!(
        "[repository]\npath = {repo:?}\npassword_file = {pw:?}\n\n\
         [categories.crit]\npaths = [{crit:?}]\n\n[categories.imp]\npaths = [{imp:?}]\n\n\
         [categories.opt]\npaths = [{opt:?}]\n\n\
         [jobs.daily]\nschedule = \"0 2 * * *\"\ntype = \"incremental\"\ncategories = [\"crit\", \"imp\"]\n\n\
         [jobs.weekly]\nschedule = \"0 1 * * SUN\"\ntype = \"full\"\ncategories = [\"crit\", \"imp\", \"opt\"]\n\n\
         [scenarios.complete]\nrto = \"4h\"\nrpo = \"7d\"\ncategories = [\"crit\", \"imp\", \"opt\"]\n\n\
         [scenarios.tiny]\nrto = \"1s\"\nrpo = \"1h\"\ncategories = [\"crit\"]\n{extra}",
        repo = e.repo().to_str().unwrap(),
        pw = e.path("pw").to_str().unwrap(),
        crit = e.path("src/crit").to_str().unwrap(),
        imp = e.path("src/imp").to_str().unwrap(),
        opt = e.path("src/opt").to_str().unwrap(),
    );
    std::fs::write(&cfg, text).unwrap();
    let c = cfg.to_str().unwrap();
    e.ok(&["--config", c, "run", "weekly"]);
    std::fs::write(e.path("src/crit/d0/f0"), b"changed after the weekly").unwrap();
    e.ok(&["--config", c, "run", "daily"]);
    cfg
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|err| panic!("{err}: {s}"))
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn a_drill_restores_a_sample_verifies_it_removes_it_and_records_an_estimate() {
    let e = Env::with_cheap_key();
    let cfg = two_jobs(&e, "");
    let c = cfg.to_str().unwrap();
    let scratch = e.path("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let s = scratch.to_str().unwrap();
    let snaps = json(&e.ok(&["snapshots", "--json"]));
    let (weekly, daily) = (&snaps[0]["id"], &snaps[1]["id"]);

    // A quarter of the bytes, from the newest snapshot of each category.
    let o = e.run(&[
        "--config",
        c,
        "drill",
        "--scenario",
        "complete",
        "--sample",
        "25%",
        "--target",
        s,
        "--json",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let d = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(d["outcome"], "ok");
    assert_eq!(
        (&d["verified"], &d["removed"]),
        (&true.into(), &true.into())
    );
    let parts = d["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{d}");
    assert_eq!(
        (&parts[0]["snapshot"], &parts[0]["categories"]),
        (daily, &serde_json::json!(["crit", "imp"]))
    );
    assert_eq!(
        (&parts[1]["snapshot"], &parts[1]["categories"]),
        (weekly, &serde_json::json!(["opt"]))
    );
    assert!(
        err.contains("category crit or imp") || err.contains("using snapshot"),
        "{err}"
    );
    let (total_files, total_bytes) = (
        d["total_files"].as_u64().unwrap(),
        d["total_bytes"].as_u64().unwrap(),
    );
    let src_bytes: u64 = walk_files(&e.path("src"))
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum();
    assert_eq!((total_files, total_bytes), (60, src_bytes));
    let (files, bytes) = (
        d["sample_files"].as_u64().unwrap(),
        d["sample_bytes"].as_u64().unwrap(),
    );
    assert!(files > 0 && files < total_files, "{d}");
    assert!(bytes * 4 >= total_bytes, "{d}");
    let (restore, estimate) = (
        d["restore_secs"].as_f64().unwrap(),
        d["estimate_secs"].as_f64().unwrap(),
    );
    assert!(restore > 0.0 && estimate > restore, "{d}");
    assert_eq!(d["rto_met"], estimate <= 4.0 * 3600.0);
    assert_eq!(entries(&scratch), 0, "the scratch directory is removed");

    // All of it: the estimate is the measured restore itself.
    let d = json(&e.ok(&[
        "--config",
        c,
        "drill",
        "--scenario",
        "complete",
        "--target",
        s,
        "--json",
    ]));
    assert_eq!(
        (d["sample_files"].as_u64(), d["total_files"].as_u64()),
        (Some(60), Some(60))
    );
    assert_eq!(d["estimate_secs"], d["restore_secs"]);
    assert_eq!(
        (&d["verified"], &d["removed"]),
        (&true.into(), &true.into())
    );
    assert_eq!(entries(&scratch), 0);

    // Both are listed among the restorations, with their estimate against the RTO.
    let l = json(&e.ok(&["restores", "--json"]));
    let l = l.as_array().unwrap();
    assert_eq!(l.len(), 2);
    for r in l {
        assert_eq!((&r["kind"], &r["state"]), (&"drill".into(), &"ok".into()));
        assert_eq!(r["rto_met"], true);
        assert!(r["estimate_secs"].as_f64().unwrap() > 0.0);
        assert_eq!(r["objectives"]["scenario"], "complete");
    }
    let rid = l[0]["short_id"].as_str().unwrap();
    let show = e.ok(&["restores", "show", rid]);
    assert!(
        show.contains("drill by") && show.contains("the whole restore estimated at"),
        "{show}"
    );
    // A drill leaves nothing to verify or roll back, and says so.
    for cmd in ["verify-restore", "rollback"] {
        let (_, err) = e.code(1, &[cmd, rid]);
        assert!(err.contains("is a drill"), "{err}");
    }

    // The same drill as a configured job: `vcd run` (as the daemon would) records it too.
    let job = format!(
        "{}\n[maintenance.drill]\ntask = \"drill\"\nscenario = \"complete\"\nsample = \"40%\"\ndirectory = {s:?}\n",
        std::fs::read_to_string(&cfg).unwrap()
    );
    std::fs::write(&cfg, job).unwrap();
    let r = json(&e.ok(&["--config", c, "run", "drill", "--json"]));
    let m = &r["maintenance"];
    assert_eq!(
        (&m["task"], &m["ok"]),
        (&"drill".into(), &true.into()),
        "{r}"
    );
    assert_eq!(m["drill"]["sample"], "40%");
    assert_eq!(m["drill"]["verified"], true);
    assert_eq!(entries(&scratch), 0);
    assert_eq!(
        json(&e.ok(&["restores", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A drill of damaged data fails, says what, and still cleans up and records.
    for pack in walk_files(&e.repo().join("data")) {
        let mut b = std::fs::read(&pack).unwrap();
        let mid = b.len() / 2;
        b[mid] ^= 0x40;
        std::fs::write(&pack, b).unwrap();
    }
    let (_, err) = e.code(
        1,
        &[
            "--config",
            c,
            "drill",
            "--scenario",
            "complete",
            "--target",
            s,
        ],
    );
    // Where the flipped byte landed decides whether a tree (the drill stops) or a file's data
    // (that file is missing from the sample) is damaged: either way the error names it.
    assert!(
        err.contains("damaged") || err.contains("MAC mismatch"),
        "{err}"
    );
    assert_eq!(entries(&scratch), 0);
    let l = json(&e.ok(&["restores", "--json"]));
    let last = &l.as_array().unwrap()[3];
    assert_eq!(last["kind"], "drill");
    assert_ne!(last["state"], "ok");
}

#[test]
fn a_drill_refuses_bad_input_before_making_anything() {
    let e = Env::with_cheap_key();
    let cfg = two_jobs(&e, "");
    let c = cfg.to_str().unwrap();
    let scratch = e.path("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let s = scratch.to_str().unwrap();
    for (args, words) in [
        (vec!["--sample", "0%"], "restores nothing"),
        (vec!["--sample", "plenty"], "a size (500M)"),
        (vec!["--scenario", "mars"], "scenario \"mars\""),
        (vec!["--category", "nope"], "category nope"),
    ] {
        let mut a = vec!["--config", c, "drill", "--target", s];
        a.extend(args);
        let (_, err) = e.code(1, &a);
        assert!(err.contains(words), "{a:?}: {err}");
    }
    // A directory others may rename entries in, and one without room for the data.
    let open = e.path("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let (_, err) = e.code(
        1,
        &["--config", c, "drill", "--target", open.to_str().unwrap()],
    );
    assert!(err.contains("writable by others and not sticky"), "{err}");
    let small = e.path("small");
    std::fs::create_dir(&small).unwrap();
    let _small = Tmpfs::mount(&small, "16k");
    let (_, err) = e.code(
        1,
        &["--config", c, "drill", "--target", small.to_str().unwrap()],
    );
    assert!(err.contains("free: choose another --target"), "{err}");
    assert_eq!(entries(&small), 0, "nothing left behind");
    let file = e.path("vcd.toml");
    let (_, err) = e.code(
        1,
        &["--config", c, "drill", "--target", file.to_str().unwrap()],
    );
    assert!(err.contains("not a directory"), "{err}");
    let (_, err) = e.code(
        1,
        &[
            "--config",
            c,
            "drill",
            "--target",
            e.path("absent").to_str().unwrap(),
        ],
    );
    assert!(err.contains("drill directory"), "{err}");
    assert_eq!(entries(&scratch), 0);
    // Refused before a scratch directory: not recorded; refused for its room: recorded failed.
    let l = json(&e.ok(&["restores", "--json"]));
    assert_eq!(l.as_array().unwrap().len(), 1, "{l}");
    assert_eq!(l[0]["state"], "failed");
}

/// A small tmpfs, unmounted on drop (the e2e tests run as root).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let st = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .status();
        assert!(
            st.unwrap().success(),
            "mount tmpfs (the e2e tests run as root)"
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Holds the restore of the one file it is called for: the restore then takes longer than
/// its scenario's RTO of one second, whatever the machine's speed.
fn overrun(_: &std::fs::File) {
    std::thread::sleep(std::time::Duration::from_millis(1300));
}

#[test]
fn a_restore_that_overruns_its_rto_is_recorded_as_missed_and_listed_so() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"one file").unwrap();
    e.backup(&src, &[]);
    let repo = e.open_repo();
    let snaps = repo.snapshots().unwrap();
    let req = engine::ops::recovery::RestoreRequest {
        options: engine::ops::restore::RestoreOptions {
            target: e.path("t"),
            verify: true,
            before_verify: Some(overrun),
            ..Default::default()
        },
        objectives: Some(engine::format::restoration::Objectives {
            scenario: "tiny".into(),
            rto_secs: 1,
            rpo_secs: 3600,
        }),
        ..Default::default()
    };
    let progress = engine::ops::progress::Progress::default();
    let r = engine::ops::recovery::restore_recorded(&repo, &snaps[0], &req, &progress).unwrap();
    assert!(r.duration_secs > 1.0);
    let l = json(&e.ok(&["restores", "--json"]));
    let x = &l[0];
    assert_eq!(x["objectives"]["rto_secs"], 1);
    assert!(x["duration_secs"].as_f64().unwrap() > 1.0, "{x}");
    assert_eq!(
        (&x["rto_met"], &x["rpo_met"]),
        (&false.into(), &true.into())
    );
    let show = e.ok(&["restores", "show", x["short_id"].as_str().unwrap()]);
    assert!(
        show.contains("scenario tiny: RTO 1s, took") && show.contains("MISSED"),
        "{show}"
    );
}
