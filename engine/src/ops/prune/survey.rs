//! One look at the repository for a prune: which plans may be carried out, what the snapshots
//! use, how much of each pack that is, and which packs nothing names.

use std::collections::{HashMap, HashSet};

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::id::Id;
use crate::policy::repack::PackUse;
use crate::repo::{lock, Repo};

use super::mark::Marks;
use super::PruneOptions;

pub(super) struct Survey {
    /// Every pack in storage, with its size.
    pub(super) stored: HashMap<Id, u64>,
    /// How much of each indexed pack no plan names is used.
    pub(super) uses: Vec<PackUse>,
    /// Copies of used blobs (pack, blob) in packs no plan names that are not the copy the
    /// index gives: counted unused in `uses`, and not copied by a repack.
    pub(super) duplicates: HashSet<(Id, Id)>,
    /// Stored packs that no index file and no plan names, older than the grace period.
    pub(super) unindexed: Vec<Id>,
    /// Packs of ripe plans to delete now.
    pub(super) delete_now: Vec<Id>,
    /// Packs of ripe plans that a snapshot uses after all: they stay.
    pub(super) kept_back: Vec<Id>,
    /// Packs of plans still waiting for locks, and those locks.
    pub(super) waiting: Vec<Id>,
    pub(super) blockers: Vec<String>,
    /// Names of the ripe plans.
    pub(super) ripe_plans: Vec<String>,
}

impl Survey {
    pub(super) fn size(&self, p: &Id) -> u64 {
        self.stored.get(p).copied().unwrap_or(0)
    }

