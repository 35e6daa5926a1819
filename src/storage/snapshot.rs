//! Snapshots: the whole hypergraph at one sequence, so recovery replays only
//! the log written after it.
//!
//! A snapshot holds the vertex dictionaries (customers, products, facets
//! with their kind), every hyperedge by vertex ids, and the recent event
//! ids of the idempotency window. Incidence lists and popularity counts are
//! not stored: applying the hyperedges in sequence order rebuilds them
//! exactly, and derived state that is never written can never disagree
//! with the hyperedges it comes from.
//!
//! File: `snapshots/snapshot-<sequence, 20 digits>.bin`, written to a
//! temporary name, synced, then renamed, so a crash leaves either the whole
//! snapshot or none. Layout: magic, version, then the body, then a CRC-32
//! of everything before it; a file whose checksum fails is skipped and the
//! next older snapshot is used.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tracing::warn;

use super::codec::{put_f32, put_i64, put_str, put_u64, Malformed, Reader};
use super::wal::sync_dir;
use crate::hypergraph::{EdgeIds, FacetKind, GraphError, Hypergraph, View};

const MAGIC: &[u8; 8] = b"HYPRSNAP";
const VERSION: u64 = 1;
const PREFIX: &str = "snapshot-";
const SUFFIX: &str = "bin";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot {path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error("snapshot {path} does not fit the graph: {source}")]
    Graph { path: PathBuf, source: GraphError },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file writer that keeps a running CRC of what it wrote.
struct Checksummed {
    out: BufWriter<File>,
    crc: crc32fast::Hasher,
    chunk: Vec<u8>,
}

impl Checksummed {
    /// Writes the chunk buffered so far; called every few kilobytes.
    fn spill(&mut self) -> io::Result<()> {
        self.crc.update(&self.chunk);
        self.out.write_all(&self.chunk)?;
        self.chunk.clear();
        Ok(())
    }

    fn maybe_spill(&mut self) -> io::Result<()> {
        if self.chunk.len() >= 64 << 10 {
            self.spill()?;
        }
        Ok(())
    }
}

/// Writes a snapshot of `view` and the idempotency window `recent` (event
/// id, sequence) into `dir`; returns its path.
pub fn write(
    dir: &Path,
    view: &View<'_>,
    recent: &[(String, u64)],
) -> Result<PathBuf, SnapshotError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let sequence = view.edge_count() as u64;
    let path = dir.join(format!("{PREFIX}{sequence:020}.{SUFFIX}"));
    let temporary = path.with_extension("tmp");
    let file = File::create(&temporary).map_err(io_error(&temporary))?;
    let mut out = Checksummed {
        out: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
        chunk: Vec::with_capacity(80 << 10),
    };
    write_body(&mut out, view, recent).map_err(io_error(&temporary))?;

    out.spill().map_err(io_error(&temporary))?;
    let crc = out.crc.clone().finalize();
    out.out
        .write_all(&crc.to_le_bytes())
        .map_err(io_error(&temporary))?;
    let file = out
        .out
        .into_inner()
        .map_err(|e| io_error(&temporary)(e.into_error()))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, &path).map_err(io_error(&path))?;
    sync_dir(dir).map_err(|e| SnapshotError::Io {
        path: dir.to_path_buf(),
        source: io::Error::other(e.to_string()),
    })?;
    Ok(path)
}

