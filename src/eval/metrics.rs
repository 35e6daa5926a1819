//! Ranking metrics per query, and their 95% bootstrap confidence intervals.
//!
//! Relevance is binary: a product is relevant to a query when the customer
//! chose it in that query's rows. Products never seen in training cannot be
//! recommended by anyone, but still count as relevant (they lower recall for
//! every method alike).
//!
//! Intervals resample queries with replacement. Every method is resampled
//! with the same seed, so the i-th resample draws the same queries for all
//! methods and their intervals can be compared pairwise.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The metrics reported per method, in report order.
pub const NAMES: [&str; 8] = [
    "hr",
    "recall",
    "ndcg",
    "mrr",
    "coverage",
    "popularity_percentile",
    "diversity",
    "latency_us",
];

/// Index of a metric in [`NAMES`].
pub fn index(name: &str) -> usize {
    NAMES.iter().position(|n| *n == name).expect("known metric")
}

/// One query's relevant products: those in the training catalogue, and
/// how many there are in all.
#[derive(Debug, Clone, Default)]
pub struct Relevant {
    pub known: Vec<u32>,
    pub total: usize,
}

/// Per-query values of every metric but coverage (a whole-run figure).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryScore {
    pub hr: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub mrr: f64,
    pub popularity_percentile: f64,
    pub diversity: f64,
    pub latency_us: f64,
}

/// Scores one ranking at cut-off `k`. MRR looks at the whole ranking
/// given (the top 100 in a report). `popularity_percentile[p]` is the share
/// of the catalogue less popular than `p`, in percent; `dissimilarity`
/// says how different two products are, from 0 to 1.
pub fn score(
    ranking: &[u32],
    relevant: &Relevant,
    k: usize,
    popularity_percentile: &[f64],
    dissimilarity: impl Fn(u32, u32) -> f64,
) -> QueryScore {
    let top = &ranking[..ranking.len().min(k)];
    let is_relevant = |p: &u32| relevant.known.contains(p);
    let hits = top.iter().filter(|p| is_relevant(p)).count();
    let dcg: f64 = top
        .iter()
        .enumerate()
        .filter(|(_, p)| is_relevant(p))
        .map(|(i, _)| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    let ideal: f64 = (0..relevant.total.min(k))
        .map(|i| 1.0 / (i as f64 + 2.0).log2())
        .sum();
    let first = ranking.iter().position(is_relevant);

    let mut pairs = 0usize;
    let mut different = 0.0;
    for (i, &a) in top.iter().enumerate() {
        for &b in &top[i + 1..] {
            pairs += 1;
            different += dissimilarity(a, b);
        }
    }
    let mean_percentile = if top.is_empty() {
        0.0
    } else {
        top.iter()
            .map(|&p| popularity_percentile[p as usize])
            .sum::<f64>()
            / top.len() as f64
    };

    QueryScore {
        hr: (hits > 0) as u8 as f64,
        recall: if relevant.total == 0 {
            0.0
        } else {
            hits as f64 / relevant.total as f64
        },
        ndcg: if ideal > 0.0 { dcg / ideal } else { 0.0 },
        mrr: first.map_or(0.0, |r| 1.0 / (r + 1) as f64),
        popularity_percentile: mean_percentile,
        diversity: if pairs == 0 {
            0.0
        } else {
            different / pairs as f64
        },
        latency_us: 0.0,
    }
}

/// For each product, the percentage of the catalogue strictly less popular.
pub fn popularity_percentiles(popularity: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = popularity.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = popularity.len().max(1) as f64;
    popularity
        .iter()
        .map(|p| sorted.partition_point(|q| q < p) as f64 * 100.0 / n)
        .collect()
}

/// A mean with its 95% bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// Means of every metric in [`NAMES`] over the queries, with intervals
/// from `resamples` bootstrap draws seeded by `seed`. `tops` are the top-k
/// lists (for coverage) of a catalogue of `catalogue` products.
pub fn summarize(
    scores: &[QueryScore],
    tops: &[Vec<u32>],
    catalogue: usize,
    resamples: usize,
    seed: u64,
) -> Vec<Estimate> {
    let n = scores.len();
    let columns: Vec<Vec<f64>> = (0..NAMES.len())
        .map(|m| scores.iter().map(|s| value(s, m)).collect())
        .collect();
    let full: Vec<usize> = (0..n).collect();
    let point: Vec<f64> = (0..NAMES.len())
        .map(|m| statistic(m, &columns[m], tops, catalogue, &full))
        .collect();

    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); NAMES.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked = vec![0usize; n];
    for _ in 0..resamples {
        if n == 0 {
            break;
        }
        for slot in picked.iter_mut() {
            *slot = rng.random_range(0..n);
        }
        for (m, column) in columns.iter().enumerate() {
            draws[m].push(statistic(m, column, tops, catalogue, &picked));
        }
    }
    point
        .into_iter()
        .zip(draws)
        .enumerate()
        .map(|(m, (mean, d))| interval(mean, d, NAMES[m] == "coverage"))
        .collect()
}

