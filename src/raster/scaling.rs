//! How raw samples map to [0, 1]: plain data, shared by preprocessing (which applies it),
//! the report (which records it) and the quick-look (which draws with it).

/// Per-band linear scaling `clamp((v - lo) * inv_range, 0, 1)`; up to 4 bands.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// Sample value mapped to 0, per band.
    pub lo: [f32; 4],
    /// `1 / (hi - lo)`, per band.
    pub inv_range: [f32; 4],
}

impl Default for Scaling {
    /// 8-bit: `/255`.
    fn default() -> Self {
        Scaling::u8()
    }
}

impl Scaling {
    /// `v / 255` for 8-bit data.
    pub fn u8() -> Self {
        Scaling {
            lo: [0.0; 4],
            inv_range: [1.0 / 255.0; 4],
        }
    }

    /// `(v - lo) / (hi - lo)` per band; `hi <= lo` is widened to one sample step.
    pub fn from_range(lo: [f32; 4], hi: [f32; 4]) -> Self {
        let mut inv_range = [0.0; 4];
        for b in 0..4 {
            inv_range[b] = 1.0 / (hi[b] - lo[b]).max(1.0);
        }
        Scaling { lo, inv_range }
    }

    /// Scales one sample of `band`.
    #[inline]
    pub fn apply(&self, band: usize, v: u16) -> f32 {
        ((f32::from(v) - self.lo[band]) * self.inv_range[band]).clamp(0.0, 1.0)
    }
}
