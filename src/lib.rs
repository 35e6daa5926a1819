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
//! - [`validate`]: every input limit; raw input to domain values.
//! - [`hypergraph`]: the in-memory store of vertices, hyperedges, incidence
//!   and popularity; one writer, lock-free readers.
//! - [`candidates`]: the hypergraph collaborative filter, context lift and
//!   popular in context.
//! - [`explain`]: human reasons built from the evidence.
//! - [`idempotency`]: the window of recent event ids.
//! - [`storage`]: write-ahead log, snapshots and recovery of a data
//!   directory.
//! - [`cache`]: the response cache, invalidated per customer.
//! - [`resilience`]: circuit breakers, budgets, fault injection.
//! - [`metrics`]: Prometheus metrics and their endpoint.
//! - [`config`]: the typed configuration.
//! - [`engine`]: the decision pipeline (Recommend under a budget) and the
//!   ingest path (validate, log, apply).
//! - [`tabular`], [`export`]: interaction logs in and hyperedges out.
//! - [`eval`]: offline evaluation against context-blind baselines, and
//!   the synthetic log with planted effects.
//! - [`api`]: the gRPC border, the only module that imports tonic.
//! - [`telemetry`] sets up logging.

pub mod api;
pub mod cache;
pub mod candidates;
pub mod config;
pub mod context;
pub mod engine;
pub mod eval;
pub mod explain;
pub mod export;
pub mod hypergraph;
pub mod idempotency;
pub mod index;
pub mod metrics;
pub mod models;
pub mod ranking;
pub mod resilience;
pub mod storage;
pub mod tabular;
pub mod telemetry;
pub mod validate;
