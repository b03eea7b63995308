//! `vcd init`: creates a repository with its first key and config.

use anyhow::Result;
use engine::crypto::KdfParams;
use engine::format::config::Config;

use crate::common::{self, GlobalOpts};
use crate::out;

#[derive(clap::Args)]
pub struct Args {
    /// zstd level for new data (0 stores raw)
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    compression: i32,
    /// Close packs at this size, in MiB
    #[arg(long, value_name = "MiB")]
    pack_size: Option<u32>,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<()> {
    common::refuse_no_lock(g, "vcd init")?;
    let backend = common::backend(g)?;
    let pw = common::password(g, true)?;
    let mut cfg = Config::new();
    cfg.compression = a.compression;
    if let Some(m) = a.pack_size {
        cfg.pack_size = m.saturating_mul(1 << 20);
    }
    let (key, audit) = engine::Repo::init_audited(
        backend,
        pw.as_bytes(),
        cfg.clone(),
        KdfParams::recommended(),
    )?;
    common::audit_to(g, audit);
    if !g.quiet {
        out!(
            "created repository {} at {} (key {})",
            cfg.id.short(),
            common::location(g)?,
            key.short()
        )?;
    }
    Ok(())
}
