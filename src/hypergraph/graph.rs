//! The hypergraph store: hyperedges, incidence and popularity counts.
//!
//! Layout, chosen for ingest speed, read speed and about 80 bytes per
//! hyperedge:
//! - hyperedges live in one append-only array of 64-byte records, one cache
//!   line each, with up to seven context vertex ids inline (more spill to a
//!   side array), so reading a hyperedge costs one cache miss;
//! - customers and products keep incidence lists of hyperedge ids (see
//!   `incidence.rs`), read newest first, which is the order recommendations
//!   want: recent evidence matters more;
//! - context values, intents and time buckets ("facets") keep decayed
//!   popularity per product instead of incidence: no request walks all the
//!   hyperedges of `device=mobile`, but many ask what is popular there.
//!
//! One writer at a time (a mutex) appends; readers never lock. A hyperedge
//! becomes visible when the writer advances the published watermark, after
//! its record and both incidence entries are in place; readers take the
//! watermark once per request ([`View`]) and skip anything above it, so they
//! never follow half of a hyperedge. Popularity counters are bumped just
//! before the watermark moves, so for the few nanoseconds of one apply a
//! counter can include a hyperedge that walks do not show yet.

use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use super::append::AppendVec;
use super::incidence::{IncidenceArena, IncidenceHead};
use super::vocab::Vocab;
use super::weight::{DecayClock, DecayedWeight};
use crate::context::TimeBucket;

/// Hyperedge ids are u32; this one is never assigned.
const NO_EDGE: u32 = u32::MAX;
/// Context ids stored inside the record; more go to the overflow array.
const INLINE_CONTEXTS: usize = 7;

/// Errors of the hypergraph store.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphError {
    /// A fixed-width id space is exhausted; the process must be split or
    /// restarted on a compacted graph. Callers should answer unavailable.
    #[error("the hypergraph is full: no room for more {what}")]
    Full { what: &'static str },
    /// The hyperedge carries more context values than a record can index.
    #[error("a hyperedge may carry at most 255 context values, got {count}")]
    TooManyContexts { count: usize },
    /// A hyperedge given by ids names a vertex that was never interned: the
    /// data it came from (a snapshot) is inconsistent.
    #[error("a hyperedge names a vertex id the graph does not have")]
    UnknownVertex,
    /// Vertices can only be restored into a graph that has none.
    #[error("vertices can only be restored into an empty graph")]
    NotEmpty,
}

/// What kind of non-customer, non-product vertex a facet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacetKind {
    Context,
    Intent,
    Time,
}

/// The facet name of an intent. Context keys cannot contain ':', so these
/// names never collide with a `key=value` context vertex.
pub fn intent_facet(intent: &str) -> String {
    format!("intent:{intent}")
}

/// The facet name of a time bucket.
pub fn time_facet(bucket: TimeBucket) -> String {
    format!("time:{bucket}")
}

/// A hyperedge ready to apply: validated and normalized by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEdge {
    pub customer: String,
    pub product: String,
    /// `key=value` context vertices, normalized (see `context::normalize`).
    pub contexts: Vec<String>,
    pub intent: String,
    pub bucket: TimeBucket,
    pub weight: f32,
    pub at_ms: i64,
}

/// A hyperedge whose vertices are interned ids (see
/// [`Hypergraph::apply_ids`]).
#[derive(Debug, Clone, Copy)]
pub struct EdgeIds<'a> {
    pub at_ms: i64,
    pub customer: u32,
    pub product: u32,
    /// Facet id of the intent.
    pub intent: u32,
    /// `TimeBucket::code`.
    pub bucket: u8,
    pub weight: f32,
    /// Facet ids of the context values.
    pub contexts: &'a [u32],
}

/// One stored hyperedge: exactly one 64-byte cache line. Ids are interned
/// vertex ids.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub struct EdgeRecord {
    pub at_ms: i64,
    pub customer: u32,
    pub product: u32,
    /// Facet id of the intent.
    pub intent: u32,
    pub weight: f32,
    /// Where context ids past the inline ones start in the overflow array.
    overflow_start: u32,
    contexts: [u32; INLINE_CONTEXTS],
    contexts_len: u8,
    /// `TimeBucket::code`.
    pub bucket: u8,
}

