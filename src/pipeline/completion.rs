//! Which tiles of a run are done, in row-major order: rows whose every tile is done can
//! be merged and handed out.

use std::collections::BTreeSet;

/// Tiles done in row-major order: the frontier below which every tile is done (tiles
/// outside the area of interest, never read, count as done from the start).
pub(crate) struct Completion {
    pub frontier: usize,
    ahead: BTreeSet<usize>,
    pub skipped: usize,
    pub processed: usize,
    /// Per tile of the grid, whether it is outside the area of interest (empty: none is).
    outside: Vec<bool>,
}

impl Completion {
    pub fn new(grid_len: usize, only: Option<&[usize]>) -> Self {
        let outside = match only {
            Some(ix) => {
                let mut out = vec![true; grid_len];
                for &i in ix {
                    if let Some(o) = out.get_mut(i) {
                        *o = false;
                    }
                }
                out
            }
            None => Vec::new(),
        };
        let mut c = Completion {
            frontier: 0,
            ahead: BTreeSet::new(),
            skipped: 0,
            processed: 0,
            outside,
        };
        c.advance();
        c
    }

    fn advance(&mut self) {
        loop {
            if self.outside.get(self.frontier).copied().unwrap_or(false)
                || self.ahead.remove(&self.frontier)
            {
                self.frontier += 1;
            } else {
                break;
            }
        }
    }

    pub fn mark(&mut self, index: usize) {
        self.ahead.insert(index);
        self.advance();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_outside_the_area_count_as_done_from_the_start() {
        // Grid of 6; only tiles 2 and 4 are read.
        let mut c = Completion::new(6, Some(&[2, 4]));
        assert_eq!(c.frontier, 2, "tiles 0 and 1 are outside");
        c.mark(4);
        assert_eq!(c.frontier, 2);
        c.mark(2);
        assert_eq!(c.frontier, 6, "3 and 5 are outside");
        let mut all = Completion::new(3, None);
        all.mark(1);
        assert_eq!(all.frontier, 0);
        all.mark(0);
        all.mark(2);
        assert_eq!(all.frontier, 3);
        assert_eq!(Completion::new(4, Some(&[])).frontier, 4);
    }
}
