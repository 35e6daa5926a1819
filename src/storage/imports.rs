//! Imported interactions, stored as normalized TSV files in the data
//! directory and loaded into the hypergraph when the server starts.
//!
//! A file is written under a temporary name and renamed when complete, so a
//! crash during an import leaves either the whole file or nothing that the
//! server would load.
//!
//! Interactions recorded through gRPC are not written here: they live in
//! memory only and are lost on restart until the write-ahead log exists.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::context::TimeBucket;
use crate::hypergraph::{Hypergraph, NewEdge};

const SUFFIX: &str = "tsv";
/// Joins context values inside one field; values never contain control
/// characters (see `context::normalize`), so it cannot be ambiguous.
const CONTEXT_SEPARATOR: char = '\u{1f}';

#[derive(Debug, thiserror::Error)]
pub enum ImportStoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path} line {line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("applying {path}: {source}")]
    Graph {
        path: PathBuf,
        source: crate::hypergraph::GraphError,
    },
}

fn imports_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("imports")
}

/// Writes one imported file; nothing is visible until [`ImportFile::commit`],
/// and a file dropped without it is deleted.
pub struct ImportFile {
    writer: csv::Writer<fs::File>,
    partial: PathBuf,
    done: PathBuf,
    committed: bool,
}

impl Drop for ImportFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover `.partial` file is never loaded anyway.
            let _ = fs::remove_file(&self.partial);
        }
    }
}

impl ImportFile {
    /// Starts a new import file named after `source` and the current time,
    /// so later imports sort (and load) after earlier ones.
    pub fn create(data_dir: &Path, source: &Path) -> Result<Self, ImportStoreError> {
        let dir = imports_dir(data_dir);
        fs::create_dir_all(&dir).map_err(|source| ImportStoreError::Io {
            path: dir.clone(),
            source,
        })?;
        let stem = source
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("import")
            .replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
                "_",
            );
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
        let done = dir.join(format!("{stamp}-{stem}.{SUFFIX}"));
        let partial = done.with_extension("partial");
        let writer = csv::WriterBuilder::new()
            .delimiter(b'\t')
            .from_path(&partial)
            .map_err(|source| ImportStoreError::Csv {
                path: partial.clone(),
                source,
            })?;
        Ok(Self {
            writer,
            partial,
            done,
            committed: false,
        })
    }

    pub fn write(&mut self, edge: &NewEdge) -> Result<(), ImportStoreError> {
        let contexts = edge.contexts.join(&CONTEXT_SEPARATOR.to_string());
        self.writer
            .write_record([
                edge.at_ms.to_string().as_str(),
                &edge.customer,
                &edge.product,
                &edge.intent,
                &edge.weight.to_string(),
                &edge.bucket.code().to_string(),
                &contexts,
            ])
            .map_err(|source| ImportStoreError::Csv {
                path: self.partial.clone(),
                source,
            })
    }

    /// Flushes, syncs and renames the file into place; returns its path.
    pub fn commit(mut self) -> Result<PathBuf, ImportStoreError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ImportStoreError::Io { path, source }
        };
        self.writer.flush().map_err(io_err(&self.partial))?;
        self.writer
            .get_ref()
            .sync_all()
            .map_err(io_err(&self.partial))?;
        fs::rename(&self.partial, &self.done).map_err(io_err(&self.done))?;
        self.committed = true;
        Ok(self.done.clone())
    }
}

/// Applies every committed import file of `data_dir` in name order and
/// returns how many interactions were applied.
pub fn load_all(data_dir: &Path, graph: &Hypergraph) -> Result<u64, ImportStoreError> {
    let dir = imports_dir(data_dir);
    let mut files: Vec<PathBuf> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == SUFFIX))
            .collect(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(ImportStoreError::Io { path: dir, source }),
    };
    files.sort();

    let mut applied = 0;
    for path in files {
        applied += load_file(&path, graph)?;
    }
    Ok(applied)
}

