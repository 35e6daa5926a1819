//! Model serving through real gRPC, with the committed demo model version
//! (`models/demo`): it serves `hgnn+ranker`; a reload in the middle of
//! concurrent Recommend calls fails none of them; a corrupt file or a
//! model that does not fit the contract is refused while the old version
//! keeps serving; a slow or failing model stage falls back to the filter.
//!
//! ONNX Runtime comes from the `onnxruntime` wheel in `.venv`, which the
//! test command installs.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tonic::Code;

use common::{at, context, TestServer, EVENING};
use hyperrec::api::pb;
use hyperrec::config::Config;

/// The newest demo version directory.
fn demo() -> PathBuf {
    hyperrec::models::registry::newest_version(Path::new("models/demo"))
        .expect("a committed demo model version")
}

/// A copy of the demo version under `root`, renamed `name` in its manifest
/// (the manifest itself is not checksummed), edited by `edit`.
fn copy_version(
    root: &Path,
    name: &str,
    edit: impl FnOnce(&Path, &mut serde_json::Value),
) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(demo()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    manifest["version"] = name.into();
    edit(&dir, &mut manifest);
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    dir
}

fn request(customer: &str) -> pb::RecommendRequest {
    pb::RecommendRequest {
        customer_id: customer.into(),
        context: context(&[("device", "mobile"), ("location", "gym")]),
        intent: "buy".into(),
        at: at(EVENING),
        ..Default::default()
    }
}

/// Deadlines generous enough for an unoptimized build on a busy machine:
/// these tests are about swapping and refusing, not about speed.
fn patient() -> Config {
    let mut config = Config::default();
    config.serving.budget_ms = 5_000;
    config.serving.cf_budget_ms = 2_000;
    config.serving.model_budget_ms = 2_000;
    config
}

async fn serving(config: Config) -> TestServer {
    let server = TestServer::start_with(config).await;
    server
        .engine
        .models()
        .load(&demo())
        .expect("the demo version loads");
    server
}

async fn reload(server: &TestServer, path: &Path) -> Result<pb::ModelStatus, tonic::Status> {
    let request = pb::ReloadModelsRequest {
        path: path.display().to_string(),
    };
    server
        .admin()
        .await
        .reload_models(request)
        .await
        .map(|r| r.into_inner())
}

