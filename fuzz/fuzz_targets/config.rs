//! `Config::decode` on arbitrary bytes (the plaintext of the sealed config object).

#![no_main]

use engine::format::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(c) = Config::decode(input) {
        c.validate().expect("a decoded config is valid");
    }
});
