//! One-to-one matching of objects of two dates: the most pairs, then the least total
//! distance, solved exactly per connected component of the "within tolerance" graph.
//!
//! The graph is sparse (an object has a handful of candidates within a few metres), so it
//! splits into small components: a row of parked cars at most. Each component is solved
//! with the Hungarian algorithm (`pathfinding`'s `kuhn_munkres`, `O(n³)`), on integer
//! weights `big − distance in mm` for candidate pairs and 0 otherwise, with `big` larger
//! than any sum of distances: maximising the weight maximises the number of pairs first,
//! then minimises their total distance (to the millimetre). A component with more than
//! [`EXACT_MAX`] objects on a side (far denser than vehicles at a few metres' tolerance)
//! is matched greedily instead, shortest distance first, to bound the time.

use super::dbscan::Components;
use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use std::collections::BTreeMap;

/// The largest component side solved exactly (500³ ≈ 10⁸ steps, well under a second).
pub(crate) const EXACT_MAX: usize = 500;

/// A candidate pair: index in the earlier set, index in the later set, distance in metres.
pub(crate) type Edge = (usize, usize, f64);

/// The matched pairs `(earlier, later)`. `b_rank` and `a_rank` give each object's rank in
/// an order that does not depend on the input's; ties between equally good matchings are
/// broken through it, so the result is the same for any input order.
pub(crate) fn assign(b_rank: &[usize], a_rank: &[usize], edges: &[Edge]) -> Vec<(usize, usize)> {
    let nb = b_rank.len();
    let mut comps = Components::new(nb + a_rank.len());
    for &(i, j, _) in edges {
        comps.join(i, nb + j);
    }
    let mut groups: BTreeMap<usize, Vec<Edge>> = BTreeMap::new();
    for &e in edges {
        groups.entry(comps.root(e.0)).or_default().push(e);
    }
    let mut out = Vec::new();
    for (_, group) in groups {
        let mut bs: Vec<usize> = group.iter().map(|e| e.0).collect();
        let mut as_: Vec<usize> = group.iter().map(|e| e.1).collect();
        bs.sort_by_key(|&i| b_rank[i]);
        bs.dedup();
        as_.sort_by_key(|&j| a_rank[j]);
        as_.dedup();
        if bs.len().max(as_.len()) <= EXACT_MAX {
            if let Some(pairs) = exact(&bs, &as_, &group) {
                out.extend(pairs);
                continue;
            }
        }
        out.extend(greedy(b_rank, a_rank, group));
    }
    out
}

/// Hungarian on one component; `None` only if the weight matrix cannot be built.
fn exact(bs: &[usize], as_: &[usize], edges: &[Edge]) -> Option<Vec<(usize, usize)>> {
    let pos_b: BTreeMap<usize, usize> = bs.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let pos_a: BTreeMap<usize, usize> = as_.iter().enumerate().map(|(k, &j)| (j, k)).collect();
    let mm = |d: f64| (d * 1000.0).round() as i64;
    let max_mm = edges.iter().map(|e| mm(e.2)).max().unwrap_or(0).max(0);
    let pairs = bs.len().min(as_.len()) as i64;
    // Any one more pair outweighs any difference in total distance.
    let big = (max_mm + 1).checked_mul(pairs + 1)?;
    // Rows are the smaller side (kuhn_munkres needs rows ≤ columns).
    let transpose = bs.len() > as_.len();
    let (rows, cols) = if transpose {
        (as_.len(), bs.len())
    } else {
        (bs.len(), as_.len())
    };
    let mut w = vec![0i64; rows.checked_mul(cols)?];
    let mut candidate = vec![false; rows * cols];
    for &(i, j, d) in edges {
        let (bi, aj) = (*pos_b.get(&i)?, *pos_a.get(&j)?);
        let (r, c) = if transpose { (aj, bi) } else { (bi, aj) };
        let weight = big - mm(d);
        // Several edges cannot join one pair, but keep the best if they did.
        if weight > w[r * cols + c] {
            w[r * cols + c] = weight;
            candidate[r * cols + c] = true;
        }
    }
    let matrix = Matrix::from_vec(rows, cols, w).ok()?;
    let (_, assignment) = kuhn_munkres(&matrix);
    Some(
        assignment
            .into_iter()
            .enumerate()
            .filter(|&(r, c)| candidate[r * cols + c])
            .map(|(r, c)| {
                if transpose {
                    (bs[c], as_[r])
                } else {
                    (bs[r], as_[c])
                }
            })
            .collect(),
    )
}

