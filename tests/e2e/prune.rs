//! `vcd prune` (issue 13) from outside. After `forget`, a prune gives back at least the bytes
//! of the data only the forgotten snapshots had (computed here from the trees themselves), its
//! dry run changes nothing and announces exactly what the real run then deletes, and every kept
//! snapshot restores byte for byte. Backups never fail beside repeated forgets and prunes, and
//! a backup stopped before a prune's plan keeps the packs it deduplicated against (the race the
//! two-step protocol exists for). A prune killed at any of its steps leaves a valid repository
//! that the next prune cleans completely. Locked repositories, bad flags and an unreadable
//! index file are refused with nothing deleted.

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::common::Env;
use crate::crash::{check_read_data, fx};
use crate::phases::{self, Dir, Event};

/// The flags of a prune that leaves nothing behind it could take: every pack with an unused
/// blob repacked, packs no index names and temp files taken at once.
const THOROUGH: [&str; 4] = ["--max-unused", "0%", "--grace", "0s"];

/// Forgets snapshots (`vcd forget ID...`).
fn forget(e: &Env, ids: &[&str]) {
    let mut args = vec!["forget", "--quiet"];
    args.extend_from_slice(ids);
    e.ok(&args);
    let left = listed(e);
    assert!(
        ids.iter().all(|id| !left.contains(*id)),
        "forget left {ids:?}"
    );
}

/// A repository with 1 MiB packs, so a few MiB of data make several packs. Initialised through
/// the engine with a cheap KDF (all else as `vcd init --pack-size 1` makes it): these tests
/// run a few hundred commands, and each would otherwise spend a fifth of a second deriving
/// the key.
fn small_packs() -> Env {
    let e = Env::bare();
    let mut cfg = engine::format::config::Config::new();
    cfg.pack_size = 1 << 20;
    let kdf = engine::crypto::KdfParams {
        m_cost: 64,
        t_cost: 1,
        ..engine::crypto::KdfParams::recommended()
    };
    let backend = std::sync::Arc::new(engine::backend::LocalBackend::new(e.repo()));
    engine::Repo::init(backend, crate::common::PASSWORD.as_bytes(), cfg, kdf).unwrap();
    e
}

/// A small source tree: 24 files of up to 64 KiB (one blob each) and two of a few hundred KiB
/// (a few chunks each), all random, so nothing compresses and nothing is shared by chance.
fn tree(src: &Path, rng: &mut StdRng) {
    let bigs = [
        rng.gen_range(200 << 10..400 << 10),
        rng.gen_range(200 << 10..400 << 10),
    ];
    fx::tree(src, rng, 24, &bigs);
}

/// Replaces the big files and about half of the small ones with new random bytes (new
/// inodes: copies made with `fx::link_copy` keep the old content), deletes a few small files
/// and adds two per directory.
fn churn(src: &Path, rng: &mut StdRng, round: usize) {
    for i in 0..2 {
        let len = rng.gen_range(150 << 10..400 << 10);
        fx::random_file(&src.join(format!("big{i}.bin")), len, rng);
    }
    for d in 0..3 {
        let dir = src.join(format!("d{d}"));
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            match rng.gen_range(0..10) {
                0 if p.file_name().unwrap() != "s000" => std::fs::remove_file(&p).unwrap(),
                1..=4 => fx::random_file(&p, rng.gen_range(1..64 << 10), rng),
                _ => {}
            }
        }
        for k in 0..2 {
            let len = rng.gen_range(1..64 << 10);
            fx::random_file(&dir.join(format!("r{round}-{k}")), len, rng);
        }
    }
}

/// Backs up `src` and keeps a copy of it as it was: (snapshot id, copy).
fn snap(e: &Env, src: &Path, n: usize) -> (String, PathBuf) {
    let copy = e.path(&format!("copy-{n}"));
    fx::link_copy(src, &copy);
    (e.backup(src, &["--quiet"]), copy)
}

/// The contents of the regular files under `root` (an empty file has no data).
fn contents(root: &Path) -> HashSet<Vec<u8>> {
    let mut out = HashSet::new();
    for e in std::fs::read_dir(root).unwrap() {
        let p = e.unwrap().path();
        let m = std::fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            out.extend(contents(&p));
        } else if m.is_file() && m.len() > 0 {
            out.insert(std::fs::read(&p).unwrap());
        }
    }
    out
}

/// Bytes of the distinct file contents the `gone` trees have and the `kept` ones do not. The
/// contents are random, so no two share a chunk: the repository stores these bytes for the
/// gone trees alone, sealed at least as large as they are.
fn unique_bytes(gone: &[&Path], kept: &[&Path]) -> u64 {
    let keep: HashSet<Vec<u8>> = kept.iter().flat_map(|p| contents(p)).collect();
    let only: HashSet<Vec<u8>> = gone
        .iter()
        .flat_map(|p| contents(p))
        .filter(|c| !keep.contains(c))
        .collect();
    only.iter().map(|c| c.len() as u64).sum()
}

