//! The audit trail (FORMAT.md §16): every operation appends an entry naming the trail's heads
//! it saw, so the entries form a hash chain (a DAG where writers ran at once); `verify` finds
//! an entry deleted, altered, reordered or inserted, and, against what this host saw before
//! (its cache) and what the snapshots name, newest entries taken away.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::format::audit::{Entry, Outcome, AUDIT_VERSION};
use crate::format::snapshot::SnapshotRef;
use crate::id::Id;
use crate::repo::audit::AuditStore;

/// What an operation was, and how it ended.
#[derive(Debug, Clone)]
pub struct Op {
    pub op: String,
    pub args: Vec<String>,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub details: BTreeMap<String, serde_json::Value>,
}

/// This host's memory of the trail (`audit.json` in its cache for the repository): the
/// entries it has read (so an append reads only the new ones) and the newest it saw (the
/// anchor that shows a trail rolled back). Derived data, but trusted: it is the host's own.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Seen {
    /// name → (position, parents).
    known: BTreeMap<String, (u64, Vec<String>)>,
    /// The heads of the trail when this host last wrote or verified it, with their positions.
    heads: Vec<(String, u64)>,
    /// The snapshots this host has seen, and those it saw go without a forget to explain it.
    #[serde(default)]
    snapshots: Vec<String>,
}

const SEEN_FILE: &str = "audit.json";

/// The first 8 characters of a name, for messages (any name: a listing may hold anything).
fn short(name: &str) -> String {
    name.chars().take(8).collect()
}

fn load_seen(s: &AuditStore) -> Seen {
    s.cache_file(SEEN_FILE)
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Written whole or not at all (temp, fsync, rename); a failure costs only speed and the
/// anchor, so it is logged, not returned.
fn save_seen(s: &AuditStore, seen: &Seen) {
    let Some(path) = s.cache_file(SEEN_FILE) else {
        return;
    };
    let write = || -> std::io::Result<()> {
        let dir = path.parent().expect("a file in a directory");
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut tmp, seen)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    if let Err(e) = write() {
        tracing::warn!("{}: {e}", path.display());
    }
}

/// The heads of the trail (entries no other names), with their positions. Entries that
/// cannot be read are left out here (`verify` reports them).
/// Listings younger than this are reused (`RECENT`).
fn recently() -> Instant {
    Instant::now()
        .checked_sub(crate::repo::audit::RECENT)
        .unwrap_or_else(Instant::now)
}

/// The trail's heads among `names` (a listing of `audit/`).
fn heads(s: &AuditStore, seen: &mut Seen, names: Vec<String>) -> Result<Vec<(String, u64)>> {
    let names: HashSet<String> = names.into_iter().collect();
    seen.known.retain(|n, _| names.contains(n));
    for n in &names {
        if seen.known.contains_key(n) {
            continue;
        }
        if let Ok(e) = s.read(n).and_then(|b| Entry::decode(&b)) {
            let parents = e.parents.iter().map(|p| p.to_hex()).collect();
            seen.known.insert(n.clone(), (e.seq, parents));
        }
    }
    let named: HashSet<&String> = seen.known.values().flat_map(|(_, p)| p).collect();
    let mut out: Vec<(String, u64)> = seen
        .known
        .iter()
        .filter(|(n, _)| !named.contains(n))
        .map(|(n, (seq, _))| (n.clone(), *seq))
        .collect();
    out.sort();
    Ok(out)
}

/// The trail's heads now, for a snapshot to name (its anchor in the repository).
pub fn current_heads(s: &AuditStore) -> Result<Vec<Id>> {
    let mut seen = load_seen(s);
    let h = heads(s, &mut seen, s.list_since(recently())?)?;
    Ok(h.iter().filter_map(|(n, _)| n.parse::<Id>().ok()).collect())
}

/// Appends the entry of `op`, following every head of the trail; returns its name.
pub fn append(s: &AuditStore, op: &Op) -> Result<Id> {
    let mut seen = load_seen(s);
    let heads = heads(s, &mut seen, s.list_since(recently())?)?;
    // Saturating: a hostile trail may claim any position.
    let seq = heads
        .iter()
        .map(|(_, q)| *q)
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    let e = Entry {
        version: AUDIT_VERSION,
        seq,
        parents: heads
            .iter()
            .filter_map(|(n, _)| n.parse::<Id>().ok())
            .collect(),
        time: chrono::Utc::now(),
        host: crate::host::hostname(),
        user: crate::host::username(),
        key: s.key_id(),
        op: op.op.clone(),
        args: op.args.clone(),
        outcome: op.outcome,
        error: op.error.clone(),
        details: op.details.clone(),
    };
    let id = s.write(&e.encode())?;
    seen.known.insert(
        id.to_hex(),
        (seq, heads.iter().map(|(n, _)| n.clone()).collect()),
    );
    // An anchored entry that is gone stays anchored: a trail cut back is not healed by the
    // next entry written on top of what is left.
    let lost: Vec<(String, u64)> = seen
        .heads
        .iter()
        .filter(|(h, _)| !seen.known.contains_key(h))
        .cloned()
        .collect();
    seen.heads = vec![(id.to_hex(), seq)];
    seen.heads.extend(lost);
    save_seen(s, &seen);
    Ok(id)
}

/// One entry of the trail.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: Id,
    pub entry: Entry,
}

