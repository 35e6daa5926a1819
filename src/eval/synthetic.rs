//! A synthetic interaction log with planted context effects and a fixed seed.
//!
//! The same parameters and seed always give the same log, so tests and
//! benchmarks can rely on its effects. How one interaction is drawn:
//!
//! 1. A customer, with activity skewed so some customers are far more active
//!    (weight `1 / (1 + rank)^0.5`).
//! 2. A time in the 60 days before `end_ms`, with the hour drawn from a daily
//!    curve (busy mornings and evenings, quiet nights), in UTC.
//! 3. Context: `device` (each customer has a favourite device, used 70% of
//!    the time), `location` (home, work, gym, commute, store; which ones
//!    depends on day part and weekday, e.g. commute and work on weekday
//!    mornings, home in the evening), `weather` (sun 60%, rain 30%, snow
//!    10%), and an intent (browse 55%, compare 20%, cart 15%, buy 10%).
//! 4. A category, with probability proportional to the customer's taste
//!    (5 for each of their 3 favourite categories, 1 otherwise) times the
//!    planted context boosts:
//!    - `location=gym`: sports x8, drinks x6
//!    - `device=mobile` in the morning: coffee x6
//!    - `weather=rain`: umbrellas x8, books x2
//!    - `location=home` in the evening on desktop or tablet: electronics x4,
//!      books x4, home x3
//!    - `location=commute`: snacks x4, coffee x3
//!    - weekend afternoon: outdoor x4, toys x3
//! 5. A product in that category: with probability 0.4 one of the favourites
//!    of the customer's taste cluster (customers in one cluster share
//!    favourites: the collaborative signal); with `intent=buy`, first with
//!    probability 0.4 a product the customer already used in that category
//!    (reorder); otherwise by popularity within the category (Zipf, s = 1).
//!
//! So an ideal recommender ranks, for a customer at the gym, sports and
//! drinks first, and within them the customer's cluster favourites.

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::context::{self, TimeBucket};
use crate::hypergraph::NewEdge;
use crate::validate;

pub const CATEGORIES: [&str; 12] = [
    "coffee",
    "snacks",
    "sports",
    "drinks",
    "electronics",
    "books",
    "umbrellas",
    "outdoor",
    "home",
    "beauty",
    "toys",
    "fashion",
];
const DEVICES: [&str; 3] = ["mobile", "desktop", "tablet"];
const INTENTS: [(&str, f64); 4] = [
    ("browse", 0.55),
    ("compare", 0.20),
    ("cart", 0.15),
    ("buy", 0.10),
];
const CLUSTERS: usize = 24;
const CLUSTER_FAVOURITES: usize = 30;
const DAY_MS: i64 = 86_400_000;

/// Size and seed of a synthetic log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    pub customers: usize,
    pub products: usize,
    pub interactions: usize,
    pub seed: u64,
    /// Interactions fall in the 60 days before this time.
    pub end_ms: i64,
}

impl SyntheticSpec {
    /// The demo data: 10k customers, 2k products, 500k interactions.
    pub fn demo() -> Self {
        Self {
            customers: 10_000,
            products: 2_000,
            interactions: 500_000,
            seed: 42,
            end_ms: 1_796_083_200_000, // 2026-12-01T00:00:00Z
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: String,
    pub category: &'static str,
    pub price: f64,
}

/// One generated interaction, with its context as separate columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub customer: String,
    pub product: String,
    pub at_ms: i64,
    pub intent: &'static str,
    pub device: &'static str,
    pub location: &'static str,
    pub weather: &'static str,
}

impl Event {
    /// The hyperedge this event becomes, through the same normalization as
    /// the server's ingest path.
    pub fn to_edge(&self) -> NewEdge {
        let context = context::normalize([
            ("device", self.device),
            ("location", self.location),
            ("weather", self.weather),
        ])
        .expect("generated context is valid");
        NewEdge {
            customer: self.customer.clone(),
            product: self.product.clone(),
            contexts: context.values,
            intent: self.intent.to_string(),
            bucket: TimeBucket::at(self.at_ms, chrono_tz::Tz::UTC),
            weight: validate::default_weight(self.intent),
            at_ms: self.at_ms,
        }
    }
}

pub struct Synthetic {
    pub products: Vec<Product>,
    pub events: Vec<Event>,
}

pub(crate) struct Customer {
    pub(crate) favourite_categories: [usize; 3],
    device: usize,
    pub(crate) cluster: usize,
    activity: f64,
}

/// What the generator draws before any interaction: the catalogue, the
/// taste clusters and the customers with their hidden tastes. The same
/// spec always gives the same world, which is what lets the oracle (see
/// `oracle.rs`) know what the log's customers really prefer.
pub(crate) struct World {
    pub(crate) products: Vec<Product>,
    /// Product indexes per category, in Zipf rank order.
    pub(crate) by_category: Vec<Vec<usize>>,
    /// Each cluster's favourite products.
    pub(crate) clusters: Vec<Vec<usize>>,
    pub(crate) customers: Vec<Customer>,
}

impl World {
    pub(crate) fn new(spec: &SyntheticSpec, rng: &mut ChaCha8Rng) -> Self {
        let products = make_products(spec.products.max(CATEGORIES.len()), rng);
        let by_category = group_by_category(&products);
        let clusters = make_clusters(&products, rng);
        let customers = make_customers(spec.customers.max(1), rng);
        Self {
            products,
            by_category,
            clusters,
            customers,
        }
    }

