//! The CPU reference preprocessor: the executable specification the GPU path is tested
//! against. Tiles of a batch are processed in parallel (rayon); the result does not depend
//! on the thread count.

use super::{InputSpec, Preprocessor};
use crate::error::{Error, Result};
use crate::raster::{BandLayout, Samples, TileBuf};
use rayon::prelude::*;

/// Bands a [`crate::preprocess::Scaling`] holds a range for.
const SCALED_BANDS: usize = 4;

/// Preprocessing on the CPU: a batch is computed when it is submitted.
#[derive(Debug, Default, Clone)]
pub struct CpuPreprocessor {
    /// The submitted batch, filled, until collected.
    done: Option<Vec<f32>>,
}

impl CpuPreprocessor {
    /// A CPU preprocessor.
    pub fn new() -> Self {
        CpuPreprocessor::default()
    }

    /// Fills `out` (exactly `tiles.len() * spec.input_len()` values) from `tiles`.
    pub fn fill(spec: &InputSpec, tiles: &[&TileBuf], scale: f32, out: &mut [f32]) -> Result<()> {
        check_batch(spec, tiles, scale, out)?;
        if let [t] = tiles {
            // One tile: on this thread (handing it to the pool would only wake a worker).
            one_tile(spec, t, scale, out);
            return Ok(());
        }
        out.par_chunks_exact_mut(spec.input_len())
            .zip(tiles.par_iter())
            .for_each(|(o, t)| one_tile(spec, t, scale, o));
        Ok(())
    }
}

/// The scaled [0, 1] value of source pixel (`x`, `y`) for output channel `c`, or the pad
/// value when the pixel is masked.
#[inline]
fn source(spec: &InputSpec, t: &TileBuf, x: u32, y: u32, c: usize) -> f32 {
    if (spec.mask.alpha_band.is_some() || spec.mask.nodata.is_some())
        && !t.is_valid(&spec.mask, x, y)
    {
        return spec.pad;
    }
    let band = spec.channels[c];
    spec.scaling.apply(usize::from(band), t.get(x, y, band))
}

/// Source coordinate and weight along one axis for output index `i` (align_corners =
/// false): `f = (i + 0.5) / scale - 0.5` clamped to `[0, n - 1]`.
#[inline]
pub(crate) fn axis_sample(i: u32, inv_scale: f32, n: u32) -> (u32, u32, f32) {
    let f = ((i as f32 + 0.5) * inv_scale - 0.5).clamp(0.0, (n - 1) as f32);
    let i0 = f.floor();
    let w = f - i0;
    let i0 = i0 as u32;
    (i0, (i0 + 1).min(n - 1), w)
}

fn one_tile(spec: &InputSpec, t: &TileBuf, scale: f32, out: &mut [f32]) {
    let win = t.window();
    let (ow, oh) = spec.placement(win.width, win.height, f64::from(scale));
    // A tile whose every pixel carries data takes the fast paths, which equal the general
    // one on it (masking never applies).
    let unmasked =
        (spec.mask.alpha_band.is_none() && spec.mask.nodata.is_none()) || t.all_valid(&spec.mask);
    match (unmasked, ow == win.width && oh == win.height) {
        (true, true) => copy_rows(spec, t, out),
        (true, false) => bilinear_rows(spec, t, scale, out),
        (false, _) => one_tile_generic(spec, t, scale, out),
    }
}

/// Where row `y`'s samples of `band` start in a tile's samples, and the step between
/// neighbouring pixels.
fn row_start(t: &TileBuf, band: usize) -> (usize, impl Fn(usize) -> usize) {
    let win = t.window();
    let (tw, th) = (win.width as usize, win.height as usize);
    let bands = usize::from(t.bands());
    let planar = t.layout() == BandLayout::Planar;
    let step = if planar { 1 } else { bands };
    (step, move |y: usize| {
        if planar {
            band * tw * th + y * tw
        } else {
            y * tw * bands + band
        }
    })
}

