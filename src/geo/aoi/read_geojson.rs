//! GeoJSON (RFC 7946, and the 2008 draft's `crs` member) → [`Parsed`] geometries, in
//! the file's CRS. Walks `serde_json` values itself so that every error names the feature.

use super::{Parsed, Part, Shape};
use crate::error::{snippet, Error, Result};
use crate::geo::Crs;
use serde_json::Value;
use std::path::Path;

/// Nesting of GeometryCollections followed (deeper is an error, never a stack overflow;
/// `serde_json` itself stops at 128 levels).
const MAX_COLLECTION_DEPTH: usize = 16;

struct Reader<'a> {
    path: &'a Path,
    parts: Vec<Part>,
}

impl Reader<'_> {
    fn err(&self, feature: Option<usize>, detail: impl Into<String>) -> Error {
        Error::Aoi {
            path: self.path.to_path_buf(),
            feature,
            detail: detail.into(),
        }
    }

    fn position(&self, f: usize, v: &Value) -> Result<[f64; 2]> {
        let a = v.as_array().filter(|a| a.len() >= 2);
        match a.map(|a| (a[0].as_f64(), a[1].as_f64())) {
            Some((Some(x), Some(y))) if x.is_finite() && y.is_finite() => Ok([x, y]),
            _ => Err(self.err(
                Some(f),
                format!(
                    "a position must be an array of two or three numbers, found {}",
                    snippet(&v.to_string())
                ),
            )),
        }
    }

    fn positions(&self, f: usize, v: &Value) -> Result<Vec<[f64; 2]>> {
        let a = v
            .as_array()
            .ok_or_else(|| self.err(Some(f), "coordinates must be an array of positions"))?;
        a.iter().map(|p| self.position(f, p)).collect()
    }

    fn rings(&self, f: usize, v: &Value) -> Result<Vec<Vec<[f64; 2]>>> {
        let a = v
            .as_array()
            .ok_or_else(|| self.err(Some(f), "polygon coordinates must be an array of rings"))?;
        a.iter().map(|r| self.positions(f, r)).collect()
    }

    fn list<'v>(&self, f: usize, v: &'v Value, what: &str) -> Result<&'v Vec<Value>> {
        v.as_array()
            .ok_or_else(|| self.err(Some(f), format!("{what} must be an array")))
    }

    fn geometry(&mut self, f: usize, g: &Value, depth: usize) -> Result<()> {
        let kind = g.get("type").and_then(Value::as_str).unwrap_or("");
        let coords = g.get("coordinates").unwrap_or(&Value::Null);
        match kind {
            "Polygon" => {
                let shape = Shape::Polygon(self.rings(f, coords)?);
                self.parts.push(Part { feature: f, shape });
            }
            "MultiPolygon" => {
                for p in self.list(f, coords, "MultiPolygon coordinates")? {
                    let shape = Shape::Polygon(self.rings(f, p)?);
                    self.parts.push(Part { feature: f, shape });
                }
            }
            "LineString" => {
                let shape = Shape::Line(self.positions(f, coords)?);
                self.parts.push(Part { feature: f, shape });
            }
            "MultiLineString" => {
                for l in self.list(f, coords, "MultiLineString coordinates")? {
                    let shape = Shape::Line(self.positions(f, l)?);
                    self.parts.push(Part { feature: f, shape });
                }
            }
            "GeometryCollection" if depth < MAX_COLLECTION_DEPTH => {
                let gs = g.get("geometries").unwrap_or(&Value::Null);
                for sub in self.list(f, gs, "GeometryCollection geometries")? {
                    self.geometry(f, sub, depth + 1)?;
                }
            }
            "GeometryCollection" => {
                return Err(self.err(
                    Some(f),
                    format!("GeometryCollections nested more than {MAX_COLLECTION_DEPTH} deep"),
                ))
            }
            "Point" | "MultiPoint" => {
                return Err(self.err(
                    Some(f),
                    format!("a {kind} has no area: an area of interest is a polygon, or a line with a buffer"),
                ))
            }
            other => {
                return Err(self.err(
                    Some(f),
                    format!("`{}` is not a GeoJSON geometry type", snippet(other)),
                ))
            }
        }
        Ok(())
    }
}

