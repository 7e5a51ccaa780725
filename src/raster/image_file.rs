//! PNG and JPEG through `image`, georeferenced by a world file beside them (`.pgw`,
//! `.jgw`, `.wld`, `.tfw`, or the extension's first and last letter + `w`) and, for the
//! CRS, an optional `.prj` naming an EPSG authority.
//!
//! These formats have no random access: the image is decoded once, on the first window
//! read, and only if it fits within [`Limits::max_window_bytes`].

use super::{
    BandLayout, MaskSpec, Opened, RasterInfo, SampleType, Samples, TileBuf, Window, WindowSource,
};
use crate::geo::{Crs, GeoRef, GeoTransform, RasterType};
use crate::{Error, Limits, Result};
use image::{ColorType, ImageDecoder, ImageReader};
use std::path::{Path, PathBuf};

fn image_error(path: &Path, e: image::ImageError) -> Error {
    match e {
        image::ImageError::IoError(io) => Error::io(path, io),
        image::ImageError::Unsupported(u) => Error::unsupported(path, u.to_string()),
        // The `image` decoder's own memory guard (it reports no sizes).
        image::ImageError::Limits(l) => Error::CorruptRaster {
            path: path.to_path_buf(),
            detail: format!("larger than the image decoder's built-in memory limit: {l}"),
            source: None,
        },
        other => Error::CorruptRaster {
            path: path.to_path_buf(),
            detail: other.to_string(),
            source: Some(Box::new(other)),
        },
    }
}

pub(super) fn open(path: &Path, limits: &Limits) -> Result<Opened> {
    let reader = ImageReader::open(path).map_err(|e| Error::io(path, e))?;
    let reader = reader
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    let format = reader.format();
    let dec = reader.into_decoder().map_err(|e| image_error(path, e))?;
    let (width, height) = dec.dimensions();
    let color = dec.color_type();
    Limits::check(
        || path.display().to_string(),
        "scene size in pixels",
        u64::from(width) * u64::from(height),
        limits.max_scene_pixels,
    )?;
    let (bands, sample, alpha) = match color {
        ColorType::L8 => (1, SampleType::U8, false),
        ColorType::La8 => (2, SampleType::U8, true),
        ColorType::Rgb8 => (3, SampleType::U8, false),
        ColorType::Rgba8 => (4, SampleType::U8, true),
        ColorType::L16 => (1, SampleType::U16, false),
        ColorType::La16 => (2, SampleType::U16, true),
        ColorType::Rgb16 => (3, SampleType::U16, false),
        ColorType::Rgba16 => (4, SampleType::U16, true),
        other => return Err(Error::unsupported(path, format!("colour type {other:?}"))),
    };
    let bytes = u64::from(width) * u64::from(height) * u64::from(bands) * sample.bytes() as u64;
    Limits::check(
        || {
            format!(
                "{} (PNG/JPEG are decoded whole; convert large scenes to a tiled GeoTIFF)",
                path.display()
            )
        },
        "decoded image bytes",
        bytes,
        limits.max_window_bytes,
    )?;
    let warnings = Vec::new();
    let georef = world_georef(path)?;
    let info = RasterInfo {
        width,
        height,
        bands,
        sample,
        layout: BandLayout::Interleaved,
        mask: MaskSpec {
            alpha_band: alpha.then_some(bands - 1),
            nodata: None,
        },
        storage: format!("{format:?} image, decoded whole"),
    };
    Ok(Opened {
        info,
        georef,
        warnings,
        source: Box::new(ImageSource {
            path: path.to_path_buf(),
            decoded: None,
        }),
    })
}

/// The georeferencing from a world file beside `path` (and its `.prj`), if there is one.
/// A missing or unreadable CRS is `Crs::Unknown` with the reason; `Scene::open` warns.
pub(crate) fn world_georef(path: &Path) -> Result<Option<GeoRef>> {
    let Some(wf) = find_world_file(path) else {
        return Ok(None);
    };
    let transform = read_world_file(&wf)?;
    let crs = read_prj(path).unwrap_or_else(|| {
        Crs::Unknown(format!(
            "world file {} and no .prj giving an EPSG code or a known ESRI CRS name",
            wf.display()
        ))
    });
    Ok(Some(GeoRef { transform, crs }))
}

