//! Interning of vertex names to dense ids, one vocabulary per vertex kind.
//!
//! Dense ids let every other structure be an array indexed by id instead of a
//! map keyed by string. Ids are assigned by the single writer in order, so id
//! `n` is always the `n`-th name ever seen and never changes.

use dashmap::DashMap;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::append::AppendVec;

#[derive(Default)]
pub struct Vocab {
    /// name -> id, for readers resolving a request and for the writer.
    ids: DashMap<Box<str>, u32, FxBuildHasher>,
    /// id -> name, lock-free for readers building an answer.
    names: AppendVec<Box<str>>,
}

impl Vocab {
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).map(|id| *id)
    }

    /// The name of a published id.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Returns the id of `name`, assigning the next one if it is new;
    /// `on_new` runs before the name becomes visible to readers, so it can
    /// publish the per-vertex state that readers expect to find for the id.
    ///
    /// `known` is the writer's own copy of this vocabulary: looking names up
    /// there skips the shard locks that readers need, which is most of the
    /// cost of interning on the ingest path.
    ///
    /// # Safety
    /// Calls must be serialized by the caller (the hypergraph's writer lock).
    pub unsafe fn intern(
        &self,
        known: &mut FxHashMap<Box<str>, u32>,
        name: &str,
        on_new: impl FnOnce(u32),
    ) -> u32 {
        if let Some(&id) = known.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        on_new(id);
        // SAFETY: serialized by the caller's contract.
        unsafe { self.names.push(name.into()) };
        self.ids.insert(name.into(), id);
        known.insert(name.into(), id);
        id
    }
}
