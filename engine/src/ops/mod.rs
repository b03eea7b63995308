//! Operations a user runs: backup, restore, check, repair, diff, ls, stats, forget, prune. Each
//! is written against `Repo`'s seams and the pure layers below; the filesystem edge (`fsmeta`)
//! lives here too.

pub mod audit;
pub mod backup;
pub mod check;
pub mod copy;
pub mod diff;
pub mod forget;
pub mod fsmeta;
pub mod job;
pub mod ls;
pub mod progress;
pub mod prune;
pub mod recovery;
pub mod repair;
pub mod restore;
pub mod stats;
pub mod status;
pub mod system;
