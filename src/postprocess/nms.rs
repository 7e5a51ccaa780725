//! Greedy class-aware non-maximum suppression over an R-tree, so that each candidate is
//! compared only with kept boxes it touches (not O(n²)).

use super::{rank, Candidate};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Keeps the best candidates in `order`: a candidate is dropped when
/// `suppress(kept, candidate)` holds for a kept box of the same class that it intersects.
pub(crate) fn greedy(
    mut cands: Vec<Candidate>,
    order: impl Fn(&Candidate, &Candidate) -> std::cmp::Ordering,
    suppress: impl Fn(&Candidate, &Candidate) -> bool,
) -> Vec<Candidate> {
    cands.sort_by(order);
    // One tree per class keeps queries to same-class boxes.
    let mut trees: std::collections::HashMap<u32, RTree<Entry>> = std::collections::HashMap::new();
    let mut kept: Vec<Candidate> = Vec::with_capacity(cands.len());
    for c in cands {
        let b = c.bbox;
        let env = AABB::from_corners([b.x0(), b.y0()], [b.x1(), b.y1()]);
        let tree = trees.entry(c.class_id).or_default();
        let hit = tree
            .locate_in_envelope_intersecting(&env)
            .any(|e| suppress(&kept[e.data], &c));
        if !hit {
            tree.insert(GeomWithData::new(
                Rectangle::from_corners([b.x0(), b.y0()], [b.x1(), b.y1()]),
                kept.len(),
            ));
            kept.push(c);
        }
    }
    kept
}

/// Class-aware NMS: drops a candidate whose IoU with a better-ranked kept box of its class
/// exceeds `iou`.
pub fn nms(cands: Vec<Candidate>, iou: f64) -> Vec<Candidate> {
    greedy(cands, rank, |k, c| k.iou(c) > iou)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::PixelBox;
    use proptest::prelude::*;

    fn c(x: f64, y: f64, s: f32, class_id: u32) -> Candidate {
        Candidate {
            bbox: PixelBox::new(x, y, x + 10.0, y + 10.0),
            oriented: None,
            score: s,
            class_id,
            tile: 0,
            clipped: false,
        }
    }

    #[test]
    fn overlapping_same_class_keeps_the_best() {
        let out = nms(
            vec![
                c(0.0, 0.0, 0.5, 0),
                c(1.0, 1.0, 0.9, 0),
                c(50.0, 0.0, 0.4, 0),
            ],
            0.5,
        );
        assert_eq!(out, vec![c(1.0, 1.0, 0.9, 0), c(50.0, 0.0, 0.4, 0)]);
    }

    #[test]
    fn classes_do_not_suppress_each_other() {
        let out = nms(vec![c(0.0, 0.0, 0.5, 0), c(0.0, 0.0, 0.9, 1)], 0.5);
        assert_eq!(out.len(), 2);
    }

    /// A 15 x 6 car centred at (x, y), turned by `deg`.
    fn car(x: f64, y: f64, deg: f64, s: f32) -> Candidate {
        let o = crate::geo::OrientedBox::new(x, y, 15.0, 6.0, deg.to_radians());
        Candidate {
            bbox: o.envelope(),
            oriented: Some(o),
            score: s,
            class_id: 0,
            tile: 0,
            clipped: false,
        }
    }

    #[test]
    fn a_diagonal_row_of_parked_cars_survives_as_oriented_boxes() {
        // Five cars side by side at 45°, 6.5 px apart across their 6 px sides: as
        // oriented boxes none overlaps its neighbour; their envelopes overlap by IoU 0.31,
        // enough for NMS at 0.3 to delete real cars.
        let step = 6.5 / 2f64.sqrt();
        let row: Vec<Candidate> = (0..5)
            .map(|i| {
                car(
                    100.0 - step * i as f64,
                    100.0 + step * i as f64,
                    45.0,
                    0.9 - 0.01 * i as f32,
                )
            })
            .collect();
        assert!(row[0].bbox.iou(&row[1].bbox) > 0.3);
        assert_eq!(nms(row.clone(), 0.3).len(), 5);
        let boxes: Vec<Candidate> = row
            .iter()
            .map(|c| Candidate {
                oriented: None,
                ..*c
            })
            .collect();
        assert!(
            nms(boxes, 0.3).len() < 5,
            "the envelopes were expected to suppress"
        );
        // The same car seen twice, slightly shifted and turned: one is kept.
        let twice = vec![car(50.0, 50.0, 30.0, 0.8), car(50.6, 50.3, 32.0, 0.9)];
        assert_eq!(nms(twice, 0.5), vec![car(50.6, 50.3, 32.0, 0.9)]);
    }

    /// NMS keeps a subset, is idempotent and ignores input order, and no two kept boxes
    /// of one class overlap beyond the threshold (footprints for oriented boxes).
    fn check_nms(cands: Vec<Candidate>) -> Result<(), TestCaseError> {
        let out = nms(cands.clone(), 0.5);
        for o in &out {
            prop_assert!(cands.contains(o));
        }
        prop_assert_eq!(nms(out.clone(), 0.5), out.clone());
        let mut rev = cands.clone();
        rev.reverse();
        prop_assert_eq!(nms(rev, 0.5), out.clone());
        for (i, a) in out.iter().enumerate() {
            for b in &out[i + 1..] {
                prop_assert!(a.class_id != b.class_id || a.iou(b) <= 0.5);
            }
        }
        Ok(())
    }

    fn arb_cands() -> impl Strategy<Value = Vec<Candidate>> {
        prop::collection::vec((0.0f64..200.0, 0.0f64..200.0, 0.01f32..1.0, 0u32..3), 0..60)
            .prop_map(|v| v.into_iter().map(|(x, y, s, k)| c(x, y, s, k)).collect())
    }

    proptest! {
        #[test]
        fn output_is_a_subset_idempotent_and_order_free(cands in arb_cands()) {
            check_nms(cands)?;
        }

        #[test]
        fn oriented_nms_is_a_subset_idempotent_and_order_free(
            cars in prop::collection::vec((0.0f64..120.0, 0.0f64..120.0, 0.0f64..180.0, 0.01f32..1.0), 0..40)
        ) {
            check_nms(cars.into_iter().map(|(x, y, a, s)| car(x, y, a, s)).collect())?;
        }
    }
}
