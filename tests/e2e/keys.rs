//! `vcd key`: several passwords open one repository, each can be removed alone, and a
//! password change leaves the old password useless. `vcd init` races, planted key files, and
//! where the password comes from.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use engine::crypto::KdfParams;
use engine::repo::keys::KeyFile;

use crate::common::{vcd_bin, Env};

#[test]
fn add_list_remove_and_change_keys() {
    let env = Env::new();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"secret data").unwrap();
    let snap = env.backup(&src, &[]);

    // A second person's key.
    fs::write(env.path("pw2"), "second password\n").unwrap();
    let out = env.ok(&[
        "key",
        "add",
        "--new-password-file",
        env.path("pw2").to_str().unwrap(),
    ]);
    assert!(out.contains("added key"), "{out}");
    let listed = env.ok(&["key", "list"]);
    assert_eq!(listed.lines().count(), 3, "header and two keys: {listed}");

    // The second password opens the repository and reads the data.
    let as_second = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.args(["--password-file", env.path("pw2").to_str().unwrap()]);
        c.output().unwrap()
    };
    let o = as_second(&[
        "restore",
        &snap,
        "--target",
        env.path("r2").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let restored = env
        .path("r2")
        .join(src.strip_prefix("/").unwrap())
        .join("f");
    assert_eq!(fs::read(restored).unwrap(), b"secret data");

    // The key in use cannot be removed; the other one can.
    let ids: Vec<String> = listed
        .lines()
        .skip(1)
        .map(|l| {
            l.trim_start_matches('*')
                .split_whitespace()
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let current = listed.lines().find(|l| l.starts_with('*')).unwrap();
    let current = current
        .trim_start_matches('*')
        .split_whitespace()
        .next()
        .unwrap();
    let (_, err) = env.code(1, &["key", "remove", current]);
    assert!(err.contains("in use"), "{err}");
    let other = ids.iter().find(|i| *i != current).unwrap();
    env.ok(&["key", "remove", other]);
    let o = as_second(&["snapshots"]);
    assert_eq!(
        o.status.code(),
        Some(12),
        "a removed key's password is refused"
    );

    // Changing the password: the new one works, the old one is refused.
    fs::write(env.path("pw3"), "third password\n").unwrap();
    env.ok(&[
        "key",
        "passwd",
        "--new-password-file",
        env.path("pw3").to_str().unwrap(),
    ]);
    let (_, err) = env.code(12, &["snapshots"]);
    assert!(err.contains("wrong password"), "{err}");
    let mut c = env.cmd(&["check", "--read-data"]);
    c.args(["--password-file", env.path("pw3").to_str().unwrap()]);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A `vcd` command for repository `repo` with password file `pw` and nothing from the
/// environment.
fn vcd_with(repo: &Path, pw: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(vcd_bin());
    c.arg("--repo")
        .arg(repo)
        .arg("--password-file")
        .arg(pw)
        .arg("--no-cache")
        .args(args)
        .env_remove("VCD_PASSWORD")
        .env_remove("VCD_PASSWORD_COMMAND")
        .env_remove("VCD_REPOSITORY")
        .env_remove("VCD_PASSWORD_FILE")
        .stdin(Stdio::null());
    c
}

/// Defect: init checked for a config, then wrote its key and config, so inits racing on one
/// location all succeeded, and all but the last one's password opened a key whose master key
/// did not open the config ("MAC mismatch"). Now exactly one wins each race, the others say the
/// repository exists and leave no key behind, and the winner's password opens it.
#[test]
fn of_racing_inits_exactly_one_succeeds_and_its_password_opens() {
    const RACERS: usize = 8;
    let e = Env::bare();
    let pws: Vec<PathBuf> = (0..RACERS)
        .map(|i| {
            let p = e.path(&format!("pw{i}"));
            fs::write(&p, format!("password {i}\n")).unwrap();
            p
        })
        .collect();
    for round in 0..6 {
        let repo = e.path(&format!("race{round}"));
        let racers: Vec<_> = pws
            .iter()
            .map(|pw| {
                vcd_with(&repo, pw, &["init"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<_> = racers
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let won: Vec<usize> = (0..RACERS).filter(|&i| outs[i].status.success()).collect();
        assert_eq!(won.len(), 1, "round {round}: winners {won:?}");
        for (i, o) in outs.iter().enumerate().filter(|(i, _)| *i != won[0]) {
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "racer {i}: {err}");
            assert!(err.contains("already exists"), "racer {i}: {err}");
        }
        let keys = fs::read_dir(repo.join("keys")).unwrap().count();
        assert_eq!(keys, 1, "round {round}: losers left key files");
        let o = vcd_with(&repo, &pws[won[0]], &["check"]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let loser = (won[0] + 1) % RACERS;
        let o = vcd_with(&repo, &pws[loser], &["snapshots"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(12), "a loser's password opens");
    }

    // Key files without a config (an init that died before its config): refused, untouched.
    let repo = e.path("race0");
    fs::remove_file(repo.join("config")).unwrap();
    let o = vcd_with(&repo, &pws[0], &["init"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("key files but no config"), "{err}");
    assert!(!repo.join("config").exists());
    assert_eq!(fs::read_dir(repo.join("keys")).unwrap().count(), 1);
}

/// Stores `k` (its host changed until its id sorts before every existing key, so an open
/// tries it first) in `keys/`; returns its id.
fn plant_first(e: &Env, mut k: KeyFile) -> String {
    let first = key_names(e).into_iter().next().unwrap();
    for i in 0.. {
        k.host = format!("planted-{i}");
        let b = k.encode();
        let id = engine::Id::of_file(&b).to_hex();
        if id < first {
            fs::write(e.repo().join("keys").join(&id), b).unwrap();
            return id;
        }
    }
    unreachable!()
}

fn key_names(e: &Env) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(e.repo().join("keys"))
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// Defect: someone who can write to the storage could stall or stop every open: a key file
/// asking Argon2 for 4 GiB and 100 passes was run (17.8 s and 4.2 GB a pass), and a 1 TiB
/// sparse file in keys/ made every open fail. Now both are skipped with a warning, before
/// anything is allocated for them: vcd runs here with 1 GiB of address space, which the
/// 4 GiB key would exceed. Then the key that opened is remembered and tried first, so the
/// next open does not even read them.
#[test]
fn planted_key_files_neither_stall_nor_stop_an_open() {
    let e = Env::new();
    let src = e.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"data").unwrap();
    let snap = e.backup(&src, &[]);
    let bomb = KeyFile {
        version: 1,
        created: chrono::Utc::now(),
        host: String::new(),
        user: "mallory".into(),
        kdf: KdfParams {
            m_cost: 4 * 1024 * 1024,
            t_cost: 100,
            ..KdfParams::recommended()
        },
        master: vec![7; 72],
    };
    let bomb = plant_first(&e, bomb);
    let sparse = "0".repeat(64);
    fs::File::create(e.repo().join("keys").join(&sparse))
        .unwrap()
        .set_len(1 << 40)
        .unwrap();

    let limited = |extra: &[&str]| {
        let mut c = Command::new("prlimit");
        c.arg(format!("--as={}", 1u64 << 30)).arg(vcd_bin());
        let inner = e.cmd(extra);
        c.args(inner.get_args());
        c.env_remove("VCD_PASSWORD")
            .env_remove("VCD_PASSWORD_COMMAND")
            .env_remove("VCD_REPOSITORY")
            .env_remove("VCD_PASSWORD_FILE")
            .stdin(Stdio::null());
        c.output().unwrap()
    };
    let o = limited(&["--no-cache", "ls", &snap]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{:?}\n{err}", o.status);
    assert!(String::from_utf8_lossy(&o.stdout).contains("/f"));
    assert!(
        err.contains(&format!("key file {sparse}: 1099511627776 bytes")),
        "{err}"
    );
    assert!(
        err.contains(&format!("key {}: ", &bomb[..8])) && err.contains("KDF parameters beyond"),
        "{err}"
    );

    // With a new cache: the first open tries them all and remembers the key that opened...
    fs::remove_dir_all(e.cache()).unwrap();
    let o = limited(&["ls", &snap]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("skipped"));
    // ...and the next goes straight to it: no planted file is read, so none is warned about.
    let o = limited(&["ls", &snap]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

/// Defect: `VCD_PASSWORD_FILE=` (a script's empty variable) was a clap error ("a value is
/// required"), as were an empty VCD_REPOSITORY and VCD_CACHE_DIR; an empty VCD_PASSWORD was an
/// empty password. Empty now means unset.
#[test]
fn empty_environment_variables_count_as_unset() {
    let e = Env::new();
    let env_only = |vars: &[(&str, &std::ffi::OsStr)], args: &[&str]| {
        let mut c = Command::new(vcd_bin());
        c.args(args).stdin(Stdio::null());
        for v in [
            "VCD_REPOSITORY",
            "VCD_PASSWORD_FILE",
            "VCD_PASSWORD",
            "VCD_PASSWORD_COMMAND",
            "VCD_CACHE_DIR",
        ] {
            c.env(v, "");
        }
        c.envs(vars.iter().copied());
        c.output().unwrap()
    };
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    // Every variable empty, the flags given: as if the variables were unset.
    let (repo, pw) = (e.repo(), e.path("pw"));
    let args = [
        "--repo",
        repo.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
        "snapshots",
    ];
    let o = env_only(&[], &args);
    assert!(o.status.success(), "{}", text(&o));
    // The repository from the environment, the password from nowhere: a clear refusal, not a
    // clap error (exit 2) and not an empty password (exit 12).
    let o = env_only(&[("VCD_REPOSITORY", repo.as_os_str())], &["snapshots"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no password given"), "{}", text(&o));
    // Nor does init make a repository that opens with an empty password.
    let fresh = e.path("fresh");
    let o = env_only(&[("VCD_REPOSITORY", fresh.as_os_str())], &["init"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!fresh.join("config").exists());
    // The password file from the environment, the others empty: it is used.
    let o = env_only(
        &[
            ("VCD_REPOSITORY", repo.as_os_str()),
            ("VCD_PASSWORD_FILE", pw.as_os_str()),
        ],
        &["snapshots"],
    );
    assert!(o.status.success(), "{}", text(&o));
}
