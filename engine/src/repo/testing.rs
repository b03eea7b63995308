//! Test fixtures: repositories in memory with a KDF cheap enough for unit tests, and builders
//! of blobs, trees and snapshots in them (used by the tests of ls, diff, stats, locks).

use std::sync::Arc;

use crate::backend::{FileType, MemBackend};
use crate::crypto::KdfParams;
use crate::format::blob::{seal_blob, BlobType};
use crate::format::config::Config;
use crate::format::index_file::PackEntries;
use crate::format::pack::PackWriter;
use crate::format::snapshot::{BackupType, Snapshot, Summary, SNAPSHOT_VERSION};
use crate::format::tree::{Extent, Node, NodeKind, Tree};
use crate::id::Id;
use crate::repo::Repo;

pub(crate) fn cheap_kdf() -> KdfParams {
    KdfParams {
        m_cost: 64,
        t_cost: 1,
        ..KdfParams::recommended()
    }
}

pub(crate) fn mem_repo() -> Repo {
    let b: crate::backend::DynBackend = Arc::new(MemBackend::default());
    Repo::init(Arc::clone(&b), b"pw", Config::new(), cheap_kdf()).unwrap();
    Repo::open(b, b"pw", None).unwrap()
}

/// A new repository in memory, with a KDF cheap enough for a unit test.
pub fn repo() -> Repo {
    mem_repo()
}

/// Stores one blob in a pack of its own, indexed.
pub fn store(repo: &Repo, ty: BlobType, data: &[u8]) -> Id {
    let id = repo.keys.chunk_id.id(data);
    let mut w = PackWriter::default();
    w.add(&seal_blob(&repo.keys, ty, id, data, 0));
    let p = w.finish(&repo.keys.data);
    repo.backend
        .put(FileType::Pack, &p.id.to_hex(), &p.bytes)
        .unwrap();
    repo.save_index(&[PackEntries {
        pack: p.id,
        entries: p.entries,
    }])
    .unwrap();
    id
}

pub fn file(repo: &Repo, name: &str, data: &[u8]) -> Node {
    let mut n = Node::new(name.as_bytes().to_vec(), NodeKind::File);
    n.mode = 0o644;
    n.size = data.len() as u64;
    if !data.is_empty() {
        let id = store(repo, BlobType::Data, data);
        n.content = vec![Extent::Data {
            id,
            len: data.len() as u32,
        }];
    }
    n
}

pub fn dir(repo: &Repo, name: &str, mut nodes: Vec<Node>) -> Node {
    let mut n = Node::new(name.as_bytes().to_vec(), NodeKind::Dir);
    n.mode = 0o755;
    n.subtree = Some(tree(repo, std::mem::take(&mut nodes)));
    n
}

pub fn tree(repo: &Repo, nodes: Vec<Node>) -> Id {
    let mut t = Tree { nodes };
    t.sort();
    store(repo, BlobType::Tree, &t.encode())
}

pub fn snapshot(repo: &Repo, root: Id) -> Id {
    repo.save_snapshot(&Snapshot {
        version: SNAPSHOT_VERSION,
        time: chrono::Utc::now(),
        host: "h".into(),
        user: "u".into(),
        paths: vec!["/".into()],
        tags: vec![],
        category: None,
        categories: vec![],
        job: None,
        kind: BackupType::Incremental,
        parent: None,
        tree: root,
        audit: Vec::new(),
        original: None,
        summary: Summary::default(),
    })
    .unwrap()
}

/// Deep enough that a walk recursing once per level overflows `on_small_stack`.
pub const DEEP: usize = 2000;

/// Runs `f` on a thread with a 256 KiB stack.
pub fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    })
}

/// A chain of `depth` directories `d/d/d/...` with one file at the bottom.
pub fn deep(repo: &Repo, depth: usize, bottom: &[u8]) -> Id {
    let mut nodes = vec![file(repo, "bottom", bottom)];
    for _ in 0..depth {
        nodes = vec![dir(repo, "d", nodes)];
    }
    tree(repo, nodes)
}
