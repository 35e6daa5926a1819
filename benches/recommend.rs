//! Recommend latency on a 1M-hyperedge graph, in process (no gRPC).
//!
//! Criterion measures the mean per call; afterwards a fixed, seeded run of
//! 20,000 calls over varied customers and contexts prints p50 / p99 / max,
//! which is what the latency target is about.

mod common;

use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use hyperrec::candidates::CfParams;
use hyperrec::engine::Engine;
use hyperrec::hypergraph::Hypergraph;
use hyperrec::validate::Query;

fn engine() -> Engine {
    let graph = Arc::new(Hypergraph::new(336.0));
    graph
        .apply_batch(&common::million_edges())
        .expect("applies");
    Engine::new(graph, CfParams::default())
}

/// Known customers in varied contexts, plus 5% unknown customers.
fn queries(count: usize) -> Vec<Query> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..count)
        .map(|i| {
            let customer = if i % 20 == 0 {
                format!("new-{i}")
            } else {
                format!("c{:05}", rng.random_range(0..20_000))
            };
            common::varied_query(&mut rng, &customer)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let engine = engine();
    let queries = queries(20_000);

    let mut next = 0;
    c.bench_function("recommend_1m_graph", |b| {
        b.iter(|| {
            next = (next + 1) % queries.len();
            engine.recommend(&queries[next])
        })
    });

    let mut micros: Vec<f64> = queries
        .iter()
        .map(|q| {
            let started = Instant::now();
            std::hint::black_box(engine.recommend(q));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize];
    println!(
        "recommend latency over {} calls: p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, max {:.0} us",
        micros.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
