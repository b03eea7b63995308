//! Pure decisions: which snapshot, which paths, which snapshots a retention policy keeps, which
//! packs a prune deletes or repacks, when a job runs, what a configuration file says. No I/O;
//! time comes in as an argument.

pub mod config;
pub mod filter;
pub mod repack;
pub mod retention;
pub mod schedule;
pub mod scheduler;
pub mod scope;
pub mod select;
pub mod when;
