//! `vcd run JOB`: runs one configured job now (a backup job: its backup, its retention over
//! its own snapshots, the maintenance it chains; or a maintenance job), and prints what each
//! step did. The exit code follows `vcd backup`'s: 3 when a source could not be read.

use std::sync::Arc;

use anyhow::{bail, Result};
use engine::ops::job::{self, JobReport, MaintenanceReport, MaintenanceRun, RunOptions};
use engine::ops::progress::Progress;

use crate::common::{self, human_bytes, GlobalOpts, Incomplete};
use crate::out;
use crate::output::{esc, Display, Unit};

#[derive(clap::Args)]
pub struct Args {
    /// The job (a [jobs.NAME] or [maintenance.NAME] of the configuration)
    job: String,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// Snapshot time to record instead of now (RFC 3339 or "YYYY-MM-DD HH:MM")
    #[arg(long, hide = true)]
    time: Option<String>,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    // On the trail with the run however it ends: `vcd status` reads each job's runs there.
    common::audit_detail("job", a.job.clone().into());
    let c = common::load_config(g)?;
    if !c.jobs.contains_key(&a.job) && !c.maintenance.contains_key(&a.job) {
        let names: Vec<&str> = c
            .jobs
            .keys()
            .chain(c.maintenance.keys())
            .map(String::as_str)
            .collect();
        bail!(
            "no job {:?} in {} (jobs: {})",
            a.job,
            common::config_path(g).display(),
            names.join(", ")
        );
    }
    let repo = common::open_configured(g, &c)?;
    let progress = Arc::new(Progress::default());
    let quiet = g.quiet || a.json;
    let display = Display::start("backup", Unit("files"), Arc::clone(&progress), quiet);
    let opts = RunOptions {
        time: a.time.as_deref().map(common::parse_time).transpose()?,
        host: None,
        cancel: common::cancel_token().clone(),
        release_memory: Some(crate::sys::release_memory),
    };
    let r = job::run(&repo, &c, &a.job, &opts, &progress);
    display.finish();
    let r = r?;
    if let JobReport::Backup { backup, forget, .. } = &r {
        if let Some(id) = backup.id {
            common::audit_detail("snapshot", id.to_hex().into());
        }
        if let Some(Ok(f)) = forget {
            let removed: Vec<String> = f.removed.iter().map(|i| i.to_hex()).collect();
            common::audit_detail("removed", removed.into());
        }
    }
    if a.json {
        out!("{}", serde_json::to_string_pretty(&to_json(&a.job, &r)?)?)?;
    } else if !g.quiet {
        print(g, &r)?;
    }
    outcome(&r)
}

/// The job's exit status: 1 when its retention or a maintenance step failed (or a check found
/// damage), else 3 when its backup lacks a source (as `vcd backup`). Problems are logged (as
/// warnings: the daemon's log shows them with their priority) before the status is decided.
pub fn outcome(r: &JobReport) -> Result<()> {
    let mut incomplete = false;
    let (forget, steps): (Option<&engine::Result<_>>, Vec<&MaintenanceRun>) = match r {
        JobReport::Backup {
            backup,
            forget,
            then,
        } => {
            let errors = &backup.snapshot.summary.errors;
            if !errors.is_empty() {
                incomplete = true;
                tracing::warn!(
                    "{} source path(s) could not be read; the snapshot lacks them, and the job's retention was not applied:",
                    errors.len()
                );
                for e in errors {
                    tracing::warn!("  {}", esc(e));
                }
            }
            (forget.as_ref(), then.iter().collect())
        }
        JobReport::Maintenance(m) => (None, vec![m]),
    };
    if let Some(Err(e)) = forget {
        bail!("retention: {e}");
    }
    for m in &steps {
        match &m.result {
            Err(e) => bail!("maintenance {:?}: {e}", m.name),
            Ok(MaintenanceReport::Check(c)) if !c.ok() => {
                bail!(
                    "maintenance {:?}: check found {} error(s)",
                    m.name,
                    c.errors.len()
                )
            }
            Ok(MaintenanceReport::Drill(d)) if !d.ok() => {
                bail!("maintenance {:?}: {}", m.name, drill_line(d))
            }
            Ok(_) => {}
        }
    }
    if incomplete {
        return Err(Incomplete.into());
    }
    Ok(())
}

