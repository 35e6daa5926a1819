//! Kill -9 the real server while it takes a stream of up to 100k
//! interactions, restart it, and check that every acknowledged interaction
//! is there, with its content, exactly once. Repeated at several moments
//! (seeded), bounded in time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tonic::transport::Channel;

use hyperrec::api::pb::decision_service_client::DecisionServiceClient;
use hyperrec::api::pb::{Interaction, StreamAck};

const ROUNDS: usize = 3;
const PER_ROUND: usize = 100_000;
const BATCH: usize = 500;

struct Server {
    child: Child,
    address: String,
}

/// A failed assertion must not leave a server running (it would also hold
/// the test's stderr pipe open).
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rounds together may acknowledge up to `ROUNDS * PER_ROUND` events,
/// more than the default idempotency window (100k): replaying them all in
/// order would then evict each event just before its turn. The window is
/// sized to hold every event the test sends.
const CONFIG: &str = "[server]\nidempotency_window = 1000000\n";

/// Starts `hyperrec serve` on a free port and waits until it listens.
fn start(data: &Path) -> Server {
    let config = data.with_extension("toml");
    std::fs::write(&config, CONFIG).expect("config written");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hyperrec"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, found) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("address=").nth(1) {
                let _ = lines.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let address = found
        .recv_timeout(Duration::from_secs(60))
        .expect("server reports its address");
    Server { child, address }
}

fn event(i: usize) -> Interaction {
    let devices = ["mobile", "desktop", "tablet"];
    Interaction {
        event_id: format!("e{i}"),
        customer_id: format!("crash-{i}"),
        product_id: format!("p{}", i % 50),
        context: [("device".to_string(), devices[i % 3].to_string())].into(),
        intent: "cart".into(),
        ..Interaction::default()
    }
}

async fn connect(address: &str) -> DecisionServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .expect("connects");
    DecisionServiceClient::new(channel)
}

async fn send(
    client: &mut DecisionServiceClient<Channel>,
    range: std::ops::Range<usize>,
) -> Result<StreamAck, tonic::Status> {
    let batch: Vec<Interaction> = range.map(event).collect();
    client
        .stream_interactions(tokio_stream::iter(batch))
        .await
        .map(|r| r.into_inner())
}

/// Streams batches from `next` until the server dies or the round is
/// done; returns the indices acknowledged.
async fn stream_until_killed(
    address: &str,
    next: &mut usize,
    kill_at: Instant,
    server: &mut Server,
) -> Vec<usize> {
    let mut client = connect(address).await;
    let mut acked = Vec::new();
    let end = *next + PER_ROUND;
    let mut killed = false;
    while *next < end {
        if !killed && Instant::now() >= kill_at {
            server.child.kill().expect("kill -9");
            killed = true;
        }
        let range = *next..(*next + BATCH).min(end);
        *next = range.end;
        match send(&mut client, range.clone()).await {
            Ok(ack) => {
                assert_eq!(ack.accepted as usize, range.len());
                acked.extend(range);
            }
            Err(_) if killed => break,
            Err(status) => panic!("stream failed before the kill: {status:?}"),
        }
    }
    if !killed {
        server.child.kill().expect("kill -9");
    }
    let _ = server.child.wait();
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_interactions_survive_kill_9_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut next = 0;
    let mut acked: Vec<usize> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(240);

    for round in 0..ROUNDS {
        assert!(Instant::now() < deadline, "crash test ran out of time");
        let mut server = start(&data);
        let address = server.address.clone();
        // Every interaction acknowledged before this restart is still there.
        verify_all_present(&address, &acked).await;

        let kill_at = Instant::now() + Duration::from_millis(rng.random_range(300..4_000));
        let got = stream_until_killed(&address, &mut next, kill_at, &mut server).await;
        eprintln!("round {round}: {} acknowledged before kill -9", got.len());
        acked.extend(got);
    }

    let mut server = start(&data);
    verify_all_present(&server.address, &acked).await;
    stop_gracefully(&mut server);
    verify_content(&data, dir.path(), &acked);
}

/// Re-sends every acknowledged event with its id: each must come back as a
/// duplicate, that is, as already recorded.
async fn verify_all_present(address: &str, acked: &[usize]) {
    if acked.is_empty() {
        return;
    }
    let mut client = connect(address).await;
    let events: Vec<Interaction> = acked.iter().map(|&i| event(i)).collect();
    let ack = client
        .stream_interactions(tokio_stream::iter(events))
        .await
        .expect("replay stream")
        .into_inner();
    assert_eq!(ack.accepted as usize, acked.len());
    assert_eq!(
        ack.duplicates as usize,
        acked.len(),
        "some acknowledged events were lost"
    );
}

fn stop_gracefully(server: &mut Server) {
    let pid = server.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = server.child.wait().expect("server exits");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}

/// Exports the data directory and checks every acknowledged event's row,
/// and that no event was applied twice.
fn verify_content(data: &Path, scratch: &Path, acked: &[usize]) {
    let csv = scratch.join("export.csv");
    let output = Command::new(env!("CARGO_BIN_EXE_hyperrec"))
        .args(["export", "--data-dir"])
        .arg(data)
        .arg("--out")
        .arg(&csv)
        .output()
        .expect("export runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let mut rows = std::collections::HashMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let (customer, product, context) = (&record[1], &record[2], &record[7]);
        let previous = rows.insert(
            customer.to_string(),
            (product.to_string(), context.to_string()),
        );
        assert!(previous.is_none(), "{customer} applied twice");
    }
    for &i in acked {
        let expected = event(i);
        let (product, context) = rows
            .get(&expected.customer_id)
            .unwrap_or_else(|| panic!("{} missing from the export", expected.customer_id));
        assert_eq!(product, &expected.product_id);
        assert_eq!(context, &format!("device={}", expected.context["device"]));
    }
}
