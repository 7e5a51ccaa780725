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

mod bytes;
mod image_file;
mod jpeg_end;
mod memory;
mod overview;
mod remote;
mod scaling;
mod scene;
mod sidecar;
mod source;
mod tiff;

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
    use super::{MaskSpec, SampleType};

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
