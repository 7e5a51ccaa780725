//! Areas of interest read and buffered: GeoJSON and KML (holes, multipolygons, lines,
//! projected CRSs), buffering in metres (checked against the exact area and GDAL), and
//! bad input as typed errors; placed on lon/lat and rotated scenes. Their effect on a run
//! is in `tests/aoi_run.rs`.

mod common;
#[path = "common/aoi_helpers.rs"]
mod helpers;

use helpers::{assert_aoi_error, detector, lonlat, ring_json, square, utm_polygon, Dark, K0};
use satdet::{Aoi, Crs, Error, GeoRef, GeoTransform, Scene};
use std::f64::consts::PI;
use std::sync::Arc;

#[test]
fn utm_polygon_with_a_hole_has_the_ground_area_in_km2() {
    // 1 km square minus a 400 m hole, in UTM map metres near the central meridian.
    let text = utm_polygon(&[
        square(500_000.0, 4_500_000.0, 1000.0),
        square(500_300.0, 4_500_300.0, 400.0),
    ]);
    let aoi = Aoi::from_geojson_str(&text, "hole.geojson").expect("aoi");
    let want = (1.0 - 0.16) / (K0 * K0);
    let got = aoi.area_km2().expect("area");
    // The equal-area projection is exact; UTM's scale varies by 1e-8 over this square.
    assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
}

#[test]
fn kml_and_geojson_of_one_polygon_agree_and_rings_need_not_be_closed_or_oriented() {
    let outer: Vec<[f64; 2]> = [(0.0, 0.0), (1000.0, 0.0), (1000.0, 800.0), (0.0, 800.0)]
        .iter()
        .map(|&(x, y)| lonlat(500_000.0 + x, 4_500_000.0 + y))
        .collect();
    let hole: Vec<[f64; 2]> = [
        (200.0, 200.0),
        (200.0, 400.0),
        (400.0, 400.0),
        (400.0, 200.0),
    ]
    .iter()
    .map(|&(x, y)| lonlat(500_000.0 + x, 4_500_000.0 + y))
    .collect();
    let closed = |r: &[[f64; 2]]| {
        let mut r = r.to_vec();
        r.push(r[0]);
        r
    };
    let gj = format!(
        r#"{{"type": "FeatureCollection", "features": [{{"type": "Feature", "properties": {{}},
            "geometry": {{"type": "Polygon", "coordinates": [{}, {}]}}}}]}}"#,
        ring_json(&closed(&outer)),
        ring_json(&closed(&hole))
    );
    let kml_coords = |r: &[[f64; 2]]| {
        r.iter()
            .map(|p| format!("{},{},0", p[0], p[1]))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // KML: rings not closed, the exterior clockwise (reversed).
    let mut cw = outer.clone();
    cw.reverse();
    let kml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
        <kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>site</name><Placemark>
          <Style><LineStyle><color>ff0000ff</color></LineStyle></Style>
          <Polygon><outerBoundaryIs><LinearRing><coordinates>{}</coordinates></LinearRing></outerBoundaryIs>
          <innerBoundaryIs><LinearRing><coordinates>{}</coordinates></LinearRing></innerBoundaryIs></Polygon>
        </Placemark></Document></kml>"#,
        kml_coords(&cw),
        kml_coords(&hole)
    );
    let a = Aoi::from_geojson_str(&gj, "a.geojson").expect("geojson");
    let b = Aoi::from_kml_str(&kml, "a.kml").expect("kml");
    let want = (0.8 - 0.04) / (K0 * K0);
    for aoi in [&a, &b] {
        let got = aoi.area_km2().expect("area");
        assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
    }
    // And from files, picked by extension.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("x.kml"), &kml).expect("write");
    std::fs::write(dir.path().join("x.json"), &gj).expect("write");
    for f in ["x.kml", "x.json"] {
        let aoi = Aoi::from_file(dir.path().join(f)).expect(f);
        assert!((aoi.area_km2().expect("area") - want).abs() < 1e-5 * want);
    }
}

