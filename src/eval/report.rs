//! Writing an evaluation: a markdown table for people, JSON with every
//! number for programs, and every query's rankings for outside tools.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use super::metrics::{Estimate, NAMES};
use super::run::Report;

/// Column headings of the markdown table, one per metric name.
fn heading(metric: &str, k: usize) -> String {
    match metric {
        "hr" => format!("HR@{k}"),
        "recall" => format!("Recall@{k}"),
        "ndcg" => format!("NDCG@{k}"),
        "mrr" => "MRR".into(),
        "coverage" => format!("Coverage@{k}"),
        "popularity_percentile" => "Pop. pct".into(),
        "diversity" => "ILD".into(),
        "latency_us" => "µs/query".into(),
        other => other.into(),
    }
}

fn cell(metric: &str, e: &Estimate) -> String {
    match metric {
        "latency_us" => format!("{:.0} [{:.0}, {:.0}]", e.mean, e.low, e.high),
        "popularity_percentile" => format!("{:.1} [{:.1}, {:.1}]", e.mean, e.low, e.high),
        _ => format!("{:.4} [{:.4}, {:.4}]", e.mean, e.low, e.high),
    }
}

/// The table: one row per method, each metric as `mean [low, high]`.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} queries from {} customers; {} training rows; catalogue {} products; \
         {} seen products; 95% bootstrap intervals over {} resamples.\n",
        report.queries,
        report.customers_in_test,
        report.train_rows,
        report.catalogue,
        if report.exclude_seen {
            "excluding"
        } else {
            "including"
        },
        report.resamples,
    );
    let headings: Vec<String> = NAMES.iter().map(|m| heading(m, report.k)).collect();
    let _ = writeln!(out, "| method | {} |", headings.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(NAMES.len()));
    for m in &report.methods {
        let cells: Vec<String> = NAMES.iter().map(|n| cell(n, &m.metrics[n])).collect();
        let _ = writeln!(out, "| {} | {} |", m.method, cells.join(" | "));
    }
    if let Some(t) = &report.tuning {
        let chosen: Vec<String> = t
            .chosen()
            .iter()
            .map(|(name, value)| format!("{name}={}", *value as f32))
            .collect();
        let _ = writeln!(
            out,
            "\ntuned on {} validation queries (NDCG@{} {:.4} -> {:.4}): {}",
            t.validation_queries,
            report.k,
            t.start_ndcg,
            t.best_ndcg,
            chosen.join(" ")
        );
    }
    out
}

/// Every number of the report as JSON.
pub fn write_json(report: &Report, path: &Path) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer_pretty(file, report).map_err(std::io::Error::other)
}

/// `method<TAB>customer<TAB>context_key<TAB>ranked_products`: each query's
/// top 100 per method, products comma-separated, best first.
pub fn write_rankings(report: &Report, path: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "method\tcustomer\tcontext_key\tranked_products")?;
    for m in &report.methods {
        for (query, ranking) in report.queries_asked.iter().zip(&m.rankings) {
            let products: Vec<&str> = ranking
                .iter()
                .map(|&p| report.product_names[p as usize].as_str())
                .collect();
            writeln!(
                out,
                "{}\t{}\t{}\t{}",
                m.method,
                query.customer,
                query.context_key,
                products.join(",")
            )?;
        }
    }
    out.flush()
}
