//! Point reprojection between any two PROJ definitions `proj4rs` reads, in the units of
//! each side (degrees for geographic systems, map units otherwise).

use crate::error::{Error, Result};
use crate::geo::Crs;
use proj4rs::proj::Proj;
use std::path::Path;

/// WGS84 longitude/latitude.
pub(crate) const WGS84: &str = "+proj=longlat +datum=WGS84 +no_defs";

/// A reprojection `src` → `dst`; errors name the area of interest they serve.
pub(crate) struct Reproject {
    src: Proj,
    dst: Proj,
    src_deg: bool,
    dst_deg: bool,
    what: String,
}

/// The PROJ definition of `crs`, or an error naming the area of interest.
pub(crate) fn proj4_of<'a>(crs: &'a Crs, aoi: &Path) -> Result<&'a str> {
    crs.proj4().ok_or_else(|| Error::Aoi {
        path: aoi.to_path_buf(),
        feature: None,
        detail: format!("{crs} is not a CRS satdet can reproject (no PROJ definition is known)"),
    })
}

impl Reproject {
    /// From `src` to `dst` (PROJ strings); `what` names the pair in errors.
    pub fn new(src: &str, dst: &str, what: String, aoi: &Path) -> Result<Self> {
        let make = |def: &str| {
            Proj::from_proj_string(def).map_err(|e| Error::Aoi {
                path: aoi.to_path_buf(),
                feature: None,
                detail: format!("{what}: the definition `{def}` is not supported: {e}"),
            })
        };
        let (src, dst) = (make(src)?, make(dst)?);
        Ok(Reproject {
            src_deg: src.is_latlong(),
            dst_deg: dst.is_latlong(),
            src,
            dst,
            what,
        })
    }

    /// From `src` to `dst` for callers with no error to report (`None` when either
    /// definition is not supported), e.g. placing things on a scene for drawing.
    pub fn between(src: &str, dst: &str) -> Option<Self> {
        Reproject::new(src, dst, String::new(), Path::new("")).ok()
    }

    /// One point, `[x, y]` in, `[x, y]` out; `None` when it has no image (outside the
    /// projection's domain, or not finite).
    pub fn point(&self, p: [f64; 2]) -> Option<[f64; 2]> {
        // proj4rs works in radians for geographic systems.
        let mut q = if self.src_deg {
            (p[0].to_radians(), p[1].to_radians(), 0.0)
        } else {
            (p[0], p[1], 0.0)
        };
        proj4rs::transform::transform(&self.src, &self.dst, &mut q).ok()?;
        let out = if self.dst_deg {
            [q.0.to_degrees(), q.1.to_degrees()]
        } else {
            [q.0, q.1]
        };
        out.iter().all(|v| v.is_finite()).then_some(out)
    }

    /// Names the pair, for errors.
    pub fn what(&self) -> &str {
        &self.what
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm_round_trip_through_wgs84() {
        let p = Path::new("t");
        let def = proj4_of(&Crs::Epsg(32633), p).expect("33N");
        let to = Reproject::new(def, WGS84, "to".into(), p).expect("to");
        let back = Reproject::new(WGS84, def, "back".into(), p).expect("back");
        let ll = to.point([500_000.0, 4_500_000.0]).expect("ll");
        assert!((ll[0] - 15.0).abs() < 1e-9, "{ll:?}");
        let m = back.point(ll).expect("m");
        assert!((m[0] - 500_000.0).abs() < 1e-4 && (m[1] - 4_500_000.0).abs() < 1e-4);
        assert!(to.point([f64::NAN, 0.0]).is_none());
    }

    #[test]
    fn unknown_crs_names_the_file() {
        let e = proj4_of(&Crs::Unknown("x".into()), Path::new("a.geojson")).unwrap_err();
        assert!(e.to_string().contains("a.geojson"), "{e}");
    }
}
