//! What a restore of data categories takes: for each category the newest snapshot holding it
//! (at or before a time), and within it the category's paths as the configuration defines
//! them. Pure: the configuration and the snapshot list in, parts out. Used by drills, the
//! recovery API and `vcd restore --category`.

use crate::error::{Error, Result};
use crate::format::snapshot::SnapshotRef;
use crate::policy::config::{self, Config};
use crate::policy::select::{self, SnapshotFilter};

/// One snapshot a restore or drill takes, and the part of it (empty includes: all of it).
#[derive(Debug, Clone)]
pub struct Part {
    pub snapshot: SnapshotRef,
    pub categories: Vec<String>,
    pub includes: Vec<String>,
}

/// The paths of `categories` (as the configuration defines them) that `snap` backed up, as
/// restore includes: a snapshot of several categories then gives back only the ones asked for.
pub fn category_includes(
    config: &Config,
    snap: &SnapshotRef,
    categories: &[String],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in categories {
        let Some(cat) = config.categories.get(name) else {
            return Err(Error::NotFound(format!(
                "category {name:?} in the configuration (it has: {})",
                config
                    .categories
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        // Only the paths this snapshot backed up (a category may have gained paths since).
        for p in &cat.paths {
            let holds = SnapshotFilter {
                paths: vec![p.clone()],
                ..Default::default()
            };
            if config::is_glob(p) || holds.matches(&snap.snap) {
                out.push(p.clone());
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Invalid(format!(
            "snapshot {} holds none of the paths of category {}",
            snap.id.short(),
            categories.join(", ")
        )));
    }
    Ok(out)
}

/// What a restore (or drill) of `categories` takes: for each category, the newest snapshot
/// (within `filter`, at or before `at` when given) that holds it, restricted to the
/// category's paths; categories held by the same snapshot share one part. Without a
/// configuration, or without categories, the newest such snapshot, whole. Pure.
pub fn plan(
    config: Option<&Config>,
    snaps: &[SnapshotRef],
    filter: &SnapshotFilter,
    categories: &[String],
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<Part>> {
    let Some(config) = config.filter(|_| !categories.is_empty()) else {
        let s = select::choose(snaps, None, at, filter)?;
        return Ok(vec![Part {
            snapshot: s.clone(),
            categories: Vec::new(),
            includes: Vec::new(),
        }]);
    };
    let mut parts: Vec<Part> = Vec::new();
    for cat in categories {
        let f = SnapshotFilter {
            categories: vec![cat.clone()],
            ..filter.clone()
        };
        let s = select::choose(snaps, None, at, &f).map_err(|_| {
            Error::NoSuchSnapshot(format!(
                "holding category {cat}{} (a snapshot records its categories when `vcd run` or \
                 the daemon makes it)",
                filter.describe()
            ))
        })?;
        let includes = category_includes(config, s, std::slice::from_ref(cat))?;
        match parts.iter_mut().find(|p| p.snapshot.id == s.id) {
            Some(p) => {
                p.categories.push(cat.clone());
                p.includes.extend(includes);
            }
            None => parts.push(Part {
                snapshot: s.clone(),
                categories: vec![cat.clone()],
                includes,
            }),
        }
    }
    Ok(parts)
}
