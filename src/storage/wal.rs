//! The write-ahead log: every accepted interaction is appended here before
//! it is acknowledged, and replayed after a crash.
//!
//! Files: `wal/<first sequence, 20 digits>.wal`, each a run of framed
//! records (see `record.rs`) in sequence order. A new segment starts when
//! the current one passes `segment_bytes`, so snapshots can drop whole
//! files.
//!
//! Group commit: appenders only copy their record into a shared buffer. A
//! flusher thread writes the buffer and calls `fdatasync` once for all of
//! it, as soon as `batch_bytes` are waiting or `batch_delay_us` after the
//! first record of the batch, and then publishes the new durable sequence.
//! Callers wait for that sequence before acknowledging. The `sync` policy
//! chooses the trade-off:
//! - `always`: each append writes and syncs before it returns (one fsync per
//!   acknowledgement; slowest, nothing acknowledged is ever lost);
//! - `batch` (default): acknowledgements wait for the group fsync covering
//!   them (nothing acknowledged is ever lost; a few ms of added latency);
//! - `none`: the flusher writes to the OS without syncing and callers do not
//!   wait: a process crash loses the last `batch_delay_us` of events, an OS
//!   crash or power loss whatever the OS had not written yet.
//!
//! Recovery reads the segments in order. A record that is cut short or
//! fails its checksum at the end of the last segment is a write the crash
//! interrupted: the segment is truncated there, with a warning, and every
//! record before it is kept. The same damage anywhere else means the log
//! itself is corrupt, and opening fails rather than silently skipping data.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::record::{self, LoggedEvent};
use crate::hypergraph::NewEdge;

const SUFFIX: &str = "wal";