/// Resampled tiles without a mask: the column weights computed once per tile, each
/// sample through the same expressions as [`one_tile_generic`] (scaled, interpolated,
/// normalised in the same order), so the two agree bit for bit (tested).
fn bilinear_rows(spec: &InputSpec, t: &TileBuf, scale: f32, out: &mut [f32]) {
    let win = t.window();
    let (ow, oh) = spec.placement(win.width, win.height, f64::from(scale));
    let inv_scale = 1.0 / scale;
    let weights = |n: u32, side: u32| -> Vec<(usize, usize, f32)> {
        (0..n)
            .map(|i| {
                let (i0, i1, w) = axis_sample(i, inv_scale, side);
                (i0 as usize, i1 as usize, w)
            })
            .collect()
    };
    let grid = Bilinear {
        width: spec.width as usize,
        cols: weights(ow, win.width),
        rows: weights(oh, win.height),
    };
    let (w, h) = (spec.width as usize, spec.height as usize);
    for (c, plane) in out.chunks_exact_mut(w * h).enumerate() {
        let band = usize::from(spec.channels[c]);
        let norm = (spec.mean[c], spec.inv_std[c]);
        let (step, start) = row_start(t, band);
        // Matched on the sample type once per plane, not per sample.
        match t.samples() {
            Samples::U8(s) => {
                let lut: [f32; 256] = std::array::from_fn(|v| spec.scaling.apply(band, v as u16));
                grid.plane(
                    plane,
                    (step, &start),
                    |i| lut[usize::from(s[i])],
                    norm,
                    spec.pad,
                );
            }
            Samples::U16(s) => grid.plane(
                plane,
                (step, &start),
                |i| spec.scaling.apply(band, s[i]),
                norm,
                spec.pad,
            ),
        }
    }
}

/// The sampling grid of one resampled tile: source rows and columns with their weights
/// for each output row and column ([`axis_sample`]), the output row length.
struct Bilinear {
    width: usize,
    cols: Vec<(usize, usize, f32)>,
    rows: Vec<(usize, usize, f32)>,
}

impl Bilinear {
    /// Fills one output plane from `value(i)`, the scaled sample at flat index `i`, where
    /// source row `y` starts at `start(y)` and pixels are `step` apart ([`row_start`]);
    /// `(mean, inv_std)` normalise, the rest is `pad` normalised.
    fn plane(
        &self,
        plane: &mut [f32],
        (step, start): (usize, &dyn Fn(usize) -> usize),
        value: impl Fn(usize) -> f32,
        (mean, inv_std): (f32, f32),
        pad: f32,
    ) {
        let padded = (pad - mean) * inv_std;
        for (y, row) in plane.chunks_exact_mut(self.width).enumerate() {
            let Some(&(y0, y1, wy)) = self.rows.get(y) else {
                row.fill(padded);
                continue;
            };
            let (r0, r1) = (start(y0), start(y1));
            let (head, tail) = row.split_at_mut(self.cols.len());
            tail.fill(padded);
            for (o, &(x0, x1, wx)) in head.iter_mut().zip(&self.cols) {
                let a = value(r0 + x0 * step);
                let b = value(r0 + x1 * step);
                let cc = value(r1 + x0 * step);
                let d = value(r1 + x1 * step);
                let top = a + (b - a) * wx;
                let bottom = cc + (d - cc) * wx;
                *o = (top + (bottom - top) * wy - mean) * inv_std;
            }
        }
    }
}

