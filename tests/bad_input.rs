//! Bad input answers INVALID_ARGUMENT naming what to fix, and the server
//! keeps serving.

mod common;

use std::collections::HashMap;

use common::{at, context, TestServer};
use hyperrec::api::pb::{Interaction, RecommendRequest};
use tonic::Code;

fn good_request() -> RecommendRequest {
    RecommendRequest {
        customer_id: "c00001".into(),
        context: context(&[("device", "mobile")]),
        ..RecommendRequest::default()
    }
}

fn good_event() -> Interaction {
    Interaction {
        customer_id: "c00001".into(),
        product_id: "p00001".into(),
        ..Interaction::default()
    }
}

fn many_keys(n: usize) -> HashMap<String, String> {
    (0..n).map(|i| (format!("k{i}"), "v".to_string())).collect()
}

#[tokio::test]
async fn bad_recommend_requests_are_invalid_argument_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let megabyte = "x".repeat(1 << 20);
    let in_three_years = chrono::Utc::now().timestamp() + 3 * 365 * 86_400;

    let cases: Vec<(&str, RecommendRequest)> = vec![
        (
            "customer_id",
            RecommendRequest {
                customer_id: String::new(),
                ..good_request()
            },
        ),
        (
            "customer_id",
            RecommendRequest {
                customer_id: megabyte.clone(),
                ..good_request()
            },
        ),
        (
            "limit",
            RecommendRequest {
                limit: Some(0),
                ..good_request()
            },
        ),
        (
            "limit",
            RecommendRequest {
                limit: Some(100_000),
                ..good_request()
            },
        ),
        (
            "context",
            RecommendRequest {
                context: many_keys(10_000),
                ..good_request()
            },
        ),
        (
            "context",
            RecommendRequest {
                context: context(&[("device", &megabyte)]),
                ..good_request()
            },
        ),
        (
            "context",
            RecommendRequest {
                context: context(&[("tz", "Atlantis/Capital")]),
                ..good_request()
            },
        ),
        (
            "at",
            RecommendRequest {
                at: at(in_three_years),
                ..good_request()
            },
        ),
        (
            "intent",
            RecommendRequest {
                intent: "buy; drop table".into(),
                ..good_request()
            },
        ),
    ];
    for (field, request) in cases {
        let status = client.recommend(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
        assert!(
            status.message().len() < 300,
            "message stays short: {}",
            status.message()
        );
    }

    let ok = client.recommend(good_request()).await.unwrap().into_inner();
    assert!(!ok.recommendations.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn bad_interactions_are_invalid_argument_and_nothing_is_applied() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let in_three_years = chrono::Utc::now().timestamp() + 3 * 365 * 86_400;

    let cases: Vec<(&str, Interaction)> = vec![
        (
            "customer_id",
            Interaction {
                customer_id: " ".into(),
                ..good_event()
            },
        ),
        (
            "product_id",
            Interaction {
                product_id: String::new(),
                ..good_event()
            },
        ),
        (
            "weight",
            Interaction {
                weight: Some(f32::NAN),
                ..good_event()
            },
        ),
        (
            "weight",
            Interaction {
                weight: Some(-2.0),
                ..good_event()
            },
        ),
        (
            "weight",
            Interaction {
                weight: Some(f32::INFINITY),
                ..good_event()
            },
        ),
        (
            "occurred_at",
            Interaction {
                occurred_at: at(in_three_years),
                ..good_event()
            },
        ),
        (
            "context",
            Interaction {
                context: many_keys(10_000),
                ..good_event()
            },
        ),
        (
            "context",
            Interaction {
                context: context(&[("tz", "Mars/Base")]),
                ..good_event()
            },
        ),
        (
            "metadata",
            Interaction {
                metadata: many_keys(100),
                ..good_event()
            },
        ),
    ];
    let mut client_admin = server.admin().await;
    let before = client_admin
        .get_graph_stats(hyperrec::api::pb::GetGraphStatsRequest {})
        .await
        .unwrap()
        .into_inner();
    for (field, event) in cases {
        let status = client.record_interaction(event).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
    }
    let after = client_admin
        .get_graph_stats(hyperrec::api::pb::GetGraphStatsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.hyperedges, before.hyperedges);

    let ack = client
        .record_interaction(good_event())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.sequence, before.last_sequence + 1);
    server.stop().await;
}
