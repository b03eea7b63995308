//! Pure decisions: which snapshot, which paths. No I/O; time comes in as an argument.

pub mod filter;
pub mod repack;
pub mod select;
