//! FlatGeobuf (through the `flatgeobuf` crate): a header with the layer's name, its
//! geometry type, EPSG:4326 as CRS, a human description and the metadata as a JSON
//! object in the header's `metadata`; one column per field; features in the layer's
//! order (no spatial index, so no Hilbert reordering). Coordinates are `f64`, exact.

use super::layer::{FieldType, Geometry, Layer, Value};
use super::read::{RawFeature, RawGeom, RawLayer, RawValue};
use crate::error::{Error, Result};
use flatgeobuf::geozero::error::GeozeroError;
use flatgeobuf::geozero::{
    ColumnValue, FeatureProperties, GeomProcessor, GeozeroGeometry, PropertyProcessor,
};
use flatgeobuf::{
    ColumnType, FallibleStreamingIterator, FgbCrs, FgbReader, FgbWriter, FgbWriterOptions,
    GeometryType,
};
use std::io::Write;
use std::path::Path;

/// A layer geometry fed to the FlatGeobuf writer.
struct Geom<'a>(&'a Geometry);

impl GeozeroGeometry for Geom<'_> {
    fn process_geom<P: GeomProcessor>(&self, p: &mut P) -> flatgeobuf::geozero::error::Result<()> {
        match self.0 {
            Geometry::Point(pt) => {
                p.point_begin(0)?;
                p.xy(pt[0], pt[1], 0)?;
                p.point_end(0)
            }
            Geometry::Polygon(ring) => {
                p.polygon_begin(true, 1, 0)?;
                p.linestring_begin(false, ring.len(), 0)?;
                for (i, pt) in ring.iter().enumerate() {
                    p.xy(pt[0], pt[1], i)?;
                }
                p.linestring_end(false, 0)?;
                p.polygon_end(true, 0)
            }
        }
    }
}

fn geometry_type(layer: &Layer) -> GeometryType {
    let all = |pred: fn(&Geometry) -> bool| {
        layer
            .features
            .iter()
            .all(|f| f.geometry.as_ref().is_some_and(pred))
    };
    if all(|g| matches!(g, Geometry::Polygon(_))) {
        GeometryType::Polygon
    } else if all(|g| matches!(g, Geometry::Point(_))) {
        GeometryType::Point
    } else {
        GeometryType::Unknown
    }
}

/// `layer` as FlatGeobuf into `w`. Every feature needs a geometry (a detection of a
/// scene without georeferencing has none: write it as GeoJSON or CSV instead).
pub(crate) fn write_fgb(w: &mut impl Write, layer: &Layer, path: &Path) -> Result<()> {
    let err = |detail: String| Error::Output {
        path: path.to_path_buf(),
        detail,
        source: None,
    };
    if let Some(i) = layer.features.iter().position(|f| f.geometry.is_none()) {
        return Err(err(format!(
            "feature {i} has no geometry (scene without georeferencing?): FlatGeobuf \
             needs one; write GeoJSON or CSV instead"
        )));
    }
    let meta: serde_json::Map<String, serde_json::Value> = layer
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
        .collect();
    let meta = serde_json::Value::Object(meta).to_string();
    let description = format!("satdet {}", layer.name);
    let gtype = geometry_type(layer);
    let fgb_err = |e: flatgeobuf::Error| err(format!("writing FlatGeobuf: {e}"));
    let mut fgb = FgbWriter::create_with_options(
        &layer.name,
        gtype,
        FgbWriterOptions {
            write_index: false,
            detect_type: gtype == GeometryType::Unknown,
            crs: FgbCrs {
                org: Some("EPSG"),
                code: 4326,
                ..Default::default()
            },
            description: Some(&description),
            metadata: Some(&meta),
            ..Default::default()
        },
    )
    .map_err(fgb_err)?;
    for f in &layer.fields {
        let t = match f.kind {
            FieldType::Text => ColumnType::String,
            FieldType::Integer => ColumnType::Long,
            FieldType::Real => ColumnType::Double,
            FieldType::Json => ColumnType::Json,
        };
        fgb.add_column(&f.name, t, |_, _| {});
    }
    for f in &layer.features {
        let Some(g) = &f.geometry else { continue };
        let mut failed: Option<GeozeroError> = None;
        fgb.add_feature_geom(Geom(g), |fw| {
            for (i, (field, v)) in layer.fields.iter().zip(&f.values).enumerate() {
                let cv = match v {
                    Value::Null => continue,
                    Value::Text(s) => ColumnValue::String(s),
                    Value::Json(s) => ColumnValue::Json(s),
                    Value::Integer(n) => ColumnValue::Long(*n),
                    Value::Real(r) => ColumnValue::Double(*r),
                };
                if let Err(e) = fw.property(i, &field.name, &cv) {
                    failed.get_or_insert(e);
                }
            }
        })
        .map_err(|e| err(format!("writing FlatGeobuf: {e}")))?;
        if let Some(e) = failed {
            return Err(err(format!("writing FlatGeobuf: {e}")));
        }
    }
    fgb.write(&mut *w).map_err(fgb_err)
}

