//! Reading interaction logs from CSV or TSV files through a column mapping.
//!
//! Real logs name their columns in many ways, and some have a count instead
//! of a timestamp; the mapping says which column is what. Each row goes
//! through the same checks as a `RecordInteraction` call, so a file never
//! gets in what the server would refuse. A bad row is reported with its
//! line number and the reading goes on; the caller decides whether to stop.

use std::path::Path;

use chrono::NaiveDateTime;

use crate::hypergraph::NewEdge;
use crate::validate::{self, RawInteraction};

/// Which column holds what. Context columns are named by their header,
/// which becomes the context key (`device`, `location`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMapping {
    pub customer: String,
    pub product: String,
    /// Explicit weight per row.
    pub weight: Option<String>,
    /// A count per row; the weight becomes count x the intent's default.
    pub count: Option<String>,
    /// RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC), or Unix seconds or ms.
    /// Without it every row happens at import time.
    pub timestamp: Option<String>,
    pub intent: Option<String>,
    pub context: Vec<String>,
    /// Field separator; `None` picks tab for `.tsv` files, else comma.
    pub delimiter: Option<u8>,
}

impl Default for ColumnMapping {
    fn default() -> Self {
        Self {
            customer: "customer".into(),
            product: "product".into(),
            weight: None,
            count: None,
            timestamp: None,
            intent: None,
            context: Vec::new(),
            delimiter: None,
        }
    }
}

/// A row that could not be read; `line` is 1-based and counts the header.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

/// Problems with the file as a whole.
#[derive(Debug, thiserror::Error)]
pub enum TabularError {
    #[error("cannot read {path}: {source}")]
    Open { path: String, source: csv::Error },
    #[error("{path} has no column {column:?} (its columns: {found})")]
    MissingColumn {
        path: String,
        column: String,
        found: String,
    },
}

/// Column positions resolved from the header.
struct Positions {
    customer: usize,
    product: usize,
    weight: Option<usize>,
    count: Option<usize>,
    timestamp: Option<usize>,
    intent: Option<usize>,
    /// (context key, column)
    context: Vec<(String, usize)>,
}

/// One good row: its hyperedge and its context cells as written in the file
/// (trimmed, in the mapping's column order, empty where the cell is), which
/// offline evaluation uses to name a query the way the file does.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub edge: NewEdge,
    pub context_cells: Vec<String>,
}

/// Reads every row of `path`, calling `on_row` with the hyperedge or the
/// row's error, in file order.
pub fn read_interactions(
    path: &Path,
    mapping: &ColumnMapping,
    now_ms: i64,
    mut on_row: impl FnMut(Result<NewEdge, RowError>),
) -> Result<(), TabularError> {
    read_rows(path, mapping, now_ms, |row| on_row(row.map(|r| r.edge)))
}

/// [`read_interactions`], keeping each row's raw context cells too.
pub fn read_rows(
    path: &Path,
    mapping: &ColumnMapping,
    now_ms: i64,
    mut on_row: impl FnMut(Result<Row, RowError>),
) -> Result<(), TabularError> {
    let shown = path.display().to_string();
    let delimiter =
        mapping
            .delimiter
            .unwrap_or_else(|| match path.extension().and_then(|e| e.to_str()) {
                Some("tsv" | "tab") => b'\t',
                _ => b',',
            });
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
        .map_err(|source| TabularError::Open {
            path: shown.clone(),
            source,
        })?;
    let headers = reader
        .headers()
        .map_err(|source| TabularError::Open {
            path: shown.clone(),
            source,
        })?
        .clone();
    let positions = resolve(&headers, mapping, &shown)?;

    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        line += 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                on_row(
                    parse_row(&record, &positions, now_ms).map_err(|message| RowError {
                        line: record.position().map_or(line, |p| p.line()),
                        message,
                    }),
                )
            }
            Err(err) => on_row(Err(RowError {
                line: err.position().map_or(line, |p| p.line()),
                message: err.to_string(),
            })),
        }
    }
    Ok(())
}