/// The world file beside an image, trying the candidate names in the order GDAL does.
fn find_world_file(path: &Path) -> Option<PathBuf> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let mut cands = Vec::new();
    if ext.len() >= 2 {
        let b = ext.as_bytes();
        cands.push(format!("{}{}w", b[0] as char, b[b.len() - 1] as char));
    }
    cands.push(format!("{ext}w"));
    cands.extend(["wld", "tfw"].map(String::from));
    for c in cands {
        for cand in [c.clone(), c.to_ascii_uppercase()] {
            let p = path.with_extension(&cand);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Parses a world file: six numbers A, D, B, E, C, F, where (C, F) is the *centre* of the
/// top-left pixel.
pub(crate) fn parse_world_file(text: &str) -> std::result::Result<GeoTransform, String> {
    let vals: Vec<f64> = text
        .split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| format!("`{t}` is not a number"))
        })
        .collect::<std::result::Result<_, _>>()?;
    if vals.len() != 6 {
        return Err(format!("{} numbers, expected 6", vals.len()));
    }
    let t = GeoTransform {
        x_per_col: vals[0],
        y_per_col: vals[1],
        x_per_row: vals[2],
        y_per_row: vals[3],
        x_origin: vals[4],
        y_origin: vals[5],
    }
    .with_raster_type(RasterType::PixelIsPoint);
    if !t.is_valid() {
        return Err("the transform is not invertible".into());
    }
    Ok(t)
}

fn read_world_file(wf: &Path) -> Result<GeoTransform> {
    let text = std::fs::read_to_string(wf).map_err(|e| Error::io(wf, e))?;
    parse_world_file(&text).map_err(|detail| Error::Georef {
        path: wf.to_path_buf(),
        detail: format!("world file: {detail}"),
    })
}

