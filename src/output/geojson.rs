//! GeoJSON (RFC 7946): one Polygon feature per detection in WGS84 lon/lat, exterior ring
//! counter-clockwise. Properties: `class`, `class_id`, `score`, `pixel_bbox`
//! `[x0, y0, x1, y1]`, `map_bbox` `[min x, min y, max x, max y]` in the scene CRS, `crs`,
//! and for an oriented detection `pixel_obb` `[cx, cy, w, h, angle_deg]` (its rotated box
//! in scene pixels; the polygon is then the rotated footprint). A detection without WGS84 coordinates (scene without georeferencing) gets a
//! `null` geometry and keeps its pixel box.

use super::layer::{Geometry as LayerGeometry, Layer, Value};
use super::read::{RawFeature, RawGeom, RawLayer, RawValue};
use crate::detection::{Detection, Detections};
use crate::error::{Error, Result};
use geojson::{Feature, Geometry, JsonObject, JsonValue};
use std::io::Write;
use std::path::Path;

fn ring(poly: &[[f64; 2]; 4]) -> Vec<Vec<f64>> {
    super::layer::ccw_ring(poly)
        .iter()
        .map(|p| vec![p[0], p[1]])
        .collect()
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
    if let Some(b) = super::layer::map_bbox(d) {
        props.insert("map_bbox".into(), JsonValue::from(b.to_vec()));
    }
    if let Some(c) = crs {
        props.insert("crs".into(), JsonValue::from(c));
    }
    if let Some(o) = d.oriented {
        let [cx, cy, w, h, _] = o.to_array();
        props.insert(
            "pixel_obb".into(),
            JsonValue::from(vec![cx, cy, w, h, o.angle_deg()]),
        );
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

/// The detections as a GeoJSON FeatureCollection string; an error for a value GeoJSON
/// cannot hold (see [`write_to`]).
pub fn to_string(dets: &Detections) -> std::io::Result<String> {
    let mut out = Vec::new();
    write_to(&mut out, dets)?;
    // serde_json writes valid UTF-8.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Streams the detections as a GeoJSON FeatureCollection into `w`, one feature at a time
/// (memory does not grow with the number of detections beyond one feature). A value
/// GeoJSON cannot hold (a non-finite score or coordinate, a latitude outside ±90°, which
/// serde_json would write as `null` or as a number no GIS accepts) is an
/// [`std::io::ErrorKind::InvalidData`] error naming the detection.
pub fn write_to(w: &mut impl Write, dets: &Detections) -> std::io::Result<()> {
    let crs = dets.crs.as_ref().map(|c| c.to_string());
    collection_start(w, "detections", &super::layer::detections_metadata(dets))?;
    for (i, d) in dets.items.iter().enumerate() {
        check_values(d).map_err(|what| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("detection {i} ({}): {what}", d.class_name),
            )
        })?;
        if i > 0 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, &feature(d, crs.as_deref()))?;
    }
    w.write_all(b"]}")
}

