//! Change between two dates: the global offset between the two sets, then a one-to-one
//! matching of objects of the same class within a tolerance.

use super::matching::{assign, Edge};
use super::plane::{box_center, LocalPlane};
use super::{lonlat_polygons, Change, ChangeKind, ChangedObject};
use crate::detection::Detection;
use crate::error::{Error, Result};
use rstar::primitives::GeomWithData;
use rstar::RTree;
use std::collections::BTreeMap;

/// Default matching tolerance of [`compare`], metres, after removing the global offset.
///
/// At 0.3–0.6 m per pixel a vehicle is 8–15 pixels long; a box centre jitters by 1–2
/// pixels (up to about 1 m) between two runs, and what a global offset leaves of the
/// misregistration of two orthorectified images (relief, view angle) is typically 1–2 m.
/// A car re-parked in its own bay moves under a metre. That adds up to about 3 m. Larger,
/// and a car gone from one bay is matched with a car that appeared in the next one (bays
/// are about 2.5 m apart); smaller, and objects that stayed are reported as gone and
/// appeared.
pub const DEFAULT_TOLERANCE_M: f64 = 3.0;

/// The largest tolerance accepted, metres (beyond it "the same object" means little, and
/// matching weights stay far from overflow).
pub const MAX_TOLERANCE_M: f64 = 1000.0;

/// How far apart, metres, two objects of the same class may be to vote for the global
/// offset: generous, since two orthorectified products of the same place typically
/// disagree by up to about 10 m.
pub const OFFSET_SEARCH_M: f64 = 25.0;

/// The fewest mutual nearest-neighbour pairs from which an offset is estimated; with fewer,
/// no offset is applied (and [`Change::offset_pairs`] is 0).
pub const MIN_OFFSET_PAIRS: usize = 3;

/// Side of the cells in which pair vectors vote for the offset, metres.
const VOTE_CELL_M: f64 = 1.0;

/// Refinement stops when the offset moves less than this, metres, or after
/// `MAX_REFINEMENTS` rounds.
const CONVERGED_M: f64 = 1e-3;
const MAX_REFINEMENTS: usize = 10;

/// Peaks of the all-pairs vote tried as offsets, besides the nearest-neighbour mode.
const OFFSET_CANDIDATES: usize = 4;

/// Neighbours of one object, nearest first, that vote in the all-pairs vote.
const MAX_NEIGHBOURS_VOTING: usize = 16;

type Indexed = GeomWithData<[f64; 2], usize>;

/// One date's objects in the plane, with an R-tree per class.
struct Side<'a> {
    dets: &'a [Detection],
    centers: Vec<[f64; 2]>,
    trees: BTreeMap<&'a str, RTree<Indexed>>,
    /// Each object's rank in an order independent of the input's.
    rank: Vec<usize>,
}

impl<'a> Side<'a> {
    fn new(dets: &'a [Detection], polys: &[[[f64; 2]; 4]], plane: &LocalPlane) -> Result<Self> {
        let centers: Vec<[f64; 2]> = polys
            .iter()
            .map(|p| plane.corners(p).map(|c| box_center(&c)))
            .collect::<Result<_>>()?;
        let mut by_class: BTreeMap<&str, Vec<Indexed>> = BTreeMap::new();
        for (i, (d, c)) in dets.iter().zip(&centers).enumerate() {
            by_class
                .entry(&d.class_name)
                .or_default()
                .push(GeomWithData::new(*c, i));
        }
        let trees = by_class
            .into_iter()
            .map(|(k, v)| (k, RTree::bulk_load(v)))
            .collect();
        let mut order: Vec<usize> = (0..dets.len()).collect();
        order.sort_by(|&a, &b| {
            centers[a][0]
                .total_cmp(&centers[b][0])
                .then(centers[a][1].total_cmp(&centers[b][1]))
                .then(dets[a].class_name.cmp(&dets[b].class_name))
                .then(dets[a].score.total_cmp(&dets[b].score))
        });
        let mut rank = vec![0; dets.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        Ok(Side {
            dets,
            centers,
            trees,
            rank,
        })
    }

    /// The nearest object of `class` to `p` within `radius`; equally near ones by
    /// position, so the choice does not depend on the input order.
    fn nearest(&self, class: &str, p: [f64; 2], radius: f64) -> Option<usize> {
        let tree = self.trees.get(class)?;
        let mut it = tree.nearest_neighbor_iter_with_distance_2(&p);
        let (first, d0) = it.next()?;
        if d0 > radius * radius {
            return None;
        }
        let mut best = first;
        for (q, d) in it {
            if d > d0 {
                break;
            }
            if (q.geom()[0], q.geom()[1], self.rank[q.data])
                < (best.geom()[0], best.geom()[1], self.rank[best.data])
            {
                best = q;
            }
        }
        Some(best.data)
    }
}

fn add(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] + b[0], a[1] + b[1]]
}

fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

/// The vectors `after − before` of mutual nearest neighbours of the same class, the
/// later set shifted back by `shift`, within `radius`.
fn mutual_pairs(b: &Side, a: &Side, shift: [f64; 2], radius: f64) -> Vec<[f64; 2]> {
    let mut out = Vec::new();
    for (i, d) in b.dets.iter().enumerate() {
        let class: &str = &d.class_name;
        let Some(j) = a.nearest(class, add(b.centers[i], shift), radius) else {
            continue;
        };
        if b.nearest(class, sub(a.centers[j], shift), radius) == Some(i) {
            out.push(sub(a.centers[j], b.centers[i]));
        }
    }
    out
}

/// The median of each component.
fn median(vs: &[[f64; 2]]) -> [f64; 2] {
    let mut out = [0.0; 2];
    for (k, o) in out.iter_mut().enumerate() {
        let mut c: Vec<f64> = vs.iter().map(|v| v[k]).collect();
        c.sort_by(|x, y| x.total_cmp(y));
        let n = c.len();
        *o = match n {
            0 => 0.0,
            _ if n % 2 == 1 => c[n / 2],
            _ => 0.5 * (c[n / 2 - 1] + c[n / 2]),
        };
    }
    out
}

/// The vectors that fall in the 3 × 3 block of `VOTE_CELL_M` cells holding the most of
/// them (ties: the block with the smaller cell coordinates): the mode of the votes, with
/// the pairs whose nearest neighbour was a different object left out.
fn mode_block(vs: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let cell = |v: &[f64; 2]| {
        (
            (v[0] / VOTE_CELL_M).floor() as i64,
            (v[1] / VOTE_CELL_M).floor() as i64,
        )
    };
    let mut counts: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for v in vs {
        *counts.entry(cell(v)).or_default() += 1;
    }
    let block = |c: (i64, i64)| {
        let mut n = 0;
        for dx in -1..=1 {
            for dy in -1..=1 {
                n += counts.get(&(c.0 + dx, c.1 + dy)).copied().unwrap_or(0);
            }
        }
        n
    };
    let mut best: Option<((i64, i64), usize)> = None;
    for &c in counts.keys() {
        let n = block(c);
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((c, n));
        }
    }
    let Some((centre, _)) = best else {
        return Vec::new();
    };
    vs.iter()
        .filter(|v| {
            let c = cell(v);
            (c.0 - centre.0).abs() <= 1 && (c.1 - centre.1).abs() <= 1
        })
        .copied()
        .collect()
}

/// Vectors `after − before` of every same-class pair within `radius` (at most
/// `MAX_NEIGHBOURS_VOTING` nearest per object, so dense car parks stay bounded).
fn all_pairs(b: &Side, a: &Side, radius: f64) -> Vec<[f64; 2]> {
    let mut out = Vec::new();
    for (i, d) in b.dets.iter().enumerate() {
        let Some(tree) = a.trees.get(&*d.class_name) else {
            continue;
        };
        for (q, d2) in tree
            .nearest_neighbor_iter_with_distance_2(&b.centers[i])
            .take(MAX_NEIGHBOURS_VOTING)
        {
            if d2 > radius * radius {
                break;
            }
            out.push(sub(*q.geom(), b.centers[i]));
        }
    }
    out
}

