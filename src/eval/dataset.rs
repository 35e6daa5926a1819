//! Interaction logs for offline evaluation: reading them through a column
//! mapping, holding out test rows, and grouping test rows into queries.
//!
//! A *query group* is every row that shares a customer, a set of context
//! values and an intent: the moment "this customer, in this context, with
//! this intent" that a Recommend call would ask about. Splits hold out whole
//! groups, so a test query never has its own rows in the training data,
//! while the customer's other groups (other contexts) stay in: that is the
//! situation a context-aware recommender meets in production.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

use crate::context::{NormalizedContext, TimeBucket};
use crate::hypergraph::NewEdge;
use crate::tabular::{self, ColumnMapping, RowError, TabularError};
use crate::validate::{self, Query};

/// When a log has no timestamp column every row happens at this moment
/// (2026-01-01T00:00:00Z): recency is then equal for all evidence, and time
/// buckets carry no signal, which leaves time to the log's own context
/// columns (daytime, weekday…).
pub const UNTIMED_AT_MS: i64 = 1_767_225_600_000;

/// One good row of a log, with its place in the file.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub edge: NewEdge,
    /// Context cells as the file wrote them, in the mapping's order.
    pub cells: Vec<String>,
    /// 0-based position among the good rows; orders untimed logs.
    pub order: usize,
}

/// A whole log as read.
#[derive(Debug, Default)]
pub struct Log {
    pub rows: Vec<LogRow>,
    /// Whether rows carry their own time (a timestamp column).
    pub timed: bool,
    /// Bad rows, skipped; the first few are kept to show the user.
    pub skipped: usize,
    pub first_errors: Vec<RowError>,
}

/// How a single log is divided into train and test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitKind {
    /// A seeded random share of each customer's query groups.
    Random,
    /// Each customer's latest query groups (by time, else by file order).
    Temporal,
    /// The newest share of all rows by time (else by file order), whatever
    /// the customer: the part model training holds out, so learned models
    /// are scored on rows they never saw.
    Time,
}

/// One test query: what is asked, and what the customer really chose.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalQuery {
    pub customer: String,
    /// Normalized `key=value` context values, sorted.
    pub contexts: Vec<String>,
    pub intent: String,
    /// The moment the query is asked: its earliest row.
    pub at_ms: i64,
    pub bucket: TimeBucket,
    /// The context cells of the group joined by `|`, as the file wrote them.
    pub context_key: String,
    /// Distinct products of the group's rows, in file order.
    pub relevant: Vec<String>,
}

impl EvalQuery {
    /// The Recommend query the server would receive for this moment.
    pub fn to_query(&self, limit: usize, exclude: Vec<String>) -> Query {
        Query {
            customer: self.customer.clone(),
            context: NormalizedContext {
                values: self.contexts.clone(),
                tz: None,
            },
            intent: Some(self.intent.clone()),
            limit,
            at_ms: self.at_ms,
            bucket: self.bucket,
            exclude,
            explain: false,
        }
    }
}

/// Bad rows kept for the report; the rest are only counted.
const ERRORS_SHOWN: usize = 5;

/// Reads a log; rows the server would refuse are skipped and counted.
pub fn read_log(path: &Path, mapping: &ColumnMapping) -> Result<Log, TabularError> {
    let timed = mapping.timestamp.is_some();
    // Untimed rows are stamped UNTIMED_AT_MS; timed rows are checked
    // against the real clock like any interaction.
    let now_ms = if timed {
        validate::now_ms()
    } else {
        UNTIMED_AT_MS
    };
    let mut log = Log {
        timed,
        ..Log::default()
    };
    tabular::read_rows(path, mapping, now_ms, |row| match row {
        Ok(row) => {
            let order = log.rows.len();
            log.rows.push(LogRow {
                edge: row.edge,
                cells: row.context_cells,
                order,
            });
        }
        Err(err) => {
            log.skipped += 1;
            if log.first_errors.len() < ERRORS_SHOWN {
                log.first_errors.push(err);
            }
        }
    })?;
    Ok(log)
}

/// The key of a row's query group.
fn group_key(edge: &NewEdge) -> (&str, &[String], &str) {
    (&edge.customer, &edge.contexts, &edge.intent)
}

/// Row indices of each query group, per customer, groups in order of
/// first appearance.
fn groups_by_customer(rows: &[LogRow]) -> Vec<Vec<Vec<usize>>> {
    let mut customers: FxHashMap<&str, usize> = FxHashMap::default();
    let mut groups: FxHashMap<(&str, &[String], &str), (usize, usize)> = FxHashMap::default();
    let mut out: Vec<Vec<Vec<usize>>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let next = customers.len();
        let c = *customers.entry(&row.edge.customer).or_insert(next);
        if c == out.len() {
            out.push(Vec::new());
        }
        let next_group = out[c].len();
        let (_, g) = *groups
            .entry(group_key(&row.edge))
            .or_insert((c, next_group));
        if g == out[c].len() {
            out[c].push(Vec::new());
        }
        out[c][g].push(i);
    }
    out
}

/// How many of a customer's `groups` are held out: the fraction, rounded,
/// but at least one and never all (a customer needs some history).
fn held_out_count(groups: usize, fraction: f64) -> usize {
    if groups < 2 {
        return 0;
    }
    ((groups as f64 * fraction).round() as usize).clamp(1, groups - 1)
}

