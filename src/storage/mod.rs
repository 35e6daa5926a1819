//! Durability: the write-ahead log, snapshots and recovery of a data
//! directory.
//!
//! Layout of a data directory:
//! - `LOCK`: held (an OS file lock) by the one process using the directory;
//! - `wal/`: the write-ahead log segments (see `wal.rs`);
//! - `snapshots/`: the newest snapshots (see `snapshot.rs`).
//!
//! Recovery restores the newest valid snapshot, then replays the log after
//! its sequence. A snapshot is taken periodically and at shutdown; after
//! it, log segments older than the oldest kept snapshot are deleted.

mod codec;
mod record;
pub mod snapshot;
pub mod wal;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::hypergraph::{Hypergraph, NewEdge, View};
use snapshot::SnapshotError;
pub use wal::{SyncPolicy, WalError, WalOptions};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageOptions {
    pub wal: WalOptions,
    /// Seconds between periodic snapshots (0 turns them off; the shutdown
    /// snapshot is still taken).
    pub snapshot_interval_secs: u64,
    /// Snapshots kept; the log is kept from the oldest of them on, so a
    /// damaged newest snapshot still leaves a way back.
    pub snapshots_kept: usize,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            wal: WalOptions::default(),
            snapshot_interval_secs: 300,
            snapshots_kept: 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("data directory {path} is in use by another hyperrec process; stop it first")]
    Locked { path: PathBuf },
    #[error("data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// What opening a data directory found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovery {
    /// Sequence of the snapshot restored (0 without one).
    pub snapshot_sequence: u64,
    /// Log records replayed after it.
    pub replayed: u64,
    /// Bytes cut from an interrupted end of the log.
    pub truncated_bytes: u64,
    /// The idempotency window: snapshot entries then replayed ids, oldest
    /// first.
    pub recent: Vec<(String, u64)>,
}

/// An open data directory.
pub struct Store {
    dir: PathBuf,
    options: StorageOptions,
    wal: Arc<wal::Wal>,
    /// Held for the life of the store: the OS lock on `LOCK`.
    _lock: File,
}

impl Store {
    /// Locks `dir`, restores the newest snapshot into `graph` (which must be
    /// empty) and replays the log after it.
    pub fn open(
        dir: &Path,
        options: StorageOptions,
        graph: &Hypergraph,
    ) -> Result<(Self, Recovery), StorageError> {
        let io = |source| StorageError::Io {
            path: dir.to_path_buf(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let lock = File::create(dir.join("LOCK")).map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(StorageError::Locked {
                path: dir.to_path_buf(),
            });
        }

        let mut recovery = Recovery::default();
        if let Some(restored) = snapshot::restore_newest(&dir.join("snapshots"), graph)? {
            recovery.snapshot_sequence = restored.sequence;
            recovery.recent = restored.recent;
        }
        let (wal, replay) = wal::Wal::open(
            &dir.join("wal"),
            options.wal.clone(),
            recovery.snapshot_sequence,
            |event| replay_one(graph, event, &mut recovery.recent),
        )?;
        recovery.replayed = replay.applied;
        recovery.truncated_bytes = replay.truncated_bytes;

        let store = Self {
            dir: dir.to_path_buf(),
            options,
            wal,
            _lock: lock,
        };
        Ok((store, recovery))
    }

    pub fn options(&self) -> &StorageOptions {
        &self.options
    }

    /// Appends an accepted interaction to the log (before it is applied).
    pub fn append(
        &self,
        sequence: u64,
        event_id: Option<&str>,
        edge: &NewEdge,
    ) -> Result<(), WalError> {
        self.wal.append(sequence, event_id, edge)
    }

    /// Waits until `sequence` is durable under the sync policy.
    pub async fn wait_durable(&self, sequence: u64) -> Result<(), WalError> {
        self.wal.wait_durable(sequence).await
    }

    /// Writes a snapshot of `view` and the idempotency window, then drops
    /// what is no longer needed. Returns the snapshot's path.
    pub fn snapshot(
        &self,
        view: &View<'_>,
        recent: &[(String, u64)],
    ) -> Result<PathBuf, StorageError> {
        let dir = self.dir.join("snapshots");
        let path = snapshot::write(&dir, view, recent)?;
        self.wal.rotate()?;
        if let Some(oldest_kept) = snapshot::prune(&dir, self.options.snapshots_kept)? {
            self.wal.drop_through(oldest_kept)?;
        }
        Ok(path)
    }

    /// Writes and syncs everything appended; stops the log's flusher.
    pub fn close(&self) -> Result<(), WalError> {
        self.wal.close()
    }
}

impl Drop for Store {
    /// Stops the flusher thread; what was appended is written first.
    fn drop(&mut self) {
        if let Err(err) = self.wal.close() {
            tracing::warn!(%err, "closing the write-ahead log");
        }
    }
}

fn replay_one(
    graph: &Hypergraph,
    event: record::LoggedEvent,
    recent: &mut Vec<(String, u64)>,
) -> Result<(), String> {
    let applied = graph.apply(&event.edge).map_err(|e| e.to_string())?;
    if applied != event.sequence {
        return Err(format!("applied as sequence {applied}"));
    }
    if let Some(id) = event.event_id {
        recent.push((id, event.sequence));
    }
    Ok(())
}
