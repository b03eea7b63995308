//! End-to-end tests of the real `vcd` binary. Each module covers one capability; `common` runs
//! the binary against throwaway repositories, `gen` builds seeded random source trees and
//! compares trees (content and metadata), and `compare` proves that comparison sees every
//! difference it claims to.

mod audit;
mod common;
mod compare;
mod gen;
mod keys;
mod locks;
mod phases;

mod choose;
mod config;
mod corruption;
mod crash;
mod crash_ops;
mod daemon;
mod dedup;
mod deep;
mod disk_full;
mod drill;
mod errors;
mod filters;
mod forget;
mod hostile;
mod mount;
mod names;
mod notify;
mod output;
mod prune;
mod readme;
mod recovery;
mod regressions;
mod remote;
mod repair;
mod restore_race;
mod roundtrip;
mod servers;
mod status;