/// Runs `vcd prune --json` with `args`, asserting exit 0; returns its report.
fn prune(e: &Env, args: &[&str]) -> Value {
    let mut a = vec!["prune", "--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&e.ok(&a)).expect("prune --json prints JSON")
}

fn num(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("{k} is not a number in {v}"))
}

/// The repository's size as `vcd stats --json` reports it.
fn repository_bytes(e: &Env) -> u64 {
    let v: Value = serde_json::from_str(&e.ok(&["stats", "--json"])).unwrap();
    num(&v, "repository_bytes")
}

/// Names of the deletion plans in `pending/`.
fn plans(e: &Env) -> Vec<String> {
    phases::state(&e.repo()).plans.into_iter().collect()
}

/// Every file of the repository (temp files too) with its bytes.
/// Every file of the repository with its bytes, but the audit trail: every command, a dry
/// run or a refused one too, records itself there (FORMAT.md §16).
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p == root.join("audit") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Pack names and sizes.
fn packs(e: &Env) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for d in std::fs::read_dir(e.repo().join("data")).unwrap() {
        let d = d.unwrap();
        if !d.file_type().unwrap().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(d.path()).unwrap() {
            let f = f.unwrap();
            let n = f.file_name().into_string().unwrap();
            if !n.starts_with('.') {
                out.insert(n, f.metadata().unwrap().len());
            }
        }
    }
    out
}

/// The ids of the snapshots in the repository.
fn listed(e: &Env) -> HashSet<String> {
    phases::state(&e.repo()).snapshots.into_iter().collect()
}

/// Every snapshot in `snaps` (of `src`) restores exactly as its copy of the source, and no
/// other snapshot exists.
fn all_restore(e: &Env, src: &Path, snaps: &[(String, PathBuf)], when: &str) {
    let want: HashSet<String> = snaps.iter().map(|s| s.0.clone()).collect();
    assert_eq!(listed(e), want, "{when}: the snapshots listed");
    restores(e, src, snaps);
}

/// Each snapshot in `snaps` (of `src`) restores exactly as its copy of the source.
fn restores(e: &Env, src: &Path, snaps: &[(String, PathBuf)]) {
    for (i, (id, copy)) in snaps.iter().enumerate() {
        let target = e.path(&format!("restore-{i}"));
        e.ok(&[
            "restore",
            id,
            "--target",
            target.to_str().unwrap(),
            "--quiet",
        ]);
        fx::assert_same_tree(copy, &fx::restored(&target, src), &[]);
        std::fs::remove_dir_all(&target).unwrap();
    }
}

/// After a prune with `--max-unused 0%`: nothing left to do, as a dry run sees it. Returns
/// its report.
fn nothing_left(e: &Env, when: &str) -> Value {
    let d = prune(e, &["--dry-run", "--max-unused", "0%", "--grace", "0s"]);
    for k in [
        "unused_bytes",
        "packs_unused",
        "packs_repacked",
        "packs_unindexed",
        "packs_deleted",
        "packs_waiting",
        "packs_kept_back",
    ] {
        assert_eq!(num(&d, k), 0, "{when}: {k} in {d:#}");
    }
    assert!(
        plans(e).is_empty(),
        "{when}: a plan is left: {:?}",
        plans(e)
    );
    d
}