/// Collects a feature's properties.
struct Props<'a>(&'a mut std::collections::HashMap<String, RawValue>);

impl PropertyProcessor for Props<'_> {
    fn property(
        &mut self,
        _i: usize,
        name: &str,
        v: &ColumnValue,
    ) -> flatgeobuf::geozero::error::Result<bool> {
        let raw = match *v {
            ColumnValue::Double(d) => RawValue::Num(d),
            ColumnValue::Float(f) => RawValue::Num(f64::from(f)),
            ColumnValue::Long(n) => RawValue::Num(n as f64),
            ColumnValue::ULong(n) => RawValue::Num(n as f64),
            ColumnValue::Int(n) => RawValue::Num(f64::from(n)),
            ColumnValue::UInt(n) => RawValue::Num(f64::from(n)),
            ColumnValue::Short(n) => RawValue::Num(f64::from(n)),
            ColumnValue::UShort(n) => RawValue::Num(f64::from(n)),
            ColumnValue::Byte(n) => RawValue::Num(f64::from(n)),
            ColumnValue::UByte(n) => RawValue::Num(f64::from(n)),
            ColumnValue::String(s) | ColumnValue::Json(s) | ColumnValue::DateTime(s) => {
                RawValue::Text(s.to_string())
            }
            ColumnValue::Bool(b) => RawValue::Text(b.to_string()),
            ColumnValue::Binary(_) => RawValue::Text("<binary>".into()),
        };
        self.0.insert(name.to_string(), raw);
        Ok(false)
    }
}

/// The bytes of a packed R-tree of `items` features and `node_size` (≥ 2) children
/// per node, as FlatGeobuf lays it out (40 bytes a node, every level); `None` on
/// overflow.
fn index_bytes(items: u64, node_size: u64) -> Option<u64> {
    let (mut n, mut nodes) = (items, items);
    loop {
        n = n.div_ceil(node_size);
        nodes = nodes.checked_add(n)?;
        if n <= 1 {
            break;
        }
    }
    nodes.checked_mul(40)
}

/// Checks every size the `flatgeobuf` reader would allocate by (the index, each
/// feature's length prefix) against the bytes really there, so that a crafted size
/// is an error, not a multi-gigabyte allocation or a panic in the crate.
fn check_sizes(b: &[u8]) -> std::result::Result<(), String> {
    let fgb = FgbReader::open(b).map_err(|e| format!("not a FlatGeobuf file: {e}"))?;
    let header = fgb.header();
    let (node_size, count) = (u64::from(header.index_node_size()), header.features_count());
    let u32_at = |at: u64| -> Option<u64> {
        let at = usize::try_from(at).ok()?;
        let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(u64::from(u32::from_le_bytes(s)))
    };
    let header_size = u32_at(8).ok_or("truncated header")?;
    let mut pos = 12 + header_size;
    if node_size == 1 {
        return Err("index node size 1 (at least 2)".into());
    }
    if node_size > 1 && count > 0 {
        pos = index_bytes(count, node_size)
            .and_then(|i| pos.checked_add(i))
            .ok_or("index size overflows")?;
    }
    let len = b.len() as u64;
    let mut i = 0u64;
    while pos < len {
        let size = u32_at(pos).ok_or_else(|| format!("feature {i}: truncated length"))?;
        pos += 4 + size;
        if pos > len {
            return Err(format!(
                "feature {i}: claims {size} bytes, the file ends before"
            ));
        }
        i += 1;
    }
    if pos > len || (count > 0 && i != count) {
        return Err(format!(
            "the header says {count} features, the file holds {i}"
        ));
    }
    Ok(())
}

