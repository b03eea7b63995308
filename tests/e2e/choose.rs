//! Choosing a snapshot as every command does: `latest` and `--at` within `--host`, `--tag`,
//! `--path`, `--category` and `--job`, relative times, and the line that says which snapshot
//! was chosen; and restore mistakes that are errors (an include that matches nothing, a target
//! that is a file).

use crate::common::Env;

fn at(days_ago: i64, hour: u32) -> String {
    let t = chrono::Utc::now().date_naive() - chrono::Duration::days(days_ago);
    t.and_hms_opt(hour, 0, 0).unwrap().and_utc().to_rfc3339()
}

#[test]
fn latest_and_at_resolve_within_the_filter_and_say_what_they_chose() {
    let e = Env::with_cheap_key();
    let (crit, opt) = (e.path("crit"), e.path("opt"));
    std::fs::create_dir_all(&crit).unwrap();
    std::fs::create_dir_all(&opt).unwrap();
    let backup = |dir: &std::path::Path, cat: &str, when: &str, content: &str| -> String {
        std::fs::write(dir.join("f"), content).unwrap();
        let v = e.backup_json(dir, &["--category", cat, "--time", when]);
        v["id"].as_str().unwrap().to_string()
    };
    let c1 = backup(&crit, "critical", &at(4, 2), "critical day 1");
    let _o1 = backup(&opt, "optional", &at(3, 2), "optional day 2");
    let c2 = backup(&crit, "critical", &at(2, 2), "critical day 3");
    let o2 = backup(&opt, "optional", &at(1, 2), "optional day 4");

    // `latest` alone is the newest of all; with --category, the newest holding it.
    let o = e.run(&["ls", "latest"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("using snapshot {}", &o2[..8])) && err.contains("the newest"),
        "{err}"
    );
    let o = e.run(&["ls", "--category", "critical", "latest"]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(out.contains("/crit/f"), "{out}");
    assert!(
        err.contains(&format!("using snapshot {}", &c2[..8]))
            && err.contains("of category critical"),
        "{err}"
    );

    // Point in time within the category, relative: noon three days ago, to the hour, is after
    // c1 and o1 and before c2 whatever the time of day (a fixed "60 hours ago" left the window
    // after 14:00 UTC).
    let noon = chrono::DateTime::parse_from_rfc3339(&at(3, 12)).unwrap();
    let hours = (chrono::Utc::now() - noon.with_timezone(&chrono::Utc)).num_hours();
    let ago = format!("{hours} hours ago");
    let target = e.path("r");
    let o = e.run(&[
        "restore",
        "--category",
        "critical",
        "--at",
        &ago,
        "--target",
        target.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("using snapshot {}", &c1[..8]))
            && err.contains("the newest at or before"),
        "{err}"
    );
    let restored = target.join(crit.strip_prefix("/").unwrap()).join("f");
    assert_eq!(std::fs::read_to_string(restored).unwrap(), "critical day 1");

    // A path filter: snapshots that backed up the path or one above it.
    let o = e.run(&[
        "cat",
        "snapshot",
        "latest",
        "--path",
        crit.join("f").to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["id"], c2.as_str());

    // Nothing in the filter, or before the time: the error says what was asked.
    let (_, err) = e.code(1, &["ls", "--category", "important", "latest"]);
    assert!(err.contains("latest of category important"), "{err}");
    let (_, err) = e.code(1, &["ls", "--at", "5 days ago", "/"]);
    assert!(
        err.contains("no snapshot") || err.contains("at or before"),
        "{err}"
    );
    let (_, err) = e.code(1, &["ls", "--at", "next week", "/"]);
    assert!(err.contains("cannot read time \"next week\""), "{err}");
}

#[test]
fn an_include_that_matches_nothing_and_a_target_that_is_a_file_are_errors() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("d/a.txt"), b"a").unwrap();
    e.backup(&src, &[]);
    let target = e.path("t");
    let t = target.to_str().unwrap();
    let inc = src.join("d/a.txt");
    let (_, err) = e.code(
        1,
        &[
            "restore",
            "latest",
            "--target",
            t,
            "--include",
            inc.to_str().unwrap(),
            "--include",
            "/nowhere/*",
        ],
    );
    assert!(
        err.contains("--include \"/nowhere/*\": matches nothing"),
        "{err}"
    );
    assert!(
        !err.contains("a.txt\""),
        "only the pattern that matched nothing: {err}"
    );
    assert!(!target.exists(), "nothing was written");
    // The same include alone restores its file.
    e.ok(&[
        "restore",
        "latest",
        "--target",
        t,
        "--include",
        inc.to_str().unwrap(),
    ]);
    assert!(target.join(inc.strip_prefix("/").unwrap()).exists());

    let file = e.path("file");
    std::fs::write(&file, b"keep me").unwrap();
    let (_, err) = e.code(
        1,
        &["restore", "latest", "--target", file.to_str().unwrap()],
    );
    assert!(err.contains("exists and is not a directory"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}