#[test]
fn multipolygon_parts_are_unioned() {
    let text = format!(
        r#"{{"type": "MultiPolygon", "crs": {{"type": "name", "properties": {{"name": "EPSG:32633"}}}},
            "coordinates": [[{}], [{}], [{}]]}}"#,
        ring_json(&square(500_000.0, 4_500_000.0, 1000.0)),
        // Overlaps the first by half.
        ring_json(&square(500_500.0, 4_500_000.0, 1000.0)),
        ring_json(&square(510_000.0, 4_500_000.0, 1000.0)),
    );
    let aoi = Aoi::from_geojson_str(&text, "m.geojson").expect("aoi");
    let want = 2.5 / (K0 * K0);
    let got = aoi.area_km2().expect("area");
    assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");
}

/// A 1 km line buffered by 100 m: a 1 km × 200 m rectangle and two half discs.
#[test]
fn a_buffered_line_is_a_rectangle_with_round_ends() {
    // The line in UTM (1000 m of map = 1000/K0 m of ground), given via its `crs`.
    let line = r#"{"type": "Feature", "properties": {},
        "crs": {"type": "name", "properties": {"name": "EPSG:32633"}},
        "geometry": {"type": "LineString", "coordinates": [[500000, 4500000], [501000, 4500000]]}}"#;
    let aoi = Aoi::from_geojson_str(line, "line.geojson").expect("aoi");
    let e = aoi.area_km2().unwrap_err();
    assert_aoi_error(e, None, "buffer");
    let corridor = aoi.clone().buffer_m(100.0).expect("buffer");
    let want = (1000.0 / K0 * 200.0 + PI * 100.0 * 100.0) / 1e6;
    let got = corridor.area_km2().expect("area");
    // Round ends are chords of at most 1.8°: the half discs lose ≤ 1.7e-4 of their area.
    assert!((got - want).abs() < 2e-4 * want, "{got} vs {want}");
    assert_eq!(corridor.buffer_distance_m(), 100.0);
    // A buffer replaces the earlier one; 0 m leaves a line without area.
    let narrower = corridor.buffer_m(50.0).expect("50 m");
    let want50 = (1000.0 / K0 * 100.0 + PI * 50.0 * 50.0) / 1e6;
    assert!((narrower.area_km2().expect("area") - want50).abs() < 2e-4 * want50);
    assert_aoi_error(aoi.clone().buffer_m(0.0).unwrap_err(), None, "buffer");
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        assert_aoi_error(aoi.clone().buffer_m(bad).unwrap_err(), None, "buffer");
    }
}

/// GDAL (through SpatiaLite) buffers the same 1 km line by 100 m in a plane: the areas
/// agree to the arcs' chord error. Skipped when `ogrinfo` is not installed.
#[test]
fn buffer_area_agrees_with_gdal() {
    let Ok(out) = std::process::Command::new("ogrinfo")
        .args([
            ":memory:",
            "-q",
            "-dialect",
            "sqlite",
            "-sql",
            "SELECT ST_Area(ST_Buffer(ST_GeomFromText('LINESTRING(0 0, 1000 0)'), 100)) AS a",
        ])
        .output()
    else {
        eprintln!("ogrinfo not installed: skipped");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(gdal_m2) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("a (Real) = "))
        .and_then(|v| v.trim().parse::<f64>().ok())
    else {
        eprintln!("ogrinfo gave no area (no SQLite dialect?): skipped\n{text}");
        return;
    };
    let line = r#"{"type": "LineString", "crs": {"type": "name", "properties": {"name": "EPSG:32633"}},
        "coordinates": [[500000, 4500000], [500999.6, 4500000]]}"#;
    let ours = Aoi::from_geojson_str(line, "l")
        .and_then(|a| a.buffer_m(100.0))
        .and_then(|a| a.area_km2())
        .expect("area");
    assert!(
        (ours * 1e6 - gdal_m2).abs() < 1e-3 * gdal_m2,
        "{} vs GDAL {gdal_m2}",
        ours * 1e6
    );
}

