//! gen (to be written)
