//! The recovery system through the binary: every restore recorded in the repository and listed
//! by `vcd restores`, with its outcome, scope and duration.

use crate::common::Env;

/// The restoration id a restore prints first (`restoration 1a2b3c4d: restored …`).
fn rid_of(out: &str) -> String {
    out.split_whitespace()
        .nth(1)
        .and_then(|w| w.strip_suffix(':'))
        .unwrap_or_else(|| panic!("no restoration id in {out:?}"))
        .to_string()
}

#[test]
fn every_restore_is_recorded_and_listed_with_its_outcome() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("d/a"), b"alpha").unwrap();
    std::fs::write(src.join("b"), b"bravo").unwrap();
    let snap = e.backup(&src, &[]);
    let t1 = e.path("t1");
    let out = e.ok(&[
        "restore",
        "latest",
        "--target",
        t1.to_str().unwrap(),
        "--verify",
    ]);
    let rid = rid_of(&out);
    assert!(out.starts_with("restoration "), "{out}");
    let inc = src.join("d");
    e.ok(&[
        "restore",
        &snap[..8],
        "--target",
        e.path("t2").to_str().unwrap(),
        "--include",
        inc.to_str().unwrap(),
    ]);
    // A restore refused before it wrote anything is on record too, as failed.
    e.code(
        1,
        &[
            "restore",
            "latest",
            "--target",
            e.path("t3").to_str().unwrap(),
            "--include",
            "/nowhere",
        ],
    );

    let v: serde_json::Value = serde_json::from_str(&e.ok(&["restores", "--json"])).unwrap();
    let l = v.as_array().unwrap();
    assert_eq!(l.len(), 3, "{v:#}");
    assert_eq!(l[0]["short_id"], rid.as_str());
    assert_eq!(
        l.iter()
            .map(|r| r["state"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ok", "ok", "failed"]
    );
    for r in l {
        assert_eq!(r["snapshot"], snap.as_str());
        assert!(r["duration_secs"].as_f64().unwrap() >= 0.0, "{r:#}");
        assert_eq!(
            r["events"].as_array().unwrap().len(),
            2,
            "started and finished"
        );
    }
    assert_eq!(l[0]["target"], t1.to_str().unwrap());
    let fin = &l[0]["events"][1];
    assert_eq!(
        (&fin["event"], &fin["files"], &fin["verified"]),
        (&"finished".into(), &2.into(), &2.into())
    );
    assert_eq!(
        l[1]["events"][0]["includes"],
        serde_json::json!([inc.to_str().unwrap()])
    );
    assert_eq!(l[1]["events"][1]["files"], 1);
    assert!(l[2]["events"][1]["errors"][0]
        .as_str()
        .unwrap()
        .contains("matches nothing"));

    let table = e.ok(&["restores"]);
    assert!(table.lines().next().unwrap().contains("target"), "{table}");
    assert!(
        table.contains(&rid) && table.contains("3 restorations"),
        "{table}"
    );
    let shown = e.ok(&["restores", "show", &rid]);
    assert!(
        shown.contains("started by") && shown.contains("finished: ok: 2 files"),
        "{shown}"
    );
    // An unknown id: exit 1 and a pointer to the list.
    let (_, err) = e.code(1, &["restores", "show", "ffffffff"]);
    assert!(
        err.contains("restoration \"ffffffff\"") && err.contains("vcd restores"),
        "{err}"
    );
}

#[test]
fn verify_restore_finds_a_changed_byte_mode_a_missing_and_an_extra_file_and_records_it() {
    use std::os::unix::fs::PermissionsExt;
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("a"), vec![7u8; 100_000]).unwrap();
    std::fs::write(src.join("b"), b"bravo").unwrap();
    std::fs::write(src.join("d/c"), b"charlie").unwrap();
    std::os::unix::fs::symlink("a", src.join("l")).unwrap();
    std::fs::hard_link(src.join("b"), src.join("d/b2")).unwrap();
    e.backup(&src, &[]);
    let t = e.path("t");
    let out = e.ok(&["restore", "latest", "--target", t.to_str().unwrap()]);
    let rid = rid_of(&out);

    // Just restored: identical.
    let ok = e.ok(&["verify-restore", &rid]);
    assert!(ok.contains("identical"), "{ok}");

    let r = t.join(src.strip_prefix("/").unwrap());
    // One byte in the middle, written in place (same size).
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(r.join("a"))
            .unwrap();
        f.write_all_at(b"X", 50_000).unwrap();
    }
    std::fs::set_permissions(r.join("b"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::remove_file(r.join("d/c")).unwrap();
    std::fs::write(r.join("d/extra"), b"not mine").unwrap();
    let o = e.run(&["verify-restore", &rid, "--json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diffs: Vec<String> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    let s = src.to_str().unwrap();
    let has = |p: &str, what: &str| {
        assert!(
            diffs
                .iter()
                .any(|d| d.starts_with(&format!("{s}/{p}: ")) && d.contains(what)),
            "{p} {what}: {diffs:#?}"
        )
    };
    has("a", "content: bytes at offset");
    has("b", "mode 0600 instead of 0644");
    has("d/c", "missing");
    has("d/extra", "not in the snapshot");
    assert_eq!(v["ok"], false);

    // Both verifications are on record.
    let l: serde_json::Value = serde_json::from_str(&e.ok(&["restores", "--json"])).unwrap();
    let events = l[0]["events"].as_array().unwrap();
    let verified: Vec<&serde_json::Value> =
        events.iter().filter(|x| x["event"] == "verified").collect();
    assert_eq!(verified.len(), 2);
    assert_eq!(verified[0]["ok"], true);
    assert_eq!(verified[1]["ok"], false);
    assert_eq!(verified[1]["differences_total"], diffs.len());
    let (_, err) = e.code(1, &["verify-restore", "0000"]);
    assert!(err.contains("restoration \"0000\""), "{err}");
}

#[test]
fn a_fresh_restore_of_every_kind_of_entry_verifies_identical() {
    let e = Env::new();
    let src = e.path("src");
    crate::gen::generate_with(&src, 0x7e57, &crate::gen::Spec::small());
    e.backup(&src, &[]);
    let t = e.path("t");
    let out = e.ok(&["restore", "latest", "--target", t.to_str().unwrap()]);
    let rid = rid_of(&out);
    let o = e.run(&["verify-restore", &rid]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("identical"), "{out}");
}

#[test]
fn a_scenario_records_its_rto_and_the_rpo_at_the_incident() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"data").unwrap();
    // A snapshot three hours old.
    let three_h = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339();
    e.backup_json(&src, &["--category", "critical", "--time", &three_h]);
    // The specification's configuration scenario (no configuration file): RTO 30min is met,
    // RPO 1h is not (the data is three hours old).
    let out = e.ok(&[
        "--config",
        e.path("none.toml").to_str().unwrap(),
        "restore",
        "latest",
        "--scenario",
        "configuration",
        "--target",
        e.path("t1").to_str().unwrap(),
    ]);
    assert!(
        out.contains("scenario configuration: RTO 30min") && out.contains(": met; RPO 1h"),
        "{out}"
    );
    assert!(out.contains("3.0h old at the incident: MISSED"), "{out}");
    // A configuration whose scenario allows 1 second... and an incident 2h after the data:
    // `--at` sets the incident's time, so the RPO is measured from it.
    let cfg = e.path("vcd.toml");
    let cfg_s = cfg.to_str().unwrap();
    e.ok(&["--config", cfg_s, "config", "init"]);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("rto = \"30min\"", "rto = \"1s\"")
        .replace(
            "rpo = \"1h\"\ncategories = [\"critical\"]",
            "rpo = \"3h\"\ncategories = [\"critical\"]",
        );
    std::fs::write(&cfg, text).unwrap();
    let slow = e.path("big");
    std::fs::create_dir_all(&slow).unwrap();
    let two_h = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let o = e.run(&[
        "--config",
        cfg_s,
        "restore",
        "--at",
        &two_h,
        "--scenario",
        "configuration",
        "--target",
        e.path("t2").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let l: serde_json::Value = serde_json::from_str(&e.ok(&["restores", "--json"])).unwrap();
    let (a, b) = (&l[0], &l[1]);
    assert_eq!(a["objectives"]["scenario"], "configuration");
    assert_eq!(
        (&a["rto_met"], &a["rpo_met"]),
        (&true.into(), &false.into())
    );
    let age = a["data_age_secs"].as_i64().unwrap();
    assert!((3 * 3600 - 60..3 * 3600 + 60).contains(&age), "{age}");
    assert_eq!(
        (
            b["objectives"]["rto_secs"].as_u64(),
            b["objectives"]["rpo_secs"].as_u64()
        ),
        (Some(1), Some(3 * 3600))
    );
    // Two hours of data age at an incident one hour ago: within 3h.
    let age = b["data_age_secs"].as_i64().unwrap();
    assert!((2 * 3600 - 60..2 * 3600 + 60).contains(&age), "{age}");
    assert_eq!(b["rpo_met"], true);
    assert_eq!(
        b["events"][0]["categories"],
        serde_json::json!(["critical"])
    );
    // The RTO of 1 second: met or missed by the measured duration, never assumed.
    let took = b["duration_secs"].as_f64().unwrap();
    assert_eq!(b["rto_met"], took <= 1.0);
    // An unknown scenario is refused before anything is restored.
    let (_, err) = e.code(
        1,
        &[
            "--config",
            cfg_s,
            "restore",
            "latest",
            "--scenario",
            "mars",
            "--target",
            e.path("t3").to_str().unwrap(),
        ],
    );
    assert!(err.contains("scenario \"mars\""), "{err}");
    assert!(!e.path("t3").exists());
}

#[test]
fn overwrite_modes_and_delete_decide_what_happens_to_what_is_in_the_target() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("a"), b"alpha").unwrap();
    std::fs::write(src.join("b"), b"bravo").unwrap();
    std::fs::write(src.join("d/c"), b"charlie").unwrap();
    e.backup(&src, &[]);
    let t = e.path("t");
    let ts = t.to_str().unwrap();
    e.ok(&["restore", "latest", "--target", ts]);
    let r = t.join(src.strip_prefix("/").unwrap());
    let read = |p: &str| std::fs::read_to_string(r.join(p)).ok();
    // The target drifts: a grows, b changes in place keeping its size and time, c goes, and
    // an extra file, an extra directory and a file an exclude protects appear.
    let drift = || {
        std::fs::write(r.join("a"), b"alpha, longer now").unwrap();
        let b_time = std::fs::metadata(r.join("b")).unwrap().modified().unwrap();
        std::fs::write(r.join("b"), b"BRAVO").unwrap();
        std::fs::File::options()
            .write(true)
            .open(r.join("b"))
            .unwrap()
            .set_modified(b_time)
            .unwrap();
        let _ = std::fs::remove_file(r.join("d/c"));
        std::fs::write(r.join("d/x"), b"extra").unwrap();
        std::fs::create_dir_all(r.join("e/f")).unwrap();
        std::fs::write(r.join("e/f/g"), b"deep extra").unwrap();
        std::fs::write(r.join("d/notes.keep"), b"mine").unwrap();
    };

    drift();
    let out = e.ok(&["restore", "latest", "--target", ts, "--overwrite", "never"]);
    assert!(
        out.contains("kept 2 existing entries (--overwrite never), removed 0"),
        "{out}"
    );
    assert_eq!(
        read("a").as_deref(),
        Some("alpha, longer now"),
        "never: kept"
    );
    assert_eq!(read("b").as_deref(), Some("BRAVO"));
    assert_eq!(read("d/c").as_deref(), Some("charlie"), "missing: restored");

    drift();
    e.ok(&[
        "restore",
        "latest",
        "--target",
        ts,
        "--overwrite",
        "if-changed",
    ]);
    assert_eq!(
        read("a").as_deref(),
        Some("alpha"),
        "another size: replaced"
    );
    assert_eq!(
        read("b").as_deref(),
        Some("BRAVO"),
        "same size and time: kept"
    );
    assert_eq!(read("d/c").as_deref(), Some("charlie"));
    assert!(
        r.join("d/x").exists() && r.join("e/f/g").exists(),
        "no --delete: extras stay"
    );

    drift();
    let out = e.ok(&[
        "restore",
        "latest",
        "--target",
        ts,
        "--delete",
        "--exclude",
        "*.keep",
    ]);
    assert!(
        out.contains("removed 2 the snapshot does not have"),
        "{out}"
    );
    assert_eq!(read("a").as_deref(), Some("alpha"));
    assert_eq!(read("b").as_deref(), Some("bravo"), "always: replaced");
    assert!(!r.join("d/x").exists() && !r.join("e").exists());
    assert_eq!(
        read("d/notes.keep").as_deref(),
        Some("mine"),
        "an excluded name stays"
    );
    std::fs::remove_file(r.join("d/notes.keep")).unwrap();
    let l: serde_json::Value = serde_json::from_str(&e.ok(&["restores", "--json"])).unwrap();
    let last = &l[3];
    assert_eq!(
        (
            &last["events"][0]["overwrite"],
            &last["events"][0]["delete"],
            &last["events"][1]["deleted"]
        ),
        (&"always".into(), &true.into(), &2.into())
    );
    let rid = last["short_id"].as_str().unwrap();
    let ok = e.ok(&["verify-restore", rid]);
    assert!(ok.contains("identical"), "{ok}");

    // --delete within an include: only the included directory is cleaned.
    std::fs::write(r.join("d/x"), b"extra").unwrap();
    std::fs::write(r.join("top-extra"), b"outside the include").unwrap();
    let inc = src.join("d");
    e.ok(&[
        "restore",
        "latest",
        "--target",
        ts,
        "--delete",
        "--include",
        inc.to_str().unwrap(),
    ]);
    assert!(!r.join("d/x").exists());
    assert!(
        r.join("top-extra").exists(),
        "outside the restored scope: untouched"
    );
}

#[test]
fn a_restore_over_a_changed_tree_with_delete_is_rolled_back_exactly() {
    use std::os::unix::fs::PermissionsExt;
    let e = Env::new();
    let src = e.path("src");
    crate::gen::generate_with(&src, 0x0b5e, &crate::gen::Spec::small());
    let old = e.backup(&src, &[]);
    // The live target holds that data, then changes: files changed, deleted, added, modes.
    let t = e.path("live");
    let ts = t.to_str().unwrap();
    e.ok(&["restore", &old, "--target", ts, "-q"]);
    let r = t.join(src.strip_prefix("/").unwrap());
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut stack = vec![r.clone()];
    while let Some(d) = stack.pop() {
        for x in std::fs::read_dir(&d).unwrap() {
            let p = x.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if m.is_file() && m.nlink() == 1 {
                files.push(p);
            }
        }
    }
    files.sort();
    use std::os::unix::fs::MetadataExt;
    assert!(files.len() > 20, "{}", files.len());
    std::fs::write(&files[0], b"changed since the backup").unwrap();
    std::fs::write(&files[1], b"changed too").unwrap();
    std::fs::remove_file(&files[2]).unwrap();
    std::fs::remove_file(&files[3]).unwrap();
    std::fs::set_permissions(&files[4], std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(r.join("added-after"), b"new file").unwrap();
    std::fs::create_dir(r.join("added-dir")).unwrap();
    std::fs::write(r.join("added-dir/inner"), b"new too").unwrap();
    let before = e.path("before");
    crate::gen::cp_a(&t, &before);

    // The older snapshot restored over it with --delete: the changes are undone...
    let out = e.ok(&["restore", &old, "--target", ts, "--delete"]);
    let rid = rid_of(&out);
    assert!(!r.join("added-after").exists() && files[2].exists());
    assert!(!crate::gen::differences(&before, &t).is_empty());
    // ...and rolled back: the target is exactly as it was before the restore.
    let out = e.ok(&["rollback", &rid]);
    assert!(out.contains("rolled back"), "{out}");
    crate::gen::compare(&before, &t);

    // Once is enough; an unknown id is an error.
    let (_, err) = e.code(1, &["rollback", &rid]);
    assert!(err.contains("rolled back already"), "{err}");
    let (_, err) = e.code(1, &["rollback", "0123abcd"]);
    assert!(err.contains("restoration \"0123abcd\""), "{err}");
    let l: serde_json::Value = serde_json::from_str(&e.ok(&["restores", "--json"])).unwrap();
    let last = l.as_array().unwrap().last().unwrap();
    assert_eq!(last["state"], "rolled back");
}

#[test]
fn a_rollback_refuses_a_target_changed_since_unless_forced_and_removes_a_target_it_made() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), b"alpha").unwrap();
    std::fs::write(src.join("b"), b"bravo").unwrap();
    e.backup(&src, &[]);
    // Into a target that did not exist: rolling back removes it.
    let fresh = e.path("fresh");
    let out = e.ok(&["restore", "latest", "--target", fresh.to_str().unwrap()]);
    let rid = rid_of(&out);
    e.ok(&["rollback", &rid]);
    assert!(!fresh.exists());

    // Into one that held something: changed since the restore, the rollback is refused and
    // names the change; --force rolls back.
    let t = e.path("t");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("mine"), b"was here first").unwrap();
    let out = e.ok(&["restore", "latest", "--target", t.to_str().unwrap()]);
    let rid = rid_of(&out);
    let r = t.join(src.strip_prefix("/").unwrap());
    std::fs::write(r.join("a"), b"edited after the restore").unwrap();
    let (_, err) = e.code(1, &["rollback", &rid]);
    let a = r.join("a");
    assert!(
        err.contains("the target changed since restoration")
            && err.contains(&format!("{}: content", src.join("a").display())),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&a).unwrap(),
        b"edited after the restore",
        "nothing changed"
    );
    e.ok(&["rollback", &rid, "--force"]);
    assert!(!t
        .join(src.strip_prefix("/").unwrap().components().next().unwrap())
        .exists());
    assert_eq!(std::fs::read(t.join("mine")).unwrap(), b"was here first");

    // --no-rollback: nothing to go back to, and it says so.
    let out = e.ok(&[
        "restore",
        "latest",
        "--target",
        t.to_str().unwrap(),
        "--no-rollback",
    ]);
    let rid = rid_of(&out);
    let (_, err) = e.code(1, &["rollback", &rid]);
    assert!(err.contains("--no-rollback"), "{err}");
}

