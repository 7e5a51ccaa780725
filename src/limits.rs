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
    /// Largest single window or decoded chunk (strip/tile), in bytes.
    pub max_window_bytes: u64,
    /// Most candidate detections held for one scene (after per-tile NMS, before the
    /// cross-tile merge): a model firing everywhere is stopped early, not run to the end.
    pub max_detections: u64,
    /// Bytes of decoded strips/tiles kept to serve overlapping windows. A reader raises
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
            max_detections: 10_000_000,
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
            max_detections: u64::MAX,
            chunk_cache_bytes: 256 << 20,
        }
    }

    /// Checks `found <= limit`, naming the quantity and its context in the error.
    pub(crate) fn check(
        context: impl FnOnce() -> String,
        what: &'static str,
        found: u64,
        limit: u64,
    ) -> crate::Result<()> {
        if found > limit {
            return Err(crate::Error::Limits {
                context: context(),
                what,
                found,
                limit,
            });
        }
        Ok(())
    }
}
