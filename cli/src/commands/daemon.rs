//! `vcd daemon`: runs the configuration's jobs at their scheduled times. The decisions are the
//! engine's pure scheduler's; this file is the edge around it: the clock, the signals, the
//! lock that keeps one daemon per configuration, and the history file that lets a restarted
//! daemon catch up what it missed (once).
//!
//! One job runs at a time (a job due while another runs waits its turn). SIGHUP reloads the
//! configuration after the running job (a broken one is reported, the old one kept). SIGTERM
//! or SIGINT interrupts the running job at its next checkpoint (the repository stays valid) and
//! the daemon exits 0.

use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use engine::ops::job::{self, JobReport, RunOptions};
use engine::ops::progress::Progress;
use engine::policy::config::Config;
use engine::policy::scheduler::{self, History};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::common::{self, GlobalOpts};

/// Where the lock and the history live when --state-dir is not given.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/vcd-daemon";

/// The longest sleep: a clock set forward (or a suspend) is noticed within it.
const MAX_SLEEP: Duration = Duration::from_secs(60);

#[derive(clap::Args)]
pub struct Args {
    /// Directory of the daemon's lock and run history (one pair per configuration file)
    #[arg(long, env = "VCD_STATE_DIR", value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Where to serve Prometheus metrics on /metrics (`off`: nowhere; port 0: any free one,
    /// logged)
    #[arg(
        long,
        env = "VCD_METRICS_LISTEN",
        value_name = "ADDR",
        default_value = DEFAULT_METRICS_LISTEN
    )]
    metrics_listen: String,
}

/// 127.0.0.1 only: the metrics name jobs, paths' sizes and times, for this host's Prometheus.
const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9587";

/// Serves `/metrics` from a thread of its own: each scrape reads the status from the
/// repository (opened once, on the first scrape), so it is as fresh as the repository. A port
/// already taken is logged, and the daemon runs without metrics.
fn serve_metrics(g: &GlobalOpts, c: &Config, listen: &str) {
    if listen == "off" {
        return;
    }
    let server = match tiny_http::Server::http(listen) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("metrics: cannot listen on {listen}: {e}; serving none");
            return;
        }
    };
    match server.server_addr().to_ip() {
        Some(a) => tracing::info!("metrics on http://{a}/metrics"),
        None => tracing::info!("metrics on {listen}"),
    }
    let (g, c) = (g.clone(), c.clone());
    std::thread::spawn(move || {
        let mut repo = None;
        for req in server.incoming_requests() {
            let (code, body) = if req.url() == "/metrics" {
                match scrape(&g, &c, &mut repo) {
                    Ok(text) => (200, text),
                    Err(e) => {
                        tracing::warn!("metrics: {}", crate::message(&e));
                        (500, format!("{}\n", crate::message(&e)))
                    }
                }
            } else {
                (404, "not found: try /metrics\n".to_string())
            };
            let header = tiny_http::Header::from_bytes(
                &b"Content-Type"[..],
                &b"text/plain; version=0.0.4; charset=utf-8"[..],
            )
            .expect("a valid header");
            let resp = tiny_http::Response::from_string(body)
                .with_status_code(code)
                .with_header(header);
            if let Err(e) = req.respond(resp) {
                tracing::debug!("metrics: answering a scrape: {e}");
            }
        }
    });
}

fn scrape(g: &GlobalOpts, c: &Config, repo: &mut Option<engine::Repo>) -> Result<String> {
    if repo.is_none() {
        // Scrapes are not operations on the data: the trail would fill with them.
        common::unaudited_thread();
        *repo = Some(common::open_configured(g, c)?);
    }
    let repo = repo.as_ref().expect("opened above");
    let snaps = repo.snapshots()?;
    let s = engine::ops::status::status_of(repo, &snaps, Some(c), Utc::now())?;
    let storage = engine::ops::audit::watch(&repo.audit_store())?;
    crate::metrics::render(&s, &snaps, &storage)
}

enum Signal {
    Stop(i32),
    Reload,
}

/// The lock file, held (flock) while the daemon runs and removed when it ends.
struct DaemonLock {
    path: PathBuf,
    _file: std::fs::File,
}

impl Drop for DaemonLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The files of the daemon of `config`: named by a hash of its canonical path, so two
/// configurations have two daemons and one configuration one.
fn state_files(dir: &Path, config: &Path) -> (PathBuf, PathBuf) {
    let h = blake3::hash(config.as_os_str().as_encoded_bytes()).to_hex();
    let stem = format!("daemon-{}", &h[..16]);
    (
        dir.join(format!("{stem}.lock")),
        dir.join(format!("{stem}.json")),
    )
}