/// The 2.5% and 97.5% quantiles of the resampled statistics. Coverage
/// counts distinct products, and a resample holds only about 63% distinct
/// queries, so its draws sit below the full-run figure; for it the draws
/// are shifted by that bias and the interval shows their spread around the
/// full-run figure.
fn interval(mean: f64, mut draws: Vec<f64>, debias: bool) -> Estimate {
    if draws.is_empty() {
        return Estimate {
            mean,
            low: mean,
            high: mean,
        };
    }
    draws.sort_by(f64::total_cmp);
    let shift = if debias {
        mean - draws.iter().sum::<f64>() / draws.len() as f64
    } else {
        0.0
    };
    let at = |q: f64| draws[((draws.len() - 1) as f64 * q).round() as usize] + shift;
    Estimate {
        mean,
        low: at(0.025),
        high: at(0.975),
    }
}

fn value(s: &QueryScore, metric: usize) -> f64 {
    match NAMES[metric] {
        "hr" => s.hr,
        "recall" => s.recall,
        "ndcg" => s.ndcg,
        "mrr" => s.mrr,
        "popularity_percentile" => s.popularity_percentile,
        "diversity" => s.diversity,
        "latency_us" => s.latency_us,
        _ => 0.0,
    }
}

/// A metric over the queries `picked` (indices, repeats allowed).
fn statistic(
    metric: usize,
    column: &[f64],
    tops: &[Vec<u32>],
    catalogue: usize,
    picked: &[usize],
) -> f64 {
    if picked.is_empty() {
        return 0.0;
    }
    if NAMES[metric] == "coverage" {
        let mut shown = vec![false; catalogue];
        for &q in picked {
            for &p in &tops[q] {
                shown[p as usize] = true;
            }
        }
        return shown.iter().filter(|s| **s).count() as f64 / catalogue.max(1) as f64;
    }
    picked.iter().map(|&q| column[q]).sum::<f64>() / picked.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(_: u32, _: u32) -> f64 {
        0.0
    }

    #[test]
    fn a_relevant_product_in_first_place_scores_one_everywhere() {
        let rel = Relevant {
            known: vec![7],
            total: 1,
        };
        let s = score(&[7, 1, 2], &rel, 10, &[0.0; 8], same);
        assert_eq!((s.hr, s.recall, s.ndcg, s.mrr), (1.0, 1.0, 1.0, 1.0));
    }

    #[test]
    fn ndcg_and_mrr_follow_the_textbook_definitions() {
        let rel = Relevant {
            known: vec![3, 9],
            total: 3,
        };
        // Relevant at ranks 2 and 4; a third relevant product is unknown.
        let s = score(&[1, 3, 2, 9, 5], &rel, 10, &[0.0; 10], same);
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!((s.ndcg - dcg / idcg).abs() < 1e-12);
        assert_eq!(s.mrr, 0.5);
        assert!((s.recall - 2.0 / 3.0).abs() < 1e-12);
        // Beyond the cut-off nothing counts, but MRR reads the whole list.
        let cut = score(&[1, 3, 2, 9, 5], &rel, 1, &[0.0; 10], same);
        assert_eq!((cut.hr, cut.ndcg, cut.mrr), (0.0, 0.0, 0.5));
    }

    #[test]
    fn diversity_is_the_mean_pairwise_dissimilarity_of_the_top_k() {
        let rel = Relevant::default();
        let category = |p: u32| p % 2;
        let s = score(&[0, 1, 2], &rel, 3, &[0.0; 3], |a, b| {
            (category(a) != category(b)) as u8 as f64
        });
        assert!((s.diversity - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn percentiles_count_the_strictly_less_popular() {
        assert_eq!(
            popularity_percentiles(&[5.0, 1.0, 5.0, 0.0]),
            [50.0, 25.0, 50.0, 0.0]
        );
    }

    #[test]
    fn intervals_contain_the_mean_and_shrink_with_more_queries() {
        let make = |n: usize| -> Vec<QueryScore> {
            (0..n)
                .map(|i| QueryScore {
                    ndcg: (i % 2) as f64,
                    ..QueryScore::default()
                })
                .collect()
        };
        let width = |n: usize| {
            let scores = make(n);
            let tops = vec![vec![0u32]; n];
            let e = summarize(&scores, &tops, 1, 400, 1)[index("ndcg")];
            assert!(e.low <= e.mean && e.mean <= e.high);
            assert!((e.mean - 0.5).abs() < 0.02);
            e.high - e.low
        };
        assert!(width(2000) < width(50));
    }
}
