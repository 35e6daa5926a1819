//! The model registry: loads a version directory, validates it, warms it,
//! and swaps it in atomically.
//!
//! Requests read the current version through an `ArcSwapOption`: a load
//! never blocks them, and a request that started on the old version
//! finishes on it (it holds an `Arc`). A version that fails any check is
//! refused with an error naming the file and the problem, and the version
//! already serving stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwapOption;
use ort::session::Session;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tracing::info;

use super::encoder::{self, Embeddings, EncoderInput};
use super::manifest::{ArtifactError, Manifest};
use super::pool::SessionPool;
use super::ranker::Ranker;
use super::runtime::{self, Provider, RuntimeError};
use crate::index::ProductIndex;

/// The `[models]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// A version directory, or a root whose newest version is served and
    /// watched for newer ones. Unset serves without models.
    pub dir: Option<PathBuf>,
    /// The ONNX Runtime shared library; default `ORT_DYLIB_PATH`, else the
    /// `onnxruntime` wheel inside `./.venv`.
    pub onnxruntime: Option<PathBuf>,
    /// `cpu` or `cuda`; CUDA falls back to the CPU when unavailable, and
    /// the provider really used is reported.
    pub provider: Provider,
    /// Sessions per model: how many inferences run at once (0: one per
    /// core, since more would only queue inside ONNX Runtime).
    pub sessions: usize,
    /// ONNX Runtime threads per session.
    pub threads_per_session: usize,
    /// How often the model root is checked for a newer version (0: never).
    pub watch_secs: u64,
    /// Products the HNSW index proposes per query.
    pub hnsw_candidates: usize,
    /// HNSW search breadth.
    pub hnsw_ef: usize,
    /// Most candidates the ranker scores per query.
    pub max_candidates: usize,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self {
            dir: None,
            onnxruntime: None,
            provider: Provider::Cpu,
            sessions: 0,
            threads_per_session: 1,
            watch_secs: 10,
            hnsw_candidates: 100,
            hnsw_ef: 64,
            max_candidates: 150,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("{model} does not fit the contract: {message}")]
    Contract { model: String, message: String },
    #[error("{model} failed its warm-up run: {message}")]
    WarmUp { model: String, message: String },
    #[error("no model version under {0}: expected a directory holding manifest.json")]
    NoVersion(PathBuf),
}

/// One version, loaded, checked and ready to serve.
pub struct LoadedModel {
    pub version: String,
    pub path: PathBuf,
    pub manifest: Manifest,
    pub embeddings: Embeddings,
    pub index: ProductIndex,
    pub encoder: SessionPool,
    pub ranker: Option<Ranker>,
    pub provider: Provider,
    pub loaded_at: SystemTime,
    pub load_ms: u64,
    /// HNSW recall@10 against exact search, measured at load.
    pub recall_at_10: f64,
}

/// Microseconds of the model stage, the most recent ones.
const LATENCY_WINDOW: usize = 4096;

/// What `GetModelStatus` reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelStatus {
    pub version: Option<String>,
    pub path: Option<PathBuf>,
    pub provider: Option<Provider>,
    pub loaded_at: Option<SystemTime>,
    pub load_ms: u64,
    pub recall_at_10: f64,
    pub has_ranker: bool,
    pub inferences: u64,
    /// p50, p95, p99 of the model stage over the recent window, in µs.
    pub inference_us: [u64; 3],
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Latencies {
    recent: Vec<u64>,
    next: usize,
    count: u64,
}

pub struct Registry {
    config: ModelsConfig,
    current: ArcSwapOption<LoadedModel>,
    /// One load at a time; requests never take it.
    loading: Mutex<()>,
    latencies: Mutex<Latencies>,
    last_error: Mutex<Option<String>>,
    /// The last version directory refused; the watch does not retry it.
    refused: Mutex<Option<PathBuf>>,
}

