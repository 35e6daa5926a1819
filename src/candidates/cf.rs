//! The context-aware hypergraph collaborative filter.
//!
//! A bounded, exact three-hop aggregation over the incidence chains:
//!
//! 1. the customer's newest hyperedges give their products ("seeds") and the
//!    reorder scores;
//! 2. the newest hyperedges of each seed product give similar customers;
//! 3. the newest hyperedges of the closest similar customers give the
//!    candidate products.
//!
//! Every hyperedge visited counts `weight x recency x affinity`, where the
//! affinity grows with how many of the query's context values, its intent
//! and its time bucket the hyperedge shares. So evidence from the query's
//! context outweighs evidence from elsewhere, while evidence from elsewhere
//! still counts: a customer never seen on mobile still gets an answer on
//! mobile. Each hop spreads a fixed mass, divided by the (unweighted)
//! activity of the vertex it passes through, so very popular products and
//! very active customers do not drown out the rest.
//!
//! Last, each candidate's score is multiplied by its context lift (see
//! `lift.rs`): how much more it is chosen with the query's facets than
//! overall, across all customers. The walk says what customers like this
//! one choose; the lift says what fits this moment.
//!
//! Work is bounded by the `max_*` parameters: at most
//! `max_customer_edges + max_seed_products x max_product_edges +
//! max_neighbors x max_neighbor_edges` hyperedges per call.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::lift;
use super::{Candidate, Evidence, QueryVertices};
use crate::context::TimeBucket;
use crate::hypergraph::{EdgeRecord, View};

/// The knobs of the collaborative filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CfParams {
    /// Evidence loses half its weight every this many hours.
    pub half_life_hours: f64,
    /// Extra affinity when all of the query's context values match.
    pub context_weight: f32,
    /// Extra affinity when the intent matches.
    pub intent_weight: f32,
    /// Extra affinity when the time bucket matches (half for half a match).
    pub time_weight: f32,
    /// How much the customer's own items count against what similar
    /// customers chose (both normalized to 1 first).
    pub reorder_weight: f32,
    /// Exponent on the context lift of each candidate (0 turns it off);
    /// see `lift.rs`.
    pub context_lift: f32,
    /// Pseudo-count that shrinks lifts resting on few hyperedges towards 1.
    pub lift_prior: f32,
    /// Newest hyperedges of the customer read.
    pub max_customer_edges: usize,
    /// Strongest products of the customer expanded.
    pub max_seed_products: usize,
    /// Newest hyperedges read per seed product.
    pub max_product_edges: usize,
    /// Closest similar customers expanded.
    pub max_neighbors: usize,
    /// Newest hyperedges read per similar customer.
    pub max_neighbor_edges: usize,
}

