//! `vcd config init|check|show` through the binary: the default config is the specification's
//! policy and is flagged for its unmet RPOs; a broken one names file, line and column.

use crate::common::Env;
use crate::gen::words as text;

#[test]
fn config_init_writes_the_specification_and_check_flags_its_rpos() {
    let e = Env::bare();
    let file = e.path("etc/vcd.toml");
    let f = file.to_str().unwrap();
    e.ok(&["config", "--config", f, "init"]);
    // Never over an existing file without --force.
    let (_, err) = e.code(1, &["config", "--config", f, "init"]);
    assert!(err.contains("exists"), "{err}");

    // The specification asks RPO 1h of two scenarios and schedules only a daily backup: a
    // warning each, naming the scenario's rpo value; the file is valid, so exit 0.
    let o = e.run(&["config", "--config", f, "check"]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{out}\n{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    for scenario in ["partial-data", "configuration"] {
        let header = format!("[scenarios.{scenario}]");
        let line = text.lines().position(|l| l == header).unwrap() + 1;
        let rpo_line = line
            + text
                .lines()
                .skip(line)
                .position(|l| l.starts_with("rpo"))
                .unwrap()
            + 1;
        let want =
            format!("{f}:{rpo_line}:7: warning: scenario \"{scenario}\": RPO 1h cannot be met");
        assert!(err.contains(&want), "want {want:?} in:\n{err}");
        assert!(
            out.contains(&format!(
                "scenario {scenario}: RPO 1h, worst-case data loss 1d: NOT met"
            )),
            "{out}"
        );
    }
    // The optional category is backed up weekly only.
    assert!(
        out.contains("scenario complete-system: RPO 1d, worst-case data loss 7d: NOT met"),
        "{out}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&e.ok(&["config", "--config", f, "show", "--json"])).unwrap();
    assert_eq!(json["jobs"]["monthly"]["schedule"], "0 0 * * SUN#1");
    assert_eq!(json["jobs"]["monthly"]["compression"], 19);
    assert_eq!(json["jobs"]["daily"]["type"], "incremental");
    let shown = e.ok(&["config", "--config", f, "show"]);
    assert!(shown.contains("[jobs.weekly]"), "{shown}");

    // VCD_CONFIG names the file too.
    let o = e
        .cmd(&["config", "check", "--json"])
        .env("VCD_CONFIG", f)
        .output()
        .unwrap();
    assert!(o.status.success());
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["ok"], true);
    assert_eq!(
        j["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["met"] == false)
            .count(),
        3
    );
}

#[test]
fn config_check_of_a_broken_file_names_line_and_column_and_exits_1() {
    let e = Env::bare();
    let file = e.path("vcd.toml");
    let f = file.to_str().unwrap();
    e.ok(&["config", "--config", f, "init"]);
    let text = std::fs::read_to_string(&file).unwrap();
    let broken = text.replacen("type = \"full\"", "type = \"ful\"", 1);
    std::fs::write(&file, &broken).unwrap();
    let line = broken.lines().position(|l| l == "type = \"ful\"").unwrap() + 1;
    let (_, err) = e.code(1, &["config", "--config", f, "check"]);
    assert!(
        err.contains(&format!(
            "{f}:{line}:8: error: job \"weekly\": type \"ful\""
        )),
        "{err}"
    );
    let (_, err) = e.code(1, &["config", "--config", f, "show"]);
    assert!(err.contains("not a valid configuration"), "{err}");
    let (_, err) = e.code(1, &["config", "--config", "/nonexistent/vcd.toml", "check"]);
    assert!(err.contains("/nonexistent/vcd.toml"), "{err}");
}

#[test]
fn a_backup_records_its_job_and_stores_new_data_at_the_level_it_asks() {
    use engine::repo::BlobSource;
    // One file, one chunk (under the chunker's minimum size).
    let data = text(7, 3000);
    assert!(data.len() < 64 << 10);
    // The same file backed up at the repository's level (3), at 3 asked, and at 19 asked.
    let stored = |args: &[&str]| {
        let e = Env::new();
        std::fs::create_dir(e.path("src")).unwrap();
        std::fs::write(e.path("src/f"), &data).unwrap();
        let src = e.path("src");
        let mut a = vec!["backup", "-q"];
        a.extend_from_slice(args);
        a.push(src.to_str().unwrap());
        e.ok(&a);
        let repo = e.open_repo();
        let len = repo.lookup(&repo.chunk_id(&data)).unwrap().entry.length;
        (e, len)
    };
    let (_, default) = stored(&[]);
    let (_, three) = stored(&["--compression", "3"]);
    let (e, nineteen) = stored(&[
        "--job",
        "monthly",
        "--category",
        "critical",
        "--type",
        "full",
        "--compression",
        "19",
    ]);
    assert_eq!(default, three, "the repository's level is 3");
    assert!(
        nineteen < three,
        "level 19 stores {nineteen} bytes, level 3 {three}"
    );

    // The job and category are recorded, shown and filtered on.
    let src = e.path("src");
    std::fs::write(e.path("src/g"), text(8, 100)).unwrap();
    e.ok(&["backup", "-q", "--job", "daily", src.to_str().unwrap()]);
    let all: serde_json::Value = serde_json::from_str(&e.ok(&["snapshots", "--json"])).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let monthly: serde_json::Value =
        serde_json::from_str(&e.ok(&["snapshots", "--json", "--job", "monthly"])).unwrap();
    let monthly = monthly.as_array().unwrap();
    assert_eq!(monthly.len(), 1);
    assert_eq!(
        (
            &monthly[0]["job"],
            &monthly[0]["category"],
            &monthly[0]["type"]
        ),
        (&"monthly".into(), &"critical".into(), &"full".into())
    );
    let critical: serde_json::Value =
        serde_json::from_str(&e.ok(&["snapshots", "--json", "--category", "critical"])).unwrap();
    assert_eq!(critical.as_array().unwrap().len(), 1);
    let table = e.ok(&["snapshots"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("type") && header.contains("category") && header.contains("job"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains("full") && l.contains("critical") && l.contains("monthly")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains("incremental") && l.contains("daily")),
        "{table}"
    );

    // A level zstd has not is refused before anything is written.
    let (_, err) = e.code(1, &["backup", "--compression", "23", src.to_str().unwrap()]);
    assert!(err.contains("compression level 23"), "{err}");
}
