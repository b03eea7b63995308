//! Which snapshot: what a user typed (`latest`, an id prefix), the newest at or before a time
//! (point-in-time recovery), and the parent a new backup continues from. Pure: a list in, a
//! choice out.

use crate::error::{Error, Result};
use crate::format::snapshot::SnapshotRef;

/// Picks snapshots by what a user types: `latest`, an id prefix, or (point-in-time) the newest
/// at or before a time. `list` need not be sorted.
pub fn select<'a>(list: &'a [SnapshotRef], spec: &str) -> Result<&'a SnapshotRef> {
    if spec == "latest" {
        return list
            .iter()
            .max_by_key(|s| (s.snap.time, s.id))
            .ok_or_else(|| Error::NoSuchSnapshot(spec.into()));
    }
    if spec.is_empty() {
        return Err(Error::NoSuchSnapshot(spec.into()));
    }
    let spec_l = spec.to_ascii_lowercase();
    let mut hits = list.iter().filter(|s| s.id.to_hex().starts_with(&spec_l));
    match (hits.next(), hits.next()) {
        (Some(s), None) => Ok(s),
        (Some(_), Some(_)) => Err(Error::AmbiguousSnapshot(spec.into())),
        _ => Err(Error::NoSuchSnapshot(spec.into())),
    }
}

pub fn latest_at(list: &[SnapshotRef], at: chrono::DateTime<chrono::Utc>) -> Result<&SnapshotRef> {
    list.iter()
        .filter(|s| s.snap.time <= at)
        .max_by_key(|s| (s.snap.time, s.id))
        .ok_or_else(|| Error::NoSuchSnapshot(format!("at or before {}", at.to_rfc3339())))
}

/// Which snapshots a command may choose from (`--host`, `--tag`, `--path`, `--category`,
/// `--job`): each list allows any of its values, an empty one all; a snapshot must pass every
/// list. A `--path` matches a snapshot that backed up that path or one above it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotFilter {
    pub hosts: Vec<String>,
    pub tags: Vec<String>,
    pub paths: Vec<String>,
    pub categories: Vec<String>,
    pub jobs: Vec<String>,
}

impl SnapshotFilter {
    pub fn is_empty(&self) -> bool {
        *self == SnapshotFilter::default()
    }

    pub fn matches(&self, s: &crate::format::snapshot::Snapshot) -> bool {
        let holds = |want: &str| {
            let want = want.trim_end_matches('/');
            s.paths.iter().any(|p| {
                let p = p.trim_end_matches('/');
                p.is_empty() || want == p || want.starts_with(&format!("{p}/"))
            })
        };
        (self.hosts.is_empty() || self.hosts.contains(&s.host))
            && (self.tags.is_empty() || self.tags.iter().any(|t| s.tags.contains(t)))
            && (self.paths.is_empty() || self.paths.iter().any(|p| holds(p)))
            && (self.categories.is_empty() || self.categories.iter().any(|c| s.has_category(c)))
            && (self.jobs.is_empty() || s.job.as_ref().is_some_and(|j| self.jobs.contains(j)))
    }

    /// ` of host h, tag t, path /p, category c, job j` (empty when it filters nothing).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (what, v) in [
            ("host", &self.hosts),
            ("tag", &self.tags),
            ("path", &self.paths),
            ("category", &self.categories),
            ("job", &self.jobs),
        ] {
            if !v.is_empty() {
                parts.push(format!("{what} {}", v.join(" or ")));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" of {}", parts.join(", "))
        }
    }
}

/// The tag of the snapshot a restore takes of its target before it writes (`vcd rollback`).
pub const ROLLBACK_TAG: &str = "rollback";