#[test]
fn prune_after_forget_gives_back_the_forgotten_data_and_its_dry_run_foretells_it() {
    let e = small_packs();
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0x5eed_9a01);
    tree(&src, &mut rng);
    let mut snaps = Vec::new();
    for n in 0..5 {
        if n > 0 {
            churn(&src, &mut rng, n);
        }
        snaps.push(snap(&e, &src, n));
    }
    // Forget the first two and the fourth; keep the third and the last.
    let (gone, kept): (Vec<_>, Vec<_>) = snaps
        .iter()
        .enumerate()
        .partition(|(i, _)| [0, 1, 3].contains(i));
    let gone: Vec<&(String, PathBuf)> = gone.into_iter().map(|(_, s)| s).collect();
    let kept: Vec<(String, PathBuf)> = kept.into_iter().map(|(_, s)| s.clone()).collect();
    let unique = unique_bytes(
        &gone.iter().map(|s| s.1.as_path()).collect::<Vec<_>>(),
        &kept.iter().map(|s| s.1.as_path()).collect::<Vec<_>>(),
    );
    let kept_data = {
        let all: HashSet<Vec<u8>> = kept.iter().flat_map(|s| contents(&s.1)).collect();
        all.iter().map(|c| c.len() as u64).sum::<u64>()
    };
    assert!(
        unique > 1 << 20,
        "the forgotten snapshots have data of their own"
    );
    forget(&e, &gone.iter().map(|s| s.0.as_str()).collect::<Vec<_>>());

    let size_before = repository_bytes(&e);
    let files_before = files(&e.repo());
    let packs_before = packs(&e);
    let index_before = phases::state(&e.repo()).index;

    // The dry run changes nothing at all.
    let dry = prune(&e, &["--dry-run", "--max-unused", "0%"]);
    assert!(
        files(&e.repo()) == files_before,
        "a dry run changed the repository"
    );
    assert_eq!(dry["dry_run"], true);
    // It is on the audit trail, as what it was.
    let trail: serde_json::Value = serde_json::from_str(&e.ok(&["audit", "--json"])).unwrap();
    let last = trail["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["op"], "prune");
    assert!(
        last["args"]
            .as_array()
            .unwrap()
            .contains(&"--dry-run".into()),
        "{last}"
    );

    let real = prune(&e, &["--max-unused", "0%"]);
    let packs_after = packs(&e);
    let size_after = repository_bytes(&e);
    eprintln!("dry run: {dry:#}\nprune: {real:#}");
    eprintln!("repository {size_before} -> {size_after} bytes; forgotten data {unique} bytes");

    // What the dry run foretold is what the prune did.
    assert_eq!(real["dry_run"], false);
    for k in [
        "snapshots",
        "packs_before",
        "bytes_before",
        "used_bytes",
        "unused_bytes",
        "packs_unused",
        "packs_repacked",
        "bytes_repacked",
        "packs_unindexed",
        "packs_deleted",
        "bytes_deleted",
    ] {
        assert_eq!(dry[k], real[k], "{k}: dry run vs prune");
    }
    // The dry run foretells the new packs' size without their trailers: a little less.
    let (dry_after, real_after) = (num(&dry, "bytes_after"), num(&real, "bytes_after"));
    assert!(
        dry_after <= real_after && real_after - dry_after <= real_after / 50,
        "bytes after: dry run {dry_after}, prune {real_after}"
    );
    // The report against the files.
    assert_eq!(num(&real, "snapshots"), kept.len() as u64);
    assert_eq!(num(&real, "packs_before"), packs_before.len() as u64);
    assert_eq!(
        num(&real, "bytes_before"),
        packs_before.values().sum::<u64>()
    );
    let deleted: Vec<&String> = packs_before
        .keys()
        .filter(|p| !packs_after.contains_key(*p))
        .collect();
    let written = packs_after
        .keys()
        .filter(|p| !packs_before.contains_key(*p))
        .count();
    assert_eq!(num(&real, "packs_deleted"), deleted.len() as u64);
    assert_eq!(
        num(&real, "bytes_deleted"),
        deleted.iter().map(|p| packs_before[*p]).sum::<u64>()
    );
    let written_bytes: u64 = packs_after
        .iter()
        .filter(|(p, _)| !packs_before.contains_key(*p))
        .map(|(_, s)| *s)
        .sum();
    assert_eq!(num(&real, "bytes_written"), written_bytes);
    assert_eq!(
        num(&real, "bytes_after"),
        packs_after.values().sum::<u64>(),
        "the report's bytes after against the packs in storage"
    );
    assert_eq!(num(&real, "packs_written"), written as u64);
    assert!(
        num(&real, "packs_repacked") > 0,
        "some packs mix used and unused blobs"
    );
    assert!(num(&real, "packs_written") > 0);
    let index_after = phases::state(&e.repo()).index;
    let removed = index_before.difference(&index_after).count() as u64;
    let added = index_after.difference(&index_before).count() as u64;
    assert_eq!(num(&real, "index_files_removed"), removed);
    assert_eq!(num(&real, "index_files_written"), added);
    assert!(removed > 0 && added > 0);
    assert!(num(&real, "used_bytes") >= kept_data);
    assert!(
        num(&real, "unused_bytes") >= unique,
        "unused {} < the forgotten snapshots' own data {unique}",
        num(&real, "unused_bytes")
    );
    assert_eq!(num(&real, "packs_waiting"), 0);
    assert_eq!(num(&real, "packs_kept_back"), 0);
    assert_eq!(real["waiting_for"], serde_json::json!([]));

    // The space came back: at least the forgotten data, and nothing unused is left.
    assert!(
        size_before - size_after >= unique,
        "prune gave back {} bytes, the forgotten snapshots alone had {unique}",
        size_before - size_after
    );
    let left = nothing_left(&e, "after the prune");
    assert_eq!(
        left["used_bytes"], real["used_bytes"],
        "each blob is stored once"
    );

    check_read_data(&e, "after the prune");
    all_restore(&e, &src, &kept, "after the prune");
}

