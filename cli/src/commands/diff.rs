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
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let _lock = common::read_lock(g, &repo)?;
    let snaps = repo.snapshots()?;
    let s1 = crate::choose::choose(g, &snaps, Some(&a.from), None, &a.filter)?;
    let s2 = crate::choose::choose(g, &snaps, Some(&a.to), None, &a.filter)?;
    let c = engine::ops::diff::diff(&repo, &s1.snap.tree, &s2.snap.tree, |e| {
        out!("{}    {}", e.change.mark(), esc(&e.path))
    })?;
    out!(
        "\n{} added, {} removed, {} modified",
        c.added,
        c.removed,
        c.modified
    )
}
