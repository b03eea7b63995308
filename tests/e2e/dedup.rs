//! dedup (to be written)
