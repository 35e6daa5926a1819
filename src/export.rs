//! Writing the hyperedges out for training and analysis, as CSV or Parquet.
//!
//! One row per hyperedge, in sequence order: `sequence, customer, product,
//! intent, time_bucket, weight, timestamp` (RFC 3339 in CSV, milliseconds
//! since the epoch in Parquet), `context` (all `key=value` pairs joined by
//! `|`), then one column per context key holding that key's value (empty
//! or null when the hyperedge has none).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, FloatType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::context::TimeBucket;
use crate::hypergraph::{FacetKind, Hypergraph, View};

/// Rows per Parquet row group: large enough to compress well, small enough
/// to keep one group's columns in memory.
const ROW_GROUP: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    /// By file extension: `.parquet` is Parquet, anything else CSV.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("parquet") => Format::Parquet,
            _ => Format::Csv,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("writing {path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("writing {path}: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
}

/// One hyperedge with its vertices named.
struct Row<'g> {
    sequence: u64,
    customer: &'g str,
    product: &'g str,
    intent: &'g str,
    bucket: String,
    weight: f32,
    at_ms: i64,
    /// (key, value) per context value.
    contexts: Vec<(&'g str, &'g str)>,
}

impl Row<'_> {
    fn context_value(&self, key: &str) -> Option<&str> {
        self.contexts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    fn joined_context(&self) -> String {
        let pairs: Vec<String> = self
            .contexts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("|")
    }
}

fn rows<'v, 'g: 'v>(view: &'v View<'g>) -> impl Iterator<Item = Row<'g>> + 'v {
    let graph = view.graph();
    view.edges().enumerate().map(move |(i, edge)| Row {
        sequence: i as u64 + 1,
        customer: graph.customer_name(edge.customer),
        product: graph.product_name(edge.product),
        intent: graph.facet_name(edge.intent).trim_start_matches("intent:"),
        bucket: TimeBucket::from_code(edge.bucket).to_string(),
        weight: edge.weight,
        at_ms: edge.at_ms,
        contexts: view
            .contexts(edge)
            .filter_map(|f| graph.facet_name(f).split_once('='))
            .collect(),
    })
}

