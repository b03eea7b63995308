//! Schedules: when a job runs. A cron expression (evaluated by `croner`, with the nth-weekday
//! form `SUN#1` the specification's monthly job needs) in a time zone, UTC unless the job names
//! one. Pure: every answer is computed from a given instant, never from the clock.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    tz: Tz,
    text: String,
}

impl PartialEq for Schedule {
    fn eq(&self, o: &Self) -> bool {
        self.text == o.text && self.tz == o.tz
    }
}

impl Schedule {
    /// Parses a five-field cron expression (minute hour day-of-month month day-of-week) to be
    /// read in `tz`, or a six-field one whose first field is the second (for jobs run more
    /// often than every minute: tests, mostly). The error says what is wrong in words.
    pub fn parse(expr: &str, tz: Tz) -> Result<Schedule, String> {
        let fields = expr.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(format!(
                "{expr:?}: a schedule has 5 fields (minute hour day month weekday), this has {fields}"
            ));
        }
        let parser = croner::parser::CronParser::builder()
            .seconds(if fields == 6 {
                croner::parser::Seconds::Required
            } else {
                croner::parser::Seconds::Disallowed
            })
            .build();
        let cron = parser.parse(expr).map_err(|e| format!("{expr:?}: {e}"))?;
        let s = Schedule {
            cron,
            tz,
            text: expr.to_string(),
        };
        // A pattern such as "0 0 30 2 *" parses but never fires.
        let probe = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        if s.next_after(probe)
            .is_none_or(|t| t - probe > Duration::days(366 * 8))
        {
            return Err(format!("{expr:?}: never runs"));
        }
        Ok(s)
    }

    /// The zone the schedule is read in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|n| n.with_timezone(&Utc))
    }

    /// Every run in (`from`, `to`].
    pub fn runs(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = from;
        while let Some(n) = self.next_after(t) {
            if n > to {
                break;
            }
            out.push(n);
            t = n;
        }
        out
    }
}

/// The longest time between two consecutive runs of any of `schedules` over `span` from
/// `from`: the most data a loss just before a run could cost, were every run to succeed.
/// None when they do not run at all in that span.
pub fn worst_gap(schedules: &[&Schedule], from: DateTime<Utc>, span: Duration) -> Option<Duration> {
    let to = from + span;
    let mut all: Vec<DateTime<Utc>> = schedules.iter().flat_map(|s| s.runs(from, to)).collect();
    all.sort();
    all.dedup();
    all.windows(2).map(|w| w[1] - w[0]).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
    }

    #[test]
    fn the_first_sunday_at_midnight_across_months_that_start_on_sunday_and_a_year_end() {
        let s = Schedule::parse("0 0 * * SUN#1", Tz::UTC).unwrap();
        let runs = s.runs(utc(2026, 10, 15, 0, 0), utc(2027, 9, 1, 0, 0));
        let days: Vec<String> = runs
            .iter()
            .map(|t| t.format("%Y-%m-%d").to_string())
            .collect();
        // November 2026 and August 2027 start on a Sunday; the year turns between December and
        // January.
        assert_eq!(
            days,
            [
                "2026-11-01",
                "2026-12-06",
                "2027-01-03",
                "2027-02-07",
                "2027-03-07",
                "2027-04-04",
                "2027-05-02",
                "2027-06-06",
                "2027-07-04",
                "2027-08-01"
            ]
        );
        assert!(runs
            .iter()
            .all(|t| t.format("%H:%M").to_string() == "00:00"));
    }

    #[test]
    fn a_zone_moves_the_runs_and_impossible_or_malformed_schedules_are_refused() {
        let s = Schedule::parse("0 2 * * *", "Europe/Berlin".parse().unwrap()).unwrap();
        // 02:00 in Berlin is 01:00 UTC in winter, 00:00 UTC in summer.
        assert_eq!(
            s.next_after(utc(2026, 1, 10, 12, 0)),
            Some(utc(2026, 1, 11, 1, 0))
        );
        assert_eq!(
            s.next_after(utc(2026, 7, 10, 12, 0)),
            Some(utc(2026, 7, 11, 0, 0))
        );
        // Six fields: the first is the second.
        let every_3s = Schedule::parse("*/3 * * * * *", Tz::UTC).unwrap();
        let t = utc(2026, 7, 10, 12, 0);
        assert_eq!(every_3s.next_after(t), Some(t + Duration::seconds(3)));
        for bad in [
            "0 0 30 2 *",
            "61 * * * *",
            "0 2 * *",
            "* * * * * * *",
            "61 0 2 * * *",
            "0 0 * * FUNDAY",
        ] {
            assert!(Schedule::parse(bad, Tz::UTC).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_worst_gap_of_the_specifications_schedules() {
        let daily = Schedule::parse("0 2 * * *", Tz::UTC).unwrap();
        let weekly = Schedule::parse("0 1 * * SUN", Tz::UTC).unwrap();
        let from = utc(2026, 1, 1, 0, 0);
        let year = Duration::days(400);
        assert_eq!(worst_gap(&[&daily], from, year), Some(Duration::hours(24)));
        assert_eq!(worst_gap(&[&weekly], from, year), Some(Duration::days(7)));
        // Together: Sunday 01:00 then 02:00 (one hour), then 24 hours until Monday's.
        assert_eq!(
            worst_gap(&[&daily, &weekly], from, year),
            Some(Duration::hours(24))
        );
        let hourly = Schedule::parse("0 * * * *", Tz::UTC).unwrap();
        assert_eq!(
            worst_gap(&[&daily, &hourly], from, year),
            Some(Duration::hours(1))
        );
    }
}
