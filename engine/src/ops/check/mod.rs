//! Verification of a repository against itself. The structural check reads every index file,
//! every pack trailer and every snapshot's trees, and proves that each blob a snapshot needs is
//! named by an index file, of the type and length the tree expects, and sits in a pack that
//! says the same. `read_data` additionally reads
//! packs whole, checks each pack's hash against its name and decrypts and hashes every blob.
//! Damage is reported per pack and blob, and traced to the snapshots and files it touches.
//! Check never trusts the local sled cache: it works from the repository alone.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::backend::FileType;
use crate::error::Result;
use crate::format::blob::{BlobEntry, BlobType};
use crate::format::snapshot::SnapshotRef;
use crate::format::tree::{Extent, NodeKind, Tree};
use crate::id::Id;
use crate::ops::progress::Progress;
use crate::repo::{BlobSource, Repo};

mod entries;
use entries::{Entries, EntriesBuilder};

/// Largest read buffer a thread keeps between packs (packs are 16 MiB by default).
const KEEP_BUF: usize = 64 << 20;

thread_local! {
    static PACK_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub read_data: bool,
    /// Percentage of packs to read with `read_data` (random choice); None reads all.
    pub subset_percent: Option<f64>,
    /// Stops the operation at its next checkpoint (`Error::Interrupted`).
    pub cancel: crate::cancel::CancelToken,
}

