//! The audit trail through the binary: every operation listed in order, and each kind of
//! tampering (an entry deleted, altered and re-sealed with the right key, two reordered, the
//! newest dropped) reported by `vcd audit --verify` with its position; concurrent writers.

use std::path::Path;

use engine::format::audit::Entry;

use crate::common::Env;
use crate::gen::cp_a;

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|err| panic!("{err}: {s}"))
}

/// (position, name, operation) of every entry.
fn trail(e: &Env) -> Vec<(u64, String, String)> {
    let v = json(&e.ok(&["audit", "--json"]));
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["position"].as_u64().unwrap(),
                x["id"].as_str().unwrap().to_string(),
                x["op"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `audit --verify` fails, and its problems mention each of `words`.
fn refused(e: &Env, words: &[&str]) -> String {
    let (out, err) = e.code(1, &["audit", "--verify"]);
    for w in words {
        assert!(out.contains(w), "{w:?} not in:\n{out}\n{err}");
    }
    assert!(err.contains("audit trail has"), "{err}");
    out
}

/// Puts the repository's audit/ and this host's cache back as they were in `saved`.
fn put_back(e: &Env, saved: &Path) {
    for d in ["audit", "cache"] {
        let live = if d == "audit" {
            e.repo().join("audit")
        } else {
            e.cache()
        };
        std::fs::remove_dir_all(&live).unwrap();
        cp_a(&saved.join(d), &live);
    }
}

#[test]
fn every_operation_is_listed_and_each_kind_of_tampering_is_reported_with_its_position() {
    let e = Env::new();
    let src = e.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"one").unwrap();
    e.backup(&src, &[]);
    std::fs::write(src.join("f"), b"two").unwrap();
    e.backup(&src, &[]);
    e.ok(&["snapshots"]);
    e.ok(&[
        "restore",
        "latest",
        "--target",
        e.path("t").to_str().unwrap(),
    ]);
    e.ok(&["forget", "--keep-last", "1"]);
    e.ok(&["prune"]);
    e.ok(&["check"]);
    // A failure is an operation too, with its error.
    e.code(
        1,
        &[
            "restore",
            "nosuchid",
            "--target",
            e.path("t2").to_str().unwrap(),
        ],
    );
    let t = trail(&e);
    let ops: Vec<&str> = t.iter().map(|(_, _, o)| o.as_str()).collect();
    assert_eq!(
        ops,
        [
            "init",
            "backup",
            "backup",
            "snapshots",
            "restore",
            // Written before the forget deletes anything: an interrupted one is explained.
            "forget: removing",
            "forget",
            "prune",
            "check",
            "restore"
        ]
    );
    assert_eq!(
        t.iter().map(|(p, _, _)| *p).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<u64>>()
    );
    let v = json(&e.ok(&["audit", "--json"]));
    let last = &v["entries"][9];
    assert_eq!(last["outcome"], "failed");
    assert!(
        last["error"].as_str().unwrap().contains("nosuchid"),
        "{last}"
    );
    for i in [5, 6] {
        let removed = v["entries"][i]["details"]["removed"].as_array().unwrap();
        assert_eq!(removed.len(), 1);
    }
    assert!(v["entries"][1]["details"]["snapshot"].is_string());
    let out = e.ok(&["audit", "--verify"]);
    assert!(out.contains("10 entries: the trail verifies"), "{out}");
    // `audit` itself adds nothing.
    assert_eq!(trail(&e).len(), 10);

    let saved = e.path("saved");
    std::fs::create_dir(&saved).unwrap();
    cp_a(&e.repo().join("audit"), &saved.join("audit"));
    cp_a(&e.cache(), &saved.join("cache"));
    let store = e.open_repo().audit_store();
    let name = |p: u64| t[p as usize - 1].1.clone();
    let read = |p: u64| Entry::decode(&store.read(&name(p)).unwrap()).unwrap();

    // Deleted: #4.
    store.delete(&name(4)).unwrap();
    refused(&e, &["entry #4 (before #5", "missing"]);
    put_back(&e, &saved);
    assert!(e.ok(&["audit", "--verify"]).contains("the trail verifies"));

    // Altered and sealed again with the right key: #4 says it was something else.
    let mut x = read(4);
    x.op = "stats".into();
    store.write(&x.encode()).unwrap();
    store.delete(&name(4)).unwrap();
    refused(&e, &["entry #4 (before #5"]);
    put_back(&e, &saved);

    // Renumbered: #4 sealed again with the key, saying it is #7 (its parents as they were).
    let mut x = read(4);
    x.seq = 7;
    store.write(&x.encode()).unwrap();
    store.delete(&name(4)).unwrap();
    refused(&e, &["follows entry #3: out of order"]);
    put_back(&e, &saved);

    // Reordered: #4 and #5 trade places, each sealed again and chained to the other.
    let (mut a, mut b) = (read(5), read(4));
    a.seq = 4;
    a.parents = read(4).parents;
    let a_name = store.write(&a.encode()).unwrap();
    b.seq = 5;
    b.parents = vec![a_name];
    store.write(&b.encode()).unwrap();
    store.delete(&name(4)).unwrap();
    store.delete(&name(5)).unwrap();
    refused(&e, &["entry #5 (before #6", "missing"]);
    put_back(&e, &saved);

    // The newest dropped: nothing names it, but this host saw it.
    store.delete(&name(10)).unwrap();
    refused(&e, &["entry #10", "the newest this host saw, is gone"]);
    put_back(&e, &saved);

    // From a host that never saw the trail, the snapshots' anchors: the second backup named
    // the heads it saw (#2); taking #2 and everything after it away is seen.
    for p in 2..=10 {
        store.delete(&name(p)).unwrap();
    }
    let o = std::process::Command::new(crate::common::vcd_bin())
        .arg("--repo")
        .arg(e.repo())
        .arg("--password-file")
        .arg(e.path("pw"))
        .args(["--cache-dir", e.path("fresh-cache").to_str().unwrap()])
        .args(["audit", "--verify"])
        .env_remove("VCD_PASSWORD")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("names audit entry") && out.contains("which is gone"),
        "{out}"
    );
    put_back(&e, &saved);
    assert!(e.ok(&["audit", "--verify"]).contains("the trail verifies"));
}

