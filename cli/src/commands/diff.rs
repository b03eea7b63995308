//! `vcd diff`: prints what changed between two snapshots (engine::ops::diff) and the counts.

use anyhow::Result;

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::esc;

#[derive(clap::Args)]
pub struct Args {
    /// Older snapshot
    from: String,
    /// Newer snapshot
    to: String,
    #[command(flatten)]
    filter: crate::choose::FilterArgs,
    /// JSON Lines: one `{"type":"change","change":"added|removed|modified|metadata","path":…}`
    /// per change, then `{"type":"summary","added":…,"removed":…,"modified":…}`
    #[arg(long)]
    json: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let _lock = common::read_lock(g, &repo)?;
    let snaps = repo.snapshots()?;
    let s1 = crate::choose::choose(g, &snaps, Some(&a.from), None, &a.filter)?;
    let s2 = crate::choose::choose(g, &snaps, Some(&a.to), None, &a.filter)?;
    let c = engine::ops::diff::diff(&repo, &s1.snap.tree, &s2.snap.tree, |e| {
        if a.json {
            let change = serde_json::to_value(e.change)?;
            out!(
                "{}",
                serde_json::json!({ "type": "change", "change": change, "path": e.path })
            )
        } else {
            out!("{}    {}", e.change.mark(), esc(&e.path))
        }
    })?;
    if a.json {
        return out!(
            "{}",
            serde_json::json!({
                "type": "summary",
                "from": s1.id.to_hex(),
                "to": s2.id.to_hex(),
                "added": c.added,
                "removed": c.removed,
                "modified": c.modified,
            })
        );
    }
    out!(
        "\n{} added, {} removed, {} modified",
        c.added,
        c.removed,
        c.modified
    )
}