/// Something `verify` found wrong, at a position of the trail when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub seq: Option<u64>,
    pub what: String,
}

#[derive(Debug, Default)]
pub struct Verification {
    /// Every readable entry, in order (position, then time).
    pub entries: Vec<Listed>,
    pub problems: Vec<Problem>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Every readable entry in order, and the entries that could not be read as authentic.
pub fn read_all(s: &AuditStore) -> Result<Verification> {
    use rayon::prelude::*;
    let names = s.list()?;
    let read: Vec<std::result::Result<Listed, Problem>> = names
        .par_iter()
        .map(|n| {
            let name = n.parse::<Id>().map_err(|_| Problem {
                seq: None,
                what: format!("a file named {n:?} in audit/ is not an entry"),
            })?;
            s.read(n)
                .and_then(|b| Entry::decode(&b))
                .map(|entry| Listed { name, entry })
                .map_err(|e| Problem {
                    seq: None,
                    what: format!(
                        "entry {}: not an authentic entry (altered, or written without the \
                         key): {e}",
                        name.short()
                    ),
                })
        })
        .collect();
    let mut v = Verification::default();
    for r in read {
        match r {
            Ok(l) => v.entries.push(l),
            Err(p) => v.problems.push(p),
        }
    }
    v.entries.sort_by(|a, b| {
        (a.entry.seq, a.entry.time, a.name).cmp(&(b.entry.seq, b.entry.time, b.name))
    });
    Ok(v)
}

fn describe(e: &Entry) -> String {
    format!(
        "#{} ({} {} by {}@{})",
        e.seq,
        e.time.format("%Y-%m-%d %H:%M:%S UTC"),
        e.op,
        e.user,
        e.host
    )
}

/// Checks the trail: every entry authentic, every entry it follows present, positions in
/// order; the newest entries this host saw still there (its cache), and those each snapshot
/// names. When all is well, this host's anchor moves to the trail's heads now.
pub fn verify(s: &AuditStore, snapshots: &[SnapshotRef]) -> Result<Verification> {
    // The anchors first: an entry another command appends while the trail is read is then
    // newer than the anchors, not an anchor missing from what was read.
    let mut seen = load_seen(s);
    let mut v = read_all(s)?;
    let by_name: HashMap<Id, &Entry> = v.entries.iter().map(|l| (l.name, &l.entry)).collect();
    let mut problems = Vec::new();
    for l in &v.entries {
        let e = &l.entry;
        let mut highest = 0;
        let mut whole = true;
        for p in &e.parents {
            match by_name.get(p) {
                Some(pe) => highest = highest.max(pe.seq),
                None => {
                    whole = false;
                    problems.push(Problem {
                        seq: Some(e.seq.saturating_sub(1)),
                        what: format!(
                            "entry #{} (before {}) is missing: deleted, or altered and written \
                             again (it was {})",
                            e.seq.saturating_sub(1),
                            describe(e),
                            p.short()
                        ),
                    });
                }
            }
        }
        if whole && e.seq != highest.saturating_add(1) {
            problems.push(Problem {
                seq: Some(e.seq),
                what: format!(
                    "entry {} follows entry #{}: out of order (reordered or renumbered)",
                    describe(e),
                    highest
                ),
            });
        }
    }
    for (h, seq) in &seen.heads {
        let gone = h
            .parse::<Id>()
            .map_or(true, |id| !by_name.contains_key(&id));
        if gone {
            problems.push(Problem {
                seq: Some(*seq),
                what: format!(
                    "entry #{seq} ({}), the newest this host saw, is gone: the trail was rolled \
                     back, or its newest entries altered",
                    short(h)
                ),
            });
        }
    }
    for snap in snapshots {
        for h in &snap.snap.audit {
            if !by_name.contains_key(h) {
                problems.push(Problem {
                    seq: None,
                    what: format!(
                        "snapshot {} of {} names audit entry {}, which is gone: the trail was \
                         rolled back, or entries altered",
                        snap.id.short(),
                        snap.snap.time.format("%Y-%m-%d %H:%M:%S UTC"),
                        h.short()
                    ),
                });
            }
        }
    }
    problems.sort_by_key(|p| p.seq.unwrap_or(u64::MAX));
    problems.dedup();
    v.problems.extend(problems);
    if v.ok() {
        seen.heads = heads(s, &mut seen, s.list()?)?;
        save_seen(s, &seen);
    }
    Ok(v)
}

/// What this host remembers and the repository no longer shows: snapshots gone without a
/// forget on the trail to explain it, and the newest trail entries it saw. Either means the
/// storage was rolled back or tampered with (a repository vcd alone changes never shows
/// them). `snapshots` are the snapshot names listed now. Every command that opens the
/// repository asks; what it finds stays reported until explained.
pub fn watch(s: &AuditStore) -> Result<Vec<String>> {
    match watch_begin(s) {
        Some(w) => watch_end(s, w),
        None => Ok(Vec::new()),
    }
}

/// What this host saw, read when a command opens the repository, for `watch_end` when it ends.
pub struct Watch {
    seen: Seen,
    began: Instant,
}

/// The first half of `watch`: None when this host keeps no memory of the trail (no cache).
pub fn watch_begin(s: &AuditStore) -> Option<Watch> {
    s.cache_file(SEEN_FILE)?;
    let began = Instant::now();
    Some(Watch {
        seen: load_seen(s),
        began,
    })
}

/// The second half of `watch`, with the listings the command made since `watch_begin` (one
/// listing of each serves both; see `RECENT`).
pub fn watch_end(s: &AuditStore, w: Watch) -> Result<Vec<String>> {
    // What this host saw is read before the repository is listed: what another command on it
    // sees meanwhile is then in the listing too, never taken for gone.
    let mut seen = w.seen;
    // Listings made before `began` could miss what another command saw in between.
    let since = w.began.max(recently());
    let names: HashSet<String> = s.list_since(since)?.into_iter().collect();
    // Only names that are snapshot ids: a listing may hold anything.
    let snapshots: Vec<String> = s
        .snapshot_names_since(since)?
        .into_iter()
        .filter(|n| n.parse::<Id>().is_ok())
        .collect();
    let snapshots = &snapshots[..];
    let mut out = Vec::new();
    for (h, seq) in &seen.heads {
        if !names.contains(h) {
            out.push(format!(
                "audit entry #{seq} ({}), the newest this host saw, is gone: the storage was \
                 rolled back, or the trail tampered with (`vcd audit --verify`)",
                short(h)
            ));
        }
    }
    let now: HashSet<&String> = snapshots.iter().collect();
    let gone: Vec<String> = seen
        .snapshots
        .iter()
        .filter(|x| !now.contains(x))
        .cloned()
        .collect();
    let mut unexplained = Vec::new();
    if !gone.is_empty() {
        let removed: HashSet<String> = read_all(s)?
            .entries
            .iter()
            .flat_map(|l| match l.entry.details.get("removed") {
                Some(serde_json::Value::Array(v)) => v
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        for g in gone {
            if !removed.contains(&g) {
                out.push(format!(
                    "snapshot {}, seen by this host, is gone and no forget on the audit trail \
                     removed it: the storage was rolled back, or the snapshot deleted behind \
                     vcd's back",
                    short(&g)
                ));
                unexplained.push(g);
            }
        }
    }
    let mut keep: Vec<String> = snapshots.to_vec();
    keep.extend(unexplained);
    keep.sort();
    keep.dedup();
    if keep != seen.snapshots {
        seen.snapshots = keep;
        save_seen(s, &seen);
    }
    Ok(out)
}
