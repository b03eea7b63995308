//! `decode_index_file` on arbitrary plaintext; what it accepts must survive re-encoding. (Not
//! byte for byte: older versions, other zstd frames and longer varints decode alike.)

#![no_main]

use engine::format::index_file::{decode_index_file, encode_index_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(packs) = decode_index_file(input) {
        assert_eq!(
            decode_index_file(&encode_index_file(&packs)).unwrap(),
            packs,
            "index file does not survive re-encoding"
        );
    }
});
