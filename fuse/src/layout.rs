//! The mount's virtual directories, derived from the snapshot list: the snapshot directories'
//! names, `latest`, the days (`YYYY-MM-DD`, the newest snapshot of each UTC day), and the
//! entries of `ids/`, `tags/<tag>/`, `hosts/<host>/`, `categories/<name>/` and `jobs/<name>/`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use engine::format::snapshot::SnapshotRef;
use engine::Id;

use crate::inodes::{Group, Kind};

/// What the root shows, derived from the snapshot list.
#[derive(Default)]
pub(crate) struct Listing {
    pub snaps: Vec<SnapshotRef>,
    /// Top-level name → snapshot.
    pub by_name: BTreeMap<String, Arc<SnapshotRef>>,
    /// Snapshot → its top-level name (the target of the links to it).
    name_of: HashMap<Id, String>,
    pub latest: Option<String>,
    /// `YYYY-MM-DD` → the top-level name of that UTC day's newest snapshot.
    pub days: BTreeMap<String, String>,
    /// The `snapshots/` listing this was built from.
    pub files: Vec<String>,
    pub checked: Option<Instant>,
}

fn time_name(s: &SnapshotRef) -> String {
    s.snap.time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Names for a set of snapshots shown in one directory: the time to the second, with
/// `-<short id>` only where two of them share that second.
fn names<'a>(
    snaps: impl Iterator<Item = &'a SnapshotRef> + Clone,
) -> Vec<(String, &'a SnapshotRef)> {
    let mut count: HashMap<String, usize> = HashMap::new();
    for s in snaps.clone() {
        *count.entry(time_name(s)).or_default() += 1;
    }
    snaps
        .map(|s| {
            let t = time_name(s);
            let name = if count[&t] > 1 {
                format!("{t}-{}", s.id.short())
            } else {
                t
            };
            (name, s)
        })
        .collect()
}

impl Listing {
    pub fn new(snaps: Vec<SnapshotRef>, files: Vec<String>) -> Self {
        let mut by_name = BTreeMap::new();
        let mut name_of = HashMap::new();
        for (name, s) in names(snaps.iter()) {
            name_of.insert(s.id, name.clone());
            by_name.insert(name, Arc::new(s.clone()));
        }
        // A restore's image of its target (tagged `rollback`) is not the latest of anything.
        let data = || {
            by_name.iter().filter(|(_, s)| {
                !s.snap
                    .tags
                    .iter()
                    .any(|t| t == engine::policy::select::ROLLBACK_TAG)
            })
        };
        let latest = data()
            .max_by_key(|(_, s)| (s.snap.time, s.id))
            .map(|(n, _)| n.clone());
        let mut newest: BTreeMap<String, (&Arc<SnapshotRef>, &String)> = BTreeMap::new();
        for (n, s) in data() {
            let day = s.snap.time.format("%Y-%m-%d").to_string();
            let e = newest.entry(day).or_insert((s, n));
            if (s.snap.time, s.id) > (e.0.snap.time, e.0.id) {
                *e = (s, n);
            }
        }
        let days = newest
            .into_iter()
            .map(|(d, (_, n))| (d, n.clone()))
            .collect();
        Listing {
            snaps,
            by_name,
            name_of,
            latest,
            days,
            files,
            checked: None,
        }
    }

