//! Names are data: a file name holding a terminal escape sequence or a newline is shown with
//! its control characters escaped (`\xHH`) in every text output (ls, diff, snapshots, backup
//! and restore warnings, check messages, error lines), so a snapshot cannot recolour, retitle or
//! clear the terminal of whoever lists it, nor forge lines of output; JSON keeps names exact.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Output;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::common::{nobody_cannot_read, Env, NOBODY};
use crate::crash::fx;

/// An escape sequence that turns text red, and a newline.
const RED: &str = "\x1b[31mred\nline";
const RED_SHOWN: &str = "\\x1b[31mred\\x0aline";
/// An OSC sequence that sets the window title, ended by BEL, and a carriage return.
const TITLE: &str = "\x1b]0;owned\x07\r";
const TITLE_SHOWN: &str = "\\x1b]0;owned\\x07\\x0d";
/// Clears the screen.
const CLEAR: &str = "\x1b[2J";
const CLEAR_SHOWN: &str = "\\x1b[2J";

/// Panics if `b` holds a control character other than the newlines that end its lines.
fn assert_clean(what: &str, b: &[u8]) {
    let s = String::from_utf8_lossy(b);
    let bad: Vec<char> = s.chars().filter(|&c| c.is_control() && c != '\n').collect();
    assert!(
        bad.is_empty(),
        "{what}: raw control characters {bad:?} in {s:?}"
    );
}

/// Runs vcd as nobody (who cannot read the secret) and checks both outputs are clean; returns
/// the exit code, stdout and stderr.
fn run(e: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    use std::os::unix::process::CommandExt;
    let o: Output = e.cmd(args).uid(NOBODY).gid(NOBODY).output().unwrap();
    assert_clean(&format!("stdout of {args:?}"), &o.stdout);
    assert_clean(&format!("stderr of {args:?}"), &o.stderr);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(e: &Env, args: &[&str]) -> String {
    let (code, out, err) = run(e, args);
    assert_eq!(code, Some(0), "{args:?}\nstdout:\n{out}\nstderr:\n{err}");
    out
}

/// Where the first blob of the file at `path` (as backed up) lives in snapshot `snap`.
fn first_blob(e: &Env, snap: &str, path: &Path) -> engine::cache::Location {
    let repo = e.open_repo();
    let snaps = repo.snapshots().unwrap();
    let s = engine::policy::select::select(&snaps, snap).unwrap();
    let mut tree = repo.load_tree(&s.snap.tree).unwrap();
    let names: Vec<&std::ffi::OsStr> = path.iter().skip(1).collect();
    for (i, name) in names.iter().enumerate() {
        let n = tree.find(name.as_bytes()).expect("in the snapshot").clone();
        if i + 1 == names.len() {
            let id = n.data_ids().next().expect("the file has data");
            return repo.lookup(&id).unwrap();
        }
        tree = repo.load_tree(&n.subtree.unwrap()).unwrap();
    }
    unreachable!("empty path")
}

#[test]
fn control_characters_in_names_are_escaped_in_every_text_output() {
    let e = Env::bare();
    // The source's own path holds the sequence too: snapshots list it.
    let src = e.path(&format!("src{RED}"));
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("plain"), b"plain").unwrap();
    let secret = src.join(format!("secret{RED}"));
    fs::write(&secret, b"nobody may read this").unwrap();
    nobody_cannot_read(&e, &secret);
    let src_s = src.to_str().unwrap();
    let src_shown = src_s.replace(RED, RED_SHOWN);
    ok(&e, &["init"]);
    let (code, out, err) = run(&e, &["backup", "--json", src_s]);
    assert_eq!(code, Some(3), "{err}");
    let first: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = first["id"].as_str().unwrap().to_string();

    // Hostile names of every kind of entry.
    let mut rng = StdRng::seed_from_u64(0x0e5c);
    fx::random_file(&src.join(RED), 64 << 10, &mut rng);
    fs::create_dir(src.join(TITLE)).unwrap();
    fs::write(src.join(TITLE).join("f"), b"in a titled dir").unwrap();
    std::os::unix::fs::symlink(format!("target{CLEAR}"), src.join(format!("link{CLEAR}"))).unwrap();
    let st = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{NOBODY}:{NOBODY}"))
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();

    // Backup: the unreadable file's warning, escaped on stderr and exact in the JSON.
    let (code, out, err) = run(&e, &["backup", "--json", src_s]);
    assert_eq!(code, Some(3), "{err}");
    let secret_shown = secret.to_str().unwrap().replace(RED, RED_SHOWN);
    assert!(err.contains(&format!("  {secret_shown}: ")), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let warnings = v["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains(secret.to_str().unwrap())),
        "{warnings:?}"
    );
    let snap = v["id"].as_str().unwrap().to_string();

    // snapshots: the path escaped in the table, exact in JSON.
    let out = ok(&e, &["snapshots"]);
    assert!(out.contains(&src_shown), "{out}");
    let v: serde_json::Value = serde_json::from_str(&ok(&e, &["snapshots", "--json"])).unwrap();
    assert_eq!(v[1]["paths"][0].as_str(), Some(src_s));

    // ls, short and long (link targets too), and diff.
    let out = ok(&e, &["ls", &snap]);
    for shown in [RED_SHOWN, TITLE_SHOWN, CLEAR_SHOWN] {
        assert!(out.contains(shown), "{shown} in\n{out}");
    }
    let out = ok(&e, &["ls", "-l", &snap]);
    assert!(
        out.contains(&format!("link{CLEAR_SHOWN} -> target{CLEAR_SHOWN}")),
        "{out}"
    );
    let out = ok(&e, &["diff", &first, &snap]);
    assert!(
        out.contains(&format!("+    {src_shown}/{RED_SHOWN}")),
        "{out}"
    );
    assert!(out.contains(&format!("{TITLE_SHOWN}/f")), "{out}");
    // An error quoting a name the user typed.
    let (code, _, err) = run(&e, &["ls", &snap, &format!("{src_s}/none{CLEAR}")]);
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("none{CLEAR_SHOWN}")), "{err}");

    // check and restore name a damaged file: escaped.
    let loc = first_blob(&e, &snap, &src.join(RED));
    let pack = e
        .repo()
        .join("data")
        .join(&loc.pack.to_hex()[..2])
        .join(loc.pack.to_hex());
    let mut b = fs::read(&pack).unwrap();
    b[(loc.entry.offset + loc.entry.length as u64 / 2) as usize] ^= 0x20;
    fs::write(&pack, b).unwrap();
    let (code, _, err) = run(&e, &["check", "--read-data"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("{src_shown}/{RED_SHOWN}: damaged")),
        "{err}"
    );
    let target = e.path("restore");
    let (code, _, err) = run(
        &e,
        &["restore", &snap, "--target", target.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "{err}");
    let restored = fx::restored(&target, &src).join(RED);
    let restored_shown = restored.to_str().unwrap().replace(RED, RED_SHOWN);
    assert!(err.contains(&format!("  {restored_shown}")), "{err}");
    // What was restored has its names exact.
    assert_eq!(
        fs::read(fx::restored(&target, &src).join(TITLE).join("f")).unwrap(),
        b"in a titled dir"
    );
}
