//! Running the `vcd` binary in tests: a scratch directory holding a repository, a password
//! file and a cache directory, and helpers that run a command and return its output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PASSWORD: &str = "correct horse battery staple";

pub fn vcd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vcd"))
}

/// A scratch area: `repo/`, `cache/`, `pw` (the password file), and room for sources and
/// restore targets. Removed on drop.
pub struct Env {
    pub dir: tempfile::TempDir,
    /// A remote repository's URL (`s3:…`), and the variables that reach it; None: `repo/`.
    pub url: Option<String>,
    pub vars: Vec<(&'static str, String)>,
}

impl Env {
    /// A scratch area with an initialised repository.
    pub fn new() -> Self {
        let e = Self::bare();
        e.ok(&["init"]);
        e
    }

    /// A scratch area with a repository whose one key asks Argon2 for the least work a key
    /// file may ask for (8 KiB, one pass), made through the engine: for tests that run vcd
    /// hundreds of times, where the real key's KDF would be most of each command's time. vcd
    /// reads a key's KDF parameters from the key file, so every command works as usual.
    pub fn with_cheap_key() -> Self {
        let e = Self::bare();
        let backend = std::sync::Arc::new(engine::backend::LocalBackend::new(e.repo()));
        let kdf = engine::crypto::KdfParams {
            m_cost: 8,
            t_cost: 1,
            ..engine::crypto::KdfParams::recommended()
        };
        let config = engine::format::config::Config::new();
        engine::Repo::init(backend, PASSWORD.as_bytes(), config, kdf).unwrap();
        e
    }

    /// A scratch area without a repository.
    pub fn bare() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vcd-e2e-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).unwrap();
        Env {
            dir,
            url: None,
            vars: Vec::new(),
        }
    }

    /// A scratch area whose repository is at `url`, reached with `vars`; not initialised.
    pub fn remote(url: &str, vars: Vec<(&'static str, String)>) -> Self {
        Env {
            url: Some(url.to_string()),
            vars,
            ..Self::bare()
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn repo(&self) -> PathBuf {
        self.path("repo")
    }

    pub fn cache(&self) -> PathBuf {
        self.path("cache")
    }

    /// The repository opened through the engine, as a library user would (no local cache),
    /// with the password in the password file (a test may have changed it).
    pub fn open_repo(&self) -> engine::Repo {
        let backend = std::sync::Arc::new(engine::backend::LocalBackend::new(self.repo()));
        let pw = std::fs::read_to_string(self.path("pw")).unwrap();
        let pw = pw.lines().next().unwrap_or_default();
        engine::Repo::open(backend, pw.as_bytes(), None).unwrap()
    }

    /// A `vcd` command with the repository, password file and cache set.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(vcd_bin());
        match &self.url {
            Some(u) => c.arg("--repo").arg(u),
            None => c.arg("--repo").arg(self.repo()),
        };
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c.arg("--password-file")
            .arg(self.path("pw"))
            .arg("--cache-dir")
            .arg(self.cache())
            .args(args)
            .env_remove("VCD_PASSWORD")
            .env_remove("VCD_PASSWORD_COMMAND")
            .env_remove("VCD_REPOSITORY")
            .env_remove("VCD_PASSWORD_FILE")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("running vcd")
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "vcd {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs and asserts the exit code; returns (stdout, stderr).
    pub fn code(&self, want: i32, args: &[&str]) -> (String, String) {
        let o = self.run(args);
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        assert_eq!(
            o.status.code(),
            Some(want),
            "vcd {args:?}\nstdout:\n{out}\nstderr:\n{err}"
        );
        (out, err)
    }

    /// Backs up `src` and returns the new snapshot's full id.
    pub fn backup(&self, src: &Path, extra: &[&str]) -> String {
        let v = self.backup_json(src, extra);
        v["id"].as_str().expect("snapshot id").to_string()
    }

    /// Backs up `src` (asserting exit 0) and returns the whole `backup --json` output.
    pub fn backup_json(&self, src: &Path, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["backup", "--json", src.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = self.ok(&args);
        serde_json::from_str(&out).expect("backup --json prints JSON")
    }

    /// Restores `snap` into a fresh directory and returns the path of `src` inside it.
    pub fn restore(&self, snap: &str, src: &Path, name: &str) -> PathBuf {
        let target = self.path(name);
        self.ok(&["restore", snap, "--target", target.to_str().unwrap()]);
        target.join(src.strip_prefix("/").unwrap())
    }

    pub fn snapshots(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["snapshots", "--json"]);
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// Total bytes of the repository's files.
    pub fn repo_bytes(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            std::fs::read_dir(p)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    let m = e.metadata().unwrap();
                    if m.is_dir() {
                        walk(&e.path())
                    } else {
                        m.len()
                    }
                })
                .sum()
        }
        walk(&self.repo())
    }
}

/// The unprivileged user the tests run vcd as where root would read anything.
pub const NOBODY: u32 = 65534;

/// Gives the scratch area to `NOBODY` and makes `secret` unreadable to it, so a backup run as
/// nobody meets one file it cannot read.
pub fn nobody_cannot_read(e: &Env, secret: &Path) {
    let st = Command::new("chown")
        .arg("-R")
        .arg(format!("{NOBODY}:{NOBODY}"))
        .arg(e.dir.path())
        .status()
        .unwrap();
    assert!(
        st.success(),
        "chown to nobody failed (the e2e tests run as root)"
    );
    std::fs::set_permissions(secret, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
}

/// True when `p` is a mount point of this process's namespace.
pub fn mounted(p: &Path) -> bool {
    let want = p.to_str().unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want))
}

/// Starts `cmd` (a `vcd mount` of `point`, its stderr into `log`) and waits until `point` is
/// mounted; panics with the log if the command exits first or the mount is not ready in 60 s.
pub fn spawn_mount(mut cmd: Command, point: &Path, log: &Path) -> std::process::Child {
    let log_text = || std::fs::read_to_string(log).unwrap_or_default();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !mounted(point) {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("vcd mount exited early ({st}): {}", log_text());
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "mount not ready: {}",
            log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// `dir` bind-mounted read-only onto itself for the life of the value: storage that even root
/// cannot write to (the e2e tests run as root).
pub struct ReadOnly(PathBuf);

impl ReadOnly {
    pub fn bind(dir: &Path) -> ReadOnly {
        let run = |args: &[&str]| {
            let st = std::process::Command::new("mount")
                .args(args)
                .arg(dir)
                .arg(dir)
                .status();
            assert!(
                st.unwrap().success(),
                "mount {args:?} (the e2e tests run as root)"
            );
        };
        run(&["--bind"]);
        let ro = ReadOnly(dir.to_path_buf());
        let st = std::process::Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir)
            .status();
        assert!(st.unwrap().success(), "remount read-only");
        assert!(
            std::fs::write(dir.join("probe"), b"").is_err(),
            "still writable"
        );
        ro
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
