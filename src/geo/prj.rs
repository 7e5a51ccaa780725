//! `.prj` files: which EPSG CRS a WKT text (or a bare `EPSG:n`) names. Pure: text in.
//!
//! Only the authority of the CRS itself counts: the `AUTHORITY` (WKT1) or `ID` (WKT2)
//! node that is a direct child of the outermost node. A custom projection on a standard
//! datum carries authorities only on its inner GEOGCS/DATUM/UNIT nodes; reading any of
//! those as the CRS would put a Lambert conformal conic scene at EPSG:4326 (GDAL reports
//! such a CRS as `EPSG:-1`, no code).

use crate::error::snippet;

/// The EPSG code a `.prj` text names, or why it names none: a bare `EPSG:n`, the
/// top-level authority of a WKT CRS, or, for ESRI WKT (which carries no authority), the
/// code of a few common CRS names (see [`esri_name_to_epsg`]). A code satdet has no
/// definition for is an error too.
pub(crate) fn parse_prj(text: &str) -> Result<u16, String> {
    let t = text.trim();
    let code = if let Some(code) = t.strip_prefix("EPSG:") {
        code.trim()
            .parse::<u16>()
            .map_err(|_| format!("`{}` is not an EPSG code", snippet(t)))?
    } else {
        match top_level_authority(t) {
            Some((auth, code)) if auth.eq_ignore_ascii_case("EPSG") => code
                .parse::<u16>()
                .map_err(|_| format!("EPSG code `{}` is not a number", snippet(code)))?,
            Some((auth, code)) => {
                return Err(format!(
                    "the CRS's authority is {}:{}, not EPSG",
                    snippet(auth),
                    snippet(code)
                ))
            }
            None => esri_name_to_epsg(t).ok_or_else(|| match crs_name(t) {
                Some(name) => format!(
                    "the CRS `{}` has no EPSG authority of its own and is not a known ESRI name",
                    snippet(name)
                ),
                None => format!("`{}` is not WKT naming a CRS", snippet(t)),
            })?,
        }
    };
    if crs_definitions::from_code(code).is_none() {
        return Err(format!("EPSG:{code}, which satdet has no definition for"));
    }
    Ok(code)
}

/// The outermost node's direct children, as (keyword, text inside its brackets). WKT1
/// and WKT2 both allow `[]` and `()`; quoted strings may hold either.
fn top_level_children(wkt: &str) -> Vec<(&str, &str)> {
    let mut children = Vec::new();
    let (mut depth, mut in_str) = (0usize, false);
    let mut kw_start = 0;
    let mut open: Option<(usize, usize)> = None;
    for (i, c) in wkt.char_indices() {
        if in_str {
            in_str = c != '"';
            continue;
        }
        match c {
            '"' => in_str = true,
            '[' | '(' => {
                depth += 1;
                match depth {
                    1 => kw_start = i + 1,
                    2 => open = Some((kw_start, i)),
                    _ => {}
                }
            }
            ']' | ')' => {
                if depth == 2 {
                    if let Some((k, o)) = open.take() {
                        children.push((wkt[k..o].trim(), &wkt[o + 1..i]));
                    }
                }
                match depth.checked_sub(1) {
                    Some(0) | None => break,
                    Some(d) => depth = d,
                }
            }
            ',' if depth == 1 => kw_start = i + 1,
            _ => {}
        }
    }
    children
}

/// The (authority, code) of the outermost node's own `AUTHORITY[...]` or `ID[...]`.
fn top_level_authority(wkt: &str) -> Option<(&str, &str)> {
    let (_, inner) = top_level_children(wkt)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("AUTHORITY") || k.eq_ignore_ascii_case("ID"))?;
    let mut args = inner
        .splitn(3, ',')
        .map(|a| a.trim().trim_matches('"').trim());
    Some((args.next()?, args.next()?))
}

