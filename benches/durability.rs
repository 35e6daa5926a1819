//! Durability costs, end to end:
//! - StreamInteractions throughput through a real gRPC server on loopback
//!   with the `batch` and `always` sync policies (and without a data
//!   directory, for reference);
//! - restart time of a data directory holding 10M hyperedges (snapshot
//!   restore) and of replaying 1M hyperedges from the log alone.
//!
//! Prints a table; every figure is one timed run after a warm-up.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;
use tonic::transport::Channel;

use hyperrec::api::{self, pb};
use hyperrec::candidates::CfParams;
use hyperrec::engine::Engine;
use hyperrec::eval::synthetic::{self, SyntheticSpec};
use hyperrec::hypergraph::{Hypergraph, NewEdge};
use hyperrec::storage::{StorageOptions, Store, SyncPolicy, WalOptions};

const STREAMS: usize = 4;

fn to_message(edge: &NewEdge) -> pb::Interaction {
    pb::Interaction {
        customer_id: edge.customer.clone(),
        product_id: edge.product.clone(),
        context: edge
            .contexts
            .iter()
            .filter_map(|c| c.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        intent: edge.intent.clone(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: edge.at_ms / 1000,
            nanos: 0,
        }),
        weight: Some(edge.weight),
        ..pb::Interaction::default()
    }
}

fn options(sync: SyncPolicy) -> StorageOptions {
    StorageOptions {
        wal: WalOptions {
            sync,
            ..WalOptions::default()
        },
        snapshot_interval_secs: 0,
        ..StorageOptions::default()
    }
}

/// Interactions per second accepted by a server over `dir` (or memory).
async fn stream_rate(dir: Option<&Path>, sync: SyncPolicy, messages: &[pb::Interaction]) -> f64 {
    let graph = Arc::new(Hypergraph::new(336.0));
    let mut engine = Engine::new(Arc::clone(&graph), CfParams::default());
    if let Some(dir) = dir {
        let (store, recovery) = Store::open(dir, options(sync), &graph).expect("opens");
        engine = engine.with_store(store, &recovery.recent);
    }
    let engine = Arc::new(engine);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(api::serve(listener, Arc::clone(&engine), async {
        let _ = stopped.await;
    }));

    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let started = Instant::now();
    let chunk = messages.len().div_ceil(STREAMS);
    let mut tasks = Vec::new();
    for part in messages.chunks(chunk) {
        let mut client = pb::decision_service_client::DecisionServiceClient::new(channel.clone());
        let part = part.to_vec();
        tasks.push(tokio::spawn(async move {
            client
                .stream_interactions(tokio_stream::iter(part))
                .await
                .map(|r| r.into_inner().accepted)
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.unwrap().expect("stream succeeds");
    }
    let rate = accepted as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    engine.shutdown().unwrap();
    rate
}

/// Seconds to open a data directory, and the hyperedges it held.
fn restart_time(dir: &Path) -> (f64, u64) {
    let graph = Hypergraph::new(336.0);
    let started = Instant::now();
    let (store, _) = Store::open(dir, options(SyncPolicy::Batch), &graph).expect("opens");
    let seconds = started.elapsed().as_secs_f64();
    drop(store);
    (seconds, graph.last_sequence())
}

/// Fills `dir` with `count` synthetic hyperedges through the log; with
/// `snapshot`, ends with a snapshot so a restart restores instead of
/// replaying.
fn fill(dir: &Path, count: usize, snapshot: bool) {
    let spec = SyntheticSpec {
        customers: count / 50,
        products: 20_000.min(count / 100).max(100),
        interactions: count,
        ..SyntheticSpec::demo()
    };
    let graph = Arc::new(Hypergraph::new(336.0));
    let (store, recovery) = Store::open(dir, options(SyncPolicy::None), &graph).expect("opens");
    let engine = Engine::new(graph, CfParams::default()).with_store(store, &recovery.recent);
    let events = synthetic::generate(&spec).events;
    for chunk in events.chunks(100_000) {
        let edges: Vec<NewEdge> = chunk.iter().map(|e| e.to_edge()).collect();
        engine.record_batch(&edges).expect("records");
    }
    if snapshot {
        engine.shutdown().expect("snapshot");
    }
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        // `cargo test --benches` only checks that this builds and starts.
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let edges = common::million_edges();
    let messages: Vec<pb::Interaction> = edges[..400_000].iter().map(to_message).collect();

    println!("| what | figure |\n|---|---|");
    let rate = runtime.block_on(stream_rate(None, SyncPolicy::None, &messages));
    println!("| StreamInteractions, no data directory | {rate:.0}/s |");
    let dir = tempfile::tempdir().unwrap();
    let rate = runtime.block_on(stream_rate(Some(dir.path()), SyncPolicy::Batch, &messages));
    println!("| StreamInteractions, sync = batch | {rate:.0}/s |");
    let dir = tempfile::tempdir().unwrap();
    let rate = runtime.block_on(stream_rate(
        Some(dir.path()),
        SyncPolicy::Always,
        &messages[..4_000],
    ));
    println!("| StreamInteractions, sync = always | {rate:.0}/s |");

    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 1_000_000, false);
    let (seconds, count) = restart_time(dir.path());
    println!("| restart replaying {count} hyperedges from the log | {seconds:.2} s |");

    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 10_000_000, true);
    let (seconds, count) = restart_time(dir.path());
    println!("| restart restoring a snapshot of {count} hyperedges | {seconds:.2} s |");
}
