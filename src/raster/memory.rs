//! In-memory scenes: an `ndarray::Array3` of shape (rows, cols, bands) or an
//! `image::DynamicImage`, taken over without a copy when its samples are already
//! contiguous, and served window by window like a file.

use super::scene::Scene;
use super::{RasterInfo, SampleType, Samples, SamplesMut, TileBuf, Window, WindowSource};
use crate::error::{Error, Result};
use crate::geo::GeoRef;
use crate::limits::Limits;
use ndarray::Array3;
use std::path::{Path, PathBuf};

/// The name of a scene from [`Scene::from_array`] until [`Scene::with_name`] names it.
const ARRAY_NAME: &str = "<array>";
/// The name of a scene from [`Scene::from_image`] until [`Scene::with_name`] names it.
const IMAGE_NAME: &str = "<image>";

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
}

/// A sample type [`Scene::from_array`] takes: `u8` or `u16` (sealed: satdet's
/// preprocessing knows these two).
pub trait ArraySample: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The sample type of a scene made of these.
    #[doc(hidden)]
    const SAMPLE: SampleType;
    /// Wraps the samples.
    #[doc(hidden)]
    fn into_samples(v: Vec<Self>) -> Samples;
}

impl ArraySample for u8 {
    const SAMPLE: SampleType = SampleType::U8;
    fn into_samples(v: Vec<Self>) -> Samples {
        Samples::U8(v)
    }
}

impl ArraySample for u16 {
    const SAMPLE: SampleType = SampleType::U16;
    fn into_samples(v: Vec<Self>) -> Samples {
        Samples::U16(v)
    }
}

/// A whole raster in memory, interleaved (`RGBRGB…`, row after row).
pub(super) struct MemorySource {
    info: RasterInfo,
    samples: Samples,
}

impl MemorySource {
    /// `samples` must hold `width × height × bands` samples (the caller checked it).
    pub(super) fn new(info: RasterInfo, samples: Samples) -> Self {
        MemorySource { info, samples }
    }
}

impl WindowSource for MemorySource {
    fn info(&self) -> &RasterInfo {
        &self.info
    }

    fn read_window(&self, win: Window, buf: &mut TileBuf) -> Result<()> {
        copy_window(&self.samples, self.info.width, self.info.bands, win, buf)
            .map_err(|detail| Error::Internal(format!("in-memory scene: {detail}")))
    }
}

/// Copies `win` out of a whole interleaved raster `width` pixels wide into `buf` (sized
/// for the window by `Scene::read_window`).
pub(super) fn copy_window(
    samples: &Samples,
    width: u32,
    bands: u16,
    win: Window,
    buf: &mut TileBuf,
) -> std::result::Result<(), &'static str> {
    let spp = usize::from(bands);
    let n = win.width as usize * spp;
    for row in 0..win.height as usize {
        let src = ((win.y as usize + row) * width as usize + win.x as usize) * spp;
        let dst = row * n;
        match (samples, buf.samples_mut()) {
            (Samples::U8(s), SamplesMut::U8(d)) => {
                copy(&s[..], &mut d[..], src, dst, n)?;
            }
            (Samples::U16(s), SamplesMut::U16(d)) => {
                copy(&s[..], &mut d[..], src, dst, n)?;
            }
            _ => return Err("the sample type differs from the header's"),
        }
    }
    Ok(())
}

fn copy<T: Copy>(
    s: &[T],
    d: &mut [T],
    src: usize,
    dst: usize,
    n: usize,
) -> std::result::Result<(), &'static str> {
    match (s.get(src..src + n), d.get_mut(dst..dst + n)) {
        (Some(s), Some(d)) => {
            d.copy_from_slice(s);
            Ok(())
        }
        _ => Err("a window row runs past the samples"),
    }
}

/// The facts of an interleaved in-memory raster; `alpha` makes the last band alpha.
fn memory_info(
    width: u32,
    height: u32,
    bands: u16,
    sample: SampleType,
    alpha: bool,
    what: &str,
) -> RasterInfo {
    let storage = format!("in-memory {what}, {bands} bands of {sample:?}");
    RasterInfo::interleaved(width, height, bands, sample, alpha, storage)
}

