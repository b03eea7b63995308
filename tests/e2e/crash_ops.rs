//! SIGKILL during the other commands that change a repository, each stopped at an observed
//! step (`phases`): `repair index` once its new index file is in place and once it has removed
//! an old one; `key passwd` once the new key is in place (both passwords then open the
//! repository) and once the old key is gone (the new one opens it, the old one no longer); a
//! config upgrade while the new config is being written (the old one still opens it) and just
//! after it is in place (no pack written yet). After each: `check --read-data` passes, every
//! earlier snapshot restores byte for byte and a next backup succeeds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::Env;
use crate::crash::{fx, mutate, record, valid_after_kill};
use crate::phases::{self, Dir};

/// A repository with `n` snapshots of a changing small tree (one index file each).
fn setup(e: &Env, seed: u64, n: usize) -> (PathBuf, StdRng, Vec<(String, PathBuf)>) {
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(seed);
    fx::tree(&src, &mut rng, 30, &[1 << 20, 1 << 20, 1 << 20]);
    let mut snaps = Vec::new();
    for round in 0..n {
        if round > 0 {
            mutate(&src, &mut rng, round);
        }
        let id = e.backup(&src, &[]);
        record(e, &src, &mut snaps, Some(id));
    }
    (src, rng, snaps)
}

#[test]
fn sigkill_during_repair_index_leaves_a_valid_repository() {
    let e = Env::new();
    let (src, mut rng, mut snaps) = setup(&e, 0x5eed_4e9a, 3);
    let repo = e.repo();

    // Its new index file is in place, no old one removed yet. (A stop that comes later, or
    // after the end, is checked all the same and tried again.)
    for tries in 1.. {
        // A try whose repair finished merged the index files: back up until there are
        // several again (one index file a backup), so there is something to merge.
        while phases::state(&repo).index.len() < 3 {
            mutate(&src, &mut rng, 100 + tries);
            let id = e.backup(&src, &[]);
            record(&e, &src, &mut snaps, Some(id));
        }
        let before = phases::state(&repo);
        let stop = phases::kill_at(
            &repo,
            e.cmd(&["repair", "index"]),
            "repair index",
            Duration::ZERO,
            |ev| ev.placed(Dir::Index),
        );
        let s = &stop.state;
        assert!(
            s.index.difference(&before.index).count() >= 1,
            "a new index file: {:?} -> {:?}",
            before.index,
            s.index
        );
        let landed = !stop.ended && s.index.is_superset(&before.index);
        eprintln!("repair stopped after its new index file (try {tries}), none removed: {landed}");
        let when = format!("after a repair killed before removing (try {tries})");
        valid_after_kill(&e, &src, &mut snaps, false, &when);
        if landed {
            break;
        }
        // The stop races the first removal; on an idle machine it is often late.
        assert!(
            tries < 40,
            "every stop came after an old index file was removed"
        );
    }

    // It has removed an old index file (the new ones are all written first).
    for tries in 1.. {
        let before = phases::state(&repo);
        let stop = phases::kill_at(
            &repo,
            e.cmd(&["repair", "index"]),
            "repair index",
            Duration::ZERO,
            |ev| ev.removed(Dir::Index),
        );
        let s = &stop.state;
        let new = s.index.difference(&before.index).count();
        let kept = s.index.intersection(&before.index).count();
        eprintln!(
            "repair stopped (try {tries}, ended: {}) with {new} new index file(s) and {kept} of {} \
             old ones left",
            stop.ended,
            before.index.len()
        );
        assert!(new > 0, "the new index file comes before removals");
        assert!(kept < before.index.len(), "an old index file was removed");
        let when = format!("after a repair killed while removing (try {tries})");
        valid_after_kill(&e, &src, &mut snaps, false, &when);
        if !stop.ended {
            break;
        }
        assert!(
            tries < 40,
            "repair index always ended before it could be stopped"
        );
    }

    // And a whole repair afterwards leaves one consistent index.
    e.ok(&["repair", "index"]);
    valid_after_kill(&e, &src, &mut snaps, false, "after a whole repair");
}

