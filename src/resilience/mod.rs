//! Staying fast when parts are slow or failing: circuit breakers around
//! the expensive stages, per-call budgets, and fault injection for tests.
//!
//! Nothing here knows about recommendations; the engine decides what to
//! serve when a stage is skipped or late.

pub mod breaker;
pub mod budget;
pub mod faults;
