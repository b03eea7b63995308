//! roundtrip (to be written)
