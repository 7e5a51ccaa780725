//! The output formats, chosen from a file's extension, and the one entry point that
//! writes a [`Layer`] in any of them.

use super::layer::{Geometry, Layer, Value};
use crate::detection::Detections;
use crate::error::{Error, Result};
use std::path::Path;

/// A vector format satdet writes and reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// GeoJSON (RFC 7946), `.geojson` or `.json`.
    GeoJson,
    /// Google Earth's KML, `.kml`.
    Kml,
    /// Zipped KML (`doc.kml` inside), `.kmz`.
    Kmz,
    /// Comma-separated values, one row per feature, `.csv`.
    Csv,
    /// OGC GeoPackage (SQLite), `.gpkg`.
    GeoPackage,
    /// FlatGeobuf, `.fgb`.
    FlatGeobuf,
}

/// Every extension [`Format::from_path`] accepts (any letter case).
pub const EXTENSIONS: [&str; 7] = ["geojson", "json", "kml", "kmz", "csv", "gpkg", "fgb"];

impl Format {
    /// The format named by `path`'s extension, in any letter case; an unknown or
    /// missing extension is an [`Error::Config`] naming the path and listing
    /// [`EXTENSIONS`].
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        Ok(match ext.as_deref() {
            Some("geojson" | "json") => Format::GeoJson,
            Some("kml") => Format::Kml,
            Some("kmz") => Format::Kmz,
            Some("csv") => Format::Csv,
            Some("gpkg") => Format::GeoPackage,
            Some("fgb") => Format::FlatGeobuf,
            _ => {
                return Err(Error::Config(format!(
                    "{}: unknown output format (supported extensions: .{})",
                    path.display(),
                    EXTENSIONS.join(", .")
                )))
            }
        })
    }
}

/// Writes `layer` to `path` in the format its extension names ([`Format::from_path`]),
/// atomically ([`super::write_atomic`]): a failure leaves a previous file untouched.
/// The format is checked, and the layer's values too (finite numbers, WGS84
/// positions), before anything is written.
///
/// ```
/// # fn main() -> satdet::Result<()> {
/// use satdet::output::{write, Layer};
/// # let dir = std::env::temp_dir().join(format!("satdet-doc-write-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let det = satdet::Detection {
/// #     class_id: 0, class_name: "car".into(), score: 0.87,
/// #     pixel_box: satdet::PixelBox::new(10.0, 20.0, 14.0, 22.0),
/// #     oriented: None,
/// #     map_polygon: None,
/// #     lonlat_polygon: Some([[124.40, 40.10], [124.41, 40.10], [124.41, 40.09], [124.40, 40.09]]),
/// # };
/// # let detections = satdet::Detections {
/// #     items: vec![det], scene: "scene.tif".into(), crs: None,
/// #     acquired: Some("2025-09-13".into()), report: Default::default(),
/// # };
/// let layer = Layer::from_detections(&detections);
/// write(dir.join("cars.gpkg"), &layer)?; // GeoPackage, from the extension
/// write(dir.join("cars.KMZ"), &layer)?; // any letter case
/// assert!(write(dir.join("cars.shp"), &layer).is_err()); // unknown: nothing written
/// let back = satdet::output::read_detections(dir.join("cars.gpkg"))?;
/// assert_eq!(back.items[0].class_name.as_ref(), "car");
/// # Ok(())
/// # }
/// ```
pub fn write(path: impl AsRef<Path>, layer: &Layer) -> Result<()> {
    let path = path.as_ref();
    let format = Format::from_path(path)?;
    check_layer(layer).map_err(|detail| Error::Output {
        path: path.to_path_buf(),
        detail,
        source: None,
    })?;
    // Never over the scenes the layer was made from (`scene`, a change's
    // `before_scene` and `after_scene`), their side-cars, or the models.
    let named = |what: &str| -> Vec<&Path> {
        layer
            .metadata
            .iter()
            .filter(|(k, _)| k == what || k.ends_with(&format!("_{what}")))
            .map(|(_, v)| Path::new(v.as_str()))
            .collect()
    };
    let scenes = named("scene");
    let mut models = named("model");
    if models.is_empty() {
        models.push(Path::new(""));
    }
    for model in models {
        super::check_result_output(&scenes, model, path)?;
    }
    let io = super::atomic::io_err(path);
    super::write_atomic(path, |w| match format {
        Format::GeoJson => super::geojson::write_layer_to(w, layer).map_err(io),
        Format::Kml => super::kml::write_kml(w, layer).map_err(io),
        Format::Kmz => super::kml::write_kmz(w, layer, path),
        Format::Csv => super::table::write_csv(w, layer, path),
        Format::GeoPackage => super::gpkg::write_gpkg(w, layer, path),
        Format::FlatGeobuf => super::fgb::write_fgb(w, layer, path),
    })
}

/// Writes detections to `path` in the format its extension names: GeoJSON through
/// [`super::geojson::write`] (its `pixel_bbox`/`map_bbox` arrays), every other format
/// through [`Layer::from_detections`] and [`write()`]. Never over the scene, its
/// side-cars or the model.
pub fn write_detections(path: impl AsRef<Path>, dets: &Detections) -> Result<()> {
    let path = path.as_ref();
    match Format::from_path(path)? {
        Format::GeoJson => super::geojson::write(path, dets),
        _ => write(path, &Layer::from_detections(dets)),
    }
}

/// What makes `layer` unwritable, if anything: a feature whose values do not match the
/// schema, a non-finite number, a position that is not WGS84.
fn check_layer(layer: &Layer) -> std::result::Result<(), String> {
    for (i, f) in layer.features.iter().enumerate() {
        let at = |what: String| format!("feature {i} ({}): {what}", f.label);
        if f.values.len() != layer.fields.len() {
            return Err(at(format!(
                "{} values for {} fields",
                f.values.len(),
                layer.fields.len()
            )));
        }
        for (field, v) in layer.fields.iter().zip(&f.values) {
            if let Value::Real(r) = v {
                if !r.is_finite() {
                    return Err(at(format!("{} is {r}", field.name)));
                }
            }
        }
        if let Some(g) = &f.geometry {
            check_lonlat(g).map_err(at)?;
        }
        if let Some(c) = f.center {
            check_lonlat(&Geometry::Point(c)).map_err(at)?;
        }
    }
    Ok(())
}

/// A geometry every format can hold: finite WGS84 positions, latitude within ±90°, a
/// polygon ring closed with at least four points.
pub(crate) fn check_lonlat(g: &Geometry) -> std::result::Result<(), String> {
    let pts: &[[f64; 2]] = match g {
        Geometry::Polygon(r) => {
            if r.len() < 4 || r.first() != r.last() {
                return Err(format!(
                    "a polygon ring needs at least 4 points, first = last ({} given)",
                    r.len()
                ));
            }
            r
        }
        Geometry::Point(p) => std::slice::from_ref(p),
    };
    match pts
        .iter()
        .find(|p| !(p[0].is_finite() && p[1].is_finite() && p[1].abs() <= 90.0))
    {
        Some(p) => Err(format!(
            "lon/lat ({}, {}) is not a valid WGS84 position",
            p[0], p[1]
        )),
        None => Ok(()),
    }
}
