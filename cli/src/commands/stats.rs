//! `vcd stats`: prints the repository's sizes and ratios (engine::ops::stats), as a table or
//! JSON.

use anyhow::Result;

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
    let _lock = common::read_lock(g, &repo)?;
    let s = engine::ops::stats::stats(&repo, common::cancel_token())?;
    if a.json {
        return out!("{}", serde_json::to_string_pretty(&s)?);
    }
    let rows = [
        ("snapshots", s.snapshots.to_string()),
        ("files (all snapshots)", s.files.to_string()),
        ("logical size", human_bytes(s.logical_bytes)),
        (
            "unique data (raw)",
            format!(
                "{} in {} data and {} tree blobs",
                human_bytes(s.unique_raw_bytes),
                s.data_blobs,
                s.tree_blobs
            ),
        ),
        ("stored blobs", human_bytes(s.stored_blob_bytes)),
        ("repository size", human_bytes(s.repository_bytes)),
        ("dedup ratio", format!("{:.2}", s.dedup_ratio)),
        ("compression ratio", format!("{:.2}", s.compression_ratio)),
        ("total ratio", format!("{:.2}", s.total_ratio)),
    ];
    let w = rows.iter().map(|(l, _)| l.len() + 1).max().unwrap_or(0);
    for (label, value) in rows {
        out!("{:<w$} {value}", format!("{label}:"))?;
    }
    Ok(())
}
