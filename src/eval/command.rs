//! `hyperrec evaluate`: from files and flags to a printed report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rustc_hash::FxHashMap;

use super::dataset::{self, Log, SplitKind};
use super::methods;
use super::report;
use super::run::{self, Options};
use crate::tabular::{ColumnMapping, TabularError};

/// Where the rows come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// Separate train and test files.
    Files { train: PathBuf, test: PathBuf },
    /// One file, split by whole query groups per customer.
    Split {
        data: PathBuf,
        kind: SplitKind,
        test_fraction: f64,
    },
}

#[derive(Debug, Clone)]
pub struct Request {
    pub input: Input,
    pub mapping: ColumnMapping,
    /// A CSV of product metadata with an id column (`product` or `id`) and
    /// a `category` column, for diversity by category.
    pub products: Option<PathBuf>,
    pub options: Options,
    pub json: Option<PathBuf>,
    pub rankings: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Read(#[from] TabularError),
    #[error("{path} has no good rows to evaluate on ({skipped} bad rows skipped)")]
    Empty { path: String, skipped: usize },
    #[error("no test queries: the split left every customer's rows in training")]
    NoQueries,
    #[error("unknown method {name:?}; known methods: {known}")]
    UnknownMethod { name: String, known: String },
    #[error("cannot read product metadata {path}: {message}")]
    Products { path: String, message: String },
    #[error(transparent)]
    Models(#[from] crate::models::ModelError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Runs the evaluation and returns the markdown report; JSON and rankings
/// files are written when asked for. Progress goes to standard error.
pub fn evaluate(request: &Request) -> Result<String, EvalError> {
    for name in &request.options.methods {
        if !methods::ALL.contains(&name.as_str()) {
            return Err(EvalError::UnknownMethod {
                name: name.clone(),
                known: methods::ALL.join(", "),
            });
        }
    }
    let started = Instant::now();
    let (train, test) = match &request.input {
        Input::Files { train, test } => (
            read(train, &request.mapping)?.rows,
            read(test, &request.mapping)?.rows,
        ),
        Input::Split {
            data,
            kind,
            test_fraction,
        } => {
            let log = read(data, &request.mapping)?;
            dataset::split(log.rows, *kind, *test_fraction, request.options.seed)
        }
    };
    let queries = dataset::queries(&test);
    if queries.is_empty() {
        return Err(EvalError::NoQueries);
    }
    let categories = request
        .products
        .as_deref()
        .map(read_categories)
        .transpose()?;
    eprintln!(
        "read {} training rows and {} test queries in {:.1}s",
        train.len(),
        queries.len(),
        started.elapsed().as_secs_f64()
    );

    let options = Options {
        timed: request.mapping.timestamp.is_some(),
        keep_rankings: request.rankings.is_some(),
        ..request.options.clone()
    };
    let result = run::evaluate(train, queries, categories.as_ref(), &options)?;
    eprintln!("evaluated in {:.1}s", started.elapsed().as_secs_f64());

    let written = |path: &Path, r: std::io::Result<()>| {
        r.map_err(|source| EvalError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    if let Some(path) = &request.json {
        written(path, report::write_json(&result, path))?;
    }
    if let Some(path) = &request.rankings {
        written(path, report::write_rankings(&result, path))?;
    }
    Ok(report::markdown(&result))
}

fn read(path: &Path, mapping: &ColumnMapping) -> Result<Log, EvalError> {
    let log = dataset::read_log(path, mapping)?;
    for err in &log.first_errors {
        eprintln!("{}: skipped {err}", path.display());
    }
    if log.rows.is_empty() {
        return Err(EvalError::Empty {
            path: path.display().to_string(),
            skipped: log.skipped,
        });
    }
    if log.skipped > log.first_errors.len() {
        eprintln!(
            "{}: {} bad rows skipped in all",
            path.display(),
            log.skipped
        );
    }
    Ok(log)
}

/// Product name -> category, from a CSV with a header.
fn read_categories(path: &Path) -> Result<FxHashMap<String, String>, EvalError> {
    let fail = |message: String| EvalError::Products {
        path: path.display().to_string(),
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| fail(e.to_string()))?;
    let headers = reader.headers().map_err(|e| fail(e.to_string()))?.clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(id), Some(category)) = (column(&["product", "id"]), column(&["category"])) else {
        return Err(fail(
            "needs a product (or id) column and a category column".into(),
        ));
    };
    let mut out = FxHashMap::default();
    for record in reader.records() {
        let record = record.map_err(|e| fail(e.to_string()))?;
        if let (Some(p), Some(c)) = (record.get(id), record.get(category)) {
            out.insert(p.trim().to_string(), c.trim().to_string());
        }
    }
    Ok(out)
}