/// The EPSG code of the outermost authority in a `.prj` (WKT1 `AUTHORITY["EPSG","n"]` or
/// WKT2 `ID["EPSG",n]`), or a bare `EPSG:n`, or, for ESRI WKT (which carries no
/// authority), the EPSG code of a few common CRS names (see [`esri_name_to_epsg`]).
pub(crate) fn parse_prj(text: &str) -> Option<Crs> {
    let t = text.trim();
    if let Some(code) = t.strip_prefix("EPSG:") {
        return code.trim().parse().ok().map(Crs::Epsg);
    }
    let Some(pos) = t
        .rfind("AUTHORITY[\"EPSG\",")
        .map(|p| p + 17)
        .or_else(|| t.rfind("ID[\"EPSG\",").map(|p| p + 10))
    else {
        return esri_name_to_epsg(t).map(Crs::Epsg);
    };
    let digits: String = t[pos..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok().map(Crs::Epsg)
}

/// ESRI WKT (what ArcGIS writes into `.prj` files) names the CRS but has no EPSG
/// authority. The names of the common cases map to EPSG codes by rule: WGS 84, ETRS89,
/// NAD83 and NAD27 UTM zones, WGS 84 geographic and Web Mercator. Anything else is `None`
/// (the caller warns and the user can call `Scene::with_crs`).
fn esri_name_to_epsg(wkt: &str) -> Option<u16> {
    let outer = if wkt.starts_with("PROJCS[") {
        "PROJCS[\""
    } else if wkt.starts_with("GEOGCS[") {
        "GEOGCS[\""
    } else {
        return None;
    };
    let rest = &wkt[outer.len()..];
    let name = &rest[..rest.find('"')?];
    match name {
        "GCS_WGS_1984" => return Some(4326),
        "WGS_1984_Web_Mercator_Auxiliary_Sphere" => return Some(3857),
        _ => {}
    }
    let (datum, zone) = name.split_once("_UTM_Zone_")?;
    let (digits, north) = match zone.strip_suffix('N') {
        Some(d) => (d, true),
        None => (zone.strip_suffix('S')?, false),
    };
    let zone: u16 = digits.parse().ok().filter(|z| (1..=60).contains(z))?;
    match (datum, north) {
        ("WGS_1984", true) => Some(32600 + zone),
        ("WGS_1984", false) => Some(32700 + zone),
        ("ETRS_1989", true) if (28..=38).contains(&zone) => Some(25800 + zone),
        ("NAD_1983", true) if (1..=23).contains(&zone) => Some(26900 + zone),
        ("NAD_1927", true) if (1..=22).contains(&zone) => Some(26700 + zone),
        _ => None,
    }
}

fn read_prj(path: &Path) -> Option<Crs> {
    let text = std::fs::read_to_string(path.with_extension("prj")).ok()?;
    parse_prj(&text)
}

struct ImageSource {
    path: PathBuf,
    decoded: Option<(u32, u16, Samples)>,
}

impl WindowSource for ImageSource {
    fn read_window(&mut self, win: Window, buf: &mut TileBuf) -> Result<()> {
        if self.decoded.is_none() {
            let img = ImageReader::open(&self.path)
                .map_err(|e| Error::io(&self.path, e))?
                .with_guessed_format()
                .map_err(|e| Error::io(&self.path, e))?
                .decode()
                .map_err(|e| image_error(&self.path, e))?;
            let w = img.width();
            let bands = u16::from(img.color().channel_count());
            let samples = match img {
                image::DynamicImage::ImageLuma8(i) => Samples::U8(i.into_raw()),
                image::DynamicImage::ImageLumaA8(i) => Samples::U8(i.into_raw()),
                image::DynamicImage::ImageRgb8(i) => Samples::U8(i.into_raw()),
                image::DynamicImage::ImageRgba8(i) => Samples::U8(i.into_raw()),
                image::DynamicImage::ImageLuma16(i) => Samples::U16(i.into_raw()),
                image::DynamicImage::ImageLumaA16(i) => Samples::U16(i.into_raw()),
                image::DynamicImage::ImageRgb16(i) => Samples::U16(i.into_raw()),
                image::DynamicImage::ImageRgba16(i) => Samples::U16(i.into_raw()),
                other => {
                    return Err(Error::unsupported(
                        &self.path,
                        format!("decoded colour type {:?}", other.color()),
                    ))
                }
            };
            self.decoded = Some((w, bands, samples));
        }
        let Some((w, bands, samples)) = &self.decoded else {
            return Err(Error::corrupt(&self.path, "image not decoded"));
        };
        let spp = usize::from(*bands);
        let n = win.width as usize * spp;
        for row in 0..win.height as usize {
            let src = ((win.y as usize + row) * *w as usize + win.x as usize) * spp;
            let dst = row * n;
            match (samples, buf.samples_mut()) {
                (Samples::U8(s), Samples::U8(d)) => {
                    d[dst..dst + n].copy_from_slice(&s[src..src + n])
                }
                (Samples::U16(s), Samples::U16(d)) => {
                    d[dst..dst + n].copy_from_slice(&s[src..src + n])
                }
                _ => {
                    return Err(Error::corrupt(
                        &self.path,
                        "decoded sample type differs from the header's",
                    ))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_file_is_pixel_centre() {
        let t = parse_world_file("0.5\n0\n0\n-0.5\n1000.25\n2000.25\n").expect("valid");
        assert_eq!(t.to_gdal(), [1000.0, 0.5, 0.0, 2000.5, 0.0, -0.5]);
    }

    #[test]
    fn world_file_errors_name_the_problem() {
        assert!(parse_world_file("1 0 0 -1 0")
            .unwrap_err()
            .contains("5 numbers"));
        assert!(parse_world_file("1 0 0 -1 x 0")
            .unwrap_err()
            .contains("`x`"));
    }

    #[test]
    fn prj_outer_authority() {
        let wkt = r#"PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",AUTHORITY["EPSG","4326"]],AUTHORITY["EPSG","32633"]]"#;
        assert_eq!(parse_prj(wkt), Some(Crs::Epsg(32633)));
        assert_eq!(parse_prj("EPSG:3857"), Some(Crs::Epsg(3857)));
    }

    /// ESRI WKT as `gdalsrsinfo -o wkt_esri EPSG:n` (GDAL 3.6) writes it, abridged after
    /// the names, which are all the parser reads.
    #[test]
    fn prj_esri_names() {
        let cases = [
            (
                r#"PROJCS["WGS_1984_UTM_Zone_33N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984"]]]"#,
                Some(32633),
            ),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_55S",GEOGCS["GCS_WGS_1984"]]"#,
                Some(32755),
            ),
            (
                r#"PROJCS["ETRS_1989_UTM_Zone_32N",GEOGCS["GCS_ETRS_1989"]]"#,
                Some(25832),
            ),
            (
                r#"PROJCS["NAD_1983_UTM_Zone_10N",GEOGCS["GCS_North_American_1983"]]"#,
                Some(26910),
            ),
            (
                r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984"]]"#,
                Some(3857),
            ),
            (
                r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]]"#,
                Some(4326),
            ),
            // not guessed: a name without a rule, a zone out of range, a southern ETRS zone
            (r#"PROJCS["CH1903+_LV95",GEOGCS["GCS_CH1903+"]]"#, None),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_61N",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            (
                r#"PROJCS["ETRS_1989_UTM_Zone_32S",GEOGCS["GCS_ETRS_1989"]]"#,
                None,
            ),
            // malformed: no hemisphere, a non-ASCII last character, no digits
            (
                r#"PROJCS["WGS_1984_UTM_Zone_33",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_33Ñ",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_N",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            // the other datums' edges (names as gdalsrsinfo prints them)
            (
                r#"PROJCS["NAD_1927_UTM_Zone_17N",GEOGCS["GCS_North_American_1927"]]"#,
                Some(26717),
            ),
            (
                r#"PROJCS["ETRS_1989_UTM_Zone_38N",GEOGCS["GCS_ETRS_1989"]]"#,
                Some(25838),
            ),
            (
                r#"PROJCS["NAD_1983_UTM_Zone_23N",GEOGCS["GCS_North_American_1983"]]"#,
                Some(26923),
            ),
        ];
        for (wkt, epsg) in cases {
            assert_eq!(parse_prj(wkt), epsg.map(Crs::Epsg), "{wkt}");
        }
    }
}