/// One line per step, as the daemon logs them too.
pub fn step_lines(r: &JobReport) -> Vec<String> {
    let mut v = Vec::new();
    let (forget, then) = match r {
        JobReport::Backup { forget, then, .. } => (forget.as_ref(), then.iter().collect()),
        JobReport::Maintenance(m) => (None, vec![m]),
    };
    if let Some(Ok(f)) = forget {
        let kept = f
            .groups
            .iter()
            .flat_map(|g| &g.rows)
            .filter(|r| r.keep)
            .count();
        v.push(format!(
            "retention: {} snapshot(s) of this job kept, {} removed",
            kept,
            f.removed.len()
        ));
    }
    for m in then {
        v.push(match &m.result {
            Ok(MaintenanceReport::Prune(p)) => format!(
                "{}: prune deleted {} pack(s), {} reclaimed",
                m.name,
                p.packs_deleted,
                human_bytes(p.bytes_deleted)
            ),
            Ok(MaintenanceReport::Check(c)) if c.ok() => format!(
                "{}: check found no error ({} snapshots, {} packs, {} read)",
                m.name, c.snapshots, c.packs, c.packs_read
            ),
            Ok(MaintenanceReport::Check(c)) => format!(
                "{}: check found {} error(s): {}",
                m.name,
                c.errors.len(),
                c.errors.join("; ")
            ),
            Ok(MaintenanceReport::Drill(d)) => format!("{}: {}", m.name, drill_line(d)),
            Err(e) => format!("{}: failed: {e}", m.name),
        });
    }
    v
}

/// `drill 1a2b3c4d of scenario S: 12 of 120 files restored, identical; whole restore
/// estimated at 3.2s against the RTO of 14400s: met`.
fn drill_line(r: &engine::ops::recovery::drill::DrillReport) -> String {
    let d = &r.drill;
    format!(
        "drill {} of scenario {}: {} of {} files ({}) restored, {}{}; whole restore estimated \
         at {} against the RTO of {}s: {}",
        r.restoration.short(),
        d.objectives.scenario,
        d.sample_files,
        d.total_files,
        human_bytes(d.sample_bytes),
        if d.verified {
            "identical".to_string()
        } else {
            format!("{} difference(s)", d.differences_total)
        },
        if d.errors.is_empty() {
            String::new()
        } else {
            format!(", {} error(s): {}", d.errors_total, d.errors.join("; "))
        },
        d.estimate_secs
            .map_or("unknown".into(), |e| format!("{e:.1}s")),
        d.objectives.rto_secs,
        if d.estimate_secs
            .is_some_and(|e| e <= d.objectives.rto_secs as f64)
        {
            "met"
        } else {
            "MISSED"
        }
    )
}

fn print(g: &GlobalOpts, r: &JobReport) -> Result<()> {
    if let JobReport::Backup { backup, .. } = r {
        crate::commands::backup::print_summary(g, false, false, backup)?;
    }
    for l in step_lines(r) {
        out!("{}", esc(&l))?;
    }
    Ok(())
}

fn to_json(name: &str, r: &JobReport) -> Result<serde_json::Value> {
    let step = |m: &MaintenanceRun| -> Result<serde_json::Value> {
        Ok(match &m.result {
            Ok(MaintenanceReport::Prune(p)) => serde_json::json!({
                "name": m.name, "task": "prune", "ok": true,
                "report": crate::commands::prune::to_json(p)?,
            }),
            Ok(MaintenanceReport::Check(c)) => serde_json::json!({
                "name": m.name, "task": "check", "ok": c.ok(),
                "errors": c.errors, "packs_read": c.packs_read,
            }),
            Ok(MaintenanceReport::Drill(d)) => serde_json::json!({
                "name": m.name, "task": "drill", "ok": d.ok(),
                "restoration": d.restoration.to_hex(), "drill": d.drill,
            }),
            Err(e) => serde_json::json!({ "name": m.name, "ok": false, "error": e.to_string() }),
        })
    };
    Ok(match r {
        JobReport::Backup {
            backup,
            forget,
            then,
        } => serde_json::json!({
            "job": name,
            "snapshot": backup.id.map(|i| i.to_hex()),
            "type": backup.snapshot.kind,
            "categories": backup.snapshot.categories,
            "summary": backup.snapshot.summary,
            "warnings": backup.warnings,
            "forgotten": match forget {
                Some(Ok(f)) => serde_json::json!(f.removed.iter().map(|i| i.to_hex()).collect::<Vec<_>>()),
                Some(Err(e)) => serde_json::json!({ "error": e.to_string() }),
                None => serde_json::Value::Null,
            },
            "then": then.iter().map(step).collect::<Result<Vec<_>>>()?,
        }),
        JobReport::Maintenance(m) => serde_json::json!({ "job": name, "maintenance": step(m)? }),
    })
}
