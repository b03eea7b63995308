//! A root restore into a target that an unprivileged user partly owns, while that user races
//! to swap the directories the restore creates for symlinks to a directory outside the
//! target (issue 12, finding 1). The restore may fail on what was swapped; it must never
//! write, chown or chmod anything outside.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{Env, NOBODY};

const SENTINEL: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n";

/// Swaps every `d*` directory that appears in `shared` for a symlink to `outside`, until
/// `stop` exists; prints how many it swapped.
const ATTACKER: &str = r#"
import os, sys
shared, outside, stop = sys.argv[1:4]
n = 0
while not os.path.exists(stop):
    try:
        names = os.listdir(shared)
    except OSError:
        continue
    for name in names:
        if not name.startswith("d"):
            continue
        p = os.path.join(shared, name)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                os.rename(p, os.path.join(shared, "moved-%d" % n))
                os.symlink(outside, p)
                n += 1
        except OSError:
            pass
print(n)
"#;

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_symlink_swap_race_never_writes_outside_the_target() {
    let e = Env::new();
    chmod(e.dir.path(), 0o755);
    let src = e.path("src");
    let shared_src = src.join("shared");
    for d in 0..40 {
        let dir = shared_src.join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..10 {
            std::fs::write(dir.join(format!("f{f}")), format!("file {f} of {d}")).unwrap();
        }
        std::fs::write(dir.join("passwd"), b"evil::0:0::/:/bin/sh\n").unwrap();
        chmod(&dir.join("passwd"), 0o4777);
        chmod(&dir, 0o777);
    }
    let snap = e.backup(&src, &[]);

    let outside = e.path("outside");
    std::fs::create_dir(&outside).unwrap();
    chmod(&outside, 0o755);
    std::fs::write(outside.join("passwd"), SENTINEL).unwrap();
    chmod(&outside.join("passwd"), 0o644);

    // The target is root's; the directory the snapshot's files go into belongs to nobody.
    let target = e.path("target");
    let shared = target.join(shared_src.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&shared).unwrap();
    let mut p = shared.parent().unwrap();
    while p.starts_with(&target) {
        chmod(p, 0o755);
        p = p.parent().unwrap();
    }
    std::os::unix::fs::chown(&shared, Some(NOBODY), Some(NOBODY)).unwrap();
    let t = target.to_str().unwrap();

    // By default a directory of another user in the target is refused.
    let (_, err) = e.code(1, &["restore", &snap, "--target", t]);
    assert!(err.contains("--allow-foreign-dirs"), "{err}");
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);

    let stop = e.path("stop");
    let attacker = Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            ATTACKER,
        ])
        .arg(&shared)
        .arg(&outside)
        .arg(&stop)
        .stdout(Stdio::piped())
        .spawn()
        .expect("setpriv and python3 run the attacker");
    let mut codes = Vec::new();
    for _ in 0..12 {
        let o = e.run(&["restore", &snap, "--target", t, "--allow-foreign-dirs"]);
        codes.push(o.status.code());
        for entry in std::fs::read_dir(&shared).unwrap() {
            let p = entry.unwrap().path();
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                std::fs::remove_dir_all(&p).unwrap();
            } else {
                std::fs::remove_file(&p).unwrap();
            }
        }
        // The restore gave `shared` the snapshot's owner: hand it back for the next round.
        std::os::unix::fs::chown(&shared, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    std::fs::write(&stop, b"").unwrap();
    let out = attacker.wait_with_output().unwrap();
    let swaps: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();

    // Every restore ended by itself (0, or 1 for what the swaps made it skip).
    assert!(codes.iter().all(|c| matches!(c, Some(0 | 1))), "{codes:?}");
    // The race was run: the attacker swapped directories under the restores, and they
    // reported what they could not finish.
    assert!(swaps > 0, "the attacker never got to swap a directory");
    assert!(codes.contains(&Some(1)), "{codes:?}");
    let m = std::fs::metadata(outside.join("passwd")).unwrap();
    assert_eq!(std::fs::read(outside.join("passwd")).unwrap(), SENTINEL);
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o644, 0, 0));
    let om = std::fs::metadata(&outside).unwrap();
    assert_eq!((om.mode() & 0o7777, om.uid()), (0o755, 0));
    let names: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("passwd")]);
}
