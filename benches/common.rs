//! Shared setup for the benchmarks: a seeded 1M-hyperedge synthetic graph,
//! and Recommend queries over varied contexts.

#![allow(dead_code)] // each bench uses a different part of this helper

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use hyperrec::eval::synthetic::{self, SyntheticSpec};
use hyperrec::hypergraph::NewEdge;
use hyperrec::validate::{self, Query, RawQuery};

const LOCATIONS: [&str; 5] = ["home", "work", "gym", "commute", "store"];
const DEVICES: [&str; 3] = ["mobile", "desktop", "tablet"];
const INTENTS: [&str; 4] = ["browse", "compare", "cart", "buy"];
/// Just after the synthetic log ends.
pub const NOW_MS: i64 = 1_796_090_000_000;

/// A query of `customer` with a random device, location and intent, at a
/// random moment of the last day of the synthetic log.
pub fn varied_query(rng: &mut ChaCha8Rng, customer: &str) -> Query {
    let raw = RawQuery {
        customer_id: customer,
        context: vec![
            ("device", DEVICES[rng.random_range(0..3)]),
            ("location", LOCATIONS[rng.random_range(0..5)]),
        ],
        intent: INTENTS[rng.random_range(0..4)],
        at_ms: Some(NOW_MS - rng.random_range(0..86_400_000)),
        ..RawQuery::default()
    };
    validate::query(&raw, NOW_MS).expect("valid query")
}

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
