//! Ranking features of (query, candidate) pairs, computed from the live
//! hypergraph.
//!
//! The same function writes the training rows (`hyperrec features`) and
//! scores candidates at serve time, so training and serving cannot
//! disagree on what a feature means. Every feature is computed from data
//! the graph holds; product metadata (price, category) is not in the graph,
//! so price fit and category affinity are not among them.

use rustc_hash::FxHashMap;

use crate::candidates::{apply_lift, Candidate, CfParams, Evidence, QueryVertices};
use crate::hypergraph::{Hypergraph, View};

/// Feature names, in column order. A ranker must name a subset of these.
pub const NAMES: [&str; 10] = [
    // The hypergraph collaborative filter's score (0 when it did not
    // propose the product).
    "cf_score",
    // The customer's own decayed weight on the product (affinity).
    "own_weight",
    // Hours since the customer last chose it; NEVER_HOURS if never.
    "own_hours_since",
    // Log lift of the product for the query's context values.
    "context_lift",
    // Log lift for the query's intent.
    "intent_lift",
    // Log lift for the query's time bucket.
    "time_lift",
    // Log of the product's share of all weight, times the catalogue size
    // (0 = average popularity).
    "popularity",
    // Popular-in-context vote of the query's facets.
    "popularity_in_context",
    // Hours since anyone last chose the product.
    "product_hours_since",
    // Dot product of the HGNN query embedding and the product embedding.
    "hnsw_similarity",
];

/// Hours standing for "never": longer than any half-life in use, so a
/// ranker reads it as "long ago".
pub const NEVER_HOURS: f32 = 100_000.0;

/// Newest hyperedges of the customer read for the own-history features.
const OWN_EDGES: usize = 200;

const HOUR_MS: f64 = 3_600_000.0;

/// One candidate as the candidate stage proposes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proposal {
    pub product: u32,
    pub cf_score: f64,
    /// Embedding similarity, when the model knows the product.
    pub similarity: f32,
}

/// The knobs features share with the collaborative filter.
#[derive(Debug, Clone, Copy)]
pub struct FeatureParams {
    pub half_life_hours: f64,
    pub lift_prior: f32,
}

/// Features share the filter's recency and lift knobs, so a feature
/// means what the filter's evidence means.
impl From<&CfParams> for FeatureParams {
    fn from(cf: &CfParams) -> Self {
        Self {
            half_life_hours: cf.half_life_hours,
            lift_prior: cf.lift_prior,
        }
    }
}

/// Column index of a feature name.
pub fn index(name: &str) -> Option<usize> {
    NAMES.iter().position(|n| *n == name)
}

/// Features of every proposal, `proposals.len() x NAMES.len()`, row-major.
pub fn compute(
    graph: &Hypergraph,
    query: &QueryVertices,
    proposals: &[Proposal],
    params: FeatureParams,
) -> Vec<f32> {
    let view = graph.view();
    let own = own_history(&view, query, params.half_life_hours);
    let lifts = |facets: &[u32]| log_lifts(&view, facets, params.lift_prior, proposals);
    let context = lifts(&query.contexts);
    let intent = lifts(&query.intent.into_iter().collect::<Vec<_>>());
    let time = lifts(&query.time.into_iter().collect::<Vec<_>>());
    let in_context = popularity_in_context(graph, query, proposals);
    let total = graph.total_popularity().max(f64::MIN_POSITIVE);
    let catalogue = graph.product_count().max(1) as f64;

    let mut out = Vec::with_capacity(proposals.len() * NAMES.len());
    for (i, p) in proposals.iter().enumerate() {
        let (own_weight, own_last) = own.get(&p.product).copied().unwrap_or((0.0, None));
        let share = graph.product_popularity(p.product) / total;
        let product_last = view.product_edges(p.product).next().map(|(_, e)| e.at_ms);
        out.extend_from_slice(&[
            p.cf_score as f32,
            own_weight as f32,
            hours_since(query.at_ms, own_last),
            context[i] as f32,
            intent[i] as f32,
            time[i] as f32,
            (share * catalogue).max(1e-9).ln() as f32,
            in_context[i] as f32,
            hours_since(query.at_ms, product_last),
            p.similarity,
        ]);
    }
    out
}

