//! PROJ-string pieces shared by the two builders of CRSs without an EPSG code (GeoTIFF
//! GeoKeys in `raster::tiff::geokeys_proj`, WKT1 in [`super::wkt_proj`]): where a method's
//! variant is decided from its parameters, it is decided once.

/// Polar stereographic at latitude `lat` (its sign picks the pole): variant A (at the
/// pole itself, with a scale `k`) or variant B (`lat` is the latitude of true scale).
/// Without the false origin.
pub(crate) fn polar_stereographic(lat: f64, k: f64, lon_0: f64) -> String {
    let pole = if lat < 0.0 { -90.0 } else { 90.0 };
    let scale = if lat.abs() == 90.0 {
        format!("+k={k}")
    } else {
        format!("+lat_ts={lat}")
    };
    format!("+proj=stere +lat_0={pole} {scale} +lon_0={lon_0}")
}

/// A Hotine oblique Mercator centred at (`lat_c`, `lon_c`), `fe` its false origin; at an
/// azimuth and grid angle of 90° the Swiss oblique *cylindrical* Mercator (`somerc`).
/// `no_uoff`: variant A (GeoTIFF's 3, EPSG's 9812), whose false origin is at the natural
/// origin.
pub(crate) fn oblique_mercator(
    lat_c: f64,
    lon_c: f64,
    azimuth: f64,
    gamma: f64,
    k: f64,
    fe: &str,
    no_uoff: bool,
) -> String {
    if azimuth == 90.0 && gamma == 90.0 {
        format!("+proj=somerc +lat_0={lat_c} +lon_0={lon_c} +k_0={k} {fe}")
    } else {
        format!(
            "+proj=omerc +lat_0={lat_c} +lonc={lon_c} +alpha={azimuth} +gamma={gamma} +k={k} {fe}{}",
            if no_uoff { " +no_uoff" } else { "" }
        )
    }
}

/// The datum part (ellipsoid, shift, prime meridian) of EPSG geographic CRS `code`'s
/// definition, when satdet has one.
pub(crate) fn geographic_datum(code: u16) -> Option<String> {
    let def = crs_definitions::from_code(code)
        .map(|d| d.proj4)
        .filter(|d| d.starts_with("+proj=longlat"))?;
    Some(
        def.split_whitespace()
            .filter(|t| !t.starts_with("+proj=") && *t != "+no_defs")
            .collect::<Vec<_>>()
            .join(" "),
    )
}
