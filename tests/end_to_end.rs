//! End to end with a detector whose right answer is known: the fixture model scores 1 at
//! the centre of every 11×11 bright square. The scene (UTM 33N, 0.5 m, 1100×900) has 16
//! squares in tile interiors, across seams, inside overlaps and at a four-tile corner, and
//! a nodata block whose tiles must be skipped.

mod common;

use satdet::{Detector, Error, Event, Scene};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn detector(batch: usize) -> Detector {
    Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .batch_size(batch)
        .threads(1)
        .build()
        .expect("detector")
}

fn expected() -> Vec<([f64; 4], [f64; 2])> {
    let m = common::manifest();
    m["detection"]["squares"]
        .as_array()
        .expect("squares")
        .iter()
        .map(|s| {
            let b: Vec<f64> = s["pixel_bbox"]
                .as_array()
                .expect("bbox")
                .iter()
                .map(|v| v.as_f64().expect("f64"))
                .collect();
            let c: Vec<f64> = s["map_center"]
                .as_array()
                .expect("center")
                .iter()
                .map(|v| v.as_f64().expect("f64"))
                .collect();
            ([b[0], b[1], b[2], b[3]], [c[0], c[1]])
        })
        .collect()
}

fn check_scene(file: &str, batch: usize) -> satdet::Detections {
    let scene = Scene::open(common::fixture(file)).expect("open");
    let det = detector(batch);
    assert_eq!(det.model_info().class_names[0].as_ref(), "square");
    let progress = Arc::new(AtomicUsize::new(0));
    let p2 = progress.clone();
    let dets = det
        .detect_with(&scene, |e| {
            if let Event::Progress(p) = e {
                assert!(p.tiles_done <= p.tiles_total);
                p2.store(p.tiles_done, Ordering::SeqCst);
            }
            ControlFlow::Continue(())
        })
        .expect("detect");
    let r = &dets.report;
    // 256-px tiles with 51 px overlap: 6 × 5 tiles; the nodata block covers 6 of them.
    assert_eq!((r.tile_px, r.overlap_px, r.tiles_total), (256, 51, 30));
    assert_eq!(r.tiles_skipped, 6, "fully masked tiles are skipped");
    assert_eq!(r.tiles_processed, 24);
    assert_eq!(
        progress.load(Ordering::SeqCst),
        30,
        "progress reached the end"
    );
    let want = expected();
    assert_eq!(
        dets.len(),
        want.len(),
        "each square exactly once: {:#?}",
        dets.items.iter().map(|d| d.pixel_box).collect::<Vec<_>>()
    );
    for (bbox, center) in &want {
        let hits: Vec<_> = dets
            .iter()
            .filter(|d| {
                let b = d.pixel_box.to_array();
                (0..4).all(|i| (b[i] - bbox[i]).abs() <= 1.0)
            })
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "square at {bbox:?} found {} times",
            hits.len()
        );
        let d = hits[0];
        assert_eq!(d.class_name.as_ref(), "square");
        // Map position within one pixel (0.5 m).
        let m = d.map_polygon.expect("map polygon");
        let mc = [
            m.iter().map(|p| p[0]).sum::<f64>() / 4.0,
            m.iter().map(|p| p[1]).sum::<f64>() / 4.0,
        ];
        assert!(
            (mc[0] - center[0]).abs() <= 0.5 && (mc[1] - center[1]).abs() <= 0.5,
            "{mc:?} vs {center:?}"
        );
        let ll = d.lonlat_center().expect("lon/lat");
        // UTM 33N at northing 5 000 000: about 45.1°N, near 15°E.
        assert!(
            (ll.lon - 15.0).abs() < 0.01 && (ll.lat - 45.15).abs() < 0.05,
            "{ll:?}"
        );
    }
    assert_eq!(dets.crs, Some(satdet::Crs::Epsg(32633)));
    dets
}

#[test]
fn squares_come_back_once_at_their_map_coordinates() {
    let a = check_scene("utm_rgb_tiled_lzw.tif", 8);
    // Determinism: another batch size gives the same detections in the same order.
    let b = check_scene("utm_rgb_tiled_lzw.tif", 1);
    assert_eq!(a.items, b.items);
}

