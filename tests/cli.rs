//! The `hyperrec` binary: generate a log, import it through a column
//! mapping, and load the data directory the way `serve --data-dir` does.

mod common;

use common::{hyperrec, text};
use std::path::Path;
use std::process::Output;

use hyperrec::hypergraph::Hypergraph;
use hyperrec::storage::{StorageOptions, Store};

fn import(file: &Path, data: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--timestamp-col",
        "timestamp",
        "--intent-col",
        "intent",
        "--context-cols",
        "device,location,weather",
    ];
    args.extend_from_slice(extra);
    hyperrec(&args)
}

#[test]
fn a_generated_log_imports_whole_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synthetic");
    let generated = hyperrec(&[
        "generate",
        "--out",
        out.to_str().unwrap(),
        "--customers",
        "50",
        "--products",
        "40",
        "--interactions",
        "1000",
    ]);
    assert!(generated.status.success(), "{}", text(&generated.stderr));

    let data = dir.path().join("data");
    let imported = import(&out.join("interactions.csv"), &data, &[]);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert!(
        text(&imported.stdout).contains("imported 1000 interactions"),
        "{}",
        text(&imported.stdout)
    );

    let stats = recovered(&data).stats();
    assert_eq!(stats.hyperedges, 1000);
    assert_eq!(
        stats.context_values,
        3 + 5 + 3,
        "devices, locations, weathers"
    );

    let csv = dir.path().join("edges.csv");
    let data_arg = data.to_str().unwrap();
    let exported = hyperrec(&[
        "export",
        "--data-dir",
        data_arg,
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(rows.lines().count(), 1 + 1000);
    let header = rows.lines().next().unwrap();
    assert!(
        header.ends_with(",context,device,location,weather"),
        "{header}"
    );

    let parquet = dir.path().join("edges.parquet");
    let out_arg = parquet.to_str().unwrap();
    let exported = hyperrec(&["export", "--data-dir", data_arg, "--out", out_arg]);
    assert!(text(&exported.stdout).contains("exported 1000 hyperedges"));
}

/// Recovers a data directory in process, as `serve --data-dir` does.
fn recovered(data: &Path) -> Hypergraph {
    let graph = Hypergraph::new(336.0);
    let (store, _) = Store::open(data, StorageOptions::default(), &graph).unwrap();
    store.close().unwrap();
    graph
}

#[test]
fn bad_rows_are_reported_by_line_and_strict_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.csv");
    std::fs::write(
        &file,
        "customer,product,timestamp,intent,device,location,weather\n\
         c1,p1,2026-11-01T10:00:00Z,buy,mobile,gym,sun\n\
         c2,p2,not-a-time,buy,mobile,gym,sun\n\
         ,p3,2026-11-01T10:00:00Z,buy,mobile,gym,sun\n",
    )
    .unwrap();
    let data = dir.path().join("data");

    let lenient = import(&file, &data, &[]);
    assert!(lenient.status.success());
    let stderr = text(&lenient.stderr);
    assert!(stderr.contains("line 3: timestamp"), "{stderr}");
    assert!(stderr.contains("line 4: customer_id"), "{stderr}");
    assert!(text(&lenient.stdout).contains("imported 1 interactions"));

    let strict_data = dir.path().join("strict");
    let strict = import(&file, &strict_data, &["--strict"]);
    assert!(!strict.status.success());
    assert!(
        text(&strict.stderr).contains("line 3"),
        "{}",
        text(&strict.stderr)
    );
    assert!(
        !strict_data.exists(),
        "a failed strict import creates nothing"
    );
    assert_eq!(recovered(&data).last_sequence(), 1);
}

#[test]
fn a_missing_column_fails_with_the_columns_the_file_has() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.tsv");
    std::fs::write(&file, "user\titem\nu1\ti1\n").unwrap();
    let output = hyperrec(&[
        "import",
        file.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no column \"customer\"") && stderr.contains("user, item"),
        "{stderr}"
    );
}