#[test]
fn bad_inputs_are_typed_errors_naming_the_file_and_feature() {
    let point = r#"{"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}"#;
    assert_aoi_error(
        Aoi::from_geojson_str(point, "p.geojson").unwrap_err(),
        Some(1),
        "p.geojson",
    );
    let kml_point =
        "<kml><Placemark><Point><coordinates>1,2</coordinates></Point></Placemark></kml>";
    assert_aoi_error(
        Aoi::from_kml_str(kml_point, "p.kml").unwrap_err(),
        Some(0),
        "Point",
    );
    for (text, needle) in [
        (
            r#"{"type": "FeatureCollection", "features": []}"#,
            "no polygon or line",
        ),
        ("<kml><Document/></kml>", "no polygon or line"),
        ("not json at all", "not JSON"),
        (r#"{"features": []}"#, "type"),
    ] {
        let e = if text.starts_with('<') {
            Aoi::from_kml_str(text, "e")
        } else {
            Aoi::from_geojson_str(text, "e")
        };
        assert_aoi_error(e.unwrap_err(), None, needle);
    }
    // A CRS satdet does not know.
    for name in ["EPSG:99999", "ESRI:102003"] {
        let t = format!(
            r#"{{"type": "LineString", "crs": {{"type": "name", "properties": {{"name": "{name}"}}}}, "coordinates": [[0,0],[1,1]]}}"#
        );
        assert_aoi_error(Aoi::from_geojson_str(&t, "c").unwrap_err(), None, "CRS");
    }
    // A self-intersecting ring (a bow tie), a ring of two positions, a one-point line.
    let bowtie = r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[0,0],[0.01,0.01],[0.01,0],[0,0.01],[0,0]]]}}]}"#;
    assert_aoi_error(
        Aoi::from_geojson_str(bowtie, "b").unwrap_err(),
        Some(0),
        "self-intersection",
    );
    let two = r#"{"type": "Polygon", "coordinates": [[[0,0],[1,1],[0,0]]]}"#;
    assert_aoi_error(
        Aoi::from_geojson_str(two, "t").unwrap_err(),
        Some(0),
        "3 distinct",
    );
    let one = r#"{"type": "LineString", "coordinates": [[0,0],[0,0]]}"#;
    assert_aoi_error(
        Aoi::from_geojson_str(one, "o").unwrap_err(),
        Some(0),
        "2 distinct",
    );
    // Latitude past the pole: a projected file without its `crs` member.
    let utm = r#"{"type": "LineString", "coordinates": [[500000, 4500000], [501000, 4500000]]}"#;
    assert_aoi_error(Aoi::from_geojson_str(utm, "u").unwrap_err(), Some(0), "crs");
    // Files: missing, KMZ, not UTF-8.
    assert!(matches!(
        Aoi::from_file("/nonexistent/aoi.geojson").unwrap_err(),
        Error::Io { .. }
    ));
    let dir = tempfile::tempdir().expect("tmp");
    let kmz = dir.path().join("a.kmz");
    std::fs::write(&kmz, b"PK\x03\x04").expect("write");
    assert_aoi_error(Aoi::from_file(&kmz).unwrap_err(), None, "KMZ");
    let bin = dir.path().join("a.geojson");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).expect("write");
    assert_aoi_error(Aoi::from_file(&bin).unwrap_err(), None, "UTF-8");
}

#[test]
fn a_line_without_buffer_fails_the_build_and_a_scene_without_georef_fails_the_plan() {
    let line = r#"{"type": "LineString", "coordinates": [[15.0, 45.15], [15.01, 45.15]]}"#;
    let aoi = Aoi::from_geojson_str(line, "river.geojson").expect("aoi");
    let e = detector().aoi(aoi.clone()).build().unwrap_err();
    assert_aoi_error(e, None, "--aoi-buffer");
    let det = detector()
        .aoi(aoi.buffer_m(50.0).expect("buffer"))
        .build()
        .expect("detector");
    let nogeo = Scene::open(common::fixture("nogeo.tif")).expect("scene");
    let e = det.plan(&nogeo).unwrap_err();
    assert!(matches!(e, Error::Georef { .. }), "{e:?}");
    assert!(e.to_string().contains("river.geojson"), "{e}");
    assert!(det.detect(&nogeo).is_err());
}

