//! A read-only FUSE filesystem over a vcd repository's snapshots, built on the engine's read
//! path (`engine::vfs::reader`): no second reader of the repository format lives here.
//!
//! Layout:
//! ```text
//! /<YYYY-MM-DDTHH:MM:SSZ>[-<short id>]/...   one directory per snapshot (the suffix only when
//!                                            two snapshots share a second)
//! /latest -> <newest>                        symlinks into the above
//! /ids/<short id> -> ../<time>
//! /tags/<tag>/<time>[-<short id>] -> ../../<time>   (the suffix only when two snapshots with
//! /hosts/<host>/<time>[-<short id>] -> ../../<time>   that tag / host share a second)
//! /categories/<category>/<time>[-<short id>] -> ../../<time>
//! /jobs/<job>/<time>[-<short id>] -> ../../<time>
//! /<YYYY-MM-DD> -> <time>                    the newest snapshot of that UTC day (the day's
//!                                            others are beside it, by their times)
//! ```
//! The root is rebuilt when the repository's snapshot list changes, so snapshots taken after
//! mounting appear without a remount.
//!
//! Memory stays bounded whatever the repository holds: decoded trees are cached by bytes
//! (`engine::vfs::trees`), the inode table holds only what the kernel holds, a few hundred
//! bytes per entry (`inodes`), and a tree that fails to load is EIO for that directory only.
//!
//! Modules: `fs` (the kernel's requests), `inodes` (the inode table and its lookup counts),
//! `layout` (the virtual directories), `attr` (node → attributes), `errno` (engine error →
//! errno).

#![forbid(unsafe_code)]

mod attr;
mod errno;
mod fs;
mod inodes;
mod layout;

use std::path::Path;
use std::sync::Arc;

use engine::Repo;

pub use fs::SnapshotFs;

/// Chunks decoded ahead of a sequential reader.
const READAHEAD_CHUNKS: usize = 8;
/// Threads decoding chunks ahead of sequential readers.
const READAHEAD_THREADS: usize = 2;
/// The largest chunk the chunker cuts (FORMAT.md: 2 MiB).
const MAX_CHUNK: usize = 2 << 20;
/// The default chunk cache: the readahead windows of two sequential readers at the largest
/// chunks (eight at the average 512 KiB). Chunks a reader has passed are not read again through
/// the cache (the kernel keeps the file's pages: FOPEN_KEEP_CACHE), so a larger cache only
/// helps random re-reads, and costs its size in resident memory (it was 256 MiB: 351 MiB peak
/// RSS reading every large file of the benchmark dataset, for no gain in throughput).
pub const DEFAULT_CACHE_BYTES: usize = 2 * READAHEAD_CHUNKS * MAX_CHUNK;
/// Decoded directory trees kept, by their estimated size in memory: a directory of 1,000
/// entries takes about 300 KiB, so this holds a hundred such; a larger tree is kept alone.
const TREE_CACHE_BYTES: usize = 32 << 20;

#[derive(Debug, Clone)]
pub struct MountOptions {
    /// Bytes of decrypted chunks kept in memory, shared by all open files.
    pub cache_bytes: usize,
    /// Show only the snapshots this allows (`--host`, `--tag`, `--path`, `--category`,
    /// `--job`, as every command that chooses a snapshot reads them).
    pub filter: engine::policy::select::SnapshotFilter,
    pub allow_other: bool,
    /// FUSE worker threads.
    pub threads: usize,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            cache_bytes: DEFAULT_CACHE_BYTES,
            filter: Default::default(),
            allow_other: false,
            threads: 4,
        }
    }
}

/// Mounts read-only and serves in background threads until the returned session is dropped
/// (or `umount_and_join` is called), which unmounts.
pub fn mount(
    repo: Arc<Repo>,
    mountpoint: &Path,
    opts: MountOptions,
) -> std::io::Result<fuser::BackgroundSession> {
    let mut cfg = fuser::Config::default();
    cfg.mount_options = vec![
        fuser::MountOption::RO,
        fuser::MountOption::FSName("vcd".into()),
        fuser::MountOption::Subtype("vcd".into()),
        fuser::MountOption::DefaultPermissions,
        fuser::MountOption::NoDev,
        fuser::MountOption::NoSuid,
    ];
    if opts.allow_other {
        cfg.acl = fuser::SessionACL::All;
    }
    cfg.n_threads = Some(opts.threads.max(1));
    let fs = SnapshotFs::new(repo, opts);
    fuser::spawn_mount(fs, mountpoint, &cfg)
}
