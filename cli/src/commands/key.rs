//! `vcd key`: adds, lists, removes and replaces the keys (passwords) that open the repository.
//! The engine (`repo::keys`) does each change under its lock; this module asks and prints.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use engine::crypto::KdfParams;
use engine::repo::keys;

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::esc;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Add a key (a new password for the same repository)
    Add(NewPw),
    /// List keys
    List {
        /// Print as JSON (`id`, `current`, `created`, `user`, `host`)
        #[arg(long)]
        json: bool,
    },
    /// Remove a key by id prefix (not the one in use)
    Remove { id: String },
    /// Change the password in use (adds a new key, removes the current one)
    Passwd(NewPw),
}

#[derive(clap::Args)]
struct NewPw {
    /// Read the new password from a file (default: prompt, or VCD_NEW_PASSWORD)
    #[arg(long, value_name = "FILE")]
    new_password_file: Option<PathBuf>,
}

fn new_password(a: &NewPw) -> Result<String> {
    if let Some(f) = &a.new_password_file {
        let s = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        return Ok(s.lines().next().unwrap_or("").to_string());
    }
    if let Ok(p) = std::env::var("VCD_NEW_PASSWORD") {
        return Ok(p);
    }
    let p = rpassword::prompt_password("new password: ")?;
    if p != rpassword::prompt_password("new password again: ")? {
        bail!("passwords do not match");
    }
    Ok(p)
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    match a.what {
        What::List { .. } => {}
        What::Add(_) => common::refuse_no_lock(g, "vcd key add")?,
        What::Passwd(_) => common::refuse_no_lock(g, "vcd key passwd")?,
        What::Remove { .. } => common::refuse_no_lock(g, "vcd key remove")?,
    }
    let repo = common::open(g)?;
    match a.what {
        What::List { json: true } => {
            let v: Vec<serde_json::Value> = keys::list(repo.backend())?
                .into_iter()
                .map(|(id, k)| {
                    serde_json::json!({
                        "id": id.to_hex(),
                        "current": id == repo.key_id(),
                        "created": crate::output::json_time(&k.created),
                        "user": k.user,
                        "host": k.host,
                    })
                })
                .collect();
            out!("{}", serde_json::to_string_pretty(&v)?)?;
        }
        What::List { json: false } => {
            out!("{:<8}  {:<19}  {:<10}  host", "id", "created (UTC)", "user")?;
            for (id, k) in keys::list(repo.backend())? {
                let cur = if id == repo.key_id() { "*" } else { " " };
                out!(
                    "{cur}{:<7}  {:<19}  {:<10}  {}",
                    id.short(),
                    k.created.format("%Y-%m-%d %H:%M:%S"),
                    esc(&k.user),
                    esc(&k.host)
                )?;
            }
        }
        What::Add(n) => {
            let pw = new_password(&n)?;
            let id = keys::add(&repo, pw.as_bytes(), KdfParams::recommended())?;
            out!("added key {}", id.short())?;
        }
        What::Passwd(n) => {
            let pw = new_password(&n)?;
            let id = keys::change_password(&repo, pw.as_bytes(), KdfParams::recommended())?;
            out!(
                "password changed: key {} replaces {}",
                id.short(),
                repo.key_id().short()
            )?;
        }
        What::Remove { id } => {
            let removed = keys::remove(&repo, &id)?;
            out!("removed key {}", removed.short())?;
        }
    }
    Ok(())
}