impl Default for CfParams {
    fn default() -> Self {
        Self {
            half_life_hours: 24.0 * 30.0,
            context_weight: 3.0,
            intent_weight: 1.0,
            time_weight: 1.0,
            reorder_weight: 0.3,
            context_lift: 1.0,
            lift_prior: 5.0,
            max_customer_edges: 200,
            max_seed_products: 20,
            max_product_edges: 100,
            max_neighbors: 50,
            max_neighbor_edges: 30,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HypergraphCf {
    params: CfParams,
}

/// Per-product accumulator of the third hop.
#[derive(Default)]
struct Collected {
    score: f64,
    customers: u32,
    in_context: u32,
    last_customer: Option<u32>,
}

/// Per-product accumulator of the customer's own history.
#[derive(Default, Clone, Copy)]
struct Own {
    score: f64,
    uses: u32,
    last_at_ms: i64,
}

impl HypergraphCf {
    pub fn new(params: CfParams) -> Self {
        Self { params }
    }

    pub fn params(&self) -> &CfParams {
        &self.params
    }

    /// Scores products for the query's customer; empty when the customer is
    /// unknown or has no hyperedges in this view. Best first.
    pub fn recommend(&self, view: &View<'_>, query: &QueryVertices) -> Vec<Candidate> {
        let Some(customer) = query.customer else {
            return Vec::new();
        };
        let scorer = Affinity::new(&self.params, view, query);

        let own = self.own_history(view, customer, &scorer);
        if own.is_empty() {
            return Vec::new();
        }
        let seeds = top_by(
            own.iter().map(|(&p, o)| (p, o.score)),
            self.params.max_seed_products,
        );
        let neighbors = self.similar_customers(view, customer, &seeds, &scorer);
        let collected = self.collect(view, &neighbors, &scorer);

        let mut candidates = self.blend(collected, own);
        lift::apply(
            view,
            &query.facets(),
            self.params.lift_prior,
            self.params.context_lift,
            &mut candidates,
        );
        candidates.retain(|c| c.score > 0.0);
        super::sort_best_first(&mut candidates);
        candidates
    }

    /// Hop 1: the customer's own products, scored by affinity to the query.
    fn own_history(
        &self,
        view: &View<'_>,
        customer: u32,
        scorer: &Affinity<'_, '_>,
    ) -> FxHashMap<u32, Own> {
        let mut ids = Vec::with_capacity(self.params.max_customer_edges);
        view.newest_customer_edges(customer, self.params.max_customer_edges, &mut ids);
        let mut own: FxHashMap<u32, Own> = FxHashMap::default();
        for &id in &ids {
            let edge = view.edge(id);
            let entry = own.entry(edge.product).or_default();
            entry.score += (scorer.strength(edge) * scorer.affinity(edge)) as f64;
            entry.uses += 1;
            entry.last_at_ms = entry.last_at_ms.max(edge.at_ms);
        }
        own
    }

    /// Hop 2: customers who share the seed products, in matching contexts.
    fn similar_customers(
        &self,
        view: &View<'_>,
        customer: u32,
        seeds: &[(u32, f64)],
        scorer: &Affinity<'_, '_>,
    ) -> Vec<(u32, f64)> {
        let seed_total: f64 = seeds.iter().map(|s| s.1).sum();
        let mut neighbors: FxHashMap<u32, f64> = FxHashMap::default();
        let mut ids = Vec::with_capacity(self.params.max_product_edges);
        let mut visited = Vec::with_capacity(self.params.max_product_edges);
        for &(product, seed) in seeds {
            view.newest_product_edges(product, self.params.max_product_edges, &mut ids);
            visited.clear();
            let mut mass = 0.0;
            for &id in &ids {
                let edge = view.edge(id);
                if edge.customer == customer {
                    continue;
                }
                let strength = scorer.strength(edge);
                mass += strength;
                visited.push((edge.customer, strength * scorer.affinity(edge)));
            }
            if mass <= 0.0 {
                continue;
            }
            let share = seed / seed_total / mass as f64;
            for &(other, value) in &visited {
                *neighbors.entry(other).or_default() += share * value as f64;
            }
        }
        top_by(neighbors.into_iter(), self.params.max_neighbors)
    }

    /// Hop 3: what the similar customers chose, in matching contexts.
    fn collect(
        &self,
        view: &View<'_>,
        neighbors: &[(u32, f64)],
        scorer: &Affinity<'_, '_>,
    ) -> FxHashMap<u32, Collected> {
        let mut collected: FxHashMap<u32, Collected> = FxHashMap::default();
        let mut ids = Vec::with_capacity(self.params.max_neighbor_edges);
        let mut visited: Vec<(&EdgeRecord, f32)> =
            Vec::with_capacity(self.params.max_neighbor_edges);
        for &(other, closeness) in neighbors {
            view.newest_customer_edges(other, self.params.max_neighbor_edges, &mut ids);
            visited.clear();
            visited.extend(ids.iter().map(|&id| {
                let edge = view.edge(id);
                (edge, scorer.strength(edge))
            }));
            let mass: f32 = visited.iter().map(|v| v.1).sum();
            if mass <= 0.0 {
                continue;
            }
            for &(edge, strength) in &visited {
                let entry = collected.entry(edge.product).or_default();
                entry.score += closeness * (strength * scorer.affinity(edge) / mass) as f64;
                if entry.last_customer != Some(other) {
                    entry.last_customer = Some(other);
                    entry.customers += 1;
                    entry.in_context += scorer.in_context(edge) as u32;
                }
            }
        }
        collected
    }

    /// Normalizes both signals to a maximum of 1 and adds them up.
    fn blend(
        &self,
        collected: FxHashMap<u32, Collected>,
        own: FxHashMap<u32, Own>,
    ) -> Vec<Candidate> {
        let max_collected = collected.values().map(|c| c.score).fold(0.0, f64::max);
        let max_own = own.values().map(|o| o.score).fold(0.0, f64::max);
        let reorder = self.params.reorder_weight as f64;

        let mut out: FxHashMap<u32, Candidate> = FxHashMap::default();
        for (product, c) in collected {
            let evidence = Evidence {
                similar_customers: c.customers,
                similar_in_context: c.in_context,
                ..Evidence::default()
            };
            let score = if max_collected > 0.0 {
                c.score / max_collected
            } else {
                0.0
            };
            out.insert(
                product,
                Candidate {
                    product,
                    score,
                    evidence,
                },
            );
        }
        for (product, o) in own {
            let entry = out.entry(product).or_insert(Candidate {
                product,
                score: 0.0,
                evidence: Evidence::default(),
            });
            if max_own > 0.0 {
                entry.score += reorder * o.score / max_own;
            }
            entry.evidence.own_uses = o.uses;
            entry.evidence.own_last_at_ms = o.last_at_ms;
        }

        out.into_values().collect()
    }
}

/// How strongly one hyperedge speaks for the query.
struct Affinity<'a, 'g> {
    params: &'a CfParams,
    view: &'a View<'g>,
    query: &'a QueryVertices,
    /// ln 2 / half-life, per millisecond.
    decay_per_ms: f64,
}

impl<'a, 'g> Affinity<'a, 'g> {
    fn new(params: &'a CfParams, view: &'a View<'g>, query: &'a QueryVertices) -> Self {
        let half_life_ms = (params.half_life_hours * 3_600_000.0).max(1.0);
        Self {
            params,
            view,
            query,
            decay_per_ms: std::f64::consts::LN_2 / half_life_ms,
        }
    }

    /// Weight times recency: evidence regardless of context.
    fn strength(&self, edge: &EdgeRecord) -> f32 {
        let age_ms = (self.query.at_ms - edge.at_ms).max(0) as f64;
        edge.weight * (-age_ms * self.decay_per_ms).exp() as f32
    }

    /// 1 plus a bonus for each part of the query the hyperedge shares.
    fn affinity(&self, edge: &EdgeRecord) -> f32 {
        let mut affinity = 1.0 + self.params.context_weight * self.context_share(edge);
        if self.query.intent == Some(edge.intent) {
            affinity += self.params.intent_weight;
        }
        affinity + self.params.time_weight * TimeBucket::similarity(edge.bucket, self.query.bucket)
    }

    /// Fraction of the query's known context values the hyperedge carries.
    fn context_share(&self, edge: &EdgeRecord) -> f32 {
        let wanted = &self.query.contexts;
        if wanted.is_empty() {
            return 0.0;
        }
        let hits = self
            .view
            .contexts(edge)
            .filter(|f| wanted.contains(f))
            .count();
        hits as f32 / wanted.len() as f32
    }

    /// Whether the hyperedge happened in a context like the query's: at
    /// least half of its context values, or the same time bucket when the
    /// query has no known context values.
    fn in_context(&self, edge: &EdgeRecord) -> bool {
        if self.query.contexts.is_empty() {
            return edge.bucket == self.query.bucket;
        }
        self.context_share(edge) >= 0.5
    }
}

/// The `k` entries with the highest value, best first.
fn top_by(entries: impl Iterator<Item = (u32, f64)>, k: usize) -> Vec<(u32, f64)> {
    let mut all: Vec<(u32, f64)> = entries.filter(|e| e.1 > 0.0).collect();
    let order = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if all.len() > k && k > 0 {
        all.select_nth_unstable_by(k - 1, order);
    }
    all.truncate(k);
    all.sort_unstable_by(order);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DayPart;
    use crate::hypergraph::{Hypergraph, NewEdge};

    const HOUR: i64 = 3_600_000;
    const NOW: i64 = 1_780_000_000_000;

    fn add(g: &Hypergraph, customer: &str, product: &str, contexts: &[&str]) {
        g.apply(&NewEdge {
            customer: customer.into(),
            product: product.into(),
            contexts: contexts.iter().map(|c| c.to_string()).collect(),
            intent: "buy".into(),
            bucket: TimeBucket {
                part: DayPart::Evening,
                weekend: false,
            },
            weight: 1.0,
            at_ms: NOW - HOUR,
        })
        .unwrap();
    }

    fn query(g: &Hypergraph, customer: &str, contexts: &[&str]) -> QueryVertices {
        QueryVertices {
            customer: g.customer_id(customer),
            contexts: contexts.iter().filter_map(|c| g.facet_id(c)).collect(),
            bucket: TimeBucket {
                part: DayPart::Morning,
                weekend: true,
            }
            .code(),
            at_ms: NOW,
            ..QueryVertices::default()
        }
    }

    /// Two neighbours share the customer's product; one chose "mat" at the
    /// gym, the other "sofa" at home. The query's context decides which
    /// neighbour's choice ranks first.
    #[test]
    fn the_query_context_decides_which_neighbour_evidence_wins() {
        let g = Hypergraph::new(24.0);
        add(&g, "me", "shoes", &[]);
        add(&g, "gym_fan", "shoes", &["location=gym"]);
        add(&g, "gym_fan", "mat", &["location=gym"]);
        add(&g, "homebody", "shoes", &["location=home"]);
        add(&g, "homebody", "sofa", &["location=home"]);

        let cf = HypergraphCf::new(CfParams {
            reorder_weight: 0.0,
            ..CfParams::default()
        });
        let first = |ctx: &[&str]| {
            let picks = cf.recommend(&g.view(), &query(&g, "me", ctx));
            let best = picks
                .iter()
                .find(|c| g.product_name(c.product) != "shoes")
                .unwrap();
            g.product_name(best.product).to_string()
        };
        assert_eq!(first(&["location=gym"]), "mat");
        assert_eq!(first(&["location=home"]), "sofa");
    }

    #[test]
    fn own_items_come_back_for_reorder_with_their_use_count() {
        let g = Hypergraph::new(24.0);
        add(&g, "me", "coffee", &[]);
        add(&g, "me", "coffee", &[]);
        let cf = HypergraphCf::new(CfParams::default());
        let picks = cf.recommend(&g.view(), &query(&g, "me", &[]));
        assert_eq!(picks.len(), 1);
        assert_eq!(picks[0].evidence.own_uses, 2);
    }

    #[test]
    fn unknown_customers_get_nothing_from_cf() {
        let g = Hypergraph::new(24.0);
        add(&g, "me", "coffee", &[]);
        let cf = HypergraphCf::new(CfParams::default());
        assert!(cf
            .recommend(&g.view(), &query(&g, "stranger", &[]))
            .is_empty());
    }

    #[test]
    fn top_by_keeps_the_largest_values_in_order() {
        let top = top_by([(1, 0.5), (2, 3.0), (3, 1.0), (4, 0.0)].into_iter(), 2);
        assert_eq!(top, [(2, 3.0), (3, 1.0)]);
    }
}
