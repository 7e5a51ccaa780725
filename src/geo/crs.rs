//! Coordinate reference systems and reprojection to WGS84 in pure Rust (`proj4rs`, with
//! EPSG definitions from `crs-definitions`).

use super::{LonLat, MapPoint};
use crate::error::{Error, Result};
use proj4rs::proj::Proj;

mod proj4rs_fix;

/// The scene's map coordinate reference system.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crs {
    /// An EPSG code, e.g. 32633 (UTM 33N) or 4326 (WGS84 lon/lat).
    Epsg(u16),
    /// A CRS given by its parameters rather than a code (a user-defined GeoTIFF
    /// projection, a WKT `.prj` or `.aux.xml` without an EPSG authority), as the PROJ
    /// string satdet built from them; displayed as that string.
    Proj(String),
    /// A CRS satdet cannot reproject (user-defined GeoKeys it cannot read, an unknown
    /// code); map coordinates are still reported, WGS84 ones are not.
    Unknown(String),
}

impl Crs {
    /// The EPSG code, if known.
    pub fn epsg(&self) -> Option<u16> {
        match self {
            Crs::Epsg(c) => Some(*c),
            Crs::Proj(_) | Crs::Unknown(_) => None,
        }
    }

    /// The PROJ string satdet reprojects this CRS with, when it can: the EPSG definition
    /// (from `crs-definitions`) rewritten where `proj4rs` would read it wrongly (a `+k_0`
    /// scale factor, an ellipsoid given by its minor axis, a prime meridian other than
    /// Greenwich). `None` for a CRS satdet cannot reproject; [`ToWgs84::new`] says why.
    ///
    /// ```
    /// use satdet::Crs;
    /// // NTF (Paris) / Lambert zone II: the Paris meridian folded into lon_0, k_0 read as k.
    /// let def = Crs::Epsg(27572).proj4().unwrap();
    /// assert!(def.contains("+k=0.99987742") && !def.contains("+pm="));
    /// assert!(Crs::Epsg(4807).proj4().is_none()); // NTF (Paris) lon/lat
    /// ```
    pub fn proj4(&self) -> Option<&str> {
        self.definition().ok()
    }

    /// `def` rewritten where `proj4rs` would read it wrongly (`None`: as it is), or why
    /// satdet cannot reproject it. For definitions built outside the EPSG table.
    pub(crate) fn rewrite_for_proj4rs(def: &str) -> std::result::Result<Option<String>, String> {
        proj4rs_fix::rewrite(0, def)
    }

    /// [`Crs::proj4`], or why there is none.
    pub(crate) fn definition(&self) -> std::result::Result<&str, String> {
        let code = match self {
            Crs::Epsg(c) => *c,
            // Built by satdet (already rewritten) or given by a caller (rewritten here).
            Crs::Proj(def) => return Ok(proj4rs_fix::rewritten(0, def)?.unwrap_or(def)),
            Crs::Unknown(_) => return Err("no PROJ definition is known for this CRS".into()),
        };
        let def = crs_definitions::from_code(code)
            .map(|d| d.proj4)
            .filter(|d| !d.trim().is_empty())
            .ok_or_else(|| "no PROJ definition is known for this CRS".to_string())?;
        Ok(proj4rs_fix::rewritten(code, def)?.unwrap_or(def))
    }

    /// True for lon/lat (geographic) systems, whose map units are degrees.
    pub fn is_geographic(&self) -> bool {
        self.proj4().is_some_and(|p| p.contains("+proj=longlat"))
    }
}

impl std::fmt::Display for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Crs::Epsg(c) => write!(f, "EPSG:{c}"),
            Crs::Proj(def) => f.write_str(def),
            Crs::Unknown(s) => write!(f, "unknown CRS ({s})"),
        }
    }
}

/// A reprojection from a scene CRS to WGS84 longitude/latitude in degrees.
pub struct ToWgs84 {
    src: Proj,
    dst: Proj,
    src_is_latlong: bool,
    name: String,
}

impl std::fmt::Debug for ToWgs84 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToWgs84").field("from", &self.name).finish()
    }
}

