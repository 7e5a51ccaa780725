//! [`Scene`]: a raster's header, georeferencing and masks, over a [`WindowSource`] that
//! reads its pixels on demand. Files, in-memory images and readers of your own are all
//! scenes, so they share one tiling, one masking and one stretch.

use super::band_names::{Named, NamedBy};
use super::bytes::{ByteSource, FileBytes};
use super::overview::{Overview, OverviewSource};
use super::remote::{self, RemoteBytes};
use super::{image_file, tiff, MaskSpec, RasterInfo, Samples, TileBuf, Window, WindowSource};
use crate::error::{Error, Result};
use crate::geo::{Crs, GeoRef, PixelPoint, MAX_ABS_LON};
use crate::limits::Limits;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The name of a scene built by [`Scene::from_source`] until [`Scene::with_name`] names it.
const SOURCE_NAME: &str = "<window source>";

/// A raster whose header, georeferencing and masks are known; pixels are read on demand,
/// window by window, through its [`WindowSource`].
pub struct Scene {
    /// The file, or the name of an in-memory scene or a source (`<array>`, `with_name`).
    name: PathBuf,
    info: RasterInfo,
    georef: Option<GeoRef>,
    warnings: Vec<String>,
    /// Index in `warnings` of the "CRS not usable" warning, which `with_crs` removes.
    crs_warning: Option<usize>,
    /// Acquisition date or date-time, ISO 8601 (see [`Scene::acquired`]).
    acquired: Option<String>,
    /// The bands (from 0) holding red, green and blue, when known ([`Scene::rgb_bands`]).
    rgb_bands: Option<Named>,
    source: Box<dyn WindowSource>,
    /// The file or object a TIFF is read from, for [`Scene::bytes_fetched`].
    bytes: Option<Arc<dyn ByteSource>>,
    /// The reduced-resolution copies stored in the file, if any.
    overviews: Option<Box<dyn OverviewSource>>,
    /// Strips/tiles decoded so far, for a TIFF.
    decoded: Option<Arc<AtomicU64>>,
}

impl std::fmt::Debug for Scene {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scene")
            .field("path", &self.name)
            .field("info", &self.info)
            .field("georef", &self.georef)
            .field("warnings", &self.warnings)
            .field("acquired", &self.acquired)
            .field("rgb_bands", &self.rgb_bands)
            .finish()
    }
}

impl Scene {
    /// Opens a raster with the default [`Limits`]: reads the header and georeferencing
    /// only. GeoTIFF (`.tif`, `.tiff`), PNG and JPEG (with an optional world file beside
    /// them) are recognised by their first bytes, not their extension.
    ///
    /// A GeoTIFF (a Cloud-Optimized GeoTIFF reads best) may also be a URL:
    /// `https://…`/`http://…`, `s3://bucket/key`, `gs://bucket/key` or
    /// `az://container/key`. Its header is read in 16 KiB blocks, then each window
    /// fetches only the strips/tiles it needs, up to 8 range requests at a time, with
    /// retries and exponential backoff on transient faults. Credentials and store
    /// settings come from the environment, as `object_store`'s `from_env` builders read
    /// them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`,
    /// `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_ACCOUNT_NAME`,
    /// `AZURE_STORAGE_ACCESS_KEY`, …). [`Scene::bytes_fetched`] counts what was read.
    ///
    /// ```no_run
    /// # fn main() -> satdet::Result<()> {
    /// let scene = satdet::Scene::open("s3://imagery/yalu/2025-09-13.tif")?;
    /// let found = satdet::Detector::builder().build()?.detect(&scene)?;
    /// println!("{} objects, {} bytes fetched", found.len(), scene.bytes_fetched().unwrap_or(0));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be read; [`Error::Remote`] (naming the URL) when
    /// an object cannot be: not found, access denied, a store that cannot be configured
    /// (a missing bucket or account), a fault that outlasted the retries; a PNG or JPEG
    /// URL is [`Error::UnsupportedRaster`]. [`Error::CorruptRaster`],
    /// [`Error::UnsupportedRaster`] and [`Error::Limits`] for the raster itself.
    pub fn open(path: impl AsRef<Path>) -> Result<Scene> {
        Scene::open_with_limits(path, &Limits::default())
    }

