//! `hyperrec evaluate`: the planted context effects of the synthetic log
//! make the hypergraph recommender beat the pairwise baselines, and a
//! count-based log with one column per context dimension (the shape public
//! context-aware data sets come in) evaluates through the mapping flags
//! alone, with its JSON and rankings files.

mod common;

use common::{hyperrec, text};
use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Datelike, Timelike};
use hyperrec::eval::synthetic::{self, SyntheticSpec};

fn ndcg(report: &serde_json::Value, method: &str) -> (f64, f64, f64) {
    let m = report["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["method"] == method)
        .unwrap_or_else(|| panic!("{method} is in the report"));
    let e = &m["metrics"]["ndcg"];
    (
        e["mean"].as_f64().unwrap(),
        e["low"].as_f64().unwrap(),
        e["high"].as_f64().unwrap(),
    )
}

/// A small synthetic log, as `hyperrec generate` writes it.
fn generated(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("synthetic");
    let made = hyperrec(&[
        "generate",
        "--out",
        out.to_str().unwrap(),
        "--customers",
        "600",
        "--products",
        "300",
        "--interactions",
        "24000",
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    out
}

/// The planted effects (context boosts, taste clusters, reorder) are what
/// the hypergraph keeps and pairwise methods lose; on a temporal hold-out
/// the engine's recommender must rank the held-out choices better than
/// item-kNN and ALS, by more than the noise of the bootstrap, and below
/// the oracle that knows the generator.
#[test]
fn hypergraph_cf_beats_both_pairwise_baselines_on_the_planted_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = generated(dir.path());
    let json = dir.path().join("report.json");
    let run = hyperrec(&[
        "evaluate",
        "--data",
        data.join("interactions.csv").to_str().unwrap(),
        "--split",
        "temporal",
        "--timestamp-col",
        "timestamp",
        "--intent-col",
        "intent",
        "--context-cols",
        "device,location,weather",
        "--products",
        data.join("products.csv").to_str().unwrap(),
        "--methods",
        "item_knn,als,hypergraph_cf",
        "--resamples",
        "200",
        "--oracle",
        "600,300,42",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let table = text(&run.stdout);
    assert!(table.contains("| hypergraph_cf |"), "{table}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let (cf, cf_low, _) = ndcg(&report, "hypergraph_cf");
    for baseline in ["item_knn", "als"] {
        let (b, _, b_high) = ndcg(&report, baseline);
        assert!(cf > b, "hypergraph_cf {cf} vs {baseline} {b}");
        assert!(
            cf_low > b,
            "the interval of hypergraph_cf reaches {baseline}"
        );
        assert!(b_high > b, "intervals have width");
    }
    // The generator's own probabilities are the ceiling nobody reaches.
    let (oracle, _, _) = ndcg(&report, "oracle");
    assert!(oracle > cf, "oracle {oracle} vs hypergraph_cf {cf}");
}

/// Turns the synthetic log into the shape of a public context-aware data
/// set: no timestamp, a count per (user, item, context) and the time as
/// context columns of its own.
fn count_log(path: &Path) {
    let spec = SyntheticSpec {
        customers: 150,
        products: 120,
        interactions: 4_000,
        ..SyntheticSpec::demo()
    };
    let data = synthetic::generate(&spec);
    let mut counts: BTreeMap<(String, String, String), u32> = BTreeMap::new();
    for e in &data.events {
        let at = DateTime::from_timestamp_millis(e.at_ms).unwrap();
        let daytime = ["night", "morning", "afternoon", "evening"][at.hour() as usize / 6];
        let weekend = at.weekday().number_from_monday() >= 6;
        let context = format!(
            "{daytime}\t{}\t{}\t{}\t{}",
            at.weekday(),
            if weekend { "weekend" } else { "workday" },
            e.location,
            // A capitalized cell: normalization must not change the key
            // the rankings file reports.
            if e.weather == "rain" {
                "Rainy"
            } else {
                e.weather
            },
        );
        *counts
            .entry((e.customer.clone(), e.product.clone(), context))
            .or_default() += 1;
    }
    let mut out = String::from("user\titem\tcnt\tdaytime\tweekday\tisweekend\tlocation\tweather\n");
    for ((user, item, context), cnt) in counts {
        out.push_str(&format!("{user}\t{item}\t{cnt}\t{context}\n"));
    }
    out.push_str("broken-row-without-columns\n");
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_count_log_with_context_columns_evaluates_through_the_mapping_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.tsv");
    count_log(&log);
    let json = dir.path().join("report.json");
    let rankings = dir.path().join("rankings.tsv");
    let run = hyperrec(&[
        "evaluate",
        "--data",
        log.to_str().unwrap(),
        "--customer-col",
        "user",
        "--product-col",
        "item",
        "--count-col",
        "cnt",
        "--context-cols",
        "daytime,weekday,isweekend,location,weather",
        "--tune",
        "--exclude-seen",
        "--k",
        "5",
        "--resamples",
        "100",
        "--json",
        json.to_str().unwrap(),
        "--rankings",
        rankings.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("line "),
        "the bad row is reported"
    );
    let table = text(&run.stdout);
    assert!(
        table.contains("NDCG@5") && table.contains("excluding seen"),
        "{table}"
    );
    assert!(
        table.contains("tuned on"),
        "the chosen knobs are printed: {table}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let methods: Vec<&str> = report["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        hyperrec::eval::methods::ALL,
        "every method runs, the tuned one included"
    );
    let queries = report["queries"].as_u64().unwrap() as usize;
    assert!(queries > 50, "{queries} queries");
    for m in report["methods"].as_array().unwrap() {
        for metric in hyperrec::eval::metrics::NAMES {
            let e = &m["metrics"][metric];
            let (mean, low, high) = (
                e["mean"].as_f64().unwrap(),
                e["low"].as_f64().unwrap(),
                e["high"].as_f64().unwrap(),
            );
            assert!(low <= mean + 1e-9 && mean <= high + 1e-9, "{metric}: {e}");
        }
    }

    let tsv = std::fs::read_to_string(&rankings).unwrap();
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next(),
        Some("method\tcustomer\tcontext_key\tranked_products")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), queries * methods.len());
    for row in &rows {
        assert_eq!(row.len(), 4);
        let ranked: Vec<&str> = row[3].split(',').collect();
        // The top 100, or every product left once seen ones are out.
        assert!((5..=100).contains(&ranked.len()), "{}", ranked.len());
        let mut distinct = ranked.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ranked.len(), "no product twice");
        assert_eq!(row[2].split('|').count(), 5, "one value per context column");
    }
    assert!(
        rows.iter().any(|r| r[2].ends_with("|Rainy")),
        "context keys keep the file's spelling"
    );
}
