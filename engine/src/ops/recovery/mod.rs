//! The recovery system: restoration records (who restored what, where, how it went, its
//! verification and rollback), restores that record themselves and can be rolled back,
//! verification, drills, and the specification's recovery API over them (`system`).

pub mod compare;
pub mod drill;
pub mod records;
pub mod system;

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::format::restoration::{Objectives, Outcome, What};
use crate::format::snapshot::SnapshotRef;
use crate::id::Id;
use crate::ops::progress::Progress;
use crate::ops::restore::{self, RestoreOptions, RestoreResult};
use crate::repo::Repo;

/// What a recorded restore is asked, beyond the restore's own options.
#[derive(Debug, Clone, Default)]
pub struct RestoreRequest {
    pub options: RestoreOptions,
    /// The categories the scope was drawn from (for the record).
    pub categories: Vec<String>,
    /// The point in time asked for.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    pub objectives: Option<Objectives>,
    /// Skip the snapshot of the target taken before the restore (no `vcd rollback` then).
    pub no_rollback: bool,
}

/// A restore and its record.
#[derive(Debug)]
pub struct Recorded {
    pub restoration: Id,
    pub result: RestoreResult,
    pub duration_secs: f64,
}

/// Restores `snap` as `req` asks and records it: a `started` event before anything in the
/// target changes, a `finished` one after (also when the restore fails or is interrupted,
/// if the repository can still be written). The restore's error, if any, is returned after
/// it is recorded.
pub fn restore_recorded(
    repo: &Repo,
    snap: &SnapshotRef,
    req: &RestoreRequest,
    progress: &Progress,
) -> Result<Recorded> {
    let rid = Id::random();
    let now = chrono::Utc::now();
    let o = &req.options;
    // Before the record and the image: a target that cannot be written is refused first.
    restore::check_target(&o.target)?;
    // Where the restore writes: a target that is a link to a directory is that directory,
    // and it is what the image must hold.
    let target_existed = std::fs::symlink_metadata(&o.target).is_ok();
    let target = match std::fs::canonicalize(&o.target) {
        Ok(t) => t,
        Err(_) => std::path::absolute(&o.target).unwrap_or_else(|_| o.target.clone()),
    };
    let (rollback_snapshot, image) = if target_existed && !req.no_rollback {
        let taken = chrono::Utc::now();
        let (id, tree) = pre_image(repo, &target, rid, &o.cancel)?;
        // The image read every file of the target: those it found holding what the snapshot
        // holds need not be written again.
        let dir = restore::subtree_id(repo, tree, &target)
            .ok()
            .map(|tree| restore::Image { tree, taken });
        (Some(id), dir)
    } else {
        (None, None)
    };
    let with_image;
    let o = if image.is_some() {
        with_image = RestoreOptions { image, ..o.clone() };
        &with_image
    } else {
        o
    };
    records::record(
        repo,
        rid,
        What::Started {
            snapshot: snap.id,
            target: target.to_string_lossy().into_owned(),
            includes: o.includes.clone(),
            excludes: o.excludes.clone(),
            categories: req.categories.clone(),
            at: req.at,
            incident: req.at.unwrap_or(now),
            snapshot_time: snap.snap.time,
            objectives: req.objectives.clone(),
            rollback_snapshot,
            target_existed,
            overwrite: o.overwrite.as_str().into(),
            delete: o.delete,
            no_owner: o.no_owner || !nix::unistd::geteuid().is_root(),
        },
    )?;
    let start = std::time::Instant::now();
    let r = restore::restore(repo, snap, o, progress);
    let duration_secs = start.elapsed().as_secs_f64();
    let finished = |outcome, r: Option<&RestoreResult>, errors: Vec<String>| {
        let d = RestoreResult::default();
        let x = r.unwrap_or(&d);
        What::Finished {
            outcome,
            files: x.files,
            links: x.links,
            special: x.special,
            dirs: x.dirs,
            bytes: x.bytes,
            deleted: x.deleted,
            unchanged: x.unchanged,
            duration_secs,
            verified: o.verify.then_some(x.verified),
            errors_total: errors.len() as u64,
            errors: errors.into_iter().take(100).collect(),
        }
    };
    match r {
        Ok(result) => {
            let outcome = Outcome::of(&result.errors);
            records::record(
                repo,
                rid,
                finished(outcome, Some(&result), result.errors.clone()),
            )?;
            Ok(Recorded {
                restoration: rid,
                result,
                duration_secs,
            })
        }
        Err(e) => {
            let outcome = if matches!(e, Error::Interrupted) {
                Outcome::Interrupted
            } else {
                Outcome::Failed
            };
            if let Err(re) =
                records::record(repo, rid, finished(outcome, None, vec![e.to_string()]))
            {
                tracing::warn!(
                    "restoration {}: could not record its end: {re}",
                    rid.short()
                );
            }
            Err(e)
        }
    }
}

