//! `vcd check`: verifies the repository (structure, and with --read-data the packs' bytes) and
//! reports what it found.

use std::sync::Arc;

use anyhow::{bail, Result};
use engine::ops::check::{self, CheckOptions};
use engine::ops::progress::Progress;

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::{esc, Display, Unit};

#[derive(clap::Args)]
pub struct Args {
    /// Read, decrypt and hash every blob
    #[arg(long)]
    read_data: bool,
    /// Read only this share of packs, e.g. 10%
    #[arg(long, value_name = "N%")]
    read_data_subset: Option<String>,
    /// Print the result as JSON (`ok`, `snapshots`, `packs`, `packs_read`, `blobs_read`,
    /// `errors`, `info`)
    #[arg(long)]
    json: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let subset = match &a.read_data_subset {
        None => None,
        Some(s) => {
            let n: f64 = s
                .trim_end_matches('%')
                .parse()
                .map_err(|_| anyhow::anyhow!("--read-data-subset wants a percentage like 10%"))?;
            if !(0.0..=100.0).contains(&n) {
                bail!("--read-data-subset must be between 0% and 100%");
            }
            Some(n)
        }
    };
    let repo = common::open(g)?;
    let _lock = common::read_lock(g, &repo)?;
    let progress = Arc::new(Progress::default());
    let display = Display::start(
        "check",
        Unit("packs"),
        Arc::clone(&progress),
        g.quiet || a.json,
    );
    let r = check::check(
        &repo,
        &CheckOptions {
            read_data: a.read_data || subset.is_some(),
            subset_percent: subset,
            cancel: crate::common::cancel_token().clone(),
        },
        &progress,
    );
    display.finish();
    let r = r?;
    if a.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": r.ok(),
                "snapshots": r.snapshots,
                "packs": r.packs,
                "packs_read": r.packs_read,
                "blobs_read": r.blobs_read,
                "errors": r.errors,
                "info": r.info,
            }))?
        )?;
        if !r.ok() {
            bail!("repository has {} error(s)", r.errors.len());
        }
        return Ok(());
    }
    for i in &r.info {
        eprintln!("info: {}", esc(i));
    }
    for e in &r.errors {
        eprintln!("error: {}", esc(e));
    }
    // The verdict does not depend on stdout: a damaged repository fails even when the
    // summary cannot be written.
    let printed = if g.quiet {
        Ok(())
    } else {
        out!(
            "checked {} snapshots, {} packs{}",
            r.snapshots,
            r.packs,
            if a.read_data || subset.is_some() {
                format!("; read {} packs, {} blobs", r.packs_read, r.blobs_read)
            } else {
                String::new()
            }
        )
    };
    if !r.ok() {
        bail!("repository has {} error(s)", r.errors.len());
    }
    printed?;
    if !g.quiet {
        out!("no errors found")?;
    }
    Ok(())
}
