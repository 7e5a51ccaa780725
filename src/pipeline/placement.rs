//! Model output boxes → scene candidates, through the one tile ↔ input mapping
//! ([`crate::preprocess::Placement`]).

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
    let (bbox, clipped) = placement.scene_box([r.x0, r.y0, r.x1, r.y1], tile.window, scene_size)?;
    Some(Candidate {
        bbox,
        score: r.score,
        class_id: r.class_id,
        tile: tile.index,
        clipped,
    })
}
