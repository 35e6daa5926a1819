//! One typed configuration, read from a TOML file; command-line flags and
//! `HYPERREC_*` environment variables override the server section (see
//! `main.rs`). Unknown keys are errors, so a typo never silently falls back
//! to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::CacheConfig;
use crate::candidates::CfParams;
use crate::models::ModelsConfig;
use crate::resilience::breaker::BreakerConfig;
use crate::resilience::faults::FaultConfig;
use crate::storage::StorageOptions;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub graph: GraphConfig,
    /// The hypergraph collaborative filter.
    pub recommend: CfParams,
    /// Write-ahead log and snapshots (used with a data directory).
    pub storage: StorageOptions,
    /// Latency budget and load shedding.
    pub serving: ServingConfig,
    pub cache: CacheConfig,
    /// The circuit breaker of each expensive stage.
    pub breaker: BreakerConfig,
    pub telemetry: TelemetryConfig,
    /// Deliberate slowness or failure, for fault tests only.
    pub faults: FaultConfig,
    /// The HGNN encoder, HNSW index and learned ranker.
    pub models: ModelsConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServingConfig {
    /// Recommend calls in flight at once; past it, calls fail fast with
    /// RESOURCE_EXHAUSTED instead of queueing into a latency collapse.
    pub max_concurrent: usize,
    /// Total time for one Recommend call (a shorter client deadline wins).
    pub budget_ms: u64,
    /// Longest the collaborative filter may take within that budget.
    pub cf_budget_ms: u64,
    /// Longest the model stage (encoder, HNSW, features, ranker) may take
    /// within what is left.
    pub model_budget_ms: u64,
}

impl Default for ServingConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 256,
            budget_ms: 50,
            cf_budget_ms: 30,
            model_budget_ms: 15,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Address of the Prometheus `/metrics` endpoint; unset = off.
    pub metrics_listen: Option<SocketAddr>,
    /// OTLP/gRPC collector for traces, e.g. `http://127.0.0.1:4317`;
    /// unset = off.
    pub otlp_endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Where the write-ahead log and snapshots live; without one, nothing
    /// recorded survives a restart.
    pub data_dir: Option<PathBuf>,
    /// How many recent event ids are remembered to drop retried events.
    pub idempotency_window: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: None,
            idempotency_window: crate::engine::DEFAULT_IDEMPOTENCY_WINDOW,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraphConfig {
    /// Popularity counts halve every this many hours, so "popular" means
    /// popular lately.
    pub popularity_half_life_hours: f64,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            popularity_half_life_hours: 24.0 * 14.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_keeps_defaults_for_the_rest() {
        let config: Config = toml::from_str(
            "[server]\nlisten = \"0.0.0.0:6000\"\n[recommend]\ncontext_weight = 5.0\n",
        )
        .unwrap();
        assert_eq!(config.server.listen.port(), 6000);
        assert_eq!(config.recommend.context_weight, 5.0);
        assert_eq!(
            config.recommend.max_neighbors,
            CfParams::default().max_neighbors
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("[recommend]\ncontext_wieght = 5.0\n").is_err());
    }

    #[test]
    fn the_shipped_example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hyperrec.example.toml");
        let config = Config::load(&path).unwrap();
        assert_eq!(config, Config::default());
    }
}
