//! `vcd cat`: prints one repository object as JSON (a blob as its raw bytes), for debugging.

use anyhow::{bail, Result};
use engine::backend::FileType;
use engine::Id;

use crate::common::{self, GlobalOpts};
use crate::out;
use crate::output::set_json_time;

#[derive(clap::Args)]
pub struct Args {
    /// config, key, snapshot, index, pack, tree, blob, lock or plan (a deletion plan)
    what: String,
    /// Id (or, for a snapshot, an id prefix or `latest`)
    id: Option<String>,
    /// A snapshot: the newest at or before this time (as `restore --at`)
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    filter: crate::choose::FilterArgs,
}

fn entry_json(e: &engine::format::blob::BlobEntry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id.to_hex(), "type": format!("{:?}", e.ty).to_lowercase(), "compressed": e.compressed,
        "offset": e.offset, "length": e.length, "raw_length": e.raw_length,
    })
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    let repo = common::open(g)?;
    // Config, key, snapshot and lock files are small and self-contained: as `snapshots` reads
    // them, without a lock, so a held lock can be inspected. The rest read what an exclusive
    // repair or prune deletes (FORMAT.md §10).
    let _lock = match a.what.as_str() {
        "config" | "key" | "snapshot" | "lock" | "plan" => None,
        _ => common::read_lock(g, &repo)?,
    };
    let need_id = || {
        a.id.clone()
            .ok_or_else(|| anyhow::anyhow!("`vcd cat {}` needs an id", a.what))
    };
    let v: serde_json::Value = match a.what.as_str() {
        "config" => serde_json::to_value(repo.config())?,
        "key" => {
            let id = need_id()?;
            let keys = engine::repo::keys::list(repo.backend())?;
            let Some((_, k)) = keys.iter().find(|(i, _)| i.to_hex().starts_with(&id)) else {
                bail!("no key {id}");
            };
            let mut v = serde_json::to_value(k)?;
            set_json_time(&mut v, "created", &k.created);
            v
        }
        "snapshot" => {
            let snaps = repo.snapshots()?;
            let spec = match &a.at {
                Some(_) => a.id.clone(),
                None => Some(need_id()?),
            };
            let s = crate::choose::choose(g, &snaps, spec.as_deref(), a.at.as_deref(), &a.filter)?;
            let mut v = serde_json::to_value(&s.snap)?;
            v["id"] = s.id.to_hex().into();
            set_json_time(&mut v, "time", &s.snap.time);
            v
        }
        "index" => {
            let packs = repo.read_index_file(&need_id()?)?;
            serde_json::Value::Array(
                packs
                    .iter()
                    .map(|p| serde_json::json!({"pack": p.pack.to_hex(), "blobs": p.entries.iter().map(entry_json).collect::<Vec<_>>()}))
                    .collect(),
            )
        }
        "pack" => {
            let id = need_id()?;
            let size = repo
                .list(FileType::Pack)?
                .into_iter()
                .find(|(n, _)| n == &id)
                .map(|(_, s)| s)
                .ok_or_else(|| anyhow::anyhow!("no pack {id}"))?;
            let entries = repo.read_pack_trailer(&id, size)?;
            serde_json::json!({"pack": id, "size": size, "blobs": entries.iter().map(entry_json).collect::<Vec<_>>()})
        }
        "tree" => {
            let id: Id = need_id()?.parse()?;
            serde_json::to_value(repo.load_tree(&id)?)?
        }
        "blob" => {
            let id: Id = need_id()?.parse()?;
            return common::write_raw(&repo.load_blob(&id)?);
        }
        "lock" => {
            // Lock files are named by a random id, not by their content's hash: they are read
            // as the lock module reads them, never checked against their name.
            let id = need_id()?;
            let locks = engine::repo::lock::list_locks(&repo)?;
            match locks.into_iter().find(|(name, _)| *name == id) {
                None => bail!("no lock {id}"),
                Some((_, None)) => bail!("lock {id} is unreadable (damaged, or another key's)"),
                Some((_, Some(info))) => {
                    let mut v = serde_json::to_value(&info)?;
                    set_json_time(&mut v, "time", &info.time);
                    v
                }
            }
        }
        "plan" => {
            // A deletion plan (`pending/`), named by a random id like a lock.
            let id = need_id()?;
            match repo.plans()?.into_iter().find(|(name, _)| *name == id) {
                None => bail!("no readable deletion plan {id}"),
                Some((_, plan)) => {
                    let mut v = serde_json::to_value(&plan)?;
                    set_json_time(&mut v, "time", &plan.time);
                    v
                }
            }
        }
        other => bail!(
            "unknown object type {other:?} (config, key, snapshot, index, pack, tree, blob, lock, plan)"
        ),
    };
    out!("{}", serde_json::to_string_pretty(&v)?)?;
    Ok(())
}
