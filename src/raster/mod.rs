//! Scenes: a raster's header, georeferencing and masks, read window by window into
//! caller-owned, reused buffers.
//!
//! A [`Scene`] reads through a [`WindowSource`]: the GeoTIFF reader (the whole scene is
//! never decoded at once), PNG and JPEG (no random access: decoded once on the first read,
//! within [`crate::Limits::max_window_bytes`]), an in-memory image
//! ([`Scene::from_array`], [`Scene::from_image`]), or a reader of your own
//! ([`Scene::from_source`]). All of them go through the same tiling, masks and stretch.
//! A GeoTIFF may also be an object in storage (`https://`, `s3://`, `gs://`, `az://`):
//! [`Scene::open`] reads its header and the chunks each window needs by range requests.

mod band_names;
mod bytes;
mod image_file;
mod jpeg_end;
mod memory;
mod other_format;
mod overview;
mod remote;
mod scaling;
mod scene;
mod sidecar;
mod source;
mod tiff;

pub(crate) use band_names::NamedBy;
pub use memory::ArraySample;
pub use overview::Overview;
pub use scaling::Scaling;
pub use scene::Scene;
pub use source::WindowSource;

use crate::error::{Error, Result};

/// Characters of a decoder's error message (`tiff`, `image`) an error quotes.
const DECODER_MESSAGE_CHARS: usize = 300;

/// Sample type of a raster's bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleType {
    /// 8-bit unsigned.
    U8,
    /// 16-bit unsigned.
    U16,
}

impl SampleType {
    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            SampleType::U8 => 1,
            SampleType::U16 => 2,
        }
    }
    /// The largest sample value.
    pub fn max_value(self) -> f64 {
        match self {
            SampleType::U8 => 255.0,
            SampleType::U16 => 65535.0,
        }
    }
}

/// How the bands of a window are laid out in memory, as the file stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandLayout {
    /// `RGBRGB…`: all bands of a pixel together (TIFF "chunky").
    Interleaved,
    /// One full plane per band (TIFF "planar").
    Planar,
}

/// A rectangle of scene pixels: `x`, `y` of the top-left pixel, `width` × `height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

impl Window {
    /// A window.
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Window {
            x,
            y,
            width,
            height,
        }
    }
    /// Pixels in the window.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
    /// One past the right column.
    pub fn x_end(&self) -> u64 {
        u64::from(self.x) + u64::from(self.width)
    }
    /// One past the bottom row.
    pub fn y_end(&self) -> u64 {
        u64::from(self.y) + u64::from(self.height)
    }
}

/// Which pixels carry no data. A pixel is masked when its alpha sample is 0, or when every
/// colour band equals the nodata value (GDAL's per-pixel reading of the nodata tag).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskSpec {
    /// Band index of an alpha band, if the raster has one.
    pub alpha_band: Option<u16>,
    /// The nodata value (GDAL tag 42113 or equivalent), if any.
    pub nodata: Option<f64>,
}

impl MaskSpec {
    /// The nodata value as a `sample`-typed value, when it is one (an integer in the
    /// sample's range); `None` when there is no nodata value or it matches no sample
    /// (e.g. -9999 or 0.5), in which case no pixel is nodata.
    pub fn nodata_sample(&self, sample: SampleType) -> Option<u16> {
        self.nodata
            .filter(|v| v.fract() == 0.0 && (0.0..=sample.max_value()).contains(v))
            .map(|v| v as u16)
    }
}

/// What a scene's header says: size, bands, sample type, layout, masks. A
/// [`WindowSource`] of your own fills one in.
#[derive(Debug, Clone, PartialEq)]
pub struct RasterInfo {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Bands, alpha included (1 to 4).
    pub bands: u16,
    /// Sample type.
    pub sample: SampleType,
    /// How windows of this raster are laid out.
    pub layout: BandLayout,
    /// Alpha band and nodata.
    pub mask: MaskSpec,
    /// A short description of the storage (format, strips/tiles, compression).
    pub storage: String,
}

impl RasterInfo {
    /// An interleaved raster without nodata whose last band is alpha when `alpha`.
    pub fn interleaved(
        width: u32,
        height: u32,
        bands: u16,
        sample: SampleType,
        alpha: bool,
        storage: String,
    ) -> Self {
        RasterInfo {
            width,
            height,
            bands,
            sample,
            layout: BandLayout::Interleaved,
            mask: MaskSpec {
                alpha_band: alpha.then(|| bands.saturating_sub(1)),
                nodata: None,
            },
            storage,
        }
    }

    /// Colour bands: all bands but alpha.
    pub fn color_bands(&self) -> u16 {
        self.bands - u16::from(self.mask.alpha_band.is_some())
    }
}

