//! EPSG definitions rewritten into what `proj4rs` 0.1 reads correctly.
//!
//! Each rule below answers a way in which `proj4rs` reads a valid PROJ string differently
//! from PROJ, found by reprojecting points of every EPSG definition in `crs-definitions`
//! with both and comparing (`scripts/crs/sweep.sh`; `tests/crs_against_gdal.rs` keeps a
//! sample of each case against GDAL). Left alone, each gives positions that are silently metres to thousands of
//! kilometres off:
//!
//! - the scale factor spelled `+k_0` (PROJ's own name) is not read, so a scale of 1 is
//!   used: about 280 definitions, mostly Lambert conformal 1SP systems;
//! - an ellipsoid given by its semi-minor axis (`+b=`, or a named one defined that way,
//!   such as Clarke 1866) gets a wrong flattening, which the transverse Mercator uses: about
//!   90 definitions, up to 90 m off; it is restated as an inverse flattening;
//! - a prime meridian other than Greenwich (`+pm=`) is added in degrees to a longitude in
//!   radians; for projected systems it is folded into the central meridian, which is the
//!   same projection; geographic systems on such a meridian are refused;
//! - two Krovak systems whose axes are southing, westing (EPSG:2065, 5513) lack the
//!   `+axis=swu` PROJ and GDAL give them.
//!
//! `scripts/crs/sweep.sh` runs the whole comparison. Given the same definitions, PROJ and
//! satdet then differ by more than 1 m for five systems only: the two Krovak ones above
//! (their definitions lack the axes), EPSG:2062 (PROJ reads `+pm=madrid` with its own
//! value, not EPSG's, which GDAL uses from the EPSG code) and EPSG:5520 and 5680
//! (`+datum=potsdam`, which PROJ 9 reads as a grid shift it lacks and `proj4rs` as its
//! 7-parameter shift).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Ellipsoids `proj4rs` defines by their semi-minor axis (name, a, b), from PROJ's table,
/// and the datums built on one of them.
const MINOR_AXIS_ELLIPSOIDS: [(&str, f64, f64); 6] = [
    ("mod_airy", 6_377_340.189, 6_356_034.446),
    ("clrk66", 6_378_206.4, 6_356_583.8),
    ("new_intl", 6_378_157.5, 6_356_772.2),
    ("plessis", 6_376_523.0, 6_355_863.0),
    ("SEasia", 6_378_155.0, 6_356_773.320_5),
    ("walbeck", 6_376_896.0, 6_355_834.846_7),
];
const MINOR_AXIS_DATUMS: [(&str, &str); 2] = [("ire65", "mod_airy"), ("NAD27", "clrk66")];

/// The prime meridians PROJ names, degrees east of Greenwich, as EPSG gives them (PROJ's
/// own table puts Madrid at 3°41'16.58\" W; EPSG, and so GDAL reading an EPSG code, at
/// 3°41'14.55\" W: 48 m apart at 40° N).
const PRIME_MERIDIANS: [(&str, f64); 14] = [
    ("greenwich", 0.0),
    ("lisbon", -9.131906111111),
    ("paris", 2.337229166667),
    ("bogota", -74.080916666667),
    ("madrid", -3.687375),
    ("rome", 12.452333333333),
    ("bern", 7.439583333333),
    ("jakarta", 106.807719444444),
    ("ferro", -17.666666666667),
    ("brussels", 4.367975),
    ("stockholm", 18.058277777778),
    ("athens", 23.7163375),
    ("oslo", 10.722916666667),
    ("copenhagen", 12.57788),
];

/// EPSG codes whose axes are southing, westing in PROJ and GDAL.
const SOUTH_WEST_AXES: [u16; 2] = [2065, 5513];

