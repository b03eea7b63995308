//! What a daemon runs and when. From the configuration, the time now and when each scheduled
//! job (backup or maintenance) last ran, it answers which jobs are due now, in what order, and
//! when to look again. Pure: the clock and the history come in as arguments, so a year of
//! schedules is tested in milliseconds and nothing sleeps.
//!
//! A job is due when its first run after its last one has come. However many runs were missed
//! (machine off, daemon stopped) it is due once: the run that catches up records the time it
//! started, and the next run is the first after that.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::Config;
use super::schedule::Schedule;

/// When each job last ran (or, for a job that never did, when the scheduler first saw it: a
/// new job waits for its first scheduled time instead of running at once).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub last: BTreeMap<String, DateTime<Utc>>,
}

impl History {
    /// Gives every scheduled job of `c` without a history the time `now`; forgets jobs the
    /// configuration no longer has; brings back to `now` a time after it (a clock that was
    /// wrong, a snapshot that says so): since runs never move a job's time back, one in the
    /// future would hold the job until then.
    pub fn settle(&mut self, c: &Config, now: DateTime<Utc>) {
        let names: Vec<String> = scheduled(c)
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        self.last.retain(|n, _| names.contains(n));
        for t in self.last.values_mut() {
            *t = (*t).min(now);
        }
        for n in names {
            self.last.entry(n).or_insert(now);
        }
    }

    /// Records a run that started at `at` (never moving a job's time back).
    pub fn ran(&mut self, job: &str, at: DateTime<Utc>) {
        let e = self.last.entry(job.to_string()).or_insert(at);
        *e = (*e).max(at);
    }
}

/// A job due now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub job: String,
    /// The first scheduled run not yet made: the order jobs are run in.
    pub since: DateTime<Utc>,
    /// Its scheduled runs up to now: more than 1 when runs were missed (one run makes up for
    /// them all).
    pub missed: usize,
}

/// Every job with a schedule, backup jobs and maintenance, by name.
pub fn scheduled(c: &Config) -> Vec<(&str, &Schedule)> {
    let mut v: Vec<(&str, &Schedule)> = c
        .jobs
        .iter()
        .map(|(n, j)| (n.as_str(), &j.schedule))
        .chain(
            c.maintenance
                .iter()
                .filter_map(|(n, m)| m.schedule.as_ref().map(|s| (n.as_str(), s))),
        )
        .collect();
    v.sort_by_key(|(n, _)| *n);
    v
}

/// The jobs due at `now`, oldest scheduled run first (then by name). A job `h` has no time for
/// is not due (`History::settle` first).
pub fn due(c: &Config, h: &History, now: DateTime<Utc>) -> Vec<Due> {
    let mut v: Vec<Due> = scheduled(c)
        .into_iter()
        .filter_map(|(name, s)| {
            let last = *h.last.get(name)?;
            let first = s.next_after(last).filter(|t| *t <= now)?;
            // Counted to say how many runs one run makes up for; bounded so a job every
            // second left a year is not counted one by one.
            let mut missed = 1;
            let mut t = first;
            while missed < 10_000 {
                match s.next_after(t) {
                    Some(n) if n <= now => {
                        missed += 1;
                        t = n;
                    }
                    _ => break,
                }
            }
            Some(Due {
                job: name.to_string(),
                since: first,
                missed,
            })
        })
        .collect();
    v.sort_by(|a, b| (a.since, &a.job).cmp(&(b.since, &b.job)));
    v
}

/// The next time a job becomes due after `now`, given `h` (None if nothing is scheduled).
/// A job already due makes it `now`.
pub fn next_wake(c: &Config, h: &History, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    scheduled(c)
        .into_iter()
        .filter_map(|(name, s)| {
            let last = h.last.get(name).copied().unwrap_or(now);
            s.next_after(last).map(|t| t.max(now))
        })
        .min()
}

