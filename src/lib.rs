//! hyperrec: a real-time, context-aware recommendation server.
//!
//! Every interaction is one hyperedge joining a customer, a product, context
//! values, an intent and a time bucket. Requests ask "what should this
//! customer see now, in this context, with this intent?".
//!
//! Modules, from the bottom layer up; a module reads the ones above it in this
//! list and never the ones below:
//!
//! - [`context`]: normalizing context values and deriving time buckets.
//! - [`hypergraph`]: the in-memory store of vertices, hyperedges, incidence
//!   and popularity; one writer, lock-free readers.

pub mod api;
pub mod candidates;
pub mod config;
pub mod context;
pub mod engine;
pub mod eval;
pub mod explain;
pub mod export;
pub mod hypergraph;
pub mod idempotency;
pub mod storage;
pub mod tabular;
pub mod telemetry;
pub mod validate;
