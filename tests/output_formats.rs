//! Every output format, checked two ways: read back by satdet (round trip, exact: all
//! formats store `f64` coordinates in binary or in Rust's shortest round-trip text, and
//! scores as `f64` of the `f32`) and read by GDAL/OGR (`ogrinfo` from Debian's gdal-bin,
//! the oracle): layer name, feature count, geometry type and CRS. Detections, sites and
//! changes are built by hand; no model runs.

use satdet::analysis::{Change, ChangeKind, ChangedObject, Site};
use satdet::output::{read_change, read_detections, read_sites, write, write_detections, Layer};
use satdet::{Crs, Detection, Detections, Error, LonLat, PixelBox};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const FORMATS: [&str; 6] = ["geojson", "kml", "kmz", "csv", "gpkg", "fgb"];

/// A north-up box around (lon, lat), corners TL, TR, BR, BL as the pipeline gives them.
fn lonlat_box(lon: f64, lat: f64) -> [[f64; 2]; 4] {
    let (dx, dy) = (0.000_031_7, 0.000_022_9);
    [
        [lon - dx, lat + dy],
        [lon + dx, lat + dy],
        [lon + dx, lat - dy],
        [lon - dx, lat - dy],
    ]
}

fn det(class_id: u32, class: &str, score: f32, i: f64) -> Detection {
    let (x, y) = (100.0 + 17.5 * i, 40.25 + 9.0 * i);
    let (mx, my) = (500_000.0 + 0.5 * x, 4_430_000.0 - 0.5 * y);
    Detection {
        class_id,
        class_name: class.into(),
        score,
        pixel_box: PixelBox::new(x, y, x + 12.0, y + 6.5),
        map_polygon: Some([
            [mx, my],
            [mx + 6.0, my],
            [mx + 6.0, my - 3.25],
            [mx, my - 3.25],
        ]),
        lonlat_polygon: Some(lonlat_box(
            124.401_234_567_8 + 0.0001 * i,
            40.1 - 0.0001 * i,
        )),
    }
}

fn detections() -> Detections {
    Detections {
        items: vec![
            det(0, "car", 0.87, 0.0),
            det(1, "truck", 0.756_789_1, 1.0),
            det(0, "car", 0.61, 2.0),
            det(2, "excavator", 0.5, 3.0),
        ],
        scene: "/data/yalu_2025-09-13.tif".into(),
        crs: Some(Crs::Epsg(32651)),
        acquired: Some("2025-09-13".into()),
        report: satdet::Report {
            model: "/models/vehicles & co.onnx".into(),
            confidence: 0.25,
            iou: 0.45,
            ..Default::default()
        },
    }
}

fn sites() -> Vec<Site> {
    let ring = |lon: f64, lat: f64| {
        let b = lonlat_box(lon, lat);
        vec![b[3], b[2], b[1], b[0], b[3]]
    };
    vec![
        Site {
            id: 1,
            polygon: ring(124.40, 40.10),
            center: LonLat {
                lon: 124.40,
                lat: 40.10,
            },
            counts: BTreeMap::from([("car".into(), 18), ("truck".into(), 3)]),
            total: 21,
            mean_score: 0.7,
            members: (0..21).collect(),
        },
        Site {
            id: 2,
            polygon: ring(124.42, 40.12),
            center: LonLat {
                lon: 124.42,
                lat: 40.12,
            },
            counts: BTreeMap::from([("excavator".into(), 3)]),
            total: 3,
            mean_score: 0.55,
            members: vec![21, 22, 23],
        },
    ]
}

fn change() -> Change {
    let d = detections();
    let obj = |change, i: usize, before, after, distance_m| ChangedObject {
        change,
        detection: d.items[i].clone(),
        before,
        after,
        distance_m,
    };
    Change {
        offset_m: [2.5, -1.25],
        offset_pairs: 7,
        tolerance_m: 5.0,
        objects: vec![
            obj(ChangeKind::Stayed, 0, Some(0), Some(0), Some(0.4)),
            obj(ChangeKind::Gone, 1, Some(1), None, None),
            obj(ChangeKind::Appeared, 3, None, Some(2), None),
        ],
        counts: BTreeMap::new(),
    }
}

