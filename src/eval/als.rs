//! Implicit-feedback matrix factorization by alternating least squares
//! (Hu, Koren and Volinsky, 2008): the pairwise latent-factor baseline.
//!
//! Every cell of the customer x product matrix is a preference of 1 (chosen)
//! or 0 (not), trusted with confidence `1 + alpha * ln(1 + weight)`; the
//! factors minimize the confidence-weighted squared error plus an L2 penalty.
//! Each half-step solves one small dense system per customer (or product)
//! with the `Y^T Y + Y^T (C - I) Y` trick, so its cost grows with the number
//! of non-zero cells, not with customers x products.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::matrix::Interactions;

/// The knobs of the factorization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlsParams {
    pub factors: usize,
    pub regularization: f64,
    pub alpha: f64,
    pub iterations: usize,
    pub seed: u64,
}

impl Default for AlsParams {
    fn default() -> Self {
        Self {
            factors: 32,
            regularization: 0.1,
            alpha: 10.0,
            iterations: 12,
            seed: 42,
        }
    }
}

pub struct Als {
    factors: usize,
    /// Row-major, `factors` per customer.
    customers: Vec<f64>,
    /// Row-major, `factors` per product.
    products: Vec<f64>,
}

impl Als {
    pub fn fit(m: &Interactions, params: AlsParams) -> Self {
        let f = params.factors.max(1);
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let mut init =
            |n: usize| -> Vec<f64> { (0..n * f).map(|_| rng.random_range(-0.01..0.01)).collect() };
        let mut customers = init(m.customers());
        let mut products = init(m.products());
        for _ in 0..params.iterations {
            let rows: Vec<&[(u32, f32)]> = (0..m.customers() as u32)
                .map(|c| m.customer_row(c))
                .collect();
            solve_side(&mut customers, &products, &rows, f, &params);
            let columns: Vec<&[(u32, f32)]> = (0..m.products() as u32)
                .map(|p| m.product_column(p))
                .collect();
            solve_side(&mut products, &customers, &columns, f, &params);
        }
        Self {
            factors: f,
            customers,
            products,
        }
    }

    /// Predicted preference of the customer for every product; `None` for a
    /// customer the model never saw.
    pub fn scores(&self, customer: Option<u32>) -> Option<Vec<f64>> {
        let c = customer? as usize;
        let x = self
            .customers
            .get(c * self.factors..(c + 1) * self.factors)?;
        Some(
            self.products
                .chunks_exact(self.factors)
                .map(|y| dot(x, y))
                .collect(),
        )
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Recomputes every row of `solved` with `fixed` held still; `cells[i]`
/// are row i's non-zero cells as (index into fixed, weight).
fn solve_side(
    solved: &mut [f64],
    fixed: &[f64],
    cells: &[&[(u32, f32)]],
    f: usize,
    params: &AlsParams,
) {
    let gram = gram(fixed, f);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk_rows = cells.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (rows, out) in cells
            .chunks(chunk_rows)
            .zip(solved.chunks_mut(chunk_rows * f))
        {
            let gram = &gram;
            scope.spawn(move || {
                let mut a = vec![0.0; f * f];
                let mut b = vec![0.0; f];
                for (row, x) in rows.iter().zip(out.chunks_exact_mut(f)) {
                    solve_row(row, fixed, gram, f, params, &mut a, &mut b);
                    x.copy_from_slice(&b);
                }
            });
        }
    });
}

/// `Y^T Y` of a row-major factor matrix.
fn gram(y: &[f64], f: usize) -> Vec<f64> {
    let mut g = vec![0.0; f * f];
    for row in y.chunks_exact(f) {
        for i in 0..f {
            for j in 0..f {
                g[i * f + j] += row[i] * row[j];
            }
        }
    }
    g
}

/// Solves one row's system into `b`: `(YtY + Yt(C-I)Y + lambda I) x = Yt C p`.
fn solve_row(
    row: &[(u32, f32)],
    fixed: &[f64],
    gram: &[f64],
    f: usize,
    params: &AlsParams,
    a: &mut [f64],
    b: &mut [f64],
) {
    a.copy_from_slice(gram);
    b.fill(0.0);
    for i in 0..f {
        a[i * f + i] += params.regularization;
    }
    for &(j, w) in row {
        let y = &fixed[j as usize * f..(j as usize + 1) * f];
        let confidence = 1.0 + params.alpha * (w as f64).ln_1p();
        for i in 0..f {
            b[i] += confidence * y[i];
            for k in 0..f {
                a[i * f + k] += (confidence - 1.0) * y[i] * y[k];
            }
        }
    }
    cholesky_solve(a, b, f);
}

/// Solves `a x = b` in place (`b` becomes `x`) for a symmetric positive
/// definite `a`, which the regularization guarantees.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) {
    // Lower-triangular factor L, written over a's lower triangle.
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        let d = d.max(1e-12).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    // L y = b, then L^T x = y.
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypergraph::fixtures::add_buy;
    use crate::hypergraph::Hypergraph;

    #[test]
    fn cholesky_solves_a_small_spd_system() {
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0];
        cholesky_solve(&mut a, &mut b, 2);
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
    }

    /// Two tastes: customers who chose tea also chose cups. A tea drinker
    /// who never chose cups should be offered cups before drills.
    #[test]
    fn factors_recover_a_shared_taste() {
        let g = Hypergraph::new(24.0);
        let add = |c: String, p: &str| add_buy(&g, &c, p);
        for i in 0..20 {
            add(format!("t{i}"), "tea");
            add(format!("t{i}"), "cups");
            add(format!("d{i}"), "drill");
            add(format!("d{i}"), "screws");
        }
        add("new".into(), "tea");
        let m = Interactions::from_graph(&g);
        let als = Als::fit(
            &m,
            AlsParams {
                factors: 4,
                ..AlsParams::default()
            },
        );
        let scores = als.scores(g.customer_id("new")).unwrap();
        let id = |p| g.product_id(p).unwrap() as usize;
        assert!(scores[id("cups")] > scores[id("drill")], "{scores:?}");
        assert!(als.scores(Some(10_000)).is_none());
    }
}
