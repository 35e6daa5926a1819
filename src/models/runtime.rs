//! The ONNX Runtime environment: one per process, loaded at run time from
//! the shared library the `onnxruntime` Python wheel ships, so the server
//! needs no ONNX Runtime at build time and nothing downloaded.
//!
//! Sessions are created here with the configured execution provider. CUDA
//! registration is asked to fail loudly; when it fails (no GPU, no CUDA
//! libraries) the session is built again on the CPU and the provider that
//! really runs is what gets reported, never the one that was asked for.
//! Known gap: the PyPI `onnxruntime` wheel is CPU-only, so CUDA needs the
//! library of the `onnxruntime-gpu` wheel set in `models.onnxruntime`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// Which execution provider to ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    #[default]
    Cpu,
    Cuda,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "no ONNX Runtime library found: set models.onnxruntime or ORT_DYLIB_PATH to \
         libonnxruntime.so (pip install onnxruntime==1.31.1 ships it under onnxruntime/capi/)"
    )]
    NotFound,
    #[error("cannot load ONNX Runtime from {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("cannot create a session for {model}: {message}")]
    Session { model: String, message: String },
}

/// The process's environment, with the library it was loaded from.
pub struct Runtime {
    env: Environment,
    pub library: PathBuf,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// Where the ONNX Runtime library is: the configured path, else
/// `ORT_DYLIB_PATH`, else the wheel inside `./.venv`.
pub fn find_library(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = configured {
        return Some(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return Some(PathBuf::from(path));
    }
    let lib = Path::new(".venv/lib");
    for entry in std::fs::read_dir(lib).ok()?.flatten() {
        let capi = entry.path().join("site-packages/onnxruntime/capi");
        let Ok(files) = std::fs::read_dir(&capi) else {
            continue;
        };
        for file in files.flatten() {
            let name = file.file_name();
            if name.to_string_lossy().starts_with("libonnxruntime.so.") {
                return Some(file.path());
            }
        }
    }
    None
}

/// The process's ONNX Runtime, loaded on first use. The library can be
/// loaded once per process; later calls get the first outcome.
pub fn runtime(configured: Option<&Path>) -> Result<&'static Runtime, RuntimeError> {
    let library = find_library(configured);
    let loaded = RUNTIME.get_or_init(|| {
        let path = library
            .clone()
            .ok_or_else(|| RuntimeError::NotFound.to_string())?;
        let env = ort::init_from(&path)
            .map_err(|e| e.to_string())?
            .with_name("hyperrec")
            .build()
            .map_err(|e| e.to_string())?;
        info!(library = %path.display(), "onnx runtime loaded");
        Ok(Runtime { env, library: path })
    });
    loaded.as_ref().map_err(|message| match &library {
        None => RuntimeError::NotFound,
        Some(path) => RuntimeError::Load {
            path: path.clone(),
            message: message.clone(),
        },
    })
}

impl Runtime {
    /// A session for the model `bytes` on `wanted`, or on the CPU when
    /// `wanted` cannot be had. Returns the provider really in use.
    pub fn session(
        &self,
        model: &str,
        bytes: &[u8],
        wanted: Provider,
        threads: usize,
    ) -> Result<(Session, Provider), RuntimeError> {
        if wanted == Provider::Cuda {
            match self.build(bytes, threads, true) {
                Ok(session) => return Ok((session, Provider::Cuda)),
                Err(message) => {
                    warn!(model, %message, "cuda provider unavailable; using cpu")
                }
            }
        }
        let session =
            self.build(bytes, threads, false)
                .map_err(|message| RuntimeError::Session {
                    model: model.to_string(),
                    message,
                })?;
        Ok((session, Provider::Cpu))
    }

    fn build(&self, bytes: &[u8], threads: usize, cuda: bool) -> Result<Session, String> {
        let text = |e: ort::Error<_>| e.to_string();
        let mut builder = Session::builder(&self.env)
            .map_err(|e| e.to_string())?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(text)?
            .with_intra_threads(threads.max(1))
            .map_err(text)?
            .with_inter_threads(1)
            .map_err(text)?;
        if cuda {
            builder = builder
                .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
                .map_err(text)?;
        }
        builder.commit_from_memory(bytes).map_err(|e| e.to_string())
    }
}
