//! Reading detections back from any format satdet writes, so that `sites` and
//! `compare` take any of them. Each format's reader gives the same neutral records
//! ([`RawLayer`]); one function turns them into [`Detections`] and says precisely what
//! is missing or malformed.

use super::format::Format;
use super::layer::{signed_area, KIND_KEY};
use crate::analysis::{Change, Site};
use crate::detection::{Detection, Detections, Report};
use crate::error::{snippet, Error, Result};
use crate::geo::{Crs, OrientedBox, PixelBox};
use crate::limits::Limits;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A property as a format stores it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawValue {
    /// Absent or null.
    Null,
    /// Text (CSV and KML hold only text).
    Text(String),
    /// A number.
    Num(f64),
}

/// A geometry as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum RawGeom {
    /// No geometry.
    #[default]
    None,
    /// One exterior ring, as stored.
    Polygon(Vec<[f64; 2]>),
    /// Anything else, by name (a detections file holds polygons only).
    Other(String),
}

/// One feature as read.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawFeature {
    pub(crate) geom: RawGeom,
    pub(crate) props: HashMap<String, RawValue>,
}

/// A layer as read: metadata and features.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawLayer {
    pub(crate) meta: HashMap<String, String>,
    pub(crate) features: Vec<RawFeature>,
}

/// Reads detections from a file satdet wrote, in any of its formats (from the
/// extension, [`Format::from_path`]): classes, scores, pixel boxes, WGS84 polygons,
/// the map box (as an axis-aligned polygon), and the scene, CRS, acquisition date,
/// model and thresholds. Detections come back best score first.
///
/// A file that is not a satdet detections file (a missing column, a value that is not
/// a number, a geometry that is not a polygon, a truncated or corrupt file, a sites or
/// change layer) is an [`Error::ResultsFile`] naming the file and the problem.
/// Memory is bounded by the default [`Limits`] ([`read_detections_with`]).
pub fn read_detections(path: impl AsRef<Path>) -> Result<Detections> {
    read_detections_with(path, &Limits::default())
}

/// [`read_detections`] under `limits`: the file may be at most
/// [`Limits::max_detection_bytes`] long (a reader holds the file's records once, then the
/// detections), and hold at most `max_detection_bytes /`
/// [`Limits::BYTES_PER_DETECTION`] features; more is an [`Error::Limits`]. The size is
/// checked before the file is parsed (for a KMZ, the declared size of its KML too, and
/// no more than that is ever inflated), the count before detections are built.
pub fn read_detections_with(path: impl AsRef<Path>, limits: &Limits) -> Result<Detections> {
    let path = path.as_ref();
    let raw = read_raw(path, limits)?;
    to_detections(raw).map_err(|detail| Error::ResultsFile {
        path: path.to_path_buf(),
        detail,
    })
}

/// Reads sites written by [`super::write`] of a [`super::Layer::sites`] layer, in any
/// format (ids, totals, mean scores, counts per class, centres, outlines, members),
/// under the default [`Limits`]. A file that holds no sites is an
/// [`Error::ResultsFile`].
pub fn read_sites(path: impl AsRef<Path>) -> Result<Vec<Site>> {
    let path = path.as_ref();
    let raw = read_raw(path, &Limits::default())?;
    super::read_more::to_sites(raw).map_err(|detail| Error::ResultsFile {
        path: path.to_path_buf(),
        detail,
    })
}

/// Reads a change written by [`super::write`] of a [`super::Layer::change`] layer, in
/// any format (the offset, pairs and tolerance, and each object with its detection),
/// under the default [`Limits`]; the counts per class and change are recomputed from
/// the objects. A file that holds no change is an [`Error::ResultsFile`].
pub fn read_change(path: impl AsRef<Path>) -> Result<Change> {
    let path = path.as_ref();
    let raw = read_raw(path, &Limits::default())?;
    super::read_more::to_change(raw).map_err(|detail| Error::ResultsFile {
        path: path.to_path_buf(),
        detail,
    })
}

