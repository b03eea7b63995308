//! `vcd audit [--json] [--since TIME] [--verify]`: the repository's audit trail (FORMAT.md
//! §16), one entry per operation, and its verification: an entry deleted, altered, reordered
//! or inserted, or the newest entries taken away, is reported with its position. Exit 1 when
//! the verification finds anything.

use anyhow::{bail, Result};
use engine::ops::audit::{self, Listed};

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::{esc, json_time, table};

#[derive(clap::Args)]
pub struct Args {
    /// Only entries at or after this time (RFC 3339, local "YYYY-MM-DD[ HH:MM]", "2h ago")
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Check the whole trail: every entry authentic and in its place, none missing, the newest
    /// ones this host saw and the ones the snapshots name still there
    #[arg(long)]
    verify: bool,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

fn entry_json(l: &Listed) -> serde_json::Value {
    let e = &l.entry;
    serde_json::json!({
        "id": l.name.to_hex(),
        "position": e.seq,
        "parents": e.parents.iter().map(|p| p.to_hex()).collect::<Vec<_>>(),
        "time": json_time(&e.time),
        "host": e.host,
        "user": e.user,
        "key": e.key.to_hex(),
        "op": e.op,
        "args": e.args,
        "outcome": e.outcome.as_str(),
        "error": e.error,
        "details": e.details,
    })
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    // Reading the trail is not an operation on the data: it would add to what it lists.
    let _ = common::take_audit();
    let store = repo.audit_store();
    let since = a.since.as_deref().map(common::parse_time).transpose()?;
    let v = if a.verify {
        audit::verify(&store, &repo.snapshots()?)?
    } else {
        audit::read_all(&store)?
    };
    let shown: Vec<&Listed> = v
        .entries
        .iter()
        .filter(|l| since.is_none_or(|t| l.entry.time >= t))
        .collect();
    if a.json {
        let problems: Vec<serde_json::Value> = v
            .problems
            .iter()
            .map(|p| serde_json::json!({ "position": p.seq, "what": p.what }))
            .collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "entries": shown.iter().map(|l| entry_json(l)).collect::<Vec<_>>(),
                "verified": a.verify.then_some(v.ok()),
                "problems": problems,
            }))?
        )?;
    } else {
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|l| {
                let e = &l.entry;
                vec![
                    e.seq.to_string(),
                    e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                    format!("{}@{}", e.user, e.host),
                    e.op.clone(),
                    e.outcome.as_str().to_string(),
                    e.args.join(" "),
                    e.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        for l in table(
            &[
                "#",
                "time (UTC)",
                "who",
                "operation",
                "outcome",
                "command",
                "error",
            ],
            &[true, false, false, false, false, false, false],
            &rows,
        ) {
            out!("{}", esc(&l))?;
        }
        for p in &v.problems {
            out!("{}", esc(&p.what))?;
        }
        if !g.quiet {
            out!(
                "{} entries{}",
                shown.len(),
                match (a.verify, v.ok()) {
                    (false, _) => String::new(),
                    (true, true) => ": the trail verifies".to_string(),
                    (true, false) => format!(": {} problem(s)", v.problems.len()),
                }
            )?;
        }
    }
    if !v.problems.is_empty() && (a.verify || !a.json) {
        bail!(
            "the audit trail has {} problem(s): it was altered, or entries were lost",
            v.problems.len()
        );
    }
    Ok(())
}