/// `{"type":"FeatureCollection","name":…,<metadata>…,"features":[`: the layer's name
/// (OGR's layer name) and its metadata as foreign members.
fn collection_start(
    w: &mut impl Write,
    name: &str,
    metadata: &[(String, String)],
) -> std::io::Result<()> {
    w.write_all(br#"{"type":"FeatureCollection","name":"#)?;
    serde_json::to_writer(&mut *w, name)?;
    for (k, v) in metadata {
        // "type", "name" and "features" are the collection's own members.
        if matches!(k.as_str(), "type" | "name" | "features" | "bbox") {
            continue;
        }
        w.write_all(b",")?;
        serde_json::to_writer(&mut *w, k)?;
        w.write_all(b":")?;
        serde_json::to_writer(&mut *w, v)?;
    }
    w.write_all(br#","features":["#)
}

/// Streams any [`Layer`] as a GeoJSON FeatureCollection: its name and metadata as
/// top-level members, each feature's fields as properties (a [`FieldType::Json`](super::FieldType::Json) value
/// as an object, `Null` as `null`). A non-finite coordinate or real, or a latitude
/// outside ±90°, is an [`std::io::ErrorKind::InvalidData`] error naming the feature.
pub fn write_layer_to(w: &mut impl Write, layer: &Layer) -> std::io::Result<()> {
    collection_start(w, &layer.name, &layer.metadata)?;
    for (i, f) in layer.features.iter().enumerate() {
        let bad = |what: String| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("feature {i} ({}): {what}", f.label),
            )
        };
        if i > 0 {
            w.write_all(b",")?;
        }
        let mut props = JsonObject::new();
        for (field, v) in layer.fields.iter().zip(&f.values) {
            let json = match v {
                Value::Null => JsonValue::Null,
                Value::Text(s) => JsonValue::from(s.as_str()),
                Value::Integer(n) => JsonValue::from(*n),
                Value::Real(r) if r.is_finite() => JsonValue::from(*r),
                Value::Real(r) => return Err(bad(format!("{} is {r}", field.name))),
                Value::Json(s) => serde_json::from_str(s)
                    .map_err(|e| bad(format!("{} is not JSON: {e}", field.name)))?,
            };
            props.insert(field.name.clone(), json);
        }
        let geometry = match &f.geometry {
            None => None,
            Some(g) => {
                super::format::check_lonlat(g).map_err(bad)?;
                Some(Geometry::new(match g {
                    LayerGeometry::Polygon(r) => geojson::GeometryValue::new_polygon([r
                        .iter()
                        .map(|p| vec![p[0], p[1]])
                        .collect::<Vec<_>>()]),
                    LayerGeometry::Point(p) => geojson::GeometryValue::new_point(vec![p[0], p[1]]),
                }))
            }
        };
        let feature = Feature {
            bbox: None,
            geometry,
            id: None,
            properties: Some(props),
            foreign_members: None,
        };
        serde_json::to_writer(&mut *w, &feature)?;
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

/// What makes `d` unwritable in GeoJSON, if anything.
fn check_values(d: &Detection) -> std::result::Result<(), String> {
    if !d.score.is_finite() {
        return Err(format!("score {} is not finite", d.score));
    }
    let pix = d.pixel_box.to_array();
    let obb = d.oriented.map(|o| o.to_array()).unwrap_or_default();
    let map = d.map_polygon.iter().flatten().flatten();
    if pix.iter().chain(&obb).chain(map).any(|v| !v.is_finite()) {
        return Err("a pixel or map coordinate is not finite".into());
    }
    for p in d.lonlat_polygon.iter().flatten() {
        if !(p[0].is_finite() && p[1].is_finite() && p[1].abs() <= 90.0) {
            return Err(format!(
                "lon/lat ({}, {}) is not a valid WGS84 position",
                p[0], p[1]
            ));
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
    super::check_result_output(&[&dets.scene], &dets.report.model, path)?;
    super::write_atomic(path, |w| {
        write_to(w, dets).map_err(super::atomic::io_err(path))
    })
}

/// Reads a GeoJSON FeatureCollection as neutral records: its string members as
/// metadata, each feature's properties (the `pixel_bbox`/`map_bbox` arrays of
/// [`write_to`] spread into `pixel_x0`… and `map_min_x`…).
pub(crate) fn read_geojson(r: impl std::io::Read) -> std::result::Result<RawLayer, String> {
    let doc: JsonValue = serde_json::from_reader(r).map_err(|e| format!("bad JSON: {e}"))?;
    let obj = doc.as_object().ok_or("not a JSON object")?;
    if obj.get("type").and_then(JsonValue::as_str) != Some("FeatureCollection") {
        return Err("not a GeoJSON FeatureCollection".into());
    }
    let mut layer = RawLayer::default();
    for (k, v) in obj {
        if let (false, Some(s)) = (matches!(k.as_str(), "type" | "name"), v.as_str()) {
            layer.meta.insert(k.clone(), s.to_string());
        }
    }
    let features = obj
        .get("features")
        .and_then(JsonValue::as_array)
        .ok_or("no `features` array")?;
    for (i, f) in features.iter().enumerate() {
        layer
            .features
            .push(read_feature(f).map_err(|e| format!("feature {i}: {e}"))?);
    }
    Ok(layer)
}

fn read_feature(f: &JsonValue) -> std::result::Result<RawFeature, String> {
    let mut out = RawFeature::default();
    if let Some(props) = f.get("properties").and_then(JsonValue::as_object) {
        for (k, v) in props {
            let spread: &[&str] = match k.as_str() {
                "pixel_bbox" => &["pixel_x0", "pixel_y0", "pixel_x1", "pixel_y1"],
                "map_bbox" => &["map_min_x", "map_min_y", "map_max_x", "map_max_y"],
                "pixel_obb" => &["obb_cx", "obb_cy", "obb_w", "obb_h", "obb_angle_deg"],
                _ => &[],
            };
            match v.as_array() {
                Some(a) if !spread.is_empty() => {
                    if a.len() != spread.len() {
                        return Err(format!(
                            "`{k}` has {} values, not {}",
                            a.len(),
                            spread.len()
                        ));
                    }
                    for (name, x) in spread.iter().zip(a) {
                        out.props.insert(name.to_string(), raw(x));
                    }
                }
                _ => {
                    out.props.insert(k.clone(), raw(v));
                }
            }
        }
    }
    out.geom = match f.get("geometry") {
        None | Some(JsonValue::Null) => RawGeom::None,
        Some(g) => match g.get("type").and_then(JsonValue::as_str) {
            Some("Polygon") => {
                let ring = g
                    .pointer("/coordinates/0")
                    .and_then(JsonValue::as_array)
                    .ok_or("a Polygon without an exterior ring")?;
                let pts = ring
                    .iter()
                    .map(|p| {
                        match (
                            p.get(0).and_then(JsonValue::as_f64),
                            p.get(1).and_then(JsonValue::as_f64),
                        ) {
                            (Some(x), Some(y)) => Ok([x, y]),
                            _ => Err(format!("bad position {p}")),
                        }
                    })
                    .collect::<std::result::Result<Vec<_>, String>>()?;
                RawGeom::Polygon(pts)
            }
            Some(t) => RawGeom::Other(t.to_string()),
            None => return Err("a geometry without a type".into()),
        },
    };
    Ok(out)
}

fn raw(v: &JsonValue) -> RawValue {
    match v {
        JsonValue::Null => RawValue::Null,
        JsonValue::Number(n) => n.as_f64().map_or(RawValue::Null, RawValue::Num),
        JsonValue::String(s) => RawValue::Text(s.clone()),
        other => RawValue::Text(other.to_string()),
    }
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

    #[test]
    fn values_geojson_cannot_hold_are_refused_and_the_previous_file_kept() {
        let ok = [[10.0, 46.0], [10.1, 46.0], [10.1, 45.9], [10.0, 45.9]];
        let det = |lonlat: [[f64; 2]; 4], score: f32| Detection {
            class_id: 0,
            class_name: "car".into(),
            score,
            pixel_box: crate::geo::PixelBox::new(0.0, 0.0, 4.0, 2.0),
            oriented: None,
            map_polygon: None,
            lonlat_polygon: Some(lonlat),
        };
        let dets = |items| Detections {
            items,
            scene: "scene.tif".into(),
            crs: None,
            acquired: None,
            report: Default::default(),
        };
        let good = dets(vec![det(ok, 0.9)]);
        assert!(to_string(&good).expect("valid").contains("\"car\""));
        let mut past_pole = ok;
        past_pole[0][1] = 93.0;
        for bad in [
            dets(vec![det(ok, 0.9), det(past_pole, 0.8)]),
            dets(vec![det(ok, f32::INFINITY)]),
        ] {
            let e = to_string(&bad).expect_err("invalid");
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
            let d = tempfile::tempdir().expect("tmp");
            let p = d.path().join("out.geojson");
            std::fs::write(&p, b"previous").expect("write");
            assert!(write(&p, &bad).is_err());
            assert_eq!(std::fs::read(&p).expect("read"), b"previous");
        }
    }
}
