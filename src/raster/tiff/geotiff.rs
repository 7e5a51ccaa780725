//! GeoTIFF georeferencing tags: ModelTiepoint + ModelPixelScale or ModelTransformation,
//! the GeoKey directory (model type, raster type, EPSG code). Pure: the TIFF reader hands
//! over the tags' values.

use crate::error::{Error, Result};
use crate::geo::{Crs, GeoRef, GeoTransform, RasterType};
use std::collections::BTreeMap;
use std::path::Path;

const GT_MODEL_TYPE: u16 = 1024;
const GT_RASTER_TYPE: u16 = 1025;
const GEOGRAPHIC_TYPE: u16 = 2048;
const PROJECTED_CS_TYPE: u16 = 3072;
const USER_DEFINED: u16 = 32767;

/// The GeoKeys satdet uses, from a GeoKeyDirectoryTag.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct GeoKeys {
    pub model_type: Option<u16>,
    pub raster_type: Option<u16>,
    pub geographic: Option<u16>,
    pub projected: Option<u16>,
    /// Keys that define a projection by its parameters (ProjectionGeoKey,
    /// ProjCoordTransGeoKey, units, parameters: 3074 to 3099): a user-defined projected
    /// CRS, whatever geographic CRS it is based on.
    pub projection_parameters: bool,
    /// Every key held in the directory itself (SHORT values), by id.
    pub shorts: BTreeMap<u16, u16>,
    /// Every key held in GeoDoubleParamsTag, by id.
    pub doubles: BTreeMap<u16, Vec<f64>>,
    /// Every key held in GeoAsciiParamsTag (the citations), by id, without the `|`.
    pub ascii: BTreeMap<u16, String>,
}

impl GeoKeys {
    /// A key held in the directory itself.
    pub fn short(&self, id: u16) -> Option<u16> {
        self.shorts.get(&id).copied()
    }

    /// The first value of a double-valued key.
    pub fn double(&self, id: u16) -> Option<f64> {
        self.doubles.get(&id).and_then(|v| v.first()).copied()
    }
}

/// GeoDoubleParamsTag and GeoAsciiParamsTag: where double and text keys live.
const GEO_DOUBLE_PARAMS: u16 = 34736;
const GEO_ASCII_PARAMS: u16 = 34737;

/// Parses the short values of a GeoKeyDirectoryTag: a 4-short header, then 4 shorts a key
/// (id, location, count, value). Double-valued keys are taken from GeoDoubleParamsTag's
/// values (`doubles`), text keys from GeoAsciiParamsTag's (`ascii`). A key pointing past
/// its tag's values is skipped, as GDAL does: the keys that matter then say what is
/// missing (a user-defined projection without its parameters).
pub(crate) fn parse_geokeys(
    dir: &[u16],
    doubles: Option<&[f64]>,
    ascii: Option<&str>,
) -> std::result::Result<GeoKeys, String> {
    if dir.len() < 4 {
        return Err(format!(
            "GeoKeyDirectory has {} values, fewer than its 4-value header",
            dir.len()
        ));
    }
    let n = usize::from(dir[3]);
    if dir.len() < 4 + 4 * n {
        return Err(format!(
            "GeoKeyDirectory announces {n} keys but holds {} values",
            dir.len()
        ));
    }
    let mut keys = GeoKeys::default();
    for k in dir[4..4 + 4 * n].chunks_exact(4) {
        let (id, loc, count, value) = (k[0], k[1], usize::from(k[2]), k[3]);
        let from = usize::from(value);
        if loc == GEO_DOUBLE_PARAMS {
            if let Some(values) = doubles.and_then(|d| d.get(from..from.checked_add(count)?)) {
                keys.doubles.insert(id, values.to_vec());
            }
            if (3074..=3099).contains(&id) {
                keys.projection_parameters = true;
            }
            continue;
        }
        if loc == GEO_ASCII_PARAMS {
            if let Some(text) = ascii.and_then(|a| a.get(from..from.checked_add(count)?)) {
                keys.ascii
                    .insert(id, text.trim_end_matches(['|', '\0']).to_string());
            }
            continue;
        }
        if loc != 0 {
            continue;
        }
        keys.shorts.insert(id, value);
        match id {
            GT_MODEL_TYPE => keys.model_type = Some(value),
            GT_RASTER_TYPE => keys.raster_type = Some(value),
            GEOGRAPHIC_TYPE => keys.geographic = Some(value),
            PROJECTED_CS_TYPE => keys.projected = Some(value),
            3074..=3099 => keys.projection_parameters = true,
            _ => {}
        }
    }
    Ok(keys)
}

