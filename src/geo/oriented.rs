//! Oriented (rotated) boxes in scene pixels: the footprint an oriented-box detector
//! (YOLO-OBB) gives, and the overlap measures NMS and seam merging use on them.

use super::{bounds, ios_of, iou_of, PixelBox, PixelPoint};
use geo::{Area, BooleanOps, Coord, LineString, Polygon};
use std::f64::consts::PI;

/// A rectangle of `w` x `h` scene pixels centred on (`cx`, `cy`), turned by `angle`
/// radians. Pixel rows run down, so a positive angle turns the `w` side from the +x
/// (column) axis towards +y: clockwise as the image is seen on screen (the Ultralytics OBB
/// convention). Kept canonical by [`OrientedBox::new`]: `w >= h` and `angle` in [0, π),
/// so one footprint has one value.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(from = "[f64; 5]", into = "[f64; 5]"))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrientedBox {
    cx: f64,
    cy: f64,
    w: f64,
    h: f64,
    angle: f64,
}

impl OrientedBox {
    /// A box from its centre, side lengths and angle (radians, clockwise on screen). The
    /// sides are swapped (and the angle turned by 90°) so that `w >= h`, and the angle is
    /// reduced to [0, π) (a rectangle turned by 180° is the same rectangle; a square's to
    /// [0, π/2)). Callers pass finite values and positive sides (the decoder, the journal
    /// and the readers check them).
    pub fn new(cx: f64, cy: f64, w: f64, h: f64, angle: f64) -> Self {
        let (w, h, angle) = if h > w {
            (h, w, angle + 0.5 * PI)
        } else {
            (w, h, angle)
        };
        // A square is the same square turned by 90°.
        let period = if w == h { 0.5 * PI } else { PI };
        // `+ 0.0` turns -0 into 0.
        let mut angle = angle.rem_euclid(period) + 0.0;
        // rem_euclid can round up to the period itself for tiny negative angles.
        if angle >= period {
            angle = 0.0;
        }
        OrientedBox {
            cx,
            cy,
            w,
            h,
            angle,
        }
    }

    /// The axis-aligned box as an oriented one (angle 0).
    pub fn from_box(b: &PixelBox) -> Self {
        let c = b.center();
        OrientedBox::new(c.x, c.y, b.width(), b.height(), 0.0)
    }

    /// The centre.
    pub fn center(&self) -> PixelPoint {
        PixelPoint {
            x: self.cx,
            y: self.cy,
        }
    }
    /// The longer side in pixels.
    pub fn width(&self) -> f64 {
        self.w
    }
    /// The shorter side in pixels.
    pub fn height(&self) -> f64 {
        self.h
    }
    /// The angle of the longer side in radians, in [0, π), clockwise on screen from the
    /// +x (column) axis.
    pub fn angle(&self) -> f64 {
        self.angle
    }
    /// [`OrientedBox::angle`] in degrees, in [0, 180).
    pub fn angle_deg(&self) -> f64 {
        self.angle.to_degrees()
    }
    /// `[cx, cy, w, h, angle]`.
    pub fn to_array(&self) -> [f64; 5] {
        [self.cx, self.cy, self.w, self.h, self.angle]
    }
    /// Area in square pixels.
    pub fn area(&self) -> f64 {
        self.w * self.h
    }

    /// The four corners in ring order: the box's own TL, TR, BR, BL (for angle 0 exactly
    /// [`PixelBox::corners`]).
    pub fn corners(&self) -> [PixelPoint; 4] {
        let (s, c) = self.angle.sin_cos();
        // Half-side vectors along the box's width and height.
        let (ux, uy) = (0.5 * self.w * c, 0.5 * self.w * s);
        let (vx, vy) = (-0.5 * self.h * s, 0.5 * self.h * c);
        let p = |a: f64, b: f64| PixelPoint {
            x: self.cx + a * ux + b * vx,
            y: self.cy + a * uy + b * vy,
        };
        [p(-1.0, -1.0), p(1.0, -1.0), p(1.0, 1.0), p(-1.0, 1.0)]
    }