fn take_lock(path: &Path, config: &Path) -> Result<DaemonLock> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    // A daemon that stops removes its lock file while it holds the lock: a second daemon
    // that opened the file before the removal gets the lock on a file no longer there, while
    // a third creates a new one. So the file locked must still be the one at `path`.
    for _ in 0..10 {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .with_context(|| format!("opening the daemon lock {}", path.display()))?;
        if f.try_lock().is_err() {
            let holder = std::fs::read_to_string(path).unwrap_or_default();
            bail!(
                "another vcd daemon (pid {}) runs {}: it holds {}",
                holder.trim(),
                config.display(),
                path.display()
            );
        }
        let held = f.metadata()?;
        match std::fs::symlink_metadata(path) {
            Ok(m) if (m.dev(), m.ino()) == (held.dev(), held.ino()) => {}
            _ => continue,
        }
        f.set_len(0)?;
        writeln!(f, "{}", std::process::id())?;
        return Ok(DaemonLock {
            path: path.to_path_buf(),
            _file: f,
        });
    }
    bail!(
        "could not take the daemon lock {}: it keeps being replaced",
        path.display()
    )
}

fn load_history(path: &Path) -> History {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
            tracing::warn!(
                "run history {} unreadable ({e}); starting a new one",
                path.display()
            );
            History::default()
        }),
        Err(_) => History::default(),
    }
}

/// Written atomically: a daemon killed while writing keeps the previous history.
fn save_history(path: &Path, h: &History) {
    let write = || -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut t = tempfile::NamedTempFile::new_in(dir)?;
        t.write_all(&serde_json::to_vec_pretty(h).expect("history serialises"))?;
        t.as_file().sync_all()?;
        t.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    if let Err(e) = write() {
        tracing::warn!("could not save the run history {}: {e}", path.display());
    }
}

/// The time each backup job's newest snapshot from this host was made: runs by `vcd run`
/// count as runs. (`History::settle` brings a time in the future back to now.)
/// The breaches told already, by job and the time of its newest snapshot: each is told once.
static TOLD: std::sync::Mutex<Vec<(String, Option<i64>)>> = std::sync::Mutex::new(Vec::new());

/// Tells the configured webhook and command (`[notify]`) of every job past its RPO, and of
/// every sign of storage rolled back, not told yet: at start-up and after each job.
fn tell_breaches(g: &GlobalOpts, c: &Config, repo: &engine::Repo) {
    let targets = crate::notify::targets(g);
    if !targets.any() {
        return;
    }
    let s = match engine::ops::status::status(repo, Some(c), Utc::now()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("status for notifications: {e}");
            return;
        }
    };
    for j in &s.jobs {
        let key = (j.job.clone(), j.last_success.map(|t| t.timestamp()));
        let past = matches!((j.age_secs, j.rpo_secs), (Some(a), Some(r)) if a > r);
        if !past || TOLD.lock().unwrap().contains(&key) {
            continue;
        }
        let mut ev = crate::notify::event("rpo_breach", "status", "breach", Some(&j.reason));
        ev["job"] = j.job.clone().into();
        ev["age_secs"] = j.age_secs.into();
        ev["rpo_secs"] = j.rpo_secs.into();
        ev["last_success"] = j.last_success.as_ref().map(crate::output::json_time).into();
        tracing::warn!("job {}: past its RPO: {}", j.job, j.reason);
        // Told when delivered: an outage of the receiver must not lose the alert.
        if crate::notify::send(&targets, &ev) {
            TOLD.lock().unwrap().push(key);
        }
    }
    // Storage rolled back (what every command warns of): told once each.
    let found = engine::ops::audit::watch(&repo.audit_store()).unwrap_or_default();
    for w in found {
        let key = (w.clone(), None);
        if TOLD.lock().unwrap().contains(&key) {
            continue;
        }
        let ev = crate::notify::event("storage_rolled_back", "status", "breach", Some(&w));
        if crate::notify::send(&targets, &ev) {
            TOLD.lock().unwrap().push(key);
        }
    }
}