/// Splits `rows` into (train, test) by whole query groups per customer.
pub fn split(
    rows: Vec<LogRow>,
    kind: SplitKind,
    fraction: f64,
    seed: u64,
) -> (Vec<LogRow>, Vec<LogRow>) {
    if kind == SplitKind::Time {
        return newest_by_time(rows, fraction);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut is_test = vec![false; rows.len()];
    for mut groups in groups_by_customer(&rows) {
        let held = held_out_count(groups.len(), fraction);
        if held == 0 {
            continue;
        }
        match kind {
            SplitKind::Random => groups.shuffle(&mut rng),
            SplitKind::Temporal | SplitKind::Time => {
                groups.sort_by_key(|g| g.iter().map(|&i| (rows[i].edge.at_ms, rows[i].order)).max())
            }
        }
        for group in &groups[groups.len() - held..] {
            for &i in group {
                is_test[i] = true;
            }
        }
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (row, test_row) in rows.into_iter().zip(is_test) {
        if test_row {
            test.push(row);
        } else {
            train.push(row);
        }
    }
    (train, test)
}

/// Splits off the newest `fraction` of rows by time (then file order).
pub fn newest_by_time(mut rows: Vec<LogRow>, fraction: f64) -> (Vec<LogRow>, Vec<LogRow>) {
    rows.sort_by_key(|r| (r.edge.at_ms, r.order));
    let held = ((rows.len() as f64 * fraction).round() as usize).min(rows.len());
    let test = rows.split_off(rows.len() - held);
    (rows, test)
}

/// Groups test rows into queries, in order of first appearance.
pub fn queries(test: &[LogRow]) -> Vec<EvalQuery> {
    let mut index: FxHashMap<(&str, &[String], &str), usize> = FxHashMap::default();
    let mut out: Vec<EvalQuery> = Vec::new();
    for row in test {
        let edge = &row.edge;
        let next = out.len();
        let q = *index.entry(group_key(edge)).or_insert(next);
        if q == out.len() {
            out.push(EvalQuery {
                customer: edge.customer.clone(),
                contexts: edge.contexts.clone(),
                intent: edge.intent.clone(),
                at_ms: edge.at_ms,
                bucket: edge.bucket,
                context_key: row.cells.join("|"),
                relevant: Vec::new(),
            });
        }
        let query = &mut out[q];
        if edge.at_ms < query.at_ms {
            query.at_ms = edge.at_ms;
            query.bucket = edge.bucket;
        }
        if !query.relevant.contains(&edge.product) {
            query.relevant.push(edge.product.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DayPart;

    fn row(customer: &str, product: &str, context: &str, at_ms: i64, order: usize) -> LogRow {
        LogRow {
            edge: NewEdge {
                customer: customer.into(),
                product: product.into(),
                contexts: vec![format!("location={context}")],
                intent: "buy".into(),
                bucket: TimeBucket {
                    part: DayPart::Morning,
                    weekend: false,
                },
                weight: 1.0,
                at_ms,
            },
            cells: vec![context.to_string()],
            order,
        }
    }

    fn log() -> Vec<LogRow> {
        let mut rows = Vec::new();
        for (i, ctx) in ["gym", "home", "work", "gym", "home", "store"]
            .iter()
            .enumerate()
        {
            rows.push(row(
                "a",
                &format!("p{i}"),
                ctx,
                1_000 + i as i64,
                rows.len(),
            ));
            rows.push(row(
                "b",
                &format!("q{i}"),
                ctx,
                2_000 - i as i64,
                rows.len(),
            ));
        }
        rows.push(row("loner", "p0", "gym", 5, rows.len()));
        rows
    }

    /// Held-out groups are whole: no test group has a row left in train.
    #[test]
    fn splits_hold_out_whole_groups_and_keep_single_group_customers() {
        for kind in [SplitKind::Random, SplitKind::Temporal] {
            let (train, test) = split(log(), kind, 0.5, 7);
            assert_eq!(train.len() + test.len(), 13);
            for t in &test {
                assert!(train
                    .iter()
                    .all(|r| group_key(&r.edge) != group_key(&t.edge)));
            }
            assert!(test.iter().all(|r| r.edge.customer != "loner"));
            // a: 4 groups (gym, home, work, store) -> 2 held out.
            let a_groups = queries(&test).iter().filter(|q| q.customer == "a").count();
            assert_eq!(a_groups, 2, "{kind:?}");
        }
    }

    #[test]
    fn the_temporal_split_holds_out_each_customers_latest_groups() {
        let (_, test) = split(log(), SplitKind::Temporal, 0.5, 7);
        let mut a: Vec<String> = queries(&test)
            .into_iter()
            .filter(|q| q.customer == "a")
            .map(|q| q.context_key)
            .collect();
        a.sort();
        // a's groups by latest row: work (2), gym (3), home (4), store (5).
        assert_eq!(a, ["home", "store"]);
        let b: Vec<String> = queries(&test)
            .into_iter()
            .filter(|q| q.customer == "b")
            .map(|q| q.context_key)
            .collect();
        // b's times run backwards: gym and home are its latest.
        assert_eq!(b.len(), 2);
        assert!(b.contains(&"gym".to_string()) && b.contains(&"home".to_string()));
    }

    #[test]
    fn the_time_split_holds_out_the_newest_rows_of_everyone() {
        let (train, test) = split(log(), SplitKind::Time, 0.25, 7);
        assert_eq!(test.len(), 3);
        let oldest_test = test.iter().map(|r| r.edge.at_ms).min().unwrap();
        assert!(train.iter().all(|r| r.edge.at_ms <= oldest_test));
    }

    #[test]
    fn a_query_collects_the_distinct_products_of_its_group() {
        let rows = vec![
            row("a", "p1", "gym", 30, 0),
            row("a", "p2", "gym", 10, 1),
            row("a", "p1", "gym", 20, 2),
            row("a", "p3", "home", 40, 3),
        ];
        let qs = queries(&rows);
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].relevant, ["p1", "p2"]);
        assert_eq!(qs[0].at_ms, 10);
        assert_eq!(qs[0].context_key, "gym");
    }
}
