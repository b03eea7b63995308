//! What every subcommand shares: global flags, finding the repository and the password, opening
//! the repository, logging and the interrupt handler.

use engine::ops::audit::Watch;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use anyhow::{bail, Context, Result};
use clap::Args;
use engine::repo::lock::LockRegistry;
use engine::{CancelToken, Repo};

#[derive(Args, Debug, Clone)]
pub struct GlobalOpts {
    /// Repository: PATH, local:PATH, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3://BUCKET[/PREFIX],
    /// or sftp:[USER@]HOST:PATH
    #[arg(
        short = 'r',
        long,
        global = true,
        env = "VCD_REPOSITORY",
        value_name = "URL"
    )]
    pub repo: Option<PathBuf>,
    /// The configuration file: categories, jobs, schedules (default: /etc/vcd/vcd.toml)
    #[arg(long, global = true, env = "VCD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read the password from a file (first line)
    #[arg(long, global = true, env = "VCD_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Directory for the local index cache (default: $XDG_CACHE_HOME/vcd or ~/.cache/vcd)
    #[arg(long, global = true, env = "VCD_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Keep no local index: build a temporary one from the repository each run
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Print only errors and results
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail on stderr (-v, -vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Take no lock (read commands only, for read-only storage): nothing then stops a
    /// concurrent prune or repair from deleting what this command reads
    #[arg(long, global = true)]
    pub no_lock: bool,
    /// POST a JSON event to this URL when the command fails (instead of the configuration's
    /// [notify] url)
    #[arg(long, global = true, env = "VCD_NOTIFY_URL", value_name = "URL")]
    pub notify_url: Option<String>,
    /// Run this shell command with the event on stdin (and as VCD_* variables) when the
    /// command fails (instead of the configuration's [notify] command)
    #[arg(long, global = true, env = "VCD_NOTIFY_COMMAND", value_name = "CMD")]
    pub notify_command: Option<String>,
}

/// The shared lock a read command holds while it runs (FORMAT.md §10), or none with
/// `--no-lock`: on read-only storage no lock file can be written, and nothing deletes there.
pub fn read_lock(g: &GlobalOpts, repo: &Repo) -> Result<Option<engine::repo::lock::LockGuard>> {
    if g.no_lock {
        return Ok(None);
    }
    match engine::repo::lock::acquire(repo, false) {
        Ok(l) => Ok(Some(l)),
        Err(e) if cannot_write(&e) => Err(anyhow::Error::new(e).context(
            "taking a shared lock (on read-only storage, commands that only read run with --no-lock)",
        )),
        Err(e) => Err(e.into()),
    }
}

/// True when storage refused a write as read-only or not permitted.
fn cannot_write(e: &engine::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(e, engine::Error::Backend { source, .. }
        if matches!(source.io().kind(), K::ReadOnlyFilesystem | K::PermissionDenied))
}

/// Commands that write cannot skip their lock: a writer racing a repair or prune could store
/// data that names packs being deleted.
pub fn refuse_no_lock(g: &GlobalOpts, command: &str) -> Result<()> {
    if g.no_lock {
        bail!("--no-lock is for commands that only read; `{command}` writes to the repository");
    }
    Ok(())
}

/// The backup finished but skipped some sources: exit code 3.
#[derive(Debug)]
pub struct Incomplete;

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("some source files could not be read")
    }
}

impl std::error::Error for Incomplete {}

/// `vcd status` found a warning (exit 1) or a breach (exit 2), as a Nagios check says it.
#[derive(Debug)]
pub struct StatusLevel(pub u8);

impl std::fmt::Display for StatusLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0 >= 2 { "breach" } else { "warning" })
    }
}

impl std::error::Error for StatusLevel {}

/// Logging to stderr. The daemon logs at info by default, one line per event with its time,
/// or, under systemd (which sets JOURNAL_STREAM), with the `<N>` priority prefix journald
/// reads instead of a time of its own (journald stamps each line).
pub fn init_logging(g: &GlobalOpts, daemon: bool) {
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) if daemon => "info",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VCD_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            // The TLS verifier and the AWS signer log what vcd's own error then says.
            "{level},sled=warn,fuser=error,rustls_platform_verifier=off,reqsign_core=error"
        ))
    });
    let b = tracing_subscriber::fmt()
        .fmt_fields(crate::output::log_fields())
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !daemon)
        .with_target(false)
        .with_level(true);
    if daemon && std::env::var_os("JOURNAL_STREAM").is_some() {
        b.event_format(crate::output::Journald).init();
    } else if daemon {
        b.init();
    } else {
        b.without_time().init();
    }
}

/// The process's cancellation: the signal handler cancels it, every operation's options carry
/// a clone. Process-wide on purpose: signals are.
pub fn cancel_token() -> &'static CancelToken {
    static TOKEN: OnceLock<CancelToken> = OnceLock::new();
    TOKEN.get_or_init(CancelToken::new)
}

