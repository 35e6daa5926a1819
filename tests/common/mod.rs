//! Starts a real server on 127.0.0.1:0 over a small synthetic graph and
//! hands out clients, so every integration test talks real gRPC.

#![allow(dead_code)] // each test file uses a different part of this helper

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tonic::transport::Channel;

use hyperrec::api;
use hyperrec::api::pb::admin_service_client::AdminServiceClient;
use hyperrec::api::pb::decision_service_client::DecisionServiceClient;
use hyperrec::api::ServeOptions;
use hyperrec::config::Config;
use hyperrec::engine::Engine;
use hyperrec::eval::synthetic::{self, Synthetic, SyntheticSpec};
use hyperrec::hypergraph::{Hypergraph, NewEdge};

/// Just before the synthetic log ends: 2026-11-30T20:00:00Z (a Monday).
pub const EVENING: i64 = 1_796_068_800;

pub struct TestServer {
    pub addr: SocketAddr,
    pub data: Arc<Synthetic>,
    pub engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// A server over 1,500 customers, 300 products and 40k interactions,
    /// configured as shipped.
    pub async fn start() -> Self {
        Self::start_with(Config::default()).await
    }

    /// [`TestServer::start`] with `config`'s engine and border settings.
    pub async fn start_with(config: Config) -> Self {
        let spec = SyntheticSpec {
            customers: 1_500,
            products: 300,
            interactions: 40_000,
            ..SyntheticSpec::demo()
        };
        let data = synthetic::generate(&spec);
        let graph = Arc::new(Hypergraph::new(336.0));
        let edges: Vec<NewEdge> = data.events.iter().map(|e| e.to_edge()).collect();
        graph.apply_batch(&edges).expect("synthetic data applies");
        let engine = Arc::new(Engine::from_config(graph, &config));
        let options = ServeOptions {
            max_concurrent: config.serving.max_concurrent,
        };

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = Arc::clone(&engine);
        let task = tokio::spawn(async move {
            api::serve_with(listener, served, options, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            addr,
            data: Arc::new(data),
            engine,
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    pub async fn decisions(&self) -> DecisionServiceClient<Channel> {
        DecisionServiceClient::new(self.channel().await)
    }

    pub async fn admin(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(self.channel().await)
    }

    pub fn category(&self, product: &str) -> &'static str {
        self.data
            .products
            .iter()
            .find(|p| p.id == product)
            .map_or("unknown", |p| p.category)
    }

    /// Stops the server and waits until it has shut down.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task ends cleanly");
        }
    }
}

pub fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

pub fn context(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs the `hyperrec` binary with `args`, logging warnings only.
pub fn hyperrec(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hyperrec"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
