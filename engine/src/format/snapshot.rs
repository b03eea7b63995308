//! Snapshots (`snapshots/<id>`): the root of one backup, with when, where from, what kind and a
//! summary of what it did. JSON, sealed; the id is the hash of the sealed file. A snapshot is
//! written last in a backup, so its existence means every blob it reaches is in an index file.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    Full,
    #[default]
    Incremental,
}

impl std::str::FromStr for BackupType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(BackupType::Full),
            "incremental" => Ok(BackupType::Incremental),
            _ => Err(Error::Invalid(format!(
                "backup type {s:?} (full or incremental)"
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub files_new: u64,
    pub files_changed: u64,
    /// Files whose content is what the parent had: reused from it, or (a full backup) read
    /// again and found the same.
    pub files_unchanged: u64,
    /// Of `files_unchanged`, those read again (a full backup reads every file). Optional
    /// (FORMAT.md §9).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub files_reread: u64,
    pub dirs: u64,
    pub bytes_read: u64,
    /// Bytes of files backed up (their sizes), whether read or reused from the parent.
    pub bytes_total: u64,
    /// Bytes written to the repository after dedup, compression and encryption.
    pub bytes_added: u64,
    pub blobs_added: u64,
    pub duration_secs: f64,
    /// Paths that could not be read; the snapshot lacks them.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub time: chrono::DateTime<chrono::Utc>,
    pub host: String,
    pub user: String,
    pub paths: Vec<String>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    /// The data categories a configured job backed up (optional, FORMAT.md §9).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// The backup job that made it (optional, FORMAT.md §9): absent in snapshots that name none,
    /// so older readers and older snapshots agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(rename = "type")]
    pub kind: BackupType,
    pub parent: Option<Id>,
    pub tree: Id,
    pub summary: Summary,
    /// The audit trail's heads when the backup began (FORMAT.md §16): an anchor in the
    /// repository that shows the trail's newest entries taken away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit: Vec<Id>,
    /// The snapshot this one is a copy of (`vcd copy`, FORMAT.md §9), in the repository it
    /// was first made in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Id>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Snapshot {
    /// Whether the snapshot holds category `c`: its `category`, or one of its `categories`.
    pub fn has_category(&self, c: &str) -> bool {
        self.category.as_deref() == Some(c) || self.categories.iter().any(|x| x == c)
    }

    /// Its categories, `category` first: for display.
    pub fn all_categories(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.category.iter().map(String::as_str).collect();
        for c in &self.categories {
            if !v.contains(&c.as_str()) {
                v.push(c);
            }
        }
        v
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("snapshots serialise")
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let s: Snapshot =
            serde_json::from_slice(b).map_err(|e| Error::damaged("snapshot", "", e.to_string()))?;
        if s.version > SNAPSHOT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "snapshot",
                version: s.version,
                supported: SNAPSHOT_VERSION,
            });
        }
        Ok(s)
    }
}

/// A snapshot together with its id.
#[derive(Debug, Clone)]
pub struct SnapshotRef {
    pub id: Id,
    pub snap: Snapshot,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn snap(h: u32) -> SnapshotRef {
        SnapshotRef {
            id: Id([h as u8; 32]),
            snap: Snapshot {
                version: 1,
                time: chrono::Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0).unwrap(),
                host: "h".into(),
                user: "u".into(),
                paths: vec!["/x".into()],
                tags: vec![],
                category: None,
                categories: vec![],
                job: None,
                kind: BackupType::Full,
                parent: None,
                tree: Id::default(),
                audit: Vec::new(),
                original: None,
                summary: Summary::default(),
            },
        }
    }

    #[test]
    fn roundtrip() {
        let s = snap(10).snap;
        assert_eq!(Snapshot::decode(&s.encode()).unwrap(), s);
    }

    /// `job` is optional (FORMAT.md §9): a snapshot without one is written without the field,
    /// so readers that predate it see the same JSON, and one written before it existed reads
    /// as having none.
    #[test]
    fn job_is_optional_and_absent_when_none() {
        let mut s = snap(10).snap;
        let plain = s.encode();
        assert!(!String::from_utf8_lossy(&plain).contains("\"job\""));
        assert_eq!(Snapshot::decode(&plain).unwrap().job, None);
        s.job = Some("nightly-db".into());
        let with = s.encode();
        assert!(String::from_utf8_lossy(&with).contains("\"job\":\"nightly-db\""));
        assert_eq!(Snapshot::decode(&with).unwrap(), s);
    }
}
