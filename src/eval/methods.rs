//! The methods an evaluation compares, behind one trait.
//!
//! Every method ranks the whole catalogue of the training log (products are
//! numbered as the training hypergraph numbers them) and fills whatever it
//! cannot rank with popular products, so each answers every query with a
//! full list and metrics compare rankings, not coverage of a fallback.
//!
//! `hypergraph_cf` goes through [`Engine::recommend`], the code that serves
//! Recommend, so what is measured here is what the server answers.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::als::{Als, AlsParams};
use super::dataset::EvalQuery;
use super::knn::ItemKnn;
use super::matrix::Interactions;
use super::oracle::{Oracle, Situation};
use crate::candidates::{CfParams, PopularInContext, QueryVertices};
use crate::config::Config;
use crate::engine::{Decision, Engine};
use crate::hypergraph::Hypergraph;
use crate::models::{LoadedModel, ModelsConfig};
use crate::ranking::stage;
use crate::validate::Query;

/// Every method, in the order reports list them.
pub const ALL: [&str; 7] = [
    "popular",
    "popular_in_context",
    "personal_popular",
    "item_knn",
    "als",
    "hypergraph_cf",
    "hypergraph_cf_tuned",
];

/// One query as methods see it: the question, the customer's id in the
/// training graph, and the products that must not be returned.
pub struct Ask<'a> {
    pub query: &'a EvalQuery,
    pub customer: Option<u32>,
    /// Sorted product ids.
    pub exclude: &'a [u32],
}

pub trait Method: Send + Sync {
    fn name(&self) -> &str;

    /// The best `n` products for the query, best first, none excluded.
    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32>;
}

/// What every method is fitted from: the training hypergraph and its
/// context-blind matrix.
pub struct Training {
    pub graph: Arc<Hypergraph>,
    pub matrix: Interactions,
    pub popular: Vec<u32>,
}

impl Training {
    pub fn new(graph: Arc<Hypergraph>) -> Self {
        let matrix = Interactions::from_graph(&graph);
        let popular = matrix.popular_order();
        Self {
            graph,
            matrix,
            popular,
        }
    }

    /// The server's query for an evaluation query.
    pub fn server_query(&self, ask: &Ask<'_>, limit: usize) -> Query {
        let names = ask.exclude.iter().map(|&p| self.graph.product_name(p));
        ask.query
            .to_query(limit, names.map(str::to_string).collect())
    }

    /// The training-graph ids of an answer's products, in order.
    fn ids<'d>(&'d self, decision: &'d Decision) -> impl Iterator<Item = u32> + 'd {
        let names = decision.items.iter().map(|item| item.product_id.as_str());
        names.filter_map(|name| self.graph.product_id(name))
    }
}

/// A ranked list under construction: no repeats, no excluded products,
/// at most `n`, then popular products for what is left.
struct Ranked<'a> {
    items: Vec<u32>,
    seen: FxHashSet<u32>,
    exclude: &'a [u32],
    n: usize,
}

impl<'a> Ranked<'a> {
    fn new(ask: &Ask<'a>, n: usize) -> Self {
        Self {
            items: Vec::with_capacity(n),
            seen: FxHashSet::default(),
            exclude: ask.exclude,
            n,
        }
    }

    fn extend(&mut self, products: impl IntoIterator<Item = u32>) {
        for p in products {
            if self.items.len() >= self.n {
                return;
            }
            if self.exclude.binary_search(&p).is_err() && self.seen.insert(p) {
                self.items.push(p);
            }
        }
    }

    fn finish(mut self, popular: &[u32]) -> Vec<u32> {
        self.extend(popular.iter().copied());
        self.items
    }
}

/// Products by descending score (ties: lower id).
fn by_score(scores: impl IntoIterator<Item = (u32, f64)>) -> Vec<u32> {
    let mut all: Vec<(u32, f64)> = scores.into_iter().filter(|s| s.1 > 0.0).collect();
    all.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.into_iter().map(|s| s.0).collect()
}

/// Most chosen overall.
pub struct Popular<'t>(pub &'t Training);

impl Method for Popular<'_> {
    fn name(&self) -> &str {
        "popular"
    }

    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32> {
        Ranked::new(ask, n).finish(&self.0.popular)
    }
}

/// Most chosen with the query's context values, intent and time bucket:
/// the engine's own source for unknown customers.
pub struct InContext<'t>(pub &'t Training);

impl Method for InContext<'_> {
    fn name(&self) -> &str {
        "popular_in_context"
    }

    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32> {
        let t = self.0;
        let query = t.server_query(ask, n);
        let vertices = QueryVertices {
            customer: None,
            ..QueryVertices::resolve(&t.graph, &query)
        };
        let (picks, _) = PopularInContext.recommend(&t.graph, &vertices, n, ask.exclude);
        let mut ranked = Ranked::new(ask, n);
        ranked.extend(picks.iter().map(|c| c.product));
        ranked.finish(&t.popular)
    }
}

/// The customer's own products, most used first.
pub struct PersonalPopular<'t>(pub &'t Training);

impl Method for PersonalPopular<'_> {
    fn name(&self) -> &str {
        "personal_popular"
    }

    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32> {
        let t = self.0;
        let own = ask.customer.map_or(&[][..], |c| t.matrix.customer_row(c));
        let mut ranked = Ranked::new(ask, n);
        ranked.extend(by_score(own.iter().map(|&(p, w)| (p, w as f64))));
        ranked.finish(&t.popular)
    }
}

pub struct KnnMethod<'t> {
    training: &'t Training,
    knn: ItemKnn,
}

impl<'t> KnnMethod<'t> {
    pub fn fit(training: &'t Training) -> Self {
        Self {
            knn: ItemKnn::fit(&training.matrix),
            training,
        }
    }

