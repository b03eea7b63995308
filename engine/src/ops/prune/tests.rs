//! The protocol's steps on a repository in memory, with other processes played by other
//! handles on the same storage.

use std::sync::Arc;

use super::*;
use crate::backend::FileType;
use crate::format::blob::BlobType;
use crate::repo::testing::{file, mem_repo, snapshot, store, tree};
use crate::repo::BlobSource;

type Hook = Box<dyn FnOnce(&Repo)>;

thread_local! {
    /// Run by `prune` between its repack and its plan: what another process does meanwhile.
    static BEFORE_PLAN: std::cell::RefCell<Option<Hook>> = std::cell::RefCell::new(None);
}

pub(super) fn before_plan(repo: &Repo) {
    if let Some(f) = BEFORE_PLAN.with(|b| b.borrow_mut().take()) {
        f(repo)
    }
}

fn other(repo: &Repo) -> Repo {
    Repo::open(Arc::clone(&repo.backend), b"pw", None).unwrap()
}

fn run(repo: &Repo) -> PruneReport {
    let _l = lock::acquire_prune(repo).unwrap();
    prune(
        repo,
        &PruneOptions {
            grace: Duration::ZERO,
            ..Default::default()
        },
    )
    .unwrap()
}

/// A prune that repacks every pack with an unused blob, as a test's only prune.
fn prune_all(repo: &Repo) -> Result<PruneReport> {
    let _l = lock::acquire_prune(repo).unwrap();
    prune(
        repo,
        &PruneOptions {
            grace: Duration::ZERO,
            repack: RepackPolicy {
                max_unused: 0.0,
                max_repack_bytes: None,
            },
            ..Default::default()
        },
    )
}

/// A file node whose content is blob `id` (stored or not).
fn file_of(name: &str, id: Id, len: usize) -> crate::format::tree::Node {
    use crate::format::tree::{Extent, Node, NodeKind};
    let mut n = Node::new(name.as_bytes().to_vec(), NodeKind::File);
    n.size = len as u64;
    n.content = vec![Extent::Data {
        id,
        len: len as u32,
    }];
    n
}

fn packs(repo: &Repo) -> usize {
    repo.list(FileType::Pack).unwrap().len()
}

fn plans(repo: &Repo) -> usize {
    repo.list(FileType::Pending).unwrap().len()
}

#[test]
fn with_no_other_lock_held_a_prune_deletes_what_no_snapshot_uses_in_one_run() {
    let repo = mem_repo();
    let keep = file(&repo, "keep", b"kept content");
    let root = tree(&repo, vec![keep]);
    snapshot(&repo, root);
    store(&repo, BlobType::Data, b"garbage nobody uses");
    assert_eq!(packs(&repo), 3);
    let r = run(&repo);
    assert_eq!(
        (r.packs_unused, r.packs_deleted, r.packs_waiting),
        (1, 1, 0)
    );
    assert_eq!(packs(&repo), 2);
    assert_eq!(plans(&repo), 0, "the plan was carried out and removed");
    let fresh = other(&repo);
    assert_eq!(
        fresh.load_blob(&fresh.chunk_id(b"kept content")).unwrap(),
        b"kept content"
    );
    assert!(!fresh
        .is_stored(&fresh.chunk_id(b"garbage nobody uses"))
        .unwrap());
    // Nothing left to do.
    let again = run(&repo);
    assert_eq!((again.packs_deleted, again.packs_unused), (0, 0));
}

#[test]
fn a_plan_waits_for_the_locks_held_when_it_was_written() {
    let repo = mem_repo();
    snapshot(&repo, tree(&repo, vec![]));
    store(&repo, BlobType::Data, b"garbage");
    let backup = other(&repo);
    let held = lock::acquire(&backup, false).unwrap();
    let r = run(&repo);
    assert_eq!((r.packs_deleted, r.packs_waiting), (0, 1));
    assert_eq!(r.waiting_for.len(), 1, "{:?}", r.waiting_for);
    assert_eq!(plans(&repo), 1);
    assert_eq!(packs(&repo), 2);
    // Taken after the plan: it does not hold the plan up.
    let later = lock::acquire(&other(&repo), false).unwrap();
    assert_eq!(run(&repo).packs_deleted, 0, "the first lock is still held");
    drop(held);
    let r = run(&repo);
    assert_eq!((r.packs_deleted, r.packs_waiting), (1, 0));
    assert_eq!((packs(&repo), plans(&repo)), (1, 0));
    drop(later);
}

