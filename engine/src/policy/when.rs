//! Times as a user types them for `--at` and `--from`: RFC 3339, a date with or without a time
//! of day (read in the local zone), or relative to now (`2h ago`, `yesterday 14:00`,
//! `tuesday`). Pure: `now`, in the zone local times are read in, is an argument.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// A parsed time, and whether it was read in the local zone (a command says so when it
/// reports what it chose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    pub utc: DateTime<Utc>,
    pub local: bool,
}

const FORMS: &str = "RFC 3339, \"YYYY-MM-DD[ HH:MM[:SS]]\" (local time), \"now\", \"N units ago\" \
(s, min, h, d, w), or \"today\", \"yesterday\" or a weekday, each with an optional HH:MM[:SS]";

/// Reads `s` relative to `now`; local forms in `now`'s zone. A date without a time of day
/// means the end of that day ("what did I have on the 20th"), a weekday the most recent such
/// day up to today.
pub fn parse<Z: TimeZone>(s: &str, now: DateTime<Z>) -> Result<When, String> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let utc = |t: DateTime<Utc>, local| Ok(When { utc: t, local });
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return utc(t.with_timezone(&Utc), false);
    }
    if lower == "now" {
        return utc(now.with_timezone(&Utc), false);
    }
    if let Some(span) = lower.strip_suffix(" ago") {
        return utc(now.with_timezone(&Utc) - ago(span.trim())?, false);
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return local(&now.timezone(), n);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return local(&now.timezone(), d.and_time(end_of_day()));
    }
    let (day, time) = match lower.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (lower.as_str(), None),
    };
    let today = now.date_naive();
    let date = match day {
        "today" => today,
        "yesterday" => today - Duration::days(1),
        w => match w.parse::<chrono::Weekday>() {
            Ok(wd) => {
                let back =
                    (7 + today.weekday().num_days_from_monday() - wd.num_days_from_monday()) % 7;
                today - Duration::days(i64::from(back))
            }
            Err(_) => return Err(format!("cannot read time {s:?}: use {FORMS}")),
        },
    };
    let time = match time {
        None => end_of_day(),
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .map_err(|_| format!("cannot read time of day {t:?} in {s:?} (HH:MM[:SS])"))?,
    };
    local(&now.timezone(), date.and_time(time))
}

fn end_of_day() -> NaiveTime {
    NaiveTime::from_hms_opt(23, 59, 59).expect("a valid time")
}

fn local<Z: TimeZone>(tz: &Z, n: NaiveDateTime) -> Result<When, String> {
    match tz.from_local_datetime(&n) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => Ok(When {
            utc: t.with_timezone(&Utc),
            local: true,
        }),
        chrono::LocalResult::None => Err(format!("{n} does not exist in the local time zone")),
    }
}

/// `2h`, `2 h`, `90 min`, `3 days`, `1 week`.
fn ago(span: &str) -> Result<Duration, String> {
    let digits = span.chars().take_while(char::is_ascii_digit).count();
    let (n, unit) = span.split_at(digits);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{span:?} ago: a number, then a unit (s, min, h, d, w)"))?;
    let d = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => Duration::try_seconds(n),
        "min" | "mins" | "minute" | "minutes" => Duration::try_minutes(n),
        "h" | "hour" | "hours" => Duration::try_hours(n),
        "d" | "day" | "days" => Duration::try_days(n),
        "w" | "week" | "weeks" => Duration::try_weeks(n),
        u => {
            return Err(format!(
                "{span:?} ago: unknown unit {u:?} (s, min, h, d, w)"
            ))
        }
    };
    d.ok_or_else(|| format!("{span:?} ago: too long"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn absolute_relative_and_named_days() {
        // Saturday 28 November 2026, 15:30 at UTC+1.
        let tz = FixedOffset::east_opt(3600).unwrap();
        let now = tz.with_ymd_and_hms(2026, 11, 28, 15, 30, 0).unwrap();
        let at = |s: &str| parse(s, now).unwrap();
        let u = |d, h, m, s| Utc.with_ymd_and_hms(2026, 11, d, h, m, s).unwrap();
        assert_eq!(
            at("2026-11-20T02:00:00Z"),
            When {
                utc: u(20, 2, 0, 0),
                local: false
            }
        );
        assert_eq!(
            at("2026-11-20 03:00"),
            When {
                utc: u(20, 2, 0, 0),
                local: true
            }
        );
        assert_eq!(at("2026-11-20").utc, u(20, 22, 59, 59));
        assert_eq!(at("now").utc, u(28, 14, 30, 0));
        assert_eq!(at("2h ago").utc, u(28, 12, 30, 0));
        assert_eq!(at("90 min ago").utc, u(28, 13, 0, 0));
        assert_eq!(at("3 days ago").utc, u(25, 14, 30, 0));
        assert_eq!(at("1 week ago").utc, u(21, 14, 30, 0));
        assert_eq!(
            at("yesterday 14:00"),
            When {
                utc: u(27, 13, 0, 0),
                local: true
            }
        );
        assert_eq!(at("Yesterday").utc, u(27, 22, 59, 59));
        assert_eq!(at("today 08:15:30").utc, u(28, 7, 15, 30));
        // A weekday: the most recent one up to today (today itself when it is that day).
        assert_eq!(at("tuesday").utc, u(24, 22, 59, 59));
        assert_eq!(at("saturday 09:00").utc, u(28, 8, 0, 0));
        assert_eq!(at("sun 01:00").utc, u(22, 0, 0, 0));
        for bad in [
            "",
            "soon",
            "2 fortnights ago",
            "x ago",
            "yesterday 25:00",
            "2026-13-01",
        ] {
            assert!(parse(bad, now).is_err(), "{bad}");
        }
        assert!(parse("tomorrow", now).unwrap_err().contains("RFC 3339"));
    }
}
