//! `vcd key`: adds, lists, removes and replaces the keys (passwords) that open the repository.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use engine::crypto::KdfParams;
use engine::repo::keys::{self, KeyFile};

use crate::common::{self, GlobalOpts};
use crate::out;

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
    List,
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

/// Seals the repository's master key under a new password in a new key file.
fn add_key(repo: &engine::Repo, n: &NewPw) -> Result<engine::Id> {
    let pw = new_password(n)?;
    let k = KeyFile::create(repo.master_key(), pw.as_bytes(), KdfParams::recommended())?;
    Ok(keys::store(repo.backend(), &k)?)
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    match a.what {
        What::List => {
            out!("{:<8}  {:<19}  {:<10}  host", "id", "created (UTC)", "user")?;
            for (id, k) in keys::list(repo.backend())? {
                let cur = if id == repo.key_id() { "*" } else { " " };
                out!(
                    "{cur}{:<7}  {:<19}  {:<10}  {}",
                    id.short(),
                    k.created.format("%Y-%m-%d %H:%M:%S"),
                    k.user,
                    k.host
                )?;
            }
        }
        What::Add(n) => {
            let id = add_key(&repo, &n)?;
            out!("added key {}", id.short())?;
        }
        What::Passwd(n) => {
            // The new key is stored before the old one goes: a failure leaves both usable.
            let id = add_key(&repo, &n)?;
            repo.backend()
                .delete(engine::backend::FileType::Key, &repo.key_id().to_hex())?;
            out!(
                "password changed: key {} replaces {}",
                id.short(),
                repo.key_id().short()
            )?;
        }
        What::Remove { id } => {
            let keys = keys::list(repo.backend())?;
            let hits: Vec<_> = keys
                .iter()
                .filter(|(i, _)| i.to_hex().starts_with(&id.to_lowercase()))
                .collect();
            match hits.as_slice() {
                [] => bail!("no key {id}"),
                [(i, _)] if *i == repo.key_id() => {
                    bail!("refusing to remove the key in use (use `vcd key passwd`)")
                }
                [(i, _)] => {
                    repo.backend()
                        .delete(engine::backend::FileType::Key, &i.to_hex())?;
                    out!("removed key {}", i.short())?;
                }
                _ => bail!("key id prefix {id} is ambiguous"),
            }
        }
    }
    Ok(())
}