#[test]
fn sixteen_bit_pan_scene_is_stretched_not_truncated() {
    // The pan scene stores values 290..1580: /65535 would leave the squares far below the
    // detector's threshold; the percentile stretch puts them at 1.
    let dets = check_scene("utm_pan16_strips.tif", 4);
    assert!(
        dets.report.scaling.lo[0] >= 290.0,
        "{:?}",
        dets.report.scaling
    );
}

#[test]
fn geojson_output_is_rfc7946() {
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let dets = detector(8).detect(&scene).expect("detect");
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out.geojson");
    satdet::output::geojson::write(&out, &dets).expect("write");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    assert_eq!(v["type"], "FeatureCollection");
    let feats = v["features"].as_array().expect("features");
    assert_eq!(feats.len(), dets.len());
    for (f, d) in feats.iter().zip(&dets) {
        let p = &f["properties"];
        assert_eq!(p["class"], "square");
        assert_eq!(p["class_id"], 0);
        assert_eq!(p["crs"], "EPSG:32633");
        assert!((p["score"].as_f64().expect("score") - f64::from(d.score)).abs() < 1e-6);
        assert_eq!(p["pixel_bbox"].as_array().expect("pixel_bbox").len(), 4);
        assert_eq!(p["map_bbox"].as_array().expect("map_bbox").len(), 4);
        assert_eq!(f["geometry"]["type"], "Polygon");
        let ring = f["geometry"]["coordinates"][0].as_array().expect("ring");
        assert_eq!(ring.len(), 5);
        assert_eq!(ring[0], ring[4], "closed");
        // Counter-clockwise exterior ring (shoelace area > 0).
        let pts: Vec<(f64, f64)> = ring
            .iter()
            .map(|c| (c[0].as_f64().expect("x"), c[1].as_f64().expect("y")))
            .collect();
        let area: f64 = pts
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        assert!(area > 0.0);
    }
}

#[test]
fn scene_without_georeferencing_gives_pixel_boxes_only() {
    let scene = Scene::open(common::fixture("nogeo.tif")).expect("open");
    let dets = detector(8).detect(&scene).expect("detect");
    assert!(dets.crs.is_none());
    assert!(dets
        .report
        .warnings
        .iter()
        .any(|w| w.contains("no georeferencing")));
    assert!(dets
        .iter()
        .all(|d| d.map_polygon.is_none() && d.lonlat_polygon.is_none()));
}

#[test]
fn boxes_that_cannot_be_reprojected_keep_map_polygons_and_are_reported() {
    // The detection scene at easting 1e12 m in UTM 33N: proj cannot invert that.
    let scene = Scene::open(common::fixture("utm_rgb_unprojectable.tif")).expect("open");
    let dets = detector(8)
        .detect(&scene)
        .expect("detect: one bad box must not fail the scene");
    assert_eq!(dets.len(), expected().len(), "every square still found");
    for d in dets.iter() {
        let m = d.map_polygon.expect("map polygon kept");
        assert!(m[0][0] >= 1e12, "{m:?}");
        assert!(d.lonlat_polygon.is_none(), "{d:?}");
    }
    let n = expected().len();
    assert!(
        dets.report.warnings.iter().any(|w| w.contains(&format!(
            "{n} detection(s) could not be reprojected to WGS84"
        ))),
        "{:?}",
        dets.report.warnings
    );
}

#[test]
fn non_detector_model_is_a_model_error() {
    let e = Detector::builder()
        .model(common::fixture("not_a_detector.onnx"))
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Model { .. }), "{e:?}");
    assert!(e.to_string().contains("not_a_detector.onnx"), "{e}");
}

#[test]
fn implausible_model_input_size_is_refused_before_allocating() {
    // imgsz metadata of 100000 x 100000 would be a 120 GB blank batch.
    let e = Detector::builder()
        .model(common::fixture("huge_imgsz.onnx"))
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Model { .. }), "{e:?}");
    assert!(e.to_string().contains("100000x100000"), "{e}");
}