/// The `crs` member of the 2008 GeoJSON draft (`{"type": "name", "properties": {"name":
/// "EPSG:32633"}}`, or an OGC URN, or `{"type": "EPSG", "properties": {"code": 32633}}`);
/// none means WGS84 (RFC 7946).
fn crs_member(root: &Value, path: &Path) -> Result<Crs> {
    let Some(crs) = root.get("crs").filter(|c| !c.is_null()) else {
        return Ok(Crs::Epsg(4326));
    };
    let props = crs.get("properties");
    let name = props.and_then(|p| p.get("name")).and_then(Value::as_str);
    let code = props.and_then(|p| p.get("code")).and_then(Value::as_u64);
    let parsed = match (name, code) {
        (Some(n), _) => epsg_from_name(n),
        (None, Some(c)) => u16::try_from(c).ok(),
        (None, None) => None,
    };
    let unknown = |what: String| {
        Error::Aoi {
        path: path.to_path_buf(),
        feature: None,
        detail: format!("CRS {what} is not one satdet can reproject (it reads EPSG codes and OGC URNs such as urn:ogc:def:crs:EPSG::32633)"),
    }
    };
    let Some(epsg) = parsed else {
        return Err(unknown(snippet(&crs.to_string())));
    };
    let crs = Crs::Epsg(epsg);
    if crs.proj4().is_none() {
        return Err(unknown(crs.to_string()));
    }
    Ok(crs)
}

/// `EPSG:32633`, `urn:ogc:def:crs:EPSG::32633`, `urn:ogc:def:crs:EPSG:6.6:32633`,
/// `urn:ogc:def:crs:OGC:1.3:CRS84` (WGS84 lon/lat), `http://www.opengis.net/def/crs/EPSG/0/32633`.
pub(crate) fn epsg_from_name(name: &str) -> Option<u16> {
    let n = name.trim();
    let upper = n.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Some(4326);
    }
    if !upper.contains("EPSG") {
        return None;
    }
    let tail = n.rsplit([':', '/']).next()?;
    tail.parse().ok()
}

/// Reads a GeoJSON geometry, Feature or FeatureCollection.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Parsed> {
    let root: Value = serde_json::from_str(text).map_err(|e| Error::Aoi {
        path: path.to_path_buf(),
        feature: None,
        detail: format!("not JSON: {e}"),
    })?;
    let crs = crs_member(&root, path)?;
    let mut r = Reader {
        path,
        parts: Vec::new(),
    };
    match root.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            let fs = root.get("features").unwrap_or(&Value::Null);
            let fs = fs
                .as_array()
                .ok_or_else(|| r.err(None, "a FeatureCollection needs a `features` array"))?;
            for (i, f) in fs.iter().enumerate() {
                // A feature without geometry (`null`) holds no area; it is passed over.
                if let Some(g) = f.get("geometry").filter(|g| !g.is_null()) {
                    r.geometry(i, g, 0)?;
                }
            }
        }
        Some("Feature") => {
            if let Some(g) = root.get("geometry").filter(|g| !g.is_null()) {
                r.geometry(0, g, 0)?;
            }
        }
        Some(_) => r.geometry(0, &root, 0)?,
        None => return Err(r.err(None, "JSON without a GeoJSON `type` member")),
    }
    Ok(Parsed {
        crs,
        parts: r.parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_names() {
        assert_eq!(epsg_from_name("EPSG:32633"), Some(32633));
        assert_eq!(epsg_from_name("urn:ogc:def:crs:EPSG::32633"), Some(32633));
        assert_eq!(epsg_from_name("urn:ogc:def:crs:EPSG:6.6:2056"), Some(2056));
        assert_eq!(epsg_from_name("urn:ogc:def:crs:OGC:1.3:CRS84"), Some(4326));
        assert_eq!(
            epsg_from_name("http://www.opengis.net/def/crs/EPSG/0/3857"),
            Some(3857)
        );
        assert_eq!(epsg_from_name("ESRI:102003"), None);
        assert_eq!(epsg_from_name("EPSG:99999999"), None);
    }

    #[test]
    fn features_are_indexed_and_null_geometries_passed_over() {
        let t = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":null,"properties":{}},
            {"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[2,2],[3,3,7]]]}}]}"#;
        let p = parse(t, Path::new("f")).expect("parse");
        assert_eq!(p.parts.len(), 2);
        assert!(p.parts.iter().all(|p| p.feature == 1));
        assert_eq!(p.crs, Crs::Epsg(4326));
        let bad = t.replace("[3,3,7]", "[3,\"x\"]");
        let e = parse(&bad, Path::new("f.geojson")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Aoi {
                    feature: Some(1),
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
