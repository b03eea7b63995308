//! `vcd restore`: restores a snapshot (by id or point in time), or part of it, into a
//! directory, with progress and an optional read-back verification.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use engine::ops::progress::Progress;
use engine::ops::recovery::{self, RestoreRequest};
use engine::ops::restore::{self, RestoreOptions};

use crate::common::{self, human_bytes, GlobalOpts};
use crate::out;
use crate::output::{esc, Display, Unit};

#[derive(clap::Args)]
pub struct Args {
    /// Snapshot id prefix or `latest` (or use --at)
    snapshot: Option<String>,
    /// Directory to restore into
    #[arg(short, long)]
    target: PathBuf,
    /// Point in time: restore the newest snapshot at or before this time (RFC 3339, local
    /// "YYYY-MM-DD[ HH:MM[:SS]]", "2h ago", "yesterday 14:00", "tuesday")
    #[arg(long, conflicts_with = "snapshot")]
    at: Option<String>,
    #[command(flatten)]
    filter: crate::choose::FilterArgs,
    /// The recovery scenario this restore answers (from the configuration file, else the
    /// specification's: complete, partial, configuration): its RTO and RPO are recorded and
    /// checked
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// Restore only paths matching a glob (repeatable); a matching directory brings its content
    #[arg(long = "include", value_name = "GLOB")]
    includes: Vec<String>,
    /// Skip paths matching a glob (repeatable)
    #[arg(long = "exclude", value_name = "GLOB")]
    excludes: Vec<String>,
    /// Read every restored file back and compare it with the snapshot
    #[arg(long)]
    verify: bool,
    /// What to do with what already exists in the target: always (replace it, as restic
    /// does), if-changed (keep a regular file of the snapshot's size and modification time),
    /// never (keep anything there, restore only what is missing)
    #[arg(long, default_value = "always", value_name = "WHEN")]
    overwrite: restore::Overwrite,
    /// Remove what the target has and the snapshot has not, in the directories restored
    /// whole (never an excluded name)
    #[arg(long)]
    delete: bool,
    /// Take no image of the target before the restore: `vcd rollback` cannot undo it then
    #[arg(long)]
    no_rollback: bool,
    /// Leave owners as the restoring user (a root restore otherwise sets the snapshot's owners)
    #[arg(long)]
    no_owner: bool,
    /// Skip device nodes, fifos and sockets
    #[arg(long)]
    no_special: bool,
    /// Do not restore extended attributes (ACLs, file capabilities, SELinux labels)
    #[arg(long)]
    no_xattrs: bool,
    /// Restore into existing directories that belong to another user. Refused by default: the
    /// owner of such a directory can rename entries in it while the restore runs
    #[arg(long)]
    allow_foreign_dirs: bool,
    /// Print the result as JSON (`restoration`, `snapshot`, `target`, the counts, `errors`,
    /// `duration_secs`, `scenario`)
    #[arg(long)]
    json: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let _lock = common::read_lock(g, &repo)?;
    let snaps = repo.snapshots()?;
    if a.snapshot.is_none() && a.at.is_none() {
        bail!("name a snapshot (an id prefix or `latest`) or give --at TIME");
    }
    // Read once: "2h ago" is the same moment for the choice and for the record.
    let when = a.at.as_deref().map(common::parse_when).transpose()?;
    let snap = crate::choose::choose_at(g, &snaps, a.snapshot.as_deref(), when, &a.filter)?;
    let progress = Arc::new(Progress::default());
    // The snapshot's summary counts what a whole restore writes; a partial one has no total.
    if a.includes.is_empty() && a.excludes.is_empty() && a.filter.filter().categories.is_empty() {
        let s = &snap.snap.summary;
        let files = s.files_new + s.files_changed + s.files_unchanged;
        progress.set_totals(files, s.bytes_total);
    }
    let includes = if a.includes.is_empty() {
        category_paths(g, snap, &a.filter.filter().categories)?
    } else {
        a.includes
    };
    let display = Display::start(
        "restore",
        Unit("files"),
        Arc::clone(&progress),
        g.quiet || a.json,
    );
    let opts = RestoreOptions {
        target: a.target.clone(),
        includes,
        excludes: a.excludes,
        verify: a.verify,
        no_owner: a.no_owner,
        no_special: a.no_special,
        no_xattrs: a.no_xattrs,
        allow_foreign_dirs: a.allow_foreign_dirs,
        subtree: None,
        overwrite: a.overwrite,
        delete: a.delete,
        // Set by the recorded restore from the image it takes first.
        image: None,
        cancel: crate::common::cancel_token().clone(),
        before_verify: None,
    };
    let start = std::time::Instant::now();
    // Recorded in the repository (`vcd restores`), unless the repository is read-only
    // storage (--no-lock): there nothing can be written.
    let mut objectives = None;
    let (r, rid) = if g.no_lock {
        (restore::restore(&repo, snap, &opts, &progress), None)
    } else {
        let mut categories = a.filter.filter().categories;
        let scenario = match &a.scenario {
            Some(name) => {
                let config = if common::config_path(g).exists() {
                    Some(common::load_config(g)?)
                } else {
                    None
                };
                let (o, cats) = recovery::scenario(config.as_ref(), name)?;
                if categories.is_empty() {
                    categories = cats;
                }
                Some(o)
            }
            None => None,
        };
        let req = RestoreRequest {
            options: opts,
            categories,
            at: when.map(|w| w.utc),
            objectives: scenario,
            no_rollback: a.no_rollback,
        };
        match recovery::restore_recorded(&repo, snap, &req, &progress) {
            Ok(x) => {
                common::audit_detail("restoration", x.restoration.to_hex().into());
                common::audit_detail("snapshot", snap.id.to_hex().into());
                objectives = req.objectives.map(|o| (o, x.duration_secs, req.at));
                (Ok(x.result), Some(x.restoration))
            }
            Err(e) => (Err(e), None),
        }
    };
    display.finish();
    let r = r?;
    // Files that failed decide the exit code even when the summary cannot be written.
    let printed = (|| -> Result<()> {
        if a.json {
            let scenario = objectives.as_ref().map(|(o, took, at)| {
                let age = (at.unwrap_or_else(chrono::Utc::now) - snap.snap.time)
                    .num_seconds()
                    .max(0);
                serde_json::json!({
                    "scenario": o.scenario,
                    "rto_secs": o.rto_secs,
                    "rpo_secs": o.rpo_secs,
                    "rto_met": *took <= o.rto_secs as f64,
                    "data_age_secs": age,
                    "rpo_met": age as u64 <= o.rpo_secs,
                })
            });
            return out!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "restoration": rid.map(|r| r.to_hex()),
                    "snapshot": snap.id.to_hex(),
                    "target": a.target.to_string_lossy(),
                    "files": r.files,
                    "links": r.links,
                    "special": r.special,
                    "dirs": r.dirs,
                    "bytes": r.bytes,
                    "kept": r.kept,
                    "deleted": r.deleted,
                    "unchanged": r.unchanged,
                    "verified": a.verify.then_some(r.verified),
                    "errors": r.errors,
                    "duration_secs": start.elapsed().as_secs_f64(),
                    "scenario": scenario,
                }))?
            );
        }
        if g.quiet {
            return Ok(());
        }
        out!(
            "{}restored snapshot {} ({}) to {}: {} files, {} hard links, {} symlinks and special \
             files, {} dirs, {} in {:.2}s",
            rid.map(|r| format!("restoration {}: ", r.short()))
                .unwrap_or_default(),
            snap.id.short(),
            snap.snap.time.format("%Y-%m-%d %H:%M:%S UTC"),
            a.target.display(),
            r.files,
            r.links,
            r.special,
            r.dirs,
            human_bytes(r.bytes),
            start.elapsed().as_secs_f64()
        )?;
        if r.unchanged > 0 {
            out!(
                "{} of the files already held the snapshot's content (the rollback image shows \
                 it): kept in place with the snapshot's metadata",
                r.unchanged
            )?;
        }
        if r.kept > 0 || r.deleted > 0 {
            out!(
                "kept {} existing entries (--overwrite {}), removed {} the snapshot does not have",
                r.kept,
                a.overwrite.as_str(),
                r.deleted
            )?;
        }
        if r.skipped_special > 0 {
            out!(
                "left out {} device nodes, fifos and sockets (--no-special)",
                r.skipped_special
            )?;
        }
        if a.verify {
            out!(
                "verified {} files against the snapshot (of the {} files written; hard links \
                 share their data)",
                r.verified,
                r.files
            )?;
        }
        if let Some((o, took, at)) = &objectives {
            let human = |s: u64| engine::policy::config::human(chrono::Duration::seconds(s as i64));
            let age = (at.unwrap_or_else(chrono::Utc::now) - snap.snap.time)
                .num_seconds()
                .max(0) as u64;
            let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
            out!(
                "scenario {}: RTO {}, took {took:.1}s: {}; RPO {}, the data was {} old at the \
                 incident: {}",
                esc(&o.scenario),
                human(o.rto_secs),
                verdict(*took <= o.rto_secs as f64),
                human(o.rpo_secs),
                approx(age),
                verdict(age <= o.rpo_secs)
            )?;
        }
        Ok(())
    })();
    if !r.errors.is_empty() {
        for e in &r.errors {
            eprintln!("  {}", esc(e));
        }
        bail!("{} file(s) could not be restored intact", r.errors.len());
    }
    printed
}

/// An age as a person reads it: `40s`, `12min`, `5.2h`, `3.1d`.
fn approx(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}min", s / 60),
        s if s < 86400 => format!("{:.1}h", s as f64 / 3600.0),
        s => format!("{:.1}d", s as f64 / 86400.0),
    }
}

/// With `--category` and a configuration that defines the categories: the paths of those
/// categories the snapshot holds, as includes, so that a snapshot of several categories gives
/// back only the ones asked for. Without a configuration (or without `--category`): none, and
/// the whole snapshot is restored.
fn category_paths(
    g: &GlobalOpts,
    snap: &engine::format::snapshot::SnapshotRef,
    categories: &[String],
) -> Result<Vec<String>> {
    if categories.is_empty() || !common::config_path(g).exists() {
        return Ok(Vec::new());
    }
    let c = common::load_config(g)?;
    Ok(engine::policy::scope::category_includes(
        &c, snap, categories,
    )?)
}