    /// Opens a raster under explicit limits.
    pub fn open_with_limits(path: impl AsRef<Path>, limits: &Limits) -> Result<Scene> {
        let path = path.as_ref().to_path_buf();
        let bytes: Arc<dyn ByteSource> = match remote::as_url(&path) {
            Some(url) => Arc::new(RemoteBytes::open(url)?),
            None => Arc::new(FileBytes::open(&path)?),
        };
        let len = bytes.len();
        if len < 4 {
            return Err(Error::corrupt(
                &path,
                format!("file is only {len} bytes long"),
            ));
        }
        // The first header block: the format from its first bytes, and for a TIFF the
        // start of the header (one request for a remote scene).
        let first = bytes
            .read_ranges(std::slice::from_ref(
                &(0..len.min(bytes.header_block_bytes())),
            ))?
            .pop()
            .unwrap_or_default();
        let magic: [u8; 4] = match first.get(..4) {
            Some(&[a, b, c, d]) => [a, b, c, d],
            _ => return Err(Error::corrupt(&path, "cannot read its first 4 bytes")),
        };
        let mut counted = None;
        let opened = match magic {
            [b'I', b'I', 42, 0]
            | [b'M', b'M', 0, 42]
            | [b'I', b'I', 43, 0]
            | [b'M', b'M', 0, 43] => {
                counted = Some(bytes.clone());
                tiff::open(bytes, first, limits)?
            }
            [0x89, b'P', b'N', b'G'] | [0xFF, 0xD8, 0xFF, _] => {
                if let Some(url) = remote::as_url(&path) {
                    return Err(Error::unsupported(
                        url,
                        "PNG and JPEG scenes are read from local files only; satdet reads GeoTIFFs (COGs) from URLs",
                    ));
                }
                drop(bytes);
                image_file::open(&path, limits)?
            }
            _ => {
                let detail = match super::other_format::other_format(&first) {
                    Some(name) => format!(
                        "{name}: satdet reads GeoTIFF (COG included), PNG and JPEG; convert it first, keeping its georeferencing, e.g. `gdal_translate -of COG {} scene.tif`",
                        path.display()
                    ),
                    None => "not a TIFF, PNG or JPEG file (unrecognised first bytes)".into(),
                };
                return Err(Error::unsupported(&path, detail));
            }
        };
        let mut warnings = opened.warnings;
        let (rgb_bands, pam_nodata) = match remote::as_url(&path) {
            // Side-cars are read beside local files only, as world files are.
            Some(_) => (opened.rgb_bands, None),
            None => super::sidecar::bands_and_nodata(
                &path,
                opened.source.info(),
                opened.rgb_bands,
                counted.is_some(),
                &mut warnings,
            ),
        };
        let mut scene = Scene::new(path, opened.source, opened.georef, warnings);
        if pam_nodata.is_some() {
            scene.info.mask.nodata = pam_nodata;
        }
        scene.acquired = opened.acquired;
        scene.rgb_bands = rgb_bands;
        scene.bytes = counted;
        scene.overviews = opened.overviews;
        scene.decoded = opened.decoded;
        Ok(scene)
    }

    /// A scene read through a [`WindowSource`] of your own (GDAL bindings, an object
    /// store…), under the default [`Limits`]; see the trait for the contract and an
    /// example. Name it for messages and reports with [`Scene::with_name`].
    ///
    /// # Errors
    /// [`Error::Config`] when the source's [`RasterInfo`] is not one satdet can read (no
    /// pixels, not 1 to 4 bands, an alpha band past the bands, a non-finite nodata value)
    /// or the EPSG code of `georef` is one satdet has no definition for;
    /// [`Error::Georef`] when the transform is not invertible; [`Error::Limits`] when the
    /// scene has more pixels than [`Limits::max_scene_pixels`].
    pub fn from_source(
        source: impl WindowSource + 'static,
        georef: Option<GeoRef>,
    ) -> Result<Scene> {
        Scene::from_source_with_limits(source, georef, &Limits::default())
    }

