//! `vcd rollback RID [--force]`: puts a restore's target back as it was before the restore
//! (from the image the restore took first), and records it.

use std::sync::Arc;

use anyhow::Result;
use engine::ops::progress::Progress;
use engine::ops::recovery;

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::{esc, Display, Unit};

#[derive(clap::Args)]
pub struct Args {
    /// Restoration id (a unique prefix; `vcd restores` lists them)
    rid: String,
    /// Roll back even when the target changed since the restore (those changes are lost)
    #[arg(long)]
    force: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let _lock = engine::repo::lock::acquire(&repo, false)?;
    let progress = Arc::new(Progress::default());
    let display = Display::start("rollback", Unit("files"), Arc::clone(&progress), g.quiet);
    let r = recovery::rollback_recovery(&repo, &a.rid, a.force, common::cancel_token(), &progress);
    display.finish();
    let r = r?;
    common::audit_detail("restoration", r.restoration.to_hex().into());
    if !g.quiet {
        if r.removed_target {
            out!(
                "restoration {}: rolled back: {} did not exist before the restore and was removed",
                r.restoration.short(),
                esc(&r.target)
            )?;
        } else {
            out!(
                "restoration {}: rolled back {} to its state before the restore: {} files, {} dirs \
                 put back, {} entries the restore had created removed, in {:.2}s",
                r.restoration.short(),
                esc(&r.target),
                r.result.files,
                r.result.dirs,
                r.result.deleted,
                r.duration_secs
            )?;
        }
    }
    if !r.result.errors.is_empty() {
        for e in &r.result.errors {
            eprintln!("  {}", esc(e));
        }
        anyhow::bail!(
            "{} entries could not be put back (recorded)",
            r.result.errors.len()
        );
    }
    Ok(())
}
