//! The ideal recommender for the synthetic log: it knows the generator's
//! recipe and every customer's hidden taste and cluster, and ranks products
//! by the exact probability that the generator picks them for the query.
//!
//! No method learned from data can beat it in expectation, so its scores on
//! a synthetic log say how much of the gap between `popular` and perfect is
//! reachable at all: the draws are random, and even the true distribution
//! puts the product really chosen at rank 1 only sometimes.
//!
//! The one thing it does not know is the order in which the generator drew
//! events (that is not their time order), so it takes the customer's whole
//! training history as the reorder history.

use rustc_hash::FxHashMap;

use super::synthetic::{
    context_boosts, SyntheticSpec, World, CATEGORIES, FAVOURITE_CHANCE, FAVOURITE_TASTE,
    REORDER_CHANCE,
};
use crate::context::TimeBucket;

pub struct Oracle {
    world: World,
    index: FxHashMap<String, usize>,
    /// Product index -> category index.
    category: Vec<usize>,
}

/// One query, as the generator's inputs.
pub struct Situation<'a> {
    pub customer: &'a str,
    pub device: &'a str,
    pub location: &'a str,
    pub weather: &'a str,
    pub bucket: TimeBucket,
    pub intent: &'a str,
    /// Product indexes the customer used before, repeats included.
    pub history: &'a [usize],
}

impl Oracle {
    /// The oracle of the log `hyperrec generate` writes with this spec's
    /// customers, products and seed (the interaction count does not
    /// matter).
    pub fn new(spec: &SyntheticSpec) -> Self {
        let world = World::of(spec);
        let index = world
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let category = world
            .products
            .iter()
            .map(|p| {
                CATEGORIES
                    .iter()
                    .position(|c| *c == p.category)
                    .expect("generated categories are known")
            })
            .collect();
        Self {
            world,
            index,
            category,
        }
    }

    pub fn product_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn product_name(&self, index: usize) -> &str {
        &self.world.products[index].id
    }

    /// The probability of every product (by index) for the situation;
    /// `None` for a customer the generator did not make.
    pub fn probabilities(&self, s: &Situation<'_>) -> Option<Vec<f64>> {
        let who: usize = s.customer.strip_prefix('c')?.parse().ok()?;
        let customer = self.world.customers.get(who)?;
        let boosts = context_boosts(s.device, s.location, s.weather, s.bucket);
        let tastes: Vec<f64> = (0..CATEGORIES.len())
            .map(|c| {
                let taste = if customer.favourite_categories.contains(&c) {
                    FAVOURITE_TASTE
                } else {
                    1.0
                };
                taste * boosts[c]
            })
            .collect();
        let total: f64 = tastes.iter().sum();

        let mut out = vec![0.0; self.world.products.len()];
        let favourites = &self.world.clusters[customer.cluster];
        for (c, taste) in tastes.iter().enumerate() {
            let p_category = taste / total;
            let in_category = |items: &[usize]| -> Vec<usize> {
                items
                    .iter()
                    .copied()
                    .filter(|&p| self.category[p] == c)
                    .collect()
            };
            let used = in_category(s.history);
            let favs = in_category(favourites);
            let reorder = if s.intent == "buy" && !used.is_empty() {
                REORDER_CHANCE
            } else {
                0.0
            };
            let favourite = if favs.is_empty() {
                0.0
            } else {
                FAVOURITE_CHANCE
            };
            for &p in &used {
                out[p] += p_category * reorder / used.len() as f64;
            }
            let rest = p_category * (1.0 - reorder);
            for &p in &favs {
                out[p] += rest * favourite / favs.len() as f64;
            }
            // The Zipf draw within the category, rank by id order.
            let ranked = &self.world.by_category[c];
            let norm: f64 = (0..ranked.len()).map(|r| 1.0 / (r + 1) as f64).sum();
            for (r, &p) in ranked.iter().enumerate() {
                out[p] += rest * (1.0 - favourite) / ((r + 1) as f64 * norm);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::DayPart;
    use crate::eval::synthetic::generate;

    fn spec() -> SyntheticSpec {
        SyntheticSpec {
            customers: 200,
            products: 150,
            interactions: 30_000,
            ..SyntheticSpec::demo()
        }
    }

    #[test]
    fn probabilities_sum_to_one_and_follow_the_gym_boost() {
        let oracle = Oracle::new(&spec());
        let at = |location| Situation {
            customer: "c00003",
            device: "mobile",
            location,
            weather: "sun",
            bucket: TimeBucket {
                part: DayPart::Afternoon,
                weekend: false,
            },
            intent: "browse",
            history: &[],
        };
        let sports = |probs: &[f64]| -> f64 {
            (0..probs.len())
                .filter(|&p| oracle.world.products[p].category == "sports")
                .map(|p| probs[p])
                .sum()
        };
        let gym = oracle.probabilities(&at("gym")).unwrap();
        let work = oracle.probabilities(&at("work")).unwrap();
        assert!((gym.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(sports(&gym) > 2.0 * sports(&work));
        assert!(oracle
            .probabilities(&Situation {
                customer: "stranger",
                ..at("gym")
            })
            .is_none());
    }

    /// The oracle's world is the generator's: the products the log's
    /// events name are products the oracle knows, in their categories.
    #[test]
    fn the_oracle_knows_the_generated_catalogue() {
        let data = generate(&spec());
        let oracle = Oracle::new(&spec());
        for p in &data.products {
            let i = oracle.product_index(&p.id).unwrap();
            assert_eq!(oracle.world.products[i].category, p.category);
            assert_eq!(oracle.product_name(i), p.id);
        }
    }
}
