//! `vcd drill`: a restore drill. A scenario's data (or a random sample of its files) is
//! restored into a scratch directory, compared with its snapshots and removed; the record
//! states the whole restore's estimated duration against the scenario's RTO. Exit 1 when the
//! sample did not come back identical, or the estimate misses the RTO.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use engine::format::restoration::Drill;
use engine::ops::progress::Progress;
use engine::ops::recovery::{self, drill};
use engine::policy::scope;

use crate::common::{self, human_bytes, GlobalOpts};
use crate::out;
use crate::output::{esc, Display, Unit};

#[derive(clap::Args)]
pub struct Args {
    /// Drill this snapshot (an id prefix or `latest`) instead of the newest of each of the
    /// scenario's categories
    snapshot: Option<String>,
    /// The recovery scenario (from the configuration file, else the specification's: complete,
    /// partial, configuration): its categories are restored, its RTO is the yardstick
    #[arg(long, default_value = "complete", value_name = "NAME")]
    scenario: String,
    /// How much to restore: all, a share of the bytes (10%) or a size (500M), as files drawn
    /// at random
    #[arg(long, default_value = "all", value_name = "WHAT")]
    sample: String,
    /// Where the scratch directory is made (it is removed at the end; default /var/tmp)
    #[arg(long, value_name = "DIR")]
    target: Option<PathBuf>,
    #[command(flatten)]
    filter: crate::choose::FilterArgs,
    /// Leave owners as the drilling user's (and do not compare them)
    #[arg(long)]
    no_owner: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let _lock = common::read_lock(g, &repo)?;
    let snaps = repo.snapshots()?;
    let config = if common::config_path(g).exists() {
        Some(common::load_config(g)?)
    } else {
        None
    };
    let sample = drill::Sample::parse(&a.sample)?;
    let (objectives, scenario_categories) = recovery::scenario(config.as_ref(), &a.scenario)?;
    let filter = a.filter.filter();
    // What the record names: the categories asked for, else (a snapshot named, drilled whole)
    // none, else the scenario's.
    let categories = if !filter.categories.is_empty() {
        filter.categories.clone()
    } else if a.snapshot.is_some() {
        Vec::new()
    } else {
        scenario_categories
    };
    let parts = match &a.snapshot {
        Some(spec) => {
            let s = crate::choose::choose(g, &snaps, Some(spec), None, &a.filter)?;
            let includes = match &config {
                Some(c) if !filter.categories.is_empty() => {
                    scope::category_includes(c, s, &filter.categories)?
                }
                _ => Vec::new(),
            };
            vec![scope::Part {
                snapshot: s.clone(),
                categories: filter.categories.clone(),
                includes,
            }]
        }
        None => {
            let parts = scope::plan(config.as_ref(), &snaps, &filter, &categories, None)?;
            if !g.quiet {
                for p in &parts {
                    eprintln!(
                        "vcd: using {}{}",
                        esc(&crate::choose::describe(
                            &p.snapshot,
                            None,
                            None,
                            &engine::policy::select::SnapshotFilter {
                                categories: p.categories.clone(),
                                ..filter.clone()
                            }
                        )),
                        if p.includes.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", esc(&p.includes.join(" ")))
                        }
                    );
                }
            }
            parts
        }
    };
    let req = drill::DrillRequest {
        objectives,
        categories,
        parts,
        sample,
        parent: a.target.unwrap_or_else(drill::default_parent),
        no_owner: a.no_owner,
        cancel: common::cancel_token().clone(),
    };
    let progress = Arc::new(Progress::default());
    let display = Display::start("drill", Unit("files"), Arc::clone(&progress), g.quiet);
    let r = drill::drill(&repo, &req, &progress);
    display.finish();
    let r = r?;
    common::audit_detail("restoration", r.restoration.to_hex().into());
    let d = &r.drill;
    let rto_met = d
        .estimate_secs
        .is_some_and(|e| e <= d.objectives.rto_secs as f64);
    let age = d
        .parts
        .iter()
        .map(|p| p.snapshot_time)
        .min()
        .map(|t| (chrono::Utc::now() - t).num_seconds().max(0) as u64);
    if a.json {
        let mut v = serde_json::to_value(d)?;
        v["restoration"] = r.restoration.to_hex().into();
        v["rto_met"] = rto_met.into();
        v["data_age_secs"] = age.into();
        v["rpo_met"] = age.map(|a| a <= d.objectives.rpo_secs).into();
        out!("{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        for x in &d.differences {
            out!("{}", esc(x))?;
        }
        if !g.quiet {
            summary(&r.restoration, d, rto_met, age)?;
        }
    }
    for e in &d.errors {
        eprintln!("  {}", esc(e));
    }
    if !d.verified || !d.errors.is_empty() {
        bail!(
            "drill {}: the sample did not come back intact ({} difference(s), {} error(s))",
            r.restoration.short(),
            d.differences_total,
            d.errors_total
        );
    }
    if !rto_met {
        bail!(
            "drill {}: the whole restore would take about {}, over the RTO of scenario {} ({})",
            r.restoration.short(),
            approx(d.estimate_secs.unwrap_or(f64::INFINITY)),
            esc(&d.objectives.scenario),
            approx(d.objectives.rto_secs as f64)
        );
    }
    Ok(())
}

fn summary(rid: &engine::id::Id, d: &Drill, rto_met: bool, age: Option<u64>) -> Result<()> {
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    out!(
        "drill {} of scenario {}: restored {} of {} files ({} of {}, sample {}) in {:.2}s, \
         compared in {:.2}s: {}; scratch directory {}",
        rid.short(),
        esc(&d.objectives.scenario),
        d.sample_files,
        d.total_files,
        human_bytes(d.sample_bytes),
        human_bytes(d.total_bytes),
        d.sample,
        d.restore_secs,
        d.verify_secs,
        if d.verified {
            "identical".to_string()
        } else {
            format!("{} difference(s)", d.differences_total)
        },
        if d.removed { "removed" } else { "LEFT BEHIND" }
    )?;
    if let Some(e) = d.estimate_secs {
        out!(
            "estimated whole restore: {} against the RTO of {}: {}",
            approx(e),
            approx(d.objectives.rto_secs as f64),
            verdict(rto_met)
        )?;
    }
    if let Some(age) = age {
        out!(
            "the data a restore would bring back now is {} old, against the RPO of {}: {}",
            approx(age as f64),
            approx(d.objectives.rpo_secs as f64),
            verdict(age <= d.objectives.rpo_secs)
        )?;
    }
    Ok(())
}

/// A duration as a person reads it: `0.4s`, `12min`, `5.2h`, `3.1d`.
fn approx(secs: f64) -> String {
    match secs {
        s if s < 60.0 => format!("{s:.1}s"),
        s if s < 3600.0 => format!("{:.0}min", s / 60.0),
        s if s < 86400.0 => format!("{:.1}h", s / 3600.0),
        s => format!("{:.1}d", s / 86400.0),
    }
}
