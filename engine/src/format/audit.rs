//! Audit entries (FORMAT.md §16): one sealed JSON file per operation on the repository, named
//! by the hash of its bytes and naming the entries before it, so the trail is a hash chain
//! (a DAG where writers ran at once) that no one without the key can edit, reorder or fill in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

pub const AUDIT_VERSION: u32 = 1;

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// Done, but not all of it (a backup that could not read a source: exit 3).
    Incomplete,
    Failed,
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Incomplete => "incomplete",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub version: u32,
    /// Its position: one more than the highest of its parents' (1 for a first entry).
    pub seq: u64,
    /// The entries it follows: every head of the trail its writer saw (two when two writers
    /// ran at once and this one joins them).
    pub parents: Vec<Id>,
    pub time: chrono::DateTime<chrono::Utc>,
    pub host: String,
    pub user: String,
    /// The key the repository was opened with.
    pub key: Id,
    /// The operation (`backup`, `restore`, `forget`, `key add`, …).
    pub op: String,
    /// Its command line, values of secret-bearing options replaced.
    pub args: Vec<String>,
    pub outcome: Outcome,
    pub error: Option<String>,
    /// What it made or removed: `snapshot`, `removed` (snapshot ids), `restoration`, ….
    #[serde(default)]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("audit entries serialise")
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let e: Entry = serde_json::from_slice(b)
            .map_err(|e| Error::damaged("audit entry", "", e.to_string()))?;
        if e.version > AUDIT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "audit entry",
                version: e.version,
                supported: AUDIT_VERSION,
            });
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_newer_versions_are_refused() {
        let e = Entry {
            version: 1,
            seq: 3,
            parents: vec![Id([1; 32]), Id([2; 32])],
            time: "2026-11-29T08:00:00Z".parse().unwrap(),
            host: "h".into(),
            user: "root".into(),
            key: Id([9; 32]),
            op: "backup".into(),
            args: vec!["backup".into(), "/srv".into()],
            outcome: Outcome::Incomplete,
            error: Some("1 source could not be read".into()),
            details: [("snapshot".to_string(), serde_json::json!("ab"))].into(),
        };
        let b = e.encode();
        assert_eq!(Entry::decode(&b).unwrap(), e);
        let newer = String::from_utf8(b)
            .unwrap()
            .replace("\"version\":1", "\"version\":2");
        assert!(matches!(
            Entry::decode(newer.as_bytes()),
            Err(Error::UnsupportedVersion { .. })
        ));
    }
}