/// The centres of the `k` 3 × 3 blocks of `VOTE_CELL_M` cells holding the most vectors,
/// no two overlapping, as starting offsets (most votes first; ties by cell).
fn vote_peaks(vs: &[[f64; 2]], k: usize) -> Vec<[f64; 2]> {
    let cell = |v: &[f64; 2]| {
        (
            (v[0] / VOTE_CELL_M).floor() as i64,
            (v[1] / VOTE_CELL_M).floor() as i64,
        )
    };
    let mut counts: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for v in vs {
        *counts.entry(cell(v)).or_default() += 1;
    }
    let mut blocks: Vec<((i64, i64), usize)> = counts
        .keys()
        .map(|&c| {
            let mut n = 0;
            for dx in -1..=1 {
                for dy in -1..=1 {
                    n += counts.get(&(c.0 + dx, c.1 + dy)).copied().unwrap_or(0);
                }
            }
            (c, n)
        })
        .collect();
    blocks.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let mut chosen: Vec<(i64, i64)> = Vec::new();
    for (c, _) in blocks {
        if chosen.len() == k {
            break;
        }
        if chosen
            .iter()
            .all(|o| (o.0 - c.0).abs() > 2 || (o.1 - c.1).abs() > 2)
        {
            chosen.push(c);
        }
    }
    chosen
        .into_iter()
        .map(|c| {
            let inside: Vec<[f64; 2]> = vs
                .iter()
                .filter(|v| {
                    let d = cell(v);
                    (d.0 - c.0).abs() <= 1 && (d.1 - c.1).abs() <= 1
                })
                .copied()
                .collect();
            median(&inside)
        })
        .collect()
}

/// Refines a starting offset with the median of the residuals of the mutual pairs within
/// the tolerance; the offset and how many pairs it rests on at the end.
fn refine(b: &Side, a: &Side, start: [f64; 2], tolerance_m: f64) -> ([f64; 2], usize) {
    let mut offset = start;
    let mut used = mutual_pairs(b, a, offset, tolerance_m).len();
    for _ in 0..MAX_REFINEMENTS {
        let pairs = mutual_pairs(b, a, offset, tolerance_m);
        if pairs.len() < MIN_OFFSET_PAIRS {
            break;
        }
        let residuals: Vec<[f64; 2]> = pairs.iter().map(|v| sub(*v, offset)).collect();
        let step = median(&residuals);
        offset = add(offset, step);
        used = mutual_pairs(b, a, offset, tolerance_m).len();
        if step[0].hypot(step[1]) < CONVERGED_M {
            break;
        }
    }
    (offset, used)
}

/// The global offset (metres east, north) of the later set and the pairs it rests on.
///
/// Candidates: the mode of the mutual-nearest-neighbour vectors, and the
/// `OFFSET_CANDIDATES` strongest peaks of the vectors of every same-class pair within
/// [`OFFSET_SEARCH_M`]. When the offset is more than half the spacing of the objects,
/// nearest neighbours are the wrong objects and the first candidate is wrong; the true
/// offset is still a peak of all pairs. Each candidate is refined, and the one that
/// pairs the most objects within the tolerance wins (ties: the smaller offset).
fn estimate_offset(b: &Side, a: &Side, tolerance_m: f64) -> ([f64; 2], usize) {
    let mut starts = Vec::new();
    let votes = mode_block(&mutual_pairs(b, a, [0.0, 0.0], OFFSET_SEARCH_M));
    if votes.len() >= MIN_OFFSET_PAIRS {
        starts.push(median(&votes));
    }
    starts.extend(vote_peaks(
        &all_pairs(b, a, OFFSET_SEARCH_M),
        OFFSET_CANDIDATES,
    ));
    let mut best: Option<([f64; 2], usize)> = None;
    for s in starts {
        let (offset, used) = refine(b, a, s, tolerance_m);
        if used < MIN_OFFSET_PAIRS {
            continue;
        }
        let better = match best {
            None => true,
            Some((o, u)) => {
                used > u || (used == u && offset[0].hypot(offset[1]) < o[0].hypot(o[1]))
            }
        };
        if better {
            best = Some((offset, used));
        }
    }
    best.unwrap_or(([0.0, 0.0], 0))
}

