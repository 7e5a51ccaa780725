//! Decoding detector outputs into boxes. Pure: a tensor in, boxes out.
//!
//! Layouts, told apart by the output shape `[B, d1, d2]`, the number of class names and
//! the model's metadata:
//! - [`Layout::V8`] `[B, 4 + C, N]` (YOLOv8/v11): rows `cx, cy, w, h`, then one score per
//!   class;
//! - [`Layout::V5`] `[B, N, 5 + C]` (YOLOv5/v7): `cx, cy, w, h, objectness`, then class
//!   probabilities; score = objectness × class probability;
//! - [`Layout::EndToEnd`] `[B, K, 6]` (YOLOv10, or exports with NMS inside):
//!   `x0, y0, x1, y1, score, class`.

use crate::error::{Error, Result};
use std::path::Path;

/// A model's output layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[B, 4 + C, N]`.
    V8 {
        /// Classes.
        classes: usize,
    },
    /// `[B, N, 5 + C]`.
    V5 {
        /// Classes.
        classes: usize,
    },
    /// `[B, K, 6]`, NMS done by the model.
    EndToEnd,
}

impl Layout {
    /// Candidate boxes per image for an output of `shape`.
    pub fn boxes_per_image(&self, shape: [usize; 3]) -> usize {
        match self {
            Layout::V8 { .. } => shape[2],
            Layout::V5 { .. } | Layout::EndToEnd => shape[1],
        }
    }
}

/// A decoded box in model-input pixels.
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
}

/// Works out the layout of an output of `shape`. `classes` is the number of class names
/// in the metadata (if any); `end2end` the metadata's `end2end` flag (if any).
pub fn detect_layout(
    model: &Path,
    shape: &[i64],
    classes: Option<usize>,
    end2end: Option<bool>,
) -> Result<Layout> {
    let bad = |why: String| {
        Error::model(model, format!("output shape {shape:?} matches no known detector layout ([B, 4+C, N] v8/v11, [B, N, 5+C] v5/v7, [B, K, 6] end-to-end): {why}"))
    };
    if shape.len() != 3 || shape.iter().any(|&d| d <= 0) {
        return Err(bad("expected a rank-3 output with known sizes".into()));
    }
    let (d1, d2) = (shape[1] as usize, shape[2] as usize);
    if end2end == Some(true) {
        return if d2 == 6 {
            Ok(Layout::EndToEnd)
        } else {
            Err(bad(
                "metadata says end2end but the last axis is not 6".into()
            ))
        };
    }
    match classes {
        Some(c) => {
            // [B, K, 6] with K <= 1000 is end-to-end (K is the kept-box budget, 300 for
            // YOLOv10); a one-class v5/v7 export has the same last axis but thousands of
            // anchors (25 200 at 640 px), so a small K decides for end-to-end.
            let e2e = d2 == 6 && end2end.is_none() && d1 <= 1000;
            let v8 = d1 == 4 + c && d2 > d1;
            let v5 = d2 == 5 + c && d1 > d2 && !e2e;
            match (v8, v5, e2e) {
                (true, false, false) => Ok(Layout::V8 { classes: c }),
                (false, true, false) => Ok(Layout::V5 { classes: c }),
                (false, false, true) => Ok(Layout::EndToEnd),
                (false, false, false) => Err(bad(format!("the metadata names {c} classes"))),
                _ => Err(bad(format!(
                    "ambiguous with {c} classes (add `end2end` metadata to the model to decide)"
                ))),
            }
        }
        None => {
            if d2 == 6 && d1 <= 1000 && end2end != Some(false) {
                Ok(Layout::EndToEnd)
            } else if d1 < d2 && d1 >= 5 {
                Ok(Layout::V8 { classes: d1 - 4 })
            } else if d2 < d1 && d2 >= 6 {
                Ok(Layout::V5 { classes: d2 - 5 })
            } else {
                Err(bad("no class count fits".into()))
            }
        }
    }
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
                class_id: u32| {
        if w.is_finite() && h.is_finite() && cx.is_finite() && cy.is_finite() && w > 0.0 && h > 0.0
        {
            out.push(RawBox {
                x0: cx - 0.5 * w,
                y0: cy - 0.5 * h,
                x1: cx + 0.5 * w,
                y1: cy + 0.5 * h,
                score,
                class_id,
            });
        }
    };
    match layout {
        Layout::V8 { classes } => {
            let n = shape[2];
            if shape[1] != 4 + classes {
                return Err(Error::model(
                    "",
                    format!(
                        "v8 layout with {classes} classes, but the output has {} rows",
                        shape[1]
                    ),
                ));
            }
            let row = |r: usize| &img[r * n..(r + 1) * n];
            let (cx, cy, w, h) = (row(0), row(1), row(2), row(3));
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
                    push(out, cx[i], cy[i], w[i], h[i], s, c);
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
                let (c, p) = r[5..]
                    .iter()
                    .enumerate()
                    .fold(
                        (0usize, f32::MIN),
                        |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc },
                    );
                let s = obj * p;
                if s >= conf {
                    push(out, r[0], r[1], r[2], r[3], s, c as u32);
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

    fn p() -> &'static Path {
        Path::new("m.onnx")
    }

    #[test]
    fn layouts_from_shapes() {
        assert_eq!(
            detect_layout(p(), &[1, 7, 8400], Some(3), None).expect("v8"),
            Layout::V8 { classes: 3 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 7, 8400], None, None).expect("v8"),
            Layout::V8 { classes: 3 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 25200, 85], Some(80), None).expect("v5"),
            Layout::V5 { classes: 80 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 25200, 85], None, None).expect("v5"),
            Layout::V5 { classes: 80 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 6], Some(80), None).expect("e2e"),
            Layout::EndToEnd
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 6], None, Some(true)).expect("e2e"),
            Layout::EndToEnd
        );
        // One class: [B, N, 6] is v5 with thousands of anchors, end-to-end with a few
        // hundred kept boxes.
        assert_eq!(
            detect_layout(p(), &[1, 25200, 6], Some(1), None).expect("v5"),
            Layout::V5 { classes: 1 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 6], Some(1), None).expect("one-class e2e"),
            Layout::EndToEnd
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 6], Some(1), Some(false)).expect("v5 by metadata"),
            Layout::V5 { classes: 1 }
        );
    }

    #[test]
    fn non_detector_shapes_are_errors() {
        for s in [&[1, 1000][..], &[1, 3, 224, 224], &[1, 4, 4], &[1, 0, 5]] {
            let e = detect_layout(p(), s, None, None).unwrap_err();
            assert!(e.to_string().contains("m.onnx"), "{e}");
        }
        assert!(
            detect_layout(p(), &[1, 7, 8400], Some(80), None).is_err(),
            "class count mismatch"
        );
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
                class_id: 1
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
                class_id: 2
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
