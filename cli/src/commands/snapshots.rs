//! `vcd snapshots`: lists the snapshots (optionally by tag or host) as a table or JSON.

use anyhow::Result;

use crate::common::{self, human_bytes, GlobalOpts};
use crate::out;
use crate::output::{esc, set_json_time, table};

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
    /// Only snapshots of this configured job
    #[arg(long)]
    job: Option<String>,
    /// Only snapshots of this data category
    #[arg(long)]
    category: Option<String>,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let snaps: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|s| a.tag.as_ref().is_none_or(|t| s.snap.tags.contains(t)))
        .filter(|s| a.host.as_ref().is_none_or(|h| &s.snap.host == h))
        .filter(|s| a.job.is_none() || s.snap.job == a.job)
        .filter(|s| a.category.as_ref().is_none_or(|c| s.snap.has_category(c)))
        .collect();
    if a.json {
        let v: Vec<serde_json::Value> = snaps
            .iter()
            .map(|s| {
                let mut o = serde_json::to_value(&s.snap).expect("snapshots serialise");
                o["id"] = s.id.to_hex().into();
                o["short_id"] = s.id.short().into();
                set_json_time(&mut o, "time", &s.snap.time);
                o
            })
            .collect();
        return out!("{}", serde_json::to_string_pretty(&v)?);
    }
    let rows: Vec<Vec<String>> = snaps
        .iter()
        .map(|s| {
            vec![
                s.id.short(),
                s.snap.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                esc(&s.snap.host).into_owned(),
                format!("{:?}", s.snap.kind).to_lowercase(),
                esc(&s.snap.all_categories().join(",")).into_owned(),
                esc(s.snap.job.as_deref().unwrap_or("")).into_owned(),
                esc(&s.snap.tags.join(",")).into_owned(),
                human_bytes(s.snap.summary.bytes_total),
                esc(&s.snap.paths.join(" ")).into_owned(),
            ]
        })
        .collect();
    let header = [
        "id",
        "time (UTC)",
        "host",
        "type",
        "category",
        "job",
        "tags",
        "size",
        "paths",
    ];
    let right = [false, false, false, false, false, false, false, true, false];
    for line in table(&header, &right, &rows) {
        out!("{line}")?;
    }
    out!("{} snapshots", snaps.len())
}
