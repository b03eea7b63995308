use anyhow::Result;
use engine::format::tree::{Node, Tree};
use engine::Repo;

use crate::common::{self, GlobalOpts};
use crate::out;

#[derive(clap::Args)]
pub struct Args {
    /// Older snapshot
    from: String,
    /// Newer snapshot
    to: String,
}

#[derive(Default)]
struct Counts {
    added: u64,
    removed: u64,
    modified: u64,
}

fn all(repo: &Repo, n: &Node, path: &str, sign: char, c: &mut Counts) -> Result<()> {
    out!("{sign}    {path}");
    if sign == '+' {
        c.added += 1
    } else {
        c.removed += 1
    }
    if let Some(sub) = n.subtree {
        for child in repo.load_tree(&sub)?.nodes {
            all(
                repo,
                &child,
                &format!("{path}/{}", child.name_lossy()),
                sign,
                c,
            )?;
        }
    }
    Ok(())
}

fn diff(repo: &Repo, a: &Tree, b: &Tree, prefix: &str, c: &mut Counts) -> Result<()> {
    let (mut i, mut j) = (0, 0);
    while i < a.nodes.len() || j < b.nodes.len() {
        let ord = match (a.nodes.get(i), b.nodes.get(j)) {
            (Some(x), Some(y)) => x.name.cmp(&y.name),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                let n = &a.nodes[i];
                all(repo, n, &format!("{prefix}/{}", n.name_lossy()), '-', c)?;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let n = &b.nodes[j];
                all(repo, n, &format!("{prefix}/{}", n.name_lossy()), '+', c)?;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (x, y) = (&a.nodes[i], &b.nodes[j]);
                let p = format!("{prefix}/{}", x.name_lossy());
                if x.kind != y.kind {
                    all(repo, x, &p, '-', c)?;
                    all(repo, y, &p, '+', c)?;
                } else if let (Some(sa), Some(sb)) = (x.subtree, y.subtree) {
                    if sa != sb {
                        diff(repo, &repo.load_tree(&sa)?, &repo.load_tree(&sb)?, &p, c)?;
                    }
                } else if x.content != y.content || x.target != y.target || x.size != y.size {
                    out!("M    {p}");
                    c.modified += 1;
                } else if x.mode != y.mode
                    || x.uid != y.uid
                    || x.gid != y.gid
                    || x.mtime != y.mtime
                    || x.xattrs != y.xattrs
                {
                    out!("U    {p}");
                    c.modified += 1;
                }
                i += 1;
                j += 1;
            }
        }
    }
    Ok(())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    let snaps = repo.snapshots()?;
    let s1 = engine::policy::select::select(&snaps, &a.from)?;
    let s2 = engine::policy::select::select(&snaps, &a.to)?;
    let mut c = Counts::default();
    diff(
        &repo,
        &repo.load_tree(&s1.snap.tree)?,
        &repo.load_tree(&s2.snap.tree)?,
        "",
        &mut c,
    )?;
    out!(
        "\n{} added, {} removed, {} modified",
        c.added,
        c.removed,
        c.modified
    );
    Ok(())
}