    /// Whether `p` lies inside (or on the edge of) the footprint.
    pub fn contains(&self, p: PixelPoint) -> bool {
        let (s, c) = self.angle.sin_cos();
        let (dx, dy) = (p.x - self.cx, p.y - self.cy);
        // `p` in the box's own axes.
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        u.abs() <= 0.5 * self.w && v.abs() <= 0.5 * self.h
    }

    /// The smallest axis-aligned box holding the corners.
    pub fn envelope(&self) -> PixelBox {
        let [x0, y0, x1, y1] = bounds(self.corners().map(|p| [p.x, p.y]));
        PixelBox::new(x0, y0, x1, y1)
    }

    /// The same footprint `dx`, `dy` pixels further and `scale` times larger about the
    /// origin: the tile → scene mapping.
    pub fn placed(&self, scale: f64, dx: f64, dy: f64) -> Self {
        OrientedBox {
            cx: dx + self.cx * scale,
            cy: dy + self.cy * scale,
            w: self.w * scale,
            h: self.h * scale,
            angle: self.angle,
        }
    }

    /// Area of the intersection with `other` (0 when disjoint): polygon clipping by
    /// `geo`'s boolean operations.
    pub fn intersection_area(&self, other: &OrientedBox) -> f64 {
        if !self.envelope().intersects(&other.envelope()) {
            return 0.0;
        }
        // Axis-aligned pairs need no clipping (and stay exact).
        if self.angle == 0.0 && other.angle == 0.0 {
            return self.envelope().intersection_area(&other.envelope());
        }
        let ring = |o: &OrientedBox| o.corners().map(|p| [p.x, p.y]);
        quad_intersection_area(&ring(self), &ring(other))
    }

    /// Intersection over union.
    pub fn iou(&self, other: &OrientedBox) -> f64 {
        iou_of(self.intersection_area(other), self.area(), other.area())
    }

    /// Intersection over the smaller box's area: 1 when one box lies inside the other.
    pub fn ios(&self, other: &OrientedBox) -> f64 {
        ios_of(self.intersection_area(other), self.area(), other.area())
    }
}

fn quad(q: &[[f64; 2]; 4]) -> Polygon<f64> {
    let ring: Vec<Coord<f64>> = q.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
    Polygon::new(LineString::from(ring), Vec::new())
}

/// Area of the intersection of two quadrilaterals given by their corners in ring order,
/// in any plane (scene pixels, or metres on a map plane): polygon clipping by `geo`'s
/// boolean operations, which work in fixed point (areas agree to about 1e-9 relative).
pub(crate) fn quad_intersection_area(a: &[[f64; 2]; 4], b: &[[f64; 2]; 4]) -> f64 {
    quad(a).intersection(&quad(b)).unsigned_area()
}

/// Area of a quadrilateral given by its corners in ring order.
pub(crate) fn quad_area(q: &[[f64; 2]; 4]) -> f64 {
    quad(q).unsigned_area()
}

impl From<[f64; 5]> for OrientedBox {
    /// `[cx, cy, w, h, angle]` (as [`OrientedBox::new`]).
    fn from(v: [f64; 5]) -> Self {
        OrientedBox::new(v[0], v[1], v[2], v[3], v[4])
    }
}