const _: () = assert!(size_of::<EdgeRecord>() == 64);

#[derive(Default)]
struct ProductVertex {
    incidence: IncidenceHead,
    popularity: DecayedWeight,
}

struct Facet {
    kind: FacetKind,
    total: DecayedWeight,
    /// Products seen with this facet and their decayed weight here.
    products: AppendVec<FacetProduct>,
}

pub struct FacetProduct {
    pub product: u32,
    weight: DecayedWeight,
}

impl FacetProduct {
    pub fn weight(&self) -> f64 {
        self.weight.get()
    }
}

/// State only the writer touches.
#[derive(Default)]
struct WriterState {
    /// Per product: facet -> slot in that facet's product list. Keyed by
    /// product first so the facets of one hyperedge, which all share its
    /// product, are found in one small table rather than all over a big one.
    facet_slots: Vec<FxHashMap<u32, u32>>,
    /// Facet id per time bucket code, to skip formatting its name per edge.
    time_facets: [Option<u32>; TimeBucket::COUNT],
    /// Facet id per intent, to skip formatting its name per edge.
    intent_facets: FxHashMap<Box<str>, u32>,
    /// Reused buffer for one hyperedge's context ids.
    scratch: Vec<u32>,
    /// The writer's copies of the vocabularies (see `Vocab::intern`).
    customer_ids: FxHashMap<Box<str>, u32>,
    product_ids: FxHashMap<Box<str>, u32>,
    facet_ids: FxHashMap<Box<str>, u32>,
}

impl WriterState {
    fn slots_bytes(&self) -> usize {
        self.facet_slots
            .iter()
            .map(|m| m.capacity() * 12)
            .sum::<usize>()
            + self.facet_slots.capacity() * size_of::<FxHashMap<u32, u32>>()
    }
}

/// Sizes of the graph, for operators and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphStats {
    pub hyperedges: u64,
    pub customers: u64,
    pub products: u64,
    pub context_values: u64,
    pub intents: u64,
    pub time_buckets: u64,
    /// Bytes used by hyperedges, incidence and popularity (dictionaries aside).
    pub used_bytes: u64,
    /// Bytes reserved for them, including room not yet filled.
    pub reserved_bytes: u64,
}

pub struct Hypergraph {
    writer: Mutex<WriterState>,
    clock: DecayClock,
    edges: AppendVec<EdgeRecord>,
    /// Context ids of hyperedges with more than `INLINE_CONTEXTS`.
    overflow_contexts: AppendVec<u32>,
    incidence: IncidenceArena,
    published: AtomicU32,
    customers: Vocab,
    customer_incidence: AppendVec<IncidenceHead>,
    products: Vocab,
    product_vertices: AppendVec<ProductVertex>,
    facets: Vocab,
    facet_table: AppendVec<Facet>,
    total_popularity: DecayedWeight,
}

impl Hypergraph {
    /// An empty graph whose popularity halves every `popularity_half_life_hours`.
    pub fn new(popularity_half_life_hours: f64) -> Self {
        Self {
            writer: Mutex::new(WriterState::default()),
            clock: DecayClock::new(popularity_half_life_hours),
            edges: AppendVec::new(),
            overflow_contexts: AppendVec::new(),
            incidence: IncidenceArena::default(),
            published: AtomicU32::new(0),
            customers: Vocab::default(),
            customer_incidence: AppendVec::new(),
            products: Vocab::default(),
            product_vertices: AppendVec::new(),
            facets: Vocab::default(),
            facet_table: AppendVec::new(),
            total_popularity: DecayedWeight::default(),
        }
    }

    /// Applies one hyperedge and returns its sequence number (1-based).
    pub fn apply(&self, edge: &NewEdge) -> Result<u64, GraphError> {
        let mut writer = self.writer.lock();
        self.apply_locked(&mut writer, edge)
    }

