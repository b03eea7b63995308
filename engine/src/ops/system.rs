//! The specification's backup-system API (`create_backup`, `schedule_backup`, `verify_backup`,
//! `cleanup_old_backups`) for hosts that embed the engine: each a thin layer over the
//! operations the CLI and the daemon use, on a repository and a checked configuration.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::format::snapshot::BackupType;
use crate::id::Id;
use crate::ops::backup::{self, BackupResult};
use crate::ops::forget::{self, Filter, ForgetOptions, ForgetReport, GroupBy, Target};
use crate::ops::job::{self, RunOptions};
use crate::ops::progress::Progress;
use crate::policy::config::{Config, Job};
use crate::policy::retention::Policy;
use crate::policy::schedule::Schedule;
use crate::repo::{lock, Repo};

/// A repository run by a configuration.
pub struct BackupSystem<'a> {
    pub repo: &'a Repo,
    pub config: Config,
}

/// What `verify_backup` found.
#[derive(Debug, Default)]
pub struct Verification {
    pub snapshot: Option<Id>,
    pub files: u64,
    pub blobs_read: u64,
    pub bytes_read: u64,
    /// Blobs that could not be read back intact, with the first path that uses each.
    pub damaged: Vec<(Id, String, String)>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.damaged.is_empty()
    }
}

impl BackupSystem<'_> {
    /// A backup of the data categories `scope` (none: every category), full (every byte
    /// read) or incremental (unchanged files reused from the latest snapshot of the same
    /// paths), recording the categories.
    pub fn create_backup(
        &self,
        kind: BackupType,
        scope: &[String],
        run: &RunOptions,
    ) -> Result<BackupResult> {
        let categories: Vec<String> = if scope.is_empty() {
            self.config.categories.keys().cloned().collect()
        } else {
            scope.to_vec()
        };
        let (paths, excludes) = job::scope(&self.config, &categories)?;
        let opts = backup::BackupOptions {
            paths,
            excludes,
            categories,
            kind,
            host: run.host.clone(),
            time: run.time,
            cancel: run.cancel.clone(),
            release_memory: run.release_memory,
            ..Default::default()
        };
        let _lock = lock::acquire(self.repo, false)?;
        backup::backup(self.repo, &opts, &Progress::default())
    }

    /// Adds a backup job to this configuration, in memory (a host that wants the daemon to run
    /// it writes the configuration file): `schedule` in cron syntax, in UTC. Returns its next five runs after `now`.
    pub fn schedule_backup(
        &mut self,
        name: &str,
        schedule: &str,
        kind: BackupType,
        categories: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        if self.config.jobs.contains_key(name) || self.config.maintenance.contains_key(name) {
            return Err(Error::Invalid(format!("a job named {name:?} exists")));
        }
        let s = Schedule::parse(schedule, chrono_tz::Tz::UTC).map_err(Error::Invalid)?;
        if categories.is_empty() {
            return Err(Error::Invalid(format!(
                "job {name:?}: name at least one category"
            )));
        }
        job::scope(&self.config, categories)?;
        let mut runs = Vec::new();
        let mut t = now;
        while let Some(n) = s.next_after(t).filter(|_| runs.len() < 5) {
            runs.push(n);
            t = n;
        }
        self.config.jobs.insert(
            name.to_string(),
            Job {
                schedule: s,
                kind,
                categories: categories.to_vec(),
                compression: None,
                tags: vec![],
                keep: None,
                keep_text: None,
                rpo: None,
                then: vec![],
            },
        );
        Ok(runs)
    }

    /// Reads back every blob snapshot `id` (an id prefix or `latest`) refers to, each checked
    /// by its seal and its hash, as a restore reads them.
    pub fn verify_backup(&self, id: &str) -> Result<Verification> {
        let snaps = self.repo.snapshots()?;
        let s = crate::policy::select::choose(&snaps, Some(id), None, &Default::default())?;
        let mut v = Verification {
            snapshot: Some(s.id),
            ..Default::default()
        };
        // Trees and blobs are each read once: a snapshot that names a subtree many times (or
        // a hostile one built to) costs no more than one that names it once.
        let mut seen_blobs = std::collections::HashSet::new();
        let mut seen_trees = std::collections::HashSet::new();
        let mut stack = vec![(s.snap.tree, String::new())];
        while let Some((id, path)) = stack.pop() {
            if !seen_trees.insert(id) {
                continue;
            }
            let tree = match self.repo.load_tree(&id) {
                Ok(t) => t,
                Err(e) if e.is_damage() || e.is_not_found() => {
                    v.damaged.push((id, format!("{path}/"), e.to_string()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            for node in &tree.nodes {
                let p = format!("{path}/{}", node.name_lossy());
                if let Some(sub) = node.subtree {
                    stack.push((sub, p));
                    continue;
                }
                if !node.content.is_empty() {
                    v.files += 1;
                }
                for b in node.data_ids() {
                    if !seen_blobs.insert(b) {
                        continue;
                    }
                    match self.repo.load_blob(&b) {
                        Ok(bytes) => {
                            v.blobs_read += 1;
                            v.bytes_read += bytes.len() as u64;
                        }
                        Err(e) if e.is_damage() || e.is_not_found() => {
                            v.damaged.push((b, p.clone(), e.to_string()))
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(v)
    }

    /// Removes the snapshots `policy` does not keep, in each group of host and job (snapshots
    /// of no job form their own groups), in the UTC calendar. Their data goes with a prune.
    pub fn cleanup_old_backups(&self, policy: &Policy) -> Result<ForgetReport> {
        let _lock = lock::acquire(self.repo, false)?;
        forget::forget(
            self.repo,
            &ForgetOptions {
                target: Target::Policy {
                    policy: Box::new(policy.clone()),
                    filter: Filter::default(),
                },
                group_by: GroupBy {
                    host: true,
                    job: true,
                    ..GroupBy::none()
                },
                tz: Utc,
                dry_run: false,
                cancel: Default::default(),
            },
        )
    }
}
