//! Learned ranking: features of (query, candidate) pairs from the live
//! hypergraph, and the ONNX ranker that scores them (see `models`).
//! Business rules (exclusions, limits) stay in the engine.

pub mod features;
pub mod stage;
pub mod training;
