//! vcd's engine: the repository format and everything that reads or writes it.
//!
//! Data flow (FORMAT.md has the byte layouts):
//! ```text
//! backup : ops::backup walk → read → format::chunker → keyed id → dedup (repo sink: index +
//!          in-flight set) → new: format::blob seal → format::pack stream → backend put
//!          → index file → trees bottom-up → snapshot (last)
//! restore: policy::select snapshot → tree → ops::restore::plan (group by pack, coalesce)
//!          → repo BlobSource read range → open + verify → write file
//! mount  : vfs (file maps, chunk cache) over the same BlobSource
//! ```
//! Commit order is the crash-safety invariant: packs, then the index files naming them, then
//! the snapshot. A crash at any point leaves only packs no index names (check reports them,
//! prune will remove them), never a snapshot that points at nothing. Readers go the other way:
//! snapshots, then index files, then packs (FORMAT.md, read rules).
//!
//! Layers, each importing only those below it:
//! ```text
//! ops            backup, restore (+ pure plan), check, repair, diff, ls, stats, forget; fsmeta
//!                (the filesystem edge), progress
//! repo  policy   repo: open/init, blob seams (BlobSource, sink), keys, locks
//!       vfs      policy: pure choices (snapshot selection, filters, retention); vfs: reading
//!                snapshots as files, without FUSE
//! cache          the local index (derived from the repository; losing it loses nothing)
//! format crypto  format: pure codecs of every object; crypto: AEAD, purpose keys, KDF
//! backend        storage: the trait, local, memory, the conformance suite
//! error id cancel clock host radix   shared by all
//! ```
//! No printing, no argument parsing and no process-wide state here: progress goes through
//! `ops::progress::Progress`, warnings through `tracing`, failures through `error::Error`,
//! cancellation through a `CancelToken` in each operation's options, time through a `Clock`
//! where a decision depends on it. Process tuning (allocator, limits, signals) is the host's.

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
pub mod radix;
pub mod repo;
pub mod vfs;

pub use cancel::CancelToken;
pub use clock::{Clock, SystemClock};
pub use error::{Error, ErrorKind, Result};
pub use id::Id;
pub use repo::Repo;