    /// The world of `spec`, drawn from its seed as [`generate`] draws it.
    pub(crate) fn of(spec: &SyntheticSpec) -> Self {
        Self::new(spec, &mut ChaCha8Rng::seed_from_u64(spec.seed))
    }
}

/// Chance that a buy reorders a product the customer used in the chosen
/// category, and that a draw picks a cluster favourite.
pub(crate) const REORDER_CHANCE: f64 = 0.4;
pub(crate) const FAVOURITE_CHANCE: f64 = 0.4;

/// Weight of a favourite category in a customer's taste (others weigh 1).
pub(crate) const FAVOURITE_TASTE: f64 = 5.0;

/// Generates the log described in the module documentation.
pub fn generate(spec: &SyntheticSpec) -> Synthetic {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let World {
        products,
        by_category,
        clusters,
        customers,
    } = World::new(spec, &mut rng);
    let customer_picker = Cdf::new(customers.iter().map(|c| c.activity));
    let zipf: Vec<Cdf> = by_category
        .iter()
        .map(|items| Cdf::new((0..items.len()).map(|r| 1.0 / (r + 1) as f64)))
        .collect();
    let hours = Cdf::new(HOUR_CURVE.iter().copied());

    let mut history: Vec<Vec<usize>> = vec![Vec::new(); customers.len()];
    let mut events = Vec::with_capacity(spec.interactions);
    for _ in 0..spec.interactions {
        let who = customer_picker.sample(&mut rng);
        let customer = &customers[who];
        let at_ms = draw_time(spec.end_ms, &hours, &mut rng);
        let bucket = TimeBucket::at(at_ms, chrono_tz::Tz::UTC);
        let device = if rng.random::<f64>() < 0.7 {
            customer.device
        } else {
            rng.random_range(0..3)
        };
        let location = draw_location(bucket, &mut rng);
        let weather = match rng.random::<f64>() {
            x if x < 0.6 => "sun",
            x if x < 0.9 => "rain",
            _ => "snow",
        };
        let intent = draw_intent(&mut rng);

        let boosts = context_boosts(DEVICES[device], location, weather, bucket);
        let category = Cdf::new((0..CATEGORIES.len()).map(|c| {
            let taste = if customer.favourite_categories.contains(&c) {
                FAVOURITE_TASTE
            } else {
                1.0
            };
            taste * boosts[c]
        }))
        .sample(&mut rng);

        let product = draw_product(
            category,
            intent,
            &history[who],
            &clusters[customer.cluster],
            &products,
            &by_category[category],
            &zipf[category],
            &mut rng,
        );
        history[who].push(product);
        events.push(Event {
            customer: format!("c{who:05}"),
            product: products[product].id.clone(),
            at_ms,
            intent,
            device: DEVICES[device],
            location,
            weather,
        });
    }
    events.sort_by_key(|e| e.at_ms);
    Synthetic { products, events }
}

/// The planted multipliers on each category for one context.
pub fn context_boosts(
    device: &str,
    location: &str,
    weather: &str,
    bucket: TimeBucket,
) -> [f64; 12] {
    use crate::context::DayPart::{Afternoon, Evening, Morning};
    let mut boost = [1.0; 12];
    let mut apply = |name: &str, factor: f64| {
        let c = CATEGORIES
            .iter()
            .position(|&n| n == name)
            .expect("known category");
        boost[c] *= factor;
    };
    if location == "gym" {
        apply("sports", 8.0);
        apply("drinks", 6.0);
    }
    if device == "mobile" && bucket.part == Morning {
        apply("coffee", 6.0);
    }
    if weather == "rain" {
        apply("umbrellas", 8.0);
        apply("books", 2.0);
    }
    if location == "home" && bucket.part == Evening && device != "mobile" {
        apply("electronics", 4.0);
        apply("books", 4.0);
        apply("home", 3.0);
    }
    if location == "commute" {
        apply("snacks", 4.0);
        apply("coffee", 3.0);
    }
    if bucket.weekend && bucket.part == Afternoon {
        apply("outdoor", 4.0);
        apply("toys", 3.0);
    }
    boost
}

#[allow(clippy::too_many_arguments)]
fn draw_product(
    category: usize,
    intent: &str,
    history: &[usize],
    cluster: &[usize],
    products: &[Product],
    in_category: &[usize],
    zipf: &Cdf,
    rng: &mut ChaCha8Rng,
) -> usize {
    let same_category = |&&p: &&usize| products[p].category == CATEGORIES[category];
    if intent == "buy" && rng.random::<f64>() < REORDER_CHANCE {
        let used: Vec<&usize> = history.iter().filter(same_category).collect();
        if !used.is_empty() {
            return *used[rng.random_range(0..used.len())];
        }
    }
    if rng.random::<f64>() < FAVOURITE_CHANCE {
        let favourites: Vec<&usize> = cluster.iter().filter(same_category).collect();
        if !favourites.is_empty() {
            return *favourites[rng.random_range(0..favourites.len())];
        }
    }
    in_category[zipf.sample(rng)]
}

fn make_products(count: usize, rng: &mut ChaCha8Rng) -> Vec<Product> {
    (0..count)
        .map(|i| {
            let category = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
            // Log-uniform between 2 and 500.
            let price = (2.0f64.ln() + rng.random::<f64>() * (250.0f64).ln()).exp();
            Product {
                id: format!("p{i:05}"),
                category,
                price: (price * 100.0).round() / 100.0,
            }
        })
        .collect()
}

/// Product indexes per category, in id order (the Zipf rank order).
fn group_by_category(products: &[Product]) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); CATEGORIES.len()];
    for (i, p) in products.iter().enumerate() {
        let c = CATEGORIES
            .iter()
            .position(|&n| n == p.category)
            .expect("known");
        groups[c].push(i);
    }
    // Every category needs at least one product to be drawable.
    for (c, group) in groups.iter_mut().enumerate() {
        if group.is_empty() {
            group.push(c % products.len());
        }
    }
    groups
}