/// Reads a FlatGeobuf file: the header's metadata JSON, each feature's properties and
/// its polygon's exterior ring.
pub(crate) fn read_fgb(bytes: &[u8]) -> std::result::Result<RawLayer, String> {
    check_sizes(bytes)?;
    let fgb = FgbReader::open(bytes).map_err(|e| format!("not a FlatGeobuf file: {e}"))?;
    let mut layer = RawLayer::default();
    let header = fgb.header();
    if let Some(m) = header.metadata() {
        let json: serde_json::Value =
            serde_json::from_str(m).map_err(|e| format!("header metadata is not JSON: {e}"))?;
        for (k, v) in json.as_object().into_iter().flatten() {
            if let Some(s) = v.as_str() {
                layer.meta.insert(k.clone(), s.to_string());
            }
        }
    }
    let header_type = header.geometry_type();
    let mut it = fgb
        .select_all_seq()
        .map_err(|e| format!("reading FlatGeobuf features: {e}"))?;
    while let Some(feature) = it
        .next()
        .map_err(|e| format!("reading FlatGeobuf feature {}: {e}", layer.features.len()))?
    {
        let mut f = RawFeature::default();
        feature
            .process_properties(&mut Props(&mut f.props))
            .map_err(|e| format!("feature {}: bad properties: {e}", layer.features.len()))?;
        f.geom = match feature.geometry() {
            None => RawGeom::None,
            Some(g) => {
                let t = if header_type == GeometryType::Unknown {
                    g.type_()
                } else {
                    header_type
                };
                let holes = g.ends().is_some_and(|e| e.len() > 1);
                match (t, holes, g.xy()) {
                    (GeometryType::Polygon, false, Some(xy)) => RawGeom::Polygon(
                        xy.iter()
                            .collect::<Vec<f64>>()
                            .chunks_exact(2)
                            .map(|c| [c[0], c[1]])
                            .collect(),
                    ),
                    (GeometryType::Polygon, true, _) => RawGeom::Other("Polygon with holes".into()),
                    (t, _, _) => RawGeom::Other(format!("{t:?}")),
                }
            }
        };
        layer.features.push(f);
    }
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::layer::{Feature, Field};

    fn bytes() -> Vec<u8> {
        let layer = Layer {
            name: "t".into(),
            fields: vec![Field {
                name: "n".into(),
                kind: FieldType::Integer,
            }],
            features: (0..3)
                .map(|i| Feature {
                    geometry: Some(Geometry::Point([f64::from(i), 1.0])),
                    center: None,
                    label: String::new(),
                    group: None,
                    style: None,
                    values: vec![Value::Integer(i64::from(i))],
                })
                .collect(),
            metadata: vec![],
        };
        let mut out = Vec::new();
        write_fgb(&mut out, &layer, Path::new("t.fgb")).expect("write");
        out
    }

    #[test]
    fn index_size_matches_the_packed_r_tree_layout() {
        assert_eq!(index_bytes(4, 16), Some(5 * 40));
        assert_eq!(index_bytes(17, 16), Some((17 + 2 + 1) * 40));
        assert_eq!(index_bytes(u64::MAX, 2), None);
    }

    #[test]
    fn a_crafted_feature_length_is_an_error_not_an_allocation() {
        let good = bytes();
        assert!(check_sizes(&good).is_ok());
        // The first feature's length prefix, just after the header (no index).
        let header = u32::from_le_bytes([good[8], good[9], good[10], good[11]]) as usize;
        let mut bad = good.clone();
        bad[12 + header..16 + header].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        let e = read_fgb(&bad).expect_err("crafted");
        assert!(e.contains("feature 0"), "{e}");
        assert!(read_fgb(&good[..good.len() - 1]).is_err());
    }
}
