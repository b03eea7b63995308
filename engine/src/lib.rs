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

#![forbid(unsafe_code)]

pub mod backend;
pub mod cache;
pub mod cancel;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod format;
pub mod host;
pub mod id;
pub mod ops;
pub mod policy;
pub mod repo;
pub mod vfs;

pub use cancel::CancelToken;
pub use clock::{Clock, SystemClock};
pub use error::{Error, ErrorKind, Result};
pub use id::Id;
pub use repo::Repo;
