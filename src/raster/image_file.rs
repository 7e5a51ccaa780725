//! PNG and JPEG through `image`, georeferenced by a world file beside them (`.pgw`,
//! `.jgw`, `.wld`, `.tfw`, or the extension's first and last letter + `w`) and, for the
//! CRS, an optional `.prj` naming an EPSG authority (see [`super::sidecar`]).
//!
//! These formats have no random access: the image is decoded once, on the first window
//! read, and only if it fits within [`Limits::max_window_bytes`].

use super::memory::{copy_window, image_samples};
use super::scene::Opened;
use super::{RasterInfo, SampleType, Samples, TileBuf, Window, WindowSource};
use crate::error::{bounded, Error, Result};
use crate::limits::Limits;
use image::{ColorType, ImageDecoder, ImageFormat, ImageReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn image_error(path: &Path, e: image::ImageError) -> Error {
    match e {
        // A PNG whose data stops short reports an end of file: the file is corrupt.
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::CorruptRaster {
                path: path.to_path_buf(),
                detail: format!("the image data ends early (truncated file): {io}"),
                source: Some(Box::new(io)),
            }
        }
        image::ImageError::IoError(io) => Error::io(path, io),
        image::ImageError::Unsupported(u) => {
            Error::unsupported(path, bounded(&u.to_string(), super::DECODER_MESSAGE_CHARS))
        }
        // The `image` decoder's own memory guard (it reports no sizes).
        image::ImageError::Limits(l) => Error::CorruptRaster {
            path: path.to_path_buf(),
            detail: format!("larger than the image decoder's built-in memory limit: {l}"),
            source: None,
        },
        other => {
            let message = other.to_string();
            let detail = bounded(&message, super::DECODER_MESSAGE_CHARS);
            let source: Option<Box<dyn std::error::Error + Send + Sync>> =
                (detail.len() == message.len()).then(|| Box::new(other) as _);
            Error::CorruptRaster {
                path: path.to_path_buf(),
                detail,
                source,
            }
        }
    }
}

/// The `image` crate's own allocation limit for one decode: the decoded image (at most
/// `max_window_bytes`, checked at open) and as much again for a decoder's working buffers.
fn decoder_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_window_bytes.saturating_mul(2));
    l
}

pub(super) fn open(path: &Path, limits: &Limits) -> Result<Opened> {
    let mut reader = ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    reader.limits(decoder_limits(limits));
    let format = reader.format();
    let dec = reader.into_decoder().map_err(|e| image_error(path, e))?;
    let (width, height) = dec.dimensions();
    let color = dec.color_type();
    Limits::check(
        || path.display().to_string(),
        "scene size in pixels",
        u64::from(width) * u64::from(height),
        limits.max_scene_pixels,
    )?;
    let (bands, sample, alpha) = match color {
        ColorType::L8 => (1, SampleType::U8, false),
        ColorType::La8 => (2, SampleType::U8, true),
        ColorType::Rgb8 => (3, SampleType::U8, false),
        ColorType::Rgba8 => (4, SampleType::U8, true),
        ColorType::L16 => (1, SampleType::U16, false),
        ColorType::La16 => (2, SampleType::U16, true),
        ColorType::Rgb16 => (3, SampleType::U16, false),
        ColorType::Rgba16 => (4, SampleType::U16, true),
        other => return Err(Error::unsupported(path, format!("colour type {other:?}"))),
    };
    let bytes = u64::from(width) * u64::from(height) * u64::from(bands) * sample.bytes() as u64;
    Limits::check(
        || {
            format!(
                "{} (PNG/JPEG are decoded whole; convert large scenes to a tiled GeoTIFF)",
                path.display()
            )
        },
        "decoded image bytes",
        bytes,
        limits.max_window_bytes,
    )?;
    let warnings = Vec::new();
    let georef = super::sidecar::world_georef(path)?;
    let storage = format!("{format:?} image, decoded whole");
    let info = RasterInfo::interleaved(width, height, bands, sample, alpha, storage);
    // PNG and JPEG colour is RGB(A) by definition.
    let rgb_bands = (info.color_bands() >= 3).then_some(super::band_names::Named {
        rgb: [0, 1, 2],
        by: super::band_names::NamedBy::ColourModel,
    });
    Ok(Opened {
        acquired: None,
        rgb_bands,
        georef,
        warnings,
        source: Box::new(ImageSource {
            path: path.to_path_buf(),
            jpeg: format == Some(ImageFormat::Jpeg),
            limits: decoder_limits(limits),
            info,
            decoded: Mutex::new(None),
        }),
        overviews: None,
        decoded: None,
    })
}

struct ImageSource {
    path: PathBuf,
    /// JPEG decoders pad a truncated file silently: its end is checked before decoding.
    jpeg: bool,
    limits: image::Limits,
    /// From the header.
    info: RasterInfo,
    /// The whole image, interleaved, once the first window was read.
    decoded: Mutex<Option<Samples>>,
}

impl ImageSource {
    fn decode(&self) -> Result<Samples> {
        if self.jpeg {
            let f = std::fs::File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
            super::jpeg_end::check_complete(f)
                .map_err(|detail| Error::corrupt(&self.path, format!("JPEG: {detail}")))?;
        }
        let mut reader = ImageReader::open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?
            .with_guessed_format()
            .map_err(|e| Error::io(&self.path, e))?;
        reader.limits(self.limits.clone());
        let img = reader.decode().map_err(|e| image_error(&self.path, e))?;
        let (w, h) = (img.width(), img.height());
        let bands = u16::from(img.color().channel_count());
        let expected = (self.info.width, self.info.height, self.info.bands);
        // Windows are checked against the header's size: the decoded image must have it,
        // or the copies would index past its samples.
        if (w, h, bands) != expected {
            return Err(Error::corrupt(
                &self.path,
                format!(
                    "decoded {w}x{h} pixels of {bands} bands, but the header says {expected:?} (width, height, bands)"
                ),
            ));
        }
        let color = img.color();
        let (samples, _) = image_samples(img).ok_or_else(|| {
            Error::unsupported(&self.path, format!("decoded colour type {color:?}"))
        })?;
        Ok(samples)
    }
}

impl WindowSource for ImageSource {
    fn info(&self) -> &RasterInfo {
        &self.info
    }

    fn read_window(&self, win: Window, buf: &mut TileBuf) -> Result<()> {
        let mut decoded = self
            .decoded
            .lock()
            .map_err(|_| Error::Internal("an earlier image read panicked".into()))?;
        let samples = match decoded.take() {
            Some(s) => s,
            None => self.decode()?,
        };
        let copied = copy_window(&samples, self.info.width, self.info.bands, win, buf);
        *decoded = Some(samples);
        copied.map_err(|detail| Error::corrupt(&self.path, detail))
    }
}
