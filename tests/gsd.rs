//! GSD matching: the same objects on the same ground at 0.15, 0.3 and 0.6 m per pixel,
//! and a model trained at 0.3 m (`gsd_m` metadata): tiles are resampled so that objects
//! reach the model at 0.3 m, and the same objects come out with the same boxes in map
//! units at every GSD.

mod common;

use satdet::{Detections, Detector, Scene};

fn detect(
    scene: &str,
    configure: impl FnOnce(satdet::DetectorBuilder) -> satdet::DetectorBuilder,
) -> Detections {
    let det = configure(
        Detector::builder()
            .model(common::fixture("square_detector_03m.onnx"))
            .threads(1),
    )
    .build()
    .expect("detector");
    det.detect(&Scene::open(common::fixture(scene)).expect("open"))
        .expect("detect")
}

fn map_box(d: &satdet::Detection) -> [f64; 4] {
    let p = d.map_polygon.expect("georeferenced");
    let xs = p.map(|c| c[0]);
    let ys = p.map(|c| c[1]);
    let min = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
    let max = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
    [min(xs), min(ys), max(xs), max(ys)]
}

/// Squares' map boxes `[min x, min y, max x, max y]` from the manifest.
fn truth() -> Vec<[f64; 4]> {
    common::manifest()["gsd"]["squares_map"]
        .as_array()
        .expect("squares")
        .iter()
        .map(|b| {
            let v: Vec<f64> = b
                .as_array()
                .expect("box")
                .iter()
                .map(|x| x.as_f64().expect("f64"))
                .collect();
            [v[0], v[3], v[2], v[1]]
        })
        .collect()
}

/// Every true square found exactly once, each box within `tol_m` of it on every side.
fn assert_matches(dets: &Detections, tol_m: f64, what: &str) {
    let truth = truth();
    assert_eq!(dets.len(), truth.len(), "{what}: {} detections", dets.len());
    for t in &truth {
        let hits: Vec<[f64; 4]> = dets
            .iter()
            .map(map_box)
            .filter(|b| (0..4).all(|i| (b[i] - t[i]).abs() <= tol_m))
            .collect();
        assert_eq!(hits.len(), 1, "{what}: square {t:?} matched by {hits:?}");
    }
}

#[test]
fn the_same_objects_come_out_the_same_at_015_03_and_06_m() {
    let at03 = detect("gsd_03.tif", |b| b);
    assert_eq!(at03.report.tile_px, 256);
    assert_matches(&at03, 0.31, "0.3 m");
    let at015 = detect("gsd_015.tif", |b| b);
    let g = at015.report.gsd;
    assert!(g.matched);
    assert!(
        (g.scene_m.expect("scene gsd") - 0.15).abs() < 0.001,
        "{g:?}"
    );
    assert_eq!(at015.report.tile_px, 512, "256 px x 0.3 / 0.15");
    assert!((g.scale - 0.5).abs() < 1e-9);
    assert_matches(&at015, 0.31, "0.15 m");
    let at06 = detect("gsd_06.tif", |b| b);
    assert_eq!(at06.report.tile_px, 128);
    assert!((at06.report.gsd.scale - 2.0).abs() < 1e-9);
    // One 0.6 m scene pixel: the squares' edges fall inside pixels there.
    assert_matches(&at06, 0.61, "0.6 m");
}

#[test]
fn without_matching_the_finer_scene_gives_wrong_boxes() {
    let raw = detect("gsd_015.tif", |b| b.match_gsd(false));
    assert!(!raw.report.gsd.matched);
    assert_eq!(raw.report.tile_px, 256);
    // The model's 11 px boxes are 1.65 m at 0.15 m, not the squares' 3.3 m.
    let width = |d: &satdet::Detection| {
        let b = map_box(d);
        b[2] - b[0]
    };
    assert!(
        raw.iter().all(|d| (width(d) - 1.65).abs() < 0.05),
        "{:?}",
        raw.iter().map(width).collect::<Vec<_>>()
    );
    let matched = detect("gsd_015.tif", |b| b);
    assert!(matched.iter().all(|d| (width(d) - 3.3).abs() < 0.05));
}

