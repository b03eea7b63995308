//! `vcd restores [show RID]`: the restoration records (FORMAT.md §15): every restore with its
//! snapshot, target, scope, outcome and duration, and the objectives it was held to.

use anyhow::Result;
use engine::format::restoration::{Event, Outcome, What};
use engine::ops::recovery::records::{self, Restoration, State};

use crate::common::{self, human_bytes, GlobalOpts};
use crate::out;
use crate::output::{esc, json_time, table};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Print as JSON
    #[arg(long, global = true)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Every event of one restoration
    Show {
        /// Restoration id (a unique prefix)
        rid: String,
    },
}

fn state_text(r: &Restoration) -> String {
    match r.state() {
        State::Unfinished => "unfinished".into(),
        State::RolledBack => "rolled back".into(),
        State::Finished(o) => outcome_text(o).into(),
    }
}

fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Errors => "errors",
        Outcome::Interrupted => "interrupted",
        Outcome::Failed => "failed",
    }
}

fn json(r: &Restoration) -> serde_json::Value {
    let mut events: Vec<serde_json::Value> = Vec::new();
    for e in &r.events {
        let mut v = serde_json::to_value(e).expect("events serialise");
        v["time"] = json_time(&e.time).into();
        if let What::Started {
            at,
            incident,
            snapshot_time,
            ..
        } = &e.what
        {
            v["at"] = at.as_ref().map(json_time).into();
            v["incident"] = json_time(incident).into();
            v["snapshot_time"] = json_time(snapshot_time).into();
        }
        events.push(v);
    }
    let (duration, rto_met) = r.rto().map_or((None, None), |(d, m)| (Some(d), Some(m)));
    let duration = duration.or_else(|| match r.finished().map(|e| &e.what) {
        Some(What::Finished { duration_secs, .. }) => Some(*duration_secs),
        _ => None,
    });
    let (age, rpo_met) = r.rpo().map_or((None, None), |(a, m)| (Some(a), Some(m)));
    let started = r.first();
    let mut v = serde_json::json!({
        "id": r.id.to_hex(),
        "short_id": r.id.short(),
        "state": state_text(r),
        "time": json_time(&started.time),
        "host": started.host,
        "user": started.user,
        "key": started.key.to_hex(),
        "duration_secs": duration,
        "objectives": r.objectives(),
        "rto_met": rto_met,
        "data_age_secs": age,
        "rpo_met": rpo_met,
        "events": events,
    });
    if let What::Started {
        snapshot, target, ..
    } = &started.what
    {
        v["snapshot"] = snapshot.to_hex().into();
        v["target"] = target.clone().into();
    }
    if let What::Drilled(d) = &started.what {
        v["kind"] = "drill".into();
        v["duration_secs"] = d.restore_secs.into();
        v["estimate_secs"] = d.estimate_secs.into();
        v["snapshot"] = d.parts.first().map(|p| p.snapshot.to_hex()).into();
        v["target"] = d.scratch.clone().into();
    } else {
        v["kind"] = "restore".into();
    }
    v
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let list = records::list(&repo)?;
    if let Some(Cmd::Show { rid }) = &a.cmd {
        let r = records::find(&list, rid)?;
        if a.json {
            return out!("{}", serde_json::to_string_pretty(&json(r))?);
        }
        out!("restoration {} ({})", r.id.to_hex(), state_text(r))?;
        for e in &r.events {
            out!("{}", esc(&event_line(e)))?;
        }
        if let (Some(o), Some((d, met))) = (r.objectives(), r.rto()) {
            out!(
                "scenario {}: RTO {}s, {} {d:.1}s: {}",
                esc(&o.scenario),
                o.rto_secs,
                if r.drilled().is_some() {
                    "the whole restore estimated at"
                } else {
                    "took"
                },
                if met { "met" } else { "MISSED" }
            )?;
        }
        if let (Some(o), Some((age, met))) = (r.objectives(), r.rpo()) {
            out!(
                "scenario {}: RPO {}s, data {age}s old at the incident: {}",
                esc(&o.scenario),
                o.rpo_secs,
                if met { "met" } else { "MISSED" }
            )?;
        }
        return Ok(());
    }
    if a.json {
        let v: Vec<serde_json::Value> = list.iter().map(json).collect();
        return out!("{}", serde_json::to_string_pretty(&v)?);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            let s = r.first();
            let (snap, target) = match &s.what {
                What::Started {
                    snapshot, target, ..
                } => (snapshot.short(), target.clone()),
                What::Drilled(d) => (
                    d.parts
                        .iter()
                        .map(|p| p.snapshot.short())
                        .collect::<Vec<_>>()
                        .join(","),
                    format!("(drill {})", d.objectives.scenario),
                ),
                _ => Default::default(),
            };
            let (files, bytes, secs) = match r.finished().or(r.drilled()).map(|e| &e.what) {
                Some(What::Drilled(d)) => (
                    d.sample_files.to_string(),
                    human_bytes(d.sample_bytes),
                    format!("{:.1}s", d.restore_secs),
                ),
                Some(What::Finished {
                    files,
                    bytes,
                    duration_secs,
                    ..
                }) => (
                    files.to_string(),
                    human_bytes(*bytes),
                    format!("{duration_secs:.1}s"),
                ),
                _ => Default::default(),
            };
            vec![
                r.id.short(),
                s.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                snap,
                esc(&target).into_owned(),
                state_text(r),
                files,
                bytes,
                secs,
            ]
        })
        .collect();
    for l in table(
        &[
            "id",
            "time (UTC)",
            "snapshot",
            "target",
            "state",
            "files",
            "size",
            "took",
        ],
        &[false, false, false, false, false, true, true, true],
        &rows,
    ) {
        out!("{l}")?;
    }
    out!("{} restorations", list.len())
}

