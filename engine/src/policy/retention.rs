//! Retention: which snapshots of one group a policy keeps, and which rules keep each (the rules
//! of restic's `forget`). Pure: snapshots and a policy in, a decision per snapshot out. There is
//! no clock: every duration counts back from the group's newest snapshot, so the same
//! repository gives the same answer whenever it is asked. Calendar periods (hours, days, ISO
//! weeks, months, years) are those of the time zone passed in.

use std::fmt;

use chrono::{DateTime, Datelike, Days, Months, Offset, TimeDelta, TimeZone, Timelike, Utc};

use crate::error::{Error, Result};
use crate::format::snapshot::SnapshotRef;

/// A calendar period a bucket rule counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Hour,
    Day,
    /// An ISO 8601 week (Monday to Sunday; the week of 1 January may belong to the year
    /// before).
    Week,
    Month,
    Year,
}

impl Period {
    /// The rule's name: `hourly`, `daily`, `weekly`, `monthly`, `yearly`.
    pub fn adjective(self) -> &'static str {
        match self {
            Period::Hour => "hourly",
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
            Period::Year => "yearly",
        }
    }

    /// Which period `t` falls in: two times share a period exactly when their keys are equal.
    fn key<Z: TimeZone>(self, t: &DateTime<Z>) -> (i32, u32) {
        let day = t.date_naive().num_days_from_ce();
        match self {
            Period::Hour => (day, t.hour()),
            Period::Day => (day, 0),
            Period::Week => (t.iso_week().year(), t.iso_week().week()),
            Period::Month => (t.year(), t.month()),
            Period::Year => (t.year(), 0),
        }
    }
}

/// A length of calendar time such as `30d`, `12w`, `1y2m` or `36h`: numbers with the units y
/// (years), m (months), w (weeks), d (days) and h (hours), each unit at most once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub years: u32,
    pub months: u32,
    pub weeks: u32,
    pub days: u32,
    pub hours: u32,
}

impl Span {
    pub fn is_zero(&self) -> bool {
        *self == Span::default()
    }

    /// The instant `self` before `t`, counted on the calendar of `tz`: years and months first
    /// (a day the shorter month lacks becomes its last day: 31 March less a month is 28 or 29
    /// February), then weeks and days on the wall clock, then hours of elapsed time. None when
    /// that lies outside the calendar's range, which callers read as "no limit".
    pub fn before<Z: TimeZone>(&self, t: &DateTime<Utc>, tz: &Z) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(tz);
        let months = self.years.checked_mul(12)?.checked_add(self.months)?;
        let days = u64::from(self.weeks) * 7 + u64::from(self.days);
        let wall = local
            .naive_local()
            .checked_sub_months(Months::new(months))?
            .checked_sub_days(Days::new(days))?;
        let at = match tz.from_local_datetime(&wall) {
            // A wall-clock time that happened twice (clocks went back): the earlier one, so the
            // span is the longer and keeps more.
            chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => {
                x.with_timezone(&Utc)
            }
            // One that never happened (clocks went forward): read with the offset `t` has.
            chrono::LocalResult::None => local
                .offset()
                .fix()
                .from_local_datetime(&wall)
                .single()?
                .with_timezone(&Utc),
        };
        at.checked_sub_signed(TimeDelta::try_hours(i64::from(self.hours))?)
    }
}

impl std::str::FromStr for Span {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::Invalid(format!(
                "duration {s:?}: {why} (numbers with units y, m, w, d, h: 30d, 12w, 1y2m, 36h)"
            ))
        };
        if s.is_empty() {
            return Err(bad("empty"));
        }
        let mut span = Span::default();
        let mut seen = String::new();
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return Err(bad("a unit without a number before it"));
            }
            let n: u32 = rest[..digits]
                .parse()
                .map_err(|_| bad("a number too large"))?;
            let unit = rest[digits..]
                .chars()
                .next()
                .ok_or_else(|| bad("a number without a unit"))?;
            let field = match unit {
                'y' => &mut span.years,
                'm' => &mut span.months,
                'w' => &mut span.weeks,
                'd' => &mut span.days,
                'h' => &mut span.hours,
                _ => return Err(bad(&format!("unknown unit {unit:?}"))),
            };
            if seen.contains(unit) {
                return Err(bad(&format!("unit {unit:?} given twice")));
            }
            seen.push(unit);
            *field = n;
            rest = &rest[digits + unit.len_utf8()..];
        }
        Ok(span)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0d");
        }
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.weeks, 'w'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// What to keep. A count of 0 and a zero span are rules that keep nothing; a policy made only
/// of those (or of nothing) `is_empty`, and callers must not apply it to delete: it keeps no
/// snapshot at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// The newest `last` snapshots.
    pub last: u32,
    /// The newest snapshot of each of the newest `n` hours (days, …) that have one.
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
    /// Every snapshot younger than this, relative to the newest.
    pub within: Option<Span>,
    /// The newest snapshot of each hour (day, …) younger than this, relative to the newest.
    pub within_hourly: Option<Span>,
    pub within_daily: Option<Span>,
    pub within_weekly: Option<Span>,
    pub within_monthly: Option<Span>,
    pub within_yearly: Option<Span>,
    /// Every snapshot with one of these tags.
    pub tags: Vec<String>,
}

