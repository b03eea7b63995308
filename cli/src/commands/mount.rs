//! `vcd mount`: the FUSE mount of a repository's snapshots in the foreground or as a daemon
//! (the filesystem itself is in the vcd-fuse crate).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::common::{self, GlobalOpts};

#[derive(clap::Args)]
pub struct Args {
    /// Directory to mount on (must exist)
    mountpoint: PathBuf,
    /// Detach once the mount is ready
    #[arg(long)]
    daemon: bool,
    /// Let other users read the mount (FUSE allow_other)
    #[arg(long)]
    allow_other: bool,
    /// Show only some snapshots
    #[command(flatten)]
    filter: crate::choose::FilterArgs,
    /// Memory for decrypted chunks, in MiB (enough for the readahead of sequential readers;
    /// more helps only repeated random reads)
    #[arg(long, default_value_t = vcdfuse::DEFAULT_CACHE_BYTES >> 20, value_name = "MiB")]
    cache_size: usize,
    /// FUSE worker threads
    #[arg(long, default_value_t = 4)]
    threads: usize,
    #[arg(long, hide = true)]
    daemon_child: bool,
}

/// Mount points, unescaped, from /proc/self/mountinfo.
fn mount_points() -> Vec<PathBuf> {
    let s = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    s.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| {
            // mountinfo escapes space, tab, newline and backslash as \ooo.
            let b = m.as_bytes();
            let mut out = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'\\'
                    && i + 3 < b.len()
                    && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
                {
                    out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
                    i += 4;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
        })
        .collect()
}

fn is_mounted(p: &Path) -> bool {
    mount_points().iter().any(|m| m == p)
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let mp = match std::fs::canonicalize(&a.mountpoint) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "mountpoint {} does not exist (create it first)",
                a.mountpoint.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("mountpoint {}", a.mountpoint.display())),
    };
    if !mp.is_dir() {
        bail!("mountpoint {} is not a directory", mp.display());
    }
    if is_mounted(&mp) {
        bail!(
            "mountpoint {} is busy: something is already mounted there",
            mp.display()
        );
    }
    if a.daemon {
        return daemonize(&mp);
    }
    let repo = Arc::new(common::open(g)?);
    // Held until the session below ends: for as long as anything can read through the mount.
    let _lock = common::read_lock(g, &repo)?;
    let opts = vcdfuse::MountOptions {
        cache_bytes: a.cache_size << 20,
        filter: a.filter.filter(),
        allow_other: a.allow_other,
        threads: a.threads,
    };
    let session = vcdfuse::mount(Arc::clone(&repo), &mp, opts)
        .with_context(|| format!("mounting on {}", mp.display()))?;
    raise_readahead(&mp);
    if !g.quiet && !a.daemon_child {
        eprintln!(
            "vcd: snapshots mounted on {} (Ctrl-C or SIGTERM unmounts)",
            mp.display()
        );
    }
    // Serve until a signal asks us to stop, or someone unmounts us from outside.
    while !common::cancel_token().is_cancelled() && !session.guard.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
    }
    if session.guard.is_finished() {
        session.join().context("FUSE session ended")?;
    } else {
        session
            .umount_and_join()
            .with_context(|| format!("unmounting {}", mp.display()))?;
    }
    Ok(())
}

/// Lets the kernel read ahead 1 MiB at a time (the FUSE default window is 128–256 KiB), so a
/// sequential reader makes fewer, larger requests. Needs root; best effort otherwise.
fn raise_readahead(mp: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(mp) else { return };
    let dev = m.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let f = format!("/sys/class/bdi/{major}:{minor}/read_ahead_kb");
    if let Err(e) = std::fs::write(&f, "1024") {
        tracing::debug!("could not raise the readahead window ({f}): {e}");
    }
}

/// Starts this same command as a detached child and returns once its mount is visible (or the
/// child has failed, whose exit code we then pass on).
fn daemonize(mp: &Path) -> Result<()> {
    let exe = std::env::current_exe()?;
    let args: Vec<std::ffi::OsString> = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--daemon")
        .collect();
    let mut cmd = std::process::Command::new(exe);
    cmd.args(args)
        .arg("--daemon-child")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    crate::sys::new_session(&mut cmd);
    let mut child = cmd.spawn().context("starting the mount process")?;
    let start = Instant::now();
    loop {
        if is_mounted(mp) {
            return crate::out!("mounted on {} (pid {})", mp.display(), child.id());
        }
        if let Some(st) = child.try_wait()? {
            std::process::exit(st.code().unwrap_or(1));
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            bail!("the mount did not become ready within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
