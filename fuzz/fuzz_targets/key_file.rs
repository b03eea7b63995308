//! `KeyFile::decode` on arbitrary bytes. The KDF runs (through `unlock`) only on tiny
//! parameters, so the target stays fast; `KdfParams::derive` validates them itself.

#![no_main]

use engine::repo::keys::KeyFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(k) = KeyFile::decode(input) {
        let _ = k.encode();
        if k.kdf.m_cost <= 64 && k.kdf.t_cost <= 2 {
            // The sealed master key cannot open without the fuzzer guessing a MAC: this checks
            // that parameter validation, Argon2 and the open path do not panic.
            let _ = k.unlock(b"fuzz password");
        }
    }
});