#[test]
fn out_of_range_default_thresholds_in_metadata_are_ignored() {
    let det = Detector::builder()
        .model(common::fixture("bad_thresholds.onnx"))
        .build()
        .expect("detector");
    assert_eq!(det.model_info().default_conf, None, "conf 7 ignored");
    assert_eq!(det.model_info().default_iou, None, "iou nan ignored");
    // satdet's own default is used instead.
    assert_eq!(det.confidence(), 0.25);
}

#[test]
fn missing_and_corrupt_model_files_are_errors() {
    let e = Detector::builder()
        .model("/nonexistent/model.onnx")
        .build()
        .unwrap_err();
    assert!(
        matches!(e, Error::Io { .. }) && e.to_string().contains("/nonexistent/model.onnx"),
        "{e}"
    );
    let e = Detector::builder()
        .model(common::fixture("not_a_raster.tif"))
        .build()
        .unwrap_err();
    assert!(
        matches!(e, Error::Model { .. }) && e.to_string().contains("not_a_raster.tif"),
        "{e}"
    );
}

#[test]
fn bad_options_are_config_errors() {
    for b in [
        Detector::builder().overlap(0.95),
        Detector::builder().confidence(0.0),
        Detector::builder().iou(1.5),
        Detector::builder().batch_size(0),
        Detector::builder().tile_size(4),
    ] {
        let e = b
            .model(common::fixture("square_detector.onnx"))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
    }
}

#[test]
fn cuda_request_is_an_error_not_a_fallback() {
    let e = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .device(satdet::Device::Cuda { device_id: 0 })
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ExecutionProvider {
                provider: "CUDA",
                ..
            }
        ),
        "{e:?}"
    );
}

/// Without the `tensorrt` feature, asking for TensorRT says which feature to build with;
/// with it (and no TensorRT in the loaded onnxruntime, as here), it is still an error.
#[test]
fn tensorrt_request_is_an_error_not_a_fallback() {
    let e = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .device(satdet::Device::TensorRt { device_id: 0 })
        .build()
        .unwrap_err();
    let Error::ExecutionProvider {
        provider: "TensorRT",
        detail,
    } = &e
    else {
        panic!("{e:?}");
    };
    if cfg!(not(feature = "tensorrt")) {
        assert!(detail.contains("cargo build --features tensorrt"), "{e}");
    }
}