fn make_clusters(products: &[Product], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    (0..CLUSTERS)
        .map(|_| {
            (0..CLUSTER_FAVOURITES)
                .map(|_| rng.random_range(0..products.len()))
                .collect()
        })
        .collect()
}

fn make_customers(count: usize, rng: &mut ChaCha8Rng) -> Vec<Customer> {
    (0..count)
        .map(|rank| {
            let mut favourite_categories = [0; 3];
            for slot in 0..3 {
                favourite_categories[slot] = loop {
                    let c = rng.random_range(0..CATEGORIES.len());
                    if !favourite_categories[..slot].contains(&c) {
                        break c;
                    }
                };
            }
            let device = Cdf::new([0.6, 0.3, 0.1]).sample(rng);
            Customer {
                favourite_categories,
                device,
                cluster: rng.random_range(0..CLUSTERS),
                activity: 1.0 / ((1 + rank) as f64).sqrt(),
            }
        })
        .collect()
}

/// Relative activity per UTC hour: quiet nights, busy mornings and evenings.
const HOUR_CURVE: [f64; 24] = [
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 1.2, 1.5, 1.3, 1.0, 1.0, //
    1.2, 1.0, 0.9, 0.9, 1.0, 1.2, 1.5, 1.8, 1.9, 1.6, 1.0, 0.6,
];