    /// [`Scene::from_source`] under explicit limits.
    pub fn from_source_with_limits(
        source: impl WindowSource + 'static,
        georef: Option<GeoRef>,
        limits: &Limits,
    ) -> Result<Scene> {
        Scene::from_source_named(PathBuf::from(SOURCE_NAME), Box::new(source), georef, limits)
    }

    /// [`Scene::from_source_with_limits`] with a name for messages.
    pub(super) fn from_source_named(
        name: PathBuf,
        source: Box<dyn WindowSource>,
        georef: Option<GeoRef>,
        limits: &Limits,
    ) -> Result<Scene> {
        check_info(&name, source.info(), limits)?;
        if let Some(g) = &georef {
            check_georef(&name, g)?;
        }
        Ok(Scene::new(name, source, georef, Vec::new()))
    }

    /// Assembles a scene and works out its georeferencing warnings.
    fn new(
        name: PathBuf,
        source: Box<dyn WindowSource>,
        georef: Option<GeoRef>,
        mut warnings: Vec<String>,
    ) -> Scene {
        let info = source.info().clone();
        let mut crs_warning = None;
        match &georef {
            None => warnings.push(format!(
                "{}: no georeferencing; detections will be in pixel coordinates only",
                name.display()
            )),
            Some(GeoRef {
                crs: Crs::Unknown(why),
                ..
            }) => {
                crs_warning = Some(warnings.len());
                warnings.push(format!(
                    "{}: CRS not usable ({why}); map coordinates are reported, WGS84 ones are not; set the CRS with Scene::with_crs",
                    name.display()
                ));
            }
            Some(g) => {
                warnings.extend(geographic_extent_warning(&name, g, info.width, info.height))
            }
        }
        for w in &warnings {
            log::warn!("{w}");
        }
        Scene {
            name,
            info,
            georef,
            warnings,
            crs_warning,
            acquired: None,
            rgb_bands: None,
            source,
            bytes: None,
            overviews: None,
            decoded: None,
        }
    }

    /// Names the scene in messages, warnings and reports ([`Scene::path`]); for scenes
    /// from memory or a [`WindowSource`], whose default names are `<array>`, `<image>` and
    /// `<window source>`.
    pub fn with_name(mut self, name: impl Into<PathBuf>) -> Self {
        let name = name.into();
        let old = format!("{}: ", self.name.display());
        let new = format!("{}: ", name.display());
        for w in &mut self.warnings {
            if w.starts_with(&old) {
                w.replace_range(..old.len(), &new);
            }
        }
        self.name = name;
        self
    }

    /// Sets (or with `None` clears) the nodata value: a pixel whose colour bands all equal
    /// it carries no data, is masked, and a tile of only such pixels is skipped, as with a
    /// GeoTIFF's GDAL_NODATA tag. For an in-memory scene, or to override a file's tag.
    ///
    /// # Errors
    /// [`Error::Config`] when the value is not finite.
    pub fn with_nodata(mut self, nodata: Option<f64>) -> Result<Self> {
        if let Some(v) = nodata.filter(|v| !v.is_finite()) {
            return Err(Error::Config(format!(
                "{}: nodata value {v} is not finite",
                self.name.display()
            )));
        }
        self.info.mask.nodata = nodata;
        Ok(self)
    }

    /// When the scene was acquired, ISO 8601: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`.
    ///
    /// From a TIFF's `DateTime` tag (306, `YYYY:MM:DD HH:MM:SS`) when it has one. That tag
    /// is the image's creation time, which for most satellite deliveries is the
    /// acquisition or the processing date: when it matters, set the acquisition date with
    /// [`Scene::with_acquired`].
    pub fn acquired(&self) -> Option<&str> {
        self.acquired.as_deref()
    }