#[test]
fn resampled_tiles_find_the_same_squares() {
    // 320-px tiles resampled to the 256-px input: squares shrink to ~8.8 px, so the
    // fixture model (tuned to 11 px) cannot score 1 and scores a plateau of positions
    // around each centre (hence the lower IoU). This checks the resampling path end to
    // end and that boxes map back by the tile scale.
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let det = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .tile_size(320)
        .confidence(0.5)
        .iou(0.3)
        .build()
        .expect("det");
    let dets = det.detect(&scene).expect("detect");
    assert_eq!(dets.report.tile_px, 320);
    for d in &dets {
        let b = d.pixel_box;
        assert!(b.x0() >= 0.0 && b.y0() >= 0.0 && b.x1() <= 1100.0 && b.y1() <= 900.0);
    }
    // Every square is still found once (the 8.8-px square fills most of the 11-px pool).
    let want = expected();
    for (bbox, _) in &want {
        let c = [(bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0];
        let near: Vec<_> = dets
            .iter()
            .filter(|d| {
                (d.pixel_box.center().x - c[0]).abs() < 8.0
                    && (d.pixel_box.center().y - c[1]).abs() < 8.0
            })
            .map(|d| (d.pixel_box, d.score))
            .collect();
        assert_eq!(near.len(), 1, "square {bbox:?}: {near:?}");
    }
}

#[test]
fn quicklook_draws_the_boxes() {
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let dets = detector(8).detect(&scene).expect("detect");
    // 0.55 km² at 0.5 m: 1100 × 900 × 0.25 m².
    assert!((dets.report.area_km2.expect("area") - 0.2475).abs() < 1e-9);
    let dir = tempfile::tempdir().expect("tmp");
    let png = dir.path().join("q.png");
    satdet::output::quicklook::write(&png, &scene, &dets, &dets.report.scaling, 550)
        .expect("quicklook");
    let img = image::open(&png).expect("png").to_rgb8();
    assert_eq!(img.dimensions(), (550, 450), "half size");
    // The first square (40..51) has its outline drawn in class 0's colour (red).
    let b = dets
        .iter()
        .find(|d| (d.pixel_box.x0() - 40.0).abs() < 1.0 && (d.pixel_box.y0() - 40.0).abs() < 1.0)
        .expect("square");
    let x0 = (b.pixel_box.center().x / 2.0 - (b.pixel_box.width() / 4.0).max(1.5)).floor() as u32;
    let y = (b.pixel_box.center().y / 2.0) as u32;
    assert_eq!(img.get_pixel(x0, y).0, [255, 40, 40]);
    // Background stays the scene's grey (40, 45, 40 / 255 scaling).
    assert_eq!(img.get_pixel(5, 5).0, [40, 45, 40]);
}

#[test]
fn fixed_batch_v5_and_end_to_end_layouts_give_the_same_answer() {
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let reference = detector(3).detect(&scene).expect("v8");
    assert_eq!(reference.len(), 16);
    for (model, layout) in [
        ("square_fixed4.onnx", "V8"),
        ("square_v5.onnx", "V5"),
        ("square_e2e.onnx", "EndToEnd"),
        ("square_rtdetr.onnx", "RtDetr"),
    ] {
        let det = Detector::builder()
            .model(common::fixture(model))
            .batch_size(3)
            .threads(1)
            .build()
            .expect(model);
        let info = det.model_info();
        assert!(
            format!("{:?}", info.layout).starts_with(layout),
            "{model}: {:?}",
            info.layout
        );
        if model == "square_fixed4.onnx" {
            assert_eq!(
                info.fixed_batch,
                Some(4),
                "the model's fixed batch wins over 3"
            );
        }
        let got = det.detect(&scene).expect(model);
        assert_eq!(got.items, reference.items, "{model}");
    }
}

#[test]
fn an_ambiguous_layout_is_an_error_until_named() {
    // [B, 100, 6] without class names: end-to-end, or RT-DETR with two classes.
    let model = common::fixture("square_e2e_unnamed.onnx");
    let e = Detector::builder()
        .model(&model)
        .threads(1)
        .build()
        .expect_err("ambiguous");
    let msg = e.to_string();
    assert!(
        msg.contains("square_e2e_unnamed.onnx")
            && msg.contains("ambiguous")
            && msg.contains("--layout end2end|rtdetr"),
        "{msg}"
    );
    // Named, it runs, and gives the squares the v8 model gives.
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let reference = detector(3).detect(&scene).expect("v8");
    let got = Detector::builder()
        .model(&model)
        .layout(satdet::inference::LayoutKind::EndToEnd)
        .batch_size(3)
        .threads(1)
        .build()
        .expect("named layout")
        .detect(&scene)
        .expect("detect");
    let boxes = |d: &satdet::Detections| {
        d.iter()
            .map(|d| (d.pixel_box, d.score.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(boxes(&got), boxes(&reference));
    // A layout the output does not fit is refused at build.
    let e = Detector::builder()
        .model(&model)
        .layout(satdet::inference::LayoutKind::V8)
        .build()
        .expect_err("not v8");
    assert!(e.to_string().contains("`v8` asked for"), "{e}");
}

#[test]
fn the_bundled_model_keeps_its_contract() {
    let det = Detector::builder()
        .threads(1)
        .build()
        .expect("bundled model");
    let info = det.model_info();
    assert_eq!((info.width, info.height), (640, 640));
    assert_eq!(
        info.class_names
            .iter()
            .map(|c| c.as_ref())
            .collect::<Vec<_>>(),
        ["car", "truck", "excavator"]
    );
    assert!(matches!(
        info.layout,
        satdet::inference::Layout::V8 { classes: 3 }
    ));
    let gsd = info.gsd_m.expect("numeric gsd_m metadata");
    assert!(gsd.min_m >= 0.2 && gsd.max_m <= 0.7, "{gsd:?}");
    assert!(info.default_conf.is_some_and(|c| c > 0.0 && c < 1.0));
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
}

#[test]
fn the_int8_model_keeps_the_same_contract_and_runs() {
    let float = Detector::builder()
        .threads(1)
        .build()
        .expect("bundled model");
    let det = Detector::builder()
        .int8()
        .threads(1)
        .build()
        .expect("INT8 model");
    let (a, b) = (float.model_info(), det.model_info());
    assert_eq!((b.width, b.height), (a.width, a.height));
    assert_eq!(b.class_names, a.class_names);
    assert_eq!(b.layout, a.layout);
    assert_eq!(b.gsd_m, a.gsd_m);
    assert_eq!(b.default_conf, a.default_conf);
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    assert!(b.path.to_string_lossy().contains("int8"), "{:?}", b.path);
    // It runs through the whole pipeline (the output stays float32 after the QDQ graph).
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("scene");
    let found = det.detect(&scene).expect("detect");
    assert!(found.report.tiles_processed > 0);
    assert!(found.iter().all(|d| d.score.is_finite() && d.score <= 1.0));
}

/// Pearson correlation of two equally long series.
fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (
        a.iter().map(|&v| f64::from(v)).sum::<f64>() / n,
        b.iter().map(|&v| f64::from(v)).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn the_int8_model_computes_the_float_models_scores() {
    // The INT8 file must be a quantisation of the bundled float model, not merely a file
    // that loads: on the same input its class scores follow the float model's (measured on
    // this input: correlation 0.985-0.992 per class; the INT8 file of the previous model,
    // quantised from other weights, gives 0.74 for cars).
    use satdet::inference::{LoadOptions, Model};
    use satdet::pipeline::{BUNDLED_MODEL, BUNDLED_MODEL_INT8};
    use std::path::Path;
    let mut options = LoadOptions::default();
    options.threads = Some(1);
    let mut float = Model::load_bytes(Path::new("float"), BUNDLED_MODEL, &options).expect("float");
    let mut int8 =
        Model::load_bytes(Path::new("int8"), BUNDLED_MODEL_INT8, &options).expect("int8");
    let (w, h) = (float.info().width as usize, float.info().height as usize);
    // A deterministic textured input: blocks of bright and dark rectangles over noise, the
    // kind of edges the detector responds to.
    let mut rng = common::Rng(0x2545_f491_4f6c_dd1d);
    let mut input = vec![0f32; 3 * w * h];
    for y in 0..h {
        for x in 0..w {
            let noise = (rng.next() >> 40) as f32 / (1u64 << 24) as f32;
            let block = ((x / 12) * 7 + (y / 6) * 13) % 5;
            let v = (0.15 * noise + 0.2 * block as f32).min(1.0);
            for c in 0..3 {
                input[c * w * h + y * w + x] = v;
            }
        }
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let sa = float.run(&input, 1, &mut a).expect("float run");
    let sb = int8.run(&input, 1, &mut b).expect("int8 run");
    assert_eq!(sa, sb);
    let [_, rows, cells] = sa;
    assert_eq!(rows, 4 + 3, "v8 layout, three classes");
    for class in 0..3 {
        let row = (4 + class) * cells..(5 + class) * cells;
        let r = correlation(&a[row.clone()], &b[row]);
        assert!(
            r > 0.9,
            "class {class}: INT8 scores correlate {r:.3} with the float model's"
        );
    }
}

#[test]
fn the_int8_model_warns_on_a_cpu_where_it_is_slower() {
    // On an x86-64 CPU without VNNI the INT8 model runs onnxruntime's exact int8 kernel and
    // is slower than the float one (models/README.md): the detector says so there only.
    #[cfg(target_arch = "x86_64")]
    let no_vnni = !std::arch::is_x86_feature_detected!("avx512vnni")
        && !std::arch::is_x86_feature_detected!("avxvnni");
    #[cfg(not(target_arch = "x86_64"))]
    let no_vnni = false;
    let says = |d: &satdet::Detector| d.warnings().iter().any(|w| w.contains("without VNNI"));
    let int8 = satdet::Detector::builder().int8().build().expect("int8");
    assert_eq!(says(&int8), no_vnni, "{:?}", int8.warnings());
    let float = satdet::Detector::builder().build().expect("float");
    assert!(!says(&float), "{:?}", float.warnings());
}