/// The race the protocol exists for: a backup that started before the plan found a chunk in
/// a pack that only garbage used, stored nothing, and writes its snapshot after the plan.
#[test]
fn a_snapshot_written_beside_the_plan_keeps_the_planned_pack_it_uses() {
    let repo = mem_repo();
    snapshot(&repo, tree(&repo, vec![]));
    let g = store(&repo, BlobType::Data, b"old version, forgotten");
    let backup = other(&repo);
    let held = lock::acquire(&backup, false).unwrap();
    assert!(
        backup.is_stored(&g).unwrap(),
        "the backup finds the chunk stored"
    );
    let r = run(&repo);
    assert_eq!(r.packs_waiting, 1);
    // Planned now: a backup starting now would store the chunk again, while a reader still
    // finds it where it is.
    let late = other(&repo);
    assert!(!late.is_stored(&g).unwrap());
    assert_eq!(late.load_blob(&g).unwrap(), b"old version, forgotten");
    // The early backup writes its snapshot, which uses the chunk, and finishes.
    let root = tree(&backup, vec![file_of("f", g, 22)]);
    snapshot(&backup, root);
    drop(held);
    let r = run(&repo);
    assert_eq!((r.packs_kept_back, r.packs_deleted), (1, 0), "{r:?}");
    assert_eq!(plans(&repo), 0);
    let fresh = other(&repo);
    assert_eq!(fresh.load_blob(&g).unwrap(), b"old version, forgotten");
    assert!(
        fresh.is_stored(&g).unwrap(),
        "the pack is an ordinary one again"
    );
}

#[test]
fn repacking_keeps_the_used_blobs_of_a_wasteful_pack_and_drops_the_rest() {
    let repo = mem_repo();
    // One pack holding a used and an unused blob.
    let used = repo.chunk_id(b"used blob");
    let unused = repo.chunk_id(b"unused blob, rather longer than the used one");
    store_together(
        &repo,
        &[
            b"used blob",
            b"unused blob, rather longer than the used one",
        ],
    );
    snapshot(&repo, tree(&repo, vec![file_of("f", used, 9)]));
    let r = run(&repo);
    assert_eq!(
        (r.packs_repacked, r.packs_written, r.packs_deleted),
        (1, 1, 1)
    );
    let fresh = other(&repo);
    assert_eq!(fresh.load_blob(&used).unwrap(), b"used blob");
    assert!(fresh.lookup_opt(&unused).unwrap().is_none());
    let rep = crate::ops::check::check(
        &fresh,
        &crate::ops::check::CheckOptions {
            read_data: true,
            ..Default::default()
        },
        &Default::default(),
    )
    .unwrap();
    assert!(rep.ok(), "{:?}", rep.errors);
}

#[test]
fn a_dry_run_changes_nothing_and_counts_what_a_run_deletes() {
    let repo = mem_repo();
    snapshot(&repo, tree(&repo, vec![]));
    store(&repo, BlobType::Data, b"garbage one");
    store(&repo, BlobType::Data, b"garbage two");
    let before: Vec<_> = repo.list(FileType::Pack).unwrap();
    let _l = lock::acquire_prune(&repo).unwrap();
    let dry = prune(
        &repo,
        &PruneOptions {
            dry_run: true,
            grace: Duration::ZERO,
            ..Default::default()
        },
    )
    .unwrap();
    drop(_l);
    assert_eq!(repo.list(FileType::Pack).unwrap(), before);
    assert_eq!(plans(&repo), 0);
    let real = run(&repo);
    assert_eq!(dry.packs_deleted, 2);
    assert_eq!(dry.bytes_deleted, real.bytes_deleted);
}

#[test]
fn a_plan_its_prune_did_not_finish_is_carried_out_by_the_next() {
    let repo = mem_repo();
    snapshot(&repo, tree(&repo, vec![]));
    store(&repo, BlobType::Data, b"garbage");
    let g = repo.chunk_id(b"garbage");
    let doomed = vec![repo.lookup(&g).unwrap().pack];
    assert_eq!(doomed.len(), 1);
    // Killed after writing its plan, before recording the locks.
    repo.write_plan(
        "0000000000000000000000000000000000000000000000000000000000000001",
        &DeletionPlan {
            version: 1,
            time: chrono::Utc::now(),
            host: "h".into(),
            packs: doomed.clone(),
            waits_for: None,
        },
    )
    .unwrap();
    let r = run(&repo);
    assert_eq!(r.packs_deleted, 1, "{r:?}");
    assert_eq!(plans(&repo), 0);
    assert!(repo
        .backend
        .get(FileType::Pack, &doomed[0].to_hex())
        .is_err());
}

/// Stores data blobs together in one pack of their own, indexed.
fn store_together(repo: &Repo, blobs: &[&[u8]]) {
    let mut w = crate::format::pack::PackWriter::default();
    for d in blobs {
        let id = repo.chunk_id(d);
        w.add(&crate::format::blob::seal_blob(
            &repo.keys,
            BlobType::Data,
            id,
            d,
            0,
        ));
    }
    let p = w.finish(&repo.keys.data);
    repo.backend
        .put(FileType::Pack, &p.id.to_hex(), &p.bytes)
        .unwrap();
    repo.save_index(&[crate::format::index_file::PackEntries {
        pack: p.id,
        entries: p.entries,
    }])
    .unwrap();
}

/// How many packs the index says hold `id`.
fn copies(repo: &Repo, id: &Id) -> usize {
    repo.indexed_packs()
        .map(|r| r.unwrap().1.iter().filter(|e| e.id == *id).count())
        .sum()
}

