//! A format-neutral layer: named features in WGS84 (EPSG:4326) with a fixed schema of
//! typed fields and layer-level metadata. Detections, sites and changes become a
//! [`Layer`]; every writer ([`super::write`]) takes a layer, so each format is written
//! from the same values.

use crate::analysis::{Change, Site};
use crate::detection::{Detection, Detections};
use std::collections::BTreeSet;

/// The metadata key naming what a layer holds: `detections`, `sites` or `change`.
pub const KIND_KEY: &str = "satdet_layer";

/// A field's type, the same in every format (a GeoPackage column type, a FlatGeobuf
/// column type, a CSV value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// UTF-8 text.
    Text,
    /// A 64-bit signed integer.
    Integer,
    /// A 64-bit float.
    Real,
    /// A JSON object, written as an object where the format has them (GeoJSON) and as
    /// JSON text elsewhere.
    Json,
}

/// One field of a layer's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Column name (ASCII letters, digits and `_`).
    pub name: String,
    /// Its type.
    pub kind: FieldType,
}

/// One value of a feature; its variant matches the field's [`FieldType`], or is `Null`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (e.g. a map box without georeferencing).
    Null,
    /// For [`FieldType::Text`].
    Text(String),
    /// For [`FieldType::Integer`].
    Integer(i64),
    /// For [`FieldType::Real`].
    Real(f64),
    /// For [`FieldType::Json`]: a serialized JSON object.
    Json(String),
}

impl Value {
    /// The value as text, the way CSV, KML and GeoPackage text columns hold it; `None`
    /// for `Null`. Reals are written in Rust's shortest round-trip form, so reading the
    /// text back gives the same `f64`.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Text(s) | Value::Json(s) => Some(s.clone()),
            Value::Integer(i) => Some(i.to_string()),
            Value::Real(r) => Some(r.to_string()),
        }
    }
}

/// A feature's geometry in WGS84 `[lon, lat]` degrees.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// One closed exterior ring (first point repeated last), counter-clockwise.
    Polygon(Vec<[f64; 2]>),
    /// A point.
    Point([f64; 2]),
}

impl Geometry {
    /// The bounding box `[min lon, min lat, max lon, max lat]`.
    pub fn bbox(&self) -> [f64; 4] {
        let pts: &[[f64; 2]] = match self {
            Geometry::Polygon(r) => r,
            Geometry::Point(p) => std::slice::from_ref(p),
        };
        crate::geo::bounds(pts.iter().copied())
    }
}

/// One feature: a geometry, a label and one value per field of the layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// The geometry; `None` for a detection of a scene without georeferencing.
    pub geometry: Option<Geometry>,
    /// Its centre in WGS84 `[lon, lat]` (the first two CSV columns).
    pub center: Option<[f64; 2]>,
    /// A short name for maps (a KML placemark's name), e.g. `car 0.87`.
    pub label: String,
    /// The group it is shown in (a KML folder), e.g. its class.
    pub group: Option<String>,
    /// The style key (a KML style per distinct key), e.g. its class.
    pub style: Option<String>,
    /// One value per [`Layer::fields`], in order.
    pub values: Vec<Value>,
}

/// A named layer of features in WGS84 (EPSG:4326) with a fixed schema and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// The layer's name (a GeoPackage table, a FlatGeobuf/GeoJSON name, a KML document).
    pub name: String,
    /// The schema: every feature has one value per field.
    pub fields: Vec<Field>,
    /// The features.
    pub features: Vec<Feature>,
    /// Layer-level key-values (scene, acquisition date, model, thresholds…), in order;
    /// the first is [`KIND_KEY`] for layers made here.
    pub metadata: Vec<(String, String)>,
}