/// The common case, tiles fed as they are without a mask: each output row is one strided
/// run of samples, each sample normalised by the same expression as
/// [`one_tile_generic`] (8-bit through a 256-entry table of it), so the two agree bit for
/// bit (tested).
fn copy_rows(spec: &InputSpec, t: &TileBuf, out: &mut [f32]) {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let win = t.window();
    let (tw, th) = (win.width as usize, win.height as usize);
    for (c, plane) in out.chunks_exact_mut(w * h).enumerate() {
        let band = usize::from(spec.channels[c]);
        let (mean, inv_std) = (spec.mean[c], spec.inv_std[c]);
        let padded = (spec.pad - mean) * inv_std;
        let norm = |v: u16| (spec.scaling.apply(band, v) - mean) * inv_std;
        let (step, start) = row_start(t, band);
        let lut: [f32; 256] = std::array::from_fn(|v| norm(v as u16));
        for (y, row) in plane.chunks_exact_mut(w).enumerate() {
            if y >= th {
                row.fill(padded);
                continue;
            }
            let (head, tail) = row.split_at_mut(tw.min(w));
            tail.fill(padded);
            let from = start(y);
            match t.samples() {
                Samples::U8(s) => {
                    for (o, &v) in head.iter_mut().zip(s[from..].iter().step_by(step)) {
                        *o = lut[usize::from(v)];
                    }
                }
                Samples::U16(s) => {
                    for (o, &v) in head.iter_mut().zip(s[from..].iter().step_by(step)) {
                        *o = norm(v);
                    }
                }
            }
        }
    }
}

/// Any placement and mask: every output pixel sampled bilinearly (or copied when the
/// placement is the identity) through [`source`].
fn one_tile_generic(spec: &InputSpec, t: &TileBuf, scale: f32, out: &mut [f32]) {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let win = t.window();
    let (ow, oh) = spec.placement(win.width, win.height, f64::from(scale));
    let identity = ow == win.width && oh == win.height;
    let inv_scale = 1.0 / scale;
    for (c, plane) in out.chunks_exact_mut(w * h).enumerate() {
        let padded = (spec.pad - spec.mean[c]) * spec.inv_std[c];
        for (y, row) in plane.chunks_exact_mut(w).enumerate() {
            let y = y as u32;
            if y >= oh {
                row.fill(padded);
                continue;
            }
            for (x, o) in row.iter_mut().enumerate() {
                let x = x as u32;
                if x >= ow {
                    *o = padded;
                    continue;
                }
                let v = if identity {
                    source(spec, t, x, y, c)
                } else {
                    let (x0, x1, wx) = axis_sample(x, inv_scale, win.width);
                    let (y0, y1, wy) = axis_sample(y, inv_scale, win.height);
                    let a = source(spec, t, x0, y0, c);
                    let b = source(spec, t, x1, y0, c);
                    let cc = source(spec, t, x0, y1, c);
                    let d = source(spec, t, x1, y1, c);
                    let top = a + (b - a) * wx;
                    let bottom = cc + (d - cc) * wx;
                    top + (bottom - top) * wy
                };
                *o = (v - spec.mean[c]) * spec.inv_std[c];
            }
        }
    }
}

impl Preprocessor for CpuPreprocessor {
    fn describe(&self) -> String {
        "cpu".into()
    }

    fn submit(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        mut out: Vec<f32>,
    ) -> Result<()> {
        if self.done.is_some() {
            return Err(Error::Config(
                "preprocess: a second CPU batch submitted before the first was collected".into(),
            ));
        }
        let n = submitted_len(spec, tiles, out.len())?;
        Self::fill(spec, tiles, scale, &mut out[..n])?;
        self.done = Some(out);
        Ok(())
    }

    fn collect(&mut self) -> Result<Vec<f32>> {
        self.done
            .take()
            .ok_or_else(|| Error::Config("preprocess: collect() without a submitted batch".into()))
    }

    fn cancel(&mut self) {
        self.done = None;
    }

    fn run(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: &mut [f32],
    ) -> Result<()> {
        // Straight into the caller's buffer: no hand-over, no copy.
        Self::fill(spec, tiles, scale, out)
    }
}

/// The values a submitted batch of `tiles` fills: an error when a buffer of `out_len`
/// values is too small for them.
pub(crate) fn submitted_len(spec: &InputSpec, tiles: &[&TileBuf], out_len: usize) -> Result<usize> {
    tiles
        .len()
        .checked_mul(spec.input_len())
        .filter(|&n| n <= out_len)
        .ok_or_else(|| {
            Error::Config(format!(
                "preprocess: the output buffer holds {out_len} values, fewer than {} tiles need",
                tiles.len()
            ))
        })
}