/// Width and height of a `rows × cols` raster as `u32`, checked against the scene limit.
fn size(name: &Path, rows: usize, cols: usize, limits: &Limits) -> Result<(u32, u32)> {
    let (Ok(width), Ok(height)) = (u32::try_from(cols), u32::try_from(rows)) else {
        return Err(Error::unsupported(
            name,
            format!("{rows} rows × {cols} columns: satdet reads up to 2^32 - 1 of each"),
        ));
    };
    if width == 0 || height == 0 {
        return Err(Error::Config(format!(
            "{}: the image is {cols}x{rows} pixels (columns x rows): nothing to read",
            name.display()
        )));
    }
    Limits::check(
        || name.display().to_string(),
        "scene size in pixels",
        u64::from(width) * u64::from(height),
        limits.max_scene_pixels,
    )?;
    Ok((width, height))
}

impl Scene {
    /// A scene from an array in memory, of shape `(rows, cols, bands)` with 1
    /// (panchromatic), 3 (RGB) or 4 bands (RGBA: the 4th band is alpha, 0 = no data; pass
    /// `img.slice_move(s![.., .., ..3])` to drop a 4th band that is data), `u8` or `u16`
    /// samples, under the default [`Limits`]. It goes through the same tiling, masks and
    /// stretch as a file. An array in standard (row-major) layout is taken over without a
    /// copy. Its name is `<array>` ([`Scene::with_name`]); it has no nodata value unless
    /// given one ([`Scene::with_nodata`]).
    ///
    /// The example of issue 10, detecting with the bundled model (`Event` is
    /// `#[non_exhaustive]`, hence the `_` arm):
    /// ```
    /// use satdet::{Crs, Detector, Event, GeoRef, GeoTransform, Scene};
    /// use std::ops::ControlFlow;
    ///
    /// # fn main() -> satdet::Result<()> {
    /// let img: ndarray::Array3<u8> = ndarray::Array3::zeros((300, 400, 3));
    /// let georef = GeoRef {
    ///     transform: GeoTransform::north_up(440000.0, 4590000.0, 0.3, 0.3),
    ///     crs: Crs::Epsg(32652),
    /// };
    /// let scene = Scene::from_array(img, Some(georef))?; // Array3<u16> works too
    /// assert_eq!((scene.width(), scene.height(), scene.info().bands), (400, 300, 3));
    ///
    /// let detector = Detector::builder().build()?; // bundled model embedded in the crate
    /// let mut done = 0;
    /// let all = detector.detect_with(&scene, |event| {
    ///     match event {
    ///         Event::Progress(p) => done = p.tiles_done,
    ///         Event::Detections(batch) => println!("{} final detections", batch.len()),
    ///         _ => {}
    ///     }
    ///     ControlFlow::Continue(()) // Break(()) cancels
    /// })?;
    /// assert_eq!(done, all.report.tiles_total);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnsupportedRaster`] for another band count; [`Error::Config`] for an empty
    /// array; [`Error::Limits`] past [`Limits::max_scene_pixels`], or past
    /// [`Limits::max_window_bytes`] for an array that must be copied into row-major order;
    /// the georeferencing errors of [`Scene::from_source`].
    pub fn from_array<T: ArraySample>(img: Array3<T>, georef: Option<GeoRef>) -> Result<Scene> {
        Scene::from_array_with_limits(img, georef, &Limits::default())
    }