/// When an appended record counts as durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncPolicy {
    Always,
    Batch,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalOptions {
    pub sync: SyncPolicy,
    /// Longest wait for more records before a group is written.
    pub batch_delay_us: u64,
    /// A group is written at once when this many bytes are waiting.
    pub batch_bytes: usize,
    /// A new segment file starts past this size.
    pub segment_bytes: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::Batch,
            batch_delay_us: 2_000,
            batch_bytes: 1 << 20,
            segment_bytes: 64 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("write-ahead log {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// Damage before the end of the log; an operator must decide.
    #[error(
        "write-ahead log {path} is corrupt at byte {offset} ({reason}); it is not the \
         last segment, so this is not an interrupted write: restore the data \
         directory from a backup or move this segment and the ones after it away"
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// Records the snapshot needs next are missing.
    #[error("write-ahead log has no record {expected} (next record is {found})")]
    Gap { expected: u64, found: u64 },
    /// An earlier write failed; nothing more is accepted until a restart.
    #[error("write-ahead log stopped after an earlier write failed: {0}")]
    Failed(String),
    #[error("replaying record {sequence}: {reason}")]
    Replay { sequence: u64, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What recovery found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replay {
    /// Records applied (those after the snapshot).
    pub applied: u64,
    /// Bytes cut from the end of the last segment.
    pub truncated_bytes: u64,
    pub last_sequence: u64,
}

/// The durable sequence and whether the log has failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Durable {
    sequence: u64,
    failed: bool,
}

struct Pending {
    buf: Vec<u8>,
    last_sequence: u64,
    closing: bool,
    failed: Option<String>,
}

struct Segment {
    file: File,
    path: PathBuf,
    len: u64,
}

pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Only the thread writing a group holds this; appenders never do.
    segment: Mutex<Segment>,
    durable: watch::Sender<Durable>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

impl Wal {
    /// Opens the log in `dir`, calling `apply` for every record after
    /// sequence `after` (what the snapshot already holds), in order.
    pub fn open(
        dir: &Path,
        options: WalOptions,
        after: u64,
        mut apply: impl FnMut(LoggedEvent) -> Result<(), String>,
    ) -> Result<(Arc<Wal>, Replay), WalError> {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let segments = list_segments(dir)?;
        let mut replay = Replay {
            last_sequence: after,
            ..Replay::default()
        };
        for (index, (_, path)) in segments.iter().enumerate() {
            let last = index + 1 == segments.len();
            scan_segment(path, last, after, &mut replay, &mut apply)?;
        }

        let segment = match segments.last() {
            Some((_, path)) => open_for_append(path)?,
            None => create_segment(dir, replay.last_sequence + 1)?,
        };
        let wal = Arc::new(Wal {
            dir: dir.to_path_buf(),
            pending: Mutex::new(Pending {
                buf: Vec::with_capacity(options.batch_bytes),
                last_sequence: replay.last_sequence,
                closing: false,
                failed: None,
            }),
            options,
            wake: Condvar::new(),
            segment: Mutex::new(segment),
            durable: watch::Sender::new(Durable {
                sequence: replay.last_sequence,
                failed: false,
            }),
            flusher: Mutex::new(None),
        });
        let flusher = Arc::clone(&wal);
        let handle = std::thread::Builder::new()
            .name("wal-flusher".into())
            .spawn(move || flusher.run_flusher())
            .map_err(io_error(dir))?;
        *wal.flusher.lock() = Some(handle);
        Ok((wal, replay))
    }

    /// Appends one record. Sequences must be appended in increasing order
    /// (the engine holds its ingest lock around this and the apply).
    pub fn append(
        &self,
        sequence: u64,
        event_id: Option<&str>,
        edge: &NewEdge,
    ) -> Result<(), WalError> {
        {
            let mut pending = self.pending.lock();
            if let Some(reason) = &pending.failed {
                return Err(WalError::Failed(reason.clone()));
            }
            let was_empty = pending.buf.is_empty();
            record::encode(sequence, event_id, edge, &mut pending.buf);
            pending.last_sequence = sequence;
            let full = pending.buf.len() >= self.options.batch_bytes;
            if self.options.sync != SyncPolicy::Always && (was_empty || full) {
                self.wake.notify_one();
            }
        }
        if self.options.sync == SyncPolicy::Always {
            self.flush()?;
        }
        Ok(())
    }

    /// Waits until `sequence` is durable under the sync policy.
    pub async fn wait_durable(&self, sequence: u64) -> Result<(), WalError> {
        if self.options.sync == SyncPolicy::None {
            return Ok(());
        }
        let mut durable = self.durable.subscribe();
        let state = durable
            .wait_for(|d| d.sequence >= sequence || d.failed)
            .await
            .map(|d| *d)
            .unwrap_or(Durable {
                sequence: 0,
                failed: true,
            });
        if state.sequence >= sequence {
            return Ok(());
        }
        let reason = self.pending.lock().failed.clone();
        Err(WalError::Failed(reason.unwrap_or_else(|| "closed".into())))
    }

    /// Highest sequence appended (durable or not).
    pub fn last_sequence(&self) -> u64 {
        self.pending.lock().last_sequence
    }

    /// Writes and (unless the policy is `none`) syncs everything appended
    /// so far, then publishes it as durable.
    pub fn flush(&self) -> Result<(), WalError> {
        let mut segment = self.segment.lock();
        self.flush_locked(&mut segment).map(|_| ())
    }

    /// [`Wal::flush`] with the segment lock held; returns the last sequence
    /// written.
    fn flush_locked(&self, segment: &mut Segment) -> Result<u64, WalError> {
        let (bytes, last) = {
            let mut pending = self.pending.lock();
            if let Some(reason) = &pending.failed {
                return Err(WalError::Failed(reason.clone()));
            }
            let spare = Vec::with_capacity(self.options.batch_bytes);
            (
                std::mem::replace(&mut pending.buf, spare),
                pending.last_sequence,
            )
        };
        if bytes.is_empty() && self.durable.borrow().sequence >= last {
            return Ok(last);
        }
        match self.write_group(segment, &bytes, last) {
            Ok(()) => {
                self.durable.send_replace(Durable {
                    sequence: last,
                    failed: false,
                });
                Ok(last)
            }
            Err(err) => {
                error!(%err, "write-ahead log write failed; refusing further writes");
                self.pending.lock().failed = Some(err.to_string());
                self.durable.send_modify(|d| d.failed = true);
                Err(err)
            }
        }
    }

    fn write_group(&self, segment: &mut Segment, bytes: &[u8], last: u64) -> Result<(), WalError> {
        segment
            .file
            .write_all(bytes)
            .map_err(io_error(&segment.path))?;
        segment.len += bytes.len() as u64;
        if self.options.sync != SyncPolicy::None {
            segment.file.sync_data().map_err(io_error(&segment.path))?;
        }
        if segment.len >= self.options.segment_bytes {
            segment.file.sync_all().map_err(io_error(&segment.path))?;
            *segment = create_segment(&self.dir, last + 1)?;
        }
        Ok(())
    }

    fn run_flusher(&self) {
        let delay = Duration::from_micros(self.options.batch_delay_us);
        loop {
            {
                let mut pending = self.pending.lock();
                while pending.buf.is_empty() && !pending.closing {
                    self.wake.wait(&mut pending);
                }
                if pending.buf.is_empty() && pending.closing {
                    return;
                }
                let deadline = Instant::now() + delay;
                while pending.buf.len() < self.options.batch_bytes && !pending.closing {
                    if self.wake.wait_until(&mut pending, deadline).timed_out() {
                        break;
                    }
                }
            }
            if self.flush().is_err() {
                return;
            }
        }
    }

    /// Writes what is pending and starts a new segment, so the records
    /// before it can be dropped as a whole file once a snapshot holds them.
    pub fn rotate(&self) -> Result<(), WalError> {
        let mut segment = self.segment.lock();
        let last = self.flush_locked(&mut segment)?;
        if segment.len > 0 {
            segment.file.sync_all().map_err(io_error(&segment.path))?;
            *segment = create_segment(&self.dir, last + 1)?;
        }
        Ok(())
    }

    /// Deletes segments whose records all have sequences up to `sequence`
    /// (a snapshot holds them). Returns how many files were removed.
    pub fn drop_through(&self, sequence: u64) -> Result<usize, WalError> {
        let _writing = self.segment.lock();
        let segments = list_segments(&self.dir)?;
        let mut removed = 0;
        for pair in segments.windows(2) {
            let (_, path) = &pair[0];
            let (next_start, _) = pair[1];
            if next_start <= sequence + 1 {
                fs::remove_file(path).map_err(io_error(path))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Writes what is pending, stops the flusher and syncs the segment.
    pub fn close(&self) -> Result<(), WalError> {
        self.pending.lock().closing = true;
        self.wake.notify_all();
        if let Some(handle) = self.flusher.lock().take() {
            let _ = handle.join();
        }
        self.flush()?;
        let segment = self.segment.lock();
        segment.file.sync_all().map_err(io_error(&segment.path))
    }
}

/// Segment files in sequence order, with their first sequence.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let start = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|_| path.extension().is_some_and(|e| e == SUFFIX))
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(start) = start {
            segments.push((start, path));
        }
    }
    segments.sort();
    Ok(segments)
}

fn scan_segment(
    path: &Path,
    last_segment: bool,
    after: u64,
    replay: &mut Replay,
    apply: &mut impl FnMut(LoggedEvent) -> Result<(), String>,
) -> Result<(), WalError> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    let mut offset = 0usize;
    while offset < bytes.len() {
        let damage = match record::decode(&bytes[offset..]) {
            Ok((event, len)) => {
                let expected = replay.last_sequence + 1;
                if event.sequence <= replay.last_sequence {
                    offset += len; // held by the snapshot already
                    continue;
                }
                if event.sequence != expected {
                    if replay.last_sequence == after && replay.applied == 0 {
                        return Err(WalError::Gap {
                            expected,
                            found: event.sequence,
                        });
                    }
                    format!("sequence {} where {expected} was expected", event.sequence)
                } else {
                    let sequence = event.sequence;
                    apply(event).map_err(|reason| WalError::Replay { sequence, reason })?;
                    replay.applied += 1;
                    replay.last_sequence = sequence;
                    offset += len;
                    continue;
                }
            }
            Err(err) => err.to_string(),
        };
        if !last_segment {
            return Err(WalError::Corrupt {
                path: path.to_path_buf(),
                offset: offset as u64,
                reason: damage,
            });
        }
        return truncate_tail(path, offset as u64, bytes.len() as u64, &damage, replay);
    }
    Ok(())
}

fn truncate_tail(
    path: &Path,
    offset: u64,
    len: u64,
    damage: &str,
    replay: &mut Replay,
) -> Result<(), WalError> {
    warn!(
        segment = %path.display(),
        offset,
        dropped_bytes = len - offset,
        damage,
        "truncating the interrupted end of the write-ahead log"
    );
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_error(path))?;
    file.set_len(offset).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    replay.truncated_bytes += len - offset;
    Ok(())
}

fn open_for_append(path: &Path) -> Result<Segment, WalError> {
    let file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_error(path))?;
    let len = file.metadata().map_err(io_error(path))?.len();
    Ok(Segment {
        file,
        path: path.to_path_buf(),
        len,
    })
}