/// Checks the shapes every backend relies on.
pub(crate) fn check_batch(
    spec: &InputSpec,
    tiles: &[&TileBuf],
    scale: f32,
    out: &[f32],
) -> Result<()> {
    if out.len() != tiles.len() * spec.input_len() {
        return Err(Error::Config(format!(
            "preprocess: output holds {} values, {} tiles of 3x{}x{} need {}",
            out.len(),
            tiles.len(),
            spec.height,
            spec.width,
            tiles.len() * spec.input_len()
        )));
    }
    check_tiles(spec, tiles, scale)
}

/// Checks the tiles and scale of a batch.
pub(crate) fn check_tiles(spec: &InputSpec, tiles: &[&TileBuf], scale: f32) -> Result<()> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(Error::Config(format!(
            "preprocess: scale {scale} must be finite and positive"
        )));
    }
    if spec.width == 0 || spec.height == 0 {
        return Err(Error::Config(format!(
            "preprocess: an input of {}x{} pixels holds nothing",
            spec.width, spec.height
        )));
    }
    if let Some(&b) = spec
        .channels
        .iter()
        .find(|&&b| usize::from(b) >= SCALED_BANDS)
    {
        return Err(Error::Config(format!(
            "preprocess: channel map uses band {b}; the scaling covers bands 0-{}",
            SCALED_BANDS - 1
        )));
    }
    for t in tiles {
        if let Some(&b) = spec.channels.iter().find(|&&b| b >= t.bands()) {
            return Err(Error::Config(format!(
                "preprocess: channel map uses band {b} of a {}-band tile",
                t.bands()
            )));
        }
        if t.window().pixels() == 0 {
            return Err(Error::Config("preprocess: empty tile".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::Scaling;
    use crate::raster::{MaskSpec, Window};

    fn spec(w: u32, h: u32) -> InputSpec {
        InputSpec {
            width: w,
            height: h,
            channels: [0, 1, 2],
            scaling: Scaling::u8(),
            mean: [0.0; 3],
            inv_std: [1.0; 3],
            pad: 114.0 / 255.0,
            mask: MaskSpec {
                alpha_band: None,
                nodata: None,
            },
        }
    }

    #[test]
    fn golden_2x2_rgb_tile_in_3x3_input() {
        // Interleaved RGB: pixel (x, y) = (10x + y, 100, 255).
        let s = Samples::U8(vec![0, 100, 255, 10, 100, 255, 1, 100, 255, 11, 100, 255]);
        let t = TileBuf::from_samples(Window::new(0, 0, 2, 2), 3, BandLayout::Interleaved, s)
            .expect("tile");
        let sp = spec(3, 3);
        let mut out = vec![0.0; sp.input_len()];
        CpuPreprocessor::new()
            .run(&sp, &[&t], 1.0, &mut out)
            .expect("run");
        let p = 114.0 / 255.0;
        let r = [0.0, 10.0 / 255.0, p, 1.0 / 255.0, 11.0 / 255.0, p, p, p, p];
        for (i, v) in r.iter().enumerate() {
            assert!((out[i] - v).abs() < 1e-7, "R[{i}] = {} want {v}", out[i]);
        }
        assert!((out[9] - 100.0 / 255.0).abs() < 1e-7);
        assert_eq!(out[18], 1.0);
        assert!((out[26] - p).abs() < 1e-7, "padding in B");
    }

    #[test]
    fn planar_equals_interleaved() {
        let inter: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let mut planar = vec![0u8; inter.len()];
        for p in 0..9 {
            for b in 0..4 {
                planar[b * 9 + p] = inter[p * 4 + b];
            }
        }
        let w = Window::new(0, 0, 3, 3);
        let a =
            TileBuf::from_samples(w, 4, BandLayout::Interleaved, Samples::U8(inter)).expect("a");
        let b = TileBuf::from_samples(w, 4, BandLayout::Planar, Samples::U8(planar)).expect("b");
        let sp = spec(4, 4);
        let (mut oa, mut ob) = (vec![0.0; sp.input_len()], vec![0.0; sp.input_len()]);
        CpuPreprocessor::new()
            .run(&sp, &[&a], 1.0, &mut oa)
            .expect("a");
        CpuPreprocessor::new()
            .run(&sp, &[&b], 1.0, &mut ob)
            .expect("b");
        assert_eq!(oa, ob);
    }

    #[test]
    fn pan_band_fills_three_channels_and_upsampling_is_bilinear() {
        // A 2x1 pan tile [0, 255] doubled to 4x2: centres at x = -0.25, 0.25, 0.75, 1.25.
        let t = TileBuf::from_samples(
            Window::new(0, 0, 2, 1),
            1,
            BandLayout::Interleaved,
            Samples::U8(vec![0, 255]),
        )
        .expect("t");
        let mut sp = spec(4, 2);
        sp.channels = [0, 0, 0];
        let mut out = vec![0.0; sp.input_len()];
        CpuPreprocessor::new()
            .run(&sp, &[&t], 2.0, &mut out)
            .expect("run");
        let want = [0.0, 0.25, 0.75, 1.0];
        for c in 0..3 {
            for y in 0..2 {
                for x in 0..4 {
                    let v = out[c * 8 + y * 4 + x];
                    assert!((v - want[x]).abs() < 1e-6, "c{c} ({x},{y}) = {v}");
                }
            }
        }
    }

    #[test]
    fn masked_pixels_take_the_pad_value() {
        let t = TileBuf::from_samples(
            Window::new(0, 0, 2, 1),
            1,
            BandLayout::Interleaved,
            Samples::U8(vec![0, 200]),
        )
        .expect("t");
        let mut sp = spec(2, 1);
        sp.channels = [0, 0, 0];
        sp.mask.nodata = Some(0.0);
        let mut out = vec![0.0; sp.input_len()];
        CpuPreprocessor::new()
            .run(&sp, &[&t], 1.0, &mut out)
            .expect("run");
        assert_eq!(out[0], sp.pad);
        assert!((out[1] - 200.0 / 255.0).abs() < 1e-7);
    }

    /// A tile of pseudo-random samples (xorshift from `seed`): 8-bit, or 12-bit in u16.
    fn random_tile(win: Window, bands: u16, planar: bool, wide: bool, seed: u64) -> TileBuf {
        let n = win.pixels() as usize * usize::from(bands);
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let samples = if wide {
            Samples::U16((0..n).map(|_| (next() % 4096) as u16).collect())
        } else {
            Samples::U8((0..n).map(|_| next() as u8).collect())
        };
        let layout = if planar {
            BandLayout::Planar
        } else {
            BandLayout::Interleaved
        };
        TileBuf::from_samples(win, bands, layout, samples).expect("tile")
    }

    /// A `w` x `h` input reading channels `ch` (modulo `bands`); with `stretch`, a 16-bit
    /// range and an ImageNet mean/std normalisation.
    fn random_spec(
        w: u32,
        h: u32,
        ch: [u16; 3],
        bands: u16,
        stretch: Option<(f32, f32)>,
    ) -> InputSpec {
        let mut sp = spec(w, h);
        sp.channels = ch.map(|b| b % bands);
        if let Some((lo, hi)) = stretch {
            sp.scaling = Scaling::from_range([lo; 4], [hi; 4]);
            sp.mean = [0.485, 0.456, 0.406];
            sp.inv_std = [1.0 / 0.229, 1.0 / 0.224, 1.0 / 0.225];
        }
        sp
    }

    /// The bits of the outputs of a fast path and the general path on the same input.
    fn both(
        sp: &InputSpec,
        fast: impl FnOnce(&mut [f32]),
        general: impl FnOnce(&mut [f32]),
    ) -> (Vec<u32>, Vec<u32>) {
        let (mut a, mut b) = (
            vec![f32::NAN; sp.input_len()],
            vec![f32::NAN; sp.input_len()],
        );
        fast(&mut a);
        general(&mut b);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect();
        (bits(&a), bits(&b))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// The row-copy fast path gives exactly the general path's values: any sample
        /// type, layout, band count and channel map, tiles smaller than the input, a
        /// 16-bit stretch and a mean/std normalisation.
        #[test]
        fn row_copy_equals_the_general_path(
            tw in 1u32..12, th in 1u32..12, extra_w in 0u32..4, extra_h in 0u32..4,
            bands in 1u16..5, planar: bool, wide: bool, seed: u64,
            ch in proptest::array::uniform3(0u16..4),
            lo in 0.0f32..2000.0, span in 1.0f32..3000.0,
        ) {
            let t = random_tile(Window::new(3, 5, tw, th), bands, planar, wide, seed);
            let sp = random_spec(tw + extra_w, th + extra_h, ch, bands, wide.then_some((lo, lo + span)));
            let (fast, general) = both(&sp, |o| copy_rows(&sp, &t, o), |o| one_tile_generic(&sp, &t, 1.0, o));
            proptest::prop_assert_eq!(fast, general);
        }

        /// The same for resampled tiles: the bilinear fast path equals the general path
        /// bit for bit at any scale, up or down.
        #[test]
        fn bilinear_rows_equal_the_general_path(
            tw in 1u32..20, th in 1u32..20, side in 1u32..24,
            bands in 1u16..5, planar: bool, wide: bool, seed: u64,
            ch in proptest::array::uniform3(0u16..4),
            scale in 0.2f32..4.0,
        ) {
            let t = random_tile(Window::new(0, 0, tw, th), bands, planar, wide, seed);
            let sp = random_spec(side, side, ch, bands, wide.then_some((100.0, 3000.0)));
            // An identity placement is copied, not interpolated, by both paths.
            let (ow, oh) = sp.placement(tw, th, f64::from(scale));
            proptest::prop_assume!((ow, oh) != (tw, th));
            let (fast, general) = both(&sp, |o| bilinear_rows(&sp, &t, scale, o), |o| one_tile_generic(&sp, &t, scale, o));
            proptest::prop_assert_eq!(fast, general);
        }
    }

    #[test]
    fn an_empty_input_or_a_fifth_band_is_an_error_not_a_panic() {
        let t = TileBuf::from_samples(
            Window::new(0, 0, 1, 1),
            5,
            BandLayout::Interleaved,
            Samples::U8(vec![1, 2, 3, 4, 5]),
        )
        .expect("t");
        let mut sp = spec(0, 4);
        assert!(CpuPreprocessor::new()
            .run(&sp, &[&t], 1.0, &mut [])
            .is_err());
        sp = spec(2, 2);
        sp.channels = [4, 0, 0];
        let mut out = vec![0.0; sp.input_len()];
        let e = CpuPreprocessor::new()
            .run(&sp, &[&t], 1.0, &mut out)
            .expect_err("band 4");
        assert!(e.to_string().contains("band 4"), "{e}");
    }

    #[test]
    fn a_tile_larger_than_the_input_is_cropped_to_it() {
        // A 3x2 tile into a 2x2 input at scale 1: the placement crops to 2x2, which goes
        // through the bilinear path with whole-pixel weights, so the top-left 2x2 pixels
        // come out unchanged.
        let s = Samples::U8(vec![10, 20, 30, 40, 50, 60]);
        let t = TileBuf::from_samples(Window::new(0, 0, 3, 2), 1, BandLayout::Interleaved, s)
            .expect("t");
        let mut sp = spec(2, 2);
        sp.channels = [0, 0, 0];
        let mut out = vec![0.0; sp.input_len()];
        CpuPreprocessor::new()
            .run(&sp, &[&t], 1.0, &mut out)
            .expect("run");
        let want = [10.0, 20.0, 40.0, 50.0].map(|v: f32| v / 255.0);
        for c in 0..3 {
            for (got, want) in out[c * 4..c * 4 + 4].iter().zip(want) {
                assert!((got - want).abs() < 1e-7, "channel {c}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn wrong_output_size_is_an_error() {
        let t = TileBuf::from_samples(
            Window::new(0, 0, 1, 1),
            3,
            BandLayout::Interleaved,
            Samples::U8(vec![1, 2, 3]),
        )
        .expect("t");
        let sp = spec(2, 2);
        let mut out = vec![0.0; 5];
        assert!(CpuPreprocessor::new()
            .run(&sp, &[&t], 1.0, &mut out)
            .is_err());
    }
}
