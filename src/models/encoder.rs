//! The HGNN query encoder: from a query and the customer's newest
//! hyperedges in the live hypergraph to one query embedding.
//!
//! Inputs are built exactly as `models/CONTRACT.md` lays them out: slot 0
//! the customer, 1 the intent, 2 the time bucket, then the context values;
//! each recent hyperedge is the mean embedding of its vertices other than
//! the customer, weighted by its weight and recency. Because the recent
//! hyperedges come from the live graph, an event recorded a millisecond ago
//! already moves the embedding, and a customer the model never saw still
//! gets one from their first events.

use ort::session::Session;
use ort::value::TensorRef;

use super::manifest::{EncoderSpec, Table};
use crate::candidates::QueryVertices;
use crate::context::TimeBucket;
use crate::hypergraph::{EdgeRecord, FacetKind, Hypergraph};

/// The vertex embedding tables of one model version.
pub struct Embeddings {
    pub dim: usize,
    pub customer: Table,
    pub product: Table,
    pub context: Table,
    pub intent: Table,
    pub time: Table,
}

/// One query's encoder inputs, flattened row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderInput {
    pub vertices: Vec<f32>,
    pub mask: Vec<f32>,
    pub recent: Vec<f32>,
    pub recent_weight: Vec<f32>,
}

impl Embeddings {
    /// The embedding of a graph facet, looked up by its name. Known gap: a
    /// vertex first seen after training has none (a zero row) until the
    /// next training; its hyperedges still count through their other vertices.
    fn facet(&self, graph: &Hypergraph, facet: u32) -> Option<&[f32]> {
        let name = graph.facet_name(facet);
        match graph.facet_kind(facet)? {
            FacetKind::Context => self.context.get(name),
            FacetKind::Intent => self.intent.get(name.strip_prefix("intent:")?),
            FacetKind::Time => self.time.get(name.strip_prefix("time:")?),
        }
    }

    fn bucket(&self, code: u8) -> Option<&[f32]> {
        self.time.get(&TimeBucket::from_code(code).to_string())
    }

    /// Builds the inputs for `query` from the graph (see the module docs).
    pub fn input(
        &self,
        graph: &Hypergraph,
        query: &QueryVertices,
        spec: &EncoderSpec,
    ) -> EncoderInput {
        let d = self.dim;
        let (q, r) = (spec.query_slots, spec.recent_edges);
        let mut input = EncoderInput {
            vertices: vec![0.0; q * d],
            mask: vec![0.0; q],
            recent: vec![0.0; r * d],
            recent_weight: vec![0.0; r],
        };
        let mut put = |slot: usize, row: Option<&[f32]>| {
            if let (true, Some(row)) = (slot < q, row) {
                input.vertices[slot * d..(slot + 1) * d].copy_from_slice(row);
                input.mask[slot] = 1.0;
            }
        };
        let customer = query.customer;
        put(
            0,
            customer.and_then(|c| self.customer.get(graph.customer_name(c))),
        );
        put(1, query.intent.and_then(|i| self.facet(graph, i)));
        put(2, self.bucket(query.bucket));
        let mut slot = 3;
        for &c in &query.contexts {
            if let Some(row) = self.facet(graph, c) {
                put(slot, Some(row));
                slot += 1;
            }
        }

        let Some(customer) = customer else {
            return input;
        };
        let view = graph.view();
        let decay = std::f64::consts::LN_2 / (spec.recent_half_life_hours * 3_600_000.0).max(1.0);
        for (i, (_, edge)) in view.customer_edges(customer).take(r).enumerate() {
            let row = &mut input.recent[i * d..(i + 1) * d];
            if self.mean_of_edge(graph, edge, row) {
                let age_ms = (query.at_ms - edge.at_ms).max(0) as f64;
                input.recent_weight[i] = edge.weight * (-age_ms * decay).exp() as f32;
            }
        }
        input
    }

    /// Writes the mean embedding of the edge's known non-customer vertices
    /// into `out`; false when none is known.
    fn mean_of_edge(&self, graph: &Hypergraph, edge: &EdgeRecord, out: &mut [f32]) -> bool {
        let view = graph.view();
        let mut known = 0usize;
        let mut add = |row: Option<&[f32]>| {
            if let Some(row) = row {
                out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
                known += 1;
            }
        };
        add(self.product.get(graph.product_name(edge.product)));
        add(self.facet(graph, edge.intent));
        add(self.bucket(edge.bucket));
        for c in view.contexts(edge) {
            add(self.facet(graph, c));
        }
        if known > 0 {
            out.iter_mut().for_each(|o| *o /= known as f32);
        }
        known > 0
    }
}

/// A borrowed f32 tensor of `shape` over `data`.
fn tensor(shape: Vec<usize>, data: &[f32]) -> Result<TensorRef<'_, f32>, String> {
    TensorRef::from_array_view((shape, data)).map_err(|e| e.to_string())
}

/// Runs the encoder on a batch of inputs; returns `B x dim` embeddings.
pub fn encode(
    session: &mut Session,
    spec: &EncoderSpec,
    dim: usize,
    batch: &[EncoderInput],
) -> Result<Vec<f32>, String> {
    let b = batch.len();
    let (q, r) = (spec.query_slots, spec.recent_edges);
    let flat = |pick: fn(&EncoderInput) -> &Vec<f32>| -> Vec<f32> {
        batch.iter().flat_map(|i| pick(i).iter().copied()).collect()
    };
    let (vertices, mask) = (flat(|i| &i.vertices), flat(|i| &i.mask));
    let (recent, weight) = (flat(|i| &i.recent), flat(|i| &i.recent_weight));
    let text = |e: ort::Error| e.to_string();
    let outputs = session
        .run(ort::inputs! {
            "query_vertices" => tensor(vec![b, q, dim], &vertices)?,
            "query_mask" => tensor(vec![b, q], &mask)?,
            "recent_edges" => tensor(vec![b, r, dim], &recent)?,
            "recent_weight" => tensor(vec![b, r], &weight)?,
        })
        .map_err(text)?;
    let (shape, values) = outputs["query_embedding"]
        .try_extract_tensor::<f32>()
        .map_err(text)?;
    if shape.len() != 2 || shape[0] as usize != b || shape[1] as usize != dim {
        return Err(format!(
            "query_embedding has shape {shape:?}, expected [{b}, {dim}]"
        ));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err("query_embedding holds a value that is not finite".into());
    }
    Ok(values.to_vec())
}