/// Compares the detections of two dates of the same place.
///
/// 1. **Offset.** Two images of different dates are never perfectly co-registered. Each
///    object is paired with its nearest neighbour of the same class (same class name) in
///    the other set when that is mutual and within [`OFFSET_SEARCH_M`]; the pair vectors
///    vote in 1 m cells, and the median of the vectors in the densest 3 × 3 cells is a
///    first offset (this leaves out pairs of two different neighbours, however many).
///    When the offset is larger than half the spacing of the objects, nearest neighbours
///    are the wrong objects: the strongest peaks of the vote of every same-class pair
///    within [`OFFSET_SEARCH_M`] are tried too. Each candidate is refined (pairs formed
///    again with it applied and within `tolerance_m`, the median of their residuals
///    added, until it moves less than 1 mm, 10 rounds at most), and the one that pairs
///    the most objects wins. With fewer than [`MIN_OFFSET_PAIRS`] pairs no offset is
///    applied.
/// 2. **Matching.** With the offset removed, objects of the same class within
///    `tolerance_m` of each other are matched one to one: the most pairs, then the least
///    total distance, solved exactly with the Hungarian algorithm on each connected
///    component of the candidate graph (greedily, shortest first, for a component of more
///    than 500 objects a side).
///
/// Every object is reported once: each object of `after` as `stayed` (with its distance
/// to its match after the offset) or `appeared`, in `after`'s order, then each unmatched
/// object of `before` as `gone`, in `before`'s order. For the same detections in any
/// order, the offset, the counts and which objects stayed, appeared or went are the same
/// (up to ties between identical detections).
///
/// Distances are measured as in [`sites`](fn@super::sites): a local transverse Mercator
/// plane on the WGS84 ellipsoid, centred on both sets. The offset's east and north are
/// that plane's axes: true east and north at its centre, turned by the meridian
/// convergence elsewhere (about Δlon · sin lat: 1.2° at the edge of a 100 km scene at
/// 70°N, 4 cm on a 2 m offset); the offset is applied as one vector in the plane.
///
/// # Errors
/// [`Error::Config`] when `tolerance_m` is not in (0, [`MAX_TOLERANCE_M`]] or a detection
/// of either set has no [`Detection::lonlat_polygon`] (saying how many, of which set);
/// [`Error::Reproject`] for a corner that is not a WGS84 position.
///
/// # Example
/// ```
/// use satdet::analysis::{compare, ChangeKind, DEFAULT_TOLERANCE_M};
/// use satdet::{Detection, PixelBox};
/// use std::sync::Arc;
///
/// // A car box about 4.5 m × 2 m, `east`/`north` metres from 40.1°N 124.4°E.
/// let car = |east: f64, north: f64| {
///     let (dlon, dlat) = (1.0 / (111_320.0 * 40.1f64.to_radians().cos()), 1.0 / 110_950.0);
///     let (lon, lat) = (124.4 + east * dlon, 40.1 + north * dlat);
///     let (w, h) = (2.25 * dlon, 1.0 * dlat);
///     Detection {
///         class_id: 0,
///         class_name: Arc::from("car"),
///         score: 0.9,
///         pixel_box: PixelBox::new(0.0, 0.0, 15.0, 7.0),
///         oriented: None,
///         map_polygon: None,
///         lonlat_polygon: Some([
///             [lon - w, lat + h],
///             [lon + w, lat + h],
///             [lon + w, lat - h],
///             [lon - w, lat - h],
///         ]),
///     }
/// };
/// let spots = [(0.0, 0.0), (20.0, 0.0), (40.0, 10.0), (0.0, 30.0), (60.0, 50.0)];
/// let before: Vec<_> = spots.iter().map(|&(e, n)| car(e, n)).collect();
/// // The later image is 2 m east and 1 m south; the last car left, another came.
/// let mut after: Vec<_> = spots[..4].iter().map(|&(e, n)| car(e + 2.0, n - 1.0)).collect();
/// after.push(car(100.0, 100.0));
/// let change = compare(&before, &after, DEFAULT_TOLERANCE_M)?;
/// assert!((change.offset_m[0] - 2.0).abs() < 0.05 && (change.offset_m[1] + 1.0).abs() < 0.05);
/// assert_eq!(change.counts["car"][&ChangeKind::Stayed], 4);
/// assert_eq!(change.counts["car"][&ChangeKind::Appeared], 1);
/// assert_eq!(change.counts["car"][&ChangeKind::Gone], 1);
/// # Ok::<(), satdet::Error>(())
/// ```
pub fn compare(before: &[Detection], after: &[Detection], tolerance_m: f64) -> Result<Change> {
    if !(tolerance_m > 0.0 && tolerance_m <= MAX_TOLERANCE_M) {
        return Err(Error::Config(format!(
            "compare: the tolerance must be a number of metres in (0, {MAX_TOLERANCE_M}], \
             not {tolerance_m}"
        )));
    }
    let pb = lonlat_polygons(before, "earlier (BEFORE) detections")?;
    let pa = lonlat_polygons(after, "later (AFTER) detections")?;
    let mut change = Change {
        offset_m: [0.0, 0.0],
        offset_pairs: 0,
        tolerance_m,
        objects: Vec::with_capacity(before.len() + after.len()),
        counts: BTreeMap::new(),
    };
    let all: Vec<[f64; 2]> = pb.iter().chain(&pa).flatten().copied().collect();
    if all.is_empty() {
        return Ok(change);
    }
    let plane = LocalPlane::around(&all)?;
    let b = Side::new(before, &pb, &plane)?;
    let a = Side::new(after, &pa, &plane)?;
    let (offset, pairs) = estimate_offset(&b, &a, tolerance_m);
    change.offset_m = offset;
    change.offset_pairs = pairs;

    let mut edges: Vec<Edge> = Vec::new();
    for (j, d) in after.iter().enumerate() {
        let Some(tree) = b.trees.get(&*d.class_name) else {
            continue;
        };
        let p = sub(a.centers[j], offset);
        for q in tree.locate_within_distance(p, tolerance_m * tolerance_m) {
            let dist = (q.geom()[0] - p[0]).hypot(q.geom()[1] - p[1]);
            edges.push((q.data, j, dist));
        }
    }
    let mut match_of_after: Vec<Option<(usize, f64)>> = vec![None; after.len()];
    let mut matched_before = vec![false; before.len()];
    let dist: BTreeMap<(usize, usize), f64> = edges.iter().map(|e| ((e.0, e.1), e.2)).collect();
    for (i, j) in assign(&b.rank, &a.rank, &edges) {
        match_of_after[j] = Some((i, dist.get(&(i, j)).copied().unwrap_or(f64::NAN)));
        matched_before[i] = true;
    }
    for (j, d) in after.iter().enumerate() {
        let (kind, before_index, distance_m) = match match_of_after[j] {
            Some((i, dist)) => (ChangeKind::Stayed, Some(i), Some(dist)),
            None => (ChangeKind::Appeared, None, None),
        };
        push(&mut change, kind, d, before_index, Some(j), distance_m);
    }
    for (i, d) in before.iter().enumerate() {
        if !matched_before[i] {
            push(&mut change, ChangeKind::Gone, d, Some(i), None, None);
        }
    }
    Ok(change)
}