/// The samples of one window, in the file's sample type and band layout.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// 8-bit samples.
    U8(Vec<u8>),
    /// 16-bit samples.
    U16(Vec<u16>),
}

/// A window's samples, writable in place ([`TileBuf::samples_mut`]).
#[derive(Debug, PartialEq)]
pub enum SamplesMut<'a> {
    /// 8-bit samples.
    U8(&'a mut [u8]),
    /// 16-bit samples.
    U16(&'a mut [u16]),
}

/// A window's samples, reused from window to window to avoid per-tile allocation.
#[derive(Debug, Clone, PartialEq)]
pub struct TileBuf {
    window: Window,
    bands: u16,
    layout: BandLayout,
    samples: Samples,
}

impl Default for TileBuf {
    fn default() -> Self {
        TileBuf::new()
    }
}

impl TileBuf {
    /// An empty buffer; `Scene::read_window` sizes it.
    pub fn new() -> Self {
        TileBuf {
            window: Window::new(0, 0, 0, 0),
            bands: 0,
            layout: BandLayout::Interleaved,
            samples: Samples::U8(Vec::new()),
        }
    }

    /// A buffer holding the given samples (for tests and benchmarks; the length must be
    /// `width × height × bands`).
    pub fn from_samples(
        window: Window,
        bands: u16,
        layout: BandLayout,
        samples: Samples,
    ) -> Result<Self> {
        let n = match &samples {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        };
        let want = window.pixels() as usize * usize::from(bands);
        if n != want || bands == 0 {
            return Err(Error::Config(format!(
                "TileBuf::from_samples: {n} samples for a {}x{} window of {bands} bands (want {want})",
                window.width, window.height
            )));
        }
        Ok(TileBuf {
            window,
            bands,
            layout,
            samples,
        })
    }

    /// Resizes for a window, keeping the allocation when it is large enough.
    pub(crate) fn reset(
        &mut self,
        window: Window,
        bands: u16,
        sample: SampleType,
        layout: BandLayout,
    ) {
        let n = window.pixels() as usize * usize::from(bands);
        self.window = window;
        self.bands = bands;
        self.layout = layout;
        match (sample, &mut self.samples) {
            (SampleType::U8, Samples::U8(v)) => v.resize(n, 0),
            (SampleType::U16, Samples::U16(v)) => v.resize(n, 0),
            (SampleType::U8, s) => *s = Samples::U8(vec![0; n]),
            (SampleType::U16, s) => *s = Samples::U16(vec![0; n]),
        }
    }

    /// The scene window these samples came from.
    pub fn window(&self) -> Window {
        self.window
    }
    /// Bands per pixel.
    pub fn bands(&self) -> u16 {
        self.bands
    }
    /// Band layout.
    pub fn layout(&self) -> BandLayout {
        self.layout
    }
    /// The samples.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }
    /// The samples, writable in place (a [`WindowSource`] fills them): the slices have
    /// exactly `width × height × bands` samples, in [`TileBuf::layout`] order (see
    /// [`TileBuf::index`]); their length cannot change.
    pub fn samples_mut(&mut self) -> SamplesMut<'_> {
        match &mut self.samples {
            Samples::U8(v) => SamplesMut::U8(v),
            Samples::U16(v) => SamplesMut::U16(v),
        }
    }
    /// Sample type.
    pub fn sample_type(&self) -> SampleType {
        match self.samples {
            Samples::U8(_) => SampleType::U8,
            Samples::U16(_) => SampleType::U16,
        }
    }

    /// Index of sample (`x`, `y`, `band`) within the window.
    #[inline]
    pub fn index(&self, x: u32, y: u32, band: u16) -> usize {
        let w = self.window.width as usize;
        let h = self.window.height as usize;
        let pix = y as usize * w + x as usize;
        match self.layout {
            BandLayout::Interleaved => pix * usize::from(self.bands) + usize::from(band),
            BandLayout::Planar => usize::from(band) * w * h + pix,
        }
    }

    /// Sample (`x`, `y`, `band`) widened to u16. Panics when out of range (programming error).
    #[inline]
    pub fn get(&self, x: u32, y: u32, band: u16) -> u16 {
        let i = self.index(x, y, band);
        match &self.samples {
            Samples::U8(v) => u16::from(v[i]),
            Samples::U16(v) => v[i],
        }
    }

    /// Whether the pixel (`x`, `y`) carries data under `mask`.
    #[inline]
    pub fn is_valid(&self, mask: &MaskSpec, x: u32, y: u32) -> bool {
        if let Some(a) = mask.alpha_band {
            if a < self.bands && self.get(x, y, a) == 0 {
                return false;
            }
        }
        if let Some(nd) = mask.nodata {
            let all_nodata = (0..self.bands)
                .filter(|&b| Some(b) != mask.alpha_band)
                .all(|b| f64::from(self.get(x, y, b)) == nd);
            if all_nodata {
                return false;
            }
        }
        true
    }

    /// Whether some pixel carries data under `mask` (stops at the first that does).
    pub fn any_valid(&self, mask: &MaskSpec) -> bool {
        match self.alpha_only(mask) {
            Some((first, step, n)) => match &self.samples {
                Samples::U8(v) => v.iter().skip(first).step_by(step).take(n).any(|&a| a != 0),
                Samples::U16(v) => v.iter().skip(first).step_by(step).take(n).any(|&a| a != 0),
            },
            None => self.pixels().any(|(x, y)| self.is_valid(mask, x, y)),
        }
    }

    /// Whether every pixel carries data under `mask` (stops at the first that does not).
    pub fn all_valid(&self, mask: &MaskSpec) -> bool {
        match self.alpha_only(mask) {
            Some((first, step, n)) => match &self.samples {
                Samples::U8(v) => v.iter().skip(first).step_by(step).take(n).all(|&a| a != 0),
                Samples::U16(v) => v.iter().skip(first).step_by(step).take(n).all(|&a| a != 0),
            },
            None => self.pixels().all(|(x, y)| self.is_valid(mask, x, y)),
        }
    }

    /// Every pixel position, row by row.
    fn pixels(&self) -> impl Iterator<Item = (u32, u32)> {
        let w = self.window;
        (0..w.height).flat_map(move |y| (0..w.width).map(move |x| (x, y)))
    }

    /// Where the alpha samples lie (first index, step, count) when `mask` is an alpha band
    /// alone, for a quick scan; `None` with a nodata value or no alpha band.
    fn alpha_only(&self, mask: &MaskSpec) -> Option<(usize, usize, usize)> {
        let a = mask
            .alpha_band
            .filter(|&a| a < self.bands && mask.nodata.is_none())?;
        let n = self.window.pixels() as usize;
        Some(match self.layout {
            BandLayout::Interleaved => (usize::from(a), usize::from(self.bands), n),
            BandLayout::Planar => (usize::from(a) * n, 1, n),
        })
    }

    /// Number of pixels that carry data.
    pub fn valid_pixels(&self, mask: &MaskSpec) -> u64 {
        if mask.alpha_band.is_none() && mask.nodata.is_none() {
            return self.window.pixels();
        }
        let mut n = 0;
        for y in 0..self.window.height {
            for x in 0..self.window.width {
                n += u64::from(self.is_valid(mask, x, y));
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::{BandLayout, MaskSpec, SampleType, Samples, TileBuf, Window};

    #[test]
    fn any_and_all_valid_agree_with_the_count() {
        let win = Window::new(0, 0, 5, 3);
        let mut seed = 7u64;
        for case in 0..400 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bands = 1 + (case % 4) as u16;
            let layout = if case % 2 == 0 {
                BandLayout::Interleaved
            } else {
                BandLayout::Planar
            };
            // Few distinct values, so that masked and unmasked pixels both occur.
            let v: Vec<u16> = (0..15 * usize::from(bands))
                .map(|i| ((seed >> (i % 60)) & 1) as u16 * 9)
                .collect();
            let samples = if case % 3 == 0 {
                Samples::U8(v.iter().map(|&x| x as u8).collect())
            } else {
                Samples::U16(v)
            };
            let t = TileBuf::from_samples(win, bands, layout, samples).expect("tile");
            let mask = MaskSpec {
                alpha_band: (case % 5 != 0).then_some(bands - 1),
                nodata: (case % 7 == 0).then_some(9.0),
            };
            let n = t.valid_pixels(&mask);
            assert_eq!(t.any_valid(&mask), n > 0, "case {case}");
            assert_eq!(t.all_valid(&mask), n == 15, "case {case}");
        }
    }

    #[test]
    fn nodata_sample_only_for_values_a_sample_can_hold() {
        let m = |nodata| MaskSpec {
            alpha_band: None,
            nodata,
        };
        assert_eq!(m(Some(0.0)).nodata_sample(SampleType::U8), Some(0));
        assert_eq!(m(Some(255.0)).nodata_sample(SampleType::U8), Some(255));
        assert_eq!(m(Some(256.0)).nodata_sample(SampleType::U8), None);
        assert_eq!(m(Some(256.0)).nodata_sample(SampleType::U16), Some(256));
        assert_eq!(m(Some(65535.0)).nodata_sample(SampleType::U16), Some(65535));
        assert_eq!(m(Some(65536.0)).nodata_sample(SampleType::U16), None);
        assert_eq!(m(Some(-9999.0)).nodata_sample(SampleType::U16), None);
        assert_eq!(m(Some(0.5)).nodata_sample(SampleType::U8), None);
        assert_eq!(m(None).nodata_sample(SampleType::U8), None);
    }
}
