//! repair (to be written)
