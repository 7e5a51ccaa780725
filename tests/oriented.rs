//! Oriented boxes end to end, with a detector whose right answer is known: the fixture
//! model (`obb_detector.onnx`, YOLO-OBB layout, `task: obb`) measures each yellow
//! rectangle's centre, sides and angle from its image moments. The scenes (1076 x 871,
//! UTM 33N, 0.5 m; once north-up, once with a 30° rotated geotransform) hold 32
//! rectangles at angles from 0° to 179.5°, many across tile seams and at a four-tile
//! corner; their pixel corners are known and their map corners come from `gdaltransform`.

mod common;

use satdet::output::{read_detections, write_detections};
use satdet::{Detection, Detector, Scene};

struct Truth {
    center: [f64; 2],
    long: f64,
    short: f64,
    angle_deg: f64,
    class: String,
    corners_px: Vec<[f64; 2]>,
    corners_map: Vec<[f64; 2]>,
}

fn points(v: &serde_json::Value) -> Vec<[f64; 2]> {
    v.as_array()
        .expect("points")
        .iter()
        .map(|p| [p[0].as_f64().expect("x"), p[1].as_f64().expect("y")])
        .collect()
}

fn truth(scene: &str) -> Vec<Truth> {
    let m = common::manifest();
    m["obb"]["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| Truth {
            center: points(&serde_json::json!([o["center_px"]]))[0],
            long: o["long_px"].as_f64().expect("long"),
            short: o["short_px"].as_f64().expect("short"),
            angle_deg: o["angle_deg"].as_f64().expect("angle"),
            class: o["class"].as_str().expect("class").to_string(),
            corners_px: points(&o["corners_px"]),
            corners_map: points(&o["corners_map"][scene]),
        })
        .collect()
}

fn detector() -> Detector {
    detector_of("obb_detector.onnx")
}

fn detector_of(model: &str) -> Detector {
    Detector::builder()
        .model(common::fixture(model))
        .batch_size(2)
        .threads(1)
        .build()
        .expect("detector")
}

/// The difference of two angles of a rectangle's long side, in degrees (mod 180).
fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(180.0);
    d.min(180.0 - d)
}

/// Every corner of `want` has one of `got` within `tol` (a rectangle's corners may come
/// in another starting order when its angle is turned by 180°).
fn corners_match(got: &[[f64; 2]], want: &[[f64; 2]], tol: f64) -> Result<(), String> {
    for w in want {
        let best = got
            .iter()
            .map(|g| (g[0] - w[0]).hypot(g[1] - w[1]))
            .fold(f64::INFINITY, f64::min);
        if best > tol {
            return Err(format!(
                "corner {w:?} is {best:.3} from the nearest of {got:?}"
            ));
        }
    }
    Ok(())
}

fn check(scene_key: &str) -> satdet::Detections {
    check_with(detector(), scene_key)
}