impl Layer {
    /// Appends a metadata key-value (e.g. the scene a sites layer was made from).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// The value of metadata `key`, if set.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The index of field `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// One polygon feature per detection (`geometry` `None` without WGS84 coordinates).
    /// Fields: `class`, `class_id`, `score`, the pixel box `pixel_x0` `pixel_y0`
    /// `pixel_x1` `pixel_y1`, the map box in the scene CRS `map_min_x` `map_min_y`
    /// `map_max_x` `map_max_y`, and for an oriented detection its rotated box in scene
    /// pixels `obb_cx` `obb_cy` `obb_w` `obb_h` `obb_angle_deg` (`Null` for an axis-aligned
    /// one; the polygon is the rotated footprint either way). Metadata: `scene`, `crs`, `acquired`, `model`,
    /// `confidence`, `iou`.
    pub fn from_detections(dets: &Detections) -> Layer {
        let features = dets
            .items
            .iter()
            .map(|d| Feature {
                geometry: d.lonlat_polygon.map(|p| Geometry::Polygon(ccw_ring(&p))),
                center: d.lonlat_center().map(|c| [c.lon, c.lat]),
                label: label(&d.class_name, d.score),
                group: Some(d.class_name.to_string()),
                style: Some(d.class_name.to_string()),
                values: detection_values(d),
            })
            .collect();
        Layer {
            name: "detections".into(),
            fields: schema(DETECTION_FIELDS),
            features,
            metadata: detections_metadata(dets),
        }
    }

    /// [`Layer::from_detections`] with each detection's site: a `site` field (the site's
    /// id, `Null` outside every site) and, for KML, one folder per site (`site 3 (23)`,
    /// then `outside sites`) instead of one per class. `sites` are those
    /// [`crate::analysis`] made from these detections (their `members` index `dets`).
    pub fn from_detections_with_sites(dets: &Detections, sites: &[Site]) -> Layer {
        let mut layer = Layer::from_detections(dets);
        let mut site_of: Vec<Option<&Site>> = vec![None; layer.features.len()];
        for s in sites {
            for &m in &s.members {
                if let Some(slot) = site_of.get_mut(m) {
                    *slot = Some(s);
                }
            }
        }
        layer.fields.push(Field {
            name: "site".into(),
            kind: FieldType::Integer,
        });
        for (f, site) in layer.features.iter_mut().zip(site_of) {
            f.values
                .push(site.map_or(Value::Null, |s| Value::Integer(i64::from(s.id))));
            f.group = Some(match site {
                Some(s) => format!("site {} ({})", s.id, s.total),
                None => "outside sites".into(),
            });
        }
        // Folders in site order (largest first), then the detections outside sites.
        let rank = |f: &Feature| match f.values.last() {
            Some(Value::Integer(id)) => *id,
            _ => i64::MAX,
        };
        layer.features.sort_by_key(rank);
        layer
    }