/// The CRS named by the GeoKeys.
pub(crate) fn crs_from_keys(keys: &GeoKeys) -> Crs {
    // Only the CRS itself counts, never the geographic CRS a projection is based on
    // (the same rule as for a .prj's top-level authority): without a model type, the
    // geographic code names the CRS only when no projection is defined.
    let code = match keys.model_type {
        Some(1) => keys.projected,
        Some(2) => keys.geographic,
        _ if keys.projected.is_some() => keys.projected,
        _ if keys.projection_parameters => Some(USER_DEFINED),
        _ => keys.geographic,
    };
    match code {
        Some(c) if c != USER_DEFINED && c != 0 => {
            if crs_definitions::from_code(c).is_some() {
                Crs::Epsg(c)
            } else {
                Crs::Unknown(format!("EPSG:{c}, which satdet has no definition for"))
            }
        }
        Some(_) => super::geokeys_proj::user_defined_crs(keys),
        None => Crs::Unknown("no EPSG code in the GeoKey directory".into()),
    }
}

/// The pixel → map transform from the model tags, before the PixelIsPoint rule.
pub(crate) fn transform_from_tags(
    tiepoints: Option<&[f64]>,
    scale: Option<&[f64]>,
    matrix: Option<&[f64]>,
) -> std::result::Result<Option<GeoTransform>, String> {
    if let Some(m) = matrix {
        if m.len() != 16 {
            return Err(format!(
                "ModelTransformation has {} values, not 16",
                m.len()
            ));
        }
        return Ok(Some(GeoTransform {
            x_origin: m[3],
            x_per_col: m[0],
            x_per_row: m[1],
            y_origin: m[7],
            y_per_col: m[4],
            y_per_row: m[5],
        }));
    }
    match (tiepoints, scale) {
        (Some(tp), Some(s)) => {
            if tp.len() < 6 || s.len() < 2 {
                return Err(format!(
                    "ModelTiepoint has {} values and ModelPixelScale {}; need 6 and 2",
                    tp.len(),
                    s.len()
                ));
            }
            if tp.len() > 6 {
                return Err(format!("{} tiepoints without a pixel scale relation: ground control points are not supported", tp.len() / 6));
            }
            let (i, j, x, y) = (tp[0], tp[1], tp[3], tp[4]);
            let (sx, sy) = (s[0], s[1]);
            Ok(Some(GeoTransform {
                x_origin: x - i * sx,
                x_per_col: sx,
                x_per_row: 0.0,
                y_origin: y + j * sy,
                y_per_col: 0.0,
                y_per_row: -sy,
            }))
        }
        (Some(tp), None) if tp.len() > 6 => Err(format!(
            "{} ground control points without a pixel scale: not supported",
            tp.len() / 6
        )),
        _ => Ok(None),
    }
}

/// The values of an IFD's model tags, `None` for a tag it lacks.
#[derive(Debug, Default)]
pub(super) struct ModelTags {
    /// ModelTiepointTag.
    pub tiepoints: Option<Vec<f64>>,
    /// ModelPixelScaleTag.
    pub pixel_scale: Option<Vec<f64>>,
    /// ModelTransformationTag.
    pub transformation: Option<Vec<f64>>,
}

/// The pixel → map transform of the model tags (before the raster type is known): `None`
/// when they georeference nothing, and the GeoKey directory need not be read.
pub(super) fn model_transform(tags: &ModelTags, path: &Path) -> Result<Option<GeoTransform>> {
    transform_from_tags(
        tags.tiepoints.as_deref(),
        tags.pixel_scale.as_deref(),
        tags.transformation.as_deref(),
    )
    .map_err(|detail| Error::Georef {
        path: path.to_path_buf(),
        detail,
    })
}

