//! One evaluation: fit every method on the training rows, rank the whole
//! catalogue for every test query, score, and bootstrap.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::als::AlsParams;
use super::dataset::{self, EvalQuery, LogRow, SplitKind};
use super::methods::{
    self, AlsMethod, Ask, CfMethod, KnnMethod, Method, ModelMethod, OracleMethod, Training,
};
use super::metrics::{self, Estimate, QueryScore, Relevant};
use super::oracle::Oracle;
use super::synthetic::SyntheticSpec;
use super::tune::{self, Tuning};
use crate::candidates::CfParams;
use crate::hypergraph::{Hypergraph, NewEdge};
use crate::models::{LoadedModel, ModelError, ModelsConfig, Registry};

/// How deep every ranking goes: rankings files hold the top 100, and MRR
/// reads that far.
pub const DEPTH: usize = 100;

/// Validation queries used to score one candidate setting while tuning;
/// enough to separate settings, few enough to try dozens of them.
const TUNING_QUERIES: usize = 1_500;

#[derive(Debug, Clone)]
pub struct Options {
    /// The metrics' cut-off.
    pub k: usize,
    /// Take the customer's training products out of every ranking.
    pub exclude_seen: bool,
    /// Choose the collaborative filter's knobs on a validation split of
    /// the training rows; `tune_split` carves it.
    pub tune: Option<(SplitKind, f64)>,
    pub seed: u64,
    pub resamples: usize,
    /// Methods to run, by name (see [`methods::ALL`]).
    pub methods: Vec<String>,
    /// The collaborative filter's knobs when not tuned.
    pub cf: CfParams,
    pub popularity_half_life_hours: f64,
    /// Whether rows carry real timestamps; without, recency is not tuned.
    pub timed: bool,
    /// Keep every query's top [`DEPTH`] for a rankings file.
    pub keep_rankings: bool,
    /// The synthetic log's spec, to add the `oracle` method.
    pub oracle: Option<SyntheticSpec>,
    /// A model version (or root) and its settings, to add `hgnn` and
    /// `hgnn+ranker`.
    pub models: Option<(PathBuf, ModelsConfig)>,
}

/// What one method scored.
#[derive(Debug, Clone, Serialize)]
pub struct MethodResult {
    pub method: String,
    /// One estimate per name in [`metrics::NAMES`].
    pub metrics: FxHashMap<&'static str, Estimate>,
    pub fit_seconds: f64,
    pub eval_seconds: f64,
    #[serde(skip)]
    pub rankings: Vec<Vec<u32>>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub k: usize,
    pub train_rows: usize,
    pub queries: usize,
    pub customers_in_test: usize,
    pub catalogue: usize,
    pub exclude_seen: bool,
    pub resamples: usize,
    pub methods: Vec<MethodResult>,
    pub tuning: Option<Tuning>,
    /// Product names by id, for rankings files.
    #[serde(skip)]
    pub product_names: Vec<String>,
    #[serde(skip)]
    pub queries_asked: Vec<EvalQuery>,
}

/// Builds the hypergraph of `rows`, oldest first so incidence lists end
/// with the newest hyperedge as they do in a server.
pub fn build_graph(rows: &[LogRow], popularity_half_life_hours: f64) -> Arc<Hypergraph> {
    let mut edges: Vec<(&NewEdge, usize)> = rows.iter().map(|r| (&r.edge, r.order)).collect();
    edges.sort_by_key(|(e, order)| (e.at_ms, *order));
    let graph = Hypergraph::new(popularity_half_life_hours);
    let edges: Vec<NewEdge> = edges.into_iter().map(|(e, _)| e.clone()).collect();
    // Chunks keep the copy of a large log bounded.
    for chunk in edges.chunks(65_536) {
        graph.apply_batch(chunk).expect("validated rows apply");
    }
    Arc::new(graph)
}

/// A query resolved against the training graph.
pub struct Resolved<'q> {
    pub query: &'q EvalQuery,
    pub customer: Option<u32>,
    pub exclude: Vec<u32>,
    pub relevant: Relevant,
}

