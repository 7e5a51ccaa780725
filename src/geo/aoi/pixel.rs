//! An area of interest placed on a scene: its ring edges in scene pixels, indexed in an
//! R-tree, so that "does this tile window meet the area" and "is this point inside" cost
//! O(log n + edges nearby), not O(vertices), for each of a scene's tens of thousands of
//! tiles. Pure.

use crate::geo::PixelPoint;
use rstar::primitives::Line;
use rstar::{RTree, AABB};

/// The area in continuous scene-pixel coordinates (exterior and hole rings alike: inside
/// means an odd number of ring crossings, whatever the orientation).
#[derive(Debug, Clone)]
pub(crate) struct PixelArea {
    edges: RTree<Line<[f64; 2]>>,
    /// `[x0, y0, x1, y1]` of every vertex.
    bounds: [f64; 4],
}

/// Whether the closed segment `a`–`b` meets the closed box (Liang–Barsky clipping).
fn segment_meets_box(a: [f64; 2], b: [f64; 2], lo: [f64; 2], hi: [f64; 2]) -> bool {
    let d = [b[0] - a[0], b[1] - a[1]];
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for k in 0..2 {
        for (p, q) in [(-d[k], a[k] - lo[k]), (d[k], hi[k] - a[k])] {
            if p == 0.0 {
                if q < 0.0 {
                    return false;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
    }
    t0 <= t1
}

impl PixelArea {
    /// From closed rings (`first == last` not required: each ring is closed here).
    pub fn new(rings: &[Vec<[f64; 2]>]) -> Self {
        let mut lines = Vec::new();
        let mut bounds = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for ring in rings {
            for (i, &a) in ring.iter().enumerate() {
                let b = ring[(i + 1) % ring.len()];
                if a != b {
                    lines.push(Line::new(a, b));
                }
                bounds = [
                    bounds[0].min(a[0]),
                    bounds[1].min(a[1]),
                    bounds[2].max(a[0]),
                    bounds[3].max(a[1]),
                ];
            }
        }
        PixelArea {
            edges: RTree::bulk_load(lines),
            bounds,
        }
    }

    /// `[x0, y0, x1, y1]` of the area (infinite bounds, inverted, when it is empty).
    pub fn bounds(&self) -> [f64; 4] {
        self.bounds
    }

    /// Whether `p` lies inside (crossing number along the ray towards +x).
    pub fn contains(&self, p: PixelPoint) -> bool {
        if !(p.x >= self.bounds[0]
            && p.x <= self.bounds[2]
            && p.y >= self.bounds[1]
            && p.y <= self.bounds[3])
        {
            return false;
        }
        let ray = AABB::from_corners([p.x, p.y], [self.bounds[2] + 1.0, p.y]);
        let mut inside = false;
        for e in self.edges.locate_in_envelope_intersecting(&ray) {
            let (a, b) = (e.from, e.to);
            // Half-open in y, so a vertex on the ray is counted once.
            if (a[1] > p.y) != (b[1] > p.y) {
                let x = a[0] + (p.y - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
                if x > p.x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Whether the box `[x0, x1] × [y0, y1]` (pixels) meets the area: an edge crosses or
    /// touches it, or (no edge near) it lies inside.
    pub fn meets_box(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> bool {
        let (lo, hi) = ([x0, y0], [x1, y1]);
        let env = AABB::from_corners(lo, hi);
        if self
            .edges
            .locate_in_envelope_intersecting(&env)
            .any(|e| segment_meets_box(e.from, e.to, lo, hi))
        {
            return true;
        }
        self.contains(PixelPoint {
            x: 0.5 * (x0 + x1),
            y: 0.5 * (y0 + y1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Intersects, Rect};
    use proptest::prelude::*;

    fn square_with_hole() -> (PixelArea, geo::Polygon<f64>) {
        let outer = vec![[0.0, 0.0], [100.0, 0.0], [100.0, 80.0], [0.0, 80.0]];
        let hole = vec![[40.0, 30.0], [40.0, 50.0], [60.0, 50.0], [60.0, 30.0]];
        let poly = geo::Polygon::new(
            outer
                .iter()
                .map(|c| (c[0], c[1]))
                .collect::<Vec<_>>()
                .into(),
            vec![hole.iter().map(|c| (c[0], c[1])).collect::<Vec<_>>().into()],
        );
        (PixelArea::new(&[outer, hole]), poly)
    }

    #[test]
    fn hole_and_outside() {
        let (a, _) = square_with_hole();
        assert!(a.contains(PixelPoint { x: 10.0, y: 10.0 }));
        assert!(!a.contains(PixelPoint { x: 50.0, y: 40.0 }), "in the hole");
        assert!(!a.contains(PixelPoint { x: 150.0, y: 40.0 }));
        assert!(!a.meets_box(45.0, 35.0, 55.0, 45.0), "box inside the hole");
        assert!(a.meets_box(-10.0, -10.0, 200.0, 200.0), "box around it all");
        assert!(a.meets_box(10.0, 10.0, 20.0, 20.0), "box inside");
        assert!(!a.meets_box(101.0, 0.0, 120.0, 20.0));
    }

    proptest! {
        /// Agrees with `geo`'s own predicates (an independent implementation).
        #[test]
        fn agrees_with_geo(x in -20.0f64..120.0, y in -20.0f64..100.0, w in 0.5f64..30.0, h in 0.5f64..30.0) {
            let (a, poly) = square_with_hole();
            let rect = Rect::new((x, y), (x + w, y + h));
            prop_assert_eq!(a.meets_box(x, y, x + w, y + h), poly.intersects(&rect));
            let p = geo::Point::new(x, y);
            // On the boundary either answer is right.
            let on_edge = [0.0, 100.0, 40.0, 60.0].contains(&x) || [0.0, 80.0, 30.0, 50.0].contains(&y);
            if !on_edge {
                prop_assert_eq!(a.contains(PixelPoint { x, y }), poly.intersects(&p));
            }
        }
    }
}