    /// Sets the acquisition date (`YYYY-MM-DD`) or date and time (`YYYY-MM-DDTHH:MM:SS`),
    /// overriding the file's.
    ///
    /// # Errors
    /// [`Error::Config`] when it is not such a date (a real calendar date).
    pub fn with_acquired(mut self, date: &str) -> Result<Self> {
        self.acquired = Some(parse_iso_date(date).ok_or_else(|| {
            Error::Config(format!(
                "{}: acquisition date {date:?} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS",
                self.name.display()
            ))
        })?);
        Ok(self)
    }

    /// The bands, counted from 0, that hold red, green and blue, as the file says: a TIFF's
    /// GDAL colour interpretation (`gdal_translate -colorinterp`, written in its
    /// `GDAL_METADATA` tag, or band by band in the `.aux.xml` beside it), the band list of
    /// a Maxar `.IMD` (or `.XML`) beside it, or its RGB photometric interpretation; the
    /// first three bands of an RGB(A) PNG or JPEG. `None` when nothing says (a 4-band 16-bit
    /// delivery in blue, green, red, near-infrared order often does not): the detector then assumes
    /// the first three bands are red, green and blue, and warns when there is a fourth
    /// colour band ([`crate::DetectorBuilder::bands`] chooses).
    pub fn rgb_bands(&self) -> Option<[u16; 3]> {
        self.rgb_bands.map(|n| n.rgb)
    }

    /// [`Scene::rgb_bands`] and who named them.
    pub(crate) fn rgb_named(&self) -> Option<Named> {
        self.rgb_bands
    }

    /// Says which bands (counted from 0) hold red, green and blue, overriding the file's
    /// colour interpretation: for a source of your own, or a file that does not say.
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// // Three bands in blue, green, red order (as OpenCV writes them).
    /// let img = ndarray::Array3::<u16>::zeros((64, 64, 3));
    /// let scene = satdet::Scene::from_array(img, None)?.with_rgb_bands([2, 1, 0])?;
    /// assert_eq!(scene.rgb_bands(), Some([2, 1, 0]));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] when a band is not one of the scene's colour bands (past the last
    /// band, or the alpha band).
    pub fn with_rgb_bands(mut self, rgb: [u16; 3]) -> Result<Self> {
        let info = &self.info;
        if let Some(&b) = rgb
            .iter()
            .find(|&&b| b >= info.bands || info.mask.alpha_band == Some(b))
        {
            return Err(Error::Config(format!(
                "{}: band {b} (from 0) is not a colour band of this {}-band scene{}",
                self.name.display(),
                info.bands,
                match info.mask.alpha_band {
                    Some(a) => format!(" (band {a} is alpha)"),
                    None => String::new(),
                }
            )));
        }
        self.rgb_bands = Some(Named {
            rgb,
            by: NamedBy::ColourInterp,
        });
        Ok(self)
    }

