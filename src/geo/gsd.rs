//! Ground sample distance: metres on the ground per pixel, whatever the CRS.

use super::{GeoRef, LonLat, PixelPoint, ToWgs84};
use crate::error::Result;

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance between two WGS84 positions, metres (haversine on the mean
/// sphere: within about 0.5 % of the ellipsoidal distance, enough to choose a resampling
/// factor).
pub fn ground_distance_m(a: LonLat, b: LonLat) -> f64 {
    let (la, lb) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lb - la;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la.cos() * lb.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The ground sample distance at scene pixel `at`, metres per pixel: the geometric mean of
/// the ground lengths of one pixel step along columns and along rows, measured on the
/// ground through WGS84 (so geographic CRSs, Web Mercator and rotated rasters are right).
/// Measured over `span_px` pixels and divided, to keep rounding out of it.
pub fn gsd_m(georef: &GeoRef, at: PixelPoint, span_px: f64) -> Result<f64> {
    let to = ToWgs84::new(&georef.crs)?;
    let ll = |x: f64, y: f64| {
        let m = georef.transform.pixel_to_map(PixelPoint { x, y });
        to.point(m)
    };
    let c = ll(at.x, at.y)?;
    let along_cols = ground_distance_m(c, ll(at.x + span_px, at.y)?) / span_px;
    let along_rows = ground_distance_m(c, ll(at.x, at.y + span_px)?) / span_px;
    Ok((along_cols * along_rows).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{Crs, GeoTransform};

    #[test]
    fn utm_gsd_is_the_pixel_size_within_the_scale_factor() {
        // UTM 33N near the central meridian: scale factor 0.9996.
        let g = GeoRef {
            transform: GeoTransform::north_up(500_000.0, 5_000_000.0, 0.3, 0.3),
            crs: Crs::Epsg(32633),
        };
        let gsd = gsd_m(&g, PixelPoint { x: 500.0, y: 500.0 }, 100.0).expect("gsd");
        assert!((gsd / 0.3 - 1.0).abs() < 0.006, "{gsd}");
    }

    #[test]
    fn geographic_gsd_follows_latitude() {
        // 2.7e-6° ≈ 0.30 m of latitude; along longitude shrinks with cos(lat).
        for lat in [0.0f64, 36.0, 60.0] {
            let g = GeoRef {
                transform: GeoTransform::north_up(-115.0, lat + 0.01, 2.7e-6, 2.7e-6),
                crs: Crs::Epsg(4326),
            };
            let gsd = gsd_m(&g, PixelPoint { x: 0.0, y: 0.0 }, 100.0).expect("gsd");
            let ns = 2.7e-6f64.to_radians() * EARTH_RADIUS_M;
            let expect = ns * lat.to_radians().cos().sqrt();
            assert!(
                (gsd / expect - 1.0).abs() < 0.01,
                "lat {lat}: {gsd} vs {expect}"
            );
        }
    }

    #[test]
    fn web_mercator_gsd_is_corrected_for_latitude() {
        // 0.5 m Web Mercator pixels at 60° N are 0.25 m on the ground.
        let y60 = 8_399_737.89; // EPSG:3857 northing of 60° N
        let g = GeoRef {
            transform: GeoTransform::north_up(1_000_000.0, y60, 0.5, 0.5),
            crs: Crs::Epsg(3857),
        };
        let gsd = gsd_m(&g, PixelPoint { x: 0.0, y: 0.0 }, 100.0).expect("gsd");
        assert!((gsd - 0.25).abs() < 0.003, "{gsd}");
    }
}