fn merge_snapshots(g: &GlobalOpts, c: &Config, h: &mut History) -> Result<()> {
    let repo = common::open_configured(g, c)?;
    tell_breaches(g, c, &repo);
    let host = engine::host::hostname();
    for s in repo.snapshots()? {
        if s.snap.host != host {
            continue;
        }
        if let Some(j) = s.snap.job.as_deref().filter(|j| c.jobs.contains_key(*j)) {
            h.ran(j, s.snap.time);
        }
    }
    Ok(())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let path = common::config_path(g);
    let path = path
        .canonicalize()
        .with_context(|| format!("the configuration {}", path.display()))?;
    let g = GlobalOpts {
        config: Some(path.clone()),
        ..g.clone()
    };
    let mut c = common::load_config(&g)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&a.state_dir)
        .with_context(|| format!("creating {}", a.state_dir.display()))?;
    let (lock_path, history_path) = state_files(&a.state_dir, &path);
    let _lock = take_lock(&lock_path, &path)?;

    let (tx, rx) = mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::spawn(move || {
        for s in signals.forever() {
            let m = if s == SIGHUP {
                Signal::Reload
            } else {
                // The running job stops at its next checkpoint.
                common::cancel_token().cancel();
                Signal::Stop(s)
            };
            if tx.send(m).is_err() {
                return;
            }
        }
    });

    serve_metrics(&g, &c, &a.metrics_listen);
    let mut history = load_history(&history_path);
    if let Err(e) = merge_snapshots(&g, &c, &mut history) {
        tracing::warn!("could not read the repository's snapshots: {e:#}");
    }
    history.settle(&c, Utc::now());
    save_history(&history_path, &history);
    tracing::info!(
        "vcd daemon {} started: {} job(s) of {}; lock {}",
        std::process::id(),
        scheduler::scheduled(&c).len(),
        path.display(),
        lock_path.display()
    );

    let mut stop = None;
    let mut reload = false;
    'daemon: loop {
        if reload {
            reload = false;
            c = reloaded(&g, c);
            history.settle(&c, Utc::now());
            save_history(&history_path, &history);
        }
        for d in scheduler::due(&c, &history, Utc::now()) {
            // A stop that came in meanwhile (during start-up, or the job before) is not a
            // reason to start one more.
            while let Ok(s) = rx.try_recv() {
                match s {
                    Signal::Stop(n) => stop = Some(n),
                    Signal::Reload => reload = true,
                }
            }
            if stop.is_some() || common::cancel_token().is_cancelled() {
                break 'daemon;
            }
            if reload {
                continue 'daemon;
            }
            if d.missed > 1 {
                tracing::info!(
                    "job {}: {} runs missed since {}; running it once",
                    d.job,
                    d.missed,
                    d.since.format("%Y-%m-%d %H:%M UTC")
                );
            }
            let started = Utc::now();
            // An interrupted run is not a run: the next daemon catches it up. A failed one
            // is (it would fail again at once), and its error is in the log.
            if run_job(&g, &c, &d.job, started) {
                history.ran(&d.job, started);
                save_history(&history_path, &history);
            }
        }
        if stop.is_some() || common::cancel_token().is_cancelled() {
            break;
        }
        let now = Utc::now();
        let sleep = scheduler::next_wake(&c, &history, now)
            .map(|t| (t - now).to_std().unwrap_or_default())
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP);
        match rx.recv_timeout(sleep) {
            Ok(Signal::Stop(n)) => {
                stop = Some(n);
                break;
            }
            Ok(Signal::Reload) => reload = true,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the signal thread ended"),
        }
    }
    // The signal thread cancels before it sends: a stop seen through the token has its
    // message on the way.
    while stop.is_none() {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Signal::Stop(n)) => stop = Some(n),
            Ok(Signal::Reload) => {}
            Err(_) => break,
        }
    }
    tracing::info!(
        "vcd daemon {} stopping (signal {})",
        std::process::id(),
        stop.unwrap_or(0)
    );
    Ok(())
}

/// The configuration read again, or `old` when the new one has errors (each logged with its
/// line and column).
fn reloaded(g: &GlobalOpts, old: Config) -> Config {
    let path = common::config_path(g);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(
                "reload: reading {}: {e}; keeping the configuration in use",
                path.display()
            );
            return old;
        }
    };
    let (c, d) = engine::policy::config::check(&text);
    for x in &d {
        let msg = format!("{}:{}:{}: {}", path.display(), x.line, x.column, x.message);
        match x.severity {
            engine::policy::config::Severity::Error => tracing::error!("reload: {msg}"),
            engine::policy::config::Severity::Warning => tracing::warn!("reload: {msg}"),
        }
    }
    match c {
        Some(c) => {
            tracing::info!(
                "reload: configuration {} loaded: {} job(s)",
                path.display(),
                scheduler::scheduled(&c).len()
            );
            c
        }
        None => {
            tracing::error!(
                "reload: {} has errors; keeping the configuration in use",
                path.display()
            );
            old
        }
    }
}

