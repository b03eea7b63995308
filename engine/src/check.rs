//! Verification of a repository against itself. The structural check reads every index file,
//! every pack trailer and every snapshot's trees, and proves that each blob a snapshot needs is
//! named by an index file and sits in a pack that says the same. `read_data` additionally reads
//! packs whole, checks each pack's hash against its name and decrypts and hashes every blob.
//! Damage is reported per pack and blob, and traced to the snapshots and files it touches.
//! Check never trusts the local sled cache: it works from the repository alone.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::backend::FileType;
use crate::error::Result;
use crate::id::Id;
use crate::pack::{self, BlobEntry, BlobType};
use crate::progress::Progress;
use crate::repo::Repo;
use crate::snapshot::SnapshotRef;
use crate::tree::{NodeKind, Tree};

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
}

#[derive(Debug, Default)]
pub struct CheckReport {
    /// Damage or inconsistency: the repository is not intact.
    pub errors: Vec<String>,
    /// Harmless leftovers (unreferenced packs from an interrupted backup).
    pub warnings: Vec<String>,
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
    let mut packs: HashMap<Id, Vec<BlobEntry>> = HashMap::new();
    for (name, _) in repo.list(FileType::Index)? {
        match repo.read_index_file(&name) {
            Ok(list) => {
                for p in list {
                    packs.entry(p.pack).or_default().extend(p.entries);
                }
            }
            Err(e) => err(format!("index file {name}: {e}")),
        }
    }
    let blobs = Blobs::new(&packs);

    // 2. Packs on storage against packs in the index.
    let stored: HashMap<Id, u64> = repo
        .list(FileType::Pack)?
        .into_iter()
        .filter_map(|(n, s)| Some((n.parse().ok()?, s)))
        .collect();
    rep.packs = stored.len();
    for pid in packs.keys() {
        if !stored.contains_key(pid) {
            err(format!(
                "pack {pid}: named by the index but missing from storage"
            ));
        }
    }
    let mut unref: Vec<&Id> = stored.keys().filter(|p| !packs.contains_key(p)).collect();
    unref.sort();
    for p in unref {
        rep.warnings.push(format!(
            "pack {p}: not in any index (left by an interrupted backup; `vcd repair index` adopts it)"
        ));
    }