fn event_line(e: &Event) -> String {
    let t = e.time.format("%Y-%m-%d %H:%M:%S UTC");
    match &e.what {
        What::Started {
            snapshot,
            target,
            includes,
            excludes,
            categories,
            ..
        } => format!(
            "{t}  started by {}@{} (key {}): snapshot {} into {target}{}{}{}",
            e.user,
            e.host,
            e.key.short(),
            snapshot.short(),
            if includes.is_empty() {
                String::new()
            } else {
                format!(", include {}", includes.join(" "))
            },
            if excludes.is_empty() {
                String::new()
            } else {
                format!(", exclude {}", excludes.join(" "))
            },
            if categories.is_empty() {
                String::new()
            } else {
                format!(", categories {}", categories.join(","))
            },
        ),
        What::Finished {
            outcome,
            files,
            dirs,
            bytes,
            duration_secs,
            errors_total,
            verified,
            ..
        } => format!(
            "{t}  finished: {}: {files} files, {dirs} dirs, {} in {duration_secs:.2}s{}{}",
            outcome_text(*outcome),
            human_bytes(*bytes),
            verified.map_or(String::new(), |v| format!(", {v} verified")),
            if *errors_total > 0 {
                format!(", {errors_total} error(s)")
            } else {
                String::new()
            }
        ),
        What::Verified {
            ok,
            differences_total,
            entries,
            ..
        } => format!(
            "{t}  verified: {}: {entries} entries compared, {differences_total} difference(s)",
            if *ok { "ok" } else { "DIFFERENT" }
        ),
        What::Drilled(d) => format!(
            "{t}  drill by {}@{} (key {}) of scenario {}: {}: {} of {} files ({} of {}) restored \
             from {} in {:.2}s into {}, {}, scratch {}; estimated whole restore {} against the \
             RTO of {}s",
            e.user,
            e.host,
            e.key.short(),
            d.objectives.scenario,
            outcome_text(d.outcome),
            d.sample_files,
            d.total_files,
            human_bytes(d.sample_bytes),
            human_bytes(d.total_bytes),
            d.parts
                .iter()
                .map(|p| p.snapshot.short())
                .collect::<Vec<_>>()
                .join(", "),
            d.restore_secs,
            d.scratch,
            if d.verified {
                "identical".to_string()
            } else {
                format!("{} difference(s)", d.differences_total)
            },
            if d.removed { "removed" } else { "left behind" },
            d.estimate_secs
                .map_or("unknown".to_string(), |x| format!("{x:.1}s")),
            d.objectives.rto_secs
        ),
        What::RolledBack {
            outcome,
            restored,
            removed,
            ..
        } => format!(
            "{t}  rolled back: {}: {restored} restored, {removed} removed",
            outcome_text(*outcome)
        ),
    }
}
