//! `LockInfo::decode` on arbitrary bytes (the plaintext of a sealed lock file: whoever controls
//! the storage can plant one, and `vcd unlock` and every lock taker read them all), then what
//! readers do with a decoded lock: describe it in a message and decide whether it is stale, at
//! its own time, at the ends of time and at a fixed now. What is accepted must survive
//! re-encoding.

#![no_main]

use chrono::{DateTime, Utc};
use engine::format::lock_file::LockInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some(l) = LockInfo::decode(input) else {
        return;
    };
    let _ = l.describe();
    let now = DateTime::from_timestamp(1_800_000_000, 0).expect("in range");
    for at in [
        l.time,
        now,
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
    ] {
        let _ = l.is_stale_at(at, "fuzz-host", |_| true);
        let _ = l.is_stale_at(at, &l.host, |_| false);
    }
    assert_eq!(
        LockInfo::decode(&l.encode()).as_ref(),
        Some(&l),
        "lock does not survive re-encoding"
    );
});
