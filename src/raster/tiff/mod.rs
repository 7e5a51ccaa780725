//! GeoTIFF reading with the `tiff` crate, one strip or tile at a time.
//!
//! - [`header`]: a first look at the first IFD, bounding what the `tiff` crate reads.
//! - [`ifd`]: the image's tags: size, bands, samples, layout, masks, the chunk index
//!   (checked against the file), georeferencing ([`geotiff`], pure, on tag values).
//! - [`codec`]: pure: decompression, predictor and byte order of one chunk; [`jpeg`]:
//!   JPEG chunks (JPEGTables, YCbCr to RGB); [`webp`]: WebP chunks.
//! - [`cache`]: decoded chunks kept, bounded in bytes, for overlapping windows.
//! - [`source`]: window assembly from the chunks a window touches.

mod cache;
mod codec;
mod format;
mod geotiff;
mod header;
mod ifd;
mod jpeg;
mod source;
mod webp;

use super::scene::Opened;
use crate::error::Result;
use crate::limits::Limits;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

type Dec = tiff::decoder::Decoder<BufReader<File>>;

/// Opens a TIFF: its first image's header and georeferencing; pixels are read on demand.
pub(in crate::raster) fn open(path: &Path, limits: &Limits) -> Result<Opened> {
    let (georef, warnings, source, acquired) = ifd::open_source(path, limits)?;
    Ok(Opened {
        georef,
        acquired,
        warnings,
        source: Box::new(source),
    })
}