#[test]
fn a_given_gsd_overrides_the_georeferencing_and_an_explicit_tile_wins() {
    let d = detect("gsd_03.tif", |b| b.scene_gsd(0.15));
    assert_eq!(d.report.gsd.scene_m, Some(0.15));
    assert_eq!(d.report.tile_px, 512);
    let d = detect("gsd_015.tif", |b| b.tile_size(300));
    assert_eq!(d.report.tile_px, 300);
    assert!(!d.report.gsd.matched);
    for bad in [0.0, -0.3, f64::NAN, f64::INFINITY] {
        let r = Detector::builder()
            .model(common::fixture("square_detector_03m.onnx"))
            .scene_gsd(bad)
            .build();
        assert!(matches!(r, Err(satdet::Error::Config(_))), "{bad}");
    }
}

#[test]
fn the_wgsl_path_resamples_to_the_same_detections() {
    for scene in ["gsd_015.tif", "gsd_06.tif"] {
        let cpu = detect(scene, |b| b);
        let gpu = detect(scene, |b| b.preprocess(satdet::Preprocess::Gpu));
        assert!(
            gpu.report.preprocess.starts_with("gpu"),
            "{}",
            gpu.report.preprocess
        );
        assert_eq!(gpu.items, cpu.items, "{scene}");
    }
}

#[test]
fn a_matched_tile_too_big_for_the_window_limit_is_clamped_with_a_warning() {
    // 0.15 m on a 0.3 m model wants 512 px tiles (768 KiB of RGB); allow 300 px at most.
    let mut limits = satdet::Limits::default();
    limits.max_window_bytes = 300 * 300 * 3;
    let det = Detector::builder()
        .model(common::fixture("square_detector_03m.onnx"))
        .threads(1)
        .limits(limits)
        .build()
        .expect("detector");
    let scene = Scene::open(common::fixture("gsd_015.tif")).expect("open");
    let plan = det.plan(&scene).expect("a plan, not a limits error");
    assert_eq!(plan.grid.tile_px(), 300);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("needs 512 px tiles") && w.contains("--no-gsd-match")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn a_scene_within_one_percent_of_the_model_gsd_is_not_resampled() {
    // 0.2985 m is 0.5 % finer than the model's 0.3 m (GSD_TOLERANCE is 1 %): fed as it is.
    const { assert!(satdet::pipeline::GSD_TOLERANCE > 0.3 / 0.2985 - 1.0) };
    let near = detect("gsd_03.tif", |b| b.scene_gsd(0.2985));
    assert_eq!(near.report.tile_px, 256);
    assert!(near.report.gsd.matched);
    assert_eq!(near.report.gsd.scale, 1.0);
    // 0.29 m is 3.4 % finer: resampled to 256 x 0.3 / 0.29 = 265 px tiles.
    let off = detect("gsd_03.tif", |b| b.scene_gsd(0.29));
    assert_eq!(off.report.tile_px, 265);
    assert!((off.report.gsd.scale - 256.0 / 265.0).abs() < 1e-9);
    // And on the coarser side: 0.3015 m (0.5 % coarser) as it is, 0.31 m resampled.
    let near = detect("gsd_03.tif", |b| b.scene_gsd(0.3015));
    assert_eq!(near.report.tile_px, 256);
    let off = detect("gsd_03.tif", |b| b.scene_gsd(0.31));
    assert_eq!(off.report.tile_px, 248, "256 x 0.3 / 0.31 = 247.7");
}

#[test]
fn a_scene_satdet_cannot_reproject_takes_its_gsd_from_the_pixel_size() {
    // The 0.15 m scene's coordinates read as NAD27 / UTM 10N (EPSG:26710), whose datum
    // shift is a grid satdet does not carry: no WGS84 positions, but the GSD still comes
    // from the 0.15 m pixels (with a warning saying so), and tiles are matched to 0.3 m.
    let det = Detector::builder()
        .model(common::fixture("square_detector_03m.onnx"))
        .threads(1)
        .build()
        .expect("detector");
    let scene = Scene::open(common::fixture("gsd_015.tif"))
        .expect("open")
        .with_crs(26710)
        .expect("a known EPSG code");
    let plan = det.plan(&scene).expect("plan");
    assert_eq!(plan.gsd.scene_m, Some(0.15));
    assert!(plan.gsd.matched);
    assert_eq!(plan.grid.tile_px(), 512, "256 px x 0.3 / 0.15");
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("taken from the pixel size") && w.contains("grid file")),
        "{:?}",
        plan.warnings
    );
}
