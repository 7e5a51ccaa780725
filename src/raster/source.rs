//! The one reader protocol: a [`WindowSource`] describes its raster and fills windows.
//! satdet's own readers (GeoTIFF, PNG/JPEG, in-memory arrays) implement it, and so can
//! yours (GDAL bindings, an object store, a frame grabber).

use super::{RasterInfo, TileBuf, Window};
use crate::error::Result;

/// A raster that can be read window by window: plug your own reader into a [`super::Scene`]
/// with [`super::Scene::from_source`], and it goes through the same tiling, masks and
/// stretch as a file.
///
/// # Contract
/// - [`WindowSource::info`] never changes: the scene checks it once, when it is built
///   (size not zero and within [`crate::Limits::max_scene_pixels`], 1 to 4 bands, the alpha
///   band one of them, a finite nodata value).
/// - [`WindowSource::read_window`] is called with a window that lies inside the raster and
///   is not empty, and with `buf` already sized for it: `buf.window() == window`, the
///   bands, sample type and layout of `info()`. Fill every sample through
///   [`TileBuf::samples_mut`] (in the layout's order, see [`TileBuf::index`]); do not
///   replace `buf` (the scene checks that it still has the window's shape).
/// - Reads may come from several threads at once (`&self`, `Send + Sync`): guard mutable
///   state (a file handle, a cache) with a lock of your own.
/// - Return an [`crate::Error`] on failure (e.g. [`crate::Error::CorruptRaster`] with
///   the scene's name, or [`crate::Error::Io`]); never panic on bad data.
///
/// # Example
/// A synthetic raster: a bright square on a dark background, computed on demand.
/// ```
/// use satdet::raster::{
///     BandLayout, MaskSpec, RasterInfo, SampleType, SamplesMut, TileBuf, Window, WindowSource,
/// };
/// use satdet::Scene;
///
/// struct Square {
///     info: RasterInfo,
/// }
///
/// impl WindowSource for Square {
///     fn info(&self) -> &RasterInfo {
///         &self.info
///     }
///     fn read_window(&self, window: Window, buf: &mut TileBuf) -> satdet::Result<()> {
///         let bands = usize::from(self.info.bands);
///         let SamplesMut::U8(samples) = buf.samples_mut() else {
///             return Err(satdet::Error::Config("Square serves 8-bit samples".into()));
///         };
///         for (i, px) in samples.chunks_exact_mut(bands).enumerate() {
///             let x = window.x as usize + i % window.width as usize;
///             let y = window.y as usize + i / window.width as usize;
///             let inside = (100..111).contains(&x) && (50..61).contains(&y);
///             px.fill(if inside { 250 } else { 20 });
///         }
///         Ok(())
///     }
/// }
///
/// # fn main() -> satdet::Result<()> {
/// let info = RasterInfo {
///     width: 400,
///     height: 300,
///     bands: 3,
///     sample: SampleType::U8,
///     layout: BandLayout::Interleaved,
///     mask: MaskSpec { alpha_band: None, nodata: None },
///     storage: "computed squares".into(),
/// };
/// let scene = Scene::from_source(Square { info }, None)?.with_name("squares");
/// let mut buf = TileBuf::new();
/// scene.read_window(Window::new(100, 50, 2, 1), &mut buf)?;
/// assert_eq!(buf.get(1, 0, 2), 250);
/// # Ok(())
/// # }
/// ```
pub trait WindowSource: Send + Sync {
    /// Size, bands, sample type, layout and masks of the raster.
    fn info(&self) -> &RasterInfo;

    /// Fills `buf` (already sized for `window`, see the trait's contract) with the samples
    /// of `window`.
    fn read_window(&self, window: Window, buf: &mut TileBuf) -> Result<()>;
}

impl<S: WindowSource + ?Sized> WindowSource for Box<S> {
    fn info(&self) -> &RasterInfo {
        (**self).info()
    }
    fn read_window(&self, window: Window, buf: &mut TileBuf) -> Result<()> {
        (**self).read_window(window, buf)
    }
}

impl<S: WindowSource + ?Sized> WindowSource for std::sync::Arc<S> {
    fn info(&self) -> &RasterInfo {
        (**self).info()
    }
    fn read_window(&self, window: Window, buf: &mut TileBuf) -> Result<()> {
        (**self).read_window(window, buf)
    }
}
