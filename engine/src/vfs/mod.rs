//! Reading snapshots as a file system without restoring them: path → node, file maps and the
//! chunk cache behind the FUSE mount, usable without FUSE.

pub mod path;
pub mod reader;
