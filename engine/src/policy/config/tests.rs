//! The configuration checks against the default file and broken edits of it: each finding at
//! its line and column, and the RPO each scenario can meet.

use super::*;

fn errors(text: &str) -> Vec<Diagnostic> {
    let (c, d) = check(text);
    assert!(c.is_none(), "expected errors in:\n{text}");
    d.into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

/// The default config with one line replaced (the line holding `from`, by `to`).
fn edited(from: &str, to: &str) -> String {
    assert!(DEFAULT.contains(from), "{from}");
    DEFAULT.replacen(from, to, 1)
}

/// Line and column (from 1) where `needle` starts in `text`.
fn at(text: &str, needle: &str) -> (usize, usize) {
    position(
        text,
        text.find(needle).unwrap_or_else(|| panic!("{needle}")),
    )
}

#[test]
fn the_default_config_is_the_specification_and_its_scenarios_miss_their_rpos() {
    let (c, d) = check(DEFAULT);
    let c = c.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(
        c.categories.keys().collect::<Vec<_>>(),
        ["critical", "important", "optional"]
    );
    let daily = &c.jobs["daily"];
    assert_eq!(
        (daily.kind, daily.schedule.text()),
        (BackupType::Incremental, "0 2 * * *")
    );
    assert_eq!(daily.categories, ["critical", "important"]);
    assert_eq!(
        daily.keep.as_ref().unwrap().within_daily,
        Some("30d".parse().unwrap())
    );
    assert_eq!(c.jobs["weekly"].kind, BackupType::Full);
    assert_eq!(c.jobs["monthly"].schedule.text(), "0 0 * * SUN#1");
    assert_eq!(c.jobs["monthly"].compression, Some(19));
    let reports = rpo_reports(&c);
    let by: BTreeMap<&str, &RpoReport> = reports.iter().map(|r| (r.scenario.as_str(), r)).collect();
    // The optional category is backed up weekly only, so a complete recovery can lose a week
    // of it against an RPO of 24 hours.
    assert!(!by["complete-system"].met);
    assert_eq!(by["complete-system"].worst_loss, Some(Duration::days(7)));
    for s in ["partial-data", "configuration"] {
        assert!(!by[s].met, "{s}");
        assert_eq!(by[s].worst_loss, Some(Duration::hours(24)), "{s}");
    }
    let warnings: Vec<&Diagnostic> = d
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    assert_eq!(warnings.len(), 3, "{d:#?}");
    assert!(
        warnings[0]
            .message
            .contains("\"complete-system\": RPO 1d cannot be met")
            && warnings[0].message.contains("7d")
    );
    for w in &warnings[1..] {
        assert!(
            w.message.contains("RPO 1h cannot be met") && w.message.contains("1d between"),
            "{w:?}"
        );
    }
    // Each warning points at its scenario's rpo value.
    let (line, _) = at(DEFAULT, "[scenarios.partial-data]");
    assert_eq!((warnings[1].line, warnings[1].column), (line + 3, 7));
}

#[test]
fn an_hourly_job_of_every_category_meets_every_rpo() {
    let text = format!(
        "{DEFAULT}\n[jobs.hourly]\nschedule = \"0 * * * *\"\ntype = \"incremental\"\ncategories = [\"critical\", \"important\", \"optional\"]\nkeep = {{ within_hourly = \"2d\" }}\nrpo = \"1h\"\n"
    );
    let (c, d) = check(&text);
    assert!(c.is_some() && d.is_empty(), "{d:#?}");
    assert!(rpo_reports(&c.unwrap()).iter().all(|r| r.met));
}

#[test]
fn ten_broken_configs_each_report_their_line_and_column() {
    // (the edit, the text the error must point at, words the message must hold)
    let cases: Vec<(String, &str, &str)> = vec![
        // A typo in a key.
        (
            edited("password_file = ", "pasword_file = "),
            "pasword_file",
            "unknown field `pasword_file`",
        ),
        // An unknown category in a job.
        (
            edited(
                "categories = [\"critical\", \"important\"]\nkeep",
                "categories = [\"critical\", \"importent\"]\nkeep",
            ),
            "\"importent\"",
            "unknown category \"importent\"",
        ),
        // An impossible schedule (30 February).
        (
            edited("schedule = \"0 2 * * *\"", "schedule = \"0 2 30 2 *\""),
            "\"0 2 30 2 *\"",
            "never runs",
        ),
        // A malformed one.
        (
            edited("schedule = \"0 1 * * SUN\"", "schedule = \"0 25 * * SUN\""),
            "\"0 25 * * SUN\"",
            "schedule",
        ),
        // Overlapping categories.
        (
            edited(
                "paths = [\"/var/cache/vcd\"",
                "paths = [\"/var/lib/vcd/sessions/old\"",
            ),
            "\"/var/lib/vcd/sessions/old\"",
            "overlaps /var/lib/vcd/sessions of category \"important\"",
        ),
        // A backup type that does not exist.
        (
            edited("type = \"full\"", "type = \"differential\""),
            "\"differential\"",
            "neither \"full\" nor \"incremental\"",
        ),
        // A compression level zstd has not.
        (
            edited("compression = 19", "compression = 99"),
            "99",
            "not a zstd level",
        ),
        // An RPO in months, or with no unit.
        (
            edited("rpo = \"24h\"", "rpo = \"24\""),
            "\"24\"\n",
            "add a unit",
        ),
        (
            edited("rto = \"30min\"", "rto = \"30m\""),
            "\"30m\"",
            "write min for minutes",
        ),
        // A keep rule that does not exist, and one that keeps nothing.
        (
            edited(
                "keep = { within_weekly = \"12w\" }",
                "keep = { within_weakly = \"12w\" }",
            ),
            "within_weakly",
            "unknown keep rule",
        ),
        (
            edited("keep = { within_daily = \"30d\" }", "keep = { daily = 0 }"),
            "{ daily = 0 }",
            "keeps nothing",
        ),
        // A relative path, an unknown zone, broken TOML.
        (
            edited("\"/etc/vcd\", ", "\"etc/vcd\", "),
            "\"etc/vcd\"",
            "must be absolute",
        ),
        (
            edited("rpo = \"7d\"", "rpo = \"7d\"\ntimezone = \"Mars/Olympus\""),
            "\"Mars/Olympus\"",
            "unknown time zone",
        ),
        (
            edited("[jobs.weekly]", "[jobs.weekly"),
            "\n[jobs.weekly",
            "",
        ),
        // A maintenance job named as a backup job is (`vcd run NAME` could mean either).
        (
            edited("[maintenance.check]", "[maintenance.daily]"),
            "daily]\ntask",
            "a backup job has that name too",
        ),
        // A scenario naming a category no one defined.
        (
            edited("categories = [\"critical\"]\n", "categories = [\"crit\"]\n"),
            "\"crit\"",
            "unknown category \"crit\"",
        ),
    ];
    for (text, needle, words) in &cases {
        let errs = errors(text);
        let (line, column) = at(text, needle);
        // Broken TOML is reported where the parser stopped: on the line of the broken header.
        let (line, column) = if needle.starts_with('\n') {
            (line + 1, errs[0].column)
        } else {
            (line, column)
        };
        assert!(
            errs.iter()
                .any(|e| e.line == line && e.column == column && e.message.contains(words)),
            "{needle:?}: expected an error at {line}:{column} with {words:?}, got {errs:#?}"
        );
    }
    assert!(cases.len() >= 10);
}

#[test]
fn durations_for_rpo_and_rto() {
    assert_eq!(parse_duration("30min"), Ok(Duration::minutes(30)));
    assert_eq!(parse_duration("4h"), Ok(Duration::hours(4)));
    assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
    assert_eq!(parse_duration("2w"), Ok(Duration::weeks(2)));
    for bad in ["", "h", "0h", "30m", "3x", "-1h", "99999999999999999999d"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
    assert_eq!(human(Duration::hours(24)), "1d");
    assert_eq!(human(Duration::minutes(90)), "90min");
}

#[test]
fn the_documentation_shows_the_default_as_it_is() {
    let doc = include_str!("../../../../docs/config.md");
    assert!(
        doc.contains(DEFAULT),
        "docs/config.md: its default block differs from DEFAULT"
    );
}

#[test]
fn category_paths_may_be_globs_and_their_overlaps_are_found() {
    use parse::overlaps;
    // A glob and a path: the glob matches the path or one above it, or the path holds the
    // glob's fixed part.
    assert!(overlaps("/var/log/vcd/*.log", "/var/log/vcd/a.log"));
    assert!(overlaps("/var/log/vcd/*", "/var/log/vcd/sessions/x"));
    assert!(overlaps("/var/log/vcd/*.log", "/var/log"));
    assert!(!overlaps("/var/log/vcd/*.log", "/var/log/vcd/sessions"));
    assert!(!overlaps("/var/log/vcd/*.log", "/srv"));
    // Two globs: either matches the other's text.
    assert!(overlaps("/var/log/vcd/*", "/var/log/vcd/*.log"));
    assert!(!overlaps("/var/log/vcd/*.log", "/var/log/vcd/*.txt"));
    // Two paths, as before.
    assert!(overlaps("/a/b", "/a"));
    assert!(!overlaps("/a/b", "/a/bc"));

    let text = edited(
        "paths = [\"/var/cache/vcd\"",
        "paths = [\"/var/log/vcd/*.old\", \"/var/cache/vcd\"",
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0]
            .message
            .contains("/var/log/vcd/*.old overlaps /var/log/vcd of category \"critical\""),
        "{errs:#?}"
    );
    let ok = edited(
        "paths = [\"/var/cache/vcd\"",
        "paths = [\"/var/tmp/vcd-*/debug\", \"/var/cache/vcd\"",
    );
    let (c, d) = check(&ok);
    let c = c.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(c.categories["optional"].paths[0], "/var/tmp/vcd-*/debug");
    let bad = edited("\"/var/cache/vcd\"", "\"/var/cache/[vcd\"");
    let errs = errors(&bad);
    assert!(
        errs.iter().any(|e| e.message.contains("/var/cache/[vcd")),
        "{errs:#?}"
    );
}

#[test]
fn a_drill_task_names_a_scenario_of_the_file_and_a_sample() {
    let drill = |body: &str| format!("{DEFAULT}\n[maintenance.drill]\ntask = \"drill\"\n{body}");
    let (c, d) = check(&drill(
        "schedule = \"0 6 * * SUN\"\nscenario = \"configuration\"\nsample = \"10%\"\ndirectory = \"/var/tmp\"\n",
    ));
    let c = c.unwrap_or_else(|| panic!("{d:?}"));
    let m = &c.maintenance["drill"];
    assert_eq!(m.task, Task::Drill);
    assert_eq!(
        (
            m.scenario.as_deref(),
            m.sample.as_deref(),
            m.directory.as_deref()
        ),
        (Some("configuration"), Some("10%"), Some("/var/tmp"))
    );
    // Without a scenario: the complete system's, which the default file has.
    assert!(check(&drill("")).0.is_some());
    for (body, needle, words) in [
        ("scenario = \"mars\"\n", "\"mars\"", "no scenario \"mars\""),
        ("sample = \"0%\"\n", "\"0%\"", "sample \"0%\""),
        ("sample = \"lots\"\n", "\"lots\"", "a size (\"500M\")"),
        ("directory = \"tmp\"\n", "\"tmp\"", "absolute path"),
        (
            "max_unused = \"5%\"\n",
            "\"5%\"",
            "max_unused does not apply",
        ),
    ] {
        let text = drill(body);
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{body}: {e:?}");
        // The drill's table is last: the needle's last occurrence is the one meant.
        let pos = position(&text, text.rfind(needle).unwrap());
        assert_eq!((e[0].line, e[0].column), pos, "{body}");
        assert!(e[0].message.contains(words), "{body}: {}", e[0].message);
    }
    // A scenario on a prune is a mistake too.
    let text = DEFAULT.replace(
        "max_unused = \"5%\"",
        "max_unused = \"5%\"\nscenario = \"configuration\"",
    );
    assert!(errors(&text)[0].message.contains("scenario does not apply"));
}

#[test]
fn a_repository_url_of_an_unknown_scheme_is_an_error_and_a_known_one_is_kept() {
    let path_line = DEFAULT
        .lines()
        .find(|l| l.starts_with("path = "))
        .unwrap()
        .to_string();
    let e = errors(&edited(&path_line, "url = \"sftp://host/srv/repo\""));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].message.contains("sftp:[USER@]HOST:PATH"), "{e:#?}");
    let (c, d) = check(&edited(
        &path_line,
        "url = \"s3:https://s3.example.com/bucket/host1\"",
    ));
    let c = c.unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(
        c.repository.url.as_deref(),
        Some("s3:https://s3.example.com/bucket/host1")
    );
}
