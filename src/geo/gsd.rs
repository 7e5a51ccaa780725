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

/// The ground sample distance of a projected scene from its pixel size alone: the square
/// root of the pixel area in map units, times the CRS's metres per unit. A fallback for
/// scenes satdet cannot reproject ([`gsd_m`] fails: an oblique Mercator, a NAD27 system
/// whose datum shift is a grid): it ignores the projection's scale factor. Within the
/// zone of a transverse Mercator, Lambert or oblique Mercator system that is under 0.5 %,
/// inside the 1 % [`crate::pipeline::GSD_TOLERANCE`]; at the edges of a wide projection
/// (a national polyconic, 3 % at 800 km from its meridian) it is more, and the warning
/// the detector gives says the GSD was taken this way. `None` for geographic, unknown or
/// unitless systems.
pub fn gsd_from_pixel_size_m(georef: &GeoRef) -> Option<f64> {
    let def = georef.crs.proj4()?;
    let mut per_unit = None;
    for token in def.split_whitespace() {
        match token.split_once('=') {
            Some(("+proj", p)) if p == "longlat" || p == "geocent" => return None,
            Some(("+units", u)) => {
                per_unit = match u {
                    "m" => Some(1.0),
                    "km" => Some(1000.0),
                    "ft" => Some(0.3048),
                    "us-ft" => Some(1200.0 / 3937.0),
                    _ => None,
                }
            }
            Some(("+to_meter", v)) => per_unit = v.parse::<f64>().ok(),
            _ => {}
        }
    }
    let side = georef.transform.determinant().abs().sqrt() * per_unit?;
    (side.is_finite() && side > 0.0).then_some(side)
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

    #[test]
    fn pixel_size_fallback_converts_units_and_refuses_degrees() {
        let at = |crs: u16, px: f64| GeoRef {
            transform: GeoTransform::north_up(800_000.0, 400_000.0, px, px),
            crs: Crs::Epsg(crs),
        };
        // Malaysia RSO (oblique Mercator, which satdet cannot reproject): metres.
        assert!(gsd_m(&at(3375, 0.5), PixelPoint { x: 0.0, y: 0.0 }, 100.0).is_err());
        assert_eq!(gsd_from_pixel_size_m(&at(3375, 0.5)), Some(0.5));
        // NAD27 / UTM 10N (a grid datum shift): metres; New York Long Island: US feet.
        assert_eq!(gsd_from_pixel_size_m(&at(26710, 0.3)), Some(0.3));
        let ft = gsd_from_pixel_size_m(&at(2263, 1.0)).expect("feet");
        assert!((ft - 0.304_800_6).abs() < 1e-6, "{ft}");
        assert_eq!(gsd_from_pixel_size_m(&at(4326, 1e-5)), None);
        assert_eq!(gsd_from_pixel_size_m(&at(4807, 1e-5)), None);
    }
}
