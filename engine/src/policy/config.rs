//! The configuration file (`/etc/vcd/vcd.toml` by default): the repository, data categories,
//! backup jobs, maintenance jobs and recovery scenarios. Pure: the file's text in; a checked
//! `Config`, or diagnostics naming line and column, out. `check` also measures each recovery
//! scenario's RPO against the schedules of the jobs that back up its categories.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use serde::Serialize;
use toml::Spanned;

pub use crate::format::snapshot::BackupType;

use super::retention::Policy;
use super::schedule::{worst_gap, Schedule};

mod parse;
pub use parse::is_glob;
pub use parse::parse_duration;
#[cfg(test)]
use parse::position;
use parse::{keep_policy, known, matcher_error, normal_path, overlaps, zone, Findings, Raw};

/// The specification's policy, commented: what `vcd config init` writes.
pub const DEFAULT: &str = include_str!("default-config.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, at a place in the file (line and column count from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Repository {
    pub path: Option<String>,
    pub url: Option<String>,
    pub password_file: Option<String>,
    pub password_command: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Category {
    pub description: Option<String>,
    pub paths: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    #[serde(serialize_with = "schedule_text")]
    pub schedule: Schedule,
    #[serde(rename = "type")]
    pub kind: BackupType,
    pub categories: Vec<String>,
    pub compression: Option<i32>,
    pub tags: Vec<String>,
    #[serde(skip)]
    pub keep: Option<Policy>,
    /// The keep table as written, for `config show`.
    pub keep_text: Option<BTreeMap<String, toml::Value>>,
    #[serde(serialize_with = "opt_secs")]
    pub rpo: Option<Duration>,
    /// Maintenance jobs run after this one, in order.
    pub then: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Prune,
    Check,
    Drill,
}

#[derive(Debug, Clone, Serialize)]
pub struct Maintenance {
    pub task: Task,
    #[serde(serialize_with = "opt_schedule_text")]
    pub schedule: Option<Schedule>,
    pub max_unused: Option<String>,
    pub read_data_subset: Option<String>,
    /// Drill only: the scenario drilled (default `complete`, which also names `complete-system`).
    pub scenario: Option<String>,
    /// Drill only: `all`, a percentage or a size.
    pub sample: Option<String>,
    /// Drill only: where its scratch directory is made (default the system's temporary one).
    pub directory: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub description: Option<String>,
    #[serde(serialize_with = "secs")]
    pub rto: Duration,
    #[serde(serialize_with = "secs")]
    pub rpo: Duration,
    pub categories: Vec<String>,
}

/// Where failures are told (`[notify]`): a webhook, a command, or both.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Notify {
    /// An http(s) URL the event is POSTed to as JSON.
    pub url: Option<String>,
    /// A file whose first line is the key of the HMAC-SHA256 signature of each POST.
    pub secret_file: Option<String>,
    /// A shell command given the event as JSON on stdin and as VCD_* variables.
    pub command: Option<String>,
}

/// A checked configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub repository: Repository,
    pub notify: Notify,
    pub categories: BTreeMap<String, Category>,
    pub jobs: BTreeMap<String, Job>,
    pub maintenance: BTreeMap<String, Maintenance>,
    pub scenarios: BTreeMap<String, Scenario>,
}

/// What the schedules allow for one scenario: the longest any of its categories can go
/// without a backup, were every run to succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpoReport {
    pub scenario: String,
    #[serde(serialize_with = "secs")]
    pub rpo: Duration,
    /// None: some category of the scenario no job backs up.
    #[serde(serialize_with = "opt_secs")]
    pub worst_loss: Option<Duration>,
    pub met: bool,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(d.num_seconds())
}
fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.num_seconds()),
        None => s.serialize_none(),
    }
}
fn schedule_text<S: serde::Serializer>(x: &Schedule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(x.text())
}
fn opt_schedule_text<S: serde::Serializer>(x: &Option<Schedule>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => s.serialize_some(x.text()),
        None => s.serialize_none(),
    }
}