impl Resolved<'_> {
    pub fn ask(&self) -> Ask<'_> {
        Ask {
            query: self.query,
            customer: self.customer,
            exclude: &self.exclude,
        }
    }
}

pub fn resolve<'q>(
    training: &Training,
    queries: &'q [EvalQuery],
    exclude_seen: bool,
) -> Vec<Resolved<'q>> {
    let graph = &training.graph;
    queries
        .iter()
        .map(|query| {
            let customer = graph.customer_id(&query.customer);
            let exclude = match (exclude_seen, customer) {
                (true, Some(c)) => training
                    .matrix
                    .customer_row(c)
                    .iter()
                    .map(|e| e.0)
                    .collect(),
                _ => Vec::new(),
            };
            let relevant = Relevant {
                known: query
                    .relevant
                    .iter()
                    .filter_map(|p| graph.product_id(p))
                    .filter(|p| exclude.binary_search(p).is_err())
                    .collect(),
                total: query.relevant.len(),
            };
            Resolved {
                query,
                customer,
                exclude,
                relevant,
            }
        })
        .collect()
}

/// Ranks every query with `method` on all cores; each ranking with the
/// microseconds it took.
pub fn rank_all(method: &dyn Method, asks: &[Resolved<'_>], n: usize) -> Vec<(Vec<u32>, f64)> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let chunk = asks.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = asks
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|r| {
                            let started = Instant::now();
                            let ranking = method.rank(&r.ask(), n);
                            (ranking, started.elapsed().as_secs_f64() * 1e6)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("ranking threads do not panic"))
            .collect()
    })
}

/// Evaluates `options.methods` on `queries` after fitting on `train`.
/// `categories` maps product names to a category for diversity; without
/// it, diversity is `1 - cosine` of the products' customer vectors.
pub fn evaluate(
    train: Vec<LogRow>,
    queries: Vec<EvalQuery>,
    categories: Option<&FxHashMap<String, String>>,
    options: &Options,
) -> Result<Report, ModelError> {
    // Loaded first: a version that cannot serve fails the run at once.
    let model = match &options.models {
        Some((dir, config)) => Some(Registry::new(config.clone()).load(dir)?),
        None => None,
    };
    let tuning = options
        .tune
        .map(|(kind, fraction)| tune_on_validation(&train, kind, fraction, options));

    let training = Training::new(build_graph(&train, options.popularity_half_life_hours));
    let resolved = resolve(&training, &queries, options.exclude_seen);
    let graph = &training.graph;
    let catalogue = graph.product_count();
    let percentiles = metrics::popularity_percentiles(training.matrix.popularity());

    let started = Instant::now();
    let knn = KnnMethod::fit(&training);
    let knn_seconds = started.elapsed().as_secs_f64();
    let category_of: Option<Vec<Option<&String>>> = categories.map(|cats| {
        (0..catalogue as u32)
            .map(|p| cats.get(graph.product_name(p)))
            .collect()
    });
    let dissimilarity = |a: u32, b: u32| match &category_of {
        Some(cats) => match (cats[a as usize], cats[b as usize]) {
            (Some(x), Some(y)) => (x != y) as u8 as f64,
            _ => 1.0,
        },
        None => 1.0 - knn.model().similarity(a, b) as f64,
    };

    let mut names = options.methods.clone();
    if options.models.is_some() {
        names.extend(["hgnn".into(), "hgnn+ranker".into()]);
    }
    if options.oracle.is_some() {
        names.push("oracle".into());
    }
    let mut results = Vec::new();
    for name in &names {
        let started = Instant::now();
        let built: Box<dyn Method + '_>;
        let method: &dyn Method = match name.as_str() {
            // Fitted once above: diversity reads its similarities too.
            "item_knn" => &knn,
            "hypergraph_cf_tuned" if tuning.is_none() => continue,
            other => {
                let loaded = model.as_ref().zip(options.models.as_ref().map(|m| &m.1));
                built = fit_method(other, &training, tuning.as_ref(), loaded, options);
                built.as_ref()
            }
        };
        let fit_seconds = if name == "item_knn" {
            knn_seconds
        } else {
            started.elapsed().as_secs_f64()
        };

        let started = Instant::now();
        let ranked = rank_all(method, &resolved, DEPTH.max(options.k));
        let eval_seconds = started.elapsed().as_secs_f64();
        let scores: Vec<QueryScore> = ranked
            .iter()
            .zip(&resolved)
            .map(|((ranking, micros), r)| QueryScore {
                latency_us: *micros,
                ..metrics::score(ranking, &r.relevant, options.k, &percentiles, dissimilarity)
            })
            .collect();
        let tops: Vec<Vec<u32>> = ranked
            .iter()
            .map(|(r, _)| r[..r.len().min(options.k)].to_vec())
            .collect();
        let estimates =
            metrics::summarize(&scores, &tops, catalogue, options.resamples, options.seed);
        results.push(MethodResult {
            method: name.clone(),
            metrics: metrics::NAMES.iter().copied().zip(estimates).collect(),
            fit_seconds,
            eval_seconds,
            rankings: if options.keep_rankings {
                ranked.into_iter().map(|(r, _)| r).collect()
            } else {
                Vec::new()
            },
        });
    }

    let mut customers: Vec<&str> = queries.iter().map(|q| q.customer.as_str()).collect();
    customers.sort_unstable();
    customers.dedup();
    Ok(Report {
        k: options.k,
        train_rows: train.len(),
        queries: queries.len(),
        customers_in_test: customers.len(),
        catalogue,
        exclude_seen: options.exclude_seen,
        resamples: options.resamples,
        methods: results,
        tuning,
        product_names: (0..catalogue as u32)
            .map(|p| graph.product_name(p).to_string())
            .collect(),
        queries_asked: queries,
    })
}

