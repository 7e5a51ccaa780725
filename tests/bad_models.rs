//! Models and options that are broken, hostile or extreme: each is a typed error, a
//! correct result or a warning, never a panic, an abort or a silently wrong result.

mod common;

use satdet::inference::Metadata;
use satdet::{Detector, Error, Limits, Scene};

fn scene() -> Scene {
    Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open")
}

fn build(model: &str, limits: Limits) -> satdet::Result<Detector> {
    Detector::builder()
        .model(common::fixture(model))
        .threads(1)
        .limits(limits)
        .build()
}

#[test]
fn non_finite_outputs_are_model_errors_naming_the_model() {
    for model in ["nan_detector.onnx", "inf_detector.onnx"] {
        let det =
            build(model, Limits::default()).expect("loads (the contract check runs no decode)");
        let e = det.detect(&scene()).expect_err(model);
        match &e {
            Error::Model { path, detail } => {
                assert!(path.ends_with(model), "{e}");
                assert!(detail.contains("non-finite"), "{e}");
            }
            other => panic!("{model}: expected a model error, got {other:?}"),
        }
    }
}

#[test]
fn candidates_per_tile_are_capped_counted_and_reported() {
    let mut limits = Limits::default();
    limits.max_candidates_per_tile = 500;
    let det = build("dense_detector.onnx", limits).expect("detector");
    let out = det.detect(&scene()).expect("detect");
    let r = &out.report;
    // 65 536 boxes scoring 1 per processed tile, 500 kept.
    assert_eq!(
        r.candidates_capped,
        (65_536 - 500) * r.tiles_processed as u64,
        "{r:?}"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("max_candidates_per_tile")
                && w.contains(&r.tiles_processed.to_string())),
        "{:?}",
        r.warnings
    );
    assert!(!out.items.is_empty());
}

#[test]
fn the_detection_byte_budget_stops_a_model_firing_everywhere() {
    let mut limits = Limits::default();
    limits.max_detection_bytes = 200 * Limits::BYTES_PER_DETECTION;
    let det = build("dense_detector.onnx", limits).expect("detector");
    match det.detect(&scene()) {
        Err(Error::Limits { what, limit, .. }) => {
            assert!(what.contains("max_detection_bytes"), "{what}");
            assert_eq!(limit, 200 * Limits::BYTES_PER_DETECTION);
        }
        other => panic!("expected Error::Limits, got {other:?}"),
    }
}

#[test]
fn tensor_products_are_bounded_at_load_not_only_each_factor() {
    // Fixed batch 1024 x 3 x 16384 x 16384 float32: 3.3 TB. Every factor is within its
    // own limit; the product is refused before the blank batch is allocated.
    for model in ["huge_fixed_batch.onnx", "huge_dynamic.onnx"] {
        match build(model, Limits::default()) {
            Err(Error::Limits { what, found, .. }) => {
                assert!(what.contains("max_batch_bytes"), "{what}");
                assert!(found > 1 << 30, "{found}");
            }
            other => panic!("{model}: expected Error::Limits, got {other:?}"),
        }
    }
}

#[test]
fn batch_is_lowered_to_fit_the_batch_budget_with_the_same_result() {
    // The reference at one tile per batch: the lowered batch below is 2, the CPU default.
    let reference = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .threads(1)
        .batch_size(1)
        .build()
        .expect("detector")
        .detect(&scene())
        .expect("detect");
    let mut limits = Limits::default();
    // One tile here: 786 432 input + 1 310 720 output + 196 608 window bytes.
    limits.max_batch_bytes = 5_000_000;
    let det = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .threads(1)
        .batch_size(8)
        .limits(limits.clone())
        .build()
        .expect("detector");
    let plan = det.plan(&scene()).expect("plan");
    assert_eq!(plan.batch, 2);
    assert!(plan.batch_bytes <= 5_000_000);
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("batch lowered from 8 to 2")));
    let out = det.detect(&scene()).expect("detect");
    assert_eq!(out.items, reference.items);
    // The model's tensors fit, but not with one tile window: refused at plan time.
    limits.max_batch_bytes = 2_200_000;
    let det = build("square_detector.onnx", limits.clone()).expect("the model alone fits");
    assert!(matches!(det.detect(&scene()), Err(Error::Limits { .. })));
    // The declared output alone (1 310 720 bytes) does not fit: refused at load.
    limits.max_batch_bytes = 1_000_000;
    assert!(matches!(
        build("square_detector.onnx", limits),
        Err(Error::Limits { .. })
    ));
}