fn create_segment(dir: &Path, start: u64) -> Result<Segment, WalError> {
    let path = dir.join(format!("{start:020}.{SUFFIX}"));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_error(&path))?;
    sync_dir(dir)?;
    info!(segment = %path.display(), "write-ahead log segment started");
    Ok(Segment { file, path, len: 0 })
}

/// Makes a created, renamed or removed file name durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record::tests::sample_edge;

    fn options(sync: SyncPolicy) -> WalOptions {
        WalOptions {
            sync,
            batch_delay_us: 200,
            ..WalOptions::default()
        }
    }

    fn reopen(dir: &Path, after: u64) -> (Vec<LoggedEvent>, Replay) {
        let mut seen = Vec::new();
        let (wal, replay) = Wal::open(dir, options(SyncPolicy::Batch), after, |e| {
            seen.push(e);
            Ok(())
        })
        .unwrap();
        wal.close().unwrap();
        (seen, replay)
    }

    fn write(dir: &Path, range: std::ops::RangeInclusive<u64>, sync: SyncPolicy) {
        let (wal, _) = Wal::open(dir, options(sync), 0, |_| Ok(())).unwrap();
        for seq in range {
            wal.append(
                seq,
                Some(&format!("ev{seq}")),
                &sample_edge(&format!("c{seq}")),
            )
            .unwrap();
        }
        wal.close().unwrap();
    }

    #[test]
    fn appended_records_replay_in_order_after_a_reopen() {
        for sync in [SyncPolicy::Always, SyncPolicy::Batch, SyncPolicy::None] {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), 1..=50, sync);
            let (seen, replay) = reopen(dir.path(), 0);
            assert_eq!(seen.len(), 50, "{sync:?}");
            assert_eq!(seen[49].edge.customer, "c50");
            assert_eq!(seen[0].event_id.as_deref(), Some("ev1"));
            assert_eq!(replay.last_sequence, 50);
        }
    }

    #[test]
    fn records_held_by_a_snapshot_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 1..=10, SyncPolicy::Batch);
        let (seen, replay) = reopen(dir.path(), 7);
        assert_eq!(
            seen.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            [8, 9, 10]
        );
        assert_eq!(replay.applied, 3);
    }

    fn only_segment(dir: &Path) -> PathBuf {
        list_segments(dir).unwrap().pop().unwrap().1
    }

    /// A crash mid-write leaves part of a record; recovery keeps every
    /// record before it, cuts the rest, and the log accepts appends again.
    #[test]
    fn a_truncated_tail_recovers_to_the_last_whole_record() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 1..=20, SyncPolicy::Batch);
        let path = only_segment(dir.path());
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 5)
            .unwrap();

        let (seen, replay) = reopen(dir.path(), 0);
        assert_eq!(seen.len(), 19);
        assert!(replay.truncated_bytes > 0);
        let (again, second) = reopen(dir.path(), 0);
        assert_eq!(
            (again.len(), second.truncated_bytes),
            (19, 0),
            "recovery is stable"
        );

        let (wal, _) = Wal::open(dir.path(), options(SyncPolicy::Batch), 0, |_| Ok(())).unwrap();
        wal.append(20, None, &sample_edge("again")).unwrap();
        wal.close().unwrap();
        assert_eq!(reopen(dir.path(), 0).0.len(), 20);
    }

    #[test]
    fn a_flipped_bit_in_the_tail_recovers_to_the_record_before_it() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 1..=20, SyncPolicy::Batch);
        let path = only_segment(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        let at = bytes.len() - 3;
        bytes[at] ^= 0x04;
        fs::write(&path, &bytes).unwrap();

        let (seen, replay) = reopen(dir.path(), 0);
        assert_eq!(seen.len(), 19);
        assert_eq!(replay.last_sequence, 19);
    }

    #[test]
    fn damage_before_the_last_segment_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let small = WalOptions {
            segment_bytes: 500,
            ..options(SyncPolicy::Always)
        };
        let (wal, _) = Wal::open(dir.path(), small, 0, |_| Ok(())).unwrap();
        for seq in 1..=30 {
            wal.append(seq, None, &sample_edge("c")).unwrap();
        }
        wal.close().unwrap();
        let segments = list_segments(dir.path()).unwrap();
        assert!(segments.len() > 2);
        let mut bytes = fs::read(&segments[0].1).unwrap();
        bytes[10] ^= 0xff;
        fs::write(&segments[0].1, &bytes).unwrap();

        let err = Wal::open(dir.path(), options(SyncPolicy::Batch), 0, |_| Ok(()))
            .err()
            .expect("refused");
        assert!(matches!(err, WalError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn segments_covered_by_a_snapshot_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let small = WalOptions {
            segment_bytes: 500,
            ..options(SyncPolicy::Always)
        };
        let (wal, _) = Wal::open(dir.path(), small, 0, |_| Ok(())).unwrap();
        for seq in 1..=30 {
            wal.append(seq, None, &sample_edge("c")).unwrap();
        }
        let before = list_segments(dir.path()).unwrap().len();
        assert!(wal.drop_through(20).unwrap() > 0);
        wal.rotate().unwrap();
        let rotated = list_segments(dir.path()).unwrap();
        assert_eq!(
            rotated.last().unwrap().0,
            31,
            "the new segment starts after 30"
        );
        wal.close().unwrap();
        assert!(list_segments(dir.path()).unwrap().len() < before);
        let (seen, _) = reopen(dir.path(), 20);
        assert_eq!(seen.first().map(|e| e.sequence), Some(21));
        assert_eq!(seen.len(), 10);
    }

    #[tokio::test]
    async fn waiters_are_released_when_their_record_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path(), options(SyncPolicy::Batch), 0, |_| Ok(())).unwrap();
        wal.append(1, None, &sample_edge("c")).unwrap();
        wal.wait_durable(1).await.unwrap();
        wal.close().unwrap();
    }
}