    /// [`Scene::from_array`] under explicit limits.
    pub fn from_array_with_limits<T: ArraySample>(
        img: Array3<T>,
        georef: Option<GeoRef>,
        limits: &Limits,
    ) -> Result<Scene> {
        let name = PathBuf::from(ARRAY_NAME);
        let (rows, cols, bands) = img.dim();
        if !matches!(bands, 1 | 3 | 4) {
            return Err(Error::unsupported(
                &name,
                format!("an array of shape ({rows}, {cols}, {bands}): the last axis holds the bands, 1 (panchromatic), 3 (RGB) or 4 (RGBA)"),
            ));
        }
        let (width, height) = size(&name, rows, cols, limits)?;
        let n = rows * cols * bands;
        let img = if img.is_standard_layout() {
            img
        } else {
            Limits::check(
                || format!("{} (copying a non-row-major array)", name.display()),
                "array bytes",
                (n as u64).saturating_mul(T::SAMPLE.bytes() as u64),
                limits.max_window_bytes,
            )?;
            img.as_standard_layout().into_owned()
        };
        // A standard-layout array is contiguous from its offset in the vector (a sliced
        // array keeps the whole vector).
        let (mut v, offset) = img.into_raw_vec_and_offset();
        let offset = offset.unwrap_or(0);
        if v.len() < offset + n {
            return Err(Error::Internal(format!(
                "a ({rows}, {cols}, {bands}) array holds {} samples from offset {offset}",
                v.len()
            )));
        }
        v.truncate(offset + n);
        v.drain(..offset);
        let bands = bands as u16; // 1, 3 or 4
        let info = memory_info(width, height, bands, T::SAMPLE, bands == 4, "array");
        let source = MemorySource::new(info, T::into_samples(v));
        Scene::from_source_named(name, Box::new(source), georef, limits)
    }

    /// A scene from a decoded image: 8- or 16-bit grey, grey + alpha, RGB or RGBA
    /// (`L8`, `La8`, `Rgb8`, `Rgba8`, `L16`, `La16`, `Rgb16`, `Rgba16`), under the default
    /// [`Limits`]; the same as reading that image from a PNG file. Its name is `<image>`.
    ///
    /// # Errors
    /// [`Error::UnsupportedRaster`] for other colour types (floating point); otherwise as
    /// [`Scene::from_array`].
    pub fn from_image(img: image::DynamicImage, georef: Option<GeoRef>) -> Result<Scene> {
        Scene::from_image_with_limits(img, georef, &Limits::default())
    }

    /// [`Scene::from_image`] under explicit limits.
    pub fn from_image_with_limits(
        img: image::DynamicImage,
        georef: Option<GeoRef>,
        limits: &Limits,
    ) -> Result<Scene> {
        let name = PathBuf::from(IMAGE_NAME);
        let (width, height) = size(&name, img.height() as usize, img.width() as usize, limits)?;
        let color = img.color();
        let (samples, alpha) = image_samples(img).ok_or_else(|| {
            Error::unsupported(
                &name,
                format!("colour type {color:?}: satdet takes 8- and 16-bit grey, grey + alpha, RGB and RGBA images"),
            )
        })?;
        let bands = u16::from(color.channel_count());
        let info = memory_info(width, height, bands, sample_type(&samples), alpha, "image");
        // An ImageBuffer may hold more samples than its pixels need.
        let n = width as usize * height as usize * usize::from(bands);
        let samples = match samples {
            Samples::U8(mut v) if v.len() >= n => {
                v.truncate(n);
                Samples::U8(v)
            }
            Samples::U16(mut v) if v.len() >= n => {
                v.truncate(n);
                Samples::U16(v)
            }
            _ => {
                return Err(Error::Internal(format!(
                    "a {width}x{height} image of {bands} bands holds too few samples"
                )))
            }
        };
        let source = MemorySource::new(info, samples);
        Scene::from_source_named(name, Box::new(source), georef, limits)
    }
}

fn sample_type(s: &Samples) -> SampleType {
    match s {
        Samples::U8(_) => SampleType::U8,
        Samples::U16(_) => SampleType::U16,
    }
}

/// The interleaved samples of an image and whether its last band is alpha; `None` for a
/// colour type satdet does not read.
pub(super) fn image_samples(img: image::DynamicImage) -> Option<(Samples, bool)> {
    use image::DynamicImage as D;
    Some(match img {
        D::ImageLuma8(i) => (Samples::U8(i.into_raw()), false),
        D::ImageLumaA8(i) => (Samples::U8(i.into_raw()), true),
        D::ImageRgb8(i) => (Samples::U8(i.into_raw()), false),
        D::ImageRgba8(i) => (Samples::U8(i.into_raw()), true),
        D::ImageLuma16(i) => (Samples::U16(i.into_raw()), false),
        D::ImageLumaA16(i) => (Samples::U16(i.into_raw()), true),
        D::ImageRgb16(i) => (Samples::U16(i.into_raw()), false),
        D::ImageRgba16(i) => (Samples::U16(i.into_raw()), true),
        _ => return None,
    })
}
