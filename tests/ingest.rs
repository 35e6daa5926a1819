//! Recording interactions through a real gRPC connection, alone and
//! alongside readers.

mod common;

use common::{at, context, TestServer, EVENING};
use hyperrec::api::pb::{GetGraphStatsRequest, Interaction, RecommendRequest};

fn event(customer: &str, product: &str) -> Interaction {
    Interaction {
        customer_id: customer.into(),
        product_id: product.into(),
        context: context(&[("device", "mobile")]),
        intent: "cart".into(),
        ..Interaction::default()
    }
}

#[tokio::test]
async fn sequences_increase_by_one_per_accepted_event() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let first = client
        .record_interaction(event("a", "p00001"))
        .await
        .unwrap()
        .into_inner();
    let second = client
        .record_interaction(event("b", "p00002"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.sequence, first.sequence + 1);
    server.stop().await;
}

/// A retried event id is acknowledged with its first sequence and applied
/// once, alone or inside a stream.
#[tokio::test]
async fn a_retried_event_id_is_acknowledged_but_not_applied_twice() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let mut admin = server.admin().await;
    let retried = Interaction {
        event_id: "order-17".into(),
        ..event("a", "p00001")
    };

    let first = client
        .record_interaction(retried.clone())
        .await
        .unwrap()
        .into_inner();
    let again = client
        .record_interaction(retried.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.sequence, first.sequence);

    let stream = vec![retried, event("a", "p00002")];
    let ack = client
        .stream_interactions(tokio_stream::iter(stream))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((ack.accepted, ack.duplicates, ack.rejected), (2, 1, 0));

    let stats = admin
        .get_graph_stats(GetGraphStatsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.last_sequence, first.sequence + 1);
    server.stop().await;
}

/// One bad event in a stream is rejected on its own, with its index and the
/// reason, and the good events around it are accepted.
#[tokio::test]
async fn a_bad_event_in_a_stream_rejects_only_itself() {
    let server = TestServer::start().await;
    let mut client = server.decisions().await;
    let events = vec![
        event("a", "p00001"),
        Interaction {
            weight: Some(f32::NAN),
            ..event("a", "p00002")
        },
        event("a", "p00003"),
    ];
    let ack = client
        .stream_interactions(tokio_stream::iter(events))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((ack.accepted, ack.rejected), (2, 1));
    assert_eq!(ack.rejections.len(), 1);
    assert_eq!(ack.rejections[0].index, 1);
    assert!(
        ack.rejections[0].reason.contains("weight"),
        "{:?}",
        ack.rejections
    );

    let stats = server
        .admin()
        .await
        .get_graph_stats(GetGraphStatsRequest {})
        .await
        .unwrap();
    assert_eq!(ack.last_sequence, stats.into_inner().last_sequence);
    server.stop().await;
}

/// Four writers stream while four readers ask for recommendations; nobody
/// sees an error and the graph ends with exactly every accepted event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_readers_end_with_the_exact_count() {
    const PER_WRITER: usize = 2_000;
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let before = admin
        .get_graph_stats(GetGraphStatsRequest {})
        .await
        .unwrap()
        .into_inner();

    let mut writers = Vec::new();
    for w in 0..4 {
        let mut client = server.decisions().await;
        writers.push(tokio::spawn(async move {
            let events: Vec<Interaction> = (0..PER_WRITER)
                .map(|i| {
                    event(
                        &format!("writer{w}-c{}", i % 50),
                        &format!("p{:05}", i % 300),
                    )
                })
                .collect();
            client
                .stream_interactions(tokio_stream::iter(events))
                .await
                .map(|r| r.into_inner())
        }));
    }
    let mut readers = Vec::new();
    for r in 0..4 {
        let mut client = server.decisions().await;
        readers.push(tokio::spawn(async move {
            for i in 0..100 {
                let customer = if i % 2 == 0 {
                    format!("c{:05}", r * 100 + i)
                } else {
                    format!("writer{r}-c{}", i % 50)
                };
                let response = client
                    .recommend(RecommendRequest {
                        customer_id: customer,
                        context: context(&[("device", "mobile")]),
                        at: at(EVENING),
                        ..RecommendRequest::default()
                    })
                    .await?
                    .into_inner();
                assert!(!response.recommendations.is_empty());
            }
            Ok::<_, tonic::Status>(())
        }));
    }

    for writer in writers {
        let ack = writer.await.unwrap().expect("stream succeeds");
        assert_eq!((ack.accepted, ack.rejected), (PER_WRITER as u64, 0));
    }
    for reader in readers {
        reader.await.unwrap().expect("reads succeed");
    }
    let after = admin
        .get_graph_stats(GetGraphStatsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.hyperedges, before.hyperedges + 4 * PER_WRITER as u64);
    assert_eq!(after.customers, before.customers + 4 * 50);
    server.stop().await;
}
