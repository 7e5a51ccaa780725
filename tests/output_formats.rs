//! Every output format, checked two ways: read back by satdet (round trip, exact: all
//! formats store `f64` coordinates in binary or in Rust's shortest round-trip text, and
//! scores as `f64` of the `f32`) and read by GDAL/OGR (`ogrinfo` from Debian's gdal-bin,
//! the oracle): layer name, feature count, geometry type and CRS. Detections, sites and
//! changes are built by hand; no model runs. Bad input: `output_formats_bad_input.rs`.

#[path = "output_formats/fixtures.rs"]
mod fixtures;

use fixtures::*;
use satdet::analysis::{ChangeKind, ChangedObject};
use satdet::output::{read_change, read_detections, read_sites, write, write_detections, Layer};
use satdet::Error;
use std::path::Path;
use std::process::Command;

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
        if ext == "gpkg" {
            // The run's metadata is GDAL layer metadata (what QGIS shows), not a table.
            assert!(
                info.contains(&format!("scene={}", dets.scene.display())),
                "{info}"
            );
        }
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
        // Typed fields (a KML Schema), not text. (GDAL 3.6's LIBKML driver does not
        // resolve the schema inside a KMZ in its summary; the doc.kml is the same.)
        if ext == "kml" {
            assert!(
                info.contains("score: Real") && info.contains("class_id: Integer"),
                "{ext}:\n{info}"
            );
        }
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