/// Fits the method called `name` (any of [`methods::ALL`] but item-kNN).
fn fit_method<'t>(
    name: &str,
    training: &'t Training,
    tuning: Option<&Tuning>,
    model: Option<(&Arc<LoadedModel>, &ModelsConfig)>,
    options: &Options,
) -> Box<dyn Method + 't> {
    match name {
        "popular" => Box::new(methods::Popular(training)),
        "popular_in_context" => Box::new(methods::InContext(training)),
        "personal_popular" => Box::new(methods::PersonalPopular(training)),
        // Known gap: ALS and item-kNN keep fixed knobs (--tune tunes only
        // the hypergraph method), so these baselines may be under-tuned.
        "als" => Box::new(AlsMethod::fit(
            training,
            AlsParams {
                seed: options.seed,
                ..AlsParams::default()
            },
        )),
        "hypergraph_cf_tuned" => {
            let params = tuning.map_or_else(|| options.cf.clone(), |t| t.params.clone());
            Box::new(CfMethod::new("hypergraph_cf_tuned", training, params))
        }
        "hypergraph_cf" => Box::new(CfMethod::new("hypergraph_cf", training, options.cf.clone())),
        "hgnn" | "hgnn+ranker" => {
            let (model, config) = model.expect("model methods run with a loaded model");
            let params = tuning.map_or_else(|| options.cf.clone(), |t| t.params.clone());
            Box::new(ModelMethod::new(
                name,
                training,
                params,
                Arc::clone(model),
                config,
            ))
        }
        "oracle" => {
            let spec = options
                .oracle
                .as_ref()
                .expect("oracle only runs with a spec");
            Box::new(OracleMethod::new(training, Oracle::new(spec)))
        }
        other => unreachable!("method {other} is checked against methods::ALL first"),
    }
}

/// Carves a validation split out of the training rows and tunes the
/// collaborative filter on it; the test rows are never looked at.
fn tune_on_validation(
    train: &[LogRow],
    kind: SplitKind,
    fraction: f64,
    options: &Options,
) -> Tuning {
    let (fit, validation) = dataset::split(train.to_vec(), kind, fraction, options.seed ^ 0x7u64);
    let mut queries = dataset::queries(&validation);
    tune::sample(&mut queries, TUNING_QUERIES, options.seed);
    let training = Training::new(build_graph(&fit, options.popularity_half_life_hours));
    let resolved = resolve(&training, &queries, options.exclude_seen);
    tune::search(&training, &resolved, options.k, &options.cf, options.timed)
}