    /// Links named within the group (so a suffix only where two of the group's snapshots share
    /// a second), pointing at the top-level names.
    fn group_links(&self, pick: impl Fn(&SnapshotRef) -> bool) -> Vec<(Vec<u8>, Kind)> {
        let mut v: Vec<(Vec<u8>, Kind)> = names(self.snaps.iter().filter(|s| pick(s)))
            .into_iter()
            .map(|(n, s)| {
                let target = format!("../../{}", self.name_of[&s.id]);
                (n.into_bytes(), Kind::Link(target.into_bytes()))
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The entries of a virtual directory (not the root's, which `root` gives): (name, kind).
    /// None for anything else.
    pub fn children(&self, kind: &Kind) -> Option<Vec<(Vec<u8>, Kind)>> {
        let valid = |s: &String| engine::format::tree::check_name(s.as_bytes()).is_ok();
        Some(match kind {
            Kind::Root => {
                let mut v: Vec<(Vec<u8>, Kind)> = self
                    .by_name
                    .iter()
                    .map(|(n, s)| (n.as_bytes().to_vec(), Kind::SnapRoot(Arc::clone(s))))
                    .collect();
                if let Some(latest) = &self.latest {
                    v.push((b"latest".to_vec(), Kind::Link(latest.as_bytes().to_vec())));
                }
                for (day, name) in &self.days {
                    v.push((
                        day.as_bytes().to_vec(),
                        Kind::Link(name.as_bytes().to_vec()),
                    ));
                }
                v.push((b"ids".to_vec(), Kind::Group(Group::Ids)));
                v.push((b"tags".to_vec(), Kind::Group(Group::Tags)));
                v.push((b"hosts".to_vec(), Kind::Group(Group::Hosts)));
                v.push((b"categories".to_vec(), Kind::Group(Group::Categories)));
                v.push((b"jobs".to_vec(), Kind::Group(Group::Jobs)));
                v
            }
            Kind::Group(Group::Ids) => self
                .by_name
                .iter()
                .map(|(n, s)| {
                    (
                        s.id.short().into_bytes(),
                        Kind::Link(format!("../{n}").into_bytes()),
                    )
                })
                .collect(),
            Kind::Group(Group::Tags) => {
                let mut tags: Vec<String> = self
                    .snaps
                    .iter()
                    .flat_map(|s| s.snap.tags.clone())
                    .collect();
                tags.sort();
                tags.dedup();
                tags.into_iter()
                    .filter(valid)
                    .map(|t| (t.clone().into_bytes(), Kind::Group(Group::Tag(t))))
                    .collect()
            }
            Kind::Group(Group::Hosts) => {
                let mut hosts: Vec<String> =
                    self.snaps.iter().map(|s| s.snap.host.clone()).collect();
                hosts.sort();
                hosts.dedup();
                hosts
                    .into_iter()
                    .filter(valid)
                    .map(|h| (h.clone().into_bytes(), Kind::Group(Group::Host(h))))
                    .collect()
            }
            Kind::Group(Group::Categories) => {
                let mut cats: Vec<String> = self
                    .snaps
                    .iter()
                    .flat_map(|s| s.snap.all_categories())
                    .map(str::to_string)
                    .collect();
                cats.sort();
                cats.dedup();
                cats.into_iter()
                    .filter(valid)
                    .map(|c| (c.clone().into_bytes(), Kind::Group(Group::Category(c))))
                    .collect()
            }
            Kind::Group(Group::Jobs) => {
                let mut jobs: Vec<String> = self
                    .snaps
                    .iter()
                    .filter_map(|s| s.snap.job.clone())
                    .collect();
                jobs.sort();
                jobs.dedup();
                jobs.into_iter()
                    .filter(valid)
                    .map(|j| (j.clone().into_bytes(), Kind::Group(Group::Job(j))))
                    .collect()
            }
            Kind::Group(Group::Tag(t)) => self.group_links(|s| s.snap.tags.contains(t)),
            Kind::Group(Group::Host(h)) => self.group_links(|s| &s.snap.host == h),
            Kind::Group(Group::Category(c)) => self.group_links(|s| s.snap.has_category(c)),
            Kind::Group(Group::Job(j)) => {
                self.group_links(|s| s.snap.job.as_deref() == Some(j.as_str()))
            }
            Kind::SnapRoot(_) | Kind::Node(..) | Kind::Link(_) => return None,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use engine::format::snapshot::{BackupType, Snapshot, Summary};

    pub(crate) fn snap(id: u8, time: &str, tags: &[&str], host: &str) -> SnapshotRef {
        SnapshotRef {
            id: Id([id; 32]),
            snap: Snapshot {
                version: 1,
                time: time.parse().unwrap(),
                host: host.into(),
                user: String::new(),
                paths: vec!["/x".into()],
                tags: tags.iter().map(|t| t.to_string()).collect(),
                category: None,
                categories: vec![],
                job: None,
                kind: BackupType::default(),
                parent: None,
                tree: Id([0; 32]),
                audit: Vec::new(),
                original: None,
                summary: Summary::default(),
            },
        }
    }

    fn names_of(v: &[(Vec<u8>, Kind)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(n, k)| {
                let t = match k {
                    Kind::Link(t) => String::from_utf8(t.clone()).unwrap(),
                    _ => String::new(),
                };
                (String::from_utf8(n.clone()).unwrap(), t)
            })
            .collect()
    }

    #[test]
    fn group_names_carry_the_id_only_when_the_group_shares_a_second() {
        let l = Listing::new(
            vec![
                snap(0xaa, "2026-01-01T00:00:00Z", &["a"], "h1"),
                snap(0xbb, "2026-01-01T00:00:00Z", &["b"], "h2"),
                snap(0xcc, "2026-01-02T00:00:00Z", &["b"], "h2"),
                snap(0xdd, "2026-01-02T00:00:00Z", &["b"], "h2"),
            ],
            vec![],
        );
        let (a, b, c, d) = (
            Id([0xaa; 32]).short(),
            Id([0xbb; 32]).short(),
            Id([0xcc; 32]).short(),
            Id([0xdd; 32]).short(),
        );
        let t1 = "2026-01-01T00:00:00Z";
        let t2 = "2026-01-02T00:00:00Z";
        assert_eq!(
            names_of(&l.children(&Kind::Group(Group::Tag("a".into()))).unwrap()),
            vec![(t1.to_string(), format!("../../{t1}-{a}"))]
        );
        assert_eq!(
            names_of(&l.children(&Kind::Group(Group::Host("h2".into()))).unwrap()),
            vec![
                (t1.to_string(), format!("../../{t1}-{b}")),
                (format!("{t2}-{c}"), format!("../../{t2}-{c}")),
                (format!("{t2}-{d}"), format!("../../{t2}-{d}")),
            ]
        );
        assert_eq!(l.latest.as_deref(), Some(format!("{t2}-{d}").as_str()));
    }
}
