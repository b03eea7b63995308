//! `vcd`: the command-line front end. Parses flags, finds the repository and password, calls
//! one engine function per subcommand, and shows progress and results. Exit codes (README):
//! 0 ok, 1 error, 3 backup incomplete, 10 no repository, 11 locked, 12 wrong password,
//! 130 interrupted.

#![deny(unsafe_code)]

mod choose;
mod commands;
mod common;
mod metrics;
mod notify;
mod output;
#[allow(unsafe_code)]
mod sys;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use common::GlobalOpts;

#[derive(Parser)]
#[command(
    name = "vcd",
    version,
    about = "Deduplicating, encrypted backups with point-in-time restore"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a repository
    Init(commands::init::Args),
    /// Back up files and directories
    Backup(commands::backup::Args),
    /// List snapshots
    Snapshots(commands::snapshots::Args),
    /// List the files in a snapshot
    Ls(commands::ls::Args),
    /// Show what changed between two snapshots
    Diff(commands::diff::Args),
    /// Repository size, deduplication and compression
    Stats(commands::stats::Args),
    /// Print a repository object (for debugging)
    Cat(commands::cat::Args),
    /// Remove snapshots by id or by a retention policy (their data stays until a prune)
    Forget(Box<commands::forget::Args>),
    /// Restore a snapshot
    Restore(commands::restore::Args),
    /// List the restorations (every restore is recorded), or show one
    Restores(commands::restores::Args),
    /// Compare a restoration's target with its snapshot and record the result
    VerifyRestore(commands::verify_restore::Args),
    /// Put a restoration's target back as it was before the restore
    Rollback(commands::rollback::Args),
    /// Restore a scenario's data (or a sample) into a scratch directory, verify it, remove
    /// it, and estimate the whole restore's duration against the RTO
    Drill(commands::drill::Args),
    /// Verify the repository
    Check(commands::check::Args),
    /// Copy snapshots from another repository into this one (only the data this one lacks)
    Copy(commands::copy::Args),
    /// The audit trail: every operation on the repository; --verify checks it
    Audit(commands::audit::Args),
    /// Every job against its RPO, every scenario against its RTO, the repository, the last
    /// check (exit 0 ok, 1 warning, 2 breach)
    Status(commands::status::Args),
    /// Repair repository structures
    Repair(commands::repair::Args),
    /// Delete data no snapshot uses (beside running backups)
    Prune(commands::prune::Args),
    /// Manage the keys (passwords) that open the repository
    Key(commands::key::Args),
    /// Remove stale locks
    Unlock(commands::unlock::Args),
    /// Mount the snapshots read-only with FUSE
    Mount(commands::mount::Args),
    /// Write, check or show the configuration file (categories, jobs, schedules, scenarios)
    Config(commands::config::Args),
    /// Run one configured job now (backup, retention, chained maintenance)
    Run(commands::run::Args),
    /// List the next runs of every configured job; install the systemd unit
    Schedule(commands::schedule::Args),
    /// Run the configured jobs at their scheduled times (SIGHUP reloads, SIGTERM stops)
    Daemon(commands::daemon::Args),
    /// Print a shell completion script
    Completions(commands::dist::CompletionsArgs),
    /// Print or write the manual pages
    Man(commands::dist::ManArgs),
}

/// Exit code for an error: the engine's kind if the error came from the engine.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    use engine::ErrorKind::*;
    for cause in e.chain() {
        if let Some(ee) = cause.downcast_ref::<engine::Error>() {
            return match ee.kind() {
                RepoNotFound => 10,
                Locked => 11,
                WrongPassword => 12,
                Interrupted => 130,
                Other => 1,
            };
        }
        if let Some(common::Incomplete) = cause.downcast_ref::<common::Incomplete>() {
            return 3;
        }
        if let Some(common::StatusLevel(c)) = cause.downcast_ref::<common::StatusLevel>() {
            return *c;
        }
    }
    1
}

/// The error and its causes joined by ": ", as `{:#}` would, but without repeating a cause
/// whose text the message already ends with (engine errors quote their source themselves).
fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        // A storage error's own text often repeats its source's (the S3 server's message).
        if msg.contains(&s) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s);
    }
    msg
}

/// Appends the ended command's entry to the audit trail of the repository it opened (none:
/// nothing to record). A trail that cannot be written is reported, never the command's
/// failure: the operation itself is done.
fn audit(op: &str, r: &anyhow::Result<()>) {
    use engine::format::audit::Outcome;
    let Some((store, details)) = common::take_audit() else {
        return;
    };
    let (outcome, error) = match r {
        Ok(()) => (Outcome::Ok, None),
        Err(e) if e.chain().any(|c| c.is::<common::StdoutClosed>()) => (Outcome::Ok, None),
        Err(e) => (outcome_of(e), Some(message(e))),
    };
    let entry = engine::ops::audit::Op {
        op: op.to_string(),
        args: common::audit_args(),
        outcome,
        error,
        details,
    };
    if let Err(e) = engine::ops::audit::append(&store, &entry) {
        eprintln!("vcd: warning: the audit trail could not be written: {e}");
    }
}

