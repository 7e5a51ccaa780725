//! From what a reader found to an [`Aoi`]: positions checked and brought to WGS84, then
//! to the local equal-area projection; rings validated, oriented and unioned.

use super::project::{proj4_of, Reproject, WGS84};
use super::{aoi_err, Aoi, Parsed, Part, Shape, MAX_AOI_VERTICES};
use crate::error::Result;
use crate::geo::LonLat;
use geo::{Area, Coord, LineString, MultiLineString, Orient, Polygon, Validation};
use std::path::{Path, PathBuf};

/// Checks, reprojects and assembles the parts read from `name`.
pub(super) fn build(parsed: Parsed, name: PathBuf) -> Result<Aoi> {
    let path = name.as_path();
    if parsed.parts.is_empty() {
        return Err(aoi_err(path, None, "no polygon or line in it"));
    }
    let vertices = parsed
        .parts
        .iter()
        .map(|p| match &p.shape {
            Shape::Polygon(rings) => rings.iter().map(Vec::len).sum(),
            Shape::Line(l) => l.len(),
        })
        .fold(0usize, usize::saturating_add);
    crate::limits::Limits::check(
        || path.display().to_string(),
        "area-of-interest vertices (geo::aoi::MAX_AOI_VERTICES)",
        vertices as u64,
        MAX_AOI_VERTICES as u64,
    )?;
    let parts = to_lonlat(parsed, path)?;
    let centre = centre_of(&parts);
    let local = format!(
        "+proj=laea +lat_0={} +lon_0={} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs",
        centre.lat, centre.lon
    );
    let to_local = Reproject::new(WGS84, &local, "the local projection".into(), path)?;
    let mut polygons = Vec::new();
    let mut lines = Vec::new();
    for part in parts {
        let f = Some(part.feature);
        let project = |pts: &[[f64; 2]]| -> Result<Vec<[f64; 2]>> {
            pts.iter()
                .map(|&p| {
                    to_local.point(p).ok_or_else(|| {
                        aoi_err(path, f, format!("({}, {}) cannot be projected", p[0], p[1]))
                    })
                })
                .collect()
        };
        match part.shape {
            Shape::Polygon(rings) => {
                let mut rs = Vec::with_capacity(rings.len());
                for (i, r) in rings.iter().enumerate() {
                    if distinct(r) < 3 {
                        let which = if i == 0 {
                            "exterior ring".to_string()
                        } else {
                            format!("interior ring {}", i - 1)
                        };
                        return Err(aoi_err(
                            path,
                            f,
                            format!("the {which} has fewer than 3 distinct positions"),
                        ));
                    }
                    rs.push(line_string(&project(r)?));
                }
                let exterior = rs.remove(0);
                let poly = Polygon::new(exterior, rs);
                if let Err(e) = poly.check_validation() {
                    return Err(aoi_err(path, f, format!("invalid polygon: {e}")));
                }
                polygons.push(poly.orient(geo::orient::Direction::Default));
            }
            Shape::Line(pts) => {
                if distinct(&pts) < 2 {
                    return Err(aoi_err(
                        path,
                        f,
                        "a line needs at least 2 distinct positions",
                    ));
                }
                lines.push(line_string(&project(&pts)?));
            }
        }
    }
    let polygons = geo::unary_union(&polygons);
    let lines = MultiLineString::new(lines);
    let area = lines.0.is_empty().then(|| polygons.clone());
    if area.as_ref().is_some_and(|a| a.unsigned_area() <= 0.0) {
        return Err(aoi_err(path, None, "its polygons have no area"));
    }
    Ok(Aoi {
        name,
        centre,
        local,
        polygons,
        lines,
        buffer_m: 0.0,
        area,
    })
}

/// A ring or line without consecutive repeats.
fn line_string(points: &[[f64; 2]]) -> LineString<f64> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(points.len());
    for p in points {
        let c = Coord { x: p[0], y: p[1] };
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    LineString::new(out)
}

fn distinct(points: &[[f64; 2]]) -> usize {
    let mut v: Vec<[u64; 2]> = points
        .iter()
        .map(|p| [p[0].to_bits(), p[1].to_bits()])
        .collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

/// Every position in WGS84 lon/lat degrees, checked.
fn to_lonlat(parsed: Parsed, path: &Path) -> Result<Vec<Part>> {
    let crs = parsed.crs;
    let reproject = match crs.epsg() {
        Some(4326) => None,
        _ => Some(Reproject::new(
            proj4_of(&crs, path)?,
            WGS84,
            crs.to_string(),
            path,
        )?),
    };
    let convert = |f: usize, pts: Vec<[f64; 2]>| -> Result<Vec<[f64; 2]>> {
        pts.into_iter()
            .map(|p| {
                let q = match &reproject {
                    Some(r) => r.point(p),
                    None => Some(p),
                };
                match q {
                    Some(q) if (LonLat { lon: q[0], lat: q[1] }).is_valid() => Ok(q),
                    _ => Err(aoi_err(path, Some(f), format!(
                        "({}, {}) is not a position in {crs} (a longitude/latitude file in another CRS needs a `crs` member)",
                        p[0], p[1]
                    ))),
                }
            })
            .collect()
    };
    parsed
        .parts
        .into_iter()
        .map(|p| {
            let shape = match p.shape {
                Shape::Polygon(rings) => Shape::Polygon(
                    rings
                        .into_iter()
                        .map(|r| convert(p.feature, r))
                        .collect::<Result<_>>()?,
                ),
                Shape::Line(l) => Shape::Line(convert(p.feature, l)?),
            };
            Ok(Part {
                feature: p.feature,
                shape,
            })
        })
        .collect()
}

/// The middle of the lon/lat bounds of every position.
fn centre_of(parts: &[Part]) -> LonLat {
    let b = crate::geo::bounds(parts.iter().flat_map(|part| {
        let (rings, line): (&[Vec<[f64; 2]>], &[[f64; 2]]) = match &part.shape {
            Shape::Polygon(rings) => (rings, &[]),
            Shape::Line(l) => (&[], l),
        };
        rings.iter().flatten().chain(line).copied()
    }));
    LonLat {
        lon: 0.5 * (b[0] + b[2]),
        lat: 0.5 * (b[1] + b[3]),
    }
}
