//! Cutting a scene into overlapping tiles. Pure.
//!
//! Tiles start every `tile_px - overlap_px` pixels from the top-left corner; the last
//! tile in a row or column is clipped at the scene edge (and padded later, in the model
//! input), never skipped. Each tile also *owns* a core: the cores partition the scene, the
//! boundary between two neighbours lying in the middle of their overlap.

use crate::error::{Error, Result};
use crate::geo::PixelArea;
use crate::raster::Window;

/// A tile: the window to read and the core it owns, both in scene pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// Position in row-major order.
    pub index: usize,
    /// Column of the tile in the grid.
    pub col: u32,
    /// Row of the tile in the grid.
    pub row: u32,
    /// The scene pixels to read (clipped to the scene).
    pub window: Window,
    /// The part of the scene this tile owns.
    pub core: Window,
}

/// A grid of overlapping tiles over a scene.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileGrid {
    scene_w: u32,
    scene_h: u32,
    tile_px: u32,
    overlap_px: u32,
    cols: u32,
    rows: u32,
}

fn count(len: u32, tile: u32, stride: u32) -> u32 {
    1 + len.saturating_sub(tile).div_ceil(stride)
}

impl TileGrid {
    /// A grid of `tile_px`-square tiles overlapping by `overlap_px`.
    pub fn new(scene_w: u32, scene_h: u32, tile_px: u32, overlap_px: u32) -> Result<Self> {
        if scene_w == 0 || scene_h == 0 {
            return Err(Error::Config(format!(
                "cannot tile an empty {scene_w}x{scene_h} scene"
            )));
        }
        if tile_px == 0 || overlap_px >= tile_px {
            return Err(Error::Config(format!(
                "tile size {tile_px} px with overlap {overlap_px} px: the overlap must be smaller than the tile"
            )));
        }
        let stride = tile_px - overlap_px;
        Ok(TileGrid {
            scene_w,
            scene_h,
            tile_px,
            overlap_px,
            cols: count(scene_w, tile_px, stride),
            rows: count(scene_h, tile_px, stride),
        })
    }