/// Runs `vcd` with another password file; returns the exit code.
fn code_with(e: &Env, pw: &Path, args: &[&str]) -> Option<i32> {
    std::process::Command::new(crate::common::vcd_bin())
        .arg("--repo")
        .arg(e.repo())
        .arg("--password-file")
        .arg(pw)
        .arg("--cache-dir")
        .arg(e.cache())
        .args(args)
        .env_remove("VCD_PASSWORD")
        .env_remove("VCD_PASSWORD_COMMAND")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .status
        .code()
}

fn write_pw(e: &Env, name: &str, pw: &str) -> PathBuf {
    let p = e.path(name);
    std::fs::write(&p, format!("{pw}\n")).unwrap();
    p
}

#[test]
fn sigkill_during_key_passwd_leaves_a_key_that_opens() {
    let e = Env::new();
    let (src, _, mut snaps) = setup(&e, 0x5eed_4e9b, 1);
    let repo = e.repo();
    let old = write_pw(&e, "pw-old", crate::common::PASSWORD);
    let last = write_pw(&e, "pw-last", "the last new password");
    assert_eq!(code_with(&e, &last, &["snapshots"]), Some(12));

    // The new key is in place, the old one still there: both passwords open. When the stop
    // comes after the old key went, the new password alone opens; tried again with it.
    let mut current = old.clone();
    let mut tries = 0;
    loop {
        tries += 1;
        let next = write_pw(&e, &format!("pw-{tries}"), &format!("new password {tries}"));
        let before = phases::state(&repo);
        let stop = phases::kill_at(
            &repo,
            e.cmd(&[
                "key",
                "passwd",
                "--new-password-file",
                next.to_str().unwrap(),
            ]),
            "key passwd",
            Duration::ZERO,
            |ev| ev.placed(Dir::Keys),
        );
        let keys = &stop.state.keys;
        assert_eq!(keys.difference(&before.keys).count(), 1, "one new key");
        assert_eq!(code_with(&e, &next, &["snapshots"]), Some(0));
        let both = !stop.ended && keys.is_superset(&before.keys);
        eprintln!("key passwd stopped after adding (try {tries}): old key still there: {both}");
        if both {
            assert_eq!(code_with(&e, &current, &["snapshots"]), Some(0));
        } else {
            assert_eq!(code_with(&e, &current, &["snapshots"]), Some(12));
            std::fs::copy(&next, e.path("pw")).unwrap();
            current = next;
        }
        valid_after_kill(
            &e,
            &src,
            &mut snaps,
            false,
            "after key passwd killed after adding",
        );
        if both {
            break;
        }
        // The stop races the removal of one small file; under load it is often late.
        assert!(tries < 40, "every stop came after the old key was removed");
    }

    // Run again with the same password: killed once its key is gone. The new password opens
    // the repository, the one it replaced no longer does.
    let before = phases::state(&repo);
    let stop = phases::kill_at(
        &repo,
        e.cmd(&[
            "key",
            "passwd",
            "--new-password-file",
            last.to_str().unwrap(),
        ]),
        "key passwd",
        Duration::ZERO,
        |ev| ev.removed(Dir::Keys),
    );
    eprintln!(
        "key passwd stopped after removing the old key (ended: {})",
        stop.ended
    );
    assert_eq!(
        stop.state.keys.len(),
        before.keys.len(),
        "{:?}",
        stop.state.keys
    );
    assert_eq!(
        stop.state.keys.intersection(&before.keys).count(),
        before.keys.len() - 1
    );
    assert_eq!(code_with(&e, &current, &["snapshots"]), Some(12));
    assert_eq!(code_with(&e, &last, &["snapshots"]), Some(0));
    std::fs::copy(&last, e.path("pw")).unwrap();
    valid_after_kill(
        &e,
        &src,
        &mut snaps,
        false,
        "after key passwd killed after removing",
    );
}

