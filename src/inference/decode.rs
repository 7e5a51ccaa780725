//! Decoding detector outputs into boxes. Pure: a tensor in, boxes out, in the layout
//! [`super::layout`] worked out ([`Layout`]).

use super::layout::Layout;
use crate::error::{Error, Result};

/// A decoded box in model-input pixels. An oriented box is the rectangle `x0..x1` x
/// `y0..y1` turned by `angle` about its centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawBox {
    /// Left.
    pub x0: f32,
    /// Top.
    pub y0: f32,
    /// Right.
    pub x1: f32,
    /// Bottom.
    pub y1: f32,
    /// Confidence in [0, 1].
    pub score: f32,
    /// Class index.
    pub class_id: u32,
    /// Radians, clockwise on screen from the +x axis, for an oriented box ([`Layout::Obb`]);
    /// `None` for an axis-aligned one.
    pub angle: Option<f32>,
}
/// The first class with the highest score in one box's class scores, and that score.
fn best_class(scores: &[f32]) -> (usize, f32) {
    scores.iter().enumerate().fold(
        (0, f32::MIN),
        |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc },
    )
}

/// Decodes image `b` of a batch output (`data` row-major with `shape`), appending the boxes
/// scoring at least `conf` to `out`. Boxes with zero or negative size are dropped; a
/// non-finite value anywhere in the image's output, or a class index out of range in an
/// end-to-end output, is an error.
pub fn decode_batch(
    layout: Layout,
    data: &[f32],
    shape: [usize; 3],
    b: usize,
    conf: f32,
    out: &mut Vec<RawBox>,
) -> Result<()> {
    let per = shape[1] * shape[2];
    if data.len() < (b + 1) * per {
        return Err(Error::model(
            "",
            format!(
                "the output of {} values is too short for image {b} of shape {shape:?}",
                data.len()
            ),
        ));
    }
    let img = &data[b * per..(b + 1) * per];
    // NaN or ±inf anywhere is a broken model (or a broken export), never "no detections":
    // NaN fails every threshold and +inf passes every one.
    if let Some(i) = img.iter().position(|v| !v.is_finite()) {
        let bad = img.iter().filter(|v| !v.is_finite()).count();
        return Err(Error::model(
            "",
            format!(
                "the output holds {bad} non-finite value(s) (NaN or ±inf) for image {b} of the batch, the first {} at flat index {i} of shape {shape:?}",
                img[i]
            ),
        ));
    }
    let push = |out: &mut Vec<RawBox>,
                cx: f32,
                cy: f32,
                w: f32,
                h: f32,
                score: f32,
                class_id: u32,
                angle: Option<f32>| {
        if w.is_finite() && h.is_finite() && cx.is_finite() && cy.is_finite() && w > 0.0 && h > 0.0
        {
            out.push(RawBox {
                x0: cx - 0.5 * w,
                y0: cy - 0.5 * h,
                x1: cx + 0.5 * w,
                y1: cy + 0.5 * h,
                score,
                class_id,
                angle,
            });
        }
    };
    match layout {
        Layout::V8 { classes } | Layout::Obb { classes } => {
            // The oriented layout is v8's plus one angle row at the end.
            let oriented = matches!(layout, Layout::Obb { .. });
            let n = shape[2];
            let rows = 4 + classes + usize::from(oriented);
            if shape[1] != rows {
                return Err(Error::model(
                    "",
                    format!(
                        "{} layout with {classes} classes, but the output has {} rows (expected {rows})",
                        if oriented { "oriented-box" } else { "v8" },
                        shape[1]
                    ),
                ));
            }
            let row = |r: usize| &img[r * n..(r + 1) * n];
            let (cx, cy, w, h) = (row(0), row(1), row(2), row(3));
            let angle = oriented.then(|| row(4 + classes));
            // Best class per candidate, scanning class rows contiguously.
            let mut best = vec![(0.0f32, 0u32); n];
            for c in 0..classes {
                for (bst, &s) in best.iter_mut().zip(row(4 + c)) {
                    if s > bst.0 {
                        *bst = (s, c as u32);
                    }
                }
            }
            for (i, &(s, c)) in best.iter().enumerate() {
                if s >= conf {
                    push(out, cx[i], cy[i], w[i], h[i], s, c, angle.map(|a| a[i]));
                }
            }
        }
        Layout::V5 { classes } => {
            let k = shape[2];
            if k != 5 + classes {
                return Err(Error::model(
                    "",
                    format!("v5 layout with {classes} classes, but the output has {k} columns"),
                ));
            }
            for r in img.chunks_exact(k) {
                let obj = r[4];
                if obj < conf {
                    continue;
                }
                let (c, p) = best_class(&r[5..]);
                let s = obj * p;
                if s >= conf {
                    push(out, r[0], r[1], r[2], r[3], s, c as u32, None);
                }
            }
        }
        Layout::RtDetr {
            classes,
            width,
            height,
        } => {
            let k = shape[2];
            if k != 4 + classes {
                return Err(Error::model(
                    "",
                    format!(
                        "RT-DETR layout with {classes} classes, but the output has {k} columns"
                    ),
                ));
            }
            let (sx, sy) = (width as f32, height as f32);
            for r in img.chunks_exact(k) {
                let (c, p) = best_class(&r[4..]);
                if p >= conf {
                    push(
                        out,
                        r[0] * sx,
                        r[1] * sy,
                        r[2] * sx,
                        r[3] * sy,
                        p,
                        c as u32,
                        None,
                    );
                }
            }
        }
        Layout::EndToEnd => {
            for r in img.chunks_exact(6) {
                let s = r[4];
                if s < conf {
                    continue;
                }
                let c = r[5];
                if !(c >= 0.0 && c.fract() == 0.0 && c < u32::MAX as f32) {
                    return Err(Error::model(
                        "",
                        format!("the end-to-end output has class index {c}"),
                    ));
                }
                push(
                    out,
                    0.5 * (r[0] + r[2]),
                    0.5 * (r[1] + r[3]),
                    r[2] - r[0],
                    r[3] - r[1],
                    s,
                    c as u32,
                    None,
                );
            }
        }
    }
    Ok(())
}

