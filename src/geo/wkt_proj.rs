//! A WKT1 CRS without an EPSG authority (an ESRI `.prj`, GDAL's `.aux.xml` for a custom
//! projection) as a PROJ string: the projection method and parameters, the ellipsoid, its
//! TOWGS84 shift and prime meridian, the linear unit. Pure: text in. Checked against
//! GDAL's reading of the same files in `tests/crs_against_gdal.rs`.

/// A WKT node: `KEYWORD[arg, arg, ...]`.
#[derive(Debug)]
struct Node {
    keyword: String,
    args: Vec<Arg>,
}

#[derive(Debug)]
enum Arg {
    Text(String),
    Number(f64),
    Node(Node),
    Word,
}

impl Node {
    fn child(&self, keyword: &str) -> Option<&Node> {
        self.children()
            .find(|n| n.keyword.eq_ignore_ascii_case(keyword))
    }
    fn children(&self) -> impl Iterator<Item = &Node> {
        self.args.iter().filter_map(|a| match a {
            Arg::Node(n) => Some(n),
            _ => None,
        })
    }
    fn text(&self) -> Option<&str> {
        self.args.iter().find_map(|a| match a {
            Arg::Text(t) => Some(t.as_str()),
            _ => None,
        })
    }
    fn numbers(&self) -> Vec<f64> {
        self.args
            .iter()
            .filter_map(|a| match a {
                Arg::Number(v) => Some(*v),
                _ => None,
            })
            .collect()
    }
}

/// Nesting allowed: a WKT1 CRS is 4 levels deep; anything far deeper is not one.
const MAX_DEPTH: usize = 16;

fn parse(text: &str) -> Result<Node, String> {
    let mut p = Parser {
        s: text.trim().as_bytes(),
        i: 0,
    };
    let node = p.node(0)?;
    p.space();
    if p.i != p.s.len() {
        return Err(format!("text after the WKT, at byte {}", p.i));
    }
    Ok(node)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }
    fn word(&mut self) -> String {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn node(&mut self, depth: usize) -> Result<Node, String> {
        if depth > MAX_DEPTH {
            return Err("WKT nested too deeply".into());
        }
        self.space();
        let keyword = self.word();
        if keyword.is_empty() {
            return Err(format!("expected a WKT keyword at byte {}", self.i));
        }
        self.space();
        let close = match self.s.get(self.i) {
            Some(b'[') => b']',
            Some(b'(') => b')',
            _ => return Err(format!("expected `[` after {keyword}")),
        };
        self.i += 1;
        let mut args = Vec::new();
        loop {
            self.space();
            match self.s.get(self.i) {
                Some(c) if *c == close => {
                    self.i += 1;
                    return Ok(Node { keyword, args });
                }
                Some(b',') if !args.is_empty() => self.i += 1,
                None => return Err(format!("{keyword}[ is never closed")),
                _ if !args.is_empty() => {
                    return Err(format!("expected `,` in {keyword} at byte {}", self.i))
                }
                _ => {}
            }
            self.space();
            args.push(match self.s.get(self.i) {
                Some(b'"') => {
                    let start = self.i + 1;
                    let end = self.s[start..]
                        .iter()
                        .position(|&c| c == b'"')
                        .ok_or("an unclosed quote")?;
                    self.i = start + end + 1;
                    Arg::Text(String::from_utf8_lossy(&self.s[start..start + end]).into_owned())
                }
                Some(c) if c.is_ascii_digit() || *c == b'-' || *c == b'+' || *c == b'.' => {
                    let start = self.i;
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
                    {
                        self.i += 1;
                    }
                    let t = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                    Arg::Number(t.parse().map_err(|_| format!("`{t}` is not a number"))?)
                }
                _ => {
                    let save = self.i;
                    let w = self.word();
                    self.space();
                    if matches!(self.s.get(self.i), Some(b'[' | b'(')) {
                        self.i = save;
                        Arg::Node(self.node(depth + 1)?)
                    } else if w.is_empty() {
                        return Err(format!("unexpected text in {keyword} at byte {}", self.i));
                    } else {
                        Arg::Word
                    }
                }
            });
        }
    }
}

/// Lower case, spaces as underscores: WKT1 parameter and method names as ESRI and OGC
/// spell them alike.
fn norm(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace(' ', "_")
}

