//! Remembers recent event ids so a retried interaction is acknowledged with
//! its original sequence instead of being applied twice.
//!
//! The window is a count of the most recent ids that carried one
//! (`server.idempotency_window`, default 100,000): a retry arriving after
//! that many newer identified events is applied again. The window lives in
//! memory, so a restart forgets it.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

pub struct RecentEvents {
    capacity: usize,
    sequences: FxHashMap<Box<str>, u64>,
    /// Ids in arrival order, oldest first, for eviction.
    order: VecDeque<Box<str>>,
}

impl RecentEvents {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            sequences: FxHashMap::default(),
            order: VecDeque::new(),
        }
    }

    /// The sequence an event id got, if it is still in the window.
    pub fn get(&self, event_id: &str) -> Option<u64> {
        self.sequences.get(event_id).copied()
    }

    /// The remembered ids with their sequences, oldest first.
    pub fn entries(&self) -> Vec<(String, u64)> {
        self.order
            .iter()
            .filter_map(|id| self.sequences.get(id).map(|&s| (id.to_string(), s)))
            .collect()
    }

    pub fn remember(&mut self, event_id: &str, sequence: u64) {
        if self.capacity == 0 {
            return;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.sequences.remove(&oldest);
            }
        }
        self.sequences.insert(event_id.into(), sequence);
        self.order.push_back(event_id.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_remembered_until_pushed_out_of_the_window() {
        let mut recent = RecentEvents::new(2);
        recent.remember("a", 1);
        recent.remember("b", 2);
        assert_eq!(recent.get("a"), Some(1));
        recent.remember("c", 3);
        assert_eq!(recent.get("a"), None);
        assert_eq!((recent.get("b"), recent.get("c")), (Some(2), Some(3)));
    }

    #[test]
    fn a_zero_window_remembers_nothing() {
        let mut recent = RecentEvents::new(0);
        recent.remember("a", 1);
        assert_eq!(recent.get("a"), None);
    }
}
