use anyhow::Result;

use crate::common::{self, human_bytes, GlobalOpts};
use crate::out;

#[derive(clap::Args)]
pub struct Args {
    /// Print a JSON array
    #[arg(long)]
    json: bool,
    /// Only snapshots with this tag
    #[arg(long)]
    tag: Option<String>,
    /// Only snapshots from this host
    #[arg(long)]
    host: Option<String>,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let snaps: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|s| a.tag.as_ref().is_none_or(|t| s.snap.tags.contains(t)))
        .filter(|s| a.host.as_ref().is_none_or(|h| &s.snap.host == h))
        .collect();
    if a.json {
        let v: Vec<serde_json::Value> = snaps
            .iter()
            .map(|s| {
                let mut o = serde_json::to_value(&s.snap).expect("snapshots serialise");
                o["id"] = s.id.to_hex().into();
                o["short_id"] = s.id.short().into();
                o["time"] = s
                    .snap
                    .time
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    .into();
                o
            })
            .collect();
        out!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    out!(
        "{:<8}  {:<19}  {:<12}  {:<11}  {:<10}  {:>10}  paths",
        "id",
        "time (UTC)",
        "host",
        "type",
        "tags",
        "size"
    );
    for s in &snaps {
        out!(
            "{:<8}  {:<19}  {:<12}  {:<11}  {:<10}  {:>10}  {}",
            s.id.short(),
            s.snap.time.format("%Y-%m-%d %H:%M:%S"),
            s.snap.host,
            format!("{:?}", s.snap.kind).to_lowercase(),
            s.snap.tags.join(","),
            human_bytes(s.snap.summary.bytes_total),
            s.snap.paths.join(" ")
        );
    }
    out!("{} snapshots", snaps.len());
    Ok(())
}
