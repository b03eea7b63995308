//! `vcd config init|check|show`: writes the specification's policy as a commented default,
//! checks a configuration file (errors and RPO warnings with line and column), and prints the
//! effective configuration.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use engine::policy::config::{self, Diagnostic, Severity};

use crate::out;
use crate::output::esc;

/// Where the configuration is read from when neither --config nor VCD_CONFIG names a file.
pub const DEFAULT_PATH: &str = "/etc/vcd/vcd.toml";

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Write the specification's policy, commented, as a new configuration file
    Init {
        /// Where to write it (default: the configuration file)
        file: Option<PathBuf>,
        /// Replace a file that exists
        #[arg(long)]
        force: bool,
    },
    /// Check the configuration: errors and warnings with line and column, and whether each
    /// recovery scenario's RPO can be met (exit 1 on an error)
    Check {
        #[arg(long)]
        json: bool,
    },
    /// Print the effective configuration
    Show {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(g: &crate::common::GlobalOpts, a: Args) -> Result<()> {
    let path = crate::common::config_path(g);
    match a.cmd {
        Cmd::Init { file, force } => init(file.as_deref().unwrap_or(&path), force),
        Cmd::Check { json } => check(&path, json),
        Cmd::Show { json } => show(&path, json),
    }
}

fn init(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!("{} exists (--force replaces it)", path.display());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, config::DEFAULT).with_context(|| format!("writing {}", path.display()))?;
    out!(
        "wrote {}; `vcd config check` reports what it allows",
        path.display()
    )?;
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration {}", path.display()))
}

pub fn print_findings(path: &Path, d: &[Diagnostic]) {
    for x in d {
        let kind = match x.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        eprintln!(
            "{}:{}:{}: {kind}: {}",
            path.display(),
            x.line,
            x.column,
            esc(&x.message)
        );
    }
}

fn check(path: &Path, json: bool) -> Result<()> {
    let text = read(path)?;
    let (c, d) = config::check(&text);
    let reports = c.as_ref().map(config::rpo_reports).unwrap_or_default();
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": path.display().to_string(),
                "ok": c.is_some(),
                "findings": d,
                "scenarios": reports,
            }))?
        )?;
    } else {
        print_findings(path, &d);
        for r in &reports {
            let loss = r
                .worst_loss
                .map_or("unbounded (a category is in no job)".into(), config::human);
            out!(
                "scenario {}: RPO {}, worst-case data loss {}: {}",
                esc(&r.scenario),
                config::human(r.rpo),
                loss,
                if r.met { "met" } else { "NOT met" }
            )?;
        }
    }
    if c.is_none() {
        let n = d.iter().filter(|x| x.severity == Severity::Error).count();
        bail!("{}: {n} error(s)", path.display());
    }
    Ok(())
}

fn show(path: &Path, json: bool) -> Result<()> {
    let text = read(path)?;
    let (c, d) = config::check(&text);
    let Some(c) = c else {
        print_findings(path, &d);
        bail!(
            "{}: not a valid configuration (see `vcd config check`)",
            path.display()
        );
    };
    if json {
        out!("{}", serde_json::to_string_pretty(&c)?)?;
    } else {
        let mut v = serde_json::to_value(&c)?;
        drop_nulls(&mut v);
        out!("{}", toml::to_string_pretty(&v)?)?;
    }
    Ok(())
}

/// TOML has no null: an absent setting is left out.
fn drop_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
