use anyhow::{bail, Result};
use engine::format::tree::{Node, NodeKind, Tree};
use engine::Repo;

use crate::common::{self, GlobalOpts};
use crate::out;

#[derive(clap::Args)]
pub struct Args {
    /// Snapshot id prefix or `latest`
    snapshot: String,
    /// Directory or file inside the snapshot
    path: Option<String>,
    /// Long listing: type, mode, owner, size, mtime
    #[arg(short, long)]
    long: bool,
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

fn print(n: &Node, path: &str, long: bool) {
    if long {
        let t = chrono::DateTime::from_timestamp(n.mtime.sec, n.mtime.nsec).unwrap_or_default();
        let link = n
            .target
            .as_ref()
            .map(|t| format!(" -> {}", String::from_utf8_lossy(t)))
            .unwrap_or_default();
        out!(
            "{}{:04o} {:>8} {:>8} {:>12} {} {path}{link}",
            kind_char(n.kind),
            n.mode,
            if n.user.is_empty() {
                n.uid.to_string()
            } else {
                n.user.clone()
            },
            if n.group.is_empty() {
                n.gid.to_string()
            } else {
                n.group.clone()
            },
            n.size,
            t.format("%Y-%m-%d %H:%M:%S")
        );
    } else {
        out!("{path}");
    }
}

fn walk(repo: &Repo, t: &Tree, prefix: &str, long: bool) -> Result<()> {
    for n in &t.nodes {
        let p = format!("{prefix}/{}", n.name_lossy());
        print(n, &p, long);
        if let Some(sub) = n.subtree {
            walk(repo, &repo.load_tree(&sub)?, &p, long)?;
        }
    }
    Ok(())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let snaps = repo.snapshots()?;
    let s = engine::policy::select::select(&snaps, &a.snapshot)?;
    let mut tree = repo.load_tree(&s.snap.tree)?;
    let mut prefix = String::new();
    for comp in a
        .path
        .as_deref()
        .unwrap_or("")
        .split('/')
        .filter(|c| !c.is_empty())
    {
        let Some(n) = tree.find(comp.as_bytes()).cloned() else {
            bail!("{comp}: no such entry in snapshot {}", s.id.short());
        };
        prefix = format!("{prefix}/{comp}");
        match (n.kind, n.subtree) {
            (NodeKind::Dir, Some(sub)) => tree = repo.load_tree(&sub)?,
            _ => {
                print(&n, &prefix, a.long);
                return Ok(());
            }
        }
    }
    walk(&repo, &tree, &prefix, a.long)
}
