//! The decision pipeline: from a checked query to a ranked answer, and from
//! a checked interaction to the hypergraph.
//!
//! Recommend runs the hypergraph collaborative filter for a known customer,
//! fills any remaining places from popular-in-context (or popular overall
//! when no facet of the query is known), drops excluded products, and
//! reports which source served. The core never sees gRPC types.
//!
//! With a model version loaded (see `models`), the model stage then ranks
//! candidates from every source with the learned ranker (`hgnn+ranker`).
//!
//! Served calls ([`Engine::recommend_within`]) also run under a budget: the
//! response cache answers first; the collaborative filter and the model
//! stage each run behind their own circuit breaker with a deadline cut from
//! the budget, and when a stage is open, late or failing the answer comes
//! from the next source in the chain (`hgnn+ranker` -> `hypergraph_cf` ->
//! `popular_in_context` -> `popular`), marked `degraded`.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tracing::{info_span, Instrument};

use crate::cache::ResponseCache;
use crate::candidates::{Candidate, CfParams, HypergraphCf, PopularInContext, QueryVertices};
use crate::config::Config;
use crate::context::TimeBucket;
use crate::explain;
use crate::hypergraph::{GraphError, Hypergraph, NewEdge};
use crate::idempotency::RecentEvents;
use crate::metrics::{Metrics, ResultLabel, SourceLabel, StageLabel};
use crate::models::{LoadedModel, Registry};
use crate::ranking::features::FeatureParams;
use crate::ranking::stage;
use crate::resilience::breaker::{Breaker, BreakerConfig};
use crate::resilience::budget::Budget;
use crate::resilience::faults::Faults;
use crate::storage::{StorageError, Store, WalError};
use crate::validate::Query;

/// What produced an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    HgnnRanker,
    HypergraphCf,
    PopularInContext,
    Popular,
    Cache,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::HgnnRanker => "hgnn+ranker",
            Source::HypergraphCf => "hypergraph_cf",
            Source::PopularInContext => "popular_in_context",
            Source::Popular => "popular",
            Source::Cache => "cache",
        }
    }
}

/// One recommended product.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommended {
    pub product_id: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// The answer to one Recommend call.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub items: Vec<Recommended>,
    pub source: Source,
    /// A better source was meant to serve but could not.
    pub degraded: bool,
    /// The model version that scored the answer, when a model did.
    pub model_version: Option<String>,
    pub bucket: TimeBucket,
}

/// What a ranking stage produced and who produced it.
struct Served {
    picks: Vec<Candidate>,
    source: Source,
    model_version: Option<String>,
}

impl Served {
    fn cf(picks: Vec<Candidate>) -> Self {
        Self {
            picks,
            source: Source::HypergraphCf,
            model_version: None,
        }
    }

    fn model(picks: Vec<Candidate>, model: &LoadedModel) -> Self {
        Self {
            picks,
            source: Source::HgnnRanker,
            model_version: Some(model.version.clone()),
        }
    }
}

/// The outcome of recording one interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub sequence: u64,
    /// The event id was seen before: nothing was applied, and `sequence` is
    /// the one the first delivery got.
    pub duplicate: bool,
}

