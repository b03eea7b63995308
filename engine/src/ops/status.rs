//! The state of a repository and its policy, from the repository alone (snapshots, the audit
//! trail, restoration records), so that it reads the same from any host: every job's last
//! success against its RPO, its last failure, its next run; every scenario's last restore or
//! drill against its RTO; the repository's size and what backups added lately; the last
//! check. Each gets a level (ok, warning, breach) and so does the whole.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::backend::FileType;
use crate::error::Result;
use crate::format::audit::Outcome;
use crate::format::restoration::What;
use crate::format::snapshot::SnapshotRef;
use crate::ops::audit::{self, Listed};
use crate::ops::recovery::records;
use crate::policy::config::{Config, Task};
use crate::repo::Repo;

/// How a thing stands; the whole stands as its worst part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Breach,
}

/// A run that did not end well.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub time: DateTime<Utc>,
    pub outcome: Outcome,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub job: String,
    /// The newest snapshot the job made, and its time.
    pub last_snapshot: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
    pub age_secs: Option<i64>,
    pub rpo_secs: Option<i64>,
    /// The newest run that failed (or was incomplete, or interrupted).
    pub last_failure: Option<Failure>,
    /// The last run failed: there is no success after `last_failure`.
    pub failing: bool,
    pub next_run: Option<DateTime<Utc>>,
    pub level: Level,
    /// Why the level is what it is, for a person.
    pub reason: String,
}

/// Snapshots made without a configured job, grouped by host and paths.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStatus {
    pub host: String,
    pub paths: Vec<String>,
    pub snapshots: usize,
    pub last_snapshot: String,
    pub last_success: DateTime<Utc>,
    pub age_secs: i64,
}