    // 3. Every indexed pack's trailer agrees with the index.
    let indexed: Vec<(&Id, &Vec<BlobEntry>)> = packs
        .iter()
        .filter(|(p, _)| stored.contains_key(p))
        .collect();
    indexed.par_iter().for_each(|(pid, entries)| {
        match repo.read_pack_trailer(&pid.to_hex(), stored[pid]) {
            Ok(t) => {
                let a: HashSet<_> = t.iter().map(|e| (e.id, e.offset, e.length)).collect();
                let b: HashSet<_> = entries.iter().map(|e| (e.id, e.offset, e.length)).collect();
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
    let load_tree = |id: &Id| -> std::result::Result<Tree, String> {
        let (pid, e) = blobs
            .get(id)
            .ok_or_else(|| format!("tree {id} is not in the index"))?;
        let loc = crate::index::Location {
            pack: *pid,
            entry: *e,
        };
        let b = repo.load_blob_at(&loc).map_err(|e| e.to_string())?;
        Tree::decode(&b).map_err(|e| format!("tree {id}: {e}"))
    };
    let mut seen_trees = HashSet::new();
    for s in &snaps {
        let mut stack = vec![(s.snap.tree, String::from("/"))];
        while let Some((tid, path)) = stack.pop() {
            crate::check_interrupt()?;
            if !seen_trees.insert(tid) {
                continue;
            }
            let t = match load_tree(&tid) {
                Ok(t) => t,
                Err(e) => {
                    err(format!("snapshot {}: {path}: {e}", s.id.short()));
                    continue;
                }
            };
            for n in &t.nodes {
                let p = format!("{}{}", path, n.name_lossy());
                if n.kind == NodeKind::Dir {
                    if let Some(sub) = n.subtree {
                        stack.push((sub, p + "/"));
                    }
                } else {
                    for id in n.data_ids() {
                        if blobs.get(&id).is_none() {
                            err(format!(
                                "snapshot {}: {p}: blob {id} is not in the index",
                                s.id.short()
                            ));
                        }
                    }
                }
            }
        }
    }

    // 5. Read the data.
    let mut damaged: HashMap<Id, String> = HashMap::new();
    if opts.read_data {
        let mut todo: Vec<(&Id, &Vec<BlobEntry>)> = indexed.clone();
        todo.sort_by_key(|(p, _)| **p);
        if let Some(pct) = opts.subset_percent {
            let n = ((todo.len() as f64) * pct / 100.0).ceil() as usize;
            todo.shuffle(&mut rand::thread_rng());
            todo.truncate(n.min(todo.len()));
        }
        rep.packs_read = todo.len();
        let bad = Mutex::new(HashMap::new());
        let nblobs = std::sync::atomic::AtomicU64::new(0);
        todo.par_iter()
            .try_for_each(|(pid, entries)| -> Result<()> {
                crate::check_interrupt()?;
                let name = pid.to_hex();
                let verify = |bytes: &[u8]| {
                    if Id::of_file(bytes) != **pid {
                        err(format!(
                            "pack {name}: content does not match its name (hash mismatch)"
                        ));
                    }
                    if let Err(e) = pack::parse_pack(&repo.keys().data, bytes) {
                        err(format!("pack {name}: trailer: {e}"));
                    }
                    for e in entries.iter() {
                        let end = e.offset as usize + e.length as usize;
                        let r = bytes
                            .get(e.offset as usize..end)
                            .ok_or_else(|| "outside the pack".to_string())
                            .and_then(|s| {
                                pack::open_blob(repo.keys(), e, s)
                                    .map(|_| ())
                                    .map_err(|x| x.to_string())
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
                    let size = stored[*pid];
                    match repo
                        .backend()
                        .read_range_into(FileType::Pack, &name, 0, size, &mut buf)
                    {
                        Ok(()) => verify(&buf),
                        Err(e) => {
                            err(format!("pack {name}: unreadable: {e}"));
                            let mut b = bad.lock().unwrap();
                            for e in entries.iter() {
                                b.insert(e.id, format!("pack {name} unreadable"));
                            }
                        }
                    }
                    if buf.capacity() > KEEP_BUF {
                        *buf = Vec::new();
                    }
                });
                Ok(())
            })?;
        rep.blobs_read = nblobs.into_inner();
        damaged = bad.into_inner().unwrap();
    }

    // 6. Trace damaged blobs to the files (and trees) they belong to.
    if !damaged.is_empty() {
        rep.damaged_files = files_touching(repo, &snaps, &damaged, &blobs);
        for (snap, path, blob) in &rep.damaged_files {
            err(format!(
                "snapshot {}: {path}: damaged (blob {blob})",
                snap.short()
            ));
        }
    }
    rep.errors = errors.into_inner().unwrap();
    Ok(rep)
}

/// Every indexed blob by id: a table sorted by id, 24 bytes a blob. A map of copies of the
/// entries took some 240 bytes a blob, most of check's 460 MiB peak at a million blobs.
struct Blobs<'a>(Vec<(u64, &'a Id, &'a BlobEntry)>);

impl<'a> Blobs<'a> {
    fn new(packs: &'a HashMap<Id, Vec<BlobEntry>>) -> Self {
        let mut v: Vec<_> = packs
            .iter()
            .flat_map(|(p, es)| es.iter().map(move |e| (prefix(&e.id), p, e)))
            .collect();
        v.sort_unstable_by_key(|x| x.2.id);
        Blobs(v)
    }

    /// The pack and entry of blob `id` (any one, if it is stored twice).
    fn get(&self, id: &Id) -> Option<(&'a Id, &'a BlobEntry)> {
        let k = prefix(id);
        let from = self.0.partition_point(|x| x.0 < k);
        self.0[from..]
            .iter()
            .take_while(|x| x.0 == k)
            .find(|x| x.2.id == *id)
            .map(|x| (x.1, x.2))
    }
}

/// The first 8 bytes of an id, big-endian, so that ordering by it agrees with ordering by id.
fn prefix(id: &Id) -> u64 {
    u64::from_be_bytes(id.0[..8].try_into().expect("ids are 32 bytes"))
}

/// (snapshot, path, blob) for every file or directory in any snapshot that needs a damaged blob.
fn files_touching(
    repo: &Repo,
    snaps: &[SnapshotRef],
    damaged: &HashMap<Id, String>,
    blobs: &Blobs,
) -> Vec<(Id, String, Id)> {
    let mut out = Vec::new();
    for s in snaps {
        let mut stack = vec![(s.snap.tree, String::from("/"))];
        while let Some((tid, path)) = stack.pop() {
            if damaged.contains_key(&tid) {
                out.push((s.id, path.clone(), tid));
                continue;
            }
            let Some((pid, e)) = blobs.get(&tid) else {
                continue;
            };
            if e.ty != BlobType::Tree {
                continue;
            }
            let loc = crate::index::Location {
                pack: *pid,
                entry: *e,
            };
            let Ok(t) = repo.load_blob_at(&loc).and_then(|b| Tree::decode(&b)) else {
                continue;
            };
            for n in &t.nodes {
                let p = format!("{}{}", path, n.name_lossy());
                if let Some(sub) = n.subtree {
                    stack.push((sub, p + "/"));
                } else if let Some(id) = n.data_ids().find(|id| damaged.contains_key(id)) {
                    out.push((s.id, p, id));
                }
            }
        }
    }
    out
}
