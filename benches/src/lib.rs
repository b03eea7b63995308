//! Criterion benchmarks of vcd's engine live in `benches/`; this crate has no library code.
