//! `forget`: removes snapshots, either those named or those a retention policy does not keep.
//! It owns the steps around the pure policy (`policy::retention`): which snapshots a policy
//! looks at (host, tag and category filters), how they are split into groups it applies to one
//! at a time (restic's `--group-by`), and the deletion. Only snapshot files go; the data they
//! alone referenced stays until a prune. The caller holds a shared lock (FORMAT.md §10).
//!
//! A policy that would remove every snapshot of a group leaves that group untouched and says
//! so in the report: a rule that matches nothing (a misspelt `--keep-tag`) must not empty a
//! group. Named snapshots are removed whatever they are.

use std::collections::BTreeMap;
use std::fmt;

use chrono::TimeZone;

use crate::backend::FileType;
use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::format::snapshot::{Snapshot, SnapshotRef};
use crate::id::Id;
use crate::policy::retention::{self, Policy, Reason};
use crate::policy::select;
use crate::repo::Repo;

/// Which snapshot fields make up a group. The default, as restic's: host and paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupBy {
    pub host: bool,
    pub paths: bool,
    pub tags: bool,
    pub category: bool,
    pub job: bool,
}

impl Default for GroupBy {
    fn default() -> Self {
        GroupBy {
            host: true,
            paths: true,
            tags: false,
            category: false,
            job: false,
        }
    }
}

impl GroupBy {
    /// No field: every snapshot in one group.
    pub fn none() -> Self {
        GroupBy {
            host: false,
            paths: false,
            tags: false,
            category: false,
            job: false,
        }
    }
}

impl std::str::FromStr for GroupBy {
    type Err = Error;

    /// A comma-separated list of `host`, `paths`, `tags`, `category`, `job`; empty: one group.
    fn from_str(s: &str) -> Result<Self> {
        let mut g = GroupBy::none();
        for f in s.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let field = match f {
                "host" => &mut g.host,
                "paths" => &mut g.paths,
                "tags" => &mut g.tags,
                "category" => &mut g.category,
                "job" => &mut g.job,
                _ => {
                    return Err(Error::Invalid(format!(
                        "group-by field {f:?} (host, paths, tags, category, job)"
                    )))
                }
            };
            *field = true;
        }
        Ok(g)
    }
}

/// What the snapshots of one group share: the fields grouped by (None for the others). Paths and
/// tags are sorted; a missing category or job is the empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    pub host: Option<String>,
    pub paths: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub category: Option<String>,
    pub job: Option<String>,
}

impl GroupKey {
    pub fn of(s: &Snapshot, by: &GroupBy) -> Self {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        GroupKey {
            host: by.host.then(|| s.host.clone()),
            paths: by.paths.then(|| sorted(&s.paths)),
            tags: by.tags.then(|| sorted(&s.tags)),
            category: by.category.then(|| s.all_categories().join(",")),
            job: by.job.then(|| s.job.clone().unwrap_or_default()),
        }
    }
}

impl fmt::Display for GroupKey {
    /// `host h, paths /a /b, tags x,y, category c, job j`, or `all snapshots` when nothing is
    /// grouped by.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(h) = &self.host {
            parts.push(format!("host {h}"));
        }
        if let Some(p) = &self.paths {
            parts.push(format!("paths {}", p.join(" ")));
        }
        if let Some(t) = &self.tags {
            parts.push(format!("tags {}", t.join(",")));
        }
        if let Some(c) = &self.category {
            parts.push(format!("category {c}"));
        }
        if let Some(j) = &self.job {
            parts.push(format!("job {j}"));
        }
        if parts.is_empty() {
            return f.write_str("all snapshots");
        }
        f.write_str(&parts.join(", "))
    }
}

/// Which snapshots a policy looks at. Each list allows any of its values; an empty one allows
/// all; a snapshot must pass every list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub hosts: Vec<String>,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    /// The configured jobs that made them (a job's retention sees its own snapshots only).
    pub jobs: Vec<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
            && self.tags.is_empty()
            && self.categories.is_empty()
            && self.jobs.is_empty()
    }

    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.host))
            && (self.tags.is_empty() || self.tags.iter().any(|t| s.tags.contains(t)))
            && (self.categories.is_empty() || self.categories.iter().any(|c| s.has_category(c)))
            && (self.jobs.is_empty() || s.job.as_ref().is_some_and(|j| self.jobs.contains(j)))
    }
}

