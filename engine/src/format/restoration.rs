//! Restoration records (FORMAT.md §15): one immutable, sealed JSON file per event of a
//! restoration (started, finished, verified, rolled back), named by the hash of its bytes like
//! a snapshot. A restoration's state is its events read together; nothing is ever rewritten,
//! so a restore killed between two events leaves a record that says exactly how far it got.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

pub const RESTORATION_VERSION: u32 = 1;

fn yes() -> bool {
    true
}

/// A scenario's objectives as they stood when the restore ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objectives {
    pub scenario: String,
    pub rto_secs: u64,
    pub rpo_secs: u64,
}

/// How a restore ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every selected file written (and verified, when asked).
    Ok,
    /// Written, but some files could not be restored intact (listed).
    Errors,
    /// Stopped before its end (the rollback snapshot, if any, still holds what was there).
    Interrupted,
    /// Refused or failed before writing anything.
    Failed,
}

impl Outcome {
    /// `Ok` when nothing failed, `Errors` when something did.
    pub fn of(errors: &[String]) -> Outcome {
        if errors.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Errors
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    /// Written before the restore changes anything in the target.
    Started {
        snapshot: Id,
        /// The target directory, as given (lossy UTF-8 for display).
        target: String,
        includes: Vec<String>,
        excludes: Vec<String>,
        /// The data categories restored (empty: the scope is the includes).
        categories: Vec<String>,
        /// The point in time asked for (`--at`), if any.
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// The time of the incident the restore answers: `at`, or when it started. The age of
        /// the data restored is measured from it (the RPO at the incident).
        incident: chrono::DateTime<chrono::Utc>,
        /// The snapshot's time, for the data's age.
        snapshot_time: chrono::DateTime<chrono::Utc>,
        objectives: Option<Objectives>,
        /// The snapshot of the target as it was before the restore (`vcd rollback`); None with
        /// `--no-rollback`, or when the target did not exist.
        rollback_snapshot: Option<Id>,
        /// Whether the target existed before the restore (a rollback of one that did not
        /// removes it).
        #[serde(default = "yes")]
        target_existed: bool,
        /// `always`, `if-changed` or `never`.
        overwrite: String,
        delete: bool,
        /// Owners were left as the restoring user's (`--no-owner`), or could not be set.
        #[serde(default)]
        no_owner: bool,
    },
    Finished {
        outcome: Outcome,
        files: u64,
        links: u64,
        special: u64,
        dirs: u64,
        bytes: u64,
        /// Entries removed by `--delete`.
        deleted: u64,
        /// Of `files`, those found already holding the snapshot's content (by the rollback
        /// image taken just before) and kept in place.
        #[serde(default)]
        unchanged: u64,
        duration_secs: f64,
        /// Of `files`, verified by reading them back (`--verify`); None when not asked.
        verified: Option<u64>,
        /// The first problems (all of them up to a hundred) and how many there were.
        errors: Vec<String>,
        errors_total: u64,
    },
    /// `vcd verify-restore`: the target compared with the snapshot within the scope.
    Verified {
        ok: bool,
        differences: Vec<String>,
        differences_total: u64,
        entries: u64,
        duration_secs: f64,
    },
    /// `vcd drill`: a drill's only event (nothing of it is left to verify or roll back).
    Drilled(Drill),
    /// `vcd rollback`: the target put back as it was before the restore.
    RolledBack {
        outcome: Outcome,
        restored: u64,
        removed: u64,
        duration_secs: f64,
        errors: Vec<String>,
    },
}

/// One snapshot a drill restored from, and the part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillPart {
    pub snapshot: Id,
    pub snapshot_time: chrono::DateTime<chrono::Utc>,
    /// The categories this snapshot stood for (empty: the snapshot as a whole).
    pub categories: Vec<String>,
    /// The scope within the snapshot (empty: all of it).
    pub includes: Vec<String>,
}

/// A drill: a restore of (a sample of) a scenario's data into a scratch directory, compared
/// with its snapshots and removed, with the whole restore's estimated duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drill {
    pub objectives: Objectives,
    pub categories: Vec<String>,
    pub parts: Vec<DrillPart>,
    /// The scratch directory (removed at the end when `removed`).
    pub scratch: String,
    /// The sample asked for: `all`, `P%` or a size.
    pub sample: String,
    /// Files and bytes of the whole scope, and of the sample restored.
    pub total_files: u64,
    pub total_bytes: u64,
    pub sample_files: u64,
    pub sample_bytes: u64,
    pub restore_secs: f64,
    pub verify_secs: f64,
    /// The whole scope's restore, extrapolated from the sample's: None when the drill did not
    /// get as far as measuring it.
    pub estimate_secs: Option<f64>,
    pub outcome: Outcome,
    /// The sample compared equal to its snapshots.
    pub verified: bool,
    pub differences: Vec<String>,
    pub differences_total: u64,
    pub errors: Vec<String>,
    pub errors_total: u64,
    pub removed: bool,
}

/// One event of a restoration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub version: u32,
    /// The restoration's id (RID), shared by its events.
    pub restoration: Id,
    pub time: chrono::DateTime<chrono::Utc>,
    pub host: String,
    pub user: String,
    /// The key the repository was opened with.
    pub key: Id,
    #[serde(flatten)]
    pub what: What,
}

impl Event {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("restoration events serialise")
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let e: Event = serde_json::from_slice(b)
            .map_err(|e| Error::damaged("restoration record", "", e.to_string()))?;
        if e.version > RESTORATION_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "restoration record",
                version: e.version,
                supported: RESTORATION_VERSION,
            });
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn events_round_trip_and_newer_versions_are_refused() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 11, 29, 4, 0, 0).unwrap();
        let e = Event {
            version: 1,
            restoration: Id([7; 32]),
            time: t,
            host: "h".into(),
            user: "u".into(),
            key: Id([9; 32]),
            what: What::Started {
                snapshot: Id([1; 32]),
                target: "/srv/restore".into(),
                includes: vec!["/etc/**".into()],
                excludes: vec![],
                categories: vec!["critical".into()],
                at: Some(t),
                incident: t,
                snapshot_time: t,
                objectives: Some(Objectives {
                    scenario: "configuration".into(),
                    rto_secs: 1800,
                    rpo_secs: 3600,
                }),
                rollback_snapshot: None,
                target_existed: true,
                overwrite: "always".into(),
                delete: false,
                no_owner: false,
            },
        };
        let b = e.encode();
        assert!(std::str::from_utf8(&b)
            .unwrap()
            .contains("\"event\":\"started\""));
        assert_eq!(Event::decode(&b).unwrap(), e);
        let newer = String::from_utf8(b)
            .unwrap()
            .replace("\"version\":1", "\"version\":2");
        assert!(matches!(
            Event::decode(newer.as_bytes()),
            Err(Error::UnsupportedVersion { .. })
        ));
        assert!(Event::decode(b"{}").is_err());
    }
}
