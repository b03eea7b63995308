//! Pure decisions: which snapshot, which paths, which snapshots a retention policy keeps. No I/O; time comes in as an argument.

pub mod filter;
pub mod retention;
pub mod select;
