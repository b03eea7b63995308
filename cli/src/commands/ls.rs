//! `vcd ls`: prints the entries of a snapshot below a path (engine::ops::ls), short or long.

use anyhow::{bail, Result};
use engine::format::tree::NodeKind;
use engine::ops::ls::{self, Lookup, LsEntry};

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::esc;

#[derive(clap::Args)]
pub struct Args {
    /// Snapshot id prefix or `latest` (with --at: the path)
    snapshot: String,
    /// Directory or file inside the snapshot
    path: Option<String>,
    /// Long listing: type, mode, owner, size, mtime
    #[arg(short, long)]
    long: bool,
    /// Instead of a snapshot id: the newest at or before this time (as `restore --at`)
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    filter: crate::choose::FilterArgs,
    /// JSON Lines: one object per entry (`path`, `type`, `mode`, `uid`, `gid`, `user`,
    /// `group`, `size`, `mtime`, `target`)
    #[arg(long)]
    json: bool,
}

fn kind_char(k: NodeKind) -> char {
    match k {
        NodeKind::File => '-',
        NodeKind::Dir => 'd',
        NodeKind::Symlink => 'l',
        NodeKind::Fifo => 'p',
        NodeKind::CharDevice => 'c',
        NodeKind::BlockDevice => 'b',
        NodeKind::Socket => 's',
    }
}

fn print_json(e: &LsEntry) -> Result<()> {
    let n = &e.node;
    let t = chrono::DateTime::from_timestamp(n.mtime.sec, n.mtime.nsec).unwrap_or_default();
    out!(
        "{}",
        serde_json::json!({
            "path": e.path,
            "type": format!("{:?}", n.kind).to_lowercase(),
            "mode": n.mode,
            "uid": n.uid,
            "gid": n.gid,
            "user": n.user,
            "group": n.group,
            "size": n.size,
            "mtime": t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "target": n.target.as_ref().map(|t| String::from_utf8_lossy(t).into_owned()),
        })
    )
}

fn print(e: &LsEntry, long: bool, json: bool) -> Result<()> {
    if json {
        return print_json(e);
    }
    let (n, path) = (&e.node, esc(&e.path));
    if !long {
        return out!("{path}");
    }
    let t = chrono::DateTime::from_timestamp(n.mtime.sec, n.mtime.nsec).unwrap_or_default();
    let link = n
        .target
        .as_ref()
        .map(|t| format!(" -> {}", esc(&String::from_utf8_lossy(t))))
        .unwrap_or_default();
    out!(
        "{}{:04o} {:>8} {:>8} {:>12} {} {path}{link}",
        kind_char(n.kind),
        n.mode,
        if n.user.is_empty() {
            n.uid.to_string()
        } else {
            esc(&n.user).into_owned()
        },
        if n.group.is_empty() {
            n.gid.to_string()
        } else {
            esc(&n.group).into_owned()
        },
        n.size,
        t.format("%Y-%m-%d %H:%M:%S")
    )
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let _lock = common::read_lock(g, &repo)?;
    let snaps = repo.snapshots()?;
    let (spec, path) = match &a.at {
        // With --at the one positional argument is the path.
        Some(_) => (None, a.path.as_deref().or(Some(a.snapshot.as_str()))),
        None => (Some(a.snapshot.as_str()), a.path.as_deref()),
    };
    if a.at.is_some() && a.path.is_some() {
        bail!("with --at, give only the path inside the snapshot");
    }
    let s = crate::choose::choose(g, &snaps, spec, a.at.as_deref(), &a.filter)?;
    match ls::lookup(&repo, &s.snap.tree, path.unwrap_or(""))? {
        Lookup::Missing { component } => {
            bail!("{component}: no such entry in snapshot {}", s.id.short())
        }
        Lookup::Entry(e) => print(&e, a.long, a.json),
        Lookup::Dir { path, tree } => ls::walk(&repo, tree, &path, |e| print(e, a.long, a.json)),
    }
}
