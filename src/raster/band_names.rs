//! Which bands hold red, green and blue, and who says so: the raster's own tags, or the
//! files beside it. GDAL's PAM `.aux.xml` keeps the colour interpretation GDAL could not
//! write into the file; Maxar's `.IMD` (or its `.XML` twin) lists the bands of a
//! WorldView, GeoEye or QuickBird delivery in file order (blue, green, red, near-infrared
//! for a 4-band product), which the GeoTIFF itself usually does not say.

use super::RasterInfo;
use std::path::{Path, PathBuf};

/// Who named a scene's red, green and blue bands ([`super::Scene::rgb_bands`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamedBy {
    /// GDAL's colour interpretation in the TIFF (`GDAL_METADATA`), or the caller
    /// ([`super::Scene::with_rgb_bands`]).
    ColourInterp,
    /// The format's colour model: an RGB photometric interpretation, an RGB(A) PNG/JPEG.
    ColourModel,
    /// The colour interpretation in GDAL's `.aux.xml` beside the file.
    AuxXml,
    /// The band list of Maxar's `.IMD` / `.XML` beside the file.
    Imd,
}

/// Red, green and blue bands (from 0), and who named them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Named {
    pub rgb: [u16; 3],
    pub by: NamedBy,
}

/// The three bands named red, green and blue (from 0), given every band named so: `Some`
/// only when each colour is named once, on a colour band (not past the last band, not the
/// alpha band).
pub(super) fn one_each(found: [Vec<u16>; 3], info: &RasterInfo) -> Option<[u16; 3]> {
    let colour = |b: u16| b < info.bands && info.mask.alpha_band != Some(b);
    match found {
        [r, g, b] if [&r, &g, &b].iter().all(|v| v.len() == 1 && colour(v[0])) => {
            Some([r[0], g[0], b[0]])
        }
        _ => None,
    }
}

/// The slot (0 red, 1 green, 2 blue) of a GDAL colour interpretation name.
pub(super) fn colour_slot(name: &str) -> Option<usize> {
    ["red", "green", "blue"]
        .iter()
        .position(|c| name.trim().eq_ignore_ascii_case(c))
}

/// The red, green and blue bands of a local file: the file's own colour interpretation
/// with a TIFF's `.aux.xml` laid over it band by band, as GDAL reads them (GDAL writes there
/// only the bands whose colour differs from what the TIFF says, and ignores it for a PNG
/// or JPEG); then a Maxar band list; then the file's colour model. Side-cars that cannot
/// be read, or that contradict the raster, are warnings and are not used.
///
/// `pam` is the root of the TIFF's `.aux.xml`, already read
/// ([`super::sidecar::bands_and_nodata`]); `None` for a PNG or JPEG.
pub(super) fn choose(
    path: &Path,
    info: &RasterInfo,
    file: Option<Named>,
    pam: Option<roxmltree::Node>,
    warnings: &mut Vec<String>,
) -> Option<Named> {
    let named = |rgb, by| Named { rgb, by };
    let file = match pam.map(pam_colour_interp).filter(|over| !over.is_empty()) {
        Some(over) => {
            let rgb = overlay(file.map(|f| f.rgb), &over, info);
            match file {
                Some(f) if Some(f.rgb) == rgb => file,
                _ => rgb.map(|rgb| named(rgb, NamedBy::AuxXml)),
            }
        }
        None => file,
    };
    if file.is_some_and(|f| matches!(f.by, NamedBy::ColourInterp | NamedBy::AuxXml)) {
        return file;
    }
    let Some((imd, rgb)) = maxar_rgb(path, info, warnings) else {
        return file;
    };
    if let Some(f) = file.filter(|f| f.rgb != rgb) {
        warnings.push(format!(
            "{}: the file's colour model says bands {} are red, green and blue, {} lists them as bands {}; the band list is used",
            path.display(),
            one_based(f.rgb),
            imd.display(),
            one_based(rgb)
        ));
    }
    Some(named(rgb, NamedBy::Imd))
}

fn one_based(rgb: [u16; 3]) -> String {
    rgb.map(|b| (b + 1).to_string()).join(",")
}

/// Largest Maxar side-car read for its band names: an `.IMD` is a few KB, an
/// `.XML` with its ephemeris and attitude lists a few MB.
const MAX_BYTES: u64 = 32 << 20;

