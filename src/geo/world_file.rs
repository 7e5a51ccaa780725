//! World files (`.tfw`, `.pgw`, `.jgw`, `.wld`…) and the `.prj` beside them: which names
//! to look for, and what their text says. Pure: names and text in, georeferencing out; the
//! raster readers find and read the files.

use super::{parse_prj, Crs, GeoTransform, RasterType};
use crate::error::snippet;

/// The world-file extensions to try for a raster with extension `ext`, in the order GDAL
/// tries them: the extension's first and last letter + `w` (`tif` → `tfw`), the extension
/// + `w` (`tifw`), then `wld` and `tfw`. Each is tried as written and in upper case.
pub(crate) fn world_file_extensions(ext: &str) -> Vec<String> {
    let ext = ext.to_ascii_lowercase();
    let mut cands = Vec::new();
    let mut chars = ext.chars();
    if let (Some(first), Some(last)) = (chars.next(), chars.next_back()) {
        cands.push(format!("{first}{last}w"));
    }
    cands.push(format!("{ext}w"));
    cands.extend(["wld", "tfw"].map(String::from));
    cands
        .into_iter()
        .flat_map(|c| {
            let upper = c.to_ascii_uppercase();
            [c, upper]
        })
        .collect()
}

/// Parses a world file: six numbers A, D, B, E, C, F, where (C, F) is the *centre* of the
/// top-left pixel.
pub(crate) fn parse_world_file(text: &str) -> Result<GeoTransform, String> {
    let vals: Vec<f64> = text
        .split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| format!("`{}` is not a number", snippet(t)))
        })
        .collect::<Result<_, _>>()?;
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

/// The CRS of a `.prj` (or of the WKT in a GDAL `.aux.xml`), given its name (for the
/// reason) and its text or why it could not be read: the EPSG CRS it names, else the CRS
/// its WKT1 parameters define (`Crs::Proj`), else `Crs::Unknown` with both reasons.
pub(crate) fn crs_from_prj(prj_name: &str, text: Result<String, String>) -> Crs {
    let why = |detail: String| Crs::Unknown(format!("{prj_name}: {detail}"));
    match text {
        Err(e) => why(e),
        Ok(text) => match parse_prj(&text) {
            Ok(code) => Crs::Epsg(code),
            Err(no_code) => match super::wkt_proj::proj_string(text.trim())
                .and_then(|d| Ok(Crs::rewrite_for_proj4rs(&d)?.unwrap_or(d)))
            {
                Ok(def) => Crs::Proj(def),
                Err(no_build) => why(format!("{no_code}; {no_build}")),
            },
        },
    }
}

/// The CRS of a world-file scene without a `.prj`.
pub(crate) fn crs_without_prj(world_file_name: &str) -> Crs {
    Crs::Unknown(format!(
        "world file {world_file_name} and no .prj beside it"
    ))
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
    fn world_file_names_in_gdal_order() {
        assert_eq!(
            world_file_extensions("TIF"),
            ["tfw", "TFW", "tifw", "TIFW", "wld", "WLD", "tfw", "TFW"]
        );
        assert_eq!(world_file_extensions("j")[..4], ["jw", "JW", "wld", "WLD"]);
    }

    #[test]
    fn prj_reasons_name_the_file() {
        assert_eq!(
            crs_from_prj("a.prj", Ok("EPSG:32633".into())),
            Crs::Epsg(32633)
        );
        let Crs::Unknown(why) = crs_from_prj("a.prj", Err("not UTF-8 text".into())) else {
            panic!("unknown")
        };
        assert_eq!(why, "a.prj: not UTF-8 text");
    }
}
