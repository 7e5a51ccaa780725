//! Model output boxes → scene candidates, through the one tile ↔ input mapping
//! ([`crate::preprocess::Placement`]).

use crate::geo::OrientedBox;
use crate::inference::RawBox;
use crate::postprocess::Candidate;
use crate::preprocess::Placement;
use crate::tiling::Tile;

/// A decoded box of `tile` as a candidate in scene pixels (see
/// [`Placement::scene_box`]); `None` when nothing of it is inside the tile, or for an
/// oriented box longer than twice the tile.
pub(crate) fn candidate(
    placement: Placement,
    r: &RawBox,
    tile: &Tile,
    scene_size: (u32, u32),
) -> Option<Candidate> {
    // An oriented box keeps its whole footprint (a rotated rectangle cut by the window
    // would no longer be a rectangle); its envelope is placed and clipped as a box is.
    let input_box = r.angle.map(|a| {
        OrientedBox::new(
            0.5 * f64::from(r.x0 + r.x1),
            0.5 * f64::from(r.y0 + r.y1),
            f64::from(r.x1 - r.x0),
            f64::from(r.y1 - r.y0),
            f64::from(a),
        )
    });
    // A footprint longer than twice the input is no object the model saw: left whole, it
    // would reach far outside its tile (and polygon clipping loses precision on it).
    let input_side = f64::from(tile.window.width.max(tile.window.height)) * placement.scale;
    if input_box.is_some_and(|o| o.width() > 2.0 * input_side) {
        return None;
    }
    let corners = match input_box {
        None => [r.x0, r.y0, r.x1, r.y1],
        Some(o) => {
            let e = o.envelope();
            [e.x0() as f32, e.y0() as f32, e.x1() as f32, e.y1() as f32]
        }
    };
    let (bbox, clipped) = placement.scene_box(corners, tile.window, scene_size)?;
    let oriented = input_box.map(|o| {
        o.placed(
            1.0 / placement.scale,
            f64::from(tile.window.x),
            f64::from(tile.window.y),
        )
    });
    Some(Candidate {
        bbox,
        oriented,
        score: r.score,
        class_id: r.class_id,
        tile: tile.index,
        clipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Window;

    fn raw(w: f32, h: f32, angle: Option<f32>) -> RawBox {
        RawBox {
            x0: 100.0 - 0.5 * w,
            y0: 60.0 - 0.5 * h,
            x1: 100.0 + 0.5 * w,
            y1: 60.0 + 0.5 * h,
            score: 0.9,
            class_id: 0,
            angle,
        }
    }

    #[test]
    fn oriented_boxes_are_placed_whole_and_absurd_ones_dropped() {
        // A 256 px tile at (200, 400) of a large scene, halved into a 128 px input.
        let window = Window::new(200, 400, 256, 256);
        let tile = Tile {
            index: 3,
            col: 1,
            row: 1,
            window,
            core: window,
        };
        let p = Placement::new(128, 256);
        let c = candidate(p, &raw(20.0, 8.0, Some(0.5)), &tile, (10_000, 10_000)).expect("kept");
        let o = c.oriented.expect("oriented");
        assert_eq!((o.center().x, o.center().y), (400.0, 520.0));
        assert_eq!((o.width(), o.height(), o.angle()), (40.0, 16.0, 0.5));
        // The envelope, placed through f32 input pixels as a box is.
        let (b, e) = (c.bbox.to_array(), o.envelope().to_array());
        assert!(
            b.iter().zip(e).all(|(x, y)| (x - y).abs() < 1e-3),
            "{b:?} {e:?}"
        );
        // Longer than twice the input: no object the model saw.
        assert!(candidate(p, &raw(300.0, 8.0, Some(0.5)), &tile, (10_000, 10_000)).is_none());
        // The same size axis-aligned is clipped to the tile as always.
        let a = candidate(p, &raw(300.0, 8.0, None), &tile, (10_000, 10_000)).expect("box");
        assert!(a.oriented.is_none() && a.bbox.x0() == 200.0 && a.clipped);
    }
}
