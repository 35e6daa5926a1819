//! Applying hyperedges: throughput on one core, and memory per hyperedge,
//! on a 1M-hyperedge synthetic graph with 3 context values per hyperedge
//! (and a 5-context variant for the memory target).

mod common;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};

use hyperrec::hypergraph::{Hypergraph, NewEdge};

fn with_five_contexts(edges: &[NewEdge]) -> Vec<NewEdge> {
    edges
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut e = e.clone();
            e.contexts
                .push(format!("network={}", ["wifi", "4g", "5g"][i % 3]));
            e.contexts
                .push(format!("channel={}", ["app", "web"][i % 2]));
            e
        })
        .collect()
}

/// Resident set size of this process, in bytes (Linux only).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn report_memory(label: &str, edges: &[NewEdge]) {
    let before = rss_bytes();
    let graph = Hypergraph::new(336.0);
    graph.apply_batch(edges).expect("applies");
    let after = rss_bytes();
    let stats = graph.stats();
    let per_edge = |bytes: u64| bytes as f64 / stats.hyperedges as f64;
    println!(
        "{label}: {} hyperedges, {:.1} bytes/hyperedge used, {:.1} reserved, {} rss growth",
        stats.hyperedges,
        per_edge(stats.used_bytes),
        per_edge(stats.reserved_bytes),
        match (before, after) {
            (Some(b), Some(a)) => format!(
                "{:.1} bytes/hyperedge (dictionaries included)",
                per_edge(a.saturating_sub(b))
            ),
            _ => "unknown".to_string(),
        }
    );
}

fn bench(c: &mut Criterion) {
    let edges = common::million_edges();
    let five = with_five_contexts(&edges);
    // The 5-context graph first: its RSS growth is measured on a fresh heap.
    report_memory("5 contexts", &five);
    report_memory("3 contexts", &edges);

    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(edges.len() as u64));
    group.sample_size(10);
    group.bench_function("1m_hyperedges_3_contexts", |b| {
        b.iter_batched(
            || Hypergraph::new(336.0),
            |graph| {
                graph.apply_batch(&edges).expect("applies");
                graph
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("1m_hyperedges_5_contexts", |b| {
        b.iter_batched(
            || Hypergraph::new(336.0),
            |graph| {
                graph.apply_batch(&five).expect("applies");
                graph
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
