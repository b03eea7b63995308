//! Listing a snapshot's files: resolving a path inside a snapshot and walking the entries
//! below it, in tree order, for `vcd ls` and any other front end.

use crate::format::tree::Tree;
use crate::repo::Repo;

pub use crate::vfs::path::{lookup, Lookup, LsEntry};

/// Calls `visit` for every entry below `tree` (whose own path is `prefix`), each directory
/// before its contents, in name order. The walk keeps one tree per level on an explicit
/// stack, so a deep snapshot cannot overflow the thread's stack, and one path, cut back to a
/// frame's own when the walk returns to it: a copy of the path per level would hold memory
/// quadratic in the depth (gigabytes for some thousands of levels of long names). `visit` may
/// stop the walk by returning an error (a front end whose output went away, say).
pub fn walk<E: From<crate::Error>>(
    repo: &Repo,
    tree: Tree,
    prefix: &str,
    mut visit: impl FnMut(&LsEntry) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut path = prefix.to_string();
    let mut stack = vec![(tree.nodes.into_iter(), path.len())];
    while let Some((nodes, len)) = stack.last_mut() {
        let Some(node) = nodes.next() else {
            stack.pop();
            continue;
        };
        path.truncate(*len);
        path.push('/');
        path.push_str(&node.name_lossy());
        let e = LsEntry {
            path: path.clone(),
            node,
        };
        visit(&e)?;
        if let Some(sub) = e.node.subtree {
            let t = repo.load_tree(&sub)?;
            stack.push((t.nodes.into_iter(), path.len()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::testing::*;

    fn paths(repo: &Repo, tree: Tree, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk::<crate::Error>(repo, tree, prefix, |e| {
            out.push(e.path.clone());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn walk_lists_each_directory_before_its_contents_in_name_order() {
        let r = repo();
        let sub = dir(&r, "b", vec![file(&r, "y", b"1"), file(&r, "x", b"2")]);
        let root = tree(&r, vec![file(&r, "c", b"3"), sub, file(&r, "a", b"4")]);
        let t = r.load_tree(&root).unwrap();
        assert_eq!(paths(&r, t, ""), ["/a", "/b", "/b/x", "/b/y", "/c"]);
    }

    #[test]
    fn lookup_finds_directories_entries_and_missing_names() {
        let r = repo();
        let sub = dir(&r, "b", vec![file(&r, "x", b"2")]);
        let root = tree(&r, vec![sub, file(&r, "a", b"4")]);
        match lookup(&r, &root, "/b/").unwrap() {
            Lookup::Dir { path, tree } => {
                assert_eq!(path, "/b");
                assert_eq!(paths(&r, tree, &path), ["/b/x"]);
            }
            other => panic!("{other:?}"),
        }
        match lookup(&r, &root, "b//x").unwrap() {
            Lookup::Entry(e) => {
                assert_eq!(e.path, "/b/x");
                assert_eq!(e.node.size, 1);
            }
            other => panic!("{other:?}"),
        }
        match lookup(&r, &root, "/b/nope/x").unwrap() {
            Lookup::Missing { component } => assert_eq!(component, "nope"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            lookup(&r, &root, "").unwrap(),
            Lookup::Dir { path, .. } if path.is_empty()
        ));
    }

    #[test]
    fn walk_of_a_deep_tree_does_not_overflow_a_small_stack() {
        let r = repo();
        let root = deep(&r, DEEP, b"x");
        let t = r.load_tree(&root).unwrap();
        let n = on_small_stack(|| {
            let mut n = 0;
            walk::<crate::Error>(&r, t, "", |_| {
                n += 1;
                Ok(())
            })
            .unwrap();
            n
        });
        assert_eq!(n, DEEP + 1);
    }
}
