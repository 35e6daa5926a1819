//! The response cache: a Recommend answer is reused for the same customer,
//! context, intent, limit, time bucket and exclusions within its TTL.
//!
//! A customer's cached answers must never be older than their last event.
//! Instead of scanning the cache for that customer's entries, every key
//! carries the customer's generation number, and recording an interaction
//! bumps it: the old entries can no longer be found and age out.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use moka::sync::Cache;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

use crate::engine::Decision;
use crate::validate::Query;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    pub enabled: bool,
    /// How long an answer may be reused.
    pub ttl_ms: u64,
    /// Most answers kept; the least recently used go first.
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_ms: 30_000,
            max_entries: 200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    customer: Box<str>,
    generation: u64,
    context: Box<[String]>,
    intent: Option<Box<str>>,
    limit: usize,
    bucket: u8,
    explain: bool,
    exclude: Box<[String]>,
}

pub struct ResponseCache {
    answers: Cache<Key, Arc<Decision>>,
    generations: DashMap<Box<str>, u64, FxBuildHasher>,
}

impl ResponseCache {
    /// `None` when the configuration turns caching off.
    pub fn new(config: &CacheConfig) -> Option<Self> {
        config.enabled.then(|| Self {
            answers: Cache::builder()
                .max_capacity(config.max_entries)
                .time_to_live(Duration::from_millis(config.ttl_ms))
                .build(),
            generations: DashMap::default(),
        })
    }

    fn key(&self, query: &Query) -> Key {
        let generation = self
            .generations
            .get(query.customer.as_str())
            .map_or(0, |g| *g);
        let mut exclude = query.exclude.clone();
        exclude.sort_unstable();
        Key {
            customer: query.customer.as_str().into(),
            generation,
            context: query.context.values.clone().into(),
            intent: query.intent.as_deref().map(Into::into),
            limit: query.limit,
            bucket: query.bucket.code(),
            explain: query.explain,
            exclude: exclude.into(),
        }
    }

    pub fn get(&self, query: &Query) -> Option<Arc<Decision>> {
        self.answers.get(&self.key(query))
    }

    pub fn insert(&self, query: &Query, decision: Arc<Decision>) {
        self.answers.insert(self.key(query), decision);
    }

    /// Makes every cached answer for `customer` unreachable.
    pub fn invalidate(&self, customer: &str) {
        *self.generations.entry(customer.into()).or_insert(0) += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Source;
    use crate::validate::{self, RawQuery};

    fn query(customer: &str, location: &str) -> Query {
        let raw = RawQuery {
            customer_id: customer,
            context: vec![("location", location)],
            ..RawQuery::default()
        };
        validate::query(&raw, 1_780_000_000_000).unwrap()
    }

    fn decision(q: &Query) -> Arc<Decision> {
        Arc::new(Decision {
            items: Vec::new(),
            source: Source::Popular,
            degraded: false,
            model_version: None,
            bucket: q.bucket,
        })
    }

    #[test]
    fn answers_are_reused_for_the_same_question_only() {
        let cache = ResponseCache::new(&CacheConfig::default()).unwrap();
        let gym = query("c1", "gym");
        cache.insert(&gym, decision(&gym));
        assert!(cache.get(&gym).is_some());
        assert!(cache.get(&query("c1", "home")).is_none());
        assert!(cache.get(&query("c2", "gym")).is_none());
    }

    #[test]
    fn a_new_event_of_the_customer_hides_their_cached_answers_at_once() {
        let cache = ResponseCache::new(&CacheConfig::default()).unwrap();
        let (mine, theirs) = (query("c1", "gym"), query("c2", "gym"));
        cache.insert(&mine, decision(&mine));
        cache.insert(&theirs, decision(&theirs));
        cache.invalidate("c1");
        assert!(cache.get(&mine).is_none());
        assert!(cache.get(&theirs).is_some());
    }

    #[test]
    fn a_disabled_cache_is_not_built() {
        let off = CacheConfig {
            enabled: false,
            ..CacheConfig::default()
        };
        assert!(ResponseCache::new(&off).is_none());
    }
}
