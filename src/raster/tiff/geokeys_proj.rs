//! A user-defined GeoTIFF CRS (ProjectedCSTypeGeoKey 32767: a projection given by its
//! method and parameters) as a PROJ string, so that its boxes get WGS84 positions and a
//! GSD like those of an EPSG scene. GDAL writes such keys for any CRS without an EPSG code
//! (a custom Lambert or Albers, a CRS from a WKT or PROJ string). Pure: keys in.
//!
//! The projection methods are GeoTIFF's `ProjCoordTransGeoKey` codes with the parameter
//! keys GeoTIFF 1.1 and GDAL use for each; the base geographic CRS is an EPSG code or an
//! ellipsoid (with GDAL's TOWGS84 key and a prime meridian). The result goes through the
//! same rewrite as EPSG definitions (`Crs::proj4`). Checked against GDAL, reading the same
//! files, in `tests/crs_against_gdal.rs`.

use super::geotiff::GeoKeys;
use crate::geo::Crs;

const USER_DEFINED: u16 = 32767;

// GeoKey ids (GeoTIFF 1.1; 2062 is GDAL's GeogTOWGS84GeoKey).
const MODEL_TYPE: u16 = 1024;
const GEOGRAPHIC_TYPE: u16 = 2048;
const GEODETIC_DATUM: u16 = 2050;
const ANGULAR_UNITS: u16 = 2054;
const ELLIPSOID: u16 = 2056;
const SEMI_MAJOR: u16 = 2057;
const SEMI_MINOR: u16 = 2058;
const INV_FLATTENING: u16 = 2059;
const PRIME_MERIDIAN_LONG: u16 = 2061;
const TOWGS84: u16 = 2062;
const PROJECTION: u16 = 3074;
const COORD_TRANS: u16 = 3075;
const LINEAR_UNITS: u16 = 3076;
const LINEAR_UNIT_SIZE: u16 = 3077;
const STD_PARALLEL_1: u16 = 3078;
const STD_PARALLEL_2: u16 = 3079;
const NAT_ORIGIN_LONG: u16 = 3080;
const NAT_ORIGIN_LAT: u16 = 3081;
const FALSE_EASTING: u16 = 3082;
const FALSE_NORTHING: u16 = 3083;
const FALSE_ORIGIN_LONG: u16 = 3084;
const FALSE_ORIGIN_LAT: u16 = 3085;
const FALSE_ORIGIN_EASTING: u16 = 3086;
const FALSE_ORIGIN_NORTHING: u16 = 3087;
const CENTER_LONG: u16 = 3088;
const CENTER_LAT: u16 = 3089;
const CENTER_EASTING: u16 = 3090;
const CENTER_NORTHING: u16 = 3091;
const SCALE_AT_NAT_ORIGIN: u16 = 3092;
const SCALE_AT_CENTER: u16 = 3093;
const AZIMUTH: u16 = 3094;
const STRAIGHT_VERT_POLE_LONG: u16 = 3095;
const RECTIFIED_GRID_ANGLE: u16 = 3096;

/// EPSG ellipsoid codes and their PROJ names, for keys that name the ellipsoid only.
const ELLIPSOIDS: [(u16, &str); 9] = [
    (7001, "airy"),
    (7004, "bessel"),
    (7008, "clrk66"),
    (7012, "clrk80"),
    (7019, "GRS80"),
    (7022, "intl"),
    (7024, "krass"),
    (7030, "WGS84"),
    (7043, "WGS72"),
];

/// GeoTIFF citation keys (GTCitationGeoKey, PCSCitationGeoKey).
const CITATIONS: [u16; 2] = [1026, 3073];

