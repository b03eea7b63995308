//! The specification's recovery-system API (`restore_system`, `restore_data`,
//! `verify_recovery`, `rollback_recovery`) for hosts that embed the engine: each a thin layer
//! over what `vcd restore`, `vcd verify-restore` and `vcd rollback` use, every restore recorded
//! (with its rollback image) as theirs are.

use chrono::{DateTime, Utc};

use super::{Recorded, RestoreRequest, Rollback, Verification};
use crate::error::Result;
use crate::ops::progress::Progress;
use crate::ops::restore::RestoreOptions;
use crate::policy::config::Config;
use crate::policy::scope::{self, Part};
use crate::policy::select::{self, SnapshotFilter};
use crate::repo::Repo;

/// A repository, and the configuration that names its categories and scenarios (None: the
/// specification's scenarios, and snapshots restored whole).
pub struct RecoverySystem<'a> {
    pub repo: &'a Repo,
    pub config: Option<Config>,
}

impl RecoverySystem<'_> {
    /// The whole system as it was at `target_time` (None: now), into `base.target`: for each
    /// category of the complete-system scenario, the newest snapshot holding it at or before
    /// that time, restricted to the category's paths (without a configuration: the newest
    /// snapshot, whole). With `backup_id` (an id prefix or `latest`), that snapshot, whole,
    /// and `target_time` is only the incident's time. One restoration per snapshot, in order,
    /// under the scenario's objectives; rolling the system back is rolling each back, newest
    /// first.
    pub fn restore_system(
        &self,
        backup_id: Option<&str>,
        target_time: Option<DateTime<Utc>>,
        base: &RestoreOptions,
        progress: &Progress,
    ) -> Result<Vec<Recorded>> {
        let (objectives, categories) = super::scenario(self.config.as_ref(), "complete")?;
        let snaps = self.repo.snapshots()?;
        let parts = match backup_id {
            Some(spec) => vec![Part {
                snapshot: select::choose(&snaps, Some(spec), None, &SnapshotFilter::default())?
                    .clone(),
                categories: Vec::new(),
                includes: Vec::new(),
            }],
            None => scope::plan(
                self.config.as_ref(),
                &snaps,
                &SnapshotFilter::default(),
                &categories,
                target_time,
            )?,
        };
        let mut out = Vec::new();
        for p in parts {
            let req = RestoreRequest {
                options: RestoreOptions {
                    includes: p.includes.clone(),
                    ..base.clone()
                },
                categories: if p.categories.is_empty() {
                    categories.clone()
                } else {
                    p.categories.clone()
                },
                at: target_time,
                objectives: Some(objectives.clone()),
                no_rollback: false,
            };
            out.push(super::restore_recorded(
                self.repo,
                &p.snapshot,
                &req,
                progress,
            )?);
        }
        Ok(out)
    }

    /// The data category `data_type` (its paths, as the configuration defines them) from
    /// snapshot `backup_id` (None: the newest holding it), into `base.target`, under the
    /// partial-data scenario's objectives. Without a configuration the snapshot is restored
    /// whole.
    pub fn restore_data(
        &self,
        data_type: &str,
        backup_id: Option<&str>,
        base: &RestoreOptions,
        progress: &Progress,
    ) -> Result<Recorded> {
        let (objectives, _) = super::scenario(self.config.as_ref(), "partial")?;
        let snaps = self.repo.snapshots()?;
        let category = vec![data_type.to_string()];
        let holding = SnapshotFilter {
            categories: category.clone(),
            ..Default::default()
        };
        let part = match backup_id {
            Some(spec) => {
                let s = select::choose(&snaps, Some(spec), None, &holding)?;
                let includes = match &self.config {
                    Some(c) => scope::category_includes(c, s, &category)?,
                    None => Vec::new(),
                };
                Part {
                    snapshot: s.clone(),
                    categories: category.clone(),
                    includes,
                }
            }
            None => {
                let filter = match self.config {
                    Some(_) => SnapshotFilter::default(),
                    None => holding,
                };
                let mut parts =
                    scope::plan(self.config.as_ref(), &snaps, &filter, &category, None)?;
                parts.remove(0)
            }
        };
        let req = RestoreRequest {
            options: RestoreOptions {
                includes: part.includes.clone(),
                ..base.clone()
            },
            categories: category,
            at: None,
            objectives: Some(objectives),
            no_rollback: false,
        };
        super::restore_recorded(self.repo, &part.snapshot, &req, progress)
    }

    /// `vcd verify-restore`: the target of restoration `rid` compared with its snapshot.
    pub fn verify_recovery(&self, rid: &str) -> Result<Verification> {
        super::verify_recovery(self.repo, rid, &Default::default())
    }

    /// `vcd rollback`: the target of restoration `rid` put back as it was before it.
    pub fn rollback_recovery(&self, rid: &str, force: bool) -> Result<Rollback> {
        super::rollback_recovery(
            self.repo,
            rid,
            force,
            &Default::default(),
            &Progress::default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::TimeZone;

    use super::*;
    use crate::ops::job::{self, RunOptions};
    use crate::repo::testing::mem_repo;

    fn config(src: &Path) -> Config {
        let p = |d: &str| format!("{:?}", src.join(d).to_str().unwrap());
        let text = format!(
            "[repository]\npath = \"/unused\"\n\
             [categories.critical]\npaths = [{}]\n[categories.important]\npaths = [{}]\n\
             [categories.optional]\npaths = [{}]\n\
             [jobs.daily]\nschedule = \"0 2 * * *\"\ntype = \"incremental\"\n\
             categories = [\"critical\", \"important\"]\n\
             [jobs.weekly]\nschedule = \"0 1 * * SUN\"\ntype = \"full\"\n\
             categories = [\"critical\", \"important\", \"optional\"]\n\
             [scenarios.complete-system]\nrto = \"4h\"\nrpo = \"24h\"\n\
             categories = [\"critical\", \"important\", \"optional\"]\n\
             [scenarios.partial-data]\nrto = \"1h\"\nrpo = \"1h\"\n\
             categories = [\"critical\", \"important\"]\n",
            p("crit"),
            p("imp"),
            p("opt")
        );
        let (c, d) = crate::policy::config::check(&text);
        c.unwrap_or_else(|| panic!("{d:?}"))
    }

    /// Writes `day` into every category's file.
    fn day(src: &Path, day: &str) {
        for d in ["crit", "imp", "opt"] {
            std::fs::create_dir_all(src.join(d)).unwrap();
            std::fs::write(src.join(d).join("f"), format!("{d} on {day}")).unwrap();
        }
    }

    #[test]
    fn the_api_restores_the_system_at_a_time_and_one_category_and_verifies_and_rolls_back() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let repo = mem_repo();
        let c = config(&src);
        let t = |d: u32| chrono::Utc.with_ymd_and_hms(2027, 3, d, 2, 0, 0).unwrap();
        let run = |job: &str, at| {
            let o = RunOptions {
                time: Some(at),
                ..Default::default()
            };
            job::run(&repo, &c, job, &o, &Progress::default()).unwrap();
        };
        day(&src, "sunday");
        run("weekly", t(7));
        day(&src, "monday");
        run("daily", t(8));
        day(&src, "tuesday");
        run("daily", t(9));
        let sys = RecoverySystem {
            repo: &repo,
            config: Some(c.clone()),
        };
        let target = tmp.path().join("system");
        let base = RestoreOptions {
            target: target.clone(),
            ..Default::default()
        };
        let got = |root: &Path, d: &str| {
            std::fs::read_to_string(root.join(src.strip_prefix("/").unwrap()).join(d).join("f"))
                .ok()
        };
        // As it was on Monday evening: critical and important from Monday's daily, optional
        // from Sunday's weekly (no daily holds it).
        let monday_evening = t(8) + chrono::Duration::hours(18);
        let r = sys
            .restore_system(None, Some(monday_evening), &base, &Progress::default())
            .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(got(&target, "crit").as_deref(), Some("crit on monday"));
        assert_eq!(got(&target, "imp").as_deref(), Some("imp on monday"));
        assert_eq!(got(&target, "opt").as_deref(), Some("opt on sunday"));
        let list = super::super::records::list(&repo).unwrap();
        assert_eq!(list.len(), 2);
        for x in &list {
            assert_eq!(x.objectives().unwrap().scenario, "complete-system");
            // The incident is Monday evening: Monday's data is 18 hours old, Sunday's 42.
            let (age, _) = x.rpo().unwrap();
            assert!(age == 18 * 3600 || age == 42 * 3600, "{age}");
        }
        for x in &r {
            assert!(sys
                .verify_recovery(&x.restoration.to_hex())
                .unwrap()
                .comparison
                .ok());
        }

        // One category, from the newest snapshot holding it.
        let data = tmp.path().join("data");
        let base = RestoreOptions {
            target: data.clone(),
            ..Default::default()
        };
        let r = sys
            .restore_data("important", None, &base, &Progress::default())
            .unwrap();
        assert_eq!(got(&data, "imp").as_deref(), Some("imp on tuesday"));
        assert_eq!((got(&data, "crit"), got(&data, "opt")), (None, None));
        assert!(sys
            .restore_data("nope", None, &base, &Progress::default())
            .is_err());
        // The restore made the target: rolling it back removes it.
        let rb = sys
            .rollback_recovery(&r.restoration.to_hex(), false)
            .unwrap();
        assert!(rb.removed_target && !data.exists());
    }
}