/// A scenario's newest restore or drill.
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub kind: &'static str,
    pub restoration: String,
    pub time: DateTime<Utc>,
    /// The restore's duration, or the drill's estimate of the whole restore.
    pub duration_secs: Option<f64>,
    pub rto_met: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioStatus {
    pub scenario: String,
    pub rto_secs: i64,
    pub rpo_secs: i64,
    pub last: Option<Recovery>,
    pub level: Level,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepositoryStatus {
    /// Bytes of the pack files.
    pub bytes: u64,
    pub packs: usize,
    pub snapshots: usize,
    /// New data the backups of the last 7 and 30 days added (before compression).
    pub added_7d: u64,
    pub added_30d: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckStatus {
    pub time: DateTime<Utc>,
    pub outcome: Outcome,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub time: DateTime<Utc>,
    pub jobs: Vec<JobStatus>,
    pub groups: Vec<GroupStatus>,
    pub scenarios: Vec<ScenarioStatus>,
    pub repository: RepositoryStatus,
    pub last_check: Option<CheckStatus>,
    pub level: Level,
}

/// Where an age stands against an RPO: past it a breach, past 80% of it a warning.
pub fn rpo_level(age: Duration, rpo: Duration) -> Level {
    if age > rpo {
        Level::Breach
    } else if age * 5 >= rpo * 4 {
        Level::Warning
    } else {
        Level::Ok
    }
}

/// The job an entry ran: `details.job` (written by `vcd run` and the daemon).
fn job_of(l: &Listed) -> Option<&str> {
    l.entry.details.get("job").and_then(|j| j.as_str())
}

/// The status of `repo` under `config` (None: snapshots grouped by host and paths) at `now`.
pub fn status(repo: &Repo, config: Option<&Config>, now: DateTime<Utc>) -> Result<Status> {
    status_of(repo, &repo.snapshots()?, config, now)
}

/// `status` from the repository's snapshots read already (a caller that also needs them, as
/// the metrics do, reads and decrypts them once).
pub fn status_of(
    repo: &Repo,
    snaps: &[SnapshotRef],
    config: Option<&Config>,
    now: DateTime<Utc>,
) -> Result<Status> {
    let trail = audit::read_all(&repo.audit_store())?.entries;
    let mut jobs = Vec::new();
    if let Some(c) = config {
        for (name, job) in &c.jobs {
            jobs.push(job_status(name, job, snaps, &trail, now));
        }
    }
    let groups = if config.is_none() {
        groups(snaps, now)
    } else {
        Vec::new()
    };
    let scenarios = match config {
        Some(c) => scenario_status(repo, c)?,
        None => Vec::new(),
    };
    let packs = repo.list(FileType::Pack)?;
    let added = |days: i64| -> u64 {
        snaps
            .iter()
            .filter(|s| now - s.snap.time <= Duration::days(days))
            .map(|s| s.snap.summary.bytes_added)
            .sum()
    };
    let repository = RepositoryStatus {
        bytes: packs.iter().map(|(_, n)| n).sum(),
        packs: packs.len(),
        snapshots: snaps.len(),
        added_7d: added(7),
        added_30d: added(30),
    };
    let check_tasks: Vec<&String> = config
        .map(|c| {
            c.maintenance
                .iter()
                .filter(|(_, m)| m.task == Task::Check)
                .map(|(n, _)| n)
                .collect()
        })
        .unwrap_or_default();
    let last_check = trail
        .iter()
        .filter(|l| {
            l.entry.op == "check" || job_of(l).is_some_and(|j| check_tasks.iter().any(|t| *t == j))
        })
        .max_by_key(|l| l.entry.time)
        .map(|l| CheckStatus {
            time: l.entry.time,
            outcome: l.entry.outcome,
            error: l.entry.error.clone(),
        });
    let check_level = match &last_check {
        Some(c) if c.outcome != Outcome::Ok => Level::Breach,
        _ => Level::Ok,
    };
    let level = jobs
        .iter()
        .map(|j| j.level)
        .chain(scenarios.iter().map(|s| s.level))
        .chain([check_level])
        .max()
        .unwrap_or(Level::Ok);
    Ok(Status {
        time: now,
        jobs,
        groups,
        scenarios,
        repository,
        last_check,
        level,
    })
}

fn job_status(
    name: &str,
    job: &crate::policy::config::Job,
    snaps: &[SnapshotRef],
    trail: &[Listed],
    now: DateTime<Utc>,
) -> JobStatus {
    let last = snaps
        .iter()
        .filter(|s| s.snap.job.as_deref() == Some(name))
        .filter(|s| {
            !s.snap
                .tags
                .iter()
                .any(|t| t == crate::policy::select::ROLLBACK_TAG)
        })
        .max_by_key(|s| (s.snap.time, s.id));
    let last_failure = trail
        .iter()
        .filter(|l| job_of(l) == Some(name) && l.entry.outcome != Outcome::Ok)
        .max_by_key(|l| l.entry.time)
        .map(|l| Failure {
            time: l.entry.time,
            outcome: l.entry.outcome,
            error: l.entry.error.clone(),
        });
    // The last run's own success: a run whose entry says ok, or its snapshot.
    let last_ok_run = trail
        .iter()
        .filter(|l| job_of(l) == Some(name) && l.entry.outcome == Outcome::Ok)
        .map(|l| l.entry.time)
        .max();
    let succeeded = last_ok_run.max(last.map(|s| s.snap.time));
    let failing = last_failure
        .as_ref()
        .is_some_and(|f| succeeded.is_none_or(|t| f.time > t));
    let age = last.map(|s| now - s.snap.time);
    let rpo_level = match (age, job.rpo) {
        (Some(a), Some(r)) => rpo_level(a, r),
        // Not run yet (a job just configured): said, not an alarm; its failures still are.
        (None, Some(_)) => Level::Warning,
        _ => Level::Ok,
    };
    let fail_level = match &last_failure {
        Some(f) if failing && f.outcome == Outcome::Incomplete => Level::Warning,
        Some(_) if failing => Level::Breach,
        _ => Level::Ok,
    };
    let level = rpo_level.max(fail_level);
    let human = |d: Duration| crate::policy::config::human(Duration::seconds(d.num_seconds()));
    let reason = match (&last, job.rpo, failing) {
        (_, _, true) => format!(
            "its last run {}: {}",
            last_failure
                .as_ref()
                .map_or("failed", |f| f.outcome.as_str()),
            last_failure
                .as_ref()
                .and_then(|f| f.error.clone())
                .unwrap_or_default()
        ),
        (None, _, _) => "no snapshot yet".to_string(),
        (Some(_), Some(r), _) => format!(
            "last success {} ago, RPO {}",
            human(age.unwrap_or_default()),
            human(r)
        ),
        (Some(_), None, _) => format!(
            "last success {} ago (no RPO)",
            human(age.unwrap_or_default())
        ),
    };
    JobStatus {
        job: name.to_string(),
        last_snapshot: last.map(|s| s.id.to_hex()),
        last_success: last.map(|s| s.snap.time),
        age_secs: age.map(|a| a.num_seconds()),
        rpo_secs: job.rpo.map(|r| r.num_seconds()),
        last_failure,
        failing,
        next_run: job.schedule.next_after(now),
        level,
        reason,
    }
}

fn groups(snaps: &[SnapshotRef], now: DateTime<Utc>) -> Vec<GroupStatus> {
    let mut by: BTreeMap<(String, Vec<String>), Vec<&SnapshotRef>> = BTreeMap::new();
    for s in snaps.iter().filter(|s| {
        !s.snap
            .tags
            .iter()
            .any(|t| t == crate::policy::select::ROLLBACK_TAG)
    }) {
        by.entry((s.snap.host.clone(), s.snap.paths.clone()))
            .or_default()
            .push(s);
    }
    by.into_iter()
        .map(|((host, paths), v)| {
            let last = v
                .iter()
                .max_by_key(|s| (s.snap.time, s.id))
                .expect("a group has a snapshot");
            GroupStatus {
                host,
                paths,
                snapshots: v.len(),
                last_snapshot: last.id.to_hex(),
                last_success: last.snap.time,
                age_secs: (now - last.snap.time).num_seconds(),
            }
        })
        .collect()
}

fn scenario_status(repo: &Repo, c: &Config) -> Result<Vec<ScenarioStatus>> {
    let list = records::list(repo)?;
    let mut out = Vec::new();
    for (name, sc) in &c.scenarios {
        let last = list
            .iter()
            .filter(|r| r.objectives().is_some_and(|o| &o.scenario == name))
            .max_by_key(|r| r.first().time);
        let last = last.map(|r| {
            let rto = r.rto();
            Recovery {
                kind: if matches!(r.first().what, What::Drilled(_)) {
                    "drill"
                } else {
                    "restore"
                },
                restoration: r.id.to_hex(),
                time: r.first().time,
                duration_secs: rto.map(|(d, _)| d),
                rto_met: rto.map(|(_, m)| m),
            }
        });
        let (level, reason) = match &last {
            None => (
                Level::Ok,
                "no restore or drill yet (`vcd drill` measures one)".to_string(),
            ),
            Some(r) if r.rto_met == Some(false) => (
                Level::Warning,
                format!(
                    "its last {} took {:.0}s, over the RTO",
                    r.kind,
                    r.duration_secs.unwrap_or_default()
                ),
            ),
            Some(r) => (Level::Ok, format!("its last {} met the RTO", r.kind)),
        };
        out.push(ScenarioStatus {
            scenario: name.clone(),
            rto_secs: sc.rto.num_seconds(),
            rpo_secs: sc.rpo.num_seconds(),
            last,
            level,
            reason,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_is_ok_until_80_percent_of_the_rpo_a_warning_until_it_and_a_breach_past_it() {
        let h = Duration::hours;
        assert_eq!(rpo_level(h(19), h(24)), Level::Ok);
        assert_eq!(rpo_level(Duration::minutes(1152), h(24)), Level::Warning);
        assert_eq!(rpo_level(h(24), h(24)), Level::Warning);
        assert_eq!(rpo_level(h(25), h(24)), Level::Breach);
    }
}
