//! Reprojection to WGS84 compared with GDAL (`gdaltransform` from Debian's gdal-bin, the
//! oracle) across EPSG systems: each projection family satdet reprojects, and each way in
//! which `proj4rs` would misread an EPSG definition (`src/geo/crs/proj4rs_fix.rs`).
//!
//! GDAL places a WGS84 point in the EPSG system (its best transformation); satdet must
//! bring it back to the same point. The tolerance is 0.1 m unless the case says why not.
//! And CRSs without an EPSG code, written by GDAL as user-defined GeoKeys
//! (`src/raster/tiff/geokeys_proj.rs`): satdet's positions against GDAL's reading of the
//! same files.

mod common;

use satdet::geo::{
    ground_distance_m, gsd_m, GeoRef, GeoTransform, LonLat, MapPoint, PixelPoint, ToWgs84,
};
use satdet::Crs;
use std::process::Command;

/// (EPSG code, WGS84 longitude, latitude inside its area, tolerance in metres, what it covers)
const CASES: &[(u16, f64, f64, f64, &str)] = &[
    (32633, 15.3, 45.2, 0.1, "UTM"),
    (
        27700,
        -1.5,
        52.5,
        0.1,
        "transverse Mercator, 7-parameter datum shift",
    ),
    (2154, 2.5, 46.5, 0.1, "Lambert conformal 2SP"),
    (3035, 10.0, 52.0, 0.1, "Lambert azimuthal equal area"),
    (3413, -45.0, 75.0, 0.1, "polar stereographic north"),
    (3031, 10.0, -75.0, 0.1, "polar stereographic south"),
    (28992, 5.3, 52.1, 0.1, "oblique stereographic"),
    (2056, 8.2, 46.8, 0.1, "Swiss oblique Mercator"),
    (3577, 134.0, -25.0, 0.1, "Albers equal area"),
    (3857, 10.0, 60.0, 0.1, "Web Mercator"),
    (
        6933,
        20.0,
        30.0,
        0.1,
        "cylindrical equal area (EASE-Grid 2.0)",
    ),
    (2263, -73.9, 40.75, 0.1, "US survey feet"),
    (2062, -2.99, 39.885, 0.1, "+k_0 and the Madrid meridian"),
    (23700, 19.0, 47.0, 0.1, "+k_0 in the Hungarian EOV"),
    (
        27572,
        2.38,
        46.2,
        0.1,
        "+k_0, +b and the Paris meridian (NTF Lambert II extended)",
    ),
    (
        2009,
        -58.55,
        51.1,
        0.1,
        "Clarke 1866 given by its minor axis",
    ),
    (
        29902,
        -8.2,
        53.4,
        0.1,
        "the Ireland 1965 datum's modified Airy",
    ),
    (5329, 116.8, 0.0, 0.1, "the Jakarta meridian"),
    (21780, 8.2, 46.8, 0.1, "the Bern meridian"),
    (
        5514,
        17.3,
        49.4,
        2.5,
        "Krovak east-north; S-JTSK's 3-parameter shift against GDAL's 7-parameter one",
    ),
    (
        5513,
        17.3,
        49.4,
        2.5,
        "Krovak southing-westing; S-JTSK's shift as above",
    ),
    (
        2065,
        17.3,
        49.4,
        2.5,
        "Krovak southing-westing on the Ferro meridian; shift as above",
    ),
];

