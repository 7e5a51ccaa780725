//! The report's pictures: a rectangle of the scene resampled (nearest neighbour) to an
//! output size, read window by window so that neither the overview nor a chip ever holds
//! more than [`MAX_WINDOW_PX`] scene pixels at once (the overview picture from the
//! file's own overviews when it has them); JPEG encoding and base64 data URIs.

use crate::error::{Error, Result};
use crate::raster::{SampleType, Scaling, Scene, TileBuf, Window};
use std::path::Path;

/// The most scene pixels one read asks for (windows of at most 4096 columns × 256 rows).
pub const MAX_WINDOW_PX: u64 = (BLOCK_COLS as u64) * (BLOCK_ROWS as u64);
/// Widest window read, in scene columns.
const BLOCK_COLS: u32 = 4096;
/// Tallest window read, in scene rows.
const BLOCK_ROWS: u32 = 256;
/// Colour of output pixels outside the scene or masked (nodata, alpha 0).
const OUTSIDE: [u8; 3] = [32, 32, 36];
/// JPEG quality of the embedded pictures (boxes and outlines are drawn over them as
/// vectors, so compression artefacts never blur a box).
const JPEG_QUALITY: u8 = 85;

/// A rectangle of the scene in scene pixels (continuous, may reach past the edges) and
/// the output size it is resampled to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct View {
    /// Scene-pixel position of the output's top-left corner.
    pub x0: f64,
    pub y0: f64,
    /// Scene pixels per output pixel (the same on both axes).
    pub scale: f64,
    /// Output size in pixels.
    pub width: u32,
    pub height: u32,
}

impl View {
    /// The view of scene rectangle `[x0, y0, x1, y1]` at most `max_side` output pixels on
    /// its long side (and at least 1 pixel on each).
    pub fn fit(rect: [f64; 4], max_side: u32) -> View {
        let (w, h) = ((rect[2] - rect[0]).max(1.0), (rect[3] - rect[1]).max(1.0));
        let scale = w.max(h) / f64::from(max_side.max(1));
        View {
            x0: rect[0],
            y0: rect[1],
            scale,
            width: ((w / scale).round() as u32).clamp(1, max_side.max(1)),
            height: ((h / scale).round() as u32).clamp(1, max_side.max(1)),
        }
    }

    /// Output position of a scene-pixel position.
    pub fn out_of(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.x0) / self.scale, (y - self.y0) / self.scale)
    }
}

/// The scene pixel sampled by output pixel `o` on one axis: the one under the output
/// pixel's centre, or `None` outside `0..n`.
fn source_index(origin: f64, scale: f64, o: u32, n: u32) -> Option<u32> {
    let s = (origin + (f64::from(o) + 0.5) * scale).floor();
    (s >= 0.0 && s < f64::from(n)).then_some(s as u32)
}

/// Consecutive runs of output indices whose scene indices span at most `max_span`
/// (and, when `single` is set, one scene index each: a reduced picture reads only the
/// rows it samples). Items are `(first output, last output, first scene, last scene)`.
fn runs(idx: &[Option<u32>], max_span: u32, single: bool) -> Vec<(u32, u32, u32, u32)> {
    let mut out: Vec<(u32, u32, u32, u32)> = Vec::new();
    for (o, s) in idx.iter().enumerate() {
        let (Some(s), o) = (*s, o as u32) else {
            continue;
        };
        match out.last_mut() {
            Some(r) if r.1 + 1 == o && s - r.2 < max_span && (!single || s == r.2) => {
                r.1 = o;
                r.3 = s;
            }
            _ => out.push((o, o, s, s)),
        }
    }
    out
}

/// Renders `view` of `scene` (its bands `channels`, from 0, as red, green and blue: see
/// [`crate::output::display_bands`]) scaled by `scaling`. Reads windows of at most
/// [`MAX_WINDOW_PX`] scene pixels; when the picture is reduced by 2 or more it reads only
/// the rows it samples.
pub(super) fn render(
    scene: &Scene,
    scaling: &Scaling,
    channels: [u16; 3],
    view: &View,
) -> Result<image::RgbImage> {
    render_from(scene, (1.0, 1.0), scaling, channels, view)
}

/// [`render`] of a reduced view (a picture of the whole scene), read from the smallest of
/// the file's overviews at least the picture's size when it has one, else the scene.
pub(super) fn render_reduced(
    scene: &Scene,
    scaling: &Scaling,
    channels: [u16; 3],
    view: &View,
) -> Result<image::RgbImage> {
    match scene.overview_at_least(view.width, view.height)? {
        Some(ov) => {
            let k = (
                f64::from(ov.width()) / f64::from(scene.width()),
                f64::from(ov.height()) / f64::from(scene.height()),
            );
            render_from(&ov, k, scaling, channels, view)
        }
        None => render(scene, scaling, channels, view),
    }
}

