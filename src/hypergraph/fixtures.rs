//! Small graphs for unit tests of the modules that read the hypergraph.

use super::{Hypergraph, NewEdge};
use crate::context::{DayPart, TimeBucket};

/// Adds `times` browse hyperedges of `product` at `location=…`, each by a
/// different customer (`c0`, `c1`, …), weekday night, all at one instant.
pub(crate) fn add_at_location(g: &Hypergraph, product: &str, location: &str, times: usize) {
    for i in 0..times {
        g.apply(&NewEdge {
            customer: format!("c{i}"),
            product: product.into(),
            contexts: vec![format!("location={location}")],
            intent: "browse".into(),
            bucket: TimeBucket {
                part: DayPart::Night,
                weekend: false,
            },
            weight: 1.0,
            at_ms: 1_780_000_000_000,
        })
        .expect("applies");
    }
}

/// Adds one contextless buy of `product` by `customer`, weekday night.
pub(crate) fn add_buy(g: &Hypergraph, customer: &str, product: &str) {
    g.apply(&NewEdge {
        customer: customer.into(),
        product: product.into(),
        contexts: Vec::new(),
        intent: "buy".into(),
        bucket: TimeBucket {
            part: DayPart::Night,
            weekend: false,
        },
        weight: 1.0,
        at_ms: 1_780_000_000_000,
    })
    .expect("applies");
}