#[derive(Debug, Default)]
pub struct CheckReport {
    /// Damage or inconsistency: the repository is not intact.
    pub errors: Vec<String>,
    /// Not damage, worth knowing: packs no index names (left by an interrupted backup, or
    /// one still running) and packs a prune's deletion plan names (awaiting deletion, or
    /// deleted while this check ran).
    pub info: Vec<String>,
    pub snapshots: usize,
    pub packs: usize,
    pub packs_read: usize,
    pub blobs_read: u64,
    /// Blobs found damaged, with the files they touch: (snapshot, path).
    pub damaged_files: Vec<(Id, String, Id)>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

pub fn check(repo: &Repo, opts: &CheckOptions, progress: &Progress) -> Result<CheckReport> {
    let mut rep = CheckReport::default();
    let errors = Mutex::new(Vec::<String>::new());
    let err = |m: String| errors.lock().unwrap().push(m);

    // 0. Snapshots first: a backup running beside us writes its index files before its
    // snapshot, so every snapshot listed now has its index files listed below.
    let listed = repo.list(FileType::Snapshot)?.len();
    let snaps = repo.snapshots()?;

    // 1. Index files: the repository's own record of where every blob is.
    let mut blobs = EntriesBuilder::default();
    for (name, _) in repo.list(FileType::Index)? {
        match repo.read_index_file(&name) {
            Ok(list) => {
                for p in list {
                    blobs.add(p.pack, &p.entries)?;
                }
            }
            Err(e) => err(format!("index file {name}: {e}")),
        }
    }
    // Packs a deletion plan names (FORMAT.md §14), as of the snapshot listing above: a
    // prune may delete them while this check runs, so another copy of a blob is preferred.
    let pending = repo.pending_packs();
    let blobs = blobs.build(&pending);

    // 2. Packs on storage against packs in the index.
    let stored: HashMap<Id, u64> = repo
        .list(FileType::Pack)?
        .into_iter()
        .filter_map(|(n, s)| Some((n.parse().ok()?, s)))
        .collect();
    rep.packs = stored.len();
    let awaiting = pending.iter().filter(|p| stored.contains_key(*p)).count();
    if awaiting > 0 {
        rep.info.push(format!(
            "{awaiting} pack(s) await deletion by a prune (a later `vcd prune` deletes them)"
        ));
    }
    // Blobs that cannot be read (missing pack, damaged tree, and with `read_data` damaged
    // blobs), with where: step 6 names every snapshot and path that needs one.
    let mut damaged: HashMap<Id, String> = HashMap::new();
    for (n, pid) in blobs.packs.iter().enumerate() {
        if !stored.contains_key(pid) && pending.contains(pid) {
            // Deleted by a prune between our listing of index files and of packs. A blob
            // only it held is still damage, found when a snapshot needs it.
            rep.info.push(format!(
                "pack {pid}: deleted by a prune while this check ran"
            ));
            for e in blobs.of_pack(n as u32) {
                if blobs.get(&e.id).is_some_and(|l| l.pack == *pid) {
                    damaged.insert(e.id, format!("pack {pid} deleted by a prune"));
                }
            }
        } else if !stored.contains_key(pid) {
            err(format!(
                "pack {pid}: named by the index but missing from storage"
            ));
            for e in blobs.of_pack(n as u32) {
                damaged.insert(e.id, format!("pack {pid} missing"));
            }
        }
    }
    let mut unref: Vec<&Id> = stored
        .keys()
        .filter(|p| !blobs.numbers.contains_key(*p))
        .collect();
    unref.sort();
    for p in unref {
        if pending.contains(p) {
            // Its index entries went first (§14); the pack goes next.
            continue;
        }
        rep.info.push(format!(
            "pack {p}: not in any index (left by an interrupted backup, or a backup still running; `vcd prune` deletes it, `vcd repair index` adopts it)"
        ));
    }

    // 3. Every indexed pack's trailer agrees with the index.
    let indexed: Vec<u32> = (0..blobs.packs.len() as u32)
        .filter(|&n| stored.contains_key(&blobs.packs[n as usize]))
        .collect();
    indexed.par_iter().for_each(|&n| {
        let pid = &blobs.packs[n as usize];
        match repo.read_pack_trailer(&pid.to_hex(), stored[pid]) {
            Ok(t) => {
                // Whole entries: a wrong type, length or flag in the index would pass a check
                // of ids and offsets and then fail the restore.
                let a: HashSet<BlobEntry> = t.into_iter().collect();
                let b: HashSet<BlobEntry> = blobs.of_pack(n).collect();
                if a != b {
                    err(format!("pack {pid}: trailer disagrees with the index"));
                }
            }
            Err(e) => err(format!("pack {pid}: {e}")),
        }
    });

    // 4. Snapshots and their trees.
    rep.snapshots = snaps.len();
    if listed != snaps.len() {
        err(format!(
            "{} snapshot file(s) unreadable",
            listed - snaps.len()
        ));
    }
    let prefetched = prefetch_trees(repo, &blobs, &stored);
    let load_tree = |id: &Id| -> std::result::Result<Tree, String> {
        let loc = blobs
            .get(id)
            .ok_or_else(|| format!("tree {id} is not in the index"))?;
        if loc.entry.ty != BlobType::Tree {
            return Err(format!("tree {id} is stored as file data, not as a tree"));
        }
        let b = match prefetched.get(id) {
            Some(b) => b.clone(),
            None => repo.load_blob_at(&loc).map_err(|e| format!("tree: {e}"))?,
        };
        Tree::decode(&b).map_err(|e| format!("tree {id}: {e}"))
    };
    let mut seen_trees = HashSet::new();
    for s in &snaps {
        depth_first(s.snap.tree, |tid, path| {
            opts.cancel.check()?;
            if !seen_trees.insert(tid) {
                return Ok(Vec::new());
            }
            let t = match load_tree(&tid) {
                Ok(t) => t,
                Err(e) => {
                    // A tree is often shared by many snapshots and paths; this walk visits it
                    // once, step 6 names them all.
                    damaged.insert(tid, e.clone());
                    err(e);
                    return Ok(Vec::new());
                }
            };
            let mut subdirs = Vec::new();
            for n in t.nodes {
                if n.kind == NodeKind::Dir {
                    if let Some(sub) = n.subtree {
                        subdirs.push((sub, n.name_lossy()));
                    }
                } else {
                    // Type and length too: restore writes an extent's bytes where the tree
                    // says they go, and fails on a blob of another length or kind.
                    for x in &n.content {
                        let Extent::Data { id, len } = x else {
                            continue;
                        };
                        let problem = match blobs.get(id) {
                            None => "is not in the index".to_string(),
                            Some(l) if l.entry.ty != BlobType::Data => {
                                "is a tree, not file data".to_string()
                            }
                            Some(l) if l.entry.raw_length != *len => format!(
                                "holds {} bytes where the file's extent has {len}",
                                l.entry.raw_length
                            ),
                            Some(_) => continue,
                        };
                        err(format!(
                            "snapshot {}: {path}{}: blob {id} {problem}",
                            s.id.short(),
                            n.name_lossy()
                        ));
                    }
                }
            }
            Ok(subdirs)
        })?;
    }

    // 5. Read the data.
    if opts.read_data {
        let mut todo = indexed.clone();
        todo.sort_by_key(|&n| blobs.packs[n as usize]);
        if let Some(pct) = opts.subset_percent {
            let n = ((todo.len() as f64) * pct / 100.0).ceil() as usize;
            todo.shuffle(&mut rand::thread_rng());
            todo.truncate(n.min(todo.len()));
        }
        rep.packs_read = todo.len();
        // Progress counts packs and their bytes against these totals.
        let total_bytes = todo.iter().map(|&n| stored[&blobs.packs[n as usize]]).sum();
        progress.set_totals(todo.len() as u64, total_bytes);
        let bad = Mutex::new(HashMap::new());
        let nblobs = std::sync::atomic::AtomicU64::new(0);
        repo.io_parallel(|| {
            todo.par_iter().try_for_each(|&n| -> Result<()> {
                opts.cancel.check()?;
                let pid = &blobs.packs[n as usize];
                let name = pid.to_hex();
                let verify = |bytes: &[u8]| {
                    if Id::of_file(bytes) != *pid {
                        err(format!(
                            "pack {name}: content does not match its name (hash mismatch)"
                        ));
                    }
                    if let Err(e) = repo.parse_pack(bytes) {
                        err(format!("pack {name}: trailer: {e}"));
                    }
                    for e in blobs.of_pack(n) {
                        // Decoders bound offsets (`BlobEntry::in_bounds`); checked all the same,
                        // as a slice index, for a 32-bit usize.
                        let range = usize::try_from(e.offset)
                            .ok()
                            .and_then(|start| Some(start..start.checked_add(e.length as usize)?));
                        let r = range
                            .and_then(|range| bytes.get(range))
                            .ok_or_else(|| "outside the pack".to_string())
                            .and_then(|s| {
                                repo.open_blob(&e, s).map(|_| ()).map_err(|x| x.to_string())
                            });
                        nblobs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if let Err(x) = r {
                            err(format!("pack {name}: blob {} ({:?}): {x}", e.id, e.ty));
                            bad.lock().unwrap().insert(e.id, format!("pack {name}"));
                        }
                    }
                    progress.add(1, bytes.len() as u64);
                };
                PACK_BUF.with(|b| {
                    // A pack-sized buffer per thread, kept: a fresh one per pack cost a page
                    // fault and a page clearing per 4 KiB read.
                    let mut buf = b.borrow_mut();
                    let size = stored[pid];
                    match repo
                        .backend()
                        .read_range_into(FileType::Pack, &name, 0, size, &mut buf)
                    {
                        Ok(()) => verify(&buf),
                        Err(e) => {
                            err(format!("pack {name}: unreadable: {e}"));
                            let mut b = bad.lock().unwrap();
                            for e in blobs.of_pack(n) {
                                b.insert(e.id, format!("pack {name} unreadable"));
                            }
                        }
                    }
                    if buf.capacity() > KEEP_BUF {
                        *buf = Vec::new();
                    }
                });
                Ok(())
            })
        })?;
        rep.blobs_read = nblobs.into_inner();
        damaged.extend(bad.into_inner().unwrap());
    }

    // 6. Trace damaged blobs to the files (and trees) they belong to.
    if !damaged.is_empty() {
        let (files, complete) = files_touching(repo, &snaps, &damaged, &blobs);
        rep.damaged_files = files;
        if !complete {
            err(format!(
                "more damaged paths than the {MAX_NAMED} named below (a damaged tree or blob \
                 that many directories share)"
            ));
        }
        for (snap, path, blob) in &rep.damaged_files {
            err(format!(
                "snapshot {}: {path}: damaged (blob {blob}: {})",
                snap.short(),
                damaged[blob]
            ));
        }
    }
    rep.errors = errors.into_inner().unwrap();
    Ok(rep)
}

/// On remote storage, where each read of a tree is a round trip: every tree blob, read with
/// one request per pack that holds trees (trees have packs of their own) and opened and
/// verified as any blob. Blobs that fail are left out: the walk reads them again and reports
/// them. Nothing on local storage, or past `PREFETCH_LIMIT` bytes of trees (the walk reads the
/// rest one by one).
fn prefetch_trees(repo: &Repo, blobs: &Entries, stored: &HashMap<Id, u64>) -> HashMap<Id, Vec<u8>> {
    const PREFETCH_LIMIT: u64 = 1 << 30;
    if !repo.backend().is_remote() {
        return HashMap::new();
    }
    let mut spans: Vec<(u32, u64, u64)> = Vec::new();
    let mut total = 0u64;
    for n in 0..blobs.packs.len() as u32 {
        if !stored.contains_key(&blobs.packs[n as usize]) {
            continue;
        }
        let trees: Vec<BlobEntry> = blobs
            .of_pack(n)
            .filter(|e| e.ty == BlobType::Tree)
            .collect();
        let (Some(first), Some(last)) = (trees.first(), trees.last()) else {
            continue;
        };
        let (start, end) = (first.offset, last.offset + last.length as u64);
        total += end - start;
        if total > PREFETCH_LIMIT {
            break;
        }
        spans.push((n, start, end));
    }
    let out = Mutex::new(HashMap::new());
    repo.io_parallel(|| {
        spans.par_iter().for_each(|&(n, start, end)| {
            let pack = blobs.packs[n as usize];
            let mut buf = Vec::new();
            if repo
                .read_pack_range(&pack, start, end - start, &mut buf)
                .is_err()
            {
                return;
            }
            for e in blobs.of_pack(n).filter(|e| e.ty == BlobType::Tree) {
                let at = (e.offset - start) as usize;
                if let Ok(b) = repo.open_blob(&e, &buf[at..at + e.length as usize]) {
                    out.lock().unwrap().insert(e.id, b);
                }
            }
        })
    });
    out.into_inner().unwrap()
}

/// (snapshot, path, blob) for every file or directory in any snapshot that needs a damaged blob.
fn files_touching(
    repo: &Repo,
    snaps: &[SnapshotRef],
    damaged: &HashMap<Id, String>,
    blobs: &Entries,
) -> (Vec<(Id, String, Id)>, bool) {
    let load = |tid: &Id| -> Option<Tree> {
        let loc = blobs.get(tid)?;
        if loc.entry.ty != BlobType::Tree {
            return None;
        }
        repo.load_blob_at(&loc).and_then(|b| Tree::decode(&b)).ok()
    };
    let tainted = tainted_trees(snaps, damaged, &load);
    let mut out = Vec::new();
    for s in snaps {
        let walked = depth_first(s.snap.tree, |tid, path| {
            if out.len() >= MAX_NAMED || !tainted.contains(&tid) {
                return Ok(Vec::new());
            }
            if damaged.contains_key(&tid) {
                out.push((s.id, path.to_string(), tid));
                return Ok(Vec::new());
            }
            let Some(t) = load(&tid) else {
                return Ok(Vec::new());
            };
            let mut subdirs = Vec::new();
            for n in t.nodes {
                if let Some(sub) = n.subtree {
                    subdirs.push((sub, n.name_lossy()));
                } else if let Some(id) = n.data_ids().find(|id| damaged.contains_key(id)) {
                    out.push((s.id, format!("{path}{}", n.name_lossy()), id));
                }
            }
            Ok(subdirs)
        });
        walked.expect("only the visit fails, and this one does not");
    }
    let complete = out.len() < MAX_NAMED;
    out.truncate(MAX_NAMED);
    (out, complete)
}

/// Damaged paths `check` names at most: a damaged subtree that a crafted (or merely large)
/// repository shares among many directories would otherwise be named without end.
const MAX_NAMED: usize = 100_000;

/// The trees with damage somewhere below them, each tree read once (post-order, explicit
/// stack), so tracing damage to paths descends only where there is some: snapshots share most
/// trees, and a crafted chain whose levels each point twice at the next has exponentially many
/// paths.
fn tainted_trees(
    snaps: &[SnapshotRef],
    damaged: &HashMap<Id, String>,
    load: &dyn Fn(&Id) -> Option<Tree>,
) -> HashSet<Id> {
    let mut memo: HashMap<Id, bool> = HashMap::new();
    let open = |id: Id| -> (Id, Vec<Id>, bool) {
        if damaged.contains_key(&id) {
            return (id, Vec::new(), true);
        }
        let Some(t) = load(&id) else {
            return (id, Vec::new(), false);
        };
        let mut subs = Vec::new();
        let mut bad = false;
        for n in t.nodes {
            match n.subtree {
                Some(sub) => subs.push(sub),
                None => bad |= n.data_ids().any(|id| damaged.contains_key(&id)),
            }
        }
        (id, subs, bad)
    };
    for s in snaps {
        if memo.contains_key(&s.snap.tree) {
            continue;
        }
        let mut stack = vec![open(s.snap.tree)];
        while let Some((_, subs, bad)) = stack.last_mut() {
            if let Some(sub) = subs.pop() {
                match memo.get(&sub) {
                    Some(&b) => *bad |= b,
                    None => {
                        let f = open(sub);
                        stack.push(f);
                    }
                }
                continue;
            }
            let (id, _, b) = stack.pop().expect("non-empty");
            memo.insert(id, b);
            if let Some((_, _, parent)) = stack.last_mut() {
                *parent |= b;
            }
        }
    }
    memo.into_iter()
        .filter(|&(_, b)| b)
        .map(|(id, _)| id)
        .collect()
}

/// Visits the trees below `root` depth first, each tree's subdirectories last first, with an
/// explicit stack. `visit` gets a tree's id and its directory's path (ending in `/`) and
/// returns the subdirectories to go into, with their names. One path serves the whole walk,
/// cut back to a frame's own as the walk returns to it: a path per pending directory held
/// memory quadratic in the depth.
fn depth_first(
    root: Id,
    mut visit: impl FnMut(Id, &str) -> Result<Vec<(Id, String)>>,
) -> Result<()> {
    let mut path = String::new();
    let mut stack = vec![(vec![(root, String::new())], 0)];
    while let Some((subdirs, len)) = stack.last_mut() {
        let Some((id, name)) = subdirs.pop() else {
            stack.pop();
            continue;
        };
        path.truncate(*len);
        path.push_str(&name);
        path.push('/');
        let next = visit(id, &path)?;
        stack.push((next, path.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Defect: check compared a file's blobs with the index by id only, so an extent whose
    /// length differs from its blob's, or that names a tree blob (and a directory naming a data
    /// blob as its subtree), passed `check --read-data` and then failed the restore.
    #[test]
    fn extents_and_subtrees_of_the_wrong_length_or_type_are_errors() {
        use crate::repo::testing::{file, repo, snapshot, store, tree};
        let repo = repo();
        let good = file(&repo, "good", b"good data");
        let mut long = file(&repo, "long", b"twelve bytes");
        // The tree stays consistent (extents add up to the size): only the blob disagrees.
        long.size += 5;
        if let Some(Extent::Data { len, .. }) = long.content.first_mut() {
            *len += 5;
        }
        let t = tree(&repo, vec![file(&repo, "inner", b"inner")]);
        let t_len = repo.lookup(&t).unwrap().entry.raw_length;
        let mut tree_as_data = file(&repo, "tree-as-data", b"");
        tree_as_data.size = t_len as u64;
        tree_as_data.content = vec![Extent::Data { id: t, len: t_len }];
        let mut data_as_tree = crate::repo::testing::dir(&repo, "data-as-tree", vec![]);
        data_as_tree.subtree = Some(store(&repo, BlobType::Data, b"not a tree"));
        let root = tree(&repo, vec![good, long, tree_as_data, data_as_tree]);
        snapshot(&repo, root);
        let opts = CheckOptions {
            read_data: true,
            ..Default::default()
        };
        let rep = check(&repo, &opts, &Progress::default()).unwrap();
        let has = |path: &str, what: &str| {
            rep.errors
                .iter()
                .any(|m| m.contains(&format!(": {path}")) && m.contains(what))
        };
        assert!(
            has(
                "/long: blob",
                "holds 12 bytes where the file's extent has 17"
            ),
            "{:?}",
            rep.errors
        );
        assert!(
            has("/tree-as-data: blob", "is a tree, not file data"),
            "{:?}",
            rep.errors
        );
        // The tree once, then every path that holds it (step 6).
        assert!(
            rep.errors.iter().any(
                |m| m.starts_with("tree ") && m.ends_with("stored as file data, not as a tree")
            ),
            "{:?}",
            rep.errors
        );
        assert!(
            has(
                "/data-as-tree/: damaged",
                "stored as file data, not as a tree"
            ),
            "{:?}",
            rep.errors
        );
        assert_eq!(rep.errors.len(), 4, "{:?}", rep.errors);
        // Every pack still reads intact: the damage is in what the tree says, not in the data.
        assert_eq!(rep.blobs_read, 7);
    }

    /// A deep snapshot is checked, and a damaged blob at its bottom traced to its file, with
    /// explicit stacks: on a 256 KiB stack, where a walk recursing per level overflows.
    #[test]
    fn damage_is_traced_through_shared_subtrees_without_walking_every_path() {
        use crate::repo::testing::{dir, file, repo, snapshot, tree};
        let repo = repo();
        // A clean chain whose levels each hold the next twice (2^60 paths), beside a directory
        // whose tree is missing and that a 20-level chain of the same kind shares 2^20 times.
        let doubling = |bottom: Vec<crate::format::tree::Node>, levels: usize| {
            let mut nodes = bottom;
            for _ in 0..levels {
                let sub = dir(&repo, "a", nodes);
                let mut twin = sub.clone();
                twin.name = b"b".to_vec();
                nodes = vec![sub, twin];
            }
            nodes
        };
        let clean = dir(
            &repo,
            "clean",
            doubling(vec![file(&repo, "f", b"fine")], 60),
        );
        let mut lost = dir(&repo, "lost", vec![]);
        lost.subtree = Some(Id::of_file(b"a tree that was never stored"));
        let shared = dir(&repo, "shared", doubling(vec![lost], 20));
        snapshot(&repo, tree(&repo, vec![clean, shared]));
        let rep = check(&repo, &CheckOptions::default(), &Progress::default()).unwrap();
        assert_eq!(rep.damaged_files.len(), MAX_NAMED);
        assert!(rep
            .damaged_files
            .iter()
            .all(|(_, p, _)| p.starts_with("/shared/") && p.ends_with("/lost/")));
        assert!(
            rep.errors
                .iter()
                .any(|e| e.starts_with("more damaged paths than")),
            "{:?}",
            &rep.errors[..3.min(rep.errors.len())]
        );
    }

    #[test]
    fn deep_trees_are_checked_and_their_damage_traced_on_a_small_stack() {
        use crate::repo::testing::{deep, on_small_stack, repo, snapshot, DEEP};
        let repo = repo();
        let snap = snapshot(&repo, deep(&repo, DEEP, b"at the bottom"));
        let opts = CheckOptions {
            read_data: true,
            ..Default::default()
        };
        let rep = on_small_stack(|| check(&repo, &opts, &Progress::default()).unwrap());
        assert!(rep.ok(), "{:?}", rep.errors);
        // The bottom file's blob, in a pack of its own (`testing::store`), garbled.
        let blob = repo.keys().chunk_id.id(b"at the bottom");
        let pack = repo.lookup(&blob).unwrap().pack.to_hex();
        repo.backend()
            .put(FileType::Pack, &pack, &[0u8; 100])
            .unwrap();
        let rep = on_small_stack(|| check(&repo, &opts, &Progress::default()).unwrap());
        let bottom = format!("{}/bottom", "/d".repeat(DEEP));
        assert_eq!(rep.damaged_files, vec![(snap, bottom, blob)]);
    }

    /// An index file naming an entry far beyond its pack's end: before offsets were bounded
    /// when decoded, `check --read-data` added its length to its offset and panicked (with
    /// overflow checks) on reading the pack. Now the index file is damage, reported.
    #[test]
    fn an_index_file_with_a_hostile_offset_is_reported_not_a_panic() {
        use crate::format::index_file::{seal_index_file, PackEntries};
        let repo = crate::repo::testing::repo();
        let blob = crate::repo::testing::store(&repo, BlobType::Data, b"some data");
        let loc = repo.lookup(&blob).unwrap();
        let hostile = BlobEntry {
            offset: u64::MAX - 10,
            ..loc.entry
        };
        let (name, bytes) = seal_index_file(
            &repo.keys().data,
            &[PackEntries {
                pack: loc.pack,
                entries: vec![hostile],
            }],
        );
        repo.backend()
            .put(FileType::Index, &name.to_hex(), &bytes)
            .unwrap();
        let opts = CheckOptions {
            read_data: true,
            ..Default::default()
        };
        let rep = check(&repo, &opts, &Progress::default()).unwrap();
        assert!(
            rep.errors
                .iter()
                .any(|m| m.contains(&format!("index file {}", name.to_hex()))
                    && m.contains("damaged")),
            "{:?}",
            rep.errors
        );
        assert_eq!(rep.blobs_read, 1, "the good entry is still read");
    }
}
