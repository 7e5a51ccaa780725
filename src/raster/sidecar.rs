//! The files beside a raster: a world file (georeferencing for a TIFF without GeoTIFF tags,
//! or a PNG/JPEG) and its `.prj`. Finding and reading them is here; what they say is
//! parsed in [`crate::geo`].

use super::band_names::Named;
use super::RasterInfo;
use crate::error::{Error, Result};
use crate::geo::{crs_from_prj, crs_without_prj, parse_world_file, world_file_extensions};
use crate::geo::{Crs, GeoRef, GeoTransform};
use std::path::{Path, PathBuf};

/// Largest world file or `.prj` read: a world file holds six numbers, a WKT a few KB.
const MAX_SIDECAR_BYTES: u64 = 1 << 20;

/// The georeferencing from the files beside `path`: the transform from a world file, else
/// from GDAL's `.aux.xml` (PAM: GDAL keeps there the georeferencing of a PNG or JPEG it
/// writes); the CRS from a `.prj`, else from the `.aux.xml`. `None` when neither gives a
/// transform. A missing or unreadable CRS is `Crs::Unknown` with the reason; `Scene::open`
/// warns.
pub(super) fn world_georef(path: &Path) -> Result<Option<GeoRef>> {
    // The .aux.xml is read only when it is needed, and what cannot be read there counts
    // only where it is needed: an error when it would give the transform, the reason of
    // an unknown CRS when it would give the CRS.
    let pam = pam_path(path).filter(|p| p.is_file());
    let pam_text = std::cell::OnceCell::new();
    let pam_read = |p: &PathBuf| pam_text.get_or_init(|| read_sidecar(p)).clone();
    let (transform, no_prj) = match find_world_file(path) {
        Some(wf) => (
            read_world_file(&wf)?,
            crs_without_prj(&wf.display().to_string()),
        ),
        None => {
            let Some(p) = pam.as_ref() else {
                return Ok(None);
            };
            let bad = |detail: String| Error::Georef {
                path: p.clone(),
                detail: format!("GDAL .aux.xml: {detail}"),
            };
            let text = pam_read(p).map_err(bad)?;
            let Some(gt) = xml_element(&text, "GeoTransform") else {
                return Ok(None);
            };
            let t = parse_pam_transform(&gt).map_err(|d| bad(format!("GeoTransform: {d}")))?;
            (
                t,
                Crs::Unknown(format!("{} has a GeoTransform and no SRS", p.display())),
            )
        }
    };
    let prj = path.with_extension("prj");
    let crs = if prj.is_file() {
        crs_from_prj(&prj.display().to_string(), read_sidecar(&prj))
    } else if let Some(p) = pam.as_ref() {
        let name = p.display().to_string();
        match pam_read(p) {
            Err(e) => Crs::Unknown(format!("{name}: {e}")),
            Ok(text) => match xml_element(&text, "SRS") {
                Some(srs) => crs_from_prj(&name, Ok(srs)),
                None => no_prj,
            },
        }
    } else {
        no_prj
    };
    Ok(Some(GeoRef { transform, crs }))
}

/// GDAL's PAM file for `path`: its whole name plus `.aux.xml`.
fn pam_path(path: &Path) -> Option<PathBuf> {
    let mut name = path.file_name()?.to_os_string();
    name.push(".aux.xml");
    Some(path.with_file_name(name))
}

/// The text of the first `<name>` element directly under the `.aux.xml` root, if any.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.root_element()
        .children()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// A PAM GeoTransform: GDAL's six coefficients (top-left corner, PixelIsArea).
