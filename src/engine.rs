//! The decision pipeline: from a checked query to a ranked answer, and from
//! a checked interaction to the hypergraph.
//!
//! Recommend runs the hypergraph collaborative filter for a known customer,
//! fills any remaining places from popular-in-context (or popular overall
//! when no facet of the query is known), drops excluded products, and
//! reports which source served. The core never sees gRPC types.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::candidates::{Candidate, CfParams, HypergraphCf, PopularInContext, QueryVertices};
use crate::context::TimeBucket;
use crate::explain;
use crate::hypergraph::{GraphError, Hypergraph, NewEdge};
use crate::idempotency::RecentEvents;
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

pub struct Engine {
    graph: Arc<Hypergraph>,
    cf: HypergraphCf,
    popular: PopularInContext,
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
        Self {
            graph,
            cf: HypergraphCf::new(params),
            popular: PopularInContext,
            recent: Mutex::new(RecentEvents::new(window)),
            store: None,
        }
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

    /// Logs and applies one interaction, unless `event_id` was recorded
    /// recently. With a store, the caller must [`Engine::wait_durable`]
    /// before acknowledging.
    pub fn record(&self, edge: &NewEdge, event_id: Option<&str>) -> Result<Recorded, EngineError> {
        let mut recent = self.recent.lock();
        if let Some(sequence) = event_id.and_then(|id| recent.get(id)) {
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
        Ok(Recorded {
            sequence: applied,
            duplicate: false,
        })
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

    pub fn recommend(&self, query: &Query) -> Decision {
        let graph = &*self.graph;
        let view = graph.view();
        let vertices = QueryVertices::resolve(graph, query);
        let mut excluded: Vec<u32> = query
            .exclude
            .iter()
            .filter_map(|p| graph.product_id(p))
            .collect();
        excluded.sort_unstable();

        let mut picks = self.cf.recommend(&view, &vertices);
        picks.retain(|c| excluded.binary_search(&c.product).is_err());
        picks.truncate(query.limit);
        let mut source = Source::HypergraphCf;
        let mut in_context = false;

        if picks.len() < query.limit {
            let (fill, known_facets) = self.popular_fill(&vertices, &picks, &excluded, query.limit);
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
                    explain::reasons(graph, &vertices, &c.evidence, in_context)
                } else {
                    Vec::new()
                },
            })
            .collect();
        Decision {
            items,
            source,
            degraded: false,
            model_version: None,
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
