//! Small graphs for unit tests of the modules that read the hypergraph.

use super::{Hypergraph, NewEdge};
use crate::context::{DayPart, TimeBucket};

/// One hyperedge of weight 1, weekday night, all at one instant.
fn add(g: &Hypergraph, customer: String, product: &str, contexts: Vec<String>, intent: &str) {
    g.apply(&NewEdge {
        customer,
        product: product.into(),
        contexts,
        intent: intent.into(),
        bucket: TimeBucket {
            part: DayPart::Night,
            weekend: false,
        },
        weight: 1.0,
        at_ms: 1_780_000_000_000,
    })
    .expect("applies");
}

/// Adds `times` browse hyperedges of `product` at `location=…`, each by a
/// different customer (`c0`, `c1`, …).
pub(crate) fn add_at_location(g: &Hypergraph, product: &str, location: &str, times: usize) {
    for i in 0..times {
        let contexts = vec![format!("location={location}")];
        add(g, format!("c{i}"), product, contexts, "browse");
    }
}

/// Adds one contextless buy of `product` by `customer`.
pub(crate) fn add_buy(g: &Hypergraph, customer: &str, product: &str) {
    add(g, customer.into(), product, Vec::new(), "buy");
}