/// The PROJ string of a WKT1 `PROJCS` or `GEOGCS`, or why satdet cannot build one.
pub(crate) fn proj_string(wkt: &str) -> Result<String, String> {
    let root = parse(wkt)?;
    // GDAL states the PROJ string itself where WKT1 cannot (Web Mercator's sphere).
    if let Some(def) = root
        .children()
        .filter(|n| n.keyword.eq_ignore_ascii_case("EXTENSION"))
        .find_map(|n| match &n.args[..] {
            [Arg::Text(k), Arg::Text(v), ..] if k.eq_ignore_ascii_case("PROJ4") => Some(v),
            _ => None,
        })
    {
        return Ok(def.clone());
    }
    match root.keyword.to_ascii_uppercase().as_str() {
        "GEOGCS" => Ok(format!("+proj=longlat {} +no_defs", datum(&root)?)),
        "PROJCS" => {
            let geog = root.child("GEOGCS").ok_or("a PROJCS without its GEOGCS")?;
            // Web ("Pseudo") Mercator: a Mercator on the sphere of WGS 84's major axis,
            // which WKT1 without GDAL's extension can only say by name.
            let name = norm(root.text().unwrap_or_default());
            let method = root.child("PROJECTION").and_then(Node::text).map(norm);
            if name.contains("pseudo-mercator")
                || name.contains("pseudo_mercator")
                || method.as_deref() == Some("mercator_auxiliary_sphere")
            {
                return web_mercator(&root);
            }
            let datum = datum(geog)?;
            let unit = root
                .child("UNIT")
                .and_then(|u| u.numbers().first().copied())
                .unwrap_or(1.0);
            if !(unit.is_finite() && unit > 0.0) {
                return Err(format!("linear unit of {unit} m"));
            }
            let units = if unit == 1.0 {
                "+units=m".to_string()
            } else {
                format!("+to_meter={unit}")
            };
            let method = projection(&root, unit)?;
            Ok(format!("{method} {datum} {units} +no_defs")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "))
        }
        other => Err(format!(
            "a {other} WKT; satdet builds PROJCS and GEOGCS (WKT1) without an authority"
        )),
    }
}

fn datum(geog: &Node) -> Result<String, String> {
    if let Some(u) = geog
        .child("UNIT")
        .and_then(|u| u.numbers().first().copied())
    {
        if (u - std::f64::consts::PI / 180.0).abs() > 1e-12 {
            return Err(format!("angular unit of {u} rad; satdet reads degrees"));
        }
    }
    let d = geog.child("DATUM").ok_or("a GEOGCS without a DATUM")?;
    // Without a TOWGS84, the datum's shift is its EPSG geographic CRS's, when the WKT
    // names one (an authority on the GEOGCS or the DATUM, or a known datum name): GDAL
    // takes it from there too. Only a datum known by its ellipsoid alone is taken as
    // it is, without a shift (GDAL's "ballpark" too).
    if d.child("TOWGS84").is_none() {
        if let Some(def) = known_geographic(geog, d) {
            return Ok(def);
        }
    }
    let sph = d.child("SPHEROID").ok_or("a DATUM without a SPHEROID")?;
    let (a, rf) = match sph.numbers()[..] {
        [a, rf, ..] => (a, rf),
        _ => return Err("a SPHEROID without its axis and flattening".into()),
    };
    let mut parts = vec![if rf == 0.0 {
        format!("+a={a} +b={a}")
    } else {
        format!("+a={a} +rf={rf}")
    }];
    if let Some(t) = d.child("TOWGS84") {
        let v = t.numbers();
        if v.len() != 3 && v.len() != 7 {
            return Err(format!("TOWGS84 with {} values, not 3 or 7", v.len()));
        }
        if v.iter().any(|x| *x != 0.0) || v.len() == 3 {
            let v: Vec<String> = v.iter().map(f64::to_string).collect();
            parts.push(format!("+towgs84={}", v.join(",")));
        } else {
            parts.push("+towgs84=0,0,0".into());
        }
    }
    if let Some(pm) = geog
        .child("PRIMEM")
        .and_then(|p| p.numbers().first().copied())
    {
        if pm != 0.0 {
            parts.push(format!("+pm={pm}"));
        }
    }
    Ok(parts.join(" "))
}

/// An EPSG code in `node`'s own AUTHORITY.
fn epsg_authority(node: &Node) -> Option<u16> {
    let a = node.child("AUTHORITY")?;
    match &a.args[..] {
        [Arg::Text(auth), Arg::Text(code), ..] if auth.eq_ignore_ascii_case("EPSG") => {
            code.trim().parse().ok()
        }
        [Arg::Text(auth), Arg::Number(code), ..] if auth.eq_ignore_ascii_case("EPSG") => {
            u16::try_from(*code as i64).ok()
        }
        _ => None,
    }
}

/// Datum names (ESRI's `D_...` and GDAL's WKT1) of common datums, and their EPSG
/// geographic CRS.
const DATUM_NAMES: [(&str, u16); 22] = [
    ("d_wgs_1984", 4326),
    ("wgs_1984", 4326),
    ("d_north_american_1983", 4269),
    ("north_american_datum_1983", 4269),
    ("d_north_american_1927", 4267),
    ("north_american_datum_1927", 4267),
    ("d_etrs_1989", 4258),
    ("european_terrestrial_reference_system_1989", 4258),
    ("d_european_1950", 4230),
    ("european_datum_1950", 4230),
    ("d_osgb_1936", 4277),
    ("osgb_1936", 4277),
    ("d_gda_1994", 4283),
    ("d_amersfoort", 4289),
    ("d_deutsches_hauptdreiecksnetz", 4314),
    ("d_rgf_1993", 4171),
    ("d_sirgas_2000", 4674),
    ("d_tokyo", 4301),
    ("d_jgd_2000", 4612),
    ("d_pulkovo_1942", 4284),
    ("d_ch1903", 4149),
    ("d_wgs_1972", 4322),
];

/// The datum part of an EPSG geographic CRS the GEOGCS names, if it names one.
fn known_geographic(geog: &Node, datum: &Node) -> Option<String> {
    let name = datum.text().map(norm).unwrap_or_default();
    let code = epsg_authority(geog)
        .or_else(|| {
            epsg_authority(datum)
                .filter(|d| (6001..=6999).contains(d))
                .map(|d| d - 2000)
        })
        .or_else(|| {
            DATUM_NAMES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| *c)
        })?;
    super::geographic_datum(code)
}

