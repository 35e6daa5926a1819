//! The real binary exports its spans over OTLP/gRPC when an endpoint is
//! configured: a collector started here receives the span of a Recommend
//! call and the span of its collaborative-filter stage, flushed at
//! shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use parking_lot::Mutex;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use hyperrec::api::pb::decision_service_client::DecisionServiceClient;
use hyperrec::api::pb::RecommendRequest;

/// A collector that keeps the names of the spans it is sent.
#[derive(Default, Clone)]
struct Collector {
    names: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut names = self.names.lock();
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans);
        names.extend(spans.map(|span| span.name));
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Kills the server if the test fails before stopping it.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &std::path::Path) -> (Server, String) {
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_hyperrec"))
            .args(["serve", "--demo", "--demo-interactions", "5000"])
            .args(["--demo-customers", "200", "--demo-products", "50"])
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts"),
    );
    let stderr = server.0.stderr.take().expect("stderr");
    let (found, address) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("serving grpc") {
                if let Some(rest) = line.split("address=").nth(1) {
                    let _ = found.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
            }
        }
    });
    let address = address
        .recv_timeout(Duration::from_secs(60))
        .expect("server reports its address");
    (server, address)
}

// Two workers: the collector must keep answering while the test thread
// blocks on the child's exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommend_calls_and_their_stages_reach_the_otlp_collector() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hyperrec.toml");
    std::fs::write(
        &config,
        format!("[telemetry]\notlp_endpoint = \"{endpoint}\"\n[cache]\nenabled = false\n"),
    )
    .unwrap();
    let (mut server, address) = start(&config);

    let mut client = DecisionServiceClient::connect(format!("http://{address}"))
        .await
        .expect("grpc connects");
    let request = RecommendRequest {
        customer_id: "c00001".into(),
        limit: Some(5),
        ..RecommendRequest::default()
    };
    client.recommend(request).await.expect("recommend answers");
    drop(client);

    // SIGTERM flushes the batch exporter before the process exits.
    let pid = server.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || server.0.wait())
        .await
        .unwrap()
        .expect("server exits");
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");

    let names = collector.names.lock().clone();
    for expected in ["recommend", "stage"] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected} span among {names:?}"
        );
    }
}
