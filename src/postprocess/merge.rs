//! Merging detections across tile seams.
//!
//! Neighbouring tiles overlap, so an object near a seam is seen twice: whole by both (two
//! near-identical boxes: IoU), or whole by one and cut by the other's edge (a box inside
//! the other: intersection over the *smaller* box, IoS). Both are suppressed in favour of
//! the better box. IoS applies only between boxes from different tiles, so two nested boxes
//! found in one tile are left to the per-tile NMS.
//!
//! "Better": a box that no interior tile edge cuts ([`Candidate::clipped`] false) before
//! one that may be cut, then by score. Otherwise a cut-off half that happens to score
//! higher would replace the whole object.
//!
//! Oriented boxes add one rule: an oriented box fitted to the visible part of a cut
//! object need not lie along the object (a corner cut off is a triangle, whose box turns),
//! so its overlap with the whole one can be small, and its class may differ (oriented-box
//! models such as DOTA's tell small from large vehicles by size, and a cut part looks
//! small). After the merge, an oriented box that may be cut is therefore dropped when an
//! uncut box of another tile, of any class, holds its centre in its footprint.

use super::nms::greedy;
use super::{rank, Candidate};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, RTreeObject};

/// Merges candidates from all tiles (already in scene pixels and NMS'd per tile).
pub fn merge_tiles(cands: Vec<Candidate>, iou: f64, ios: f64) -> Vec<Candidate> {
    let kept = greedy(
        cands,
        |a, b| a.clipped.cmp(&b.clipped).then_with(|| rank(a, b)),
        |k, c| k.iou(c) > iou || (k.tile != c.tile && k.ios(c) > ios),
    );
    drop_cut_parts(kept)
}

