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
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let _lock = common::read_lock(g, &repo)?;
    let snaps = repo.snapshots()?;
    let s1 = engine::policy::select::select(&snaps, &a.from)?;
    let s2 = engine::policy::select::select(&snaps, &a.to)?;
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