/// The CRS of user-defined GeoKeys. In GDAL's order: an ESRI PE string in a citation (a
/// WKT that may name an EPSG CRS or be built, as a `.prj` is), Web ("Pseudo") Mercator by
/// its citation (it is a Mercator on a sphere, which the parameters alone cannot say:
/// read as the ellipsoidal one it is 20 km off at 47° N), then the parameters.
pub(super) fn user_defined_crs(keys: &GeoKeys) -> Crs {
    let citations: Vec<&str> = CITATIONS
        .iter()
        .filter_map(|id| keys.ascii.get(id).map(String::as_str))
        .collect();
    if let Some(pe) = citations
        .iter()
        .find_map(|c| c.split_once("ESRI PE String = ").map(|(_, wkt)| wkt))
    {
        let crs = crate::geo::crs_from_prj("the ESRI PE string of the GeoKeys", Ok(pe.to_string()));
        if !matches!(crs, Crs::Unknown(_)) {
            return crs;
        }
    }
    let web_mercator = citations.iter().any(|c| {
        let c = c.to_ascii_lowercase();
        c.contains("pseudo-mercator")
            || c.contains("pseudo mercator")
            || c.contains("web_mercator")
            || c.contains("popular visualisation")
    });
    if web_mercator && keys.short(COORD_TRANS) == Some(7) {
        let zero = |id: u16| keys.double(id).unwrap_or(0.0) == 0.0;
        if [NAT_ORIGIN_LONG, FALSE_EASTING, FALSE_NORTHING]
            .into_iter()
            .all(zero)
        {
            return Crs::Epsg(3857);
        }
        return Crs::Unknown(
            "user-defined GeoKeys: a Web Mercator with its own origin, which satdet does not build"
                .into(),
        );
    }
    match proj_string(keys) {
        Ok(def) => Crs::Proj(def),
        Err(why) => Crs::Unknown(format!("user-defined GeoKeys: {why}")),
    }
}

/// The PROJ string of the user-defined CRS `keys` describe, or why there is none.
pub(super) fn proj_string(keys: &GeoKeys) -> Result<String, String> {
    let (short, double) = (|id| keys.short(id), |id| keys.double(id));
    if let Some(u) = short(ANGULAR_UNITS).filter(|&u| u != 9102 && u != 9122) {
        return Err(format!(
            "angular unit {u} (GeogAngularUnitsGeoKey); satdet reads degrees"
        ));
    }
    let datum = datum(keys)?;
    if short(MODEL_TYPE) == Some(2) {
        return finish(format!("+proj=longlat {datum} +no_defs"));
    }
    let (units, to_metre) = match (short(LINEAR_UNITS), double(LINEAR_UNIT_SIZE)) {
        (Some(9001) | None, None) => ("+units=m".to_string(), 1.0),
        (Some(9002), _) => ("+units=ft".to_string(), 0.3048),
        (Some(9003), _) => ("+units=us-ft".to_string(), 1200.0 / 3937.0),
        (Some(9036), _) => ("+units=km".to_string(), 1000.0),
        (_, Some(m)) if m.is_finite() && m > 0.0 => (format!("+to_meter={m}"), m),
        (Some(u), _) => {
            return Err(format!(
                "linear unit {u} (ProjLinearUnitsGeoKey) is not one satdet knows"
            ))
        }
        (None, Some(m)) => return Err(format!("linear unit size {m} m")),
    };
    let method = projection(keys, to_metre)?;
    finish(format!("{method} {datum} {units} +no_defs"))
}

/// Through the rewrite every definition gets (a prime meridian folded in, ...).
fn finish(def: String) -> Result<String, String> {
    Ok(Crs::rewrite_for_proj4rs(&def)?.unwrap_or(def))
}

