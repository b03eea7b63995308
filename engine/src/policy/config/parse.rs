//! The file as written, and the checks of single values. Every field a mistake can be
//! reported against carries its span, so that a finding names its line and column.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::Duration;
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::{Category, Diagnostic, Severity};
use crate::policy::retention::{Policy, Span};
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    pub(super) repository: Spanned<RawRepository>,
    #[serde(default)]
    pub(super) categories: BTreeMap<Spanned<String>, RawCategory>,
    #[serde(default)]
    pub(super) jobs: BTreeMap<Spanned<String>, RawJob>,
    #[serde(default)]
    pub(super) maintenance: BTreeMap<Spanned<String>, RawMaintenance>,
    #[serde(default)]
    pub(super) scenarios: BTreeMap<Spanned<String>, RawScenario>,
    pub(super) notify: Option<RawNotify>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub(super) url: Option<Spanned<String>>,
    pub(super) secret_file: Option<Spanned<String>>,
    pub(super) command: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRepository {
    pub(super) path: Option<String>,
    pub(super) url: Option<String>,
    pub(super) password_file: Option<String>,
    pub(super) password_command: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCategory {
    pub(super) description: Option<String>,
    pub(super) paths: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) exclude: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJob {
    pub(super) schedule: Spanned<String>,
    #[serde(rename = "type")]
    pub(super) kind: Spanned<String>,
    pub(super) categories: Spanned<Vec<Spanned<String>>>,
    pub(super) compression: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) keep: Option<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
    pub(super) rpo: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) then: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMaintenance {
    pub(super) task: Spanned<String>,
    pub(super) schedule: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) max_unused: Option<Spanned<String>>,
    pub(super) read_data_subset: Option<Spanned<String>>,
    pub(super) scenario: Option<Spanned<String>>,
    pub(super) sample: Option<Spanned<String>>,
    pub(super) directory: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) description: Option<String>,
    pub(super) rto: Spanned<String>,
    pub(super) rpo: Spanned<String>,
    pub(super) categories: Spanned<Vec<Spanned<String>>>,
}

/// Line and column (from 1) of byte `at` in `text`.
pub(super) fn position(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

pub(super) struct Findings<'t> {
    pub(super) text: &'t str,
    pub(super) out: Vec<Diagnostic>,
}

impl Findings<'_> {
    pub(super) fn at(
        &mut self,
        severity: Severity,
        span: Range<usize>,
        message: impl Into<String>,
    ) {
        let (line, column) = position(self.text, span.start);
        self.out.push(Diagnostic {
            severity,
            line,
            column,
            message: message.into(),
        });
    }
    pub(super) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.at(Severity::Error, span, message)
    }
    pub(super) fn warn(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.at(Severity::Warning, span, message)
    }
}

/// A duration for an RPO or RTO: a number and a unit among `s`, `min`, `h`, `d`, `w`
/// ("30min", "1h", "7d"). "m" is refused: in retention it means months.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let at = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?}: add a unit (s, min, h, d or w)"))?;
    let (n, unit) = s.split_at(at);
    let n: i64 = n.parse().map_err(|_| format!("{s:?}: not a duration"))?;
    let d = match unit.trim() {
        "s" => Duration::try_seconds(n),
        "min" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        "m" => {
            return Err(format!(
                "{s:?}: write min for minutes (m is months elsewhere)"
            ))
        }
        u => return Err(format!("{s:?}: unknown unit {u:?} (s, min, h, d or w)")),
    };
    d.filter(|d| *d > Duration::zero())
        .ok_or_else(|| format!("{s:?}: out of range"))
}

