//! Output files that are not what satdet wrote (truncated, corrupt, another kind of
//! result, missing columns, bad numbers, other geometries, too large for the limits)
//! are clear typed errors naming the file and the problem, never a panic; and writes
//! never replace an input nor leave a half-written file.

#[path = "output_formats/fixtures.rs"]
mod fixtures;

use fixtures::*;
use satdet::output::{read_detections, write, write_detections, Layer};
use satdet::Error;

#[test]
fn sites_and_change_files_are_not_read_as_detections() {
    let dir = tempfile::tempdir().expect("tmp");
    for ext in FORMATS {
        let path = dir.path().join(format!("sites.{ext}"));
        write(&path, &Layer::sites(&sites(), &detections())).expect("write");
        let e = read_detections(&path).expect_err(ext);
        assert!(matches!(e, Error::ResultsFile { .. }), "{ext}: {e:?}");
        let path = dir.path().join(format!("change.{ext}"));
        write(
            &path,
            &Layer::change(&change(), &detections(), &detections()),
        )
        .expect("write");
        let e = read_detections(&path).expect_err(ext);
        assert!(e.to_string().contains("change"), "{ext}: {e}");
    }
}

#[test]
fn truncated_or_corrupt_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let dets = detections();
    for ext in FORMATS {
        let good = dir.path().join(format!("good.{ext}"));
        write_detections(&good, &dets).expect("write");
        let bytes = std::fs::read(&good).expect("read");
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("half", bytes[..bytes.len() / 2].to_vec()),
            ("last 3 bytes gone", bytes[..bytes.len() - 3].to_vec()),
        ];
        let mut flipped = bytes.clone();
        for b in flipped.iter_mut().skip(bytes.len() / 3).take(64) {
            *b ^= 0x5a;
        }
        cases.push(("64 bytes flipped", flipped));
        for (what, content) in cases {
            let path = dir.path().join(format!("bad.{ext}"));
            std::fs::write(&path, &content).expect("write");
            match read_detections(&path) {
                Err(Error::ResultsFile { path: p, detail }) => {
                    assert_eq!(p, path);
                    assert!(!detail.is_empty());
                }
                Err(e) => panic!("{ext} {what}: not a ResultsFile error: {e:?}"),
                // Flipped bytes inside numbers or text can leave a valid file, a CSV
                // cut inside its last cell is still CSV, and SQLite reads a GeoPackage
                // whose last page lost unused bytes: never a panic, and never a
                // different number of detections.
                Ok(d) => {
                    let tail = what == "last 3 bytes gone" && matches!(ext, "csv" | "gpkg");
                    assert!(
                        what == "64 bytes flipped" || tail,
                        "{ext} {what}: read {} detections",
                        d.items.len()
                    );
                    assert_eq!(d.items.len(), dets.items.len(), "{ext} {what}");
                }
            }
        }
    }
}

#[test]
fn reading_is_bounded_by_the_limits() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut counted = 0;
    for ext in FORMATS {
        let path = dir.path().join(format!("dets.{ext}"));
        write_detections(&path, &detections()).expect("write");
        let len = std::fs::metadata(&path).expect("meta").len();
        let mut limits = satdet::Limits::default();
        limits.max_detection_bytes = len - 1;
        let e = satdet::output::read_detections_with(&path, &limits).expect_err(ext);
        assert!(
            matches!(e, Error::Limits { found, .. } if found == len),
            "{ext}: {e:?}"
        );
        // Room for the bytes but not for four detections.
        limits.max_detection_bytes = len.max(3 * satdet::Limits::BYTES_PER_DETECTION);
        if len < 4 * satdet::Limits::BYTES_PER_DETECTION {
            counted += 1;
            let e = satdet::output::read_detections_with(&path, &limits).expect_err(ext);
            // A KMZ's KML is bounded before it is inflated.
            let kml_bytes = matches!(&e, Error::Limits { what, .. } if what.contains("inflated"));
            assert!(
                matches!(e, Error::Limits { found: 4, .. }) || (ext == "kmz" && kml_bytes),
                "{ext}: {e:?}"
            );
        }
        // Room for the file (and a KMZ's inflated KML) and the four detections.
        limits.max_detection_bytes = (16 * len).max(4 * satdet::Limits::BYTES_PER_DETECTION);
        satdet::output::read_detections_with(&path, &limits).expect(ext);
    }
    assert!(counted > 0, "the count limit was exercised");
}