#[test]
fn batch_and_tile_arguments_are_bounded() {
    for batch in [0usize, 1025, 100_000, usize::MAX] {
        let r = Detector::builder()
            .model(common::fixture("square_detector.onnx"))
            .batch_size(batch)
            .build();
        assert!(matches!(r, Err(Error::Config(_))), "batch {batch}: {r:?}");
    }
    for tile in [0u32, 7, 16_385, u32::MAX] {
        let r = Detector::builder()
            .model(common::fixture("square_detector.onnx"))
            .tile_size(tile)
            .build();
        assert!(matches!(r, Err(Error::Config(_))), "tile {tile}: {r:?}");
    }
}

#[test]
fn extreme_resampling_is_warned_about() {
    let det = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .tile_size(8)
        .threads(1)
        .build()
        .expect("detector");
    assert!(
        det.warnings()
            .iter()
            .any(|w| w.contains("resampled up 32.0x")),
        "{:?}",
        det.warnings()
    );
    let plan = det.plan(&scene()).expect("plan");
    assert!(plan.grid.len() > 10_000);
    let near = build("square_detector.onnx", Limits::default()).expect("detector");
    assert!(near.warnings().is_empty(), "{:?}", near.warnings());
}

#[test]
fn negative_or_malformed_imgsz_is_refused() {
    match build("negative_imgsz.onnx", Limits::default()) {
        Err(Error::Model { detail, .. }) => assert!(detail.contains("imgsz"), "{detail}"),
        other => panic!("expected a model error, got {other:?}"),
    }
}

#[test]
fn ignored_metadata_is_a_warning_the_user_sees() {
    let det = build("bad_thresholds.onnx", Limits::default()).expect("detector");
    let w = det.warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w.iter().all(|w| w.contains("bad_thresholds.onnx")), "{w:?}");
    let out = det.detect(&scene()).expect("detect");
    for x in w {
        assert_eq!(out.report.warnings.iter().filter(|r| *r == x).count(), 1);
    }
}

fn md(pairs: &[(&str, &str)]) -> Result<Metadata, String> {
    Metadata::parse(|k| {
        pairs
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_string())
    })
}

#[test]
fn metadata_values_are_checked() {
    assert_eq!(
        md(&[("imgsz", "[480, 640]")]).expect("ok").imgsz,
        Some((480, 640))
    );
    assert_eq!(md(&[("imgsz", "640")]).expect("ok").imgsz, Some((640, 640)));
    for bad in [
        "[-640, 640]",
        "[0, 640]",
        "[640, 640, 3]",
        "[]",
        "[640, x]",
        "640.5",
    ] {
        assert!(md(&[("imgsz", bad)]).is_err(), "{bad}");
    }
    let huge = "9".repeat(5_000_000);
    let e = md(&[("names", &huge)]).expect_err("not names");
    assert!(e.len() < 300, "quoted input is cut: {} bytes", e.len());
}

mod fuzz {
    use super::md;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Random metadata never panics; whatever parses is in range.
        #[test]
        fn random_metadata_parses_or_is_refused(
            imgsz in "\\PC{0,24}|\\[-?[0-9]{1,6}, ?-?[0-9]{1,6}\\]",
            names in "\\PC{0,40}|\\{0: '[a-z]{0,5}'(, [0-9]: '[a-z]{0,4}'){0,3}\\}",
            conf in "\\PC{0,8}|-?[0-9]\\.[0-9]{1,3}|nan|inf",
        ) {
            if let Ok(m) = md(&[("imgsz", &imgsz), ("names", &names), ("conf", &conf), ("iou", &conf)]) {
                if let Some((h, w)) = m.imgsz { prop_assert!(h > 0 && w > 0); }
                for v in [m.default_conf, m.default_iou].into_iter().flatten() {
                    prop_assert!(v > 0.0 && v <= 1.0);
                }
                prop_assert_eq!(m.default_conf.is_none(), !m.warnings.is_empty());
            }
        }
    }
}

/// A pose model is refused at load, naming its task; a model whose metadata says `task:
/// obb` but whose output has no angle row ([B, 5, N] here) is refused, not read as v8.
#[test]
fn a_pose_model_or_an_obb_task_without_the_oriented_layout_is_refused() {
    for (file, needle) in [
        (
            "task_obb.onnx",
            "`task: obb` metadata wants [B, 4 + C + 1, N]",
        ),
        ("task_pose.onnx", "\"pose\""),
    ] {
        let e = build(file, Limits::default()).expect_err(file);
        let msg = e.to_string();
        assert!(matches!(e, satdet::Error::Model { .. }), "{file}: {e:?}");
        assert!(msg.contains(file) && msg.contains(needle), "{msg}");
    }
}
