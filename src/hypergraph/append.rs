//! An append-only vector that one writer grows while any number of readers
//! read it, without locks and without ever moving an element.
//!
//! Why not `RwLock<Vec<T>>`: a growing `Vec` reallocates and moves its
//! elements, so readers would have to wait for the writer. Here storage is a
//! fixed array of segments whose sizes double (64, 128, 256, …); a segment is
//! allocated once and never moved, so a reference handed to a reader stays
//! valid for the life of the vector. The writer initializes a slot, then
//! publishes the new length with `Release`; a reader loads the length with
//! `Acquire` and only touches slots below it, so it never sees a slot that is
//! half written.
//!
//! Pushes must be serialized by the caller (the hypergraph holds its writer
//! mutex around every push); that is the one contract `push` relies on.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// log2 of the first segment's length.
const FIRST_BITS: u32 = 6;
/// 58 doubling segments starting at 64 slots cover the whole `usize` range
/// on 64-bit targets, so `push` can never run out of segments.
const SEGMENTS: usize = (usize::BITS - FIRST_BITS) as usize;

pub struct AppendVec<T> {
    segments: [AtomicPtr<MaybeUninit<T>>; SEGMENTS],
    len: AtomicUsize,
}

// SAFETY: elements are shared between threads by `&T` (needs `T: Sync`) and
// dropped by whichever thread drops the vector (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for AppendVec<T> {}
// SAFETY: as above; the raw pointers are owned allocations.
unsafe impl<T: Send> Send for AppendVec<T> {}

impl<T> Default for AppendVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Which segment holds `index`, and where inside it.
#[inline]
fn locate(index: usize) -> (usize, usize) {
    let shifted = index + (1 << FIRST_BITS);
    let segment = (usize::BITS - 1 - shifted.leading_zeros() - FIRST_BITS) as usize;
    (segment, shifted - segment_len(segment))
}

#[inline]
fn segment_len(segment: usize) -> usize {
    1 << (segment as u32 + FIRST_BITS)
}

impl<T> AppendVec<T> {
    pub fn new() -> Self {
        Self {
            segments: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            len: AtomicUsize::new(0),
        }
    }

    /// Number of published elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The element at `index`, if it has been published.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&T> {
        if index >= self.len() {
            return None;
        }
        let (segment, offset) = locate(index);
        let base = self.segments[segment].load(Ordering::Acquire);
        // SAFETY: `index < len` and `len` is stored with Release after the
        // slot was written and its segment pointer stored, so both are
        // visible here; published slots are never written again or moved.
        Some(unsafe { (*base.add(offset)).assume_init_ref() })
    }

    /// Appends `value` and returns its index.
    ///
    /// # Safety
    /// No other call to `push` may run at the same time on this vector.
    pub unsafe fn push(&self, value: T) -> usize {
        let index = self.len.load(Ordering::Relaxed);
        let (segment, offset) = locate(index);
        let mut base = self.segments[segment].load(Ordering::Acquire);
        if base.is_null() {
            let mut storage = Vec::<MaybeUninit<T>>::with_capacity(segment_len(segment));
            base = storage.as_mut_ptr();
            std::mem::forget(storage);
            self.segments[segment].store(base, Ordering::Release);
        }
        // SAFETY: the slot lies inside its segment's allocation, is not yet
        // published (so no reader touches it) and only this call writes it.
        unsafe { (*base.add(offset)).write(value) };
        self.len.store(index + 1, Ordering::Release);
        index
    }

    /// Iterates the elements published when the iterator was made, one
    /// segment slice at a time (no per-element length check).
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        let len = self.len();
        (0..SEGMENTS)
            .map_while(move |segment| {
                let start = segment_len(segment) - (1 << FIRST_BITS);
                (start < len).then(|| {
                    let count = (len - start).min(segment_len(segment));
                    // SAFETY: `count` slots of this segment are published.
                    unsafe { self.published_slice(segment, count) }
                })
            })
            .flatten()
    }

    /// `len` published elements from `start`, when they lie in one segment.
    #[inline]
    pub fn run(&self, start: usize, len: usize) -> Option<&[T]> {
        if len == 0 || start + len > self.len() {
            return None;
        }
        let (segment, offset) = locate(start);
        if offset + len > segment_len(segment) {
            return None;
        }
        // SAFETY: all of `start..start + len` is published and inside this
        // segment.
        Some(unsafe { &self.published_slice(segment, offset + len)[offset..] })
    }

    /// Index of the first slot of the segment after the one holding `index`.
    pub fn next_segment_start(index: usize) -> usize {
        let (segment, offset) = locate(index);
        index - offset + segment_len(segment)
    }

    /// The first `count` slots of `segment`.
    ///
    /// # Safety
    /// Those slots must be published.
    unsafe fn published_slice(&self, segment: usize, count: usize) -> &[T] {
        let base = self.segments[segment].load(Ordering::Acquire);
        // SAFETY: per the contract, `count` initialized slots start at base;
        // MaybeUninit<T> has the layout of T.
        unsafe { std::slice::from_raw_parts(base.cast::<T>(), count) }
    }

    /// Bytes reserved by the allocated segments.
    pub fn reserved_bytes(&self) -> usize {
        (0..SEGMENTS)
            .filter(|&s| !self.segments[s].load(Ordering::Acquire).is_null())
            .map(|s| segment_len(s) * std::mem::size_of::<T>())
            .sum()
    }
}

