//! What changed between two snapshot trees: entries added, removed, modified in content, or
//! changed only in metadata, found by walking both trees side by side in name order.

use std::cmp::Ordering;

use serde::Serialize;

use crate::format::tree::{Node, Tree};
use crate::id::Id;
use crate::repo::Repo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    /// Content, symlink target or size differs.
    Modified,
    /// Same content; mode, owner, mtime or extended attributes differ.
    Metadata,
}

impl Change {
    /// The one-letter mark `vcd diff` prints.
    pub fn mark(self) -> char {
        match self {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Modified => 'M',
            Change::Metadata => 'U',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffEntry {
    pub path: String,
    pub change: Change,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    pub added: u64,
    pub removed: u64,
    /// Modified in content or in metadata only.
    pub modified: u64,
}

/// Pending work. Both kinds keep their place, so that one tree per level is held however
/// deep the trees are, with no recursion. A frame's directory is the first `len` bytes of the
/// walk's one path (a copy per level would hold memory quadratic in the depth).
enum Frame {
    /// Two versions of one directory, walked in step.
    Merge {
        a: Vec<Node>,
        b: Vec<Node>,
        i: usize,
        j: usize,
        len: usize,
    },
    /// Entries present on one side only, with everything below them.
    All {
        nodes: std::vec::IntoIter<Node>,
        len: usize,
        change: Change,
    },
}

/// Calls `visit` for every difference between the trees `from` and `to`, in path order (a
/// directory before its contents; for an entry whose type changed, its removal before its
/// addition), and returns the counts. `visit` may stop the walk by returning an error.
pub fn diff<E: From<crate::Error>>(
    repo: &Repo,
    from: &Id,
    to: &Id,
    mut visit: impl FnMut(&DiffEntry) -> std::result::Result<(), E>,
) -> std::result::Result<DiffSummary, E> {
    let mut sum = DiffSummary::default();
    let mut emit = |path: String, change: Change| {
        match change {
            Change::Added => sum.added += 1,
            Change::Removed => sum.removed += 1,
            Change::Modified | Change::Metadata => sum.modified += 1,
        }
        visit(&DiffEntry { path, change })
    };
    let mut path = String::new();
    let mut stack = vec![merge(repo, from, to, 0)?];
    while let Some(top) = stack.last_mut() {
        match top {
            Frame::All { nodes, len, change } => {
                let Some(n) = nodes.next() else {
                    stack.pop();
                    continue;
                };
                let change = *change;
                enter(&mut path, *len, &n);
                emit(path.clone(), change)?;
                if let Some(sub) = n.subtree {
                    let t = repo.load_tree(&sub)?;
                    stack.push(all(t.nodes, path.len(), change));
                }
            }
            Frame::Merge { a, b, i, j, len } => {
                let ord = match (a.get(*i), b.get(*j)) {
                    (None, None) => {
                        stack.pop();
                        continue;
                    }
                    (Some(x), Some(y)) => x.name.cmp(&y.name),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                };
                let len = *len;
                // Frames to push, the one to run first last.
                let next: Vec<Frame> = match ord {
                    Ordering::Less => {
                        *i += 1;
                        vec![all(vec![a[*i - 1].clone()], len, Change::Removed)]
                    }
                    Ordering::Greater => {
                        *j += 1;
                        vec![all(vec![b[*j - 1].clone()], len, Change::Added)]
                    }
                    Ordering::Equal => {
                        let (x, y) = (a[*i].clone(), b[*j].clone());
                        *i += 1;
                        *j += 1;
                        if x.kind != y.kind {
                            vec![
                                all(vec![y], len, Change::Added),
                                all(vec![x], len, Change::Removed),
                            ]
                        } else if let (Some(sa), Some(sb)) = (x.subtree, y.subtree) {
                            if sa == sb {
                                vec![]
                            } else {
                                enter(&mut path, len, &x);
                                vec![merge(repo, &sa, &sb, path.len())?]
                            }
                        } else {
                            if let Some(c) = changed(&x, &y) {
                                enter(&mut path, len, &x);
                                emit(path.clone(), c)?;
                            }
                            vec![]
                        }
                    }
                };
                stack.extend(next);
            }
        }
    }
    Ok(sum)
}

/// How two entries of the same name and type differ, if they do.
fn changed(x: &Node, y: &Node) -> Option<Change> {
    if x.content != y.content || x.target != y.target || x.size != y.size {
        Some(Change::Modified)
    } else if x.mode != y.mode
        || x.uid != y.uid
        || x.gid != y.gid
        || x.mtime != y.mtime
        || x.xattrs != y.xattrs
    {
        Some(Change::Metadata)
    } else {
        None
    }
}

/// Makes `path` the path of `n` in the directory that is its first `len` bytes.
fn enter(path: &mut String, len: usize, n: &Node) {
    path.truncate(len);
    path.push('/');
    path.push_str(&n.name_lossy());
}

fn all(nodes: Vec<Node>, len: usize, change: Change) -> Frame {
    Frame::All {
        nodes: nodes.into_iter(),
        len,
        change,
    }
}

fn merge(repo: &Repo, a: &Id, b: &Id, len: usize) -> crate::Result<Frame> {
    let (Tree { nodes: a }, Tree { nodes: b }) = (repo.load_tree(a)?, repo.load_tree(b)?);
    Ok(Frame::Merge {
        a,
        b,
        i: 0,
        j: 0,
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::testing::*;

    fn run(repo: &Repo, a: &Id, b: &Id) -> (Vec<String>, DiffSummary) {
        let mut lines = Vec::new();
        let sum = diff::<crate::Error>(repo, a, b, |e| {
            lines.push(format!("{} {}", e.change.mark(), e.path));
            Ok(())
        })
        .unwrap();
        (lines, sum)
    }

    #[test]
    fn reports_additions_removals_modifications_and_type_changes_in_path_order() {
        let r = repo();
        let mut meta = file(&r, "meta", b"same");
        let old = tree(
            &r,
            vec![
                dir(&r, "gone", vec![file(&r, "f", b"1")]),
                file(&r, "kind", b"was a file"),
                meta.clone(),
                file(&r, "mod", b"old"),
                dir(&r, "same", vec![file(&r, "s", b"s")]),
            ],
        );
        meta.mode = 0o600;
        let new = tree(
            &r,
            vec![
                dir(&r, "kind", vec![file(&r, "inside", b"x")]),
                meta,
                file(&r, "mod", b"new"),
                file(&r, "new", b"n"),
                dir(&r, "same", vec![file(&r, "s", b"s")]),
            ],
        );
        let (lines, sum) = run(&r, &old, &new);
        assert_eq!(
            lines,
            [
                "- /gone",
                "- /gone/f",
                "- /kind",
                "+ /kind",
                "+ /kind/inside",
                "U /meta",
                "M /mod",
                "+ /new",
            ]
        );
        assert_eq!(
            sum,
            DiffSummary {
                added: 3,
                removed: 3,
                modified: 2
            }
        );
        assert_eq!(run(&r, &old, &old), (vec![], DiffSummary::default()));
    }

    #[test]
    fn diff_of_deep_trees_does_not_overflow_a_small_stack() {
        let r = repo();
        let (a, b, empty) = (deep(&r, DEEP, b"a"), deep(&r, DEEP, b"b"), tree(&r, vec![]));
        let (removed, modified) = on_small_stack(|| (run(&r, &a, &empty), run(&r, &a, &b)));
        assert_eq!(removed.1.removed as usize, DEEP + 1);
        assert_eq!(modified.0.len(), 1);
        assert!(modified.0[0].starts_with("M /d/d/"), "{:?}", modified.0);
    }
}