    /// Applies hyperedges in order under one lock and returns the last
    /// sequence number. On error the ones before it stay applied.
    pub fn apply_batch(&self, edges: &[NewEdge]) -> Result<u64, GraphError> {
        let mut writer = self.writer.lock();
        let mut last = self.published.load(Ordering::Relaxed) as u64;
        for edge in edges {
            last = self.apply_locked(&mut writer, edge)?;
        }
        Ok(last)
    }

    fn apply_locked(&self, writer: &mut WriterState, edge: &NewEdge) -> Result<u64, GraphError> {
        if edge.contexts.len() > u8::MAX as usize {
            return Err(GraphError::TooManyContexts {
                count: edge.contexts.len(),
            });
        }
        // SAFETY (interning): we hold the writer lock, so it is serialized.
        let customer = unsafe {
            self.customers
                .intern(&mut writer.customer_ids, &edge.customer, |_| {
                    self.customer_incidence.push(IncidenceHead::default());
                })
        };
        let product = unsafe {
            self.products
                .intern(&mut writer.product_ids, &edge.product, |_| {
                    self.product_vertices.push(ProductVertex::default());
                })
        };
        let intent = match writer.intent_facets.get(edge.intent.as_str()) {
            Some(&facet) => facet,
            None => {
                let facet =
                    self.intern_facet(writer, &intent_facet(&edge.intent), FacetKind::Intent);
                writer
                    .intent_facets
                    .insert(edge.intent.as_str().into(), facet);
                facet
            }
        };
        let mut contexts = std::mem::take(&mut writer.scratch);
        contexts.clear();
        for context in &edge.contexts {
            contexts.push(self.intern_facet(writer, context, FacetKind::Context));
        }
        let ids = EdgeIds {
            at_ms: edge.at_ms,
            customer,
            product,
            intent,
            bucket: edge.bucket.code(),
            weight: edge.weight,
            contexts: &contexts,
        };
        let applied = self.apply_ids_locked(writer, &ids);
        writer.scratch = contexts;
        applied
    }

    /// Applies a hyperedge whose vertices are already interned (restoring
    /// a snapshot). Fails if an id was never interned.
    pub fn apply_ids(&self, edge: &EdgeIds<'_>) -> Result<u64, GraphError> {
        let known = |id: u32, len: usize| (id as usize) < len;
        let facets = self.facets.len();
        if !known(edge.customer, self.customers.len())
            || !known(edge.product, self.products.len())
            || !known(edge.intent, facets)
            || edge.contexts.iter().any(|&c| !known(c, facets))
        {
            return Err(GraphError::UnknownVertex);
        }
        if edge.contexts.len() > u8::MAX as usize {
            return Err(GraphError::TooManyContexts {
                count: edge.contexts.len(),
            });
        }
        let mut writer = self.writer.lock();
        self.apply_ids_locked(&mut writer, edge)
    }