    /// The file this scene was opened from, or its name ([`Scene::with_name`]) when it was
    /// built from memory or a [`WindowSource`].
    pub fn path(&self) -> &Path {
        &self.name
    }
    /// Header facts (with the nodata value of [`Scene::with_nodata`], if set).
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
    /// Bytes of a GeoTIFF scene read so far from its file or, for a URL, received from
    /// its store: the header and the compressed strips/tiles the windows needed (each
    /// chunk once while the chunk cache holds it). `None` for scenes not read through
    /// satdet's TIFF reader (PNG, JPEG, in memory, a [`WindowSource`] of your own). A
    /// scene and its [`Scene::overview_scene`]s share the file, and this count.
    pub fn bytes_fetched(&self) -> Option<u64> {
        self.bytes.as_ref().map(|b| b.bytes_fetched())
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
                self.name.display()
            )));
        }
        let Some(g) = self.georef.as_mut() else {
            return Err(Error::Config(format!(
                "{}: has no pixel-to-map transform (no GeoTIFF tags, no world file); a CRS alone cannot georeference it",
                self.name.display()
            )));
        };
        g.crs = Crs::Epsg(epsg);
        if let Some(i) = self.crs_warning.take() {
            self.warnings.remove(i);
        }
        let extent = geographic_extent_warning(&self.name, g, self.info.width, self.info.height);
        if let Some(w) = extent.filter(|w| !self.warnings.contains(w)) {
            log::warn!("{w}");
            self.warnings.push(w);
        }
        Ok(self)
    }

    /// Ground area covered, in km², when the CRS has known linear units or is geographic.
    /// Mercator areas (Web Mercator, EPSG:3857, among them) use the ground pixel at the
    /// scene centre, so the latitude's scale is taken out.
    pub fn area_km2(&self) -> Option<f64> {
        let g = self.georef.as_ref()?;
        let pixels = self.info.width as f64 * self.info.height as f64;
        let px_area = g.transform.determinant().abs();
        let centre = g.transform.pixel_to_map(PixelPoint {
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
            // Mercator's scale grows with latitude (from its latitude of true scale, for
            // a Mercator 2SP): the ground pixel at the centre, measured through WGS84.
            let centre_px = PixelPoint {
                x: self.info.width as f64 / 2.0,
                y: self.info.height as f64 / 2.0,
            };
            let gsd = crate::geo::gsd_m(g, centre_px, 100.0).ok()?;
            Some(pixels * gsd * gsd / 1e6)
        } else {
            // Map units in metres (feet and other units converted), the projection's
            // scale factor left out.
            let side = crate::geo::gsd_from_pixel_size_m(g)?;
            Some(pixels * side * side / 1e6)
        }
    }

    /// The reduced-resolution copies of the scene stored in its file, largest first: a
    /// GeoTIFF's overviews (directories after the first with NewSubfileType 1, as
    /// `gdaladdo` and GDAL's COG driver write them; masks are not listed). Empty for other
    /// scenes. Listed at open from the bounded header scan; each is read only when opened
    /// with [`Scene::overview_scene`].
    pub fn overviews(&self) -> &[Overview] {
        self.overviews.as_ref().map_or(&[], |o| o.sizes())
    }

    /// Overview `level` (an index into [`Scene::overviews`]) as a scene of its own: its
    /// size, the same bands and masks (nodata, alpha) as this scene, the same name and
    /// date, and the georeferencing scaled to its pixels (a pixel of it covers
    /// `width / overview width` × `height / overview height` of this scene's, as GDAL
    /// reads it). Windows read from it are the file's overview pixels, as
    /// `gdal_translate -oo OVERVIEW_LEVEL=level` gives them. An overview of a scene in
    /// object storage is read from the store too: its directory, then only its own
    /// strips/tiles.
    ///
    /// # Errors
    /// [`Error::Config`] when there is no such level; the errors of [`Scene::open`] when
    /// the overview's directory is corrupt, unsupported, over the limits, or does not
    /// match this scene's bands.
    pub fn overview_scene(&self, level: usize) -> Result<Scene> {
        let Some(ovs) = self.overviews.as_ref() else {
            return Err(Error::Config(format!(
                "{}: has no overviews",
                self.name.display()
            )));
        };
        let opened = ovs.open(level)?;
        let mut info = opened.source.info().clone();
        let (rx, ry) = (
            f64::from(self.info.width) / f64::from(info.width),
            f64::from(self.info.height) / f64::from(info.height),
        );
        // The scene's nodata and alpha band; an alpha band the overview lacks (the image's
        // internal mask, read as one more band, where the overview has no mask of its own)
        // is not there.
        info.mask = MaskSpec {
            alpha_band: self.info.mask.alpha_band.filter(|&a| a < info.bands),
            nodata: self.info.mask.nodata,
        };
        let georef = self.georef.clone().map(|mut g| {
            let t = &mut g.transform;
            t.x_per_col *= rx;
            t.y_per_col *= rx;
            t.x_per_row *= ry;
            t.y_per_row *= ry;
            g
        });
        Ok(Scene {
            name: self.name.clone(),
            info,
            georef,
            warnings: Vec::new(),
            crs_warning: None,
            acquired: self.acquired.clone(),
            rgb_bands: self.rgb_bands,
            source: opened.source,
            // The same file or object: its count goes on from this scene's.
            bytes: self.bytes.clone(),
            overviews: None,
            decoded: opened.decoded,
        })
    }

    /// The smallest overview at least `width` × `height` pixels, opened
    /// ([`Scene::overview_scene`]); `None` when no overview is that large (read the scene
    /// itself). For pictures of the whole scene: a 1600-pixel quick-look of a
    /// 40 000-pixel scene decodes a 2 500-pixel overview instead of every full-resolution
    /// chunk.
    ///
    /// # Errors
    /// Those of [`Scene::overview_scene`].
    pub fn overview_at_least(&self, width: u32, height: u32) -> Result<Option<Scene>> {
        let best = self
            .overviews()
            .iter()
            .enumerate()
            .filter(|(_, o)| o.width >= width && o.height >= height)
            .min_by_key(|(_, o)| u64::from(o.width) * u64::from(o.height));
        best.map(|(level, _)| self.overview_scene(level))
            .transpose()
    }

    /// Strips/tiles decoded so far (the chunk cache's misses), for a scene read from a
    /// TIFF; `None` for other scenes. An overview scene counts its own.
    pub fn chunks_decoded(&self) -> Option<u64> {
        self.decoded.as_ref().map(|d| d.load(Ordering::Relaxed))
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
                self.name.display(),
                self.info.width,
                self.info.height
            )));
        }
        buf.reset(window, self.info.bands, self.info.sample, self.info.layout);
        self.source.read_window(window, buf)?;
        // A source of the user's may have replaced the buffer: the stages index it by
        // the window's shape.
        let len = match buf.samples() {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        };
        if buf.window() != window
            || buf.bands() != self.info.bands
            || buf.layout() != self.info.layout
            || buf.sample_type() != self.info.sample
            || len as u64 != window.pixels() * u64::from(self.info.bands)
        {
            return Err(Error::corrupt(
                &self.name,
                format!(
                    "the window source returned {len} {:?} samples of {} bands for {:?}, laid out {:?}; the scene expects {window:?}, {} bands of {:?}, {:?}",
                    buf.sample_type(),
                    buf.bands(),
                    buf.window(),
                    buf.layout(),
                    self.info.bands,
                    self.info.sample,
                    self.info.layout
                ),
            ));
        }
        Ok(())
    }
}