/// Renders `view` (in the pixels of a scene of which `scene` is a copy with `k` of its
/// pixels per scene pixel on each axis: 1 for the scene itself).
fn render_from(
    scene: &Scene,
    (kx, ky): (f64, f64),
    scaling: &Scaling,
    channels: [u16; 3],
    view: &View,
) -> Result<image::RgbImage> {
    let info = scene.info();
    let mut img = image::RgbImage::from_pixel(view.width, view.height, image::Rgb(OUTSIDE));
    let xs: Vec<Option<u32>> = (0..view.width)
        .map(|o| source_index(view.x0 * kx, view.scale * kx, o, scene.width()))
        .collect();
    let ys: Vec<Option<u32>> = (0..view.height)
        .map(|o| source_index(view.y0 * ky, view.scale * ky, o, scene.height()))
        .collect();
    let reduced = view.scale * ky >= 2.0;
    let mut buf = TileBuf::new();
    for (oy0, oy1, sy0, sy1) in runs(&ys, BLOCK_ROWS, reduced) {
        for (ox0, ox1, sx0, sx1) in runs(&xs, BLOCK_COLS, false) {
            let win = Window::new(sx0, sy0, sx1 - sx0 + 1, sy1 - sy0 + 1);
            scene.read_window(win, &mut buf)?;
            for oy in oy0..=oy1 {
                let Some(sy) = ys[oy as usize] else { continue };
                for ox in ox0..=ox1 {
                    let Some(sx) = xs[ox as usize] else { continue };
                    let (lx, ly) = (sx - sx0, sy - sy0);
                    if !buf.is_valid(&info.mask, lx, ly) {
                        continue;
                    }
                    let px = channels.map(|b| {
                        (scaling.apply(usize::from(b), buf.get(lx, ly, b)) * 255.0).round() as u8
                    });
                    img.put_pixel(ox, oy, image::Rgb(px));
                }
            }
        }
    }
    Ok(img)
}

/// The display scaling of `scene`: `/255` for 8-bit; for 16-bit `preferred` (the run's
/// stretch) when given, else a 2-98 % percentile stretch of up to 16 windows of at most
/// 512 × 512 pixels spread over the scene (as the detector computes its own).
pub(super) fn display_scaling(scene: &Scene, preferred: Option<Scaling>) -> Result<Scaling> {
    if scene.info().sample == SampleType::U8 {
        return Ok(Scaling::u8());
    }
    if let Some(s) = preferred {
        return Ok(s);
    }
    let (w, h) = (scene.width(), scene.height());
    let (sw, sh) = (w.min(512), h.min(512));
    let mut bufs: Vec<TileBuf> = Vec::new();
    for j in 0..4u32 {
        for i in 0..4u32 {
            let x = ((u64::from(w - sw) * u64::from(2 * i + 1)) / 8) as u32;
            let y = ((u64::from(h - sh) * u64::from(2 * j + 1)) / 8) as u32;
            let win = Window::new(x, y, sw, sh);
            if bufs.iter().any(|b| b.window() == win) {
                continue;
            }
            let mut b = TileBuf::new();
            scene.read_window(win, &mut b)?;
            bufs.push(b);
        }
    }
    Ok(crate::preprocess::percentile_stretch(
        &bufs,
        &scene.info().mask,
        2.0,
        98.0,
    ))
}

/// `img` as a `data:image/jpeg;base64,…` URI.
pub(super) fn jpeg_data_uri(img: &image::RgbImage, path: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .encode_image(img)
        .map_err(|e| Error::Output {
            path: path.to_path_buf(),
            detail: format!("encoding a report picture: {e}"),
            source: None,
        })?;
    let mut uri = String::from("data:image/jpeg;base64,");
    base64(&bytes, &mut uri);
    Ok(uri)
}

/// Standard base64 (RFC 4648, with padding) of `bytes`, appended to `out`.
pub(super) fn base64(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut s = String::new();
            base64(input.as_bytes(), &mut s);
            assert_eq!(s, expected, "{input}");
        }
    }

    #[test]
    fn runs_split_at_gaps_and_spans() {
        let idx = [None, Some(0), Some(1), Some(2), Some(3), None];
        assert_eq!(runs(&idx, 2, false), vec![(1, 2, 0, 1), (3, 4, 2, 3)]);
        assert_eq!(runs(&idx, 10, false), vec![(1, 4, 0, 3)]);
        // Reduced: each output row reads only its own scene row.
        let idx = [Some(0), Some(5), Some(10)];
        assert_eq!(runs(&idx, 256, true).len(), 3);
        // Upsampled: repeated scene rows share a read.
        let idx = [Some(0), Some(0), Some(1), Some(1)];
        assert_eq!(runs(&idx, 256, false), vec![(0, 3, 0, 1)]);
    }

    #[test]
    fn view_fit_keeps_the_aspect_and_the_long_side() {
        let v = View::fit([100.0, 50.0, 300.0, 150.0], 400);
        assert_eq!((v.width, v.height), (400, 200));
        assert_eq!(v.out_of(300.0, 150.0), (400.0, 200.0));
        assert_eq!(source_index(v.x0, v.scale, 0, 1000), Some(100));
        assert_eq!(source_index(-10.0, 1.0, 0, 1000), None);
    }
}