/// The text of a Maxar side-car; an unreadable one is a warning.
fn read(path: &Path, warnings: &mut Vec<String>) -> Option<String> {
    super::sidecar::read_text(path, MAX_BYTES)
        .map_err(|e| {
            warnings.push(format!(
                "{}: not read ({e}); its band names are not used",
                path.display()
            ))
        })
        .ok()
}

/// The file beside `path` with the same stem and extension `ext`, in lower or upper case.
fn beside(path: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_ascii_uppercase(), ext.to_ascii_lowercase()]
        .into_iter()
        .map(|e| path.with_extension(e))
        .find(|p| p.is_file())
}

/// The colour interpretations a PAM document gives (`<PAMRasterBand band="N">
/// <ColorInterp>Blue</ColorInterp>`): the band (from 0) and its slot (0 red, 1 green,
/// 2 blue), `None` for any other colour (undefined, alpha, grey, near-infrared…).
fn pam_colour_interp(root: roxmltree::Node) -> Vec<(u16, Option<usize>)> {
    let mut over = Vec::new();
    for band in root.children() {
        if !band.has_tag_name("PAMRasterBand") {
            continue;
        }
        let n = band
            .attribute("band")
            .and_then(|s| s.trim().parse::<u16>().ok());
        let interp = band
            .children()
            .find(|c| c.has_tag_name("ColorInterp"))
            .and_then(|c| c.text());
        if let (Some(b), Some(interp)) = (n.and_then(|n| n.checked_sub(1)), interp) {
            over.push((b, colour_slot(interp)));
        }
    }
    over
}

/// The red, green and blue bands once `over` is laid band by band over the file's `rgb`.
pub(super) fn overlay(
    rgb: Option<[u16; 3]>,
    over: &[(u16, Option<usize>)],
    info: &RasterInfo,
) -> Option<[u16; 3]> {
    let mut slot_of: Vec<Option<usize>> = vec![None; usize::from(info.bands)];
    for (slot, b) in rgb.into_iter().flat_map(|rgb| rgb.into_iter().enumerate()) {
        slot_of[usize::from(b)] = Some(slot);
    }
    for &(b, slot) in over {
        if let Some(s) = slot_of.get_mut(usize::from(b)) {
            *s = slot;
        }
    }
    let mut found: [Vec<u16>; 3] = Default::default();
    for (b, slot) in slot_of.iter().enumerate() {
        if let Some(s) = slot {
            found[*s].push(b as u16);
        }
    }
    one_each(found, info)
}

/// The red, green and blue bands of a Maxar delivery, from the `.IMD` beside `path`, else
/// its `.XML` twin (`<isd><IMD>`), with the side-car's path. A band list whose length is
/// not the raster's colour band count is a warning and is not used.
fn maxar_rgb(
    path: &Path,
    info: &RasterInfo,
    warnings: &mut Vec<String>,
) -> Option<(PathBuf, [u16; 3])> {
    let (side, bands) = if let Some(imd) = beside(path, "imd") {
        let text = read(&imd, warnings)?;
        let bands = imd_bands(&text);
        (imd, bands)
    } else {
        let xml = beside(path, "xml")?;
        let text = read(&xml, warnings)?;
        (xml, xml_bands(&text)?)
    };
    if bands.is_empty() {
        return None;
    }
    if bands.len() != usize::from(info.color_bands()) {
        warnings.push(format!(
            "{}: lists {} bands ({}), the raster has {} colour bands; the band list is not used",
            side.display(),
            bands.len(),
            bands.join(", "),
            info.color_bands()
        ));
        return None;
    }
    let mut found: [Vec<u16>; 3] = Default::default();
    for (i, b) in bands.iter().enumerate() {
        let slot = match b.as_str() {
            "R" => 0,
            "G" => 1,
            "B" => 2,
            _ => continue,
        };
        found[slot].push(i as u16);
    }
    one_each(found, info).map(|rgb| (side, rgb))
}

/// The band groups of an `.IMD` in file order: `BEGIN_GROUP = BAND_B` gives `B` (`C`,
/// `B`, `G`, `Y`, `R`, `RE`, `N`, `N2`, `P`, `S1`…).
pub(super) fn imd_bands(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (key, value) = l.split_once('=')?;
            if !key.trim().eq_ignore_ascii_case("BEGIN_GROUP") {
                return None;
            }
            let value = value.trim().trim_end_matches(';').trim();
            let band = value.strip_prefix("BAND_")?;
            Some(band.to_ascii_uppercase())
        })
        .collect()
}

