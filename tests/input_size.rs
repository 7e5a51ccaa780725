//! Larger windows for a fully convolutional model (`DetectorBuilder::input_size`, the
//! CLI's `--input-size`): a model with symbolic input height and width takes windows of
//! the size asked for, with the same overlap in pixels fewer tiles cover the scene, and
//! the same objects come out with the same boxes; a fixed-size model refuses another size.

mod common;

use satdet::{Detections, Detector, Error, Scene};

const DYNAMIC: &str = "square_detector_03m_dynamic.onnx";

fn detect(
    model: &str,
    configure: impl FnOnce(satdet::DetectorBuilder) -> satdet::DetectorBuilder,
) -> Detections {
    let det = configure(Detector::builder().model(common::fixture(model)).threads(1))
        .build()
        .expect("detector");
    det.detect(&Scene::open(common::fixture("gsd_03.tif")).expect("open"))
        .expect("detect")
}

/// Every square of the GSD fixture's manifest found once, its map box within 0.31 m.
fn assert_every_square_once(dets: &Detections, what: &str) {
    let truth: Vec<Vec<f64>> = common::manifest()["gsd"]["squares_map"]
        .as_array()
        .expect("squares")
        .iter()
        .map(|b| {
            b.as_array()
                .expect("box")
                .iter()
                .map(|x| x.as_f64().expect("f64"))
                .collect()
        })
        .collect();
    assert_eq!(dets.len(), truth.len(), "{what}: {} detections", dets.len());
    for t in &truth {
        let want = [t[0], t[3], t[2], t[1]];
        let hits = dets
            .iter()
            .filter(|d| {
                let p = d.map_polygon.expect("georeferenced");
                let (xs, ys) = (p.map(|c| c[0]), p.map(|c| c[1]));
                let lo = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
                let hi = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
                let got = [lo(xs), lo(ys), hi(xs), hi(ys)];
                (0..4).all(|i| (got[i] - want[i]).abs() <= 0.31)
            })
            .count();
        assert_eq!(hits, 1, "{what}: square {want:?} found {hits} times");
    }
}

#[test]
fn a_dynamic_model_takes_larger_windows_and_finds_the_same_objects() {
    let small = detect(DYNAMIC, |b| b);
    assert_eq!(
        small.report.tile_px, 256,
        "the imgsz metadata is the default"
    );
    assert_every_square_once(&small, "256 px");
    // Twice the side, the same 51 px of overlap.
    let large = detect(DYNAMIC, |b| b.input_size(512).overlap(0.1));
    assert_eq!(large.report.tile_px, 512, "the scene is at the model's GSD");
    assert_eq!(large.report.overlap_px, 51);
    assert!(
        large.report.tiles_total < small.report.tiles_total,
        "{} tiles of 512 px vs {} of 256 px",
        large.report.tiles_total,
        small.report.tiles_total
    );
    assert_every_square_once(&large, "512 px");
    // The same model run on its own default size equals the fixed-size fixture.
    let fixed = detect("square_detector_03m.onnx", |b| b);
    assert_eq!(fixed.items, small.items);
}

#[test]
fn the_gsd_match_scales_the_larger_window() {
    let det = Detector::builder()
        .model(common::fixture(DYNAMIC))
        .input_size(384)
        .threads(1)
        .build()
        .expect("detector");
    let d = det
        .detect(&Scene::open(common::fixture("gsd_015.tif")).expect("open"))
        .expect("detect");
    let scene_m = d.report.gsd.scene_m.expect("scene GSD");
    assert!((scene_m - 0.15).abs() < 0.001, "{scene_m}");
    let want = (384.0 * 0.3 / scene_m).round() as u32;
    assert_eq!(d.report.tile_px, want, "384 px x 0.3 m / {scene_m} m");
    assert_every_square_once(&d, "768 px tiles into a 384 px input");
}

#[test]
fn a_fixed_size_model_or_a_bad_size_is_refused() {
    let e = Detector::builder()
        .model(common::fixture("square_detector_03m.onnx"))
        .input_size(512)
        .build()
        .expect_err("fixed at 256");
    let msg = e.to_string();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(
        msg.contains("fixed at 256x256") && msg.contains("512"),
        "{msg}"
    );
    // Its own size is fine.
    Detector::builder()
        .model(common::fixture("square_detector_03m.onnx"))
        .input_size(256)
        .build()
        .expect("the model's own size");
    for bad in [0, satdet::inference::MAX_INPUT_SIDE + 1] {
        let e = Detector::builder()
            .model(common::fixture(DYNAMIC))
            .input_size(bad)
            .build()
            .expect_err("out of range");
        assert!(matches!(e, Error::Config(_)), "{bad}: {e:?}");
    }
}

#[test]
fn the_cli_takes_input_size() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("o.geojson");
    let run = common::satdet(&[
        "detect",
        common::fixture("gsd_03.tif").to_str().expect("utf-8"),
        "--model",
        common::fixture(DYNAMIC).to_str().expect("utf-8"),
        "--input-size",
        "512",
        "--overlap",
        "0.1",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{text}");
    assert!(
        text.contains("(512x512"),
        "the model line says the input size: {text}"
    );
    assert!(text.contains("(512 px, 51 px overlap)"), "{text}");
    assert!(text.contains("16 detections"), "{text}");
}

#[test]
fn a_size_the_network_cannot_take_says_so() {
    // The bundled model takes multiples of 16: 1000 px fails in its first Add.
    let e = Detector::builder()
        .input_size(1000)
        .threads(1)
        .build()
        .expect_err("1000 is no multiple of 16");
    let msg = e.to_string();
    assert!(
        msg.contains("input size 1000 px") && msg.contains("multiples of its largest stride"),
        "{msg}"
    );
    // 1008 is one.
    let det = Detector::builder()
        .input_size(1008)
        .threads(1)
        .build()
        .expect("1008 px");
    assert_eq!(det.model_info().width, 1008);
}

#[test]
fn an_input_size_stands_in_for_missing_imgsz_metadata() {
    let model = "square_detector_03m_dynamic_no_imgsz.onnx";
    let e = Detector::builder()
        .model(common::fixture(model))
        .build()
        .expect_err("no size known");
    assert!(e.to_string().contains("no `imgsz` metadata"), "{e}");
    let d = detect(model, |b| b.input_size(256));
    assert_eq!(d.report.tile_px, 256);
    assert_every_square_once(&d, "256 px from input_size");
}
