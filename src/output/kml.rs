//! KML and KMZ for Google Earth: one Placemark per feature (its polygon, or point),
//! named by its label (`car 0.87`, `site 3 (23)`), styled per class (distinct
//! colours), in one Folder per group (class, or change); every field in the
//! placemark's ExtendedData and the layer's metadata in the Document's. A KMZ is a zip
//! holding `doc.kml`, deflated. Coordinates are written in Rust's shortest round-trip
//! form, so reading them back gives the same `f64`.

use super::layer::{Feature, Geometry, Layer};
use super::read::{RawFeature, RawGeom, RawLayer, RawValue};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// The outline of features without a class (sites): yellow, as in the report (KML
/// `aabbggrr`).
const SITE_COLOUR: &str = "ff00ffff";

/// KML's `aabbggrr` for class `class_id`'s colour ([`super::class_colour`]), opaque.
fn kml_colour(class_id: u32) -> String {
    let [r, g, b] = super::class_colour(class_id);
    format!("ff{b:02x}{g:02x}{r:02x}")
}

pub(crate) use crate::output::escape_markup as esc;

/// A style id safe in a URL fragment.
fn style_id(key: &str) -> String {
    let safe: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if safe.is_empty() {
        // Features without a class (sites): one default style.
        return "style_default".into();
    }
    format!("style_{safe}")
}

/// Streams `layer` as a KML document into `w`.
pub(crate) fn write_kml(w: &mut impl Write, layer: &Layer) -> std::io::Result<()> {
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(w, r#"<kml xmlns="http://www.opengis.net/kml/2.2">"#)?;
    writeln!(w, "<Document><name>{}</name>", esc(&layer.name))?;
    if !layer.metadata.is_empty() {
        write!(w, "<ExtendedData>")?;
        for (k, v) in &layer.metadata {
            write!(
                w,
                r#"<Data name="{}"><value>{}</value></Data>"#,
                esc(k),
                esc(v)
            )?;
        }
        writeln!(w, "</ExtendedData>")?;
    }
    // A typed schema, so GIS read scores and boxes as numbers, not text.
    write!(
        w,
        r#"<Schema name="{0}" id="{0}_schema">"#,
        esc(&layer.name)
    )?;
    for field in &layer.fields {
        let kind = match field.kind {
            super::layer::FieldType::Integer => "int",
            super::layer::FieldType::Real => "double",
            _ => "string",
        };
        write!(
            w,
            r#"<SimpleField name="{}" type="{kind}"/>"#,
            esc(&field.name)
        )?;
    }
    writeln!(w, "</Schema>")?;
    for (key, line) in colours(layer) {
        // The fill: the outline's colour at 25 % opacity.
        writeln!(
            w,
            "<Style id=\"{}\"><LineStyle><color>{line}</color><width>2</width></LineStyle>\
             <PolyStyle><color>40{}</color></PolyStyle></Style>",
            style_id(&key),
            &line[2..]
        )?;
    }
    // Folders in first-seen order; features keep their order within a folder.
    let mut groups: Vec<(Option<&str>, Vec<&Feature>)> = Vec::new();
    for f in &layer.features {
        let g = f.group.as_deref();
        match groups.iter_mut().find(|(k, _)| *k == g) {
            Some((_, v)) => v.push(f),
            None => groups.push((g, vec![f])),
        }
    }
    for (group, features) in groups {
        if let Some(g) = group {
            writeln!(w, "<Folder><name>{}</name>", esc(g))?;
        }
        for f in features {
            placemark(w, layer, f)?;
        }
        if group.is_some() {
            writeln!(w, "</Folder>")?;
        }
    }
    writeln!(w, "</Document></kml>")
}

fn placemark(w: &mut impl Write, layer: &Layer, f: &Feature) -> std::io::Result<()> {
    write!(
        w,
        "<Placemark><name>{}</name><styleUrl>#{}</styleUrl><ExtendedData><SchemaData schemaUrl=\"#{}_schema\">",
        esc(&f.label),
        style_id(f.style.as_deref().unwrap_or("")),
        esc(&layer.name)
    )?;
    for (field, v) in layer.fields.iter().zip(&f.values) {
        if let Some(t) = v.to_text() {
            write!(
                w,
                r#"<SimpleData name="{}">{}</SimpleData>"#,
                esc(&field.name),
                esc(&t)
            )?;
        }
    }
    write!(w, "</SchemaData></ExtendedData>")?;
    match &f.geometry {
        Some(Geometry::Polygon(ring)) => {
            write!(w, "<Polygon><outerBoundaryIs><LinearRing><coordinates>")?;
            for (i, p) in ring.iter().enumerate() {
                let sep = if i > 0 { " " } else { "" };
                write!(w, "{sep}{},{}", p[0], p[1])?;
            }
            write!(w, "</coordinates></LinearRing></outerBoundaryIs></Polygon>")?;
        }
        Some(Geometry::Point(p)) => {
            write!(
                w,
                "<Point><coordinates>{},{}</coordinates></Point>",
                p[0], p[1]
            )?;
        }
        None => {}
    }
    writeln!(w, "</Placemark>")
}

/// `layer` as a KMZ: a zip with `doc.kml`, deflated, into `w`.
pub(crate) fn write_kmz(
    w: &mut (impl Write + std::io::Seek),
    layer: &Layer,
    path: &Path,
) -> Result<()> {
    let zerr = |e: zip::result::ZipError| Error::Output {
        path: path.to_path_buf(),
        detail: format!("writing the KMZ archive: {e}"),
        source: None,
    };
    let mut zip = zip::ZipWriter::new(&mut *w);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("doc.kml", opts).map_err(zerr)?;
    write_kml(&mut zip, layer).map_err(super::atomic::io_err(path))?;
    zip.finish().map_err(zerr)?;
    Ok(())
}

/// The text of a node's descendants (entities resolved, CDATA included).
pub(crate) fn text_of(n: roxmltree::Node<'_, '_>) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect()
}