#[test]
fn a_restore_killed_at_seeded_moments_is_rolled_back_exactly() {
    use rand::{Rng, SeedableRng};
    let e = Env::new();
    let src = e.path("src");
    crate::gen::generate_with(&src, 0x4b11, &crate::gen::Spec::small());
    // Some bigger files, so that a restore lasts long enough to be killed in its middle.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x4b11);
    for i in 0..6 {
        let mut b = vec![0u8; 3 << 20];
        rng.fill(&mut b[..]);
        std::fs::write(src.join(format!("big{i}")), b).unwrap();
    }
    let old = e.backup(&src, &[]);
    // The live target: the data, then changed.
    let template = e.path("template");
    e.ok(&[
        "restore",
        &old,
        "--target",
        template.to_str().unwrap(),
        "-q",
    ]);
    let r = template.join(src.strip_prefix("/").unwrap());
    std::fs::write(r.join("big0"), b"small now").unwrap();
    std::fs::remove_file(r.join("big1")).unwrap();
    std::fs::write(r.join("added"), b"added after the backup").unwrap();
    std::fs::create_dir(r.join("added-dir")).unwrap();

    // How long an uninterrupted restore over it takes, to spread the kills over.
    let probe = e.path("probe");
    crate::gen::cp_a(&template, &probe);
    let t0 = std::time::Instant::now();
    e.ok(&[
        "restore",
        &old,
        "--target",
        probe.to_str().unwrap(),
        "--delete",
        "-q",
    ]);
    let span = (t0.elapsed().as_millis() as u64).max(20);

    let mut kills = 0;
    let mut tries = 0;
    while kills < 5 {
        tries += 1;
        assert!(tries <= 25, "only {kills} restores killed in {tries} tries");
        let t = e.path(&format!("t{tries}"));
        crate::gen::cp_a(&template, &t);
        // From the record's start on: the image taken before it is part of the probe's time.
        let delay = std::time::Duration::from_millis(rng.gen_range(0..span * 2 / 3));
        let stop = crate::phases::kill_at(
            &e.repo(),
            e.cmd(&["restore", &old, "--target", t.to_str().unwrap(), "--delete"]),
            "restore",
            delay,
            |ev| ev.placed(crate::phases::Dir::Restores),
        );
        let l: serde_json::Value = serde_json::from_str(&e.ok(&["restores", "--json"])).unwrap();
        let rec = l
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["target"] == t.to_str().unwrap())
            .expect("the restore was recorded before it wrote anything")
            .clone();
        // Ended, or killed once its end was on record: not a kill in the middle.
        if stop.ended || rec["state"] == "ok" {
            assert_eq!(rec["state"], "ok");
            std::fs::remove_dir_all(&t).unwrap();
            continue;
        }
        kills += 1;
        assert_eq!(rec["state"], "unfinished", "killed after {delay:?}");
        let rid = rec["short_id"].as_str().unwrap();
        let out = e.ok(&["rollback", rid]);
        assert!(out.contains("rolled back"), "{out}");
        let d = crate::gen::differences(&template, &t);
        assert!(d.is_empty(), "killed after {delay:?}, rolled back: {d:#?}");
        // Up to 25 copies of the target would otherwise stay until the test ends.
        std::fs::remove_dir_all(&t).unwrap();
    }
    e.ok(&["check"]);
}

#[test]
fn a_target_on_a_read_only_filesystem_is_refused_before_anything_is_written() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), b"alpha").unwrap();
    e.backup(&src, &[]);
    let ro = e.path("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join("kept"), b"was here").unwrap();
    let _ro = crate::common::ReadOnly::bind(&ro);
    for target in [ro.clone(), ro.join("sub")] {
        let (_, err) = e.code(
            1,
            &["restore", "latest", "--target", target.to_str().unwrap()],
        );
        assert!(
            err.contains("is on a read-only filesystem: nothing was written"),
            "{err}"
        );
    }
    assert_eq!(std::fs::read(ro.join("kept")).unwrap(), b"was here");
    // Refused before its record: nothing to roll back, nothing listed.
    let l: serde_json::Value = serde_json::from_str(&e.ok(&["restores", "--json"])).unwrap();
    assert!(l.as_array().unwrap().is_empty(), "{l:#}");
}
