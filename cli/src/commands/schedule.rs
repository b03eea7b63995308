//! `vcd schedule`: the next runs of every configured job (so a user can see that the monthly
//! job runs on the first Sunday), and `vcd schedule install --systemd`, which writes the unit
//! that runs `vcd daemon` under systemd.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use engine::policy::scheduler;

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::{esc, json_time, table};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Print the runs as JSON
    #[arg(long)]
    json: bool,
    /// List runs after this time instead of now (RFC 3339 or "YYYY-MM-DD HH:MM", local)
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// How many runs of each job
    #[arg(long, default_value_t = 5, value_name = "N")]
    count: usize,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Write the service that runs `vcd daemon` with this configuration
    Install {
        /// A systemd unit, vcd.service
        #[arg(long, required = true)]
        systemd: bool,
        /// Where to write it
        #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
        dir: PathBuf,
        /// Replace a unit that exists
        #[arg(long)]
        force: bool,
    },
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    if let Some(Cmd::Install { dir, force, .. }) = a.cmd {
        return install(g, &dir, force);
    }
    let c = common::load_config(g)?;
    let from = match &a.from {
        Some(t) => common::parse_time(t)?,
        None => Utc::now(),
    };
    let runs = scheduler::upcoming(&c, from, a.count);
    let what = |job: &str| -> (String, String) {
        match (c.jobs.get(job), c.maintenance.get(job)) {
            (Some(j), _) => (
                format!("{:?}", j.kind).to_lowercase(),
                j.categories.join(","),
            ),
            (None, Some(m)) => (format!("{:?}", m.task).to_lowercase(), String::new()),
            (None, None) => (String::new(), String::new()),
        }
    };
    if a.json {
        let v: Vec<serde_json::Value> = runs
            .iter()
            .map(|(job, t)| {
                let (kind, cats) = what(job);
                serde_json::json!({
                    "job": job,
                    "time": json_time(t),
                    "type": kind,
                    "categories": if cats.is_empty() { vec![] } else { cats.split(',').collect::<Vec<_>>() },
                })
            })
            .collect();
        return out!("{}", serde_json::to_string_pretty(&v)?);
    }
    // Seconds only for six-field schedules that use them.
    let format = if runs.iter().any(|(_, t)| t.timestamp() % 60 != 0) {
        "%Y-%m-%d %H:%M:%S UTC"
    } else {
        "%Y-%m-%d %H:%M UTC"
    };
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|(job, t)| {
            let (kind, cats) = what(job);
            vec![
                t.format(format).to_string(),
                t.format("%a").to_string(),
                esc(job).into_owned(),
                kind,
                esc(&cats).into_owned(),
            ]
        })
        .collect();
    for l in table(
        &["time", "day", "job", "type", "categories"],
        &[false; 5],
        &rows,
    ) {
        out!("{l}")?;
    }
    Ok(())
}

/// A path as one argument of a unit's command line: `%` and `$` doubled (systemd expands
/// specifiers and variables),
/// quoted when it holds a space, a quote or a backslash. A control character (a newline would
/// start a unit line of its own) is refused.
fn unit_arg(p: &Path) -> Result<String> {
    let s = p
        .to_str()
        .with_context(|| format!("{}: not UTF-8", p.display()))?;
    if s.chars().any(char::is_control) {
        bail!("{s:?}: a control character in a path a unit file would run");
    }
    let s = s.replace('%', "%%").replace('$', "$$");
    if s.contains([' ', '\t', '"', '\'', '\\']) {
        Ok(format!(
            "\"{}\"",
            s.replace('\\', "\\\\").replace('"', "\\\"")
        ))
    } else {
        Ok(s)
    }
}

/// The unit: the daemon with this configuration (an absolute path), reloaded by SIGHUP and
/// stopped by SIGTERM, its state under /var/lib (StateDirectory).
pub fn unit(exe: &Path, config: &Path) -> Result<String> {
    let (exe, config) = (unit_arg(exe)?, unit_arg(config)?);
    Ok(format!(
        "[Unit]
Description=vcd backup daemon: runs the jobs of {config}
Documentation=man:vcd(1) man:vcd-daemon(1)
After=local-fs.target network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStartPre={exe} --config {config} config check
ExecStart={exe} --config {config} daemon --state-dir /var/lib/vcd-daemon
ExecReload=/bin/kill -HUP $MAINPID
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=10min
Restart=on-failure
RestartSec=30s
StateDirectory=vcd-daemon
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7

[Install]
WantedBy=multi-user.target
"
    ))
}

fn install(g: &GlobalOpts, dir: &Path, force: bool) -> Result<()> {
    let config = common::config_path(g);
    let config = std::path::absolute(&config)?;
    if !config.exists() {
        bail!(
            "no configuration at {} (write one with `vcd config init`)",
            config.display()
        );
    }
    let exe = std::env::current_exe().context("finding the vcd executable")?;
    let path = dir.join("vcd.service");
    if path.exists() && !force {
        bail!("{} exists (--force replaces it)", path.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut t = tempfile::NamedTempFile::new_in(dir)?;
    t.write_all(unit(&exe, &config)?.as_bytes())?;
    t.as_file().sync_all()?;
    let mut perms = t.as_file().metadata()?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    t.as_file().set_permissions(perms)?;
    t.persist(&path).map_err(|e| e.error)?;
    out!(
        "wrote {}; start it with: systemctl daemon-reload && systemctl enable --now vcd",
        path.display()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_arguments_survive_spaces_specifiers_variables_and_refuse_newlines() {
        let a = |s: &str| unit_arg(Path::new(s));
        assert_eq!(a("/etc/vcd/vcd.toml").unwrap(), "/etc/vcd/vcd.toml");
        assert_eq!(a("/srv/my conf/v.toml").unwrap(), "\"/srv/my conf/v.toml\"");
        assert_eq!(a("/srv/100%/$HOME").unwrap(), "/srv/100%%/$$HOME");
        assert_eq!(a("/a\"b").unwrap(), "\"/a\\\"b\"");
        assert!(a("/a\nExecStartPost=/bin/evil").is_err());
    }
}
