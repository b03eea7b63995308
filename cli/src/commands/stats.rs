use std::collections::HashSet;

use anyhow::Result;
use engine::backend::FileType;
use engine::format::blob::BlobType;
use engine::format::tree::NodeKind;

use crate::common::{self, human_bytes, GlobalOpts};
use crate::out;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let snaps = repo.snapshots()?;
    // Logical size: every file of every snapshot, as a restore of each would write it.
    let mut logical = 0u64;
    let mut files = 0u64;
    for s in &snaps {
        let mut stack = vec![s.snap.tree];
        while let Some(t) = stack.pop() {
            for n in repo.load_tree(&t)?.nodes {
                match (n.kind, n.subtree) {
                    (NodeKind::Dir, Some(sub)) => stack.push(sub),
                    (NodeKind::File, _) => {
                        logical += n.size;
                        files += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    let (mut raw, mut sealed, mut blobs, mut trees) = (0u64, 0u64, 0u64, 0u64);
    let mut seen = HashSet::new();
    for r in repo.index().iter() {
        let (id, loc) = r?;
        if !seen.insert(id) {
            continue;
        }
        if loc.entry.ty == BlobType::Tree {
            trees += 1;
        } else {
            blobs += 1;
        }
        raw += loc.entry.raw_length as u64;
        sealed += loc.entry.length as u64;
    }
    let stored: u64 = [
        FileType::Pack,
        FileType::Index,
        FileType::Snapshot,
        FileType::Key,
        FileType::Config,
    ]
    .iter()
    .map(|t| repo.list(*t).map(|l| l.iter().map(|(_, s)| s).sum::<u64>()))
    .sum::<Result<u64, _>>()?;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    if a.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "snapshots": snaps.len(),
                "files": files,
                "logical_bytes": logical,
                "unique_raw_bytes": raw,
                "stored_blob_bytes": sealed,
                "repository_bytes": stored,
                "data_blobs": blobs,
                "tree_blobs": trees,
                "dedup_ratio": ratio(logical, raw),
                "compression_ratio": ratio(raw, sealed),
                "total_ratio": ratio(logical, stored),
            }))?
        );
        return Ok(());
    }
    out!("snapshots:            {}", snaps.len());
    out!("files (all snapshots): {files}");
    out!("logical size:         {}", human_bytes(logical));
    out!(
        "unique data (raw):    {} in {blobs} data and {trees} tree blobs",
        human_bytes(raw)
    );
    out!("stored blobs:         {}", human_bytes(sealed));
    out!("repository size:      {}", human_bytes(stored));
    out!("dedup ratio:          {:.2}", ratio(logical, raw));
    out!("compression ratio:    {:.2}", ratio(raw, sealed));
    out!("total ratio:          {:.2}", ratio(logical, stored));
    Ok(())
}