#[test]
fn missing_columns_bad_numbers_and_other_geometries_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("dets.csv");
    write_detections(&csv, &detections()).expect("write");
    let text = std::fs::read_to_string(&csv).expect("read");
    let cases = [
        ("no_class.csv", text.replacen("class,", "klass,", 1), "`class`"),
        ("bad_score.csv", text.replacen("0.87", "0.8x7", 1), "`score` is not a number"),
        (
            "point.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"class":"car","class_id":0,"score":0.5,"pixel_bbox":[0,0,1,1]}}]}"#.to_string(),
            "not a polygon",
        ),
        (
            "score_above_one.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"class":"car","class_id":0,"score":1.5,"pixel_bbox":[0,0,1,1]}}]}"#.to_string(),
            "not a confidence in [0, 1]",
        ),
        (
            "open_ring.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0.5]]]},"properties":{"class":"car","class_id":0,"score":0.5,"pixel_bbox":[0,0,1,1]}}]}"#.to_string(),
            "not closed",
        ),
        (
            "inverted_box.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"class":"car","class_id":0,"score":0.5,"pixel_bbox":[10,10,5,5]}}]}"#.to_string(),
            "inverted",
        ),
        (
            "obb_half.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"class":"car","class_id":0,"score":0.5,"pixel_bbox":[0,0,1,1],"pixel_obb":[1,2,3,4]}}]}"#.to_string(),
            "`pixel_obb` has 4 values, not 5",
        ),
        (
            "obb_flat.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"class":"car","class_id":0,"score":0.5,"pixel_bbox":[0,0,1,1],"pixel_obb":[1,2,3,0,45]}}]}"#.to_string(),
            "are not positive",
        ),
        (
            "obb_missing_angle.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"class":"car","class_id":0,"score":0.5,"pixel_bbox":[0,0,1,1],"obb_cx":1,"obb_cy":2,"obb_w":3,"obb_h":1}}]}"#.to_string(),
            "or none",
        ),
        (
            "no_pixels.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"class":"car","class_id":0,"score":0.5}}]}"#.to_string(),
            "`pixel_x0`",
        ),
    ];
    for (name, content, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write");
        let e = read_detections(&path).expect_err(name);
        let msg = e.to_string();
        assert!(
            msg.contains(name) && msg.contains(want) && msg.contains("feature 0"),
            "{msg}"
        );
    }
}

#[test]
fn writes_are_atomic_and_never_replace_the_scene_or_the_model() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut dets = detections();
    let scene = dir.path().join("scene.gpkg");
    std::fs::write(&scene, b"scene").expect("write");
    dets.scene = scene.clone();
    assert!(write_detections(&scene, &dets).is_err());
    assert_eq!(std::fs::read(&scene).expect("read"), b"scene");
    // Nor the earlier date's scene, over a change.
    let change = Layer::change(&change(), &dets, &detections());
    assert!(write(&scene, &change).is_err());
    assert_eq!(std::fs::read(&scene).expect("read"), b"scene");
    // A value no format can hold: the previous file is kept.
    let out = dir.path().join("out.kmz");
    std::fs::write(&out, b"previous").expect("write");
    dets.items[1].lonlat_polygon = Some(lonlat_box(10.0, 95.0));
    let e = write_detections(&out, &dets).expect_err("lat 95");
    assert!(e.to_string().contains("feature 1"), "{e}");
    assert_eq!(std::fs::read(&out).expect("read"), b"previous");
}
