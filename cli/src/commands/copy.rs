//! `vcd copy`: copies snapshots from another repository (`--from-repo`) into this one, storing
//! only the data this one lacks, encrypted with this one's keys. Snapshots copied before are
//! skipped.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use engine::ops::copy::{self, CopyOptions};
use engine::ops::progress::Progress;

use crate::choose::FilterArgs;
use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::{Display, Unit};

#[derive(clap::Args)]
pub struct Args {
    /// Snapshots to copy (ids or prefixes, or `latest`); default: every snapshot FILTER selects
    snapshots: Vec<String>,
    /// The repository to copy from (same forms as --repo)
    #[arg(long, value_name = "URL")]
    from_repo: PathBuf,
    /// The source repository's password file (default: this repository's password source)
    #[arg(long, value_name = "FILE", conflicts_with = "from_password_command")]
    from_password_file: Option<PathBuf>,
    /// A command that prints the source repository's password
    #[arg(long, value_name = "COMMAND")]
    from_password_command: Option<String>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Print the result as JSON (`copied`: [[source, copy]…], `skipped`, `bytes_read`,
    /// `bytes_added`, `blobs_added`)
    #[arg(long)]
    json: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    common::refuse_no_lock(g, "vcd copy")?;
    // The source first: the command's audit entry goes to the repository opened last, the
    // one written to.
    let mut sg = g.clone();
    sg.repo = Some(a.from_repo.clone());
    let src = match (&a.from_password_file, &a.from_password_command) {
        (Some(f), _) => {
            sg.password_file = Some(f.clone());
            common::open(&sg)?
        }
        (None, Some(cmd)) => {
            let pw = common::password_command(cmd, "--from-password-command")?;
            common::open_with(&sg, &pw)?
        }
        (None, None) => common::open(&sg)?,
    };
    let _src_lock = common::read_lock(&sg, &src)?;
    let dst = common::open(g)?;
    let _dst_lock = engine::repo::lock::acquire(&dst, false)?;

    let all = src.snapshots()?;
    let filter = a.filter.filter();
    let mut which = Vec::new();
    if a.snapshots.is_empty() {
        which.extend(all.iter().filter(|s| filter.matches(&s.snap)).cloned());
    } else {
        for spec in &a.snapshots {
            let s = crate::choose::choose(g, &all, Some(spec), None, &a.filter)?;
            if !which
                .iter()
                .any(|w: &engine::format::snapshot::SnapshotRef| w.id == s.id)
            {
                which.push(s.clone());
            }
        }
    }
    if which.is_empty() {
        bail!(
            "no snapshot of {} to copy",
            sg.repo.as_ref().unwrap().display()
        );
    }
    which.sort_by_key(|s| s.snap.time);

    let progress = Arc::new(Progress::default());
    let display = Display::start(
        "copy",
        Unit("files"),
        Arc::clone(&progress),
        g.quiet || a.json,
    );
    let r = copy::copy(
        &src,
        &dst,
        &which,
        &CopyOptions {
            cancel: common::cancel_token().clone(),
        },
        &progress,
    );
    display.finish();
    let r = r?;
    if a.json {
        out!("{}", serde_json::to_string_pretty(&r)?)?;
        return Ok(());
    }
    if !g.quiet {
        for (from, to) in &r.copied {
            out!("copied snapshot {} as {}", from.short(), to.short())?;
        }
        for s in &r.skipped {
            out!("skipped snapshot {}: already here", s.short())?;
        }
        out!(
            "{} copied, {} skipped; read {} from the source, stored {} in {} new blobs",
            r.copied.len(),
            r.skipped.len(),
            common::human_bytes(r.bytes_read),
            common::human_bytes(r.bytes_added),
            r.blobs_added
        )?;
    }
    Ok(())
}
