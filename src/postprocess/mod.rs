//! Post-processing: class-aware non-maximum suppression within a tile, then merging
//! across tile seams. Pure.

mod merge;
mod nms;

pub use merge::merge_tiles;
pub use nms::nms;

use crate::geo::PixelBox;

/// A detection candidate in scene pixels, before georeferencing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Box in scene pixels.
    pub bbox: PixelBox,
    /// Confidence.
    pub score: f32,
    /// Class index.
    pub class_id: u32,
    /// Index of the tile it came from.
    pub tile: usize,
    /// Whether the box touches an edge of its tile that lies inside the scene: the object
    /// may be cut there, so across tiles an uncut box of it is preferred.
    pub clipped: bool,
}

/// The order every stage uses: score descending, then class, then position, so that the
/// result never depends on tile or thread order.
pub(crate) fn rank(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then(a.class_id.cmp(&b.class_id))
        .then(a.bbox.x0().total_cmp(&b.bbox.x0()))
        .then(a.bbox.y0().total_cmp(&b.bbox.y0()))
        .then(a.bbox.x1().total_cmp(&b.bbox.x1()))
        .then(a.bbox.y1().total_cmp(&b.bbox.y1()))
        .then(a.tile.cmp(&b.tile))
}
