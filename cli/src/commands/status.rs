//! `vcd status [--json]`: every job against its RPO (its last success, last failure, next
//! run), every recovery scenario's last restore or drill against its RTO, the repository's size
//! and growth, the last check, and any sign of storage rolled back; from the repository alone,
//! so any host sees the same. Exit 0 ok, 1 warning, 2 breach: a Nagios/Icinga check as is.

use anyhow::{Context, Result};
use engine::ops::status::{self, Level};

use crate::common::{self, human_bytes, GlobalOpts};
use crate::out;
use crate::output::{esc, json_time};

#[derive(clap::Args)]
pub struct Args {
    /// Print as JSON
    #[arg(long)]
    json: bool,
    /// Also write the status as Prometheus metrics to FILE (atomically: for node_exporter's
    /// textfile collector, FILE ends in .prom in its directory)
    #[arg(long, value_name = "FILE")]
    prometheus: Option<std::path::PathBuf>,
}

fn level_text(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warning => "WARNING",
        Level::Breach => "BREACH",
    }
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let config = if common::config_path(g).exists() {
        Some(common::load_config(g)?)
    } else {
        None
    };
    let repo = common::open(g)?;
    // A poll every minute would fill the trail with reads of it: status is not recorded.
    let _ = common::take_audit();
    let now = chrono::Utc::now();
    let snaps = repo.snapshots()?;
    let s = status::status_of(&repo, &snaps, config.as_ref(), now)?;
    // What `common::open` said on stderr, here as part of the status: a breach.
    let storage = engine::ops::audit::watch(&repo.audit_store())?;
    let level = if storage.is_empty() {
        s.level
    } else {
        Level::Breach
    };
    if let Some(path) = &a.prometheus {
        let text = crate::metrics::render(&s, &snaps, &storage)?;
        crate::metrics::write_file(path, &text)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        let mut v = serde_json::to_value(&s)?;
        v["time"] = json_time(&s.time).into();
        for (i, j) in s.jobs.iter().enumerate() {
            let job = &mut v["jobs"][i];
            job["last_success"] = j.last_success.as_ref().map(json_time).into();
            job["next_run"] = j.next_run.as_ref().map(json_time).into();
            if let Some(f) = &j.last_failure {
                job["last_failure"]["time"] = json_time(&f.time).into();
            }
        }
        for (i, x) in s.groups.iter().enumerate() {
            v["groups"][i]["last_success"] = json_time(&x.last_success).into();
        }
        for (i, x) in s.scenarios.iter().enumerate() {
            if let Some(r) = &x.last {
                v["scenarios"][i]["last"]["time"] = json_time(&r.time).into();
            }
        }
        if let Some(c) = &s.last_check {
            v["last_check"]["time"] = json_time(&c.time).into();
        }
        v["storage"] = storage.clone().into();
        v["level"] = serde_json::to_value(level)?;
        out!("{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        for j in &s.jobs {
            out!(
                "job {}: {}: {}{}",
                esc(&j.job),
                level_text(j.level),
                esc(&j.reason),
                j.next_run
                    .map(|t| format!("; next run {}", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default()
            )?;
        }
        for x in &s.groups {
            out!(
                "{} {}: {} snapshot(s), the newest {} ({}s ago)",
                esc(&x.host),
                esc(&x.paths.join(" ")),
                x.snapshots,
                x.last_success.format("%Y-%m-%d %H:%M:%S UTC"),
                x.age_secs
            )?;
        }
        for x in &s.scenarios {
            out!(
                "scenario {}: {}: {}",
                esc(&x.scenario),
                level_text(x.level),
                esc(&x.reason)
            )?;
        }
        let r = &s.repository;
        out!(
            "repository: {} in {} packs, {} snapshots; backups added {} in 7 days, {} in 30",
            human_bytes(r.bytes),
            r.packs,
            r.snapshots,
            human_bytes(r.added_7d),
            human_bytes(r.added_30d)
        )?;
        match &s.last_check {
            Some(c) => out!(
                "last check: {}: {}{}",
                c.time.format("%Y-%m-%d %H:%M UTC"),
                c.outcome.as_str(),
                c.error
                    .as_ref()
                    .map(|e| format!(": {}", esc(e)))
                    .unwrap_or_default()
            )?,
            None => out!("last check: never")?,
        }
        for w in &storage {
            out!("storage: BREACH: {}", esc(w))?;
        }
        out!("status: {}", level_text(level))?;
    }
    match level {
        Level::Ok => Ok(()),
        Level::Warning => Err(common::StatusLevel(1).into()),
        Level::Breach => Err(common::StatusLevel(2).into()),
    }
}
