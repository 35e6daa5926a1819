//! The in-memory hypergraph of interactions.
//!
//! Owns vertex interning, hyperedge storage, incidence chains and popularity
//! counts. It knows nothing of gRPC, scoring or models: the candidate sources
//! read it through [`View`], and the engine writes it through
//! [`Hypergraph::apply`].

mod append;
#[cfg(test)]
pub(crate) mod fixtures;
mod graph;
mod incidence;
mod vocab;
mod weight;

pub use graph::{
    intent_facet, time_facet, EdgeIds, EdgeRecord, FacetKind, FacetProduct, GraphError, GraphStats,
    Hypergraph, NewEdge, View,
};
