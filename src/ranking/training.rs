//! Training rows for the learned ranker (`hyperrec features`).
//!
//! The rows come from the code that serves: the same candidate merge
//! (`stage::propose`) and the same features (`features::compute`), over a
//! hypergraph of the log's earlier part, for queries made of its latest
//! part. The held-out part is the one the HGNN training also holds out (the
//! newest share of hyperedges by time), so the embeddings the features read
//! never saw the choices they are asked to predict.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::features::{self, FeatureParams};
use super::stage;
use crate::candidates::{CfParams, HypergraphCf, QueryVertices};
use crate::eval::dataset::{self, LogRow};
use crate::eval::run::build_graph;
use crate::models::{LoadedModel, ModelsConfig};

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub queries: usize,
    pub rows: usize,
    pub positives: usize,
}

/// Writes `query_id, customer, product, label, <features>` rows, one per
/// (query, candidate), for at most `max_queries` seeded-random queries;
/// label 1 when the customer chose the candidate in that query.
#[allow(clippy::too_many_arguments)]
pub fn write_rows(
    train: &[LogRow],
    test: &[LogRow],
    model: &LoadedModel,
    models: &ModelsConfig,
    cf: &CfParams,
    popularity_half_life_hours: f64,
    max_queries: usize,
    seed: u64,
    out: &Path,
) -> std::io::Result<Written> {
    let graph = build_graph(train, popularity_half_life_hours);
    let filter = HypergraphCf::new(cf.clone());
    let params = FeatureParams::from(cf);
    let mut queries = dataset::queries(test);
    queries.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    queries.truncate(max_queries);

    // A csv writer, because ids may hold commas or quotes.
    let mut file = csv::Writer::from_path(out).map_err(std::io::Error::other)?;
    let mut header = vec!["query_id", "customer", "product", "label"];
    header.extend(features::NAMES);
    file.write_record(&header).map_err(std::io::Error::other)?;

    let mut written = Written {
        queries: 0,
        rows: 0,
        positives: 0,
    };
    for q in &queries {
        let vertices = QueryVertices::resolve(&graph, &q.to_query(100, Vec::new()));
        let picks = filter.recommend(&graph.view(), &vertices);
        let embedding = stage::embed(&graph, model, &vertices).map_err(std::io::Error::other)?;
        let proposals = stage::propose(&graph, model, &vertices, &embedding, &picks, models);
        let rows = features::compute(&graph, &vertices, &proposals, params);
        let id = written.queries;
        for (p, row) in proposals
            .iter()
            .zip(rows.chunks_exact(features::NAMES.len()))
        {
            let name = graph.product_name(p.product);
            let label = q.relevant.iter().any(|r| r == name) as u8;
            let mut record = vec![id.to_string(), q.customer.clone(), name.to_string()];
            record.push(label.to_string());
            record.extend(row.iter().map(|v| v.to_string()));
            file.write_record(&record).map_err(std::io::Error::other)?;
            written.rows += 1;
            written.positives += label as usize;
        }
        written.queries += 1;
    }
    file.flush()?;
    Ok(written)
}
