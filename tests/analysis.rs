//! Sites and change between two dates on hand-built detections whose true answer is known:
//! ~4.5 m × 2 m vehicle boxes placed at given metre offsets from a lon/lat origin.

#[path = "analysis/props.rs"]
mod props;

use satdet::analysis::{
    change_by_site, compare, sites, ChangeKind, Site, DEFAULT_EPS_M, DEFAULT_MIN_OBJECTS,
    DEFAULT_TOLERANCE_M,
};
use satdet::{Detection, Error, PixelBox};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `d` wrapped into [-180, 180), as a reprojection writes longitudes.
fn wrap(d: f64) -> f64 {
    (d + 180.0).rem_euclid(360.0) - 180.0
}

/// The WGS84 position `east`, `north` metres from `origin` (`[lon, lat]`), through the
/// ellipsoid's radii of curvature (second-order error ~ d²/R: millimetres over a few km).
fn at(origin: [f64; 2], east: f64, north: f64) -> [f64; 2] {
    let (a, e2) = (6_378_137.0f64, 0.006_694_379_990_14);
    let radii = |lat: f64| {
        let s = lat.to_radians().sin();
        let w = 1.0 - e2 * s * s;
        (a / w.sqrt(), a * (1.0 - e2) / w.powf(1.5))
    };
    let (_, m) = radii(origin[1]);
    let lat = origin[1] + (north / m).to_degrees();
    let (n, _) = radii(lat);
    let lon = origin[0] + (east / (n * lat.to_radians().cos())).to_degrees();
    [wrap(lon), lat]
}

/// A `class` box of 4.5 m (east–west) × 2 m centred `east`, `north` metres from `origin`.
fn vehicle(origin: [f64; 2], class: &str, east: f64, north: f64) -> Detection {
    let c = |de: f64, dn: f64| at(origin, east + de, north + dn);
    Detection {
        class_id: match class {
            "car" => 0,
            "truck" => 1,
            _ => 2,
        },
        class_name: Arc::from(class),
        score: 0.8,
        pixel_box: PixelBox::new(0.0, 0.0, 15.0, 7.0),
        oriented: None,
        map_polygon: None,
        lonlat_polygon: Some([c(-2.25, 1.0), c(2.25, 1.0), c(2.25, -1.0), c(-2.25, -1.0)]),
    }
}

/// The known scene, as (class, metres east, metres north): site A (10 cars, 2 trucks) at
/// the origin, B (5 cars, 1 excavator) 1 km east, C (4 cars) 800 m west; noise: two lone
/// cars (12, 19) and a pair (24, 25).
fn recipe() -> Vec<(&'static str, f64, f64)> {
    let mut r = Vec::new();
    for k in 0..10 {
        r.push(("car", 8.0 * f64::from(k % 5), 12.0 * f64::from(k / 5)));
    }
    r.push(("truck", 45.0, 0.0));
    r.push(("truck", 45.0, 15.0));
    r.push(("car", 3000.0, 0.0));
    for k in 0..5 {
        r.push(("car", 1000.0 + 9.0 * f64::from(k), 500.0));
    }
    r.push(("excavator", 1020.0, 530.0));
    r.push(("car", 0.0, 3000.0));
    for k in 0..4 {
        r.push(("car", -800.0, 300.0 + 20.0 * f64::from(k)));
    }
    r.push(("car", 2000.0, 2000.0));
    r.push(("car", 2010.0, 2000.0));
    r
}

/// The known scene's detections and the member indices of A, B and C.
fn scene(origin: [f64; 2]) -> (Vec<Detection>, [Vec<usize>; 3]) {
    let d = recipe()
        .into_iter()
        .map(|(c, e, n)| vehicle(origin, c, e, n))
        .collect();
    (
        d,
        [(0..12).collect(), (13..19).collect(), (20..24).collect()],
    )
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

/// Whether a point lies inside a closed ring (crossing number, longitudes unwrapped).
fn inside(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
    let lon0 = ring[0][0];
    let x = lon0 + wrap(p[0] - lon0);
    let r: Vec<[f64; 2]> = ring
        .iter()
        .map(|q| [lon0 + wrap(q[0] - lon0), q[1]])
        .collect();
    let mut c = false;
    for w in r.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && x < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0])
        {
            c = !c;
        }
    }
    c
}

