//! `vcd forget`: removes snapshots, named or by a retention policy (restic's `--keep-*` rules),
//! and shows per group every snapshot, whether it stays and which rules keep it, as a table or
//! JSON. Refuses what would remove more than asked: no rule at all, or ids mixed with rules.

use anyhow::{anyhow, bail, Result};
use chrono::TimeZone;
use engine::ops::forget::{self, Filter, ForgetOptions, ForgetReport, GroupBy, GroupKey, Target};
use engine::policy::retention::{Policy, Reason, Span};

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::{esc, json_time, table};

#[derive(clap::Args)]
pub struct Args {
    /// Snapshots to remove (`latest` or id prefixes); not together with keep rules
    #[arg(value_name = "SNAPSHOT")]
    ids: Vec<String>,
    /// Keep the newest N snapshots
    #[arg(long, value_name = "N")]
    keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the newest N hours that have one
    #[arg(long, value_name = "N")]
    keep_hourly: Option<u32>,
    /// Keep the newest snapshot of each of the newest N days that have one
    #[arg(long, value_name = "N")]
    keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the newest N ISO weeks that have one
    #[arg(long, value_name = "N")]
    keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the newest N months that have one
    #[arg(long, value_name = "N")]
    keep_monthly: Option<u32>,
    /// Keep the newest snapshot of each of the newest N years that have one
    #[arg(long, value_name = "N")]
    keep_yearly: Option<u32>,
    /// Keep every snapshot younger than DURATION (30d, 12w, 1y2m, 36h) relative to the newest
    #[arg(long, value_name = "DURATION")]
    keep_within: Option<Span>,
    /// Keep the newest snapshot of each hour within DURATION of the newest
    #[arg(long, value_name = "DURATION")]
    keep_within_hourly: Option<Span>,
    /// Keep the newest snapshot of each day within DURATION of the newest
    #[arg(long, value_name = "DURATION")]
    keep_within_daily: Option<Span>,
    /// Keep the newest snapshot of each ISO week within DURATION of the newest
    #[arg(long, value_name = "DURATION")]
    keep_within_weekly: Option<Span>,
    /// Keep the newest snapshot of each month within DURATION of the newest
    #[arg(long, value_name = "DURATION")]
    keep_within_monthly: Option<Span>,
    /// Keep the newest snapshot of each year within DURATION of the newest
    #[arg(long, value_name = "DURATION")]
    keep_within_yearly: Option<Span>,
    /// Keep every snapshot with this tag (repeatable)
    #[arg(long = "keep-tag", value_name = "TAG")]
    keep_tags: Vec<String>,
    /// Apply the rules to each group of snapshots sharing these fields (host, paths, tags,
    /// category, job; comma-separated; empty: all snapshots form one group)
    #[arg(long, value_name = "FIELDS", default_value = "host,paths")]
    group_by: GroupBy,
    /// Only snapshots from this host (repeatable: any of them)
    #[arg(long = "host", value_name = "H")]
    hosts: Vec<String>,
    /// Only snapshots with this tag (repeatable: any of them)
    #[arg(long = "tag", value_name = "T")]
    tags: Vec<String>,
    /// Only snapshots of this category (repeatable: any of them)
    #[arg(long = "category", value_name = "C")]
    categories: Vec<String>,
    /// Only snapshots of this configured job (repeatable: any of them)
    #[arg(long = "job", value_name = "J")]
    jobs: Vec<String>,
    /// Time zone of days, weeks, months and years: an IANA name (Europe/Berlin) or `local`
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    tz: String,
    /// Show what would be removed; remove nothing
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
    /// Prune afterwards (`vcd prune`, with the flags below); not in a dry run
    #[arg(long)]
    prune: bool,
    #[command(flatten)]
    prune_flags: super::prune::PruneFlags,
}

impl Args {
    fn policy(&self) -> Policy {
        Policy {
            last: self.keep_last.unwrap_or(0),
            hourly: self.keep_hourly.unwrap_or(0),
            daily: self.keep_daily.unwrap_or(0),
            weekly: self.keep_weekly.unwrap_or(0),
            monthly: self.keep_monthly.unwrap_or(0),
            yearly: self.keep_yearly.unwrap_or(0),
            within: self.keep_within,
            within_hourly: self.keep_within_hourly,
            within_daily: self.keep_within_daily,
            within_weekly: self.keep_within_weekly,
            within_monthly: self.keep_within_monthly,
            within_yearly: self.keep_within_yearly,
            tags: self.keep_tags.clone(),
        }
    }

