//! `vcd config init|check|show` through the binary: the default config is the specification's
//! policy and is flagged for its unmet RPOs; a broken one names file, line and column.

use crate::common::Env;

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
