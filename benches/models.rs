//! Cost of the model stage in the Recommend path, in process: the HGNN
//! encoder, HNSW retrieval, features for the merged candidates, and the
//! ranker, on the demo graph (500k hyperedges) with the demo model version
//! (`models/demo`, or `HYPERREC_BENCH_MODELS`).
//!
//! Criterion reports each part's mean; afterwards a seeded run of 2,000
//! queries prints p50 / p99 of the whole stage, which the target is about.
//! Needs the ONNX Runtime library (`make test` installs it into `.venv`).

mod common;

use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use hyperrec::candidates::{CfParams, HypergraphCf, QueryVertices};
use hyperrec::eval::synthetic::{self, SyntheticSpec};
use hyperrec::hypergraph::{Hypergraph, NewEdge};
use hyperrec::models::{LoadedModel, ModelsConfig, Registry};
use hyperrec::ranking::features::{self, FeatureParams};
use hyperrec::ranking::stage;

struct Setup {
    graph: Arc<Hypergraph>,
    model: Arc<LoadedModel>,
    config: ModelsConfig,
    cf: HypergraphCf,
    queries: Vec<QueryVertices>,
}

fn setup() -> Setup {
    let edges: Vec<NewEdge> = synthetic::generate(&SyntheticSpec::demo())
        .events
        .iter()
        .map(|e| e.to_edge())
        .collect();
    let graph = Arc::new(Hypergraph::new(336.0));
    graph.apply_batch(&edges).expect("applies");
    let dir = std::env::var("HYPERREC_BENCH_MODELS").unwrap_or_else(|_| "models/demo".into());
    let config = ModelsConfig {
        sessions: 1,
        ..ModelsConfig::default()
    };
    let model = Registry::new(config.clone())
        .load(std::path::Path::new(&dir))
        .expect("the demo model version loads");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let queries = (0..2_000)
        .map(|_| {
            let customer = format!("c{:05}", rng.random_range(0..10_000));
            let query = common::varied_query(&mut rng, &customer);
            QueryVertices::resolve(&graph, &query)
        })
        .collect();
    Setup {
        graph,
        model,
        config,
        cf: HypergraphCf::new(CfParams::default()),
        queries,
    }
}

fn params() -> FeatureParams {
    FeatureParams::from(&CfParams::default())
}

fn parts(c: &mut Criterion) {
    let s = setup();
    let q = &s.queries[0];
    let picks = s.cf.recommend(&s.graph.view(), q);
    let embedding = stage::embed(&s.graph, &s.model, q).unwrap();
    let proposals = stage::propose(&s.graph, &s.model, q, &embedding, &picks, &s.config);
    let rows = features::compute(&s.graph, q, &proposals, params());
    let ranker = s
        .model
        .ranker
        .as_ref()
        .expect("the demo version has a ranker");
    eprintln!("{} candidates", proposals.len());

    c.bench_function("encoder", |b| {
        b.iter(|| stage::embed(&s.graph, &s.model, q).unwrap())
    });
    let (k, ef) = (s.config.hnsw_candidates, s.config.hnsw_ef);
    c.bench_function("hnsw", |b| {
        b.iter(|| stage::retrieve(&s.graph, &s.model, &embedding, k, ef))
    });
    c.bench_function("propose", |b| {
        b.iter(|| stage::propose(&s.graph, &s.model, q, &embedding, &picks, &s.config))
    });
    c.bench_function("features", |b| {
        b.iter(|| features::compute(&s.graph, q, &proposals, params()))
    });
    c.bench_function("ranker", |b| b.iter(|| ranker.score(&rows).unwrap()));

    // The whole stage (CF picks given) over varied queries: p50 / p99.
    let mut micros: Vec<f64> = s
        .queries
        .iter()
        .map(|q| {
            let picks = s.cf.recommend(&s.graph.view(), q);
            let started = Instant::now();
            stage::rank(&s.graph, &s.model, q, &picks, &s.config, params()).unwrap();
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    let at = |p: f64| micros[((micros.len() - 1) as f64 * p) as usize];
    println!(
        "model stage over {} queries: p50 {:.0} us, p99 {:.0} us, max {:.0} us",
        micros.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

criterion_group!(benches, parts);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
