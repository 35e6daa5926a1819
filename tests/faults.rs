//! The serving safeguards under injected faults, through real gRPC: a slow
//! or failing collaborative filter opens its breaker and the answers fall
//! back within budget; overload is refused fast and then served again;
//! the response cache never outlives a customer's event.

mod common;

use std::time::{Duration, Instant};

use common::{at, context, TestServer, EVENING};
use hyperrec::api::pb::{Interaction, RecommendRequest};
use hyperrec::config::Config;
use hyperrec::resilience::budget::Budget;
use hyperrec::validate::{self, RawQuery};
use tonic::Code;

fn request(customer: &str) -> RecommendRequest {
    RecommendRequest {
        customer_id: customer.into(),
        context: context(&[("device", "mobile"), ("location", "gym")]),
        limit: Some(10),
        at: at(EVENING),
        ..RecommendRequest::default()
    }
}

/// Small breaker numbers so a test trips and heals it in a few calls.
fn fragile() -> Config {
    let mut config = Config::default();
    config.cache.enabled = false;
    config.serving.budget_ms = 200;
    config.serving.cf_budget_ms = 100;
    config.breaker.consecutive_failures = 3;
    config.breaker.open_ms = 300;
    config.breaker.max_open_ms = 300;
    config
}

fn breaker_state(server: &TestServer) -> String {
    let text = server.engine.metrics().render(server.engine.graph());
    text.lines()
        .find(|l| l.starts_with("hyperrec_breaker_state{stage=\"hypergraph_cf\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or("missing")
        .to_string()
}

/// Sends Recommend until one is served by the collaborative filter again.
async fn until_recovered(server: &TestServer) -> hyperrec::api::pb::RecommendResponse {
    let mut client = server.decisions().await;
    for _ in 0..100 {
        let response = client
            .recommend(request("c00003"))
            .await
            .unwrap()
            .into_inner();
        if !response.degraded {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the breaker never closed after the fault was lifted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_filter_opens_its_breaker_answers_stay_in_budget_and_it_heals() {
    let server = TestServer::start_with(fragile()).await;
    let mut client = server.decisions().await;

    let healthy = client
        .recommend(request("c00003"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(healthy.source, "hypergraph_cf");
    assert!(!healthy.degraded);
    assert_eq!(breaker_state(&server), "0");

    // Far slower than the whole budget: any answer that arrives well
    // before the filter would have finished came from a fallback.
    server.engine.faults().set_cf_delay(Duration::from_secs(3));
    for call in 0..6 {
        let started = Instant::now();
        let response = client
            .recommend(request("c00003"))
            .await
            .unwrap()
            .into_inner();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "call {call} waited for the slow stage"
        );
        assert!(response.degraded, "call {call} was not marked degraded");
        assert_eq!(response.source, "popular_in_context");
        assert_eq!(response.recommendations.len(), 10);
    }
    assert_eq!(
        breaker_state(&server),
        "2",
        "three late calls in a row open it"
    );

    server.engine.faults().set_cf_delay(Duration::ZERO);
    let recovered = until_recovered(&server).await;
    assert_eq!(recovered.source, "hypergraph_cf");
    assert_eq!(breaker_state(&server), "0");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_filter_falls_back_to_popular_then_heals() {
    let server = TestServer::start_with(fragile()).await;
    let mut client = server.decisions().await;

    server.engine.faults().set_cf_fail(true);
    for _ in 0..4 {
        let response = client
            .recommend(request("c00003"))
            .await
            .unwrap()
            .into_inner();
        assert!(response.degraded);
        assert_eq!(response.source, "popular_in_context");
    }
    assert_eq!(breaker_state(&server), "2");

    let degraded = server.engine.metrics().render(server.engine.graph());
    assert!(
        degraded.contains("hyperrec_recommend_degraded_total{source=\"popular_in_context\"} 4"),
        "{degraded}"
    );

    server.engine.faults().set_cf_fail(false);
    let recovered = until_recovered(&server).await;
    assert_eq!(recovered.source, "hypergraph_cf");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overload_is_refused_fast_and_served_again_once_it_drops() {
    let mut config = fragile();
    config.serving.max_concurrent = 2;
    config.serving.budget_ms = 5_000;
    config.serving.cf_budget_ms = 5_000;
    let server = TestServer::start_with(config).await;
    // Each call holds its slot for 400 ms, so 12 at once exceed the two.
    server
        .engine
        .faults()
        .set_cf_delay(Duration::from_millis(400));

    let mut calls = Vec::new();
    for _ in 0..12 {
        let mut client = server.decisions().await;
        calls.push(tokio::spawn(async move {
            client.recommend(request("c00003")).await.map(|_| ())
        }));
    }
    let mut refused = 0;
    let mut served = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(()) => served += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(
                    status.message().contains("overloaded"),
                    "{}",
                    status.message()
                );
                refused += 1;
            }
        }
    }
    assert!(served >= 2, "the two slots served their calls");
    assert!(refused >= 1, "past the slots calls are refused");
    let text = server.engine.metrics().render(server.engine.graph());
    assert!(
        text.contains(&format!("hyperrec_shed_total {refused}")),
        "{text}"
    );

    server.engine.faults().set_cf_delay(Duration::ZERO);
    let mut client = server.decisions().await;
    for _ in 0..20 {
        let response = client
            .recommend(request("c00003"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.source, "hypergraph_cf");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_call_whose_deadline_has_passed_on_arrival_is_refused() {
    let server = TestServer::start_with(fragile()).await;
    let raw = RawQuery {
        customer_id: "c00003",
        context: vec![("device", "mobile")],
        intent: "",
        limit: Some(10),
        at_ms: Some(EVENING * 1000),
        exclude_product_ids: Vec::new(),
        explain: false,
    };
    let query = validate::query(&raw, EVENING * 1000).unwrap();
    let spent = Budget::new(Duration::from_millis(50), Some(Duration::ZERO));
    assert!(server.engine.recommend_within(&query, spent).await.is_err());
    let fresh = Budget::new(Duration::from_millis(50), None);
    assert!(server.engine.recommend_within(&query, fresh).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn a_cached_answer_never_outlives_the_customers_next_event() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;

    let first = client
        .recommend(request("c00003"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.source, "hypergraph_cf");
    let again = client
        .recommend(request("c00003"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.source, "cache");
    let ids = |r: &hyperrec::api::pb::RecommendResponse| {
        r.recommendations
            .iter()
            .map(|i| i.product_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), ids(&again));

    // Another customer's event leaves this customer's entry alone.
    let other = Interaction {
        customer_id: "c00004".into(),
        product_id: "p00001".into(),
        occurred_at: at(EVENING),
        ..Interaction::default()
    };
    client.record_interaction(other).await.unwrap();
    let still = client
        .recommend(request("c00003"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.source, "cache");

    let own = Interaction {
        customer_id: "c00003".into(),
        product_id: ids(&first)[0].clone(),
        intent: "buy".into(),
        occurred_at: at(EVENING),
        ..Interaction::default()
    };
    client.record_interaction(own).await.unwrap();
    let fresh = client
        .recommend(request("c00003"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        fresh.source, "hypergraph_cf",
        "the event expired the cached answer"
    );

    let text = server.engine.metrics().render(server.engine.graph());
    assert!(
        text.contains("hyperrec_cache_requests_total{result=\"hit\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("hyperrec_cache_requests_total{result=\"miss\"} 2"),
        "{text}"
    );
    server.stop().await;
}
