//! The README's usage block (the ```sh block after `<!-- readme-test: usage -->`) works when
//! pasted in order on a fresh machine: run with bash -euo pipefail, the built `vcd` first on
//! PATH, an empty HOME and no terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::vcd_bin;

const MARKER: &str = "<!-- readme-test: usage -->";

/// The body of the first fenced block after the marker line.
fn usage_block(readme: &str) -> String {
    let mut lines = readme.lines().skip_while(|l| l.trim() != MARKER).skip(1);
    let fence = lines.next().expect("a fenced block follows the marker");
    assert_eq!(
        fence.trim(),
        "```sh",
        "the marker must precede a ```sh block"
    );
    let body: Vec<&str> = lines.take_while(|l| l.trim() != "```").collect();
    assert!(!body.is_empty(), "empty usage block");
    body.join("\n") + "\n"
}

/// Unmounts whatever the block left mounted under HOME, on success and on failure alike.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let mnt = self.0.join("vcd-demo/mnt");
        if mnt.exists() {
            let _ = Command::new("fusermount3")
                .args(["-u", "-z"])
                .arg(&mnt)
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[test]
fn readme_usage_block_runs_on_a_fresh_machine() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    assert!(readme.contains(MARKER), "README.md lacks {MARKER}");
    let script = usage_block(&readme);
    let home = tempfile::Builder::new()
        .prefix("vcd-readme-")
        .tempdir()
        .unwrap();
    let _unmount = Unmount(home.path().to_path_buf());
    let bin_dir = vcd_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", &script])
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("PATH", path)
        .stdin(Stdio::null());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("VCD_") || k == "XDG_CACHE_HOME" {
            cmd.env_remove(k);
        }
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "the README's usage block failed ({:?})\n--- script ---\n{script}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn usage_block_is_found_after_its_marker() {
    let md = "intro\n```sh\nnot this\n```\n<!-- readme-test: usage -->\n```sh\na\nb\n```\n```sh\nc\n```\n";
    assert_eq!(usage_block(md), "a\nb\n");
}