fn check_known_sites(origin: [f64; 2]) {
    let (dets, [a, b, c]) = scene(origin);
    let found = sites(&dets, DEFAULT_EPS_M, DEFAULT_MIN_OBJECTS).expect("sites");
    assert_eq!(found.len(), 3, "{origin:?}: {found:#?}");
    let ids: Vec<u32> = found.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(found[0].members, a);
    assert_eq!(found[1].members, b);
    assert_eq!(found[2].members, c);
    assert_eq!(found[0].counts, counts(&[("car", 10), ("truck", 2)]));
    assert_eq!(found[1].counts, counts(&[("car", 5), ("excavator", 1)]));
    assert_eq!(found[2].counts, counts(&[("car", 4)]));
    assert_eq!(
        found.iter().map(|s| s.total).collect::<Vec<_>>(),
        vec![12, 6, 4]
    );
    for s in &found {
        assert!((s.mean_score - 0.8).abs() < 1e-6);
        assert_eq!(s.polygon.first(), s.polygon.last(), "closed ring");
        let lons: Vec<f64> = s.polygon.iter().map(|p| p[0]).collect();
        let span = lons.iter().cloned().fold(f64::MIN, f64::max)
            - lons.iter().cloned().fold(f64::MAX, f64::min);
        assert!(span < 1.0, "{origin:?}: continuous longitudes, span {span}");
        // Counter-clockwise (positive signed area, longitudes unwrapped).
        let lon0 = s.polygon[0][0];
        let area: f64 = s
            .polygon
            .windows(2)
            .map(|w| {
                let (x0, x1) = (lon0 + wrap(w[0][0] - lon0), lon0 + wrap(w[1][0] - lon0));
                x0 * w[1][1] - x1 * w[0][1]
            })
            .sum();
        assert!(area > 0.0, "{origin:?}: counter-clockwise");
        for &m in &s.members {
            for corner in dets[m].lonlat_polygon.unwrap_or_default() {
                assert!(
                    inside(&s.polygon, corner),
                    "{origin:?}: corner of {m} inside"
                );
            }
        }
    }
    // Site C's centre: 800 m west, 330 m north of the origin.
    let expect = at(origin, -800.0, 330.0);
    let got = [found[2].center.lon, found[2].center.lat];
    let de = wrap(got[0] - expect[0]) * 111_320.0 * origin[1].to_radians().cos();
    let dn = (got[1] - expect[1]) * 110_950.0;
    assert!(
        de.hypot(dn) < 0.5,
        "{origin:?}: centre {got:?} vs {expect:?}"
    );
}

#[test]
fn sites_at_known_positions_have_exact_counts_order_and_outlines() {
    check_known_sites([124.4, 40.1]);
}

#[test]
fn sites_at_high_latitude_and_across_the_antimeridian() {
    check_known_sites([25.0, 70.0]);
    check_known_sites([-40.0, 82.0]);
    // Site A's boxes straddle 180°: corners written as 179.99… and -179.99….
    check_known_sites([179.9997, -16.5]);
    // And a scene written past 180° (longitudes above 180 kept as they are).
    let (dets, _) = scene([180.0, 65.0]);
    let past: Vec<Detection> = dets
        .into_iter()
        .map(|mut d| {
            if let Some(p) = d.lonlat_polygon.as_mut() {
                for c in p.iter_mut() {
                    c[0] = c[0].rem_euclid(360.0);
                }
            }
            d
        })
        .collect();
    let found = sites(&past, DEFAULT_EPS_M, DEFAULT_MIN_OBJECTS).expect("sites");
    assert_eq!(found.len(), 3);
    for s in &found {
        assert!(
            s.center.lon > 170.0 && s.center.lon < 190.0,
            "{:?}",
            s.center
        );
        assert!(s.polygon.iter().all(|p| p[0] > 170.0 && p[0] < 190.0));
    }
}