fn write_body(out: &mut Checksummed, view: &View<'_>, recent: &[(String, u64)]) -> io::Result<()> {
    let graph = view.graph();
    // Dictionary lengths as of now: every id a hyperedge of the view uses
    // was interned before the hyperedge was published, so it is included.
    let customers = graph.customer_count();
    let products = graph.product_count();
    let facets = graph.facet_count();

    out.chunk.extend_from_slice(MAGIC);
    put_u64(&mut out.chunk, VERSION);
    put_u64(&mut out.chunk, view.edge_count() as u64);
    put_u64(&mut out.chunk, customers as u64);
    for id in 0..customers as u32 {
        put_str(&mut out.chunk, graph.customer_name(id));
        out.maybe_spill()?;
    }
    put_u64(&mut out.chunk, products as u64);
    for id in 0..products as u32 {
        put_str(&mut out.chunk, graph.product_name(id));
        out.maybe_spill()?;
    }
    put_u64(&mut out.chunk, facets as u64);
    for id in 0..facets as u32 {
        out.chunk.push(kind_code(graph.facet_kind(id)));
        put_str(&mut out.chunk, graph.facet_name(id));
        out.maybe_spill()?;
    }
    put_u64(&mut out.chunk, view.edge_count() as u64);
    for edge in view.edges() {
        put_i64(&mut out.chunk, edge.at_ms);
        put_u64(&mut out.chunk, edge.customer as u64);
        put_u64(&mut out.chunk, edge.product as u64);
        put_u64(&mut out.chunk, edge.intent as u64);
        out.chunk.push(edge.bucket);
        put_f32(&mut out.chunk, edge.weight);
        let contexts: Vec<u32> = view.contexts(edge).collect();
        put_u64(&mut out.chunk, contexts.len() as u64);
        for context in contexts {
            put_u64(&mut out.chunk, context as u64);
        }
        out.maybe_spill()?;
    }
    put_u64(&mut out.chunk, recent.len() as u64);
    for (event_id, sequence) in recent {
        put_str(&mut out.chunk, event_id);
        put_u64(&mut out.chunk, *sequence);
    }
    Ok(())
}

fn kind_code(kind: Option<FacetKind>) -> u8 {
    match kind {
        Some(FacetKind::Intent) => 1,
        Some(FacetKind::Time) => 2,
        _ => 0,
    }
}

fn kind_of(code: u8) -> Result<FacetKind, Malformed> {
    match code {
        0 => Ok(FacetKind::Context),
        1 => Ok(FacetKind::Intent),
        2 => Ok(FacetKind::Time),
        _ => Err(Malformed { what: "facet kind" }),
    }
}

/// A snapshot restored into a graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    pub path: PathBuf,
    pub sequence: u64,
    /// The idempotency window at the snapshot, oldest first.
    pub recent: Vec<(String, u64)>,
}

/// Snapshot files in `dir`, newest first.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, SnapshotError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io_error(dir)(err)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_error(dir))?.path();
        let sequence = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|n| n.strip_suffix(&format!(".{SUFFIX}")))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(sequence) = sequence {
            found.push((sequence, path));
        }
    }
    found.sort_by(|a, b| b.cmp(a));
    Ok(found)
}

/// Restores the newest snapshot whose checksum holds into `graph` (which
/// must be empty). Damaged snapshots are skipped with a warning; `None`
/// when there is no usable one.
pub fn restore_newest(dir: &Path, graph: &Hypergraph) -> Result<Option<Restored>, SnapshotError> {
    for (_, path) in list(dir)? {
        let bytes = fs::read(&path).map_err(io_error(&path))?;
        match verify(&bytes) {
            Ok(body) => return restore(&path, body, graph).map(Some),
            Err(reason) => warn!(snapshot = %path.display(), reason, "skipping damaged snapshot"),
        }
    }
    Ok(None)
}

/// The body of a snapshot file whose magic and checksum hold.
fn verify(bytes: &[u8]) -> Result<&[u8], &'static str> {
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a snapshot file");
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let expected = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
    if crc32fast::hash(body) != expected {
        return Err("checksum mismatch");
    }
    Ok(&body[MAGIC.len()..])
}

