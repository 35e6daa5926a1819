//! Choosing the collaborative filter's knobs on validation queries.
//!
//! Coordinate ascent over a small grid per knob: each knob in turn takes
//! the value that gives the best mean NDCG@k with the others held, and two
//! rounds let knobs that interact (context weight and lift, say) settle.
//! The grids span the regimes that matter (a signal off, weak, equal,
//! dominant) rather than fine steps, since validation noise is larger than
//! the gain of a fine step.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::dataset::EvalQuery;
use super::methods::{CfMethod, Training};
use super::metrics::{self, QueryScore};
use super::run::{rank_all, Resolved};
use crate::candidates::CfParams;

/// Rounds of coordinate ascent.
const ROUNDS: usize = 2;

/// One knob: its name, the values tried, and how to set it.
struct Knob {
    name: &'static str,
    values: &'static [f64],
    set: fn(&mut CfParams, f64),
    get: fn(&CfParams) -> f64,
    /// Only meaningful when rows carry real timestamps.
    needs_time: bool,
}

const KNOBS: [Knob; 8] = [
    Knob {
        name: "context_weight",
        values: &[0.0, 1.0, 3.0, 10.0, 30.0, 100.0],
        set: |p, v| p.context_weight = v as f32,
        get: |p| p.context_weight as f64,
        needs_time: false,
    },
    Knob {
        name: "reorder_weight",
        values: &[0.0, 0.1, 0.3, 1.0, 3.0, 10.0],
        set: |p, v| p.reorder_weight = v as f32,
        get: |p| p.reorder_weight as f64,
        needs_time: false,
    },
    Knob {
        name: "context_lift",
        values: &[0.0, 0.5, 1.0, 2.0],
        set: |p, v| p.context_lift = v as f32,
        get: |p| p.context_lift as f64,
        needs_time: false,
    },
    Knob {
        name: "intent_weight",
        values: &[0.0, 1.0, 3.0],
        set: |p, v| p.intent_weight = v as f32,
        get: |p| p.intent_weight as f64,
        needs_time: false,
    },
    Knob {
        name: "time_weight",
        values: &[0.0, 1.0, 3.0],
        set: |p, v| p.time_weight = v as f32,
        get: |p| p.time_weight as f64,
        needs_time: true,
    },
    Knob {
        name: "half_life_hours",
        values: &[24.0, 168.0, 720.0, 4320.0, 87600.0],
        set: |p, v| p.half_life_hours = v,
        get: |p| p.half_life_hours,
        needs_time: true,
    },
    Knob {
        name: "max_neighbors",
        values: &[20.0, 50.0, 100.0, 200.0],
        set: |p, v| p.max_neighbors = v as usize,
        get: |p| p.max_neighbors as f64,
        needs_time: false,
    },
    Knob {
        name: "lift_prior",
        values: &[1.0, 5.0, 20.0],
        set: |p, v| p.lift_prior = v as f32,
        get: |p| p.lift_prior as f64,
        needs_time: false,
    },
];

/// What tuning chose, and how well the start and the choice did.
#[derive(Debug, Clone, Serialize)]
pub struct Tuning {
    pub params: CfParams,
    pub validation_queries: usize,
    pub start_ndcg: f64,
    pub best_ndcg: f64,
    /// Every setting tried: (knob, value, validation NDCG@k).
    pub tried: Vec<(String, f64, f64)>,
}

impl Tuning {
    /// `name=value` for each knob, in search order.
    pub fn chosen(&self) -> Vec<(&'static str, f64)> {
        KNOBS
            .iter()
            .map(|k| (k.name, (k.get)(&self.params)))
            .collect()
    }
}

/// Keeps at most `max` queries, a seeded random choice.
pub fn sample(queries: &mut Vec<EvalQuery>, max: usize, seed: u64) {
    if queries.len() > max {
        queries.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        queries.truncate(max);
    }
}

/// Mean NDCG@k of the filter with `params` on the validation queries.
fn objective(training: &Training, queries: &[Resolved<'_>], k: usize, params: &CfParams) -> f64 {
    if queries.is_empty() {
        return 0.0;
    }
    let method = CfMethod::new("hypergraph_cf", training, params.clone());
    let no_popularity = vec![0.0; training.graph.product_count()];
    let ranked = rank_all(&method, queries, k);
    let total: f64 = ranked
        .iter()
        .zip(queries)
        .map(|((ranking, _), r)| {
            let s: QueryScore = metrics::score(ranking, &r.relevant, k, &no_popularity, |_, _| 0.0);
            s.ndcg
        })
        .sum();
    total / queries.len() as f64
}

/// Coordinate ascent from `start`; see the module docs.
pub fn search(
    training: &Training,
    queries: &[Resolved<'_>],
    k: usize,
    start: &CfParams,
    timed: bool,
) -> Tuning {
    let mut best = start.clone();
    let start_ndcg = objective(training, queries, k, &best);
    let mut best_ndcg = start_ndcg;
    let mut tried = Vec::new();
    for _ in 0..ROUNDS {
        for knob in KNOBS.iter().filter(|k| timed || !k.needs_time) {
            let current = (knob.get)(&best);
            for &value in knob.values {
                if value == current {
                    continue;
                }
                let mut candidate = best.clone();
                (knob.set)(&mut candidate, value);
                let ndcg = objective(training, queries, k, &candidate);
                tried.push((knob.name.to_string(), value, ndcg));
                if ndcg > best_ndcg {
                    best_ndcg = ndcg;
                    best = candidate;
                }
            }
        }
    }
    Tuning {
        params: best,
        validation_queries: queries.len(),
        start_ndcg,
        best_ndcg,
        tried,
    }
}