#[test]
fn a_blob_stored_thrice_is_kept_once_and_its_other_copies_are_given_back() {
    let repo = mem_repo();
    let data = b"stored three times";
    let id = repo.chunk_id(data);
    let root = tree(&repo, vec![file(&repo, "f", data)]);
    snapshot(&repo, root);
    // Twice more (as a prune killed after its repack's index file leaves them, or two
    // backups storing the same new chunk): alone, and beside garbage.
    store(&repo, BlobType::Data, data);
    store_together(&repo, &[data, b"garbage beside a copy"]);
    assert_eq!((packs(&repo), copies(&repo, &id)), (4, 3));
    let used_once = [root, id]
        .iter()
        .map(|b| repo.lookup(b).unwrap().entry.length as u64)
        .sum::<u64>();

    let r = run(&repo);
    assert_eq!(
        r.used_bytes, used_once,
        "the blob counts as used once: {r:?}"
    );
    // Whichever copy the index gives stays (or is copied, if it was beside the garbage);
    // the others go, and none is copied twice.
    assert!(r.packs_written <= 1, "{r:?}");
    // The tree's pack and one pack holding the blob (a new one if it was copied).
    assert_eq!(packs(&repo), 2, "{r:?}");
    let fresh = other(&repo);
    assert_eq!(copies(&fresh, &id), 1);
    assert_eq!(fresh.load_blob(&id).unwrap(), data);
    let again = run(&repo);
    assert_eq!(
        (
            again.unused_bytes,
            again.packs_deleted,
            again.packs_repacked
        ),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.used_bytes, used_once);
}

/// Flips a byte of blob `id` where pack storage holds it, name unchanged.
fn damage_blob(repo: &Repo, id: &Id) {
    let loc = repo.lookup(id).unwrap();
    let name = loc.pack.to_hex();
    let mut bytes = repo.backend.get(FileType::Pack, &name).unwrap();
    bytes[loc.entry.offset as usize + loc.entry.length as usize / 2] ^= 0x40;
    repo.backend.put(FileType::Pack, &name, &bytes).unwrap();
}

#[test]
fn a_damaged_blob_is_never_copied_whether_its_pack_is_read_whole_or_in_ranges() {
    // Mostly unused: the used blob is read alone and checked by its seal and id. Mostly used:
    // the pack is read whole and checked by its hash.
    let big: Vec<u8> = (0..6000u32).map(|i| (i * 7 % 251) as u8).collect();
    for (used, unused) in [
        (&b"a small used blob"[..], &big[..]),
        (&big[..], &b"tiny"[..]),
    ] {
        let repo = mem_repo();
        // The used blob's only copy is in a pack beside an unused one.
        store_together(&repo, &[used, unused]);
        let id = repo.chunk_id(used);
        snapshot(&repo, tree(&repo, vec![file_of("f", id, used.len())]));
        damage_blob(&repo, &id);
        let before = repo.list(FileType::Pack).unwrap();
        let err = prune_all(&repo).unwrap_err();
        assert!(err.is_damage(), "{err}");
        assert_eq!(repo.list(FileType::Pack).unwrap(), before, "{err}");
        assert_eq!(plans(&repo), 0);
    }
}

/// The same race within one run: the backup found a garbage chunk in a pack this prune is
/// repacking (so the repack does not copy it), and wrote its snapshot and let go of its lock
/// after the prune's first look but before its plan. No lock holds the plan back, so this run
/// carries it out, and its second look must see the chunk as newly used and keep the pack.
#[test]
fn a_snapshot_written_during_the_repack_keeps_the_repacked_pack_it_uses() {
    let repo = mem_repo();
    let used = b"used by the snapshot, in a pack beside garbage";
    let garbage = b"garbage that a backup beside the prune will use";
    store_together(&repo, &[used, garbage]);
    let (u, g) = (repo.chunk_id(used), repo.chunk_id(garbage));
    snapshot(&repo, tree(&repo, vec![file_of("u", u, used.len())]));
    let backup = other(&repo);
    let held = lock::acquire(&backup, false).unwrap();
    assert!(backup.is_stored(&g).unwrap());
    let late = std::sync::Mutex::new(Some((backup, held)));
    BEFORE_PLAN.with(|b| {
        *b.borrow_mut() = Some(Box::new(move |_: &Repo| {
            let (backup, held) = late.lock().unwrap().take().unwrap();
            let root = tree(&backup, vec![file_of("g", g, garbage.len())]);
            snapshot(&backup, root);
            drop(held);
        }))
    });
    let r = prune_all(&repo).unwrap();
    assert!(BEFORE_PLAN.with(|b| b.borrow().is_none()), "the hook ran");
    assert_eq!(r.packs_repacked, 1, "{r:?}");
    assert_eq!((r.packs_kept_back, r.packs_deleted), (1, 0), "{r:?}");
    let fresh = other(&repo);
    assert_eq!(fresh.load_blob(&g).unwrap(), garbage);
    assert_eq!(fresh.load_blob(&u).unwrap(), used);
}