fn restore(path: &Path, body: &[u8], graph: &Hypergraph) -> Result<Restored, SnapshotError> {
    let damaged = |err: Malformed| SnapshotError::Damaged {
        path: path.to_path_buf(),
        reason: err.to_string(),
    };
    let mut r = Reader::new(body);
    if r.u64("version").map_err(damaged)? != VERSION {
        return Err(damaged(Malformed { what: "version" }));
    }
    let sequence = r.u64("sequence").map_err(damaged)?;
    let customers = strings(&mut r, "customer").map_err(damaged)?;
    let products = strings(&mut r, "product").map_err(damaged)?;
    let facets = facets(&mut r).map_err(damaged)?;
    let graph_error = |source| SnapshotError::Graph {
        path: path.to_path_buf(),
        source,
    };
    graph
        .restore_vertices(customers, products, facets)
        .map_err(graph_error)?;
    restore_edges(&mut r, graph, sequence).map_err(|e| match e {
        EdgeError::Malformed(m) => damaged(m),
        EdgeError::Graph(g) => graph_error(g),
    })?;
    let recent = recent(&mut r).map_err(damaged)?;
    Ok(Restored {
        path: path.to_path_buf(),
        sequence,
        recent,
    })
}

fn strings<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<Vec<&'a str>, Malformed> {
    let count = r.u64(what)? as usize;
    let mut names = Vec::with_capacity(count.min(1 << 24));
    for _ in 0..count {
        names.push(r.str(what)?);
    }
    Ok(names)
}

fn facets<'a>(r: &mut Reader<'a>) -> Result<Vec<(&'a str, FacetKind)>, Malformed> {
    let count = r.u64("facet")? as usize;
    let mut facets = Vec::with_capacity(count.min(1 << 24));
    for _ in 0..count {
        let kind = kind_of(r.u8("facet kind")?)?;
        facets.push((r.str("facet")?, kind));
    }
    Ok(facets)
}

enum EdgeError {
    Malformed(Malformed),
    Graph(GraphError),
}

fn restore_edges(r: &mut Reader<'_>, graph: &Hypergraph, sequence: u64) -> Result<(), EdgeError> {
    let count = r.u64("edge count").map_err(EdgeError::Malformed)?;
    if count != sequence {
        return Err(EdgeError::Malformed(Malformed { what: "edge count" }));
    }
    let mut contexts = Vec::new();
    for _ in 0..count {
        let (edge, ctx) = read_edge(r, &mut contexts).map_err(EdgeError::Malformed)?;
        let edge = EdgeIds {
            contexts: ctx,
            ..edge
        };
        graph.apply_ids(&edge).map_err(EdgeError::Graph)?;
    }
    Ok(())
}

fn read_edge<'c>(
    r: &mut Reader<'_>,
    contexts: &'c mut Vec<u32>,
) -> Result<(EdgeIds<'static>, &'c [u32]), Malformed> {
    let at_ms = r.i64("edge time")?;
    let customer = r.u32("edge customer")?;
    let product = r.u32("edge product")?;
    let intent = r.u32("edge intent")?;
    let bucket = r.u8("edge bucket")?;
    let weight = r.f32("edge weight")?;
    let count = r.u64("edge contexts")? as usize;
    contexts.clear();
    for _ in 0..count {
        contexts.push(r.u32("edge context")?);
    }
    let edge = EdgeIds {
        at_ms,
        customer,
        product,
        intent,
        bucket,
        weight,
        contexts: &[],
    };
    Ok((edge, contexts))
}

fn recent(r: &mut Reader<'_>) -> Result<Vec<(String, u64)>, Malformed> {
    let count = r.u64("recent count")? as usize;
    let mut recent = Vec::with_capacity(count.min(1 << 24));
    for _ in 0..count {
        let id = r.str("recent event id")?.to_string();
        recent.push((id, r.u64("recent sequence")?));
    }
    if !r.is_empty() {
        return Err(Malformed {
            what: "trailing bytes",
        });
    }
    Ok(recent)
}

/// Removes all but the newest `keep` snapshots; returns the sequence of
/// the oldest one kept (the log must be kept from there on).
pub fn prune(dir: &Path, keep: usize) -> Result<Option<u64>, SnapshotError> {
    let snapshots = list(dir)?;
    for (_, path) in snapshots.iter().skip(keep.max(1)) {
        fs::remove_file(path).map_err(io_error(path))?;
    }
    let kept = snapshots.len().min(keep.max(1));
    Ok(kept.checked_sub(1).map(|oldest| snapshots[oldest].0))
}
