//! Context lift: how much more often a product is chosen with the query's
//! facets than overall.
//!
//! For one facet `f` (a context value, the intent or the time bucket) and a
//! product `p`, the lift compares the hyperedges of `p` seen with `f` against
//! how many would be expected if `f` did not matter:
//!
//! ```text
//! lift_f(p) = (observed + m) / (expected + m),   expected = n_f * P(p)
//! ```
//!
//! The pseudo-count `m` (`lift_prior`) pulls lifts resting on a handful of
//! hyperedges towards 1, so a rare product seen once at the gym does not
//! outrank the sports shoes. Facets combine as a product of lifts (each
//! facet is treated as independent evidence), raised to the power
//! `context_lift` so the strength of the context signal is one tunable knob.
//!
//! Counts here are effective hyperedge counts: decayed weights divided by
//! the average decayed weight of a hyperedge.

use std::cell::RefCell;

use super::Candidate;
use crate::hypergraph::View;

thread_local! {
    /// Per-product scratch, all zero between calls: reused so a request
    /// does not allocate and zero a catalogue-sized buffer.
    static OBSERVED: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Multiplies each candidate's score by its lift for `facets`. Does nothing
/// when there is nothing to lift (no facets, an empty graph, exponent 0).
///
/// Cost: one pass over each facet's product list plus a logarithm per
/// candidate and facet, independent of how many products the graph holds
/// beyond those lists.
pub fn apply(
    view: &View<'_>,
    facets: &[u32],
    prior: f32,
    exponent: f32,
    candidates: &mut [Candidate],
) {
    let graph = view.graph();
    let products = graph.product_count();
    let total = graph.total_popularity();
    let edges = view.edge_count() as f64;
    if facets.is_empty() || exponent == 0.0 || products == 0 || total <= 0.0 || edges == 0.0 {
        return;
    }
    let per_edge = total / edges;
    let prior = prior.max(1e-3) as f64;

    let shares: Vec<f64> = candidates
        .iter()
        .map(|c| graph.product_popularity(c.product) / total)
        .collect();
    let mut log_lift = vec![0.0f64; candidates.len()];
    OBSERVED.with_borrow_mut(|observed| {
        if observed.len() < products {
            observed.resize(products, 0.0);
        }
        for &facet in facets {
            let facet_edges = graph.facet_total(facet) / per_edge;
            if facet_edges <= 0.0 {
                continue;
            }
            for entry in graph.facet_products(facet) {
                if let Some(slot) = observed.get_mut(entry.product as usize) {
                    *slot = entry.weight() / per_edge;
                }
            }
            for ((candidate, share), log) in candidates.iter().zip(&shares).zip(&mut log_lift) {
                let seen = observed
                    .get(candidate.product as usize)
                    .copied()
                    .unwrap_or(0.0);
                *log += ((seen + prior) / (facet_edges * share + prior)).ln();
            }
            // Leave the buffer all zero for the next facet and call.
            for entry in graph.facet_products(facet) {
                if let Some(slot) = observed.get_mut(entry.product as usize) {
                    *slot = 0.0;
                }
            }
        }
    });
    for (candidate, log) in candidates.iter_mut().zip(log_lift) {
        candidate.score *= (log * exponent as f64).exp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::Evidence;
    use crate::hypergraph::fixtures::add_at_location;
    use crate::hypergraph::Hypergraph;

    /// The lift of each named product for `facets`.
    fn lifts(g: &Hypergraph, facets: &[u32], exponent: f32, names: &[&str]) -> Vec<f64> {
        let mut candidates: Vec<Candidate> = names
            .iter()
            .map(|n| Candidate {
                product: g.product_id(n).unwrap(),
                score: 1.0,
                evidence: Evidence::default(),
            })
            .collect();
        apply(&g.view(), facets, 5.0, exponent, &mut candidates);
        candidates.iter().map(|c| c.score).collect()
    }

    #[test]
    fn products_chosen_more_in_a_context_are_lifted_there_and_others_lowered() {
        let g = Hypergraph::new(1e9);
        add_at_location(&g, "mat", "gym", 40);
        add_at_location(&g, "mat", "home", 10);
        add_at_location(&g, "sofa", "home", 50);
        let gym = g.facet_id("location=gym").unwrap();
        let [mat, sofa] = lifts(&g, &[gym], 1.0, &["mat", "sofa"])[..] else {
            panic!()
        };
        assert!(mat > 1.5, "mat {mat}");
        assert!(sofa < 0.5, "sofa {sofa}");
    }

    #[test]
    fn a_single_sighting_is_shrunk_towards_no_lift() {
        let g = Hypergraph::new(1e9);
        add_at_location(&g, "common", "home", 1000);
        add_at_location(&g, "common", "gym", 100);
        add_at_location(&g, "rare", "gym", 1);
        let gym = g.facet_id("location=gym").unwrap();
        let rare = lifts(&g, &[gym], 1.0, &["rare"])[0];
        assert!(rare < 1.3, "rare {rare}");
    }

    #[test]
    fn exponent_zero_turns_lift_off() {
        let g = Hypergraph::new(1e9);
        add_at_location(&g, "mat", "gym", 3);
        let gym = g.facet_id("location=gym").unwrap();
        assert_eq!(lifts(&g, &[gym], 0.0, &["mat"]), [1.0]);
    }
}
