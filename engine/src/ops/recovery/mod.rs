//! The recovery system: restoration records (who restored what, where, how it went, its
//! verification and rollback) and the specification's recovery operations over them.

pub mod records;

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
    let target = std::path::absolute(&o.target).unwrap_or_else(|_| o.target.clone());
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
            rollback_snapshot: None,
            overwrite: "always".into(),
            delete: false,
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
            deleted: 0,
            duration_secs,
            verified: o.verify.then_some(x.verified),
            errors_total: errors.len() as u64,
            errors: errors.into_iter().take(100).collect(),
        }
    };
    match r {
        Ok(result) => {
            let outcome = if result.errors.is_empty() {
                Outcome::Ok
            } else {
                Outcome::Errors
            };
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
