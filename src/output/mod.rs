//! Writers and readers for detections, sites and changes: GeoJSON, KML/KMZ, CSV,
//! GeoPackage and FlatGeobuf (the format from the extension, [`write()`],
//! [`read_detections`]), and a PNG/JPEG quick-look. The result types stay plain data;
//! formatting and drawing live here. Every file is written atomically
//! ([`write_atomic`]) and never over an input ([`check_outputs`]).

mod atomic;
mod draw;
mod fgb;
mod format;
pub mod geojson;
mod gpkg;
mod kml;
mod layer;
pub mod quicklook;
mod read;
mod read_more;
pub mod report;
mod table;

pub(crate) use atomic::check_result_output;
pub use atomic::{check_outputs, scene_files, write_atomic};
pub use format::{write, write_detections, Format, EXTENSIONS};
pub use layer::{Feature, Field, FieldType, Geometry, Layer, Value, KIND_KEY};
pub use read::{read_change, read_detections, read_detections_with, read_sites};

/// Class colours (RGB, by class id, cycling), the same in the quick-look, the report and
/// KML, so one class looks the same everywhere.
const CLASS_COLOURS: [[u8; 3]; 6] = [
    [255, 40, 40],
    [40, 200, 255],
    [255, 200, 0],
    [80, 255, 80],
    [255, 80, 255],
    [255, 255, 255],
];

/// The bands (from 0) a picture of `scene` shows as red, green and blue: a run's bands
/// when they were asked for or named by the file and fit the scene
/// ([`crate::detection::Report::bands`]; assumed ones say nothing the scene does not), else
/// the file's ([`crate::raster::Scene::rgb_bands`]), else the first three colour bands, or
/// the first band as grey.
pub(crate) fn display_bands(
    scene: &crate::raster::Scene,
    run: Option<&crate::detection::Bands>,
) -> [u16; 3] {
    let info = scene.info();
    let fits = |rgb: [u16; 3]| {
        rgb.iter()
            .all(|&b| (1..=info.bands).contains(&b) && info.mask.alpha_band != Some(b - 1))
    };
    match (run, scene.rgb_bands()) {
        (Some(r), _) if r.from != crate::detection::BandsFrom::Assumed && fits(r.rgb) => {
            r.rgb.map(|b| b - 1)
        }
        (_, Some(rgb)) => rgb,
        _ if info.color_bands() >= 3 => [0, 1, 2],
        _ => [0, 0, 0],
    }
}

/// The colour of class `class_id` (RGB).
pub(crate) fn class_colour(class_id: u32) -> [u8; 3] {
    CLASS_COLOURS[class_id as usize % CLASS_COLOURS.len()]
}

/// `s` escaped for XML and HTML text and double- or single-quoted attribute values
/// (`&`, `<`, `>`, `"`, `'`), for KML, GeoPackage metadata and the report.
pub(crate) fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
