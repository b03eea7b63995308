//! Repositories on remote storage, against real servers on 127.0.0.1 (`servers`): the S3
//! backend's contract, the round trip of a tree with every kind of metadata through S3
//! (backup, no-change backup, restore, `check --read-data`, a mount), clear errors that write
//! nothing, a server killed mid-backup, and two hosts backing up into one bucket at once.
//! Repository strings of an unknown scheme are refused before anything is created.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine::backend::{Backend, FileType};
use rand::{RngCore, SeedableRng};

use crate::common::{vcd_bin, Env};
use crate::gen::{self, compare, Spec};
use crate::mount::Mount;
use crate::servers::Weed;

fn first_file(dir: &Path) -> PathBuf {
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let mut es: Vec<_> = fs::read_dir(&d).unwrap().map(|e| e.unwrap()).collect();
        es.sort_by_key(|e| e.file_name());
        for e in es {
            let t = e.file_type().unwrap();
            if t.is_file() && e.metadata().unwrap().len() > 0 {
                return e.path();
            }
            if t.is_dir() {
                dirs.push(e.path());
            }
        }
    }
    panic!("no file in {}", dir.display())
}

fn random_file(p: &Path, seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut v);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, &v).unwrap();
    v
}

fn stored(b: &dyn Backend) -> (usize, u64) {
    let packs = b.list(FileType::Pack).unwrap();
    (packs.len(), packs.iter().map(|p| p.1).sum())
}

/// The round trip every remote backend must pass, on `env`'s repository stored in `b`: a backup
/// of `src` that stores packs, a no-change backup that reads nothing and writes no pack, a
/// restore identical to `src`, `check --read-data`, and a file read through the mount.
fn round_trip(env: &Env, src: &Path, b: &dyn Backend) {
    let first = env.backup_json(src, &[]);
    assert_eq!(
        first["summary"]["errors"],
        serde_json::json!([]),
        "{first:#}"
    );
    let id = first["id"].as_str().unwrap().to_string();
    let (packs, _) = stored(b);
    assert!(packs > 0, "no pack reached {}", b.location());

    let again = env.backup_json(src, &[]);
    assert_eq!(again["summary"]["bytes_read"], 0, "{again:#}");
    assert_eq!(again["summary"]["files_new"], 0, "{again:#}");
    assert_eq!(again["summary"]["files_changed"], 0, "{again:#}");
    // Nothing below the source is stored again. The trees of the directories above it may
    // be: other tests make and remove their directories in /tmp, which changes its times.
    let above = src.ancestors().count() as u64 - 1;
    let added = again["summary"]["blobs_added"].as_u64().unwrap();
    assert!(
        added <= above,
        "a no-change backup stored {added} blobs: {again:#}"
    );
    assert!(stored(b).0 <= packs + 1, "a no-change backup wrote packs");
    let a = again["id"].as_str().unwrap();
    let diff = env.ok(&["diff", &id, a]);
    assert!(diff.contains("0 added, 0 removed, 0 modified"), "{diff}");

    let restored = env.restore(&id, src, "restored");
    compare(src, &restored);
    let out = env.ok(&["check", "--read-data"]);
    assert!(out.contains("no errors found"), "{out}");

    let m = Mount::start(env, "mnt", &[]);
    let f = first_file(src);
    let in_mount = m.path("latest").join(f.strip_prefix("/").unwrap());
    assert_eq!(fs::read(&in_mount).unwrap(), fs::read(&f).unwrap());
}