/// What a user asked for: a snapshot (`latest` or an id prefix) or a point in time, among the
/// snapshots `filter` allows. `latest` and `at` resolve within the filter; an id prefix names
/// a snapshot the filter must allow too.
pub fn choose<'a>(
    list: &'a [SnapshotRef],
    spec: Option<&str>,
    at: Option<chrono::DateTime<chrono::Utc>>,
    filter: &SnapshotFilter,
) -> Result<&'a SnapshotRef> {
    // A restore's image of its target (tagged `rollback`) is there to be rolled back to, not
    // to be the `latest` of anything: named by id, or asked for with `--tag rollback`.
    let by_id = spec.is_some_and(|x| x != "latest");
    let images = by_id || filter.tags.iter().any(|t| t == ROLLBACK_TAG);
    let allowed: Vec<SnapshotRef> = list
        .iter()
        .filter(|s| filter.matches(&s.snap))
        .filter(|s| images || !s.snap.tags.iter().any(|t| t == ROLLBACK_TAG))
        .cloned()
        .collect();
    let what = filter.describe();
    let chosen = match (spec, at) {
        (Some(_), Some(_)) => {
            return Err(Error::Invalid(
                "name a snapshot or give a time, not both".into(),
            ))
        }
        (_, Some(t)) => latest_at(&allowed, t).map_err(|_| {
            Error::NoSuchSnapshot(format!(
                "at or before {}{what}",
                t.format("%Y-%m-%d %H:%M:%S UTC")
            ))
        })?,
        (spec, None) => {
            let spec = spec.unwrap_or("latest");
            select(&allowed, spec).map_err(|e| match e {
                Error::NoSuchSnapshot(_) if !what.is_empty() => {
                    Error::NoSuchSnapshot(format!("{spec}{what}"))
                }
                e => e,
            })?
        }
    };
    Ok(list
        .iter()
        .find(|s| s.id == chosen.id)
        .expect("chosen from the list"))
}

