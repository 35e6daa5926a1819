//! Nearest products to a query embedding: an HNSW graph (hnsw_rs) over the
//! L2-normalized product embeddings of one model version, searched by dot
//! product.
//!
//! The index is built once per model version, off the request path, and
//! swapped in with the version; it never changes after that, so searches
//! need no lock. It knows nothing of gRPC or of the hypergraph: ids are
//! rows of the product embedding table.

use hnsw_rs::prelude::{Distance, Hnsw};

/// Links per node; 16 keeps recall above 0.95 at catalogue sizes in the
/// hundreds of thousands while the graph stays small.
const MAX_CONNECTIONS: usize = 16;
/// Candidates examined while building; higher builds slower, searches
/// better.
const EF_CONSTRUCTION: usize = 200;
const MAX_LAYERS: usize = 16;

/// `1 - dot`, floored at 0. Unit vectors in f32 can have a dot product a
/// hair above 1 with themselves; hnsw_rs's own dot distance asserts
/// against that and would take the server down on a valid model.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClampedDot;

impl Distance<f32> for ClampedDot {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        (1.0 - dot).max(0.0)
    }
}

pub struct ProductIndex {
    hnsw: Hnsw<'static, f32, ClampedDot>,
    vectors: Vec<f32>,
    dim: usize,
}

/// One search hit: the product row and its dot product with the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub row: u32,
    pub similarity: f32,
}

impl ProductIndex {
    /// Builds the index over `vectors` (`count x dim`, rows L2-normalized).
    pub fn build(vectors: &[f32], dim: usize) -> Self {
        let count = vectors.len() / dim.max(1);
        let hnsw = Hnsw::new(
            MAX_CONNECTIONS,
            count.max(1),
            MAX_LAYERS,
            EF_CONSTRUCTION,
            ClampedDot,
        );
        let rows: Vec<(&[f32], usize)> = vectors.chunks_exact(dim).zip(0..count).collect();
        hnsw.parallel_insert_slice(&rows);
        let mut index = Self {
            hnsw,
            vectors: vectors.to_vec(),
            dim,
        };
        index.hnsw.set_searching_mode(true);
        index
    }

    pub fn len(&self) -> usize {
        self.vectors.len() / self.dim.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k` most similar products, best first. `ef` trades time for
    /// recall; it is raised to `k` at least.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<Hit> {
        if self.is_empty() || k == 0 {
            return Vec::new();
        }
        let mut hits: Vec<Hit> = self
            .hnsw
            .search(query, k, ef.max(k))
            .into_iter()
            .map(|n| Hit {
                row: n.d_id as u32,
                similarity: self.similarity(query, n.d_id as u32),
            })
            .collect();
        hits.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then(a.row.cmp(&b.row))
        });
        hits
    }

    /// Exact top `k` by scanning every product: the reference recall is
    /// measured against.
    pub fn exact(&self, query: &[f32], k: usize) -> Vec<Hit> {
        let mut all: Vec<Hit> = (0..self.len() as u32)
            .map(|row| Hit {
                row,
                similarity: self.similarity(query, row),
            })
            .collect();
        all.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then(a.row.cmp(&b.row))
        });
        all.truncate(k);
        all
    }

    /// Dot product of the query with one product's embedding.
    pub fn similarity(&self, query: &[f32], row: u32) -> f32 {
        let start = row as usize * self.dim;
        self.vectors[start..start + self.dim]
            .iter()
            .zip(query)
            .map(|(a, b)| a * b)
            .sum()
    }

    /// Mean recall@k of the index against exact search, over `queries`
    /// (each `dim` floats).
    pub fn recall_at(&self, queries: &[f32], k: usize, ef: usize) -> f64 {
        let mut total = 0.0;
        let mut n = 0usize;
        for q in queries.chunks_exact(self.dim) {
            let exact: Vec<u32> = self.exact(q, k).iter().map(|h| h.row).collect();
            if exact.is_empty() {
                continue;
            }
            let found = self
                .search(q, k, ef)
                .iter()
                .filter(|h| exact.contains(&h.row))
                .count();
            total += found as f64 / exact.len() as f64;
            n += 1;
        }
        if n == 0 {
            1.0
        } else {
            total / n as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn unit_vectors(count: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(count * dim);
        for _ in 0..count {
            let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            out.extend(v.iter().map(|x| x / norm));
        }
        out
    }

    #[test]
    fn search_finds_what_exact_search_finds() {
        let dim = 16;
        let index = ProductIndex::build(&unit_vectors(2_000, dim, 1), dim);
        let queries = unit_vectors(50, dim, 2);
        let recall = index.recall_at(&queries, 10, 64);
        assert!(recall > 0.9, "recall@10 {recall}");
    }

    /// Rows a hair longer than 1 (as f32 rounding leaves them) must not
    /// bring the index down.
    #[test]
    fn rows_slightly_longer_than_one_are_indexed() {
        let dim = 8;
        let vectors: Vec<f32> = unit_vectors(500, dim, 4)
            .iter()
            .map(|v| v * 1.000_001)
            .collect();
        let index = ProductIndex::build(&vectors, dim);
        assert_eq!(index.search(&vectors[..dim], 3, 32)[0].row, 0);
    }

    #[test]
    fn a_product_is_its_own_nearest_neighbour() {
        let dim = 8;
        let vectors = unit_vectors(300, dim, 3);
        let index = ProductIndex::build(&vectors, dim);
        let hits = index.search(&vectors[42 * dim..43 * dim], 5, 32);
        assert_eq!(hits[0].row, 42);
        assert!((hits[0].similarity - 1.0).abs() < 1e-5);
        assert!(hits.windows(2).all(|w| w[0].similarity >= w[1].similarity));
    }
}