impl Policy {
    /// The counted rules, in the order reasons are listed.
    pub fn counts(&self) -> [(Period, u32); 5] {
        [
            (Period::Hour, self.hourly),
            (Period::Day, self.daily),
            (Period::Week, self.weekly),
            (Period::Month, self.monthly),
            (Period::Year, self.yearly),
        ]
    }

    /// The `within-*` rules, in the order reasons are listed.
    pub fn within_periods(&self) -> [(Period, Option<Span>); 5] {
        [
            (Period::Hour, self.within_hourly),
            (Period::Day, self.within_daily),
            (Period::Week, self.within_weekly),
            (Period::Month, self.within_monthly),
            (Period::Year, self.within_yearly),
        ]
    }

    /// True when no rule can keep anything.
    pub fn is_empty(&self) -> bool {
        let live = |s: &Option<Span>| s.is_some_and(|s| !s.is_zero());
        self.last == 0
            && self.counts().iter().all(|(_, n)| *n == 0)
            && !live(&self.within)
            && self.within_periods().iter().all(|(_, s)| !live(s))
            && self.tags.is_empty()
    }
}

/// Why a snapshot is kept: one rule and, for rules that fill buckets, which bucket (1 is the
/// newest one that rule filled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// `last n`: the n-th newest snapshot.
    Last(u32),
    /// `daily n` (and hourly, weekly, …): the newest of the n-th newest day with a snapshot.
    Every(Period, u32),
    /// `within 30d`: younger than that.
    Within(Span),
    /// `within-daily n` (…): the newest of the n-th newest day inside the rule's span.
    WithinEvery(Period, u32),
    /// `tag x`: it has tag x.
    Tag(String),
}

impl Reason {
    /// The rule's name, as in its flag without `--keep-`.
    pub fn rule(&self) -> String {
        match self {
            Reason::Last(_) => "last".into(),
            Reason::Every(p, _) => p.adjective().into(),
            Reason::Within(_) => "within".into(),
            Reason::WithinEvery(p, _) => format!("within-{}", p.adjective()),
            Reason::Tag(_) => "tag".into(),
        }
    }

    /// The bucket it filled, for bucket rules.
    pub fn bucket(&self) -> Option<u32> {
        match self {
            Reason::Last(n) | Reason::Every(_, n) | Reason::WithinEvery(_, n) => Some(*n),
            Reason::Within(_) | Reason::Tag(_) => None,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Within(s) => write!(f, "within {s}"),
            Reason::Tag(t) => write!(f, "tag {t}"),
            r => write!(f, "{} {}", r.rule(), r.bucket().unwrap_or_default()),
        }
    }
}

/// What the policy decided for one snapshot.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub snapshot: &'a SnapshotRef,
    pub keep: bool,
    /// Every rule that keeps it, in the order of `Reason`'s variants; empty when removed.
    pub reasons: Vec<Reason>,
}

/// One bucket rule while the snapshots are walked from the newest.
struct Bucketer {
    /// None: `last`, where every snapshot is a bucket of its own.
    period: Option<Period>,
    /// Buckets still to fill; None for the `within-*` rules, bounded by `after` instead.
    left: Option<u32>,
    /// Only snapshots after this count (`within-*`); None: no limit.
    after: Option<DateTime<Utc>>,
    within: bool,
    filled: u32,
    last_key: Option<(i32, u32)>,
}

