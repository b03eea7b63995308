//! The local index's pack records (`cache::fuzzing::read_record`): a record location as sled
//! holds it and the records file it points into, both hostile (a damaged or tampered cache
//! directory). What is accepted must be in bounds and survive re-encoding; nothing may be
//! allocated on a location's word beyond what a record can be (`-rss_limit_mb` catches that).
//!
//! Input: one mode byte, then
//! - mode 0 (raw): a 44-byte location (offset u64 LE, length u32 LE, BLAKE3 hash), the end
//!   of the records file as the index believes it (u64 LE), then the file's bytes;
//! - mode 1 (structured): one byte `skip`, then the file's bytes; the location names the
//!   file from `skip` to its end with the right hash, so the record decoder is reached.

#![no_main]

use engine::cache::fuzzing::{encode_record, read_record};
use engine::format::blob::BlobEntry;
use engine::id::Id;
use libfuzzer_sys::fuzz_target;

fn check(entries: &[BlobEntry]) {
    for e in entries {
        assert!(e.in_bounds(), "accepted entry out of bounds: {e:?}");
    }
    // Several byte strings decode alike (longer varints): re-encoding must lose nothing.
    let rec = encode_record(entries);
    let mut loc = Vec::with_capacity(44);
    loc.extend_from_slice(&0u64.to_le_bytes());
    loc.extend_from_slice(&(rec.len() as u32).to_le_bytes());
    loc.extend_from_slice(&Id::of_file(&rec).0);
    assert_eq!(
        read_record(&loc, rec.len() as u64, &rec).expect("re-encoded record reads"),
        entries,
        "record does not survive re-encoding"
    );
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    if mode.is_multiple_of(2) {
        let (loc, rest) = rest.split_at(rest.len().min(44));
        let (end, file) = match rest.split_first_chunk::<8>() {
            Some((end, file)) => (u64::from_le_bytes(*end), file),
            None => (rest.len() as u64, rest),
        };
        if let Ok(entries) = read_record(loc, end, file) {
            check(&entries);
        }
    } else {
        let Some((&skip, file)) = rest.split_first() else {
            return;
        };
        let skip = (skip as usize).min(file.len());
        let rec = &file[skip..];
        let mut loc = Vec::with_capacity(44);
        loc.extend_from_slice(&(skip as u64).to_le_bytes());
        loc.extend_from_slice(&(rec.len() as u32).to_le_bytes());
        loc.extend_from_slice(&Id::of_file(rec).0);
        if let Ok(entries) = read_record(&loc, file.len() as u64, file) {
            check(&entries);
        }
    }
});