/// What to remove.
#[derive(Debug, Clone)]
pub enum Target {
    /// These snapshots (`latest` or id prefixes), whatever they are.
    Ids(Vec<String>),
    /// Those the policy does not keep, among the filtered snapshots, group by group.
    Policy { policy: Box<Policy>, filter: Filter },
}

pub struct ForgetOptions<Z: TimeZone> {
    pub target: Target,
    pub group_by: GroupBy,
    /// The calendar of the policy's periods and spans.
    pub tz: Z,
    /// Decide and report, delete nothing.
    pub dry_run: bool,
    pub cancel: CancelToken,
}

/// One snapshot and what becomes of it.
#[derive(Debug, Clone)]
pub struct Row {
    pub snapshot: SnapshotRef,
    /// True when it stays (always, in an untouched group).
    pub keep: bool,
    /// The rules that keep it; empty for a named snapshot and in an untouched group.
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub key: GroupKey,
    /// Newest first.
    pub rows: Vec<Row>,
    /// The policy kept none of this group, so nothing of it was removed.
    pub untouched: bool,
}

#[derive(Debug, Clone)]
pub struct ForgetReport {
    /// In the order of their keys.
    pub groups: Vec<Group>,
    /// Snapshots deleted (none in a dry run).
    pub removed: Vec<Id>,
    pub dry_run: bool,
}

impl ForgetReport {
    /// Groups the policy would have emptied; each was left as it was.
    pub fn untouched(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(|g| g.untouched)
    }

    /// Snapshots that go (or would go, in a dry run).
    pub fn to_remove(&self) -> impl Iterator<Item = &SnapshotRef> {
        self.groups
            .iter()
            .flat_map(|g| &g.rows)
            .filter(|r| !r.keep)
            .map(|r| &r.snapshot)
    }
}

/// Decides, without deleting, what `target` removes from `snaps`: every group with a row per
/// snapshot it covers. Every named snapshot is resolved before anything is decided, so an
/// unknown one fails the whole call. A policy that `is_empty` is refused: it would remove all.
pub fn plan<Z: TimeZone>(
    snaps: &[SnapshotRef],
    target: &Target,
    group_by: &GroupBy,
    tz: &Z,
) -> Result<Vec<Group>> {
    let mut groups: BTreeMap<GroupKey, Vec<SnapshotRef>> = BTreeMap::new();
    match target {
        Target::Ids(specs) => {
            if specs.is_empty() {
                return Err(Error::Invalid("no snapshot to forget was named".into()));
            }
            let mut named: Vec<&SnapshotRef> = Vec::new();
            for spec in specs {
                let s = select::select(snaps, spec)?;
                if !named.iter().any(|n| n.id == s.id) {
                    named.push(s);
                }
            }
            for s in named {
                groups
                    .entry(GroupKey::of(&s.snap, group_by))
                    .or_default()
                    .push(s.clone());
            }
            Ok(groups
                .into_iter()
                .map(|(key, mut v)| {
                    v.sort_by_key(|s| std::cmp::Reverse((s.snap.time, s.id)));
                    let rows = v
                        .into_iter()
                        .map(|snapshot| Row {
                            snapshot,
                            keep: false,
                            reasons: Vec::new(),
                        })
                        .collect();
                    Group {
                        key,
                        rows,
                        untouched: false,
                    }
                })
                .collect())
        }
        Target::Policy { policy, filter } => {
            if policy.is_empty() {
                return Err(Error::Invalid(
                    "no keep rule: a policy without one would remove every snapshot (rules of \
                     0 and empty durations keep nothing and do not count)"
                        .into(),
                ));
            }
            for s in snaps.iter().filter(|s| filter.matches(&s.snap)) {
                groups
                    .entry(GroupKey::of(&s.snap, group_by))
                    .or_default()
                    .push(s.clone());
            }
            Ok(groups
                .into_iter()
                .map(|(key, v)| {
                    let decisions = retention::apply(&v, policy, tz);
                    let untouched = !decisions.iter().any(|d| d.keep);
                    let rows = decisions
                        .into_iter()
                        .map(|d| Row {
                            snapshot: d.snapshot.clone(),
                            keep: d.keep || untouched,
                            reasons: d.reasons,
                        })
                        .collect();
                    Group {
                        key,
                        rows,
                        untouched,
                    }
                })
                .collect())
        }
    }
}