    /// What to remove, or why the flags contradict each other.
    fn target(&self) -> Result<Target> {
        let policy = self.policy();
        let filter = Filter {
            hosts: self.hosts.clone(),
            tags: self.tags.clone(),
            categories: self.categories.clone(),
            jobs: self.jobs.clone(),
        };
        if !self.ids.is_empty() {
            // A rule of 0 given next to ids still says the user thought of keeping something.
            if policy != Policy::default() || self.keep_counts_given() {
                bail!(
                    "snapshot ids and --keep-* rules contradict each other: ids name snapshots to \
                     remove, rules name snapshots to keep; give one or the other"
                );
            }
            if !filter.is_empty() {
                bail!(
                    "--host, --tag, --category and --job choose the snapshots a policy looks at; \
                     they do not apply to snapshots named by id"
                );
            }
            return Ok(Target::Ids(self.ids.clone()));
        }
        if policy.is_empty() {
            bail!(
                "no keep rule given: forget never removes every snapshot. Give at least one \
                 --keep-* rule with a count or duration above 0, or name the snapshots to remove"
            );
        }
        Ok(Target::Policy {
            policy: Box::new(policy),
            filter,
        })
    }

    fn keep_counts_given(&self) -> bool {
        [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ]
        .iter()
        .any(Option::is_some)
    }
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    common::refuse_no_lock(g, "vcd forget")?;
    let target = a.target()?;
    match a.tz.as_str() {
        "UTC" | "utc" => forget_in(g, &a, target, chrono::Utc, "UTC"),
        "local" => forget_in(g, &a, target, chrono::Local, "local"),
        name => {
            let tz: chrono_tz::Tz = name.parse().map_err(|_| {
                anyhow!("unknown time zone {name:?}: give an IANA name (Europe/Berlin) or local")
            })?;
            forget_in(g, &a, target, tz, name)
        }
    }
}

fn forget_in<Z: TimeZone>(
    g: &GlobalOpts,
    a: &Args,
    target: Target,
    tz: Z,
    tz_name: &str,
) -> Result<()>
where
    Z::Offset: std::fmt::Display,
{
    let repo = common::open(g)?;
    let _lock = engine::repo::lock::acquire(&repo, false)?;
    let opts = ForgetOptions {
        target,
        group_by: a.group_by,
        tz,
        dry_run: a.dry_run,
        cancel: common::cancel_token().clone(),
    };
    let prune_opts = if a.prune {
        Some(super::prune::options(&a.prune_flags, a.dry_run)?)
    } else {
        None
    };
    let report = forget::forget(&repo, &opts)?;
    // What a rolled-back storage could not otherwise explain: snapshots gone on purpose.
    common::audit_detail(
        "removed",
        report
            .removed
            .iter()
            .map(|i| i.to_hex())
            .collect::<Vec<_>>()
            .into(),
    );
    if !a.json && !g.quiet {
        print_tables(&report, &opts.tz, tz_name)?;
    }
    // Forget's data goes with the prune, which runs beside this command's shared lock.
    let pruned = match &prune_opts {
        Some(_) if a.dry_run => {
            if !a.json && !g.quiet {
                out!("--prune: nothing is pruned in a dry run")?;
            }
            None
        }
        Some(p) => Some(super::prune::prune_locked(&repo, p)?),
        None => None,
    };
    if a.json {
        let mut v = json(&report);
        if let Some(r) = &pruned {
            v["prune"] = super::prune::to_json(r)?;
        }
        out!("{}", serde_json::to_string_pretty(&v)?)?;
    } else if let Some(r) = pruned.as_ref().filter(|_| !g.quiet) {
        super::prune::print(r)?;
    }
    let untouched: Vec<&forget::Group> = report.untouched().collect();
    for grp in &untouched {
        eprintln!(
            "vcd: warning: the policy keeps no snapshot of group {}: left untouched, nothing of \
             it removed",
            esc(&grp.key.to_string())
        );
    }
    if !untouched.is_empty() {
        bail!(
            "the policy would remove every snapshot of {} group(s); they were left untouched \
             (name snapshots by id to remove them)",
            untouched.len()
        );
    }
    Ok(())
}

