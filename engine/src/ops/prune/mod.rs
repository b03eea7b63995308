//! `prune`: gives back the space of data no snapshot uses, without ever stopping a backup.
//!
//! The protocol (FORMAT.md §14) in two steps, both under a prune's lock, which lets backups
//! and readers run beside it:
//! 1. **Plan.** Mark what the snapshots use; copy the used blobs of wasteful packs to new
//!    packs (indexed before anything else changes); write a *deletion plan* naming the packs to
//!    go; then record in it the locks held at that moment. Every process that takes a lock
//!    later reads the plan and neither stores a chunk by pointing at those packs (a backup
//!    stores it again) nor reads from them when another copy exists.
//! 2. **Carry out**, once none of the recorded locks is held (in the same run when none was,
//!    else in a later prune): list the snapshots again, mark what they use, give back to the
//!    living any planned pack that holds a used blob found nowhere else (a backup that started
//!    before the plan may have pointed at it), then write index files without the others,
//!    delete the old index files, the packs, and the plan.
//!
//! A crash at any point leaves a plan that the next prune carries out or finishes.

mod mark;
mod repack;
mod survey;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::time::Duration;

use rayon::prelude::*;

use crate::backend::FileType;
use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::format::index_file::PackEntries;
use crate::format::plan::DeletionPlan;
use crate::id::Id;
use crate::policy::repack::{choose, RepackPolicy};
use crate::repo::{be, lock, Repo};

use mark::Marks;
use survey::Survey;

/// Packs no index names and temp files are left alone this long: a backup writes a pack
/// before the index file that names it, every 64 packs.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct PruneOptions {
    pub repack: RepackPolicy,
    pub dry_run: bool,
    /// See `DEFAULT_GRACE`.
    pub grace: Duration,
    pub cancel: CancelToken,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            repack: RepackPolicy::default(),
            dry_run: false,
            grace: DEFAULT_GRACE,
            cancel: CancelToken::new(),
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    pub snapshots: usize,
    /// Packs and their bytes in storage when the prune began.
    pub packs_before: usize,
    pub bytes_before: u64,
    /// Sealed bytes of blobs the snapshots use, and of those nothing uses, in packs that no
    /// plan named when the prune began.
    pub used_bytes: u64,
    pub unused_bytes: u64,
    /// Packs nothing uses, and packs repacked (their used blobs copied to new packs).
    pub packs_unused: usize,
    pub packs_repacked: usize,
    pub bytes_repacked: u64,
    pub packs_written: usize,
    /// Bytes of the packs the repack wrote. A dry run gives the copied blobs' bytes: the new
    /// packs' trailers (a few dozen bytes a blob, compressed) are not known before they exist.
    pub bytes_written: u64,
    /// Packs no index file names, older than the grace period (left by killed backups).
    pub packs_unindexed: usize,
    /// Packs and bytes deleted (or, dry run, that would be).
    pub packs_deleted: usize,
    pub bytes_deleted: u64,
    /// Packs a plan named that a snapshot written beside it turned out to use: kept.
    pub packs_kept_back: usize,
    /// Packs planned but not deleted yet, their bytes, and the locks they wait for.
    pub packs_waiting: usize,
    pub bytes_waiting: u64,
    pub waiting_for: Vec<String>,
    pub index_files_written: usize,
    pub index_files_removed: usize,
    pub temp_files_removed: u64,
    pub temp_bytes_removed: u64,
}

impl PruneReport {
    /// Pack bytes in storage after the prune (a dry run: about, see `bytes_written`).
    pub fn bytes_after(&self) -> u64 {
        (self.bytes_before + self.bytes_written).saturating_sub(self.bytes_deleted)
    }
}

/// How the unused bytes spread over the packs (`-vv`): what a smaller `--max-unused` would
/// have to repack.
fn log_waste(uses: &[crate::policy::repack::PackUse]) {
    const EDGES: [f64; 7] = [0.0, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0];
    let mut rows = [(0usize, 0u64, 0u64); 7];
    for u in uses {
        let share = u.unused as f64 / (u.used + u.unused).max(1) as f64;
        let i = EDGES.iter().rposition(|e| share >= *e).unwrap_or(0);
        rows[i].0 += 1;
        rows[i].1 += u.used;
        rows[i].2 += u.unused;
    }
    for (i, (n, used, unused)) in rows.iter().enumerate() {
        if *n > 0 {
            tracing::debug!(
                "prune: {n} packs {:.0}%+ unused: {used} bytes used, {unused} unused",
                EDGES[i] * 100.0
            );
        }
    }
}

fn phase(name: &str) {
    tracing::info!("prune: {name}");
}