#[test]
fn the_s3_backend_keeps_the_backend_contract() {
    let w = Weed::start(&["vcd-conformance"]);
    let b = w.backend("vcd-conformance", "repo");
    engine::backend::conformance::run(&b);
    // A repository is its prefix: another prefix of the bucket sees none of it.
    let other = w.backend("vcd-conformance", "other");
    assert!(!other.exists().unwrap());
    assert!(other.list(FileType::Pack).unwrap().is_empty());
    // A large pack goes up in parts and comes back whole.
    let big: Vec<u8> = (0..(70u32 << 20) / 4)
        .flat_map(|i| i.to_le_bytes())
        .collect();
    let mut s = b.put_stream(FileType::Pack).unwrap();
    std::io::Write::write_all(&mut s, &big).unwrap();
    let name = "cd".repeat(32);
    s.commit(&name).unwrap();
    assert_eq!(b.get(FileType::Pack, &name).unwrap(), big);
    assert_eq!(
        b.get_range(FileType::Pack, &name, (64 << 20) + 3, 5)
            .unwrap(),
        big[(64 << 20) + 3..(64 << 20) + 8]
    );
}

#[test]
fn a_misspelt_or_unknown_scheme_is_refused_and_nothing_is_created() {
    let env = Env::bare();
    for url in [
        "sftp://host/srv/repo",
        "s4:bucket/x",
        "file:///tmp/x",
        "s3:bucket",
    ] {
        let o = Command::new(vcd_bin())
            .current_dir(env.dir.path())
            .args(["--repo", url, "--password-file", "pw", "init"])
            .env_remove("VCD_REPOSITORY")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{url}: {err}");
        assert!(err.contains(url), "{url}: {err}");
        for form in [
            "local:PATH",
            "s3:https://HOST",
            "s3://BUCKET",
            "sftp:[USER@]HOST:PATH",
        ] {
            assert!(err.contains(form), "{url}: {err}");
        }
    }
    let left: Vec<_> = fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["pw"], "a refused URL created something");
}

