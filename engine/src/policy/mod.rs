//! Pure decisions: which snapshot, which paths. No I/O; time comes in as an argument.