/// Keeps the `k` best boxes of `boxes` (score descending, then class, then position: the
/// result does not depend on the order of `boxes`) and returns how many were dropped.
pub fn keep_best(boxes: &mut Vec<RawBox>, k: usize) -> usize {
    if boxes.len() <= k {
        return 0;
    }
    let order = |a: &RawBox, b: &RawBox| {
        b.score
            .total_cmp(&a.score)
            .then(a.class_id.cmp(&b.class_id))
            .then(a.x0.total_cmp(&b.x0))
            .then(a.y0.total_cmp(&b.y0))
            .then(a.x1.total_cmp(&b.x1))
            .then(a.y1.total_cmp(&b.y1))
            .then(a.angle.unwrap_or(0.0).total_cmp(&b.angle.unwrap_or(0.0)))
    };
    let dropped = boxes.len() - k;
    if k > 0 {
        boxes.select_nth_unstable_by(k - 1, order);
    }
    boxes.truncate(k);
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_oriented_boxes_reads_the_angle_row() {
        // [1, 4 + 2 + 1, 3]: box 1 is class 1 at (30, 40), 20 x 8, turned by 0.5 rad.
        let n = 3;
        let mut d = vec![0.0f32; 7 * n];
        let set = |d: &mut Vec<f32>, row: usize, v: [f32; 3]| {
            d[row * n..(row + 1) * n].copy_from_slice(&v)
        };
        set(&mut d, 0, [5.0, 30.0, 9.0]);
        set(&mut d, 1, [5.0, 40.0, 9.0]);
        set(&mut d, 2, [2.0, 20.0, 2.0]);
        set(&mut d, 3, [2.0, 8.0, 2.0]);
        set(&mut d, 4, [0.1, 0.2, 0.3]);
        set(&mut d, 5, [0.2, 0.9, 0.1]);
        set(&mut d, 6, [1.0, 0.5, -0.7]);
        let mut out = Vec::new();
        decode_batch(Layout::Obb { classes: 2 }, &d, [1, 7, n], 0, 0.5, &mut out).expect("obb");
        assert_eq!(
            out,
            vec![RawBox {
                x0: 20.0,
                y0: 36.0,
                x1: 40.0,
                y1: 44.0,
                score: 0.9,
                class_id: 1,
                angle: Some(0.5)
            }]
        );
        // The rows must be 4 + classes + 1.
        assert!(decode_batch(Layout::Obb { classes: 3 }, &d, [1, 7, n], 0, 0.5, &mut out).is_err());
    }

    #[test]
    fn decode_rt_detr_scales_normalised_boxes() {
        // [1, 2, 4 + 2]: query 1 is class 1 at (0.5, 0.25) of a 640 x 320 input, 0.1 x 0.2.
        let d = vec![
            0.1, 0.1, 0.1, 0.1, 0.05, 0.02, //
            0.5, 0.25, 0.1, 0.2, 0.3, 0.8,
        ];
        let layout = Layout::RtDetr {
            classes: 2,
            width: 640,
            height: 320,
        };
        let mut out = Vec::new();
        decode_batch(layout, &d, [1, 2, 6], 0, 0.5, &mut out).expect("decode");
        assert_eq!(out.len(), 1);
        let b = out[0];
        assert_eq!((b.class_id, b.score), (1, 0.8));
        let close = |a: f32, w: f32| (a - w).abs() < 1e-4;
        assert!(close(b.x0, 288.0) && close(b.x1, 352.0), "{b:?}");
        assert!(close(b.y0, 48.0) && close(b.y1, 112.0), "{b:?}");
    }

    #[test]
    fn decode_v8_two_images() {
        // [2, 4+2, 3]: image 1 has one box of class 1 at (10, 20) 4x6 scoring 0.9.
        let n = 3;
        let mut d = vec![0.0f32; 2 * 6 * n];
        let base = 6 * n;
        let set = |d: &mut Vec<f32>, r: usize, i: usize, v: f32| d[base + r * n + i] = v;
        set(&mut d, 0, 2, 10.0);
        set(&mut d, 1, 2, 20.0);
        set(&mut d, 2, 2, 4.0);
        set(&mut d, 3, 2, 6.0);
        set(&mut d, 4, 2, 0.2);
        set(&mut d, 5, 2, 0.9);
        let mut out = Vec::new();
        decode_batch(Layout::V8 { classes: 2 }, &d, [2, 6, n], 0, 0.5, &mut out).expect("img0");
        assert!(out.is_empty());
        decode_batch(Layout::V8 { classes: 2 }, &d, [2, 6, n], 1, 0.5, &mut out).expect("img1");
        assert_eq!(
            out,
            vec![RawBox {
                x0: 8.0,
                y0: 17.0,
                x1: 12.0,
                y1: 23.0,
                score: 0.9,
                class_id: 1,
                angle: None
            }]
        );
    }

    #[test]
    fn decode_v5_multiplies_objectness() {
        let d = [
            50.0, 50.0, 10.0, 10.0, 0.8, 0.1, 0.5, 50.0, 50.0, 10.0, 10.0, 0.3, 1.0, 0.0,
        ];
        let mut out = Vec::new();
        decode_batch(Layout::V5 { classes: 2 }, &d, [1, 2, 7], 0, 0.35, &mut out).expect("v5");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].class_id, 1);
        assert!((out[0].score - 0.4).abs() < 1e-6);
    }

    #[test]
    fn decode_end_to_end_corners() {
        let d = [1.0, 2.0, 5.0, 8.0, 0.7, 2.0, 0.0, 0.0, 1.0, 1.0, 0.1, 0.0];
        let mut out = Vec::new();
        decode_batch(Layout::EndToEnd, &d, [1, 2, 6], 0, 0.5, &mut out).expect("e2e");
        assert_eq!(
            out,
            vec![RawBox {
                x0: 1.0,
                y0: 2.0,
                x1: 5.0,
                y1: 8.0,
                score: 0.7,
                class_id: 2,
                angle: None
            }]
        );
        let bad = [1.0, 2.0, 5.0, 8.0, 0.7, -1.0];
        assert!(decode_batch(Layout::EndToEnd, &bad, [1, 1, 6], 0, 0.5, &mut out).is_err());
    }

    #[test]
    fn non_finite_outputs_are_errors() {
        let mut out = Vec::new();
        let nan = [f32::NAN; 7];
        let e = decode_batch(Layout::V5 { classes: 2 }, &nan, [1, 1, 7], 0, 0.5, &mut out)
            .expect_err("all-NaN output");
        assert!(e.to_string().contains("non-finite"), "{e}");
        // +inf as a score: would pass every threshold.
        let inf = [10.0, 10.0, 4.0, 4.0, f32::INFINITY, 0.0];
        assert!(decode_batch(Layout::EndToEnd, &inf, [1, 1, 6], 0, 0.5, &mut out).is_err());
        // A NaN in a row below the threshold still counts.
        let mut v8 = vec![0.0f32; 5 * 4];
        v8[2 * 4 + 3] = f32::NAN;
        assert!(decode_batch(Layout::V8 { classes: 1 }, &v8, [1, 5, 4], 0, 0.5, &mut out).is_err());
        assert!(out.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn keep_best_keeps_the_top_k_whatever_the_order(
            scores in proptest::collection::vec(0u8..20, 0..60), k in 0usize..70, rot in 0usize..60
        ) {
            let boxes: Vec<RawBox> = scores.iter().enumerate().map(|(i, &s)| RawBox {
                x0: (i % 7) as f32, y0: 0.0, x1: 10.0, y1: 10.0, score: f32::from(s) / 20.0, class_id: (i % 3) as u32,
                angle: None,
            }).collect();
            let mut a = boxes.clone();
            let dropped = keep_best(&mut a, k);
            proptest::prop_assert_eq!(a.len(), boxes.len().min(k));
            proptest::prop_assert_eq!(dropped, boxes.len().saturating_sub(k));
            let mut b = boxes.clone();
            if !b.is_empty() { let r = rot % b.len(); b.rotate_left(r); }
            keep_best(&mut b, k);
            let key = |v: &mut Vec<RawBox>| v.sort_by(|p, q| q.score.total_cmp(&p.score).then(p.class_id.cmp(&q.class_id)).then(p.x0.total_cmp(&q.x0)));
            key(&mut a); key(&mut b);
            proptest::prop_assert_eq!(&a, &b);
            let min_kept = a.iter().map(|r| r.score).fold(f32::INFINITY, f32::min);
            let kept_n = a.len();
            let better_dropped = boxes.iter().filter(|r| r.score > min_kept).count();
            proptest::prop_assert!(better_dropped <= kept_n);
        }
    }
}