/// The projection part: `+proj=... +lat_0=...`. GeoTIFF gives false eastings and
/// northings in the CRS's linear unit, PROJ's `+x_0`/`+y_0` are metres: `to_metre`.
fn projection(keys: &GeoKeys, to_metre: f64) -> Result<String, String> {
    let (short, double) = (|id| keys.short(id), |id| keys.double(id));
    // An EPSG conversion code instead of parameters: GDAL writes UTM zones so.
    match short(PROJECTION) {
        Some(c @ 16001..=16060) => return Ok(format!("+proj=utm +zone={}", c - 16000)),
        Some(c @ 16101..=16160) => return Ok(format!("+proj=utm +zone={} +south", c - 16100)),
        Some(c) if c != USER_DEFINED && short(COORD_TRANS).is_none() => {
            return Err(format!(
                "ProjectionGeoKey {c} is an EPSG conversion satdet cannot build (only UTM zones)"
            ))
        }
        _ => {}
    }
    let ct = short(COORD_TRANS).ok_or("no ProjCoordTransGeoKey (projection method)")?;
    let v = |id: u16, default: Option<f64>| -> Result<f64, String> {
        double(id)
            .or(default)
            .ok_or_else(|| format!("projection method {ct} without GeoKey {id}"))
    };
    let p = |name: &str, id: u16, default: Option<f64>| -> Result<String, String> {
        Ok(format!("+{name}={}", v(id, default)?))
    };
    // False eastings and northings under whichever key the writer used (libgeotiff
    // accepts each for each method), the method's own key first.
    let metres = |name: &str, ids: &[u16]| {
        let v = ids.iter().find_map(|&id| double(id)).unwrap_or(0.0);
        format!("+{name}={}", v * to_metre)
    };
    let fe = || -> Result<String, String> {
        Ok(format!(
            "{} {}",
            metres(
                "x_0",
                &[FALSE_EASTING, FALSE_ORIGIN_EASTING, CENTER_EASTING]
            ),
            metres(
                "y_0",
                &[FALSE_NORTHING, FALSE_ORIGIN_NORTHING, CENTER_NORTHING]
            )
        ))
    };
    let s = match ct {
        // Transverse Mercator; south-oriented.
        1 | 27 => format!(
            "+proj=tmerc {} {} {} {}{}",
            p("lat_0", NAT_ORIGIN_LAT, Some(0.0))?,
            p("lon_0", NAT_ORIGIN_LONG, None)?,
            p("k", SCALE_AT_NAT_ORIGIN, Some(1.0))?,
            fe()?,
            if ct == 27 { " +axis=wsu" } else { "" }
        ),
        // Mercator: 2SP by its standard parallel, 1SP by its scale.
        7 => {
            let scale = match double(STD_PARALLEL_1) {
                Some(v) => format!("+lat_ts={v}"),
                None => p("k", SCALE_AT_NAT_ORIGIN, Some(1.0))?,
            };
            format!(
                "+proj=merc {} {scale} {}",
                p("lon_0", NAT_ORIGIN_LONG, Some(0.0))?,
                fe()?
            )
        }
        // Lambert conformal conic, 2SP and 1SP.
        8 => format!(
            "+proj=lcc {} {} {} {} {} {}",
            p("lat_1", STD_PARALLEL_1, None)?,
            p("lat_2", STD_PARALLEL_2, None)?,
            p("lat_0", FALSE_ORIGIN_LAT, None)?,
            p("lon_0", FALSE_ORIGIN_LONG, None)?,
            metres(
                "x_0",
                &[FALSE_ORIGIN_EASTING, FALSE_EASTING, CENTER_EASTING]
            ),
            metres(
                "y_0",
                &[FALSE_ORIGIN_NORTHING, FALSE_NORTHING, CENTER_NORTHING]
            )
        ),
        9 => format!(
            "+proj=lcc {} {} {} {} {}",
            p("lat_1", NAT_ORIGIN_LAT, None)?,
            p("lat_0", NAT_ORIGIN_LAT, None)?,
            p("lon_0", NAT_ORIGIN_LONG, None)?,
            p("k_0", SCALE_AT_NAT_ORIGIN, Some(1.0))?,
            fe()?
        ),
        10 => format!(
            "+proj=laea {} {} {}",
            p("lat_0", CENTER_LAT, None)?,
            p("lon_0", CENTER_LONG, None)?,
            fe()?
        ),
        11 => format!(
            "+proj=aea {} {} {} {} {}",
            p("lat_1", STD_PARALLEL_1, None)?,
            p("lat_2", STD_PARALLEL_2, None)?,
            p("lat_0", NAT_ORIGIN_LAT, None)?,
            p("lon_0", NAT_ORIGIN_LONG, None)?,
            fe()?
        ),
        12 => format!(
            "+proj=aeqd {} {} {}",
            p("lat_0", CENTER_LAT, None)?,
            p("lon_0", CENTER_LONG, None)?,
            fe()?
        ),
        14 => format!(
            "+proj=stere {} {} {} {}",
            p("lat_0", CENTER_LAT, None)?,
            p("lon_0", CENTER_LONG, None)?,
            p("k", SCALE_AT_NAT_ORIGIN, Some(1.0))?,
            fe()?
        ),
        // Polar stereographic: the latitude of true scale (variant B), or the pole with a
        // scale (variant A).
        15 => format!(
            "{} {}",
            crate::geo::polar_stereographic(
                double(NAT_ORIGIN_LAT).ok_or("polar stereographic without a latitude")?,
                v(SCALE_AT_NAT_ORIGIN, Some(1.0))?,
                v(STRAIGHT_VERT_POLE_LONG, None)?
            ),
            fe()?
        ),
        16 => format!(
            "+proj=sterea {} {} {} {}",
            p("lat_0", NAT_ORIGIN_LAT, None)?,
            p("lon_0", NAT_ORIGIN_LONG, None)?,
            p("k", SCALE_AT_NAT_ORIGIN, Some(1.0))?,
            fe()?
        ),
        17 => format!(
            "+proj=eqc {} {} {} {}",
            p("lat_ts", STD_PARALLEL_1, Some(0.0))?,
            p("lat_0", CENTER_LAT, Some(0.0))?,
            p(
                "lon_0",
                if double(CENTER_LONG).is_some() {
                    CENTER_LONG
                } else {
                    NAT_ORIGIN_LONG
                },
                Some(0.0)
            )?,
            fe()?
        ),
        18 => format!(
            "+proj=cass {} {} {}",
            p("lat_0", NAT_ORIGIN_LAT, None)?,
            p("lon_0", NAT_ORIGIN_LONG, None)?,
            fe()?
        ),
        20 => format!("+proj=mill {} {}", p("lon_0", CENTER_LONG, None)?, fe()?),
        28 => format!(
            "+proj=cea {} {} {}",
            p("lat_ts", STD_PARALLEL_1, Some(0.0))?,
            p("lon_0", NAT_ORIGIN_LONG, Some(0.0))?,
            fe()?
        ),
        // Hotine oblique Mercator (GeoTIFF's 3, EPSG's 9812 variant A and 9815 variant
        // B). An azimuth of 90° is the Swiss case, the oblique *cylindrical* Mercator.
        3 | 9812 | 9815 => {
            let azimuth = double(AZIMUTH).ok_or("oblique Mercator without an azimuth")?;
            crate::geo::oblique_mercator(
                v(CENTER_LAT, None)?,
                v(CENTER_LONG, None)?,
                azimuth,
                double(RECTIFIED_GRID_ANGLE).unwrap_or(azimuth),
                v(SCALE_AT_CENTER, Some(1.0))?,
                &fe()?,
                ct != 9815,
            )
        }
        other => {
            return Err(format!(
                "projection method {other} (ProjCoordTransGeoKey) is not one satdet can build"
            ))
        }
    };
    Ok(s)
}