/// Prunes. The caller holds a prune's lock (`lock::acquire_prune`).
pub fn prune(repo: &Repo, opts: &PruneOptions) -> Result<PruneReport> {
    let mut rep = PruneReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    if !opts.dry_run {
        remove_temp_files(repo, opts, &mut rep)?;
    }
    let mut bad = repo.sync_index()?;
    // Index files the local index absorbed earlier are read again at the end, when the index
    // is rewritten: one damaged since would stop the prune only then, after its repack and
    // plan. A hash check of each now (tens of MiB at a million blobs) refuses at the start.
    let files = repo.list(FileType::Index)?;
    let damaged: Vec<String> = files
        .par_iter()
        .filter(|(n, _)| !bad.contains(n))
        .filter_map(|(n, len)| {
            let mut buf = Vec::new();
            match repo.get_verified_into(FileType::Index, n, *len, &mut buf) {
                Ok(()) => None,
                Err(e) if e.is_not_found() => None,
                Err(_) => Some(n.clone()),
            }
        })
        .collect();
    bad.extend(damaged);
    if !bad.is_empty() {
        bad.sort();
        return Err(Error::damaged(
            "index file",
            bad.join(", "),
            format!(
                "{} index file(s) cannot be read: their packs would look unused; run `vcd repair index` first. Nothing was deleted",
                bad.len()
            ),
        ));
    }
    let mut marks = Marks::default();
    phase("mark");
    let s = Survey::take(repo, &mut marks, opts, &HashSet::new())?;
    rep.snapshots = marks.snapshots();
    rep.packs_before = s.stored.len();
    rep.bytes_before = s.stored.values().sum();
    rep.used_bytes = s.uses.iter().map(|u| u.used).sum();
    rep.unused_bytes = s.uses.iter().map(|u| u.unused).sum();
    let choice = choose(&s.uses, &opts.repack);
    log_waste(&s.uses);
    rep.packs_unused = choice.delete.len();
    rep.packs_repacked = choice.repack.len();
    rep.packs_unindexed = s.unindexed.len();
    rep.bytes_repacked = s
        .uses
        .iter()
        .filter(|u| choice.repack.contains(&u.pack))
        .map(|u| u.used)
        .sum();

    if opts.dry_run {
        // What a prune run now would delete: the plans that are ripe, and the new plan if no
        // lock stood in its way.
        let mut gone: Vec<Id> = s.delete_now.clone();
        let new: Vec<Id> = choice
            .delete
            .iter()
            .chain(&choice.repack)
            .chain(&s.unindexed)
            .copied()
            .collect();
        let live = lock::live_locks(repo)?;
        if live.is_empty() {
            gone.extend(&new);
        } else {
            rep.packs_waiting = new.len() + s.waiting.len();
            rep.bytes_waiting = new.iter().chain(&s.waiting).map(|p| s.size(p)).sum();
            rep.waiting_for = live.into_iter().map(|(_, d)| d).collect();
        }
        rep.packs_kept_back = s.kept_back.len();
        rep.bytes_written = rep.bytes_repacked;
        rep.packs_deleted = gone.len();
        rep.bytes_deleted = gone.iter().map(|p| s.size(p)).sum();
        return Ok(rep);
    }

    // Step 1: the new plan.
    let mut planned: Vec<Id> = choice.delete.clone();
    planned.extend(&s.unindexed);
    if !choice.repack.is_empty() {
        // The lookup table would grow by every copied blob while the packs are read; the
        // second look builds it again, from the records, at its exact size.
        repo.release_lookups();
        phase("repack");
        let written = repack::repack(
            repo,
            &choice.repack,
            &s.stored,
            &s.uses.iter().map(|u| (u.pack, u.used)).collect(),
            &marks,
            &s.duplicates,
            &opts.cancel,
        )?;
        rep.packs_written = written.packs;
        rep.bytes_written = written.bytes;
        rep.index_files_written += written.index_files;
        planned.extend(&choice.repack);
    }
    #[cfg(test)]
    tests::before_plan(repo);
    if !planned.is_empty() {
        phase("plan");
        let name = Id::random().to_hex();
        let mut plan = DeletionPlan {
            version: crate::format::plan::PLAN_VERSION,
            time: chrono::Utc::now(),
            host: crate::host::hostname(),
            packs: planned,
            waits_for: None,
        };
        repo.write_plan(&name, &plan)?;
        // After the plan is visible: a lock taken from now on belongs to a process that
        // reads the plan before it reads the index.
        plan.waits_for = Some(lock::live_locks(repo)?.into_iter().map(|l| l.0).collect());
        repo.write_plan(&name, &plan)?;
    }
    drop(s);

    // Step 2: carry out every plan that is ripe, this one included if nobody held a lock.
    opts.cancel.check()?;
    phase("mark");
    let repacked: HashSet<Id> = choice.repack.iter().copied().collect();
    let s = Survey::take(repo, &mut marks, opts, &repacked)?;
    rep.snapshots = marks.snapshots();
    rep.packs_kept_back = s.kept_back.len();
    rep.packs_waiting = s.waiting.len();
    rep.bytes_waiting = s.waiting.iter().map(|p| s.size(p)).sum();
    rep.waiting_for = s.blockers.clone();
    if !s.delete_now.is_empty() || !s.ripe_plans.is_empty() {
        // Nothing looks a blob up from here on, and the index rewrite needs the room.
        repo.release_lookups();
        carry_out(repo, &s, opts, &mut rep)?;
    }
    Ok(rep)
}

