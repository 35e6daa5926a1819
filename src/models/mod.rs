//! Learned models served through ONNX Runtime: the HGNN query encoder, the
//! HNSW index over its product embeddings, and the learned ranker.
//!
//! - [`manifest`]: a version directory as training writes it.
//! - [`runtime`]: the one ONNX Runtime environment and its provider.
//! - [`pool`]: concurrent inference over a fixed set of sessions.
//! - [`encoder`]: query -> embedding, from the live hypergraph.
//! - [`ranker`]: ranking features -> scores.
//! - [`registry`]: load, validate, warm and swap versions; status.
//!
//! The contract with the Python training side is `models/CONTRACT.md`.

pub mod encoder;
pub mod manifest;
pub mod pool;
pub mod ranker;
pub mod registry;
pub mod runtime;

pub use registry::{LoadedModel, ModelError, ModelStatus, ModelsConfig, Registry};
