//! Restoration records in the repository: writing an event, and reading every restoration
//! back as the events it is made of (FORMAT.md §15).

use rayon::prelude::*;

use crate::backend::FileType;
use crate::crypto::aad;
use crate::error::{Error, Result};
use crate::format::restoration::{Event, Objectives, Outcome, What, RESTORATION_VERSION};
use crate::id::Id;
use crate::repo::Repo;

/// One restoration: its events, oldest first.
#[derive(Debug, Clone)]
pub struct Restoration {
    pub id: Id,
    pub events: Vec<Event>,
}

/// The state of a restoration, as its events tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Started, not finished: running, or killed (its rollback snapshot still applies).
    Unfinished,
    Finished(Outcome),
    RolledBack,
}

impl Restoration {
    pub fn started(&self) -> Option<&Event> {
        self.events
            .iter()
            .find(|e| matches!(e.what, What::Started { .. }))
    }

    pub fn finished(&self) -> Option<&Event> {
        self.events
            .iter()
            .find(|e| matches!(e.what, What::Finished { .. }))
    }

    /// The event of a drill (a drill has no other).
    pub fn drilled(&self) -> Option<&Event> {
        self.events
            .iter()
            .find(|e| matches!(e.what, What::Drilled(_)))
    }

    /// Verifications, oldest first.
    pub fn verifications(&self) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(|e| matches!(e.what, What::Verified { .. }))
    }

    pub fn rolled_back(&self) -> Option<&Event> {
        self.events.iter().find(|e| {
            matches!(
                e.what,
                What::RolledBack {
                    outcome: Outcome::Ok,
                    ..
                }
            )
        })
    }

    pub fn state(&self) -> State {
        if self.rolled_back().is_some() {
            return State::RolledBack;
        }
        match self.finished().or(self.drilled()).map(|e| &e.what) {
            Some(What::Finished { outcome, .. }) => State::Finished(*outcome),
            Some(What::Drilled(d)) => State::Finished(d.outcome),
            _ => State::Unfinished,
        }
    }

    /// (duration, RTO met) once finished under a scenario; for a drill, its estimate of the
    /// whole restore's duration.
    pub fn rto(&self) -> Option<(f64, bool)> {
        let o = self.objectives()?;
        if let Some(What::Drilled(drill)) = self.drilled().map(|e| &e.what) {
            let d = drill.estimate_secs?;
            return Some((d, d <= o.rto_secs as f64));
        }
        match self.finished()?.what {
            What::Finished { duration_secs, .. } => {
                Some((duration_secs, duration_secs <= o.rto_secs as f64))
            }
            _ => None,
        }
    }

    /// (age of the data restored at the incident, RPO met).
    pub fn rpo(&self) -> Option<(i64, bool)> {
        let o = self.objectives()?;
        if let Some(Event {
            time,
            what: What::Drilled(d),
            ..
        }) = self.drilled()
        {
            let oldest = d.parts.iter().map(|p| p.snapshot_time).min()?;
            let age = (*time - oldest).num_seconds().max(0);
            return Some((age, age as u64 <= o.rpo_secs));
        }
        match &self.started()?.what {
            What::Started {
                incident,
                snapshot_time,
                ..
            } => {
                let age = (*incident - *snapshot_time).num_seconds().max(0);
                Some((age, age as u64 <= o.rpo_secs))
            }
            _ => None,
        }
    }

    pub fn objectives(&self) -> Option<&Objectives> {
        match &self.started().or(self.drilled())?.what {
            What::Started { objectives, .. } => objectives.as_ref(),
            What::Drilled(d) => Some(&d.objectives),
            _ => None,
        }
    }

    /// The event that opens the restoration: its `started`, or a drill's only event.
    pub fn first(&self) -> &Event {
        self.started()
            .or(self.drilled())
            .expect("listed restorations have a start or are drills")
    }
}

/// Writes one event of restoration `rid` as it happens now.
pub fn record(repo: &Repo, rid: Id, what: What) -> Result<Id> {
    let e = Event {
        version: RESTORATION_VERSION,
        restoration: rid,
        time: chrono::Utc::now(),
        host: crate::host::hostname(),
        user: crate::host::username(),
        key: repo.key_id(),
        what,
    };
    repo.write_sealed(FileType::Restore, aad::RESTORE, &e.encode())
}

/// Every restoration, oldest first. A record that cannot be read is reported and left out:
/// the others stay usable.
pub fn list(repo: &Repo) -> Result<Vec<Restoration>> {
    let names = repo.list(FileType::Restore)?;
    let mut events: Vec<Event> = names
        .par_iter()
        .filter_map(|(name, _)| {
            match repo
                .read_sealed(FileType::Restore, name, aad::RESTORE)
                .and_then(|b| Event::decode(&b))
            {
                Ok(e) => Some(e),
                Err(e) => {
                    tracing::warn!("restoration record {name}: {e}");
                    None
                }
            }
        })
        .collect();
    events.sort_by_key(|e| (e.time, e.restoration));
    let mut out: Vec<Restoration> = Vec::new();
    for e in events {
        match out.iter_mut().find(|r| r.id == e.restoration) {
            Some(r) => r.events.push(e),
            None => out.push(Restoration {
                id: e.restoration,
                events: vec![e],
            }),
        }
    }
    // A restoration whose start is unreadable or missing is not one a user can act on.
    out.retain(|r| r.started().is_some() || r.drilled().is_some());
    Ok(out)
}

/// The restoration whose id starts with `prefix` (unique).
pub fn find<'a>(list: &'a [Restoration], prefix: &str) -> Result<&'a Restoration> {
    let p = prefix.to_ascii_lowercase();
    let mut hits = list
        .iter()
        .filter(|r| !p.is_empty() && r.id.to_hex().starts_with(&p));
    match (hits.next(), hits.next()) {
        (Some(r), None) => Ok(r),
        (Some(_), Some(_)) => Err(Error::Invalid(format!(
            "restoration id {prefix:?} is ambiguous: give more of it"
        ))),
        _ => Err(Error::NotFound(format!(
            "restoration {prefix:?} (`vcd restores` lists them)"
        ))),
    }
}