    fn apply_ids_locked(
        &self,
        writer: &mut WriterState,
        edge: &EdgeIds<'_>,
    ) -> Result<u64, GraphError> {
        let id = self.edges.len();
        if id >= NO_EDGE as usize {
            return Err(GraphError::Full { what: "hyperedges" });
        }
        let overflow_start = self.overflow_contexts.len();
        if overflow_start + edge.contexts.len() > u32::MAX as usize {
            return Err(GraphError::Full {
                what: "context entries",
            });
        }
        let time = match writer.time_facets[(edge.bucket & 7) as usize] {
            Some(facet) => facet,
            None => {
                let bucket = TimeBucket::from_code(edge.bucket);
                let facet = self.intern_facet(writer, &time_facet(bucket), FacetKind::Time);
                writer.time_facets[(edge.bucket & 7) as usize] = Some(facet);
                facet
            }
        };
        let mut contexts = [0u32; INLINE_CONTEXTS];
        for (i, &facet) in edge.contexts.iter().enumerate() {
            match contexts.get_mut(i) {
                Some(slot) => *slot = facet,
                // SAFETY: we hold the writer lock.
                None => unsafe {
                    self.overflow_contexts.push(facet);
                },
            }
        }

        // SAFETY (pushes and appends below): we hold the writer lock.
        unsafe {
            self.edges.push(EdgeRecord {
                at_ms: edge.at_ms,
                customer: edge.customer,
                product: edge.product,
                intent: edge.intent,
                weight: edge.weight,
                overflow_start: overflow_start as u32,
                contexts,
                contexts_len: edge.contexts.len() as u8,
                bucket: edge.bucket & 7,
            })
        };
        let customer_head = self
            .customer_incidence
            .get(edge.customer as usize)
            .expect("interned");
        let product_vertex = self
            .product_vertices
            .get(edge.product as usize)
            .expect("interned");
        let full = |_| GraphError::Full {
            what: "incidence slots",
        };
        unsafe {
            self.incidence
                .append(customer_head, id as u32)
                .map_err(full)?;
            self.incidence
                .append(&product_vertex.incidence, id as u32)
                .map_err(full)?;
        }

        let scaled = self.clock.scaled(edge.weight, edge.at_ms);
        product_vertex.popularity.add(scaled);
        self.total_popularity.add(scaled);
        let facets = [edge.intent, time]
            .into_iter()
            .chain(edge.contexts.iter().copied());
        self.bump_facets(writer, facets, edge.product, scaled);

        self.published.store(id as u32 + 1, Ordering::Release);
        Ok(id as u64 + 1)
    }

    /// Interns vertex names in the order given, so that their ids are their
    /// positions: how a snapshot's dictionaries come back. Only for an empty
    /// graph, since ids already handed out cannot move.
    pub fn restore_vertices<'a>(
        &self,
        customers: impl IntoIterator<Item = &'a str>,
        products: impl IntoIterator<Item = &'a str>,
        facets: impl IntoIterator<Item = (&'a str, FacetKind)>,
    ) -> Result<(), GraphError> {
        let mut writer = self.writer.lock();
        if self.customers.len() + self.products.len() + self.facets.len() > 0 {
            return Err(GraphError::NotEmpty);
        }
        for name in customers {
            // SAFETY: we hold the writer lock.
            unsafe {
                self.customers.intern(&mut writer.customer_ids, name, |_| {
                    self.customer_incidence.push(IncidenceHead::default());
                })
            };
        }
        for name in products {
            // SAFETY: we hold the writer lock.
            unsafe {
                self.products.intern(&mut writer.product_ids, name, |_| {
                    self.product_vertices.push(ProductVertex::default());
                })
            };
        }
        for (name, kind) in facets {
            self.intern_facet(&mut writer, name, kind);
        }
        Ok(())
    }

    fn intern_facet(&self, writer: &mut WriterState, name: &str, kind: FacetKind) -> u32 {
        // SAFETY: only called from apply_locked, under the writer lock.
        unsafe {
            self.facets.intern(&mut writer.facet_ids, name, |_| {
                self.facet_table.push(Facet {
                    kind,
                    total: DecayedWeight::default(),
                    products: AppendVec::new(),
                });
            })
        }
    }

    /// Adds `scaled` to each facet's total and to its entry for `product`.
    ///
    /// Existing entries are updated in two passes: find and prefetch them
    /// all, then add. They sit in different facets' lists, so without the
    /// prefetch every one would be a cache miss waited for in turn.
    fn bump_facets(
        &self,
        writer: &mut WriterState,
        facets: impl Iterator<Item = u32>,
        product: u32,
        scaled: f64,
    ) {
        const BATCH: usize = 16;
        if writer.facet_slots.len() <= product as usize {
            writer
                .facet_slots
                .resize_with(product as usize + 1, FxHashMap::default);
        }
        let slots = &mut writer.facet_slots[product as usize];
        let mut pending: [Option<&FacetProduct>; BATCH] = [None; BATCH];
        let mut count = 0;
        for facet in facets {
            let entry = self.facet_table.get(facet as usize).expect("interned");
            entry.total.add(scaled);
            match slots.get(&facet) {
                Some(&slot) => {
                    let known = entry.products.get(slot as usize).expect("slot");
                    if count == BATCH {
                        flush(&mut pending, scaled);
                        count = 0;
                    }
                    prefetch(known);
                    pending[count] = Some(known);
                    count += 1;
                }
                None => {
                    // SAFETY: called under the writer lock.
                    let slot = unsafe {
                        entry.products.push(FacetProduct {
                            product,
                            weight: DecayedWeight::new(scaled),
                        })
                    };
                    slots.insert(facet, slot as u32);
                }
            }
        }
        flush(&mut pending, scaled);

        fn flush(pending: &mut [Option<&FacetProduct>], scaled: f64) {
            for entry in pending.iter_mut().filter_map(Option::take) {
                entry.weight.add(scaled);
            }
        }
    }

