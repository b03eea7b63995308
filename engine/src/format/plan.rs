//! Deletion plans (`pending/<random id>`, FORMAT.md §14): the packs a prune will delete, and
//! the locks it waits for before it may. JSON, sealed with the data key. Pure: the rule that
//! says when a plan may be carried out takes the locks held now as an argument.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

pub const PLAN_VERSION: u32 = 1;

/// A plan file larger than this is refused before it is parsed: 2^21 packs (32 TiB of 16 MiB
/// packs) take some 140 MB of JSON.
pub const MAX_PLAN_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionPlan {
    pub version: u32,
    /// When the plan was first written.
    pub time: chrono::DateTime<chrono::Utc>,
    pub host: String,
    /// Packs to delete once the plan is ripe: none holds a blob that a snapshot listed by the
    /// prune that wrote the plan uses, except where another, kept pack holds that blob too.
    pub packs: Vec<Id>,
    /// Names of the locks held just after the plan became visible, other than its prune's.
    /// `None` until recorded: a plan written but not yet followed by its lock list (its prune
    /// was killed in between) waits for every lock held when a later prune records them.
    pub waits_for: Option<Vec<String>>,
}

impl DeletionPlan {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("plans serialise")
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let p: DeletionPlan = serde_json::from_slice(b)
            .map_err(|e| Error::damaged("deletion plan", "", e.to_string()))?;
        if p.version > PLAN_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "deletion plan",
                version: p.version,
                supported: PLAN_VERSION,
            });
        }
        Ok(p)
    }

    /// A plan may be carried out once its lock list is recorded and none of those locks is
    /// held any more (`live` names the locks held now, stale ones left out): every process
    /// that could have read the index before the plan was visible has finished.
    pub fn is_ripe(&self, live: &[String]) -> bool {
        match &self.waits_for {
            None => false,
            Some(w) => !w.iter().any(|l| live.contains(l)),
        }
    }

    /// The locks of `waits_for` still held.
    pub fn blockers<'a>(&self, live: &'a [(String, String)]) -> Vec<&'a str> {
        let Some(w) = &self.waits_for else {
            return Vec::new();
        };
        live.iter()
            .filter(|(n, _)| w.contains(n))
            .map(|(_, d)| d.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(waits: Option<&[&str]>) -> DeletionPlan {
        DeletionPlan {
            version: 1,
            time: chrono::Utc::now(),
            host: "h".into(),
            packs: vec![Id::random()],
            waits_for: waits.map(|w| w.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn a_plan_is_ripe_only_once_its_recorded_locks_are_gone() {
        let live = vec!["a".to_string(), "b".to_string()];
        // (waits_for, locks held now) → ripe?
        assert!(!plan(None).is_ripe(&[]), "lock list not recorded yet");
        assert!(plan(Some(&[])).is_ripe(&live), "nobody held a lock");
        assert!(!plan(Some(&["b", "x"])).is_ripe(&live));
        assert!(plan(Some(&["x", "y"])).is_ripe(&live), "both released");
        let p = plan(Some(&["x"]));
        assert_eq!(DeletionPlan::decode(&p.encode()).unwrap(), p);
        assert!(DeletionPlan::decode(b"{").is_err());
        let mut newer = p.clone();
        newer.version = 2;
        assert!(matches!(
            DeletionPlan::decode(&newer.encode()),
            Err(Error::UnsupportedVersion { .. })
        ));
    }
}
