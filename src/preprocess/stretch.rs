//! Scaling samples to [0, 1]: `/255` for 8-bit; for 16-bit a per-band percentile stretch
//! computed from a sample of windows (satellite 16-bit data rarely uses the full range:
//! WorldView's 11 bits sit in the bottom of it, so truncation or `/65535` would give a
//! near-black image).

use crate::raster::{MaskSpec, SampleType, Samples, TileBuf};

pub use crate::raster::Scaling;

/// The percentile stretch of the unmasked samples of `tiles`: per band, `low_pct` maps to
/// 0 and `high_pct` to 1 (e.g. 2 and 98). 8-bit data gets [`Scaling::u8`] whatever the
/// percentiles. Bands with no valid sample get the full 16-bit range.
pub fn percentile_stretch<'a>(
    tiles: impl IntoIterator<Item = &'a TileBuf>,
    mask: &MaskSpec,
    low_pct: f64,
    high_pct: f64,
) -> Scaling {
    let mut hist: Vec<Vec<u64>> = Vec::new();
    let mut sample = None;
    for t in tiles {
        sample = Some(t.sample_type());
        if t.sample_type() == SampleType::U8 {
            return Scaling::u8();
        }
        let bands = usize::from(t.bands());
        if hist.len() < bands {
            hist.resize(bands, vec![0u64; 65536]);
        }
        let Samples::U16(_) = t.samples() else {
            continue;
        };
        let w = t.window();
        for y in 0..w.height {
            for x in 0..w.width {
                if !t.is_valid(mask, x, y) {
                    continue;
                }
                for (b, h) in hist.iter_mut().enumerate().take(bands) {
                    h[usize::from(t.get(x, y, b as u16))] += 1;
                }
            }
        }
    }
    if sample.is_none() {
        return Scaling::from_range([0.0; 4], [65535.0; 4]);
    }
    let mut lo = [0.0f32; 4];
    let mut hi = [65535.0f32; 4];
    for (b, h) in hist.iter().enumerate().take(4) {
        let total: u64 = h.iter().sum();
        if total == 0 {
            continue;
        }
        lo[b] = percentile(h, total, low_pct) as f32;
        hi[b] = percentile(h, total, high_pct) as f32;
    }
    Scaling::from_range(lo, hi)
}

/// The smallest value whose cumulative count reaches `pct` % of `total`.
fn percentile(hist: &[u64], total: u64, pct: f64) -> usize {
    let target = ((pct / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut acc = 0;
    for (v, &c) in hist.iter().enumerate() {
        acc += c;
        if acc >= target {
            return v;
        }
    }
    hist.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::{BandLayout, Window};

    fn tile16(values: Vec<u16>) -> TileBuf {
        let n = values.len() as u32;
        TileBuf::from_samples(
            Window::new(0, 0, n, 1),
            1,
            BandLayout::Interleaved,
            Samples::U16(values),
        )
        .expect("tile")
    }

    #[test]
    fn stretch_maps_percentiles_to_0_and_1() {
        // 0..=999: the 2nd percentile is 19, the 98th is 979.
        let t = tile16((0..1000).collect());
        let s = percentile_stretch(
            [&t],
            &MaskSpec {
                alpha_band: None,
                nodata: None,
            },
            2.0,
            98.0,
        );
        assert_eq!(s.lo[0], 19.0);
        assert!((s.inv_range[0] - 1.0 / 960.0).abs() < 1e-9);
        assert_eq!(s.apply(0, 19), 0.0);
        assert_eq!(s.apply(0, 979), 1.0);
        assert_eq!(s.apply(0, 5000), 1.0, "clamped above");
        assert_eq!(s.apply(0, 0), 0.0, "clamped below");
    }

    #[test]
    fn stretch_ignores_nodata() {
        // Half the pixels are nodata 0: without the mask the low percentile would be 0.
        let mut v = vec![0u16; 500];
        v.extend(1000..1500);
        let t = tile16(v);
        let s = percentile_stretch(
            [&t],
            &MaskSpec {
                alpha_band: None,
                nodata: Some(0.0),
            },
            2.0,
            98.0,
        );
        assert!(s.lo[0] >= 1000.0, "{s:?}");
    }

    #[test]
    fn eight_bit_is_divided_by_255() {
        let t = TileBuf::from_samples(
            Window::new(0, 0, 2, 1),
            1,
            BandLayout::Interleaved,
            Samples::U8(vec![0, 255]),
        )
        .expect("tile");
        let s = percentile_stretch(
            [&t],
            &MaskSpec {
                alpha_band: None,
                nodata: None,
            },
            2.0,
            98.0,
        );
        assert_eq!(s, Scaling::u8());
        assert_eq!(s.apply(0, 255), 1.0);
    }
}
