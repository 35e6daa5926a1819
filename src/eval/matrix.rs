//! The customer x product matrix of a training log: what the context-blind
//! baselines see. Each cell sums the weights of every hyperedge joining
//! that customer and product, whatever its context, intent or time; that
//! loss of context is exactly what the baselines stand for.

use crate::hypergraph::Hypergraph;

/// A sparse matrix in both orientations, ids as the hypergraph numbers
/// customers and products.
#[derive(Debug, Clone, Default)]
pub struct Interactions {
    /// Row `c`: (product, summed weight), sorted by product.
    by_customer: Vec<Vec<(u32, f32)>>,
    /// Row `p`: (customer, summed weight), sorted by customer.
    by_product: Vec<Vec<(u32, f32)>>,
    /// Summed weight per product, undecayed.
    popularity: Vec<f64>,
}

impl Interactions {
    /// Every hyperedge the graph holds, context dropped.
    pub fn from_graph(graph: &Hypergraph) -> Self {
        let view = graph.view();
        let mut by_customer: Vec<Vec<(u32, f32)>> = vec![Vec::new(); graph.customer_count()];
        for edge in view.edges() {
            by_customer[edge.customer as usize].push((edge.product, edge.weight));
        }
        let mut by_product: Vec<Vec<(u32, f32)>> = vec![Vec::new(); graph.product_count()];
        let mut popularity = vec![0.0; graph.product_count()];
        for (c, row) in by_customer.iter_mut().enumerate() {
            merge_duplicates(row);
            for &(p, w) in row.iter() {
                by_product[p as usize].push((c as u32, w));
                popularity[p as usize] += w as f64;
            }
        }
        Self {
            by_customer,
            by_product,
            popularity,
        }
    }

    pub fn customers(&self) -> usize {
        self.by_customer.len()
    }

    pub fn products(&self) -> usize {
        self.by_product.len()
    }

    /// The customer's products with summed weights, sorted by product.
    pub fn customer_row(&self, customer: u32) -> &[(u32, f32)] {
        self.by_customer
            .get(customer as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The product's customers with summed weights, sorted by customer.
    pub fn product_column(&self, product: u32) -> &[(u32, f32)] {
        &self.by_product[product as usize]
    }

    /// Summed weight of each product.
    pub fn popularity(&self) -> &[f64] {
        &self.popularity
    }

    /// Products by summed weight, most popular first (ties: lower id).
    pub fn popular_order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.products() as u32).collect();
        order.sort_by(|&a, &b| {
            self.popularity[b as usize]
                .total_cmp(&self.popularity[a as usize])
                .then(a.cmp(&b))
        });
        order
    }
}

/// Sorts a row by product and adds up the weights of repeated products.
fn merge_duplicates(row: &mut Vec<(u32, f32)>) {
    row.sort_unstable_by_key(|e| e.0);
    let mut merged: Vec<(u32, f32)> = Vec::with_capacity(row.len());
    for &(p, w) in row.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == p => last.1 += w,
            _ => merged.push((p, w)),
        }
    }
    *row = merged;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypergraph::fixtures::add_at_location;

    #[test]
    fn repeated_pairs_add_up_and_both_orientations_agree() {
        let g = Hypergraph::new(24.0);
        add_at_location(&g, "sofa", "home", 3);
        add_at_location(&g, "mat", "gym", 1);
        let m = Interactions::from_graph(&g);
        let sofa = g.product_id("sofa").unwrap();
        let total: f32 = m.product_column(sofa).iter().map(|e| e.1).sum();
        assert_eq!(total as f64, m.popularity()[sofa as usize]);
        assert_eq!(m.popular_order()[0], sofa);
        for c in 0..m.customers() as u32 {
            for &(p, w) in m.customer_row(c) {
                assert!(m.product_column(p).contains(&(c, w)));
            }
        }
    }
}