/// `def` rewritten for `proj4rs` (`None` when it needs no change), or why satdet cannot
/// reproject it.
pub(super) fn rewrite(code: u16, def: &str) -> Result<Option<String>, String> {
    let mut params: Vec<(String, Option<String>)> = def
        .split_whitespace()
        .map(|t| {
            let t = t.trim_start_matches('+');
            match t.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (t.to_string(), None),
            }
        })
        .collect();
    let get = |params: &[(String, Option<String>)], key: &str| -> Option<String> {
        params
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.clone())
    };
    let mut changed = false;

    // The scale factor's PROJ name.
    for (k, _) in &mut params {
        if k == "k_0" {
            *k = "k".into();
            changed = true;
        }
    }

    // Ellipsoids given by their semi-minor axis: the inverse flattening takes precedence
    // in proj4rs, and is read right.
    if get(&params, "rf").is_none() && get(&params, "R").is_none() {
        let number = |key: &str| get(&params, key).and_then(|v| v.parse::<f64>().ok());
        let named = |name: Option<String>| {
            name.and_then(|n| {
                MINOR_AXIS_ELLIPSOIDS
                    .iter()
                    .find(|(e, _, _)| *e == n)
                    .map(|(_, a, b)| (*a, *b))
            })
        };
        let datum_ellipsoid = get(&params, "datum").and_then(|d| {
            MINOR_AXIS_DATUMS
                .iter()
                .find(|(name, _)| *name == d)
                .map(|(_, e)| (*e).to_string())
        });
        let axes = match (number("a"), number("b")) {
            (Some(a), Some(b)) => Some((a, b)),
            _ if get(&params, "ellps").is_some() => named(get(&params, "ellps")),
            _ => named(datum_ellipsoid),
        };
        if let Some((a, b)) = axes {
            if b > 0.0 && b < a {
                let a = number("a").unwrap_or(a);
                params.retain(|(k, _)| k != "b");
                params.push(("rf".into(), Some(format!("{}", a / (a - b)))));
                changed = true;
            }
        }
    }

    // A prime meridian other than Greenwich.
    if let Some(pm) = get(&params, "pm") {
        let degrees = PRIME_MERIDIANS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&pm))
            .map(|(_, d)| *d)
            .or_else(|| pm.parse::<f64>().ok())
            .ok_or_else(|| format!("its definition `{def}` names an unknown prime meridian"))?;
        if degrees != 0.0 {
            if get(&params, "proj").as_deref() == Some("longlat") {
                return Err(format!(
                    "its definition `{def}` counts longitudes from a meridian other than \
                     Greenwich, which satdet's reprojection (proj4rs) does not support for \
                     geographic systems"
                ));
            }
            // UTM takes its central meridian from the zone (proj4rs overwrites lon_0):
            // spelled out as the transverse Mercator it is first.
            if get(&params, "proj").as_deref() == Some("utm") {
                let zone = get(&params, "zone")
                    .and_then(|z| z.parse::<i32>().ok())
                    .filter(|z| (1..=60).contains(z))
                    .ok_or_else(|| format!("its definition `{def}` has no valid UTM zone"))?;
                let south = params.iter().any(|(k, _)| k == "south");
                params.retain(|(k, _)| {
                    ![
                        "proj", "zone", "south", "lon_0", "k", "k_0", "x_0", "y_0", "lat_0",
                    ]
                    .contains(&k.as_str())
                });
                let tm = [
                    ("proj", "tmerc".to_string()),
                    ("lat_0", "0".to_string()),
                    ("lon_0", format!("{}", 6 * zone - 183)),
                    ("k", "0.9996".to_string()),
                    ("x_0", "500000".to_string()),
                    ("y_0", if south { "10000000" } else { "0" }.to_string()),
                ];
                for (i, (k, v)) in tm.into_iter().enumerate() {
                    params.insert(i, (k.to_string(), Some(v)));
                }
            }
            // The longitude the projection is centred on: lon_0, or lonc (oblique
            // Mercator).
            let key = if get(&params, "lonc").is_some() {
                "lonc"
            } else {
                "lon_0"
            };
            let centre = match get(&params, key) {
                Some(v) => v
                    .parse::<f64>()
                    .map_err(|_| format!("its definition `{def}` has an unreadable {key}"))?,
                None => 0.0,
            };
            params.retain(|(k, _)| k != "pm" && k != key);
            params.push((key.into(), Some(format!("{}", centre + degrees))));
            changed = true;
        }
    }

    if SOUTH_WEST_AXES.contains(&code) && get(&params, "axis").is_none() {
        params.push(("axis".into(), Some("swu".into())));
        changed = true;
    }

    Ok(changed.then(|| {
        params
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("+{k}={v}"),
                None => format!("+{k}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }))
}

/// [`rewrite`], done once per definition (`code` is the EPSG code, 0 for another one) and
/// kept for the life of the process: at most one entry per EPSG code or caller's string.
pub(super) fn rewritten(code: u16, def: &str) -> Result<Option<&'static str>, String> {
    type Kept = HashMap<(u16, String), Result<Option<&'static str>, String>>;
    static KEPT: OnceLock<Mutex<Kept>> = OnceLock::new();
    let mut kept = KEPT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    kept.entry((code, def.to_string()))
        .or_insert_with(|| {
            rewrite(code, def).map(|fixed| fixed.map(|f| &*Box::leak(f.into_boxed_str())))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(code: u16, def: &str) -> String {
        rewrite(code, def).expect("supported").expect("rewritten")
    }

    #[test]
    fn scale_factor_is_spelled_k() {
        let d = fixed(
            1,
            "+proj=lcc +lat_1=40 +lat_0=40 +k_0=0.9988 +x_0=0 +units=m +no_defs",
        );
        assert!(d.contains("+k=0.9988") && !d.contains("k_0"), "{d}");
    }

    fn rf_of(def: &str) -> f64 {
        def.split_whitespace()
            .find_map(|t| t.strip_prefix("+rf="))
            .expect("rf")
            .parse()
            .expect("number")
    }

    #[test]
    fn minor_axis_ellipsoids_become_inverse_flattening() {
        let d = fixed(
            1,
            "+proj=tmerc +lon_0=-58.5 +ellps=clrk66 +units=m +no_defs",
        );
        assert!((rf_of(&d) - 294.978_698_213_898).abs() < 1e-6, "{d}");
        assert!(d.contains("+ellps=clrk66"), "{d}");
        let d = fixed(1, "+proj=tmerc +a=6378300 +b=6356751.689189189 +units=m");
        assert!(!d.contains("+b=") && d.contains("+a=6378300 "), "{d}");
        assert!((rf_of(&d) - 296.0).abs() < 1e-6, "{d}");
        let d = fixed(1, "+proj=tmerc +datum=ire65 +units=m");
        assert!((rf_of(&d) - 299.324_937_365).abs() < 1e-6, "{d}");
        // Inverse-flattening ellipsoids, spheres and explicit rf are left alone.
        for def in [
            "+proj=tmerc +ellps=bessel +units=m",
            "+proj=tmerc +a=6370997 +b=6370997 +units=m",
            "+proj=tmerc +a=6378137 +rf=298.257 +units=m",
        ] {
            assert_eq!(rewrite(1, def), Ok(None), "{def}");
        }
    }

    #[test]
    fn prime_meridian_is_folded_into_the_central_meridian() {
        let d = fixed(
            1,
            "+proj=lcc +lat_1=49.5 +lon_0=5.4 +pm=2.3372 +units=m +no_defs",
        );
        assert!(!d.contains("+pm") && d.contains("+lon_0=7.7372"), "{d}");
        let d = fixed(1, "+proj=krovak +lat_0=49.5 +lon_0=42.5 +pm=ferro +units=m");
        let lon_0: f64 = d
            .split_whitespace()
            .find_map(|t| t.strip_prefix("+lon_0="))
            .expect("lon_0")
            .parse()
            .expect("number");
        assert!((lon_0 - 24.833_333_333_333).abs() < 1e-9, "{d}");
        let d = fixed(1, "+proj=tmerc +pm=madrid +units=m");
        assert!(d.contains("+lon_0=-3.687375"), "{d}");
        let e = rewrite(1, "+proj=longlat +ellps=intl +pm=paris +no_defs").unwrap_err();
        assert!(e.contains("Greenwich"), "{e}");
        assert!(rewrite(1, "+proj=tmerc +pm=atlantis").is_err());
        // UTM's meridian comes from its zone: spelled out as tmerc, then shifted.
        let d = fixed(
            1,
            "+proj=utm +zone=31 +south +ellps=intl +pm=paris +units=m",
        );
        assert!(
            d.starts_with("+proj=tmerc +lat_0=0 +k=0.9996 +x_0=500000 +y_0=10000000")
                && d.ends_with("+lon_0=5.337229166667"),
            "{d}"
        );
        assert!(!d.contains("zone") && !d.contains("south"), "{d}");
        let d = fixed(
            1,
            "+proj=omerc +lat_0=4 +lonc=102 +alpha=30 +pm=jakarta +units=m",
        );
        assert!(d.contains("+lonc=208.8077") && !d.contains("lon_0"), "{d}");
        assert_eq!(rewrite(1, "+proj=tmerc +pm=greenwich +units=m"), Ok(None));
    }

    #[test]
    fn south_west_krovak_gets_its_axes() {
        let d = fixed(5513, "+proj=krovak +lat_0=49.5 +lon_0=24.83 +units=m");
        assert!(d.ends_with("+axis=swu"), "{d}");
        assert_eq!(rewrite(5514, "+proj=krovak +lat_0=49.5 +units=m"), Ok(None));
    }

    #[test]
    fn definitions_without_these_cases_are_kept_verbatim() {
        let def = "+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs";
        assert_eq!(rewrite(32633, def), Ok(None));
        assert_eq!(rewritten(32633, def), Ok(None));
    }
}
