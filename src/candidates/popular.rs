//! Popular in context: what is chosen most with the query's facets.
//!
//! Each known facet of the query (context value, intent, time bucket) votes
//! with each product's share of that facet's decayed weight, so a facet with
//! much traffic does not outvote one with little. A small share of overall
//! popularity is added so that products never seen with these facets still
//! rank among themselves. With no known facet this is popular overall.

use super::{Candidate, Evidence, QueryVertices};
use crate::hypergraph::Hypergraph;

/// How much overall popularity counts next to one facet's vote.
const OVERALL_PRIOR: f64 = 0.1;

#[derive(Debug, Clone, Default)]
pub struct PopularInContext;

impl PopularInContext {
    /// The `k` most popular products for the query's facets, best first,
    /// skipping `excluded` (product ids). Scores are normalized to max 1.
    /// The second value is false when no facet of the query was known, that
    /// is, when the ranking is popular overall.
    pub fn recommend(
        &self,
        graph: &Hypergraph,
        query: &QueryVertices,
        k: usize,
        excluded: &[u32],
    ) -> (Vec<Candidate>, bool) {
        let products = graph.product_count();
        let total = graph.total_popularity();
        if products == 0 || total <= 0.0 {
            return (Vec::new(), false);
        }

        // Dense per-product scores: one pass over each facet's product list
        // is cheaper than hashing, and the catalogue bounds the size.
        let mut scores: Vec<f64> = (0..products as u32)
            .map(|p| OVERALL_PRIOR * graph.product_popularity(p) / total)
            .collect();
        let facets = query.facets();
        for &facet in &facets {
            let facet_total = graph.facet_total(facet);
            if facet_total <= 0.0 {
                continue;
            }
            for entry in graph.facet_products(facet) {
                if let Some(score) = scores.get_mut(entry.product as usize) {
                    *score += entry.weight() / facet_total;
                }
            }
        }
        for &p in excluded {
            if let Some(score) = scores.get_mut(p as usize) {
                *score = 0.0;
            }
        }

        let mut candidates: Vec<Candidate> = scores
            .into_iter()
            .enumerate()
            .filter(|(_, s)| *s > 0.0)
            .map(|(p, score)| Candidate {
                product: p as u32,
                score,
                evidence: Evidence::default(),
            })
            .collect();
        super::keep_best(&mut candidates, k);

        let best = candidates.first().map_or(1.0, |c| c.score);
        for (rank, c) in candidates.iter_mut().enumerate() {
            c.score /= best;
            c.evidence.popular_rank = rank as u32 + 1;
        }
        (candidates, !facets.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypergraph::fixtures::add_at_location;

    fn names(g: &Hypergraph, picks: &[Candidate]) -> Vec<String> {
        picks
            .iter()
            .map(|c| g.product_name(c.product).to_string())
            .collect()
    }

    #[test]
    fn the_context_lifts_its_own_favourite_above_the_overall_favourite() {
        let g = Hypergraph::new(24.0);
        add_at_location(&g, "sofa", "home", 50);
        add_at_location(&g, "mat", "gym", 5);
        let gym = QueryVertices {
            contexts: vec![g.facet_id("location=gym").unwrap()],
            ..QueryVertices::default()
        };
        let (picks, in_context) = PopularInContext.recommend(&g, &gym, 10, &[]);
        assert!(in_context);
        assert_eq!(names(&g, &picks), ["mat", "sofa"]);
        assert_eq!(picks[0].evidence.popular_rank, 1);

        let (overall, in_context) =
            PopularInContext.recommend(&g, &QueryVertices::default(), 10, &[]);
        assert!(!in_context);
        assert_eq!(names(&g, &overall), ["sofa", "mat"]);
    }

    #[test]
    fn excluded_products_are_never_returned() {
        let g = Hypergraph::new(24.0);
        add_at_location(&g, "sofa", "home", 3);
        add_at_location(&g, "mat", "gym", 2);
        let sofa = g.product_id("sofa").unwrap();
        let (picks, _) = PopularInContext.recommend(&g, &QueryVertices::default(), 10, &[sofa]);
        assert_eq!(names(&g, &picks), ["mat"]);
    }
}
