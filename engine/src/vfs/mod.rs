//! Reading snapshots as a file system without restoring them: path → node, file maps and the
//! chunk cache behind the FUSE mount, and a tree cache bounded by bytes, usable without FUSE.

pub mod path;
pub mod reader;
pub mod trees;