/// Stops the guarded flag's owner when dropped (also when a test panics).
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn backups_never_fail_beside_repeated_forgets_and_prunes() {
    let e = small_packs();
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0x5eed_9a02);
    tree(&src, &mut rng);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Result<(String, PathBuf), String>>();

    let mut live: Vec<(String, PathBuf)> = Vec::new();
    let mut reports: Vec<Value> = Vec::new();
    let backups = std::thread::scope(|s| {
        let (e, src, stop) = (&e, &src, &stop);
        // It owns the sender: should it panic, the receiver below stops waiting.
        let backups = s.spawn(move || {
            // Its own generator, seeded: the trees it backs up do not depend on timing.
            let mut rng = StdRng::seed_from_u64(0x5eed_9a03);
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                if n > 0 {
                    churn(src, &mut rng, n);
                }
                // New data enough for the backup to be still running when a prune plans.
                fx::random_file(&src.join("heavy.bin"), 3 << 20, &mut rng);
                let copy = e.path(&format!("copy-{n}"));
                fx::link_copy(src, &copy);
                let o = e.run(&["backup", "--json", "--quiet", src.to_str().unwrap()]);
                let msg = if o.status.success() {
                    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
                    Ok((v["id"].as_str().unwrap().to_string(), copy))
                } else {
                    Err(format!(
                        "backup {n} failed ({:?}): {}",
                        o.status.code(),
                        String::from_utf8_lossy(&o.stderr)
                    ))
                };
                let failed = msg.is_err();
                tx.send(msg).unwrap();
                if failed {
                    break;
                }
                n += 1;
            }
            n
        });
        let _stop = SetOnDrop(stop);
        // At least five rounds, and on until two prunes have planned beside a running backup
        // (their plans then wait for its lock).
        let mut overlaps = 0;
        for round in 0.. {
            if round >= 5 && overlaps >= 2 {
                break;
            }
            assert!(
                round < 12,
                "only {overlaps} prunes ran beside a backup in {round} rounds"
            );
            // Two more backups, then forget one or two snapshots (the running backup's parent
            // among the candidates) and prune while the next backup runs.
            for _ in 0..2 {
                live.push(rx.recv().unwrap().unwrap_or_else(|m| panic!("{m}")));
            }
            let n = rng.gen_range(1..=2.min(live.len() - 1));
            let mut ids = Vec::new();
            for _ in 0..n {
                let i = rng.gen_range(0..live.len());
                ids.push(live.remove(i).0);
            }
            forget(e, &ids.iter().map(|s| s.as_str()).collect::<Vec<_>>());
            let r = prune(e, &THOROUGH);
            if !r["waiting_for"].as_array().unwrap().is_empty() {
                overlaps += 1;
            }
            eprintln!(
                "round {round}: forgot {n}; deleted {} packs, {} waiting for {}, {} kept back",
                r["packs_deleted"], r["packs_waiting"], r["waiting_for"], r["packs_kept_back"]
            );
            reports.push(r);
        }
        drop(_stop);
        backups.join().unwrap()
    });
    for m in rx.try_iter() {
        live.push(m.unwrap_or_else(|m| panic!("{m}")));
    }
    eprintln!("{backups} backups beside {} prunes", reports.len());
    assert!(backups >= 10);

    // The last plan may still wait for the backup that ran beside its prune; the next prune
    // finds that lock gone and carries it out. A pack it keeps back (the backup leaned on it)
    // is an ordinary pack again, with its unused blobs: the prune after repacks it.
    let mut finals = 0;
    loop {
        finals += 1;
        assert!(finals <= 3, "work left after three prunes: {:?}", plans(&e));
        let r = prune(&e, &THOROUGH);
        let dry = prune(&e, &["--dry-run", "--max-unused", "0%", "--grace", "0s"]);
        if plans(&e).is_empty() && num(&dry, "unused_bytes") == 0 {
            break;
        }
        eprintln!(
            "final prune {finals}: {} kept back; left {}",
            r["packs_kept_back"], dry["unused_bytes"]
        );
    }
    let deleted: u64 = reports.iter().map(|r| num(r, "packs_deleted")).sum();
    assert!(deleted > 0, "the prunes beside the backups deleted packs");
    nothing_left(&e, "after the final prune");
    check_read_data(&e, "after the backups and prunes");
    all_restore(&e, &src, &live, "after the backups and prunes");
}