#[test]
fn noise_is_in_no_site_and_equal_totals_go_north_first() {
    let o = [10.0, 50.0];
    let mut dets = Vec::new();
    for k in 0..3 {
        dets.push(vehicle(o, "car", 10.0 * f64::from(k), 0.0)); // south group: 0, 1, 2
    }
    for k in 0..3 {
        dets.push(vehicle(o, "car", 10.0 * f64::from(k), 500.0)); // north group: 3, 4, 5
    }
    dets.push(vehicle(o, "car", 300.0, 300.0)); // alone: 6
    let found = sites(&dets, 20.0, 3).expect("sites");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].members, vec![3, 4, 5]);
    assert_eq!(found[1].members, vec![0, 1, 2]);
    assert!(found.iter().all(|s| !s.members.contains(&6)));
    // With min_objects 4 nothing is a site; with 1 every detection is.
    assert!(sites(&dets, 20.0, 4).expect("sites").is_empty());
    assert_eq!(sites(&dets, 20.0, 1).expect("sites").len(), 3);
    assert!(sites(&[], 20.0, 3).expect("none").is_empty());
}

#[test]
fn bad_parameters_and_missing_positions_are_errors() {
    let (mut dets, _) = scene([124.4, 40.1]);
    for eps in [0.0, -1.0, f64::NAN, f64::INFINITY, 10_001.0] {
        assert!(
            matches!(sites(&dets, eps, 3), Err(Error::Config(_))),
            "{eps}"
        );
    }
    assert!(matches!(sites(&dets, 50.0, 0), Err(Error::Config(_))));
    for tol in [0.0, -2.0, f64::NAN, 1e6] {
        assert!(
            matches!(compare(&dets, &dets, tol), Err(Error::Config(_))),
            "{tol}"
        );
    }
    let n = dets.len();
    dets[3].lonlat_polygon = None;
    dets[7].lonlat_polygon = None;
    let e = sites(&dets, 50.0, 3).unwrap_err();
    assert!(e.to_string().contains(&format!("2 of the {n}")), "{e}");
    let (good, _) = scene([124.4, 40.1]);
    let e = compare(&good, &dets, 3.0).unwrap_err();
    assert!(
        e.to_string().contains("AFTER") && e.to_string().contains("2 of"),
        "{e}"
    );
    let e = compare(&dets, &good, 3.0).unwrap_err();
    assert!(e.to_string().contains("BEFORE"), "{e}");
}

