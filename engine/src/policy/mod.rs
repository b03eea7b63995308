//! Pure decisions: which snapshot, which paths, which snapshots a retention policy keeps, which
//! packs a prune deletes or repacks. No I/O; time comes in as an argument.

pub mod filter;
pub mod repack;
pub mod retention;
pub mod select;