/// Lock registries of the repositories this process opened, for the second signal.
static REGISTRIES: Mutex<Vec<Weak<LockRegistry>>> = Mutex::new(Vec::new());

/// The audit trail of the repository this command opened, and what the command adds to its
/// entry: `main` appends the entry when the command has ended, however it ended.
static AUDIT: Mutex<Option<(engine::repo::audit::AuditStore, Option<Watch>)>> = Mutex::new(None);
static AUDIT_DETAILS: Mutex<std::collections::BTreeMap<String, serde_json::Value>> =
    Mutex::new(std::collections::BTreeMap::new());

/// Says on stderr what this host remembers and the repository no longer shows (snapshots gone
/// without a forget, newest audit entries gone): a storage rolled back or tampered with. Every
/// command that opens the repository says it, until it is explained.
fn say_watched(found: engine::Result<Vec<String>>) {
    match found {
        Ok(found) => {
            for w in found {
                eprintln!("vcd: warning: {}", crate::output::esc(&w));
            }
        }
        Err(e) => tracing::warn!("checking the audit trail: {e}"),
    }
}

/// Ends the watch begun when the command opened the repository (see `open_with`).
pub fn end_watch(store: &engine::repo::audit::AuditStore, w: Option<Watch>) {
    if let Some(w) = w {
        say_watched(engine::ops::audit::watch_end(store, w));
    }
}

thread_local! {
    /// Set on a thread whose openings are not operations (the daemon's metrics scrapes): they
    /// must not take the place of the running job's trail.
    static UNAUDITED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Openings on this thread are not recorded on the audit trail.
pub fn unaudited_thread() {
    UNAUDITED.with(|u| u.set(true));
}

/// Records `store` as the trail the command's entry goes to (read-only storage has none),
/// and begins the watch of what this host saw (`audit::watch`). It ends with the command,
/// reusing the listings the command made (on remote storage, two requests fewer), or at once
/// for an opening that is not an operation.
pub fn audit_to(g: &GlobalOpts, store: engine::repo::audit::AuditStore) {
    let watch = engine::ops::audit::watch_begin(&store);
    if !g.no_lock && !UNAUDITED.with(|u| u.get()) {
        // A second repository opened (copy's source): the first one's watch ends now.
        if let Some((s, w)) = AUDIT.lock().unwrap().replace((store, watch)) {
            end_watch(&s, w);
        }
    } else if let Some(w) = watch {
        say_watched(engine::ops::audit::watch_end(&store, w));
    }
}

/// Adds `key: value` to the command's audit entry (the snapshot it made, what it removed).
pub fn audit_detail(key: &str, value: serde_json::Value) {
    AUDIT_DETAILS.lock().unwrap().insert(key.to_string(), value);
}

/// The trail to record the ended command in, and its details (taken: once).
/// The watch begun at the opening ends here, before the entry is written.
pub fn take_audit() -> Option<(
    engine::repo::audit::AuditStore,
    std::collections::BTreeMap<String, serde_json::Value>,
)> {
    let (store, watch) = AUDIT.lock().unwrap().take()?;
    end_watch(&store, watch);
    Some((store, std::mem::take(&mut *AUDIT_DETAILS.lock().unwrap())))
}

/// The command line as an audit entry keeps it: the values of options that may carry a
/// secret are replaced, and so are credentials in URLs.
pub fn audit_args() -> Vec<String> {
    const SECRET: [&str; 4] = [
        "--password-command",
        "--from-password-command",
        "--notify-url",
        "--notify-command",
    ];
    let mut out = Vec::new();
    let mut hide = false;
    for a in std::env::args_os().skip(1) {
        let a = a.to_string_lossy().into_owned();
        if hide {
            out.push("***".into());
            hide = false;
            continue;
        }
        if let Some(flag) = SECRET
            .iter()
            .find(|f| a == **f || a.starts_with(&format!("{f}=")))
        {
            hide = a == *flag;
            out.push(if hide { a } else { format!("{flag}=***") });
            continue;
        }
        out.push(match a.find("://") {
            Some(i) => {
                // The credentials end at the authority's last `@` (a password may hold one).
                let rest = &a[i + 3..];
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                match rest[..end].rfind('@') {
                    Some(j) => format!("{}***{}", &a[..i + 3], &rest[j..]),
                    None => a,
                }
            }
            None => a,
        });
    }
    out
}

/// First Ctrl-C / SIGTERM: ask the engine to stop at its next checkpoint (it then unwinds,
/// dropping locks). Second: remove locks and exit at once. Either way the repository stays
/// valid: every file it holds was written atomically, and the snapshot is written last.
pub fn install_signal_handler() {
    let mut count = 0;
    let _ = ctrlc::set_handler(move || {
        count += 1;
        cancel_token().cancel();
        if count > 1 {
            for r in REGISTRIES.lock().unwrap().iter().filter_map(Weak::upgrade) {
                r.release_all();
            }
            std::process::exit(130);
        }
    });
}

/// The variables vcd reads. Empty counts as unset: `VCD_PASSWORD_FILE=` in a script whose
/// variable was empty is a clap error otherwise, and an empty `VCD_PASSWORD` would become an
/// empty password (and `init` would make a repository that opens with none).
const ENV_VARS: [&str; 6] = [
    "VCD_REPOSITORY",
    "VCD_PASSWORD_FILE",
    "VCD_PASSWORD",
    "VCD_PASSWORD_COMMAND",
    "VCD_NEW_PASSWORD",
    "VCD_CACHE_DIR",
];

/// Removes the empty ones of `ENV_VARS` from the environment. Call first in `main`, while the
/// process has one thread (changing the environment races with other threads reading it).
pub fn unset_empty_env() {
    for v in ENV_VARS {
        if std::env::var_os(v).is_some_and(|x| x.is_empty()) {
            std::env::remove_var(v);
        }
    }
}

pub fn repo_path(g: &GlobalOpts) -> Result<PathBuf> {
    match &g.repo {
        Some(p) => Ok(p.clone()),
        None => bail!(
            "no repository given: use --repo URL, set VCD_REPOSITORY, or name it in the \
             configuration file (--config FILE, default /etc/vcd/vcd.toml)"
        ),
    }
}

/// Where the repository is, parsed: an unknown or misspelt scheme is refused here, before
/// anything is created.
pub fn location(g: &GlobalOpts) -> Result<engine::backend::Location> {
    Ok(engine::backend::url::parse(repo_path(g)?.as_os_str())?)
}

/// How to reach remote storage: what AWS tools read from the environment (credentials,
/// `AWS_PROFILE`, the region, `AWS_CA_BUNDLE`), and vcd's own `VCD_S3_ADDRESSING` and
/// `VCD_SSH_CONFIG`.
pub fn backend_options(loc: &engine::backend::Location) -> Result<engine::backend::Options> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut o = engine::backend::Options::default();
    o.s3.region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"));
    o.s3.ca_file = env("AWS_CA_BUNDLE").map(PathBuf::from);
    // Path style by default where an endpoint is named (what self-hosted servers expect);
    // AWS itself, reached by s3://BUCKET, prefers the bucket in the host name.
    let aws = matches!(loc, engine::backend::Location::S3(s) if s.endpoint.is_none());
    o.s3.virtual_host = match env("VCD_S3_ADDRESSING").as_deref() {
        None => aws,
        Some("path") => false,
        Some("virtual") => true,
        Some(other) => bail!("VCD_S3_ADDRESSING={other:?}: give path or virtual"),
    };
    // SFTP goes through the system's ssh: ~/.ssh/config unless VCD_SSH_CONFIG names another.
    o.sftp.ssh_config = env("VCD_SSH_CONFIG").map(PathBuf::from);
    Ok(o)
}

