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
    let (src, _, mut snaps) = setup(&e, 0x5eed_4e9a, 3);
    let repo = e.repo();

    // Its new index file is in place, no old one removed yet.
    let before = phases::state(&repo);
    assert_eq!(before.index.len(), 3);
    let stop = phases::kill_at(
        &repo,
        e.cmd(&["repair", "index"]),
        "repair index",
        Duration::ZERO,
        |ev| ev.placed(Dir::Index),
    );
    assert!(!stop.ended, "repair index finished before the kill");
    let s = &stop.state;
    assert!(
        s.index.is_superset(&before.index) && s.index.len() > before.index.len(),
        "killed with its new index file written and every old one there: {:?} -> {:?}",
        before.index,
        s.index
    );
    valid_after_kill(
        &e,
        &src,
        &mut snaps,
        false,
        "after a repair killed before removing",
    );

    // It has removed an old index file (the new ones are all written first).
    let before = phases::state(&repo);
    let stop = phases::kill_at(
        &repo,
        e.cmd(&["repair", "index"]),
        "repair index",
        Duration::ZERO,
        |ev| ev.removed(Dir::Index),
    );
    assert!(!stop.ended, "repair index finished before the kill");
    let s = &stop.state;
    let new: Vec<_> = s.index.difference(&before.index).collect();
    let kept = s.index.intersection(&before.index).count();
    eprintln!(
        "repair killed with {} new index file(s) and {kept} of {} old ones left",
        new.len(),
        before.index.len()
    );
    assert!(!new.is_empty(), "the new index file comes before removals");
    assert!(kept < before.index.len(), "an old index file was removed");
    valid_after_kill(
        &e,
        &src,
        &mut snaps,
        false,
        "after a repair killed while removing",
    );

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
    let one = write_pw(&e, "pw-one", "the first new password");
    let two = write_pw(&e, "pw-two", "the second new password");
    assert_eq!(code_with(&e, &one, &["snapshots"]), Some(12));

    // The new key is in place, the old one still there: both passwords open.
    let before = phases::state(&repo);
    let stop = phases::kill_at(
        &repo,
        e.cmd(&[
            "key",
            "passwd",
            "--new-password-file",
            one.to_str().unwrap(),
        ]),
        "key passwd",
        Duration::ZERO,
        |ev| ev.placed(Dir::Keys),
    );
    assert!(!stop.ended, "key passwd finished before the kill");
    assert!(
        stop.state.keys.is_superset(&before.keys) && stop.state.keys.len() == 2,
        "{:?}",
        stop.state.keys
    );
    assert_eq!(code_with(&e, &old, &["snapshots"]), Some(0));
    assert_eq!(code_with(&e, &one, &["snapshots"]), Some(0));
    valid_after_kill(
        &e,
        &src,
        &mut snaps,
        false,
        "after key passwd killed after adding",
    );

    // Run again with the old password: killed once the old key is gone. The two new
    // passwords open the repository, the old one no longer does.
    let before = phases::state(&repo);
    let stop = phases::kill_at(
        &repo,
        e.cmd(&[
            "key",
            "passwd",
            "--new-password-file",
            two.to_str().unwrap(),
        ]),
        "key passwd",
        Duration::ZERO,
        |ev| ev.removed(Dir::Keys),
    );
    eprintln!(
        "key passwd stopped after removing the old key (ended: {})",
        stop.ended
    );
    assert_eq!(stop.state.keys.len(), 2, "{:?}", stop.state.keys);
    assert_eq!(stop.state.keys.intersection(&before.keys).count(), 1);
    assert_eq!(code_with(&e, &old, &["snapshots"]), Some(12));
    assert_eq!(code_with(&e, &one, &["snapshots"]), Some(0));
    assert_eq!(code_with(&e, &two, &["snapshots"]), Some(0));
    std::fs::copy(&two, e.path("pw")).unwrap();
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
        assert!(!stop.ended);
        assert_eq!(stop.state.packs, before.packs, "no pack before the upgrade");
        let landed_before_rename = stop.state.config == before.config;
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
            false,
            "after a kill during the config write",
        );
        assert_eq!(config(&e).0["version"], 2);
        if landed_before_rename {
            break;
        }
        assert!(tries < 5, "every kill landed after the config was renamed");
        downgrade(&e);
    }

    // Just after the new config is in place: version 2, every other field as it was, no
    // pack written yet.
    let v1 = downgrade(&e);
    mutate(&src, &mut rng, 200);
    let before = phases::state(&repo);
    let stop = phases::kill_at(
        &repo,
        e.cmd(&["backup", "--quiet", src.to_str().unwrap()]),
        "backup upgrading the config",
        Duration::ZERO,
        |ev| ev.placed(Dir::Root) && ev.name == "config",
    );
    assert!(!stop.ended);
    assert_eq!(
        stop.state.packs, before.packs,
        "killed before its first pack"
    );
    let mut want = v1.clone();
    want["version"] = 2.into();
    assert_eq!(config(&e).0, want);
    valid_after_kill(
        &e,
        &src,
        &mut snaps,
        false,
        "after a kill just after the upgrade",
    );
}
