//! Where a tile sits in the model input, and the way back: the one place that knows the
//! tile → model-input mapping (the tile's top-left corner at the input's top-left, scaled
//! by `scale` model-input pixels per scene pixel) and its inverse.

use crate::geo::PixelBox;
use crate::raster::Window;

/// A box closer than this to an interior tile edge (in scene pixels) may be cut by it.
const EDGE_PX: f64 = 2.0;

/// The mapping between a tile's scene pixels and the model input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Model-input pixels per scene pixel (1: fed as is; 0.5: tiles halved).
    pub scale: f64,
}

impl Placement {
    /// Tiles of `tile_px` scene pixels into a model input whose shorter side is
    /// `model_side`.
    pub fn new(model_side: u32, tile_px: u32) -> Self {
        Placement {
            scale: f64::from(model_side) / f64::from(tile_px.max(1)),
        }
    }

    /// The scale as the preprocessors take it.
    pub fn scale_f32(self) -> f32 {
        self.scale as f32
    }

    /// Forward: the top-left `out_w` × `out_h` region of an `input_w` × `input_h` model
    /// input that a `tile_w` × `tile_h` window fills.
    pub fn input_region(self, tile_w: u32, tile_h: u32, input_w: u32, input_h: u32) -> (u32, u32) {
        let ow = ((f64::from(tile_w) * self.scale).round() as u32).clamp(1, input_w.max(1));
        let oh = ((f64::from(tile_h) * self.scale).round() as u32).clamp(1, input_h.max(1));
        (ow, oh)
    }

    /// Inverse: a box `[x0, y0, x1, y1]` in model-input pixels → scene pixels, clipped to
    /// the tile's `window`, with whether it reaches (within 2 scene pixels) a window edge
    /// that lies inside the `scene_size` scene, where the object may continue in the next
    /// tile. `None` when nothing of it is left inside the window.
    pub fn scene_box(
        self,
        b: [f32; 4],
        window: Window,
        scene_size: (u32, u32),
    ) -> Option<(PixelBox, bool)> {
        let w = window;
        let inv = 1.0 / self.scale;
        let (x0, y0) = (f64::from(w.x), f64::from(w.y));
        let (xe, ye) = (w.x_end() as f64, w.y_end() as f64);
        let bx0 = (x0 + f64::from(b[0]) * inv).clamp(x0, xe);
        let by0 = (y0 + f64::from(b[1]) * inv).clamp(y0, ye);
        let bx1 = (x0 + f64::from(b[2]) * inv).clamp(x0, xe);
        let by1 = (y0 + f64::from(b[3]) * inv).clamp(y0, ye);
        let clipped = (w.x > 0 && bx0 <= x0 + EDGE_PX)
            || (w.y > 0 && by0 <= y0 + EDGE_PX)
            || (w.x_end() < u64::from(scene_size.0) && bx1 >= xe - EDGE_PX)
            || (w.y_end() < u64::from(scene_size.1) && by1 >= ye - EDGE_PX);
        (bx1 > bx0 && by1 > by0).then(|| (PixelBox::new(bx0, by0, bx1, by1), clipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A box inside the region a tile fills maps back onto the scene within a pixel.
        #[test]
        fn forward_then_back_is_the_identity(
            tile in 8u32..2000, side in 8u32..2000, x in 0u32..5000, y in 0u32..5000,
            fx in 0.0f64..1.0, fy in 0.0f64..1.0,
        ) {
            let p = Placement::new(side, tile);
            let win = Window::new(x, y, tile, tile);
            let (ow, oh) = p.input_region(tile, tile, side, side);
            prop_assert!(ow <= side && oh <= side);
            // A 1x1 scene-pixel box at (fx, fy) of the tile, in input pixels.
            let (sx, sy) = (fx * f64::from(tile - 1), fy * f64::from(tile - 1));
            let b = [(sx * p.scale) as f32, (sy * p.scale) as f32, ((sx + 1.0) * p.scale) as f32, ((sy + 1.0) * p.scale) as f32];
            let (back, _) = p.scene_box(b, win, (100_000, 100_000)).expect("inside");
            let tol = 1e-3 * f64::from(tile.max(side));
            prop_assert!((back.x0() - (f64::from(x) + sx)).abs() < tol, "{:?}", back);
            prop_assert!((back.y1() - (f64::from(y) + sy + 1.0)).abs() < tol, "{:?}", back);
        }
    }
}