impl<T> Drop for AppendVec<T> {
    fn drop(&mut self) {
        let len = *self.len.get_mut();
        for segment in 0..SEGMENTS {
            let base = *self.segments[segment].get_mut();
            if base.is_null() {
                continue;
            }
            let start = segment_len(segment) - (1 << FIRST_BITS);
            let live = len.saturating_sub(start).min(segment_len(segment));
            // SAFETY: the segment was made from a Vec of exactly this
            // capacity and its first `live` slots were initialized.
            unsafe {
                for i in 0..live {
                    (*base.add(i)).assume_init_drop();
                }
                drop(Vec::from_raw_parts(base, 0, segment_len(segment)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn indexes_map_to_doubling_segments() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
    }

    #[test]
    fn pushed_values_read_back_in_order() {
        let v = AppendVec::new();
        for i in 0..10_000u64 {
            assert_eq!(unsafe { v.push(i * 3) }, i as usize);
        }
        assert_eq!(v.len(), 10_000);
        assert!(v.iter().copied().eq((0..10_000u64).map(|i| i * 3)));
        assert!(v.get(10_000).is_none());
    }

    #[test]
    fn runs_are_slices_within_one_segment_only() {
        let v = AppendVec::new();
        for i in 0..300u32 {
            unsafe { v.push(i) };
        }
        assert_eq!(v.run(10, 3), Some(&[10, 11, 12][..]));
        assert_eq!(v.run(62, 4), None, "crosses from segment 0 into 1");
        assert_eq!(v.run(299, 2), None, "past the published end");
        assert_eq!(AppendVec::<u32>::next_segment_start(62), 64);
        assert_eq!(AppendVec::<u32>::next_segment_start(64), 192);
    }

    #[test]
    fn owned_values_are_dropped_once() {
        let marker = Arc::new(());
        {
            let v = AppendVec::new();
            for _ in 0..200 {
                unsafe { v.push(Arc::clone(&marker)) };
            }
            assert_eq!(Arc::strong_count(&marker), 201);
        }
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    /// A reader running beside the writer only ever sees fully written
    /// elements, in order, and a length that never shrinks.
    #[test]
    fn readers_see_only_published_elements_while_writer_appends() {
        let v = Arc::new(AppendVec::<(u64, u64)>::new());
        let reader = {
            let v = Arc::clone(&v);
            std::thread::spawn(move || {
                let mut last_len = 0;
                while last_len < 50_000 {
                    let len = v.len();
                    assert!(len >= last_len);
                    for i in last_len..len {
                        let &(a, b) = v.get(i).expect("published");
                        assert_eq!((a, b), (i as u64, !(i as u64)));
                    }
                    last_len = len;
                }
            })
        };
        for i in 0..50_000u64 {
            unsafe { v.push((i, !i)) };
        }
        reader.join().expect("reader saw a torn element");
    }
}
