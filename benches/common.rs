//! Shared setup for the benchmarks: a seeded 1M-hyperedge synthetic graph.

use hyperrec::eval::synthetic::{self, SyntheticSpec};
use hyperrec::hypergraph::NewEdge;

/// One million interactions over 20k customers and 5k products, each with
/// three context values (device, location, weather) plus intent and time.
pub fn million_edges() -> Vec<NewEdge> {
    let spec = SyntheticSpec {
        customers: 20_000,
        products: 5_000,
        interactions: 1_000_000,
        ..SyntheticSpec::demo()
    };
    synthetic::generate(&spec)
        .events
        .iter()
        .map(|e| e.to_edge())
        .collect()
}