/// Backs up the target as it is (all of it: whatever the restore may replace or delete is in
/// it) as a snapshot tagged `rollback`, before the restore writes anything. Incremental against
/// the previous image of the same target. A target that cannot be read whole is refused:
/// the rollback could not bring back what the image lacks.
fn pre_image(
    repo: &Repo,
    target: &std::path::Path,
    rid: Id,
    cancel: &crate::cancel::CancelToken,
) -> Result<(Id, Id)> {
    let opts = crate::ops::backup::BackupOptions {
        paths: vec![target.to_path_buf()],
        tags: vec![
            crate::policy::select::ROLLBACK_TAG.into(),
            format!("restoration-{}", rid.short()),
        ],
        cancel: cancel.clone(),
        ..Default::default()
    };
    let b = crate::ops::backup::backup(repo, &opts, &Progress::default())?;
    if !b.snapshot.summary.errors.is_empty() {
        return Err(Error::Invalid(format!(
            "the target cannot be read whole for its rollback image ({}); fix that, or restore \
             with --no-rollback",
            b.snapshot.summary.errors.join("; ")
        )));
    }
    let id =
        b.id.ok_or_else(|| Error::Invalid("the rollback image was not saved".into()))?;
    Ok((id, b.snapshot.tree))
}

/// What `rollback_recovery` did.
#[derive(Debug)]
pub struct Rollback {
    pub restoration: Id,
    pub target: String,
    pub result: RestoreResult,
    /// The target did not exist before the restore, and was removed.
    pub removed_target: bool,
    pub duration_secs: f64,
}

/// Puts the target of restoration `rid` back as it was before the restore: the image taken
/// then is restored over it, replacing what the restore wrote and removing what it created;
/// a target that did not exist is removed. Refused when the restoration was rolled back
/// already, and (unless `force`) when the target changed since the restore: the changes
/// are listed. Recorded.
pub fn rollback_recovery(
    repo: &Repo,
    rid: &str,
    force: bool,
    cancel: &crate::cancel::CancelToken,
    progress: &Progress,
) -> Result<Rollback> {
    let list = records::list(repo)?;
    let r = records::find(&list, rid)?;
    if let Some(e) = r.rolled_back() {
        return Err(Error::Invalid(format!(
            "restoration {} was rolled back already ({})",
            r.id.short(),
            e.time.format("%Y-%m-%d %H:%M:%S UTC")
        )));
    }
    let Some(What::Started {
        snapshot,
        target,
        rollback_snapshot,
        target_existed,
        overwrite,
        delete,
        no_owner,
        ..
    }) = r.started().map(|e| &e.what)
    else {
        return Err(no_start(r));
    };
    let target_path = std::path::PathBuf::from(target);
    if !target_path.is_absolute() || target_path.parent().is_none() {
        return Err(Error::Invalid(format!(
            "restoration {}: target {target:?} is not one a rollback may change",
            r.id.short()
        )));
    }
    if *target_existed && rollback_snapshot.is_none() {
        return Err(Error::Invalid(format!(
            "restoration {} ran with --no-rollback: there is no image of the target to go back to",
            r.id.short()
        )));
    }
    let snaps = repo.snapshots()?;
    // Changes since the restore: where the restore made the target equal to the snapshot
    // (it finished, replacing whatever was there), anything that differs now was changed
    // since. Extra entries count only when the restore removed the extras.
    let finished_whole =
        matches!(r.state(), records::State::Finished(Outcome::Ok)) && overwrite == "always";
    if finished_whole && !force {
        if let Some(s) = snaps.iter().find(|s| s.id == *snapshot) {
            let started = &r.started().expect("matched above").what;
            let c = compare::compare(repo, s, &target_path, &scope(started, cancel))?;
            let changed: Vec<&String> = c
                .differences
                .iter()
                .filter(|d| *delete || !d.ends_with(": not in the snapshot"))
                .collect();
            if !changed.is_empty() {
                let shown: Vec<&str> = changed.iter().take(20).map(|d| d.as_str()).collect();
                return Err(Error::Invalid(format!(
                    "the target changed since restoration {} ({} change(s)): {}{}; --force rolls \
                     back anyway, and those changes are lost",
                    r.id.short(),
                    changed.len(),
                    shown.join("; "),
                    if changed.len() > 20 { "; …" } else { "" }
                )));
            }
        }
    }
    let start = std::time::Instant::now();
    let (result, removed_target) = match rollback_snapshot {
        None => {
            // The restore made the target: going back is removing it.
            match std::fs::remove_dir_all(&target_path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&target_path, e)),
            }
            (RestoreResult::default(), true)
        }
        Some(image) => {
            let s = snaps.iter().find(|s| s.id == *image).ok_or_else(|| {
                Error::NotFound(format!(
                    "the rollback image {} of restoration {} (forgotten since?)",
                    image.short(),
                    r.id.short()
                ))
            })?;
            let opts = RestoreOptions {
                target: target_path.clone(),
                subtree: Some(target_path.clone()),
                overwrite: restore::Overwrite::Always,
                delete: true,
                no_owner: *no_owner,
                cancel: cancel.clone(),
                ..Default::default()
            };
            (restore::restore(repo, s, &opts, progress)?, false)
        }
    };
    let duration_secs = start.elapsed().as_secs_f64();
    let outcome = Outcome::of(&result.errors);
    records::record(
        repo,
        r.id,
        What::RolledBack {
            outcome,
            restored: result.files + result.links + result.special + result.dirs,
            removed: result.deleted + removed_target as u64,
            duration_secs,
            errors: result.errors.iter().take(100).cloned().collect(),
        },
    )?;
    Ok(Rollback {
        restoration: r.id,
        target: target.clone(),
        result,
        removed_target,
        duration_secs,
    })
}