/// Every context key the graph has seen, sorted.
fn context_keys(graph: &Hypergraph) -> Vec<String> {
    let mut keys: Vec<String> = (0..graph.facet_count() as u32)
        .filter(|&f| graph.facet_kind(f) == Some(FacetKind::Context))
        .filter_map(|f| {
            graph
                .facet_name(f)
                .split_once('=')
                .map(|(k, _)| k.to_string())
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Writes every hyperedge of `view` to `path`; returns the row count.
pub fn export(view: &View<'_>, path: &Path, format: Format) -> Result<u64, ExportError> {
    let keys = context_keys(view.graph());
    match format {
        Format::Csv => write_csv(view, &keys, path),
        Format::Parquet => write_parquet(view, &keys, path),
    }
}

fn write_csv(view: &View<'_>, keys: &[String], path: &Path) -> Result<u64, ExportError> {
    let csv_error = |source| ExportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut out = csv::Writer::from_path(path).map_err(csv_error)?;
    let mut header = vec!["sequence", "customer", "product", "intent", "time_bucket"];
    header.extend(["weight", "timestamp", "context"]);
    header.extend(keys.iter().map(String::as_str));
    out.write_record(&header).map_err(csv_error)?;

    let mut count = 0;
    for row in rows(view) {
        let at = DateTime::<Utc>::from_timestamp_millis(row.at_ms).unwrap_or_default();
        let mut record = vec![
            row.sequence.to_string(),
            row.customer.to_string(),
            row.product.to_string(),
            row.intent.to_string(),
            row.bucket.clone(),
            row.weight.to_string(),
            at.to_rfc3339_opts(SecondsFormat::Millis, true),
            row.joined_context(),
        ];
        record.extend(
            keys.iter()
                .map(|k| row.context_value(k).unwrap_or("").to_string()),
        );
        out.write_record(&record).map_err(csv_error)?;
        count += 1;
    }
    out.flush().map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(count)
}

fn parquet_schema(keys: &[String]) -> String {
    let mut schema = String::from(
        "message hyperedge {
            required int64 sequence;
            required binary customer (UTF8);
            required binary product (UTF8);
            required binary intent (UTF8);
            required binary time_bucket (UTF8);
            required float weight;
            required int64 timestamp_ms (TIMESTAMP(MILLIS,true));
            required binary context (UTF8);\n",
    );
    for key in keys {
        // Context keys are limited to a-z, 0-9, '_', '-', '.'; quote-free
        // names keep the schema parser happy.
        let column = key.replace(['-', '.'], "_");
        schema.push_str(&format!("optional binary ctx_{column} (UTF8);\n"));
    }
    schema.push('}');
    schema
}

fn write_parquet(view: &View<'_>, keys: &[String], path: &Path) -> Result<u64, ExportError> {
    let parquet_error = |source| ExportError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let schema = Arc::new(parse_message_type(&parquet_schema(keys)).map_err(parquet_error)?);
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let file = File::create(path).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut writer =
        SerializedFileWriter::new(file, schema, Arc::new(properties)).map_err(parquet_error)?;

    let all: Vec<Row<'_>> = rows(view).collect();
    for group in all.chunks(ROW_GROUP) {
        write_group(&mut writer, group, keys).map_err(parquet_error)?;
    }
    writer.close().map_err(parquet_error)?;
    Ok(all.len() as u64)
}

fn bytes(text: &str) -> ByteArray {
    ByteArray::from(text.as_bytes().to_vec())
}

fn write_group(
    writer: &mut SerializedFileWriter<File>,
    rows: &[Row<'_>],
    keys: &[String],
) -> parquet::errors::Result<()> {
    let mut group = writer.next_row_group()?;
    let mut column = 0;
    while let Some(mut out) = group.next_column()? {
        match column {
            0 => write_i64(&mut out, rows.iter().map(|r| r.sequence as i64).collect())?,
            1 => write_text(&mut out, rows.iter().map(|r| bytes(r.customer)).collect())?,
            2 => write_text(&mut out, rows.iter().map(|r| bytes(r.product)).collect())?,
            3 => write_text(&mut out, rows.iter().map(|r| bytes(r.intent)).collect())?,
            4 => write_text(&mut out, rows.iter().map(|r| bytes(&r.bucket)).collect())?,
            5 => {
                let weights: Vec<f32> = rows.iter().map(|r| r.weight).collect();
                out.typed::<FloatType>().write_batch(&weights, None, None)?;
            }
            6 => write_i64(&mut out, rows.iter().map(|r| r.at_ms).collect())?,
            7 => write_text(
                &mut out,
                rows.iter().map(|r| bytes(&r.joined_context())).collect(),
            )?,
            n => {
                let key = &keys[n - 8];
                let values: Vec<Option<&str>> = rows.iter().map(|r| r.context_value(key)).collect();
                let present: Vec<ByteArray> = values.iter().flatten().map(|v| bytes(v)).collect();
                let levels: Vec<i16> = values.iter().map(|v| v.is_some() as i16).collect();
                out.typed::<ByteArrayType>()
                    .write_batch(&present, Some(&levels), None)?;
            }
        }
        out.close()?;
        column += 1;
    }
    group.close()?;
    Ok(())
}

fn write_i64(
    out: &mut parquet::file::writer::SerializedColumnWriter<'_>,
    values: Vec<i64>,
) -> parquet::errors::Result<()> {
    out.typed::<Int64Type>().write_batch(&values, None, None)?;
    Ok(())
}

fn write_text(
    out: &mut parquet::file::writer::SerializedColumnWriter<'_>,
    values: Vec<ByteArray>,
) -> parquet::errors::Result<()> {
    out.typed::<ByteArrayType>()
        .write_batch(&values, None, None)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DayPart;
    use crate::hypergraph::NewEdge;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn graph() -> Hypergraph {
        let g = Hypergraph::new(24.0);
        for (customer, contexts) in [
            ("c1", vec!["device=mobile", "location=gym"]),
            ("c2", vec![]),
        ] {
            g.apply(&NewEdge {
                customer: customer.into(),
                product: "p,1".into(),
                contexts: contexts.into_iter().map(String::from).collect(),
                intent: "buy".into(),
                bucket: TimeBucket {
                    part: DayPart::Morning,
                    weekend: false,
                },
                weight: 5.0,
                at_ms: 1_780_000_000_000,
            })
            .unwrap();
        }
        g
    }

    #[test]
    fn csv_has_one_row_per_hyperedge_and_a_column_per_context_key() {
        let g = graph();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.csv");
        assert_eq!(export(&g.view(), &path, Format::Csv).unwrap(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "sequence,customer,product,intent,time_bucket,weight,timestamp,context,device,location"
        );
        assert!(
            lines[1].starts_with("1,c1,\"p,1\",buy,weekday/morning,5,"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with(",device=mobile|location=gym,mobile,gym"),
            "{}",
            lines[1]
        );
        assert!(lines[2].ends_with(",,,"), "{}", lines[2]);
    }

    #[test]
    fn parquet_reads_back_with_the_same_row_count_and_columns() {
        let g = graph();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edges.parquet");
        assert_eq!(Format::from_path(&path), Format::Parquet);
        assert_eq!(export(&g.view(), &path, Format::Parquet).unwrap(), 2);
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.file_metadata().num_rows(), 2);
        let columns: Vec<String> = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        assert_eq!(columns.last().map(String::as_str), Some("ctx_location"));
        assert_eq!(columns.len(), 10);
    }
}
