//! Pure codecs of every repository object: bytes in, structs out, and back. Nothing here does
//! I/O or holds keys beyond what a call is given; FORMAT.md is the contract these implement.

pub mod audit;
pub mod blob;
pub mod chunker;
pub mod config;
pub mod index_file;
pub mod lock_file;
pub mod meta;
pub mod pack;
pub mod plan;
pub mod restoration;
pub mod snapshot;
pub mod tree;