    /// One polygon feature per site (a point at its centre when its outline is empty),
    /// labelled `site ID (TOTAL)`. Fields: `id`, `total`, `mean_score`, one
    /// `count_<class>` per class seen in any site (0 where absent), `counts` (the counts
    /// per class as a JSON object), `center_lon`, `center_lat`, and `members` (the
    /// indices of its detections in `dets`, a JSON array). Metadata: that of `dets`,
    /// the detections the sites were made from.
    pub fn sites(sites: &[Site], dets: &Detections) -> Layer {
        let classes: BTreeSet<&str> = sites
            .iter()
            .flat_map(|s| s.counts.keys().map(String::as_str))
            .collect();
        let mut fields = schema(&[
            ("id", FieldType::Integer),
            ("total", FieldType::Integer),
            ("mean_score", FieldType::Real),
        ]);
        fields.extend(classes.iter().map(|c| Field {
            name: format!("count_{}", column_safe(c)),
            kind: FieldType::Integer,
        }));
        fields.extend(schema(&[
            ("counts", FieldType::Json),
            ("center_lon", FieldType::Real),
            ("center_lat", FieldType::Real),
            ("members", FieldType::Json),
        ]));
        let features = sites
            .iter()
            .map(|s| {
                let mut values = vec![
                    Value::Integer(i64::from(s.id)),
                    Value::Integer(count(s.total)),
                    Value::Real(f64::from(s.mean_score)),
                ];
                values.extend(
                    classes
                        .iter()
                        .map(|c| Value::Integer(count(s.counts.get(*c).copied().unwrap_or(0)))),
                );
                let counts: serde_json::Map<String, serde_json::Value> = s
                    .counts
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(*v)))
                    .collect();
                values.push(Value::Json(serde_json::Value::Object(counts).to_string()));
                values.push(Value::Real(s.center.lon));
                values.push(Value::Real(s.center.lat));
                values.push(Value::Json(
                    serde_json::Value::from(s.members.clone()).to_string(),
                ));
                let center = [s.center.lon, s.center.lat];
                Feature {
                    geometry: Some(if s.polygon.len() >= 4 {
                        Geometry::Polygon(s.polygon.clone())
                    } else {
                        Geometry::Point(center)
                    }),
                    center: Some(center),
                    label: format!("site {} ({})", s.id, s.total),
                    group: None,
                    style: None,
                    values,
                }
            })
            .collect();
        let mut metadata = detections_metadata(dets);
        metadata[0].1 = "sites".into();
        Layer {
            name: "sites".into(),
            fields,
            features,
            metadata,
        }
    }

    /// One polygon feature per object of a comparison, with the geometry of the
    /// detection reported (the earlier one for `gone`), grouped by change and styled by
    /// class. Fields: `change` (`appeared`, `gone`, `stayed`), the detection's fields
    /// (as [`Layer::from_detections`]), `distance_m` (for `stayed`), `before` and
    /// `after` (indices in the two sets). Metadata: `offset_east_m`, `offset_north_m`,
    /// `offset_pairs`, `tolerance_m`, and the scene, acquisition date and model of each
    /// date (`before_scene`, `after_acquired`, …).
    pub fn change(change: &Change, before: &Detections, after: &Detections) -> Layer {
        let mut fields = schema(&[("change", FieldType::Text)]);
        fields.extend(schema(DETECTION_FIELDS));
        fields.extend(schema(&[
            ("distance_m", FieldType::Real),
            ("before", FieldType::Integer),
            ("after", FieldType::Integer),
        ]));
        let index = |i: Option<usize>| i.map_or(Value::Null, |i| Value::Integer(count(i)));
        let features = change
            .objects
            .iter()
            .map(|o| {
                let d = &o.detection;
                let kind = o.change.as_str();
                let mut values = vec![Value::Text(kind.into())];
                values.extend(detection_values(d));
                values.extend([
                    o.distance_m.map_or(Value::Null, Value::Real),
                    index(o.before),
                    index(o.after),
                ]);
                Feature {
                    geometry: d.lonlat_polygon.map(|p| Geometry::Polygon(ccw_ring(&p))),
                    center: d.lonlat_center().map(|c| [c.lon, c.lat]),
                    label: format!("{} ({kind})", label(&d.class_name, d.score)),
                    group: Some(kind.to_string()),
                    style: Some(d.class_name.to_string()),
                    values,
                }
            })
            .collect();
        let [east, north] = change.offset_m;
        let mut metadata = vec![
            (KIND_KEY.into(), "change".into()),
            ("offset_east_m".into(), east.to_string()),
            ("offset_north_m".into(), north.to_string()),
            ("offset_pairs".into(), change.offset_pairs.to_string()),
            ("tolerance_m".into(), change.tolerance_m.to_string()),
        ];
        for (date, dets) in [("before", before), ("after", after)] {
            for (k, v) in detections_metadata(dets).into_iter().skip(1) {
                metadata.push((format!("{date}_{k}"), v));
            }
        }
        Layer {
            name: "change".into(),
            fields,
            features,
            metadata,
        }
    }
}

/// The fields of a detection, in every layer that holds detections.
const DETECTION_FIELDS: &[(&str, FieldType)] = &[
    ("class", FieldType::Text),
    ("class_id", FieldType::Integer),
    ("score", FieldType::Real),
    ("pixel_x0", FieldType::Real),
    ("pixel_y0", FieldType::Real),
    ("pixel_x1", FieldType::Real),
    ("pixel_y1", FieldType::Real),
    ("map_min_x", FieldType::Real),
    ("map_min_y", FieldType::Real),
    ("map_max_x", FieldType::Real),
    ("map_max_y", FieldType::Real),
    ("obb_cx", FieldType::Real),
    ("obb_cy", FieldType::Real),
    ("obb_w", FieldType::Real),
    ("obb_h", FieldType::Real),
    ("obb_angle_deg", FieldType::Real),
];