/// The snapshot a new backup of `paths` from `host` continues from.
pub fn find_parent<'s>(
    snaps: &'s [SnapshotRef],
    host: &str,
    paths: &[String],
) -> Option<&'s SnapshotRef> {
    let mut want = paths.to_vec();
    want.sort();
    snaps
        .iter()
        .filter(|s| {
            let mut p = s.snap.paths.clone();
            p.sort();
            s.snap.host == host && p == want
        })
        .max_by_key(|s| (s.snap.time, s.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::snapshot::{BackupType, Snapshot, Summary};
    use crate::id::Id;
    use chrono::TimeZone;

    fn snap(h: u32, host: &str, paths: &[&str]) -> SnapshotRef {
        SnapshotRef {
            id: Id([h as u8; 32]),
            snap: Snapshot {
                version: 1,
                time: chrono::Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0).unwrap(),
                host: host.into(),
                user: "u".into(),
                paths: paths.iter().map(|p| p.to_string()).collect(),
                tags: vec![],
                category: None,
                categories: vec![],
                job: None,
                kind: BackupType::Full,
                parent: None,
                tree: Id::default(),
                audit: Vec::new(),
                original: None,
                summary: Summary::default(),
            },
        }
    }

    #[test]
    fn latest_prefix_and_ambiguity() {
        let l = vec![
            snap(10, "h", &["/x"]),
            snap(14, "h", &["/x"]),
            snap(12, "h", &["/x"]),
        ];
        assert_eq!(select(&l, "latest").unwrap().id, Id([14; 32]));
        assert_eq!(select(&l, "0c0c").unwrap().id, Id([12; 32]));
        assert_eq!(select(&l, "0C0C").unwrap().id, Id([12; 32]));
        assert!(matches!(select(&l, "ff"), Err(Error::NoSuchSnapshot(_))));
        assert!(matches!(select(&l, ""), Err(Error::NoSuchSnapshot(_))));
        assert!(matches!(
            select(&[], "latest"),
            Err(Error::NoSuchSnapshot(_))
        ));
        let two = vec![snap(0x10, "h", &["/x"]), snap(0x11, "h", &["/x"])];
        assert!(matches!(
            select(&two, "1"),
            Err(Error::AmbiguousSnapshot(_))
        ));
    }

    #[test]
    fn point_in_time_takes_the_newest_at_or_before() {
        let l = vec![
            snap(10, "h", &["/x"]),
            snap(14, "h", &["/x"]),
            snap(12, "h", &["/x"]),
        ];
        let t = |h, m| chrono::Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap();
        assert_eq!(latest_at(&l, t(13, 59)).unwrap().id, Id([12; 32]));
        assert_eq!(latest_at(&l, t(12, 0)).unwrap().id, Id([12; 32]));
        assert_eq!(latest_at(&l, t(23, 0)).unwrap().id, Id([14; 32]));
        assert!(latest_at(&l, t(9, 0)).is_err());
    }

    #[test]
    fn a_filter_narrows_latest_at_and_ids_and_says_so() {
        let mut l = vec![
            snap(10, "h", &["/etc", "/srv"]),
            snap(12, "h", &["/var/log"]),
            snap(14, "other", &["/etc"]),
            snap(16, "h", &["/home"]),
        ];
        l[0].snap.categories = vec!["critical".into(), "important".into()];
        l[1].snap.category = Some("critical".into());
        l[1].snap.job = Some("daily".into());
        let t = |h| chrono::Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0).unwrap();
        let f = |c: &[&str], p: &[&str], h: &[&str]| SnapshotFilter {
            categories: c.iter().map(|s| s.to_string()).collect(),
            paths: p.iter().map(|s| s.to_string()).collect(),
            hosts: h.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let id = |s: &SnapshotRef| s.id.0[0];
        // The newest holding the category, not the newest snapshot.
        let crit = f(&["critical"], &[], &[]);
        assert_eq!(id(choose(&l, None, None, &crit).unwrap()), 12);
        assert_eq!(id(choose(&l, None, Some(t(11)), &crit).unwrap()), 10);
        assert_eq!(
            id(choose(&l, Some("latest"), None, &f(&["important"], &[], &[])).unwrap()),
            10
        );
        // A path inside a backed-up path; a host.
        assert_eq!(
            id(choose(&l, None, None, &f(&[], &["/etc/vcd/"], &[])).unwrap()),
            14
        );
        assert_eq!(
            id(choose(&l, None, None, &f(&[], &["/etc/vcd"], &["h"])).unwrap()),
            10
        );
        assert!(!f(&[], &["/etcetera"], &[]).matches(&l[0].snap));
        // A job; nothing left; an id the filter does not allow.
        let daily = SnapshotFilter {
            jobs: vec!["daily".into()],
            ..Default::default()
        };
        assert_eq!(id(choose(&l, None, None, &daily).unwrap()), 12);
        let e = choose(&l, None, Some(t(9)), &crit).unwrap_err();
        assert_eq!(
            e.to_string(),
            Error::NoSuchSnapshot(
                "at or before 2026-11-20 09:00:00 UTC of category critical".into()
            )
            .to_string()
        );
        let e = choose(&l, Some("10"), None, &crit).unwrap_err();
        assert!(e.to_string().contains("10 of category critical"), "{e}");
        assert!(choose(&l, Some("latest"), Some(t(9)), &crit).is_err());
        assert_eq!(
            id(choose(&l, None, None, &SnapshotFilter::default()).unwrap()),
            16
        );
    }

    #[test]
    fn parent_is_the_newest_of_the_same_host_and_paths() {
        let l = vec![
            snap(10, "h", &["/b", "/a"]),
            snap(11, "h", &["/a"]),
            snap(12, "other", &["/a", "/b"]),
            snap(9, "h", &["/a", "/b"]),
        ];
        let p = find_parent(&l, "h", &["/a".into(), "/b".into()]).unwrap();
        assert_eq!(p.id, Id([10; 32]));
        assert!(find_parent(&l, "h", &["/c".into()]).is_none());
        assert!(find_parent(&l, "nobody", &["/a".into()]).is_none());
    }
}
