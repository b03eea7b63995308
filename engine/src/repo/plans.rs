//! Reading and writing deletion plans (`pending/`, FORMAT.md §14), and telling the local index
//! which packs they name, so that no backup stores a chunk by leaning on a pack about to go
//! and every reader prefers another copy.

use std::collections::HashSet;

use crate::backend::FileType;
use crate::crypto::aad;
use crate::error::{Error, Result};
use crate::format::config::PLANS_VERSION;
use crate::format::plan::{DeletionPlan, MAX_PLAN_BYTES};
use crate::id::Id;
use crate::repo::{be, Repo};

impl Repo {
    /// Every readable deletion plan, by name. A damaged plan is reported and left out: no
    /// prune carries it out, so its packs stay usable. A backend failure is an error, since
    /// a plan missed would let a backup lean on packs it names.
    pub fn plans(&self) -> Result<Vec<(String, DeletionPlan)>> {
        let mut out = Vec::new();
        for (name, size) in self.list(FileType::Pending)? {
            if size > MAX_PLAN_BYTES {
                tracing::warn!("deletion plan {name}: {size} bytes, over the bound; ignored");
                continue;
            }
            let b = match self.backend.get(FileType::Pending, &name) {
                Ok(b) => b,
                // Carried out and removed since the listing.
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(be("reading deletion plan", &name)(e)),
            };
            match self
                .keys
                .data
                .open(aad::PLAN, &b)
                .map_err(|m| Error::damaged("deletion plan", &name, m.to_string()))
                .and_then(|p| DeletionPlan::decode(&p))
            {
                Ok(p) => out.push((name, p)),
                Err(e) => tracing::warn!("deletion plan {name}: {e}"),
            }
        }
        Ok(out)
    }

    /// Writes (or rewrites) a plan under `name`. The repository is raised to the format
    /// version that has plans first, so an older vcd, which would not honour it, refuses the
    /// repository instead.
    pub fn write_plan(&self, name: &str, plan: &DeletionPlan) -> Result<()> {
        self.upgrade_to(PLANS_VERSION)?;
        let b = self.keys.data.seal(aad::PLAN, &plan.encode());
        self.backend
            .put(FileType::Pending, name, &b)
            .map_err(be("writing deletion plan", name))
    }

    pub fn delete_plan(&self, name: &str) -> Result<()> {
        match self.backend.delete(FileType::Pending, name) {
            Err(e) if !e.is_not_found() => Err(be("deleting deletion plan", name)(e)),
            _ => Ok(()),
        }
    }

    /// Tells the local index which packs the plans name.
    pub(crate) fn absorb_plans(&self) -> Result<()> {
        let packs: HashSet<Id> = self
            .plans()?
            .into_iter()
            .flat_map(|(_, p)| p.packs)
            .collect();
        self.index.set_pending(packs)
    }

    /// The packs awaiting deletion as of the last `sync_index`.
    pub fn pending_packs(&self) -> HashSet<Id> {
        self.index.pending()
    }
}