/// Shortest pairs first, ties by rank.
fn greedy(b_rank: &[usize], a_rank: &[usize], mut edges: Vec<Edge>) -> Vec<(usize, usize)> {
    edges.sort_by(|x, y| {
        x.2.total_cmp(&y.2)
            .then(b_rank[x.0].cmp(&b_rank[y.0]))
            .then(a_rank[x.1].cmp(&a_rank[y.1]))
    });
    let mut used_b = BTreeMap::new();
    let mut used_a = BTreeMap::new();
    let mut out = Vec::new();
    for (i, j, _) in edges {
        if !used_b.contains_key(&i) && !used_a.contains_key(&j) {
            used_b.insert(i, ());
            used_a.insert(j, ());
            out.push((i, j));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The best (most pairs, then least total distance) by trying every matching.
    fn brute(nb: usize, edges: &[Edge]) -> (usize, f64) {
        fn go(i: usize, nb: usize, edges: &[Edge], used: &mut Vec<usize>) -> (usize, f64) {
            if i == nb {
                return (0, 0.0);
            }
            let mut best = go(i + 1, nb, edges, used);
            for &(_, a, d) in edges.iter().filter(|e| e.0 == i) {
                if !used.contains(&a) {
                    used.push(a);
                    let (n, s) = go(i + 1, nb, edges, used);
                    used.pop();
                    let cand = (n + 1, s + d);
                    if cand.0 > best.0 || (cand.0 == best.0 && cand.1 < best.1 - 1e-6) {
                        best = cand;
                    }
                }
            }
            best
        }
        go(0, nb, edges, &mut Vec::new())
    }

    /// Greedy takes the shortest pair (0.5 m) and leaves one object unmatched; the
    /// optimum matches both.
    #[test]
    fn the_optimum_beats_greedy() {
        let edges = vec![(0, 0, 0.5), (0, 1, 1.0), (1, 0, 1.2)];
        let mut m = assign(&[0, 1], &[0, 1], &edges);
        m.sort();
        assert_eq!(m, vec![(0, 1), (1, 0)]);
        assert_eq!(greedy(&[0, 1], &[0, 1], edges).len(), 1);
    }

    proptest! {
        #[test]
        fn matches_are_one_to_one_and_optimal(
            nb in 0usize..6,
            na in 0usize..6,
            raw in prop::collection::vec((0usize..6, 0usize..6, 0.0f64..5.0), 0..14),
        ) {
            let mut edges: Vec<Edge> = raw.into_iter()
                .filter(|&(i, j, _)| i < nb && j < na)
                .collect();
            edges.sort_by_key(|e| (e.0, e.1));
            edges.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
            let rank_b: Vec<usize> = (0..nb).collect();
            let rank_a: Vec<usize> = (0..na).collect();
            let m = assign(&rank_b, &rank_a, &edges);
            let mut bs: Vec<usize> = m.iter().map(|p| p.0).collect();
            let mut as_: Vec<usize> = m.iter().map(|p| p.1).collect();
            bs.sort();
            bs.dedup();
            as_.sort();
            as_.dedup();
            prop_assert_eq!(bs.len(), m.len());
            prop_assert_eq!(as_.len(), m.len());
            let total: f64 = m.iter().map(|&(i, j)| {
                edges.iter().find(|e| e.0 == i && e.1 == j).map(|e| e.2).unwrap_or(f64::NAN)
            }).sum();
            let (n, best) = brute(nb, &edges);
            prop_assert_eq!(m.len(), n);
            prop_assert!((total - best).abs() < 0.01, "{} vs {}", total, best);
        }
    }
}