/// Lexically normalised absolute path, or why not.
pub(super) fn normal_path(p: &str) -> Result<String, String> {
    if !p.starts_with('/') {
        return Err(format!("{p:?}: paths must be absolute"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(format!("{p:?}: no .. in paths")),
            c => parts.push(c),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

pub(super) fn inside(inner: &str, outer: &str) -> bool {
    outer == "/" || inner == outer || inner.starts_with(&format!("{outer}/"))
}

/// Whether a path holds a glob (`*`, `?`, `[`).
pub fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// The components of a glob before its first one with a wildcard: where its matches live.
fn literal_prefix(g: &str) -> String {
    let parts: Vec<&str> = g
        .split('/')
        .filter(|c| !c.is_empty())
        .take_while(|c| !is_glob(c))
        .collect();
    format!("/{}", parts.join("/"))
}

fn matcher(g: &str) -> Option<globset::GlobMatcher> {
    globset::GlobBuilder::new(g)
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// What is wrong with glob `g`, if it does not compile.
pub(super) fn matcher_error(g: &str) -> Option<String> {
    globset::GlobBuilder::new(g)
        .literal_separator(true)
        .build()
        .err()
        .map(|e| format!("{g:?}: {e}"))
}

/// `p` or one of its ancestors.
fn matches_or_under(m: &globset::GlobMatcher, p: &str) -> bool {
    let mut cur = std::path::Path::new(p);
    loop {
        if m.is_match(cur) {
            return true;
        }
        match cur.parent() {
            Some(up) => cur = up,
            None => return false,
        }
    }
}

/// Whether two category paths (either may be a glob) can hold the same file. A glob and a
/// path overlap when the glob matches the path or one above it, or the path holds the glob's
/// fixed part; two globs when either matches the other's text (or they share it).
pub(super) fn overlaps(a: &str, b: &str) -> bool {
    match (is_glob(a), is_glob(b)) {
        (false, false) => inside(a, b) || inside(b, a),
        (true, false) | (false, true) => {
            let (g, p) = if is_glob(a) { (a, b) } else { (b, a) };
            inside(&literal_prefix(g), p) || matcher(g).is_some_and(|m| matches_or_under(&m, p))
        }
        (true, true) => {
            a == b
                || matcher(a).is_some_and(|m| matches_or_under(&m, b))
                || matcher(b).is_some_and(|m| matches_or_under(&m, a))
        }
    }
}

pub(super) fn zone(f: &mut Findings, tz: &Option<Spanned<String>>) -> Tz {
    match tz {
        None => Tz::UTC,
        Some(t) => match t.get_ref().parse::<Tz>() {
            Ok(z) => z,
            Err(_) => {
                f.error(
                    t.span(),
                    format!(
                        "unknown time zone {:?} (an IANA name such as Europe/Berlin)",
                        t.get_ref()
                    ),
                );
                Tz::UTC
            }
        },
    }
}

pub(super) fn keep_policy(
    f: &mut Findings,
    keep: &Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
) -> Option<Policy> {
    let mut p = Policy::default();
    let mut ok = true;
    for (k, v) in keep.get_ref() {
        let count = |f: &mut Findings| match v.get_ref().as_integer() {
            Some(n) if (0..=u32::MAX as i64).contains(&n) => Some(n as u32),
            _ => {
                f.error(
                    v.span(),
                    format!("keep.{}: a count (a whole number)", k.get_ref()),
                );
                None
            }
        };
        let span = |f: &mut Findings| match v.get_ref().as_str().map(str::parse::<Span>) {
            Some(Ok(s)) => Some(Some(s)),
            _ => {
                f.error(
                    v.span(),
                    format!(
                        "keep.{}: a span such as \"30d\", \"12w\" or \"1y2m\"",
                        k.get_ref()
                    ),
                );
                None
            }
        };
        let done = match k.get_ref().as_str() {
            "last" => count(f).map(|n| p.last = n),
            "hourly" => count(f).map(|n| p.hourly = n),
            "daily" => count(f).map(|n| p.daily = n),
            "weekly" => count(f).map(|n| p.weekly = n),
            "monthly" => count(f).map(|n| p.monthly = n),
            "yearly" => count(f).map(|n| p.yearly = n),
            "within" => span(f).map(|s| p.within = s),
            "within_hourly" => span(f).map(|s| p.within_hourly = s),
            "within_daily" => span(f).map(|s| p.within_daily = s),
            "within_weekly" => span(f).map(|s| p.within_weekly = s),
            "within_monthly" => span(f).map(|s| p.within_monthly = s),
            "within_yearly" => span(f).map(|s| p.within_yearly = s),
            "tags" => match v.get_ref().as_array() {
                Some(a) if a.iter().all(|t| t.is_str()) => {
                    p.tags = a
                        .iter()
                        .filter_map(|t| t.as_str().map(String::from))
                        .collect();
                    Some(())
                }
                _ => {
                    f.error(v.span(), "keep.tags: a list of tags");
                    None
                }
            },
            other => {
                f.error(k.span(), format!("unknown keep rule {other:?} (last, hourly, daily, weekly, monthly, yearly, within, within_hourly … within_yearly, tags)"));
                None
            }
        };
        ok &= done.is_some();
    }
    if ok && p.is_empty() {
        f.error(
            keep.span(),
            "this keep policy keeps nothing: every snapshot of the job would be forgotten",
        );
        return None;
    }
    ok.then_some(p)
}

/// Categories named in `names` that are not defined get an error each.
pub(super) fn known(
    f: &mut Findings,
    names: &Spanned<Vec<Spanned<String>>>,
    defined: &BTreeMap<String, Category>,
    what: &str,
) -> Vec<String> {
    if names.get_ref().is_empty() {
        f.error(names.span(), format!("{what}: name at least one category"));
    }
    let mut out = Vec::new();
    for n in names.get_ref() {
        if !defined.contains_key(n.get_ref()) {
            let list: Vec<&str> = defined.keys().map(String::as_str).collect();
            f.error(
                n.span(),
                format!(
                    "{what}: unknown category {:?} (defined: {})",
                    n.get_ref(),
                    list.join(", ")
                ),
            );
        } else if out.contains(n.get_ref()) {
            f.error(
                n.span(),
                format!("{what}: category {:?} named twice", n.get_ref()),
            );
        } else {
            out.push(n.get_ref().clone());
        }
    }
    out
}
