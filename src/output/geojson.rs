//! GeoJSON (RFC 7946): one Polygon feature per detection in WGS84 lon/lat, exterior ring
//! counter-clockwise. Properties: `class`, `class_id`, `score`, `pixel_bbox`
//! `[x0, y0, x1, y1]`, `map_bbox` `[min x, min y, max x, max y]` in the scene CRS, and
//! `crs`. A detection without WGS84 coordinates (scene without georeferencing) gets a
//! `null` geometry and keeps its pixel box.

use crate::detection::{Detection, Detections};
use crate::error::{Error, Result};
use geojson::{Feature, Geometry, JsonObject, JsonValue};
use std::io::Write;
use std::path::Path;

fn ring(poly: &[[f64; 2]; 4]) -> Vec<Vec<f64>> {
    // Shoelace: positive area is counter-clockwise in lon/lat.
    let area: f64 = (0..4)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % 4]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum();
    let mut pts: Vec<Vec<f64>> = poly.iter().map(|p| vec![p[0], p[1]]).collect();
    if area < 0.0 {
        pts.reverse();
    }
    pts.push(pts[0].clone());
    pts
}

fn feature(d: &Detection, crs: Option<&str>) -> Feature {
    let mut props = JsonObject::new();
    props.insert("class".into(), JsonValue::from(d.class_name.as_ref()));
    props.insert("class_id".into(), JsonValue::from(d.class_id));
    props.insert("score".into(), JsonValue::from(f64::from(d.score)));
    props.insert(
        "pixel_bbox".into(),
        JsonValue::from(d.pixel_box.to_array().to_vec()),
    );
    if let Some(m) = d.map_polygon {
        let (xs, ys) = (m.map(|p| p[0]), m.map(|p| p[1]));
        let min = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
        let max = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
        props.insert(
            "map_bbox".into(),
            JsonValue::from(vec![min(xs), min(ys), max(xs), max(ys)]),
        );
    }
    if let Some(c) = crs {
        props.insert("crs".into(), JsonValue::from(c));
    }
    Feature {
        bbox: None,
        geometry: d
            .lonlat_polygon
            .map(|p| Geometry::new(geojson::GeometryValue::new_polygon([ring(&p)]))),
        id: None,
        properties: Some(props),
        foreign_members: None,
    }
}

/// The detections as a GeoJSON FeatureCollection string.
pub fn to_string(dets: &Detections) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and serde_json writes valid UTF-8.
    let _ = write_to(&mut out, dets);
    String::from_utf8_lossy(&out).into_owned()
}

/// Streams the detections as a GeoJSON FeatureCollection into `w`, one feature at a time
/// (memory does not grow with the number of detections beyond one feature).
pub fn write_to(w: &mut impl Write, dets: &Detections) -> std::io::Result<()> {
    let crs = dets.crs.as_ref().map(|c| c.to_string());
    w.write_all(br#"{"type":"FeatureCollection","features":["#)?;
    for (i, d) in dets.items.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, &feature(d, crs.as_deref()))?;
    }
    w.write_all(b"]}")
}

/// `.geojson` or `.json` (any case), else [`Error::Config`].
pub fn check_extension(path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("geojson" | "json") => Ok(()),
        _ => Err(Error::Config(format!(
            "{}: unsupported extension for GeoJSON (use .geojson or .json)",
            path.display()
        ))),
    }
}

/// Refuses values GeoJSON cannot hold: a non-finite score or coordinate, a latitude
/// outside ±90°. (serde_json would write them as `null`, or as numbers no GIS accepts.)
pub(crate) fn check_values(path: &Path, dets: &Detections) -> Result<()> {
    for (i, d) in dets.items.iter().enumerate() {
        let bad = |what: String| {
            Err(Error::Output {
                path: path.to_path_buf(),
                detail: format!("detection {i} ({}): {what}", d.class_name),
                source: None,
            })
        };
        if !d.score.is_finite() {
            return bad(format!("score {} is not finite", d.score));
        }
        let pix = d.pixel_box.to_array();
        let map = d.map_polygon.iter().flatten().flatten();
        if pix.iter().chain(map).any(|v| !v.is_finite()) {
            return bad("a pixel or map coordinate is not finite".into());
        }
        for p in d.lonlat_polygon.iter().flatten() {
            if !(p[0].is_finite() && p[1].is_finite() && p[1].abs() <= 90.0) {
                return bad(format!(
                    "lon/lat ({}, {}) is not a valid WGS84 position",
                    p[0], p[1]
                ));
            }
        }
    }
    Ok(())
}

/// Writes the detections to `path` (`.geojson` or `.json`) as GeoJSON, atomically
/// ([`super::write_atomic`]); an output that is the scene, one of its side-cars
/// ([`super::scene_files`]) or the model is refused before anything is opened.
///
/// ```
/// # fn main() -> satdet::Result<()> {
/// # let fx = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated/");
/// # let out = std::env::temp_dir().join(format!("satdet-doc-{}.geojson", std::process::id()));
/// let scene = satdet::Scene::open(format!("{fx}utm_rgb_tiled_lzw.tif"))?;
/// let detector = satdet::Detector::builder().model(format!("{fx}square_detector.onnx")).build()?;
/// let found = detector.detect(&scene)?;
/// satdet::output::geojson::write(&out, &found)?;
/// // Never over the scene:
/// assert!(satdet::output::geojson::write(format!("{fx}utm_rgb_tiled_lzw.tif"), &found).is_err());
/// # Ok(())
/// # }
/// ```
pub fn write(path: impl AsRef<Path>, dets: &Detections) -> Result<()> {
    let path = path.as_ref();
    check_extension(path)?;
    let mut inputs = super::scene_files(&dets.scene);
    inputs.push(dets.report.model.clone());
    let inputs: Vec<&Path> = inputs.iter().map(|p| p.as_path()).collect();
    super::check_outputs(&inputs, &[path])?;
    check_values(path, dets)?;
    super::write_atomic(path, |w| {
        write_to(w, dets).map_err(super::atomic::io_err(path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clockwise_ring_is_reversed_and_closed() {
        // TL, TR, BR, BL of a north-up box: clockwise in lon/lat.
        let r = ring(&[[10.0, 50.0], [10.1, 50.0], [10.1, 49.9], [10.0, 49.9]]);
        assert_eq!(r.len(), 5);
        assert_eq!(r[0], r[4]);
        let area: f64 = r
            .windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum();
        assert!(area > 0.0, "counter-clockwise: {r:?}");
        // Already counter-clockwise input is kept as is.
        let ccw = ring(&[[10.0, 49.9], [10.1, 49.9], [10.1, 50.0], [10.0, 50.0]]);
        assert_eq!(ccw[1], vec![10.1, 49.9]);
    }
}