#[test]
fn a_tree_with_every_kind_of_metadata_round_trips_through_s3() {
    let w = Weed::start(&["vcd-roundtrip"]);
    let env = Env::remote(&w.url("vcd-roundtrip", "repo"), w.env());
    let out = env.ok(&["init"]);
    assert!(out.contains(&w.url("vcd-roundtrip", "repo")), "{out}");
    let src = env.path("src");
    gen::generate_with(&src, 17, &Spec::small());

    round_trip(&env, &src, &w.backend("vcd-roundtrip", "repo"));

    // The configuration file names the bucket by its URL.
    let cfg = env.path("vcd.toml");
    fs::write(
        &cfg,
        format!(
            "[repository]\nurl = {:?}\npassword_file = {:?}\n",
            w.url("vcd-roundtrip", "repo"),
            env.path("pw")
        ),
    )
    .unwrap();
    let mut c = Command::new(vcd_bin());
    c.arg("--config")
        .arg(&cfg)
        .args(["snapshots", "--json"])
        .env_remove("VCD_REPOSITORY")
        .env_remove("VCD_PASSWORD_FILE")
        .env("VCD_CACHE_DIR", env.cache());
    for (k, v) in w.env() {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{v:#}");
}

#[test]
fn bad_credentials_a_missing_bucket_and_a_dead_endpoint_are_clear_errors_that_write_nothing() {
    let w = Weed::start(&["vcd-errors"]);
    let url = w.url("vcd-errors", "repo");
    let src = Env::bare();
    random_file(&src.path("f"), 1, 1000);
    let src_path = src.path("f");
    let src = src_path.to_str().unwrap();

    let mut wrong = w.env();
    for (k, v) in wrong.iter_mut() {
        if *k == "AWS_SECRET_ACCESS_KEY" {
            *v = "not-the-secret".into();
        }
    }
    let env = Env::remote(&url, wrong);
    for args in [vec!["init"], vec!["backup", src], vec!["snapshots"]] {
        let (_, err) = env.code(1, &args);
        assert!(err.contains(&url), "{args:?}: {err}");
        assert!(
            err.contains("access denied") || err.contains("SignatureDoesNotMatch"),
            "{args:?}: {err}"
        );
        assert!(err.contains("AWS_ACCESS_KEY_ID"), "{args:?}: {err}");
    }

    let missing = w.url("vcd-no-such-bucket", "repo");
    let env = Env::remote(&missing, w.env());
    for args in [vec!["init"], vec!["backup", src]] {
        let (_, err) = env.code(1, &args);
        assert!(err.contains(&missing), "{args:?}: {err}");
        assert!(err.contains("NoSuchBucket"), "{args:?}: {err}");
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("s3:http://127.0.0.1:{port}/vcd-errors/repo");
    let env = Env::remote(&dead, w.env());
    let (_, err) = env.code(1, &["init"]);
    assert!(err.contains(&dead) && err.contains("connect"), "{err}");

    // A refusal is not retried: one request, the config's read, and the command fails.
    let proxy = crate::servers::CountingProxy::start(w.s3_port);
    let mut wrong = w.env();
    for (k, v) in wrong.iter_mut() {
        if *k == "AWS_SECRET_ACCESS_KEY" {
            *v = "not-the-secret".into();
        }
    }
    let via = format!("s3:http://127.0.0.1:{}/vcd-errors/repo", proxy.port);
    Env::remote(&via, wrong).code(1, &["snapshots"]);
    let reqs = proxy.take();
    assert_eq!(reqs.len(), 1, "{reqs:?}");

    let b = w.backend("vcd-errors", "repo");
    assert!(!b.exists().unwrap());
    for t in FileType::ALL {
        assert_eq!(b.list(t).unwrap(), vec![], "{t:?} written");
    }
}

#[test]
fn a_server_killed_mid_backup_fails_it_clearly_and_the_next_backup_and_check_succeed() {
    let mut w = Weed::start(&["vcd-killed"]);
    let env = Env::remote(&w.url("vcd-killed", "repo"), w.env());
    env.ok(&["init", "--pack-size", "1"]);
    let src = env.path("src");
    for i in 0..48 {
        random_file(&src.join(format!("f{i:02}")), i, 1 << 20);
    }
    let b = w.backend("vcd-killed", "repo");
    let child = env
        .cmd(&["backup", src.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the server once the backup has stored a pack, well before its last one.
    let start = Instant::now();
    while stored(&b).0 == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no pack written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    w.kill();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&w.url("vcd-killed", "repo")), "{err}");
    assert!(err.contains("connect"), "{err}");

    w.restart();
    assert!(
        env.snapshots().is_empty(),
        "a snapshot survived the failed backup"
    );
    let id = env.backup(&src, &[]);
    let restored = env.restore(&id, &src, "restored");
    compare(&src, &restored);
    let out = env.ok(&["check", "--read-data"]);
    assert!(out.contains("no errors found"), "{out}");
}

#[test]
fn two_hosts_backing_up_into_one_bucket_at_once_both_restore_and_share_data() {
    let w = Weed::start(&["vcd-shared"]);
    let url = w.url("vcd-shared", "repo");
    let a = Env::remote(&url, w.env());
    a.ok(&["init"]);
    let b = Env::remote(&url, w.env());
    // Both trees hold the same 24 MiB; each also 4 MiB of its own. Incompressible bytes, so
    // what is stored says what was deduplicated.
    let shared = 24 << 20;
    for (env, seed) in [(&a, 100), (&b, 200)] {
        let src = env.path("src");
        for i in 0..6 {
            random_file(&src.join(format!("shared/{i}")), i, shared / 6);
        }
        random_file(&src.join("own"), seed, 4 << 20);
    }
    let children: Vec<_> = [&a, &b]
        .iter()
        .map(|env| {
            env.cmd(&[
                "backup",
                "--json",
                "--host",
                &format!("host-{}", env.dir.path().display()),
                env.path("src").to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut ids = Vec::new();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    for (env, id) in [(&a, &ids[0]), (&b, &ids[1])] {
        let src = env.path("src");
        let restored = env.restore(id, &src, "restored");
        compare(&src, &restored);
    }
    // Two writers that overlap may each store a blob the other has not indexed yet; prune
    // keeps one copy. After it, the shared data is stored once.
    a.ok(&["prune"]);
    let (_, bytes) = stored(&w.backend("vcd-shared", "repo"));
    let distinct = (shared + 8 * (1 << 20)) as u64;
    assert!(
        bytes >= distinct && bytes < distinct + distinct / 20,
        "{bytes} bytes stored for {distinct} distinct bytes"
    );
    let out = a.ok(&["check", "--read-data"]);
    assert!(out.contains("no errors found"), "{out}");
    for (env, id) in [(&a, &ids[0]), (&b, &ids[1])] {
        let src = env.path("src");
        let restored = env.restore(id, &src, "after-prune");
        compare(&src, &restored);
    }
}

#[test]
fn through_a_proxy_that_fails_drops_slows_and_cuts_connections_every_byte_still_comes_back() {
    use std::sync::atomic::Ordering::SeqCst;
    let w = Weed::start(&["vcd-faults"]);
    let proxy = crate::servers::FaultProxy::start(w.s3_port, 3 << 20);
    let url = format!("s3:http://127.0.0.1:{}/vcd-faults/repo", proxy.port);
    let env = Env::remote(&url, w.env());
    env.ok(&["init", "--pack-size", "1"]);
    let src = env.path("src");
    gen::generate_with(&src, 23, &Spec::small());
    for i in 0..12 {
        random_file(&src.join(format!("big/{i}")), 1000 + i, 1 << 20);
    }
    let id = env.backup(&src, &[]);
    let restored = env.restore(&id, &src, "restored");
    compare(&src, &restored);
    let out = env.ok(&["check", "--read-data"]);
    assert!(out.contains("no errors found"), "{out}");
    let f = &proxy.faults;
    let seen = [
        f.unavailable.load(SeqCst),
        f.dropped.load(SeqCst),
        f.slowed.load(SeqCst),
        f.cut.load(SeqCst),
    ];
    assert!(
        seen.iter().all(|&n| n > 0),
        "faults injected (503, dropped, slowed, cut): {seen:?}"
    );
    // The same bytes straight from the server.
    let direct = Env::remote(&w.url("vcd-faults", "repo"), w.env());
    std::fs::copy(env.path("pw"), direct.path("pw")).unwrap();
    let again = direct.restore(&id, &src, "direct");
    compare(&src, &again);
}

#[test]
fn the_sftp_backend_keeps_the_backend_contract() {
    let s = crate::servers::Sshd::start();
    let root = s.dir.path().join("store/repo");
    let b = s.backend(&root);
    engine::backend::conformance::run(&b);
    // Files land where the local backend would put them, and no temp file is left.
    let local = engine::backend::LocalBackend::new(&root);
    assert_eq!(
        local.list(FileType::Index).unwrap(),
        vec![("0011".to_string(), 1)]
    );
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            assert!(
                !e.file_name().to_string_lossy().starts_with(".tmp"),
                "{:?}",
                e.path()
            );
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            }
        }
    }
}

#[test]
fn a_tree_with_every_kind_of_metadata_round_trips_through_sftp() {
    let s = crate::servers::Sshd::start();
    let url = s.url(&s.dir.path().join("repo"));
    let env = Env::remote(&url, s.env());
    let out = env.ok(&["init"]);
    assert!(out.contains(&url), "{out}");
    let src = env.path("src");
    gen::generate_with(&src, 19, &Spec::small());

    round_trip(&env, &src, &s.backend(&s.dir.path().join("repo")));
}

#[test]
fn sftp_with_an_unknown_key_or_host_is_a_clear_error_that_writes_nothing() {
    let mut s = crate::servers::Sshd::start();
    let repo = s.dir.path().join("repo");
    // A key the server does not accept.
    std::fs::write(s.dir.path().join("authorized_keys"), "").unwrap();
    let env = Env::remote(&s.url(&repo), s.env());
    let (_, err) = env.code(1, &["init"]);
    assert!(
        err.contains(&s.url(&repo)) && err.contains("Permission denied"),
        "{err}"
    );
    // A host whose key is not the one known.
    std::fs::write(s.dir.path().join("known_hosts"), "").unwrap();
    let (_, err) = env.code(1, &["init"]);
    assert!(err.contains("Host key verification failed"), "{err}");
    // Nothing listening.
    s.kill();
    let (_, err) = env.code(1, &["init"]);
    assert!(err.contains("Connection refused"), "{err}");
    assert!(
        !repo.exists(),
        "a refused connection created the repository"
    );
}

fn copy_json(env: &Env, from: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["copy", "--json", "--from-repo", from];
    args.extend_from_slice(extra);
    serde_json::from_str(&env.ok(&args)).unwrap()
}

#[test]
fn copy_local_to_s3_to_local_restores_identical_and_a_second_copy_transfers_nothing() {
    let w = Weed::start(&["vcd-copy"]);
    let a = Env::new();
    let src = a.path("src");
    let g = gen::generate_with(&src, 29, &Spec::small());
    let first = a.backup(&src, &[]);
    fs::write(src.join(&g.small[0]), b"changed after the first backup").unwrap();
    random_file(&src.join("added"), 7, 3 << 20);
    let second = a.backup(&src, &[]);
    let want = |id: &str, name: &str| a.restore(id, &src, name);
    let (want1, want2) = (want(&first, "want1"), want(&second, "want2"));

    // Local to S3: both snapshots, oldest first.
    let b = Env::remote(&w.url("vcd-copy", "repo"), w.env());
    b.ok(&["init", "--pack-size", "4"]);
    let r = copy_json(&b, a.repo().to_str().unwrap(), &[]);
    let copied = r["copied"].as_array().unwrap();
    assert_eq!(copied.len(), 2, "{r:#}");
    assert_eq!(copied[0][0], first.as_str(), "{r:#}");
    assert!(r["bytes_added"].as_u64().unwrap() > 0, "{r:#}");
    let in_b = |i: usize| copied[i][1].as_str().unwrap().to_string();
    compare(&want1, &b.restore(&in_b(0), &src, "b1"));
    compare(&want2, &b.restore(&in_b(1), &src, "b2"));
    let packs = stored(&w.backend("vcd-copy", "repo"));

    // Again: everything is there already.
    let r = copy_json(&b, a.repo().to_str().unwrap(), &[]);
    assert_eq!(r["copied"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["skipped"].as_array().unwrap().len(), 2, "{r:#}");
    assert_eq!(r["bytes_read"], 0, "{r:#}");
    assert_eq!(r["bytes_added"], 0, "{r:#}");
    assert_eq!(stored(&w.backend("vcd-copy", "repo")), packs);

    // S3 to another local repository with its own password: re-encrypted for its keys.
    let c = Env {
        vars: w.env(),
        ..Env::bare()
    };
    fs::write(c.path("pw"), "another password\n").unwrap();
    c.ok(&["init"]);
    let b_pw = b.path("pw");
    let r = copy_json(
        &c,
        &w.url("vcd-copy", "repo"),
        &["--from-password-file", b_pw.to_str().unwrap()],
    );
    let copied_c = r["copied"].as_array().unwrap().clone();
    assert_eq!(copied_c.len(), 2, "{r:#}");
    compare(
        &want1,
        &c.restore(copied_c[0][1].as_str().unwrap(), &src, "c1"),
    );
    compare(
        &want2,
        &c.restore(copied_c[1][1].as_str().unwrap(), &src, "c2"),
    );
    assert!(c.ok(&["check", "--read-data"]).contains("no errors found"));
    assert!(b.ok(&["check", "--read-data"]).contains("no errors found"));

    // Copying back to where they came from finds them there.
    let c_pw = c.path("pw");
    let r = copy_json(
        &a,
        c.repo().to_str().unwrap(),
        &["--from-password-file", c_pw.to_str().unwrap()],
    );
    assert_eq!(r["copied"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["skipped"].as_array().unwrap().len(), 2, "{r:#}");

    // The wrong source password is a clear error.
    let (_, err) = c.code(12, &["copy", "--from-repo", a.repo().to_str().unwrap()]);
    assert!(err.contains("password"), "{err}");
}

/// An initialised repository on SeaweedFS, reached through a request-counting proxy.
fn counted_env(bucket: &str) -> (Weed, crate::servers::CountingProxy, Env) {
    let w = Weed::start(&[bucket]);
    let proxy = crate::servers::CountingProxy::start(w.s3_port);
    let url = format!("s3:http://127.0.0.1:{}/{bucket}/repo", proxy.port);
    let env = Env::remote(&url, w.env());
    env.ok(&["init"]);
    (w, proxy, env)
}

/// `counted_env` holding two backups of a generated tree (seed `seed`), and that tree.
fn counted_repo(bucket: &str, seed: u64) -> (Weed, crate::servers::CountingProxy, Env, PathBuf) {
    let (w, proxy, env) = counted_env(bucket);
    let src = env.path("src");
    gen::generate_with(&src, seed, &Spec::small());
    env.backup(&src, &[]);
    env.backup(&src, &[]);
    (w, proxy, env, src)
}

#[test]
fn snapshots_and_trees_of_a_remote_repository_are_read_once_then_from_the_local_cache() {
    let (_w, proxy, env, _src) = counted_repo("vcd-cache", 31);
    // A cache made elsewhere: the first listing fetches, the second reads the cache.
    fs::remove_dir_all(env.cache()).unwrap();
    let reads = |reqs: &[String], dir: &str| {
        reqs.iter()
            .filter(|r| r.starts_with("GET ") && r.contains(&format!("/repo/{dir}/")))
            .count()
    };
    proxy.take();
    let cold = env.ok(&["ls", "latest"]);
    let first = proxy.take();
    assert_eq!(reads(&first, "snapshots"), 2, "{first:#?}");
    assert!(reads(&first, "data") > 0, "{first:#?}");
    let warm = env.ok(&["ls", "latest"]);
    assert_eq!(warm, cold);
    let second = proxy.take();
    assert_eq!(reads(&second, "snapshots"), 0, "{second:#?}");
    assert_eq!(reads(&second, "index"), 0, "{second:#?}");
    assert_eq!(reads(&second, "data"), 0, "trees read again: {second:#?}");

    // A damaged entry is noticed, dropped and fetched again.
    let mut cached = Vec::new();
    let mut dirs = vec![env.cache()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else if e.path().to_string_lossy().contains("/files/") {
                cached.push(e.path());
            }
        }
    }
    assert!(cached.len() > 3, "{cached:?}");
    for p in &cached {
        let mut b = fs::read(p).unwrap();
        let n = b.len() / 2;
        b[n] ^= 1;
        fs::write(p, b).unwrap();
    }
    assert_eq!(env.ok(&["ls", "latest"]), cold);
    let third = proxy.take();
    assert_eq!(reads(&third, "snapshots"), 2, "{third:#?}");
    assert!(reads(&third, "data") > 0, "{third:#?}");
    assert_eq!(env.ok(&["ls", "latest"]), cold);
    assert_eq!(reads(&proxy.take(), "data"), 0);
}

/// A request line as "METHOD DIR" ("LIST DIR" for a listing; DIR is `config` for the
/// config): what a count of requests by kind is made of.
fn request_kind(line: &str, prefix: &str) -> String {
    let mut w = line.split(' ');
    let (method, target) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if query.contains("list-type=") {
        let p = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("prefix="))
            .unwrap_or("")
            .replace("%2F", "/");
        let dir = p.strip_prefix(&format!("{prefix}/")).unwrap_or(&p);
        return format!("LIST {}", dir.trim_end_matches('/'));
    }
    let rest = path
        .split_once(&format!("/{prefix}/"))
        .map_or(path, |x| x.1);
    format!("{method} {}", rest.split('/').next().unwrap_or(""))
}

#[test]
fn a_restore_on_a_new_host_reads_the_trees_of_many_directories_in_a_few_requests() {
    let (_w, proxy, env) = counted_env("vcd-newhost");
    // 300 directories three deep, a small file in each: a tree each.
    let src = env.path("src");
    let mut dirs = 0;
    for a in 0..3 {
        for b in 0..10 {
            for c in 0..10 {
                let d = src.join(format!("a{a}/b{b}/c{c}"));
                fs::create_dir_all(&d).unwrap();
                fs::write(d.join("f"), format!("{a} {b} {c}\n").repeat(40)).unwrap();
                dirs += 1;
            }
        }
    }
    env.backup(&src, &[]);
    // A new host: nothing cached.
    fs::remove_dir_all(env.cache()).unwrap();
    proxy.take();
    let restored = env.restore("latest", &src, "dst");
    let reqs = proxy.take();
    compare(&src, &restored);
    let pack_reads = reqs
        .iter()
        .filter(|r| r.starts_with("GET ") && r.contains("/repo/data/"))
        .count();
    // One request per tree made such a restore wait on hundreds of round trips.
    assert!(
        pack_reads * 8 < dirs,
        "{pack_reads} pack reads for {dirs} directories: {reqs:#?}"
    );
}

/// A backup that finds nothing changed asks the server only what it must, once each: the
/// config and the remembered key (no listing of keys), its lock (write, look, remove), the
/// trail's and the snapshots' listings (shared by the snapshot's anchor, the parent, the
/// rollback watch and the audit entry), the index and deletion plans (after the lock), and
/// the two files it writes. Each is a request the safety of the repository needs; restic
/// makes 13 here, rustic (no locks, no audit trail) 7.
#[test]
fn a_no_change_backup_on_s3_asks_for_each_thing_it_needs_once() {
    let (_w, proxy, env, src) = counted_repo("vcd-quiet", 17);
    // A snapshot records its source's ancestors too, and other tests making their directories
    // in /tmp change its times: a backup of the unchanged tree then stores a new tree for /tmp
    // (seen in loaded full runs). The count is of a backup that added nothing.
    let mut reqs = Vec::new();
    for _ in 0..5 {
        proxy.take();
        let out = env.ok(&["backup", src.to_str().unwrap()]);
        assert!(out.contains("0 new, 0 changed"), "{out}");
        if out.contains("added 0 B in 0 blobs") {
            reqs = proxy.take();
            break;
        }
    }
    assert!(
        !reqs.is_empty(),
        "five backups of an unchanged tree each added data"
    );
    let mut kinds: Vec<String> = reqs.iter().map(|r| request_kind(r, "repo")).collect();
    kinds.sort();
    let mut want = vec![
        "GET config",
        "GET keys",
        "PUT locks",
        "LIST locks",
        "DELETE locks",
        "LIST audit",
        "PUT audit",
        "LIST snapshots",
        "PUT snapshots",
        "LIST index",
        "LIST pending",
    ];
    want.sort();
    assert_eq!(kinds, want, "{reqs:#?}");
}

#[test]
fn two_clients_racing_for_an_exclusive_lock_on_s3_never_both_hold_it() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Barrier};
    let w = Weed::start(&["vcd-locks"]);
    let env = Env::remote(&w.url("vcd-locks", "repo"), w.env());
    env.ok(&["init"]);
    let open = || {
        engine::Repo::open(
            Arc::new(w.backend("vcd-locks", "repo")),
            crate::common::PASSWORD.as_bytes(),
            None,
        )
        .unwrap()
    };
    let repos = [open(), open()];
    let held = AtomicUsize::new(0);
    let mut won = 0;
    for _ in 0..10 {
        let barrier = Barrier::new(2);
        let got: Vec<bool> = std::thread::scope(|s| {
            let hs: Vec<_> = repos
                .iter()
                .map(|r| {
                    let (barrier, held) = (&barrier, &held);
                    s.spawn(move || {
                        barrier.wait();
                        match engine::repo::lock::acquire(r, true) {
                            Ok(guard) => {
                                let n = held.fetch_add(1, SeqCst) + 1;
                                std::thread::sleep(Duration::from_millis(300));
                                held.fetch_sub(1, SeqCst);
                                drop(guard);
                                assert_eq!(n, 1, "two clients held the exclusive lock at once");
                                true
                            }
                            Err(e) => {
                                assert!(e.to_string().contains("lock"), "{e}");
                                false
                            }
                        }
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        won += got.iter().filter(|g| **g).count();
    }
    // Both may lose a round (each finds the other's lock), but not every round.
    assert!(won > 0, "no round was won");
    assert!(w
        .backend("vcd-locks", "repo")
        .list(FileType::Lock)
        .unwrap()
        .is_empty());
}

#[test]
fn an_https_endpoint_with_a_private_ca_is_trusted_through_aws_ca_bundle_only() {
    let w = Weed::start_tls(&["vcd-tls"]);
    let (port, cert) = w.https.clone().unwrap();
    let ca = cert.with_file_name("ca.pem");
    let url = format!("s3:https://127.0.0.1:{port}/vcd-tls/repo");
    // Without the CA the certificate is refused, and nothing is written.
    let env = Env::remote(&url, w.env());
    let (_, err) = env.code(1, &["init"]);
    assert!(
        err.contains(&url) && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(!w.backend("vcd-tls", "repo").exists().unwrap());
    // With it, the repository works over TLS.
    let mut vars = w.env();
    vars.push(("AWS_CA_BUNDLE", ca.display().to_string()));
    let env = Env::remote(&url, vars);
    env.ok(&["init"]);
    let src = env.path("src");
    random_file(&src.join("f"), 3, 3 << 20);
    let id = env.backup(&src, &[]);
    compare(&src, &env.restore(&id, &src, "restored"));
    assert!(stored(&w.backend("vcd-tls", "repo")).0 > 0);
}

/// Against an S3 server of your own (Garage, MinIO, AWS…), outside CI:
/// `VCD_TEST_S3_URL=s3:http://127.0.0.1:3900/BUCKET` with `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` set, then `cargo test -p vcd-cli --test e2e --
/// --ignored external_s3`. Writes under a fresh random prefix of the bucket.
#[test]
#[ignore = "needs VCD_TEST_S3_URL and credentials of an external S3 server"]
fn external_s3_server_keeps_the_contract_and_round_trips_a_tree() {
    let base = std::env::var("VCD_TEST_S3_URL").expect("VCD_TEST_S3_URL");
    let prefix = format!("vcd-test-{}", hex::encode(rand::random::<[u8; 6]>()));
    let url = |p: &str| format!("{}/{prefix}/{p}", base.trim_end_matches('/'));
    let backend = |p: &str| {
        let loc = match engine::backend::url::parse(url(p).as_ref()).unwrap() {
            engine::backend::Location::S3(s) => s,
            other => panic!("{other:?}"),
        };
        let opts = engine::backend::S3Options {
            region: std::env::var("AWS_REGION").ok(),
            ..Default::default()
        };
        engine::backend::S3Backend::new(&loc, opts).unwrap()
    };
    // The contract first, but the round trip runs even when it fails, to say what else holds.
    let b = backend("conformance");
    let contract = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        engine::backend::conformance::run(&b)
    }));

    let vars: Vec<(&'static str, String)> =
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]
            .into_iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k, v)))
            .collect();
    let env = Env::remote(&url("repo"), vars);
    env.ok(&["init"]);
    let src = env.path("src");
    gen::generate_with(&src, 37, &Spec::small());
    let id = env.backup(&src, &[]);
    let again = env.backup_json(&src, &[]);
    assert_eq!(again["summary"]["bytes_read"], 0, "{again:#}");
    compare(&src, &env.restore(&id, &src, "restored"));
    assert!(env
        .ok(&["check", "--read-data"])
        .contains("no errors found"));
    let local = Env::new();
    let r = copy_json(
        &local,
        &url("repo"),
        &["--from-password-file", env.path("pw").to_str().unwrap()],
    );
    assert_eq!(r["copied"].as_array().unwrap().len(), 2, "{r:#}");
    let m = Mount::start(&env, "mnt", &[]);
    let f = first_file(&src);
    assert_eq!(
        fs::read(m.path("latest").join(f.strip_prefix("/").unwrap())).unwrap(),
        fs::read(&f).unwrap()
    );
    drop(m);
    assert!(
        contract.is_ok(),
        "the backend contract failed on this server (above)"
    );
}
