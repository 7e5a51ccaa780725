//! Which layout a detector's output has, from its shape, the model's metadata and what
//! the user says. Pure.
//!
//! Layouts, told apart by the output shape `[B, d1, d2]`, the number of class names and
//! the model's metadata:
//! - [`Layout::V8`] `[B, 4 + C, N]` (YOLOv8/v11): rows `cx, cy, w, h`, then one score per
//!   class;
//! - [`Layout::V5`] `[B, N, 5 + C]` (YOLOv5/v7): `cx, cy, w, h, objectness`, then class
//!   probabilities; score = objectness × class probability;
//! - [`Layout::EndToEnd`] `[B, K, 6]` (YOLOv10, or exports with NMS inside):
//!   `x0, y0, x1, y1, score, class`;
//! - [`Layout::RtDetr`] `[B, K, 4 + C]` (RT-DETR, Ultralytics export; K = 300 queries):
//!   `cx, cy, w, h` normalised to the input size (0..1), then one score per class;
//! - [`Layout::Obb`] `[B, 4 + C + 1, N]` (YOLOv8/YOLO11 `-obb`, metadata `task: obb`):
//!   rows `cx, cy, w, h`, one score per class, then the angle in radians (clockwise on
//!   screen, the `w` side from the +x axis): oriented boxes.
//!
//! A shape that two layouts fit is an error naming both and [`LayoutKind`], the way to
//! say which it is (`DetectorBuilder::layout`, the CLI's `--layout`).

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
    /// `[B, K, 4 + C]`, boxes normalised to the input's `width` x `height`.
    RtDetr {
        /// Classes.
        classes: usize,
        /// Input width in pixels (the boxes' x scale).
        width: u32,
        /// Input height in pixels (the boxes' y scale).
        height: u32,
    },
    /// `[B, 4 + C + 1, N]`: oriented boxes, the angle in the last row.
    Obb {
        /// Classes.
        classes: usize,
    },
}

impl Layout {
    /// Candidate boxes per image for an output of `shape`.
    pub fn boxes_per_image(&self, shape: [usize; 3]) -> usize {
        match self {
            Layout::V8 { .. } | Layout::Obb { .. } => shape[2],
            Layout::V5 { .. } | Layout::EndToEnd | Layout::RtDetr { .. } => shape[1],
        }
    }
}

/// A layout named by the user when the output's shape and metadata fit more than one
/// ([`detect_layout`]): `DetectorBuilder::layout`, the CLI's `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// `[B, 4 + C, N]` (YOLOv8/v11; `--layout v8`).
    V8,
    /// `[B, N, 5 + C]` (YOLOv5/v7; `--layout v5`).
    V5,
    /// `[B, K, 6]` with `x0, y0, x1, y1, score, class` (YOLOv10; `--layout end2end`).
    EndToEnd,
    /// `[B, K, 4 + C]`, normalised `cx, cy, w, h` and class scores (RT-DETR;
    /// `--layout rtdetr`).
    RtDetr,
    /// `[B, 4 + C + 1, N]`, oriented boxes with the angle in the last row (YOLO-OBB, the
    /// `task: obb` metadata; `--layout obb`).
    Obb,
}

impl LayoutKind {
    /// The name the CLI takes.
    pub fn name(self) -> &'static str {
        match self {
            LayoutKind::V8 => "v8",
            LayoutKind::V5 => "v5",
            LayoutKind::EndToEnd => "end2end",
            LayoutKind::RtDetr => "rtdetr",
            LayoutKind::Obb => "obb",
        }
    }
}
/// What the model's metadata and the user say about the output ([`detect_layout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayoutHints {
    /// The number of class names in the metadata, if any.
    pub classes: Option<usize>,
    /// The metadata's `end2end` flag, if any.
    pub end2end: Option<bool>,
    /// Whether the metadata says `task: obb` (an oriented-box model).
    pub oriented: bool,
    /// The layout the user named, if any; the shape must fit it.
    pub choice: Option<LayoutKind>,
    /// The model input's width and height in pixels (RT-DETR's boxes are normalised to it).
    pub input: (u32, u32),
}