    /// A consistent read view: hyperedges published before this call.
    pub fn view(&self) -> View<'_> {
        View {
            graph: self,
            watermark: self.published.load(Ordering::Acquire),
        }
    }

    /// Sequence number of the newest applied hyperedge (0 when empty).
    pub fn last_sequence(&self) -> u64 {
        self.published.load(Ordering::Acquire) as u64
    }

    pub fn customer_id(&self, name: &str) -> Option<u32> {
        self.customers.get(name)
    }

    pub fn product_id(&self, name: &str) -> Option<u32> {
        self.products.get(name)
    }

    pub fn facet_id(&self, name: &str) -> Option<u32> {
        self.facets.get(name)
    }

    pub fn customer_name(&self, customer: u32) -> &str {
        self.customers.name(customer)
    }

    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    pub fn facet_count(&self) -> usize {
        self.facets.len()
    }

    pub fn product_name(&self, product: u32) -> &str {
        self.products.name(product)
    }

    pub fn facet_name(&self, facet: u32) -> &str {
        self.facets.name(facet)
    }

    pub fn facet_kind(&self, facet: u32) -> Option<FacetKind> {
        self.facet_table.get(facet as usize).map(|f| f.kind)
    }

    pub fn product_count(&self) -> usize {
        self.product_vertices.len()
    }

    /// Decayed popularity of a product (comparable between products only).
    pub fn product_popularity(&self, product: u32) -> f64 {
        self.product_vertices
            .get(product as usize)
            .map_or(0.0, |p| p.popularity.get())
    }

    pub fn total_popularity(&self) -> f64 {
        self.total_popularity.get()
    }

    /// Decayed weight of all hyperedges with this facet.
    pub fn facet_total(&self, facet: u32) -> f64 {
        self.facet_table
            .get(facet as usize)
            .map_or(0.0, |f| f.total.get())
    }

    /// Products seen with this facet, with their decayed weight there.
    pub fn facet_products(&self, facet: u32) -> impl Iterator<Item = &FacetProduct> + '_ {
        self.facet_table
            .get(facet as usize)
            .into_iter()
            .flat_map(|f| f.products.iter())
    }

    pub fn stats(&self) -> GraphStats {
        let mut stats = GraphStats {
            hyperedges: self.last_sequence(),
            customers: self.customers.len() as u64,
            products: self.products.len() as u64,
            ..GraphStats::default()
        };
        for facet in self.facet_table.iter() {
            match facet.kind {
                FacetKind::Context => stats.context_values += 1,
                FacetKind::Intent => stats.intents += 1,
                FacetKind::Time => stats.time_buckets += 1,
            }
        }
        let facet_products: usize = self.facet_table.iter().map(|f| f.products.len()).sum();
        let facet_reserved: usize = self
            .facet_table
            .iter()
            .map(|f| f.products.reserved_bytes())
            .sum();
        stats.used_bytes = (self.edges.len() * size_of::<EdgeRecord>()
            + self.overflow_contexts.len() * size_of::<u32>()
            + self.incidence.used_bytes()
            + self.customer_incidence.len() * size_of::<IncidenceHead>()
            + self.product_vertices.len() * size_of::<ProductVertex>()
            + self.facet_table.len() * size_of::<Facet>()
            + facet_products * size_of::<FacetProduct>()
            + self.writer.lock().slots_bytes()) as u64;
        stats.reserved_bytes = (self.edges.reserved_bytes()
            + self.overflow_contexts.reserved_bytes()
            + self.incidence.reserved_bytes()
            + self.customer_incidence.reserved_bytes()
            + self.product_vertices.reserved_bytes()
            + self.facet_table.reserved_bytes()
            + facet_reserved
            + self.writer.lock().slots_bytes()) as u64;
        stats
    }
}