impl ToWgs84 {
    /// Builds the reprojection; an error names the CRS when it is unknown or its
    /// definition is not supported by `proj4rs`.
    pub fn new(crs: &Crs) -> Result<Self> {
        let name = crs.to_string();
        let def = crs.definition().map_err(|detail| Error::Reproject {
            crs: name.clone(),
            detail,
        })?;
        let src = Proj::from_proj_string(def).map_err(|e| Error::Reproject {
            crs: name.clone(),
            detail: if def.contains("+nadgrids") || def.contains("+datum=NAD27") {
                format!(
                    "its definition `{def}` shifts the datum with a grid file, which satdet \
                     does not carry ({e})"
                )
            } else {
                format!("its definition `{def}` is not supported: {e}")
            },
        })?;
        let dst = Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").map_err(|e| {
            Error::Reproject {
                crs: name.clone(),
                detail: format!("WGS84: {e}"),
            }
        })?;
        Ok(ToWgs84 {
            src_is_latlong: src.is_latlong(),
            src,
            dst,
            name,
        })
    }

    /// Reprojects one map point.
    pub fn point(&self, m: MapPoint) -> Result<LonLat> {
        // proj4rs works in radians for geographic systems.
        let mut p = if self.src_is_latlong {
            (m.x.to_radians(), m.y.to_radians(), 0.0)
        } else {
            (m.x, m.y, 0.0)
        };
        proj4rs::transform::transform(&self.src, &self.dst, &mut p).map_err(|e| {
            Error::Reproject {
                crs: self.name.clone(),
                detail: format!("point ({}, {}): {e}", m.x, m.y),
            }
        })?;
        let ll = LonLat {
            lon: p.0.to_degrees(),
            lat: p.1.to_degrees(),
        };
        if !ll.is_valid() {
            return Err(Error::Reproject {
                crs: self.name.clone(),
                detail: format!(
                    "point ({}, {}) has no WGS84 position (it gives longitude {}, latitude {})",
                    m.x, m.y, ll.lon, ll.lat
                ),
            });
        }
        Ok(ll)
    }

    /// Reprojects the corners of a polygon, `[x, y]` in, `[lon, lat]` out.
    pub fn polygon(&self, ring: &[[f64; 2]; 4]) -> Result<[[f64; 2]; 4]> {
        let mut out = [[0.0; 2]; 4];
        for (o, c) in out.iter_mut().zip(ring) {
            let ll = self.point(MapPoint { x: c[0], y: c[1] })?;
            *o = [ll.lon, ll.lat];
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wgs84_is_identity() {
        let t = ToWgs84::new(&Crs::Epsg(4326)).expect("4326");
        let ll = t.point(MapPoint { x: 124.4, y: 40.1 }).expect("point");
        assert!((ll.lon - 124.4).abs() < 1e-9 && (ll.lat - 40.1).abs() < 1e-9);
    }

    #[test]
    fn utm_false_origin_is_on_the_central_meridian() {
        // UTM 33N: easting 500 000 lies on 15°E; northing 0 on the equator.
        let t = ToWgs84::new(&Crs::Epsg(32633)).expect("32633");
        let ll = t
            .point(MapPoint {
                x: 500_000.0,
                y: 0.0,
            })
            .expect("point");
        assert!((ll.lon - 15.0).abs() < 1e-9, "{ll:?}");
        assert!(ll.lat.abs() < 1e-9, "{ll:?}");
    }

    /// Rows of a geographic scene past the pole, or a transform giving non-finite
    /// coordinates, never come out as WGS84 positions.
    #[test]
    fn positions_past_the_poles_or_not_finite_are_errors() {
        let t = ToWgs84::new(&Crs::Epsg(4326)).expect("4326");
        for (x, y) in [
            (10.0, 90.5),
            (10.0, -91.0),
            (541.0, 10.0),
            (f64::NAN, 10.0),
            (10.0, f64::INFINITY),
        ] {
            let e = t.point(MapPoint { x, y }).unwrap_err();
            assert!(matches!(e, Error::Reproject { .. }), "({x}, {y}): {e:?}");
        }
        for (x, y) in [(10.0, 90.0), (-180.0, -90.0), (539.0, 0.0)] {
            t.point(MapPoint { x, y })
                .unwrap_or_else(|e| panic!("({x}, {y}): {e}"));
        }
        let ring = [[10.0, 89.0], [11.0, 89.0], [11.0, 91.0], [10.0, 91.0]];
        assert!(t.polygon(&ring).is_err(), "one corner past the pole");
        // Projected: a non-finite northing gives no position either.
        let utm = ToWgs84::new(&Crs::Epsg(32633)).expect("32633");
        for y in [f64::NAN, f64::INFINITY] {
            assert!(utm.point(MapPoint { x: 500_000.0, y }).is_err(), "{y}");
        }
    }

    #[test]
    fn a_callers_proj_string_is_rewritten_too() {
        let c = Crs::Proj("+proj=lcc +lat_1=46.8 +lat_0=46.8 +lon_0=0 +k_0=0.99987742 +pm=paris +ellps=clrk80ign +units=m".into());
        let d = c.proj4().expect("supported");
        assert!(
            d.contains("+k=0.99987742") && d.contains("+lon_0=2.33722") && !d.contains("+pm"),
            "{d}"
        );
        assert!(Crs::Proj("+proj=longlat +pm=paris +ellps=intl".into())
            .proj4()
            .is_none());
    }

    #[test]
    fn grid_datum_shift_is_an_error_saying_so() {
        // NAD27 / UTM 10N: its datum shift is a grid (conus), which satdet does not carry.
        let e = ToWgs84::new(&Crs::Epsg(26710)).unwrap_err().to_string();
        assert!(e.contains("EPSG:26710") && e.contains("grid file"), "{e}");
    }

    #[test]
    fn an_empty_epsg_definition_is_no_definition() {
        // crs-definitions lists EPSG:22300 with an empty PROJ string.
        assert!(Crs::Epsg(22300).proj4().is_none());
        let e = ToWgs84::new(&Crs::Epsg(22300)).unwrap_err().to_string();
        assert!(e.contains("no PROJ definition"), "{e}");
    }

    #[test]
    fn unknown_crs_is_an_error_naming_it() {
        let e = ToWgs84::new(&Crs::Unknown("user-defined".into())).unwrap_err();
        assert!(e.to_string().contains("user-defined"), "{e}");
    }
}