/// The `Data name="…"><value>` pairs of an ExtendedData, in `into`.
fn read_data<'a, 'i: 'a>(
    data: impl Iterator<Item = roxmltree::Node<'a, 'i>>,
    mut into: impl FnMut(String, String),
) {
    for d in data {
        // `<SimpleData name="k">v</SimpleData>` (typed, what satdet writes) or
        // `<Data name="k"><value>v</value></Data>`.
        let value = if d.tag_name().name() == "SimpleData" {
            Some(d)
        } else {
            d.children().find(|c| c.tag_name().name() == "value")
        };
        if let (Some(name), Some(v)) = (d.attribute("name"), value) {
            into(name.to_string(), text_of(v));
        }
    }
}

/// A placemark's geometry: a polygon's exterior ring; anything else by name.
fn placemark_geometry(pm: roxmltree::Node<'_, '_>) -> std::result::Result<RawGeom, String> {
    const GEOMETRIES: [&str; 7] = [
        "Polygon",
        "Point",
        "LineString",
        "LinearRing",
        "MultiGeometry",
        "Model",
        "Track",
    ];
    let mut geoms = pm
        .children()
        .filter(|c| GEOMETRIES.contains(&c.tag_name().name()));
    let Some(g) = geoms.next() else {
        return Ok(RawGeom::None);
    };
    if geoms.next().is_some() {
        return Ok(RawGeom::Other("several geometries".into()));
    }
    let name = g.tag_name().name();
    if name != "Polygon" {
        return Ok(RawGeom::Other(name.into()));
    }
    if g.children()
        .any(|c| c.tag_name().name() == "innerBoundaryIs")
    {
        return Ok(RawGeom::Other("Polygon with holes".into()));
    }
    let coords = g
        .children()
        .find(|c| c.tag_name().name() == "outerBoundaryIs")
        .and_then(|o| {
            o.descendants()
                .find(|c| c.tag_name().name() == "coordinates")
        })
        .ok_or("a Polygon without outerBoundaryIs coordinates")?;
    Ok(RawGeom::Polygon(parse_coordinates(&text_of(coords))?))
}

/// Reads a KML document (through `roxmltree`, which refuses DTDs, so no entity
/// expansion): the Document's ExtendedData as metadata, each Placemark's ExtendedData
/// as its properties (text) and its geometry.
pub(crate) fn read_kml(text: &str) -> std::result::Result<RawLayer, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("bad XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "kml" {
        return Err(format!(
            "the root element is <{}>, not <kml>",
            root.tag_name().name()
        ));
    }
    let mut layer = RawLayer::default();
    let named = |name: &'static str| move |n: &roxmltree::Node<'_, '_>| n.tag_name().name() == name;
    let outside_placemarks = root
        .descendants()
        .filter(named("Data"))
        .filter(|d| !d.ancestors().any(|a| a.tag_name().name() == "Placemark"));
    read_data(outside_placemarks, |k, v| {
        layer.meta.insert(k, v);
    });
    for (i, pm) in root.descendants().filter(named("Placemark")).enumerate() {
        let mut f = RawFeature::default();
        let data = pm
            .descendants()
            .filter(|n| n.tag_name().name() == "Data" || n.tag_name().name() == "SimpleData");
        read_data(data, |k, v| {
            f.props.insert(k, RawValue::Text(v));
        });
        f.geom = placemark_geometry(pm).map_err(|e| format!("placemark {i}: {e}"))?;
        layer.features.push(f);
    }
    Ok(layer)
}

