//! Scenes: a raster's header, georeferencing and masks, read window by window into
//! caller-owned, reused buffers. The whole scene is never decoded at once (GeoTIFF); PNG
//! and JPEG, which have no random access, are decoded once on the first read, within
//! [`Limits::max_window_bytes`].

mod chunk_cache;
mod chunk_codec;
mod geotiff;
mod image_file;
mod jpeg_end;
mod tiff_file;
mod tiff_header;

use crate::geo::GeoRef;
use crate::{Error, Limits, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// What `Scene::open` learnt from the header.
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
    pub(crate) fn samples_mut(&mut self) -> &mut Samples {
        &mut self.samples
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

/// A format reader: fills a buffer with one window.
trait WindowSource: Send {
    fn read_window(&mut self, window: Window, buf: &mut TileBuf) -> Result<()>;
}

/// An opened raster: header, georeferencing and masks are known; pixels are read on demand.
pub struct Scene {
    path: PathBuf,
    info: RasterInfo,
    georef: Option<GeoRef>,
    warnings: Vec<String>,
    /// Index in `warnings` of the "CRS not usable" warning, which `with_crs` removes.
    crs_warning: Option<usize>,
    source: Mutex<Box<dyn WindowSource>>,
}

impl std::fmt::Debug for Scene {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scene")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("georef", &self.georef)
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl Scene {
    /// Opens a raster with the default [`Limits`]: reads the header and georeferencing
    /// only. GeoTIFF (`.tif`, `.tiff`), PNG and JPEG (with an optional world file beside
    /// them) are recognised by their first bytes, not their extension.
    pub fn open(path: impl AsRef<Path>) -> Result<Scene> {
        Scene::open_with_limits(path, &Limits::default())
    }

    /// Opens a raster under explicit limits.
    pub fn open_with_limits(path: impl AsRef<Path>, limits: &Limits) -> Result<Scene> {
        let path = path.as_ref().to_path_buf();
        let mut magic = [0u8; 4];
        {
            use std::io::Read;
            let mut f = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            let n = f.read(&mut magic).map_err(|e| Error::io(&path, e))?;
            if n < 4 {
                return Err(Error::corrupt(
                    &path,
                    format!("file is only {n} bytes long"),
                ));
            }
        }
        let opened = match magic {
            [b'I', b'I', 42, 0]
            | [b'M', b'M', 0, 42]
            | [b'I', b'I', 43, 0]
            | [b'M', b'M', 0, 43] => tiff_file::open(&path, limits)?,
            [0x89, b'P', b'N', b'G'] | [0xFF, 0xD8, 0xFF, _] => image_file::open(&path, limits)?,
            _ => {
                return Err(Error::unsupported(
                    &path,
                    "not a TIFF, PNG or JPEG file (unrecognised first bytes)",
                ))
            }
        };
        let mut warnings = opened.warnings;
        let mut crs_warning = None;
        match &opened.georef {
            None => warnings.push(format!(
                "{}: no georeferencing; detections will be in pixel coordinates only",
                path.display()
            )),
            Some(GeoRef {
                crs: crate::geo::Crs::Unknown(why),
                ..
            }) => {
                crs_warning = Some(warnings.len());
                warnings.push(format!(
                    "{}: CRS not usable ({why}); map coordinates are reported, WGS84 ones are not; set the CRS with Scene::with_crs",
                    path.display()
                ));
            }
            Some(g) => warnings.extend(geographic_extent_warning(
                &path,
                g,
                opened.info.width,
                opened.info.height,
            )),
        }
        for w in &warnings {
            log::warn!("{w}");
        }
        Ok(Scene {
            path,
            info: opened.info,
            georef: opened.georef,
            warnings,
            crs_warning,
            source: Mutex::new(opened.source),
        })
    }

    /// The file this scene was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Header facts.
    pub fn info(&self) -> &RasterInfo {
        &self.info
    }
    /// Columns.
    pub fn width(&self) -> u32 {
        self.info.width
    }
    /// Rows.
    pub fn height(&self) -> u32 {
        self.info.height
    }
    /// Georeferencing, if the file has any.
    pub fn georef(&self) -> Option<&GeoRef> {
        self.georef.as_ref()
    }
    /// Things a user should know about this scene (e.g. no georeferencing).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Sets the CRS by EPSG code, for a scene whose file does not say it (a world file
    /// without `.prj`, user-defined GeoKeys) or says it wrongly. The pixel-to-map transform
    /// is kept; warnings about the missing CRS are dropped.
    ///
    /// # Errors
    /// [`Error::Config`] when the scene has no georeferencing at all, or when satdet has no
    /// definition for the code.
    pub fn with_crs(mut self, epsg: u16) -> Result<Self> {
        if crs_definitions::from_code(epsg).is_none() {
            return Err(Error::Config(format!(
                "{}: EPSG:{epsg} is not a CRS satdet knows (crs-definitions has no entry)",
                self.path.display()
            )));
        }
        let Some(g) = self.georef.as_mut() else {
            return Err(Error::Config(format!(
                "{}: has no pixel-to-map transform (no GeoTIFF tags, no world file); a CRS alone cannot georeference it",
                self.path.display()
            )));
        };
        g.crs = crate::geo::Crs::Epsg(epsg);
        if let Some(i) = self.crs_warning.take() {
            self.warnings.remove(i);
        }
        let extent = geographic_extent_warning(&self.path, g, self.info.width, self.info.height);
        if let Some(w) = extent.filter(|w| !self.warnings.contains(w)) {
            log::warn!("{w}");
            self.warnings.push(w);
        }
        Ok(self)
    }

    /// Ground area covered, in km², when the CRS has metric units or is geographic. Web
    /// Mercator (EPSG:3857) areas are corrected by cos²(latitude) at the scene centre.
    pub fn area_km2(&self) -> Option<f64> {
        let g = self.georef.as_ref()?;
        let pixels = self.info.width as f64 * self.info.height as f64;
        let px_area = g.transform.determinant().abs();
        let centre = g.transform.pixel_to_map(crate::geo::PixelPoint {
            x: self.info.width as f64 / 2.0,
            y: self.info.height as f64 / 2.0,
        });
        let proj = g.crs.proj4()?;
        if g.crs.is_geographic() {
            if centre.y.is_nan() || centre.y.abs() > 90.0 {
                return None; // past a pole (Scene::open warned)
            }
            // Degrees² → m² at the scene centre's latitude.
            let m_per_deg = 111_320.0;
            Some(pixels * px_area * m_per_deg * m_per_deg * centre.y.to_radians().cos() / 1e6)
        } else if proj.contains("+proj=merc") {
            let lat = crate::geo::ToWgs84::new(&g.crs)
                .ok()?
                .point(centre)
                .ok()?
                .lat;
            Some(pixels * px_area * lat.to_radians().cos().powi(2) / 1e6)
        } else if proj.contains("+units=m") || proj.contains("+proj=utm") {
            Some(pixels * px_area / 1e6)
        } else {
            None
        }
    }

    /// Reads one window into `buf`, resizing it as needed. The window must lie inside the
    /// scene.
    pub fn read_window(&self, window: Window, buf: &mut TileBuf) -> Result<()> {
        if window.width == 0
            || window.height == 0
            || window.x_end() > u64::from(self.info.width)
            || window.y_end() > u64::from(self.info.height)
        {
            return Err(Error::Config(format!(
                "{}: window {window:?} is empty or outside the {}x{} scene",
                self.path.display(),
                self.info.width,
                self.info.height
            )));
        }
        buf.reset(window, self.info.bands, self.info.sample, self.info.layout);
        let mut src = self
            .source
            .lock()
            .map_err(|_| Error::Config("a previous read panicked".into()))?;
        src.read_window(window, buf)
    }
}

/// A warning when a scene in a geographic CRS reaches past latitude ±90° (or longitude
/// ±540°, or to non-finite coordinates): the boxes there get no WGS84 position (see
/// [`crate::geo::ToWgs84::point`]), and the user should know why before they go missing.
fn geographic_extent_warning(path: &Path, g: &GeoRef, width: u32, height: u32) -> Option<String> {
    if !g.crs.is_geographic() {
        return None;
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
        .map(|(x, y)| g.transform.pixel_to_map(crate::geo::PixelPoint { x, y }));
    let (mut lat_min, mut lat_max) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut lon_max = 0.0f64;
    let mut finite = true;
    for c in corners {
        finite &= c.x.is_finite() && c.y.is_finite();
        lat_min = lat_min.min(c.y);
        lat_max = lat_max.max(c.y);
        lon_max = lon_max.max(c.x.abs());
    }
    if finite && lat_min >= -90.0 && lat_max <= 90.0 && lon_max <= crate::geo::MAX_ABS_LON {
        return None;
    }
    Some(format!(
        "{}: the scene's {} extent runs from latitude {lat_min} to {lat_max} (longitude up to ±{lon_max}), past the valid range; detections there get no WGS84 position",
        path.display(),
        g.crs
    ))
}

/// What a format opener returns.
struct Opened {
    info: RasterInfo,
    georef: Option<GeoRef>,
    warnings: Vec<String>,
    source: Box<dyn WindowSource>,
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
