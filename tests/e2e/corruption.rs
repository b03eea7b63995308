//! corruption (to be written)