/// A reproducible jitter in [-a, a) from an index.
fn jitter(k: usize, a: f64) -> f64 {
    let x = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (x as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * a
}

/// Two dates of the known scene plus a row of 8 cars 3 m apart (indices 26..34; closer
/// than the shift, to test the offset's robustness): AFTER lost cars 0 and 5 and truck 10,
/// gained a car in site A and an excavator in site B, and is shifted by `shift` metres
/// with up to ±0.3 m of jitter per box and axis.
fn two_dates(origin: [f64; 2], shift: [f64; 2]) -> (Vec<Detection>, Vec<Detection>) {
    let mut spots = recipe();
    for k in 0..8 {
        spots.push(("car", 500.0, -200.0 + 3.0 * f64::from(k)));
    }
    let before = spots
        .iter()
        .map(|&(c, e, n)| vehicle(origin, c, e, n))
        .collect();
    let removed = [0usize, 5, 10];
    let mut after: Vec<Detection> = spots
        .iter()
        .enumerate()
        .filter(|(k, _)| !removed.contains(k))
        .map(|(k, &(class, e, n))| {
            let (de, dn) = (jitter(2 * k, 0.3), jitter(2 * k + 1, 0.3));
            vehicle(origin, class, e + shift[0] + de, n + shift[1] + dn)
        })
        .collect();
    after.push(vehicle(origin, "car", 20.0, 6.0));
    after.push(vehicle(origin, "excavator", 1020.0, 515.0));
    (before, after)
}

fn kinds(
    pairs: &[(&str, &[(ChangeKind, usize)])],
) -> BTreeMap<String, BTreeMap<ChangeKind, usize>> {
    pairs
        .iter()
        .map(|&(c, ks)| (c.to_string(), ks.iter().copied().collect()))
        .collect()
}

fn check_two_dates(origin: [f64; 2], shift: [f64; 2]) {
    let (before, after) = two_dates(origin, shift);
    let change = compare(&before, &after, DEFAULT_TOLERANCE_M).expect("compare");
    let err = (change.offset_m[0] - shift[0]).hypot(change.offset_m[1] - shift[1]);
    assert!(
        err < 0.25,
        "{origin:?}: offset {:?} vs {shift:?}",
        change.offset_m
    );
    assert!(change.offset_pairs >= 20, "{}", change.offset_pairs);
    use ChangeKind::*;
    // BEFORE: 31 cars, 2 trucks, 1 excavator; 2 cars and a truck gone.
    let expect = kinds(&[
        ("car", &[(Stayed, 29), (Gone, 2), (Appeared, 1)]),
        ("excavator", &[(Stayed, 1), (Appeared, 1)]),
        ("truck", &[(Stayed, 1), (Gone, 1)]),
    ]);
    assert_eq!(change.counts, expect, "{origin:?}");
    assert_eq!(change.objects.len(), 34 + 33 - 31);
    for o in &change.objects {
        match o.change {
            Stayed => {
                let (i, j) = (
                    o.before.unwrap_or(usize::MAX),
                    o.after.unwrap_or(usize::MAX),
                );
                assert_eq!(before[i].class_name, after[j].class_name);
                assert_eq!(o.detection, after[j]);
                let d = o.distance_m.unwrap_or(f64::NAN);
                assert!(d <= 0.3 * 2.0f64.sqrt() * 2.0 + 0.3, "{d}");
            }
            Gone => assert!(o.after.is_none() && o.distance_m.is_none()),
            Appeared => assert!(o.before.is_none() && o.distance_m.is_none()),
        }
    }
    let gone: Vec<usize> = change
        .objects
        .iter()
        .filter(|o| o.change == Gone)
        .filter_map(|o| o.before)
        .collect();
    assert_eq!(gone, vec![0, 5, 10]);
}

#[test]
fn change_between_two_dates_is_counted_exactly_and_the_offset_recovered() {
    check_two_dates([124.4, 40.1], [2.5, -2.0]);
    check_two_dates([124.4, 40.1], [-1.5, 2.8]);
    check_two_dates([25.0, 70.0], [2.0, 2.5]);
    check_two_dates([179.9997, -16.5], [-2.5, -1.0]);
}

#[test]
fn change_per_site_uses_the_sites_polygons() {
    let origin = [124.4, 40.1];
    let (before, after) = two_dates(origin, [2.5, -2.0]);
    let change = compare(&before, &after, DEFAULT_TOLERANCE_M).expect("compare");
    let found: Vec<Site> = sites(&before, DEFAULT_EPS_M, DEFAULT_MIN_OBJECTS).expect("sites");
    let per_site = change_by_site(&change, &found);
    assert_eq!(per_site.len(), found.len());
    use ChangeKind::*;
    // Site 1 (A): cars 0 and 5 and truck 10 gone, the new car at (20, 6) appeared.
    assert_eq!(per_site[0].site, 1);
    assert_eq!(
        per_site[0].counts,
        kinds(&[
            ("car", &[(Stayed, 8), (Gone, 2), (Appeared, 1)]),
            ("truck", &[(Stayed, 1), (Gone, 1)]),
        ])
    );
    // Site 2 is the row of 8 cars, site 3 (B) gained an excavator.
    assert_eq!(per_site[1].counts, kinds(&[("car", &[(Stayed, 8)])]));
    assert_eq!(
        per_site[2].counts,
        kinds(&[
            ("car", &[(Stayed, 5)]),
            ("excavator", &[(Stayed, 1), (Appeared, 1)]),
        ])
    );
    assert_eq!(per_site[3].counts, kinds(&[("car", &[(Stayed, 4)])]));
}

#[test]
fn comparing_with_nothing() {
    let (dets, _) = scene([124.4, 40.1]);
    let c = compare(&[], &dets, 3.0).expect("compare");
    assert_eq!(c.offset_pairs, 0);
    assert_eq!(c.offset_m, [0.0, 0.0]);
    assert!(c.objects.iter().all(|o| o.change == ChangeKind::Appeared));
    assert_eq!(c.objects.len(), dets.len());
    let c = compare(&dets, &[], 3.0).expect("compare");
    assert!(c.objects.iter().all(|o| o.change == ChangeKind::Gone));
    let c = compare(&[], &[], 3.0).expect("compare");
    assert!(c.objects.is_empty() && c.counts.is_empty());
}

/// Fewer than `MIN_OFFSET_PAIRS` pairs: no offset is estimated nor applied, and objects
/// are matched as they lie.
#[test]
fn too_few_pairs_give_no_offset() {
    let o = [124.4, 40.1];
    let before = vec![vehicle(o, "car", 0.0, 0.0), vehicle(o, "car", 100.0, 0.0)];
    let after = vec![vehicle(o, "car", 1.0, 0.5), vehicle(o, "car", 110.0, 0.0)];
    let c = compare(&before, &after, DEFAULT_TOLERANCE_M).expect("compare");
    assert_eq!((c.offset_m, c.offset_pairs), ([0.0, 0.0], 0));
    let kinds: Vec<ChangeKind> = c.objects.iter().map(|o| o.change).collect();
    assert_eq!(
        kinds,
        vec![ChangeKind::Stayed, ChangeKind::Appeared, ChangeKind::Gone]
    );
    let d = c.objects[0].distance_m.unwrap_or(f64::NAN);
    assert!((d - 1.25f64.sqrt()).abs() < 0.01, "{d}");
    assert_eq!(
        (c.objects[0].before, c.objects[0].after),
        (Some(0), Some(0))
    );
    assert_eq!((c.objects[2].before, c.objects[2].after), (Some(1), None));
}

/// The shrunk case of a property-test failure, pinned: a core (at the origin) whose three
/// neighbours (4 m out) each lie nearer (3 m) to a core of another cluster keeps only
/// itself; a cluster under `min_objects` is no site, and its core is noise.
#[test]
fn a_core_whose_neighbours_all_join_nearer_cores_is_no_site() {
    let o = [30.0, 45.0];
    let mut dets = vec![vehicle(o, "car", 0.0, 0.0)];
    for k in 0..3 {
        let t = f64::from(k) * std::f64::consts::TAU / 3.0;
        let (c, s) = (t.cos(), t.sin());
        dets.push(vehicle(o, "car", 4.0 * c, 4.0 * s)); // border
        dets.push(vehicle(o, "car", 7.0 * c, 7.0 * s)); // outer core
        for side in [-1.0, 0.0, 1.0] {
            dets.push(vehicle(o, "car", 10.0 * c - side * s, 10.0 * s + side * c));
        }
    }
    let found = sites(&dets, 5.0, 4).expect("sites");
    assert_eq!(found.len(), 3, "{found:#?}");
    for s in &found {
        assert_eq!(s.total, 5);
        assert!(!s.members.contains(&0));
    }
}
