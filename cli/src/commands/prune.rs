//! `vcd prune`: deletes the packs no snapshot needs and repacks wasteful ones
//! (engine::ops::prune), beside running backups; prints what it did, or with `--dry-run` what
//! it would do, as text or JSON.

use anyhow::{bail, Context, Result};

use crate::common::{self, human_bytes, GlobalOpts};
use crate::out;
use engine::ops::prune::{PruneOptions, PruneReport};
use engine::policy::repack::RepackPolicy;

#[derive(clap::Args, Clone)]
pub struct PruneFlags {
    /// Unused space tolerated, as a share of the used space: a percentage ("5%") or
    /// "unlimited" (only wholly unused packs are deleted, nothing is repacked). A pack more
    /// than twice that unused is repacked too
    #[arg(long, default_value = "5%", value_name = "PERCENT")]
    pub max_unused: String,
    /// Copy at most this much while repacking (e.g. 500M, 2G); default: no bound
    #[arg(long, value_name = "SIZE")]
    pub max_repack_size: Option<String>,
    /// Leave packs that no index file names, and temp files, until they are this old (they
    /// may belong to a backup still running; temp files are left alone too while another
    /// command holds a lock): e.g. 1h, 30m, 0s
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub grace: String,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: PruneFlags,
    /// Show what would be deleted and repacked; change nothing
    #[arg(long, short = 'n')]
    dry_run: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    common::refuse_no_lock(g, "vcd prune")?;
    let opts = options(&a.flags, a.dry_run)?;
    let repo = common::open(g)?;
    run_on(g, &repo, &opts, a.json)
}

/// Prunes an open repository under a prune's lock and prints the report.
pub fn run_on(
    g: &GlobalOpts,
    repo: &engine::repo::Repo,
    opts: &PruneOptions,
    json: bool,
) -> Result<()> {
    let r = prune_locked(repo, opts)?;
    if json {
        return out!("{}", serde_json::to_string_pretty(&to_json(&r)?)?);
    }
    if !g.quiet {
        print(&r)?;
    }
    Ok(())
}

/// Takes a prune's lock and prunes (also for `vcd forget --prune`).
pub fn prune_locked(repo: &engine::repo::Repo, opts: &PruneOptions) -> Result<PruneReport> {
    let _lock = engine::repo::lock::acquire_prune(repo)?;
    Ok(engine::ops::prune::prune(repo, opts)?)
}

pub fn to_json(r: &PruneReport) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r)?;
    v["bytes_after"] = r.bytes_after().into();
    Ok(v)
}

pub fn options(f: &PruneFlags, dry_run: bool) -> Result<PruneOptions> {
    let max_unused = match f.max_unused.trim() {
        "unlimited" => 1.0,
        s => {
            let n = s
                .strip_suffix('%')
                .context("--max-unused takes a percentage such as 5% or \"unlimited\"")?;
            let p: f64 = n
                .trim()
                .parse()
                .with_context(|| format!("--max-unused {s:?}: not a percentage"))?;
            if !(0.0..100.0).contains(&p) {
                bail!("--max-unused {s:?}: between 0% and 100% (or \"unlimited\")");
            }
            p / 100.0
        }
    };
    let max_repack_bytes = f
        .max_repack_size
        .as_deref()
        .map(parse_size)
        .transpose()
        .context("--max-repack-size")?;
    Ok(PruneOptions {
        repack: RepackPolicy {
            max_unused,
            max_repack_bytes,
        },
        dry_run,
        grace: parse_duration(&f.grace).context("--grace")?,
        cancel: common::cancel_token().clone(),
    })
}

fn parse_size(s: &str) -> Result<u64> {
    engine::policy::config::size(s).map_err(anyhow::Error::msg)
}

fn parse_duration(s: &str) -> Result<std::time::Duration> {
    let s = s.trim();
    let i = s
        .find(|c: char| !c.is_ascii_digit())
        .with_context(|| format!("{s:?}: give a unit (s, m, h or d)"))?;
    let n: u64 = s[..i]
        .parse()
        .with_context(|| format!("{s:?}: not a duration"))?;
    let secs = match &s[i..] {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        u => bail!("{s:?}: unknown unit {u:?} (s, m, h or d)"),
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(secs)))
}

pub fn print(r: &PruneReport) -> Result<()> {
    let would = if r.dry_run { "would be " } else { "" };
    out!(
        "{} snapshots; {} packs, {} in storage; {} used, {} unused",
        r.snapshots,
        r.packs_before,
        human_bytes(r.bytes_before),
        human_bytes(r.used_bytes),
        human_bytes(r.unused_bytes)
    )?;
    out!(
        "{} packs unused, {} repacked ({} copied into {} new packs), {} that no index names",
        r.packs_unused,
        r.packs_repacked,
        human_bytes(r.bytes_repacked),
        r.packs_written,
        r.packs_unindexed
    )?;
    out!(
        "{} packs {would}deleted: {} reclaimed, {} left",
        r.packs_deleted,
        human_bytes(r.bytes_deleted),
        human_bytes(r.bytes_after())
    )?;
    if r.packs_kept_back > 0 {
        out!(
            "{} planned packs kept: snapshots written beside the prune that planned them use them",
            r.packs_kept_back
        )?;
    }
    if r.packs_waiting > 0 {
        out!(
            "{} packs ({}) await deletion until these finish (run prune again later):",
            r.packs_waiting,
            human_bytes(r.bytes_waiting)
        )?;
        for w in &r.waiting_for {
            out!("  {}", crate::output::esc(w))?;
        }
    }
    if r.temp_files_removed > 0 {
        out!(
            "{} temp files removed ({})",
            r.temp_files_removed,
            human_bytes(r.temp_bytes_removed)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("500M").unwrap(), 500 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("7").unwrap(), 7);
        assert!(parse_size("5X").is_err());
        assert_eq!(parse_duration("0s").unwrap().as_secs(), 0);
        assert_eq!(parse_duration("2h").unwrap().as_secs(), 7200);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1w").is_err());
    }
}
