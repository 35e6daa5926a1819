//! Item-kNN: the pairwise neighbourhood baseline a practitioner reaches for
//! first. Two products are similar when the same customers chose them
//! (cosine over the customer x product matrix, context ignored); a customer
//! is offered the neighbours of what they chose.
//!
//! Cells are `ln(1 + weight)`, so one heavy buyer does not decide a
//! similarity alone. A product is its own nearest neighbour (similarity 1),
//! so the customer's own products come back for reorder, as they may in
//! this evaluation.

use rustc_hash::FxHashMap;

use super::matrix::Interactions;

/// Neighbours kept per product; more barely changes top-100 lists and
/// costs memory quadratic in the catalogue.
pub const NEIGHBOURS: usize = 200;

pub struct ItemKnn {
    /// Per product: (neighbour, cosine), strongest first.
    neighbours: Vec<Vec<(u32, f32)>>,
}

fn cell(weight: f32) -> f32 {
    weight.ln_1p()
}

impl ItemKnn {
    pub fn fit(m: &Interactions) -> Self {
        let norms: Vec<f32> = (0..m.products() as u32)
            .map(|p| {
                let sq: f32 = m.product_column(p).iter().map(|e| cell(e.1).powi(2)).sum();
                sq.sqrt()
            })
            .collect();
        let mut dots = vec![0.0f32; m.products()];
        let mut touched: Vec<u32> = Vec::new();
        let neighbours = (0..m.products() as u32)
            .map(|p| {
                for &(c, w) in m.product_column(p) {
                    for &(q, v) in m.customer_row(c) {
                        if dots[q as usize] == 0.0 {
                            touched.push(q);
                        }
                        dots[q as usize] += cell(w) * cell(v);
                    }
                }
                let mut row: Vec<(u32, f32)> = touched
                    .drain(..)
                    .map(|q| {
                        let dot = std::mem::take(&mut dots[q as usize]);
                        (
                            q,
                            dot / (norms[p as usize] * norms[q as usize]).max(f32::MIN_POSITIVE),
                        )
                    })
                    .collect();
                row.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                row.truncate(NEIGHBOURS);
                row
            })
            .collect();
        Self { neighbours }
    }

    /// Scores of products for a customer's row: the sum over their
    /// products of cell value x similarity.
    pub fn scores(&self, row: &[(u32, f32)]) -> FxHashMap<u32, f32> {
        let mut scores: FxHashMap<u32, f32> = FxHashMap::default();
        for &(p, w) in row {
            for &(q, sim) in &self.neighbours[p as usize] {
                *scores.entry(q).or_default() += cell(w) * sim;
            }
        }
        scores
    }

    /// Cosine similarity of two products, when one is among the other's
    /// kept neighbours; 0 otherwise.
    pub fn similarity(&self, a: u32, b: u32) -> f32 {
        self.neighbours[a as usize]
            .iter()
            .find(|n| n.0 == b)
            .map_or(0.0, |n| n.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypergraph::fixtures::add_buy as add;
    use crate::hypergraph::Hypergraph;

    #[test]
    fn products_chosen_by_the_same_customers_are_neighbours() {
        let g = Hypergraph::new(24.0);
        for c in ["a", "b", "c"] {
            add(&g, c, "tea");
            add(&g, c, "cups");
        }
        add(&g, "d", "tea");
        add(&g, "d", "drill");
        let knn = ItemKnn::fit(&Interactions::from_graph(&g));
        let id = |p| g.product_id(p).unwrap();
        assert!((knn.similarity(id("tea"), id("tea")) - 1.0).abs() < 1e-6);
        assert!(knn.similarity(id("tea"), id("cups")) > knn.similarity(id("tea"), id("drill")));

        let m = Interactions::from_graph(&g);
        let scores = knn.scores(m.customer_row(g.customer_id("d").unwrap()));
        assert!(scores[&id("cups")] > 0.0);
    }
}