/// Reads and checks a configuration. Returns it when there is no error, with every finding
/// (errors, warnings) in file order either way.
pub fn check(text: &str) -> (Option<Config>, Vec<Diagnostic>) {
    let mut f = Findings {
        text,
        out: Vec::new(),
    };
    let raw: Raw = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            f.error(span, e.message().trim().to_string());
            return (None, f.out);
        }
    };

    let r = raw.repository.get_ref();
    if r.path.is_some() == r.url.is_some() {
        f.error(
            raw.repository.span(),
            "repository: give exactly one of path and url",
        );
    }
    if let Some(u) = &r.url {
        if let Err(e) = crate::backend::url::parse(std::ffi::OsStr::new(u)) {
            f.error(raw.repository.span(), format!("repository: {e}"));
        }
    }
    if r.password_file.is_some() && r.password_command.is_some() {
        f.error(
            raw.repository.span(),
            "repository: give password_file or password_command, not both",
        );
    }
    let repository = Repository {
        path: r.path.clone(),
        url: r.url.clone(),
        password_file: r.password_file.clone(),
        password_command: r.password_command.clone(),
    };

    let mut categories = BTreeMap::new();
    let mut claimed: Vec<(String, String)> = Vec::new(); // (path, category)
    for (name, c) in &raw.categories {
        if c.paths.get_ref().is_empty() {
            f.error(
                c.paths.span(),
                format!("category {:?}: no paths", name.get_ref()),
            );
        }
        let mut paths = Vec::new();
        for p in c.paths.get_ref() {
            match normal_path(p.get_ref()) {
                Err(e) => f.error(p.span(), format!("category {:?}: {e}", name.get_ref())),
                Ok(n) if is_glob(&n) && matcher_error(&n).is_some() => f.error(
                    p.span(),
                    format!(
                        "category {:?}: {}",
                        name.get_ref(),
                        matcher_error(&n).unwrap_or_default()
                    ),
                ),
                Ok(n) => {
                    if let Some((q, other)) = claimed.iter().find(|(q, _)| overlaps(&n, q)) {
                        f.error(p.span(), format!("category {:?}: {n} overlaps {q} of category {other:?} (a file must belong to one category)", name.get_ref()));
                    }
                    claimed.push((n.clone(), name.get_ref().clone()));
                    paths.push(n);
                }
            }
        }
        categories.insert(
            name.get_ref().clone(),
            Category {
                description: c.description.clone(),
                paths,
                exclude: c.exclude.clone(),
            },
        );
    }

    let mut maintenance = BTreeMap::new();
    for (name, m) in &raw.maintenance {
        // `vcd run NAME` and the daemon's history name both kinds of job alike.
        if raw.jobs.keys().any(|j| j.get_ref() == name.get_ref()) {
            f.error(
                name.span(),
                format!(
                    "maintenance {:?}: a backup job has that name too",
                    name.get_ref()
                ),
            );
        }
        let task = match m.task.get_ref().as_str() {
            "prune" => Task::Prune,
            "check" => Task::Check,
            "drill" => Task::Drill,
            other => {
                f.error(
                    m.task.span(),
                    format!(
                        "maintenance {:?}: unknown task {other:?} (prune, check or drill)",
                        name.get_ref()
                    ),
                );
                continue;
            }
        };
        let tz = zone(&mut f, &m.timezone);
        let schedule = m
            .schedule
            .as_ref()
            .and_then(|s| match Schedule::parse(s.get_ref(), tz) {
                Ok(s) => Some(s),
                Err(e) => {
                    f.error(
                        s.span(),
                        format!("maintenance {:?}: schedule {e}", name.get_ref()),
                    );
                    None
                }
            });
        let what = format!("maintenance {:?}", name.get_ref());
        for (key, v) in [
            ("max_unused", &m.max_unused),
            ("read_data_subset", &m.read_data_subset),
        ] {
            if let Some(v) = v {
                if let Err(e) = percent(v.get_ref()) {
                    f.error(v.span(), format!("{what}: {key} {e}"));
                }
            }
        }
        if let Some(v) = &m.sample {
            let ok = v.get_ref().trim().eq_ignore_ascii_case("all")
                || if v.get_ref().trim().ends_with('%') {
                    percent(v.get_ref()).map(|p| p > 0.0)
                } else {
                    size(v.get_ref()).map(|b| b > 0)
                }
                .unwrap_or(false);
            if !ok {
                f.error(
                    v.span(),
                    format!(
                        "{what}: sample {:?}: all, a percentage (\"10%\") or a size (\"500M\")",
                        v.get_ref()
                    ),
                );
            }
        }
        if let Some(d) = &m.directory {
            if !d.get_ref().starts_with('/') {
                f.error(
                    d.span(),
                    format!("{what}: directory must be an absolute path"),
                );
            }
        }
        let keys: [(&str, Option<std::ops::Range<usize>>, bool); 5] = [
            (
                "max_unused",
                m.max_unused.as_ref().map(|v| v.span()),
                task == Task::Prune,
            ),
            (
                "read_data_subset",
                m.read_data_subset.as_ref().map(|v| v.span()),
                task == Task::Check,
            ),
            (
                "scenario",
                m.scenario.as_ref().map(|v| v.span()),
                task == Task::Drill,
            ),
            (
                "sample",
                m.sample.as_ref().map(|v| v.span()),
                task == Task::Drill,
            ),
            (
                "directory",
                m.directory.as_ref().map(|v| v.span()),
                task == Task::Drill,
            ),
        ];
        for (key, span, applies) in keys {
            if let (Some(span), false) = (span, applies) {
                f.error(span, format!("{what}: {key} does not apply to this task"));
            }
        }
        maintenance.insert(
            name.get_ref().clone(),
            Maintenance {
                task,
                schedule,
                max_unused: m.max_unused.as_ref().map(|v| v.get_ref().clone()),
                read_data_subset: m.read_data_subset.as_ref().map(|v| v.get_ref().clone()),
                scenario: m.scenario.as_ref().map(|v| v.get_ref().clone()),
                sample: m.sample.as_ref().map(|v| v.get_ref().clone()),
                directory: m.directory.as_ref().map(|v| v.get_ref().clone()),
            },
        );
    }

    let mut jobs = BTreeMap::new();
    let mut job_spans = BTreeMap::new();
    for (name, j) in &raw.jobs {
        let what = format!("job {:?}", name.get_ref());
        let tz = zone(&mut f, &j.timezone);
        let schedule = match Schedule::parse(j.schedule.get_ref(), tz) {
            Ok(s) => Some(s),
            Err(e) => {
                f.error(j.schedule.span(), format!("{what}: schedule {e}"));
                None
            }
        };
        let kind = match j.kind.get_ref().as_str() {
            "full" => Some(BackupType::Full),
            "incremental" => Some(BackupType::Incremental),
            other => {
                f.error(
                    j.kind.span(),
                    format!("{what}: type {other:?} is neither \"full\" nor \"incremental\""),
                );
                None
            }
        };
        let cats = known(&mut f, &j.categories, &categories, &what);
        let compression = match &j.compression {
            Some(c) if !(1..=22).contains(c.get_ref()) => {
                f.error(
                    c.span(),
                    format!(
                        "{what}: compression {} is not a zstd level (1-22)",
                        c.get_ref()
                    ),
                );
                None
            }
            c => c.as_ref().map(|c| *c.get_ref() as i32),
        };
        let keep = j.keep.as_ref().and_then(|k| keep_policy(&mut f, k));
        let rpo = j
            .rpo
            .as_ref()
            .and_then(|r| match parse_duration(r.get_ref()) {
                Ok(d) => Some(d),
                Err(e) => {
                    f.error(r.span(), format!("{what}: rpo {e}"));
                    None
                }
            });
        for t in &j.then {
            if !maintenance.contains_key(t.get_ref()) {
                f.error(
                    t.span(),
                    format!("{what}: then: no maintenance job {:?}", t.get_ref()),
                );
            }
        }
        if let (Some(schedule), Some(kind)) = (schedule, kind) {
            job_spans.insert(
                name.get_ref().clone(),
                (name.span(), j.rpo.as_ref().map(|r| r.span())),
            );
            jobs.insert(
                name.get_ref().clone(),
                Job {
                    schedule,
                    kind,
                    categories: cats,
                    compression,
                    tags: j.tags.clone(),
                    keep,
                    keep_text: j.keep.as_ref().map(|k| {
                        k.get_ref()
                            .iter()
                            .map(|(a, b)| (a.get_ref().clone(), b.get_ref().clone()))
                            .collect()
                    }),
                    rpo,
                    then: j.then.iter().map(|t| t.get_ref().clone()).collect(),
                },
            );
        }
    }

    let mut scenarios = BTreeMap::new();
    for (name, s) in &raw.scenarios {
        let what = format!("scenario {:?}", name.get_ref());
        let mut dur = |v: &Spanned<String>, key: &str| match parse_duration(v.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                f.error(v.span(), format!("{what}: {key} {e}"));
                None
            }
        };
        let (rto, rpo) = (dur(&s.rto, "rto"), dur(&s.rpo, "rpo"));
        let cats = known(&mut f, &s.categories, &categories, &what);
        if let (Some(rto), Some(rpo)) = (rto, rpo) {
            scenarios.insert(
                name.get_ref().clone(),
                Scenario {
                    description: s.description.clone(),
                    rto,
                    rpo,
                    categories: cats,
                },
            );
        }
    }

    // A drill names a scenario of this file (without a name, the complete system's).
    for (name, m) in &raw.maintenance {
        if m.task.get_ref() != "drill" {
            continue;
        }
        let want = m.scenario.as_ref().map_or("complete", |s| s.get_ref());
        let alias = match want {
            "complete" => "complete-system",
            "partial" => "partial-data",
            w => w,
        };
        if !raw
            .scenarios
            .keys()
            .any(|k| k.get_ref() == want || k.get_ref() == alias)
        {
            let span = m.scenario.as_ref().map_or(name.span(), |s| s.span());
            f.error(
                span,
                format!(
                    "maintenance {:?}: no scenario {want:?} in this file to drill",
                    name.get_ref()
                ),
            );
        }
    }

    let mut notify = Notify::default();
    if let Some(n) = &raw.notify {
        if let Some(u) = &n.url {
            let v = u.get_ref();
            if !(v.starts_with("http://") || v.starts_with("https://")) {
                f.error(
                    u.span(),
                    format!("notify: url {v:?}: an http:// or https:// URL"),
                );
            }
        }
        if let Some(p) = &n.secret_file {
            if !p.get_ref().starts_with('/') {
                f.error(
                    p.span(),
                    "notify: secret_file must be an absolute path".to_string(),
                );
            }
        }
        notify = Notify {
            url: n.url.as_ref().map(|v| v.get_ref().clone()),
            secret_file: n.secret_file.as_ref().map(|v| v.get_ref().clone()),
            command: n.command.as_ref().map(|v| v.get_ref().clone()),
        };
    }

    let config = Config {
        repository,
        notify,
        categories,
        jobs,
        maintenance,
        scenarios,
    };

    // What the schedules allow, against what each job and scenario asks.
    for (name, job) in &config.jobs {
        let (_, rpo_span) = &job_spans[name];
        if let (Some(rpo), Some(span)) = (job.rpo, rpo_span.clone()) {
            if let Some(gap) = worst_gap(&[&job.schedule], epoch(), horizon()) {
                if gap > rpo {
                    f.warn(
                        span,
                        format!(
                            "job {name:?}: rpo {} but it runs only every {} at worst",
                            human(rpo),
                            human(gap)
                        ),
                    );
                }
            }
        }
    }
    for r in rpo_reports(&config) {
        if r.met {
            continue;
        }
        let s = raw
            .scenarios
            .iter()
            .find(|(n, _)| *n.get_ref() == r.scenario)
            .expect("checked");
        let msg = match r.worst_loss {
            None => format!("scenario {:?}: a category of it is in no job, so its RPO of {} cannot be met", r.scenario, human(r.rpo)),
            Some(loss) => format!(
                "scenario {:?}: RPO {} cannot be met: the jobs covering its categories leave up to {} between backups (add a job that backs them up at least every {}, e.g. schedule = \"0 * * * *\" for hourly)",
                r.scenario, human(r.rpo), human(loss), human(r.rpo)
            ),
        };
        f.warn(s.1.rpo.span(), msg);
    }

    f.out.sort_by_key(|d| (d.line, d.column));
    let ok = !f.out.iter().any(|d| d.severity == Severity::Error);
    (ok.then_some(config), f.out)
}

