//! Decoded TIFF strips/tiles kept to serve overlapping windows, bounded in the bytes the
//! cache really holds: samples *and* the per-chunk bookkeeping, so that a file of tiny
//! tiles (1×1 pixels: one sample and ~100 bytes of map slot, queue slot and allocation
//! header each) cannot hold millions of chunks under a budget meant for samples.

use crate::raster::Samples;
use std::collections::{HashMap, VecDeque};
use std::mem::size_of;

/// One decoded strip or tile.
pub(super) struct Chunk {
    pub samples: Samples,
    /// Data columns (the chunk minus padding past the image edge).
    pub width: u32,
    pub height: u32,
    /// Samples from one row to the next.
    pub row_stride: usize,
}

/// What an allocation costs beyond the bytes asked for: glibc's 16-byte header and
/// rounding up to 16 bytes, with a minimum block of 32 bytes.
const ALLOCATION_OVERHEAD_BYTES: usize = 32;

/// Bytes the cache holds for one chunk besides its samples: the map slot (key, `Chunk`
/// and control byte, counted twice because a hash map keeps spare capacity and doubles
/// when it grows), the queue slot (twice, likewise) and the sample buffer's allocation
/// overhead.
pub(super) const CHUNK_OVERHEAD_BYTES: usize =
    2 * (size_of::<(u32, Chunk)>() + 1) + 2 * size_of::<u32>() + ALLOCATION_OVERHEAD_BYTES;

impl Chunk {
    /// Bytes this chunk costs in the cache: samples (the buffer's capacity) plus
    /// [`CHUNK_OVERHEAD_BYTES`].
    pub fn cached_bytes(&self) -> usize {
        let samples = match &self.samples {
            Samples::U8(v) => v.capacity(),
            Samples::U16(v) => v.capacity() * 2,
        };
        samples.saturating_add(CHUNK_OVERHEAD_BYTES)
    }
}

/// Decoded chunks, most recent last, bounded in bytes ([`Chunk::cached_bytes`]).
pub(super) struct ChunkCache {
    pub map: HashMap<u32, Chunk>,
    order: VecDeque<u32>,
    /// Bytes held, as [`Chunk::cached_bytes`] counts them.
    pub bytes: usize,
    pub budget: usize,
    /// The most `grow_to` may raise the budget to.
    cap: usize,
}

impl ChunkCache {
    pub fn new(budget: u64, cap: u64) -> Self {
        let size = |b: u64| usize::try_from(b).unwrap_or(usize::MAX);
        ChunkCache {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget: size(budget),
            cap: size(cap.max(budget)),
        }
    }

    /// Raises the budget to `bytes`, at most to the cap (never lowers it).
    pub fn grow_to(&mut self, bytes: u64) {
        let want = usize::try_from(bytes).unwrap_or(usize::MAX).min(self.cap);
        self.budget = self.budget.max(want);
    }

    pub fn insert(&mut self, idx: u32, c: Chunk) {
        self.bytes = self.bytes.saturating_add(c.cached_bytes());
        if let Some(old) = self.map.insert(idx, c) {
            // Not reached (callers insert misses only); kept exact all the same.
            self.bytes = self.bytes.saturating_sub(old.cached_bytes());
            self.order.retain(|&i| i != idx);
        }
        self.order.push_back(idx);
        // Keep at least the newest chunk even when it alone exceeds the budget.
        while self.bytes > self.budget && self.order.len() > 1 {
            if let Some(old) = self.order.pop_front() {
                if let Some(c) = self.map.remove(&old) {
                    self.bytes = self.bytes.saturating_sub(c.cached_bytes());
                }
            }
        }
        // A map that once held many chunks keeps its table: give back what the budget
        // no longer needs, so its spare capacity stays within the overhead counted above.
        if self.map.capacity() > 4 * self.map.len().max(16) {
            self.map.shrink_to(2 * self.map.len());
            self.order.shrink_to(2 * self.order.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_byte_chunk() -> Chunk {
        Chunk {
            samples: Samples::U8(vec![7]),
            width: 1,
            height: 1,
            row_stride: 1,
        }
    }

    #[test]
    fn tiny_chunks_are_counted_with_their_overhead() {
        let budget = 64 << 10;
        let mut c = ChunkCache::new(budget, budget);
        for i in 0..100_000 {
            c.insert(i, one_byte_chunk());
        }
        // Counting only the one sample each, all 100 000 would fit in 64 KiB.
        let most = budget as usize / (1 + CHUNK_OVERHEAD_BYTES);
        assert!(c.map.len() <= most, "{} chunks held", c.map.len());
        assert!(c.map.len() >= most / 2, "{} chunks held", c.map.len());
        assert!(c.bytes <= budget as usize);
        assert_eq!(c.order.len(), c.map.len());
        assert!(CHUNK_OVERHEAD_BYTES >= size_of::<Chunk>() + ALLOCATION_OVERHEAD_BYTES);
    }
}