/// The band elements of a Maxar `.XML` (`<isd><IMD><BAND_B>…`) in file order; `None` when
/// the document is not Maxar's (any other `.XML` beside a raster).
pub(super) fn xml_bands(text: &str) -> Option<Vec<String>> {
    let doc = roxmltree::Document::parse(text).ok()?;
    let root = doc.root_element();
    if !root.has_tag_name("isd") {
        return None;
    }
    let imd = root.children().find(|n| n.has_tag_name("IMD"))?;
    Some(
        imd.children()
            .filter(|n| n.is_element())
            .filter_map(|n| n.tag_name().name().strip_prefix("BAND_"))
            .map(str::to_ascii_uppercase)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::SampleType;

    fn four() -> RasterInfo {
        RasterInfo::interleaved(8, 8, 4, SampleType::U16, false, String::new())
    }

    #[test]
    fn imd_band_groups_in_file_order() {
        let imd = "version = \"28.3\";\nBEGIN_GROUP = BAND_B\n\tULLon = 1.0;\nEND_GROUP = BAND_B\n\
                   BEGIN_GROUP = BAND_G\nEND_GROUP = BAND_G\nBEGIN_GROUP = BAND_R\nEND_GROUP = BAND_R\n\
                   BEGIN_GROUP = BAND_N\nEND_GROUP = BAND_N\nBEGIN_GROUP = IMAGE_1\nEND_GROUP = IMAGE_1\nEND;\n";
        assert_eq!(imd_bands(imd), ["B", "G", "R", "N"]);
        let eight = "BEGIN_GROUP = BAND_C\nBEGIN_GROUP = BAND_B\nBEGIN_GROUP = BAND_G\nBEGIN_GROUP = BAND_Y\n\
                     BEGIN_GROUP = BAND_R\nBEGIN_GROUP = BAND_RE\nBEGIN_GROUP = BAND_N\nBEGIN_GROUP = BAND_N2\n";
        assert_eq!(imd_bands(eight)[4..6], ["R", "RE"]);
        assert!(imd_bands("BEGIN_GROUP = IMAGE_1\nEND;").is_empty());
    }

    #[test]
    fn maxar_xml_bands_only_from_an_isd_document() {
        let xml = "<?xml version=\"1.0\"?><isd><IMD><VERSION>28.3</VERSION><BAND_B><ULLON>1</ULLON></BAND_B>\
                   <BAND_G/><BAND_R/><BAND_N/><IMAGE/></IMD><RPB/></isd>";
        assert_eq!(xml_bands(xml).unwrap(), ["B", "G", "R", "N"]);
        assert_eq!(xml_bands("<metadata><IMD><BAND_R/></IMD></metadata>"), None);
        assert_eq!(xml_bands("not xml"), None);
    }

    #[test]
    fn pam_colour_interpretation_is_laid_over_the_files_band_by_band() {
        let pam = |items: &[(u16, &str)]| {
            let mut s = String::from("<PAMDataset><SRS>EPSG:32633</SRS>");
            for (b, c) in items {
                s += &format!(
                    "<PAMRasterBand band=\"{b}\"><ColorInterp>{c}</ColorInterp></PAMRasterBand>"
                );
            }
            let xml = s + "</PAMDataset>";
            pam_colour_interp(roxmltree::Document::parse(&xml).unwrap().root_element())
        };
        // What GDAL writes for blue, green, red, undefined over an RGB photometric TIFF:
        // only the bands that differ.
        let over = pam(&[(1, "Blue"), (3, "Red")]);
        assert_eq!(over, [(0, Some(2)), (2, Some(0))]);
        assert_eq!(overlay(Some([0, 1, 2]), &over, &four()), Some([2, 1, 0]));
        // Over a file that names nothing, every band must be named.
        assert_eq!(overlay(None, &over, &four()), None);
        let all = pam(&[(1, "Blue"), (2, "Green"), (3, "Red"), (4, "Undefined")]);
        assert_eq!(overlay(None, &all, &four()), Some([2, 1, 0]));
        // A band made undefined un-names it; band 0 and bands past the last are ignored.
        assert_eq!(
            overlay(Some([0, 1, 2]), &pam(&[(1, "Undefined")]), &four()),
            None
        );
        assert_eq!(
            overlay(Some([0, 1, 2]), &pam(&[(0, "Blue"), (9, "Red")]), &four()),
            Some([0, 1, 2])
        );
        // Red twice is not a set.
        assert_eq!(overlay(Some([0, 1, 2]), &pam(&[(4, "Red")]), &four()), None);
        assert!(pam(&[]).is_empty());
    }
}