/// The georeferencing from the model transform and the GeoKeyDirectoryTag's values. A CRS
/// that cannot be used is `Crs::Unknown` with the reason (`Scene::open` warns about it).
pub(super) fn georef(
    transform: GeoTransform,
    geokey_directory: Option<&[u16]>,
    geo_doubles: Option<&[f64]>,
    geo_ascii: Option<&str>,
    path: &Path,
) -> Result<GeoRef> {
    let bad = |detail: String| Error::Georef {
        path: path.to_path_buf(),
        detail,
    };
    let keys = match geokey_directory {
        Some(d) => parse_geokeys(d, geo_doubles, geo_ascii).map_err(bad)?,
        None => GeoKeys::default(),
    };
    let raster_type = match keys.raster_type {
        Some(2) => RasterType::PixelIsPoint,
        _ => RasterType::PixelIsArea,
    };
    let transform = transform.with_raster_type(raster_type);
    if !transform.is_valid() {
        return Err(bad(format!(
            "the pixel-to-map transform {:?} is not invertible",
            transform.to_gdal()
        )));
    }
    // An unusable CRS is reported by Scene::open, once, from the reason given here.
    let crs = match geokey_directory {
        Some(_) => crs_from_keys(&keys),
        None => Crs::Unknown("model tags without a GeoKey directory".into()),
    };
    Ok(GeoRef { transform, crs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geokeys_projected() {
        let dir = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 2, 3072, 0, 1, 32633];
        let k = parse_geokeys(&dir, None, None).expect("valid");
        assert_eq!(k.raster_type, Some(2));
        assert_eq!(crs_from_keys(&k), Crs::Epsg(32633));
    }

    /// A projection defined by its parameters on WGS 84, with no model type: the
    /// GeographicTypeGeoKey (4326) is the base, not the CRS.
    #[test]
    fn a_user_defined_projection_is_not_its_geographic_base() {
        // GeographicType 4326, ProjCoordTrans 8 (LCC 2SP), ProjLinearUnits 9001.
        let dir = [
            1, 1, 0, 3, 2048, 0, 1, 4326, 3075, 0, 1, 8, 3076, 0, 1, 9001,
        ];
        let k = parse_geokeys(&dir, None, None).expect("valid");
        assert!(k.projection_parameters);
        assert!(
            matches!(crs_from_keys(&k), Crs::Unknown(_)),
            "{:?}",
            crs_from_keys(&k)
        );
        // Geographic keys alone still name the CRS.
        let k = parse_geokeys(&[1, 1, 0, 1, 2048, 0, 1, 4326], None, None).expect("valid");
        assert_eq!(crs_from_keys(&k), Crs::Epsg(4326));
    }

    #[test]
    fn geokeys_truncated_is_an_error() {
        assert!(parse_geokeys(&[1, 1, 0, 3, 1024, 0, 1], None, None).is_err());
        assert!(parse_geokeys(&[1, 1], None, None).is_err());
        // A double or text key pointing past its tag's values is skipped, not an error.
        let dir = [1, 1, 0, 2, 3078, 34736, 1, 2, 1026, 34737, 10, 0];
        let k = parse_geokeys(&dir, Some(&[1.0, 2.0]), Some("short|")).expect("valid");
        assert!(k.doubles.is_empty() && k.ascii.is_empty() && k.projection_parameters);
        let k = parse_geokeys(&dir, Some(&[1.0, 2.0, 33.0]), Some("WGS 84 / x|")).expect("valid");
        assert_eq!(k.doubles[&3078], vec![33.0]);
        assert_eq!(k.ascii[&1026], "WGS 84 / x");
    }

    #[test]
    fn user_defined_crs_is_unknown() {
        let k = GeoKeys {
            model_type: Some(1),
            projected: Some(USER_DEFINED),
            ..Default::default()
        };
        assert!(matches!(crs_from_keys(&k), Crs::Unknown(_)));
    }

    #[test]
    fn tiepoint_with_offset_pixel() {
        let t = transform_from_tags(
            Some(&[10.0, 20.0, 0.0, 1000.0, 5000.0, 0.0]),
            Some(&[0.5, 0.25, 0.0]),
            None,
        )
        .expect("ok")
        .expect("some");
        assert_eq!(t.to_gdal(), [995.0, 0.5, 0.0, 5005.0, 0.0, -0.25]);
    }

    #[test]
    fn model_transformation_keeps_rotation() {
        let m = [
            0.5, 0.1, 0.0, 100.0, 0.2, -0.5, 0.0, 200.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ];
        let t = transform_from_tags(None, None, Some(&m))
            .expect("ok")
            .expect("some");
        assert_eq!(t.to_gdal(), [100.0, 0.5, 0.1, 200.0, 0.2, -0.5]);
    }

    #[test]
    fn gcps_are_refused() {
        let tp = [0.0; 12];
        assert!(transform_from_tags(Some(&tp), Some(&[1.0, 1.0, 0.0]), None).is_err());
    }
}
