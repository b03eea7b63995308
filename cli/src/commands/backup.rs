//! `vcd backup`: backs up paths into a new snapshot, with progress (totals from a scan beside
//! it) and a summary as text or JSON.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use engine::format::snapshot::BackupType;
use engine::ops::backup::{self, BackupOptions};
use engine::ops::progress::Progress;

use crate::common::{self, human_bytes, GlobalOpts, Incomplete};
use crate::out;
use crate::output::{esc, json_time, Display, Unit};

#[derive(clap::Args)]
pub struct Args {
    /// Files and directories to back up
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Tag the snapshot (repeatable)
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Data category (critical, important, optional, ...)
    #[arg(long)]
    category: Option<String>,
    /// The configured job this backup runs for (recorded; `snapshots --job` and `forget
    /// --group-by job` use it)
    #[arg(long)]
    job: Option<String>,
    /// zstd level of the new data this backup stores (-7 to 22; default: the repository's)
    #[arg(long, value_name = "LEVEL", allow_hyphen_values = true)]
    compression: Option<i32>,
    /// Skip paths matching a glob (repeatable)
    #[arg(long = "exclude", value_name = "GLOB")]
    excludes: Vec<String>,
    /// Read exclude globs from a file, one per line
    #[arg(long = "exclude-file", value_name = "FILE")]
    exclude_files: Vec<PathBuf>,
    /// Do not cross filesystem boundaries
    #[arg(short = 'x', long)]
    one_file_system: bool,
    /// full reads every byte; incremental skips files unchanged since the parent snapshot
    #[arg(long = "type", default_value = "incremental")]
    kind: BackupType,
    /// Do everything but write to the repository
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
    /// Host name to record (default: this host)
    #[arg(long)]
    host: Option<String>,
    /// Snapshot time to record instead of now (RFC 3339 or "YYYY-MM-DD HH:MM")
    #[arg(long, hide = true)]
    time: Option<String>,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    common::refuse_no_lock(g, "vcd backup")?;
    let mut excludes = a.excludes.clone();
    for f in &a.exclude_files {
        let s = std::fs::read_to_string(f)
            .with_context(|| format!("reading exclude file {}", f.display()))?;
        excludes.extend(
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    let repo = common::open(g)?;
    let _lock = engine::repo::lock::acquire(&repo, false)?;
    let progress = Arc::new(Progress::default());
    let quiet = g.quiet || a.json;
    if !quiet {
        let (p, paths, ex) = (Arc::clone(&progress), a.paths.clone(), excludes.clone());
        std::thread::spawn(move || backup::scan(&paths, &ex, &p));
    }
    let display = Display::start("backup", Unit("files"), Arc::clone(&progress), quiet);
    let opts = BackupOptions {
        paths: a.paths,
        tags: a.tags,
        category: a.category,
        categories: vec![],
        job: a.job,
        // The trail's heads as the snapshot's anchor: without them the snapshot is still good.
        audit: engine::ops::audit::current_heads(&repo.audit_store()).unwrap_or_default(),
        kind: a.kind,
        compression: a.compression,
        excludes,
        one_file_system: a.one_file_system,
        dry_run: a.dry_run,
        host: a.host,
        parent: None,
        time: a.time.as_deref().map(common::parse_time).transpose()?,
        cancel: crate::common::cancel_token().clone(),
        release_memory: Some(crate::sys::release_memory),
    };
    if let Some(job) = &opts.job {
        common::audit_detail("job", job.clone().into());
    }
    let r = backup::backup(&repo, &opts, &progress);
    display.finish();
    let r = r?;
    if let Some(id) = r.id {
        common::audit_detail("snapshot", id.to_hex().into());
    }
    let s = &r.snapshot.summary;
    // The skipped sources decide the exit code even when the summary cannot be written.
    let printed = print_summary(g, a.json, a.dry_run, &r);
    if !s.errors.is_empty() {
        eprintln!(
            "vcd: warning: {} source path(s) could not be read; the snapshot lacks them:",
            s.errors.len()
        );
        for e in &s.errors {
            eprintln!("  {}", esc(e));
        }
        return Err(Incomplete.into());
    }
    printed
}

pub(crate) fn print_summary(
    g: &GlobalOpts,
    json: bool,
    dry_run: bool,
    r: &backup::BackupResult,
) -> Result<()> {
    let s = &r.snapshot.summary;
    if json {
        // Unreadable sources are warnings too: the snapshot was saved without them.
        let warnings: Vec<String> = r
            .warnings
            .iter()
            .cloned()
            .chain(s.errors.iter().map(|e| format!("not backed up: {e}")))
            .collect();
        let j = serde_json::json!({
            "id": r.id.map(|i| i.to_hex()),
            "time": json_time(&r.snapshot.time),
            "parent": r.snapshot.parent.map(|i| i.to_hex()),
            "type": r.snapshot.kind,
            "dry_run": dry_run,
            "summary": s,
            "warnings": warnings,
        });
        out!("{}", serde_json::to_string_pretty(&j)?)?;
    } else if !g.quiet {
        // A full backup reads every file: say how many of those read were as before.
        let reread = match s.files_reread {
            0 => String::new(),
            n => format!(" ({n} read again)"),
        };
        out!(
            "{} backup; files: {} new, {} changed, {} unchanged{reread}; {} dirs",
            match r.snapshot.kind {
                engine::format::snapshot::BackupType::Full => "full",
                engine::format::snapshot::BackupType::Incremental => "incremental",
            },
            s.files_new,
            s.files_changed,
            s.files_unchanged,
            s.dirs
        )?;
        out!(
            "read {} of {}; added {} in {} blobs; {:.2}s",
            human_bytes(s.bytes_read),
            human_bytes(s.bytes_total),
            human_bytes(s.bytes_added),
            s.blobs_added,
            s.duration_secs
        )?;
        match r.id {
            Some(id) => out!("snapshot {} saved", id.short())?,
            None => out!("dry run: nothing written")?,
        }
    }
    Ok(())
}