fn assert_same(path: &Path, a: &Detections, b: &Detections) {
    assert_eq!(a.items.len(), b.items.len(), "{}", path.display());
    for (x, y) in a.items.iter().zip(&b.items) {
        let at = format!("{}: {x:?} vs {y:?}", path.display());
        assert_eq!(x.class_name, y.class_name, "{at}");
        assert_eq!(x.class_id, y.class_id, "{at}");
        assert_eq!(x.score, y.score, "{at}");
        assert_eq!(x.pixel_box, y.pixel_box, "{at}");
        assert_eq!(x.map_polygon, y.map_polygon, "{at}");
        let (p, q) = (
            x.lonlat_polygon.expect("lonlat"),
            y.lonlat_polygon.expect("lonlat"),
        );
        for (u, v) in p.iter().flatten().zip(q.iter().flatten()) {
            assert!((u - v).abs() < 1e-9, "{at}");
        }
    }
    assert_eq!(a.scene, b.scene, "{}", path.display());
    assert_eq!(a.crs, b.crs, "{}", path.display());
    assert_eq!(a.acquired, b.acquired, "{}", path.display());
    assert_eq!(a.report.model, b.report.model, "{}", path.display());
    assert_eq!(a.report.confidence, b.report.confidence);
    assert_eq!(a.report.iou, b.report.iou);
}

#[test]
fn every_format_round_trips_detections() {
    let dir = tempfile::tempdir().expect("tmp");
    let dets = detections();
    for ext in FORMATS {
        let path = dir.path().join(format!("dets.{ext}"));
        write_detections(&path, &dets).unwrap_or_else(|e| panic!("{ext}: {e}"));
        let back = read_detections(&path).unwrap_or_else(|e| panic!("{ext}: {e}"));
        assert_same(&path, &dets, &back);
    }
    // GeoJSON through the generic layer (flat pixel/map columns) reads back the same.
    let flat = dir.path().join("flat.GeoJSON");
    write(&flat, &Layer::from_detections(&dets)).expect("write");
    assert_same(&flat, &dets, &read_detections(&flat).expect("read"));
}

#[test]
fn every_format_round_trips_sites_and_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let dets = detections();
    let (sites, change) = (sites(), change());
    for ext in FORMATS {
        let path = dir.path().join(format!("sites.{ext}"));
        write(&path, &Layer::sites(&sites, &dets)).expect("write");
        let back = read_sites(&path).unwrap_or_else(|e| panic!("{ext}: {e}"));
        assert_eq!(back, sites, "{ext}");
        let path = dir.path().join(format!("change.{ext}"));
        write(&path, &Layer::change(&change, &dets, &dets)).expect("write");
        let back = read_change(&path).unwrap_or_else(|e| panic!("{ext}: {e}"));
        assert_eq!(back.offset_m, change.offset_m, "{ext}");
        assert_eq!(back.offset_pairs, change.offset_pairs, "{ext}");
        assert_eq!(back.tolerance_m, change.tolerance_m, "{ext}");
        // KML groups objects by change: compare in a fixed order.
        let key = |o: &ChangedObject| (o.before, o.after);
        let (mut got, mut want) = (back.objects.clone(), change.objects.clone());
        got.sort_by_key(key);
        want.sort_by_key(key);
        assert_eq!(got, want, "{ext}");
        assert_eq!(back.counts["car"][&ChangeKind::Stayed], 1, "{ext}");
        assert!(read_sites(dir.path().join(format!("change.{ext}"))).is_err());
        assert!(read_change(dir.path().join(format!("sites.{ext}"))).is_err());
    }
}

#[test]
fn an_unknown_extension_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["dets.shp", "dets", "dets.geojson.bak"] {
        let path = dir.path().join(name);
        let e = write_detections(&path, &detections()).expect_err(name);
        let msg = e.to_string();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        assert!(
            msg.contains(name) && msg.contains(".gpkg") && msg.contains(".kmz"),
            "{msg}"
        );
        assert!(!path.exists());
        assert!(read_detections(&path).is_err());
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[test]
fn kml_has_a_folder_and_a_distinct_style_per_class_and_kmz_deflates_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let kml = dir.path().join("dets.kml");
    write_detections(&kml, &detections()).expect("write");
    let text = std::fs::read_to_string(&kml).expect("read");
    assert!(text.contains("<name>car 0.87</name>"), "{text}");
    assert!(text.contains("<name>truck 0.76</name>"), "{text}");
    assert_eq!(text.matches("<Folder>").count(), 3);
    let colours: std::collections::BTreeSet<&str> = text
        .split("<LineStyle><color>")
        .skip(1)
        .map(|s| &s[..8])
        .collect();
    assert_eq!(colours.len(), 3, "{text}");
    assert!(text.contains(r#"<Data name="acquired"><value>2025-09-13</value></Data>"#));
    let kmz = dir.path().join("dets.kmz");
    write_detections(&kmz, &detections()).expect("write");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&kmz).expect("open")).expect("zip");
    let entry = zip.by_name("doc.kml").expect("doc.kml");
    assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
    assert_eq!(entry.size(), text.len() as u64);
}

