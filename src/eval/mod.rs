//! Offline evaluation support. For now: the synthetic interaction log with
//! planted context effects that the demo, the tests and the benchmarks use.

pub mod synthetic;