/// The stored config, decrypted, and the keys that sealed it.
fn config(e: &Env) -> (serde_json::Value, engine::crypto::Keys) {
    let keys = e.open_repo().keys().clone();
    let raw = std::fs::read(e.repo().join("config")).unwrap();
    let plain = keys.data.open(engine::crypto::aad::CONFIG, &raw).unwrap();
    (serde_json::from_slice(&plain).unwrap(), keys)
}

/// Rewrites the config as format version 1 (which the next write raises).
fn downgrade(e: &Env) -> serde_json::Value {
    let (mut cfg, keys) = config(e);
    cfg["version"] = 1.into();
    let sealed = keys.data.seal(
        engine::crypto::aad::CONFIG,
        &serde_json::to_vec(&cfg).unwrap(),
    );
    std::fs::write(e.repo().join("config"), sealed).unwrap();
    cfg
}

#[test]
fn sigkill_during_a_config_upgrade_leaves_a_repository_that_opens() {
    let e = Env::new();
    let (src, mut rng, mut snaps) = setup(&e, 0x5eed_4e9c, 1);
    let repo = e.repo();

    // While the new config is written (its temp file just created): the old one is intact.
    let v1 = downgrade(&e);
    let mut tries = 0;
    loop {
        tries += 1;
        mutate(&src, &mut rng, 100 + tries);
        let before = phases::state(&repo);
        let stop = phases::kill_at(
            &repo,
            e.cmd(&["backup", "--quiet", src.to_str().unwrap()]),
            "backup upgrading the config",
            Duration::ZERO,
            |ev| ev.temp_created(Dir::Root),
        );
        // The kill races a write of a few hundred bytes: on an idle machine it often lands
        // after the rename, or after the whole (small) backup. Those are misses, not faults:
        // the repository must be valid all the same, and the next try downgrades again.
        assert!(tries < 40, "every kill landed after the config was renamed");
        if stop.ended {
            eprintln!("kill during the config write (try {tries}): the backup had ended");
            valid_after_kill(&e, &src, &mut snaps, true, "after a backup the kill missed");
            downgrade(&e);
            continue;
        }
        let landed_before_rename = stop.state.config == before.config;
        if landed_before_rename {
            assert_eq!(stop.state.packs, before.packs, "no pack before the upgrade");
        }
        eprintln!(
            "kill during the config write (try {tries}): old config intact: {landed_before_rename}"
        );
        if landed_before_rename {
            assert!(stop.state.temps > 0, "the new config's temp file is there");
            assert_eq!(config(&e).0, v1, "the old config still opens, unchanged");
        }
        // The next backup (in valid_after_kill) raises the version.
        valid_after_kill(
            &e,
            &src,
            &mut snaps,
            stop.state.snapshots.len() > before.snapshots.len(),
            "after a kill during the config write",
        );
        assert_eq!(config(&e).0["version"], 2);
        if landed_before_rename {
            break;
        }
        downgrade(&e);
    }

    // Just after the new config is in place: version 2, every other field as it was, no
    // pack written yet. Here too a kill that lands late (after a pack, or after the backup)
    // is a miss: the repository is checked, and the next try downgrades again.
    let mut tries = 0;
    loop {
        tries += 1;
        assert!(tries < 40, "every kill landed after the first pack");
        let v1 = downgrade(&e);
        mutate(&src, &mut rng, 200 + tries);
        let before = phases::state(&repo);
        let stop = phases::kill_at(
            &repo,
            e.cmd(&["backup", "--quiet", src.to_str().unwrap()]),
            "backup upgrading the config",
            Duration::ZERO,
            |ev| ev.placed(Dir::Root) && ev.name == "config",
        );
        let in_time = !stop.ended && stop.state.packs == before.packs;
        eprintln!(
            "kill just after the config upgrade (try {tries}): before the first pack: {in_time}"
        );
        if in_time {
            let mut want = v1.clone();
            want["version"] = 2.into();
            assert_eq!(config(&e).0, want);
        }
        valid_after_kill(
            &e,
            &src,
            &mut snaps,
            stop.ended || stop.state.snapshots.len() > before.snapshots.len(),
            "after a kill just after the upgrade",
        );
        if in_time {
            break;
        }
    }
}
