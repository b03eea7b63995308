//! `vcd status` as a monitoring check: each job's state against its RPO and its last run,
//! from the repository alone; exit 0 ok, 1 warning, 2 breach.

use crate::common::Env;

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|err| panic!("{err}: {s}"))
}

fn config(e: &Env, jobs: &[(&str, &str)]) -> String {
    let mut text = format!(
        "[repository]\npath = {:?}\npassword_file = {:?}\n\n[categories.data]\npaths = [{:?}]\n\n",
        e.repo().to_str().unwrap(),
        e.path("pw").to_str().unwrap(),
        e.path("src").to_str().unwrap()
    );
    for (name, rpo) in jobs {
        text.push_str(&format!(
            "[jobs.{name}]\nschedule = \"0 2 * * *\"\ntype = \"incremental\"\ncategories = [\"data\"]\nrpo = \"{rpo}\"\n\n"
        ));
    }
    text.push_str("[scenarios.all]\nrto = \"1h\"\nrpo = \"24h\"\ncategories = [\"data\"]\n");
    let p = e.path("vcd.toml");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn status_gives_each_job_its_state_and_a_breach_a_non_zero_exit() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"data").unwrap();
    let cfg = config(
        &e,
        &[
            ("fresh", "24h"),
            ("stale", "24h"),
            ("close", "10h"),
            ("broken", "24h"),
        ],
    );
    let ago = |h: i64| (chrono::Utc::now() - chrono::Duration::hours(h)).to_rfc3339();
    e.ok(&["--config", &cfg, "run", "fresh"]);
    let s = src.to_str().unwrap();
    e.ok(&["backup", "--job", "stale", "--time", &ago(72), s]);
    e.ok(&["backup", "--job", "close", "--time", &ago(9), s]);
    e.ok(&["backup", "--job", "broken", "--time", &ago(2), s]);
    // broken's next run finds the repository locked by another command, and fails.
    let repo = e.open_repo();
    let lock = engine::repo::lock::acquire(&repo, true).unwrap();
    let (_, err) = e.code(11, &["--config", &cfg, "run", "broken"]);
    assert!(err.contains("lock"), "{err}");
    drop(lock);

    let o = e.run(&["--config", &cfg, "status", "--json"]);
    assert_eq!(o.status.code(), Some(2), "a breach is exit 2");
    let v = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(v["level"], "breach");
    let job = |name: &str| {
        v["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["job"] == name)
            .unwrap_or_else(|| panic!("{name}: {v}"))
            .clone()
    };
    let fresh = job("fresh");
    assert_eq!(
        (&fresh["level"], &fresh["failing"]),
        (&"ok".into(), &false.into())
    );
    assert!(fresh["age_secs"].as_i64().unwrap() < 3600);
    assert_eq!(fresh["rpo_secs"], 24 * 3600);
    assert!(fresh["next_run"].as_str().unwrap().ends_with("T02:00:00Z"));
    let stale = job("stale");
    assert_eq!(stale["level"], "breach");
    assert!((72 * 3600 - 60..72 * 3600 + 600).contains(&stale["age_secs"].as_i64().unwrap()));
    let close = job("close");
    assert_eq!(close["level"], "warning", "9h of 10h: past 80%");
    let broken = job("broken");
    assert_eq!(
        (&broken["level"], &broken["failing"]),
        (&"breach".into(), &true.into())
    );
    assert_eq!(broken["last_failure"]["outcome"], "failed");
    assert!(
        broken["last_failure"]["error"]
            .as_str()
            .unwrap()
            .contains("lock"),
        "{broken}"
    );
    assert_eq!(v["scenarios"][0]["scenario"], "all");
    assert!(v["repository"]["bytes"].as_u64().unwrap() > 0);
    assert_eq!(v["repository"]["snapshots"], 4);

    // The text form says the same; broken runs again and succeeds: no longer failing.
    let o = e.run(&["--config", &cfg, "status"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("job stale: BREACH") && out.contains("status: BREACH"),
        "{out}"
    );
    e.ok(&["--config", &cfg, "run", "broken"]);
    let v = json(&String::from_utf8_lossy(
        &e.run(&["--config", &cfg, "status", "--json"]).stdout,
    ));
    let broken = v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == "broken")
        .unwrap()
        .clone();
    assert_eq!(
        (&broken["level"], &broken["failing"]),
        (&"ok".into(), &false.into())
    );

    // Only healthy jobs: exit 0; one close to its RPO: exit 1.
    let cfg = config(&e, &[("fresh", "24h")]);
    e.ok(&["--config", &cfg, "status"]);
    let cfg = config(&e, &[("fresh", "24h"), ("close", "10h")]);
    let o = e.run(&["--config", &cfg, "status"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn status_writes_prometheus_metrics_promtool_accepts_and_a_backup_moves_them() {
    use crate::daemon::{promtool, sample};
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"data").unwrap();
    let cfg = config(&e, &[("nightly", "24h")]);
    e.ok(&["--config", &cfg, "run", "nightly"]);
    let file = e.path("vcd.prom");
    let read = |e: &Env| {
        e.ok(&[
            "--config",
            &cfg,
            "status",
            "--prometheus",
            file.to_str().unwrap(),
        ]);
        std::fs::read_to_string(&file).unwrap()
    };
    let first = read(&e);
    let (ok, said) = promtool(&first);
    assert!(ok, "promtool: {said}\n{first}");
    assert_eq!(sample(&first, "vcd_snapshots"), Some(1.0));
    assert_eq!(sample(&first, "vcd_status"), Some(0.0));
    assert_eq!(
        sample(&first, "vcd_job_status{vcd_job=\"nightly\"}"),
        Some(0.0)
    );
    let added = sample(&first, "vcd_backup_added_bytes{vcd_job=\"nightly\"}").unwrap();
    assert!(added > 0.0, "{first}");
    std::fs::write(src.join("g"), "more data ".repeat(1000)).unwrap();
    e.ok(&["--config", &cfg, "run", "nightly"]);
    let second = read(&e);
    assert!(promtool(&second).0);
    assert_eq!(sample(&second, "vcd_snapshots"), Some(2.0));
    assert!(
        sample(&second, "vcd_repository_size_bytes") > sample(&first, "vcd_repository_size_bytes")
    );
}
