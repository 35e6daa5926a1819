//! The model stage of Recommend: HGNN query embedding, HNSW retrieval,
//! candidates merged from every source, features, learned ranker.
//!
//! Candidates come from four places, because each catches what the others
//! miss: the HNSW neighbours of the query embedding (what the model
//! believes fits), the collaborative filter (what similar customers chose
//! here, and the customer's own items for reorder), and popular in this
//! context (a safety net for thin histories). At most `max_candidates` are
//! scored.

use rustc_hash::FxHashMap;

use super::features::{self, FeatureParams, Proposal};
use crate::candidates::{sort_best_first, Candidate, Evidence, PopularInContext, QueryVertices};
use crate::hypergraph::Hypergraph;
use crate::models::encoder;
use crate::models::{LoadedModel, ModelsConfig};

/// Popular-in-context products added to every candidate set.
const POPULAR_CANDIDATES: usize = 50;

/// The query embedding of `query` under `model`.
pub fn embed(
    graph: &Hypergraph,
    model: &LoadedModel,
    query: &QueryVertices,
) -> Result<Vec<f32>, String> {
    let spec = &model.manifest.encoder;
    let input = model.embeddings.input(graph, query, spec);
    model.encoder.with_session(|s| {
        encoder::encode(s, spec, model.embeddings.dim, std::slice::from_ref(&input))
    })
}

/// The `k` products nearest to the query embedding, as graph product ids
/// with their similarity, best first.
pub fn retrieve(
    graph: &Hypergraph,
    model: &LoadedModel,
    embedding: &[f32],
    k: usize,
    ef: usize,
) -> Vec<(u32, f32)> {
    model
        .index
        .search(embedding, k, ef)
        .into_iter()
        .filter_map(|hit| {
            let name = &model.embeddings.product.names[hit.row as usize];
            Some((graph.product_id(name)?, hit.similarity))
        })
        .collect()
}

/// Ranks the merged candidates with the model's ranker; best first,
/// scores in (0, 1] (`exp` of the ranker score minus the best one, so the
/// order is the ranker's and every score is positive).
pub fn rank(
    graph: &Hypergraph,
    model: &LoadedModel,
    query: &QueryVertices,
    cf_picks: &[Candidate],
    config: &ModelsConfig,
    params: FeatureParams,
) -> Result<Vec<Candidate>, String> {
    let ranker = model
        .ranker
        .as_ref()
        .ok_or("the model version has no ranker")?;
    let embedding = embed(graph, model, query)?;
    let proposals = propose(graph, model, query, &embedding, cf_picks, config);
    let rows = features::compute(graph, query, &proposals, params);
    let scores = ranker.score(&rows)?;

    let evidence: FxHashMap<u32, Evidence> =
        cf_picks.iter().map(|c| (c.product, c.evidence)).collect();
    let best = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut ranked: Vec<Candidate> = proposals
        .iter()
        .zip(&scores)
        .map(|(p, &s)| Candidate {
            product: p.product,
            score: ((s - best) as f64).exp(),
            evidence: Evidence {
                model_similarity: p.similarity,
                ..evidence.get(&p.product).copied().unwrap_or_default()
            },
        })
        .collect();
    sort_best_first(&mut ranked);
    Ok(ranked)
}

/// Every source's candidates, deduplicated, at most `max_candidates`:
/// the collaborative filter's best first, then HNSW, then popular.
pub fn propose(
    graph: &Hypergraph,
    model: &LoadedModel,
    query: &QueryVertices,
    embedding: &[f32],
    cf_picks: &[Candidate],
    config: &ModelsConfig,
) -> Vec<Proposal> {
    let max = config.max_candidates.max(1);
    let similarity = |product: u32| {
        model
            .embeddings
            .product
            .get(graph.product_name(product))
            .map_or(0.0, |row| {
                row.iter().zip(embedding).map(|(a, b)| a * b).sum()
            })
    };
    let mut seen: FxHashMap<u32, usize> = FxHashMap::default();
    let mut out: Vec<Proposal> = Vec::with_capacity(max);
    let mut add = |product: u32, cf_score: f64, sim: Option<f32>| {
        if out.len() >= max || seen.contains_key(&product) {
            return;
        }
        seen.insert(product, out.len());
        out.push(Proposal {
            product,
            cf_score,
            similarity: sim.unwrap_or_else(|| similarity(product)),
        });
    };
    // The filter gets at most half the places, so retrieval always counts.
    for c in cf_picks.iter().take(max / 2) {
        add(c.product, c.score, None);
    }
    for (product, sim) in retrieve(
        graph,
        model,
        embedding,
        config.hnsw_candidates,
        config.hnsw_ef,
    ) {
        add(product, 0.0, Some(sim));
    }
    let (popular, _) = PopularInContext.recommend(graph, query, POPULAR_CANDIDATES, &[]);
    for c in popular {
        add(c.product, 0.0, None);
    }
    out
}