/// Works out the layout of an output of `shape`. `classes` is the number of class names
/// in the metadata (if any); `end2end` the metadata's `end2end` flag (if any); `choice` the
/// layout the user named (if any), which the shape must fit; `input` the model input's
/// width and height (RT-DETR's boxes are normalised to it); `oriented` whether the
/// metadata says `task: obb`, which makes [`Layout::Obb`] the only layout considered (an
/// oriented-box output is otherwise a v8 output with one class too many). Every layout the
/// shape fits is considered: none is an error, two or more are an error naming them and
/// `--layout`.
pub fn detect_layout(model: &Path, shape: &[i64], hints: &LayoutHints) -> Result<Layout> {
    let LayoutHints {
        classes,
        end2end,
        oriented,
        choice,
        input,
    } = *hints;
    let bad = |why: String| {
        Error::model(model, format!("output shape {shape:?} matches no known detector layout ([B, 4+C, N] v8/v11, [B, N, 5+C] v5/v7, [B, K, 6] end-to-end, [B, K, 4+C] RT-DETR, [B, 4+C+1, N] oriented boxes with `task: obb`): {why}"))
    };
    if shape.len() != 3 || shape.iter().any(|&d| d <= 0) {
        return Err(bad("expected a rank-3 output with known sizes".into()));
    }
    let (d1, d2) = (shape[1] as usize, shape[2] as usize);
    let (width, height) = input;
    // Each layout's class count if the shape fits it, given the names' count (if any).
    // End-to-end and RT-DETR keep at most a few hundred boxes (K <= 1000: 300 for YOLOv10
    // and RT-DETR), anchor-based v5/v7 outputs have thousands (25 200 at 640 px).
    let fits = |kind: LayoutKind| -> Option<Layout> {
        let class_ok = |c: usize| c >= 1 && classes.is_none_or(|n| n == c);
        match kind {
            LayoutKind::V8 => {
                (d1 > 4 && d2 > d1 && class_ok(d1 - 4)).then(|| Layout::V8 { classes: d1 - 4 })
            }
            LayoutKind::V5 => {
                (d2 > 5 && d1 > d2 && class_ok(d2 - 5)).then(|| Layout::V5 { classes: d2 - 5 })
            }
            LayoutKind::EndToEnd => (d2 == 6 && end2end != Some(false)).then_some(Layout::EndToEnd),
            LayoutKind::RtDetr => (d2 > 4 && d1 > d2 && end2end != Some(true) && class_ok(d2 - 4))
                .then(|| Layout::RtDetr {
                    classes: d2 - 4,
                    width,
                    height,
                }),
            LayoutKind::Obb => {
                (d1 > 5 && d2 > d1 && class_ok(d1 - 5)).then(|| Layout::Obb { classes: d1 - 5 })
            }
        }
    };
    if let Some(kind) = choice {
        return fits(kind).ok_or_else(|| {
            bad(format!(
                "it does not fit the layout `{}` asked for{}",
                kind.name(),
                classes.map_or(String::new(), |c| format!(
                    " with the {c} classes the metadata names"
                ))
            ))
        });
    }
    if oriented {
        return fits(LayoutKind::Obb).ok_or_else(|| {
            bad(format!(
                "the `task: obb` metadata wants [B, 4 + C + 1, N] (box, class scores, angle){}",
                classes.map_or(String::new(), |c| format!(
                    " with the {c} classes the metadata names"
                ))
            ))
        });
    }
    if end2end == Some(true) {
        return fits(LayoutKind::EndToEnd)
            .ok_or_else(|| bad("metadata says end2end but the last axis is not 6".into()));
    }
    let small_k = d1 <= 1000;
    let candidates: Vec<(LayoutKind, Layout)> = [
        LayoutKind::V8,
        LayoutKind::V5,
        LayoutKind::EndToEnd,
        LayoutKind::RtDetr,
    ]
    .into_iter()
    .filter_map(|k| fits(k).map(|l| (k, l)))
    // A few hundred rows are end-to-end or RT-DETR queries, thousands are v5 anchors.
    .filter(|(k, _)| match k {
        // (a v5 export's `end2end: false` metadata keeps a few hundred rows v5)
        LayoutKind::V5 => !small_k || end2end == Some(false),
        LayoutKind::EndToEnd | LayoutKind::RtDetr => small_k,
        LayoutKind::V8 => true,
        // Only with `task: obb` or `--layout obb` (above).
        LayoutKind::Obb => false,
    })
    .collect();
    match candidates.as_slice() {
        [(_, layout)] => Ok(*layout),
        [] => Err(bad(match classes {
            // One row more than the v8 layout wants: what an OBB export without its
            // `task` metadata looks like.
            Some(c) if d1 == c + 5 && d2 > d1 => format!(
                "the metadata names {c} classes; with one row left over it would fit an oriented-box (YOLO-OBB) export whose angle is the last row: add `task: obb` to its metadata or say --layout obb (DetectorBuilder::layout)"
            ),
            Some(c) => format!("the metadata names {c} classes"),
            None => "no class count fits".into(),
        })),
        many => {
            let names: Vec<String> = many
                .iter()
                .map(|(k, l)| match l {
                    Layout::V8 { classes }
                    | Layout::V5 { classes }
                    | Layout::Obb { classes }
                    | Layout::RtDetr { classes, .. } => {
                        format!("`{}` ({classes} classes)", k.name())
                    }
                    Layout::EndToEnd => format!("`{}`", k.name()),
                })
                .collect();
            Err(Error::model(
                model,
                format!(
                    "output shape {shape:?} is ambiguous: it fits {}; say which with --layout {} (DetectorBuilder::layout), or add `names` (and `end2end` for an end-to-end export) to the model's metadata",
                    names.join(" and "),
                    many.iter().map(|(k, _)| k.name()).collect::<Vec<_>>().join("|")
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("m.onnx")
    }

    /// A 640 x 640 input's hints, with `classes` names and the `end2end` flag.
    fn hints(classes: Option<usize>, end2end: Option<bool>) -> LayoutHints {
        LayoutHints {
            classes,
            end2end,
            input: (640, 640),
            ..LayoutHints::default()
        }
    }

    #[test]
    fn layouts_from_shapes() {
        assert_eq!(
            detect_layout(p(), &[1, 7, 8400], &hints(Some(3), None)).expect("v8"),
            Layout::V8 { classes: 3 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 7, 8400], &hints(None, None)).expect("v8"),
            Layout::V8 { classes: 3 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 25200, 85], &hints(Some(80), None)).expect("v5"),
            Layout::V5 { classes: 80 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 25200, 85], &hints(None, None)).expect("v5"),
            Layout::V5 { classes: 80 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 6], &hints(Some(80), None)).expect("e2e"),
            Layout::EndToEnd
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 6], &hints(None, Some(true))).expect("e2e"),
            Layout::EndToEnd
        );
        // One class: [B, N, 6] is v5 with thousands of anchors, end-to-end with a few
        // hundred kept boxes.
        assert_eq!(
            detect_layout(p(), &[1, 25200, 6], &hints(Some(1), None)).expect("v5"),
            Layout::V5 { classes: 1 }
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 6], &hints(Some(1), None)).expect("one-class e2e"),
            Layout::EndToEnd
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 6], &hints(Some(1), Some(false))).expect("v5 by metadata"),
            Layout::V5 { classes: 1 }
        );
    }

    #[test]
    fn rt_detr_and_ambiguous_shapes() {
        let rt = Layout::RtDetr {
            classes: 80,
            width: 640,
            height: 640,
        };
        // [B, 300, 4 + 80]: RT-DETR with or without names (a v5 export has thousands of
        // rows, and 85 columns for 80 classes).
        assert_eq!(
            detect_layout(p(), &[1, 300, 84], &hints(Some(80), None)).expect("rtdetr"),
            rt
        );
        assert_eq!(
            detect_layout(p(), &[1, 300, 84], &hints(None, None)).expect("rtdetr"),
            rt
        );
        // [B, 300, 6] without names: end-to-end, or RT-DETR with two classes.
        let e = detect_layout(p(), &[1, 300, 6], &hints(None, None)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("ambiguous")
                && msg.contains("`end2end`")
                && msg.contains("`rtdetr` (2 classes)")
                && msg.contains("--layout end2end|rtdetr")
                && msg.contains("m.onnx"),
            "{msg}"
        );
        // Named, it is decided; two names decide nothing, the layout does.
        for (kind, want) in [
            (LayoutKind::EndToEnd, Layout::EndToEnd),
            (
                LayoutKind::RtDetr,
                Layout::RtDetr {
                    classes: 2,
                    width: 320,
                    height: 256,
                },
            ),
        ] {
            assert_eq!(
                detect_layout(
                    p(),
                    &[1, 300, 6],
                    &LayoutHints {
                        choice: Some(kind),
                        input: (320, 256),
                        ..hints(Some(2), None)
                    }
                )
                .expect("named"),
                want
            );
        }
        // A named layout the shape does not fit is an error.
        let e = detect_layout(
            p(),
            &[1, 7, 8400],
            &LayoutHints {
                choice: Some(LayoutKind::V5),
                ..hints(None, None)
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("`v5` asked for"), "{e}");
    }

    #[test]
    fn oriented_layout_from_task_metadata_or_a_named_layout() {
        // [1, 4 + 2 + 1, N] with two names: an OBB export.
        let shape = [1, 7, 8400];
        assert_eq!(
            detect_layout(
                p(),
                &shape,
                &LayoutHints {
                    oriented: true,
                    ..hints(Some(2), None)
                }
            )
            .expect("obb"),
            Layout::Obb { classes: 2 }
        );
        assert_eq!(
            detect_layout(
                p(),
                &shape,
                &LayoutHints {
                    choice: Some(LayoutKind::Obb),
                    ..hints(None, None)
                }
            )
            .expect("named"),
            Layout::Obb { classes: 2 }
        );
        // Without `task: obb` the two names leave one row over: an error that says how to
        // tell satdet, never a v8 model with the angle read as a third class.
        let e = detect_layout(p(), &shape, &hints(Some(2), None)).unwrap_err();
        assert!(e.to_string().contains("--layout obb"), "{e}");
        // `task: obb` with a shape that is not oriented is an error.
        let e = detect_layout(
            p(),
            &[1, 300, 6],
            &LayoutHints {
                oriented: true,
                ..hints(Some(2), None)
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("task: obb"), "{e}");
    }

    #[test]
    fn non_detector_shapes_are_errors() {
        for s in [&[1, 1000][..], &[1, 3, 224, 224], &[1, 4, 4], &[1, 0, 5]] {
            let e = detect_layout(p(), s, &hints(None, None)).unwrap_err();
            assert!(e.to_string().contains("m.onnx"), "{e}");
        }
        assert!(
            detect_layout(p(), &[1, 7, 8400], &hints(Some(80), None)).is_err(),
            "class count mismatch"
        );
    }
}