pub fn backend(g: &GlobalOpts) -> Result<engine::backend::DynBackend> {
    let loc = location(g)?;
    let opts = backend_options(&loc)?;
    Ok(engine::backend::open(&loc, &opts)?)
}

fn strip_newline(mut s: String) -> String {
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    s
}

/// The password, from (in order) --password-file / VCD_PASSWORD_FILE, VCD_PASSWORD,
/// VCD_PASSWORD_COMMAND, or a prompt when stdin is a terminal.
pub fn password(g: &GlobalOpts, confirm: bool) -> Result<String> {
    if let Some(f) = &g.password_file {
        let s = std::fs::read_to_string(f)
            .with_context(|| format!("reading password file {}", f.display()))?;
        return Ok(strip_newline(s.lines().next().unwrap_or("").to_string()));
    }
    if let Ok(p) = std::env::var("VCD_PASSWORD") {
        return Ok(p);
    }
    if let Ok(cmd) = std::env::var("VCD_PASSWORD_COMMAND") {
        return password_command(&cmd, "VCD_PASSWORD_COMMAND");
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("enter password for repository: ")?;
        if confirm {
            let q = rpassword::prompt_password("enter password again: ")?;
            if p != q {
                bail!("passwords do not match");
            }
        }
        return Ok(p);
    }
    bail!("no password given: use --password-file, VCD_PASSWORD_FILE, VCD_PASSWORD or VCD_PASSWORD_COMMAND")
}

/// Runs `cmd` with `sh -c` and takes its output's first line as the password.
pub fn password_command(cmd: &str, what: &str) -> Result<String> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!("{what} failed ({})", out.status);
    }
    let s = String::from_utf8(out.stdout).context("password is not UTF-8")?;
    Ok(strip_newline(s.lines().next().unwrap_or("").to_string()))
}

