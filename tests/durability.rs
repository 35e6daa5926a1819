//! Recovery gives back exactly what was recorded, however snapshots and
//! restarts interleave with the writes.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;

use hyperrec::candidates::CfParams;
use hyperrec::context::{DayPart, TimeBucket};
use hyperrec::engine::Engine;
use hyperrec::hypergraph::{Hypergraph, NewEdge};
use hyperrec::storage::{StorageOptions, Store, SyncPolicy, WalOptions};

fn edge(customer: u8, product: u8, contexts: u8, intent: u8, weight: f32, hour: u8) -> NewEdge {
    let all = [
        "device=mobile",
        "device=desktop",
        "location=gym",
        "weather=rain",
    ];
    NewEdge {
        customer: format!("c{customer}"),
        product: format!("p{product}"),
        contexts: (0..4)
            .filter(|bit| contexts & (1 << bit) != 0)
            .map(|bit| all[bit as usize].to_string())
            .collect(),
        intent: ["browse", "compare", "cart", "buy"][intent as usize % 4].to_string(),
        bucket: TimeBucket {
            part: [DayPart::Night, DayPart::Morning][hour as usize % 2],
            weekend: hour.is_multiple_of(3),
        },
        weight,
        at_ms: 1_780_000_000_000 + hour as i64 * 3_600_000,
    }
}

fn edges() -> impl Strategy<Value = Vec<NewEdge>> {
    prop::collection::vec(
        (0u8..12, 0u8..8, 0u8..16, 0u8..4, 0.5f32..5.0, 0u8..48)
            .prop_map(|(c, p, x, i, w, h)| edge(c, p, x, i, w, h)),
        1..80,
    )
}

/// What happens between two writes.
#[derive(Debug, Clone, Copy)]
enum Step {
    Nothing,
    Snapshot,
    Restart,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            6 => Just(Step::Nothing),
            1 => Just(Step::Snapshot),
            1 => Just(Step::Restart),
        ],
        80,
    )
}

/// Every observable part of a graph: hyperedges with their vertices named,
/// and popularity per product and per facet.
fn fingerprint(graph: &Hypergraph) -> Vec<String> {
    let view = graph.view();
    let mut lines: Vec<String> = view
        .edges()
        .map(|e| {
            let contexts: Vec<&str> = view.contexts(e).map(|f| graph.facet_name(f)).collect();
            format!(
                "{} {} {} {} {} {} {:?}",
                graph.customer_name(e.customer),
                graph.product_name(e.product),
                graph.facet_name(e.intent),
                e.bucket,
                e.weight,
                e.at_ms,
                contexts
            )
        })
        .collect();
    for p in 0..graph.product_count() as u32 {
        lines.push(format!(
            "{} {}",
            graph.product_name(p),
            graph.product_popularity(p)
        ));
    }
    for f in 0..graph.facet_count() as u32 {
        let mut per_product: Vec<String> = graph
            .facet_products(f)
            .map(|fp| format!("{}={}", graph.product_name(fp.product), fp.weight()))
            .collect();
        per_product.sort();
        lines.push(format!(
            "{} {} {:?}",
            graph.facet_name(f),
            graph.facet_total(f),
            per_product
        ));
    }
    lines
}

fn open(dir: &Path) -> Engine {
    let graph = Arc::new(Hypergraph::new(336.0));
    let options = StorageOptions {
        wal: WalOptions {
            sync: SyncPolicy::Batch,
            batch_delay_us: 100,
            segment_bytes: 2_000,
            ..WalOptions::default()
        },
        ..StorageOptions::default()
    };
    let (store, recovery) = Store::open(dir, options, &graph).expect("opens");
    Engine::new(graph, CfParams::default()).with_store(store, &recovery.recent)
}

/// Restart without the shutdown snapshot: only what the log and earlier
/// snapshots hold comes back. (Killing the real process is `crash.rs`.)
fn crash_restart(engine: Engine, dir: &Path) -> Engine {
    drop(engine);
    open(dir)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Snapshots and restarts at arbitrary points between the writes give
    /// the same hypergraph as applying every event once, in memory.
    #[test]
    fn any_interleaving_of_snapshots_and_restarts_recovers_the_same_graph(
        events in edges(),
        plan in steps(),
    ) {
        let reference = Hypergraph::new(336.0);
        reference.apply_batch(&events).unwrap();

        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut engine = open(dir.path());
        for (event, step) in events.iter().zip(plan.iter().cycle()) {
            let recorded = engine.record(event, None).unwrap();
            // Acknowledged, as the API would: durable before we go on.
            runtime.block_on(engine.wait_durable(recorded.sequence)).unwrap();
            match step {
                Step::Nothing => {}
                Step::Snapshot => {
                    engine.snapshot().unwrap();
                }
                Step::Restart => engine = crash_restart(engine, dir.path()),
            }
        }
        engine = crash_restart(engine, dir.path());
        prop_assert_eq!(fingerprint(engine.graph()), fingerprint(&reference));

        engine.shutdown().unwrap();
        drop(engine);
        let reopened = open(dir.path());
        prop_assert_eq!(fingerprint(reopened.graph()), fingerprint(&reference));
    }
}