/// The comparison a restoration's scope calls for: its includes and excludes, and owners
/// unless the restore left them alone.
fn scope(started: &What, cancel: &crate::cancel::CancelToken) -> compare::CompareOptions {
    match started {
        What::Started {
            includes,
            excludes,
            no_owner,
            ..
        } => compare::CompareOptions {
            includes: includes.clone(),
            excludes: excludes.clone(),
            owners: !no_owner,
            cancel: cancel.clone(),
        },
        _ => compare::CompareOptions::default(),
    }
}

/// Why restoration `r` has nothing to verify or roll back: a drill's scratch copy is gone.
fn no_start(r: &records::Restoration) -> Error {
    if r.drilled().is_some() {
        Error::Invalid(format!(
            "restoration {} is a drill: its scratch copy was removed when it ended, so there is \
             nothing to verify or roll back",
            r.id.short()
        ))
    } else {
        Error::NotFound(format!("the start of restoration {}", r.id.short()))
    }
}

/// What `verify_recovery` found, recorded as a `verified` event.
#[derive(Debug)]
pub struct Verification {
    pub restoration: Id,
    pub snapshot: Id,
    pub target: String,
    pub comparison: compare::Comparison,
    pub duration_secs: f64,
}

/// Compares the target of restoration `rid` (a unique prefix) with its snapshot, within the
/// restore's scope, and records the result. The snapshot must still exist.
pub fn verify_recovery(
    repo: &Repo,
    rid: &str,
    cancel: &crate::cancel::CancelToken,
) -> Result<Verification> {
    let list = records::list(repo)?;
    let r = records::find(&list, rid)?;
    let Some(What::Started {
        snapshot, target, ..
    }) = r.started().map(|e| &e.what)
    else {
        return Err(no_start(r));
    };
    let snaps = repo.snapshots()?;
    let snap = snaps.iter().find(|s| s.id == *snapshot).ok_or_else(|| {
        Error::NotFound(format!(
            "snapshot {} that restoration {} restored (forgotten since?)",
            snapshot.short(),
            r.id.short()
        ))
    })?;
    let start = std::time::Instant::now();
    let started = &r.started().expect("matched above").what;
    let c = compare::compare(
        repo,
        snap,
        std::path::Path::new(target),
        &scope(started, cancel),
    )?;
    let duration_secs = start.elapsed().as_secs_f64();
    records::record(
        repo,
        r.id,
        What::Verified {
            ok: c.ok(),
            differences: c.differences.iter().take(100).cloned().collect(),
            differences_total: c.differences.len() as u64,
            entries: c.entries,
            duration_secs,
        },
    )?;
    Ok(Verification {
        restoration: r.id,
        snapshot: snap.id,
        target: target.clone(),
        comparison: c,
        duration_secs,
    })
}

/// The objectives of scenario `name`: from `config` when there is one, else the
/// specification's three (complete 4 h / 24 h, partial 1 h / 1 h, configuration 30 min /
/// 1 h). `complete` and `partial` also name the default file's `complete-system` and
/// `partial-data`. Returns them with the scenario's categories.
pub fn scenario(
    config: Option<&crate::policy::config::Config>,
    name: &str,
) -> Result<(Objectives, Vec<String>)> {
    let alias = match name {
        "complete" => "complete-system",
        "partial" => "partial-data",
        n => n,
    };
    let secs = |d: chrono::Duration| d.num_seconds().max(0) as u64;
    if let Some(c) = config {
        let (key, s) = c
            .scenarios
            .get_key_value(name)
            .or_else(|| c.scenarios.get_key_value(alias))
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "scenario {name:?} in the configuration (it has: {})",
                    c.scenarios.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
        return Ok((
            Objectives {
                scenario: key.clone(),
                rto_secs: secs(s.rto),
                rpo_secs: secs(s.rpo),
            },
            s.categories.clone(),
        ));
    }
    let all = ["critical", "important", "optional"];
    let (scenario, rto, rpo, cats): (&str, u64, u64, &[&str]) = match alias {
        "complete-system" => ("complete-system", 4 * 3600, 24 * 3600, &all),
        "partial-data" => ("partial-data", 3600, 3600, &all[..2]),
        "configuration" => ("configuration", 1800, 3600, &all[..1]),
        _ => {
            return Err(Error::NotFound(format!(
            "scenario {name:?} (without a configuration file: complete, partial or configuration)"
        )))
        }
    };
    Ok((
        Objectives {
            scenario: scenario.into(),
            rto_secs: rto,
            rpo_secs: rpo,
        },
        cats.iter().map(|c| c.to_string()).collect(),
    ))
}