/// Tells the configured webhook and command (`--notify-url`, `--notify-command`, `[notify]`)
/// that a command a monitor cares about did not end well: a backup, a job, a check that found
/// damage, a restore or its verification, a drill, a rollback, a forget or prune.
fn notify_failure(g: &GlobalOpts, op: &str, r: &anyhow::Result<()>) {
    const WATCHED: [&str; 9] = [
        "backup",
        "run",
        "check",
        "restore",
        "verify-restore",
        "drill",
        "rollback",
        "forget",
        "prune",
    ];
    let Err(e) = r else { return };
    if !WATCHED.contains(&op) || e.chain().any(|c| c.is::<common::StdoutClosed>()) {
        return;
    }
    let targets = notify::targets(g);
    if !targets.any() {
        return;
    }
    notify::send(
        &targets,
        &notify::event("failure", op, outcome_of(e).as_str(), Some(&message(e))),
    );
}

/// How a command that returned `e` ended, as the audit trail and notifications say it.
pub(crate) fn outcome_of(e: &anyhow::Error) -> engine::format::audit::Outcome {
    use engine::format::audit::Outcome;
    match exit_code(e) {
        3 => Outcome::Incomplete,
        130 => Outcome::Interrupted,
        _ => Outcome::Failed,
    }
}

fn main() -> ExitCode {
    common::unset_empty_env();
    sys::tune_allocator();
    sys::raise_nofile_limit();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `key add`, `restores show`: the operation as the audit trail names it.
    let op = match matches.subcommand() {
        Some((name, sub)) => match sub.subcommand_name() {
            Some(inner) => format!("{name} {inner}"),
            None => name.to_string(),
        },
        None => String::new(),
    };
    let daemon = matches!(cli.cmd, Command::Daemon(_));
    common::init_logging(&cli.global, daemon);
    // The daemon handles its signals itself: SIGHUP reloads it instead of stopping it.
    if !daemon {
        common::install_signal_handler();
    }
    let r = match cli.cmd {
        Command::Init(a) => commands::init::run(&cli.global, a),
        Command::Backup(a) => commands::backup::run(&cli.global, a),
        Command::Snapshots(a) => commands::snapshots::run(&cli.global, a),
        Command::Ls(a) => commands::ls::run(&cli.global, a),
        Command::Diff(a) => commands::diff::run(&cli.global, a),
        Command::Stats(a) => commands::stats::run(&cli.global, a),
        Command::Cat(a) => commands::cat::run(&cli.global, a),
        Command::Forget(a) => commands::forget::run(&cli.global, *a),
        Command::Restore(a) => commands::restore::run(&cli.global, a),
        Command::Restores(a) => commands::restores::run(&cli.global, a),
        Command::VerifyRestore(a) => commands::verify_restore::run(&cli.global, a),
        Command::Rollback(a) => commands::rollback::run(&cli.global, a),
        Command::Drill(a) => commands::drill::run(&cli.global, a),
        Command::Check(a) => commands::check::run(&cli.global, a),
        Command::Copy(a) => commands::copy::run(&cli.global, a),
        Command::Audit(a) => commands::audit::run(&cli.global, a),
        Command::Status(a) => commands::status::run(&cli.global, a),
        Command::Repair(a) => commands::repair::run(&cli.global, a),
        Command::Prune(a) => commands::prune::run(&cli.global, a),
        Command::Key(a) => commands::key::run(&cli.global, a),
        Command::Unlock(a) => commands::unlock::run(&cli.global, a),
        Command::Mount(a) => commands::mount::run(&cli.global, a),
        Command::Config(a) => commands::config::run(&cli.global, a),
        Command::Run(a) => commands::run::run(&cli.global, a),
        Command::Schedule(a) => commands::schedule::run(&cli.global, a),
        Command::Daemon(a) => commands::daemon::run(&cli.global, a),
        Command::Completions(a) => commands::dist::completions(Cli::command(), a),
        Command::Man(a) => commands::dist::man(Cli::command(), a),
    };
    // Output still buffered (a line without its newline) is written now, while its error can
    // still change the exit code; every lock was released when the command returned.
    let r = r.and_then(|()| {
        use std::io::Write;
        std::io::stdout().flush().map_err(common::stdout_error)
    });
    audit(&op, &r);
    notify_failure(&cli.global, &op, &r);
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(|c| c.is::<common::StdoutClosed>()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            // The summary said it: a backup's missing sources, a status's level.
            if code != 3 && !e.chain().any(|c| c.is::<common::StatusLevel>()) {
                eprintln!("vcd: error: {}", output::esc(&message(&e)));
            }
            ExitCode::from(code)
        }
    }
}