/// KML `lon,lat[,alt]` tuples separated by white space.
fn parse_coordinates(text: &str) -> std::result::Result<Vec<[f64; 2]>, String> {
    text.split_whitespace()
        .map(|t| {
            let mut it = t.split(',').map(str::parse::<f64>);
            match (it.next(), it.next()) {
                (Some(Ok(lon)), Some(Ok(lat))) => Ok([lon, lat]),
                _ => Err(format!("bad coordinate `{}`", crate::error::snippet(t))),
            }
        })
        .collect()
}

/// Reads `doc.kml` (else the first `.kml` entry) of the KMZ at `path`: an
/// [`Error::Limits`] if it inflates to more than `max_bytes` (declared; and never more
/// than that is inflated), else [`Error::ResultsFile`] for a bad archive or KML.
pub(crate) fn read_kmz(path: &Path, max_bytes: u64) -> Result<RawLayer> {
    let bad = |detail: String| Error::ResultsFile {
        path: path.to_path_buf(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| bad(format!("not a KMZ (zip) archive: {e}")))?;
    let name = match zip.index_for_name("doc.kml") {
        Some(_) => "doc.kml".to_string(),
        None => zip
            .file_names()
            .filter_map(|n| n.ok())
            .find(|n| n.to_ascii_lowercase().ends_with(".kml"))
            .map(|n| n.into_owned())
            .ok_or_else(|| bad("the KMZ archive holds no .kml document".into()))?,
    };
    let entry = zip
        .by_name(&name)
        .map_err(|e| bad(format!("reading {name} in the KMZ: {e}")))?;
    crate::limits::Limits::check(
        || format!("{}: {name}", path.display()),
        "inflated KML bytes (Limits::max_detection_bytes)",
        entry.size(),
        max_bytes,
    )?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(entry, max_bytes), &mut text)
        .map_err(|e| bad(format!("inflating {name}: {e}")))?;
    read_kml(&text).map_err(bad)
}

/// The outline colour (KML `aabbggrr`) of each style key. A style key is a class name;
/// its colour is its class id's, as in the quick-look and the report; features without a
/// class id take their rank among the style keys, and features without a style key
/// (sites) are yellow.
fn colours(layer: &Layer) -> std::collections::BTreeMap<String, String> {
    let class_id = layer.field_index("class_id");
    let keys: std::collections::BTreeSet<&str> = layer
        .features
        .iter()
        .map(|f| f.style.as_deref().unwrap_or(""))
        .collect();
    let mut out = std::collections::BTreeMap::new();
    for f in &layer.features {
        let key = f.style.as_deref().unwrap_or("");
        if out.contains_key(key) {
            continue;
        }
        let id = class_id
            .and_then(|i| match f.values.get(i) {
                Some(super::layer::Value::Integer(v)) => u32::try_from(*v).ok(),
                _ => None,
            })
            .or_else(|| {
                let rank = keys
                    .iter()
                    .filter(|k| !k.is_empty())
                    .position(|k| *k == key)?;
                u32::try_from(rank).ok()
            });
        out.insert(
            key.to_string(),
            id.map_or_else(|| SITE_COLOUR.to_string(), kml_colour),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::layer::{Field, FieldType, Value};

    fn layer() -> Layer {
        let f = |class: &str, x: f64| Feature {
            geometry: Some(Geometry::Polygon(vec![
                [x, 1.0],
                [x + 0.1, 1.0],
                [x + 0.1, 1.1],
                [x, 1.1],
                [x, 1.0],
            ])),
            center: Some([x + 0.05, 1.05]),
            label: format!("{class} <0.5> & co"),
            group: Some(class.into()),
            style: Some(class.into()),
            values: vec![Value::Text(class.into())],
        };
        Layer {
            name: "t".into(),
            fields: vec![Field {
                name: "class".into(),
                kind: FieldType::Text,
            }],
            features: vec![f("car", 0.1), f("truck", 0.2), f("car", 0.3)],
            metadata: vec![("scene".into(), "a & b.tif".into())],
        }
    }

    #[test]
    fn classes_get_distinct_styles_and_folders_and_text_is_escaped() {
        let l = layer();
        let mut out = Vec::new();
        write_kml(&mut out, &l).expect("write");
        let s = String::from_utf8(out).expect("utf8");
        assert_eq!(s.matches("<Folder>").count(), 2);
        assert_eq!(s.matches("<Placemark>").count(), 3);
        let c = colours(&l);
        assert_ne!(c["car"], c["truck"]);
        // Class 0 is the quick-look's and the report's red, in KML's aabbggrr.
        assert_eq!(kml_colour(0), "ff2828ff");
        assert!(s.contains("car &lt;0.5&gt; &amp; co"), "{s}");
        let back = read_kml(&s).expect("read");
        assert_eq!(back.meta["scene"], "a & b.tif");
        assert_eq!(back.features.len(), 3);
        assert!(matches!(&back.features[2].geom, RawGeom::Polygon(r) if r.len() == 5));
    }
}
