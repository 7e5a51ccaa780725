//! Streaming final detections: candidates are held until no later tile can change them.
//!
//! Seam merging is greedy suppression between boxes that overlap (of one class, and for
//! cut oriented boxes of any class), so it decomposes over the connected components of
//! the "envelopes touch" graph: merging each
//! component alone gives exactly what merging everything at once gives. Tiles arrive in
//! row-major order; once every tile of rows `0..=r` is done, no later candidate starts
//! above row `r + 1`'s top edge `y`. A component whose boxes all end at or above `y` can
//! never touch a later box (touching edges have no area to suppress with), so it is final:
//! merged and handed out. The rest waits. The concatenation of what is handed out is the
//! whole-scene merge, whatever the rows.

use crate::postprocess::{merge_tiles, rank, Candidate};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Candidates waiting for their neighbours.
#[derive(Debug, Default)]
pub(crate) struct Streamer {
    pending: Vec<Candidate>,
    iou: f64,
    ios: f64,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

impl Streamer {
    pub fn new(iou: f64, ios: f64) -> Self {
        Streamer {
            pending: Vec::new(),
            iou,
            ios,
        }
    }

    /// Candidates held.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn push(&mut self, cands: impl IntoIterator<Item = Candidate>) {
        self.pending.extend(cands);
    }

    /// Merges and returns (in rank order) every candidate that no candidate starting at or
    /// below `future_y0` can touch; `f64::INFINITY` finishes.
    pub fn finalize(&mut self, future_y0: f64) -> Vec<Candidate> {
        let n = self.pending.len();
        if n == 0 {
            return Vec::new();
        }
        let mut out = if future_y0 == f64::INFINITY {
            std::mem::take(&mut self.pending)
        } else {
            let env = |c: &Candidate| {
                let b = c.bbox;
                ([b.x0(), b.y0()], [b.x1(), b.y1()])
            };
            let mut parent: Vec<usize> = (0..n).collect();
            // Components join boxes of every class: the merge drops a cut oriented box
            // inside an uncut box of another class (`merge_tiles`).
            let tree: RTree<Entry> = RTree::bulk_load(
                self.pending
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let (a, b) = env(c);
                        GeomWithData::new(Rectangle::from_corners(a, b), i)
                    })
                    .collect(),
            );
            for (i, c) in self.pending.iter().enumerate() {
                let (a, b) = env(c);
                for e in tree.locate_in_envelope_intersecting(&AABB::from_corners(a, b)) {
                    let (ri, rj) = (find(&mut parent, i), find(&mut parent, e.data));
                    if ri != rj {
                        parent[ri] = rj;
                    }
                }
            }
            // A component is final when none of its boxes reaches below `future_y0`.
            let mut open = vec![false; n];
            for i in 0..n {
                if self.pending[i].bbox.y1() > future_y0 {
                    let r = find(&mut parent, i);
                    open[r] = true;
                }
            }
            let mut keep = Vec::new();
            let mut done = Vec::new();
            for (i, c) in std::mem::take(&mut self.pending).into_iter().enumerate() {
                if open[find(&mut parent, i)] {
                    keep.push(c);
                } else {
                    done.push(c);
                }
            }
            self.pending = keep;
            done
        };
        out = merge_tiles(out, self.iou, self.ios);
        out.sort_by(rank);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::PixelBox;
    use proptest::prelude::*;

    fn c(x: f64, y: f64, w: f64, h: f64, s: f32, tile: usize, cut: bool) -> Candidate {
        Candidate {
            bbox: PixelBox::new(x, y, x + w, y + h),
            oriented: None,
            score: s,
            class_id: (tile % 2) as u32,
            tile,
            clipped: cut,
        }
    }

    /// Streams `cands` (sorted by top edge) in rows of `stride` pixels and checks the
    /// concatenation equals the whole-scene merge.
    fn check_streaming(mut cands: Vec<Candidate>, stride: f64) -> Result<(), TestCaseError> {
        // Candidates of tile row r start at or below r * stride, as the grid makes them.
        cands.sort_by(|a, b| a.bbox.y0().total_cmp(&b.bbox.y0()));
        let mut whole = merge_tiles(cands.clone(), 0.5, 0.7);
        whole.sort_by(rank);
        let mut st = Streamer::new(0.5, 0.7);
        let mut streamed = Vec::new();
        let mut row = 0.0;
        let mut it = cands.into_iter().peekable();
        while it.peek().is_some() {
            while let Some(c) = it.next_if(|c| c.bbox.y0() < row + stride) {
                st.push([c]);
            }
            row += stride;
            streamed.extend(st.finalize(row));
        }
        streamed.extend(st.finalize(f64::INFINITY));
        streamed.sort_by(rank);
        prop_assert_eq!(streamed, whole);
        Ok(())
    }

    proptest! {
        /// Streaming by rows hands out exactly the whole-scene merge, whatever the rows.
        #[test]
        fn streamed_rows_concatenate_to_the_whole_merge(
            boxes in prop::collection::vec((0.0f64..300.0, 0.0f64..400.0, 2.0f64..60.0, 2.0f64..60.0, 0.05f32..1.0, 0usize..4, any::<bool>()), 0..80),
            stride in 20.0f64..150.0,
        ) {
            check_streaming(boxes.into_iter().map(|(x, y, w, h, s, t, cut)| c(x, y, w, h, s, t, cut)).collect(), stride)?;
        }

        /// The same with oriented footprints whose envelopes were clipped by their tiles
        /// (the footprint reaches past the box that streaming and the R-trees use), and
        /// several clipped to the same corner.
        #[test]
        fn streamed_oriented_rows_concatenate_to_the_whole_merge(
            boxes in prop::collection::vec((0.0f64..300.0, 0.0f64..400.0, 4.0f64..50.0, 0.0f64..180.0, 0.05f32..1.0, 0usize..4, any::<bool>()), 0..60),
            stride in 20.0f64..150.0,
        ) {
            let cands = boxes.into_iter().map(|(x, y, w, a, s, t, cut)| {
                let o = crate::geo::OrientedBox::new(x, y, w, 0.4 * w, a.to_radians());
                let e = o.envelope();
                // Clipped to a window whose top-left corner is on a 25 px grid.
                let (wx, wy) = ((x / 25.0).floor() * 25.0, (y / 25.0).floor() * 25.0);
                Candidate {
                    bbox: PixelBox::new(e.x0().max(wx), e.y0().max(wy), e.x1(), e.y1()),
                    oriented: Some(o),
                    ..c(x, y, 1.0, 1.0, s, t, cut)
                }
            });
            check_streaming(cands.collect(), stride)?;
        }
    }
}