/// The datum part: `+datum=...`, or an ellipsoid with its shift and prime meridian.
fn datum(keys: &GeoKeys) -> Result<String, String> {
    let (short, double) = (|id| keys.short(id), |id| keys.double(id));
    // An EPSG geographic CRS (or one named by its datum: GCS codes are datum codes - 2000
    // for the 6xxx datums): its definition's datum part.
    let gcs = match short(GEOGRAPHIC_TYPE) {
        Some(c) if c != USER_DEFINED => Some(c),
        _ => short(GEODETIC_DATUM)
            .filter(|d| (6001..=6999).contains(d))
            .map(|d| d - 2000),
    };
    if let Some(c) = gcs {
        return crate::geo::geographic_datum(c)
            .ok_or_else(|| format!("geographic CRS EPSG:{c}, which satdet has no definition for"));
    }
    let mut parts = Vec::new();
    match (
        double(SEMI_MAJOR),
        double(INV_FLATTENING),
        double(SEMI_MINOR),
    ) {
        (Some(a), Some(rf), _) if rf > 1.0 => parts.push(format!("+a={a} +rf={rf}")),
        (Some(a), _, Some(b)) if b > 0.0 && b <= a => parts.push(format!("+a={a} +b={b}")),
        _ => {
            let code = short(ELLIPSOID).ok_or("no ellipsoid in the GeoKeys")?;
            let name = ELLIPSOIDS
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, n)| *n)
                .ok_or_else(|| format!("ellipsoid EPSG:{code}, which satdet has no axes for"))?;
            parts.push(format!("+ellps={name}"));
        }
    }
    if let Some(t) = keys.doubles.get(&TOWGS84) {
        if t.len() != 3 && t.len() != 7 {
            return Err(format!(
                "GeogTOWGS84GeoKey with {} values, not 3 or 7",
                t.len()
            ));
        }
        let t: Vec<String> = t.iter().map(f64::to_string).collect();
        parts.push(format!("+towgs84={}", t.join(",")));
    }
    if let Some(pm) = double(PRIME_MERIDIAN_LONG).filter(|&pm| pm != 0.0) {
        parts.push(format!("+pm={pm}"));
    }
    Ok(parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(shorts: &[(u16, u16)], doubles: &[(u16, &[f64])]) -> GeoKeys {
        GeoKeys {
            shorts: shorts.iter().copied().collect(),
            doubles: doubles.iter().map(|(k, v)| (*k, v.to_vec())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn lambert_2sp_on_wgs84_as_gdal_writes_it() {
        let k = keys(
            &[
                (1024, 1),
                (2048, 4326),
                (3072, 32767),
                (3074, 32767),
                (3075, 8),
                (3076, 9001),
            ],
            &[
                (3078, &[33.0]),
                (3079, &[45.0]),
                (3084, &[-96.0]),
                (3085, &[39.0]),
                (3086, &[0.0]),
                (3087, &[0.0]),
            ],
        );
        assert_eq!(
            proj_string(&k).expect("lcc"),
            "+proj=lcc +lat_1=33 +lat_2=45 +lat_0=39 +lon_0=-96 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
        );
    }

    #[test]
    fn utm_by_conversion_code_with_an_ellipsoid_and_shift_in_us_feet() {
        let k = keys(
            &[
                (1024, 1),
                (2048, 32767),
                (2050, 32767),
                (3074, 16035),
                (3076, 9003),
            ],
            &[
                (2057, &[6378388.0]),
                (2059, &[297.0]),
                (2062, &[-87.0, -98.0, -121.0]),
            ],
        );
        assert_eq!(
            proj_string(&k).expect("utm"),
            "+proj=utm +zone=35 +a=6378388 +rf=297 +towgs84=-87,-98,-121 +units=us-ft +no_defs"
        );
    }

    #[test]
    fn a_prime_meridian_is_folded_and_k_0_spelled_k() {
        let k = keys(
            &[
                (1024, 1),
                (2048, 32767),
                (3074, 32767),
                (3075, 9),
                (3076, 9001),
            ],
            &[
                (2057, &[6378249.2]),
                (2059, &[293.466_021_293_626_9]),
                (2061, &[2.337_229_17]),
                (3080, &[0.0]),
                (3081, &[46.8]),
                (3092, &[0.999_877_42]),
            ],
        );
        let d = proj_string(&k).expect("lcc 1sp");
        assert!(d.contains("+lon_0=2.33722917") && !d.contains("+pm"), "{d}");
        assert!(d.contains("+k=0.99987742"), "{d}");
    }

    #[test]
    fn what_cannot_be_built_says_why() {
        let base = [(1024u16, 1u16), (2048, 4326), (3074, 32767), (3076, 9001)];
        let with = |extra: &[(u16, u16)]| {
            let mut s = base.to_vec();
            s.extend_from_slice(extra);
            proj_string(&keys(&s, &[])).unwrap_err()
        };
        assert!(with(&[(3075, 99)]).contains("method 99"));
        assert!(
            with(&[(3075, 8)]).contains("GeoKey 3078"),
            "a missing parameter"
        );
        assert!(with(&[]).contains("ProjCoordTransGeoKey"));
        let e = proj_string(&keys(&[(1024, 1), (2048, 4326), (3074, 10101)], &[])).unwrap_err();
        assert!(e.contains("10101"), "{e}");
        let e = with(&[(3075, 1), (2054, 9105)]);
        assert!(e.contains("angular unit 9105"), "{e}");
        let e = proj_string(&keys(&[(1024, 2), (2048, 32767)], &[])).unwrap_err();
        assert!(e.contains("ellipsoid"), "{e}");
    }

    #[test]
    fn false_easting_under_another_methods_key_is_used() {
        // A transverse Mercator whose writer put the false origin under 3086/3087
        // (libgeotiff reads either); in feet, converted to PROJ's metres.
        let k = keys(
            &[
                (1024, 1),
                (2048, 4326),
                (3074, 32767),
                (3075, 1),
                (3076, 9002),
            ],
            &[
                (3080, &[9.0]),
                (3092, &[0.9996]),
                (3086, &[1_000_000.0]),
                (3087, &[10.0]),
            ],
        );
        let d = proj_string(&k).expect("tmerc");
        let value = |key: &str| -> f64 {
            d.split_whitespace()
                .find_map(|t| t.strip_prefix(key))
                .expect("present")
                .parse()
                .expect("number")
        };
        assert!((value("+x_0=") - 304_800.0).abs() < 1e-6, "{d}");
        assert!((value("+y_0=") - 3.048).abs() < 1e-9, "{d}");
    }

    #[test]
    fn user_defined_geographic_on_an_ellipsoid() {
        let k = keys(&[(1024, 2), (2048, 32767), (2056, 7022)], &[]);
        assert_eq!(
            proj_string(&k).expect("longlat"),
            "+proj=longlat +ellps=intl +no_defs"
        );
    }
}
