//! Which bands of a TIFF hold red, green and blue, as its tags say: GDAL's colour
//! interpretation (`GDAL_METADATA`), else the photometric interpretation.

use super::ifd::tiff_error;
use super::Dec;
use crate::error::Result;
use crate::raster::band_names::{colour_slot, one_each, Named, NamedBy};
use crate::raster::RasterInfo;
use std::path::Path;
use tiff::tags::Tag;

/// The bands (from 0) holding red, green and blue: from GDAL's colour interpretation (the
/// `COLORINTERP` items of its `GDAL_METADATA` tag, 42112, which GDAL writes for bands the
/// photometric interpretation cannot describe, such as blue, green, red, near-infrared),
/// else from an RGB (or JPEG YCbCr) photometric interpretation; `None` when neither says.
/// Metadata that cannot be read is a warning, not an error: the pixels are still good.
pub(super) fn rgb_bands(
    dec: &mut Dec,
    path: &Path,
    info: &RasterInfo,
    warnings: &mut Vec<String>,
) -> Result<Option<Named>> {
    let te = |what: &'static str| move |e| tiff_error(path, what, e);
    if let Some(v) = dec
        .find_tag(Tag::Unknown(GDAL_METADATA))
        .map_err(te("GDAL_METADATA"))?
    {
        match v.into_string() {
            Ok(xml) => match gdal_color_interp(&xml, info) {
                Ok(Some(rgb)) => {
                    return Ok(Some(Named {
                        rgb,
                        by: NamedBy::ColourInterp,
                    }))
                }
                Ok(None) => {}
                Err(e) => warnings.push(format!(
                    "{}: GDAL_METADATA tag not read ({e}); its band colours are not used",
                    path.display()
                )),
            },
            Err(_) => warnings.push(format!(
                "{}: GDAL_METADATA tag is not text; its band colours are not used",
                path.display()
            )),
        }
    }
    let photometric: Option<u16> = dec
        .find_tag_unsigned(Tag::PhotometricInterpretation)
        .map_err(te("PhotometricInterpretation"))?;
    Ok(
        (matches!(photometric, Some(2 | 6)) && info.color_bands() >= 3).then_some(Named {
            rgb: [0, 1, 2],
            by: NamedBy::ColourModel,
        }),
    )
}

/// The TIFF tag GDAL keeps its metadata in (XML).
const GDAL_METADATA: u16 = 42112;

/// The red, green and blue bands (from 0) named by the `COLORINTERP` items of a
/// `GDAL_METADATA` document: `Some` only when each of the three is named once, on a colour
/// band; `None` when the document names no such set.
pub(super) fn gdal_color_interp(
    xml: &str,
    info: &RasterInfo,
) -> std::result::Result<Option<[u16; 3]>, String> {
    let xml = xml.trim_matches(char::from(0)).trim();
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let mut found: [Vec<u16>; 3] = Default::default();
    for item in doc.descendants().filter(|n| n.has_tag_name("Item")) {
        if !item
            .attribute("role")
            .is_some_and(|r| r.eq_ignore_ascii_case("colorinterp"))
        {
            continue;
        }
        let Some(band) = item.attribute("sample").and_then(|s| s.parse::<u16>().ok()) else {
            continue;
        };
        if let Some(slot) = item.text().and_then(colour_slot) {
            found[slot].push(band);
        }
    }
    Ok(one_each(found, info))
}

#[cfg(test)]
mod tests {
    use super::gdal_color_interp;
    use crate::raster::{RasterInfo, SampleType};

    fn doc(items: &[(u16, &str)]) -> String {
        let mut s = String::from("<GDALMetadata>\n");
        for (b, c) in items {
            s.push_str(&format!(
                "  <Item name=\"COLORINTERP\" sample=\"{b}\" role=\"colorinterp\">{c}</Item>\n"
            ));
        }
        s + "</GDALMetadata>\n\0"
    }

    #[test]
    fn colour_interpretation_needs_one_red_one_green_one_blue_colour_band() {
        let four = RasterInfo::interleaved(8, 8, 4, SampleType::U16, false, String::new());
        let rgba = RasterInfo::interleaved(8, 8, 4, SampleType::U16, true, String::new());
        let bgrn = doc(&[(0, "Blue"), (1, "Green"), (2, "Red"), (3, "Undefined")]);
        assert_eq!(gdal_color_interp(&bgrn, &four), Ok(Some([2, 1, 0])));
        // Case and other metadata items do not matter.
        let mixed = format!(
            "<GDALMetadata><Item name=\"AREA_OR_POINT\">Area</Item>{}",
            &doc(&[(3, "red"), (1, "GREEN"), (0, "blue")])["<GDALMetadata>".len()..]
        );
        assert_eq!(gdal_color_interp(&mixed, &four), Ok(Some([3, 1, 0])));
        // Red on the alpha band, red twice, no blue, a band past the last: not a set.
        assert_eq!(
            gdal_color_interp(&doc(&[(3, "Red"), (1, "Green"), (0, "Blue")]), &rgba),
            Ok(None)
        );
        let twice = doc(&[(0, "Red"), (1, "Red"), (2, "Green"), (3, "Blue")]);
        assert_eq!(gdal_color_interp(&twice, &four), Ok(None));
        let no_blue = doc(&[(0, "Red"), (1, "Green"), (2, "Gray")]);
        assert_eq!(gdal_color_interp(&no_blue, &four), Ok(None));
        let past = doc(&[(0, "Red"), (1, "Green"), (7, "Blue")]);
        assert_eq!(gdal_color_interp(&past, &four), Ok(None));
        assert!(gdal_color_interp("<GDALMetadata><Item", &four).is_err());
    }
}