/// Lists the snapshots, plans (`plan`), and unless `dry_run` deletes the snapshot files of the
/// rows not kept. Fails before deleting anything if a named snapshot does not exist.
pub fn forget<Z: TimeZone>(repo: &Repo, opts: &ForgetOptions<Z>) -> Result<ForgetReport> {
    let snaps = repo.snapshots()?;
    let groups = plan(&snaps, &opts.target, &opts.group_by, &opts.tz)?;
    let mut report = ForgetReport {
        groups,
        removed: Vec::new(),
        dry_run: opts.dry_run,
    };
    if !opts.dry_run {
        remove(repo, &mut report, &opts.cancel)?;
    }
    Ok(report)
}

/// Deletes the snapshots `report` does not keep, recording each in `removed`. One already gone
/// is passed over: forget holds only a shared lock, so another forget may have removed it since
/// the listing, and what was asked for is done.
fn remove(repo: &Repo, report: &mut ForgetReport, cancel: &CancelToken) -> Result<()> {
    let doomed: Vec<Id> = report.to_remove().map(|s| s.id).collect();
    if doomed.is_empty() {
        return Ok(());
    }
    // On the audit trail before anything goes: a forget interrupted (or killed) halfway still
    // explains the snapshots it removed, which every host that saw them would otherwise take
    // for storage rolled back (FORMAT.md §16).
    let intent = crate::ops::audit::Op {
        op: "forget: removing".into(),
        args: Vec::new(),
        outcome: crate::format::audit::Outcome::Ok,
        error: None,
        details: [(
            "removed".to_string(),
            serde_json::Value::from(doomed.iter().map(|i| i.to_hex()).collect::<Vec<_>>()),
        )]
        .into(),
    };
    if let Err(e) = crate::ops::audit::append(&repo.audit_store(), &intent) {
        tracing::warn!("the audit trail could not be written: {e}");
    }
    for id in doomed {
        cancel.check()?;
        let name = id.to_hex();
        match repo.backend.delete(FileType::Snapshot, &name) {
            Ok(()) => report.removed.push(id),
            Err(e) if e.is_not_found() => {
                tracing::info!("snapshot {} was already removed", id.short());
            }
            Err(e) => return Err(crate::repo::be("deleting snapshot", &name)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::snapshot::{BackupType, Summary};
    use crate::repo::testing::mem_repo;
    use chrono::Utc;

    fn snapshot(day: u32, host: &str, paths: &[&str], tags: &[&str]) -> Snapshot {
        Snapshot {
            version: 1,
            time: Utc.with_ymd_and_hms(2027, 1, day, 2, 0, 0).unwrap(),
            host: host.into(),
            user: "u".into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            category: None,
            categories: vec![],
            job: None,
            kind: BackupType::Incremental,
            parent: None,
            tree: Id::default(),
            audit: Vec::new(),
            original: None,
            summary: Summary::default(),
        }
    }

    fn refs(snaps: Vec<Snapshot>) -> Vec<SnapshotRef> {
        snaps
            .into_iter()
            .enumerate()
            .map(|(i, snap)| SnapshotRef {
                id: Id([i as u8 + 1; 32]),
                snap,
            })
            .collect()
    }

    fn last(n: u32) -> Target {
        Target::Policy {
            policy: Box::new(Policy {
                last: n,
                ..Policy::default()
            }),
            filter: Filter::default(),
        }
    }

    #[test]
    fn group_by_parses_its_fields_and_nothing_else() {
        assert_eq!("host,paths".parse::<GroupBy>().unwrap(), GroupBy::default());
        let all: GroupBy = "host, paths,tags,category,job".parse().unwrap();
        assert!(all.host && all.paths && all.tags && all.category && all.job);
        let none: GroupBy = "".parse().unwrap();
        assert_eq!(
            GroupKey::of(&snapshot(1, "h", &[], &[]), &none).to_string(),
            "all snapshots"
        );
        assert!(matches!(
            "host,time".parse::<GroupBy>(),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn groups_by_host_and_sorted_paths_and_missing_job_is_empty() {
        let mut withjob = snapshot(3, "a", &["/y", "/x"], &[]);
        withjob.job = Some("db".into());
        let snaps = refs(vec![
            snapshot(1, "a", &["/x", "/y"], &[]),
            snapshot(2, "a", &["/x"], &[]),
            withjob,
            snapshot(4, "b", &["/x", "/y"], &[]),
        ]);
        let groups = plan(&snaps, &last(1), &GroupBy::default(), &Utc).unwrap();
        let keys: Vec<String> = groups.iter().map(|g| g.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "host a, paths /x",
                "host a, paths /x /y",
                "host b, paths /x /y"
            ]
        );
        // Paths in another order are the same group: the newer of the two is kept.
        let ab = &groups[1];
        assert_eq!(ab.rows.len(), 2);
        assert!(ab.rows[0].keep && !ab.rows[1].keep);
        assert_eq!(ab.rows[0].snapshot.id, snaps[2].id);

        let by_job: GroupBy = "job".parse().unwrap();
        let groups = plan(&snaps, &last(1), &by_job, &Utc).unwrap();
        let keys: Vec<String> = groups.iter().map(|g| g.key.to_string()).collect();
        assert_eq!(keys, ["job ", "job db"]);
        assert_eq!(groups[0].rows.len(), 3);
    }

    #[test]
    fn filters_pick_what_a_policy_sees() {
        let mut cat = snapshot(3, "a", &["/x"], &["daily"]);
        cat.category = Some("critical".into());
        let snaps = refs(vec![
            snapshot(1, "a", &["/x"], &["daily"]),
            snapshot(2, "b", &["/x"], &["weekly"]),
            cat,
        ]);
        let target = |filter: Filter| Target::Policy {
            policy: Box::new(Policy {
                last: 5,
                ..Policy::default()
            }),
            filter,
        };
        let seen = |f: Filter| -> usize {
            plan(&snaps, &target(f), &"".parse().unwrap(), &Utc)
                .unwrap()
                .iter()
                .map(|g| g.rows.len())
                .sum()
        };
        assert_eq!(seen(Filter::default()), 3);
        let f = |h: &[&str], t: &[&str], c: &[&str]| Filter {
            hosts: h.iter().map(|s| s.to_string()).collect(),
            tags: t.iter().map(|s| s.to_string()).collect(),
            categories: c.iter().map(|s| s.to_string()).collect(),
            jobs: vec![],
        };
        assert_eq!(seen(f(&["a"], &[], &[])), 2);
        assert_eq!(seen(f(&[], &["weekly", "daily"], &[])), 3);
        assert_eq!(seen(f(&["a"], &["daily"], &["critical"])), 1);
        assert_eq!(seen(f(&["c"], &[], &[])), 0);
    }

    #[test]
    fn a_policy_that_keeps_none_of_a_group_leaves_it_untouched() {
        let snaps = refs(vec![
            snapshot(1, "a", &["/x"], &["keep"]),
            snapshot(2, "a", &["/x"], &[]),
            snapshot(3, "b", &["/x"], &[]),
        ]);
        let target = Target::Policy {
            policy: Box::new(Policy {
                tags: vec!["keep".into()],
                ..Policy::default()
            }),
            filter: Filter::default(),
        };
        let groups = plan(&snaps, &target, &GroupBy::default(), &Utc).unwrap();
        assert!(!groups[0].untouched);
        assert_eq!(
            groups[0].rows.iter().map(|r| r.keep).collect::<Vec<_>>(),
            [false, true]
        );
        assert!(groups[1].untouched);
        assert!(groups[1]
            .rows
            .iter()
            .all(|r| r.keep && r.reasons.is_empty()));
    }

    #[test]
    fn an_empty_policy_and_no_ids_are_refused() {
        let snaps = refs(vec![snapshot(1, "a", &["/x"], &[])]);
        for t in [last(0), Target::Ids(vec![])] {
            assert!(matches!(
                plan(&snaps, &t, &GroupBy::default(), &Utc),
                Err(Error::Invalid(_))
            ));
        }
    }

    #[test]
    fn forget_deletes_only_what_is_not_kept_and_a_dry_run_nothing() {
        let repo = mem_repo();
        let ids: Vec<Id> = (1..=4)
            .map(|d| repo.save_snapshot(&snapshot(d, "h", &["/x"], &[])).unwrap())
            .collect();
        let opts = |dry_run, target| ForgetOptions {
            target,
            group_by: GroupBy::default(),
            tz: Utc,
            dry_run,
            cancel: CancelToken::new(),
        };
        let r = forget(&repo, &opts(true, last(2))).unwrap();
        assert!(r.removed.is_empty());
        assert_eq!(r.to_remove().count(), 2);
        assert_eq!(repo.snapshots().unwrap().len(), 4);

        let r = forget(&repo, &opts(false, last(2))).unwrap();
        let mut removed = r.removed.clone();
        removed.sort();
        let mut want = vec![ids[0], ids[1]];
        want.sort();
        assert_eq!(removed, want);
        let left: Vec<Id> = repo.snapshots().unwrap().iter().map(|s| s.id).collect();
        assert_eq!(left, [ids[2], ids[3]]);

        // Named: all resolved first; one unknown name deletes nothing.
        let bad = Target::Ids(vec![ids[2].to_hex(), "ffffffff".into()]);
        assert!(matches!(
            forget(&repo, &opts(false, bad)),
            Err(Error::NoSuchSnapshot(s)) if s == "ffffffff"
        ));
        assert_eq!(repo.snapshots().unwrap().len(), 2);
        let both = Target::Ids(vec![ids[3].short(), "latest".into(), ids[2].to_hex()]);
        let r = forget(&repo, &opts(false, both)).unwrap();
        assert_eq!(r.removed.len(), 2);
        assert!(repo.snapshots().unwrap().is_empty());
    }

    #[test]
    fn a_snapshot_another_forget_removed_meanwhile_is_passed_over() {
        let repo = mem_repo();
        let ids: Vec<Id> = (1..=3)
            .map(|d| repo.save_snapshot(&snapshot(d, "h", &["/x"], &[])).unwrap())
            .collect();
        let groups = plan(
            &repo.snapshots().unwrap(),
            &last(1),
            &GroupBy::default(),
            &Utc,
        )
        .unwrap();
        let mut report = ForgetReport {
            groups,
            removed: Vec::new(),
            dry_run: false,
        };
        repo.backend
            .delete(FileType::Snapshot, &ids[0].to_hex())
            .unwrap();
        remove(&repo, &mut report, &CancelToken::new()).unwrap();
        assert_eq!(report.removed, [ids[1]]);
        let left: Vec<Id> = repo.snapshots().unwrap().iter().map(|s| s.id).collect();
        assert_eq!(left, [ids[2]]);
    }

    #[test]
    fn a_cancelled_forget_stops_before_deleting() {
        let repo = mem_repo();
        for d in 1..=3 {
            repo.save_snapshot(&snapshot(d, "h", &["/x"], &[])).unwrap();
        }
        let cancel = CancelToken::new();
        cancel.cancel();
        let opts = ForgetOptions {
            target: last(1),
            group_by: GroupBy::default(),
            tz: Utc,
            dry_run: false,
            cancel,
        };
        assert!(matches!(forget(&repo, &opts), Err(Error::Interrupted)));
        assert_eq!(repo.snapshots().unwrap().len(), 3);
    }
}
