//! Where a tile sits in the model input, and the way back: the tile's top-left corner at
//! the input's top-left, scaled by `scale` model-input pixels per scene pixel.

use crate::geo::PixelBox;
use crate::inference::RawBox;
use crate::postprocess::Candidate;
use crate::tiling::Tile;

/// A box closer than this to an interior tile edge (in scene pixels) may be cut by it.
const EDGE_PX: f64 = 2.0;

/// The mapping between a tile's scene pixels and the model input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Placement {
    /// Model-input pixels per scene pixel.
    pub scale: f64,
}

impl Placement {
    /// Tiles of `tile_px` scene pixels into a model input whose shorter side is
    /// `model_side`.
    pub fn new(model_side: u32, tile_px: u32) -> Self {
        Placement {
            scale: f64::from(model_side) / f64::from(tile_px),
        }
    }

    /// The scale as the preprocessors take it.
    pub fn scale_f32(&self) -> f32 {
        self.scale as f32
    }

    /// Maps a box from model-input pixels to scene pixels, clipped to the tile's window,
    /// and marks it `clipped` when it reaches (within 2 scene pixels) a tile edge that lies
    /// inside the `scene_size` scene, where the object may continue in the next tile.
    pub fn scene_box(self, r: &RawBox, tile: &Tile, scene_size: (u32, u32)) -> Option<Candidate> {
        let w = tile.window;
        let inv = 1.0 / self.scale;
        let (x0, y0) = (f64::from(w.x), f64::from(w.y));
        let (xe, ye) = (w.x_end() as f64, w.y_end() as f64);
        let bx0 = (x0 + f64::from(r.x0) * inv).clamp(x0, xe);
        let by0 = (y0 + f64::from(r.y0) * inv).clamp(y0, ye);
        let bx1 = (x0 + f64::from(r.x1) * inv).clamp(x0, xe);
        let by1 = (y0 + f64::from(r.y1) * inv).clamp(y0, ye);
        let clipped = (w.x > 0 && bx0 <= x0 + EDGE_PX)
            || (w.y > 0 && by0 <= y0 + EDGE_PX)
            || (w.x_end() < u64::from(scene_size.0) && bx1 >= xe - EDGE_PX)
            || (w.y_end() < u64::from(scene_size.1) && by1 >= ye - EDGE_PX);
        (bx1 > bx0 && by1 > by0).then(|| Candidate {
            bbox: PixelBox::new(bx0, by0, bx1, by1),
            score: r.score,
            class_id: r.class_id,
            tile: tile.index,
            clipped,
        })
    }
}
