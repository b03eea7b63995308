//! `Snapshot::decode` on arbitrary bytes; an accepted snapshot must encode again.

#![no_main]

use engine::format::snapshot::Snapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(s) = Snapshot::decode(input) {
        let _ = s.encode();
    }
});
