//! PNG and JPEG through `image`, georeferenced by a world file beside them (`.pgw`,
//! `.jgw`, `.wld`, `.tfw`, or the extension's first and last letter + `w`) and, for the
//! CRS, an optional `.prj` naming an EPSG authority.
//!
//! These formats have no random access: the image is decoded once, on the first window
//! read, and only if it fits within [`Limits::max_window_bytes`].

use super::memory::{copy_window, image_samples};
use super::scene::Opened;
use super::{BandLayout, MaskSpec, RasterInfo, SampleType, Samples, TileBuf, Window, WindowSource};
use crate::error::{bounded, snippet, Error, Result};
use crate::geo::{Crs, GeoRef, GeoTransform, RasterType};
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
        image::ImageError::Unsupported(u) => Error::unsupported(
            path,
            bounded(&u.to_string(), super::tiff_file::DECODER_MESSAGE_CHARS),
        ),
        // The `image` decoder's own memory guard (it reports no sizes).
        image::ImageError::Limits(l) => Error::CorruptRaster {
            path: path.to_path_buf(),
            detail: format!("larger than the image decoder's built-in memory limit: {l}"),
            source: None,
        },
        other => {
            let message = other.to_string();
            let detail = bounded(&message, super::tiff_file::DECODER_MESSAGE_CHARS);
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
    let georef = world_georef(path)?;
    let info = RasterInfo {
        width,
        height,
        bands,
        sample,
        layout: BandLayout::Interleaved,
        mask: MaskSpec {
            alpha_band: alpha.then_some(bands - 1),
            nodata: None,
        },
        storage: format!("{format:?} image, decoded whole"),
    };
    Ok(Opened {
        georef,
        warnings,
        source: Box::new(ImageSource {
            path: path.to_path_buf(),
            jpeg: format == Some(ImageFormat::Jpeg),
            limits: decoder_limits(limits),
            info,
            decoded: Mutex::new(None),
        }),
    })
}

/// The georeferencing from a world file beside `path` (and its `.prj`), if there is one.
/// A missing or unreadable CRS is `Crs::Unknown` with the reason; `Scene::open` warns.
pub(crate) fn world_georef(path: &Path) -> Result<Option<GeoRef>> {
    let Some(wf) = find_world_file(path) else {
        return Ok(None);
    };
    let transform = read_world_file(&wf)?;
    let crs = read_prj(path).unwrap_or_else(|| {
        Crs::Unknown(format!("world file {} and no .prj beside it", wf.display()))
    });
    Ok(Some(GeoRef { transform, crs }))
}

/// The world file beside an image, trying the candidate names in the order GDAL does.
fn find_world_file(path: &Path) -> Option<PathBuf> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let mut cands = Vec::new();
    if ext.len() >= 2 {
        let b = ext.as_bytes();
        cands.push(format!("{}{}w", b[0] as char, b[b.len() - 1] as char));
    }
    cands.push(format!("{ext}w"));
    cands.extend(["wld", "tfw"].map(String::from));
    for c in cands {
        for cand in [c.clone(), c.to_ascii_uppercase()] {
            let p = path.with_extension(&cand);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Parses a world file: six numbers A, D, B, E, C, F, where (C, F) is the *centre* of the
/// top-left pixel.
pub(crate) fn parse_world_file(text: &str) -> std::result::Result<GeoTransform, String> {
    let vals: Vec<f64> = text
        .split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| format!("`{}` is not a number", snippet(t)))
        })
        .collect::<std::result::Result<_, _>>()?;
    if vals.len() != 6 {
        return Err(format!("{} numbers, expected 6", vals.len()));
    }
    let t = GeoTransform {
        x_per_col: vals[0],
        y_per_col: vals[1],
        x_per_row: vals[2],
        y_per_row: vals[3],
        x_origin: vals[4],
        y_origin: vals[5],
    }
    .with_raster_type(RasterType::PixelIsPoint);
    if !t.is_valid() {
        return Err("the transform is not invertible".into());
    }
    Ok(t)
}

fn read_world_file(wf: &Path) -> Result<GeoTransform> {
    let text = read_sidecar(wf).map_err(|detail| Error::Georef {
        path: wf.to_path_buf(),
        detail: format!("world file: {detail}"),
    })?;
    parse_world_file(&text).map_err(|detail| Error::Georef {
        path: wf.to_path_buf(),
        detail: format!("world file: {detail}"),
    })
}

/// The CRS of the `.prj` beside `path`: `None` when there is none; `Crs::Unknown` with the
/// reason when it names no EPSG CRS satdet knows (`Scene::open` warns).
fn read_prj(path: &Path) -> Option<Crs> {
    let prj = path.with_extension("prj");
    if !prj.is_file() {
        return None;
    }
    let why = |detail: String| Crs::Unknown(format!("{}: {detail}", prj.display()));
    Some(match read_sidecar(&prj) {
        Err(e) => why(e),
        Ok(text) => match crate::geo::parse_prj(&text) {
            Ok(code) => Crs::Epsg(code),
            Err(e) => why(e),
        },
    })
}

/// Largest world file or `.prj` read: a world file holds six numbers, a WKT a few KB.
const MAX_SIDECAR_BYTES: u64 = 1 << 20;

/// A small text file beside the raster, read only when it is small.
fn read_sidecar(path: &Path) -> std::result::Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    f.take(MAX_SIDECAR_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SIDECAR_BYTES {
        return Err(format!(
            "larger than {MAX_SIDECAR_BYTES} bytes: not a world file or .prj"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_file_is_pixel_centre() {
        let t = parse_world_file("0.5\n0\n0\n-0.5\n1000.25\n2000.25\n").expect("valid");
        assert_eq!(t.to_gdal(), [1000.0, 0.5, 0.0, 2000.5, 0.0, -0.5]);
    }

    #[test]
    fn world_file_errors_name_the_problem() {
        assert!(parse_world_file("1 0 0 -1 0")
            .unwrap_err()
            .contains("5 numbers"));
        assert!(parse_world_file("1 0 0 -1 x 0")
            .unwrap_err()
            .contains("`x`"));
    }
}