fn draw_time(end_ms: i64, hours: &Cdf, rng: &mut ChaCha8Rng) -> i64 {
    let day_start = end_ms - (1 + rng.random_range(0..60)) * DAY_MS;
    let day_start = day_start - day_start.rem_euclid(DAY_MS);
    let hour = hours.sample(rng) as i64;
    day_start + hour * 3_600_000 + rng.random_range(0..3_600_000)
}

fn draw_location(bucket: TimeBucket, rng: &mut ChaCha8Rng) -> &'static str {
    use crate::context::DayPart::{Afternoon, Evening, Morning, Night};
    const PLACES: [&str; 5] = ["home", "work", "gym", "commute", "store"];
    let weights: [f64; 5] = match (bucket.weekend, bucket.part) {
        (false, Morning) => [2.0, 3.0, 1.0, 4.0, 0.5],
        (false, Afternoon) => [1.0, 5.0, 1.0, 1.0, 1.0],
        (_, Evening) => [6.0, 0.5, 1.5, 1.0, 1.0],
        (_, Night) => [9.0, 0.3, 0.2, 0.3, 0.2],
        (true, Morning | Afternoon) => [3.0, 0.3, 2.0, 0.5, 3.0],
    };
    PLACES[Cdf::new(weights).sample(rng)]
}

fn draw_intent(rng: &mut ChaCha8Rng) -> &'static str {
    let mut x = rng.random::<f64>();
    for (intent, p) in INTENTS {
        if x < p {
            return intent;
        }
        x -= p;
    }
    "browse"
}

/// Sampling from fixed relative weights by binary search on their sums.
struct Cdf(Vec<f64>);

impl Cdf {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        Self(
            weights
                .into_iter()
                .map(|w| {
                    total += w;
                    total
                })
                .collect(),
        )
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.0.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.0.partition_point(|&c| c <= x).min(self.0.len() - 1)
    }
}

/// Writes `products.csv` and `interactions.csv` into `dir`.
pub fn write_csv(data: &Synthetic, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut products = csv::Writer::from_path(dir.join("products.csv"))?;
    products.write_record(["product", "category", "price"])?;
    for p in &data.products {
        products.write_record([p.id.as_str(), p.category, &format!("{:.2}", p.price)])?;
    }
    products.flush()?;

    let mut events = csv::Writer::from_path(dir.join("interactions.csv"))?;
    events.write_record([
        "customer",
        "product",
        "timestamp",
        "intent",
        "device",
        "location",
        "weather",
    ])?;
    for e in &data.events {
        let at = DateTime::<Utc>::from_timestamp_millis(e.at_ms).unwrap_or_default();
        events.write_record([
            e.customer.as_str(),
            e.product.as_str(),
            &at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            e.intent,
            e.device,
            e.location,
            e.weather,
        ])?;
    }
    events.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SyntheticSpec {
        SyntheticSpec {
            customers: 300,
            products: 200,
            interactions: 20_000,
            ..SyntheticSpec::demo()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_log() {
        assert_eq!(generate(&small()).events, generate(&small()).events);
        let other = SyntheticSpec { seed: 7, ..small() };
        assert_ne!(generate(&small()).events, generate(&other).events);
    }

    #[test]
    fn the_gym_effect_is_planted() {
        let data = generate(&small());
        let category = |id: &str| {
            data.products
                .iter()
                .find(|p| p.id == id)
                .expect("product")
                .category
        };
        let share = |location: &str| {
            let at: Vec<_> = data
                .events
                .iter()
                .filter(|e| e.location == location)
                .collect();
            let sporty = at
                .iter()
                .filter(|e| matches!(category(&e.product), "sports" | "drinks"))
                .count();
            sporty as f64 / at.len() as f64
        };
        assert!(
            share("gym") > 2.0 * share("home"),
            "gym {} home {}",
            share("gym"),
            share("home")
        );
    }

    #[test]
    fn times_stay_in_the_sixty_days_before_the_end() {
        let spec = small();
        let data = generate(&spec);
        assert!(data
            .events
            .iter()
            .all(|e| e.at_ms < spec.end_ms && e.at_ms >= spec.end_ms - 61 * DAY_MS));
        assert!(data.events.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    }
}
