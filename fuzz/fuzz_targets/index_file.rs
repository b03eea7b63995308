//! `decode_index_file` on arbitrary plaintext; what it accepts must re-encode to the same bytes.

#![no_main]

use engine::index::{decode_index_file, encode_index_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(packs) = decode_index_file(input) {
        assert_eq!(
            encode_index_file(&packs),
            input,
            "index file re-encodes differently"
        );
    }
});