/// Removes the temp files (`.tmp*`) older than the grace period, but only when no other
/// command holds a lock: each writes its temp files under its lock, and a young file, or an
/// old one a command has not written to for a while, may be one it will rename into place.
/// While another lock is held none is removed (the next prune finds them). The time is taken
/// before the locks are listed, so a command that takes its lock after the listing wrote its
/// temp files after it. A lock's own temp file is written before its lock exists: those are
/// left until a lock written then would be stale.
fn remove_temp_files(repo: &Repo, opts: &PruneOptions, rep: &mut PruneReport) -> Result<()> {
    let now = std::time::SystemTime::now();
    if !lock::live_locks(repo)?.is_empty() {
        return Ok(());
    }
    let stale = crate::format::lock_file::STALE_AFTER
        .to_std()
        .expect("a positive duration");
    let before = now - opts.grace;
    let locks_before = now - opts.grace.max(stale);
    let cutoff = move |t: FileType| {
        if t == FileType::Lock {
            locks_before
        } else {
            before
        }
    };
    let (n, b) = repo
        .backend
        .remove_temp_files(&cutoff)
        .map_err(be("removing temp files", ""))?;
    rep.temp_files_removed = n;
    rep.temp_bytes_removed = b;
    Ok(())
}

/// Deletes what the ripe plans name, but the packs kept back: index files without those
/// packs first, then the old index files, the packs, and last the plans, so that a crash
/// anywhere leaves plans the next prune carries out again.
fn carry_out(repo: &Repo, s: &Survey, opts: &PruneOptions, rep: &mut PruneReport) -> Result<()> {
    let gone: HashSet<Id> = s.delete_now.iter().copied().collect();
    if !gone.is_empty() {
        phase("index");
        rewrite_index(repo, &gone, opts, rep)?;
        phase("delete");
        let deleted: Vec<u64> = s
            .delete_now
            .par_iter()
            .map(|p| {
                let name = p.to_hex();
                match repo.backend.delete(FileType::Pack, &name) {
                    Ok(()) => Ok(s.size(p)),
                    Err(e) if e.is_not_found() => Ok(0),
                    Err(e) => Err(be("deleting pack", &name)(e)),
                }
            })
            .collect::<Result<_>>()?;
        rep.packs_deleted += deleted.iter().filter(|b| **b > 0).count();
        rep.bytes_deleted += deleted.iter().sum::<u64>();
    }
    for name in &s.ripe_plans {
        repo.delete_plan(name)?;
    }
    Ok(())
}

/// New index files of a rewrite hold about this many entries: half the most a file may hold,
/// since encoding one takes about 120 bytes an entry for a moment (measured at 1M blobs).
const REWRITE_ENTRIES: usize = crate::format::index_file::MAX_INDEX_FILE_ENTRIES / 2;

/// Index files that name a pack in `gone` are replaced by files holding their other entries.
/// A few files at a time, so memory holds at most one new file's entries (`REWRITE_ENTRIES`)
/// and the files being read; an old file is deleted only once every entry it keeps is in a new file.
fn rewrite_index(
    repo: &Repo,
    gone: &HashSet<Id>,
    opts: &PruneOptions,
    rep: &mut PruneReport,
) -> Result<()> {
    let files: Vec<String> = repo
        .list(FileType::Index)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut keep: Vec<PackEntries> = Vec::new();
    let mut kept_entries = 0;
    let mut replaced: Vec<String> = Vec::new();
    let flush = |keep: &mut Vec<PackEntries>,
                 replaced: &mut Vec<String>,
                 rep: &mut PruneReport|
     -> Result<()> {
        if !keep.is_empty() {
            rep.index_files_written += repo.write_index_files(keep, false)?.len();
            keep.clear();
        }
        for name in replaced.drain(..) {
            match repo.backend.delete(FileType::Index, &name) {
                Err(e) if !e.is_not_found() => return Err(be("deleting index file", &name)(e)),
                _ => rep.index_files_removed += 1,
            }
        }
        Ok(())
    };
    for batch in files.chunks(rayon::current_num_threads().max(1) * 2) {
        opts.cancel.check()?;
        let read: Vec<(String, Vec<PackEntries>)> = batch
            .par_iter()
            .map(|n| Ok((n.clone(), repo.read_index_file(n)?)))
            .collect::<Result<_>>()?;
        for (name, packs) in read {
            if !packs.iter().any(|p| gone.contains(&p.pack)) {
                continue;
            }
            for p in packs.into_iter().filter(|p| !gone.contains(&p.pack)) {
                kept_entries += p.entries.len();
                keep.push(p);
            }
            replaced.push(name);
            if kept_entries >= REWRITE_ENTRIES {
                flush(&mut keep, &mut replaced, rep)?;
                kept_entries = 0;
            }
        }
    }
    flush(&mut keep, &mut replaced, rep)
}