fn hours_since(now_ms: i64, then_ms: Option<i64>) -> f32 {
    match then_ms {
        Some(t) => (((now_ms - t).max(0) as f64) / HOUR_MS).min(NEVER_HOURS as f64) as f32,
        None => NEVER_HOURS,
    }
}

/// Per product of the customer's newest hyperedges: decayed weight and
/// the time of the newest use.
fn own_history(
    view: &View<'_>,
    query: &QueryVertices,
    half_life_hours: f64,
) -> FxHashMap<u32, (f64, Option<i64>)> {
    let mut own: FxHashMap<u32, (f64, Option<i64>)> = FxHashMap::default();
    let Some(customer) = query.customer else {
        return own;
    };
    let decay = std::f64::consts::LN_2 / (half_life_hours * HOUR_MS).max(1.0);
    for (_, edge) in view.customer_edges(customer).take(OWN_EDGES) {
        let age = (query.at_ms - edge.at_ms).max(0) as f64;
        let entry = own.entry(edge.product).or_insert((0.0, None));
        entry.0 += edge.weight as f64 * (-age * decay).exp();
        entry.1 = Some(entry.1.map_or(edge.at_ms, |t: i64| t.max(edge.at_ms)));
    }
    own
}

/// Natural log of each proposal's lift for `facets` (0 without facets).
fn log_lifts(view: &View<'_>, facets: &[u32], prior: f32, proposals: &[Proposal]) -> Vec<f64> {
    let mut ones: Vec<Candidate> = proposals
        .iter()
        .map(|p| Candidate {
            product: p.product,
            score: 1.0,
            evidence: Evidence::default(),
        })
        .collect();
    apply_lift(view, facets, prior, 1.0, &mut ones);
    ones.iter().map(|c| c.score.max(1e-12).ln()).collect()
}

/// Each proposal's share of the weight of each known query facet, summed.
fn popularity_in_context(
    graph: &Hypergraph,
    query: &QueryVertices,
    proposals: &[Proposal],
) -> Vec<f64> {
    let slot: FxHashMap<u32, usize> = proposals
        .iter()
        .enumerate()
        .map(|(i, p)| (p.product, i))
        .collect();
    let mut votes = vec![0.0; proposals.len()];
    for facet in query.facets() {
        let total = graph.facet_total(facet);
        if total <= 0.0 {
            continue;
        }
        for entry in graph.facet_products(facet) {
            if let Some(&i) = slot.get(&entry.product) {
                votes[i] += entry.weight() / total;
            }
        }
    }
    votes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypergraph::fixtures::add_at_location;

    #[test]
    fn context_features_favour_the_product_of_the_context() {
        let g = Hypergraph::new(1e9);
        add_at_location(&g, "mat", "gym", 30);
        add_at_location(&g, "sofa", "home", 30);
        let query = QueryVertices {
            contexts: vec![g.facet_id("location=gym").unwrap()],
            at_ms: 1_780_000_000_000 + 7_200_000,
            ..QueryVertices::default()
        };
        let proposals: Vec<Proposal> = ["mat", "sofa"]
            .iter()
            .map(|n| Proposal {
                product: g.product_id(n).unwrap(),
                cf_score: 0.0,
                similarity: 0.0,
            })
            .collect();
        let rows = compute(
            &g,
            &query,
            &proposals,
            FeatureParams {
                half_life_hours: 720.0,
                lift_prior: 5.0,
            },
        );
        let f = |row: usize, name: &str| rows[row * NAMES.len() + index(name).unwrap()];
        assert!(f(0, "context_lift") > 0.0 && f(1, "context_lift") < 0.0);
        assert!(f(0, "popularity_in_context") > f(1, "popularity_in_context"));
        assert_eq!(
            f(0, "own_hours_since"),
            NEVER_HOURS,
            "an unknown customer never chose"
        );
        assert!((f(0, "product_hours_since") - 2.0).abs() < 1e-3);
        assert_eq!(rows.len(), 2 * NAMES.len());
    }
}
