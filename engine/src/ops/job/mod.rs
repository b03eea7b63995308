//! Running one configured job: a backup job (its categories backed up as one snapshot that
//! records the job, its categories and its type; then its retention, applied to that job's
//! snapshots only; then the maintenance it chains) or a maintenance job (prune, check or
//! drill). The caller chooses when (the daemon's scheduler, `vcd run`, a test's clock); this
//! takes the locks each step needs and releases them between steps, so a prune never waits on
//! the job's own backup lock.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::ops::backup::{self, BackupOptions, BackupResult};
use crate::ops::check::{self, CheckOptions, CheckReport};
use crate::ops::forget::{self, Filter, ForgetOptions, ForgetReport, GroupBy, Target};
use crate::ops::progress::Progress;
use crate::ops::prune::{self, PruneOptions, PruneReport};
use crate::ops::recovery::{self, drill};
use crate::policy::config::{self, Config, Maintenance, Task};
use crate::policy::repack::RepackPolicy;
use crate::policy::select::SnapshotFilter;
use crate::repo::{lock, Repo};

/// How a job is run: everything but what the configuration says.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// The time recorded in the snapshot (None: now). The daemon passes the time it started
    /// the run; tests a simulated clock.
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    /// Recorded as the snapshot's host (None: this machine's name).
    pub host: Option<String>,
    pub cancel: crate::cancel::CancelToken,
    /// See `BackupOptions::release_memory`.
    pub release_memory: Option<fn()>,
}

/// What a maintenance step did.
#[derive(Debug)]
pub enum MaintenanceReport {
    Prune(PruneReport),
    Check(CheckReport),
    Drill(Box<drill::DrillReport>),
}

/// A maintenance step that ran, or the error that stopped it.
#[derive(Debug)]
pub struct MaintenanceRun {
    pub name: String,
    pub result: Result<MaintenanceReport>,
}

#[derive(Debug)]
pub enum JobReport {
    Backup {
        backup: Box<BackupResult>,
        /// None when the job keeps every snapshot (no `keep`), or when its backup lacks a
        /// source: an incomplete snapshot must not push a complete one out of the policy.
        forget: Option<Result<ForgetReport>>,
        /// The maintenance the job chains (`then`), in order.
        then: Vec<MaintenanceRun>,
    },
    Maintenance(MaintenanceRun),
}

impl JobReport {
    /// Whether the job did all it was asked: its backup read every source and every step
    /// succeeded (a check that found damage counts as a failure).
    pub fn complete(&self) -> bool {
        let ok = |m: &MaintenanceRun| match &m.result {
            Ok(MaintenanceReport::Check(c)) => c.ok(),
            Ok(MaintenanceReport::Prune(_)) => true,
            Ok(MaintenanceReport::Drill(d)) => d.ok(),
            Err(_) => false,
        };
        match self {
            JobReport::Backup {
                backup,
                forget,
                then,
            } => {
                backup.snapshot.summary.errors.is_empty()
                    && forget.as_ref().is_none_or(|f| f.is_ok())
                    && then.iter().all(ok)
            }
            JobReport::Maintenance(m) => ok(m),
        }
    }
}

/// The backup a backup job makes: its categories' paths (sorted), their excludes (a name
/// pattern applies under its own category's paths only), its type, level, tags and name.
pub fn backup_options(c: &Config, name: &str, run: &RunOptions) -> Result<BackupOptions> {
    let job = c
        .jobs
        .get(name)
        .ok_or_else(|| Error::NotFound(format!("backup job {name:?} in the configuration")))?;
    let (paths, excludes) = scope(c, &job.categories)?;
    Ok(BackupOptions {
        paths,
        tags: job.tags.clone(),
        category: None,
        categories: job.categories.clone(),
        job: Some(name.to_string()),
        audit: Vec::new(),
        kind: job.kind,
        compression: job.compression,
        excludes,
        one_file_system: false,
        dry_run: false,
        host: run.host.clone(),
        parent: None,
        time: run.time,
        cancel: run.cancel.clone(),
        release_memory: run.release_memory,
    })
}

/// The paths of `categories` (sorted) and their excludes; a name pattern (no `/`) applies
/// under its own category's paths only.
pub fn scope(c: &Config, categories: &[String]) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut excludes: Vec<String> = Vec::new();
    for name in categories {
        let cat = c
            .categories
            .get(name)
            .ok_or_else(|| Error::NotFound(format!("category {name:?} in the configuration")))?;
        for p in &cat.paths {
            if config::is_glob(p) {
                let found = expand(p)?;
                if found.is_empty() {
                    tracing::warn!("category {name:?}: {p} matches nothing");
                }
                paths.extend(found);
            } else {
                paths.push(PathBuf::from(p));
            }
        }
        for x in &cat.exclude {
            if x.contains('/') {
                excludes.push(x.clone());
            } else {
                let x = x.trim_end_matches('/');
                excludes.extend(
                    cat.paths
                        .iter()
                        .map(|p| format!("{}/**/{x}", globset::escape(p.trim_end_matches('/')))),
                );
            }
        }
    }
    paths.sort();
    paths.dedup();
    Ok((paths, excludes))
}