fn push(
    change: &mut Change,
    kind: ChangeKind,
    d: &Detection,
    before: Option<usize>,
    after: Option<usize>,
    distance_m: Option<f64>,
) {
    *change
        .counts
        .entry(d.class_name.to_string())
        .or_default()
        .entry(kind)
        .or_default() += 1;
    change.objects.push(ChangedObject {
        change: kind,
        detection: d.clone(),
        before,
        after,
        distance_m,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_each_component() {
        assert_eq!(median(&[]), [0.0, 0.0]);
        assert_eq!(median(&[[1.0, 5.0], [3.0, -1.0], [2.0, 0.0]]), [2.0, 0.0]);
        assert_eq!(median(&[[1.0, 5.0], [3.0, -1.0]]), [2.0, 2.0]);
    }

    /// Pairs of neighbours in a dense row vote together for a wrong vector; the mode
    /// block keeps the larger consistent group, and the median is taken inside it.
    #[test]
    fn the_vote_leaves_out_a_consistent_minority() {
        let mut votes = Vec::new();
        for k in 0..10 {
            let j = f64::from(k) * 0.04 - 0.2;
            votes.push([2.5 + j, -2.0 - j]);
        }
        for _ in 0..8 {
            votes.push([2.5, 1.0]);
        }
        votes.extend([[-20.0, 3.0], [14.0, 14.0], [0.0, -9.0]]);
        let block = mode_block(&votes);
        assert_eq!(block.len(), 10, "{block:?}");
        let m = median(&block);
        assert!(
            (m[0] - 2.5).abs() < 0.05 && (m[1] + 2.0).abs() < 0.05,
            "{m:?}"
        );
        assert!(mode_block(&[]).is_empty());
    }
}
