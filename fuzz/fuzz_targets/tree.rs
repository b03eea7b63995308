//! `Tree::decode` on arbitrary bytes; a tree it accepts must re-encode and decode to itself.

#![no_main]

use engine::format::tree::Tree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(t) = Tree::decode(input) {
        let again = Tree::decode(&t.encode()).expect("a re-encoded valid tree must decode");
        assert_eq!(again, t, "tree changed across encode/decode");
    }
});