/// Checks a [`WindowSource`]'s description before any window is read.
fn check_info(name: &Path, info: &RasterInfo, limits: &Limits) -> Result<()> {
    let bad = |detail: String| Err(Error::Config(format!("{}: {detail}", name.display())));
    if info.width == 0 || info.height == 0 {
        return bad(format!(
            "the raster is {}x{} pixels",
            info.width, info.height
        ));
    }
    if !(1..=4).contains(&info.bands) {
        return bad(format!("{} bands: satdet reads 1 to 4 bands", info.bands));
    }
    if let Some(a) = info.mask.alpha_band.filter(|&a| a >= info.bands) {
        return bad(format!("alpha band {a} of a {}-band raster", info.bands));
    }
    if let Some(v) = info.mask.nodata.filter(|v| !v.is_finite()) {
        return bad(format!("nodata value {v} is not finite"));
    }
    Limits::check(
        || name.display().to_string(),
        "scene size in pixels",
        u64::from(info.width) * u64::from(info.height),
        limits.max_scene_pixels,
    )
}

/// Checks georeferencing given by the caller (files are checked by their readers).
fn check_georef(name: &Path, g: &GeoRef) -> Result<()> {
    if !g.transform.is_valid() {
        return Err(Error::Georef {
            path: name.to_path_buf(),
            detail: format!(
                "the pixel-to-map transform {:?} is not invertible",
                g.transform.to_gdal()
            ),
        });
    }
    if let Crs::Epsg(code) = g.crs {
        if crs_definitions::from_code(code).is_none() {
            return Err(Error::Config(format!(
                "{}: EPSG:{code} is not a CRS satdet knows (crs-definitions has no entry)",
                name.display()
            )));
        }
    }
    Ok(())
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
        .map(|(x, y)| g.transform.pixel_to_map(PixelPoint { x, y }));
    let (mut lat_min, mut lat_max) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut lon_max = 0.0f64;
    let mut finite = true;
    for c in corners {
        finite &= c.x.is_finite() && c.y.is_finite();
        lat_min = lat_min.min(c.y);
        lat_max = lat_max.max(c.y);
        lon_max = lon_max.max(c.x.abs());
    }
    if finite && lat_min >= -90.0 && lat_max <= 90.0 && lon_max <= MAX_ABS_LON {
        return None;
    }
    Some(format!(
        "{}: the scene's {} extent runs from latitude {lat_min} to {lat_max} (longitude up to ±{lon_max}), past the valid range; detections there get no WGS84 position",
        path.display(),
        g.crs
    ))
}