    pub fn model(&self) -> &ItemKnn {
        &self.knn
    }
}

impl Method for KnnMethod<'_> {
    fn name(&self) -> &str {
        "item_knn"
    }

    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32> {
        let t = self.training;
        let row = ask.customer.map_or(&[][..], |c| t.matrix.customer_row(c));
        let scores: FxHashMap<u32, f32> = self.knn.scores(row);
        let mut ranked = Ranked::new(ask, n);
        ranked.extend(by_score(scores.into_iter().map(|(p, s)| (p, s as f64))));
        ranked.finish(&t.popular)
    }
}

pub struct AlsMethod<'t> {
    training: &'t Training,
    als: Als,
}

impl<'t> AlsMethod<'t> {
    pub fn fit(training: &'t Training, params: AlsParams) -> Self {
        Self {
            als: Als::fit(&training.matrix, params),
            training,
        }
    }
}

impl Method for AlsMethod<'_> {
    fn name(&self) -> &str {
        "als"
    }

    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32> {
        let mut ranked = Ranked::new(ask, n);
        if let Some(scores) = self.als.scores(ask.customer) {
            // Factor scores may be negative; order, not sign, matters.
            let mut order: Vec<u32> = (0..scores.len() as u32).collect();
            let cmp = |a: &u32, b: &u32| {
                scores[*b as usize]
                    .total_cmp(&scores[*a as usize])
                    .then(a.cmp(b))
            };
            let keep = (n + ask.exclude.len()).min(order.len());
            if keep > 0 && keep < order.len() {
                order.select_nth_unstable_by(keep - 1, cmp);
                order.truncate(keep);
            }
            order.sort_unstable_by(cmp);
            ranked.extend(order);
        }
        ranked.finish(&self.training.popular)
    }
}

/// The engine's recommender with the given knobs.
pub struct CfMethod<'t> {
    name: &'static str,
    training: &'t Training,
    engine: Engine,
}

impl<'t> CfMethod<'t> {
    pub fn new(name: &'static str, training: &'t Training, params: CfParams) -> Self {
        Self {
            name,
            engine: Engine::new(Arc::clone(&training.graph), params),
            training,
        }
    }
}

impl Method for CfMethod<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32> {
        let t = self.training;
        let decision = self.engine.recommend(&t.server_query(ask, n));
        let mut ranked = Ranked::new(ask, n);
        ranked.extend(t.ids(&decision));
        ranked.finish(&t.popular)
    }
}

/// The generator's own probabilities (synthetic logs only; see
/// `oracle.rs`): the ideal against which the others are read.
pub struct OracleMethod<'t> {
    training: &'t Training,
    oracle: Oracle,
}

impl<'t> OracleMethod<'t> {
    pub fn new(training: &'t Training, oracle: Oracle) -> Self {
        Self { training, oracle }
    }
}

impl Method for OracleMethod<'_> {
    fn name(&self) -> &str {
        "oracle"
    }

    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32> {
        let t = self.training;
        let q = ask.query;
        let value = |key: &str| {
            q.contexts
                .iter()
                .find_map(|c| c.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
        };
        let history: Vec<usize> = ask.customer.map_or_else(Vec::new, |c| {
            t.graph
                .view()
                .customer_edges(c)
                .filter_map(|(_, e)| self.oracle.product_index(t.graph.product_name(e.product)))
                .collect()
        });
        let situation = Situation {
            customer: &q.customer,
            device: value("device"),
            location: value("location"),
            weather: value("weather"),
            bucket: q.bucket,
            intent: &q.intent,
            history: &history,
        };
        let mut ranked = Ranked::new(ask, n);
        if let Some(probabilities) = self.oracle.probabilities(&situation) {
            let scored = probabilities.iter().enumerate().filter_map(|(i, &p)| {
                let id = t.graph.product_id(self.oracle.product_name(i))?;
                Some((id, p))
            });
            ranked.extend(by_score(scored));
        }
        ranked.finish(&t.popular)
    }
}

/// The learned models: `hgnn` ranks by HNSW similarity to the query
/// embedding alone; `hgnn+ranker` is the full served pipeline
/// ([`Engine::recommend`] with the model version serving).
pub struct ModelMethod<'t> {
    name: &'static str,
    training: &'t Training,
    engine: Engine,
    model: Arc<LoadedModel>,
}

impl<'t> ModelMethod<'t> {
    pub fn new(
        name: &str,
        training: &'t Training,
        params: CfParams,
        model: Arc<LoadedModel>,
        models: &ModelsConfig,
    ) -> Self {
        let config = Config {
            recommend: params,
            models: models.clone(),
            ..Config::default()
        };
        let engine = Engine::from_config(Arc::clone(&training.graph), &config);
        engine.models().serve(Arc::clone(&model));
        Self {
            name: if name == "hgnn" {
                "hgnn"
            } else {
                "hgnn+ranker"
            },
            training,
            engine,
            model,
        }
    }
}

impl Method for ModelMethod<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn rank(&self, ask: &Ask<'_>, n: usize) -> Vec<u32> {
        let t = self.training;
        let query = t.server_query(ask, n);
        let mut ranked = Ranked::new(ask, n);
        if self.name == "hgnn" {
            let vertices = QueryVertices::resolve(&t.graph, &query);
            if let Ok(embedding) = stage::embed(&t.graph, &self.model, &vertices) {
                let k = n + ask.exclude.len();
                let hits = stage::retrieve(&t.graph, &self.model, &embedding, k, k.max(64));
                ranked.extend(hits.into_iter().map(|h| h.0));
            }
        } else {
            let decision = self.engine.recommend(&query);
            ranked.extend(t.ids(&decision));
        }
        ranked.finish(&t.popular)
    }
}
