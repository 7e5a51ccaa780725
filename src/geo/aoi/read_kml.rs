//! KML (OGC 07-147r2) → [`Parsed`] geometries, always WGS84 lon/lat. Each `Placemark`
//! is a feature (numbered from 0 in document order); its `Polygon`s (outer and inner
//! boundaries), `LineString`s and `LinearRing`s, also inside `MultiGeometry`, are read.
//! `roxmltree` refuses DTDs, so no entity expansion can blow up.

use super::{Parsed, Part, Shape};
use crate::error::{snippet, Error, Result};
use crate::geo::Crs;
use roxmltree::{Document, Node, ParsingOptions};
use std::path::Path;

/// XML nodes parsed at most (a bound on memory beside the file size).
const MAX_NODES: u32 = 4_000_000;

fn err(path: &Path, feature: Option<usize>, detail: impl Into<String>) -> Error {
    Error::Aoi {
        path: path.to_path_buf(),
        feature,
        detail: detail.into(),
    }
}

fn is(n: &Node<'_, '_>, name: &str) -> bool {
    n.is_element() && n.tag_name().name() == name
}

/// `lon,lat[,alt]` tuples separated by white space.
fn coordinates(n: Node<'_, '_>, path: &Path, f: usize) -> Result<Vec<[f64; 2]>> {
    let Some(c) = n.children().find(|c| is(c, "coordinates")) else {
        return Err(err(
            path,
            Some(f),
            format!("<{}> without <coordinates>", n.tag_name().name()),
        ));
    };
    let text = c.text().unwrap_or("");
    text.split_whitespace()
        .map(|tuple| {
            let mut it = tuple.split(',').map(|v| v.trim().parse::<f64>());
            match (it.next(), it.next()) {
                (Some(Ok(x)), Some(Ok(y))) if x.is_finite() && y.is_finite() => Ok([x, y]),
                _ => Err(err(
                    path,
                    Some(f),
                    format!("`{}` is not a lon,lat[,alt] coordinate", snippet(tuple)),
                )),
            }
        })
        .collect()
}

/// The `LinearRing` of an `outerBoundaryIs`/`innerBoundaryIs`.
fn rings_in(b: Node<'_, '_>, path: &Path, f: usize) -> Result<Vec<Vec<[f64; 2]>>> {
    b.children()
        .filter(|c| is(c, "LinearRing"))
        .map(|r| coordinates(r, path, f))
        .collect()
}

fn geometry(n: Node<'_, '_>, path: &Path, f: usize, parts: &mut Vec<Part>) -> Result<()> {
    match n.tag_name().name() {
        "Polygon" => {
            let mut rings = Vec::new();
            for b in n.children().filter(|c| is(c, "outerBoundaryIs")) {
                rings.extend(rings_in(b, path, f)?);
            }
            if rings.len() != 1 {
                return Err(err(
                    path,
                    Some(f),
                    format!(
                        "a <Polygon> needs exactly one outer boundary ring, found {}",
                        rings.len()
                    ),
                ));
            }
            for b in n.children().filter(|c| is(c, "innerBoundaryIs")) {
                rings.extend(rings_in(b, path, f)?);
            }
            parts.push(Part {
                feature: f,
                shape: Shape::Polygon(rings),
            });
        }
        "LinearRing" => parts.push(Part {
            feature: f,
            shape: Shape::Polygon(vec![coordinates(n, path, f)?]),
        }),
        "LineString" => parts.push(Part {
            feature: f,
            shape: Shape::Line(coordinates(n, path, f)?),
        }),
        "MultiGeometry" => {
            for c in n.children().filter(|c| c.is_element()) {
                geometry(c, path, f, parts)?;
            }
        }
        "Point" => {
            return Err(err(
                path,
                Some(f),
                "a <Point> has no area: an area of interest is a polygon, or a line with a buffer",
            ))
        }
        // Styles, names, descriptions, extended data: not geometry.
        _ => {}
    }
    Ok(())
}

/// Reads every `Placemark`'s geometry.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Parsed> {
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, opts)
        .map_err(|e| err(path, None, format!("not KML (XML): {e}")))?;
    let mut parts = Vec::new();
    let placemarks = doc.descendants().filter(|n| is(n, "Placemark"));
    for (f, pm) in placemarks.enumerate() {
        for c in pm.children().filter(|c| c.is_element()) {
            geometry(c, path, f, &mut parts)?;
        }
    }
    Ok(Parsed {
        crs: Crs::Epsg(4326),
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygon_with_holes_and_lines_in_a_multigeometry() {
        let t = r#"<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>
          <Placemark><name>a</name><Point><coordinates>1,2</coordinates></Point></Placemark>
        </Document></kml>"#;
        let e = parse(t, Path::new("a.kml")).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Aoi {
                    feature: Some(0),
                    ..
                }
            ),
            "{e:?}"
        );
        let t = r#"<kml><Document><Folder>
          <Placemark><MultiGeometry>
            <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0,0 1,0,0 1,1,0 0,1,0 0,0,0</coordinates></LinearRing></outerBoundaryIs>
              <innerBoundaryIs><LinearRing><coordinates>0.2,0.2 0.4,0.2 0.4,0.4</coordinates></LinearRing></innerBoundaryIs>
              <innerBoundaryIs><LinearRing><coordinates>0.6,0.6 0.8,0.6 0.8,0.8</coordinates></LinearRing></innerBoundaryIs></Polygon>
            <LineString><coordinates>
               2,2 3,3
            </coordinates></LineString>
          </MultiGeometry></Placemark></Folder></Document></kml>"#;
        let p = parse(t, Path::new("b.kml")).expect("parse");
        assert_eq!(p.parts.len(), 2);
        match &p.parts[0].shape {
            Shape::Polygon(r) => assert_eq!(r.iter().map(Vec::len).collect::<Vec<_>>(), [5, 3, 3]),
            Shape::Line(_) => panic!("polygon first"),
        }
        let bad = t.replace("2,2 3,3", "2,2 3;3");
        assert!(parse(&bad, Path::new("b.kml")).is_err());
        let dtd = "<!DOCTYPE kml [<!ENTITY a \"aaaa\">]><kml>&a;</kml>";
        assert!(parse(dtd, Path::new("c.kml")).is_err());
    }
}
