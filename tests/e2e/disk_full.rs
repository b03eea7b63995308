//! A full disk during a backup's last writes. The repository sits on a small tmpfs; a reference
//! run of the same backup on a copy of the repository measures the pages its packs, index file
//! and snapshot take, and the tmpfs is then filled so that the packs fit but the index file does
//! not (and, in a second round, the index file fits but the snapshot does not). The backup fails
//! naming the write and the cause, leaves no lock, and once space is freed `check --read-data`
//! passes, every earlier snapshot restores byte for byte and the next backup succeeds.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::common::{vcd_bin, Env};
use crate::crash::{fx, record, valid_after_kill};
use crate::phases;

const PAGE: u64 = 4096;

/// Unmounts on drop (before the scratch area holding the mount point is removed).
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn free_pages(p: &Path) -> u64 {
    let s = nix::sys::statvfs::statvfs(p).unwrap();
    s.blocks_available() as u64 * s.fragment_size() as u64 / PAGE
}

/// Pages (of tmpfs) the repository files `names` take in `dir` (`data/<xx>/` for packs).
fn pages_of(repo: &Path, kind: &str, names: &BTreeSet<String>) -> u64 {
    names
        .iter()
        .map(|n| {
            let p = if kind == "data" {
                repo.join("data").join(&n[..2]).join(n)
            } else {
                repo.join(kind).join(n)
            };
            fs::metadata(p).unwrap().len().div_ceil(PAGE)
        })
        .sum()
}

/// Every small file of the source rewritten with new bytes: hundreds of new blobs, so the
/// index file takes several pages.
fn rewrite_small(src: &Path, rng: &mut StdRng) {
    for d in 0..3 {
        let dir = src.join(format!("d{d}"));
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let len = rng.gen_range(100..6000);
            fx::random_file(&p, len, rng);
        }
    }
}

#[test]
fn disk_full_during_index_and_snapshot_writes_leaves_a_valid_repository() {
    let e = Env::bare();
    let repo = e.repo();
    fs::create_dir(&repo).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"])
        .arg(&repo)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "mount -t tmpfs failed (the e2e tests run as root)"
    );
    let _tmpfs = Tmpfs(repo.clone());
    e.ok(&["init"]);
    let src = e.path("src");
    let mut rng = StdRng::seed_from_u64(0xd15c_f011);
    fx::tree(&src, &mut rng, 450, &[1 << 20]);
    let mut snaps = Vec::new();
    let id = e.backup(&src, &[]);
    record(&e, &src, &mut snaps, Some(id));

    // Tags of random text make the snapshot file several pages long.
    let tags: Vec<String> = (0..6)
        .map(|_| {
            let mut b = [0u8; 1500];
            rng.fill_bytes(&mut b);
            hex::encode(b)
        })
        .collect();
    let mut args = vec!["backup", "--json", src.to_str().unwrap()];
    args.extend(["--time", "2026-11-20T02:00:00Z"]);
    for t in &tags {
        args.extend(["--tag", t.as_str()]);
    }

    for (round, fails) in ["index", "snapshot"].into_iter().enumerate() {
        rewrite_small(&src, &mut rng);
        fx::random_file(&src.join("big0.bin"), 1 << 20, &mut rng);

        // The same backup on a copy of the repository (and a cache of its own), for the sizes.
        let reference = e.path(&format!("reference-{round}"));
        crate::gen::cp_a(&repo, &reference);
        let before = phases::state(&reference);
        let o = Command::new(vcd_bin())
            .arg("--repo")
            .arg(&reference)
            .arg("--password-file")
            .arg(e.path("pw"))
            .arg("--cache-dir")
            .arg(e.path(&format!("reference-cache-{round}")))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let after = phases::state(&reference);
        let new = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> BTreeSet<String> {
            b.difference(a).cloned().collect()
        };
        let packs = pages_of(&reference, "data", &new(&before.packs, &after.packs));
        let index = pages_of(&reference, "index", &new(&before.index, &after.index));
        let snapshot = pages_of(
            &reference,
            "snapshots",
            &new(&before.snapshots, &after.snapshots),
        );
        fs::remove_dir_all(&reference).unwrap();
        eprintln!("{fails}: the backup writes {packs} pages of packs, {index} of index, {snapshot} of snapshot");
        assert!(
            index >= 3 && snapshot >= 3,
            "too small to fail in the middle"
        );

        // Room for the lock and the packs, and half the index file (or all of it and half the
        // snapshot): a pack a page larger or smaller than measured still fails the same write.
        let room = 1
            + packs
            + if fails == "index" {
                index / 2
            } else {
                index + snapshot / 2
            };
        let filler = repo.join(".filler");
        {
            let mut f = fs::File::create(&filler).unwrap();
            let chunk = vec![0x55u8; PAGE as usize * 256];
            while free_pages(&repo) > room {
                let n = (free_pages(&repo) - room).min(256) * PAGE;
                f.write_all(&chunk[..n as usize]).unwrap();
                f.flush().unwrap();
            }
        }
        assert_eq!(free_pages(&repo), room);

        let before = phases::state(&repo);
        let o = e.run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "stderr:\n{err}");
        assert!(
            err.contains(&format!("writing {fails}")) && err.contains("No space left on device"),
            "the error names the {fails} write and the full disk:\n{err}"
        );
        let s = phases::state(&repo);
        assert!(s.locks.is_empty(), "a failed backup left its lock");
        assert!(s.packs.len() > before.packs.len(), "its packs were written");
        assert_eq!(s.snapshots, before.snapshots, "no snapshot");
        if fails == "index" {
            assert_eq!(s.index, before.index, "no index file");
        } else {
            assert!(
                s.index.len() > before.index.len(),
                "its index file was written"
            );
        }

        fs::remove_file(&filler).unwrap();
        valid_after_kill(
            &e,
            &src,
            &mut snaps,
            false,
            &format!("after the disk filled up during the {fails} write"),
        );
    }
}
