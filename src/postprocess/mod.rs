//! Post-processing: class-aware non-maximum suppression within a tile, then merging
//! across tile seams. Pure. Oriented boxes are compared by their rotated footprints
//! (polygon intersection), axis-aligned ones by their boxes.

mod merge;
mod nms;

pub use merge::merge_tiles;
pub use nms::nms;

use crate::geo::{OrientedBox, PixelBox, PixelPoint};

/// A detection candidate in scene pixels, before georeferencing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Box in scene pixels; for an oriented box, its axis-aligned envelope clipped to the
    /// tile that found it (what the R-trees, the streaming and the seam test use). Two
    /// footprints that overlap only outside their clipped envelopes are not compared.
    pub bbox: PixelBox,
    /// The rotated footprint in scene pixels, for an oriented-box model; overlaps between
    /// candidates are measured on it when either has one.
    pub oriented: Option<OrientedBox>,
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
        .then_with(|| footprint_order(a, b))
        .then(a.tile.cmp(&b.tile))
}

/// Oriented candidates clipped to the same envelope still differ in their footprint:
/// compared number by number (axis-aligned ones first).
fn footprint_order(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    match (a.oriented, b.oriented) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x
            .to_array()
            .iter()
            .zip(y.to_array())
            .map(|(p, q)| p.total_cmp(&q))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal),
    }
}

impl Candidate {
    /// The footprint as an oriented box (an axis-aligned box at angle 0).
    pub fn footprint(&self) -> OrientedBox {
        self.oriented
            .unwrap_or_else(|| OrientedBox::from_box(&self.bbox))
    }

    /// The centre: the oriented box's, else the box's.
    pub fn center(&self) -> PixelPoint {
        match &self.oriented {
            Some(o) => o.center(),
            None => self.bbox.center(),
        }
    }

    /// Intersection over union with `other`: of the boxes when both are axis-aligned,
    /// else of the rotated footprints.
    pub fn iou(&self, other: &Candidate) -> f64 {
        if self.oriented.is_none() && other.oriented.is_none() {
            self.bbox.iou(&other.bbox)
        } else {
            self.footprint().iou(&other.footprint())
        }
    }

    /// Intersection over the smaller of the two, measured as [`Candidate::iou`] is.
    pub fn ios(&self, other: &Candidate) -> f64 {
        if self.oriented.is_none() && other.oriented.is_none() {
            self.bbox.ios(&other.bbox)
        } else {
            self.footprint().ios(&other.footprint())
        }
    }
}