/// The configuration file's path: --config, VCD_CONFIG or the default.
pub fn config_path(g: &GlobalOpts) -> PathBuf {
    g.config
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::commands::config::DEFAULT_PATH))
}

/// The checked configuration; its errors are printed (file:line:column) and fail the call.
pub fn load_config(g: &GlobalOpts) -> Result<engine::policy::config::Config> {
    let path = config_path(g);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the configuration {}", path.display()))?;
    let (c, d) = engine::policy::config::check(&text);
    let errors: Vec<_> = d
        .iter()
        .filter(|x| x.severity == engine::policy::config::Severity::Error)
        .cloned()
        .collect();
    crate::commands::config::print_findings(&path, &errors);
    c.with_context(|| {
        format!(
            "{}: {} error(s) in the configuration",
            path.display(),
            errors.len()
        )
    })
}

/// A configuration whose `password_command` vcd runs must be as safe as a script it runs:
/// owned by this user (or root) and writable by no one else.
pub(crate) fn trusted_to_run(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    let me = nix::unistd::geteuid().as_raw();
    if (m.uid() != me && m.uid() != 0) || m.mode() & 0o022 != 0 {
        bail!(
            "{}: its password_command is not run: the file must be owned by you (or root) and \
             writable by no one else (chmod go-w)",
            path.display()
        );
    }
    Ok(())
}

/// Opens the configuration's repository. --repo and the password flags and variables, when
/// given, win over what the configuration says.
pub fn open_configured(g: &GlobalOpts, c: &engine::policy::config::Config) -> Result<Repo> {
    let mut g = g.clone();
    if g.repo.is_none() {
        match (&c.repository.path, &c.repository.url) {
            (Some(p), _) => g.repo = Some(PathBuf::from(p)),
            (None, Some(u)) => g.repo = Some(PathBuf::from(u)),
            (None, None) => {}
        }
    }
    let from_env = ["VCD_PASSWORD", "VCD_PASSWORD_COMMAND"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if g.password_file.is_none() && !from_env {
        if let Some(f) = &c.repository.password_file {
            g.password_file = Some(PathBuf::from(f));
        } else if let Some(cmd) = &c.repository.password_command {
            trusted_to_run(&config_path(&g))?;
            let pw = password_command(cmd, "the configuration's password_command")?;
            return open_with(&g, &pw);
        }
    }
    open(&g)
}

pub fn cache_dir(g: &GlobalOpts) -> Option<PathBuf> {
    if g.no_cache {
        return None;
    }
    if let Some(d) = &g.cache_dir {
        return Some(d.clone());
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("vcd"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("vcd"))
}

pub fn open(g: &GlobalOpts) -> Result<Repo> {
    // No repository named: the configuration's, when there is a configuration file.
    if g.repo.is_none() && config_path(g).exists() {
        return open_configured(g, &load_config(g)?);
    }
    let pw = password(g, false)?;
    open_with(g, &pw)
}

pub fn open_with(g: &GlobalOpts, pw: &str) -> Result<Repo> {
    let backend = backend(g)?;
    let cache = cache_dir(g);
    let repo = Repo::open(backend, pw.as_bytes(), cache.as_deref())?;
    audit_to(g, repo.audit_store());
    let mut regs = REGISTRIES.lock().unwrap();
    regs.retain(|w| w.strong_count() > 0);
    regs.push(Arc::downgrade(&repo.lock_registry()));
    Ok(repo)
}

/// Prints a line to stdout and evaluates to `anyhow::Result<()>`: a write error is returned
/// (and so unwinds through the command, dropping its locks) instead of ending the process.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {
        $crate::common::write_line(format_args!($($t)*))
    };
}

/// Standard output was closed by its reader (`vcd ls | head`): the command stops, and the
/// process ends quietly with exit 0.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Turns a write error on stdout into the command's error.
pub fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        anyhow::Error::new(e).context("writing to standard output")
    }
}

pub fn write_line(args: std::fmt::Arguments) -> Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_fmt(args)
        .and_then(|()| o.write_all(b"\n"))
        .map_err(stdout_error)
}

/// Writes raw bytes to stdout and flushes them, with `write_line`'s error handling.
pub fn write_raw(b: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(b)
        .and_then(|()| o.flush())
        .map_err(stdout_error)
}

pub fn human_bytes(b: u64) -> String {
    const U: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", U[i])
    }
}

/// A time as a user types it (engine::policy::when): RFC 3339, a local date and time, or
/// relative to now.
pub fn parse_when(s: &str) -> Result<engine::policy::when::When> {
    engine::policy::when::parse(s, chrono::Local::now()).map_err(anyhow::Error::msg)
}

pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(parse_when(s)?.utc)
}