    /// Looks. The order matters: the locks are listed before the snapshots, so that a process
    /// whose lock is gone has written its snapshot before the listing; the snapshots before
    /// the index files, and those before the packs (FORMAT.md §12).
    ///
    /// `repacked`: packs this run's repack copied from, with the marks it copied by. Their
    /// blobs those marks held are in a pack that stays (the copy, or the copy the index gives
    /// that `duplicates` spared): only blobs marked since need looking up.
    pub(super) fn take(
        repo: &Repo,
        marks: &mut Marks,
        opts: &PruneOptions,
        repacked: &HashSet<Id>,
    ) -> Result<Survey> {
        let live = lock::live_locks(repo)?;
        let live_names: Vec<String> = live.iter().map(|l| l.0.clone()).collect();
        let mut plans = repo.plans()?;
        for (name, plan) in plans.iter_mut() {
            if plan.waits_for.is_none() && !opts.dry_run {
                // Its prune stopped before recording the locks. The plan has been visible
                // since; whoever held a lock before it and still runs holds one now.
                plan.waits_for = Some(live_names.clone());
                repo.write_plan(name, plan)?;
            }
        }
        let (ripe, unripe): (Vec<_>, Vec<_>) =
            plans.into_iter().partition(|(_, p)| p.is_ripe(&live_names));
        let ripe_packs: HashSet<Id> = ripe.iter().flat_map(|(_, p)| p.packs.clone()).collect();
        let unripe_packs: HashSet<Id> = unripe.iter().flat_map(|(_, p)| p.packs.clone()).collect();
        let mut blockers: Vec<String> = unripe
            .iter()
            .flat_map(|(_, p)| p.blockers(&live))
            .map(str::to_string)
            .collect();
        blockers.sort();
        blockers.dedup();

        let snaps = repo.snapshots()?;
        marks.mark(repo, &snaps, &opts.cancel)?;
        let stored: HashMap<Id, u64> = repo
            .list(FileType::Pack)?
            .into_iter()
            .filter_map(|(n, s)| Some((n.parse().ok()?, s)))
            .collect();

        let mut uses = Vec::new();
        let mut indexed: HashSet<Id> = HashSet::new();
        let mut missing: Vec<Id> = Vec::new();
        let mut kept_back: HashSet<Id> = HashSet::new();
        // Used blobs met in a stored pack after one with the same id prefix: maybe stored twice.
        let mut twice: HashSet<Id> = HashSet::new();
        for r in repo.indexed_packs() {
            let (pack, entries) = r?;
            indexed.insert(pack);
            let stored_here = stored.contains_key(&pack);
            let planned = ripe_packs.contains(&pack) || unripe_packs.contains(&pack);
            let mut used = 0;
            let mut unused = 0;
            for e in &entries {
                match marks.find(&e.id) {
                    Some(i) => {
                        // Only copies in packs that stay count as duplicates: the copies a
                        // repack just made of a planned pack's blobs are not (and would be
                        // every repacked blob, looked up again one by one).
                        if stored_here && marks.set_found(i, !planned) {
                            twice.insert(e.id);
                        }
                        used += e.length as u64;
                    }
                    None => unused += e.length as u64,
                }
            }
            if ripe_packs.contains(&pack) {
                // A used blob of a ripe plan's pack must be held by a pack that stays. The
                // index's lookup prefers packs no plan names, so a location in a ripe pack
                // means there is none (or only in another planned one: kept back too, which
                // is safe).
                let copied = repacked.contains(&pack);
                for e in entries
                    .iter()
                    .filter(|e| (!copied || marks.is_new(&e.id)) && marks.is_used(&e.id))
                {
                    let covered = repo.lookup_opt(&e.id)?.is_some_and(|l| {
                        !ripe_packs.contains(&l.pack) && stored.contains_key(&l.pack)
                    });
                    if !covered {
                        kept_back.insert(pack);
                        break;
                    }
                }
            } else if unripe_packs.contains(&pack) {
            } else if !stored_here {
                missing.push(pack);
            } else {
                uses.push(PackUse {
                    pack,
                    size: stored[&pack],
                    used,
                    unused,
                });
            }
        }
        if !missing.is_empty() {
            return Err(Error::damaged(
                "pack",
                missing[0].to_hex(),
                format!(
                    "{} pack(s) the index names are not in storage; run `vcd check`, then `vcd repair index`. Nothing was deleted",
                    missing.len()
                ),
            ));
        }
        let duplicates = duplicates(repo, &mut uses, &twice)?;
        let lost = marks.not_found();
        if lost > 0 {
            return Err(Error::damaged(
                "repository",
                "index",
                format!("{lost} blob(s) that snapshots use are in no stored pack the index names; run `vcd check`. Nothing was deleted"),
            ));
        }

        let mut delete_now: Vec<Id> = ripe_packs
            .iter()
            .filter(|p| !kept_back.contains(p) && stored.contains_key(p))
            .copied()
            .collect();
        delete_now.sort();

        let cutoff = std::time::SystemTime::now() - opts.grace;
        let mut unindexed = Vec::new();
        for p in stored.keys() {
            if indexed.contains(p) || ripe_packs.contains(p) || unripe_packs.contains(p) {
                continue;
            }
            let old = match repo.backend.modified(FileType::Pack, &p.to_hex()) {
                Ok(Some(t)) => t < cutoff,
                // No time to go by: only when no grace period is asked for.
                Ok(None) => opts.grace.is_zero(),
                Err(e) if e.is_not_found() => false,
                Err(e) => return Err(crate::repo::be("probing pack", &p.to_hex())(e)),
            };
            if old {
                unindexed.push(*p);
            }
        }
        unindexed.sort();

        Ok(Survey {
            uses,
            duplicates,
            unindexed,
            delete_now,
            kept_back: kept_back.into_iter().collect(),
            waiting: unripe_packs
                .into_iter()
                .filter(|p| stored.contains_key(p))
                .collect(),
            blockers,
            ripe_plans: ripe.into_iter().map(|(n, _)| n).collect(),
            stored,
        })
    }
}

/// A used blob stored in more than one pack no plan names (two backups stored the same new
/// chunk at once; a backup stored again a chunk that only planned packs held, and one of them
/// was kept back; a prune was killed after its repack's index files were written) is counted
/// used in the pack the index gives for it, and unused in the others, so that a repack or a
/// deletion gives those copies back. Decided on the whole id: the index's lookup prefers
/// packs no plan names, so the copy it gives is in one of `uses`, counted used there. `twice`
/// holds every blob met in a second pack (by prefix, so some are not duplicates at all): only
/// their entries are looked at again.
fn duplicates(repo: &Repo, uses: &mut [PackUse], twice: &HashSet<Id>) -> Result<HashSet<(Id, Id)>> {
    let mut out = HashSet::new();
    if twice.is_empty() {
        return Ok(out);
    }
    let at: HashMap<Id, usize> = uses.iter().enumerate().map(|(i, u)| (u.pack, i)).collect();
    for r in repo.indexed_packs() {
        let (pack, entries) = r?;
        let Some(&i) = at.get(&pack) else { continue };
        for e in entries.iter().filter(|e| twice.contains(&e.id)) {
            let given = repo.lookup_opt(&e.id)?.map(|l| l.pack);
            if given.is_some_and(|g| g != pack && at.contains_key(&g)) && out.insert((pack, e.id)) {
                uses[i].used -= e.length as u64;
                uses[i].unused += e.length as u64;
            }
        }
    }
    Ok(out)
}
