//! Incidence lists: for each customer and product, the ids of its
//! hyperedges, newest last, readable while the writer appends.
//!
//! All lists share one arena of u32 slots. A list is a chain of blocks whose
//! capacity doubles from 4 up to 1024 ids; each block starts with two header
//! slots (the previous block's start, this block's capacity). A vertex's
//! head packs its newest block's start and fill count into one atomic u64,
//! so a reader always gets a matching pair.
//!
//! Why blocks and not a pointer from each hyperedge to the previous one:
//! ids in a block sit side by side, so a reader learns many hyperedge ids
//! at once and can fetch their records in parallel (see `View::prefetch`),
//! instead of waiting for one cache miss before it knows the next address.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::append::AppendVec;

const FIRST_CAPACITY: u32 = 4;
const MAX_CAPACITY: u32 = 1024;
const HEADER: u32 = 2;
const NO_BLOCK: u32 = u32::MAX;
const EMPTY: u64 = (NO_BLOCK as u64) << 32;

/// The newest block of one vertex's list and how full it is.
pub struct IncidenceHead(AtomicU64);

impl Default for IncidenceHead {
    fn default() -> Self {
        Self(AtomicU64::new(EMPTY))
    }
}

impl IncidenceHead {
    fn load(&self, order: Ordering) -> (u32, u32) {
        let packed = self.0.load(order);
        ((packed >> 32) as u32, packed as u32)
    }

    fn store(&self, block: u32, filled: u32) {
        self.0
            .store((block as u64) << 32 | filled as u64, Ordering::Release);
    }
}

/// The arena is full: 2^32 slots are in use.
#[derive(Debug)]
pub struct ArenaFull;

#[derive(Default)]
pub struct IncidenceArena {
    slots: AppendVec<AtomicU32>,
}

impl IncidenceArena {
    /// Appends `edge` to the list of `head`.
    ///
    /// # Safety
    /// Calls must be serialized by the caller (the hypergraph writer lock).
    pub unsafe fn append(&self, head: &IncidenceHead, edge: u32) -> Result<(), ArenaFull> {
        let (block, filled) = head.load(Ordering::Relaxed);
        if block != NO_BLOCK {
            let capacity = self.slot(block + 1);
            if filled < capacity {
                self.slots
                    .get((block + HEADER + filled) as usize)
                    .expect("slot inside an allocated block")
                    .store(edge, Ordering::Relaxed);
                head.store(block, filled + 1);
                return Ok(());
            }
        }

        let capacity = if block == NO_BLOCK {
            FIRST_CAPACITY
        } else {
            (self.slot(block + 1) * 2).min(MAX_CAPACITY)
        };
        let mut start = self.slots.len();
        let size = (HEADER + capacity) as usize;
        // Keep every block inside one segment of the arena, so a reader can
        // take its ids as one slice; the skipped slots are never read.
        let next_segment = AppendVec::<AtomicU32>::next_segment_start(start);
        if start + size > next_segment {
            start = next_segment;
        }
        if start + size >= NO_BLOCK as usize {
            return Err(ArenaFull);
        }
        // SAFETY: serialized by the caller's contract.
        unsafe {
            while self.slots.len() < start {
                self.slots.push(AtomicU32::new(0));
            }
            self.slots.push(AtomicU32::new(block));
            self.slots.push(AtomicU32::new(capacity));
            self.slots.push(AtomicU32::new(edge));
            for _ in 1..capacity {
                self.slots.push(AtomicU32::new(0));
            }
        }
        head.store(start as u32, 1);
        Ok(())
    }

    fn slot(&self, index: u32) -> u32 {
        self.slots
            .get(index as usize)
            .map_or(0, |s| s.load(Ordering::Relaxed))
    }

    /// The list of `head`, newest first, as published when called.
    pub fn newest_first<'a>(&'a self, head: &IncidenceHead) -> NewestFirst<'a> {
        let (block, filled) = head.load(Ordering::Acquire);
        NewestFirst {
            arena: self,
            block,
            remaining: filled,
            ids: &[],
        }
    }

    pub fn reserved_bytes(&self) -> usize {
        self.slots.reserved_bytes()
    }

    pub fn used_bytes(&self) -> usize {
        self.slots.len() * size_of::<AtomicU32>()
    }
}

pub struct NewestFirst<'a> {
    arena: &'a IncidenceArena,
    block: u32,
    remaining: u32,
    ids: &'a [AtomicU32],
}

impl Iterator for NewestFirst<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if let Some((last, rest)) = self.ids.split_last() {
            self.ids = rest;
            return Some(last.load(Ordering::Relaxed));
        }
        if self.block == NO_BLOCK {
            return None;
        }
        // Take the filled part of the current block as one slice, then move
        // to the previous block, which is always full.
        let ids = self
            .arena
            .slots
            .run((self.block + HEADER) as usize, self.remaining as usize);
        self.block = self.arena.slot(self.block);
        if self.block != NO_BLOCK {
            self.remaining = self.arena.slot(self.block + 1);
        }
        self.ids = ids.unwrap_or_default();
        self.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_grow_across_blocks_and_read_newest_first() {
        let arena = IncidenceArena::default();
        let (a, b) = (IncidenceHead::default(), IncidenceHead::default());
        for edge in 0..3000u32 {
            let head = if edge % 3 == 0 { &a } else { &b };
            unsafe { arena.append(head, edge).unwrap() };
        }
        let expected_a: Vec<u32> = (0..3000).rev().filter(|e| e % 3 == 0).collect();
        let expected_b: Vec<u32> = (0..3000).rev().filter(|e| e % 3 != 0).collect();
        assert_eq!(arena.newest_first(&a).collect::<Vec<_>>(), expected_a);
        assert_eq!(arena.newest_first(&b).collect::<Vec<_>>(), expected_b);
        assert_eq!(arena.newest_first(&IncidenceHead::default()).count(), 0);
    }

    /// A reader beside the writer sees a prefix of the list that only grows.
    #[test]
    fn readers_see_consistent_lists_while_the_writer_appends() {
        let arena = std::sync::Arc::new(IncidenceArena::default());
        let head = std::sync::Arc::new(IncidenceHead::default());
        let reader = {
            let (arena, head) = (arena.clone(), head.clone());
            std::thread::spawn(move || {
                let mut seen = 0;
                while seen < 20_000 {
                    let list: Vec<u32> = arena.newest_first(&head).collect();
                    assert!(list.len() >= seen);
                    assert!(list.iter().rev().copied().eq(0..list.len() as u32));
                    seen = list.len();
                }
            })
        };
        for edge in 0..20_000 {
            unsafe { arena.append(&head, edge).unwrap() };
        }
        reader.join().expect("reader saw an inconsistent list");
    }
}
