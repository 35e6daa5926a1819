//! A model version directory as training writes it (see
//! `models/CONTRACT.md`): the manifest, the vertex embedding tables, and the
//! checksums that prove the files are the ones training wrote.
//!
//! Everything here is plain data; nothing runs a model.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The manifest format this server reads.
pub const FORMAT: u32 = 1;

/// Why a version directory cannot be served. Each message names the file
/// and what is wrong with it, so an operator can fix the export.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{file} does not match its checksum in manifest.json (a torn copy or a corrupt file)")]
    Checksum { file: String },
    #[error("{file}: {message}")]
    Table { file: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct EncoderSpec {
    pub file: String,
    pub query_slots: usize,
    pub recent_edges: usize,
    pub recent_half_life_hours: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TableSpec {
    pub names: String,
    pub vectors: String,
    pub count: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Vertices {
    pub customer: TableSpec,
    pub product: TableSpec,
    pub context: TableSpec,
    pub intent: TableSpec,
    pub time: TableSpec,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RankerSpec {
    pub file: String,
    pub input: String,
    pub output: String,
    pub features: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub version: String,
    pub dim: usize,
    pub encoder: EncoderSpec,
    pub vertices: Vertices,
    pub ranker: Option<RankerSpec>,
    /// File name -> SHA-256 in hex, for every other file of the directory.
    pub files: FxHashMap<String, String>,
    #[serde(default)]
    pub metrics: serde_json::Value,
}

/// One kind's embeddings: row `i` is the vertex named `names[i]`.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub names: Vec<String>,
    pub index: FxHashMap<String, u32>,
    /// `names.len() x dim`, row-major.
    pub vectors: Vec<f32>,
    pub dim: usize,
}

impl Table {
    pub fn row(&self, i: u32) -> &[f32] {
        &self.vectors[i as usize * self.dim..(i as usize + 1) * self.dim]
    }

    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.index.get(name).map(|&i| self.row(i))
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ArtifactError> {
    std::fs::read(path).map_err(|source| ArtifactError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl Manifest {
    /// Reads `dir/manifest.json` and checks its format.
    pub fn load(dir: &Path) -> Result<Self, ArtifactError> {
        let path = dir.join("manifest.json");
        let bytes = read(&path)?;
        let bad = |message: String| ArtifactError::Manifest {
            path: path.clone(),
            message,
        };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(bad(format!(
                "format {} is not the {FORMAT} this server reads",
                manifest.format
            )));
        }
        if manifest.dim == 0 || manifest.encoder.query_slots < 3 {
            return Err(bad("dim must be positive and query_slots at least 3".into()));
        }
        Ok(manifest)
    }

    /// Reads a file of the directory after checking it against `files`.
    pub fn read_checked(&self, dir: &Path, file: &str) -> Result<Vec<u8>, ArtifactError> {
        let bytes = read(&dir.join(file))?;
        let expected = self
            .files
            .get(file)
            .ok_or_else(|| ArtifactError::Manifest {
                path: dir.join("manifest.json"),
                message: format!("files has no checksum for {file}"),
            })?;
        if !sha256_hex(&bytes).eq_ignore_ascii_case(expected) {
            return Err(ArtifactError::Checksum { file: file.into() });
        }
        Ok(bytes)
    }

    /// Reads one kind's names and vectors, checked.
    pub fn table(&self, dir: &Path, spec: &TableSpec) -> Result<Table, ArtifactError> {
        let names_bytes = self.read_checked(dir, &spec.names)?;
        let names: Vec<String> = String::from_utf8(names_bytes)
            .map_err(|_| ArtifactError::Table {
                file: spec.names.clone(),
                message: "is not UTF-8".into(),
            })?
            .lines()
            .map(str::to_string)
            .collect();
        let raw = self.read_checked(dir, &spec.vectors)?;
        let table_error = |message: String| ArtifactError::Table {
            file: spec.vectors.clone(),
            message,
        };
        if names.len() != spec.count {
            return Err(ArtifactError::Table {
                file: spec.names.clone(),
                message: format!(
                    "has {} names, the manifest says {}",
                    names.len(),
                    spec.count
                ),
            });
        }
        if raw.len() != spec.count * self.dim * 4 {
            return Err(table_error(format!(
                "has {} bytes, expected {} rows x {} floats",
                raw.len(),
                spec.count,
                self.dim
            )));
        }
        let vectors: Vec<f32> = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if vectors.iter().any(|v| !v.is_finite()) {
            return Err(table_error("holds a value that is not finite".into()));
        }
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        Ok(Table {
            names,
            index,
            vectors,
            dim: self.dim,
        })
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