    /// Tile side in pixels.
    pub fn tile_px(&self) -> u32 {
        self.tile_px
    }
    /// Overlap between neighbours in pixels.
    pub fn overlap_px(&self) -> u32 {
        self.overlap_px
    }
    /// Tiles per row.
    pub fn cols(&self) -> u32 {
        self.cols
    }
    /// Tiles per column.
    pub fn rows(&self) -> u32 {
        self.rows
    }
    /// Number of tiles.
    pub fn len(&self) -> usize {
        self.cols as usize * self.rows as usize
    }
    /// True when there are no tiles (never, for a valid grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn span(&self, i: u32, n: u32, len: u32) -> (u32, u32, u32, u32) {
        let stride = self.tile_px - self.overlap_px;
        let start = i * stride;
        let size = self.tile_px.min(len - start);
        let half = self.overlap_px / 2;
        let core0 = if i == 0 { 0 } else { start + half };
        let core1 = if i + 1 == n {
            len
        } else {
            (i + 1) * stride + half
        };
        (start, size, core0, core1 - core0)
    }

    /// Tile `index` in row-major order, or `None` past the end.
    pub fn tile(&self, index: usize) -> Option<Tile> {
        if index >= self.len() {
            return None;
        }
        let col = (index % self.cols as usize) as u32;
        let row = (index / self.cols as usize) as u32;
        let (x, w, cx, cw) = self.span(col, self.cols, self.scene_w);
        let (y, h, cy, ch) = self.span(row, self.rows, self.scene_h);
        Some(Tile {
            index,
            col,
            row,
            window: Window::new(x, y, w, h),
            core: Window::new(cx, cy, cw, ch),
        })
    }

    /// All tiles in row-major order.
    pub fn iter(&self) -> impl Iterator<Item = Tile> + '_ {
        (0..self.len()).filter_map(move |i| self.tile(i))
    }

    /// The area-of-interest filter: indices (row-major, ascending) of the tiles whose
    /// window (closed box, in scene pixels) meets `area`. Only rows and columns within the
    /// area's bounds are tested, each in O(log n) (see `PixelArea`).
    pub(crate) fn tiles_meeting(&self, area: &PixelArea) -> Vec<usize> {
        let [bx0, by0, bx1, by1] = area.bounds();
        // Tile spans along one axis that reach the bounds: (index, start, end).
        let spans = |n: u32, len: u32, lo: f64, hi: f64| -> Vec<(u32, f64, f64)> {
            (0..n)
                .map(|i| {
                    let (start, size, _, _) = self.span(i, n, len);
                    (i, f64::from(start), f64::from(start) + f64::from(size))
                })
                .filter(|&(_, a, b)| b >= lo && a <= hi)
                .collect()
        };
        let cols = spans(self.cols, self.scene_w, bx0, bx1);
        let mut out = Vec::new();
        for (row, y0, y1) in spans(self.rows, self.scene_h, by0, by1) {
            for &(col, x0, x1) in &cols {
                if area.meets_box(x0, y0, x1, y1) {
                    out.push(row as usize * self.cols as usize + col as usize);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_scene_is_one_clipped_tile() {
        let g = TileGrid::new(100, 50, 640, 128).expect("grid");
        assert_eq!(g.len(), 1);
        let t = g.tile(0).expect("tile");
        assert_eq!(t.window, Window::new(0, 0, 100, 50));
        assert_eq!(t.core, t.window);
    }

    #[test]
    fn overlap_not_smaller_than_tile_is_refused() {
        assert!(TileGrid::new(100, 100, 64, 64).is_err());
        assert!(TileGrid::new(0, 100, 64, 8).is_err());
    }

    /// The filter keeps exactly the tiles whose window meets the area, tested tile by tile.
    #[test]
    fn area_filter_keeps_the_tiles_meeting_the_area() {
        let g = TileGrid::new(1000, 700, 128, 28).expect("grid");
        // A thin diagonal band and a square with a hole.
        let band = vec![[0.0, 10.0], [10.0, 0.0], [990.0, 690.0], [980.0, 700.0]];
        let outer = vec![[600.0, 50.0], [900.0, 50.0], [900.0, 300.0], [600.0, 300.0]];
        let hole = vec![[640.0, 90.0], [860.0, 90.0], [860.0, 260.0], [640.0, 260.0]];
        let area = PixelArea::new(&[band, outer, hole]);
        let got = g.tiles_meeting(&area);
        let want: Vec<usize> = g
            .iter()
            .filter(|t| {
                let w = t.window;
                area.meets_box(
                    f64::from(w.x),
                    f64::from(w.y),
                    w.x_end() as f64,
                    w.y_end() as f64,
                )
            })
            .map(|t| t.index)
            .collect();
        assert_eq!(got, want);
        assert!(got.len() < g.len() && !got.is_empty());
        // A tile inside the hole is left out.
        let in_hole = g.iter().find(|t| {
            t.window.x > 640 && t.window.x_end() < 860 && t.window.y > 90 && t.window.y_end() < 260
        });
        let in_hole = in_hole.expect("a tile inside the hole");
        assert!(!got.contains(&in_hole.index));
    }

    proptest! {
        #[test]
        fn tiles_cover_partition_and_overlap(
            w in 1u32..3000, h in 1u32..3000, tile in 8u32..700, frac in 0.0f64..0.6,
        ) {
            let overlap = ((tile as f64) * frac) as u32;
            let g = TileGrid::new(w, h, tile, overlap).expect("grid");
            let mut core_area = 0u64;
            for t in g.iter() {
                // Inside the scene, at most a tile, never empty.
                prop_assert!(t.window.x_end() <= w as u64 && t.window.y_end() <= h as u64);
                prop_assert!(t.window.width >= 1 && t.window.width <= tile);
                prop_assert!(t.window.height >= 1 && t.window.height <= tile);
                // The core lies inside the window.
                prop_assert!(t.core.x >= t.window.x && t.core.x_end() <= t.window.x_end());
                prop_assert!(t.core.y >= t.window.y && t.core.y_end() <= t.window.y_end());
                core_area += t.core.pixels();
                // Neighbours overlap by exactly `overlap` pixels.
                if t.col + 1 < g.cols() {
                    let right = g.tile(t.index + 1).expect("right");
                    prop_assert_eq!(t.window.x_end() - right.window.x as u64, overlap as u64);
                    prop_assert_eq!(t.core.x_end(), right.core.x as u64);
                }
                if t.row + 1 < g.rows() {
                    let below = g.tile(t.index + g.cols() as usize).expect("below");
                    prop_assert_eq!(t.window.y_end() - below.window.y as u64, overlap as u64);
                    prop_assert_eq!(t.core.y_end(), below.core.y as u64);
                }
            }
            // Cores are disjoint (adjacent, checked above) and cover every pixel.
            prop_assert_eq!(core_area, w as u64 * h as u64);
            let last = g.tile(g.len() - 1).expect("last");
            prop_assert_eq!(last.window.x_end(), w as u64);
            prop_assert_eq!(last.window.y_end(), h as u64);
        }
    }
}
