//! Model output boxes → scene candidates, through the one tile ↔ input mapping
//! ([`crate::preprocess::Placement`]).

use crate::geo::OrientedBox;
use crate::inference::RawBox;
use crate::postprocess::Candidate;
use crate::preprocess::Placement;
use crate::tiling::Tile;

/// A decoded box of `tile` as a candidate in scene pixels (see
/// [`Placement::scene_box`]).
pub(crate) fn candidate(
    placement: Placement,
    r: &RawBox,
    tile: &Tile,
    scene_size: (u32, u32),
) -> Option<Candidate> {
    // An oriented box keeps its whole footprint (a rotated rectangle cut by the window
    // would no longer be a rectangle); its envelope is placed and clipped as a box is.
    let input_box = match r.angle {
        None => None,
        Some(a) => Some(OrientedBox::new(
            0.5 * f64::from(r.x0 + r.x1),
            0.5 * f64::from(r.y0 + r.y1),
            f64::from(r.x1 - r.x0),
            f64::from(r.y1 - r.y0),
            f64::from(a),
        )),
    };
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
