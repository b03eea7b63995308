//! Choosing a snapshot the same way in every command that takes one: `latest`, an id prefix
//! or `--at TIME`, within `--host`, `--tag`, `--path`, `--category` and `--job`, and a line on
//! stderr that says which snapshot was chosen and why.

use anyhow::Result;
use engine::format::snapshot::SnapshotRef;
use engine::policy::select::{self, SnapshotFilter};
use engine::policy::when::When;

use crate::common::GlobalOpts;
use crate::output::esc;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Choose among snapshots from this host (repeatable: any of them)
    #[arg(long = "host", value_name = "H")]
    hosts: Vec<String>,
    /// Choose among snapshots with this tag (repeatable)
    #[arg(long = "tag", value_name = "T")]
    tags: Vec<String>,
    /// Choose among snapshots that backed up this path, or one above it (repeatable)
    #[arg(long = "path", value_name = "P")]
    paths: Vec<String>,
    /// Choose among snapshots holding this data category (repeatable)
    #[arg(long = "category", value_name = "C")]
    categories: Vec<String>,
    /// Choose among snapshots of this configured job (repeatable)
    #[arg(long = "job", value_name = "J")]
    jobs: Vec<String>,
}

impl FilterArgs {
    pub fn filter(&self) -> SnapshotFilter {
        SnapshotFilter {
            hosts: self.hosts.clone(),
            tags: self.tags.clone(),
            paths: self.paths.clone(),
            categories: self.categories.clone(),
            jobs: self.jobs.clone(),
        }
    }
}

/// The snapshot `spec` (or `latest`) or `at` names within `f`, reported on stderr unless the
/// user named it by its whole id or asked for quiet.
pub fn choose<'a>(
    g: &GlobalOpts,
    snaps: &'a [SnapshotRef],
    spec: Option<&str>,
    at: Option<&str>,
    f: &FilterArgs,
) -> Result<&'a SnapshotRef> {
    let when = at.map(crate::common::parse_when).transpose()?;
    choose_at(g, snaps, spec, when, f)
}

/// `choose` with the time already read (a command that also records it reads it once).
pub fn choose_at<'a>(
    g: &GlobalOpts,
    snaps: &'a [SnapshotRef],
    spec: Option<&str>,
    when: Option<When>,
    f: &FilterArgs,
) -> Result<&'a SnapshotRef> {
    let filter = f.filter();
    let s = select::choose(snaps, spec, when.map(|w| w.utc), &filter)?;
    let whole_id = spec.is_some_and(|x| x.len() == 64);
    if !g.quiet && !whole_id {
        eprintln!("vcd: using {}", esc(&describe(s, spec, when, &filter)));
    }
    Ok(s)
}

/// `snapshot 1a2b3c4d of 2026-11-24 02:00:00 UTC (host h, paths /etc /srv), the newest at or
/// before 2026-11-24 23:59:59 local time (22:59:59 UTC) of category critical`.
pub fn describe(
    s: &SnapshotRef,
    spec: Option<&str>,
    when: Option<When>,
    f: &SnapshotFilter,
) -> String {
    let why = match (spec, when) {
        (_, Some(w)) => {
            let local = w.utc.with_timezone(&chrono::Local);
            if w.local {
                format!(
                    "the newest at or before {} local time ({} UTC)",
                    local.format("%Y-%m-%d %H:%M:%S"),
                    w.utc.format("%Y-%m-%d %H:%M:%S")
                )
            } else {
                format!(
                    "the newest at or before {} UTC",
                    w.utc.format("%Y-%m-%d %H:%M:%S")
                )
            }
        }
        (None | Some("latest"), None) => "the newest".to_string(),
        (Some(_), None) => "by id".to_string(),
    };
    format!(
        "snapshot {} of {} (host {}, paths {}), {why}{}",
        s.id.short(),
        s.snap.time.format("%Y-%m-%d %H:%M:%S UTC"),
        s.snap.host,
        s.snap.paths.join(" "),
        f.describe()
    )
}
