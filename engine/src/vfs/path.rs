//! Path → node inside a snapshot: following a `/`-separated path down its trees, without FUSE
//! (`vcd ls`, and any front end that names files by path).

use serde::Serialize;

use crate::error::Result;
use crate::format::tree::{Node, NodeKind, Tree};
use crate::id::Id;
use crate::repo::BlobSource;

/// One entry of a listing: its path inside the snapshot (`/home/u/x`) and its node.
#[derive(Debug, Clone, Serialize)]
pub struct LsEntry {
    pub path: String,
    pub node: Node,
}

/// What a path inside a snapshot names.
#[derive(Debug)]
pub enum Lookup {
    /// A directory: its path and its tree (the snapshot's root for an empty path).
    Dir { path: String, tree: Tree },
    /// Anything that is not a directory.
    Entry(Box<LsEntry>),
    /// `component` (one name of the path) does not exist where the path expects it.
    Missing { component: String },
}

/// Follows `path` (`/`-separated, leading and doubled slashes ignored) down from the tree
/// `root`.
pub fn lookup(repo: &dyn BlobSource, root: &Id, path: &str) -> Result<Lookup> {
    let mut tree = repo.load_tree(root)?;
    let mut prefix = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        let Some(n) = tree.find(comp.as_bytes()).cloned() else {
            return Ok(Lookup::Missing {
                component: comp.to_string(),
            });
        };
        prefix.push('/');
        prefix.push_str(comp);
        match (n.kind, n.subtree) {
            (NodeKind::Dir, Some(sub)) => tree = repo.load_tree(&sub)?,
            // A directory without a subtree is an empty one.
            (NodeKind::Dir, None) => tree = Tree::default(),
            _ => {
                return Ok(Lookup::Entry(Box::new(LsEntry {
                    path: prefix,
                    node: n,
                })))
            }
        }
    }
    Ok(Lookup::Dir { path: prefix, tree })
}