/// What a format opener returns.
pub(super) struct Opened {
    pub georef: Option<GeoRef>,
    /// ISO 8601, already checked by [`tiff_date`] or [`parse_iso_date`].
    pub acquired: Option<String>,
    /// The bands (from 0) holding red, green and blue, when the file says.
    pub rgb_bands: Option<Named>,
    pub warnings: Vec<String>,
    pub source: Box<dyn WindowSource>,
    pub overviews: Option<Box<dyn OverviewSource>>,
    /// The reader's count of decoded chunks, if it keeps one.
    pub decoded: Option<Arc<AtomicU64>>,
}

/// A checked ISO 8601 date `YYYY-MM-DD` or date-time `YYYY-MM-DDTHH:MM:SS` (a space for
/// the `T` accepted), returned in the `T` form; `None` when it is not a real one.
pub(crate) fn parse_iso_date(s: &str) -> Option<String> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let num = |t: &str, len: usize| -> Option<u32> {
        (t.len() == len && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    if d.next().is_some() || !(1..=12).contains(&m) || day == 0 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day > month_days[usize::try_from(m - 1).ok()?] {
        return None;
    }
    let Some(time) = time else {
        return Some(format!("{y:04}-{m:02}-{day:02}"));
    };
    let mut t = time.split(':');
    let (h, mi, sec) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if t.next().is_some() || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(format!("{y:04}-{m:02}-{day:02}T{h:02}:{mi:02}:{sec:02}"))
}

/// A TIFF `DateTime` value (`YYYY:MM:DD HH:MM:SS`, NUL-padded) as ISO 8601, or `None`
/// when it is not one (TIFF writers put all sorts of things there).
pub(super) fn tiff_date(raw: &str) -> Option<String> {
    let raw = raw.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let (date, time) = raw.split_once(' ')?;
    if date.len() != 10
        || date.as_bytes().get(4) != Some(&b':')
        || date.as_bytes().get(7) != Some(&b':')
    {
        return None;
    }
    parse_iso_date(&format!("{}T{time}", date.replace(':', "-")))
}

#[cfg(test)]
mod date_tests {
    use super::{parse_iso_date, tiff_date};

    #[test]
    fn iso_dates_are_checked() {
        assert_eq!(parse_iso_date("2025-09-13").as_deref(), Some("2025-09-13"));
        assert_eq!(
            parse_iso_date("2025-09-13 10:41:07").as_deref(),
            Some("2025-09-13T10:41:07")
        );
        assert_eq!(parse_iso_date("2024-02-29").as_deref(), Some("2024-02-29"));
        for bad in [
            "2023-02-29",
            "2025-13-01",
            "2025-9-13",
            "13/09/2025",
            "2025-09-13T25:00:00",
            "2025-09-13T10:41",
            "",
            "2025-09-13-01",
            "２０２５-09-13",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn tiff_date_times() {
        assert_eq!(
            tiff_date("2025:09:13 10:41:07\0").as_deref(),
            Some("2025-09-13T10:41:07")
        );
        assert_eq!(tiff_date("2025-09-13 10:41:07"), None);
        assert_eq!(tiff_date("yesterday"), None);
        assert_eq!(tiff_date("0000:00:00 00:00:00"), None);
    }
}
