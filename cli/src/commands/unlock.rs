//! `vcd unlock`: removes stale locks (or all of them).

use anyhow::Result;

use crate::common::{self, GlobalOpts};
use crate::out;

#[derive(clap::Args)]
pub struct Args {
    /// Remove every lock, not only stale ones (make sure no vcd is running)
    #[arg(long)]
    remove_all: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    common::refuse_no_lock(g, "vcd unlock")?;
    let repo = common::open(g)?;
    let n = engine::repo::lock::unlock(&repo, a.remove_all)?;
    if !g.quiet {
        out!("removed {n} lock(s)")?;
    }
    Ok(())
}
