//! DBSCAN on points in a metric plane, independent of the order of its input.
//!
//! `geo`'s `Dbscan` fits, except that it gives a border point (within `eps` of cores of
//! two clusters) to whichever cluster reaches it first, which depends on the input order.
//! Here clusters are the connected components of core points (a core has at least
//! `min_points` points within `eps`, itself included: the same definition as `geo`'s and
//! the 1996 paper's), and a border point joins the cluster of its nearest core (ties: the
//! core with the smaller `(x, y)`), so the clusters are the same for any order of the input.
//! Neighbour queries go through an `rstar` R-tree: about `n log n` plus the neighbour pairs.

use rstar::primitives::GeomWithData;
use rstar::RTree;

type Indexed = GeomWithData<[f64; 2], usize>;

/// A union-find over `0..n` with path halving; the root of a set is its smallest member.
pub(crate) struct Components(Vec<usize>);

impl Components {
    pub(crate) fn new(n: usize) -> Self {
        Components((0..n).collect())
    }
    pub(crate) fn root(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
    pub(crate) fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            // The smaller root wins, so roots do not depend on the join order.
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            self.0[hi] = lo;
        }
    }
}

fn cmp_xy(a: &[f64; 2], b: &[f64; 2]) -> std::cmp::Ordering {
    a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1]))
}

/// The cluster of each point (`None`: noise). Cluster numbers are dense from 0, in the
/// order of each cluster's smallest point index; which points share a cluster does not
/// depend on the input order. `eps` is inclusive; `min_points` counts the point itself.
pub(crate) fn dbscan(points: &[[f64; 2]], eps: f64, min_points: usize) -> Vec<Option<usize>> {
    let n = points.len();
    let tree: RTree<Indexed> = RTree::bulk_load(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| GeomWithData::new(*p, i))
            .collect(),
    );
    let eps2 = eps * eps;
    let core: Vec<bool> = points
        .iter()
        .map(|p| {
            min_points > 0
                && tree
                    .locate_within_distance(*p, eps2)
                    .take(min_points)
                    .count()
                    >= min_points
        })
        .collect();
    let mut comps = Components::new(n);
    for (i, p) in points.iter().enumerate() {
        if core[i] {
            for q in tree.locate_within_distance(*p, eps2) {
                if q.data > i && core[q.data] {
                    comps.join(i, q.data);
                }
            }
        }
    }
    // The core each point belongs through: itself, or its nearest core within eps.
    let mut anchor: Vec<Option<usize>> = vec![None; n];
    for (i, p) in points.iter().enumerate() {
        anchor[i] = if core[i] {
            Some(i)
        } else {
            tree.locate_within_distance(*p, eps2)
                .filter(|q| core[q.data])
                .map(|q| {
                    let d2 = (q.geom()[0] - p[0]).powi(2) + (q.geom()[1] - p[1]).powi(2);
                    (d2, *q.geom(), q.data)
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then(cmp_xy(&a.1, &b.1)))
                .map(|(_, _, j)| j)
        };
    }
    let mut number: Vec<Option<usize>> = vec![None; n];
    let mut next = 0;
    let mut labels = vec![None; n];
    for i in 0..n {
        if let Some(a) = anchor[i] {
            let r = comps.root(a);
            let id = *number[r].get_or_insert_with(|| {
                next += 1;
                next - 1
            });
            labels[i] = Some(id);
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::geo::{Dbscan, MultiPoint, Point};
    use proptest::prelude::*;

    fn partition(labels: &[Option<usize>]) -> Vec<Vec<usize>> {
        let k = labels.iter().flatten().max().map_or(0, |m| m + 1);
        let mut out = vec![Vec::new(); k];
        for (i, l) in labels.iter().enumerate() {
            if let Some(l) = l {
                out[*l].push(i);
            }
        }
        out.sort();
        out
    }

    #[test]
    fn two_groups_and_noise() {
        let pts = [
            [0.0, 0.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [10.0, 10.0],
            [11.0, 10.0],
            [10.0, 11.0],
            [50.0, 50.0],
        ];
        let l = dbscan(&pts, 1.5, 3);
        assert_eq!(
            l,
            vec![Some(0), Some(0), Some(0), Some(1), Some(1), Some(1), None]
        );
        assert_eq!(dbscan(&pts, 1.5, 0), vec![None; 7]);
        assert_eq!(dbscan(&[], 1.5, 3), Vec::<Option<usize>>::new());
    }

    /// A border point between two clusters joins the nearer core, whatever the order.
    #[test]
    fn a_border_point_joins_its_nearest_core() {
        // Two dense groups 0..3 at x≈0 and 3..6 at x≈10; point 6 at x=5.5 is within
        // eps=5 of the cores at x=1 and x=9 (no core itself: 3 neighbours with itself).
        let mut pts = vec![
            [0.0, 0.0],
            [0.5, 0.0],
            [1.0, 0.0],
            [9.0, 0.0],
            [9.5, 0.0],
            [10.0, 0.0],
            [5.5, 0.0],
        ];
        let l = dbscan(&pts, 5.0, 4);
        assert_eq!(l[6], l[3], "{l:?}");
        pts.reverse();
        let l = dbscan(&pts, 5.0, 4);
        assert_eq!(l[0], l[3], "{l:?}");
    }

    proptest! {
        /// Same cores and noise as `geo`'s DBSCAN, the same clusters up to border points,
        /// and the same partition for a reversed input.
        #[test]
        fn agrees_with_geo_and_ignores_order(
            raw in prop::collection::vec((0.0f64..200.0, 0.0f64..200.0), 0..120),
            eps in 1.0f64..30.0,
            min in 1usize..6,
        ) {
            let pts: Vec<[f64; 2]> = raw.iter().map(|&(x, y)| [x, y]).collect();
            let ours = dbscan(&pts, eps, min);
            let mp: MultiPoint<f64> = pts.iter().map(|p| Point::new(p[0], p[1])).collect();
            let theirs = mp.dbscan(eps, min);
            for i in 0..pts.len() {
                prop_assert_eq!(ours[i].is_none(), theirs[i].is_none(), "point {}", i);
            }
            let core: Vec<bool> = pts.iter().map(|p| pts.iter().filter(|q| {
                (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2) <= eps * eps
            }).count() >= min).collect();
            for i in 0..pts.len() {
                for j in 0..pts.len() {
                    if core[i] && core[j] {
                        prop_assert_eq!(ours[i] == ours[j], theirs[i] == theirs[j]);
                    }
                }
            }
            let rev: Vec<[f64; 2]> = pts.iter().rev().copied().collect();
            let back: Vec<Option<usize>> = dbscan(&rev, eps, min).into_iter().rev().collect();
            prop_assert_eq!(partition(&ours), partition(&back));
        }
    }
}