#[test]
fn detections_with_sites_get_a_site_column_and_a_kml_folder_per_site() {
    let dir = tempfile::tempdir().expect("tmp");
    let dets = detections();
    let mut site = sites().remove(0);
    site.members = vec![0, 2];
    site.total = 2;
    let layer = Layer::from_detections_with_sites(&dets, &[site]);
    let kml = dir.path().join("by_site.kml");
    write(&kml, &layer).expect("write");
    let mut got: Vec<(String, usize)> = layers(&ogrinfo(&kml))
        .into_iter()
        .map(|(n, c, _)| (n, c))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("outside sites".to_string(), 2),
            ("site 1 (2)".to_string(), 2)
        ]
    );
    let gpkg = dir.path().join("by_site.gpkg");
    write(&gpkg, &layer).expect("write");
    assert!(ogrinfo(&gpkg).contains("site: Integer"));
    // Still detections: read back whole, best score first.
    assert_same(&gpkg, &dets, &read_detections(&gpkg).expect("read"));
}

#[test]
fn files_gdal_rewrote_are_read_back() {
    // ogr2ogr copies our GeoPackage into a FlatGeobuf with a spatial index (Hilbert
    // order) and into a GeoPackage of its own: the detections come back the same
    // (metadata aside, which GDAL does not carry between these formats).
    let dir = tempfile::tempdir().expect("tmp");
    let dets = detections();
    let src = dir.path().join("ours.gpkg");
    write_detections(&src, &dets).expect("write");
    for (name, opts) in [
        ("gdal.fgb", &["-lco", "SPATIAL_INDEX=YES"][..]),
        ("gdal.gpkg", &[][..]),
    ] {
        let out = dir.path().join(name);
        let st = Command::new("ogr2ogr")
            .args(opts)
            .arg(&out)
            .arg(&src)
            .status()
            .expect("ogr2ogr (apt-get install gdal-bin)");
        assert!(st.success(), "{name}");
        let back = read_detections(&out).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut want = dets.clone();
        want.scene = back.scene.clone();
        want.crs = back.crs.clone();
        want.acquired = back.acquired.clone();
        want.report = back.report.clone();
        assert_same(&out, &want, &back);
    }
}

/// `ogrinfo -ro -al -so FILE`'s summary.
fn ogrinfo(path: &Path) -> String {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-so"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("ogrinfo is required for this test (apt-get install gdal-bin): {e}")
        });
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ogrinfo {}: {err}{text}",
        path.display()
    );
    // GDAL warns about a GeoPackage that breaks the standard (application_id, missing
    // tables, bad geometry blobs), and about any file it half understands.
    assert!(
        !err.contains("Warning") && !err.contains("ERROR"),
        "ogrinfo {}: {err}",
        path.display()
    );
    text
}

