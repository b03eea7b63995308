//! `vcd verify-restore RID`: compares a restoration's target with its snapshot within the
//! restore's scope (content by hash, type, mode, owner, times, xattrs, symlinks, hard links,
//! missing and extra entries), lists every difference and records the result. Exit 1 when the
//! target differs.

use anyhow::{bail, Result};
use engine::ops::recovery;

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::esc;

#[derive(clap::Args)]
pub struct Args {
    /// Restoration id (a unique prefix; `vcd restores` lists them)
    rid: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let _lock = common::read_lock(g, &repo)?;
    let v = recovery::verify_recovery(&repo, &a.rid, common::cancel_token())?;
    let c = &v.comparison;
    if a.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "restoration": v.restoration.to_hex(),
                "snapshot": v.snapshot.to_hex(),
                "target": v.target,
                "ok": c.ok(),
                "entries": c.entries,
                "differences": c.differences,
                "duration_secs": v.duration_secs,
            }))?
        )?;
    } else {
        for d in &c.differences {
            out!("{}", esc(d))?;
        }
        if !g.quiet {
            out!(
                "restoration {}: {} entries of snapshot {} compared with {}: {}",
                v.restoration.short(),
                c.entries,
                v.snapshot.short(),
                esc(&v.target),
                if c.ok() {
                    "identical".to_string()
                } else {
                    format!("{} difference(s)", c.differences.len())
                }
            )?;
        }
    }
    if !c.ok() {
        bail!(
            "the target differs from the snapshot in {} place(s) (recorded)",
            c.differences.len()
        );
    }
    Ok(())
}