/// The race the two-step protocol exists for: a backup that started before a prune's plan
/// deduplicates against a blob that only a forgotten snapshot used. The backup is stopped
/// (after its lock and a pack) while a prune plans that blob's pack for deletion: the prune
/// deletes nothing and reports that its plan waits for the backup's lock. Once the backup
/// has finished, the next prune keeps the pack back, since the new snapshot uses it, and the
/// snapshot restores.
#[test]
fn a_backup_stopped_before_a_plan_keeps_the_forgotten_data_it_deduplicated_against() {
    let e = small_packs();
    let mut rng = StdRng::seed_from_u64(0x5eed_9a04);
    let old = e.path("old");
    tree(&old, &mut rng);
    fx::random_file(&old.join("shared.bin"), 600 << 10, &mut rng);
    let shared = std::fs::read(old.join("shared.bin")).unwrap();
    let first = snap(&e, &old, 0);
    churn(&old, &mut rng, 1);
    std::fs::remove_file(old.join("shared.bin")).unwrap();
    let second = snap(&e, &old, 1);
    forget(&e, &[&first.0]);

    // A new source with shared.bin's bytes (found in the index, not stored again) and 24 MiB
    // of new data: once its first pack is in place, the backup has most of its work ahead
    // and is stopped long before its end.
    let new = e.path("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(new.join("a-shared.bin"), &shared).unwrap();
    for i in 0..24 {
        fx::random_file(&new.join(format!("z{i:02}.bin")), 1 << 20, &mut rng);
    }
    let before = phases::state(&e.repo());
    let backup = phases::stop_at(
        &e.repo(),
        e.cmd(&["backup", "--json", new.to_str().unwrap()]),
        "backup stopped after a pack",
        |ev| ev.pack_placed(),
    );
    assert_eq!(backup.state.locks.len(), 1, "the backup holds its lock");
    assert!(backup.state.packs.len() > before.packs.len());

    let planned = prune(&e, &THOROUGH);
    eprintln!("prune beside the stopped backup: {planned:#}");
    let during = phases::state(&e.repo());
    assert_eq!(num(&planned, "packs_deleted"), 0);
    assert!(
        backup.state.packs.is_subset(&during.packs),
        "a pack was deleted while the backup that may use it ran"
    );
    assert!(
        backup.state.index.is_subset(&during.index),
        "an index file was deleted while a backup ran"
    );
    assert_eq!(plans(&e).len(), 1, "the plan waits");
    assert!(num(&planned, "packs_waiting") > 0, "{planned:#}");
    let waiting: Vec<&str> = planned["waiting_for"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let pid = format!("pid {} ", backup.pid());
    assert!(
        waiting.len() == 1 && waiting[0].starts_with("shared lock") && waiting[0].contains(&pid),
        "waits for the backup's lock: {waiting:?}"
    );

    // The plan names packs that were there before the backup started: shared.bin's.
    let old_planned: Vec<String> = e
        .open_repo()
        .plans()
        .unwrap()
        .into_iter()
        .flat_map(|(_, p)| p.packs)
        .map(|p| p.to_hex())
        .filter(|p| before.packs.contains(p))
        .collect();
    assert!(!old_planned.is_empty(), "the prune planned old packs");

    let o = backup.resume();
    assert!(
        o.status.success(),
        "the backup failed after the prune ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    // It stored the 24 MiB of new data and leaned on the planned pack for shared.bin's 600
    // KiB (trees and sealing add a few KiB).
    let added = num(&v["summary"], "bytes_added");
    assert!(
        (24 << 20..(24 << 20) + (100 << 10)).contains(&added),
        "bytes added {added}: shared.bin was stored again, or new data was not"
    );

    let done = prune(&e, &THOROUGH);
    eprintln!("prune after the backup: {done:#}");
    assert!(
        num(&done, "packs_kept_back") > 0,
        "the pack holding shared.bin's data is kept back: {done:#}"
    );
    assert!(plans(&e).is_empty(), "the plan was carried out");
    let survivors: Vec<&String> = old_planned
        .iter()
        .filter(|p| packs(&e).contains_key(*p))
        .collect();
    assert!(
        !survivors.is_empty(),
        "every old pack the plan named was deleted, though the new snapshot uses shared.bin"
    );
    check_read_data(&e, "after the backup and the prunes");
    assert_eq!(listed(&e), HashSet::from([id.clone(), second.0.clone()]));
    restores(&e, &new, &[(id, new.clone())]);
    restores(&e, &old, &[second]);
}

/// Where a prune is killed: after the `nth` event `kind` accepts.
#[derive(Clone, Copy, Debug)]
enum At {
    /// `vcd forget` (of two snapshots, before the prune) has removed a snapshot file.
    Forgetting,
    /// Its lock is in place (then a seeded delay: marking, or later).
    Locked,
    /// A pack written by the repack.
    RepackPack,
    /// The repack's index file (written before the plan).
    RepackIndex,
    /// The plan is in place, its lock list not yet recorded.
    Planned,
    /// The plan with its lock list.
    LocksRecorded,
    /// An index file without the planned packs (after the plan).
    NewIndex,
    /// An old index file removed.
    OldIndexRemoved,
    /// A planned pack deleted.
    PackRemoved,
    /// The plan removed (the end).
    PlanRemoved,
}

impl At {
    /// The event to stop at: counts the events, and the plans placed so far.
    fn matcher(self, nth: usize) -> impl Fn(&Event) -> bool {
        let (seen, plans) = (Cell::new(0), Cell::new(0));
        move |ev: &Event| {
            if ev.placed(Dir::Pending) {
                plans.set(plans.get() + 1);
            }
            let hit = match self {
                At::Forgetting => ev.removed(Dir::Snapshots),
                At::Locked => ev.placed(Dir::Locks),
                At::RepackPack => ev.pack_placed(),
                At::RepackIndex => ev.placed(Dir::Index) && plans.get() == 0,
                At::Planned => ev.placed(Dir::Pending) && plans.get() == 1,
                At::LocksRecorded => ev.placed(Dir::Pending) && plans.get() == 2,
                At::NewIndex => ev.placed(Dir::Index) && plans.get() >= 2,
                At::OldIndexRemoved => ev.removed(Dir::Index),
                At::PackRemoved => ev.removed(Dir::Packs),
                At::PlanRemoved => ev.removed(Dir::Pending),
            };
            if hit {
                seen.set(seen.get() + 1);
            }
            hit && seen.get() == nth
        }
    }
}

/// How far a killed prune got, from the files it left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Landing {
    /// Forget removed a snapshot file, maybe both (no prune yet).
    Forgetting,
    /// Nothing written yet (marking).
    Surveying,
    /// Repack packs (or their temp files), no index file for them yet.
    Repacking,
    /// The repack's index file, no plan yet.
    Repacked,
    /// A plan, nothing deleted yet.
    Planned,
    /// A plan, and old index files or packs deleted.
    Deleting,
    /// The plan carried out and removed (or the prune ended before it was stopped).
    Done,
}

impl Landing {
    fn of(b: &phases::State, stop: &phases::Stop) -> Landing {
        let s = &stop.state;
        let removed = !b.packs.is_subset(&s.packs) || !b.index.is_subset(&s.index);
        if stop.ended || (s.plans.is_empty() && removed) {
            Landing::Done
        } else if !s.plans.is_empty() && removed {
            Landing::Deleting
        } else if !s.plans.is_empty() {
            Landing::Planned
        } else if s.index.len() > b.index.len() {
            Landing::Repacked
        } else if s.packs.len() > b.packs.len() || s.temps > b.temps {
            Landing::Repacking
        } else {
            Landing::Surveying
        }
    }
}

/// Every lock in the repository is stale.
fn all_stale(e: &Env, when: &str) {
    let repo = e.open_repo();
    let now = chrono::Utc::now();
    for (name, info) in engine::repo::lock::list_locks(&repo).unwrap() {
        let info = info.unwrap_or_else(|| panic!("{when}: lock {name} unreadable"));
        assert!(
            engine::repo::lock::is_stale(&info, now),
            "{when}: the lock of a killed process is not stale: {info:?}"
        );
    }
}

/// A forget and a prune killed (SIGKILL) at 24 moments: the forget of two snapshots twice,
/// once it has removed a snapshot file (at once, and after a seeded delay of up to 1 ms); the
/// prune twice at each of its steps seen in the repository (at the first occurrence of the
/// event, and again at the second occurrence where a step has several, after a seeded delay
/// of up to 1 ms), and six times at a seeded moment after its lock (within the first third
/// of the time a whole prune takes after its lock). Each kill hits a fresh copy of one repository whose forgotten
/// snapshots leave packs to delete, packs to repack and an index file to rewrite. After each:
/// the killed command's lock is stale (and left there: it holds up nothing), `check
/// --read-data` passes (every blob of every snapshot there and intact), a killed forget is
/// run again for what it left, then `prune --max-unused 0% --grace 0s` (twice if a plan is
/// left) completes, and the kept snapshots restore byte for byte from what it left.
///
/// "Reclaims the space" is measured as a dry run sees the repository afterwards: no unused
/// blob, no pack that no index names, no plan, no temp file, nothing to repack, and the used
/// bytes equal to those before the kill, so no blob is stored twice (a kill after a repack's
/// copies were indexed leaves two copies of each: the next prune must give one back). That is
/// exactly what an uninterrupted prune of an identical copy leaves, which the test checks
/// first. The kills land in at least five different steps (`Landing`).
#[test]
fn a_prune_killed_at_any_step_leaves_a_valid_repository_the_next_prune_cleans() {
    let base = small_packs();
    let src = base.path("src");
    let mut rng = StdRng::seed_from_u64(0x5eed_9a05);
    tree(&src, &mut rng);
    // Data every snapshot has: the first snapshot's index file names packs that stay, and
    // carrying out rewrites it.
    fx::random_file(&src.join("stable.bin"), 5 << 19, &mut rng);
    let mut snaps = Vec::new();
    for n in 0..4 {
        if n > 0 {
            churn(&src, &mut rng, n);
        }
        snaps.push(snap(&base, &src, n));
    }
    // A fresh copy of a repository (its own cache).
    let copy = |repo: &Path| {
        let e = Env::bare();
        let st = std::process::Command::new("cp")
            .arg("-a")
            .arg(repo)
            .arg(e.repo())
            .status()
            .unwrap();
        assert!(st.success());
        e
    };
    // The forget is killed on a copy of the repository before it.
    let unforgotten = base.path("unforgotten");
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(base.repo())
        .arg(&unforgotten)
        .status()
        .unwrap();
    assert!(st.success());
    let gone = [snaps[0].0.as_str(), snaps[2].0.as_str()];
    forget(&base, &gone);
    let kept = vec![snaps[1].clone(), snaps[3].clone()];
    let before = prune(&base, &["--dry-run", "--max-unused", "0%"]);
    let used = num(&before, "used_bytes");

    // The uninterrupted prune, on a twin, timed from its lock to its end.
    let twin = copy(&base.repo());
    let mut cmd = twin.cmd(&["prune", "--json"]);
    cmd.args(THOROUGH);
    let at_lock = phases::stop_at(&twin.repo(), cmd, "twin prune", |ev| ev.placed(Dir::Locks));
    let started = Instant::now();
    let o = at_lock.resume();
    let normal = started.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    // Each step is there to be killed at, the second occurrences too.
    assert!(num(&r, "packs_written") >= 2, "{r:#}");
    assert!(
        num(&r, "index_files_written") >= 2,
        "repack and rewrite: {r:#}"
    );
    assert!(num(&r, "index_files_removed") >= 2, "{r:#}");
    assert!(num(&r, "packs_deleted") >= 2, "{r:#}");
    let left = nothing_left(&twin, "after an uninterrupted prune");
    assert_eq!(num(&left, "used_bytes"), used);

    let mut kills: Vec<(At, usize, Duration)> = vec![
        (At::Forgetting, 1, Duration::ZERO),
        (
            At::Forgetting,
            1,
            Duration::from_micros(rng.gen_range(0..1000)),
        ),
    ];
    for at in [
        At::RepackPack,
        At::RepackIndex,
        At::Planned,
        At::LocksRecorded,
        At::NewIndex,
        At::OldIndexRemoved,
        At::PackRemoved,
        At::PlanRemoved,
    ] {
        kills.push((at, 1, Duration::ZERO));
        let later = match at {
            At::RepackPack | At::OldIndexRemoved | At::PackRemoved => 2,
            _ => 1,
        };
        kills.push((at, later, Duration::from_micros(rng.gen_range(0..1000))));
    }
    for _ in 0..6 {
        // Within the first third: most of a prune's time after its lock is its survey.
        let us = rng.gen_range(0..(normal.as_micros() as u64 / 3).max(1000));
        kills.push((At::Locked, 1, Duration::from_micros(us)));
    }
    assert!(kills.len() >= 24);
    let base_repo = base.repo();
    let mut landings = Vec::new();
    for (i, (at, nth, delay)) in kills.into_iter().enumerate() {
        let forgetting = matches!(at, At::Forgetting);
        let e = copy(if forgetting { &unforgotten } else { &base_repo });
        let what = format!("kill {i}: at {at:?} #{nth} + {delay:?}");
        let b = phases::state(&e.repo());
        let mut cmd = e.cmd(&["prune", "--max-unused", "0%", "--grace", "0s"]);
        if forgetting {
            cmd = e.cmd(&["forget"]);
            cmd.args(gone);
        }
        let stop = phases::kill_at(&e.repo(), cmd, &what, delay, at.matcher(nth));
        let landed = if forgetting {
            // One snapshot or both removed; nothing else changed.
            let s = &stop.state;
            assert!(s.snapshots.is_subset(&b.snapshots) && s.snapshots.len() < b.snapshots.len());
            assert!(b
                .snapshots
                .difference(&s.snapshots)
                .all(|id| gone.contains(&id.as_str())));
            assert_eq!((&s.packs, &s.index), (&b.packs, &b.index));
            Landing::Forgetting
        } else {
            Landing::of(&b, &stop)
        };
        let s = &stop.state;
        let place = format!(
            "{what}: landed {landed:?} (packs +{} -{}, index files +{} -{}, plans {}, temps {})",
            s.packs.difference(&b.packs).count(),
            b.packs.difference(&s.packs).count(),
            s.index.difference(&b.index).count(),
            b.index.difference(&s.index).count(),
            s.plans.len(),
            s.temps
        );
        eprintln!("{place}");
        landings.push(landed);
        if stop.ended {
            assert_eq!(
                fx::locks(&e.repo()),
                0,
                "{place}: a finished prune left its lock"
            );
        } else {
            // Its lock is left: stale (its process is gone), it holds up nothing below.
            all_stale(&e, &place);
        }
        check_read_data(&e, &format!("after {place}"));
        if forgetting {
            // Run again, as its user would: it removes what is left of what it was asked.
            let left: Vec<&str> = gone
                .iter()
                .copied()
                .filter(|id| listed(&e).contains(*id))
                .collect();
            if !left.is_empty() {
                forget(&e, &left);
            }
        }
        let mut runs = 0;
        while runs == 0 || !plans(&e).is_empty() {
            runs += 1;
            assert!(runs <= 2, "{place}: plans left after two prunes");
            prune(&e, &THOROUGH);
        }
        let after = format!("after {place} and {runs} prune(s)");
        let left = nothing_left(&e, &after);
        assert_eq!(
            num(&left, "used_bytes"),
            used,
            "{after}: blobs stored twice (or lost)"
        );
        assert_eq!(
            phases::state(&e.repo()).temps,
            0,
            "{after}: temp files left"
        );
        all_restore(&e, &src, &kept, &after);
    }
    let distinct: HashSet<Landing> = landings.iter().copied().collect();
    eprintln!("landings: {landings:?}");
    assert!(distinct.len() >= 5, "the kills landed in {distinct:?} only");
}

/// Prune's lock against the others: refused (exit 11, the holder named) beside an exclusive
/// lock and beside another prune, nothing in the repository changed; refused flags; and an
/// index file that cannot be read stops a prune before it deletes anything.
#[test]
fn prune_refuses_a_locked_repository_bad_flags_and_an_unreadable_index() {
    let e = small_packs();
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0x5eed_9a06);
    tree(&src, &mut rng);
    let a = snap(&e, &src, 0);
    churn(&src, &mut rng, 1);
    let b = snap(&e, &src, 1);
    forget(&e, &[&a.0]);
    let unchanged = |before: &BTreeMap<PathBuf, Vec<u8>>, what: &str| {
        assert!(files(&e.repo()) == *before, "{what} changed the repository");
    };

    // An exclusive lock (as `repair index` or `key passwd` hold).
    let repo = e.open_repo();
    let x = engine::repo::lock::acquire(&repo, true).unwrap();
    let with_x = files(&e.repo());
    for args in [vec!["prune"], vec!["prune", "--dry-run"]] {
        let (_, err) = e.code(11, &args);
        assert!(
            err.contains("repository is locked: exclusive lock by"),
            "{args:?}: {err}"
        );
        unchanged(&with_x, "a prune refused by an exclusive lock");
    }
    drop(x);

    // A second prune beside a running one. The lock is taken here, as a prune takes it: a
    // prune process stopped once its lock is in place can have run to its end before the
    // stop lands (it did under CI load), and would then test nothing.
    let p = engine::repo::lock::acquire_prune(&repo).unwrap();
    let with_prune = files(&e.repo());
    let (_, err) = e.code(11, &["prune", "--grace", "0s"]);
    assert!(
        err.contains("repository is locked: prune lock by")
            && err.contains(&format!("pid {} ", std::process::id())),
        "{err}"
    );
    unchanged(&with_prune, "a prune refused by another");
    drop(p);
    // Once that lock is gone a prune runs to its end.
    e.code(0, &["prune"]);
    assert!(plans(&e).is_empty());
    let before = files(&e.repo());

    // Flags refused before the repository is touched.
    for (args, msg) in [
        (
            vec!["prune", "--max-unused", "150%"],
            "--max-unused \"150%\": between 0% and 100%",
        ),
        (
            vec!["prune", "--max-unused", "5"],
            "--max-unused takes a percentage",
        ),
        (
            vec!["prune", "--max-repack-size", "5X"],
            "unknown unit \"X\"",
        ),
        (vec!["prune", "--grace", "10"], "give a unit (s, m, h or d)"),
        (vec!["prune", "--grace", "1w"], "unknown unit \"w\""),
    ] {
        let (_, err) = e.code(1, &args);
        assert!(err.contains(msg), "{args:?}: {err}");
        unchanged(&before, &format!("{args:?}"));
    }

    // An index file that cannot be read: its packs would look unused. With a cold cache (the
    // index file not absorbed) and with a warm one (absorbed before it was damaged), prune
    // refuses before it does anything: exit 1, the file named, the repository unchanged.
    churn(&src, &mut rng, 2);
    let c = snap(&e, &src, 2);
    forget(&e, &[&b.0]);
    let index_dir = e.repo().join("index");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&index_dir)
        .unwrap()
        .map(|d| d.unwrap().path())
        .collect();
    names.sort();
    let victim = names.last().unwrap().clone();
    let victim_name = victim.file_name().unwrap().to_str().unwrap().to_string();
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&victim, &bytes).unwrap();
    for cache in ["warm", "cold"] {
        if cache == "cold" {
            std::fs::remove_dir_all(e.cache()).unwrap();
        }
        let before = files(&e.repo());
        let (_, err) = e.code(1, &["prune", "--max-unused", "0%", "--grace", "0s"]);
        eprintln!("prune with a damaged index file, {cache} cache: {err}");
        assert!(err.contains(&victim_name), "{cache} cache: {err}");
        assert!(
            err.contains("damaged")
                && err.contains("cannot be read")
                && err.contains("Nothing was deleted"),
            "{cache} cache: {err}"
        );
        assert!(
            before == files(&e.repo()),
            "{cache} cache: the refused prune changed the repository"
        );
    }
    e.ok(&["repair", "index"]);
    prune(&e, &THOROUGH);
    check_read_data(&e, "after repair and prune");
    all_restore(&e, &src, &[c], "after repair and prune");
}