impl Registry {
    pub fn new(config: ModelsConfig) -> Self {
        Self {
            config,
            current: ArcSwapOption::empty(),
            loading: Mutex::new(()),
            latencies: Mutex::new(Latencies::default()),
            last_error: Mutex::new(None),
            refused: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &ModelsConfig {
        &self.config
    }

    /// The version serving now, if any.
    pub fn current(&self) -> Option<Arc<LoadedModel>> {
        self.current.load_full()
    }

    /// Loads `path` (a version directory, or a root: its newest version),
    /// validates and warms it, then swaps it in. On error the serving
    /// version is untouched.
    pub fn load(&self, path: &Path) -> Result<Arc<LoadedModel>, ModelError> {
        let _one_at_a_time = self.loading.lock();
        let dir = newest_version(path)?;
        let result = self.load_version(&dir);
        match result {
            Ok(model) => {
                self.current.store(Some(Arc::clone(&model)));
                *self.last_error.lock() = None;
                info!(
                    version = %model.version,
                    provider = model.provider.as_str(),
                    load_ms = model.load_ms,
                    recall_at_10 = model.recall_at_10,
                    ranker = model.ranker.is_some(),
                    "model version serving"
                );
                Ok(model)
            }
            Err(err) => {
                *self.last_error.lock() = Some(err.to_string());
                *self.refused.lock() = Some(dir);
                Err(err)
            }
        }
    }

    /// Serves `model`, already loaded and checked by another registry (so
    /// that tools comparing methods load a version once).
    pub fn serve(&self, model: Arc<LoadedModel>) {
        self.current.store(Some(model));
    }

    /// Loads the newest version under the root when it is not the one
    /// serving; `Ok(None)` when there is nothing new.
    pub fn refresh(&self, root: &Path) -> Result<Option<Arc<LoadedModel>>, ModelError> {
        let newest = newest_version(root)?;
        if self.current().is_some_and(|m| m.path == newest) {
            return Ok(None);
        }
        // A version refused before is not retried until a newer one comes.
        if self.refused.lock().as_ref() == Some(&newest) {
            return Ok(None);
        }
        self.load(&newest).map(Some)
    }

    fn load_version(&self, dir: &Path) -> Result<Arc<LoadedModel>, ModelError> {
        let started = Instant::now();
        let manifest = Manifest::load(dir)?;
        let v = &manifest.vertices;
        let embeddings = Embeddings {
            dim: manifest.dim,
            customer: manifest.table(dir, &v.customer)?,
            product: manifest.table(dir, &v.product)?,
            context: manifest.table(dir, &v.context)?,
            intent: manifest.table(dir, &v.intent)?,
            time: manifest.table(dir, &v.time)?,
        };
        check_normalized(&embeddings)?;

        let runtime = runtime::runtime(self.config.onnxruntime.as_deref())?;
        let encoder_bytes = manifest.read_checked(dir, &manifest.encoder.file)?;
        let (sessions, provider) =
            self.sessions(runtime, &manifest.encoder.file, &encoder_bytes)?;
        check_encoder(&sessions[0], &manifest)?;
        let encoder = SessionPool::new(sessions);
        warm_encoder(&encoder, &manifest, &embeddings)?;

        let ranker = match &manifest.ranker {
            Some(spec) => {
                let bytes = manifest.read_checked(dir, &spec.file)?;
                let (sessions, _) = self.sessions(runtime, &spec.file, &bytes)?;
                let ranker = Ranker::new(spec, sessions)?;
                ranker.warm_up()?;
                Some(ranker)
            }
            None => None,
        };

        let index = ProductIndex::build(&embeddings.product.vectors, manifest.dim);
        let recall_at_10 = index.recall_at(&probe_queries(&embeddings), 10, self.config.hnsw_ef);
        Ok(Arc::new(LoadedModel {
            version: manifest.version.clone(),
            path: dir.to_path_buf(),
            embeddings,
            index,
            encoder,
            ranker,
            provider,
            loaded_at: SystemTime::now(),
            load_ms: started.elapsed().as_millis() as u64,
            recall_at_10,
            manifest,
        }))
    }

    fn sessions(
        &self,
        runtime: &runtime::Runtime,
        file: &str,
        bytes: &[u8],
    ) -> Result<(Vec<Session>, Provider), ModelError> {
        let mut sessions = Vec::new();
        let mut provider = Provider::Cpu;
        let count = match self.config.sessions {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        for _ in 0..count {
            let (session, used) = runtime.session(
                file,
                bytes,
                self.config.provider,
                self.config.threads_per_session,
            )?;
            provider = used;
            sessions.push(session);
        }
        Ok((sessions, provider))
    }

    /// Counts one model stage run that took `micros`.
    pub fn record_inference(&self, micros: u64) {
        let mut l = self.latencies.lock();
        if l.recent.len() < LATENCY_WINDOW {
            l.recent.push(micros);
        } else {
            let at = l.next;
            l.recent[at] = micros;
        }
        l.next = (l.next + 1) % LATENCY_WINDOW;
        l.count += 1;
    }

    pub fn status(&self) -> ModelStatus {
        let (mut recent, count) = {
            let l = self.latencies.lock();
            (l.recent.clone(), l.count)
        };
        recent.sort_unstable();
        let pct = |q: f64| {
            if recent.is_empty() {
                0
            } else {
                recent[((recent.len() - 1) as f64 * q).round() as usize]
            }
        };
        let model = self.current();
        ModelStatus {
            version: model.as_ref().map(|m| m.version.clone()),
            path: model.as_ref().map(|m| m.path.clone()),
            provider: model.as_ref().map(|m| m.provider),
            loaded_at: model.as_ref().map(|m| m.loaded_at),
            load_ms: model.as_ref().map_or(0, |m| m.load_ms),
            recall_at_10: model.as_ref().map_or(0.0, |m| m.recall_at_10),
            has_ranker: model.as_ref().is_some_and(|m| m.ranker.is_some()),
            inferences: count,
            inference_us: [pct(0.5), pct(0.95), pct(0.99)],
            last_error: self.last_error.lock().clone(),
        }
    }
}

/// `path` itself when it holds a manifest, else its newest version
/// directory (names sort by time).
pub fn newest_version(path: &Path) -> Result<PathBuf, ModelError> {
    if path.join("manifest.json").is_file() {
        return Ok(path.to_path_buf());
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|_| ModelError::NoVersion(path.to_path_buf()))?
        .flatten()
        .map(|e| e.path())
        // Training writes `.partial-<version>` and renames it when done.
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| ModelError::NoVersion(path.to_path_buf()))
}

fn contract(model: &str, message: String) -> ModelError {
    ModelError::Contract {
        model: model.to_string(),
        message,
    }
}

/// Product rows must be unit vectors: retrieval scores are dot products.
fn check_normalized(e: &Embeddings) -> Result<(), ModelError> {
    for (i, row) in e.product.vectors.chunks_exact(e.dim).enumerate() {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if (norm - 1.0).abs() > 1e-2 {
            return Err(contract(
                "product.f32",
                format!("row {i} has norm {norm}; product rows must be L2-normalized"),
            ));
        }
    }
    Ok(())
}

/// The encoder's inputs and output by name, with every fixed dimension as
/// the manifest says.
fn check_encoder(session: &Session, manifest: &Manifest) -> Result<(), ModelError> {
    let (d, q, r) = (
        manifest.dim as i64,
        manifest.encoder.query_slots as i64,
        manifest.encoder.recent_edges as i64,
    );
    let file = &manifest.encoder.file;
    let expected: [(&str, &[i64]); 4] = [
        ("query_vertices", &[-1, q, d]),
        ("query_mask", &[-1, q]),
        ("recent_edges", &[-1, r, d]),
        ("recent_weight", &[-1, r]),
    ];
    for (name, dims) in expected {
        let input = session
            .inputs()
            .iter()
            .find(|i| i.name() == name)
            .ok_or_else(|| contract(file, format!("has no input {name}")))?;
        check_shape(
            file,
            name,
            input.dtype().tensor_shape().map(|s| s.to_vec()),
            dims,
        )?;
    }
    let output = session
        .outputs()
        .iter()
        .find(|o| o.name() == "query_embedding")
        .ok_or_else(|| contract(file, "has no output query_embedding".into()))?;
    check_shape(
        file,
        "query_embedding",
        output.dtype().tensor_shape().map(|s| s.to_vec()),
        &[-1, d],
    )
}

/// Same rank, and every dimension that is fixed on both sides equal.
pub(crate) fn check_shape(
    file: &str,
    name: &str,
    found: Option<Vec<i64>>,
    expected: &[i64],
) -> Result<(), ModelError> {
    let found = found.ok_or_else(|| contract(file, format!("{name} is not a tensor")))?;
    let fits = found.len() == expected.len()
        && found
            .iter()
            .zip(expected)
            .all(|(f, e)| *f < 0 || *e < 0 || f == e);
    if fits {
        Ok(())
    } else {
        Err(contract(
            file,
            format!("{name} has shape {found:?}, expected {expected:?} (-1: any)"),
        ))
    }
}

/// Runs the encoder on fixed inputs (an unknown customer in the first time
/// bucket, then the first customer with nothing else): outputs must be
/// finite unit vectors.
fn warm_encoder(pool: &SessionPool, m: &Manifest, e: &Embeddings) -> Result<(), ModelError> {
    let (d, q, r) = (m.dim, m.encoder.query_slots, m.encoder.recent_edges);
    let mut batch = Vec::new();
    for (slot, table) in [(2usize, &e.time), (0, &e.customer)] {
        let mut input = EncoderInput {
            vertices: vec![0.0; q * d],
            mask: vec![0.0; q],
            recent: vec![0.0; r * d],
            recent_weight: vec![0.0; r],
        };
        if !table.is_empty() {
            input.vertices[slot * d..(slot + 1) * d].copy_from_slice(table.row(0));
            input.mask[slot] = 1.0;
        }
        batch.push(input);
    }
    let warm = |message: String| ModelError::WarmUp {
        model: m.encoder.file.clone(),
        message,
    };
    let out = pool
        .with_session(|s| encoder::encode(s, &m.encoder, d, &batch))
        .map_err(warm)?;
    for row in out.chunks_exact(d) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if (norm - 1.0).abs() > 1e-2 {
            return Err(warm(format!("query_embedding has norm {norm}, expected 1")));
        }
    }
    Ok(())
}

/// Queries for the recall check: the normalized mean of two products.
fn probe_queries(e: &Embeddings) -> Vec<f32> {
    let n = e.product.len();
    let d = e.dim;
    let mut out = Vec::new();
    for i in 0..n.min(100) {
        let (a, b) = (
            e.product.row(i as u32),
            e.product.row(((i * 7919) % n) as u32),
        );
        let mean: Vec<f32> = a.iter().zip(b).map(|(x, y)| x + y).collect();
        let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
        out.extend(mean.iter().map(|v| v / norm));
    }
    out.truncate(out.len() / d * d);
    out
}