/// The next `count` runs of each scheduled job after `from`, by time (then name).
pub fn upcoming(c: &Config, from: DateTime<Utc>, count: usize) -> Vec<(String, DateTime<Utc>)> {
    let mut v: Vec<(String, DateTime<Utc>)> = Vec::new();
    for (name, s) in scheduled(c) {
        let mut t = from;
        for _ in 0..count {
            let Some(n) = s.next_after(t) else { break };
            v.push((name.to_string(), n));
            t = n;
        }
    }
    v.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::config;
    use chrono::{Duration, TimeZone};

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
    }

    fn default_config() -> Config {
        let (c, _) = config::check(config::DEFAULT);
        c.expect("the default configuration is valid")
    }

    /// Runs the scheduler from `from` to `to` as a daemon would with every job taking no
    /// time: (job, time) of every run.
    fn simulate(
        c: &Config,
        h: &mut History,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(String, DateTime<Utc>)> {
        let mut runs = Vec::new();
        let mut now = from;
        while let Some(t) = next_wake(c, h, now) {
            if t > to {
                break;
            }
            now = t;
            for d in due(c, h, now) {
                runs.push((d.job.clone(), now));
                h.ran(&d.job, now);
            }
        }
        runs
    }

    #[test]
    fn a_new_job_waits_for_its_time_then_runs_at_each_and_never_twice() {
        let c = default_config();
        let start = utc(2026, 11, 27, 12, 0); // a Friday
        let mut h = History::default();
        h.settle(&c, start);
        assert!(due(&c, &h, start).is_empty(), "nothing runs at start-up");
        let runs = simulate(&c, &mut h, start, utc(2026, 12, 7, 0, 0));
        let got: Vec<String> = runs
            .iter()
            .map(|(j, t)| format!("{} {j}", t.format("%a %d %H:%M")))
            .collect();
        assert_eq!(
            got,
            [
                "Sat 28 02:00 daily",
                "Sun 29 01:00 weekly",
                "Sun 29 02:00 daily",
                "Sun 29 04:00 prune",
                "Mon 30 02:00 daily",
                "Tue 01 02:00 daily",
                "Wed 02 02:00 daily",
                "Thu 03 02:00 daily",
                "Fri 04 02:00 daily",
                "Sat 05 02:00 daily",
                "Sun 06 00:00 monthly",
                "Sun 06 01:00 weekly",
                "Sun 06 02:00 daily",
                "Sun 06 04:00 prune",
                "Sun 06 05:00 check",
            ]
        );
    }

    #[test]
    fn missed_runs_are_caught_up_once_oldest_first() {
        let c = default_config();
        let mut h = History::default();
        h.settle(&c, utc(2026, 11, 27, 12, 0));
        // The machine was off from Friday noon to the Monday after next, 09:00.
        let now = utc(2026, 12, 7, 9, 0);
        let d = due(&c, &h, now);
        let got: Vec<(String, String, usize)> = d
            .iter()
            .map(|d| {
                (
                    d.job.clone(),
                    d.since.format("%d %H:%M").to_string(),
                    d.missed,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("daily".to_string(), "28 02:00".to_string(), 10),
                ("weekly".to_string(), "29 01:00".to_string(), 2),
                ("prune".to_string(), "29 04:00".to_string(), 2),
                ("monthly".to_string(), "06 00:00".to_string(), 1),
                ("check".to_string(), "06 05:00".to_string(), 1),
            ]
        );
        for x in &d {
            h.ran(&x.job, now);
        }
        assert!(due(&c, &h, now).is_empty());
        assert!(due(&c, &h, now + Duration::hours(12)).is_empty());
        assert_eq!(next_wake(&c, &h, now), Some(utc(2026, 12, 8, 2, 0)));
    }

    #[test]
    fn history_follows_the_configuration_and_never_goes_back() {
        let c = default_config();
        let mut h = History::default();
        h.last.insert("gone".into(), utc(2026, 1, 1, 0, 0));
        h.settle(&c, utc(2026, 11, 27, 12, 0));
        assert!(!h.last.contains_key("gone"));
        assert_eq!(h.last.len(), 5);
        h.ran("daily", utc(2026, 11, 28, 2, 0));
        h.ran("daily", utc(2026, 11, 20, 2, 0));
        assert_eq!(h.last["daily"], utc(2026, 11, 28, 2, 0));
        // A time from a clock that ran ahead comes back to now.
        h.ran("weekly", utc(2031, 1, 1, 0, 0));
        h.settle(&c, utc(2026, 11, 28, 12, 0));
        assert_eq!(h.last["weekly"], utc(2026, 11, 28, 12, 0));
        assert_eq!(h.last["daily"], utc(2026, 11, 28, 2, 0));
        let up = upcoming(&c, utc(2026, 11, 27, 12, 0), 2);
        assert_eq!(up.len(), 10);
        assert_eq!(up[0], ("daily".into(), utc(2026, 11, 28, 2, 0)));
        let monthly: Vec<_> = up.iter().filter(|(j, _)| j == "monthly").collect();
        assert_eq!(monthly[0].1, utc(2026, 12, 6, 0, 0));
        assert_eq!(monthly[1].1, utc(2027, 1, 3, 0, 0));
    }
}