/// A fixed start for measuring schedules, so a check gives the same answer any day; 400 days
/// from it covers every weekday of every month at least once.
fn epoch() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}
fn horizon() -> Duration {
    Duration::days(400)
}

/// For each scenario: the worst time any of its categories goes without a backup.
pub fn rpo_reports(c: &Config) -> Vec<RpoReport> {
    c.scenarios
        .iter()
        .map(|(name, s)| {
            let mut worst: Option<Duration> = Some(Duration::zero());
            for cat in &s.categories {
                let scheds: Vec<&Schedule> = c
                    .jobs
                    .values()
                    .filter(|j| j.categories.contains(cat))
                    .map(|j| &j.schedule)
                    .collect();
                let gap = if scheds.is_empty() {
                    None
                } else {
                    worst_gap(&scheds, epoch(), horizon())
                };
                worst = match (worst, gap) {
                    (Some(w), Some(g)) => Some(w.max(g)),
                    _ => None,
                };
            }
            RpoReport {
                scenario: name.clone(),
                rpo: s.rpo,
                worst_loss: worst,
                met: worst.is_some_and(|w| w <= s.rpo),
            }
        })
        .collect()
}

/// "1h", "24h", "7d", "30min".
/// A percentage such as `5%` or `2.5%`, as a number from 0 to 100.
pub fn percent(s: &str) -> Result<f64, String> {
    let n = s
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| format!("{s:?}: a percentage such as \"5%\""))?;
    match n.trim().parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?}: a percentage from 0% to 100%")),
    }
}

/// A size such as `500M`, `2G`, `1.5T` or `4096` (binary units, an optional `B` or `iB`).
pub fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        None => (t, ""),
        Some(i) => (&t[..i], &t[i..]),
    };
    let unit = unit.to_ascii_uppercase();
    let mult: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        u => return Err(format!("{s:?}: unknown unit {u:?} (K, M, G or T)")),
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * (mult as f64) < u64::MAX as f64 => {
            Ok((n * mult as f64).round() as u64)
        }
        _ => Err(format!("{s:?}: not a size (such as 500M or 2G)")),
    }
}

pub fn human(d: Duration) -> String {
    let s = d.num_seconds();
    if s % 86400 == 0 && s >= 86400 {
        format!("{}d", s / 86400)
    } else if s % 3600 == 0 && s >= 3600 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 {
        format!("{}min", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests;