#[test]
fn positions_match_gdal_across_epsg_systems() {
    let mut failures = Vec::new();
    for &(code, lon, lat, tolerance, what) in CASES {
        let epsg = format!("EPSG:{code}");
        let out = common::gdal(
            "gdaltransform",
            &[
                "-s_srs",
                "+proj=longlat +datum=WGS84 +no_defs",
                "-t_srs",
                &epsg,
            ],
            &format!("{lon} {lat}\n"),
        );
        let v: Vec<f64> = out
            .split_whitespace()
            .map(|t| t.parse().expect("number"))
            .collect();
        let map = MapPoint { x: v[0], y: v[1] };
        let ours = match ToWgs84::new(&Crs::Epsg(code)).and_then(|t| t.point(map)) {
            Ok(ll) => ll,
            Err(e) => {
                failures.push(format!("{epsg} ({what}): {e}"));
                continue;
            }
        };
        let off = ground_distance_m(ours, LonLat { lon, lat });
        if off > tolerance {
            failures.push(format!(
                "{epsg} ({what}): map {map:?} gives {ours:?}, GDAL {lon} {lat}: {off:.3} m apart"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn geographic_systems_on_another_prime_meridian_are_refused_not_misplaced() {
    // NTF (Paris) and CH1903 (Bern) lon/lat: proj4rs would read their longitudes as
    // counted from Greenwich, 170 km and 570 km off.
    for code in [4807u16, 4801] {
        let e = ToWgs84::new(&Crs::Epsg(code)).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(&format!("EPSG:{code}")) && text.contains("Greenwich"),
            "{text}"
        );
    }
}

#[test]
fn ground_sample_distance_of_a_feet_system_is_in_metres() {
    // EPSG:2263 (New York Long Island, US survey feet): 1 ft pixels are 0.3048 m on the
    // ground, within the projection's scale (under 1e-4 there).
    let out = common::gdal(
        "gdaltransform",
        &[
            "-s_srs",
            "+proj=longlat +datum=WGS84 +no_defs",
            "-t_srs",
            "EPSG:2263",
        ],
        "-73.9 40.75\n",
    );
    let v: Vec<f64> = out
        .split_whitespace()
        .map(|t| t.parse().expect("number"))
        .collect();
    let g = GeoRef {
        transform: GeoTransform::north_up(v[0], v[1], 1.0, 1.0),
        crs: Crs::Epsg(2263),
    };
    let gsd = gsd_m(&g, PixelPoint { x: 0.0, y: 0.0 }, 100.0).expect("gsd");
    assert!((gsd / 0.304_800_6 - 1.0).abs() < 0.006, "{gsd}");
}

/// CRSs without an EPSG code, as GDAL writes them: user-defined GeoKeys (projection
/// method and parameters, an EPSG or user-defined geographic base). (PROJ string given to
/// `gdal_translate -a_srs`, top-left corner x, y in its units, what it covers.)
const USER_DEFINED: &[(&str, f64, f64, &str)] = &[
    (
        "+proj=lcc +lat_1=33 +lat_2=45 +lat_0=39 +lon_0=-96 +x_0=0 +y_0=0 +datum=WGS84 +units=m",
        100_000.0,
        200_000.0,
        "Lambert 2SP on WGS 84",
    ),
    (
        "+proj=aea +lat_1=29.5 +lat_2=45.5 +lat_0=23 +lon_0=-96 +x_0=0 +y_0=0 +ellps=GRS80 +towgs84=0,0,0 +units=m",
        100_000.0,
        2_000_000.0,
        "Albers on an ellipsoid with a shift",
    ),
    (
        "+proj=tmerc +lat_0=0 +lon_0=27 +k=0.9996 +x_0=500000 +y_0=0 +ellps=intl +towgs84=-87,-98,-121 +units=us-ft",
        1_640_000.0,
        16_000_000.0,
        "UTM 35N as GDAL's conversion code, Hayford with a shift, US feet",
    ),
    (
        "+proj=stere +lat_0=90 +lat_ts=70 +lon_0=-45 +x_0=0 +y_0=0 +datum=WGS84 +units=m",
        100_000.0,
        -1_500_000.0,
        "polar stereographic, variant B",
    ),
    (
        "+proj=laea +lat_0=45 +lon_0=-100 +x_0=0 +y_0=0 +a=6371228 +b=6371228 +units=m",
        100_000.0,
        200_000.0,
        "Lambert azimuthal on a sphere",
    ),
    (
        "+proj=merc +lat_ts=30 +lon_0=100 +datum=WGS84 +units=m",
        100_000.0,
        200_000.0,
        "Mercator 2SP",
    ),
    (
        "+proj=lcc +lat_1=46.8 +lat_0=46.8 +lon_0=0 +k_0=0.99987742 +x_0=600000 +y_0=2200000 +ellps=clrk80ign +pm=paris +towgs84=-168,-60,320 +units=m",
        600_000.0,
        2_200_000.0,
        "Lambert 1SP on the Paris meridian",
    ),
    (
        "+proj=sterea +lat_0=52.15616055555555 +lon_0=5.38763888888889 +k=0.9999079 +x_0=155000 +y_0=463000 +ellps=bessel +units=m",
        155_000.0,
        463_000.0,
        "oblique stereographic, no datum shift",
    ),
    (
        "+proj=cea +lat_ts=30 +lon_0=0 +datum=WGS84 +units=m",
        100_000.0,
        200_000.0,
        "cylindrical equal area",
    ),
    (
        "+proj=eqc +lat_ts=0 +lon_0=0 +datum=WGS84 +units=m",
        100_000.0,
        200_000.0,
        "equirectangular",
    ),
    (
        "+proj=somerc +lat_0=46.95 +lon_0=7.43 +k_0=1 +x_0=600000 +y_0=200000 +ellps=bessel +units=m",
        600_000.0,
        200_000.0,
        "Swiss oblique Mercator (written as Hotine variant B, azimuth 90)",
    ),
    (
        "+proj=tmerc +lat_0=40 +lon_0=-74 +k=0.9999 +x_0=150000 +y_0=20000 +datum=NAD83 +units=us-ft",
        492_000.0,
        100_000.0,
        "transverse Mercator in US feet, false easting and northing in feet",
    ),
    (
        "+proj=lcc +lat_1=33 +lat_2=45 +lat_0=39 +lon_0=-96 +x_0=1000000 +y_0=500000 +datum=WGS84 +units=ft",
        3_300_000.0,
        1_700_000.0,
        "Lambert 2SP in international feet, false origin in feet",
    ),
    (
        "+proj=utm +zone=31 +ellps=intl +towgs84=-87,-98,-121 +pm=paris +units=m",
        500_000.0,
        5_000_000.0,
        "UTM as GDAL's conversion code, on the Paris meridian",
    ),
    (
        "+proj=longlat +ellps=intl +towgs84=-87,-98,-121 +no_defs",
        10.0,
        50.0,
        "geographic on a user-defined datum",
    ),
];

#[test]
fn user_defined_geotiff_crs_match_gdal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = common::fixture("geo_32633.tif");
    let input: String = [(0.0, 0.0), (25.0, 20.0), (50.0, 40.0)]
        .iter()
        .map(|(x, y)| format!("{x} {y}\n"))
        .collect();
    let mut failures = Vec::new();
    for (i, &(def, x, y, what)) in USER_DEFINED.iter().enumerate() {
        let step = if def.starts_with("+proj=longlat") {
            1e-5
        } else {
            0.5
        };
        let path = dir.path().join(format!("user_{i}.tif"));
        let out = Command::new("gdal_translate")
            .args(["-q", "-a_srs", def, "-a_ullr"])
            .args([x, y, x + 50.0 * step, y - 40.0 * step].map(|v| v.to_string()))
            .arg(&base)
            .arg(&path)
            .output()
            .expect("gdal_translate (apt-get install gdal-bin)");
        assert!(out.status.success(), "{what}: gdal_translate failed");
        let scene = satdet::Scene::open(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        let g = scene.georef().expect("georeferenced").clone();
        if !matches!(g.crs, Crs::Proj(_)) {
            failures.push(format!("{what}: CRS read as {}", g.crs));
            continue;
        }
        let to = match ToWgs84::new(&g.crs) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{what}: {e}"));
                continue;
            }
        };
        let gdal = common::gdal(
            "gdaltransform",
            &[
                "-t_srs",
                "+proj=longlat +datum=WGS84 +no_defs",
                path.to_str().expect("utf8"),
            ],
            &input,
        );
        for (pixel, line) in input.lines().zip(gdal.lines()) {
            let p: Vec<f64> = pixel.split(' ').map(|t| t.parse().expect("px")).collect();
            let v: Vec<f64> = line
                .split_whitespace()
                .map(|t| t.parse().expect("number"))
                .collect();
            let m = g.transform.pixel_to_map(PixelPoint { x: p[0], y: p[1] });
            match to.point(m) {
                Ok(ll) => {
                    let off = ground_distance_m(
                        ll,
                        LonLat {
                            lon: v[0],
                            lat: v[1],
                        },
                    );
                    if off > 0.1 {
                        failures.push(format!(
                            "{what} ({}), pixel {pixel}: {ll:?} against GDAL {v:?}, {off:.3} m",
                            g.crs
                        ));
                    }
                }
                Err(e) => failures.push(format!("{what}: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Largest distance between satdet's and GDAL's WGS84 positions of a few pixels of `path`,
/// GDAL reading the file itself (`gdal_srs: None`) or told its CRS.
fn worst_against_gdal(path: &std::path::Path, gdal_srs: Option<&str>) -> Result<f64, String> {
    let scene = satdet::Scene::open(path).map_err(|e| e.to_string())?;
    let g = scene.georef().ok_or("no georeferencing")?.clone();
    if matches!(g.crs, Crs::Unknown(_)) {
        return Err(format!("CRS read as {}", g.crs));
    }
    let to = ToWgs84::new(&g.crs).map_err(|e| e.to_string())?;
    let pixels = [(0.0, 0.0), (25.0, 20.0), (50.0, 40.0)];
    let maps: Vec<MapPoint> = pixels
        .iter()
        .map(|&(x, y)| g.transform.pixel_to_map(PixelPoint { x, y }))
        .collect();
    let gdal = match gdal_srs {
        None => common::gdal(
            "gdaltransform",
            &[
                "-t_srs",
                "+proj=longlat +datum=WGS84 +no_defs",
                path.to_str().expect("utf8"),
            ],
            &pixels
                .iter()
                .map(|(x, y)| format!("{x} {y}\n"))
                .collect::<String>(),
        ),
        Some(srs) => common::gdal(
            "gdaltransform",
            &[
                "-s_srs",
                srs,
                "-t_srs",
                "+proj=longlat +datum=WGS84 +no_defs",
            ],
            &maps
                .iter()
                .map(|m| format!("{} {}\n", m.x, m.y))
                .collect::<String>(),
        ),
    };
    let mut worst = 0.0f64;
    for (m, line) in maps.iter().zip(gdal.lines()) {
        let v: Vec<f64> = line
            .split_whitespace()
            .map(|t| t.parse().expect("number"))
            .collect();
        let ll = to.point(*m).map_err(|e| e.to_string())?;
        worst = worst.max(ground_distance_m(
            ll,
            LonLat {
                lon: v[0],
                lat: v[1],
            },
        ));
    }
    Ok(worst)
}

/// A PNG as GDAL writes it keeps its georeferencing in `.aux.xml` (PAM); ArcGIS puts an
/// ESRI WKT `.prj` beside a world file. Custom CRSs either way.
#[test]
fn aux_xml_and_esri_prj_crs_match_gdal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = common::fixture("geo_32633.tif");
    let cases: &[(&str, f64, f64)] = &[
        ("+proj=lcc +lat_1=33 +lat_2=45 +lat_0=39 +lon_0=-96 +x_0=0 +y_0=0 +datum=WGS84 +units=m", 100_000.0, 200_000.0),
        ("+proj=aea +lat_1=29.5 +lat_2=45.5 +lat_0=23 +lon_0=-96 +x_0=0 +y_0=0 +ellps=GRS80 +units=m", 100_000.0, 2_000_000.0),
        ("+proj=tmerc +lat_0=40 +lon_0=-74 +k=0.9999 +x_0=150000 +y_0=20000 +datum=WGS84 +units=us-ft", 492_000.0, 100_000.0),
        ("+proj=stere +lat_0=90 +lat_ts=70 +lon_0=-45 +x_0=0 +y_0=0 +datum=WGS84 +units=m", 100_000.0, -1_500_000.0),
        ("+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +units=m", 4_321_000.0, 3_210_000.0),
        ("+proj=stere +lat_0=-90 +lat_ts=-71 +lon_0=0 +x_0=0 +y_0=0 +datum=WGS84 +units=m", 100_000.0, 1_500_000.0),
        ("+proj=somerc +lat_0=46.95 +lon_0=7.43 +k_0=1 +x_0=600000 +y_0=200000 +ellps=bessel +units=m", 600_000.0, 200_000.0),
        // Web Mercator given by its PROJ string: the .aux.xml carries it in an EXTENSION,
        // the ESRI .prj names it.
        ("+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs", 1_000_000.0, 6_000_000.0),
        // An ESRI .prj drops TOWGS84 and the datum here has no name to look up: .aux.xml
        // only (the Paris meridian, LCC 1SP).
        ("+proj=lcc +lat_1=46.8 +lat_0=46.8 +lon_0=0 +k_0=0.99987742 +x_0=600000 +y_0=2200000 +ellps=clrk80ign +pm=paris +towgs84=-168,-60,320 +units=m", 600_000.0, 2_200_000.0),
        // A custom projection on ED50 (EPSG:4230, no TOWGS84 in the WKT): its shift comes
        // from the GEOGCS's EPSG code.
        (ED50_TM, 510_000.0, 5_540_000.0),
    ];
    let mut failures = Vec::new();
    for (i, &(def, x, y)) in cases.iter().enumerate() {
        let ullr = [x, y, x + 25.0, y - 20.0].map(|v| v.to_string());
        // GDAL's own PNG: the GeoTransform and the SRS (OGC WKT1) in scene.png.aux.xml.
        let png = dir.path().join(format!("pam_{i}.png"));
        let mut args = vec!["-q", "-of", "PNG", "-a_srs", def, "-a_ullr"];
        args.extend(ullr.iter().map(String::as_str));
        args.extend([base.to_str().expect("utf8"), png.to_str().expect("utf8")]);
        common::gdal("gdal_translate", &args, "");
        assert!(!png.with_extension("wld").exists());
        // ED50's shift: satdet's EPSG:4230 definition (-87,-98,-121) against the
        // transformation GDAL picks for the place, 1.4 m apart there.
        let tolerance = if def == ED50_TM { 2.0 } else { 0.1 };
        match worst_against_gdal(&png, None) {
            Ok(d) if d <= tolerance => {}
            Ok(d) => failures.push(format!("{def} (.aux.xml): {d:.3} m from GDAL")),
            Err(e) => failures.push(format!("{def} (.aux.xml): {e}")),
        }
        if def.contains("+pm=paris") {
            continue;
        }
        // A world file and an ESRI .prj, no .aux.xml.
        let esri = dir.path().join(format!("esri_{i}.png"));
        let mut args = vec!["-q", "-of", "PNG", "-co", "WORLDFILE=YES", "-a_ullr"];
        args.extend(ullr.iter().map(String::as_str));
        args.extend([base.to_str().expect("utf8"), esri.to_str().expect("utf8")]);
        common::gdal("gdal_translate", &args, "");
        let _ = std::fs::remove_file(dir.path().join(format!("esri_{i}.png.aux.xml")));
        let wkt = common::gdal("gdalsrsinfo", &["-o", "wkt_esri", def], "");
        std::fs::write(esri.with_extension("prj"), wkt.trim()).expect("write .prj");
        let srs = if def == ED50_TM {
            "+proj=tmerc +lat_0=0 +lon_0=9 +k=0.9996 +x_0=500000 +y_0=0 +ellps=intl +towgs84=-87,-98,-121 +units=m"
        } else {
            def
        };
        match worst_against_gdal(&esri, Some(srs)) {
            Ok(d) if d <= 0.1 => {}
            Ok(d) => failures.push(format!("{def} (ESRI .prj): {d:.3} m from GDAL")),
            Err(e) => failures.push(format!("{def} (ESRI .prj): {e}")),
        }
    }
    // An EPSG CRS in the .aux.xml is that code, with GDAL's transform.
    let png = dir.path().join("epsg.png");
    common::gdal(
        "gdal_translate",
        &[
            "-q",
            "-of",
            "PNG",
            base.to_str().expect("utf8"),
            png.to_str().expect("utf8"),
        ],
        "",
    );
    let scene = satdet::Scene::open(&png).expect("open");
    let g = scene.georef().expect("georeferenced from the .aux.xml");
    assert_eq!(g.crs, Crs::Epsg(32633));
    let tif = satdet::Scene::open(&base).expect("open");
    assert_eq!(
        g.transform.to_gdal(),
        tif.georef().expect("georef").transform.to_gdal()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A transverse Mercator of one's own on ED50, as WKT1 (GDAL writes it without TOWGS84).
const ED50_TM: &str = r#"PROJCS["TM 9 on ED50",GEOGCS["ED50",DATUM["European_Datum_1950",SPHEROID["International 1924",6378388,297,AUTHORITY["EPSG","7022"]],AUTHORITY["EPSG","6230"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4230"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",9],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1]]"#;

/// Web Mercator without its EPSG code in the GeoKeys (GDAL writes it so from a PROJ
/// string): a Mercator on a sphere, which its parameters cannot say; GDAL's citation
/// does, and satdet reads it as EPSG:3857 (the ellipsoidal reading is 20 km off at 47° N).
#[test]
fn web_mercator_in_user_defined_geokeys_is_epsg_3857() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tif = dir.path().join("webmerc.tif");
    let def = "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs";
    let base = common::fixture("geo_32633.tif");
    common::gdal(
        "gdal_translate",
        &[
            "-q",
            "-a_srs",
            def,
            "-a_ullr",
            "1000000",
            "6000000",
            "1000025",
            "5999980",
            base.to_str().expect("utf8"),
            tif.to_str().expect("utf8"),
        ],
        "",
    );
    let scene = satdet::Scene::open(&tif).expect("open");
    assert_eq!(scene.georef().expect("georef").crs, Crs::Epsg(3857));
    let d = worst_against_gdal(&tif, None).expect("reprojected");
    assert!(d <= 0.1, "{d} m from GDAL");
}

/// `Scene::area_km2` in CRSs whose map unit is not a ground metre: a Mercator 2SP (true
/// scale at 30°, so a map metre at 45° N is cos 45° / cos 30° of a ground metre) and a
/// transverse Mercator in US feet.
#[test]
fn scene_area_follows_the_ground_in_mercator_2sp_and_feet() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = common::fixture("geo_32633.tif");
    let make = |name: &str, def: &str, ullr: [f64; 4]| {
        let path = dir.path().join(name);
        let mut args = vec![
            "-q".to_string(),
            "-a_srs".into(),
            def.into(),
            "-a_ullr".into(),
        ];
        args.extend(ullr.iter().map(|v| v.to_string()));
        args.push(base.to_str().expect("utf8").into());
        args.push(path.to_str().expect("utf8").into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::gdal("gdal_translate", &args, "");
        satdet::Scene::open(&path).expect("open")
    };
    // 50 x 40 pixels of 2 x 2 map units.
    let merc = make(
        "merc2sp.tif",
        "+proj=merc +lat_ts=30 +lon_0=0 +datum=WGS84 +units=m",
        [0.0, 4_865_000.0, 100.0, 4_864_920.0],
    );
    let g = merc.georef().expect("georef");
    let centre = g.transform.pixel_to_map(PixelPoint { x: 25.0, y: 20.0 });
    let lat = ToWgs84::new(&g.crs)
        .expect("merc")
        .point(centre)
        .expect("point")
        .lat;
    assert!((lat - 45.0).abs() < 1.0, "{lat}");
    let ground = 2.0 * lat.to_radians().cos() / 30f64.to_radians().cos();
    let want = 50.0 * 40.0 * ground * ground / 1e6;
    let got = merc.area_km2().expect("area");
    assert!(
        (got / want - 1.0).abs() < 0.01,
        "Mercator 2SP: {got} km² against {want}"
    );
    let feet = make(
        "feet.tif",
        "+proj=tmerc +lat_0=40 +lon_0=-74 +k=0.9999 +x_0=150000 +y_0=0 +datum=NAD83 +units=us-ft",
        [492_000.0, 100_000.0, 492_100.0, 99_920.0],
    );
    let want = 50.0 * 40.0 * (2.0 * 0.304_800_6f64).powi(2) / 1e6;
    let got = feet.area_km2().expect("area");
    assert!(
        (got / want - 1.0).abs() < 0.001,
        "US feet: {got} km² against {want}"
    );
}
