//! Prometheus metrics: what SREs watch (see `ops/` for alerts and the
//! dashboard), served as text on `/metrics` on their own port.
//!
//! Names and labels are a contract with the alert rules and dashboard:
//! change them together.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tracing::info;

use crate::hypergraph::Hypergraph;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub rpc: &'static str,
    pub source: &'static str,
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub rpc: &'static str,
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 50 µs to about 1.6 s, doubling.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    pub rpc_duration: HistogramFamily<RpcLabels>,
    pub rpc_requests: Family<CodeLabels, Counter>,
    pub cache_requests: Family<ResultLabel, Counter>,
    pub recommend_items: Histogram,
    pub recommend_degraded: Family<SourceLabel, Counter>,
    pub breaker_state: Family<StageLabel, Gauge>,
    pub ingest_events: Family<ResultLabel, Counter>,
    pub shed: Counter,
    /// Seconds of the model stage (encoder, HNSW, features, ranker).
    pub model_stage: Histogram,
    graph_hyperedges: Gauge,
    graph_vertices: Family<KindLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::default(),
            rpc_duration: Family::new_with_constructor(latency_histogram),
            rpc_requests: Family::default(),
            cache_requests: Family::default(),
            recommend_items: Histogram::new([
                0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0,
            ]),
            recommend_degraded: Family::default(),
            breaker_state: Family::default(),
            ingest_events: Family::default(),
            shed: Counter::default(),
            model_stage: latency_histogram(),
            graph_hyperedges: Gauge::default(),
            graph_vertices: Family::default(),
        };
        m.register();
        m.zero_known_series();
        m
    }

    /// Creates the series whose labels are known up front, at zero: a
    /// ratio over a series that does not exist yet shows "no data" on a
    /// dashboard instead of 0, and an alert on it cannot be told apart
    /// from a scrape that failed.
    fn zero_known_series(&self) {
        for source in ["hypergraph_cf", "popular_in_context", "popular"] {
            drop(
                self.recommend_degraded
                    .get_or_create(&SourceLabel { source }),
            );
        }
        for result in ["hit", "miss"] {
            drop(self.cache_requests.get_or_create(&ResultLabel { result }));
        }
        for result in ["accepted", "duplicate", "rejected"] {
            drop(self.ingest_events.get_or_create(&ResultLabel { result }));
        }
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "hyperrec_rpc_duration_seconds",
            "Server time per call, by RPC, answer source and gRPC code",
            self.rpc_duration.clone(),
        );
        r.register(
            "hyperrec_rpc_requests",
            "Calls by RPC and gRPC code",
            self.rpc_requests.clone(),
        );
        r.register(
            "hyperrec_cache_requests",
            "Response cache lookups by result (hit, miss)",
            self.cache_requests.clone(),
        );
        r.register(
            "hyperrec_recommend_items",
            "Products per Recommend answer",
            self.recommend_items.clone(),
        );
        r.register(
            "hyperrec_recommend_degraded",
            "Recommend answers served by a fallback, by source",
            self.recommend_degraded.clone(),
        );
        r.register(
            "hyperrec_breaker_state",
            "Circuit breaker state per stage: 0 closed, 1 half-open, 2 open",
            self.breaker_state.clone(),
        );
        r.register(
            "hyperrec_ingest_events",
            "Interactions by result (accepted, duplicate, rejected)",
            self.ingest_events.clone(),
        );
        r.register(
            "hyperrec_shed",
            "Calls refused by load shedding",
            self.shed.clone(),
        );
        r.register(
            "hyperrec_model_stage_seconds",
            "Model stage time per Recommend call that ran it",
            self.model_stage.clone(),
        );
        r.register(
            "hyperrec_graph_hyperedges",
            "Hyperedges in the graph",
            self.graph_hyperedges.clone(),
        );
        r.register(
            "hyperrec_graph_vertices",
            "Vertices in the graph by kind",
            self.graph_vertices.clone(),
        );
    }

    /// The text exposition, with graph sizes read now.
    pub fn render(&self, graph: &Hypergraph) -> String {
        let stats = graph.stats();
        self.graph_hyperedges.set(stats.hyperedges as i64);
        for (kind, count) in [
            ("customer", stats.customers),
            ("product", stats.products),
            ("context_value", stats.context_values),
            ("intent", stats.intents),
            ("time_bucket", stats.time_buckets),
        ] {
            self.graph_vertices
                .get_or_create(&KindLabel { kind })
                .set(count as i64);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Serves `/metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    graph: Arc<Hypergraph>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address: SocketAddr = listener.local_addr()?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let (metrics, graph) = (Arc::clone(&metrics), Arc::clone(&graph));
            async move { metrics.render(&graph) }
        }),
    );
    info!(%address, "serving metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric_the_alerts_use() {
        let m = Metrics::new();
        let labels = RpcLabels {
            rpc: "Recommend",
            source: "hypergraph_cf",
            code: "OK",
        };
        m.rpc_duration.get_or_create(&labels).observe(0.002);
        m.cache_requests
            .get_or_create(&ResultLabel { result: "hit" })
            .inc();
        let text = m.render(&Hypergraph::new(24.0));
        for name in [
            "hyperrec_rpc_duration_seconds_bucket{",
            "hyperrec_cache_requests_total{result=\"hit\"} 1",
            "hyperrec_graph_hyperedges 0",
            "hyperrec_graph_vertices{kind=\"customer\"} 0",
            "hyperrec_shed_total 0",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
