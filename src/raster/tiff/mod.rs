//! GeoTIFF reading with the `tiff` crate, one strip or tile at a time.
//!
//! - [`header`]: a first look at the first IFD, bounding what the `tiff` crate reads.
//! - [`ifd`]: the image's tags: size, bands, samples, layout, masks, the chunk index
//!   (checked against the file), georeferencing ([`geotiff`], pure, on tag values).
//! - [`codec`]: pure: decompression, predictor and byte order of one chunk; [`jpeg`]:
//!   JPEG chunks (JPEGTables, YCbCr to RGB); [`webp`]: WebP chunks.
//! - [`cache`]: decoded chunks kept, bounded in bytes, for overlapping windows.
//! - [`source`]: window assembly from the chunks a window touches.
//! - [`overview`]: the reduced-resolution images after the first (overviews), opened on
//!   demand as sources of their own.

mod cache;
mod codec;
mod format;
mod geotiff;
mod header;
mod ifd;
mod jpeg;
mod overview;
mod source;
mod webp;

use super::scene::Opened;
use crate::error::Result;
use crate::limits::Limits;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

type Dec = tiff::decoder::Decoder<BufReader<File>>;

/// Opens a TIFF: its first image's header and georeferencing, and the list of its
/// overviews; pixels are read on demand.
pub(in crate::raster) fn open(path: &Path, limits: &Limits) -> Result<Opened> {
    let t = ifd::open_source(path, limits)?;
    let decoded = std::sync::Arc::clone(&t.source.decoded);
    Ok(Opened {
        georef: t.georef,
        acquired: t.acquired,
        warnings: t.warnings,
        source: Box::new(t.source),
        overviews: (!t.overviews.sizes_empty()).then(|| Box::new(t.overviews) as _),
        decoded: Some(decoded),
    })
}
