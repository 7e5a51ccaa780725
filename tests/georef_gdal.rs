//! Georeferencing compared with GDAL (`gdalinfo`, `gdaltransform` from Debian's gdal-bin),
//! the oracle: the transform to 1e-9 relative, WGS84 positions to 1e-6 degrees (< 0.1 m).

mod common;

use satdet::geo::{MapPoint, PixelPoint, ToWgs84};
use satdet::Scene;

const PIXELS: [(f64, f64); 4] = [(0.0, 0.0), (50.0, 40.0), (12.5, 7.25), (49.0, 0.5)];

#[test]
fn transforms_match_gdalinfo() {
    for name in [
        "geo_32633.tif",
        "geo_32618.tif",
        "geo_4326.tif",
        "geo_3857.tif",
        "geo_2056.tif",
        "geo_point.tif",
        "geo_rotated.tif",
    ] {
        let path = common::fixture(name);
        let scene = Scene::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let g = scene
            .georef()
            .unwrap_or_else(|| panic!("{name}: no georef"));
        let info: serde_json::Value = serde_json::from_str(&common::gdal(
            "gdalinfo",
            &["-json", path.to_str().expect("utf8")],
            "",
        ))
        .expect("json");
        let gt: Vec<f64> = info["geoTransform"]
            .as_array()
            .expect("geoTransform")
            .iter()
            .map(|v| v.as_f64().expect("f64"))
            .collect();
        let ours = g.transform.to_gdal();
        for i in 0..6 {
            let tol = 1e-9 * (1.0 + gt[i].abs());
            assert!(
                (ours[i] - gt[i]).abs() <= tol,
                "{name}: gt[{i}] = {} but GDAL says {}",
                ours[i],
                gt[i]
            );
        }
    }
}

#[test]
fn wgs84_positions_match_gdaltransform() {
    let input: String = PIXELS.iter().map(|(x, y)| format!("{x} {y}\n")).collect();
    for (name, epsg) in [
        ("geo_32633.tif", 32633),
        ("geo_32618.tif", 32618),
        ("geo_4326.tif", 4326),
        ("geo_3857.tif", 3857),
        ("geo_2056.tif", 2056),
        ("geo_point.tif", 32633),
        ("geo_rotated.tif", 32633),
    ] {
        let path = common::fixture(name);
        let scene = Scene::open(&path).expect("open");
        let g = scene.georef().expect("georef");
        assert_eq!(g.crs, satdet::Crs::Epsg(epsg), "{name}");
        let to = ToWgs84::new(&g.crs).expect("reprojection");
        // +proj=longlat keeps lon, lat order whatever the GDAL version's axis rules.
        let out = common::gdal(
            "gdaltransform",
            &[
                "-t_srs",
                "+proj=longlat +datum=WGS84 +no_defs",
                path.to_str().expect("utf8"),
            ],
            &input,
        );
        for ((px, py), line) in PIXELS.iter().zip(out.lines()) {
            let v: Vec<f64> = line
                .split_whitespace()
                .map(|t| t.parse().expect("number"))
                .collect();
            let m = g.transform.pixel_to_map(PixelPoint { x: *px, y: *py });
            let ll = to.point(m).expect("point");
            assert!(
                (ll.lon - v[0]).abs() < 1e-6 && (ll.lat - v[1]).abs() < 1e-6,
                "{name} pixel ({px},{py}): ours {ll:?}, GDAL {v:?}"
            );
        }
        // And pixel -> map -> pixel is the identity.
        for (px, py) in PIXELS {
            let back = g
                .transform
                .map_to_pixel(g.transform.pixel_to_map(PixelPoint { x: px, y: py }))
                .expect("inverse");
            assert!(
                (back.x - px).abs() < 1e-6 && (back.y - py).abs() < 1e-6,
                "{name}"
            );
        }
    }
}

#[test]
fn map_positions_match_gdaltransform() {
    // Pixel -> map in the scene CRS (no -t_srs): checks the half-pixel and rotation rules
    // to 1 mm.
    let input: String = PIXELS.iter().map(|(x, y)| format!("{x} {y}\n")).collect();
    for name in ["geo_point.tif", "geo_rotated.tif", "geo_2056.tif"] {
        let path = common::fixture(name);
        let scene = Scene::open(&path).expect("open");
        let g = scene.georef().expect("georef");
        let out = common::gdal("gdaltransform", &[path.to_str().expect("utf8")], &input);
        for ((px, py), line) in PIXELS.iter().zip(out.lines()) {
            let v: Vec<f64> = line
                .split_whitespace()
                .map(|t| t.parse().expect("number"))
                .collect();
            let m = g.transform.pixel_to_map(PixelPoint { x: *px, y: *py });
            assert!(
                (m.x - v[0]).abs() < 1e-3 && (m.y - v[1]).abs() < 1e-3,
                "{name} ({px},{py}): {m:?} vs {v:?}"
            );
        }
    }
}

#[test]
fn scene_without_georeferencing_warns() {
    let scene = Scene::open(common::fixture("nogeo.tif")).expect("open");
    assert!(scene.georef().is_none());
    assert!(
        scene
            .warnings()
            .iter()
            .any(|w| w.contains("no georeferencing")),
        "{:?}",
        scene.warnings()
    );
    let _ = MapPoint { x: 0.0, y: 0.0 };
}