fn parse_pam_transform(text: &str) -> std::result::Result<GeoTransform, String> {
    let v: Vec<f64> = text
        .split(',')
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{}` is not a number", t.trim()))
        })
        .collect::<std::result::Result<_, _>>()?;
    let gt: [f64; 6] = v
        .try_into()
        .map_err(|v: Vec<f64>| format!("{} numbers, expected 6", v.len()))?;
    let t = GeoTransform::from_gdal(gt);
    if !t.is_valid() {
        return Err("the transform is not invertible".into());
    }
    Ok(t)
}

/// The world file beside an image, trying the candidate names in the order GDAL does.
fn find_world_file(path: &Path) -> Option<PathBuf> {
    let ext = path.extension()?.to_str()?;
    world_file_extensions(ext)
        .into_iter()
        .map(|e| path.with_extension(e))
        .find(|p| p.is_file())
}

fn read_world_file(wf: &Path) -> Result<GeoTransform> {
    let bad = |detail: String| Error::Georef {
        path: wf.to_path_buf(),
        detail: format!("world file: {detail}"),
    };
    let text = read_sidecar(wf).map_err(bad)?;
    parse_world_file(&text).map_err(bad)
}

/// A small text file beside the raster (world file, `.prj`, `.aux.xml`).
fn read_sidecar(path: &Path) -> std::result::Result<String, String> {
    read_text(path, MAX_SIDECAR_BYTES)
}

/// A text file beside the raster, read only when it is at most `max` bytes.
pub(super) fn read_text(path: &Path, max: u64) -> std::result::Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than {max} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// What the files beside a local scene add to what the file says: its red, green and blue
/// bands ([`super::band_names::choose`], with the `.aux.xml` of a TIFF) and, for a file
/// without a nodata value of its own, the `.aux.xml`'s. The `.aux.xml` is read and parsed
/// once; one that cannot be is a warning.
pub(super) fn bands_and_nodata(
    path: &Path,
    info: &RasterInfo,
    file_rgb: Option<Named>,
    tiff: bool,
    warnings: &mut Vec<String>,
) -> (Option<Named>, Option<f64>) {
    let pam = pam_path(path).filter(|p| p.is_file());
    let unread = |p: &Path, e: String| {
        format!(
            "{}: not read ({e}); its band colours and nodata value are not used",
            p.display()
        )
    };
    let text = match &pam {
        Some(p) => read_sidecar(p)
            .map_err(|e| warnings.push(unread(p, e)))
            .ok(),
        None => None,
    };
    let doc = match (&pam, &text) {
        (Some(p), Some(t)) => roxmltree::Document::parse(t)
            .map_err(|e| warnings.push(unread(p, e.to_string())))
            .ok(),
        _ => None,
    };
    let root = doc.as_ref().map(|d| d.root_element());
    let rgb = super::band_names::choose(path, info, file_rgb, root.filter(|_| tiff), warnings);
    let nodata = match (root, &pam) {
        (Some(root), Some(p)) if info.mask.nodata.is_none() => pam_nodata(root).and_then(|v| {
            v.map_err(|why| {
                warnings.push(format!("{}: {why}; no nodata value is used", p.display()))
            })
            .ok()
        }),
        _ => None,
    };
    (rgb, nodata)
}

/// The nodata value of a PAM document (the `<NoDataValue>` of each `<PAMRasterBand>`):
/// GDAL writes it there for a JPEG, or for a TIFF written without GDAL's own tags
/// (`-co PROFILE=GeoTIFF`). `None` when there is none; `Some(Err(why))` when it cannot be
/// used: the bands disagree (satdet masks with one value) or it is not a finite number.
fn pam_nodata(root: roxmltree::Node) -> Option<std::result::Result<f64, String>> {
    let values = parse_pam_nodata(root);
    let first = values.first()?.clone();
    if let Some(other) = values.iter().find(|v| **v != first) {
        return Some(Err(format!(
            "the bands' nodata values differ (`{}` and `{}`); satdet masks with one value (Scene::with_nodata)",
            crate::error::snippet(&first),
            crate::error::snippet(other)
        )));
    }
    Some(match first.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!(
            "nodata value `{}` is not a finite number",
            crate::error::snippet(&first)
        )),
    })
}

/// The `<NoDataValue>` texts of a PAM document's bands, trimmed, in band order.
fn parse_pam_nodata(root: roxmltree::Node) -> Vec<String> {
    root.children()
        .filter(|n| n.has_tag_name("PAMRasterBand"))
        .filter_map(|b| b.children().find(|c| c.has_tag_name("NoDataValue")))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_pam_nodata;

    #[test]
    fn pam_nodata_values_in_band_order() {
        let xml =
            "<PAMDataset><PAMRasterBand band=\"1\"><NoDataValue>0.00000000000000E+00</NoDataValue>\
                   <ColorInterp>Blue</ColorInterp></PAMRasterBand><PAMRasterBand band=\"2\">\
                   <ColorInterp>Green</ColorInterp></PAMRasterBand><PAMRasterBand band=\"3\">\
                   <NoDataValue> nan </NoDataValue></PAMRasterBand></PAMDataset>";
        let nodata =
            |xml: &str| parse_pam_nodata(roxmltree::Document::parse(xml).unwrap().root_element());
        assert_eq!(nodata(xml), ["0.00000000000000E+00", "nan"]);
        assert!(nodata("<PAMDataset/>").is_empty());
        assert!(roxmltree::Document::parse("<PAMDataset>").is_err());
    }
}
