//! End-to-end tests of the real `vcd` binary. Each module covers one capability; `common` runs
//! the binary against throwaway repositories, `gen` builds seeded random source trees and
//! compares trees (content and metadata).

mod common;
mod gen;
mod keys;
mod locks;

mod corruption;
mod crash;
mod dedup;
mod errors;
mod mount;
mod names;
mod output;
mod readme;
mod regressions;
mod repair;
mod roundtrip;