async fn status(server: &TestServer) -> pb::ModelStatus {
    let request = pb::GetModelStatusRequest {};
    server
        .admin()
        .await
        .get_model_status(request)
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_model_serves_hgnn_plus_ranker_and_reports_its_status() {
    let server = serving(patient()).await;
    let answer = server
        .decisions()
        .await
        .recommend(request("c00042"))
        .await
        .unwrap()
        .into_inner();
    let version = status(&server).await.version;
    assert_eq!(answer.source, "hgnn+ranker");
    assert_eq!(answer.model_version, version);
    assert!(!answer.degraded);
    assert_eq!(answer.recommendations.len(), 20);

    let s = status(&server).await;
    assert_eq!(s.provider, "cpu");
    assert!(s.has_ranker && !s.ranker_features.is_empty());
    assert!(s.hnsw_recall_at_10 > 0.9, "recall {}", s.hnsw_recall_at_10);
    assert!(s.inferences >= 1 && s.inference_p99_us > 0);
    assert!(s.last_error.is_empty());
    server.stop().await;
}

/// Four clients keep asking while the version is swapped twice; every
/// call succeeds and is served by one version or the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reload_during_concurrent_recommends_fails_none_of_them() {
    let root = tempfile::tempdir().unwrap();
    let server = serving(patient()).await;
    let first = status(&server).await.version;
    let second = copy_version(root.path(), "v2-reloaded", |_, _| {});

    let mut clients = Vec::new();
    for c in 0..4 {
        let mut client = server.decisions().await;
        clients.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for i in 0..60 {
                let customer = format!("c{:05}", (c * 97 + i * 13) % 1_500);
                let answer = client.recommend(request(&customer)).await?.into_inner();
                versions.push((answer.source, answer.model_version));
            }
            Ok::<_, tonic::Status>(versions)
        }));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let reloaded = reload(&server, &second)
        .await
        .expect("a good version loads");
    assert_eq!(reloaded.version, "v2-reloaded");
    reload(&server, &demo()).await.expect("and back");

    for client in clients {
        for (source, version) in client.await.unwrap().expect("no call fails") {
            assert_eq!(source, "hgnn+ranker");
            assert!(version == first || version == "v2-reloaded", "{version}");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_model_file_is_refused_and_the_old_version_keeps_serving() {
    let root = tempfile::tempdir().unwrap();
    let server = serving(patient()).await;
    let before = status(&server).await.version;

    // A torn copy: the bytes no longer match the manifest's checksum.
    let torn = copy_version(root.path(), "torn", |dir, _| {
        let path = dir.join("hgnn.onnx");
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        bytes.truncate(bytes.len() - 100);
        std::fs::write(&path, bytes).unwrap();
    });
    let err = reload(&server, &torn).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("checksum"), "{}", err.message());

    // Garbage with a matching checksum: ONNX Runtime refuses it.
    let garbage = copy_version(root.path(), "garbage", |dir, manifest| {
        let bytes = b"this is not an onnx model".to_vec();
        manifest["files"]["ranker.onnx"] = hyperrec::models::manifest::sha256_hex(&bytes).into();
        std::fs::write(dir.join("ranker.onnx"), bytes).unwrap();
    });
    let err = reload(&server, &garbage).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("ranker.onnx"), "{}", err.message());

    let err = reload(&server, &root.path().join("missing"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let after = status(&server).await;
    assert_eq!(after.version, before);
    assert!(!after.last_error.is_empty());
    let answer = server
        .decisions()
        .await
        .recommend(request("c00007"))
        .await
        .unwrap();
    assert_eq!(answer.into_inner().model_version, before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_that_do_not_fit_the_contract_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let server = serving(patient()).await;
    let before = status(&server).await.version;

    // The encoder was exported for 11 query slots; the server would feed 12.
    let slots = copy_version(root.path(), "slots", |_, m| {
        m["encoder"]["query_slots"] = 12.into();
    });
    let err = reload(&server, &slots).await.unwrap_err();
    assert!(
        err.message().contains("query_vertices has shape"),
        "{}",
        err.message()
    );

    // The ranker takes N columns; the manifest names one fewer.
    let columns = copy_version(root.path(), "columns", |_, m| {
        m["ranker"]["features"].as_array_mut().unwrap().pop();
    });
    let err = reload(&server, &columns).await.unwrap_err();
    assert!(err.message().contains("has shape"), "{}", err.message());

    // A feature the server does not compute.
    let unknown = copy_version(root.path(), "unknown", |_, m| {
        m["ranker"]["features"][0] = "price_fit".into();
    });
    let err = reload(&server, &unknown).await.unwrap_err();
    assert!(err.message().contains("price_fit"), "{}", err.message());

    assert_eq!(status(&server).await.version, before);
    server.stop().await;
}

/// A model stage that fails or runs late opens its breaker; answers keep
/// coming within budget from the filter, marked degraded; the breaker
/// closes once the stage recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_failing_model_stage_falls_back_to_the_filter_and_recovers() {
    let mut config = patient();
    config.serving.budget_ms = 1_000;
    config.serving.model_budget_ms = 300;
    config.cache.enabled = false;
    config.breaker.open_ms = 200;
    config.breaker.max_open_ms = 200;
    let server = serving(config).await;
    let mut client = server.decisions().await;
    let faults = server.engine.faults();

    for (slow, fail) in [(true, false), (false, true)] {
        faults.set_model_delay(Duration::from_millis(if slow { 600 } else { 0 }));
        faults.set_model_fail(fail);
        for _ in 0..8 {
            let started = Instant::now();
            let answer = client
                .recommend(request("c00042"))
                .await
                .unwrap()
                .into_inner();
            assert!(
                started.elapsed() < Duration::from_millis(1_000),
                "within budget"
            );
            assert_eq!(answer.source, "hypergraph_cf");
            assert!(answer.degraded && answer.model_version.is_empty());
            assert_eq!(answer.recommendations.len(), 20);
        }
        faults.set_model_delay(Duration::ZERO);
        faults.set_model_fail(false);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let answer = client
            .recommend(request("c00042"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.source, "hgnn+ranker", "the probe closes the breaker");
        assert!(!answer.degraded);
    }
    server.stop().await;
}