/// A detection's values for [`DETECTION_FIELDS`].
fn detection_values(d: &Detection) -> Vec<Value> {
    let mut values = vec![
        Value::Text(d.class_name.to_string()),
        Value::Integer(i64::from(d.class_id)),
        Value::Real(f64::from(d.score)),
    ];
    values.extend(d.pixel_box.to_array().map(Value::Real));
    match map_bbox(d) {
        Some(b) => values.extend(b.map(Value::Real)),
        None => values.extend([Value::Null, Value::Null, Value::Null, Value::Null]),
    }
    match d.oriented {
        Some(o) => {
            let [cx, cy, w, h, _] = o.to_array();
            values.extend([cx, cy, w, h, o.angle_deg()].map(Value::Real));
        }
        None => values.extend([
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ]),
    }
    values
}

/// The metadata every detections output records: what it is, the scene, its CRS and
/// acquisition date, the model and the thresholds (absent values are left out).
pub(crate) fn detections_metadata(dets: &Detections) -> Vec<(String, String)> {
    let mut m = vec![
        (KIND_KEY.to_string(), "detections".to_string()),
        ("scene".into(), dets.scene.to_string_lossy().into_owned()),
    ];
    if let Some(c) = &dets.crs {
        m.push(("crs".into(), c.to_string()));
    }
    if let Some(a) = &dets.acquired {
        m.push(("acquired".into(), a.clone()));
    }
    m.push((
        "model".into(),
        dets.report.model.to_string_lossy().into_owned(),
    ));
    m.push(("confidence".into(), dets.report.confidence.to_string()));
    m.push(("iou".into(), dets.report.iou.to_string()));
    // The bands the model saw, so that a report drawn from the file shows them.
    let b = dets.report.bands;
    m.push(("bands".into(), b.rgb.map(|n| n.to_string()).join(",")));
    m.push(("bands_from".into(), b.from.as_str().into()));
    // A run limited to an area of interest says so in its files, not only on screen.
    if let Some(a) = dets.report.aoi_area_km2 {
        m.push(("aoi_km2".into(), a.to_string()));
        m.push((
            "tiles_outside_aoi".into(),
            dets.report.tiles_outside_aoi.to_string(),
        ));
        m.push((
            "detections_outside_aoi".into(),
            dets.report.detections_outside_aoi.to_string(),
        ));
    }
    m
}

fn schema(cols: &[(&str, FieldType)]) -> Vec<Field> {
    cols.iter()
        .map(|(n, k)| Field {
            name: (*n).into(),
            kind: *k,
        })
        .collect()
}

/// `car 0.87`: a class and its score to two decimals.
fn label(class: &str, score: f32) -> String {
    format!("{class} {score:.2}")
}

/// A count as a field value (counts never reach `i64::MAX`; saturate rather than wrap).
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A class name as part of a column name: ASCII letters and digits kept (lower case),
/// anything else `_`.
fn column_safe(class: &str) -> String {
    class
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The map box `[min x, min y, max x, max y]` of a detection, in the scene CRS.
pub(crate) fn map_bbox(d: &Detection) -> Option<[f64; 4]> {
    let m = d.map_polygon?;
    let (xs, ys) = (m.map(|p| p[0]), m.map(|p| p[1]));
    let min = |v: [f64; 4]| v.into_iter().fold(f64::INFINITY, f64::min);
    let max = |v: [f64; 4]| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
    Some([min(xs), min(ys), max(xs), max(ys)])
}

/// The closed, counter-clockwise ring of four corners (RFC 7946's winding): reversed
/// when the corners run clockwise (a north-up box's TL, TR, BR, BL does).
pub(crate) fn ccw_ring(poly: &[[f64; 2]; 4]) -> Vec<[f64; 2]> {
    let mut pts = poly.to_vec();
    if signed_area(&pts) < 0.0 {
        pts.reverse();
    }
    pts.push(pts[0]);
    pts
}

/// Twice the signed area of an open or closed ring (positive: counter-clockwise).
pub(crate) fn signed_area(pts: &[[f64; 2]]) -> f64 {
    (0..pts.len())
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}
