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