/// Drops the oriented boxes that may be cut whose centre lies in the footprint of an
/// uncut box of another tile, whatever its class. Uncut boxes are never dropped here, so
/// the result does not depend on order.
fn drop_cut_parts(mut kept: Vec<Candidate>) -> Vec<Candidate> {
    if !kept.iter().any(|c| c.clipped && c.oriented.is_some()) {
        return kept;
    }
    let rect = |c: &Candidate| {
        let b = c.bbox;
        Rectangle::from_corners([b.x0(), b.y0()], [b.x1(), b.y1()])
    };
    let uncut: Vec<Candidate> = kept.iter().filter(|c| !c.clipped).copied().collect();
    let tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>> = RTree::bulk_load(
        uncut
            .iter()
            .enumerate()
            .map(|(i, c)| GeomWithData::new(rect(c), i))
            .collect(),
    );
    kept.retain(|c| {
        !(c.clipped
            && c.oriented.is_some()
            && tree
                .locate_in_envelope_intersecting(&rect(c).envelope())
                .any(|e| {
                    let k = &uncut[e.data];
                    k.tile != c.tile && k.footprint().contains(c.center())
                }))
    });
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::PixelBox;
    use proptest::prelude::*;

    fn c(x0: f64, y0: f64, x1: f64, y1: f64, s: f32, tile: usize) -> Candidate {
        Candidate {
            bbox: PixelBox::new(x0, y0, x1, y1),
            oriented: None,
            score: s,
            class_id: 0,
            tile,
            clipped: false,
        }
    }

    #[test]
    fn box_cut_by_a_seam_is_reported_once_and_whole() {
        // Tile 0 sees the whole car; tile 1's left edge at x = 100 cuts it, and the cut
        // half scores higher: the whole box must win.
        let whole = c(95.0, 10.0, 110.0, 16.0, 0.8, 0);
        let cut = Candidate {
            clipped: true,
            ..c(100.0, 10.0, 110.0, 16.0, 0.9, 1)
        };
        assert!(whole.bbox.iou(&cut.bbox) < 0.7, "IoU alone would keep both");
        let out = merge_tiles(vec![cut, whole], 0.5, 0.7);
        assert_eq!(out, vec![whole]);
    }

    #[test]
    fn nested_boxes_within_one_tile_are_kept() {
        let out = merge_tiles(
            vec![
                c(0.0, 0.0, 40.0, 40.0, 0.8, 3),
                c(5.0, 5.0, 12.0, 12.0, 0.9, 3),
            ],
            0.5,
            0.7,
        );
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn hundred_thousand_boxes_merge() {
        // 100k boxes on a grid, each seen twice (two tiles): half must go. Speed is the
        // `merge` benchmark's business; this checks the result at that scale.
        let mut v = Vec::with_capacity(100_000);
        for i in 0..50_000u32 {
            let (x, y) = (f64::from(i % 250) * 20.0, f64::from(i / 250) * 20.0);
            v.push(c(x, y, x + 12.0, y + 6.0, 0.5 + (i % 7) as f32 * 0.01, 0));
            v.push(c(x + 0.5, y, x + 12.0, y + 6.0, 0.4, 1));
        }
        let out = merge_tiles(v, 0.5, 0.7);
        assert_eq!(out.len(), 50_000);
        assert!(out.iter().all(|d| d.tile == 0));
    }

    /// A 20 x 8 oriented box centred at (x, y), turned by `deg`.
    fn obb(x: f64, y: f64, w: f64, deg: f64, s: f32, tile: usize, clipped: bool) -> Candidate {
        let o = crate::geo::OrientedBox::new(x, y, w, 8.0, deg.to_radians());
        Candidate {
            bbox: o.envelope(),
            oriented: Some(o),
            score: s,
            class_id: 0,
            tile,
            clipped,
        }
    }

    #[test]
    fn an_oriented_box_cut_by_a_seam_is_reported_once_and_whole() {
        // Tile 0 sees the whole car at 30°; tile 1 sees its right two thirds (a shorter
        // box along the same axis, clipped) with a higher score: the whole one is kept.
        let whole = obb(100.0, 50.0, 24.0, 30.0, 0.7, 0, false);
        let d = 4.0;
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        let cut = obb(100.0 + d * c, 50.0 + d * s, 16.0, 30.0, 0.9, 1, true);
        assert!(whole.iou(&cut) < 0.7, "IoU alone would keep both");
        assert_eq!(merge_tiles(vec![cut, whole], 0.5, 0.7), vec![whole]);
    }

    /// The merge ignores tile order, is idempotent and keeps a subset.
    fn check_merge(cands: Vec<Candidate>) -> Result<(), TestCaseError> {
        let a = merge_tiles(cands.clone(), 0.5, 0.7);
        let mut shuffled = cands.clone();
        shuffled.sort_by_key(|c| std::cmp::Reverse(c.tile));
        prop_assert_eq!(merge_tiles(shuffled, 0.5, 0.7), a.clone());
        prop_assert_eq!(merge_tiles(a.clone(), 0.5, 0.7), a.clone());
        for o in &a {
            prop_assert!(cands.contains(o));
        }
        Ok(())
    }

    #[test]
    fn a_turned_box_on_a_cut_corner_gives_way_to_the_whole_object() {
        // Tile 1 cut off the car's corner; the box fitted to that triangle turns away from
        // the car and overlaps it by less than the IoS threshold, but its centre is on the
        // car: it is the car, not a second object.
        let whole = obb(100.0, 50.0, 28.0, 45.0, 0.6, 0, false);
        let corner = obb(93.5, 45.0, 15.0, 80.0, 0.9, 1, true);
        assert!(whole.ios(&corner) < 0.7, "{}", whole.ios(&corner));
        assert_eq!(merge_tiles(vec![corner, whole], 0.5, 0.7), vec![whole]);
        // Of another class (a cut part looks small): the same.
        let small = Candidate {
            class_id: 1,
            ..corner
        };
        assert_eq!(merge_tiles(vec![small, whole], 0.5, 0.7), vec![whole]);
        // Uncut, or from the same tile, it stays a second object.
        let uncut = Candidate {
            clipped: false,
            ..corner
        };
        assert_eq!(merge_tiles(vec![uncut, whole], 0.5, 0.7).len(), 2);
        let same_tile = Candidate { tile: 0, ..corner };
        assert_eq!(merge_tiles(vec![same_tile, whole], 0.5, 0.7).len(), 2);
    }

    proptest! {
        #[test]
        fn oriented_merge_is_independent_of_tile_order(
            boxes in prop::collection::vec((0.0f64..200.0, 0.0f64..200.0, 4.0f64..30.0, 0.0f64..180.0, 0.05f32..1.0, 0usize..4, any::<bool>()), 0..40)
        ) {
            // Envelopes clipped to windows on a 25 px grid, as tiles clip them: several
            // footprints then share one clipped box and only the footprint tells them apart.
            check_merge(boxes.into_iter().map(|(x, y, w, a, s, t, cut)| {
                let o = obb(x, y, w, a, s, t, cut);
                let e = o.bbox;
                let (wx, wy) = ((x / 25.0).floor() * 25.0, (y / 25.0).floor() * 25.0);
                Candidate { bbox: PixelBox::new(e.x0().max(wx), e.y0().max(wy), e.x1(), e.y1()), ..o }
            }).collect())?;
        }

        #[test]
        fn independent_of_tile_order(
            boxes in prop::collection::vec((0.0f64..300.0, 0.0f64..300.0, 2.0f64..40.0, 2.0f64..40.0, 0.05f32..1.0, 0usize..4, any::<bool>()), 0..50)
        ) {
            check_merge(boxes.into_iter().map(|(x, y, w, h, s, t, cut)| Candidate { clipped: cut, ..c(x, y, x + w, y + h, s, t) }).collect())?;
        }
    }
}
