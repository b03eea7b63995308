//! vcd's engine: the repository format and everything that reads or writes it.
//!
//! Data flow (FORMAT.md has the byte layouts):
//! ```text
//! backup : walk → read → chunk → keyed hash → dedup (index + in-flight set)
//!          new: compress → encrypt → pack → Backend::put → index → trees bottom-up → snapshot (last)
//! restore: snapshot → tree → node → chunk id → index → Backend::get_range (grouped per pack)
//!          → decrypt → decompress → check hash → write file
//! ```
//! Commit order is the crash-safety invariant: packs, then the index files naming them, then
//! the snapshot. A crash at any point leaves only packs no index names (check reports them,
//! prune will remove them), never a snapshot that points at nothing.
//!
//! No printing and no argument parsing here: progress goes through `progress::Progress`,
//! warnings through `tracing`, and failures through `error::Error`.

pub mod backend;
pub mod cache;
pub mod crypto;
pub mod error;
pub mod format;
pub mod host;
pub mod id;
pub mod ops;
pub mod policy;
pub mod repo;
pub mod vfs;

pub use error::{Error, ErrorKind, Result};
pub use id::Id;
pub use repo::Repo;

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks long-running operations to stop at their next checkpoint (a signal handler calls this).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// True once `interrupt` was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub(crate) fn check_interrupt() -> Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}