/// The name of the outermost node (its first quoted argument).
fn crs_name(wkt: &str) -> Option<&str> {
    let rest = &wkt[wkt.find(['[', '('])? + 1..];
    let rest = rest.trim_start().strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

/// ESRI WKT (what ArcGIS writes into `.prj` files) names the CRS but has no EPSG
/// authority. The names of the common cases map to EPSG codes by rule: WGS 84, ETRS89,
/// NAD83 and NAD27 UTM zones, WGS 84 geographic and Web Mercator. Anything else is `None`
/// (the caller warns and the user can call `Scene::with_crs`).
fn esri_name_to_epsg(wkt: &str) -> Option<u16> {
    let outer = if wkt.starts_with("PROJCS[") {
        "PROJCS[\""
    } else if wkt.starts_with("GEOGCS[") {
        "GEOGCS[\""
    } else {
        return None;
    };
    // Not `&wkt[outer.len()..]`: `PROJCS[` may be followed by a multi-byte character.
    let rest = wkt.strip_prefix(outer)?;
    let name = &rest[..rest.find('"')?];
    match name {
        "GCS_WGS_1984" => return Some(4326),
        "WGS_1984_Web_Mercator_Auxiliary_Sphere" => return Some(3857),
        _ => {}
    }
    let (datum, zone) = name.split_once("_UTM_Zone_")?;
    let (digits, north) = match zone.strip_suffix('N') {
        Some(d) => (d, true),
        None => (zone.strip_suffix('S')?, false),
    };
    let zone: u16 = digits.parse().ok().filter(|z| (1..=60).contains(z))?;
    match (datum, north) {
        ("WGS_1984", true) => Some(32600 + zone),
        ("WGS_1984", false) => Some(32700 + zone),
        ("ETRS_1989", true) if (28..=38).contains(&zone) => Some(25800 + zone),
        ("NAD_1983", true) if (1..=23).contains(&zone) => Some(26900 + zone),
        ("NAD_1927", true) if (1..=22).contains(&zone) => Some(26700 + zone),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prj_outer_authority() {
        let wkt = r#"PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",AUTHORITY["EPSG","4326"]],AUTHORITY["EPSG","32633"]]"#;
        assert_eq!(parse_prj(wkt), Ok(32633));
        assert_eq!(parse_prj("EPSG:3857"), Ok(3857));
    }

    /// ESRI WKT as `gdalsrsinfo -o wkt_esri EPSG:n` (GDAL 3.6) writes it, abridged after
    /// the names, which are all the parser reads.
    #[test]
    fn prj_esri_names() {
        let cases = [
            (
                r#"PROJCS["WGS_1984_UTM_Zone_33N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984"]]]"#,
                Some(32633),
            ),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_55S",GEOGCS["GCS_WGS_1984"]]"#,
                Some(32755),
            ),
            (
                r#"PROJCS["ETRS_1989_UTM_Zone_32N",GEOGCS["GCS_ETRS_1989"]]"#,
                Some(25832),
            ),
            (
                r#"PROJCS["NAD_1983_UTM_Zone_10N",GEOGCS["GCS_North_American_1983"]]"#,
                Some(26910),
            ),
            (
                r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984"]]"#,
                Some(3857),
            ),
            (
                r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]]"#,
                Some(4326),
            ),
            // not guessed: a name without a rule, a zone out of range, a southern ETRS zone
            (r#"PROJCS["CH1903+_LV95",GEOGCS["GCS_CH1903+"]]"#, None),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_61N",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            (
                r#"PROJCS["ETRS_1989_UTM_Zone_32S",GEOGCS["GCS_ETRS_1989"]]"#,
                None,
            ),
            // malformed: no hemisphere, a non-ASCII last character, no digits
            (
                r#"PROJCS["WGS_1984_UTM_Zone_33",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_33Ñ",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_N",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            (
                r#"PROJCS["WGS_1984_UTM_Zone_",GEOGCS["GCS_WGS_1984"]]"#,
                None,
            ),
            // the other datums' edges (names as gdalsrsinfo prints them)
            (
                r#"PROJCS["NAD_1927_UTM_Zone_17N",GEOGCS["GCS_North_American_1927"]]"#,
                Some(26717),
            ),
            (
                r#"PROJCS["ETRS_1989_UTM_Zone_38N",GEOGCS["GCS_ETRS_1989"]]"#,
                Some(25838),
            ),
            (
                r#"PROJCS["NAD_1983_UTM_Zone_23N",GEOGCS["GCS_North_American_1983"]]"#,
                Some(26923),
            ),
        ];
        for (wkt, epsg) in cases {
            assert_eq!(parse_prj(wkt).ok(), epsg, "{wkt}");
        }
    }

    /// A custom Lambert conformal conic on WGS 84 (as `gdalsrsinfo -o wkt1` writes it):
    /// authorities on the GEOGCS, DATUM, SPHEROID, PRIMEM and UNITs, none on the PROJCS.
    /// GDAL 3.6 `gdalsrsinfo -o epsg` says `EPSG:-1`; satdet must not say 4326 (nor 9001).
    pub(crate) const CUSTOM_LCC: &str = r#"PROJCS["Custom_LCC",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Lambert_Conformal_Conic_2SP"],PARAMETER["standard_parallel_1",33],PARAMETER["standard_parallel_2",45],PARAMETER["latitude_of_origin",39],PARAMETER["central_meridian",125],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]]]"#;

    #[test]
    fn only_the_top_level_authority_counts() {
        let e = parse_prj(CUSTOM_LCC).unwrap_err();
        assert!(
            e.contains("Custom_LCC") && e.contains("no EPSG authority"),
            "{e}"
        );
        // The same CRS with its own authority last, first, and in WKT2 form.
        let with = CUSTOM_LCC.replacen(
            "Custom_LCC\",",
            "Custom_LCC\",AUTHORITY[\"EPSG\",\"32652\"],",
            1,
        );
        assert_eq!(parse_prj(&with), Ok(32652));
        let wkt2 = r#"PROJCRS["WGS 84 / UTM zone 33N",BASEGEOGCRS["WGS 84",ID["EPSG",4326]],CONVERSION["UTM zone 33N",ID["EPSG",16033]],ID["EPSG",32633]]"#;
        assert_eq!(parse_prj(wkt2), Ok(32633));
        let wkt2_custom = r#"PROJCRS["custom",BASEGEOGCRS["WGS 84",ID["EPSG",4326]],CONVERSION["x",ID["EPSG",16033]]]"#;
        assert!(parse_prj(wkt2_custom).is_err());
        // Brackets inside quoted names do not nest.
        let quoted =
            r#"GEOGCS["odd ]name[",DATUM["D",AUTHORITY["EPSG","6326"]],AUTHORITY["EPSG","4326"]]"#;
        assert_eq!(parse_prj(quoted), Ok(4326));
        // Another authority, an unknown code, garbage: reasons, not guesses.
        let esri = r#"PROJCS["USA_Contiguous_Albers",GEOGCS["GCS",AUTHORITY["EPSG","4269"]],AUTHORITY["ESRI","102003"]]"#;
        assert!(parse_prj(esri).unwrap_err().contains("ESRI:102003"));
        assert!(parse_prj(r#"GEOGCS["x",AUTHORITY["EPSG","1"]]"#)
            .unwrap_err()
            .contains("EPSG:1"));
        assert!(parse_prj("EPSG:x").is_err());
        assert!(parse_prj("]]][[[").is_err());
    }

    /// Found by tests/fuzz_rasters.rs: a multi-byte character where the name's opening
    /// quote belongs panicked (a byte index inside a character).
    #[test]
    fn a_multibyte_character_after_the_keyword_is_no_panic() {
        assert!(parse_prj("PROJCS[\u{FFFD}WGS 84 \" UTM zone 33N\",0").is_err());
        assert!(parse_prj("GEOGCS[é").is_err());
    }

    #[test]
    fn reasons_quote_at_most_a_snippet_of_the_input() {
        let huge = format!("PROJCS[\"{}\"]", "n".repeat(1 << 20));
        let e = parse_prj(&huge).unwrap_err();
        assert!(e.len() < 300, "{}", e.len());
    }
}