/// Runs one job and logs its outcome; a failure is logged, never ends the daemon. False when
/// the job was interrupted by a stop.
fn run_job(g: &GlobalOpts, c: &Config, name: &str, started: chrono::DateTime<Utc>) -> bool {
    tracing::info!("job {name}: started");
    let t = std::time::Instant::now();
    let mut opened = None;
    let result = common::open_configured(g, c).and_then(|repo| {
        let opts = RunOptions {
            time: Some(started),
            host: None,
            cancel: common::cancel_token().clone(),
            release_memory: Some(crate::sys::release_memory),
        };
        let r = job::run(&repo, c, name, &opts, &Progress::default());
        opened = Some(repo);
        Ok(r?)
    });
    let secs = t.elapsed().as_secs_f64();
    record_job(g, name, &result);
    // After the job's entry: it explains the snapshots its retention removed.
    if let Some(repo) = &opened {
        tell_breaches(g, c, repo);
    }
    match result {
        Ok(r) => {
            if let JobReport::Backup { backup, .. } = &r {
                let s = &backup.snapshot.summary;
                tracing::info!(
                    "job {name}: {} snapshot {}: {} new, {} changed, {} unchanged ({} read again) files; {} bytes added",
                    format!("{:?}", backup.snapshot.kind).to_lowercase(),
                    backup.id.map(|i| i.short()).unwrap_or_default(),
                    s.files_new,
                    s.files_changed,
                    s.files_unchanged,
                    s.files_reread,
                    s.bytes_added
                );
            }
            for l in crate::commands::run::step_lines(&r) {
                tracing::info!("job {name}: {l}");
            }
            match crate::commands::run::outcome(&r) {
                Ok(()) => tracing::info!("job {name}: done in {secs:.1}s"),
                Err(e) => tracing::error!("job {name}: failed after {secs:.1}s: {e:#}"),
            }
        }
        Err(e) if crate::exit_code(&e) == 130 => {
            tracing::warn!(
                "job {name}: interrupted after {secs:.1}s by the stop; the repository is valid \
                 and the next run reuses the data this one stored"
            );
            return false;
        }
        Err(e) => tracing::error!(
            "job {name}: failed after {secs:.1}s: {}",
            crate::message(&e)
        ),
    }
    true
}

/// The job's entry in the audit trail (as `vcd run NAME` would write it): the daemon stays up
/// across jobs, so each gets its own when it ends.
fn record_job(g: &GlobalOpts, name: &str, result: &Result<JobReport>) {
    use engine::format::audit::Outcome;
    // None when the repository could not be opened: the failure is still told.
    let (store, details) = common::take_audit().unzip();
    let mut details = details.unwrap_or_default();
    details.insert("job".into(), name.into());
    let of = |e: &anyhow::Error| (crate::outcome_of(e), Some(crate::message(e)));
    let (outcome, error) = match result {
        Ok(r) => {
            if let JobReport::Backup { backup, forget, .. } = r {
                if let Some(id) = backup.id {
                    details.insert("snapshot".into(), id.to_hex().into());
                }
                if let Some(Ok(f)) = forget {
                    let removed: Vec<String> = f.removed.iter().map(|i| i.to_hex()).collect();
                    details.insert("removed".into(), removed.into());
                }
            }
            match crate::commands::run::outcome(r) {
                Ok(()) => (Outcome::Ok, None),
                Err(e) => of(&e),
            }
        }
        Err(e) => of(e),
    };
    if outcome != Outcome::Ok {
        let targets = crate::notify::targets(g);
        if targets.any() {
            let mut ev = crate::notify::event("failure", "run", outcome.as_str(), error.as_deref());
            ev["job"] = name.into();
            crate::notify::send(&targets, &ev);
        }
    }
    let Some(store) = store else { return };
    let op = engine::ops::audit::Op {
        op: "run".into(),
        args: vec!["daemon".into(), "run".into(), name.into()],
        outcome,
        error,
        details,
    };
    if let Err(e) = engine::ops::audit::append(&store, &op) {
        tracing::warn!("job {name}: the audit trail could not be written: {e}");
    }
}
