//! `vcd repair index`: rebuilds the repository's index files and reports what it found.

use anyhow::Result;

use crate::common::{self, GlobalOpts};
use crate::out;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Rebuild the index from index files and pack trailers
    Index {
        /// Ignore existing index files: read every pack's trailer
        #[arg(long)]
        read_all_packs: bool,
    },
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let What::Index { read_all_packs } = a.what;
    common::refuse_no_lock(g, "vcd repair")?;
    let repo = common::open(g)?;
    let _lock = engine::repo::lock::acquire(&repo, true)?;
    let r = engine::ops::repair::repair_index(&repo, read_all_packs)?;
    for u in &r.unreadable {
        eprintln!("warning: {}", crate::output::esc(u));
    }
    if !g.quiet {
        out!(
            "index rebuilt: {} packs ({} read from their trailers), {} blobs; {} index files written, {} removed",
            r.packs, r.packs_from_trailers, r.blobs, r.index_files_written, r.index_files_removed
        )?;
        if r.packs_missing > 0 {
            out!(
                "{} packs named by old index files are gone; their entries were dropped",
                r.packs_missing
            )?;
        }
    }
    Ok(())
}
