//! Drawing detections on pictures (the quick-look and the report's overview): each
//! detection's footprint, rotated for an oriented box, at least 3 output pixels wide so
//! that small vehicles stay visible.

use crate::detection::Detection;

/// Draws `d` on `img`; `to_out` maps scene pixels to output pixels and `scale` is scene
/// pixels per output pixel.
pub(crate) fn mark(
    img: &mut image::RgbImage,
    d: &Detection,
    to_out: impl Fn(f64, f64) -> (f64, f64),
    scale: f64,
    colour: [u8; 3],
) {
    match &d.oriented {
        // A rotated outline only where it is large enough to read as one.
        Some(o) if o.height() / scale >= 3.0 => {
            let ring = o.corners().map(|p| {
                let (x, y) = to_out(p.x, p.y);
                [x, y]
            });
            outline_polygon(img, &ring, colour);
        }
        _ => {
            let b = d.pixel_box;
            let (cx, cy) = to_out(b.center().x, b.center().y);
            let hw = (b.width() / scale / 2.0).max(1.5);
            let hh = (b.height() / scale / 2.0).max(1.5);
            outline_rect(img, [cx - hw, cy - hh, cx + hw, cy + hh], colour);
        }
    }
}

/// The outline of the rectangle `[x0, y0, x1, y1]` (output pixels, rounded outwards).
pub(crate) fn outline_rect(img: &mut image::RgbImage, r: [f64; 4], colour: [u8; 3]) {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let (x0, y0, x1, y1) = (
        r[0].floor() as i64,
        r[1].floor() as i64,
        r[2].ceil() as i64,
        r[3].ceil() as i64,
    );
    if x1 < 0 || y1 < 0 || x0 >= w || y0 >= h {
        return;
    }
    let mut put = |x: i64, y: i64| {
        if x >= 0 && y >= 0 && x < w && y < h {
            img.put_pixel(x as u32, y as u32, image::Rgb(colour));
        }
    };
    for x in x0.max(-1)..=x1.min(w) {
        put(x, y0);
        put(x, y1);
    }
    for y in y0.max(-1)..=y1.min(h) {
        put(x0, y);
        put(x1, y);
    }
}

/// The closed outline through `ring` (output pixels): each edge sampled at most half a
/// pixel apart, so it is unbroken at any angle. Edges far outside the picture are skipped
/// rather than walked.
pub(crate) fn outline_polygon(img: &mut image::RgbImage, ring: &[[f64; 2]], colour: [u8; 3]) {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        let outside = (a[0] < 0.0 && b[0] < 0.0)
            || (a[1] < 0.0 && b[1] < 0.0)
            || (a[0] >= w && b[0] >= w)
            || (a[1] >= h && b[1] >= h);
        let len = (b[0] - a[0]).hypot(b[1] - a[1]);
        if outside || !len.is_finite() || len > 4.0 * (w + h) {
            continue;
        }
        let steps = (len * 2.0).ceil().max(1.0) as u32;
        for s in 0..=steps {
            let t = f64::from(s) / f64::from(steps);
            let (x, y) = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]));
            if x >= 0.0 && y >= 0.0 && x < w && y < h {
                img.put_pixel(x as u32, y as u32, image::Rgb(colour));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{OrientedBox, PixelBox};
    use std::sync::Arc;

    fn det(o: Option<OrientedBox>, b: PixelBox) -> Detection {
        Detection {
            class_id: 0,
            class_name: Arc::from("car"),
            score: 0.9,
            pixel_box: b,
            oriented: o,
            map_polygon: None,
            lonlat_polygon: None,
        }
    }

    fn lit(img: &image::RgbImage) -> Vec<(u32, u32)> {
        img.enumerate_pixels()
            .filter(|(_, _, p)| p.0 != [0, 0, 0])
            .map(|(x, y, _)| (x, y))
            .collect()
    }

    #[test]
    fn an_oriented_box_is_drawn_along_its_rotated_edges() {
        // A 40 x 10 box at 45°: its outline passes through its corners and not through
        // the corners of its axis-aligned envelope.
        let o = OrientedBox::new(50.0, 50.0, 40.0, 10.0, 45f64.to_radians());
        let mut img = image::RgbImage::new(100, 100);
        mark(
            &mut img,
            &det(Some(o), o.envelope()),
            |x, y| (x, y),
            1.0,
            [255, 0, 0],
        );
        let on = lit(&img);
        for c in o.corners() {
            assert!(
                on.iter()
                    .any(|&(x, y)| (f64::from(x) + 0.5 - c.x).abs() <= 1.0
                        && (f64::from(y) + 0.5 - c.y).abs() <= 1.0),
                "corner {c:?} not drawn"
            );
        }
        let e = o.envelope();
        let corner = (e.x0() as u32, e.y0() as u32);
        assert!(!on.contains(&corner), "the envelope's corner is drawn");
        // Every lit pixel lies on the outline (within a pixel of an edge).
        let ring = o.corners();
        for &(x, y) in &on {
            let p = (f64::from(x) + 0.5, f64::from(y) + 0.5);
            let near = (0..4).any(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % 4]);
                let (dx, dy) = (b.x - a.x, b.y - a.y);
                let t =
                    (((p.0 - a.x) * dx + (p.1 - a.y) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                (a.x + t * dx - p.0).hypot(a.y + t * dy - p.1) <= 1.0
            });
            assert!(near, "({x}, {y}) is off the outline");
        }
    }

    #[test]
    fn an_axis_aligned_box_and_a_tiny_oriented_one_are_rectangles() {
        let b = PixelBox::new(10.0, 10.0, 30.0, 20.0);
        let mut a = image::RgbImage::new(50, 50);
        mark(&mut a, &det(None, b), |x, y| (x, y), 1.0, [9, 9, 9]);
        assert!(a.get_pixel(10, 10).0 == [9, 9, 9] && a.get_pixel(30, 20).0 == [9, 9, 9]);
        // Reduced 10x, a 4-pixel-wide rotated box is a 3-pixel mark.
        let o = OrientedBox::new(200.0, 200.0, 12.0, 4.0, 0.3);
        let mut c = image::RgbImage::new(50, 50);
        mark(
            &mut c,
            &det(Some(o), o.envelope()),
            |x, y| (x / 10.0, y / 10.0),
            10.0,
            [9, 9, 9],
        );
        assert!(!lit(&c).is_empty());
    }
}