/// Reads the graph as of one watermark.
#[derive(Clone, Copy)]
pub struct View<'g> {
    graph: &'g Hypergraph,
    watermark: u32,
}

impl<'g> View<'g> {
    pub fn graph(&self) -> &'g Hypergraph {
        self.graph
    }

    pub fn edge_count(&self) -> u32 {
        self.watermark
    }

    pub fn edge(&self, id: u32) -> &'g EdgeRecord {
        self.graph
            .edges
            .get(id as usize)
            .expect("edge ids come from the graph")
    }

    /// Every hyperedge of this view in sequence order (sequence = id + 1).
    pub fn edges(&self) -> impl Iterator<Item = &'g EdgeRecord> + 'g {
        self.graph.edges.iter().take(self.watermark as usize)
    }

    /// Context facet ids of a hyperedge.
    pub fn contexts(&self, edge: &EdgeRecord) -> impl Iterator<Item = u32> + 'g {
        let len = edge.contexts_len as usize;
        let inline = edge.contexts;
        let overflow = &self.graph.overflow_contexts;
        let start = edge.overflow_start as usize;
        let spilled = len.saturating_sub(INLINE_CONTEXTS);
        (0..len.min(INLINE_CONTEXTS))
            .map(move |i| inline[i])
            .chain((start..start + spilled).filter_map(move |i| overflow.get(i).copied()))
    }

    /// The customer's hyperedges, newest first.
    pub fn customer_edges(
        &self,
        customer: u32,
    ) -> impl Iterator<Item = (u32, &'g EdgeRecord)> + 'g {
        let head = self.graph.customer_incidence.get(customer as usize);
        self.walk(head)
    }

    /// The product's hyperedges, newest first.
    pub fn product_edges(&self, product: u32) -> impl Iterator<Item = (u32, &'g EdgeRecord)> + 'g {
        let head = self
            .graph
            .product_vertices
            .get(product as usize)
            .map(|p| &p.incidence);
        self.walk(head)
    }

    /// Collects the ids of the customer's newest `max` hyperedges into `out`
    /// (cleared first) and starts fetching their records.
    pub fn newest_customer_edges(&self, customer: u32, max: usize, out: &mut Vec<u32>) {
        let head = self.graph.customer_incidence.get(customer as usize);
        self.collect_ids(head, max, out);
    }

    /// As [`View::newest_customer_edges`], for a product.
    pub fn newest_product_edges(&self, product: u32, max: usize, out: &mut Vec<u32>) {
        let head = self
            .graph
            .product_vertices
            .get(product as usize)
            .map(|p| &p.incidence);
        self.collect_ids(head, max, out);
    }

    fn collect_ids(&self, head: Option<&IncidenceHead>, max: usize, out: &mut Vec<u32>) {
        out.clear();
        let Some(head) = head else { return };
        let watermark = self.watermark;
        out.extend(
            self.graph
                .incidence
                .newest_first(head)
                .filter(|&id| id < watermark)
                .take(max),
        );
        for &id in out.iter() {
            if let Some(record) = self.graph.edges.get(id as usize) {
                prefetch(record);
            }
        }
    }

    fn walk(
        &self,
        head: Option<&'g IncidenceHead>,
    ) -> impl Iterator<Item = (u32, &'g EdgeRecord)> + 'g {
        let graph = self.graph;
        let watermark = self.watermark;
        head.into_iter()
            .flat_map(move |h| graph.incidence.newest_first(h))
            // Newer than this view: applied after the request started.
            .filter(move |&id| id < watermark)
            .filter_map(move |id| graph.edges.get(id as usize).map(|e| (id, e)))
    }
}

/// Asks the CPU to start loading a value into cache. Walks learn many
/// hyperedge ids at once; fetching their records in parallel instead of one
/// miss after another is most of the speed of a recommendation.
#[inline(always)]
fn prefetch<T>(record: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, even on a bad
    // address, and this one points at a live record.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((record as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = record;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DayPart;

    fn edge(customer: &str, product: &str, contexts: &[&str], at_ms: i64) -> NewEdge {
        NewEdge {
            customer: customer.into(),
            product: product.into(),
            contexts: contexts.iter().map(|c| c.to_string()).collect(),
            intent: "buy".into(),
            bucket: TimeBucket {
                part: DayPart::Morning,
                weekend: false,
            },
            weight: 1.0,
            at_ms,
        }
    }

    #[test]
    fn walks_return_a_vertex_hyperedges_newest_first() {
        let g = Hypergraph::new(24.0);
        g.apply(&edge("c1", "p1", &["device=mobile"], 1)).unwrap();
        g.apply(&edge("c2", "p1", &[], 2)).unwrap();
        g.apply(&edge("c1", "p2", &["device=mobile", "location=gym"], 3))
            .unwrap();

        let view = g.view();
        let c1 = g.customer_id("c1").unwrap();
        let products: Vec<_> = view
            .customer_edges(c1)
            .map(|(_, e)| g.product_name(e.product))
            .collect();
        assert_eq!(products, ["p2", "p1"]);

        let p1 = g.product_id("p1").unwrap();
        let times: Vec<_> = view.product_edges(p1).map(|(_, e)| e.at_ms).collect();
        assert_eq!(times, [2, 1]);

        let (_, newest) = view.customer_edges(c1).next().unwrap();
        let names: Vec<_> = view.contexts(newest).map(|f| g.facet_name(f)).collect();
        assert_eq!(names, ["device=mobile", "location=gym"]);
    }

    #[test]
    fn a_view_ignores_hyperedges_applied_after_it() {
        let g = Hypergraph::new(24.0);
        g.apply(&edge("c1", "p1", &[], 1)).unwrap();
        let before = g.view();
        g.apply(&edge("c1", "p2", &[], 2)).unwrap();
        let c1 = g.customer_id("c1").unwrap();
        assert_eq!(before.customer_edges(c1).count(), 1);
        assert_eq!(g.view().customer_edges(c1).count(), 2);
    }

    #[test]
    fn facets_count_products_per_context_intent_and_time() {
        let g = Hypergraph::new(1e9);
        g.apply(&edge("c1", "p1", &["device=mobile"], 1)).unwrap();
        g.apply(&edge("c2", "p1", &["device=mobile"], 1)).unwrap();
        g.apply(&edge("c2", "p2", &["device=desktop"], 1)).unwrap();

        let mobile = g.facet_id("device=mobile").unwrap();
        let per_product: Vec<_> = g
            .facet_products(mobile)
            .map(|fp| (g.product_name(fp.product).to_string(), fp.weight()))
            .collect();
        assert_eq!(per_product.len(), 1);
        assert_eq!(per_product[0].0, "p1");
        assert!((per_product[0].1 / g.facet_total(mobile) - 1.0).abs() < 1e-9);

        let buy = g.facet_id(&intent_facet("buy")).unwrap();
        assert_eq!(g.facet_products(buy).count(), 2);
        assert_eq!(g.facet_kind(buy), Some(FacetKind::Intent));

        let stats = g.stats();
        assert_eq!(
            (stats.hyperedges, stats.customers, stats.products),
            (3, 2, 2)
        );
        assert_eq!(
            (stats.context_values, stats.intents, stats.time_buckets),
            (2, 1, 1)
        );
    }

    #[test]
    fn sequences_are_consecutive_across_single_and_batch_applies() {
        let g = Hypergraph::new(24.0);
        assert_eq!(g.apply(&edge("c", "p", &[], 1)).unwrap(), 1);
        let batch = vec![edge("c", "p", &[], 2), edge("d", "q", &[], 3)];
        assert_eq!(g.apply_batch(&batch).unwrap(), 3);
        assert_eq!(g.last_sequence(), 3);
    }
}