/// The paths glob `pattern` matches now, sorted. The walk starts at the pattern's fixed part,
/// follows no symbolic link, goes no deeper than the pattern's components (unless it has a
/// `**`) and stops at a match (a matched directory is backed up whole).
fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
    let m = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| Error::Invalid(format!("{pattern:?}: {e}")))?
        .compile_matcher();
    let parts: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let fixed = parts.iter().take_while(|c| !config::is_glob(c)).count();
    let start: PathBuf = std::iter::once("/")
        .chain(parts[..fixed].iter().copied())
        .collect();
    let max_depth = if pattern.contains("**") {
        usize::MAX
    } else {
        parts.len() - fixed
    };
    let mut out = Vec::new();
    let mut stack = vec![(start, 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        if depth >= max_depth {
            continue;
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // A fixed part that does not exist matches nothing; the backup reports nothing
            // missing for it, the warning above does.
            Err(_) => continue,
        };
        for e in entries.flatten() {
            let p = e.path();
            if m.is_match(&p) {
                out.push(p);
            } else if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((p, depth + 1));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Runs job `name` (a backup job or a maintenance job) of `c` now.
pub fn run(
    repo: &Repo,
    c: &Config,
    name: &str,
    run: &RunOptions,
    progress: &Progress,
) -> Result<JobReport> {
    if let Some(m) = c.maintenance.get(name) {
        return Ok(JobReport::Maintenance(MaintenanceRun {
            name: name.to_string(),
            result: maintain(repo, c, m, run, progress),
        }));
    }
    let mut opts = backup_options(c, name, run)?;
    // The trail's heads as the snapshot's anchor: without them the snapshot is still good.
    opts.audit = crate::ops::audit::current_heads(&repo.audit_store()).unwrap_or_default();
    let job = &c.jobs[name];
    let (backup, forget) = {
        let _lock = lock::acquire(repo, false)?;
        let backup = backup::backup(repo, &opts, progress)?;
        let complete = backup.snapshot.summary.errors.is_empty();
        let forget = job.keep.as_ref().filter(|_| complete).map(|policy| {
            // The job's snapshots made on this host: another host's runs of a job of the
            // same name are its own business.
            let host = run.host.clone().unwrap_or_else(crate::host::hostname);
            forget::forget(
                repo,
                &ForgetOptions {
                    target: Target::Policy {
                        policy: Box::new(policy.clone()),
                        filter: Filter {
                            hosts: vec![host],
                            jobs: vec![name.to_string()],
                            ..Filter::default()
                        },
                    },
                    // The job's paths may change with its categories; its policy still
                    // covers all it made.
                    group_by: GroupBy {
                        host: true,
                        job: true,
                        ..GroupBy::none()
                    },
                    // Days, weeks and months in the zone the job's schedule is read in.
                    tz: job.schedule.tz(),
                    dry_run: false,
                    cancel: run.cancel.clone(),
                },
            )
        });
        (backup, forget)
    };
    let then = job
        .then
        .iter()
        .map(|t| MaintenanceRun {
            name: t.clone(),
            result: maintain(repo, c, &c.maintenance[t], run, progress),
        })
        .collect();
    Ok(JobReport::Backup {
        backup: Box::new(backup),
        forget,
        then,
    })
}

/// A prune (under a prune's lock), a check (no lock, as `vcd check`) or a drill (under a
/// shared lock, as `vcd drill`).
fn maintain(
    repo: &Repo,
    c: &Config,
    m: &Maintenance,
    run: &RunOptions,
    progress: &Progress,
) -> Result<MaintenanceReport> {
    let pct = |s: &Option<String>| {
        s.as_deref()
            .map(config::percent)
            .transpose()
            .map_err(Error::Invalid)
    };
    match m.task {
        Task::Prune => {
            let _lock = lock::acquire_prune(repo)?;
            let mut repack = RepackPolicy::default();
            if let Some(p) = pct(&m.max_unused)? {
                repack.max_unused = p / 100.0;
            }
            let opts = PruneOptions {
                repack,
                cancel: run.cancel.clone(),
                ..PruneOptions::default()
            };
            Ok(MaintenanceReport::Prune(prune::prune(repo, &opts)?))
        }
        Task::Check => {
            let subset = pct(&m.read_data_subset)?;
            let opts = CheckOptions {
                read_data: subset.is_some(),
                subset_percent: subset,
                cancel: run.cancel.clone(),
            };
            Ok(MaintenanceReport::Check(check::check(
                repo, &opts, progress,
            )?))
        }
        Task::Drill => {
            let _lock = lock::acquire(repo, false)?;
            let scenario = m.scenario.as_deref().unwrap_or("complete");
            let (objectives, categories) = recovery::scenario(Some(c), scenario)?;
            // This host's data, as its jobs' retention treats it.
            let filter = SnapshotFilter {
                hosts: vec![run.host.clone().unwrap_or_else(crate::host::hostname)],
                ..Default::default()
            };
            let parts = crate::policy::scope::plan(
                Some(c),
                &repo.snapshots()?,
                &filter,
                &categories,
                None,
            )?;
            let req = drill::DrillRequest {
                objectives,
                categories,
                parts,
                sample: drill::Sample::parse(m.sample.as_deref().unwrap_or("all"))?,
                parent: m
                    .directory
                    .as_ref()
                    .map_or_else(drill::default_parent, PathBuf::from),
                no_owner: false,
                cancel: run.cancel.clone(),
            };
            Ok(MaintenanceReport::Drill(Box::new(drill::drill(
                repo, &req, progress,
            )?)))
        }
    }
}

#[cfg(test)]
mod tests;
