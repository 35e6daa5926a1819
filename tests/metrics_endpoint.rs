//! The real binary's Prometheus endpoint: after a few calls it exposes the
//! series the alert rules and the dashboard under `ops/` read, and it stops
//! with the server on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hyperrec::api::pb::decision_service_client::DecisionServiceClient;
use hyperrec::api::pb::{Interaction, RecommendRequest};

/// Plain HTTP/1.1 GET, enough for a text exposition.
fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("metrics endpoint accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    response
}

/// Kills the server if the test fails before stopping it, so no server
/// outlives the test.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// Two workers: the client's connection task must run while the test
// thread blocks on the child, so the connection closes and the drain ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_exposes_what_the_alerts_read() {
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_hyperrec"))
            .args([
                "serve",
                "--demo",
                "--demo-interactions",
                "20000",
                "--demo-customers",
                "500",
                "--demo-products",
                "100",
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
            ])
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts"),
    );
    let stderr = server.0.stderr.take().expect("stderr");
    let (found, addresses) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let kind = if line.contains("serving metrics") {
                "metrics"
            } else if line.contains("serving grpc") {
                "grpc"
            } else {
                continue;
            };
            if let Some(rest) = line.split("address=").nth(1) {
                let address = rest.split_whitespace().next().unwrap_or("").to_string();
                let _ = found.send((kind, address));
            }
        }
    });
    let (mut grpc, mut metrics) = (String::new(), String::new());
    while grpc.is_empty() || metrics.is_empty() {
        let (kind, address) = addresses
            .recv_timeout(Duration::from_secs(60))
            .expect("server reports both addresses");
        match kind {
            "grpc" => grpc = address,
            _ => metrics = address,
        }
    }

    let mut client = DecisionServiceClient::connect(format!("http://{grpc}"))
        .await
        .expect("grpc connects");
    for _ in 0..3 {
        let request = RecommendRequest {
            customer_id: "c00001".into(),
            limit: Some(10),
            ..RecommendRequest::default()
        };
        client.recommend(request).await.expect("recommend answers");
    }
    let event = Interaction {
        customer_id: "c00001".into(),
        product_id: "p00002".into(),
        ..Interaction::default()
    };
    client.record_interaction(event).await.expect("recorded");
    // The server drains open connections on SIGTERM; this one must go, as
    // the test's runtime is about to block on the child.
    drop(client);

    let response = get(&metrics, "/metrics");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    for series in [
        concat!(
            "hyperrec_rpc_duration_seconds_count",
            "{rpc=\"Recommend\",source=\"hypergraph_cf\",code=\"OK\"} 1"
        ),
        "hyperrec_rpc_requests_total{rpc=\"Recommend\",code=\"OK\"} 3",
        "hyperrec_rpc_requests_total{rpc=\"RecordInteraction\",code=\"OK\"} 1",
        "hyperrec_cache_requests_total{result=\"hit\"} 2",
        "hyperrec_recommend_items_count 1",
        "hyperrec_ingest_events_total{result=\"accepted\"} 1",
        "hyperrec_graph_hyperedges 20001",
        "hyperrec_graph_vertices{kind=\"customer\"}",
        "hyperrec_breaker_state{stage=\"hypergraph_cf\"} 0",
    ] {
        assert!(
            response.contains(series),
            "missing {series} in:\n{response}"
        );
    }

    every_metric_the_ops_files_read_is_exposed(&response);

    let pid = server.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = server.0.wait().expect("server exits");
    assert!(
        status.success(),
        "SIGTERM stops both endpoints cleanly: {status:?}"
    );
}

/// The alert rules and the dashboard under `ops/` name metrics by string;
/// each base name they use must be one the server declares (`# TYPE`), or
/// a panel or alert would silently show nothing.
fn every_metric_the_ops_files_read_is_exposed(exposition: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for file in ["ops/alerts.yml", "ops/grafana/hyperrec.json"] {
        let text = std::fs::read_to_string(root.join(file)).expect("ops file readable");
        for name in metric_names(&text) {
            let base = ["_bucket", "_count", "_sum", "_total"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            let declared = format!("# TYPE {base} ");
            assert!(
                exposition.contains(&declared),
                "{file} reads {name}, which the server does not expose"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} metric names found in ops/");
}

/// Every `hyperrec_…` identifier in `text` (recording rules use
/// `hyperrec:…` and are skipped).
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("hyperrec_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}