#[test]
fn concurrent_backups_leave_a_trail_that_verifies_and_the_next_entry_joins_them() {
    let e = Env::with_cheap_key();
    let mut kids = Vec::new();
    for i in 0..4 {
        let src = e.path(&format!("src{i}"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("f"), format!("source {i}")).unwrap();
        kids.push(
            e.cmd(&["backup", "-q", src.to_str().unwrap()])
                .spawn()
                .unwrap(),
        );
    }
    for mut k in kids {
        assert!(k.wait().unwrap().success());
    }
    e.ok(&["snapshots"]);
    let v = json(&e.ok(&["audit", "--json", "--verify"]));
    assert_eq!(v["verified"], true, "{v}");
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    let last = &entries[4];
    assert_eq!(last["op"], "snapshots");
    // It follows every backup no later entry followed: all the heads it saw.
    let named: std::collections::HashSet<&str> = entries[..4]
        .iter()
        .flat_map(|x| x["parents"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    let heads = entries[..4]
        .iter()
        .filter(|x| !named.contains(x["id"].as_str().unwrap()))
        .count();
    assert_eq!(last["parents"].as_array().unwrap().len(), heads);
}

/// A storage rolled back: a snapshot gone without a forget, and the newest audit entry gone,
/// are said by every command that opens the repository, until explained; a forget explains.
#[test]
fn a_snapshot_gone_without_a_forget_and_a_trail_cut_back_are_reported_by_every_command() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"one").unwrap();
    let a = e.backup(&src, &[]);
    std::fs::write(src.join("f"), b"two").unwrap();
    let b = e.backup(&src, &[]);
    let quiet = |args: &[&str]| {
        let o = e.run(args);
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert_eq!(quiet(&["snapshots", "-q"]), "");
    // A file in snapshots/ that is no snapshot, named to trip a careless cut, then gone: no
    // snapshot, nothing to say, and nothing breaks.
    let odd = e.repo().join("snapshots").join("aaaaaaa\u{e9}");
    std::fs::write(&odd, b"junk").unwrap();
    e.run(&["snapshots", "-q"]);
    std::fs::remove_file(&odd).unwrap();
    assert!(!quiet(&["snapshots", "-q"]).contains("aaaaaaa"));
    // The storage loses the newest snapshot (as a rollback of it would).
    std::fs::remove_file(e.repo().join("snapshots").join(&b)).unwrap();
    for args in [&["snapshots", "-q"][..], &["ls", "latest"][..]] {
        let err = quiet(args);
        assert!(
            err.contains(&format!("snapshot {}, seen by this host, is gone", &b[..8]))
                && err.contains("no forget on the audit trail removed it"),
            "{args:?}: {err}"
        );
    }
    // A snapshot forgotten is gone for a reason: nothing said about it.
    e.ok(&["forget", &a]);
    let err = quiet(&["snapshots", "-q"]);
    assert!(!err.contains(&a[..8]), "{err}");
    assert!(err.contains(&b[..8]), "still said until explained: {err}");
    // The newest audit entry taken away.
    let v = json(&e.ok(&["audit", "--json"]));
    let last = v["entries"].as_array().unwrap().last().unwrap().clone();
    std::fs::remove_file(e.repo().join("audit").join(last["id"].as_str().unwrap())).unwrap();
    let err = quiet(&["snapshots", "-q"]);
    assert!(
        err.contains(&format!(
            "audit entry #{}",
            last["position"].as_u64().unwrap()
        )) && err.contains("the newest this host saw, is gone"),
        "{err}"
    );
    // Entries written since do not cover it up.
    let err = quiet(&["snapshots", "-q"]);
    assert!(err.contains("the newest this host saw, is gone"), "{err}");
    let (out, _) = e.code(1, &["audit", "--verify"]);
    assert!(out.contains("the newest this host saw, is gone"), "{out}");
}
