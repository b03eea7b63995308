//! One module per subcommand; each parses its flags and makes one call into the engine.

pub mod audit;
pub mod backup;
pub mod cat;
pub mod check;
pub mod config;
pub mod daemon;
pub mod diff;
pub mod dist;
pub mod drill;
pub mod forget;
pub mod init;
pub mod key;
pub mod ls;
pub mod mount;
pub mod prune;
pub mod repair;
pub mod restore;
pub mod restores;
pub mod rollback;
pub mod run;
pub mod schedule;
pub mod snapshots;
pub mod stats;
pub mod status;
pub mod unlock;
pub mod verify_restore;
