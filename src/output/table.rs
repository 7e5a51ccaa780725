//! CSV (RFC 4180, through the `csv` crate): one row per feature. Columns: `lon`, `lat`
//! of the centre first, then the layer's fields, then `WKT`, the geometry as WKT in
//! WGS84 (the column GDAL's CSV driver reads as geometry), then one column per metadata
//! key, repeated on every row so that each row is self-describing. Numbers are written
//! in Rust's shortest round-trip form: reading them back gives the same `f64`.

use super::layer::{Geometry, Layer};
use super::read::{RawFeature, RawGeom, RawLayer, RawValue};
use crate::error::{snippet, Error, Result};
use std::io::Write;
use std::path::Path;

/// The geometry column.
const WKT: &str = "WKT";

fn wkt(g: &Geometry) -> String {
    match g {
        Geometry::Point(p) => format!("POINT ({} {})", p[0], p[1]),
        Geometry::Polygon(r) => {
            let pts: Vec<String> = r.iter().map(|p| format!("{} {}", p[0], p[1])).collect();
            format!("POLYGON (({}))", pts.join(", "))
        }
    }
}

/// Streams `layer` as CSV into `w`.
pub(crate) fn write_csv(w: &mut impl Write, layer: &Layer, path: &Path) -> Result<()> {
    let err = |e: csv::Error| Error::Output {
        path: path.to_path_buf(),
        detail: format!("writing CSV: {e}"),
        source: None,
    };
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = vec!["lon", "lat"];
    header.extend(layer.fields.iter().map(|f| f.name.as_str()));
    header.push(WKT);
    header.extend(layer.metadata.iter().map(|(k, _)| k.as_str()));
    out.write_record(&header).map_err(err)?;
    for f in &layer.features {
        let mut row: Vec<String> = match f.center {
            Some(c) => vec![c[0].to_string(), c[1].to_string()],
            None => vec![String::new(), String::new()],
        };
        row.extend(f.values.iter().map(|v| v.to_text().unwrap_or_default()));
        row.push(f.geometry.as_ref().map(wkt).unwrap_or_default());
        row.extend(layer.metadata.iter().map(|(_, v)| v.clone()));
        out.write_record(&row).map_err(err)?;
    }
    out.flush().map_err(super::atomic::io_err(path))
}

/// Reads a CSV written by [`write_csv`]: every column before `WKT` as a text property,
/// `WKT` as the geometry, the columns after it (of the first row) as metadata.
pub(crate) fn read_csv(r: impl std::io::Read) -> std::result::Result<RawLayer, String> {
    let mut csv = csv::Reader::from_reader(r);
    let header = csv
        .headers()
        .map_err(|e| format!("bad CSV header: {e}"))?
        .clone();
    for needed in ["lon", "lat", WKT] {
        if !header.iter().any(|h| h == needed) {
            return Err(format!("no `{needed}` column"));
        }
    }
    // The writer puts the metadata columns after `WKT`.
    let first_meta = header.iter().position(|h| h == WKT).unwrap_or(0) + 1;
    let mut layer = RawLayer::default();
    for (i, rec) in csv.records().enumerate() {
        let rec = rec.map_err(|e| format!("row {}: {e}", i + 1))?;
        let mut f = RawFeature::default();
        for (c, (name, value)) in header.iter().zip(rec.iter()).enumerate() {
            if name == WKT {
                f.geom = parse_wkt(value).map_err(|e| format!("row {}: {e}", i + 1))?;
            } else if c >= first_meta {
                if i == 0 {
                    layer.meta.insert(name.to_string(), value.to_string());
                }
            } else {
                f.props
                    .insert(name.to_string(), RawValue::Text(value.to_string()));
            }
        }
        layer.features.push(f);
    }
    Ok(layer)
}

/// A WKT `POLYGON ((x y, …))` exterior ring; another geometry by its name; an empty
/// cell as no geometry.
fn parse_wkt(s: &str) -> std::result::Result<RawGeom, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(RawGeom::None);
    }
    let name: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    if !name.eq_ignore_ascii_case("POLYGON") {
        return Ok(RawGeom::Other(if name.is_empty() {
            format!("`{}`", snippet(s))
        } else {
            name
        }));
    }
    let body = s[name.len()..].trim();
    let inner = body
        .strip_prefix('(')
        .and_then(|b| b.strip_suffix(')'))
        .map(str::trim)
        .ok_or_else(|| format!("bad WKT `{}`", snippet(s)))?;
    let ring = inner
        .strip_prefix('(')
        .and_then(|b| b.split(')').next())
        .ok_or_else(|| format!("bad WKT `{}`", snippet(s)))?;
    if inner.matches('(').count() > 1 {
        return Ok(RawGeom::Other("Polygon with holes".into()));
    }
    let pts = ring
        .split(',')
        .map(|p| {
            let mut it = p.split_whitespace().map(str::parse::<f64>);
            match (it.next(), it.next()) {
                (Some(Ok(x)), Some(Ok(y))) => Ok([x, y]),
                _ => Err(format!("bad WKT position `{}`", snippet(p))),
            }
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Ok(RawGeom::Polygon(pts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wkt_round_trips_and_refuses_what_is_not_a_polygon() {
        let ring = vec![[1.0, 2.0], [1.5, 2.0], [1.5, 2.25], [1.0, 2.0]];
        let g = parse_wkt(&wkt(&Geometry::Polygon(ring.clone()))).expect("parse");
        assert_eq!(g, RawGeom::Polygon(ring));
        assert_eq!(
            parse_wkt("POINT (1 2)").expect("parse"),
            RawGeom::Other("POINT".into())
        );
        assert!(parse_wkt("POLYGON ((1 2, x 3))").is_err());
        assert!(parse_wkt("POLYGON ((1 2, 1 3").is_err());
        assert_eq!(parse_wkt("").expect("empty"), RawGeom::None);
    }
}