/// The buffer is 100 m of ground everywhere: positions 99 m from the line are inside and
/// 101 m outside, and every vertex of the area in lon/lat lies 100 m from the line (less
/// the arcs' chord sag, ≤ 1.3 cm here), measured in UTM and corrected by its scale.
#[test]
fn containment_and_lonlat_rings_follow_the_buffer_in_metres() {
    let (a, b) = ([500_000.0, 4_500_000.0], [501_000.0, 4_500_000.0]);
    let (la, lb) = (lonlat(a[0], a[1]), lonlat(b[0], b[1]));
    let text = format!(
        r#"{{"type": "LineString", "coordinates": [[{}, {}], [{}, {}]]}}"#,
        la[0], la[1], lb[0], lb[1]
    );
    let aoi = Aoi::from_geojson_str(&text, "line")
        .and_then(|a| a.buffer_m(100.0))
        .expect("aoi");
    let at = |x: f64, y: f64| {
        let p = lonlat(x, y);
        aoi.contains_lonlat(satdet::LonLat {
            lon: p[0],
            lat: p[1],
        })
        .expect("contains")
    };
    for (dx, dy, inside) in [
        (500.0, 99.0, true),
        (500.0, 101.0, false),
        (500.0, -99.0, true),
        (500.0, -101.0, false),
        (1099.0, 0.0, true),
        (1101.0, 0.0, false),
        (-70.0, 70.0, true),
        (-71.0, 71.0, false),
    ] {
        assert_eq!(at(a[0] + dx * K0, a[1] + dy * K0), inside, "({dx}, {dy}) m");
    }
    let polygons = aoi.lonlat_polygons().expect("rings");
    assert_eq!(polygons.len(), 1);
    assert_eq!(polygons[0].len(), 1, "no holes");
    let ring = &polygons[0][0];
    assert_eq!(ring.first(), ring.last(), "closed");
    // Back to UTM with GDAL's own tool when present, else skip the metric check.
    let input: String = ring
        .iter()
        .map(|p| format!("{} {}\n", p[0], p[1]))
        .collect();
    let Ok(mut child) = std::process::Command::new("gdaltransform")
        .args(["-s_srs", "EPSG:4326", "-t_srs", "EPSG:32633", "-output_xy"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("gdaltransform not installed: metric check skipped");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("gdaltransform");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut n = 0;
    for l in text.lines() {
        let v: Vec<f64> = l
            .split_whitespace()
            .map(|x| x.parse().expect("number"))
            .collect();
        let u = ((v[0] - a[0]) / (b[0] - a[0])).clamp(0.0, 1.0);
        let d = (v[0] - (a[0] + u * (b[0] - a[0]))).hypot(v[1] - a[1]) / K0;
        assert!((99.98..100.01).contains(&d), "vertex {v:?} at {d} m");
        n += 1;
    }
    assert_eq!(n, ring.len());
}

/// A scene in lon/lat (EPSG:4326, 1e-5° pixels) and an area given in degrees: the area
/// lands on the pixels its degrees name, and the tiles kept are those meeting it.
#[test]
fn a_geographic_scene_places_the_area_by_degrees() {
    let source = Arc::new(Dark::new(2000, 2000));
    let (lon0, lat0, step) = (124.38, 40.11, 1e-5);
    let georef = GeoRef {
        transform: GeoTransform::north_up(lon0, lat0, step, step),
        crs: Crs::Epsg(4326),
    };
    let scene = Scene::from_source(source, Some(georef)).expect("scene");
    // Pixels [100, 500] × [600, 900].
    let (x0, x1, y0, y1) = (100.0, 500.0, 600.0, 900.0);
    let lon = |x: f64| lon0 + x * step;
    let lat = |y: f64| lat0 - y * step;
    let ring = vec![
        [lon(x0), lat(y0)],
        [lon(x1), lat(y0)],
        [lon(x1), lat(y1)],
        [lon(x0), lat(y1)],
        [lon(x0), lat(y0)],
    ];
    let text = format!(
        r#"{{"type": "Polygon", "coordinates": [{}]}}"#,
        ring_json(&ring)
    );
    let aoi = Aoi::from_geojson_str(&text, "deg.geojson").expect("aoi");
    let det = detector().aoi(aoi).build().expect("detector");
    let plan = det.plan(&scene).expect("plan");
    let kept = plan.aoi.expect("aoi");
    let want: Vec<usize> = plan
        .grid
        .iter()
        .filter(|t| {
            let w = t.window;
            f64::from(w.x) <= x1
                && w.x_end() as f64 >= x0
                && f64::from(w.y) <= y1
                && w.y_end() as f64 >= y0
        })
        .map(|t| t.index)
        .collect();
    assert_eq!(kept.tiles, want);
    assert_eq!(want.len(), 9);
}

/// A rotated scene (30°, 0.5 m): the kept tiles are those whose ground quadrilateral
/// meets the area, by the separating-axis test on map coordinates.
#[test]
fn a_rotated_scene_keeps_the_tiles_whose_ground_footprint_meets_the_area() {
    let source = Arc::new(Dark::new(3000, 3000));
    let (x0, y0) = (500_000.0, 5_000_000.0);
    let (c, s) = (0.5 * (PI / 6.0).cos(), 0.5 * (PI / 6.0).sin());
    let transform = GeoTransform::from_gdal([x0, c, s, y0, s, -c]);
    let georef = GeoRef {
        transform,
        crs: Crs::Epsg(32633),
    };
    let scene = Scene::from_source(source, Some(georef)).expect("scene");
    let r = [x0 + 200.0, y0 - 1000.0, x0 + 900.0, y0 - 300.0];
    let aoi = Aoi::from_geojson_str(&utm_polygon(&[square(r[0], r[1], 700.0)]), "rot.geojson")
        .expect("aoi");
    let det = detector().aoi(aoi).build().expect("detector");
    let plan = det.plan(&scene).expect("plan");
    let kept = plan.aoi.expect("aoi");
    let rect = [[r[0], r[1]], [r[2], r[1]], [r[2], r[3]], [r[0], r[3]]];
    let overlaps = |a: &[[f64; 2]; 4], b: &[[f64; 2]; 4]| {
        // Separating axes: the edge normals of both convex quadrilaterals.
        [a, b].iter().all(|poly| {
            (0..4).all(|i| {
                let (p, q) = (poly[i], poly[(i + 1) % 4]);
                let n = [q[1] - p[1], p[0] - q[0]];
                let proj = |v: &[f64; 2]| v[0] * n[0] + v[1] * n[1];
                let (amin, amax) = a
                    .iter()
                    .map(proj)
                    .fold((f64::MAX, f64::MIN), |m, v| (m.0.min(v), m.1.max(v)));
                let (bmin, bmax) = b
                    .iter()
                    .map(proj)
                    .fold((f64::MAX, f64::MIN), |m, v| (m.0.min(v), m.1.max(v)));
                amax >= bmin && bmax >= amin
            })
        })
    };
    let want: Vec<usize> = plan
        .grid
        .iter()
        .filter(|t| {
            let w = t.window;
            let corners = [
                (f64::from(w.x), f64::from(w.y)),
                (w.x_end() as f64, f64::from(w.y)),
                (w.x_end() as f64, w.y_end() as f64),
                (f64::from(w.x), w.y_end() as f64),
            ]
            .map(|(x, y)| {
                let m = transform.pixel_to_map(satdet::geo::PixelPoint { x, y });
                [m.x, m.y]
            });
            overlaps(&corners, &rect)
        })
        .map(|t| t.index)
        .collect();
    assert!(!want.is_empty() && want.len() < plan.grid.len());
    assert_eq!(kept.tiles, want);
}