fn resolve(
    headers: &csv::StringRecord,
    mapping: &ColumnMapping,
    path: &str,
) -> Result<Positions, TabularError> {
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| TabularError::MissingColumn {
                path: path.to_string(),
                column: name.to_string(),
                found: headers.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let optional = |name: &Option<String>| name.as_deref().map(find).transpose();
    Ok(Positions {
        customer: find(&mapping.customer)?,
        product: find(&mapping.product)?,
        weight: optional(&mapping.weight)?,
        count: optional(&mapping.count)?,
        timestamp: optional(&mapping.timestamp)?,
        intent: optional(&mapping.intent)?,
        context: mapping
            .context
            .iter()
            .map(|name| Ok((name.trim().to_ascii_lowercase(), find(name)?)))
            .collect::<Result<_, TabularError>>()?,
    })
}

fn parse_row(record: &csv::StringRecord, at: &Positions, now_ms: i64) -> Result<Row, String> {
    let field = |i: usize| record.get(i).unwrap_or("").trim();
    let number = |name: &str, i: usize| -> Result<f32, String> {
        field(i)
            .parse::<f32>()
            .map_err(|_| format!("{name} {:?} is not a number", field(i)))
    };

    let intent = at.intent.map_or("", field);
    let weight = match (at.weight, at.count) {
        (Some(w), _) => Some(number("weight", w)?),
        (None, Some(c)) => {
            let normalized = validate::intent(intent).map_err(|e| e.to_string())?;
            let base = validate::default_weight(normalized.as_deref().unwrap_or("browse"));
            Some(number("count", c)? * base)
        }
        (None, None) => None,
    };
    let occurred_at_ms = match at.timestamp {
        Some(t) => Some(parse_time(field(t)).ok_or_else(|| {
            format!(
                "timestamp {:?} is not RFC 3339, YYYY-MM-DD HH:MM:SS or Unix time",
                field(t)
            )
        })?),
        None => None,
    };
    // An empty context cell means the value is unknown for this row.
    let context = at
        .context
        .iter()
        .map(|(key, i)| (key.as_str(), field(*i)))
        .filter(|(_, value)| !value.is_empty())
        .collect();

    let raw = RawInteraction {
        customer_id: field(at.customer),
        product_id: field(at.product),
        context,
        intent,
        occurred_at_ms,
        weight,
        metadata: Vec::new(),
    };
    let edge = validate::interaction(&raw, now_ms).map_err(|e| e.to_string())?;
    let context_cells = at.context.iter().map(|(_, i)| field(*i).to_string());
    Ok(Row {
        edge,
        context_cells: context_cells.collect(),
    })
}

/// Parses the timestamp forms a log may use. Bare numbers above 10^11 are
/// milliseconds (10^11 seconds is the year 5138), others seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    if let Some(ms) = validate::parse_rfc3339_ms(text) {
        return Some(ms);
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(naive.and_utc().timestamp_millis());
    }
    let number: f64 = text.parse().ok().filter(|n: &f64| n.is_finite())?;
    Some(if number.abs() > 1e11 {
        number as i64
    } else {
        (number * 1000.0) as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const NOW: i64 = 1_780_000_000_000;

    fn read(contents: &str, mapping: &ColumnMapping) -> Vec<Result<NewEdge, RowError>> {
        let mut file = tempfile::Builder::new().suffix(".tsv").tempfile().unwrap();
        file.write_all(contents.as_bytes()).unwrap();
        let mut rows = Vec::new();
        read_interactions(file.path(), mapping, NOW, |r| rows.push(r)).unwrap();
        rows
    }

    /// A count-based log with one column per context dimension, as public
    /// context-aware datasets are often shipped.
    #[test]
    fn a_count_log_with_context_columns_reads_through_the_mapping() {
        let mapping = ColumnMapping {
            customer: "user".into(),
            product: "item".into(),
            count: Some("cnt".into()),
            context: vec!["daytime".into(), "weather".into()],
            ..ColumnMapping::default()
        };
        let rows = read(
            "user\titem\tcnt\tdaytime\tweather\n\
             u1\ti1\t3\tmorning\tsunny\n\
             u2\ti2\tlots\tevening\train\n\
             \ti3\t1\tnight\t\n",
            &mapping,
        );
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.weight, 3.0);
        assert_eq!(first.contexts, ["daytime=morning", "weather=sunny"]);
        assert_eq!(first.at_ms, NOW);
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
        assert!(rows[1].as_ref().unwrap_err().message.contains("count"));
        let third = rows[2].as_ref().unwrap_err();
        assert_eq!(third.line, 4);
        assert!(third.message.contains("customer_id"), "{third}");
    }

    #[test]
    fn a_missing_column_names_what_the_file_has() {
        let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        file.write_all(b"a,b\n1,2\n").unwrap();
        let err =
            read_interactions(file.path(), &ColumnMapping::default(), NOW, |_| {}).unwrap_err();
        assert!(err.to_string().contains("no column \"customer\""), "{err}");
        assert!(err.to_string().contains("a, b"), "{err}");
    }

    #[test]
    fn timestamps_in_every_supported_form_agree() {
        let expected = Some(1_764_547_200_000);
        assert_eq!(parse_time("2025-12-01T00:00:00Z"), expected);
        assert_eq!(parse_time("2025-12-01 00:00:00"), expected);
        assert_eq!(parse_time("1764547200"), expected);
        assert_eq!(parse_time("1764547200000"), expected);
        assert_eq!(parse_time("yesterday"), None);
    }
}
