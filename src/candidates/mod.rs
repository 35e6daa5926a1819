//! Candidate sources: each proposes scored products for one query.
//!
//! - [`HypergraphCf`]: "in this context, customers like you chose…", a
//!   bounded walk customer -> products -> similar customers -> products,
//!   weighted by how well each hyperedge matches the query, plus reorder.
//! - [`PopularInContext`]: what is popular for the query's context values,
//!   intent and time bucket; with none of them known, popular overall.
//!
//! Sources read the hypergraph through a `View` and return product ids;
//! names, rules and reasons are the engine's business.

mod cf;
mod lift;
mod popular;

pub use cf::{CfParams, HypergraphCf};
pub use lift::apply as apply_lift;
pub use popular::PopularInContext;

use crate::context::TimeBucket;
use crate::hypergraph::{intent_facet, time_facet, Hypergraph};
use crate::validate::Query;

/// A query resolved to vertex ids; values the graph has never seen are
/// dropped, since no evidence can mention them.
#[derive(Debug, Clone, Default)]
pub struct QueryVertices {
    pub customer: Option<u32>,
    /// Known context value facets.
    pub contexts: Vec<u32>,
    pub intent: Option<u32>,
    pub time: Option<u32>,
    /// `TimeBucket::code` of the query time.
    pub bucket: u8,
    pub at_ms: i64,
}

impl QueryVertices {
    pub fn resolve(graph: &Hypergraph, query: &Query) -> Self {
        Self {
            customer: graph.customer_id(&query.customer),
            contexts: query
                .context
                .values
                .iter()
                .filter_map(|c| graph.facet_id(c))
                .collect(),
            intent: query
                .intent
                .as_deref()
                .and_then(|i| graph.facet_id(&intent_facet(i))),
            time: graph.facet_id(&time_facet(query.bucket)),
            bucket: query.bucket.code(),
            at_ms: query.at_ms,
        }
    }

    /// Every known facet of the query: context values, intent, time bucket.
    pub fn facets(&self) -> Vec<u32> {
        let mut facets = self.contexts.clone();
        facets.extend(self.intent);
        facets.extend(self.time);
        facets
    }

    pub fn time_bucket(&self) -> TimeBucket {
        TimeBucket::from_code(self.bucket)
    }
}

/// What supports a candidate; turned into reasons when asked to explain.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Evidence {
    /// Distinct similar customers who chose the product.
    pub similar_customers: u32,
    /// Of those, how many chose it in a context like the query's.
    pub similar_in_context: u32,
    /// Times the customer chose it before, and when last.
    pub own_uses: u32,
    pub own_last_at_ms: i64,
    /// 1-based rank in the popularity list that proposed it.
    pub popular_rank: u32,
    /// Similarity of its HGNN embedding to the query embedding, when the
    /// model stage ranked it (0 otherwise).
    pub model_similarity: f32,
}

/// A proposed product with its score (higher is better, comparable only
/// within one source's answer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub product: u32,
    pub score: f64,
    pub evidence: Evidence,
}

/// Sorts best first; ties go to the lower product id so answers are stable.
pub fn sort_best_first(candidates: &mut [Candidate]) {
    candidates.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.product.cmp(&b.product)));
}

/// Keeps the `k` best candidates, best first, without sorting the rest.
pub fn keep_best(candidates: &mut Vec<Candidate>, k: usize) {
    if candidates.len() > k && k > 0 {
        candidates.select_nth_unstable_by(k - 1, |a, b| {
            b.score.total_cmp(&a.score).then(a.product.cmp(&b.product))
        });
    }
    candidates.truncate(k);
    sort_best_first(candidates);
}