/// Any satdet layer file as neutral records, bounded by `limits`.
fn read_raw(path: &Path, limits: &Limits) -> Result<RawLayer> {
    let format = Format::from_path(path)?;
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let context = || path.display().to_string();
    Limits::check(
        context,
        "detections file bytes (Limits::max_detection_bytes)",
        len,
        limits.max_detection_bytes,
    )?;
    let bad = |detail: String| Error::ResultsFile {
        path: path.to_path_buf(),
        detail,
    };
    let raw = match format {
        Format::GeoPackage => super::gpkg::read_gpkg(path),
        // Its size was checked above; the reader checks every size inside against it.
        Format::FlatGeobuf => {
            super::fgb::read_fgb(&std::fs::read(path).map_err(|e| Error::io(path, e))?)
        }
        Format::Kmz => Ok(super::kml::read_kmz(path, limits.max_detection_bytes)?),
        Format::Kml => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            String::from_utf8(bytes)
                .map_err(|e| format!("not UTF-8 text: {e}"))
                .and_then(|text| super::kml::read_kml(&text))
        }
        _ => {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let r = std::io::BufReader::new(file);
            match format {
                Format::GeoJson => super::geojson::read_geojson(r),
                _ => super::table::read_csv(r),
            }
        }
    }
    .map_err(bad)?;
    Limits::check(
        context,
        "detections in the file (Limits::max_detection_bytes / BYTES_PER_DETECTION)",
        raw.features.len() as u64,
        limits.max_detection_bytes / Limits::BYTES_PER_DETECTION,
    )?;
    Ok(raw)
}

pub(crate) fn num(f: &RawFeature, key: &str) -> std::result::Result<Option<f64>, String> {
    match f.props.get(key) {
        None | Some(RawValue::Null) => Ok(None),
        Some(RawValue::Num(n)) => Ok(Some(*n)),
        Some(RawValue::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(RawValue::Text(t)) => t
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| format!("`{key}` is not a number: `{}`", snippet(t))),
    }
}

pub(crate) fn required(f: &RawFeature, key: &str) -> std::result::Result<f64, String> {
    match num(f, key)? {
        Some(v) if v.is_finite() => Ok(v),
        Some(v) => Err(format!("`{key}` is {v}")),
        None => Err(format!("no `{key}` value")),
    }
}

/// The four corners of a closed ring written by [`super::layer::ccw_ring`], back in
/// their original order (TL, TR, BR, BL for a north-up scene).
fn corners(ring: &[[f64; 2]]) -> std::result::Result<[[f64; 2]; 4], String> {
    let open = match ring {
        [first @ .., last] if ring.len() == 5 && first[0] == *last => first,
        _ if ring.len() == 4 => ring,
        [first, .., last] if ring.len() == 5 && first != last => {
            return Err(format!(
                "a detection's polygon ring is not closed (5 points, the last {last:?} is not the first {first:?})"
            ))
        }
        _ => {
            return Err(format!(
                "a detection's polygon has 4 corners (5 points closed), found {} points",
                ring.len()
            ))
        }
    };
    let mut c = [open[0], open[1], open[2], open[3]];
    if c.iter().flatten().any(|v| !v.is_finite()) || c.iter().any(|p| p[1].abs() > 90.0) {
        return Err("a polygon corner is not a valid WGS84 position".into());
    }
    // Written counter-clockwise from clockwise corners: reverse again.
    if signed_area(&c) > 0.0 {
        c.reverse();
    }
    Ok(c)
}