fn check_with(detector: Detector, scene_key: &str) -> satdet::Detections {
    let m = common::manifest();
    let file = m["obb"]["scenes"][scene_key]["file"]
        .as_str()
        .expect("file");
    let scene = Scene::open(common::fixture(file)).expect("open");
    let dets = detector.detect(&scene).expect("detect");
    assert_eq!(dets.report.tile_px, 256);
    let want = truth(scene_key);
    assert_eq!(
        dets.len(),
        want.len(),
        "{scene_key}: every object once: {:?}",
        dets.iter().map(|d| d.oriented).collect::<Vec<_>>()
    );
    for t in &want {
        let found: Vec<&Detection> = dets
            .iter()
            .filter(|d| {
                let c = d.oriented.expect("oriented").center();
                (c.x - t.center[0]).hypot(c.y - t.center[1]) < 3.0
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{scene_key}: object at {:?} found {} times",
            t.center,
            found.len()
        );
        let d = found[0];
        let o = d.oriented.expect("oriented");
        assert_eq!(d.class_name.as_ref(), t.class, "class of {:?}", t.center);
        assert!(
            angle_diff(o.angle_deg(), t.angle_deg) <= 2.0,
            "{scene_key}: angle {} against {} at {:?}",
            o.angle_deg(),
            t.angle_deg,
            t.center
        );
        assert!((o.width() - t.long).abs() <= 1.0 && (o.height() - t.short).abs() <= 1.0);
        let px: Vec<[f64; 2]> = d.pixel_polygon().iter().map(|p| [p.x, p.y]).collect();
        corners_match(&px, &t.corners_px, 1.0)
            .unwrap_or_else(|e| panic!("{scene_key} pixels: {e}"));
        // One pixel is 0.5 m on the ground in both scenes.
        let map = d.map_polygon.expect("map polygon");
        corners_match(&map, &t.corners_map, 0.5).unwrap_or_else(|e| panic!("{scene_key} map: {e}"));
        // The envelope holds the footprint (within the tile that found it).
        let e = d.pixel_box;
        for p in d.pixel_polygon() {
            assert!(
                p.x >= e.x0() - 1e-3
                    && p.x <= e.x1() + 1e-3
                    && p.y >= e.y0() - 1e-3
                    && p.y <= e.y1() + 1e-3
            );
        }
        // WGS84 corners: the map corners reprojected, in the same order.
        let ll = d.lonlat_polygon.expect("lon/lat polygon");
        assert!(
            ll.iter()
                .all(|c| (14.0..16.0).contains(&c[0]) && (45.0..46.0).contains(&c[1])),
            "{ll:?}"
        );
    }
    dets
}

#[test]
fn every_oriented_object_comes_back_once_with_its_angle_and_corners_in_utm() {
    check("utm");
}

#[test]
fn a_rotated_raster_turns_the_footprints_on_the_map() {
    let dets = check("rotated");
    // The geotransform turns the scene by 30°: an object at 30° in the pixels lies along
    // a map axis (the fixture has one), so its map polygon is axis-aligned.
    let d = dets
        .iter()
        .find(|d| angle_diff(d.angle_deg().expect("angle"), 30.0) < 2.0)
        .expect("an object at 30°");
    let m = d.map_polygon.expect("map");
    let edge = |a: [f64; 2], b: [f64; 2]| (b[1] - a[1]).atan2(b[0] - a[0]).to_degrees();
    let tilt = edge(m[0], m[1]).rem_euclid(90.0);
    assert!(tilt.min(90.0 - tilt) < 2.0, "map edge at {tilt}°: {m:?}");
}

#[test]
fn oriented_boxes_survive_every_output_format() {
    let dets = check("utm");
    let dir = tempfile::tempdir().expect("tmp");
    for ext in ["geojson", "gpkg", "fgb", "csv", "kml"] {
        let path = dir.path().join(format!("d.{ext}"));
        write_detections(&path, &dets).expect("write");
        let back = read_detections(&path).expect("read");
        assert_eq!(back.len(), dets.len(), "{ext}");
        for (a, b) in dets.iter().zip(back.iter()) {
            let (oa, ob) = (a.oriented.expect("written"), b.oriented.expect("read back"));
            for (x, y) in oa.to_array().iter().zip(ob.to_array()) {
                assert!((x - y).abs() < 1e-9, "{ext}: {oa:?} read back as {ob:?}");
            }
            // The polygon written is the rotated footprint, not the envelope.
            let (pa, pb) = (a.lonlat_polygon.expect("ll"), b.lonlat_polygon.expect("ll"));
            corners_match(&pb, &pa, 1e-9).unwrap_or_else(|e| panic!("{ext}: {e}"));
        }
    }
}

#[test]
fn the_quicklook_draws_the_rotated_outline() {
    let m = common::manifest();
    let scene = Scene::open(common::fixture("obb_utm.tif")).expect("open");
    let dets = detector().detect(&scene).expect("detect");
    let dir = tempfile::tempdir().expect("tmp");
    let png = dir.path().join("q.png");
    let width = m["obb"]["width"].as_u64().expect("width") as u32;
    satdet::output::quicklook::write(&png, &scene, &dets, &dets.report.scaling, width)
        .expect("quicklook");
    let img = image::open(&png).expect("png").to_rgb8();
    // An object at 45°: the middle of its long edges is drawn, its envelope's corner is not.
    let d = dets
        .iter()
        .find(|d| angle_diff(d.angle_deg().expect("angle"), 45.0) < 2.0)
        .expect("an object at 45°");
    let c = d.pixel_polygon();
    let mid = [(c[0].x + c[1].x) / 2.0, (c[0].y + c[1].y) / 2.0];
    // The class colours of the quick-look (red, then cyan); the scene is yellow on grey.
    let colour = [[255u8, 40, 40], [40, 200, 255]][d.class_id as usize];
    let lit = |x: f64, y: f64| img.get_pixel(x as u32, y as u32).0 == colour;
    let near_lit =
        (-1..=1).any(|dy| (-1..=1).any(|dx| lit(mid[0] + f64::from(dx), mid[1] + f64::from(dy))));
    assert!(near_lit, "no outline at the edge's middle {mid:?}");
    let e = d.pixel_box;
    assert!(
        !lit(e.x0() + 1.0, e.y0() + 1.0),
        "the envelope's corner is drawn"
    );
}

/// A detector that reports the visible part of an object cut by its tile's edge (as real
/// detectors do): the seam merge keeps the whole box from the neighbouring tile, so every
/// object still comes back once and whole.
#[test]
fn objects_cut_by_seams_come_back_once_and_whole() {
    check_with(detector_of("obb_detector_cut.onnx"), "utm");
}

#[test]
fn an_obb_export_without_its_task_metadata_is_an_error_until_the_layout_is_named() {
    let e = Detector::builder()
        .model(common::fixture("obb_detector_no_task.onnx"))
        .build()
        .expect_err("7 rows and 2 names fit no layout without task: obb");
    assert!(e.to_string().contains("--layout obb"), "{e}");
    let named = Detector::builder()
        .model(common::fixture("obb_detector_no_task.onnx"))
        .layout(satdet::inference::LayoutKind::Obb)
        .batch_size(2)
        .threads(1)
        .build()
        .expect("named");
    check_with(named, "utm");
}

#[test]
fn naming_a_layout_the_obb_output_does_not_fit_is_an_error() {
    // The fixture model's 2 names and 7 rows do not fit v8.
    let e = Detector::builder()
        .model(common::fixture("obb_detector.onnx"))
        .layout(satdet::inference::LayoutKind::V8)
        .build()
        .expect_err("v8 does not fit");
    assert!(e.to_string().contains("v8"), "{e}");
}

#[test]
fn the_report_draws_oriented_footprints_in_the_site_pictures() {
    let scene = Scene::open(common::fixture("obb_utm.tif")).expect("open");
    let dets = detector().detect(&scene).expect("detect");
    let sites = satdet::analysis::sites(&dets, 60.0, 3).expect("sites");
    assert!(!sites.is_empty(), "the fixture's objects form no site");
    // The scene against itself: every object stayed, drawn on the "before" picture too.
    let change = satdet::analysis::compare(&dets, &dets, 5.0).expect("compare");
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("report.html");
    let input = satdet::output::report::ReportInput::new(&dets, &scene)
        .with_sites(&sites)
        .with_change(&change)
        .with_before_scene(&scene);
    satdet::output::report::write(&out, &input).expect("report");
    let html = std::fs::read_to_string(&out).expect("read");
    let after = html.find("chip-after").expect("an after picture");
    let before = html.find("chip-before").expect("a before picture");
    let polygons = |from: usize| html[from..].matches("<polygon class=\"box\"").count();
    assert!(
        polygons(after) > 0,
        "no oriented outline in the site pictures"
    );
    assert!(
        polygons(before) > 0,
        "no oriented outline in the before picture"
    );
    assert!(
        !html.contains("<rect class=\"box\""),
        "an oriented object drawn as a rectangle"
    );
}

#[test]
fn the_cli_names_the_obb_layout_and_writes_the_oriented_columns() {
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("d.csv");
    let scene = common::fixture("obb_utm.tif");
    let model = common::fixture("obb_detector_no_task.onnx");
    // Without `task: obb` the CLI refuses, naming the flag…
    let out = common::satdet(&[
        "detect".as_ref(),
        scene.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "--output".as_ref(),
        csv.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--layout obb"));
    // …and with it writes every object with its rotated box.
    let out = common::satdet(&[
        "detect".as_ref(),
        scene.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "--layout".as_ref(),
        "obb".as_ref(),
        "--output".as_ref(),
        csv.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("csv");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let angle = col("obb_angle_deg");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), truth("utm").len());
    assert!(rows.iter().all(|r| r[angle]
        .parse::<f64>()
        .is_ok_and(|a| (0.0..180.0).contains(&a))));
}
