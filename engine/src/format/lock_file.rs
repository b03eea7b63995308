//! Lock files (`locks/<random id>`, FORMAT.md §Locks): who holds a lock, since when, and of
//! which kind. JSON, sealed with the data key. Pure: the staleness rule takes the time and
//! what is known of the holder's process.

use serde::{Deserialize, Serialize};

/// A lock not refreshed for this long is stale, whoever holds it.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(30);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub time: chrono::DateTime<chrono::Utc>,
    pub host: String,
    pub user: String,
    pub pid: u32,
    pub exclusive: bool,
    /// A prune's lock: shared, but it conflicts with another prune's (FORMAT.md §10). Absent
    /// in locks of earlier versions, which are read as not a prune's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prune: bool,
}

impl LockInfo {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("locks serialise")
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        serde_json::from_slice(b).ok()
    }

    /// Stale when not refreshed within `STALE_AFTER` of `now`, or when it was taken on this
    /// host (`this_host`) by a process that no longer exists (`pid_alive` says).
    pub fn is_stale_at(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        this_host: &str,
        pid_alive: impl FnOnce(u32) -> bool,
    ) -> bool {
        now - self.time > STALE_AFTER || (self.host == this_host && !pid_alive(self.pid))
    }

    pub fn describe(&self) -> String {
        format!(
            "{} lock by {}@{} pid {} since {}",
            if self.exclusive {
                "exclusive"
            } else if self.prune {
                "prune"
            } else {
                "shared"
            },
            self.user,
            self.host,
            self.pid,
            self.time.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn staleness_by_age_and_by_process() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .unwrap();
        let l = LockInfo {
            time: t,
            host: "a".into(),
            user: "u".into(),
            pid: 7,
            exclusive: false,
            prune: false,
        };
        let alive = |_| true;
        let dead = |_| false;
        let m = chrono::Duration::minutes;
        // (now, host we run on, process alive?) → stale?
        assert!(
            !l.is_stale_at(t + m(29), "b", dead),
            "other host: age alone decides"
        );
        assert!(l.is_stale_at(t + m(31), "b", alive));
        assert!(!l.is_stale_at(t + m(1), "a", alive));
        assert!(
            l.is_stale_at(t + m(1), "a", dead),
            "same host, process gone"
        );
        assert_eq!(LockInfo::decode(&l.encode()), Some(l.clone()));
        assert_eq!(LockInfo::decode(b"{"), None);
    }
}