/// Web Mercator as EPSG:3857 defines it, with the WKT's own origin.
fn web_mercator(root: &Node) -> Result<String, String> {
    let params: Vec<(String, f64)> = root
        .children()
        .filter(|n| n.keyword.eq_ignore_ascii_case("PARAMETER"))
        .filter_map(|n| Some((norm(n.text()?), *n.numbers().first()?)))
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map_or(0.0, |(_, v)| *v);
    let unit = root
        .child("UNIT")
        .and_then(|u| u.numbers().first().copied())
        .unwrap_or(1.0);
    Ok(format!(
        "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0={} +x_0={} +y_0={} +k=1 +units=m +nadgrids=@null +no_defs",
        get("central_meridian"),
        get("false_easting") * unit,
        get("false_northing") * unit
    ))
}

fn projection(root: &Node, unit: f64) -> Result<String, String> {
    let name = root
        .child("PROJECTION")
        .and_then(Node::text)
        .map(norm)
        .ok_or("a PROJCS without a PROJECTION")?;
    let params: Vec<(String, f64)> = root
        .children()
        .filter(|n| n.keyword.eq_ignore_ascii_case("PARAMETER"))
        .filter_map(|n| Some((norm(n.text()?), *n.numbers().first()?)))
        .collect();
    let get = |names: &[&str]| {
        params
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| *v)
    };
    let v = |names: &[&str], default: Option<f64>| -> Result<f64, String> {
        get(names)
            .or(default)
            .ok_or_else(|| format!("projection {name} without parameter {}", names[0]))
    };
    let p = |proj: &str, names: &[&str], default: Option<f64>| -> Result<String, String> {
        Ok(format!("+{proj}={}", v(names, default)?))
    };
    let lat_0 = ["latitude_of_origin", "latitude_of_center"];
    let lon_0 = [
        "central_meridian",
        "longitude_of_center",
        "longitude_of_origin",
    ];
    let fe = format!(
        "+x_0={} +y_0={}",
        get(&["false_easting"]).unwrap_or(0.0) * unit,
        get(&["false_northing"]).unwrap_or(0.0) * unit
    );
    let k = |default| p("k", &["scale_factor"], Some(default));
    Ok(match name.as_str() {
        "transverse_mercator" | "gauss_kruger" => format!(
            "+proj=tmerc {} {} {} {fe}",
            p("lat_0", &lat_0, Some(0.0))?,
            p("lon_0", &lon_0, None)?,
            k(1.0)?
        ),
        "lambert_conformal_conic_1sp" => format!(
            "+proj=lcc {} {} {} {} {fe}",
            p("lat_1", &lat_0, None)?,
            p("lat_0", &lat_0, None)?,
            p("lon_0", &lon_0, None)?,
            k(1.0)?
        ),
        // ESRI's single name covers both: two standard parallels, or one and a scale.
        "lambert_conformal_conic_2sp" | "lambert_conformal_conic" => {
            let sp2 = match get(&["standard_parallel_2"]) {
                Some(v) => format!("+lat_2={v}"),
                None => String::new(),
            };
            format!(
                "+proj=lcc {} {sp2} {} {} {} {fe}",
                p("lat_1", &["standard_parallel_1"], None)?,
                p("lat_0", &lat_0, None)?,
                p("lon_0", &lon_0, None)?,
                k(1.0)?
            )
        }
        "albers_conic_equal_area" | "albers" => format!(
            "+proj=aea {} {} {} {} {fe}",
            p("lat_1", &["standard_parallel_1"], None)?,
            p("lat_2", &["standard_parallel_2"], None)?,
            p("lat_0", &lat_0, None)?,
            p("lon_0", &lon_0, None)?
        ),
        "mercator_1sp" | "mercator_2sp" | "mercator" => {
            let scale = match get(&["standard_parallel_1"]) {
                Some(v) => format!("+lat_ts={v}"),
                None => k(1.0)?,
            };
            format!("+proj=merc {} {scale} {fe}", p("lon_0", &lon_0, Some(0.0))?)
        }
        "polar_stereographic" => format!(
            "{} {fe}",
            super::polar_stereographic(
                get(&lat_0).ok_or("polar stereographic without a latitude")?,
                v(&["scale_factor"], Some(1.0))?,
                v(&lon_0, None)?
            )
        ),
        // ESRI's polar stereographic: the latitude of true scale as a standard parallel.
        "stereographic_north_pole" | "stereographic_south_pole" => {
            let pole = if name.ends_with("south_pole") {
                -90.0
            } else {
                90.0
            };
            format!(
                "+proj=stere +lat_0={pole} {} {} {fe}",
                p("lat_ts", &["standard_parallel_1"], Some(pole))?,
                p("lon_0", &lon_0, None)?
            )
        }
        // Hotine oblique Mercator; at an azimuth of 90° the Swiss oblique cylindrical one.
        "hotine_oblique_mercator"
        | "hotine_oblique_mercator_azimuth_center"
        | "hotine_oblique_mercator_azimuth_natural_origin"
        | "oblique_mercator"
        | "rectified_skew_orthomorphic_natural_origin"
        | "swiss_oblique_cylindrical" => {
            let (azimuth, gamma) = if name == "swiss_oblique_cylindrical" {
                (90.0, 90.0)
            } else {
                let azimuth = get(&["azimuth"])
                    .ok_or_else(|| format!("projection {name} without an azimuth"))?;
                let gamma = get(&["rectified_grid_angle", "xy_plane_rotation"]).unwrap_or(azimuth);
                (azimuth, gamma)
            };
            super::oblique_mercator(
                v(&lat_0, None)?,
                v(&lon_0, None)?,
                azimuth,
                gamma,
                v(&["scale_factor"], Some(1.0))?,
                &fe,
                !name.ends_with("center"),
            )
        }
        "oblique_stereographic" | "double_stereographic" => format!(
            "+proj=sterea {} {} {} {fe}",
            p("lat_0", &lat_0, None)?,
            p("lon_0", &lon_0, None)?,
            k(1.0)?
        ),
        "stereographic" => format!(
            "+proj=stere {} {} {} {fe}",
            p("lat_0", &lat_0, None)?,
            p("lon_0", &lon_0, None)?,
            k(1.0)?
        ),
        "lambert_azimuthal_equal_area" => format!(
            "+proj=laea {} {} {fe}",
            p("lat_0", &lat_0, None)?,
            p("lon_0", &lon_0, None)?
        ),
        "azimuthal_equidistant" => format!(
            "+proj=aeqd {} {} {fe}",
            p("lat_0", &lat_0, None)?,
            p("lon_0", &lon_0, None)?
        ),
        "equirectangular" | "equidistant_cylindrical" | "plate_carree" => format!(
            "+proj=eqc {} {} {} {fe}",
            p("lat_ts", &["standard_parallel_1"], Some(0.0))?,
            p("lat_0", &lat_0, Some(0.0))?,
            p("lon_0", &lon_0, Some(0.0))?
        ),
        "cylindrical_equal_area" => format!(
            "+proj=cea {} {} {fe}",
            p("lat_ts", &["standard_parallel_1"], Some(0.0))?,
            p("lon_0", &lon_0, Some(0.0))?
        ),
        "cassini_soldner" | "cassini" => format!(
            "+proj=cass {} {} {fe}",
            p("lat_0", &lat_0, None)?,
            p("lon_0", &lon_0, None)?
        ),
        "miller_cylindrical" => format!("+proj=mill {} {fe}", p("lon_0", &lon_0, Some(0.0))?),
        other => {
            return Err(format!(
                "projection {other} is not one satdet can build without an EPSG code"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdal_custom_lambert_as_in_an_aux_xml() {
        let wkt = r#"PROJCS["unknown",GEOGCS["unknown",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]]],PROJECTION["Lambert_Conformal_Conic_2SP"],PARAMETER["latitude_of_origin",39],PARAMETER["central_meridian",-96],PARAMETER["standard_parallel_1",33],PARAMETER["standard_parallel_2",45],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH]]"#;
        assert_eq!(
            proj_string(wkt).expect("lcc"),
            "+proj=lcc +lat_1=33 +lat_2=45 +lat_0=39 +lon_0=-96 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
        );
    }

    #[test]
    fn esri_feet_and_a_shift() {
        let wkt = r#"PROJCS["Custom",GEOGCS["GCS_X",DATUM["D_X",SPHEROID["International_1924",6378388.0,297.0],TOWGS84[-87,-98,-121]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",1640416.667],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",27.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Foot_US",0.3048006096012192]]"#;
        let d = proj_string(wkt).expect("tmerc");
        assert!(
            d.starts_with("+proj=tmerc +lat_0=0 +lon_0=27 +k=0.9996 +x_0=500000.0"),
            "{d}"
        );
        assert!(
            d.contains("+towgs84=-87,-98,-121") && d.contains("+to_meter=0.3048006096012192"),
            "{d}"
        );
    }

    #[test]
    fn what_cannot_be_built_says_why() {
        let e = proj_string(r#"PROJCS["x",GEOGCS["g",DATUM["d",SPHEROID["s",6378137,298.257]],UNIT["grad",0.015707963267949]],PROJECTION["Transverse_Mercator"]]"#).unwrap_err();
        assert!(e.contains("angular unit"), "{e}");
        let e = proj_string(r#"PROJCS["x",GEOGCS["g",DATUM["d",SPHEROID["s",6378137,298.257]]],PROJECTION["Bonne"]]"#).unwrap_err();
        assert!(e.contains("bonne"), "{e}");
        let e = proj_string(r#"PROJCS["x",GEOGCS["g",DATUM["d",SPHEROID["s",6378137,298.257]]],PROJECTION["Transverse_Mercator"]]"#).unwrap_err();
        assert!(e.contains("central_meridian"), "{e}");
        for bad in [
            "",
            "PROJCS[",
            "PROJCS[\"x\"",
            "PROJCS[\"x\",,]",
            "GEOGCS[\"x\"] tail",
            "PROJCRS[\"x\"]",
        ] {
            assert!(proj_string(bad).is_err(), "{bad}");
        }
        let e = proj_string(r#"PROJCS["x",GEOGCS["g",DATUM["d",SPHEROID["s",6378137,298.257]]],PROJECTION["Hotine_Oblique_Mercator"],PARAMETER["latitude_of_center",4],PARAMETER["longitude_of_center",102]]"#).unwrap_err();
        assert!(e.contains("azimuth"), "{e}");
        let deep = "A[".repeat(100) + &"]".repeat(100);
        assert!(proj_string(&deep).is_err());
    }
}