impl Bucketer {
    /// Offers the next (older) snapshot; returns the reason when it fills a new bucket.
    fn offer<Z: TimeZone>(&mut self, n: usize, t: &DateTime<Z>) -> Option<Reason> {
        if self.left == Some(0) || self.after.is_some_and(|a| t.with_timezone(&Utc) <= a) {
            return None;
        }
        let key = match self.period {
            Some(p) => p.key(t),
            None => (i32::try_from(n).unwrap_or(i32::MAX), 0),
        };
        // Newest first: the first snapshot met in a bucket is that bucket's newest.
        if self.last_key == Some(key) {
            return None;
        }
        self.last_key = Some(key);
        self.filled += 1;
        if let Some(l) = &mut self.left {
            *l -= 1;
        }
        Some(match (self.period, self.within) {
            (None, _) => Reason::Last(self.filled),
            (Some(p), false) => Reason::Every(p, self.filled),
            (Some(p), true) => Reason::WithinEvery(p, self.filled),
        })
    }
}

/// Applies `policy` to one group of snapshots, with calendar periods in `tz`. Returns a
/// decision for every snapshot, newest first. Of two snapshots with the same time the one with
/// the larger id counts as the newer, as for `latest`. A policy that `is_empty` keeps nothing.
pub fn apply<'a, Z: TimeZone>(
    snaps: &'a [SnapshotRef],
    policy: &Policy,
    tz: &Z,
) -> Vec<Decision<'a>> {
    let mut order: Vec<&SnapshotRef> = snaps.iter().collect();
    order.sort_by_key(|s| std::cmp::Reverse((s.snap.time, s.id)));
    let Some(newest) = order.first().map(|s| s.snap.time) else {
        return Vec::new();
    };
    let cutoff = |s: &Span| s.before(&newest, tz);
    let mut rules = Vec::new();
    if policy.last > 0 {
        rules.push(Bucketer {
            period: None,
            left: Some(policy.last),
            after: None,
            within: false,
            filled: 0,
            last_key: None,
        });
    }
    for (p, n) in policy.counts() {
        if n > 0 {
            rules.push(Bucketer {
                period: Some(p),
                left: Some(n),
                after: None,
                within: false,
                filled: 0,
                last_key: None,
            });
        }
    }
    let within = policy.within.filter(|s| !s.is_zero());
    let within_after = within.map(|s| cutoff(&s));
    let mut within_rules = Vec::new();
    for (p, s) in policy.within_periods() {
        if let Some(s) = s.filter(|s| !s.is_zero()) {
            within_rules.push(Bucketer {
                period: Some(p),
                left: None,
                after: cutoff(&s),
                within: true,
                filled: 0,
                last_key: None,
            });
        }
    }
    order
        .into_iter()
        .enumerate()
        .map(|(n, s)| {
            let t = s.snap.time.with_timezone(tz);
            let mut reasons: Vec<Reason> =
                rules.iter_mut().filter_map(|r| r.offer(n, &t)).collect();
            if let (Some(span), Some(after)) = (within, within_after) {
                if after.is_none_or(|a| s.snap.time > a) {
                    reasons.push(Reason::Within(span));
                }
            }
            reasons.extend(within_rules.iter_mut().filter_map(|r| r.offer(n, &t)));
            reasons.extend(
                policy
                    .tags
                    .iter()
                    .filter(|t| s.snap.tags.contains(t))
                    .map(|t| Reason::Tag(t.clone())),
            );
            Decision {
                snapshot: s,
                keep: !reasons.is_empty(),
                reasons,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::format::snapshot::{BackupType, Snapshot, Summary};
    use crate::id::Id;

    /// A snapshot from `2027-01-31T23:30` (UTC), optionally `#09` (its id, one hex byte
    /// repeated; otherwise one from its position), then optionally ` tag1,tag2`.
    fn snap(spec: &str, n: usize) -> SnapshotRef {
        let mut parts = spec.split_whitespace();
        let label = parts.next().unwrap();
        let (time, id) = match label.split_once('#') {
            Some((t, id)) => (t, Id([u8::from_str_radix(id, 16).unwrap(); 32])),
            None => {
                let mut b = [0u8; 32];
                b[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
                (label, Id(b))
            }
        };
        let time = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H:%M")
            .unwrap_or_else(|e| panic!("{spec}: {e}"))
            .and_utc();
        SnapshotRef {
            id,
            snap: Snapshot {
                version: 1,
                time,
                host: "h".into(),
                user: "u".into(),
                paths: vec!["/data".into()],
                tags: parts
                    .next()
                    .map(|t| t.split(',').map(String::from).collect())
                    .unwrap_or_default(),
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

    /// `last=3 daily=2 within=30d within-daily=7d tag=x …`
    fn policy(s: &str) -> Policy {
        let mut p = Policy::default();
        for kv in s.split_whitespace() {
            let (k, v) = kv.split_once('=').unwrap();
            let n = || v.parse::<u32>().unwrap();
            let span = || Some(v.parse::<Span>().unwrap());
            match k {
                "last" => p.last = n(),
                "hourly" => p.hourly = n(),
                "daily" => p.daily = n(),
                "weekly" => p.weekly = n(),
                "monthly" => p.monthly = n(),
                "yearly" => p.yearly = n(),
                "within" => p.within = span(),
                "within-hourly" => p.within_hourly = span(),
                "within-daily" => p.within_daily = span(),
                "within-weekly" => p.within_weekly = span(),
                "within-monthly" => p.within_monthly = span(),
                "within-yearly" => p.within_yearly = span(),
                "tag" => p.tags.push(v.into()),
                _ => panic!("unknown rule {k}"),
            }
        }
        p
    }

    /// `n` snapshots `step` days apart from `first` (`2027-01-01T02:00`).
    fn series(first: &str, n: usize, step: u64) -> Vec<String> {
        let t0 = chrono::NaiveDateTime::parse_from_str(first, "%Y-%m-%dT%H:%M").unwrap();
        (0..n as u64)
            .map(|i| {
                (t0 + Days::new(i * step))
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .collect()
    }

    /// Every label kept for the same reason.
    fn all(labels: &[&str], reason: &str) -> Vec<String> {
        labels.iter().map(|l| format!("{l}: {reason}")).collect()
    }

    /// Labels listed oldest first, kept as buckets `rule n`, n = 1 for the newest.
    fn numbered(labels: &[&str], rule: &str) -> Vec<String> {
        let k = labels.len();
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{l}: {rule} {}", k - i))
            .collect()
    }

    struct Case {
        name: &'static str,
        tz: &'static str,
        policy: &'static str,
        snaps: Vec<String>,
        /// `label: reasons` of every snapshot kept; every other one is removed.
        keep: Vec<String>,
    }

    fn case(
        name: &'static str,
        tz: &'static str,
        policy: &'static str,
        snaps: &[&str],
        keep: &[&str],
    ) -> Case {
        Case {
            name,
            tz,
            policy,
            snaps: snaps.iter().map(|s| s.to_string()).collect(),
            keep: keep.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn days(from: &str, n: usize) -> Vec<String> {
        series(from, n, 1)
    }

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    fn cases() -> Vec<Case> {
        let daily45 = days("2027-01-01T02:00", 45);
        let sundays20 = series("2027-01-03T01:00", 20, 7);
        let first_sundays = [
            "2027-01-03T00:00",
            "2027-02-07T00:00",
            "2027-03-07T00:00",
            "2027-04-04T00:00",
            "2027-05-02T00:00",
            "2027-06-06T00:00",
            "2027-07-04T00:00",
            "2027-08-01T00:00",
            "2027-09-05T00:00",
            "2027-10-03T00:00",
            "2027-11-07T00:00",
            "2027-12-05T00:00",
            "2028-01-02T00:00",
            "2028-02-06T00:00",
            "2028-03-05T00:00",
            "2028-04-02T00:00",
            "2028-05-07T00:00",
            "2028-06-04T00:00",
        ];
        let twice_daily: Vec<String> = days("2027-01-01T06:00", 10)
            .into_iter()
            .chain(days("2027-01-01T18:00", 10))
            .collect();
        let mut shuffled = days("2027-01-01T02:00", 6);
        shuffled.reverse();
        shuffled.swap(1, 4);
        let mut v = vec![
            // The specification's three policies.
            Case {
                name: "spec: daily backups kept 30 days (--keep-within 30d)",
                tz: "UTC",
                policy: "within=30d",
                snaps: daily45.clone(),
                // Newest 14 Feb 02:00; 15 Jan 02:00 is exactly 30 days older: not younger.
                keep: all(&refs(&days("2027-01-16T02:00", 30)), "within 30d"),
            },
            Case {
                name: "spec: weekly fulls kept 12 weeks (--keep-within 12w)",
                tz: "UTC",
                policy: "within=12w",
                snaps: sundays20.clone(),
                keep: all(&refs(&series("2027-02-28T01:00", 12, 7)), "within 12w"),
            },
            Case {
                name: "spec: weekly fulls kept 12 weeks (--keep-weekly 12 keeps the same)",
                tz: "UTC",
                policy: "weekly=12",
                snaps: sundays20.clone(),
                keep: numbered(&refs(&series("2027-02-28T01:00", 12, 7)), "weekly"),
            },
            Case {
                name: "spec: monthly fulls kept 12 months (--keep-monthly 12)",
                tz: "UTC",
                policy: "monthly=12",
                snaps: first_sundays.iter().map(|s| s.to_string()).collect(),
                keep: numbered(&first_sundays[6..], "monthly"),
            },
            case("an empty group decides nothing", "UTC", "last=3", &[], &[]),
            case(
                "one snapshot, keep-last 1",
                "UTC",
                "last=1",
                &["2027-01-01T02:00"],
                &["2027-01-01T02:00: last 1"],
            ),
            case(
                "keep-last counts from the newest",
                "UTC",
                "last=3",
                &refs(&days("2027-01-01T02:00", 5)),
                &[
                    "2027-01-05T02:00: last 1",
                    "2027-01-04T02:00: last 2",
                    "2027-01-03T02:00: last 3",
                ],
            ),
            case(
                "keep-last larger than the group keeps all",
                "UTC",
                "last=10",
                &["2027-01-01T02:00", "2027-01-02T02:00"],
                &["2027-01-02T02:00: last 1", "2027-01-01T02:00: last 2"],
            ),
            case(
                "a rule of 0 keeps nothing",
                "UTC",
                "daily=0 within=0d",
                &["2027-01-01T02:00", "2027-01-02T02:00"],
                &[],
            ),
            case(
                "two the same day: the newest is the day's",
                "UTC",
                "daily=2",
                &["2027-01-01T23:00", "2027-01-02T08:00", "2027-01-02T22:00"],
                &["2027-01-02T22:00: daily 1", "2027-01-01T23:00: daily 2"],
            ),
            case(
                "two at the same time: the larger id is the newer",
                "UTC",
                "daily=1",
                &["2027-01-01T02:00#09", "2027-01-01T02:00#07"],
                &["2027-01-01T02:00#09: daily 1"],
            ),
            case(
                "same-time tie under keep-last",
                "UTC",
                "last=1",
                &["2027-01-01T02:00#07", "2027-01-01T02:00#09"],
                &["2027-01-01T02:00#09: last 1"],
            ),
            case(
                "hourly buckets",
                "UTC",
                "hourly=3",
                &[
                    "2027-01-01T10:05",
                    "2027-01-01T10:40",
                    "2027-01-01T11:10",
                    "2027-01-01T12:00",
                    "2027-01-01T13:30",
                ],
                &[
                    "2027-01-01T13:30: hourly 1",
                    "2027-01-01T12:00: hourly 2",
                    "2027-01-01T11:10: hourly 3",
                ],
            ),
            case(
                "ISO week 53 of 2026 runs into 2027",
                "UTC",
                "weekly=2",
                &[
                    "2026-12-31T12:00",
                    "2027-01-01T12:00",
                    "2027-01-03T12:00",
                    "2027-01-04T12:00",
                ],
                &["2027-01-04T12:00: weekly 1", "2027-01-03T12:00: weekly 2"],
            ),
            case(
                "ISO week 1 of 2025 starts in 2024",
                "UTC",
                "weekly=2",
                &["2024-12-29T12:00", "2024-12-30T12:00", "2025-01-02T12:00"],
                &["2025-01-02T12:00: weekly 1", "2024-12-29T12:00: weekly 2"],
            ),
            case(
                "month boundary",
                "UTC",
                "monthly=2",
                &[
                    "2027-01-31T23:59",
                    "2027-02-01T00:00",
                    "2027-02-28T12:00",
                    "2027-03-01T00:00",
                ],
                &["2027-03-01T00:00: monthly 1", "2027-02-28T12:00: monthly 2"],
            ),
            case(
                "year boundary",
                "UTC",
                "yearly=2",
                &["2026-12-31T23:59", "2027-01-01T00:00", "2027-06-01T00:00"],
                &["2027-06-01T00:00: yearly 1", "2026-12-31T23:59: yearly 2"],
            ),
            case(
                "Feb 29 is a day of its own and February's newest",
                "UTC",
                "daily=3 monthly=2",
                &["2028-02-28T12:00", "2028-02-29T12:00", "2028-03-01T12:00"],
                &[
                    "2028-03-01T12:00: daily 1, monthly 1",
                    "2028-02-29T12:00: daily 2, monthly 2",
                    "2028-02-28T12:00: daily 3",
                ],
            ),
            case(
                "rules add up: every rule that keeps a snapshot is named",
                "UTC",
                "daily=3 weekly=2 monthly=2",
                &refs(&days("2027-01-25T02:00", 10)),
                &[
                    "2027-02-03T02:00: daily 1, weekly 1, monthly 1",
                    "2027-02-02T02:00: daily 2",
                    "2027-02-01T02:00: daily 3",
                    "2027-01-31T02:00: weekly 2, monthly 2",
                ],
            ),
            case(
                "keep-last and daily on the same snapshot",
                "UTC",
                "last=1 daily=2",
                &["2027-01-01T02:00", "2027-01-02T02:00", "2027-01-02T03:00"],
                &[
                    "2027-01-02T03:00: last 1, daily 1",
                    "2027-01-01T02:00: daily 2",
                ],
            ),
            case(
                "keep-within: exactly the span is not younger than it",
                "UTC",
                "within=10d",
                &["2027-01-31T02:00", "2027-01-31T02:01", "2027-02-10T02:00"],
                &[
                    "2027-02-10T02:00: within 10d",
                    "2027-01-31T02:01: within 10d",
                ],
            ),
            case(
                "keep-within a month from 31 March reaches 28 February",
                "UTC",
                "within=1m",
                &["2027-02-28T12:00", "2027-02-28T12:01", "2027-03-31T12:00"],
                &["2027-03-31T12:00: within 1m", "2027-02-28T12:01: within 1m"],
            ),
            case(
                "keep-within a year from Feb 29 reaches Feb 28",
                "UTC",
                "within=1y",
                &[
                    "2027-02-28T11:00",
                    "2027-02-28T12:00",
                    "2027-02-28T13:00",
                    "2028-02-29T12:00",
                ],
                &["2028-02-29T12:00: within 1y", "2027-02-28T13:00: within 1y"],
            ),
            case(
                "keep-within combined units 1y2m",
                "UTC",
                "within=1y2m",
                &["2027-03-14T23:00", "2027-03-15T01:00", "2028-05-15T00:00"],
                &[
                    "2028-05-15T00:00: within 1y2m",
                    "2027-03-15T01:00: within 1y2m",
                ],
            ),
            case(
                "keep-within hours",
                "UTC",
                "within=36h",
                &["2027-01-02T00:00", "2027-01-02T00:01", "2027-01-03T12:00"],
                &[
                    "2027-01-03T12:00: within 36h",
                    "2027-01-02T00:01: within 36h",
                ],
            ),
            Case {
                name: "keep-within-daily: the newest of each day within 7 days",
                tz: "UTC",
                policy: "within-daily=7d",
                snaps: twice_daily,
                // Newest 10 Jan 18:00; 3 Jan 18:00 is exactly 7 days older.
                keep: numbered(&refs(&days("2027-01-04T18:00", 7)), "within-daily"),
            },
            case(
                "keep-within-hourly",
                "UTC",
                "within-hourly=2h",
                &[
                    "2027-01-01T10:00",
                    "2027-01-01T10:30",
                    "2027-01-01T11:15",
                    "2027-01-01T11:45",
                    "2027-01-01T12:10",
                ],
                &[
                    "2027-01-01T12:10: within-hourly 1",
                    "2027-01-01T11:45: within-hourly 2",
                    "2027-01-01T10:30: within-hourly 3",
                ],
            ),
            Case {
                name: "keep-within-weekly: ISO weeks within 4 weeks",
                tz: "UTC",
                policy: "within-weekly=4w",
                snaps: daily45.clone(),
                keep: vec![
                    "2027-02-14T02:00: within-weekly 1".into(),
                    "2027-02-07T02:00: within-weekly 2".into(),
                    "2027-01-31T02:00: within-weekly 3".into(),
                    "2027-01-24T02:00: within-weekly 4".into(),
                ],
            },
            case(
                "keep-within-monthly and -yearly",
                "UTC",
                "within-monthly=3m within-yearly=2y",
                &[
                    "2026-10-15T12:00",
                    "2026-11-20T12:00",
                    "2026-12-31T12:00",
                    "2027-01-10T12:00",
                    "2027-01-20T12:00",
                ],
                &[
                    "2027-01-20T12:00: within-monthly 1, within-yearly 1",
                    "2026-12-31T12:00: within-monthly 2, within-yearly 2",
                    "2026-11-20T12:00: within-monthly 3",
                ],
            ),
            case(
                "keep-weekly reaches past a gap, keep-within does not",
                "UTC",
                "weekly=3",
                &[
                    "2027-01-03T01:00",
                    "2027-01-10T01:00",
                    "2027-01-17T01:00",
                    "2027-02-14T01:00",
                    "2027-02-21T01:00",
                ],
                &[
                    "2027-02-21T01:00: weekly 1",
                    "2027-02-14T01:00: weekly 2",
                    "2027-01-17T01:00: weekly 3",
                ],
            ),
            case(
                "keep-within after the same gap",
                "UTC",
                "within=3w",
                &[
                    "2027-01-03T01:00",
                    "2027-01-10T01:00",
                    "2027-01-17T01:00",
                    "2027-02-14T01:00",
                    "2027-02-21T01:00",
                ],
                &["2027-02-21T01:00: within 3w", "2027-02-14T01:00: within 3w"],
            ),
            case(
                "keep-tag keeps every snapshot with the tag",
                "UTC",
                "tag=keep",
                &[
                    "2027-01-01T02:00 keep",
                    "2027-01-02T02:00 other",
                    "2027-01-03T02:00 other,keep",
                    "2027-01-04T02:00",
                ],
                &["2027-01-03T02:00: tag keep", "2027-01-01T02:00: tag keep"],
            ),
            case(
                "keep-tag names each tag that keeps",
                "UTC",
                "last=1 tag=a tag=b",
                &["2027-01-01T02:00 a,b", "2027-01-02T02:00 b"],
                &[
                    "2027-01-02T02:00: last 1, tag b",
                    "2027-01-01T02:00: tag a, tag b",
                ],
            ),
            case(
                "keep-tag that no snapshot has keeps none",
                "UTC",
                "tag=x",
                &["2027-01-01T02:00 a", "2027-01-02T02:00"],
                &[],
            ),
            // Time zones.
            case(
                "UTC: 23:30 on 31 Jan and 05:00 on 1 Feb are two months",
                "UTC",
                "monthly=2",
                &["2027-01-31T23:30", "2027-02-01T05:00"],
                &["2027-02-01T05:00: monthly 1", "2027-01-31T23:30: monthly 2"],
            ),
            case(
                "Auckland: both are in February",
                "Pacific/Auckland",
                "monthly=2",
                &["2027-01-31T23:30", "2027-02-01T05:00"],
                &["2027-02-01T05:00: monthly 1"],
            ),
            case(
                "UTC: 03:00 and 15:00 on 10 March are one day",
                "UTC",
                "daily=2",
                &["2027-03-10T03:00", "2027-03-10T15:00"],
                &["2027-03-10T15:00: daily 1"],
            ),
            case(
                "New York: 03:00 UTC is the evening before",
                "America/New_York",
                "daily=2",
                &["2027-03-10T03:00", "2027-03-10T15:00"],
                &["2027-03-10T15:00: daily 1", "2027-03-10T03:00: daily 2"],
            ),
            case(
                "Tokyo: 23:00 UTC on 31 Dec is already the new year",
                "Asia/Tokyo",
                "yearly=2",
                &["2026-12-31T23:00", "2027-01-01T05:00"],
                &["2027-01-01T05:00: yearly 1"],
            ),
            case(
                "New York: the hour repeated when clocks go back is one hour",
                "America/New_York",
                "hourly=3",
                &["2027-11-07T05:30", "2027-11-07T06:30", "2027-11-07T07:30"],
                &["2027-11-07T07:30: hourly 1", "2027-11-07T06:30: hourly 2"],
            ),
            case(
                "UTC: a day back from noon is noon",
                "UTC",
                "within=1d",
                &["2027-03-27T12:30", "2027-03-27T13:30", "2027-03-28T12:00"],
                &[
                    "2027-03-28T12:00: within 1d",
                    "2027-03-27T13:30: within 1d",
                    "2027-03-27T12:30: within 1d",
                ],
            ),
            case(
                "Berlin: a day back over the clock change is 23 hours",
                "Europe/Berlin",
                "within=1d",
                &["2027-03-27T12:30", "2027-03-27T13:30", "2027-03-28T12:00"],
                &["2027-03-28T12:00: within 1d", "2027-03-27T13:30: within 1d"],
            ),
        ];
        v.push(Case {
            name: "input order does not matter",
            tz: "UTC",
            policy: "last=2",
            snaps: shuffled,
            keep: vec![
                "2027-01-06T02:00: last 1".into(),
                "2027-01-05T02:00: last 2".into(),
            ],
        });
        v
    }

    /// Every case is checked, and every failing one reported, before the test fails.
    #[test]
    fn table() {
        let cases = cases();
        assert!(cases.len() >= 30, "{} cases", cases.len());
        let mut failed = Vec::new();
        for c in &cases {
            let tz: chrono_tz::Tz = c.tz.parse().unwrap();
            let snaps: Vec<SnapshotRef> = c
                .snaps
                .iter()
                .enumerate()
                .map(|(i, s)| snap(s, i))
                .collect();
            let label: HashMap<Id, &str> = snaps
                .iter()
                .zip(&c.snaps)
                .map(|(r, s)| (r.id, s.split_whitespace().next().unwrap()))
                .collect();
            let d = apply(&snaps, &policy(c.policy), &tz);
            assert_eq!(d.len(), snaps.len(), "{}", c.name);
            assert!(
                d.windows(2)
                    .all(|w| (w[0].snapshot.snap.time, w[0].snapshot.id)
                        > (w[1].snapshot.snap.time, w[1].snapshot.id)),
                "{}: not newest first",
                c.name
            );
            for x in &d {
                assert_eq!(x.keep, !x.reasons.is_empty(), "{}", c.name);
            }
            let got: Vec<String> = d
                .iter()
                .filter(|x| x.keep)
                .map(|x| {
                    let r: Vec<String> = x.reasons.iter().map(|r| r.to_string()).collect();
                    format!("{}: {}", label[&x.snapshot.id], r.join(", "))
                })
                .collect();
            let mut want = c.keep.clone();
            // Expectations are listed newest first or (for generated runs) oldest first.
            want.sort_by(|a, b| b.cmp(a));
            if got != want {
                failed.push(format!(
                    "{}:\n  kept     {got:?}\n  expected {want:?}",
                    c.name
                ));
            }
        }
        assert!(
            failed.is_empty(),
            "{} of {} cases failed:\n{}",
            failed.len(),
            cases.len(),
            failed.join("\n")
        );
    }

    #[test]
    fn spans_parse_and_print() {
        let ok = [
            ("30d", "30d"),
            ("12w", "12w"),
            ("1y2m", "1y2m"),
            ("36h", "36h"),
            ("2m1y", "1y2m"),
            ("1y2m3w4d5h", "1y2m3w4d5h"),
            ("0d", "0d"),
        ];
        for (s, shown) in ok {
            let span: Span = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(span.to_string(), shown);
        }
        assert_eq!(
            "1y2m".parse::<Span>().unwrap(),
            Span {
                years: 1,
                months: 2,
                ..Span::default()
            }
        );
        for bad in [
            "",
            "30",
            "d",
            "3x",
            "1d2d",
            "30 d",
            "-1d",
            "99999999999d",
            "1.5d",
        ] {
            assert!(
                matches!(bad.parse::<Span>(), Err(Error::Invalid(_))),
                "{bad:?} parsed"
            );
        }
    }

    #[test]
    fn a_policy_of_zeros_and_empty_spans_is_empty() {
        assert!(Policy::default().is_empty());
        assert!(policy("last=0 daily=0 within=0d within-daily=0h").is_empty());
        for p in [
            "last=1",
            "yearly=1",
            "within=1h",
            "within-weekly=1w",
            "tag=x",
        ] {
            assert!(!policy(p).is_empty(), "{p}");
        }
    }

    #[test]
    fn a_span_beyond_the_calendar_limits_nothing() {
        let snaps = [snap("2027-01-01T02:00", 0), snap("0001-01-01T00:00", 1)];
        let d = apply(&snaps, &policy("within=4000000000y"), &Utc);
        assert!(d.iter().all(|x| x.keep));
    }
}