fn print_tables<Z: TimeZone>(r: &ForgetReport, tz: &Z, tz_name: &str) -> Result<()>
where
    Z::Offset: std::fmt::Display,
{
    let (mut kept, mut gone) = (0, 0);
    let header = [
        "id".to_string(),
        format!("time ({tz_name})"),
        "host".into(),
        "tags".into(),
        "category".into(),
        "action".into(),
        "reasons".into(),
        "paths".into(),
    ];
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    for grp in &r.groups {
        let rows: Vec<Vec<String>> = grp
            .rows
            .iter()
            .map(|row| {
                let s = &row.snapshot.snap;
                let action = match (row.keep, r.dry_run) {
                    (true, _) => "keep",
                    (false, false) => "remove",
                    (false, true) => "would remove",
                };
                let reasons = if grp.untouched {
                    "(group left untouched)".to_string()
                } else {
                    row.reasons
                        .iter()
                        .map(Reason::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                vec![
                    row.snapshot.id.short(),
                    s.time
                        .with_timezone(tz)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                    esc(&s.host).into_owned(),
                    esc(&s.tags.join(",")).into_owned(),
                    esc(&s.all_categories().join(",")).into_owned(),
                    action.to_string(),
                    esc(&reasons).into_owned(),
                    esc(&s.paths.join(" ")).into_owned(),
                ]
            })
            .collect();
        let k = grp.rows.iter().filter(|r| r.keep).count();
        kept += k;
        gone += grp.rows.len() - k;
        out!("group {}:", esc(&grp.key.to_string()))?;
        for line in table(&header, &[], &rows) {
            out!("  {line}")?;
        }
        out!("")?;
    }
    if r.groups.is_empty() {
        return out!("no snapshots matched");
    }
    if r.dry_run {
        out!("dry run: would remove {gone} snapshot(s), keep {kept}; nothing was removed")
    } else {
        out!("removed {} snapshot(s), kept {kept}", r.removed.len())
    }
}

fn json(r: &ForgetReport) -> serde_json::Value {
    let groups: Vec<serde_json::Value> = r
        .groups
        .iter()
        .map(|grp| {
            let snaps: Vec<serde_json::Value> = grp
                .rows
                .iter()
                .map(|row| {
                    let s = &row.snapshot.snap;
                    serde_json::json!({
                        "id": row.snapshot.id.to_hex(),
                        "short_id": row.snapshot.id.short(),
                        "time": json_time(&s.time),
                        "host": s.host,
                        "paths": s.paths,
                        "tags": s.tags,
                        "category": s.category,
                        "categories": s.categories,
                        "job": s.job,
                        "type": s.kind,
                        "keep": row.keep,
                        "reasons": row.reasons.iter().map(reason_json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::json!({
                "group": key_json(&grp.key),
                "untouched": grp.untouched,
                "snapshots": snaps,
            })
        })
        .collect();
    serde_json::json!({
        "dry_run": r.dry_run,
        "groups": groups,
        "removed": r.removed.iter().map(|i| i.to_hex()).collect::<Vec<_>>(),
    })
}

/// Only the fields grouped by.
fn key_json(k: &GroupKey) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    if let Some(h) = &k.host {
        o.insert("host".into(), h.clone().into());
    }
    if let Some(p) = &k.paths {
        o.insert("paths".into(), p.clone().into());
    }
    if let Some(t) = &k.tags {
        o.insert("tags".into(), t.clone().into());
    }
    if let Some(c) = &k.category {
        o.insert("category".into(), c.clone().into());
    }
    if let Some(j) = &k.job {
        o.insert("job".into(), j.clone().into());
    }
    o.into()
}

/// `{"rule": "daily", "bucket": 3}`, `{"rule": "within", "within": "30d"}`,
/// `{"rule": "tag", "tag": "x"}`.
fn reason_json(r: &Reason) -> serde_json::Value {
    let mut o = serde_json::json!({ "rule": r.rule() });
    match r {
        Reason::Within(s) => o["within"] = s.to_string().into(),
        Reason::Tag(t) => o["tag"] = t.clone().into(),
        _ => o["bucket"] = r.bucket().unwrap_or_default().into(),
    }
    o
}
