//! Bounds on every allocation that input data controls.

/// Limits checked before any allocation sized by a file header or a model.
///
/// The defaults are generous for satellite scenes (a 100 000 × 100 000 pixel scene passes)
/// while refusing headers that claim absurd sizes. Exceeding a limit is
/// [`crate::Error::Limits`], never a panic or an out-of-memory abort.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest scene, in pixels (width × height).
    pub max_scene_pixels: u64,
    /// Largest single window or decoded chunk (strip/tile), in bytes. It also bounds a
    /// TIFF's chunk index (offsets and byte counts: a quarter of this, checked before the
    /// decoder reads them) and the `image` crate's allocations for PNG/JPEG (twice this).
    pub max_window_bytes: u64,
    /// Bytes held for the detections of one scene: candidates after per-tile NMS, then
    /// the merged and georeferenced detections, counted as
    /// [`Limits::BYTES_PER_DETECTION`] per candidate (the measured peak, see that
    /// constant). A model firing everywhere is stopped early with [`crate::Error::Limits`],
    /// not run to the end.
    pub max_detection_bytes: u64,
    /// Most candidate boxes of one tile kept after the confidence threshold and before
    /// NMS: the best `max_candidates_per_tile` by score (ties by class and position).
    /// What the cap drops is counted in [`crate::Report::candidates_capped`] and warned
    /// about, never dropped silently.
    pub max_candidates_per_tile: u64,
    /// Bytes of one batch in flight: the model's input and output tensors for the batch
    /// plus the raw tile windows it is made from. The detector lowers its batch size to fit
    /// (and says so in the report), and refuses a model or tile size for which even one
    /// tile does not fit. The pipeline holds at most three batches' worth of this.
    pub max_batch_bytes: u64,
    /// Bytes of decoded strips/tiles kept to serve overlapping windows, bookkeeping per
    /// chunk included (so a file of tiny tiles cannot hide its cost). A reader raises
    /// its own budget to the chunks one window touches when that is more (a wide stripped
    /// scene: full-width strips times the window height), so that the next window of the
    /// row does not decode the same strips again, but never above `max_window_bytes`.
    pub chunk_cache_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_scene_pixels: 100_000 * 100_000,
            max_window_bytes: 512 << 20,
            max_detection_bytes: 1 << 30,
            max_candidates_per_tile: 30_000,
            max_batch_bytes: 512 << 20,
            chunk_cache_bytes: 256 << 20,
        }
    }
}

impl Limits {
    /// No limits at all: only for trusted input on a machine with memory to spare.
    pub fn unlimited() -> Self {
        Limits {
            max_scene_pixels: u64::MAX,
            max_window_bytes: u64::MAX,
            max_detection_bytes: u64::MAX,
            max_candidates_per_tile: u64::MAX,
            max_batch_bytes: u64::MAX,
            chunk_cache_bytes: 256 << 20,
        }
    }

    /// Heap bytes one detection costs from the per-tile candidate to the written result:
    /// the candidate list (with its growth slack), the seam merge's R-tree and order, and
    /// the georeferenced [`crate::Detection`]s, appended as rows finish (so with a
    /// growing Vec's slack: while it reallocates, old and new buffers are both live) and
    /// sorted in place. Measured by the `memory` integration test with a counting
    /// allocator: 736 bytes per candidate at the peak for 100,000 candidates of which none
    /// merge away (the worst case; 556 before candidates and detections could carry an
    /// oriented box); this adds 15 % headroom.
    pub const BYTES_PER_DETECTION: u64 = 848;

    /// The default limits within a memory budget of `bytes` (the CLI's `--max-memory`):
    /// an eighth each for the decoded-chunk cache and the detections; the detector sizes
    /// its batch from the rest ([`crate::DetectorBuilder::max_memory`]). Open scenes with
    /// these limits ([`crate::Scene::open_with_limits`]): the chunk cache is the scene's.
    ///
    /// ```
    /// let l = satdet::Limits::for_memory(512 << 20);
    /// assert_eq!(l.chunk_cache_bytes, 64 << 20);
    /// assert_eq!(l.max_detection_bytes, 64 << 20);
    /// ```
    pub fn for_memory(bytes: u64) -> Self {
        Limits::default().within_memory(bytes)
    }

    /// These limits with the chunk cache and the detections each held to an eighth of
    /// `bytes` (the shares of [`Limits::for_memory`]).
    pub(crate) fn within_memory(self, bytes: u64) -> Self {
        Limits {
            chunk_cache_bytes: self.chunk_cache_bytes.min(bytes / 8),
            max_detection_bytes: self.max_detection_bytes.min(bytes / 8),
            ..self
        }
    }

    /// Resident bytes of the program, onnxruntime and a small model before any tile is
    /// read (measured: 111 MiB for `satdet detect` with the bundled model; rounded up).
    pub const BASE_BYTES: u64 = 128 << 20;

    /// onnxruntime's working memory per image of a batch, in units of the image's input
    /// tensor bytes: measured for the bundled model as the peak-RSS slope over batch
    /// sizes 1-8 (65 MiB per tile for a 4.9 MB input), less the pipeline's own buffers.
    /// An estimate: a deeper model needs more.
    pub const ACTIVATION_FACTOR: u64 = 10;

    /// Checks `found <= limit`, naming the quantity and its context in the error.
    pub(crate) fn check(
        context: impl FnOnce() -> String,
        what: &'static str,
        found: u64,
        limit: u64,
    ) -> crate::error::Result<()> {
        if found > limit {
            return Err(crate::error::Error::Limits {
                context: context(),
                what,
                found,
                limit,
            });
        }
        Ok(())
    }
}