fn load_file(path: &Path, graph: &Hypergraph) -> Result<u64, ImportStoreError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(false)
        .from_path(path)
        .map_err(|source| ImportStoreError::Csv {
            path: path.to_path_buf(),
            source,
        })?;
    let mut batch = Vec::with_capacity(4096);
    let mut applied = 0;
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|source| ImportStoreError::Csv {
            path: path.to_path_buf(),
            source,
        })?;
        let edge = parse(&record).map_err(|message| ImportStoreError::Corrupt {
            path: path.to_path_buf(),
            line: index as u64 + 1,
            message,
        })?;
        batch.push(edge);
        if batch.len() == batch.capacity() {
            applied += apply(graph, &mut batch, path)?;
        }
    }
    applied += apply(graph, &mut batch, path)?;
    Ok(applied)
}

fn apply(
    graph: &Hypergraph,
    batch: &mut Vec<NewEdge>,
    path: &Path,
) -> Result<u64, ImportStoreError> {
    graph
        .apply_batch(batch)
        .map_err(|source| ImportStoreError::Graph {
            path: path.to_path_buf(),
            source,
        })?;
    let applied = batch.len() as u64;
    batch.clear();
    Ok(applied)
}

fn parse(record: &csv::StringRecord) -> Result<NewEdge, String> {
    if record.len() != 7 {
        return Err(format!("expected 7 fields, found {}", record.len()));
    }
    let number_error = |what: &str| format!("bad {what}");
    let contexts = &record[6];
    Ok(NewEdge {
        at_ms: record[0].parse().map_err(|_| number_error("time"))?,
        customer: record[1].to_string(),
        product: record[2].to_string(),
        intent: record[3].to_string(),
        weight: record[4].parse().map_err(|_| number_error("weight"))?,
        bucket: TimeBucket::from_code(record[5].parse().map_err(|_| number_error("time bucket"))?),
        contexts: if contexts.is_empty() {
            Vec::new()
        } else {
            contexts
                .split(CONTEXT_SEPARATOR)
                .map(str::to_string)
                .collect()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DayPart;

    fn edge(customer: &str, contexts: &[&str]) -> NewEdge {
        NewEdge {
            customer: customer.into(),
            product: "p\t\"quoted\"".into(),
            contexts: contexts.iter().map(|c| c.to_string()).collect(),
            intent: "buy".into(),
            bucket: TimeBucket {
                part: DayPart::Evening,
                weekend: true,
            },
            weight: 2.5,
            at_ms: 1_780_000_000_123,
        }
    }

    #[test]
    fn committed_imports_load_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let edges = [
            edge("c1", &["device=mobile", "city=new york, ny"]),
            edge("c2", &[]),
        ];
        let mut file = ImportFile::create(dir.path(), Path::new("log.csv")).unwrap();
        for e in &edges {
            file.write(e).unwrap();
        }
        file.commit().unwrap();

        let graph = Hypergraph::new(24.0);
        assert_eq!(load_all(dir.path(), &graph).unwrap(), 2);
        let view = graph.view();
        let c1 = graph.customer_id("c1").unwrap();
        let (_, record) = view.customer_edges(c1).next().unwrap();
        assert_eq!(graph.product_name(record.product), "p\t\"quoted\"");
        let contexts: Vec<_> = view.contexts(record).map(|f| graph.facet_name(f)).collect();
        assert_eq!(contexts, ["device=mobile", "city=new york, ny"]);
        assert_eq!((record.weight, record.at_ms), (2.5, 1_780_000_000_123));
    }

    #[test]
    fn an_uncommitted_import_is_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = ImportFile::create(dir.path(), Path::new("log.csv")).unwrap();
        file.write(&edge("c1", &[])).unwrap();
        drop(file);
        let graph = Hypergraph::new(24.0);
        assert_eq!(load_all(dir.path(), &graph).unwrap(), 0);
        let left = fs::read_dir(imports_dir(dir.path())).unwrap().count();
        assert_eq!(left, 0, "the partial file is removed");
    }

    #[test]
    fn a_missing_data_dir_loads_nothing() {
        let graph = Hypergraph::new(24.0);
        assert_eq!(
            load_all(Path::new("/nonexistent/hyperrec"), &graph).unwrap(),
            0
        );
    }
}