/// Why an interaction could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The write-ahead log refused or failed: nothing more can be accepted
    /// durably. Callers should answer unavailable and retry elsewhere.
    #[error(transparent)]
    Log(#[from] WalError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Nothing at all could be answered within the budget.
#[derive(Debug, thiserror::Error)]
#[error("the call's deadline had passed before any source could answer; retry with a longer one")]
pub struct DeadlineExceeded;

/// The stage name of the collaborative filter, for breakers and metrics.
const CF_STAGE: &str = "hypergraph_cf";
/// The stage name of the model stage.
const MODEL_STAGE: &str = "hgnn+ranker";

pub struct Engine {
    graph: Arc<Hypergraph>,
    cf: Arc<HypergraphCf>,
    popular: PopularInContext,
    cache: Option<ResponseCache>,
    cf_breaker: Breaker,
    /// The model versions; empty when none is configured.
    models: Arc<Registry>,
    model_breaker: Breaker,
    faults: Faults,
    budget: Duration,
    cf_budget: Duration,
    model_budget: Duration,
    metrics: Arc<Metrics>,
    /// The ingest lock. Held across the idempotency check, the log append
    /// and the apply, so log order is sequence order and two deliveries of
    /// one event racing each other still apply it once. Writers serialize
    /// on the graph's own lock anyway, so this costs no parallelism.
    recent: Mutex<RecentEvents>,
    /// The data directory, when interactions must survive a restart.
    store: Option<Store>,
}

/// Default number of recent event ids remembered for idempotency.
pub const DEFAULT_IDEMPOTENCY_WINDOW: usize = 100_000;

impl Engine {
    pub fn new(graph: Arc<Hypergraph>, params: CfParams) -> Self {
        Self::with_idempotency_window(graph, params, DEFAULT_IDEMPOTENCY_WINDOW)
    }

    pub fn with_idempotency_window(
        graph: Arc<Hypergraph>,
        params: CfParams,
        window: usize,
    ) -> Self {
        let config = Config {
            recommend: params,
            server: crate::config::ServerConfig {
                idempotency_window: window,
                ..Default::default()
            },
            ..Config::default()
        };
        Self::from_config(graph, &config)
    }

    /// The engine as `config` describes it (the data directory aside: see
    /// [`Engine::with_store`]).
    pub fn from_config(graph: Arc<Hypergraph>, config: &Config) -> Self {
        let breaker_config: BreakerConfig = config.breaker.clone();
        Self {
            graph,
            cf: Arc::new(HypergraphCf::new(config.recommend.clone())),
            popular: PopularInContext,
            cache: ResponseCache::new(&config.cache),
            cf_breaker: Breaker::new(CF_STAGE, breaker_config.clone()),
            models: Arc::new(Registry::new(config.models.clone())),
            model_breaker: Breaker::new(MODEL_STAGE, breaker_config),
            faults: Faults::new(&config.faults),
            budget: Duration::from_millis(config.serving.budget_ms),
            cf_budget: Duration::from_millis(config.serving.cf_budget_ms),
            model_budget: Duration::from_millis(config.serving.model_budget_ms),
            metrics: Arc::new(Metrics::new()),
            recent: Mutex::new(RecentEvents::new(config.server.idempotency_window)),
            store: None,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Fault injection switches (tests only).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The configured total budget of one Recommend call.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// Records through `store` from now on; `recent` is the idempotency
    /// window recovery found, oldest first.
    pub fn with_store(mut self, store: Store, recent: &[(String, u64)]) -> Self {
        let window = self.recent.get_mut();
        for (event_id, sequence) in recent {
            window.remember(event_id, *sequence);
        }
        self.store = Some(store);
        self
    }

    pub fn graph(&self) -> &Arc<Hypergraph> {
        &self.graph
    }

    /// The model registry: load, swap and report model versions.
    pub fn models(&self) -> &Arc<Registry> {
        &self.models
    }

    /// Logs and applies one interaction, unless `event_id` was recorded
    /// recently. With a store, the caller must [`Engine::wait_durable`]
    /// before acknowledging.
    pub fn record(&self, edge: &NewEdge, event_id: Option<&str>) -> Result<Recorded, EngineError> {
        let mut recent = self.recent.lock();
        if let Some(sequence) = event_id.and_then(|id| recent.get(id)) {
            self.count_ingest("duplicate");
            return Ok(Recorded {
                sequence,
                duplicate: true,
            });
        }
        let sequence = self.graph.last_sequence() + 1;
        if let Some(store) = &self.store {
            store.append(sequence, event_id, edge)?;
        }
        let applied = self.graph.apply(edge)?;
        debug_assert_eq!(applied, sequence, "only the ingest lock holder applies");
        if let Some(event_id) = event_id {
            recent.remember(event_id, applied);
        }
        drop(recent);
        if let Some(cache) = &self.cache {
            cache.invalidate(&edge.customer);
        }
        self.count_ingest("accepted");
        Ok(Recorded {
            sequence: applied,
            duplicate: false,
        })
    }

    /// Counts an interaction by result (`accepted`, `duplicate`,
    /// `rejected`).
    pub fn count_ingest(&self, result: &'static str) {
        self.metrics
            .ingest_events
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// Waits until `sequence` survives a crash (at once without a store).
    pub async fn wait_durable(&self, sequence: u64) -> Result<(), EngineError> {
        match &self.store {
            Some(store) => Ok(store.wait_durable(sequence).await?),
            None => Ok(()),
        }
    }

    /// Records interactions in order; returns the last sequence number.
    pub fn record_batch(&self, edges: &[NewEdge]) -> Result<u64, EngineError> {
        if self.store.is_none() {
            let _ingest = self.recent.lock();
            return Ok(self.graph.apply_batch(edges)?);
        }
        let mut last = self.graph.last_sequence();
        for edge in edges {
            last = self.record(edge, None)?.sequence;
        }
        Ok(last)
    }

    /// Snapshots the graph into the store; `None` without a store.
    pub fn snapshot(&self) -> Result<Option<std::path::PathBuf>, EngineError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        // A consistent cut: no record is half applied while the lock is
        // held, so the view and the window agree.
        let (view, recent) = {
            let recent = self.recent.lock();
            (self.graph.view(), recent.entries())
        };
        Ok(Some(store.snapshot(&view, &recent)?))
    }

    /// Closes the log (everything appended is synced), then takes a final
    /// snapshot. Call after the server stopped taking requests.
    pub fn shutdown(&self) -> Result<(), EngineError> {
        if let Some(store) = &self.store {
            store.close()?;
            self.snapshot()?;
        }
        Ok(())
    }

    /// Answers at once, without cache, breaker or budget: the path offline
    /// evaluation and benchmarks measure.
    pub fn recommend(&self, query: &Query) -> Decision {
        let vertices = QueryVertices::resolve(&self.graph, query);
        let picks = self.cf.recommend(&self.graph.view(), &vertices);
        if let Some(model) = self.models.current().filter(|m| m.ranker.is_some()) {
            if let Ok(ranked) = self.model_rank(&model, &vertices, &picks) {
                let served = Served::model(ranked, &model);
                return self.assemble(query, &vertices, served, false);
            }
        }
        self.assemble(query, &vertices, Served::cf(picks), false)
    }

    /// The model stage, synchronously: rank every source's candidates.
    fn model_rank(
        &self,
        model: &LoadedModel,
        vertices: &QueryVertices,
        cf_picks: &[Candidate],
    ) -> Result<Vec<Candidate>, String> {
        let features = FeatureParams::from(self.cf.params());
        stage::rank(
            &self.graph,
            model,
            vertices,
            cf_picks,
            self.models.config(),
            features,
        )
    }

    /// Answers a served call within `budget` (see the module docs).
    pub async fn recommend_within(
        &self,
        query: &Query,
        budget: Budget,
    ) -> Result<Arc<Decision>, DeadlineExceeded> {
        // Popularity is always ready once a call has started, so the only
        // call that cannot be answered is one whose budget is gone on
        // arrival (a client deadline already past).
        if budget.is_spent() {
            return Err(DeadlineExceeded);
        }
        if let Some(hit) = self.cached(query) {
            return Ok(hit);
        }
        let vertices = QueryVertices::resolve(&self.graph, query);
        let (picks, cf_degraded) = match vertices.customer {
            Some(_) => self.cf_stage(&vertices, &budget).await,
            None => (Vec::new(), false),
        };
        let (served, model_degraded) = match self.models.current().filter(|m| m.ranker.is_some()) {
            Some(model) => self.model_stage(model, &vertices, picks, &budget).await,
            None => (Served::cf(picks), false),
        };
        let degraded = cf_degraded || model_degraded;

        let decision = Arc::new(self.assemble(query, &vertices, served, degraded));
        self.metrics
            .recommend_items
            .observe(decision.items.len() as f64);
        if degraded {
            let source = decision.source.as_str();
            self.metrics
                .recommend_degraded
                .get_or_create(&SourceLabel { source })
                .inc();
        } else if let Some(cache) = &self.cache {
            // Degraded answers are not cached: the next call may do better.
            cache.insert(query, Arc::clone(&decision));
        }
        Ok(decision)
    }

    fn cached(&self, query: &Query) -> Option<Arc<Decision>> {
        let cache = self.cache.as_ref()?;
        let hit = cache.get(query);
        let result = if hit.is_some() { "hit" } else { "miss" };
        self.metrics
            .cache_requests
            .get_or_create(&ResultLabel { result })
            .inc();
        hit.map(|d| {
            Arc::new(Decision {
                source: Source::Cache,
                ..(*d).clone()
            })
        })
    }

    /// Runs the collaborative filter behind its breaker, off the async
    /// workers, within its deadline. Returns its picks and whether it
    /// failed to serve (skipped, late or failing).
    async fn cf_stage(&self, vertices: &QueryVertices, budget: &Budget) -> (Vec<Candidate>, bool) {
        let outcome = match self.cf_breaker.allow() {
            None => None,
            Some(permit) => {
                let (graph, cf) = (Arc::clone(&self.graph), Arc::clone(&self.cf));
                let (delay, fail) = (self.faults.cf_delay(), self.faults.cf_fail());
                let query = vertices.clone();
                let work = tokio::task::spawn_blocking(move || {
                    if !delay.is_zero() {
                        std::thread::sleep(delay);
                    }
                    (!fail).then(|| cf.recommend(&graph.view(), &query))
                });
                let deadline = budget.stage(self.cf_budget);
                // Info level so the default filter lets it reach the trace
                // exporter; spans print nothing on the log by themselves.
                let span = info_span!("stage", stage = CF_STAGE);
                let result = tokio::time::timeout(deadline, work).instrument(span).await;
                // Late (timeout), panicked (join error) or failing (None).
                let picks = result.ok().and_then(|joined| joined.ok()).flatten();
                self.cf_breaker.record(permit, picks.is_some());
                picks
            }
        };
        self.report_breaker(CF_STAGE, &self.cf_breaker);
        match outcome {
            Some(picks) => (picks, false),
            None => (Vec::new(), true),
        }
    }

    /// Runs the model stage behind its breaker, off the async workers,
    /// within its deadline. Falls back to the filter's picks (marked
    /// degraded) when it is skipped, late or failing.
    async fn model_stage(
        &self,
        model: Arc<LoadedModel>,
        vertices: &QueryVertices,
        cf_picks: Vec<Candidate>,
        budget: &Budget,
    ) -> (Served, bool) {
        let Some(permit) = self.model_breaker.allow() else {
            self.report_breaker(MODEL_STAGE, &self.model_breaker);
            return (Served::cf(cf_picks), true);
        };
        let started = std::time::Instant::now();
        let (graph, models) = (Arc::clone(&self.graph), Arc::clone(&self.models));
        let features = FeatureParams::from(self.cf.params());
        let (delay, fail) = (self.faults.model_delay(), self.faults.model_fail());
        let (query, picks, used) = (vertices.clone(), cf_picks.clone(), Arc::clone(&model));
        let work = tokio::task::spawn_blocking(move || {
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            if fail {
                return Err("fault injection: model stage failing".to_string());
            }
            stage::rank(&graph, &used, &query, &picks, models.config(), features)
        });
        let span = info_span!("stage", stage = MODEL_STAGE);
        let deadline = budget.stage(self.model_budget);
        let result = tokio::time::timeout(deadline, work).instrument(span).await;
        let ranked = match result {
            Ok(Ok(Ok(ranked))) => Some(ranked),
            Ok(Ok(Err(message))) => {
                tracing::debug!(%message, "model stage failed");
                None
            }
            _ => None,
        };
        self.model_breaker.record(permit, ranked.is_some());
        self.report_breaker(MODEL_STAGE, &self.model_breaker);
        match ranked {
            Some(ranked) => {
                let elapsed = started.elapsed();
                self.models.record_inference(elapsed.as_micros() as u64);
                self.metrics.model_stage.observe(elapsed.as_secs_f64());
                (Served::model(ranked, &model), false)
            }
            None => (Served::cf(cf_picks), true),
        }
    }

    fn report_breaker(&self, stage: &'static str, breaker: &Breaker) {
        self.metrics
            .breaker_state
            .get_or_create(&StageLabel { stage })
            .set(breaker.state().gauge());
    }

    /// Drops excluded products, fills empty places from popularity and
    /// names the source.
    fn assemble(
        &self,
        query: &Query,
        vertices: &QueryVertices,
        served: Served,
        degraded: bool,
    ) -> Decision {
        let Served {
            mut picks,
            source: picks_source,
            model_version,
        } = served;
        let graph = &*self.graph;
        let mut excluded: Vec<u32> = query
            .exclude
            .iter()
            .filter_map(|p| graph.product_id(p))
            .collect();
        excluded.sort_unstable();

        picks.retain(|c| excluded.binary_search(&c.product).is_err());
        picks.truncate(query.limit);
        let mut source = picks_source;
        let mut in_context = false;

        if picks.len() < query.limit {
            let (fill, known_facets) = self.popular_fill(vertices, &picks, &excluded, query.limit);
            in_context = known_facets;
            if picks.is_empty() {
                source = if known_facets {
                    Source::PopularInContext
                } else {
                    Source::Popular
                };
            }
            picks.extend(fill);
        }

        let items = picks
            .iter()
            .map(|c| Recommended {
                product_id: graph.product_name(c.product).to_string(),
                score: c.score,
                reasons: if query.explain {
                    explain::reasons(graph, vertices, &c.evidence, in_context)
                } else {
                    Vec::new()
                },
            })
            .collect();
        Decision {
            items,
            source,
            degraded,
            model_version: if source == Source::HgnnRanker {
                model_version
            } else {
                None
            },
            bucket: query.bucket,
        }
    }

    /// Popular products for the places the collaborative filter left empty,
    /// scored below its weakest pick so the order of sources is kept.
    fn popular_fill(
        &self,
        vertices: &QueryVertices,
        picks: &[Candidate],
        excluded: &[u32],
        limit: usize,
    ) -> (Vec<Candidate>, bool) {
        let mut skip: Vec<u32> = excluded
            .iter()
            .copied()
            .chain(picks.iter().map(|c| c.product))
            .collect();
        skip.sort_unstable();
        let (mut fill, known_facets) =
            self.popular
                .recommend(&self.graph, vertices, limit - picks.len(), &skip);
        if let Some(weakest) = picks.last() {
            for c in &mut fill {
                c.score *= weakest.score * 0.5;
            }
        }
        (fill, known_facets)
    }
}