impl From<OrientedBox> for [f64; 5] {
    fn from(b: OrientedBox) -> Self {
        b.to_array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn canonical_form() {
        let b = OrientedBox::new(10.0, 20.0, 4.0, 12.0, 0.0);
        assert_eq!((b.width(), b.height()), (12.0, 4.0));
        assert!(close(b.angle(), 0.5 * PI, 1e-12));
        let c = OrientedBox::new(10.0, 20.0, 12.0, 4.0, -0.25 * PI);
        assert!(close(c.angle(), 0.75 * PI, 1e-12));
        let d = OrientedBox::new(0.0, 0.0, 12.0, 4.0, PI + 0.1);
        assert!(close(d.angle(), 0.1, 1e-12));
    }

    #[test]
    fn corners_at_angle_zero_are_the_pixel_box_corners() {
        let pb = PixelBox::new(2.0, 3.0, 10.0, 7.0);
        let ob = OrientedBox::from_box(&pb);
        for (a, b) in ob.corners().iter().zip(pb.corners()) {
            assert!(close(a.x, b.x, 1e-12) && close(a.y, b.y, 1e-12));
        }
        assert_eq!(ob.envelope(), pb);
    }

    #[test]
    fn a_positive_angle_turns_clockwise_on_screen() {
        // 90°: the long side runs down the rows.
        let b = OrientedBox::new(0.0, 0.0, 10.0, 2.0, 0.5 * PI);
        let e = b.envelope();
        assert!(close(e.width(), 2.0, 1e-9) && close(e.height(), 10.0, 1e-9));
        // 30°: the box's right end (+w/2 along its axis) is lower (larger y) than its left.
        let b = OrientedBox::new(0.0, 0.0, 10.0, 2.0, 30f64.to_radians());
        let c = b.corners();
        let right = PixelPoint {
            x: 0.5 * (c[1].x + c[2].x),
            y: 0.5 * (c[1].y + c[2].y),
        };
        assert!(close(right.x, 5.0 * 30f64.to_radians().cos(), 1e-9));
        assert!(close(right.y, 2.5, 1e-9));
    }

    #[test]
    fn diagonal_neighbours_overlap_little_as_oriented_boxes() {
        // Two cars parked side by side at 45°, half a pixel apart: they do not overlap,
        // their axis-aligned envelopes overlap by about a third.
        let a = OrientedBox::new(0.0, 0.0, 15.0, 6.0, 0.25 * PI);
        let d = 6.5 / 2f64.sqrt();
        let b = OrientedBox::new(-d, d, 15.0, 6.0, 0.25 * PI);
        assert!(a.iou(&b) < 1e-6, "{}", a.iou(&b));
        assert!(a.envelope().iou(&b.envelope()) > 0.3);
    }

    #[test]
    fn contains_follows_the_rotation() {
        let b = OrientedBox::new(0.0, 0.0, 20.0, 4.0, 0.5 * PI);
        assert!(b.contains(PixelPoint { x: 0.0, y: 9.0 }));
        assert!(!b.contains(PixelPoint { x: 9.0, y: 0.0 }));
    }

    #[test]
    fn crossing_boxes_intersect_in_a_square() {
        let a = OrientedBox::new(0.0, 0.0, 20.0, 4.0, 0.0);
        let b = OrientedBox::new(0.0, 0.0, 20.0, 4.0, 0.5 * PI);
        assert!(close(a.intersection_area(&b), 16.0, 1e-9));
        assert!(close(a.ios(&b), 16.0 / 80.0, 1e-9));
    }

    proptest! {
        #[test]
        fn overlap_measures_are_symmetric_and_bounded(
            a in (-50.0f64..50.0, -50.0f64..50.0, 1.0f64..40.0, 1.0f64..40.0, -7.0f64..7.0),
            b in (-50.0f64..50.0, -50.0f64..50.0, 1.0f64..40.0, 1.0f64..40.0, -7.0f64..7.0),
        ) {
            let a = OrientedBox::new(a.0, a.1, a.2, a.3, a.4);
            let b = OrientedBox::new(b.0, b.1, b.2, b.3, b.4);
            let (ab, ba) = (a.intersection_area(&b), b.intersection_area(&a));
            // geo's clipping works in fixed point: areas agree to about 1e-9 relative.
            prop_assert!((ab - ba).abs() <= 1e-6 * a.area().max(b.area()));
            prop_assert!(ab <= a.area().min(b.area()) * (1.0 + 1e-6));
            prop_assert!((0.0..=1.0).contains(&a.iou(&b)));
            prop_assert!((a.iou(&a) - 1.0).abs() < 1e-6);
            // The envelope holds every corner.
            let e = a.envelope();
            for c in a.corners() {
                prop_assert!(c.x >= e.x0() - 1e-9 && c.x <= e.x1() + 1e-9);
                prop_assert!(c.y >= e.y0() - 1e-9 && c.y <= e.y1() + 1e-9);
            }
            // A turn by π, or swapping the sides with a quarter turn, is the same box.
            let same = OrientedBox::new(a.cx, a.cy, a.h, a.w, a.angle + 1.5 * PI);
            prop_assert!((same.iou(&a) - 1.0).abs() < 1e-6, "{:?} {:?}", a, same);
        }
    }
}