pub(crate) fn detection(f: &RawFeature) -> std::result::Result<Detection, String> {
    let class_name = match f.props.get("class") {
        Some(RawValue::Text(t)) if !t.is_empty() => t.clone(),
        Some(RawValue::Num(n)) => n.to_string(),
        _ => return Err("no `class` value".into()),
    };
    let class_id = required(f, "class_id")?;
    if class_id < 0.0 || class_id > f64::from(u32::MAX) || class_id.fract() != 0.0 {
        return Err(format!("`class_id` {class_id} is not a class index"));
    }
    let score = required(f, "score")?;
    if !(0.0..=1.0).contains(&score) {
        return Err(format!("`score` {score} is not a confidence in [0, 1]"));
    }
    let p = ["pixel_x0", "pixel_y0", "pixel_x1", "pixel_y1"]
        .map(|k| required(f, k))
        .into_iter()
        .collect::<std::result::Result<Vec<f64>, String>>()?;
    if p[0] > p[2] || p[1] > p[3] {
        return Err(format!(
            "the pixel box [{}, {}, {}, {}] is inverted (x0 > x1 or y0 > y1)",
            p[0], p[1], p[2], p[3]
        ));
    }
    let m = ["map_min_x", "map_min_y", "map_max_x", "map_max_y"]
        .map(|k| num(f, k))
        .into_iter()
        .collect::<std::result::Result<Vec<Option<f64>>, String>>()?;
    let map_polygon = match m[..] {
        [Some(x0), Some(y0), Some(x1), Some(y1)] => Some([[x0, y1], [x1, y1], [x1, y0], [x0, y0]]),
        _ => None,
    };
    let o = ["obb_cx", "obb_cy", "obb_w", "obb_h", "obb_angle_deg"]
        .map(|k| num(f, k))
        .into_iter()
        .collect::<std::result::Result<Vec<Option<f64>>, String>>()?;
    let oriented = match o[..] {
        [None, None, None, None, None] => None,
        [Some(cx), Some(cy), Some(w), Some(h), Some(a)] => {
            if ![cx, cy, a].iter().all(|v| v.is_finite()) {
                return Err("the oriented box `obb_*` values are not all finite".into());
            }
            if !(w > 0.0 && h > 0.0 && w.is_finite() && h.is_finite()) {
                return Err(format!(
                    "the oriented box's sides `obb_w` {w} and `obb_h` {h} are not positive"
                ));
            }
            Some(OrientedBox::new(cx, cy, w, h, a.to_radians()))
        }
        _ => {
            return Err(
                "the oriented box needs all of `obb_cx`, `obb_cy`, `obb_w`, `obb_h` and `obb_angle_deg`, or none"
                    .into(),
            )
        }
    };
    let lonlat_polygon = match &f.geom {
        RawGeom::None => None,
        RawGeom::Polygon(r) => Some(corners(r)?),
        RawGeom::Other(t) => return Err(format!("geometry is a {t}, not a polygon")),
    };
    Ok(Detection {
        class_id: class_id as u32,
        class_name: Arc::from(class_name),
        score: score as f32,
        pixel_box: PixelBox::new(p[0], p[1], p[2], p[3]),
        oriented,
        map_polygon,
        lonlat_polygon,
    })
}

fn parse_crs(s: &str) -> Crs {
    if let Some(code) = s.strip_prefix("EPSG:").and_then(|c| c.parse().ok()) {
        return Crs::Epsg(code);
    }
    if s.starts_with("+proj=") {
        return Crs::Proj(s.to_string());
    }
    let inner = s
        .strip_prefix("unknown CRS (")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(s);
    Crs::Unknown(inner.to_string())
}

/// An error unless the layer's kind (when recorded) is `want`.
pub(crate) fn check_kind(raw: &RawLayer, want: &str) -> std::result::Result<(), String> {
    match raw.meta.get(KIND_KEY) {
        Some(kind) if kind != want => Err(format!("it holds {kind}, not {want}")),
        _ => Ok(()),
    }
}

/// The neutral records as detections, or what makes them not a detections file.
pub(crate) fn to_detections(raw: RawLayer) -> std::result::Result<Detections, String> {
    check_kind(&raw, "detections")?;
    let mut items = raw
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| detection(f).map_err(|e| format!("feature {i}: {e}")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // Best score first, as `Detections` promises (KML groups them by class).
    items.sort_by(|a, b| b.score.total_cmp(&a.score));
    let meta = |k: &str| raw.meta.get(k).filter(|v| !v.is_empty());
    let threshold = |k: &str| -> std::result::Result<f32, String> {
        meta(k).map_or(Ok(0.0), |v| {
            v.parse()
                .map_err(|_| format!("metadata `{k}` is not a number: `{}`", snippet(v)))
        })
    };
    let bands = match (meta("bands"), meta("bands_from")) {
        (Some(rgb), Some(from)) => {
            let bad = || {
                format!(
                    "metadata `bands` is not 3 band numbers and a source: `{}` ({})",
                    snippet(rgb),
                    snippet(from)
                )
            };
            let n: Vec<u16> = rgb
                .split(',')
                .map(|v| v.trim().parse::<u16>().map_err(|_| bad()))
                .collect::<std::result::Result<_, _>>()?;
            let rgb: [u16; 3] = n.try_into().map_err(|_| bad())?;
            let from = crate::detection::BandsFrom::parse(from).ok_or_else(bad)?;
            if rgb.contains(&0) {
                return Err(bad());
            }
            crate::detection::Bands { rgb, from }
        }
        // Written before satdet recorded its bands: not known, so assumed.
        _ => crate::detection::Bands::default(),
    };
    let report = Report {
        model: meta("model").map(PathBuf::from).unwrap_or_default(),
        confidence: threshold("confidence")?,
        iou: threshold("iou")?,
        bands,
        ..Default::default()
    };
    Ok(Detections {
        items,
        scene: meta("scene").map(PathBuf::from).unwrap_or_default(),
        crs: meta("crs").map(|c| parse_crs(c)),
        acquired: meta("acquired").cloned(),
        report,
    })
}
