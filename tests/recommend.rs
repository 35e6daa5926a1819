//! Recommend through a real gRPC connection.

mod common;

use common::{at, context, TestServer, EVENING};
use hyperrec::api::pb::{Interaction, RecommendRequest};

fn request(customer: &str, pairs: &[(&str, &str)]) -> RecommendRequest {
    RecommendRequest {
        customer_id: customer.into(),
        context: context(pairs),
        limit: Some(10),
        at: at(EVENING),
        ..RecommendRequest::default()
    }
}

fn ids(response: &hyperrec::api::pb::RecommendResponse) -> Vec<String> {
    response
        .recommendations
        .iter()
        .map(|r| r.product_id.clone())
        .collect()
}

/// The same customer at the gym and at home on a desktop in the evening
/// gets different lists, and the gym list carries the planted gym effect.
#[tokio::test]
async fn the_same_customer_gets_different_lists_in_different_planted_contexts() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;

    let gym = client
        .recommend(request(
            "c00003",
            &[("location", "gym"), ("device", "mobile")],
        ))
        .await
        .unwrap()
        .into_inner();
    let home = client
        .recommend(request(
            "c00003",
            &[("location", "home"), ("device", "desktop")],
        ))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(gym.source, "hypergraph_cf");
    assert_eq!(home.source, "hypergraph_cf");
    assert_eq!(gym.recommendations.len(), 10);
    assert_ne!(ids(&gym), ids(&home));

    let sporty = |list: &[String]| {
        list.iter()
            .filter(|p| matches!(server.category(p), "sports" | "drinks"))
            .count()
    };
    assert!(
        sporty(&ids(&gym)) > sporty(&ids(&home)),
        "gym {:?} vs home {:?}",
        ids(&gym),
        ids(&home)
    );
    server.stop().await;
}

/// After a customer records several purchases of a product, the next answer
/// for that customer includes it, at once.
#[tokio::test]
async fn a_recorded_interaction_changes_the_next_answer() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let pairs = [("location", "gym")];
    let before = ids(&client
        .recommend(request("c00020", &pairs))
        .await
        .unwrap()
        .into_inner());

    let fresh = (0..300)
        .map(|i| format!("p{i:05}"))
        .find(|p| !before.contains(p))
        .expect("some product is not recommended yet");
    for _ in 0..3 {
        client
            .record_interaction(Interaction {
                customer_id: "c00020".into(),
                product_id: fresh.clone(),
                context: context(&pairs),
                intent: "buy".into(),
                occurred_at: at(EVENING - 60),
                weight: Some(50.0),
                ..Interaction::default()
            })
            .await
            .unwrap();
    }

    let after = ids(&client
        .recommend(request("c00020", &pairs))
        .await
        .unwrap()
        .into_inner());
    assert!(after.contains(&fresh), "{fresh} missing from {after:?}");
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_customer_gets_popular_in_context() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;

    let in_context = client
        .recommend(request("never-seen", &[("location", "gym")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(in_context.source, "popular_in_context");
    assert_eq!(in_context.recommendations.len(), 10);
    assert!(!in_context.degraded);

    let elsewhere = client
        .recommend(request("never-seen", &[("location", "home")]))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(ids(&in_context), ids(&elsewhere));
    server.stop().await;
}

/// Context keys the graph has never seen are ignored, not errors.
#[tokio::test]
async fn unknown_context_keys_are_ignored() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let response = client
        .recommend(request("c00003", &[("planet", "mars")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.source, "hypergraph_cf");
    assert_eq!(response.recommendations.len(), 10);
    server.stop().await;
}

#[tokio::test]
async fn explain_attaches_reasons_and_excluded_products_never_appear() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let plain = client
        .recommend(request("c00003", &[]))
        .await
        .unwrap()
        .into_inner();
    assert!(plain.recommendations.iter().all(|r| r.reasons.is_empty()));

    let excluded = ids(&plain)[..3].to_vec();
    let explained = client
        .recommend(RecommendRequest {
            explain: true,
            exclude_product_ids: excluded.clone(),
            ..request("c00003", &[])
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(explained.recommendations.len(), 10);
    assert!(explained
        .recommendations
        .iter()
        .all(|r| !r.reasons.is_empty()));
    assert!(ids(&explained).iter().all(|p| !excluded.contains(p)));
    let scores: Vec<f64> = explained.recommendations.iter().map(|r| r.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(explained.time_bucket, "weekday/evening");
    server.stop().await;
}

/// The tz context key moves the time bucket into the customer's local time.
#[tokio::test]
async fn the_tz_key_sets_the_time_bucket() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let response = client
        .recommend(request("c00003", &[("tz", "Asia/Tokyo")]))
        .await
        .unwrap()
        .into_inner();
    // 20:00 UTC on Monday is 05:00 on Tuesday in Tokyo.
    assert_eq!(response.time_bucket, "weekday/night");
    server.stop().await;
}