/// `ogrinfo -ro -al FILE`: every feature.
fn ogrinfo_full(path: &Path) -> String {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al"])
        .arg(path)
        .output()
        .expect("ogrinfo");
    assert!(out.status.success(), "ogrinfo {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Features whose geometry `ogrinfo -al` prints as a POLYGON.
fn polygons(full: &str) -> usize {
    full.lines()
        .filter(|l| l.trim_start().starts_with("POLYGON (("))
        .count()
}

/// (layer name, feature count, geometry) of each layer ogrinfo lists.
fn layers(info: &str) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for block in info.split("Layer name: ").skip(1) {
        let name = block.lines().next().unwrap_or_default().trim().to_string();
        let field = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        let count = field("Feature Count: ").parse().expect("count");
        out.push((name, count, field("Geometry: ")));
    }
    out
}

fn assert_wgs84(info: &str, what: &str) {
    assert!(
        info.contains("GEOGCRS[\"WGS 84\"") && info.contains("ID[\"EPSG\",4326]"),
        "{what}: not EPSG:4326:\n{info}"
    );
}

#[test]
fn gdal_reads_every_format_with_the_right_layer_count_geometry_and_crs() {
    let dir = tempfile::tempdir().expect("tmp");
    let dets = detections();
    for ext in ["geojson", "gpkg", "fgb"] {
        let path = dir.path().join(format!("dets.{ext}"));
        write_detections(&path, &dets).expect("write");
        let info = ogrinfo(&path);
        assert_eq!(
            layers(&info),
            [("detections".to_string(), 4, "Polygon".to_string())],
            "{ext}:\n{info}"
        );
        assert_wgs84(&info, ext);
    }
    // KML: OGR makes one layer per folder (one per class). Its KML drivers do not scan
    // the features for a summary (the layer's geometry type is "Unknown (any)"), so
    // the full listing is read: every feature a POLYGON, in WGS84.
    for ext in ["kml", "kmz"] {
        let path = dir.path().join(format!("dets.{ext}"));
        write_detections(&path, &dets).expect("write");
        let info = ogrinfo(&path);
        let mut got: Vec<(String, usize)> =
            layers(&info).into_iter().map(|(n, c, _)| (n, c)).collect();
        got.sort();
        let want = [("car", 2), ("excavator", 1), ("truck", 1)].map(|(n, c)| (n.to_string(), c));
        assert_eq!(got, want, "{ext}:\n{info}");
        assert_wgs84(&info, ext);
        let full = ogrinfo_full(&path);
        assert_eq!(polygons(&full), 4, "{ext}:\n{full}");
    }
    // CSV has no CRS (its `lon`, `lat` and `WKT` columns are WGS84 by their names) and
    // OGR does not scan it for a geometry type: every feature's WKT is a POLYGON.
    let path = dir.path().join("dets.csv");
    write_detections(&path, &dets).expect("write");
    let info = ogrinfo(&path);
    assert_eq!(
        layers(&info),
        [("dets".to_string(), 4, "Unknown (any)".to_string())],
        "{info}"
    );
    let full = ogrinfo_full(&path);
    assert_eq!(polygons(&full), 4, "{full}");
    for col in [
        "lon: ",
        "lat: ",
        "class: ",
        "score: ",
        "pixel_x0: ",
        "scene: ",
        "acquired: ",
    ] {
        assert!(info.contains(col), "{col}:\n{info}");
    }
}

#[test]
fn gdal_reads_sites_and_change_layers() {
    let dir = tempfile::tempdir().expect("tmp");
    let dets = detections();
    let sites = Layer::sites(&sites(), &dets);
    let change = Layer::change(&change(), &dets, &dets);
    for (layer, n) in [(&sites, 2), (&change, 3)] {
        for ext in ["geojson", "gpkg", "fgb"] {
            let path = dir.path().join(format!("{}.{ext}", layer.name));
            write(&path, layer).unwrap_or_else(|e| panic!("{ext}: {e}"));
            let info = ogrinfo(&path);
            assert_eq!(
                layers(&info),
                [(layer.name.clone(), n, "Polygon".to_string())],
                "{ext}:\n{info}"
            );
            assert_wgs84(&info, ext);
        }
        for ext in ["kml", "kmz", "csv"] {
            let path = dir.path().join(format!("{}.{ext}", layer.name));
            write(&path, layer).unwrap_or_else(|e| panic!("{ext}: {e}"));
            let total: usize = layers(&ogrinfo(&path)).iter().map(|l| l.1).sum();
            assert_eq!(total, n, "{ext}");
        }
    }
    let info = ogrinfo(&dir.path().join("sites.gpkg"));
    for col in [
        "id: Integer",
        "total: Integer",
        "count_car: Integer",
        "counts: String",
    ] {
        assert!(info.contains(col), "{col}:\n{info}");
    }
    let info = ogrinfo(&dir.path().join("change.fgb"));
    assert!(
        info.contains("change: String") && info.contains("distance_m: Real"),
        "{info}"
    );
}

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
    // A value no format can hold: the previous file is kept.
    let out = dir.path().join("out.kmz");
    std::fs::write(&out, b"previous").expect("write");
    dets.items[1].lonlat_polygon = Some(lonlat_box(10.0, 95.0));
    let e = write_detections(&out, &dets).expect_err("lat 95");
    assert!(e.to_string().contains("feature 1"), "{e}");
    assert_eq!(std::fs::read(&out).expect("read"), b"previous");
}
