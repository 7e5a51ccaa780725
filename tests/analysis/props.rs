//! Property tests of sites and change, and a timing check on many detections.

use super::{jitter, vehicle};
use proptest::prelude::*;
use satdet::analysis::{
    compare, sites, ChangeKind, DEFAULT_EPS_M, DEFAULT_MIN_OBJECTS, DEFAULT_TOLERANCE_M,
};
use satdet::Detection;

/// Random detections on a lattice (positions multiples of 7 m, so no distance is within
/// 1 % of eps = 20 m) and a permutation of them.
fn lattice() -> impl Strategy<Value = (Vec<(u8, i32, i32)>, Vec<usize>)> {
    prop::collection::vec((0u8..2, -12i32..12, -12i32..12), 0..60).prop_flat_map(|v| {
        let n = v.len();
        (Just(v), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
    })
}

fn build(origin: [f64; 2], v: &[(u8, i32, i32)]) -> Vec<Detection> {
    v.iter()
        .map(|&(c, e, n)| {
            let class = if c == 0 { "car" } else { "truck" };
            vehicle(origin, class, 7.0 * f64::from(e), 7.0 * f64::from(n))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Sites partition a subset of the input; each site is linked by steps of at most eps
    /// and has at least min members; noise is within eps of no core; the same detections
    /// in another order give the same sites.
    #[test]
    fn sites_are_dbscan_and_ignore_order((v, perm) in lattice(), min in 1usize..5) {
        let origin = [124.4, 70.0];
        let dets = build(origin, &v);
        let eps = 20.0;
        let found = sites(&dets, eps, min).expect("sites");
        let pos: Vec<(f64, f64)> = v.iter().map(|&(_, e, n)| (7.0 * f64::from(e), 7.0 * f64::from(n))).collect();
        let near = |a: usize, b: usize| (pos[a].0 - pos[b].0).hypot(pos[a].1 - pos[b].1) <= eps;
        let core: Vec<bool> = (0..v.len()).map(|i| (0..v.len()).filter(|&j| near(i, j)).count() >= min).collect();
        let mut seen = vec![false; v.len()];
        for s in &found {
            prop_assert!(s.members.len() >= min);
            prop_assert_eq!(s.total, s.members.len());
            let mut reached = vec![s.members[0]];
            let mut k = 0;
            while k < reached.len() {
                let m = reached[k];
                for &o in &s.members {
                    if !reached.contains(&o) && near(m, o) {
                        reached.push(o);
                    }
                }
                k += 1;
            }
            prop_assert_eq!(reached.len(), s.members.len(), "eps-chain");
            for &m in &s.members {
                prop_assert!(!seen[m], "in two sites");
                seen[m] = true;
            }
        }
        // Noise: no core within eps, or a nearest one whose cluster was too small to keep.
        let d = |a: usize, b: usize| (pos[a].0 - pos[b].0).hypot(pos[a].1 - pos[b].1);
        for i in 0..v.len() {
            if !seen[i] {
                let cores: Vec<usize> = (0..v.len()).filter(|&j| core[j] && near(i, j)).collect();
                if let Some(best) = cores.iter().map(|&j| d(i, j)).min_by(f64::total_cmp) {
                    prop_assert!(
                        cores.iter().any(|&j| d(i, j) <= best + 1e-6 && !seen[j]),
                        "noise {} whose nearest cores are all in sites", i
                    );
                }
            }
        }
        let shuffled: Vec<Detection> = perm.iter().map(|&k| dets[k].clone()).collect();
        let again = sites(&shuffled, eps, min).expect("sites");
        prop_assert_eq!(found.len(), again.len());
        for (a, b) in found.iter().zip(&again) {
            let mut mapped: Vec<usize> = b.members.iter().map(|&k| perm[k]).collect();
            mapped.sort_unstable();
            prop_assert_eq!(&a.members, &mapped);
            prop_assert_eq!((a.id, &a.counts, a.total, &a.polygon, a.center), (b.id, &b.counts, b.total, &b.polygon, b.center));
        }
    }

    /// Every object of both dates is reported exactly once; stayed pairs are of one class
    /// and within the tolerance; the result does not depend on the order of either input.
    #[test]
    fn compare_reports_every_object_once_whatever_the_order(
        (v, perm) in lattice(),
        (w, perm2) in lattice(),
        dx in -3.0f64..3.0,
        dy in -3.0f64..3.0,
    ) {
        let origin = [-179.9999, 60.0];
        let before = build(origin, &v);
        let after: Vec<Detection> = w.iter().map(|&(c, e, n)| {
            let class = if c == 0 { "car" } else { "truck" };
            vehicle(origin, class, 7.0 * f64::from(e) + dx, 7.0 * f64::from(n) + dy)
        }).collect();
        let tol = DEFAULT_TOLERANCE_M;
        let change = compare(&before, &after, tol).expect("compare");
        let mut in_before = vec![0; before.len()];
        let mut in_after = vec![0; after.len()];
        for o in &change.objects {
            if let Some(i) = o.before { in_before[i] += 1; }
            if let Some(j) = o.after { in_after[j] += 1; }
            if o.change == ChangeKind::Stayed {
                let (i, j) = (o.before.unwrap_or(0), o.after.unwrap_or(0));
                prop_assert_eq!(&before[i].class_name, &after[j].class_name);
                prop_assert!(o.distance_m.unwrap_or(f64::NAN) <= tol);
            }
        }
        prop_assert!(in_before.iter().all(|&n| n == 1));
        prop_assert!(in_after.iter().all(|&n| n == 1));
        let total: usize = change.counts.values().flat_map(|m| m.values()).sum();
        prop_assert_eq!(total, change.objects.len());

        let b2: Vec<Detection> = perm.iter().map(|&k| before[k].clone()).collect();
        let a2: Vec<Detection> = perm2.iter().map(|&k| after[k].clone()).collect();
        let again = compare(&b2, &a2, tol).expect("compare");
        prop_assert_eq!(change.offset_m, again.offset_m);
        prop_assert_eq!(change.offset_pairs, again.offset_pairs);
        prop_assert_eq!(&change.counts, &again.counts);
        // The stayed pairs, as (earlier, later) detections: the same, whatever the order
        // (identical detections are interchangeable, so indices are not compared).
        let pairs = |c: &satdet::analysis::Change, b: &[Detection], a: &[Detection]| {
            let mut p: Vec<String> = c.objects.iter()
                .filter(|o| o.change == ChangeKind::Stayed)
                .map(|o| {
                    let (i, j) = (o.before.unwrap_or(0), o.after.unwrap_or(0));
                    format!("{:?} {:?} {:?}", b[i], a[j], o.distance_m)
                })
                .collect();
            p.sort_unstable();
            p
        };
        prop_assert_eq!(pairs(&change, &before, &after), pairs(&again, &b2, &a2));
    }
}

/// Many detections stay fast: an R-tree for every neighbour query, small matching
/// components. (20 000 a date here to keep the suite quick; 100 000 take about as long per
/// object.)
#[test]
fn many_detections_are_quick() {
    let n: usize = std::env::var("SATDET_ANALYSIS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
        / 10
        * 10;
    let origin = [124.4, 40.1];
    // Groups of 10 cars 6 m apart on a 150 m grid (21 km square for 100 000).
    let side = ((n / 10) as f64).sqrt().ceil() as usize;
    let mut before = Vec::with_capacity(n);
    for k in 0..n {
        let g = k / 10;
        let (gx, gy) = ((g % side) as f64 * 150.0, (g / side) as f64 * 150.0);
        let (e, m) = (gx + 6.0 * (k % 10) as f64, gy + jitter(k, 20.0).abs());
        before.push(vehicle(origin, "car", e, m));
    }
    let after: Vec<Detection> = before
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 7 != 0)
        .map(|(k, _)| {
            let g = k / 10;
            let (gx, gy) = ((g % side) as f64 * 150.0, (g / side) as f64 * 150.0);
            let (e, m) = (gx + 6.0 * (k % 10) as f64, gy + jitter(k, 20.0).abs());
            vehicle(origin, "car", e + 2.0, m + 1.0)
        })
        .collect();
    let t = std::time::Instant::now();
    let found = sites(&before, DEFAULT_EPS_M, DEFAULT_MIN_OBJECTS).expect("sites");
    let t_sites = t.elapsed();
    let t = std::time::Instant::now();
    let change = compare(&before, &after, DEFAULT_TOLERANCE_M).expect("compare");
    let t_compare = t.elapsed();
    eprintln!(
        "{n}: sites {t_sites:?} ({} sites), compare {t_compare:?}",
        found.len()
    );
    assert_eq!(found.len(), n / 10);
    assert!(found.iter().all(|s| s.total == 10));
    assert!((change.offset_m[0] - 2.0).abs() < 0.1 && (change.offset_m[1] - 1.0).abs() < 0.1);
    let gone = change.counts["car"][&ChangeKind::Gone];
    assert_eq!(gone, before.len() - after.len(), "{:?}", change.counts);
    assert!(t_sites.as_secs() < 20 && t_compare.as_secs() < 20);
}
