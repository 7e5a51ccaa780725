//! A PNG quick-look: the scene downsampled (nearest neighbour, read in row bands so the
//! scene is never held whole) with each detection's box drawn in its class colour. When
//! the file has overviews, the smallest one at least as large as the picture is read
//! instead of the full-resolution scene.

use crate::detection::Detections;
use crate::error::{Error, Result};
use crate::preprocess::Scaling;
use crate::raster::{Scene, TileBuf, Window};
use std::path::Path;

/// The image format of a quick-look at `path`, from its extension: `.png`, `.jpg` or
/// `.jpeg`. Anything else is an error, before any file is opened.
pub fn format_for(path: &Path) -> Result<image::ImageFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => Ok(image::ImageFormat::Png),
        Some("jpg" | "jpeg") => Ok(image::ImageFormat::Jpeg),
        _ => Err(Error::Config(format!(
            "quick-look {}: unsupported extension (use .png, .jpg or .jpeg)",
            path.display()
        ))),
    }
}

/// Writes a quick-look of `scene` at most `max_side` pixels on its long side, with the
/// boxes of `dets` drawn on it. Read from the smallest of the file's overviews at least
/// that large when it has one ([`Scene::overview_at_least`]), else from the scene. `scaling` maps samples to [0, 1] (the run's
/// [`crate::Report::scaling`]). The format follows the extension ([`format_for`]); the
/// file is written atomically and never over the scene or the model.
pub fn write(
    path: impl AsRef<Path>,
    scene: &Scene,
    dets: &Detections,
    scaling: &Scaling,
    max_side: u32,
) -> Result<()> {
    let path = path.as_ref();
    let format = format_for(path)?;
    const MAX_SIDE: u32 = 16_384;
    if max_side > MAX_SIDE {
        return Err(Error::Config(format!(
            "quick-look side {max_side} px is over {MAX_SIDE}"
        )));
    }
    crate::output::check_result_output(&[scene.path(), &dets.scene], &dets.report.model, path)?;
    let (w, h) = (scene.width(), scene.height());
    let f = (f64::from(w.max(h)) / f64::from(max_side.max(16))).max(1.0);
    let (ow, oh) = (
        ((f64::from(w) / f).floor() as u32).max(1),
        ((f64::from(h) / f).floor() as u32).max(1),
    );
    let mut img = image::RgbImage::new(ow, oh);
    // The smallest overview at least the picture's size, else the scene itself; scene
    // pixels per output pixel on each axis of what is read (exactly `f` for the scene).
    let overview = scene.overview_at_least(ow, oh)?;
    let src = overview.as_ref().unwrap_or(scene);
    let (sw, sh) = (src.width(), src.height());
    let kx = f * (f64::from(sw) / f64::from(w));
    let ky = f * (f64::from(sh) / f64::from(h));
    let info = src.info();
    let channels = super::display_bands(scene, Some(&dets.report.bands));
    let mut buf = TileBuf::new();
    let band_rows = 256u32;
    let mut oy = 0u32;
    while oy < oh {
        let oy1 = (oy + (f64::from(band_rows) / ky).max(1.0) as u32).min(oh);
        let y0 = ((f64::from(oy) * ky) as u32).min(sh - 1);
        let y1 = (((f64::from(oy1 - 1) * ky) as u32) + 1).min(sh);
        src.read_window(Window::new(0, y0, sw, y1 - y0), &mut buf)?;
        for y in oy..oy1 {
            let sy = ((f64::from(y) * ky) as u32).clamp(y0, y1 - 1) - y0;
            for x in 0..ow {
                let sx = ((f64::from(x) * kx) as u32).min(sw - 1);
                let valid = buf.is_valid(&info.mask, sx, sy);
                let px = channels.map(|b| {
                    if valid {
                        (scaling.apply(usize::from(b), buf.get(sx, sy, b)) * 255.0).round() as u8
                    } else {
                        0
                    }
                });
                img.put_pixel(x, y, image::Rgb(px));
            }
        }
        oy = oy1;
    }
    for d in dets {
        let c = super::class_colour(d.class_id);
        super::draw::mark(&mut img, d, |x, y| (x / f, y / f), f, c);
    }
    crate::output::write_atomic(path, |w| {
        img.write_to(w, format).map_err(|e| Error::Output {
            path: path.to_path_buf(),
            detail: e.to_string(),
            source: match e {
                image::ImageError::IoError(io) => Some(io),
                _ => None,
            },
        })
    })
}
