//! `vcd key`: several passwords open one repository, each can be removed alone, and a
//! password change leaves the old password useless.

use std::fs;

use crate::common::Env;

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
